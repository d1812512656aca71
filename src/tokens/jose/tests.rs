use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::client_assertion::VerifiedAssertion;
use super::*;
use crate::clock::UnixTime;
use crate::secret::Secret;
use crate::tokens::{Algorithm, KeySet};

/// Now, in the claims' numbers.
const NOW: i64 = 1_800_000_000;
/// Now, as the checks take it.
const AT: UnixTime = UnixTime::from_secs(NOW);
const ISS: &str = "https://idp.example";

/// A key pair of `alg`: its private key as a [`SigningKey`] with `kid`, and its JWKS.
struct Pair {
    dir: tempfile::TempDir,
    keys: KeySet,
    jwks: Value,
}

impl Pair {
    fn new(alg: Algorithm) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeySet::load_or_generate(dir.path(), alg, AT).unwrap();
        let jwks = serde_json::to_value(keys.jwks()).unwrap();
        Pair { dir, keys, jwks }
    }

    fn kid(&self) -> &str {
        self.keys.active_kid()
    }

    fn public(&self) -> PublicKeys {
        PublicKeys::from_json(&self.jwks.to_string()).unwrap()
    }

    /// The JWKS with `edit` applied to its one key.
    fn public_with(&self, edit: impl Fn(&mut serde_json::Map<String, Value>)) -> PublicKeys {
        let mut jwks = self.jwks.clone();
        edit(jwks["keys"][0].as_object_mut().unwrap());
        PublicKeys::from_json(&jwks.to_string()).unwrap()
    }

    fn sign(&self, claims: &Value) -> String {
        self.keys.sign(claims, "JWT").unwrap()
    }
}

fn claims() -> Value {
    json!({"iss": ISS, "sub": "s", "aud": "app", "exp": NOW + 300, "iat": NOW, "jti": "j-1"})
}

fn rules() -> Validation<'static> {
    Validation {
        audience: Audience::Is("app"),
        ..Validation::new(Some(ISS), AT, 0)
    }
}

fn verify(
    token: &str,
    keys: &PublicKeys,
    rules: &Validation<'_>,
) -> Result<VerifiedJws, JoseError> {
    UnverifiedJws::parse(token)?.verify(keys, rules)
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// `token` with its header replaced (the signature no longer matches it).
fn with_header(token: &str, header: &Value) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    format!("{}.{rest}", b64(header))
}

#[test]
fn a_good_token_verifies_with_each_algorithm() {
    for alg in Algorithm::ALL {
        let pair = Pair::new(alg);
        let verified = verify(&pair.sign(&claims()), &pair.public(), &rules()).unwrap();
        assert_eq!(verified.alg(), alg.jws());
        assert_eq!(verified.str_claim("sub"), Some("s"));
        assert!(!format!("{verified:?}").contains("\"s\""));
    }
}

#[test]
fn keys_parsed_once_refuse_what_jsonwebtoken_refuses() {
    for alg in Algorithm::ALL {
        let pair = Pair::new(alg);
        let token = pair.sign(&claims());
        let (message, signature) = token.rsplit_once('.').unwrap();
        // Each key is parsed once for its first algorithm (RS256, ES256, EdDSA).
        let keys = pair.public();
        assert!(verify(&token, &keys, &rules()).is_ok(), "{alg:?}");
        // Another signature byte, a padded signature, another payload: refused.
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
        bytes[0] ^= 1;
        let flipped = format!("{message}.{}", URL_SAFE_NO_PAD.encode(&bytes));
        let padded = format!("{token}=");
        let (head, _) = message.split_once('.').unwrap();
        let mut other = claims();
        other["sub"] = json!("admin");
        let forged = format!("{head}.{}.{signature}", b64(&other));
        for bad in [flipped, padded, forged] {
            assert_eq!(
                verify(&bad, &keys, &rules()).unwrap_err(),
                JoseError::BadSignature,
                "{alg:?}"
            );
            let ours = jsonwebtoken::DecodingKey::from_jwk(
                &serde_json::from_value(pair.jwks["keys"][0].clone()).unwrap(),
            )
            .unwrap();
            let (m, s) = bad.rsplit_once('.').unwrap();
            assert!(
                !jsonwebtoken::crypto::verify(s, m.as_bytes(), &ours, alg.jws()).unwrap_or(false),
                "{alg:?}"
            );
        }
    }
}

#[test]
fn alg_confusion_is_refused() {
    let pair = Pair::new(Algorithm::Rs256);
    let keys = pair.public();
    let token = pair.sign(&claims());
    // HS256 keyed with the published JWK (the classic confusion), and `none`.
    let mut hs = jsonwebtoken::Header::new(JwsAlgorithm::HS256);
    hs.kid = Some(pair.kid().to_owned());
    let hmac = jsonwebtoken::encode(
        &hs,
        &claims(),
        &jsonwebtoken::EncodingKey::from_secret(pair.jwks["keys"][0].to_string().as_bytes())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        verify(&hmac, &keys, &rules()).unwrap_err(),
        JoseError::UnsupportedAlgorithm("HS256".into())
    );
    let none = with_header(&token, &json!({"alg": "none", "kid": pair.kid()}));
    let none = format!("{}.", none.rsplit_once('.').unwrap().0);
    assert_eq!(
        verify(&none, &keys, &rules()).unwrap_err(),
        JoseError::UnsupportedAlgorithm("none".into())
    );
    // Another asymmetric algorithm than the key's own `alg`, even one of its type.
    for alg in ["PS256", "RS512", "ES256"] {
        let switched = with_header(&token, &json!({"alg": alg, "kid": pair.kid()}));
        assert_eq!(
            verify(&switched, &keys, &rules()).unwrap_err(),
            JoseError::AlgorithmMismatch,
            "{alg}"
        );
    }
}

#[test]
fn kid_mismatch_and_foreign_keys_are_refused() {
    let pair = Pair::new(Algorithm::Es256);
    let stranger = Pair::new(Algorithm::Es256);
    let token = pair.sign(&claims());
    let renamed = with_header(&token, &json!({"alg": "ES256", "kid": "nobody"}));
    assert_eq!(
        verify(&renamed, &pair.public(), &rules()).unwrap_err(),
        JoseError::UnknownKey
    );
    assert_eq!(
        verify(&token, &stranger.public(), &rules()).unwrap_err(),
        JoseError::UnknownKey
    );
    // The stranger's key published under our kid: the signature decides.
    let swapped = stranger.public_with(|k| {
        k.insert("kid".into(), json!(pair.kid()));
    });
    assert_eq!(
        verify(&token, &swapped, &rules()).unwrap_err(),
        JoseError::BadSignature
    );
    // Tampered payload.
    let (head, rest) = token.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    let mut elevated = claims();
    elevated["sub"] = json!("admin");
    let forged = format!("{head}.{}.{sig}", b64(&elevated));
    assert_eq!(
        verify(&forged, &pair.public(), &rules()).unwrap_err(),
        JoseError::BadSignature
    );
}

#[test]
fn a_key_without_alg_allows_the_algorithms_of_its_type_and_curve() {
    let ec = Pair::new(Algorithm::Es256);
    let no_alg = ec.public_with(|k| {
        k.remove("alg");
    });
    let token = ec.sign(&claims());
    assert!(verify(&token, &no_alg, &rules()).is_ok());
    let es384 = with_header(&token, &json!({"alg": "ES384", "kid": ec.kid()}));
    assert_eq!(
        verify(&es384, &no_alg, &rules()).unwrap_err(),
        JoseError::AlgorithmMismatch
    );
    // Without a kid either: the key is found by its type and curve.
    let pem = std::fs::read_dir(ec.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pem"))
        .unwrap();
    let pem = Secret::new(std::fs::read_to_string(pem).unwrap());
    let anonymous = SigningKey::from_pem(&pem, None)
        .unwrap()
        .sign(&claims(), "JWT")
        .unwrap();
    assert_eq!(UnverifiedJws::parse(&anonymous).unwrap().kid(), None);
    assert!(verify(&anonymous, &no_alg, &rules()).is_ok());
    assert!(verify(&anonymous, &ec.public(), &rules()).is_ok());
    // … but never by a key of another type.
    let ed = Pair::new(Algorithm::EdDsa);
    assert_eq!(
        verify(&anonymous, &ed.public(), &rules()).unwrap_err(),
        JoseError::UnknownKey
    );

    let rsa = Pair::new(Algorithm::Rs256);
    let rsa_no_alg = rsa.public_with(|k| {
        k.remove("alg");
    });
    assert!(verify(&rsa.sign(&claims()), &rsa_no_alg, &rules()).is_ok());
    // A key whose `alg` does not fit its type is not used at all; HMAC keys neither.
    assert!(
        rsa.public_with(|k| {
            k.insert("alg".into(), json!("ES256"));
        })
        .is_empty()
    );
    let hmac = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "alg": "HS256", "kid": "h"}]});
    assert!(PublicKeys::from_json(&hmac.to_string()).unwrap().is_empty());
    assert!(matches!(
        PublicKeys::from_json_strict(&hmac.to_string()),
        Err(JwksError::UnusableKey(0))
    ));
    assert!(matches!(
        PublicKeys::from_json_strict(r#"{"keys": []}"#),
        Err(JwksError::Empty)
    ));
    assert!(matches!(
        PublicKeys::from_json_strict("[]"),
        Err(JwksError::NotAJwkSet(_))
    ));
    assert_eq!(
        PublicKeys::from_json_strict(&rsa.jwks.to_string())
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn time_claims_with_and_without_skew() {
    let pair = Pair::new(Algorithm::Es256);
    let keys = pair.public();
    let at = |claims: &Value, now: i64, skew: i64| {
        let rules = Validation {
            now: UnixTime::from_secs(now),
            skew,
            ..rules()
        };
        verify(&pair.sign(claims), &keys, &rules).map(|_| ())
    };
    let exp = NOW + 300;
    assert_eq!(at(&claims(), exp - 1, 0), Ok(()));
    assert_eq!(at(&claims(), exp, 0), Err(JoseError::Expired));
    assert_eq!(at(&claims(), exp + 59, 60), Ok(()));
    assert_eq!(at(&claims(), exp + 60, 60), Err(JoseError::Expired));

    let mut future = claims();
    future["nbf"] = json!(NOW + 30);
    assert_eq!(at(&future, NOW, 0), Err(JoseError::NotYetValid));
    assert_eq!(at(&future, NOW, 30), Ok(()));
    let mut early = claims();
    early["iat"] = json!(NOW + 30);
    assert_eq!(at(&early, NOW, 29), Err(JoseError::IssuedInFuture));
    assert_eq!(at(&early, NOW, 30), Ok(()));

    // Required and optional claims, and NumericDate shapes.
    let mut no_exp = claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_eq!(at(&no_exp, NOW, 0), Err(JoseError::MissingClaim("exp")));
    let mut text_exp = claims();
    text_exp["exp"] = json!("tomorrow");
    assert_eq!(at(&text_exp, NOW, 0), Err(JoseError::InvalidClaim("exp")));
    let mut fractional = claims();
    fractional["exp"] = json!(NOW as f64 + 10.5);
    assert_eq!(at(&fractional, NOW, 0), Ok(()));
    let mut huge = claims();
    huge["exp"] = json!(1e300);
    assert_eq!(at(&huge, NOW, 0), Err(JoseError::InvalidClaim("exp")));

    let mut no_iat = claims();
    no_iat.as_object_mut().unwrap().remove("iat");
    let strict = Validation {
        require_iat: true,
        ..rules()
    };
    assert_eq!(
        verify(&pair.sign(&no_iat), &keys, &strict).map(|_| ()),
        Err(JoseError::MissingClaim("iat"))
    );
    let aged = Validation {
        max_age: Some(60),
        now: UnixTime::from_secs(NOW + 61),
        ..rules()
    };
    assert_eq!(
        verify(&pair.sign(&claims()), &keys, &aged).map(|_| ()),
        Err(JoseError::TooOld)
    );
    let short = Validation {
        max_lifetime: Some(299),
        ..rules()
    };
    assert_eq!(
        verify(&pair.sign(&claims()), &keys, &short).map(|_| ()),
        Err(JoseError::TooLongLived)
    );
}

#[test]
fn issuer_audience_azp_typ_and_jti() {
    let pair = Pair::new(Algorithm::Es256);
    let keys = pair.public();
    let check = |edit: &dyn Fn(&mut Value), rules: &Validation<'_>| {
        let mut c = claims();
        edit(&mut c);
        verify(&pair.sign(&c), &keys, rules).map(|_| ())
    };
    let keep = |_: &mut Value| {};
    assert_eq!(
        check(&|c| c["iss"] = json!("https://evil.example"), &rules()),
        Err(JoseError::WrongIssuer)
    );
    assert_eq!(
        check(&|c| c["iss"] = json!([ISS]), &rules()),
        Err(JoseError::WrongIssuer)
    );
    assert_eq!(
        check(
            &|c| {
                c.as_object_mut().unwrap().remove("iss");
            },
            &rules()
        ),
        Err(JoseError::MissingClaim("iss"))
    );
    // Audience arrays: any entry may match; non-strings are ignored.
    assert_eq!(
        check(&|c| c["aud"] = json!(["x", 7, "app"]), &rules()),
        Ok(())
    );
    assert_eq!(
        check(&|c| c["aud"] = json!(["x", "y"]), &rules()),
        Err(JoseError::WrongAudience)
    );
    assert_eq!(
        check(&|c| c["aud"] = json!(7), &rules()),
        Err(JoseError::InvalidClaim("aud"))
    );
    let listed = ["y".to_owned(), "app".to_owned()];
    let any_of = Validation {
        audience: Audience::AnyOf(&listed),
        ..rules()
    };
    assert_eq!(check(&|c| c["aud"] = json!(["z", "y"]), &any_of), Ok(()));
    assert_eq!(check(&keep, &Validation::new(Some(ISS), AT, 0)), Ok(()));

    // azp: needed with several audiences, and must be the party when present.
    let azp = Validation {
        authorized_party: Some("app"),
        ..rules()
    };
    assert_eq!(check(&keep, &azp), Ok(()));
    assert_eq!(
        check(&|c| c["aud"] = json!(["app", "x"]), &azp),
        Err(JoseError::WrongAuthorizedParty)
    );
    assert_eq!(
        check(
            &|c| {
                c["aud"] = json!(["app", "x"]);
                c["azp"] = json!("app");
            },
            &azp
        ),
        Ok(())
    );
    assert_eq!(
        check(&|c| c["azp"] = json!("x"), &azp),
        Err(JoseError::WrongAuthorizedParty)
    );

    // typ (signed as "JWT").
    for (want, ok) in [("JWT", true), ("jwt", true), ("at+jwt", false)] {
        let typed = Validation {
            typ: Some(want),
            ..rules()
        };
        assert_eq!(check(&keep, &typed).is_ok(), ok, "{want}");
    }
    let jti = Validation {
        require_jti: true,
        ..rules()
    };
    assert_eq!(check(&keep, &jti), Ok(()));
    assert_eq!(
        check(
            &|c| {
                c.as_object_mut().unwrap().remove("jti");
            },
            &jti
        ),
        Err(JoseError::MissingClaim("jti"))
    );
    assert_eq!(
        check(&|c| c["jti"] = json!(""), &jti),
        Err(JoseError::InvalidClaim("jti"))
    );
    assert_eq!(
        check(&|c| c["jti"] = json!("j".repeat(257)), &jti),
        Err(JoseError::InvalidClaim("jti"))
    );
}

#[test]
fn malformed_tokens_are_refused_before_any_crypto() {
    let header = b64(&json!({"alg": "ES256", "kid": "k"}));
    let payload = b64(&claims());
    let cases: Vec<(String, JoseError)> = vec![
        ("A".repeat(MAX_JWS_BYTES + 1), JoseError::Oversized),
        (
            "a.b".into(),
            JoseError::Malformed("not a compact JWS (three parts)"),
        ),
        (
            "a.b.c.d".into(),
            JoseError::Malformed("not a compact JWS (three parts)"),
        ),
        (format!("!!.{payload}.x"), JoseError::Malformed("header")),
        (
            format!("{}.{payload}.x", b64(&json!("text"))),
            JoseError::Malformed("header"),
        ),
        (
            format!("{}.{payload}.x", b64(&json!({"kid": "k"}))),
            JoseError::Malformed("header"),
        ),
        (format!("{header}.%%.x"), JoseError::Malformed("payload")),
        (
            format!(
                "{}.{payload}.x",
                b64(&json!({"alg": "ES256", "crit": ["exp"]}))
            ),
            JoseError::CriticalHeader,
        ),
        (
            format!("{}.{payload}.x", b64(&json!({"alg": "HS512"}))),
            JoseError::UnsupportedAlgorithm("HS512".into()),
        ),
    ];
    for (token, want) in cases {
        assert_eq!(
            UnverifiedJws::parse(&token).unwrap_err(),
            want,
            "{token:.40}"
        );
    }
    // A payload that is not an object is refused after the signature.
    let pair = Pair::new(Algorithm::Es256);
    let token = pair
        .keys
        .sign(&json!(["not", "an", "object"]), "JWT")
        .unwrap();
    assert_eq!(
        verify(&token, &pair.public(), &rules()).unwrap_err(),
        JoseError::Malformed("the payload is not a JSON object")
    );
    // A token of the maximum size is still read.
    let mut big = claims();
    big["pad"] = json!("x".repeat(MAX_JWS_BYTES / 2));
    assert!(verify(&pair.sign(&big), &pair.public(), &rules()).is_ok());
}

#[test]
fn client_assertions_follow_rfc_7523() {
    let pair = Pair::new(Algorithm::Es256);
    let keys = pair.public();
    let audiences = ["https://lanyard.example/oauth2/token".to_owned()];
    let assertion = |edit: &dyn Fn(&mut Value)| {
        let mut c = json!({"iss": "robot", "sub": "robot", "aud": audiences[0], "exp": NOW + 120, "iat": NOW, "jti": "a-1"});
        edit(&mut c);
        let token = pair.sign(&c);
        let jws = UnverifiedJws::parse(&token).unwrap();
        assert_eq!(
            client_assertion::claimed_client(&jws).ok().as_deref(),
            c["sub"].as_str()
        );
        VerifiedAssertion::verify(&jws, &keys, "robot", &audiences, AT)
            .map(|a| (a.jti().to_owned(), a.expires_at().secs()))
    };
    assert_eq!(assertion(&|_| {}), Ok(("a-1".to_owned(), NOW + 120)));
    assert_eq!(
        assertion(&|c| c["iss"] = json!("other")),
        Err(JoseError::WrongIssuer)
    );
    assert_eq!(
        assertion(&|c| c["sub"] = json!("other")),
        Err(JoseError::InvalidClaim("sub"))
    );
    assert_eq!(
        assertion(&|c| c["aud"] = json!("https://elsewhere")),
        Err(JoseError::WrongAudience)
    );
    assert_eq!(
        assertion(&|c| c["exp"] = json!(NOW + 3600)),
        Err(JoseError::TooLongLived)
    );
    assert_eq!(
        assertion(&|c| c["exp"] = json!(NOW - 120)),
        Err(JoseError::Expired)
    );
    assert_eq!(
        assertion(&|c| c["iat"] = json!(NOW - 3600)),
        Err(JoseError::TooOld)
    );
    assert_eq!(
        assertion(&|c| {
            c.as_object_mut().unwrap().remove("jti");
        }),
        Err(JoseError::MissingClaim("jti"))
    );
}

#[test]
fn signing_keys_from_pkcs1_and_sec1_pem() {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::rsa::Rsa;

    let ec = EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap();
    let rsa = Rsa::generate(2048).unwrap();
    let cases = [
        (
            ec.private_key_to_pem().unwrap(),
            jsonwebtoken::DecodingKey::from_ec_pem(&ec.public_key_to_pem().unwrap()).unwrap(),
            JwsAlgorithm::ES256,
        ),
        (
            rsa.private_key_to_pem().unwrap(),
            jsonwebtoken::DecodingKey::from_rsa_pem(&rsa.public_key_to_pem().unwrap()).unwrap(),
            JwsAlgorithm::RS256,
        ),
    ];
    for (pem, public, alg) in cases {
        let pem = Secret::new(String::from_utf8(pem).unwrap());
        let key = SigningKey::from_pem(&pem, Some("k1")).unwrap();
        assert_eq!(key.algorithm().jws(), alg);
        assert!(!format!("{key:?}").contains("PRIVATE"));
        let token = key.sign(&claims(), "JWT").unwrap();
        let jws = UnverifiedJws::parse(&token).unwrap();
        assert_eq!(
            (jws.alg(), jws.kid(), jws.typ()),
            (alg, Some("k1"), Some("JWT"))
        );
        let mut v = jsonwebtoken::Validation::new(alg);
        v.set_audience(&["app"]);
        v.validate_exp = false;
        assert!(jsonwebtoken::decode::<Value>(&token, &public, &v).is_ok());
    }
    let small = Rsa::generate(1024).unwrap().private_key_to_pem().unwrap();
    assert!(SigningKey::from_pem(&Secret::new(String::from_utf8(small).unwrap()), None).is_err());
    assert!(SigningKey::from_pem(&Secret::new("not a key"), None).is_err());
}

#[test]
fn at_hash_is_the_left_half_of_the_algorithms_hash() {
    for (alg, len) in [
        (JwsAlgorithm::ES256, 16),
        (JwsAlgorithm::RS384, 24),
        (JwsAlgorithm::EdDSA, 32),
    ] {
        let h = access_token_hash(alg, "abc");
        assert_eq!(URL_SAFE_NO_PAD.decode(h).unwrap().len(), len);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics_on_random_input(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = UnverifiedJws::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_random_parts(
        header in proptest::collection::vec(any::<u8>(), 0..128),
        payload in proptest::collection::vec(any::<u8>(), 0..128),
        signature in "[A-Za-z0-9_-]{0,90}",
    ) {
        let token = format!(
            "{}.{}.{signature}",
            URL_SAFE_NO_PAD.encode(&header),
            URL_SAFE_NO_PAD.encode(&payload)
        );
        let pair_keys = PublicKeys::default();
        if let Ok(jws) = UnverifiedJws::parse(&token) {
            prop_assert!(jws.verify(&pair_keys, &rules()).is_err());
        }
    }
}
