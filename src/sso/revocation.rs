//! Not-before marks (the admin API's "revoke every session of a person" and "kill a
//! role"), like Keycloak's not-before: one hash ([`REVOKED_BEFORE`]) of `person:{p}` and
//! `role:{r}` fields, each the second of a revocation; and `request:{id}` fields, one per
//! revoked access request (issue 17), which refuse every role session minted from that
//! request whenever it was issued (a revoked request opens nothing again). Every read of an SSO session or a
//! role session reads the hash with the record, in the same round trip
//! ([`SessionStore::get_with_fields`]), and refuses a record issued at or before a mark
//! that concerns it; so a revocation through one instance is refused by every instance
//! sharing the store at once. A mark is kept as long as the longest session could live
//! after it (older, it could refuse nothing).
//!
//! [`SessionStore::get_with_fields`]: crate::session::SessionStore::get_with_fields

use std::time::Duration;

use serde::Deserialize;

use super::{Sso, SsoError};
use crate::clock::UnixTime;
use crate::identity::{RoleName, Subject};
use crate::session::keyspace::{REVOKED_BEFORE, ROLE_SESSION, SSO_SESSION};

/// How many keys one store page of a sweep looks at.
const SWEEP_PAGE: u32 = 200;

/// What a mark concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// Every session of a person, `{provider}:{subject}`.
    Person(String),
    /// Every role session of a role.
    Role(RoleName),
}

/// The field of the mark of a revoked access request `id` in [`REVOKED_BEFORE`] (kept
/// apart from [`Revoked`]: an access request is revoked by the elevation service, not
/// through the admin API's session revocation).
fn request_field(id: &str) -> String {
    format!("request:{id}")
}

impl Revoked {
    /// The mark's field in [`REVOKED_BEFORE`].
    fn field(&self) -> String {
        match self {
            Revoked::Person(p) => format!("person:{p}"),
            Revoked::Role(r) => format!("role:{}", r.as_str()),
        }
    }
}

/// What a revocation mark is compared with in a stored role session: whose, of which
/// role, issued when (the fields of `RoleSession` under their stored names).
#[derive(Deserialize)]
pub(super) struct Issued {
    /// The role.
    #[serde(rename = "r", alias = "role")]
    pub(super) role: RoleName,
    /// `{provider}:{subject}`.
    #[serde(rename = "s", alias = "subject")]
    pub(super) subject: Subject,
    /// When it was issued.
    #[serde(rename = "i", alias = "issued_at")]
    pub(super) issued_at: UnixTime,
    /// The approved access request it was minted from, if any.
    #[serde(rename = "q", alias = "access_request", default)]
    pub(super) access_request: Option<String>,
}

/// The marks read with a record.
#[derive(Debug, Default)]
pub(crate) struct Marks(Vec<(String, String)>);

impl Marks {
    /// The marks of a [`SessionStore::get_with_fields`] answer.
    ///
    /// [`SessionStore::get_with_fields`]: crate::session::SessionStore::get_with_fields
    pub(crate) fn new(fields: Vec<(String, String)>) -> Self {
        Self(fields)
    }

    /// Whether there is no mark at all (the usual case).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The mark of `what`, if any (a field that is not a number is no mark).
    fn of(&self, kind: &str, name: &str) -> Option<UnixTime> {
        self.0.iter().find_map(|(field, value)| {
            let rest = field.strip_prefix(kind)?.strip_prefix(':')?;
            (rest == name)
                .then(|| value.parse::<i64>().ok().map(UnixTime::from_secs))
                .flatten()
        })
    }

    /// Whether something of `person` issued at `issued_at` is revoked.
    pub(crate) fn refuse_person(&self, person: &str, issued_at: UnixTime) -> bool {
        !self.0.is_empty() && self.of("person", person).is_some_and(|m| issued_at <= m)
    }

    /// Whether a role session minted from the access request `request` is revoked: the
    /// request was, at any time (no role session is minted from a revoked request, so one
    /// that carries its id was minted before the revocation, or raced it).
    pub(crate) fn refuse_request(&self, request: Option<&str>) -> bool {
        !self.0.is_empty() && request.is_some_and(|id| self.of("request", id).is_some())
    }

    /// Whether a role session of `person` for `role` issued at `issued_at` is revoked.
    pub(crate) fn refuse_role_session(
        &self,
        person: &str,
        role: &str,
        issued_at: UnixTime,
    ) -> bool {
        !self.0.is_empty()
            && (self.refuse_person(person, issued_at)
                || self.of("role", role).is_some_and(|m| issued_at <= m))
    }
}

impl Sso {
    /// Marks `what` revoked at `now`: what of it was issued at or before then is refused
    /// from now on, everywhere. `keep` is how long the mark must last (the longest a
    /// session of it could still live).
    pub async fn mark_revoked(
        &self,
        what: &Revoked,
        now: UnixTime,
        keep: Duration,
    ) -> Result<(), SsoError> {
        let key = REVOKED_BEFORE.key([]);
        let value = now.secs().to_string();
        Ok(self
            .store
            .hash_set(&key, &what.field(), &value, keep)
            .await?)
    }

    /// Marks the access request `id` revoked: every role session minted from it is refused
    /// from now on, by every instance sharing the store (one field of the hash read with
    /// every role session). `keep` is how long the mark must last: until the request's
    /// approved window would have closed, after which no role session of it lives anyway.
    pub async fn mark_request_revoked(&self, id: &str, keep: Duration) -> Result<(), SsoError> {
        let key = REVOKED_BEFORE.key([]);
        let value = self.clock.now().secs().to_string();
        Ok(self
            .store
            .hash_set(&key, &request_field(id), &value, keep)
            .await?)
    }

    /// After a mark, ends what it refuses so that it stops taking store room and showing:
    /// every SSO session of the person (as signing out does), or every role session of
    /// the role issued in an SSO session (STS sessions, which no walk finds, are refused
    /// by the mark until they expire). Best effort, looking at about `max_keys` SSO-session
    /// keys at most; answers how many it ended.
    pub async fn sweep(&self, what: &Revoked, max_keys: u32) -> Result<usize, SsoError> {
        let mut cursor: Option<String> = None;
        let (mut looked, mut ended) = (0, 0);
        loop {
            let page = self
                .store
                .scan(SSO_SESSION.prefix, cursor.as_deref(), SWEEP_PAGE)
                .await?;
            for key in page.keys {
                let Some(session_ref) = SSO_SESSION.part(&key) else {
                    continue;
                };
                match what {
                    Revoked::Person(person) => {
                        let theirs = self
                            .identity_by_ref(&session_ref)
                            .await?
                            .is_some_and(|i| i.qualified_subject() == *person);
                        if theirs {
                            self.end_by_ref(&session_ref).await?;
                            ended += 1;
                        }
                    }
                    Revoked::Role(role) => {
                        for id in self.issued_role_session_ids(&session_ref).await? {
                            let key = ROLE_SESSION.key([&id]);
                            let record: Option<Issued> = self.get(&key).await?;
                            if record.is_some_and(|r| r.role == *role) {
                                self.store.delete(&key).await?;
                                ended += 1;
                            }
                        }
                    }
                }
            }
            looked += SWEEP_PAGE;
            cursor = page.next;
            if cursor.is_none() || looked >= max_keys {
                return Ok(ended);
            }
        }
    }

    /// Whether a role session of `role` issued at `issued_at` is refused by a mark (the
    /// refresh grant's check: a refresh token issued before a role was killed).
    pub async fn role_revoked(
        &self,
        role: &RoleName,
        issued_at: UnixTime,
    ) -> Result<bool, SsoError> {
        let marks = Marks::new(self.store.hash_fields(&REVOKED_BEFORE.key([])).await?);
        Ok(marks
            .of("role", role.as_str())
            .is_some_and(|m| issued_at <= m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_refuse_what_was_issued_at_or_before_them() {
        let marks = Marks::new(vec![
            ("person:corp:bob".into(), "100".into()),
            ("role:engineer".into(), "200".into()),
            ("role:broken".into(), "not a time".into()),
        ]);
        let at = UnixTime::from_secs;
        assert!(marks.refuse_person("corp:bob", at(100)));
        assert!(!marks.refuse_person("corp:bob", at(101)));
        assert!(!marks.refuse_person("corp:bo", at(1)));
        assert!(!marks.refuse_person("corp:alice", at(1)));
        assert!(marks.refuse_role_session("corp:alice", "engineer", at(200)));
        assert!(!marks.refuse_role_session("corp:alice", "engineer", at(201)));
        assert!(marks.refuse_role_session("corp:bob", "admin", at(50)));
        assert!(!marks.refuse_role_session("corp:alice", "broken", at(1)));
        assert!(!Marks::default().refuse_role_session("corp:bob", "engineer", at(1)));
    }

    #[test]
    fn a_request_mark_refuses_its_role_sessions_whenever_issued() {
        let marks = Marks::new(vec![("request:req-1".into(), "100".into())]);
        assert!(marks.refuse_request(Some("req-1")));
        assert!(!marks.refuse_request(Some("req-2")));
        assert!(!marks.refuse_request(Some("req-")));
        assert!(!marks.refuse_request(None));
        assert!(!Marks::default().refuse_request(Some("req-1")));
        assert_eq!(request_field("req-1"), "request:req-1");
    }
}
