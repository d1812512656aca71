//! The authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6): codes are single use,
//! bound to the client, redirect URI, PKCE challenge and SSO session; a replayed code
//! revokes what it issued.

use serde::{Deserialize, Serialize};

use crate::access::Attempt;
use crate::audit::Door;
use crate::identity::{ClientId, RoleName};
use crate::op::GrantType;
use crate::roles::RequestFacts;
use crate::session::{digest, keyspace};

use super::issue::Exchange;
use super::{CODE_TTL, Client, OAuthError, OidcProvider, TokenResponse};

impl std::fmt::Debug for CodeRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeRecord")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// An authorization code, bound to its client, redirect URI, PKCE challenge and SSO
/// session. The person is not copied in: the exchange reads them from that SSO session
/// (which must still be live), so the record (and the tombstone the code leaves for a
/// day) stays small. Codes minted before kept an `identity`, which is now ignored.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct CodeRecord {
    pub(super) client_id: ClientId,
    pub(super) redirect_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) code_challenge: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) nonce: Option<String>,
    pub(super) scope: String,
    pub(super) sso_ref: String,
    pub(super) role: RoleName,
    pub(super) duration_secs: u64,
    /// The token family the exchange starts (what a reuse of the code revokes), when
    /// named at minting. Absent, the family is the code's digest (the key part of the code
    /// and of its tombstone), so that neither carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) family: Option<String>,
    /// The person's address when the role was chosen: the exchange evaluates the role's
    /// trust policy again with it (the token request comes from the application).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) source_ip: Option<std::net::IpAddr>,
}

impl OidcProvider {
    /// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).
    pub async fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        (redirect_uri, verifier): (Option<&str>, Option<&str>),
        origin: &RequestFacts,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.config.allows(GrantType::AuthorizationCode) {
            return Err(OAuthError::UnauthorizedClient(
                "this client may not use authorization_code".into(),
            ));
        }
        let key = digest(code);
        let (code_key, used) = (keyspace::CODE.key([&key]), keyspace::CODE_USED.key([&key]));
        let Some((record, bytes)) = self.take_single_use::<CodeRecord>(&code_key, &used).await?
        else {
            // A replayed code: revoke what it issued (RFC 6749 §4.1.2).
            if let Some(family) = self.used_family(&used, Some(&key)).await? {
                self.reuse_detected(client, &family, origin, "authorization code")
                    .await?;
            }
            return Err(OAuthError::InvalidGrant(
                "the code is invalid, expired or already used".into(),
            ));
        };
        let result = self
            .redeem_code(client, record, &key, (redirect_uri, verifier), origin)
            .await;
        if matches!(result, Err(OAuthError::TemporarilyUnavailable(_))) {
            self.restore_single_use(&code_key, &used, &bytes, CODE_TTL)
                .await;
        }
        result
    }

    /// [`OidcProvider::exchange_code`] once the code is taken.
    async fn redeem_code(
        &self,
        client: &Client,
        record: CodeRecord,
        code_digest: &str,
        (redirect_uri, verifier): (Option<&str>, Option<&str>),
        origin: &RequestFacts,
    ) -> Result<TokenResponse, OAuthError> {
        if record.client_id != client.config.id {
            return Err(OAuthError::InvalidGrant(
                "the code was issued to another client".into(),
            ));
        }
        if redirect_uri != Some(record.redirect_uri.as_str()) {
            return Err(OAuthError::InvalidGrant(
                "redirect_uri does not match the authorization request".into(),
            ));
        }
        match (&record.code_challenge, verifier) {
            (Some(challenge), Some(v)) if is_pkce_value(v, 43) && pkce_s256(v) == *challenge => {}
            (Some(_), _) => {
                return Err(OAuthError::InvalidGrant(
                    "the PKCE code_verifier does not match".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(OAuthError::InvalidGrant(
                    "a code_verifier was sent but the request had no code_challenge".into(),
                ));
            }
            (None, None) => {}
        }
        // The person, from the SSO session the code is bound to (the same record the code
        // was minted from: a session's identity never changes under its ref).
        let Some(session) = self.sso.load_by_ref(&record.sso_ref).await? else {
            return Err(OAuthError::InvalidGrant(
                "the sign-in session has ended".into(),
            ));
        };
        let family = record
            .family
            .clone()
            .unwrap_or_else(|| code_digest.to_owned());
        // The person's facts from when the role was chosen, at the time of the exchange.
        let facts = RequestFacts {
            source_ip: record.source_ip,
            now: self.clock.now(),
            secure_transport: origin.secure_transport,
            user_agent: origin.user_agent.clone(),
        };
        let attempt = Attempt::new(origin, Door::OidcCode, Some(&client.config.id));
        let grant = self
            .person_grant(client, &session.identity, &record.role, &facts, &attempt)
            .await?;
        let exchange = Exchange {
            duration_secs: record.duration_secs,
            scope: &record.scope,
            nonce: record.nonce.as_deref(),
            sso_ref: Some(&record.sso_ref),
            family: Some(&family),
        };
        self.respond(client, grant, exchange, attempt).await
    }
}

/// `code_verifier` and `code_challenge` syntax (RFC 7636 §4.1): 43-128 unreserved chars.
pub(super) fn is_pkce_value(v: &str, min: usize) -> bool {
    (min..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// `BASE64URL(SHA256(verifier))` (RFC 7636 §4.2).
fn pkce_s256(verifier: &str) -> String {
    digest(verifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_the_rfc_7636_example() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            pkce_s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(is_pkce_value(verifier, 43));
        assert!(!is_pkce_value("short", 43));
        assert!(!is_pkce_value(&format!("{verifier}+"), 43));
    }
}
