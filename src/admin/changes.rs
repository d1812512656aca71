//! The `admin.changed` event, built one way for every change to the admin catalog, made
//! through the admin API, the console or `lanyard apply` ([`changed_event`]), and how a
//! write records it ([`ChangeRecord`]).
//!
//! Who made a change ([`Actor`]) is recorded as sign-in events record a person: `subject`
//! is the subject as its provider names it (`alice`) and `provider` the provider apart
//! (`corp`), so that the audit trail's filter by person (`corp:alice`) finds a person's
//! sign-ins, credentials and admin changes alike; the console shows the two together as
//! `corp:alice`, as before. A machine client's role session has no upstream provider: its
//! subject is recorded whole. `lanyard apply` records the operating-system user who ran it
//! as subject, with `cli` as provider (shown `cli:{user}`) and `source: "lanyard apply"` in
//! the detail.
//!
//! The entity's states before and after are recorded as the API shows them ([`state`]): a
//! provider's secrets as `********`, a client's document without its secrets' hashes.
//!
//! Where the audit trail keeps its events in the database that holds the entities (the
//! server's only setup: the admin catalog lives in `[audit] database`), the event is
//! inserted in the write's own transaction, so the change and its record commit together
//! or not at all, and the other sinks (the log, a JSON-lines file) get it after the
//! commit. A trail whose database is another (only built by hand, in tests) gets the event
//! after the commit, every sink, as a failed sink is logged.
//!
//! May import: `access`, `audit`, `catalog`, `config`, `db`, `identity`.

use serde_json::{Map, Value, json};

use crate::access::AccessTokenClaims;
use crate::audit::{Audit, AuditEvent, EventKind, event_row};
use crate::catalog::clients::StoredClient;
use crate::config::PROVIDER_SECRET_FIELDS;
use crate::db::{Database, EntityKind, EntityRow, EventRow};
use crate::identity::{ClientId, RoleName};

use super::entities::REDACTED;

/// The provider `lanyard apply`'s changes are recorded under.
pub const CLI_PROVIDER: &str = "cli";

/// Who made a change.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A caller of the admin API or console: its role session's claims.
    Session(&'a AccessTokenClaims),
    /// `lanyard apply`, run by this operating-system user.
    Cli(&'a str),
}

impl Actor<'_> {
    /// The person as the trail records one: the provider (if any) and the subject as that
    /// provider names it.
    pub fn person(&self) -> (Option<String>, String) {
        match self {
            Actor::Session(claims) => {
                let sub = claims.sub.as_str();
                let idp = claims.idp.as_str();
                match sub
                    .strip_prefix(idp)
                    .and_then(|rest| rest.strip_prefix(':'))
                {
                    Some(subject) => (Some(idp.to_owned()), subject.to_owned()),
                    None => (None, sub.to_owned()),
                }
            }
            Actor::Cli(user) => (Some(CLI_PROVIDER.to_owned()), (*user).to_owned()),
        }
    }

    /// Sets who acted on `event`: subject and provider ([`Actor::person`]) and, for a
    /// role session, its id.
    pub fn stamp(&self, event: &mut AuditEvent) {
        let (provider, subject) = self.person();
        event.provider = provider;
        event.subject = Some(subject);
        if let Actor::Session(claims) = self {
            event.role_session = Some(claims.sid.clone());
        }
    }
}

/// One change of one entity.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// The entity's kind.
    pub kind: EntityKind,
    /// Its name (a provider's or client's id).
    pub name: &'a str,
    /// `put`, `delete`, `rotate_secret`.
    pub operation: &'a str,
    /// The state before ([`state`]; `null` for a create).
    pub before: Value,
    /// The state after ([`state`]; `null` for a delete).
    pub after: Value,
}

/// A stored document as the API and the audit trail show it: a provider's secrets as
/// [`REDACTED`], a client's document without its secrets. A row that cannot be read shows
/// as `None`.
pub fn shown(kind: EntityKind, body: &str) -> Option<Value> {
    if kind == EntityKind::Client {
        let row = EntityRow {
            name: String::new(),
            body: body.to_owned(),
            version: 0,
            updated_at_ms: 0,
            updated_by: String::new(),
        };
        return StoredClient::of_row(&row).ok().map(|s| s.document);
    }
    let mut document = serde_json::from_str::<Value>(body).ok()?;
    if kind == EntityKind::Provider
        && let Some(object) = document.as_object_mut()
    {
        for field in PROVIDER_SECRET_FIELDS {
            if let Some(value) = object.get_mut(*field)
                && value.is_string()
            {
                *value = Value::from(REDACTED);
            }
        }
    }
    Some(document)
}

/// A row's state as the trail records it: its version and its document as [`shown`];
/// `null` for no row.
pub fn state(kind: EntityKind, row: Option<&EntityRow>) -> Value {
    match row {
        None => Value::Null,
        Some(row) => json!({
            "version": row.version,
            "document": shown(kind, &row.body),
        }),
    }
}

/// The `admin.changed` event of `change` made by `actor` at `now_ms`. Its detail holds
/// `kind`, `name`, `operation`, `before`, `after`, the caller's role (`caller_role`) or
/// the tool (`source`), and every member of `extra`. A role's change names the role, a
/// client's the client.
pub fn changed_event(
    actor: &Actor<'_>,
    change: Change<'_>,
    extra: Map<String, Value>,
    now_ms: i64,
) -> AuditEvent {
    let mut event = AuditEvent::new(EventKind::AdminChanged, now_ms);
    actor.stamp(&mut event);
    match change.kind {
        EntityKind::Role => event.role = Some(RoleName::new(change.name)),
        EntityKind::Client => event.client_id = Some(ClientId::new(change.name)),
        EntityKind::Provider | EntityKind::Policy => {}
    }
    let mut detail = Map::new();
    detail.insert("kind".into(), change.kind.as_str().into());
    detail.insert("name".into(), change.name.into());
    detail.insert("operation".into(), change.operation.into());
    match actor {
        Actor::Session(claims) => {
            detail.insert("caller_role".into(), claims.role.as_str().into());
        }
        Actor::Cli(_) => {
            detail.insert("source".into(), "lanyard apply".into());
        }
    }
    detail.insert("before".into(), change.before);
    detail.insert("after".into(), change.after);
    detail.extend(extra);
    event.detail = Value::Object(detail);
    event
}

/// The `admin.changed` events of one write: made inside its transaction (from what the
/// write found there), inserted into that transaction when the trail keeps its events in
/// the same database ([`Audit::keeps_events_in`]), and handed to the sinks that do not hold
/// them yet once the write is committed ([`ChangeRecord::committed`]).
#[derive(Debug)]
pub struct ChangeRecord<'a> {
    audit: &'a Audit,
    in_transaction: bool,
    events: Vec<AuditEvent>,
}

impl<'a> ChangeRecord<'a> {
    /// The record of a write to `db`, for `audit`.
    pub fn new(audit: &'a Audit, db: &Database) -> Self {
        Self {
            audit,
            in_transaction: audit.keeps_events_in(db),
            events: Vec::new(),
        }
    }

    /// Keeps `events` and gives the rows the write inserts in its transaction (none when
    /// the trail's database is another).
    pub fn rows(&mut self, events: Vec<AuditEvent>) -> Vec<EventRow> {
        let rows = if self.in_transaction {
            events.iter().map(event_row).collect()
        } else {
            Vec::new()
        };
        self.events.extend(events);
        rows
    }

    /// Once the write is committed: the events to every sink that does not hold them yet
    /// (a failed sink is logged; the change is made).
    pub async fn committed(self) {
        for event in self.events {
            if self.in_transaction {
                self.audit.note_committed(event).await;
            } else {
                self.audit.note(event).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_provider_documents_and_clients_show_no_hash() {
        let body =
            r#"{"kind":"oidc","client_secret":"s3cret","bind_password":"pw","client_id":"x"}"#;
        let provider = shown(EntityKind::Provider, body).unwrap();
        assert_eq!(provider["client_secret"], REDACTED);
        assert_eq!(provider["bind_password"], REDACTED);
        assert_eq!(provider["client_id"], "x");
        assert!(!provider.to_string().contains("s3cret"));
        let policy = shown(EntityKind::Policy, r#"{"client_secret":"kept"}"#).unwrap();
        assert_eq!(policy["client_secret"], "kept");
        let client =
            r#"{"document":{"name":"App"},"secrets":[{"hash":"sha256:abc","created_at":1}]}"#;
        let client = shown(EntityKind::Client, client).unwrap();
        assert_eq!(client, json!({"name": "App"}));
    }

    #[test]
    fn the_cli_is_recorded_as_its_user_under_the_cli_provider() {
        let mut event = changed_event(
            &Actor::Cli("ops"),
            Change {
                kind: EntityKind::Role,
                name: "eng",
                operation: "delete",
                before: json!({"version": 3}),
                after: Value::Null,
            },
            Map::new(),
            5,
        );
        assert_eq!(
            (event.provider.as_deref(), event.subject.as_deref()),
            (Some("cli"), Some("ops"))
        );
        assert_eq!(
            event.role.take().map(RoleName::into_string),
            Some("eng".into())
        );
        assert_eq!(event.detail["source"], "lanyard apply");
        assert_eq!(event.detail["before"]["version"], 3);
        assert_eq!(event.event, EventKind::AdminChanged);
    }
}
