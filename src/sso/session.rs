//! SSO sessions: a signed-in person, under the digest of the SSO cookie (the session ref),
//! living until the idle or the absolute timeout, whichever comes first.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Sso, SsoError, key_hash};
use crate::clock::UnixTime;
use crate::identity::{ExternalIdentity, RoleSessionId};
use crate::secret::Secret;
use crate::session::keyspace::{ROLE_SESSION, SSO_MINTED, SSO_ROLE_SESSIONS, SSO_SESSION};
use crate::session::random_id;

/// `last_seen` is written back at most this often, to spare the store a write per request.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// A signed-in person.
#[derive(Clone, Serialize, Deserialize)]
pub struct SsoSession {
    /// Who.
    pub identity: ExternalIdentity,
    /// When they signed in.
    pub created_at: UnixTime,
    /// When the session was last used.
    pub last_seen: UnixTime,
    /// Synchronizer token of the forms of this session.
    pub csrf: String,
    /// The role session issued last, shown on `/credentials`.
    pub last_role_session: Option<RoleSessionId>,
}

impl std::fmt::Debug for SsoSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSession")
            .field("identity", &self.identity.qualified_subject())
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl Sso {
    /// Creates an SSO session for a freshly authenticated identity; returns the cookie value.
    pub async fn create(
        &self,
        identity: ExternalIdentity,
    ) -> Result<(Secret, SsoSession), SsoError> {
        let now = self.clock.now();
        let id = random_id();
        let session = SsoSession {
            identity,
            created_at: now,
            last_seen: now,
            csrf: random_id().expose_secret().to_owned(),
            last_role_session: None,
        };
        let key = SSO_SESSION.key([&key_hash(id.expose_secret())]);
        self.put(&key, &session, self.idle.min(self.absolute))
            .await?;
        Ok((id, session))
    }

    /// The live SSO session a cookie names, after the idle and absolute timeouts; using it
    /// extends the idle timeout. `None` when there is none (unknown, expired, signed out).
    pub async fn load(&self, cookie: &str) -> Result<Option<SsoSession>, SsoError> {
        let Some(mut session) = self
            .get::<SsoSession>(&SSO_SESSION.key([&key_hash(cookie)]))
            .await?
        else {
            return Ok(None);
        };
        let now = self.clock.now();
        if !self.alive(&session, now) {
            self.end(cookie).await?;
            return Ok(None);
        }
        if now.since(session.last_seen) >= TOUCH_INTERVAL {
            session.last_seen = now;
            self.save(cookie, &session).await?;
        }
        Ok(Some(session))
    }

    /// Whether `session` is within its idle and absolute timeouts at `now`.
    fn alive(&self, session: &SsoSession, now: UnixTime) -> bool {
        now < session.created_at + self.absolute && now < session.last_seen + self.idle
    }

    /// Writes a changed session back, keeping its timeouts.
    pub async fn save(&self, cookie: &str, session: &SsoSession) -> Result<(), SsoError> {
        let now = self.clock.now();
        let absolute_left = now.until(session.created_at + self.absolute);
        let ttl = self.idle.min(absolute_left).max(Duration::from_secs(1));
        self.put(&SSO_SESSION.key([&key_hash(cookie)]), session, ttl)
            .await
    }

    /// Ends an SSO session and every role session issued in it.
    pub async fn end(&self, cookie: &str) -> Result<(), SsoError> {
        let session_ref = Self::session_ref(cookie);
        let set = SSO_ROLE_SESSIONS.key([&session_ref]);
        for id in self.store.set_members(&set).await? {
            self.store.delete(&ROLE_SESSION.key([&id])).await?;
        }
        // The sealed tokens die with their role sessions; their records expire with them.
        self.store.delete(&SSO_MINTED.key([&session_ref])).await?;
        self.store.delete(&set).await?;
        self.store.delete(&SSO_SESSION.key([&session_ref])).await?;
        Ok(())
    }

    /// A stable, non-secret handle of the SSO session a cookie names (the hash its record is
    /// stored under): the OpenID Connect `sid`, and what codes and refresh tokens are bound to.
    pub fn session_ref(cookie: &str) -> String {
        key_hash(cookie)
    }

    /// The live SSO session with this handle, if any (same timeouts as [`Sso::load`], but
    /// without extending the idle timeout: a refresh by an application is not a person).
    pub async fn load_by_ref(&self, session_ref: &str) -> Result<Option<SsoSession>, SsoError> {
        let session = self
            .get::<SsoSession>(&SSO_SESSION.key([session_ref]))
            .await?;
        let now = self.clock.now();
        Ok(session.filter(|s| self.alive(s, now)))
    }
}
