//! ID token validation by the book (OpenID Connect Core §3.1.3.7), on jsonwebtoken's
//! aws-lc-rs backend: an [`UnverifiedIdToken`] becomes a [`VerifiedIdToken`] only through
//! [`UnverifiedIdToken::verify`], and the claims are reachable only from the verified type.
//!
//! What is checked, in order: size and compact-JWS shape (a JWE or anything with `crit` is
//! refused); `alg` against an asymmetric allow-list (so `none` and HMAC, and with them the
//! HMAC-keyed-with-a-public-key confusion, can never pass); the key by `kid` with a key type
//! and curve that fit `alg`; the signature; `iss` (exactly, or Entra ID's `{tenantid}`
//! template filled from `tid`); `aud` containing our client id and `azp` when there are
//! several audiences (or whenever present); `exp`, `nbf`, `iat` with the configured skew;
//! `nonce` (constant time); `at_hash` when present (§3.1.3.8).
//!
//! Why not `openidconnect`'s `IdTokenVerifier`: in 4.1 it has no clock-skew setting, does
//! not check `nbf`, and its `azp` check for several audiences is commented out; it would
//! also bring a second crypto stack next to the aws-lc-rs one Lanyard signs with.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::TENANT_PLACEHOLDER;
use crate::secret::Secret;

/// The longest ID token accepted (large group lists fit; anything bigger is refused before
/// any parsing).
pub const MAX_ID_TOKEN_BYTES: usize = 32 * 1024;

/// The signature algorithms Lanyard accepts on ID tokens; all asymmetric.
pub const SUPPORTED_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

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
    /// Algorithms allowed for this provider (a subset of [`SUPPORTED_ALGORITHMS`]).
    pub algorithms: &'a [Algorithm],
    /// Now, seconds since the epoch (the injected clock).
    pub now: i64,
    /// Tolerated clock skew in seconds.
    pub skew: i64,
    /// The access token issued with the ID token, for `at_hash`.
    pub access_token: Option<&'a Secret>,
}

/// One verification key from a JWKS, parsed once.
struct VerifyKey {
    kid: Option<String>,
    alg: Option<String>,
    kind: KeyKind,
    key: DecodingKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

/// A provider's signing keys (its JWKS), parsed once and kept.
pub struct JwkKeys {
    keys: Vec<VerifyKey>,
    /// When the first of the keys' `x5c` leaf certificates expires (Unix seconds).
    certificate_expiry: Option<i64>,
}

impl std::fmt::Debug for JwkKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| (&k.kid, k.kind)))
            .finish()
    }
}

/// The `{"keys": [...]}` document.
#[derive(Deserialize)]
pub struct JwksDocument {
    keys: Vec<Value>,
}

impl JwkKeys {
    /// Keeps every usable signature key of a JWKS (RFC 7517); encryption keys, symmetric
    /// keys and key types Lanyard does not verify with are skipped, not fatal.
    pub fn from_document(doc: &JwksDocument) -> Self {
        let jwks: Vec<Jwk> = doc
            .keys
            .iter()
            .filter_map(|v| serde_json::from_value::<Jwk>(v.clone()).ok())
            .filter(|jwk| !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)))
            .collect();
        let certificate_expiry = jwks
            .iter()
            .filter_map(|jwk| jwk.common.x509_chain.as_ref()?.first())
            .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .filter_map(|der| super::certificate_not_after(&der))
            .min();
        let keys = jwks
            .iter()
            .filter_map(|jwk| {
                let kind = match &jwk.algorithm {
                    AlgorithmParameters::RSA(_) => KeyKind::Rsa,
                    AlgorithmParameters::EllipticCurve(p) => match p.curve {
                        EllipticCurve::P256 => KeyKind::P256,
                        EllipticCurve::P384 => KeyKind::P384,
                        _ => return None,
                    },
                    AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                        KeyKind::Ed25519
                    }
                    _ => return None,
                };
                let key = DecodingKey::from_jwk(jwk).ok()?;
                let alg = jwk
                    .common
                    .key_algorithm
                    .and_then(|a| serde_json::to_value(a).ok())
                    .and_then(|v| v.as_str().map(str::to_owned));
                Some(VerifyKey {
                    kid: jwk.common.key_id.clone(),
                    alg,
                    kind,
                    key,
                })
            })
            .collect();
        Self {
            keys,
            certificate_expiry,
        }
    }

    /// When the first of the keys' `x5c` certificates expires (Unix seconds); `None` when
    /// no key carries one.
    pub fn certificate_expiry(&self) -> Option<i64> {
        self.certificate_expiry
    }

    /// Parses a JWKS from JSON text.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        Ok(Self::from_document(&serde_json::from_str(text)?))
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a key with this `kid` is published.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The key that fits `kid` and `alg`: by `kid` when given, else the only key of the
    /// right type.
    fn find(&self, kid: Option<&str>, alg: Algorithm, alg_name: &str) -> Option<&VerifyKey> {
        let fits = |k: &&VerifyKey| {
            let kind_ok = match alg {
                Algorithm::ES256 => k.kind == KeyKind::P256,
                Algorithm::ES384 => k.kind == KeyKind::P384,
                Algorithm::EdDSA => k.kind == KeyKind::Ed25519,
                _ => k.kind == KeyKind::Rsa,
            };
            kind_ok && k.alg.as_deref().is_none_or(|a| a == alg_name)
        };
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .find(fits),
            None => {
                let mut candidates = self.keys.iter().filter(fits);
                let first = candidates.next()?;
                candidates.next().is_none().then_some(first)
            }
        }
    }

    /// The raw signature check alone (benchmarks compare it with [`UnverifiedIdToken::verify`]).
    pub fn verify_signature(&self, token: &str) -> bool {
        let Ok(parts) = UnverifiedIdToken::parse(token) else {
            return false;
        };
        let Some(key) = self.find(parts.kid.as_deref(), parts.alg, &parts.alg_name) else {
            return false;
        };
        jsonwebtoken::crypto::verify(
            parts.signature,
            parts.message.as_bytes(),
            &key.key,
            parts.alg,
        )
        .unwrap_or(false)
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// An ID token as received: nothing in it is trusted yet.
pub struct UnverifiedIdToken<'a> {
    message: &'a str,
    signature: &'a str,
    payload: &'a str,
    alg: Algorithm,
    alg_name: String,
    kid: Option<String>,
}

impl std::fmt::Debug for UnverifiedIdToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnverifiedIdToken")
            .field("alg", &self.alg_name)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// The algorithms of a discovery document's `id_token_signing_alg_values_supported` that
/// Lanyard accepts; RS256 when the document names none (OIDC Discovery §3).
pub fn allowed_algorithms(advertised: Option<&[String]>) -> Vec<Algorithm> {
    match advertised {
        Some(list) if !list.is_empty() => list.iter().filter_map(|a| algorithm(a)).collect(),
        _ => vec![Algorithm::RS256],
    }
}

fn b64_json<T: serde::de::DeserializeOwned>(
    part: &str,
    what: &'static str,
) -> Result<T, IdTokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| IdTokenError::Malformed(what))?;
    serde_json::from_slice(&bytes).map_err(|_| IdTokenError::Malformed(what))
}

impl<'a> UnverifiedIdToken<'a> {
    /// Splits and reads the header; refuses anything that is not a compact JWS with an
    /// accepted asymmetric `alg`.
    pub fn parse(token: &'a str) -> Result<Self, IdTokenError> {
        if token.len() > MAX_ID_TOKEN_BYTES {
            return Err(IdTokenError::Oversized);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(IdTokenError::Malformed("not a compact JWS (three parts)"));
        };
        let header: Header = b64_json(h, "header")?;
        if header.crit.is_some() {
            return Err(IdTokenError::Malformed("unsupported critical header"));
        }
        let alg = algorithm(&header.alg).ok_or_else(|| {
            IdTokenError::AlgorithmNotAllowed(header.alg.chars().take(16).collect())
        })?;
        let message_len = h.len() + 1 + p.len();
        Ok(Self {
            message: &token[..message_len],
            signature: s,
            payload: p,
            alg,
            alg_name: header.alg,
            kid: header.kid,
        })
    }

    /// The `kid` of the header (to decide on a JWKS refresh).
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The `iss` the token claims, read before verification, only to pick the provider
    /// whose keys then verify it (the issuer is checked again after the signature).
    pub fn claimed_issuer(&self) -> Result<String, IdTokenError> {
        #[derive(Deserialize)]
        struct Iss {
            iss: Option<String>,
        }
        b64_json::<Iss>(self.payload, "payload")?
            .iss
            .ok_or(IdTokenError::MissingClaim("iss"))
    }

    /// Whether the keys hold a key for this token's `kid` and `alg`.
    pub fn has_key_in(&self, keys: &JwkKeys) -> bool {
        keys.find(self.kid.as_deref(), self.alg, &self.alg_name)
            .is_some()
    }

    /// Verifies signature and claims; the claims become reachable only on success.
    pub fn verify(
        &self,
        keys: &JwkKeys,
        expect: &Expectations<'_>,
    ) -> Result<VerifiedIdToken, IdTokenError> {
        if !expect.algorithms.contains(&self.alg) {
            return Err(IdTokenError::AlgorithmNotAllowed(self.alg_name.clone()));
        }
        let key = keys
            .find(self.kid.as_deref(), self.alg, &self.alg_name)
            .ok_or_else(|| IdTokenError::UnknownKey(self.kid.clone()))?;
        let ok = jsonwebtoken::crypto::verify(
            self.signature,
            self.message.as_bytes(),
            &key.key,
            self.alg,
        )
        .unwrap_or(false);
        if !ok {
            return Err(IdTokenError::BadSignature);
        }
        let claims: Map<String, Value> = b64_json(self.payload, "payload")?;
        check_claims(&claims, self.alg, expect)?;
        Ok(VerifiedIdToken {
            claims,
            alg: self.alg,
        })
    }
}

fn string<'c>(claims: &'c Map<String, Value>, name: &'static str) -> Result<&'c str, IdTokenError> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .ok_or(IdTokenError::MissingClaim(name))
}

fn number(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, IdTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(IdTokenError::MissingClaim(name)),
    }
}

fn check_claims(
    claims: &Map<String, Value>,
    alg: Algorithm,
    expect: &Expectations<'_>,
) -> Result<(), IdTokenError> {
    // §3.1.3.7 step 2: iss.
    let iss = string(claims, "iss")?;
    let iss_ok = match expect.issuer {
        IssuerCheck::Exact(want) => iss == want,
        IssuerCheck::TenantTemplate(template) => {
            let tid = string(claims, "tid")?;
            let tid_ok = !tid.is_empty()
                && tid.len() <= 64
                && tid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            tid_ok && iss == template.replace(TENANT_PLACEHOLDER, tid)
        }
    };
    if !iss_ok {
        return Err(IdTokenError::WrongIssuer);
    }
    let sub = string(claims, "sub")?;
    if sub.is_empty() || sub.len() > 255 {
        return Err(IdTokenError::MissingClaim("sub"));
    }
    // Steps 3–5: aud, azp.
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => return Err(IdTokenError::MissingClaim("aud")),
    };
    match expect.token_use {
        TokenUse::SignIn { client_id, .. } => {
            if !audiences.contains(&client_id) {
                return Err(IdTokenError::WrongAudience);
            }
            match claims.get("azp") {
                Some(Value::String(azp)) if azp == client_id => {}
                None if audiences.len() == 1 => {}
                _ => return Err(IdTokenError::WrongAuthorizedParty),
            }
        }
        TokenUse::WebIdentity {
            audiences: accepted,
        } => {
            if !audiences.iter().any(|a| accepted.iter().any(|w| w == a)) {
                return Err(IdTokenError::WrongAudience);
            }
        }
    }
    // Steps 9–10: exp, iat (and nbf, RFC 7519 §4.1.5).
    let exp = number(claims, "exp")?.ok_or(IdTokenError::MissingClaim("exp"))?;
    if expect.now >= exp.saturating_add(expect.skew) {
        return Err(IdTokenError::Expired);
    }
    let iat = number(claims, "iat")?.ok_or(IdTokenError::MissingClaim("iat"))?;
    if iat > expect.now.saturating_add(expect.skew) {
        return Err(IdTokenError::IssuedInFuture);
    }
    if let Some(nbf) = number(claims, "nbf")?
        && nbf > expect.now.saturating_add(expect.skew)
    {
        return Err(IdTokenError::NotYetValid);
    }
    // Step 11: nonce.
    if let TokenUse::SignIn { nonce: want, .. } = expect.token_use {
        let nonce = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
        if want.is_empty() || Secret::new(nonce) != Secret::new(want) {
            return Err(IdTokenError::NonceMismatch);
        }
    }
    // §3.1.3.8: at_hash, when present.
    if let (Some(at_hash), Some(token)) = (claims.get("at_hash"), expect.access_token) {
        let want = at_hash
            .as_str()
            .ok_or(IdTokenError::MissingClaim("at_hash"))?;
        if access_token_hash(alg, token.expose_secret()) != want {
            return Err(IdTokenError::AccessTokenHashMismatch);
        }
    }
    Ok(())
}

/// `at_hash`: the left half of the hash of the access token, with the hash of `alg`
/// (OIDC Core §3.1.3.6; Ed25519 uses SHA-512).
pub fn access_token_hash(alg: Algorithm, access_token: &str) -> String {
    use aws_lc_rs::digest;
    let algorithm = match alg {
        Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 | Algorithm::HS384 => {
            &digest::SHA384
        }
        Algorithm::RS512 | Algorithm::PS512 | Algorithm::HS512 | Algorithm::EdDSA => {
            &digest::SHA512
        }
        _ => &digest::SHA256,
    };
    let d = digest::digest(algorithm, access_token.as_bytes());
    let bytes = d.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
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
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tokens::{Algorithm as SigningAlg, KeySet};

    const NOW: i64 = 1_800_000_000;
    const TEMPLATE: &str = "https://login.example/{tenantid}/v2.0";

    fn setup() -> (tempfile::TempDir, KeySet, JwkKeys) {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeySet::load_or_generate(dir.path(), SigningAlg::Es256, NOW).unwrap();
        let jwks = JwkKeys::from_json(&serde_json::to_string(&keys.jwks()).unwrap()).unwrap();
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
        json!({"iss": iss, "tid": tid, "sub": "s", "aud": "app", "exp": NOW + 60, "iat": NOW, "nonce": "n"})
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
        let keys = JwkKeys::from_json(&with.to_string()).unwrap();
        // tests/fixtures/saml/idp1.crt: notAfter Nov 25 21:05:45 2036 GMT.
        assert_eq!(keys.certificate_expiry(), Some(2_111_259_945));
        let without = serde_json::json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]});
        let keys = JwkKeys::from_json(&without.to_string()).unwrap();
        assert_eq!(keys.certificate_expiry(), None);
    }
}
