//! SSO sessions: a signed-in person, under the digest of the SSO cookie (the session ref),
//! living until the idle or the absolute timeout, whichever comes first.
//!
//! The record stays in the store longer when a role session issued in it lives longer:
//! role sessions read the person's principal keys from it (see `role_session`), so
//! issuing one lengthens the record's TTL to the role session's ([`SessionStore::extend`])
//! and writing the record back never shortens it ([`SessionStore::replace`]). Whether the
//! *sign-in* is still live is decided by its timestamps ([`Sso::load`],
//! [`Sso::load_by_ref`]), never by the record's presence alone. The person in a record
//! never changes under its ref.
//!
//! [`SessionStore::extend`]: crate::session::SessionStore::extend
//! [`SessionStore::replace`]: crate::session::SessionStore::replace

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::revocation::Marks;
use super::{RoleSession, Sso, SsoError, key_hash};
use crate::clock::UnixTime;
use crate::identity::{ExternalIdentity, RoleSessionId};
use crate::secret::Secret;
use crate::session::keyspace::{
    REFRESH_TOKEN_FIELD_PREFIX, REVOKED_BEFORE, ROLE_SESSION, SSO_ISSUED, SSO_MINTED,
    SSO_ROLE_SESSIONS, SSO_SESSION,
};
use crate::session::random_id;

/// `last_seen` is written back at most this often, to spare the store a write per request.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// A signed-in person.
///
/// Stored compactly: short field names (each reads under its long name too, as records
/// written before have them), nothing for what is empty or off, and the person's raw
/// claims without those that repeat a normalized field (see [`stored_identity`]).
#[derive(Clone, Serialize, Deserialize)]
pub struct SsoSession {
    /// Who.
    #[serde(rename = "i", alias = "identity", with = "stored_identity")]
    pub identity: ExternalIdentity,
    /// When they signed in.
    #[serde(rename = "c", alias = "created_at")]
    pub created_at: UnixTime,
    /// When the session was last used.
    #[serde(rename = "l", alias = "last_seen")]
    pub last_seen: UnixTime,
    /// Synchronizer token of the forms of this session.
    #[serde(rename = "x", alias = "csrf")]
    pub csrf: String,
    /// The role session issued last, shown on `/credentials`.
    #[serde(
        rename = "r",
        alias = "last_role_session",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_role_session: Option<RoleSessionId>,
}

/// The stored form of an SSO session's person: [`ExternalIdentity`] with one- or
/// two-letter field names (the long ones read too), empty and false fields left out, and
/// each raw claim whose value is exactly a normalized field's (`email`, `groups`,
/// `preferred_username`, …: most of an OpenID Connect provider's) written as that field's
/// letter under `=` instead of its value again. Reading gives back the identity written,
/// claims included, unchanged.
mod stored_identity {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::clock::UnixTime;
    use crate::identity::{ClaimValue, ExternalIdentity, ProviderId, ProviderKind};

    #[derive(Serialize)]
    struct Out<'a> {
        p: &'a ProviderId,
        k: ProviderKind,
        s: &'a str,
        u: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        e: Option<&'a str>,
        #[serde(skip_serializing_if = "is_false")]
        v: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        d: Option<&'a str>,
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        g: &'a [String],
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        a: &'a [String],
        #[serde(skip_serializing_if = "is_false")]
        m: bool,
        t: UnixTime,
        #[serde(rename = "tg", skip_serializing_if = "BTreeMap::is_empty")]
        tags: &'a BTreeMap<String, String>,
        #[serde(rename = "cl", skip_serializing_if = "BTreeMap::is_empty")]
        claims: BTreeMap<&'a str, &'a ClaimValue>,
        #[serde(rename = "=", skip_serializing_if = "BTreeMap::is_empty")]
        same: BTreeMap<&'a str, &'static str>,
    }

    #[derive(Deserialize)]
    struct In {
        #[serde(rename = "p", alias = "provider")]
        provider: ProviderId,
        #[serde(rename = "k", alias = "provider_kind")]
        provider_kind: ProviderKind,
        #[serde(rename = "s", alias = "subject")]
        subject: String,
        #[serde(rename = "u", alias = "username")]
        username: String,
        #[serde(rename = "e", alias = "email", default)]
        email: Option<String>,
        #[serde(rename = "v", alias = "email_verified", default)]
        email_verified: bool,
        #[serde(rename = "d", alias = "display_name", default)]
        display_name: Option<String>,
        #[serde(rename = "g", alias = "groups", default)]
        groups: Vec<String>,
        #[serde(rename = "a", alias = "amr", default)]
        amr: Vec<String>,
        #[serde(rename = "m", alias = "mfa", default)]
        mfa: bool,
        #[serde(rename = "t", alias = "auth_time")]
        auth_time: UnixTime,
        #[serde(rename = "tg", alias = "tags", default)]
        tags: BTreeMap<String, String>,
        #[serde(rename = "cl", alias = "claims", default)]
        claims: BTreeMap<String, ClaimValue>,
        #[serde(rename = "=", default)]
        same: BTreeMap<String, String>,
    }

    fn is_false(flag: &bool) -> bool {
        !*flag
    }

    /// The letter of the normalized field whose value `value` is exactly, if any.
    fn same_as(identity: &ExternalIdentity, value: &ClaimValue) -> Option<&'static str> {
        match value {
            ClaimValue::One(v) if *v == identity.subject => Some("s"),
            ClaimValue::One(v) if *v == identity.username => Some("u"),
            ClaimValue::One(v) if identity.email.as_ref() == Some(v) => Some("e"),
            ClaimValue::One(v) if identity.display_name.as_ref() == Some(v) => Some("d"),
            ClaimValue::Many(v) if *v == identity.groups => Some("g"),
            ClaimValue::Many(v) if *v == identity.amr => Some("a"),
            _ => None,
        }
    }

    pub(super) fn serialize<S: Serializer>(
        identity: &ExternalIdentity,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut claims = BTreeMap::new();
        let mut same = BTreeMap::new();
        for (name, value) in &identity.claims {
            if let Some(letter) = same_as(identity, value) {
                same.insert(name.as_str(), letter);
            } else {
                claims.insert(name.as_str(), value);
            }
        }
        Out {
            p: &identity.provider,
            k: identity.provider_kind,
            s: &identity.subject,
            u: &identity.username,
            e: identity.email.as_deref(),
            v: identity.email_verified,
            d: identity.display_name.as_deref(),
            g: &identity.groups,
            a: &identity.amr,
            m: identity.mfa,
            t: identity.auth_time,
            tags: &identity.tags,
            claims,
            same,
        }
        .serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<ExternalIdentity, D::Error> {
        let stored = In::deserialize(deserializer)?;
        let mut claims = stored.claims;
        for (name, letter) in stored.same {
            let value = match letter.as_str() {
                "s" => ClaimValue::One(stored.subject.clone()),
                "u" => ClaimValue::One(stored.username.clone()),
                "e" => stored
                    .email
                    .clone()
                    .map(ClaimValue::One)
                    .ok_or_else(missing)?,
                "d" => stored
                    .display_name
                    .clone()
                    .map(ClaimValue::One)
                    .ok_or_else(missing)?,
                "g" => ClaimValue::Many(stored.groups.clone()),
                "a" => ClaimValue::Many(stored.amr.clone()),
                _ => return Err(missing()),
            };
            claims.insert(name, value);
        }
        Ok(ExternalIdentity {
            provider: stored.provider,
            provider_kind: stored.provider_kind,
            subject: stored.subject,
            username: stored.username,
            email: stored.email,
            email_verified: stored.email_verified,
            display_name: stored.display_name,
            groups: stored.groups,
            amr: stored.amr,
            mfa: stored.mfa,
            auth_time: stored.auth_time,
            tags: stored.tags,
            claims,
        })
    }

    fn missing<E: serde::de::Error>() -> E {
        E::custom("a claim names a field the identity does not have")
    }
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
    /// A timed-out session's role sessions live on until their own expiry, as they did
    /// when its record expired with it (see the module documentation).
    pub async fn load(&self, cookie: &str) -> Result<Option<SsoSession>, SsoError> {
        let Some(mut session) = self.get_unrevoked(&key_hash(cookie)).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if !self.alive(&session, now) {
            return Ok(None);
        }
        if now.since(session.last_seen) >= TOUCH_INTERVAL {
            session.last_seen = now;
            self.save(cookie, &session).await?;
        }
        Ok(Some(session))
    }

    /// When `session` ends unless used again: its idle or its absolute timeout, whichever
    /// comes first.
    pub fn expires_at(&self, session: &SsoSession) -> UnixTime {
        (session.last_seen + self.idle).min(session.created_at + self.absolute)
    }

    /// Whether `session` is within its idle and absolute timeouts at `now`.
    fn alive(&self, session: &SsoSession, now: UnixTime) -> bool {
        now < session.created_at + self.absolute && now < session.last_seen + self.idle
    }

    /// Writes a changed session back, keeping its timeouts (and a longer life its role
    /// sessions gave its record). The person in it must be the one it was created with.
    pub async fn save(&self, cookie: &str, session: &SsoSession) -> Result<(), SsoError> {
        let now = self.clock.now();
        let absolute_left = now.until(session.created_at + self.absolute);
        let ttl = self.idle.min(absolute_left).max(Duration::from_secs(1));
        let bytes = serde_json::to_vec(session).map_err(|_| SsoError::Corrupt)?;
        let key = SSO_SESSION.key([&key_hash(cookie)]);
        Ok(self.store.replace(&key, &bytes, ttl).await?)
    }

    /// Ends an SSO session and every role session issued in it.
    pub async fn end(&self, cookie: &str) -> Result<(), SsoError> {
        self.end_by_ref(&Self::session_ref(cookie)).await
    }

    /// Ends the SSO session with this handle and every role session issued in it, as
    /// signing out does (the admin API's revocation).
    pub async fn end_by_ref(&self, session_ref: &str) -> Result<(), SsoError> {
        let issued = SSO_ISSUED.key([session_ref]);
        let set = SSO_ROLE_SESSIONS.key([session_ref]);
        for id in self.issued_role_session_ids(session_ref).await? {
            self.store.delete(&ROLE_SESSION.key([&id])).await?;
        }
        // The sealed tokens die with their role sessions; their records expire with them.
        self.store.delete(&SSO_MINTED.key([session_ref])).await?;
        self.store.delete(&set).await?;
        self.store.delete(&issued).await?;
        self.store.delete(&SSO_SESSION.key([session_ref])).await?;
        Ok(())
    }

    /// The ids of the role sessions issued in the SSO session with this handle (live or
    /// not: their records say).
    pub(super) async fn issued_role_session_ids(
        &self,
        session_ref: &str,
    ) -> Result<Vec<String>, SsoError> {
        let issued = SSO_ISSUED.key([session_ref]);
        let mut ids: Vec<String> = self
            .store
            .hash_fields(&issued)
            .await?
            .into_iter()
            .filter_map(|(field, _)| {
                (!field.starts_with(REFRESH_TOKEN_FIELD_PREFIX)).then_some(field)
            })
            .collect();
        // Sessions from before `SSO_ISSUED` kept their role sessions in a set.
        let set = SSO_ROLE_SESSIONS.key([session_ref]);
        ids.extend(self.store.set_members(&set).await?);
        Ok(ids)
    }

    /// The live role sessions issued in the SSO session with this handle.
    pub async fn issued_role_sessions(
        &self,
        session_ref: &str,
    ) -> Result<Vec<RoleSession>, SsoError> {
        let mut out = Vec::new();
        for id in self.issued_role_session_ids(session_ref).await? {
            if let Some(role_session) = self.role_session(&id).await? {
                out.push(role_session);
            }
        }
        Ok(out)
    }

    /// One page of a walk over the live SSO sessions ([`SessionStore::scan`] of their
    /// keys, about `scan` keys looked at): each with its handle, and where the walk goes on
    /// (`None`: it is over). There is no index by person or role (it would cost every
    /// sign-in store bytes): callers filter what a page gives.
    ///
    /// [`SessionStore::scan`]: crate::session::SessionStore::scan
    pub async fn sessions_page(
        &self,
        cursor: Option<&str>,
        scan: u32,
    ) -> Result<(Vec<(String, SsoSession)>, Option<String>), SsoError> {
        let page = self.store.scan(SSO_SESSION.prefix, cursor, scan).await?;
        let mut out = Vec::with_capacity(page.keys.len());
        for key in page.keys {
            let Some(session_ref) = SSO_SESSION.part(&key) else {
                continue;
            };
            if let Some(session) = self.load_by_ref(&session_ref).await? {
                out.push((session_ref, session));
            }
        }
        Ok((out, page.next))
    }

    /// A stable, non-secret handle of the SSO session a cookie names (the hash its record is
    /// stored under): the OpenID Connect `sid`, and what codes and refresh tokens are bound to.
    pub fn session_ref(cookie: &str) -> String {
        key_hash(cookie)
    }

    /// The live SSO session with this handle, if any (same timeouts as [`Sso::load`], but
    /// without extending the idle timeout: a refresh by an application is not a person).
    pub async fn load_by_ref(&self, session_ref: &str) -> Result<Option<SsoSession>, SsoError> {
        let session = self.get_unrevoked(session_ref).await?;
        let now = self.clock.now();
        Ok(session.filter(|s| self.alive(s, now)))
    }

    /// The SSO session with this handle unless a mark revoked its person after it began
    /// (read with the marks, in one round trip; see `revocation`).
    async fn get_unrevoked(&self, session_ref: &str) -> Result<Option<SsoSession>, SsoError> {
        let (record, marks) = self
            .store
            .get_with_fields(&SSO_SESSION.key([session_ref]), &REVOKED_BEFORE.key([]))
            .await?;
        let marks = Marks::new(marks);
        let session: Option<SsoSession> = Self::decode(record)?;
        Ok(session.filter(|s| {
            marks.is_empty() || !marks.refuse_person(&s.identity.qualified_subject(), s.created_at)
        }))
    }

    /// The person of the SSO session with this handle while its record is kept, live or
    /// not: what its role sessions read their principal keys from (see the module
    /// documentation). Not a sign-in check.
    pub(super) async fn identity_by_ref(
        &self,
        session_ref: &str,
    ) -> Result<Option<ExternalIdentity>, SsoError> {
        /// The part of the record read.
        #[derive(Deserialize)]
        struct Person {
            #[serde(rename = "i", alias = "identity", with = "stored_identity")]
            identity: ExternalIdentity,
        }
        let person = self.get::<Person>(&SSO_SESSION.key([session_ref])).await?;
        Ok(person.map(|p| p.identity))
    }
}
