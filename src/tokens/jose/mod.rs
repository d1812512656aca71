//! JOSE on every trust path: one parse of a compact JWS (RFC 7515 §7.1), one key set
//! (RFC 7517) with one algorithm-from-key rule, one signature check, one registered-claims
//! check with clock skew (RFC 7519 §4.1), and one signing path.
//!
//! - [`UnverifiedJws::parse`]: bounded size, compact form only, a JSON header without
//!   `crit`, an asymmetric `alg` (never `none` or HMAC: every Lanyard trust path verifies
//!   with public keys), the payload base64url-decoded but not trusted.
//! - [`PublicKeys`]: a JWKS (an upstream's, or a client's registered keys) or Lanyard's own
//!   published keys. The algorithm comes from the key ([`PublicKeys`] docs), never from
//!   the token alone; header members that point at other keys (`jku`, `jwk`, `x5u`) are
//!   ignored.
//! - [`UnverifiedJws::verify`] → [`VerifiedJws`]: the signature, then [`Validation`]'s
//!   registered claims. Claims are reachable only from the verified type.
//! - [`client_assertion`]: the RFC 7523 rules for a `private_key_jwt` client assertion.
//! - [`SigningKey`] and `KeySet::sign` share one compact serialization.
//!
//! The rules of each use sit on top: Lanyard's own tokens (`tokens::jwt`), upstream ID and
//! web identity tokens (`connectors::id_token`), client assertions (`provider`).
//!
//! May import: `crate::secret`, `crate::clock` (the `UnixTime` type); nothing else of ours.

mod claims;
pub mod client_assertion;
mod public_keys;
mod sign;
#[cfg(test)]
mod tests;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use self::claims::{Audience, Validation};
pub use self::public_keys::{JwksDocument, JwksError, PublicKeys};
pub use self::sign::SigningKey;
pub(super) use self::sign::sign_compact;
/// A JWS signature algorithm (RFC 7518 §3, RFC 8037).
pub use jsonwebtoken::Algorithm as JwsAlgorithm;

/// The longest token accepted; anything bigger is refused before any parsing.
pub const MAX_JWS_BYTES: usize = 32 * 1024;

/// Every algorithm a token may name: all asymmetric.
pub const ASYMMETRIC_ALGORITHMS: &[JwsAlgorithm] = &[
    JwsAlgorithm::RS256,
    JwsAlgorithm::RS384,
    JwsAlgorithm::RS512,
    JwsAlgorithm::PS256,
    JwsAlgorithm::PS384,
    JwsAlgorithm::PS512,
    JwsAlgorithm::ES256,
    JwsAlgorithm::ES384,
    JwsAlgorithm::EdDSA,
];

/// Why a JWS was refused. Messages name claims, never token contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoseError {
    /// Longer than [`MAX_JWS_BYTES`].
    #[error("the token is larger than {MAX_JWS_BYTES} bytes")]
    Oversized,
    /// Not a compact JWS with a JSON header and a JSON object payload.
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    /// A `crit` header (RFC 7515 §4.1.11): no extension is understood, so it cannot be
    /// honoured.
    #[error("the token has a critical header extension")]
    CriticalHeader,
    /// `alg` is `none`, HMAC, or unknown (the first characters of the name).
    #[error("the token's algorithm {0:?} is not accepted")]
    UnsupportedAlgorithm(String),
    /// No key has the token's `kid` (or, without a `kid`, no key allows its `alg`).
    #[error("no key matches the token's key id")]
    UnknownKey,
    /// The key the `kid` names does not allow the token's `alg`.
    #[error("the token's algorithm is not its key's")]
    AlgorithmMismatch,
    /// The signature does not verify.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// A required claim is missing.
    #[error("the token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or size.
    #[error("the token's `{0}` claim is not valid")]
    InvalidClaim(&'static str),
    /// `iss` is not the expected issuer.
    #[error("the token was issued by someone else")]
    WrongIssuer,
    /// `aud` names none of the expected audiences.
    #[error("the token is meant for another audience")]
    WrongAudience,
    /// `azp` missing with several audiences, or not the expected party.
    #[error("the token's authorized party is not the expected one")]
    WrongAuthorizedParty,
    /// `exp` has passed (with skew).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (with skew).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future (with skew).
    #[error("the token was issued in the future")]
    IssuedInFuture,
    /// `iat` is older than the maximum age (with skew).
    #[error("the token was issued too long ago")]
    TooOld,
    /// `exp` is further away than the maximum lifetime (with skew).
    #[error("the token lives longer than allowed")]
    TooLongLived,
    /// The header `typ` is not the expected type.
    #[error("the token is not of the expected type")]
    WrongType,
}

/// The header members verification looks at.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// A compact JWS as received: its header read, nothing in it trusted yet.
pub struct UnverifiedJws<'a> {
    /// `base64url(header) . base64url(payload)`, the signing input.
    message: &'a str,
    signature: &'a str,
    payload: Vec<u8>,
    alg: JwsAlgorithm,
    kid: Option<String>,
    typ: Option<String>,
}

impl std::fmt::Debug for UnverifiedJws<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnverifiedJws")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("typ", &self.typ)
            .finish_non_exhaustive()
    }
}

/// The asymmetric algorithm named `name`; `None` for `none`, HMAC and anything unknown.
fn asymmetric_algorithm(name: &str) -> Option<JwsAlgorithm> {
    let alg: JwsAlgorithm = name.parse().ok()?;
    ASYMMETRIC_ALGORITHMS.contains(&alg).then_some(alg)
}

fn decode_part(part: &str, what: &'static str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JoseError::Malformed(what))
}

impl<'a> UnverifiedJws<'a> {
    /// Splits `token` and reads its header; refuses anything that is not a compact JWS of
    /// at most [`MAX_JWS_BYTES`] with an asymmetric `alg` and no `crit`.
    pub fn parse(token: &'a str) -> Result<Self, JoseError> {
        if token.len() > MAX_JWS_BYTES {
            return Err(JoseError::Oversized);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed("not a compact JWS (three parts)"));
        };
        let header: RawHeader = serde_json::from_slice(&decode_part(h, "header")?)
            .map_err(|_| JoseError::Malformed("header"))?;
        if header.crit.is_some() {
            return Err(JoseError::CriticalHeader);
        }
        let alg = asymmetric_algorithm(&header.alg).ok_or_else(|| {
            JoseError::UnsupportedAlgorithm(header.alg.chars().take(16).collect())
        })?;
        Ok(Self {
            message: &token[..h.len() + 1 + p.len()],
            signature: s,
            payload: decode_part(p, "payload")?,
            alg,
            kid: header.kid,
            typ: header.typ,
        })
    }

    /// The header `alg`.
    pub fn alg(&self) -> JwsAlgorithm {
        self.alg
    }

    /// The header `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The header `typ`.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// The payload read as `T` **before** verification: only to find the keys or the
    /// record that then prove the token (the issuer, the client). Never trust it.
    pub fn untrusted_claims<T: DeserializeOwned>(&self) -> Result<T, JoseError> {
        serde_json::from_slice(&self.payload).map_err(|_| JoseError::Malformed("payload"))
    }

    /// [`UnverifiedJws::untrusted_claims`] for a `T` that borrows its strings from the
    /// decoded payload instead of copying them (a lookup that needs a few claims, or
    /// passes them on unchanged). Never trust it either.
    pub fn untrusted_claims_borrowed<'s, T: Deserialize<'s>>(&'s self) -> Result<T, JoseError> {
        serde_json::from_slice(&self.payload).map_err(|_| JoseError::Malformed("payload"))
    }

    /// Verifies the signature with a key of `keys` that allows the token's `alg`, then the
    /// registered claims against `rules`.
    pub fn verify(
        &self,
        keys: &PublicKeys,
        rules: &Validation<'_>,
    ) -> Result<VerifiedJws, JoseError> {
        keys.verify_signature(self)?;
        let claims: Map<String, Value> = serde_json::from_slice(&self.payload)
            .map_err(|_| JoseError::Malformed("the payload is not a JSON object"))?;
        rules.check(self.typ.as_deref(), &claims)?;
        Ok(VerifiedJws {
            claims,
            alg: self.alg,
        })
    }
}

/// A JWS whose signature and registered claims verified: the only way to its claims.
#[derive(Clone)]
pub struct VerifiedJws {
    claims: Map<String, Value>,
    alg: JwsAlgorithm,
}

impl std::fmt::Debug for VerifiedJws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedJws")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifiedJws {
    /// The algorithm it was signed with.
    pub fn alg(&self) -> JwsAlgorithm {
        self.alg
    }

    /// Every claim.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// Every claim, owned.
    pub fn into_claims(self) -> Map<String, Value> {
        self.claims
    }

    /// A string claim, when present and a string.
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// `at_hash` (OIDC Core §3.1.3.6): the left half of the hash of the access token, with the
/// hash of `alg` (SHA-512 for EdDSA/Ed25519).
pub fn access_token_hash(alg: JwsAlgorithm, access_token: &str) -> String {
    use aws_lc_rs::digest;
    let algorithm = match alg {
        JwsAlgorithm::RS384 | JwsAlgorithm::PS384 | JwsAlgorithm::ES384 | JwsAlgorithm::HS384 => {
            &digest::SHA384
        }
        JwsAlgorithm::RS512 | JwsAlgorithm::PS512 | JwsAlgorithm::HS512 | JwsAlgorithm::EdDSA => {
            &digest::SHA512
        }
        _ => &digest::SHA256,
    };
    let d = digest::digest(algorithm, access_token.as_bytes());
    let bytes = d.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}
