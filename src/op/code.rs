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
use super::refresh::used_family;
use super::{CODE_TTL, Client, OAuthError, OidcProvider, TokenResponse, USED_TTL};

impl std::fmt::Debug for CodeRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeRecord")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// An authorization code, bound to its client, redirect URI, PKCE challenge and SSO
/// session. The person is not copied in: the exchange reads them from that SSO session
/// (which must still be live). Codes minted before kept an `identity`, which is now
/// ignored.
///
/// Stored as the SSO session's ref, a space, and the rest as JSON
/// ([`CodeRecord::encode`]): taking the code leaves the ref alone as its tombstone for a
/// day (where a replay finds the family to revoke), not a copy of the record. Codes
/// minted before were JSON only, which still reads.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct CodeRecord {
    pub(super) client_id: ClientId,
    pub(super) redirect_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) code_challenge: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) nonce: Option<String>,
    pub(super) scope: String,
    /// Written before the JSON (see above); in the JSON of codes minted before.
    #[serde(default, skip_serializing)]
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

/// The length of an SSO session ref (a SHA-256 digest, base64url): what a code's tombstone
/// keeps of it.
const SESSION_REF_LEN: usize = 43;

impl CodeRecord {
    /// The stored form: `{sso_ref} {JSON of the rest}`.
    pub(super) fn encode(&self) -> Result<Vec<u8>, OAuthError> {
        if self.sso_ref.len() != SESSION_REF_LEN || self.sso_ref.contains(' ') {
            return Err(OAuthError::ServerError(
                "a code must be bound to an SSO session ref".into(),
            ));
        }
        let json = serde_json::to_vec(self)
            .map_err(|_| OAuthError::ServerError("a code record cannot be encoded".into()))?;
        let mut bytes = Vec::with_capacity(SESSION_REF_LEN + 1 + json.len());
        bytes.extend_from_slice(self.sso_ref.as_bytes());
        bytes.push(b' ');
        bytes.extend_from_slice(&json);
        Ok(bytes)
    }

    /// Reads the stored form, or the JSON of a code minted before it.
    fn decode(bytes: &[u8]) -> Option<CodeRecord> {
        if bytes.first() == Some(&b'{') {
            return serde_json::from_slice(bytes).ok();
        }
        let space = bytes.iter().position(|&b| b == b' ')?;
        let (sso_ref, json) = (&bytes[..space], &bytes[space + 1..]);
        let mut record: CodeRecord = serde_json::from_slice(json).ok()?;
        record.sso_ref = String::from_utf8(sso_ref.to_vec()).ok()?;
        Some(record)
    }

    /// The SSO session ref a code's tombstone names (`None` for the tombstone of a code
    /// minted before, a copy of its JSON, from which the ref is read when whole).
    fn used_by(tombstone: &[u8]) -> Option<String> {
        if tombstone.first() == Some(&b'{') {
            return Self::decode(tombstone).map(|r| r.sso_ref);
        }
        String::from_utf8(tombstone.to_vec()).ok()
    }
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
        let taken = self
            .store
            .take_leaving_head(&code_key, &used, SESSION_REF_LEN, USED_TTL)
            .await?;
        let Some(bytes) = taken else {
            // A replayed code: revoke what it issued (RFC 6749 §4.1.2). Its family is its
            // digest (or, minted before, named in its record), in its SSO session.
            if let Some(tombstone) = self.store.get(&used).await? {
                let sso_ref = CodeRecord::used_by(&tombstone);
                let family = used_family(&tombstone).unwrap_or(key);
                let what = "authorization code";
                self.reuse_detected(client, (&family, sso_ref.as_deref()), origin, what)
                    .await?;
            }
            return Err(OAuthError::InvalidGrant(
                "the code is invalid, expired or already used".into(),
            ));
        };
        let record = CodeRecord::decode(&bytes)
            .ok_or_else(|| OAuthError::ServerError("a stored token record is unreadable".into()))?;
        if bytes.first() == Some(&b'{') {
            // Minted before: the take left the start of its JSON; leave all of it, as the
            // version that minted it did (a replay meanwhile finds no session to revoke
            // in, but marks the family revoked, which this exchange checks).
            self.store.put(&used, &bytes, USED_TTL).await?;
        }
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

    fn record(sso_ref: &str) -> CodeRecord {
        CodeRecord {
            client_id: ClientId::new("app"),
            redirect_uri: "https://app/cb".into(),
            code_challenge: None,
            nonce: Some("n".into()),
            scope: "openid".into(),
            sso_ref: sso_ref.into(),
            role: RoleName::new("admin"),
            duration_secs: 900,
            family: None,
            source_ip: None,
        }
    }

    /// The stored code starts with its SSO session ref, which is all its tombstone keeps;
    /// codes and tombstones of earlier versions (JSON) read too.
    #[test]
    fn a_code_is_stored_behind_its_session_ref() {
        let sso_ref = digest("an SSO cookie");
        let bytes = record(&sso_ref).encode().unwrap();
        assert!(bytes.starts_with(format!("{sso_ref} {{").as_bytes()));
        let back = CodeRecord::decode(&bytes).unwrap();
        assert_eq!(back.sso_ref, sso_ref);
        assert_eq!(back.role, "admin");
        assert_eq!(back.nonce.as_deref(), Some("n"));
        // The tombstone the take leaves: the head.
        let head = &bytes[..SESSION_REF_LEN];
        assert_eq!(CodeRecord::used_by(head).as_deref(), Some(sso_ref.as_str()));
        assert_eq!(used_family(head), None);
        // An earlier version's code, and its tombstone (a copy of it).
        let earlier = serde_json::json!({
            "client_id": "app", "redirect_uri": "https://app/cb", "scope": "openid",
            "sso_ref": sso_ref, "role": "admin", "duration_secs": 900, "family": "fam",
        })
        .to_string();
        let back = CodeRecord::decode(earlier.as_bytes()).unwrap();
        assert_eq!(back.sso_ref, sso_ref);
        assert_eq!(back.family.as_deref(), Some("fam"));
        assert_eq!(
            CodeRecord::used_by(earlier.as_bytes()).as_deref(),
            Some(sso_ref.as_str())
        );
        assert_eq!(used_family(earlier.as_bytes()).as_deref(), Some("fam"));
        // A code must name a session ref.
        assert!(record("short").encode().is_err());
    }

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
