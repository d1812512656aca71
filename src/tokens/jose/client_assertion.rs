//! `private_key_jwt` client assertions (RFC 7523 §2.2 and §3, OIDC Core §9): `iss` =
//! `sub` = the client, `aud` one of the server's endpoints, a short lifetime, a `jti`.
//! That each `jti` is accepted once is the caller's check, on its store, with
//! [`VerifiedAssertion::jti`] until [`VerifiedAssertion::expires_at`].

use serde::Deserialize;

use super::{Audience, JoseError, PublicKeys, UnverifiedJws, Validation};
use crate::clock::UnixTime;

/// How long a client assertion may live (RFC 7523 §3 lets the server limit it).
pub const MAX_LIFETIME_SECS: i64 = 300;
/// Clock skew tolerated on the assertion's times.
pub const SKEW_SECS: i64 = 60;

/// The client an assertion claims to come from (its `sub`), read **before** verification,
/// only to find the keys that then verify it.
pub fn claimed_client(jws: &UnverifiedJws<'_>) -> Result<String, JoseError> {
    #[derive(Deserialize)]
    struct Sub {
        sub: Option<String>,
    }
    jws.untrusted_claims::<Sub>()?
        .sub
        .filter(|s| !s.is_empty())
        .ok_or(JoseError::MissingClaim("sub"))
}

/// A client assertion whose signature and claims verified.
#[derive(Debug)]
pub struct VerifiedAssertion {
    jti: String,
    expires_at: UnixTime,
}

impl VerifiedAssertion {
    /// Verifies `jws` as an assertion of `client_id`, signed with one of its registered
    /// `keys`, for one of `audiences`, at `now`: `iss` = `sub` = `client_id`, `exp` not
    /// passed and at most [`MAX_LIFETIME_SECS`] away, `nbf`/`iat` not in the future and
    /// `iat` at most [`MAX_LIFETIME_SECS`] old (all with [`SKEW_SECS`]), `jti` present.
    pub fn verify(
        jws: &UnverifiedJws<'_>,
        keys: &PublicKeys,
        client_id: &str,
        audiences: &[String],
        now: UnixTime,
    ) -> Result<Self, JoseError> {
        let rules = Validation {
            audience: Audience::AnyOf(audiences),
            max_age: Some(MAX_LIFETIME_SECS),
            max_lifetime: Some(MAX_LIFETIME_SECS),
            require_jti: true,
            ..Validation::new(Some(client_id), now, SKEW_SECS)
        };
        let verified = jws.verify(keys, &rules)?;
        if verified.str_claim("sub") != Some(client_id) {
            return Err(JoseError::InvalidClaim("sub"));
        }
        let jti = verified.str_claim("jti").unwrap_or_default().to_owned();
        let expires_at = super::claims::numeric_date(verified.claims(), "exp")?
            .ok_or(JoseError::MissingClaim("exp"))?;
        Ok(Self { jti, expires_at })
    }

    /// The assertion's `jti`.
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// Its `exp`: how long to remember the `jti`.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }
}
