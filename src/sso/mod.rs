//! SSO sessions, login transactions and role sessions: the typed records Lanyard keeps in the
//! [`SessionStore`](crate::session::SessionStore), one submodule per record lifetime:
//!
//! - `login`: login transactions (10 minutes, single use): a redirect or password-form
//!   sign-in between "start" and the answer;
//! - `session`: SSO sessions (idle and absolute timeouts): a signed-in person;
//! - `role_session`: role sessions (until their token expires) and the role sessions an SSO
//!   session holds, their tokens sealed for its browser (`seal`);
//! - `last_role`: the role a person chose last (30 days), for preselection;
//! - `favourites`: the roles a person starred on the picker (400 days), listed first.
//!
//! Keys come from the store's keyspace ([`crate::session::keyspace`]) and never hold a
//! bearer secret in clear: an SSO session or a login transaction is stored under the SHA-256
//! of its cookie value, so a dump of the store yields no usable cookie. Single-use records
//! (login transactions) are taken atomically.
//!
//! Role sessions keep the SHA-256 of their access token, never the token: verification
//! compares digests in constant time. The `/credentials` page must still show the person
//! the token issued to them, so the SSO session keeps, per role, the id of its current role
//! session and that session's token sealed (AES-256-GCM) under a key derived from the SSO
//! session's cookie (HKDF-SHA-256). The store holds only the cookie's hash, so only the
//! browser holding the cookie can unseal it; a dump of the store yields no bearer token.
//! The same per-role record lets `GET /roles` reuse a live role session instead of
//! minting a new one at every visit, and a counter caps how many role sessions one SSO
//! session may mint.
//!
//! SAML request ids and assertion ids are the SAML connector's single-use records
//! (`connectors::saml::flow`), kept on the store directly.
//!
//! May import: `session`, `identity`, `clock`, `secret`.

mod favourites;
mod last_role;
mod login;
mod role_session;
mod seal;
mod session;

use std::sync::Arc;
use std::time::Duration;

use serde::{Serialize, de::DeserializeOwned};

use crate::clock::{SharedClock, UnixTime};
use crate::session::{SessionStore, StoreError};

pub use self::favourites::MAX_FAVOURITES;
pub use self::login::LoginTransaction;
pub use self::role_session::{RoleSession, RoleSessionCap, RoleSessionRecord, RoleSessionToken};
pub use self::session::SsoSession;
pub use crate::session::keyspace::LOGIN_TRANSACTION_TTL;

/// A failure of the SSO layer.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record could not be read back (a different version wrote it, or it was
    /// tampered with in the store).
    #[error("a stored session record is unreadable")]
    Corrupt,
}

/// The outcome of a checked take ([`Sso::take_login_if`]).
#[derive(Debug)]
pub enum Claim<T> {
    /// Checked and taken: nobody else can take it now.
    Taken(T),
    /// There, but not the one being answered; left in place.
    Refused,
    /// Unknown, expired or already taken.
    Absent,
}

/// The SSO layer over a session store.
#[derive(Clone)]
pub struct Sso {
    store: Arc<dyn SessionStore>,
    clock: SharedClock,
    idle: Duration,
    absolute: Duration,
}

impl std::fmt::Debug for Sso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sso")
            .field("store", &self.store.kind())
            .field("idle", &self.idle)
            .field("absolute", &self.absolute)
            .finish()
    }
}

/// SHA-256 of a cookie value, base64url: the store key part of what it names.
fn key_hash(value: &str) -> String {
    crate::session::digest(value)
}

/// The TTL of a record that lives until `expires_at` (at least one second).
fn until(expires_at: UnixTime, now: UnixTime) -> Duration {
    now.until(expires_at).max(Duration::from_secs(1))
}

impl Sso {
    /// An SSO layer with the configured timeouts.
    pub fn new(
        store: Arc<dyn SessionStore>,
        clock: SharedClock,
        idle: Duration,
        absolute: Duration,
    ) -> Self {
        Self {
            store,
            clock,
            idle,
            absolute,
        }
    }

    /// The store underneath (for readiness checks, and the records of the connectors).
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    async fn put<T: Serialize>(&self, key: &str, value: &T, ttl: Duration) -> Result<(), SsoError> {
        let bytes = serde_json::to_vec(value).map_err(|_| SsoError::Corrupt)?;
        Ok(self.store.put(key, &bytes, ttl).await?)
    }

    fn decode<T: DeserializeOwned>(bytes: Option<Vec<u8>>) -> Result<Option<T>, SsoError> {
        match bytes {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|_| SsoError::Corrupt),
        }
    }

    /// Reads and decodes the record under `key`.
    async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SsoError> {
        Self::decode(self.store.get(key).await?)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::identity::{
        ExternalIdentity, PrincipalKeys, ProviderId, ProviderKind, RoleSessionId, UpstreamLogin,
    };

    fn identity() -> ExternalIdentity {
        ExternalIdentity {
            provider: ProviderId::new("corp"),
            provider_kind: ProviderKind::Local,
            subject: "alice".into(),
            username: "alice".into(),
            email: None,
            email_verified: false,
            display_name: None,
            groups: vec!["eng".into()],
            amr: vec!["pwd".into()],
            mfa: false,
            auth_time: UnixTime::from_secs(7),
            tags: BTreeMap::new(),
            claims: BTreeMap::new(),
        }
    }

    /// The identifier newtypes are strings in storage: records written before them read
    /// back, and records written now are byte-identical to what the old code wrote.
    #[test]
    fn stored_records_keep_their_json() {
        let session = SsoSession {
            identity: identity(),
            created_at: UnixTime::from_secs(1),
            last_seen: UnixTime::from_secs(2),
            csrf: "c".into(),
            last_role_session: Some(RoleSessionId::new("rs-1")),
        };
        let json = serde_json::to_string(&session).unwrap();
        assert!(
            json.ends_with(
                r#""created_at":1,"last_seen":2,"csrf":"c","last_role_session":"rs-1"}"#
            ),
            "{json}"
        );
        let back: SsoSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back.last_role_session.as_deref(), Some("rs-1"));

        let role_session = RoleSession {
            id: "rs-1".into(),
            role: "admin".into(),
            session_name: "alice".into(),
            subject: "corp:alice".into(),
            principal_keys: PrincipalKeys(BTreeMap::from([(
                "idp:sub".to_owned(),
                vec!["alice".to_owned()],
            )])),
            auth_time: UnixTime::from_secs(7),
            mfa: false,
            issued_at: UnixTime::from_secs(10),
            expires_at: UnixTime::from_secs(20),
            access_token: "secret.token.value".into(),
            access_token_digest: "d".into(),
            session_policy: None,
            sso_ref: None,
        };
        let json = serde_json::to_string(&role_session).unwrap();
        assert_eq!(
            json,
            r#"{"id":"rs-1","role":"admin","session_name":"alice","subject":"corp:alice","principal_keys":{"idp:sub":["alice"]},"auth_time":7,"mfa":false,"issued_at":10,"expires_at":20,"access_token_digest":"d"}"#
        );
        let token: RoleSessionToken = serde_json::from_str(&json).unwrap();
        assert_eq!(token.id, "rs-1");
        assert_eq!(token.expires_at, UnixTime::from_secs(20));

        let txn = LoginTransaction {
            provider: ProviderId::new("corp"),
            csrf: String::new(),
            return_to: Some("/roles".into()),
            created_at: UnixTime::from_secs(3),
            upstream: Some(UpstreamLogin {
                state: "s".into(),
                nonce: "n".into(),
                pkce_verifier: "v".into(),
            }),
            browser_binding: None,
        };
        assert_eq!(
            serde_json::to_string(&txn).unwrap(),
            r#"{"provider":"corp","csrf":"","return_to":"/roles","created_at":3,"upstream":{"state":"s","nonce":"n","pkce_verifier":"v"}}"#
        );
    }

    /// Nothing that carries a token or a secret shows it in `Debug`.
    #[test]
    fn debug_output_hides_secrets() {
        let txn = LoginTransaction {
            provider: ProviderId::new("corp"),
            csrf: "csrf-secret".into(),
            return_to: None,
            created_at: UnixTime::from_secs(3),
            upstream: Some(UpstreamLogin {
                state: "state-secret".into(),
                nonce: "nonce-secret".into(),
                pkce_verifier: "verifier-secret".into(),
            }),
            browser_binding: Some("binding-secret".into()),
        };
        let session = SsoSession {
            identity: identity(),
            created_at: UnixTime::from_secs(1),
            last_seen: UnixTime::from_secs(2),
            csrf: "csrf-secret".into(),
            last_role_session: None,
        };
        let shown = format!("{txn:?} {session:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
