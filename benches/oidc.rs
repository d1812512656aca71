//! Upstream ID token validation against a cached JWKS (everything Lanyard does to an ID
//! token: parse, alg allow-list, key lookup, signature, every claim check), next to the
//! raw signature verification alone, in the same run. The ratio goes into BENCHMARKS.md.
//!
//! `cargo bench --bench oidc`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::Jwk;
use lanyard::clock::UnixTime;
use lanyard::connectors::id_token::{
    Expectations, IssuerCheck, PublicKeys, TokenUse, UnverifiedIdToken, access_token_hash,
};
use lanyard::secret::Secret;
use lanyard::tokens::{Algorithm, KeySet};
use serde_json::json;

const NOW: i64 = 1_795_824_000;
const ISSUER: &str = "https://idp.example.com";

fn bench_alg(c: &mut Criterion, alg: Algorithm) {
    let dir = tempfile::tempdir().unwrap();
    let keys = KeySet::load_or_generate(dir.path(), alg, UnixTime::from_secs(NOW)).unwrap();
    let jose_alg = match alg {
        Algorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
        Algorithm::Es256 => jsonwebtoken::Algorithm::ES256,
        Algorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
    };
    let access_token = Secret::new("an-access-token");
    let claims = json!({
        "iss": ISSUER, "sub": "248289761001", "aud": "lanyard", "azp": "lanyard",
        "exp": NOW + 3600, "iat": NOW, "nonce": "n-0S6_WzA2Mj", "auth_time": NOW,
        "at_hash": access_token_hash(jose_alg, access_token.expose_secret()),
        "email": "jane@example.com", "email_verified": true, "name": "Jane Doe",
        "preferred_username": "jane", "groups": ["engineering", "admins", "on-call"],
        "amr": ["pwd", "otp"],
    });
    let token = keys.sign(&claims, "JWT").unwrap();
    let jwks_json = serde_json::to_string(&keys.jwks()).unwrap();
    let cached = PublicKeys::from_json(&jwks_json).unwrap();
    let algorithms = [
        jsonwebtoken::Algorithm::RS256,
        jsonwebtoken::Algorithm::ES256,
    ];
    let expect = Expectations {
        issuer: IssuerCheck::Exact(ISSUER),
        token_use: TokenUse::SignIn {
            client_id: "lanyard",
            nonce: "n-0S6_WzA2Mj",
        },
        algorithms: &algorithms,
        now: UnixTime::from_secs(NOW + 10),
        skew: 60,
        access_token: Some(&access_token),
    };
    // Sanity: the full validation accepts the token.
    UnverifiedIdToken::parse(&token)
        .unwrap()
        .verify(&cached, &expect)
        .unwrap();

    // Raw: the signature alone, key parsed once, as a JWT library's verify would do it.
    let jwk: Jwk = serde_json::from_value(
        serde_json::from_str::<serde_json::Value>(&jwks_json).unwrap()["keys"][0].clone(),
    )
    .unwrap();
    let key = DecodingKey::from_jwk(&jwk).unwrap();
    let (message, signature) = token.rsplit_once('.').unwrap();
    assert!(jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, jose_alg).unwrap());

    let mut group = c.benchmark_group(format!("id_token/{}", alg.as_str()));
    group.bench_function("raw_signature_verify", |b| {
        b.iter(|| {
            jsonwebtoken::crypto::verify(
                black_box(signature),
                black_box(message.as_bytes()),
                &key,
                jose_alg,
            )
            .unwrap()
        })
    });
    group.bench_function("full_validation", |b| {
        b.iter(|| {
            UnverifiedIdToken::parse(black_box(&token))
                .unwrap()
                .verify(&cached, &expect)
                .unwrap()
        })
    });
    group.finish();
}

fn id_token(c: &mut Criterion) {
    bench_alg(c, Algorithm::Rs256);
    bench_alg(c, Algorithm::Es256);
}

criterion_group!(benches, id_token);
criterion_main!(benches);
