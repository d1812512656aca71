//! Minting and verifying Lanyard's own JWTs: the own-token rules on top of [`super::jose`].
//!
//! Signing goes through the one compact-serialization path with the active key, header
//! `{alg, typ, kid}`.
//!
//! Verification requires a `kid` naming a published key; the algorithm is that key's (the
//! algorithm-from-key rule), so `none`, HMAC signed with a public key and any other
//! algorithm confusion are refused before a signature is looked at. The registered claims
//! are then checked against the `now` passed in, never the system clock.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::TokenError;
use super::jose::{Audience, JoseError, UnverifiedJws, Validation, sign_compact};
use super::keys::KeySet;
use crate::clock::UnixTime;

/// The `typ` of an access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// What a token must satisfy to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectations {
    /// The exact `iss` required.
    pub issuer: String,
    /// An audience `aud` must name (a string equal to it, or an array holding it);
    /// `None` skips the audience check.
    pub audience: Option<String>,
    /// The header `typ` required (compared case-insensitively, with or without the
    /// `application/` prefix, per RFC 7515 §4.1.9); `None` accepts any.
    pub typ: Option<String>,
    /// The current time.
    pub now: UnixTime,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
}

impl Expectations {
    /// The expectations for a Lanyard access token (`typ: at+jwt`) issued by `issuer`
    /// for `audience`, at `now`, with 60 seconds of leeway.
    pub fn access_token(issuer: &str, audience: Option<&str>, now: UnixTime) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.map(str::to_owned),
            typ: Some(ACCESS_TOKEN_TYP.to_owned()),
            now,
            leeway_secs: 60,
        }
    }
}

impl KeySet {
    /// Signs `claims` with the active key as a compact JWS with header
    /// `{"alg", "typ": typ, "kid"}`. The claims are serialized as they are: the caller
    /// sets `iss`, `exp` and the rest.
    pub fn sign<C: Serialize>(&self, claims: &C, typ: &str) -> Result<String, TokenError> {
        let key = self.active_key();
        sign_compact(&key.signer, Some(&key.kid), typ, claims)
    }

    /// Verifies `token` against this key set and `expect`, and returns its claims.
    ///
    /// Checks, in order: the shape, no `crit` header and an asymmetric `alg`; a `kid`
    /// naming a published key whose algorithm is the header's; the signature; `typ`;
    /// `iss`; `aud`; `exp` (required), `nbf` and `iat` against `expect.now` with
    /// `expect.leeway_secs`.
    pub fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
        expect: &Expectations,
    ) -> Result<C, TokenError> {
        let jws = UnverifiedJws::parse(token)?;
        if jws.kid().is_none() {
            return Err(TokenError::MissingClaim("kid"));
        }
        let rules = Validation {
            audience: expect
                .audience
                .as_deref()
                .map_or(Audience::Unchecked, Audience::Is),
            typ: expect.typ.as_deref(),
            ..Validation::new(
                Some(&expect.issuer),
                expect.now,
                i64::try_from(expect.leeway_secs).unwrap_or(i64::MAX),
            )
        };
        let claims = jws.verify(&self.public, &rules)?.into_claims();
        serde_json::from_value(Value::Object(claims)).map_err(|e| {
            // serde_json can quote the offending value: keep the category only.
            TokenError::Malformed(format!("claims do not fit ({:?} error)", e.classify()))
        })
    }
}

impl From<JoseError> for TokenError {
    fn from(e: JoseError) -> Self {
        match e {
            JoseError::Oversized => TokenError::Malformed("too long".to_owned()),
            JoseError::Malformed(what) => TokenError::Malformed(what.to_owned()),
            JoseError::CriticalHeader => {
                TokenError::Malformed("unsupported `crit` header".to_owned())
            }
            JoseError::UnsupportedAlgorithm(_) | JoseError::AlgorithmMismatch => {
                TokenError::WrongAlgorithm
            }
            JoseError::UnknownKey => TokenError::UnknownKid,
            JoseError::MissingClaim(name) => TokenError::MissingClaim(name),
            JoseError::InvalidClaim(name) => {
                TokenError::Malformed(format!("`{name}` has the wrong type"))
            }
            JoseError::WrongIssuer => TokenError::WrongIssuer,
            JoseError::WrongAudience | JoseError::WrongAuthorizedParty => TokenError::WrongAudience,
            JoseError::Expired | JoseError::TooOld | JoseError::TooLongLived => TokenError::Expired,
            JoseError::NotYetValid | JoseError::IssuedInFuture => TokenError::NotYetValid,
            JoseError::WrongType => TokenError::WrongType,
            JoseError::BadSignature => TokenError::BadSignature,
        }
    }
}
