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
mod revocation;
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
pub use self::revocation::Revoked;
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
        ClaimValue, ExternalIdentity, PrincipalKeys, ProviderId, ProviderKind, RoleSessionId,
        UpstreamLogin,
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

    /// The identifier newtypes are strings in storage; SSO sessions and role sessions are
    /// stored compactly, and the records earlier versions wrote (long field names, every
    /// field) read back the same.
    #[test]
    fn stored_records_keep_their_json() {
        let mut person = identity();
        person.email = Some("alice@example.com".into());
        person.display_name = Some("Alice".into());
        person.claims = BTreeMap::from([
            (
                "email".to_owned(),
                ClaimValue::One("alice@example.com".into()),
            ),
            ("name".to_owned(), ClaimValue::One("Alice".into())),
            ("groups".to_owned(), ClaimValue::Many(vec!["eng".into()])),
            ("sub".to_owned(), ClaimValue::One("alice".into())),
            ("iss".to_owned(), ClaimValue::One("https://idp".into())),
            ("amr".to_owned(), ClaimValue::Many(vec!["otp".into()])),
        ]);
        let session = SsoSession {
            identity: person.clone(),
            created_at: UnixTime::from_secs(1),
            last_seen: UnixTime::from_secs(2),
            csrf: "c".into(),
            last_role_session: Some(RoleSessionId::new("rs-1")),
        };
        let json = serde_json::to_string(&session).unwrap();
        assert_eq!(
            json,
            r#"{"i":{"p":"corp","k":"local","s":"alice","u":"alice","e":"alice@example.com","d":"Alice","g":["eng"],"a":["pwd"],"t":7,"cl":{"amr":["otp"],"iss":"https://idp"},"=":{"email":"e","groups":"g","name":"d","sub":"s"}},"c":1,"l":2,"x":"c","r":"rs-1"}"#
        );
        let back: SsoSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back.identity, person);
        assert_eq!(back.last_role_session.as_deref(), Some("rs-1"));
        // As earlier versions wrote it.
        let earlier = serde_json::json!({
            "identity": serde_json::to_value(&person).unwrap(),
            "created_at": 1, "last_seen": 2, "csrf": "c", "last_role_session": null,
        });
        let back: SsoSession = serde_json::from_value(earlier).unwrap();
        assert_eq!(back.identity, person);
        assert_eq!(back.created_at, UnixTime::from_secs(1));
        assert_eq!(back.csrf, "c");
        assert!(back.last_role_session.is_none());

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
            access_request: None,
        };
        let json = serde_json::to_string(&role_session).unwrap();
        assert_eq!(
            json,
            r#"{"r":"admin","n":"alice","s":"corp:alice","k":{"idp:sub":["alice"]},"at":7,"i":10,"e":20,"d":"d"}"#
        );
        let token: RoleSessionToken = serde_json::from_str(&json).unwrap();
        assert_eq!(token.expires_at, UnixTime::from_secs(20));
        assert_eq!(token.access_token_digest, "d");
        // As earlier versions wrote it.
        let earlier = r#"{"id":"rs-1","role":"admin","session_name":"alice","subject":"corp:alice","principal_keys":{"idp:sub":["alice"]},"auth_time":7,"mfa":true,"issued_at":10,"expires_at":20,"access_token_digest":"d","sso_ref":"H"}"#;
        let back: RoleSession = serde_json::from_str(earlier).unwrap();
        assert_eq!(back.id, "rs-1");
        assert_eq!(back.principal_keys, role_session.principal_keys);
        assert!(back.mfa);
        assert_eq!(back.sso_ref.as_deref(), Some("H"));
        let token: RoleSessionToken = serde_json::from_str(earlier).unwrap();
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
            test_for: None,
            step_up: None,
        };
        assert_eq!(
            serde_json::to_string(&txn).unwrap(),
            r#"{"provider":"corp","csrf":"","return_to":"/roles","created_at":3,"upstream":{"state":"s","nonce":"n","pkce_verifier":"v"}}"#
        );
    }

    fn role_session(id: &str, expires_at: UnixTime) -> RoleSession {
        RoleSession {
            id: id.into(),
            role: "admin".into(),
            session_name: "alice".into(),
            subject: "corp:alice".into(),
            principal_keys: PrincipalKeys::of(&identity()),
            auth_time: UnixTime::from_secs(7),
            mfa: false,
            issued_at: UnixTime::from_secs(1_000),
            expires_at,
            access_token: "secret.token.value".into(),
            access_token_digest: "d".into(),
            session_policy: None,
            sso_ref: None,
            access_request: None,
        }
    }

    /// A step-up records a second factor in the SSO session (issue 17); a role session
    /// issued before keeps the `aws:MultiFactorAuthPresent` of its own issue, while its
    /// other keys still come from the session's person.
    #[tokio::test]
    async fn a_role_session_keeps_the_mfa_of_its_issue_after_a_step_up() {
        use crate::clock::ManualClock;
        use crate::session::{MemoryStore, SessionStore};

        let clock = ManualClock::new(UnixTime::from_secs(1_000));
        let store: Arc<dyn SessionStore> =
            Arc::new(MemoryStore::new("t:", Arc::new(clock.clone())));
        let (idle, absolute) = (Duration::from_secs(600), Duration::from_secs(3_600));
        let sso = Sso::new(Arc::clone(&store), Arc::new(clock.clone()), idle, absolute);
        let (cookie, mut session) = sso.create(identity()).await.unwrap();
        let sso_ref = Sso::session_ref(cookie.expose_secret());
        let before = role_session("rs-1", UnixTime::from_secs(2_000));
        sso.add_role_session_by_ref(&sso_ref, &before, None)
            .await
            .unwrap();
        session.identity.mfa = true;
        session.identity.amr.push("otp".into());
        sso.save(cookie.expose_secret(), &session).await.unwrap();
        let mut after = role_session("rs-2", UnixTime::from_secs(2_000));
        after.mfa = true;
        sso.add_role_session_by_ref(&sso_ref, &after, None)
            .await
            .unwrap();
        let key = |rs: &RoleSession| rs.principal_keys.0["aws:MultiFactorAuthPresent"].clone();
        let old = sso.role_session("rs-1").await.unwrap().unwrap();
        assert_eq!(key(&old), ["false"]);
        assert_eq!(old.principal_keys.0["idp:sub"], ["alice"]);
        let new = sso.role_session("rs-2").await.unwrap().unwrap();
        assert_eq!(key(&new), ["true"]);
    }

    /// A role session of an SSO session is stored without its principal keys and read
    /// back with them, from the session's person: also after the session has timed out
    /// (its role sessions live on, as before), never after it was signed out of.
    #[tokio::test]
    async fn role_sessions_read_their_keys_from_their_sso_session() {
        use crate::clock::{Clock, ManualClock};
        use crate::session::keyspace::{ROLE_SESSION, SSO_ISSUED, SSO_ROLE_SESSIONS};
        use crate::session::{MemoryStore, SessionStore};

        let clock = ManualClock::new(UnixTime::from_secs(1_000));
        let store: Arc<dyn SessionStore> =
            Arc::new(MemoryStore::new("t:", Arc::new(clock.clone())));
        let (idle, absolute) = (Duration::from_secs(600), Duration::from_secs(3_600));
        let sso = Sso::new(Arc::clone(&store), Arc::new(clock.clone()), idle, absolute);
        let (cookie, _) = sso.create(identity()).await.unwrap();
        let sso_ref = Sso::session_ref(cookie.expose_secret());
        let issued = role_session("rs-1", UnixTime::from_secs(1_000 + 7_200));
        sso.add_role_session_by_ref(&sso_ref, &issued, Some("fam"))
            .await
            .unwrap();
        let raw = store
            .get(&ROLE_SESSION.key(["rs-1"]))
            .await
            .unwrap()
            .unwrap();
        let raw = String::from_utf8(raw).unwrap();
        assert!(!raw.contains("idp:") && !raw.contains("secret"), "{raw}");
        let back = sso.role_session("rs-1").await.unwrap().unwrap();
        assert_eq!(back.id, "rs-1");
        assert_eq!(back.principal_keys, issued.principal_keys);
        assert_eq!(back.sso_ref.as_deref(), Some(sso_ref.as_str()));
        assert_eq!(
            store
                .hash_fields(&SSO_ISSUED.key([&sso_ref]))
                .await
                .unwrap(),
            [("rs-1".to_owned(), "fam".to_owned())]
        );

        // Idle past the timeout: no longer a sign-in, but its role session works on, with
        // its keys, until it expires.
        clock.advance(Duration::from_secs(1_200));
        assert!(sso.load(cookie.expose_secret()).await.unwrap().is_none());
        assert!(sso.load_by_ref(&sso_ref).await.unwrap().is_none());
        let back = sso.role_session("rs-1").await.unwrap().unwrap();
        assert_eq!(back.principal_keys, issued.principal_keys);
        clock.advance(Duration::from_secs(6_000));
        assert!(sso.role_session("rs-1").await.unwrap().is_none());

        // Signing out ends its role sessions, those listed by earlier versions too.
        let now = clock.now();
        let (cookie, _) = sso.create(identity()).await.unwrap();
        let sso_ref = Sso::session_ref(cookie.expose_secret());
        let issued = role_session("rs-2", now + Duration::from_secs(900));
        sso.add_role_session_by_ref(&sso_ref, &issued, None)
            .await
            .unwrap();
        let mut earlier = role_session("rs-3", now + Duration::from_secs(900));
        earlier.sso_ref = Some(sso_ref.clone());
        sso.put_role_session(&earlier).await.unwrap();
        let set = SSO_ROLE_SESSIONS.key([&sso_ref]);
        store.set_add(&set, "rs-3", absolute).await.unwrap();
        assert!(sso.role_session("rs-3").await.unwrap().is_some());
        sso.end(cookie.expose_secret()).await.unwrap();
        assert!(sso.role_session("rs-2").await.unwrap().is_none());
        assert!(sso.role_session("rs-3").await.unwrap().is_none());
        assert!(
            store
                .hash_fields(&SSO_ISSUED.key([&sso_ref]))
                .await
                .unwrap()
                .is_empty()
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
            test_for: Some("admin-ref-secret".into()),
            step_up: None,
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
