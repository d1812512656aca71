//! Key files, rotation, signing and verification, including tokens an attacker would
//! forge.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::*;
use crate::clock::{Clock, SystemClock, UnixTime};

const T0: i64 = 1_764_350_000;
const ISSUER: &str = "https://lanyard.example.com";
const AUDIENCE: &str = "grafana";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    nbf: i64,
    role: String,
}

fn claims(now: i64) -> Claims {
    Claims {
        iss: ISSUER.to_owned(),
        sub: "corp:alice".to_owned(),
        aud: AUDIENCE.to_owned(),
        exp: now + 3600,
        iat: now,
        nbf: now,
        role: "engineer".to_owned(),
    }
}

fn expect(now: i64) -> Expectations {
    Expectations::access_token(ISSUER, Some(AUDIENCE), at(now))
}

fn keyset(dir: &Path, alg: Algorithm, now: i64) -> KeySet {
    KeySet::load_or_generate(dir, alg, at(now)).unwrap()
}

/// The instant `secs` seconds after the epoch: the tests count in the claims' numbers.
fn at(secs: i64) -> UnixTime {
    UnixTime::from_secs(secs)
}

/// [`RETIREMENT_WINDOW`] in seconds.
const RETIREMENT_WINDOW_SECS: i64 = RETIREMENT_WINDOW.as_secs() as i64;

/// `header.payload.signature` with each part decoded.
fn parts(token: &str) -> (serde_json::Value, serde_json::Value, Vec<u8>) {
    let p: Vec<&str> = token.split('.').collect();
    assert_eq!(p.len(), 3);
    let json = |s: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap();
    (
        json(p[0]),
        json(p[1]),
        URL_SAFE_NO_PAD.decode(p[2]).unwrap(),
    )
}

fn unsigned(header: &serde_json::Value, payload: &serde_json::Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap())
    )
}

#[test]
fn shareable_across_tasks() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<KeySet>();
    assert_send_sync::<Jwks>();
    assert_send_sync::<TokenError>();
}

// ---- algorithm names ----------------------------------------------------------------

#[test]
fn algorithm_names() {
    for (alg, name) in [
        (Algorithm::Es256, "ES256"),
        (Algorithm::EdDsa, "EdDSA"),
        (Algorithm::Rs256, "RS256"),
    ] {
        assert_eq!(alg.to_string(), name);
        assert_eq!(name.parse::<Algorithm>().unwrap(), alg);
        assert_eq!(serde_json::to_string(&alg).unwrap(), format!("\"{name}\""));
        assert_eq!(
            serde_json::from_str::<Algorithm>(&format!("\"{name}\"")).unwrap(),
            alg
        );
    }
    for bad in ["es256", "HS256", "none", "EDDSA", ""] {
        assert!(matches!(
            bad.parse::<Algorithm>(),
            Err(TokenError::UnsupportedAlgorithm(_))
        ));
    }
}

// ---- key files ----------------------------------------------------------------------

#[test]
fn generate_and_load_each_algorithm() {
    for alg in Algorithm::ALL {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let path = generate_key(&dir, alg, at(T0)).unwrap();
        assert_eq!(path, dir.join(format!("{T0}-{alg}.pem")));
        let pem = std::fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{alg}");

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600, "{alg}");
            assert_eq!(mode(&dir), 0o700, "{alg}");
        }
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

        let keys = KeySet::load(&dir, alg, at(T0)).unwrap();
        assert_eq!(keys.algorithm(), alg);
        let jwks = keys.jwks();
        assert_eq!(jwks.keys.len(), 1);
        let jwk = &jwks.keys[0];
        assert_eq!(jwk.kid, keys.active_kid());
        assert_eq!(jwk.alg, alg.as_str());
        assert_eq!(jwk.use_, "sig");
        match alg {
            Algorithm::Es256 => {
                assert_eq!(
                    (jwk.kty.as_str(), jwk.crv.as_deref()),
                    ("EC", Some("P-256"))
                );
                assert_eq!(
                    URL_SAFE_NO_PAD
                        .decode(jwk.x.as_ref().unwrap())
                        .unwrap()
                        .len(),
                    32
                );
                assert_eq!(
                    URL_SAFE_NO_PAD
                        .decode(jwk.y.as_ref().unwrap())
                        .unwrap()
                        .len(),
                    32
                );
            }
            Algorithm::EdDsa => {
                assert_eq!(
                    (jwk.kty.as_str(), jwk.crv.as_deref()),
                    ("OKP", Some("Ed25519"))
                );
                assert_eq!(
                    URL_SAFE_NO_PAD
                        .decode(jwk.x.as_ref().unwrap())
                        .unwrap()
                        .len(),
                    32
                );
            }
            Algorithm::Rs256 => {
                assert_eq!(jwk.kty, "RSA");
                assert_eq!(
                    URL_SAFE_NO_PAD
                        .decode(jwk.n.as_ref().unwrap())
                        .unwrap()
                        .len(),
                    256
                );
                assert_eq!(jwk.e.as_deref(), Some("AQAB"));
            }
        }
        // Loading again gives the same key id.
        assert_eq!(
            KeySet::load(&dir, alg, at(T0 + 5)).unwrap().active_kid(),
            keys.active_kid()
        );
    }
}

#[test]
fn kid_is_the_rfc7638_thumbprint_as_jsonwebtoken_computes_it() {
    use jsonwebtoken::jwk::{JwkSet, ThumbprintHash};
    for alg in Algorithm::ALL {
        let tmp = tempfile::tempdir().unwrap();
        let keys = keyset(tmp.path(), alg, T0);
        let set: JwkSet =
            serde_json::from_value(serde_json::to_value(keys.jwks()).unwrap()).unwrap();
        assert_eq!(
            set.keys[0].thumbprint(ThumbprintHash::SHA256).unwrap(),
            keys.active_kid(),
            "{alg}"
        );
    }
}

#[test]
fn jwks_json_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = keyset(tmp.path(), Algorithm::Es256, T0);
    let json = serde_json::to_value(keys.jwks()).unwrap();
    let key = &json["keys"][0];
    let mut members: Vec<&str> = key
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(members, ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    assert_eq!(key["use"], "sig");
    // Never a private member.
    assert!(key.get("d").is_none());
}

#[test]
fn load_or_generate_creates_once_and_reuses() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data").join("keys");
    let first = KeySet::load_or_generate(&dir, Algorithm::Es256, at(T0)).unwrap();
    let again = KeySet::load_or_generate(&dir, Algorithm::Es256, at(T0 + 100)).unwrap();
    assert_eq!(first.active_kid(), again.active_kid());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn load_without_a_key_in_force_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let err = KeySet::load(tmp.path(), Algorithm::Es256, at(T0)).unwrap_err();
    assert!(matches!(
        err,
        TokenError::NoSigningKey {
            alg: Algorithm::Es256,
            ..
        }
    ));
    assert!(
        err.to_string()
            .contains("lanyard keys generate --alg ES256"),
        "{err}"
    );

    // Only a key of another algorithm, or one that starts in the future.
    generate_key(tmp.path(), Algorithm::EdDsa, at(T0)).unwrap();
    generate_key(tmp.path(), Algorithm::Es256, at(T0 + 60)).unwrap();
    let err = KeySet::load(tmp.path(), Algorithm::Es256, at(T0)).unwrap_err();
    assert!(matches!(err, TokenError::NoSigningKey { .. }));

    let missing = tmp.path().join("nope");
    assert!(matches!(
        KeySet::load(&missing, Algorithm::Es256, at(T0)),
        Err(TokenError::Io { .. })
    ));
}

#[test]
fn never_overwrites_a_key() {
    let tmp = tempfile::tempdir().unwrap();
    let path = generate_key(tmp.path(), Algorithm::Es256, at(T0)).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = generate_key(tmp.path(), Algorithm::Es256, at(T0)).unwrap_err();
    match err {
        TokenError::Io { source, .. } => {
            assert_eq!(source.kind(), std::io::ErrorKind::AlreadyExists);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn broken_key_files_are_errors_not_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    generate_key(tmp.path(), Algorithm::Es256, at(T0)).unwrap();

    // A P-256 key under an Ed25519 name.
    let es = generate_key(tmp.path(), Algorithm::Es256, at(T0 + 1)).unwrap();
    let mislabeled = tmp.path().join(format!("{}-EdDSA.pem", T0 + 1));
    std::fs::rename(&es, &mislabeled).unwrap();
    let err = KeySet::load(tmp.path(), Algorithm::Es256, at(T0 + 10)).unwrap_err();
    assert!(
        matches!(&err, TokenError::KeyParse { path, .. } if *path == mislabeled),
        "{err:?}"
    );
    std::fs::remove_file(&mislabeled).unwrap();

    for (name, contents) in [
        ("garbage", "not a key".to_owned()),
        (
            "sec1",
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n".to_owned(),
        ),
        (
            "bad base64",
            "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n".to_owned(),
        ),
        (
            "truncated",
            "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----\n"
                .to_owned(),
        ),
    ] {
        let path = tmp.path().join(format!("{}-ES256.pem", T0 + 2));
        std::fs::write(&path, &contents).unwrap();
        let err = KeySet::load(tmp.path(), Algorithm::Es256, at(T0 + 10)).unwrap_err();
        assert!(matches!(err, TokenError::KeyParse { .. }), "{name}: {err:?}");
        std::fs::remove_file(&path).unwrap();
    }

    // Other files are ignored.
    std::fs::write(tmp.path().join("README"), "keys live here").unwrap();
    std::fs::write(tmp.path().join("1-ES256.pem.bak"), "junk").unwrap();
    KeySet::load(tmp.path(), Algorithm::Es256, at(T0 + 10)).unwrap();
}

#[test]
fn debug_shows_key_ids_only() {
    let tmp = tempfile::tempdir().unwrap();
    let path = generate_key(tmp.path(), Algorithm::Rs256, at(T0)).unwrap();
    let keys = KeySet::load(tmp.path(), Algorithm::Rs256, at(T0)).unwrap();
    let shown = format!("{keys:?}");
    assert!(shown.contains(keys.active_kid()));
    let pem = std::fs::read_to_string(path).unwrap();
    let body_line = pem.lines().nth(3).unwrap();
    assert!(!shown.contains(body_line));
    assert!(!shown.contains("PRIVATE"));
}

// ---- signing and verifying ----------------------------------------------------------

#[test]
fn sign_verify_roundtrip_each_algorithm() {
    for alg in Algorithm::ALL {
        let tmp = tempfile::tempdir().unwrap();
        let keys = keyset(tmp.path(), alg, T0);
        let token = keys.sign(&claims(T0), ACCESS_TOKEN_TYP).unwrap();
        let (header, payload, signature) = parts(&token);
        assert_eq!(
            header,
            json!({"alg": alg.as_str(), "typ": "at+jwt", "kid": keys.active_kid()})
        );
        assert_eq!(payload["sub"], "corp:alice");
        let expected_len = match alg {
            // RFC 7518 §3.4: r ‖ s, 32 bytes each.
            Algorithm::Es256 => 64,
            Algorithm::EdDsa => 64,
            Algorithm::Rs256 => 256,
        };
        assert_eq!(signature.len(), expected_len, "{alg}");

        let verified: Claims = keys.verify(&token, &expect(T0 + 10)).unwrap();
        assert_eq!(verified, claims(T0));
    }
}

#[test]
fn an_application_verifies_with_jsonwebtoken_and_the_jwks_json() {
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};

    // The application checks `exp` against its own (real) clock.
    let now = SystemClock.now().secs();
    for alg in Algorithm::ALL {
        let tmp = tempfile::tempdir().unwrap();
        let keys = keyset(tmp.path(), alg, now);
        let token = keys.sign(&claims(now), ACCESS_TOKEN_TYP).unwrap();

        // What the application fetched from /.well-known/jwks.json.
        let published = serde_json::to_string(&keys.jwks()).unwrap();
        let set: JwkSet = serde_json::from_str(&published).unwrap();
        let header = decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let jwk = set.find(header.kid.as_deref().unwrap()).unwrap();
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "nbf"]);
        validation.validate_nbf = true;
        let data = decode::<Claims>(&token, &key, &validation).unwrap();
        assert_eq!(data.claims, claims(now), "{alg}");
    }
}

#[test]
fn verify_accepts_typ_spellings_and_optional_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = keyset(tmp.path(), Algorithm::EdDsa, T0);
    for typ in [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "Application/At+JWT",
    ] {
        let token = keys.sign(&claims(T0), typ).unwrap();
        keys.verify::<Claims>(&token, &expect(T0)).unwrap();
    }
    // An ID token: any typ, no audience check.
    let token = keys.sign(&claims(T0), "JWT").unwrap();
    let loose = Expectations {
        audience: None,
        typ: None,
        ..expect(T0)
    };
    keys.verify::<Claims>(&token, &loose).unwrap();
    assert!(matches!(
        keys.verify::<Claims>(&token, &expect(T0)),
        Err(TokenError::WrongType)
    ));
    // An audience array naming the expected one.
    let mut value = serde_json::to_value(claims(T0)).unwrap();
    value["aud"] = json!(["other", AUDIENCE]);
    let token = keys.sign(&value, ACCESS_TOKEN_TYP).unwrap();
    keys.verify::<serde_json::Value>(&token, &expect(T0))
        .unwrap();
}

#[test]
fn time_claims_use_the_given_now_and_leeway() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = keyset(tmp.path(), Algorithm::Es256, T0);
    let token = keys.sign(&claims(T0), ACCESS_TOKEN_TYP).unwrap();
    let exp = T0 + 3600;
    let at = |now: i64| keys.verify::<Claims>(&token, &expect(now));

    assert!(at(exp - 1).is_ok());
    assert!(at(exp + 59).is_ok(), "inside the 60 s leeway");
    assert!(matches!(at(exp + 60), Err(TokenError::Expired)));
    assert!(matches!(at(exp + 100_000), Err(TokenError::Expired)));
    assert!(at(T0 - 60).is_ok(), "nbf within leeway");
    assert!(matches!(at(T0 - 61), Err(TokenError::NotYetValid)));

    let strict = Expectations {
        leeway_secs: 0,
        ..expect(exp)
    };
    assert!(matches!(
        keys.verify::<Claims>(&token, &strict),
        Err(TokenError::Expired)
    ));

    // iat in the future, without nbf.
    let mut value = serde_json::to_value(claims(T0)).unwrap();
    value.as_object_mut().unwrap().remove("nbf");
    value["iat"] = json!(T0 + 600);
    let token = keys.sign(&value, ACCESS_TOKEN_TYP).unwrap();
    assert!(matches!(
        keys.verify::<serde_json::Value>(&token, &expect(T0)),
        Err(TokenError::NotYetValid)
    ));

    // Fractional NumericDates are allowed.
    let mut value = serde_json::to_value(claims(T0)).unwrap();
    value["exp"] = json!(T0 as f64 + 100.5);
    let token = keys.sign(&value, ACCESS_TOKEN_TYP).unwrap();
    assert!(
        keys.verify::<serde_json::Value>(&token, &expect(T0))
            .is_ok()
    );
}

#[test]
fn claims_that_fail_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = keyset(tmp.path(), Algorithm::Es256, T0);
    let refused = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut value = serde_json::to_value(claims(T0)).unwrap();
        edit(&mut value);
        let token = keys.sign(&value, ACCESS_TOKEN_TYP).unwrap();
        keys.verify::<serde_json::Value>(&token, &expect(T0))
            .unwrap_err()
    };
    assert!(matches!(
        refused(&|v| v["iss"] = json!("https://evil.example")),
        TokenError::WrongIssuer
    ));
    assert!(matches!(
        refused(&|v| v["iss"] = json!([ISSUER])),
        TokenError::WrongIssuer
    ));
    assert!(matches!(
        refused(&|v| v["aud"] = json!("other-app")),
        TokenError::WrongAudience
    ));
    assert!(matches!(
        refused(&|v| v["aud"] = json!(["a", "b"])),
        TokenError::WrongAudience
    ));
    assert!(matches!(
        refused(&|v| v["aud"] = json!(7)),
        TokenError::Malformed(_)
    ));
    assert!(matches!(
        refused(&|v| {
            v.as_object_mut().unwrap().remove("aud");
        }),
        TokenError::MissingClaim("aud")
    ));
    assert!(matches!(
        refused(&|v| {
            v.as_object_mut().unwrap().remove("iss");
        }),
        TokenError::MissingClaim("iss")
    ));
    assert!(matches!(
        refused(&|v| {
            v.as_object_mut().unwrap().remove("exp");
        }),
        TokenError::MissingClaim("exp")
    ));
    assert!(matches!(
        refused(&|v| v["exp"] = json!("tomorrow")),
        TokenError::Malformed(_)
    ));
    assert!(matches!(
        refused(&|v| v["nbf"] = json!(null)),
        TokenError::Malformed(_)
    ));
    assert!(matches!(
        refused(&|v| *v = json!(["not", "an", "object"])),
        TokenError::Malformed(_)
    ));

    // Claims that verify but do not fit the caller's type.
    let token = keys.sign(&claims(T0), ACCESS_TOKEN_TYP).unwrap();
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Other {
        secret_field: String,
    }
    let err = keys.verify::<Other>(&token, &expect(T0)).unwrap_err();
    assert!(matches!(err, TokenError::Malformed(_)));
    assert!(!err.to_string().contains("alice"));
}

#[test]
fn forged_tokens_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = keyset(tmp.path(), Algorithm::Es256, T0);
    let kid = keys.active_kid().to_owned();
    let good = keys.sign(&claims(T0), ACCESS_TOKEN_TYP).unwrap();
    let (header, payload, signature) = parts(&good);
    let sig = URL_SAFE_NO_PAD.encode(&signature);
    let verify = |token: &str| keys.verify::<Claims>(token, &expect(T0)).unwrap_err();

    // Tampered payload, original signature.
    let mut elevated = payload.clone();
    elevated["role"] = json!("admin");
    let token = format!("{}.{sig}", unsigned(&header, &elevated));
    assert!(matches!(verify(&token), TokenError::BadSignature));

    // Tampered signature.
    let mut bad_sig = signature.clone();
    bad_sig[10] ^= 1;
    let token = format!(
        "{}.{}",
        unsigned(&header, &payload),
        URL_SAFE_NO_PAD.encode(bad_sig)
    );
    assert!(matches!(verify(&token), TokenError::BadSignature));

    // Empty and truncated signatures.
    let token = format!("{}.", unsigned(&header, &payload));
    assert!(matches!(
        verify(&token),
        TokenError::BadSignature | TokenError::Malformed(_)
    ));

    // Unknown kid, and no kid.
    let mut other = header.clone();
    other["kid"] = json!("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    let token = format!("{}.{sig}", unsigned(&other, &payload));
    assert!(matches!(verify(&token), TokenError::UnknownKid));
    let token = format!(
        "{}.{sig}",
        unsigned(&json!({"alg": "ES256", "typ": "at+jwt"}), &payload)
    );
    assert!(matches!(verify(&token), TokenError::MissingClaim("kid")));

    // alg: none, with and without a signature.
    let none = json!({"alg": "none", "typ": "at+jwt", "kid": kid});
    for token in [
        format!("{}.", unsigned(&none, &payload)),
        format!("{}.{sig}", unsigned(&none, &payload)),
    ] {
        assert!(matches!(verify(&token), TokenError::WrongAlgorithm));
    }

    // HS256 keyed with the public key as published (the classic confusion attack), and
    // with the raw public point.
    let jwk = &keys.jwks().keys[0];
    let mut point = vec![4u8];
    point.extend(URL_SAFE_NO_PAD.decode(jwk.x.as_ref().unwrap()).unwrap());
    point.extend(URL_SAFE_NO_PAD.decode(jwk.y.as_ref().unwrap()).unwrap());
    let jwk_json = serde_json::to_vec(jwk).unwrap();
    for secret in [point.as_slice(), jwk_json.as_slice()] {
        let mut hs = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        hs.kid = Some(kid.clone());
        hs.typ = Some("at+jwt".to_owned());
        let token = jsonwebtoken::encode(
            &hs,
            &claims(T0),
            &jsonwebtoken::EncodingKey::from_secret(secret).unwrap(),
        )
        .unwrap();
        assert!(matches!(verify(&token), TokenError::WrongAlgorithm));
    }

    // A header that claims another asymmetric algorithm for this kid.
    let mut rs = header.clone();
    rs["alg"] = json!("RS256");
    let token = format!("{}.{sig}", unsigned(&rs, &payload));
    assert!(matches!(verify(&token), TokenError::WrongAlgorithm));

    // A `crit` header Lanyard cannot honour.
    let mut crit = header.clone();
    crit["crit"] = json!(["exp"]);
    let token = format!("{}.{sig}", unsigned(&crit, &payload));
    assert!(matches!(verify(&token), TokenError::Malformed(_)));

    // A validly signed token from another Lanyard's key.
    let elsewhere = tempfile::tempdir().unwrap();
    let stranger = keyset(elsewhere.path(), Algorithm::Es256, T0);
    let token = stranger.sign(&claims(T0), ACCESS_TOKEN_TYP).unwrap();
    assert!(matches!(verify(&token), TokenError::UnknownKid));

    // Shapes that are not a JWS at all.
    for junk in [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.!!!.!!!",
        "e30.e30.e30",
        &"A".repeat(20_000),
    ] {
        assert!(
            matches!(
                verify(junk),
                TokenError::Malformed(_) | TokenError::MissingClaim("kid")
            ),
            "{junk:.20}"
        );
    }
}

// ---- rotation -----------------------------------------------------------------------

#[test]
fn rotation_prepublishes_then_retires() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let t1 = T0 + 86_400;
    generate_key(dir, Algorithm::Es256, at(T0)).unwrap();
    generate_key(dir, Algorithm::Es256, at(t1)).unwrap();

    // Before t1: the old key signs, the new one is pre-published.
    let before = KeySet::load(dir, Algorithm::Es256, at(t1 - 60)).unwrap();
    let old_kid = before.active_kid().to_owned();
    assert_eq!(before.jwks().keys.len(), 2);
    assert_eq!(before.next_change(), Some(at(t1)));
    let old_token = before.sign(&claims(t1 - 60), ACCESS_TOKEN_TYP).unwrap();

    // From t1: the new key signs; the old one stays published for the window.
    let after = KeySet::load(dir, Algorithm::Es256, at(t1)).unwrap();
    let new_kid = after.active_kid().to_owned();
    assert_ne!(new_kid, old_kid);
    let kids: Vec<String> = after.jwks().keys.into_iter().map(|k| k.kid).collect();
    assert_eq!(kids, [old_kid.clone(), new_kid.clone()]);
    assert_eq!(after.next_change(), Some(at(t1 + RETIREMENT_WINDOW_SECS)));
    let (header, _, _) = parts(&after.sign(&claims(t1), ACCESS_TOKEN_TYP).unwrap());
    assert_eq!(header["kid"], json!(new_kid));
    // Tokens of the old key still verify while it is published.
    after.verify::<Claims>(&old_token, &expect(t1)).unwrap();

    let last_second =
        KeySet::load(dir, Algorithm::Es256, at(t1 + RETIREMENT_WINDOW_SECS - 1)).unwrap();
    assert_eq!(last_second.jwks().keys.len(), 2);

    // After the window: only the new key.
    let later = KeySet::load(dir, Algorithm::Es256, at(t1 + RETIREMENT_WINDOW_SECS)).unwrap();
    let kids: Vec<String> = later.jwks().keys.into_iter().map(|k| k.kid).collect();
    assert_eq!(kids, [new_kid]);
    assert_eq!(later.next_change(), None);
    let far = Expectations {
        leeway_secs: u64::MAX,
        ..expect(t1 + RETIREMENT_WINDOW_SECS)
    };
    assert!(matches!(
        later.verify::<Claims>(&old_token, &far),
        Err(TokenError::UnknownKid)
    ));
}

#[test]
fn three_generations_retire_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (a, b, c) = (T0, T0 + 1_000, T0 + 2_000);
    for t in [a, b, c] {
        generate_key(dir, Algorithm::EdDsa, at(t)).unwrap();
    }
    // a retires at b + window, b at c + window.
    let count = |now: i64| {
        KeySet::load(dir, Algorithm::EdDsa, at(now))
            .unwrap()
            .jwks()
            .keys
            .len()
    };
    assert_eq!(count(c), 3);
    assert_eq!(count(b + RETIREMENT_WINDOW_SECS), 2);
    assert_eq!(count(c + RETIREMENT_WINDOW_SECS), 1);
}

#[test]
fn changing_algorithm_generates_a_key_and_keeps_the_old_one_published() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let es = keyset(dir, Algorithm::Es256, T0);
    let es_token = es.sign(&claims(T0), ACCESS_TOKEN_TYP).unwrap();

    let t1 = T0 + 3_600;
    let ed = keyset(dir, Algorithm::EdDsa, t1);
    assert_eq!(ed.algorithm(), Algorithm::EdDsa);
    assert_ne!(ed.active_kid(), es.active_kid());
    let algs: Vec<String> = ed.jwks().keys.into_iter().map(|k| k.alg).collect();
    assert_eq!(algs, ["ES256", "EdDSA"]);
    ed.verify::<Claims>(&es_token, &expect(t1)).unwrap();
    let (header, _, _) = parts(&ed.sign(&claims(t1), ACCESS_TOKEN_TYP).unwrap());
    assert_eq!(header["alg"], "EdDSA");

    let later = KeySet::load(dir, Algorithm::EdDsa, at(t1 + RETIREMENT_WINDOW_SECS)).unwrap();
    assert_eq!(later.jwks().keys.len(), 1);
}
