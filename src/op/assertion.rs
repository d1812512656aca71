//! Client authentication by `private_key_jwt` (RFC 7523 §2.2, §3; OIDC Core §9).

use std::sync::Arc;
use std::time::Duration;

use crate::session::{digest, keyspace};
use crate::tokens::jose::UnverifiedJws;
use crate::tokens::jose::client_assertion::{self, VerifiedAssertion};

use super::{Client, OAuthError, OidcProvider, PresentedAssertion};

impl OidcProvider {
    /// Authenticates a client by `private_key_jwt` (RFC 7523 §2.2, §3; OIDC Core §9): the
    /// assertion verifies as [`VerifiedAssertion`] against the client's registered keys,
    /// for Lanyard's issuer or one of its client-authenticating endpoints, and its `jti`
    /// is accepted once.
    pub async fn authenticate_assertion(
        &self,
        presented: PresentedAssertion,
    ) -> Result<Arc<Client>, OAuthError> {
        let jws = UnverifiedJws::parse(presented.assertion.expose_secret())
            .map_err(|_| OAuthError::InvalidClient)?;
        let claimed =
            client_assertion::claimed_client(&jws).map_err(|_| OAuthError::InvalidClient)?;
        if presented
            .client_id
            .as_deref()
            .is_some_and(|id| id != claimed)
        {
            return Err(OAuthError::InvalidClient);
        }
        let client = self
            .clients
            .get(&claimed)
            .cloned()
            .ok_or(OAuthError::InvalidClient)?;
        let crate::op::ClientAuth::PrivateKeyJwt(keys) = &client.config.auth else {
            return Err(OAuthError::InvalidClient);
        };
        let issuer = self.issuer.tokens().issuer();
        let audiences = [issuer.to_owned()]
            .into_iter()
            .chain(
                ["token", "introspect", "revoke", "device_authorization"]
                    .map(|e| format!("{issuer}/oauth2/{e}")),
            )
            .collect::<Vec<_>>();
        let now = self.clock.now();
        let assertion =
            VerifiedAssertion::verify(&jws, keys, &claimed, &audiences, now).map_err(|e| {
                tracing::debug!(client = %claimed, reason = %e, "client assertion refused");
                OAuthError::InvalidClient
            })?;
        // Until the assertion can no longer verify (its `exp` plus skew), and some.
        let remember = now.until(assertion.expires_at()) + Duration::from_secs(120);
        let key = keyspace::CLIENT_ASSERTION_JTI.key([&claimed, &digest(assertion.jti())]);
        if !self.store.put_if_absent(&key, b"1", remember).await? {
            tracing::warn!(client = %claimed, "client assertion replayed");
            return Err(OAuthError::InvalidClient);
        }
        Ok(client)
    }
}
