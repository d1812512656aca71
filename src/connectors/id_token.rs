//! ID token validation by the book (OpenID Connect Core §3.1.3.7): the ID-token rules on
//! top of [`crate::tokens::jose`]. An [`UnverifiedIdToken`] becomes a [`VerifiedIdToken`]
//! only through [`UnverifiedIdToken::verify`], and the claims are reachable only from the
//! verified type.
//!
//! The JOSE module checks size and compact-JWS shape (anything with `crit` is refused),
//! an asymmetric `alg` (so `none` and HMAC, and with them the HMAC-keyed-with-a-public-key
//! confusion, can never pass), the key by `kid` under the algorithm-from-key rule, the
//! signature, `iss`, `aud` and `azp`, and `exp`, `nbf`, `iat` with the configured skew.
//! On top, here: the provider's `alg` allow-list, Entra ID's `{tenantid}` issuer template
//! filled from `tid`, `sub`, `nonce` (constant time) and `at_hash` when present
//! (§3.1.3.8).
//!
//! Why not `openidconnect`'s `IdTokenVerifier`: in 4.1 it has no clock-skew setting, does
//! not check `nbf`, and its `azp` check for several audiences is commented out; it would
//! also bring a second crypto stack next to the aws-lc-rs one Lanyard signs with.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::connectors::settings::TENANT_PLACEHOLDER;
use crate::secret::Secret;
use crate::tokens::jose::{
    Audience, JoseError, JwsAlgorithm as Algorithm, MAX_JWS_BYTES, UnverifiedJws, Validation,
    VerifiedJws,
};
pub use crate::tokens::jose::{JwksDocument, PublicKeys, access_token_hash};

/// The longest ID token accepted (large group lists fit; anything bigger is refused before
/// any parsing).
pub const MAX_ID_TOKEN_BYTES: usize = MAX_JWS_BYTES;

/// Why an ID token was refused. Messages name no token content beyond claim names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    /// Larger than [`MAX_ID_TOKEN_BYTES`].
    #[error("the ID token is larger than {MAX_ID_TOKEN_BYTES} bytes")]
    Oversized,
    /// Not a compact JWS with a JSON header and payload.
    #[error("the ID token is malformed: {0}")]
    Malformed(&'static str),
    /// `alg` is `none`, HMAC, unknown, or not allowed for this provider.
    #[error("the ID token's algorithm {0:?} is not accepted")]
    AlgorithmNotAllowed(String),
    /// No published key fits `kid` and `alg`.
    #[error("no signing key of the provider matches the ID token (kid {0:?})")]
    UnknownKey(Option<String>),
    /// The signature does not verify.
    #[error("the ID token's signature does not verify")]
    BadSignature,
    /// A required claim is missing or has the wrong type.
    #[error("the ID token lacks a valid {0} claim")]
    MissingClaim(&'static str),
    /// `iss` is not the provider's issuer.
    #[error("the ID token was issued by someone else (iss)")]
    WrongIssuer,
    /// `aud` does not contain our client id.
    #[error("the ID token is not meant for Lanyard (aud)")]
    WrongAudience,
    /// `azp` missing with several audiences, or not our client id.
    #[error("the ID token's authorized party is not Lanyard (azp)")]
    WrongAuthorizedParty,
    /// `exp` has passed (with skew).
    #[error("the ID token has expired")]
    Expired,
    /// `nbf` is in the future (with skew).
    #[error("the ID token is not valid yet (nbf)")]
    NotYetValid,
    /// `iat` is in the future (with skew).
    #[error("the ID token was issued in the future (iat)")]
    IssuedInFuture,
    /// `nonce` is not the one sent.
    #[error("the ID token's nonce does not match the sign-in")]
    NonceMismatch,
    /// `at_hash` does not match the access token.
    #[error("the ID token's at_hash does not match the access token")]
    AccessTokenHashMismatch,
}

/// How `iss` is checked.
#[derive(Debug, Clone, Copy)]
pub enum IssuerCheck<'a> {
    /// Exactly this issuer.
    Exact(&'a str),
    /// Entra ID multi-tenant: the template with `{tenantid}` replaced by the `tid` claim.
    TenantTemplate(&'a str),
}

/// What the token is presented for, which decides the `aud`, `azp` and `nonce` checks.
#[derive(Debug, Clone, Copy)]
pub enum TokenUse<'a> {
    /// An ID token from a sign-in Lanyard started (OIDC Core §3.1.3.7): `aud` contains our
    /// client id, `azp` (when present, or when there are several audiences) is our client
    /// id, and `nonce` is the one we sent.
    SignIn {
        /// Our client id.
        client_id: &'a str,
        /// The nonce sent with the authorization request.
        nonce: &'a str,
    },
    /// A web identity token a workload presents to the STS or to token exchange: `aud`
    /// contains one of the configured audiences. There is no nonce (Lanyard did not ask for
    /// the token) and `azp` is left to trust policies (`{provider}:azp`).
    WebIdentity {
        /// Accepted audiences.
        audiences: &'a [String],
    },
}

/// What a valid token must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    /// Issuer check.
    pub issuer: IssuerCheck<'a>,
    /// Sign-in or web identity.
    pub token_use: TokenUse<'a>,
    /// Algorithms allowed for this provider (a subset of
    /// [`crate::tokens::jose::ASYMMETRIC_ALGORITHMS`]).
    pub algorithms: &'a [Algorithm],
    /// Now (the injected clock).
    pub now: UnixTime,
    /// Tolerated clock skew in seconds.
    pub skew: i64,
    /// The access token issued with the ID token, for `at_hash`.
    pub access_token: Option<&'a Secret>,
}

impl From<JoseError> for IdTokenError {
    /// Key trouble ([`JoseError::UnknownKey`], [`JoseError::AlgorithmMismatch`]) is mapped
    /// by [`UnverifiedIdToken::verify`], which knows the `kid`.
    fn from(e: JoseError) -> Self {
        match e {
            JoseError::Oversized => IdTokenError::Oversized,
            JoseError::Malformed(what) => IdTokenError::Malformed(what),
            JoseError::CriticalHeader => IdTokenError::Malformed("unsupported critical header"),
            JoseError::UnsupportedAlgorithm(alg) => IdTokenError::AlgorithmNotAllowed(alg),
            JoseError::UnknownKey | JoseError::AlgorithmMismatch => IdTokenError::UnknownKey(None),
            JoseError::BadSignature => IdTokenError::BadSignature,
            JoseError::MissingClaim(name) | JoseError::InvalidClaim(name) => {
                IdTokenError::MissingClaim(name)
            }
            JoseError::WrongIssuer => IdTokenError::WrongIssuer,
            JoseError::WrongAudience => IdTokenError::WrongAudience,
            JoseError::WrongAuthorizedParty => IdTokenError::WrongAuthorizedParty,
            JoseError::Expired | JoseError::TooOld | JoseError::TooLongLived => {
                IdTokenError::Expired
            }
            JoseError::NotYetValid => IdTokenError::NotYetValid,
            JoseError::IssuedInFuture => IdTokenError::IssuedInFuture,
            JoseError::WrongType => IdTokenError::Malformed("typ"),
        }
    }
}

/// An ID token as received: nothing in it is trusted yet.
pub struct UnverifiedIdToken<'a>(UnverifiedJws<'a>);

impl std::fmt::Debug for UnverifiedIdToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("UnverifiedIdToken").field(&self.0).finish()
    }
}

/// The algorithms of a discovery document's `id_token_signing_alg_values_supported` that
/// Lanyard accepts; RS256 when the document names none (OIDC Discovery §3).
pub fn allowed_algorithms(advertised: Option<&[String]>) -> Vec<Algorithm> {
    match advertised {
        Some(list) if !list.is_empty() => list
            .iter()
            .filter_map(|a| a.parse().ok())
            .filter(|a| crate::tokens::jose::ASYMMETRIC_ALGORITHMS.contains(a))
            .collect(),
        _ => vec![Algorithm::RS256],
    }
}

impl<'a> UnverifiedIdToken<'a> {
    /// Splits and reads the header; refuses anything that is not a compact JWS with an
    /// accepted asymmetric `alg`.
    pub fn parse(token: &'a str) -> Result<Self, IdTokenError> {
        Ok(Self(UnverifiedJws::parse(token)?))
    }

    /// The `kid` of the header (to decide on a JWKS refresh).
    pub fn kid(&self) -> Option<&str> {
        self.0.kid()
    }

    /// The `iss` the token claims, read before verification, only to pick the provider
    /// whose keys then verify it (the issuer is checked again after the signature).
    pub fn claimed_issuer(&self) -> Result<String, IdTokenError> {
        #[derive(Deserialize)]
        struct Iss {
            iss: Option<String>,
        }
        self.0
            .untrusted_claims::<Iss>()?
            .iss
            .ok_or(IdTokenError::MissingClaim("iss"))
    }

    /// Whether the keys hold a key for this token's `kid` and `alg`.
    pub fn has_key_in(&self, keys: &PublicKeys) -> bool {
        keys.has_key_for(&self.0)
    }

    /// Verifies signature and claims; the claims become reachable only on success.
    pub fn verify(
        &self,
        keys: &PublicKeys,
        expect: &Expectations<'_>,
    ) -> Result<VerifiedIdToken, IdTokenError> {
        let alg = self.0.alg();
        if !expect.algorithms.contains(&alg) {
            return Err(IdTokenError::AlgorithmNotAllowed(format!("{alg:?}")));
        }
        let (audience, authorized_party, nonce) = match expect.token_use {
            // §3.1.3.7 steps 3–5.
            TokenUse::SignIn { client_id, nonce } => {
                (Audience::Is(client_id), Some(client_id), Some(nonce))
            }
            TokenUse::WebIdentity { audiences } => (Audience::AnyOf(audiences), None, None),
        };
        let rules = Validation {
            audience,
            authorized_party,
            require_iat: true,
            ..Validation::new(
                match expect.issuer {
                    IssuerCheck::Exact(issuer) => Some(issuer),
                    IssuerCheck::TenantTemplate(_) => None,
                },
                expect.now,
                expect.skew,
            )
        };
        let verified = self.0.verify(keys, &rules).map_err(|e| match e {
            JoseError::UnknownKey | JoseError::AlgorithmMismatch => {
                IdTokenError::UnknownKey(self.0.kid().map(str::to_owned))
            }
            other => other.into(),
        })?;
        check_id_token_claims(&verified, expect, nonce)?;
        Ok(VerifiedIdToken {
            claims: verified.into_claims(),
            alg,
        })
    }
}

/// The ID-token rules on top of the registered claims: Entra ID's issuer template, `sub`,
/// `nonce` (§3.1.3.7 step 11) and `at_hash` (§3.1.3.8).
fn check_id_token_claims(
    verified: &VerifiedJws,
    expect: &Expectations<'_>,
    nonce: Option<&str>,
) -> Result<(), IdTokenError> {
    if let IssuerCheck::TenantTemplate(template) = expect.issuer {
        let iss = verified
            .str_claim("iss")
            .ok_or(IdTokenError::MissingClaim("iss"))?;
        let tid = verified
            .str_claim("tid")
            .ok_or(IdTokenError::MissingClaim("tid"))?;
        let tid_ok = !tid.is_empty()
            && tid.len() <= 64
            && tid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !(tid_ok && iss == template.replace(TENANT_PLACEHOLDER, tid)) {
            return Err(IdTokenError::WrongIssuer);
        }
    }
    let sub = verified
        .str_claim("sub")
        .ok_or(IdTokenError::MissingClaim("sub"))?;
    if sub.is_empty() || sub.len() > 255 {
        return Err(IdTokenError::MissingClaim("sub"));
    }
    if let Some(want) = nonce {
        let got = verified.str_claim("nonce").unwrap_or("");
        if want.is_empty() || Secret::new(got) != Secret::new(want) {
            return Err(IdTokenError::NonceMismatch);
        }
    }
    if let (Some(at_hash), Some(token)) = (verified.claims().get("at_hash"), expect.access_token) {
        let want = at_hash
            .as_str()
            .ok_or(IdTokenError::MissingClaim("at_hash"))?;
        if access_token_hash(verified.alg(), token.expose_secret()) != want {
            return Err(IdTokenError::AccessTokenHashMismatch);
        }
    }
    Ok(())
}

/// A validated ID token: the only way to its claims.
#[derive(Clone)]
pub struct VerifiedIdToken {
    claims: Map<String, Value>,
    alg: Algorithm,
}

impl std::fmt::Debug for VerifiedIdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedIdToken")
            .field("alg", &self.alg)
            .field("sub", &self.subject())
            .finish_non_exhaustive()
    }
}

impl VerifiedIdToken {
    /// `sub`.
    pub fn subject(&self) -> &str {
        self.claims.get("sub").and_then(Value::as_str).unwrap_or("")
    }

    /// Every claim.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// Every claim, owned.
    pub fn into_claims(self) -> Map<String, Value> {
        self.claims
    }

    /// The `alg` it was signed with, as the JOSE header names it.
    pub fn alg_name(&self) -> String {
        format!("{:?}", self.alg)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;
    use crate::tokens::{Algorithm as SigningAlg, KeySet};

    const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);
    const TEMPLATE: &str = "https://login.example/{tenantid}/v2.0";

    fn setup() -> (tempfile::TempDir, KeySet, PublicKeys) {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeySet::load_or_generate(dir.path(), SigningAlg::Es256, NOW).unwrap();
        let jwks = PublicKeys::from_json(&serde_json::to_string(&keys.jwks()).unwrap()).unwrap();
        (dir, keys, jwks)
    }

    fn expect(issuer: IssuerCheck<'_>) -> Expectations<'_> {
        Expectations {
            issuer,
            token_use: TokenUse::SignIn {
                client_id: "app",
                nonce: "n",
            },
            algorithms: &[Algorithm::ES256],
            now: NOW,
            skew: 60,
            access_token: None,
        }
    }

    fn claims(iss: &str, tid: &str) -> Value {
        json!({"iss": iss, "tid": tid, "sub": "s", "aud": "app", "exp": NOW.secs() + 60, "iat": NOW, "nonce": "n"})
    }

    #[test]
    fn entra_issuer_template_is_filled_from_tid() {
        let (_d, keys, jwks) = setup();
        let check = |c: Value, e: &Expectations<'_>| {
            let t = keys.sign(&c, "JWT").unwrap();
            UnverifiedIdToken::parse(&t)
                .unwrap()
                .verify(&jwks, e)
                .map(|_| ())
        };
        let e = expect(IssuerCheck::TenantTemplate(TEMPLATE));
        assert_eq!(
            check(claims("https://login.example/t1/v2.0", "t1"), &e),
            Ok(())
        );
        // A token of tenant t2 claiming to be t1's, or with a tid that is not an id.
        assert_eq!(
            check(claims("https://login.example/t1/v2.0", "t2"), &e),
            Err(IdTokenError::WrongIssuer)
        );
        assert_eq!(
            check(claims("https://login.example/a/b/v2.0", "a/b"), &e),
            Err(IdTokenError::WrongIssuer)
        );
        let exact = expect(IssuerCheck::Exact("https://login.example/t1/v2.0"));
        assert_eq!(
            check(claims("https://login.example/t1/v2.0", "x"), &exact),
            Ok(())
        );
        // Not in the allow-list: refused even with a good signature.
        let mut only_rs = exact;
        only_rs.algorithms = &[Algorithm::RS256];
        assert!(matches!(
            check(claims("https://login.example/t1/v2.0", "x"), &only_rs),
            Err(IdTokenError::AlgorithmNotAllowed(_))
        ));
    }

    #[test]
    fn malformed_tokens_are_refused_before_any_crypto() {
        assert_eq!(
            UnverifiedIdToken::parse("a.b").unwrap_err(),
            IdTokenError::Malformed("not a compact JWS (three parts)")
        );
        assert!(UnverifiedIdToken::parse("a.b.c.d.e").is_err());
        assert_eq!(
            UnverifiedIdToken::parse(&"a".repeat(MAX_ID_TOKEN_BYTES + 1)).unwrap_err(),
            IdTokenError::Oversized
        );
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(b"{}")
        );
        assert!(matches!(
            UnverifiedIdToken::parse(&none),
            Err(IdTokenError::AlgorithmNotAllowed(_))
        ));
        assert_eq!(
            allowed_algorithms(Some(&[
                "HS256".to_owned(),
                "none".to_owned(),
                "ES256".to_owned()
            ])),
            vec![Algorithm::ES256]
        );
        assert_eq!(allowed_algorithms(None), vec![Algorithm::RS256]);
    }
}

/// When the first of a JWKS's `x5c` leaf certificates expires, among its signing keys;
/// `None` when none carries a readable certificate.
pub fn certificate_expiry(doc: &JwksDocument) -> Option<UnixTime> {
    use base64::Engine as _;
    doc.keys()
        .iter()
        .filter(|k| k.get("use").and_then(Value::as_str) != Some("enc"))
        .filter_map(|k| k.get("x5c")?.as_array()?.first()?.as_str())
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .filter_map(|der| super::certificate_not_after(&der))
        .min()
}

#[cfg(test)]
mod certificate_tests {
    use super::*;

    /// The `x5c` form (base64 DER) of a PEM certificate fixture.
    fn x5c(fixture: &str) -> String {
        let pem = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/saml")
                .join(fixture),
        )
        .unwrap();
        pem.lines().filter(|l| !l.starts_with("-----")).collect()
    }

    #[test]
    fn the_earliest_x5c_certificate_expiry_is_kept_and_keys_without_x5c_have_none() {
        let with = serde_json::json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "a", "x5c": [x5c("idp1.crt")]},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "b"},
        ]});
        let doc: JwksDocument = serde_json::from_value(with).unwrap();
        // tests/fixtures/saml/idp1.crt: notAfter Nov 25 21:05:45 2036 GMT.
        assert_eq!(
            certificate_expiry(&doc),
            Some(UnixTime::from_secs(2_111_259_945))
        );
        let without = serde_json::json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]});
        let doc: JwksDocument = serde_json::from_value(without).unwrap();
        assert_eq!(certificate_expiry(&doc), None);
    }
}
