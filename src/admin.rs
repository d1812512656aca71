//! Admin operations (issue 15, first slice: roles): reading and writing the roles kept in
//! the database, each write validated by `check-config`'s code, compare-and-set on the
//! entity's version, recorded in the audit trail with the entity before and after, and
//! then taken up by every instance's catalog poll ([`crate::reload::Reloader::watch_catalog`]).
//!
//! Who may do what is Lanyard's own IAM: every operation is an action (`lanyard:PutRole`)
//! on a resource (`arn:lanyard:iam:::role/{name}`) that the caller's role session must be
//! allowed by the policy engine, evaluated as `/v1/authorize` evaluates ([`Authorizer`]).
//!
//! May import: `access`, `audit`, `authz`, `clock`, `config`, `db`, `identity`, `roles`.
//! No HTTP types.

use std::sync::Arc;

use crate::access::AccessTokenClaims;
use crate::audit::{Audit, AuditEvent, EventKind};
use crate::authz::{Authorizer, AuthzError, Caller, Question};
use crate::clock::UnixTime;
use crate::config::{Config, ConfigError, role_from_document};
use crate::db::{Database, DbError, EntityKind, EntityRow, WriteError};

pub use crate::db::Precondition;
use crate::identity::RoleName;
use crate::roles::{Role, role_arn};

/// An admin action, as named in policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// List the roles (resource [`ALL_ROLES`]).
    ListRoles,
    /// Read one role.
    GetRole,
    /// Create or replace a role.
    PutRole,
    /// Delete a role.
    DeleteRole,
}

impl Action {
    /// The action's name in a policy (`lanyard:PutRole`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ListRoles => "lanyard:ListRoles",
            Action::GetRole => "lanyard:GetRole",
            Action::PutRole => "lanyard:PutRole",
            Action::DeleteRole => "lanyard:DeleteRole",
        }
    }
}

/// The resource `lanyard:ListRoles` is evaluated on: every role.
pub const ALL_ROLES: &str = "arn:lanyard:iam:::role/*";

/// The resource of an action on one role: `arn:lanyard:iam:::role/{name}`.
pub fn role_resource(name: &str) -> String {
    role_arn(name)
}

/// Where a role is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `lanyard.toml`: read-only through the API.
    File,
    /// The database: editable through the API.
    Database,
}

/// A role as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleEntry {
    /// The role's name.
    pub name: RoleName,
    /// Where it is defined.
    pub source: Source,
    /// The document as stored (database roles; the `[[roles]]` shape without `name`).
    pub document: Option<serde_json::Value>,
    /// Its version, the `ETag` (database roles).
    pub version: Option<i64>,
    /// When it was last written, milliseconds since the epoch (database roles).
    pub updated_at_ms: Option<i64>,
    /// Who wrote it last (database roles).
    pub updated_by: Option<String>,
    /// What the role is for (file roles; database roles carry it in `document`).
    pub description: String,
    /// The longest session it grants, in seconds (file roles).
    pub max_session_duration_secs: Option<u64>,
}

impl RoleEntry {
    fn of_file(role: &Role) -> Self {
        Self {
            name: role.name.clone(),
            source: Source::File,
            document: None,
            version: None,
            updated_at_ms: None,
            updated_by: None,
            description: role.description.clone(),
            max_session_duration_secs: Some(role.max_session_duration.as_secs()),
        }
    }

    fn of_row(row: EntityRow) -> Self {
        // Stored by this module as a JSON object; a row that is not is shown as null.
        let document = serde_json::from_str::<serde_json::Value>(&row.body).ok();
        let description = document
            .as_ref()
            .and_then(|d| d.get("description"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Self {
            name: RoleName::new(row.name),
            source: Source::Database,
            document,
            version: Some(row.version),
            updated_at_ms: Some(row.updated_at_ms),
            updated_by: Some(row.updated_by),
            description,
            max_session_duration_secs: None,
        }
    }
}

/// Why an admin operation did nothing.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No database is configured (`[audit] database = "none"`).
    #[error("the admin API needs a database ([audit] database); none is configured")]
    NoDatabase,
    /// The database failed or did not answer.
    #[error("database: {0}")]
    Database(#[from] DbError),
    /// The caller's role session ended, or its role is gone.
    #[error("{0}")]
    Session(AuthzError),
    /// The session store failed while reading the caller's role session.
    #[error("session store: {0}")]
    Store(AuthzError),
    /// The caller's role session could not be evaluated (a stored session policy that no
    /// longer parses: a bug, not the caller's doing).
    #[error("authorization: {0}")]
    Internal(AuthzError),
    /// The policy engine refused the action.
    #[error("{action} on {resource} is not allowed: {reason}")]
    Refused {
        /// The action.
        action: &'static str,
        /// The resource.
        resource: String,
        /// The engine's explanation.
        reason: String,
    },
    /// No role of that name.
    #[error("no role named \"{0}\"")]
    NotFound(RoleName),
    /// The role is defined in `lanyard.toml`.
    #[error("the role \"{0}\" is managed in lanyard.toml and cannot be changed through the API")]
    ManagedInFile(RoleName),
    /// The document does not validate; every problem with its path.
    #[error("the role is not valid: {}", .0.first().map(ToString::to_string).unwrap_or_default())]
    Invalid(Vec<ConfigError>),
    /// A write without `If-Match` (or, to create, `If-None-Match: *`).
    #[error("{0}")]
    PreconditionRequired(&'static str),
    /// The precondition no longer holds: the role changed (or appeared, or went).
    #[error("the role changed since it was read (its version is now {})", .current.map_or_else(|| "none: it does not exist".to_owned(), |v| v.to_string()))]
    Stale {
        /// The role's version now.
        current: Option<i64>,
    },
}

impl From<WriteError> for AdminError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Stale { current } => AdminError::Stale { current },
            WriteError::Db(e) => AdminError::Database(e),
        }
    }
}

/// Admin operations on this broker's database and audit trail.
#[derive(Clone)]
pub struct Admin {
    db: Option<Arc<Database>>,
    audit: Audit,
    changed: Arc<tokio::sync::Notify>,
}

/// The caller of an admin operation, allowed one action on one resource. Only
/// [`Admin::authorize`] makes one, and every operation takes one and checks that it is for
/// that operation's action and resource, so no operation runs unauthorized.
#[derive(Debug, Clone)]
pub struct Allowed<'a> {
    claims: &'a AccessTokenClaims,
    action: Action,
    resource: String,
}

impl Allowed<'_> {
    /// Who the audit trail and `updated_by` name: the caller's subject.
    fn who(&self) -> String {
        self.claims.sub.to_string()
    }

    /// `Ok` when this allows `action` on `resource`.
    fn covers(&self, action: Action, resource: &str) -> Result<(), AdminError> {
        if self.action == action && self.resource == resource {
            return Ok(());
        }
        Err(AdminError::Refused {
            action: action.as_str(),
            resource: resource.to_owned(),
            reason: format!(
                "the caller was allowed {} on {}, not this",
                self.action.as_str(),
                self.resource
            ),
        })
    }
}

impl Admin {
    /// Admin operations on `db` (none: every operation answers [`AdminError::NoDatabase`]),
    /// recording writes in `audit` and waking `changed` (the catalog poll) after each.
    pub fn new(db: Option<Arc<Database>>, audit: Audit, changed: Arc<tokio::sync::Notify>) -> Self {
        Self { db, audit, changed }
    }

    fn db(&self) -> Result<&Database, AdminError> {
        self.db.as_deref().ok_or(AdminError::NoDatabase)
    }

    /// Whether the caller's role session may perform `action` on `resource`, decided by
    /// the policy engine as `/v1/authorize` decides.
    pub async fn authorize<'a>(
        &self,
        authorizer: &Authorizer<'_>,
        caller: &Caller<'a>,
        action: Action,
        resource: &str,
        now: UnixTime,
    ) -> Result<Allowed<'a>, AdminError> {
        let question = Question {
            action: action.as_str(),
            resource,
            context: None,
        };
        let answer = authorizer
            .decide(caller, &question, now)
            .await
            .map_err(|e| match e {
                AuthzError::SessionEnded | AuthzError::RoleGone => AdminError::Session(e),
                AuthzError::Store(_) => AdminError::Store(e),
                // The question carries no context: a context error is Lanyard's own.
                AuthzError::StoredPolicy(_)
                | AuthzError::Context(_)
                | AuthzError::RefusedKey { .. }
                | AuthzError::InvalidSourceIp => AdminError::Internal(e),
            })?;
        if !answer.decision.outcome.is_allowed() {
            return Err(AdminError::Refused {
                action: action.as_str(),
                resource: resource.to_owned(),
                reason: answer.decision.reason,
            });
        }
        Ok(Allowed {
            claims: caller.claims,
            action,
            resource: resource.to_owned(),
        })
    }

    /// Every role: the file's, then the database's (read now, not the running catalog,
    /// so that a write is seen by the next read at once).
    pub async fn list_roles(
        &self,
        config: &Config,
        caller: &Allowed<'_>,
    ) -> Result<Vec<RoleEntry>, AdminError> {
        caller.covers(Action::ListRoles, ALL_ROLES)?;
        let (_, rows) = self.db()?.entities(EntityKind::Role).await?;
        let mut out: Vec<RoleEntry> = config.roles.iter().map(RoleEntry::of_file).collect();
        out.extend(
            rows.into_iter()
                .filter(|row| !config.roles.iter().any(|r| r.name == row.name))
                .map(RoleEntry::of_row),
        );
        Ok(out)
    }

    /// One role.
    pub async fn role(
        &self,
        config: &Config,
        name: &RoleName,
        caller: &Allowed<'_>,
    ) -> Result<RoleEntry, AdminError> {
        caller.covers(Action::GetRole, &role_resource(name))?;
        if let Some(role) = config.roles.iter().find(|r| r.name == *name) {
            return Ok(RoleEntry::of_file(role));
        }
        let row = self.db()?.entity(EntityKind::Role, name.as_str()).await?;
        row.map(RoleEntry::of_row)
            .ok_or_else(|| AdminError::NotFound(name.clone()))
    }

    /// Creates (`expect` = [`Precondition::Absent`]) or replaces (`expect` = its version)
    /// a database role, after validating `document` (the `[[roles]]` shape as JSON) by the
    /// code `check-config` runs. Records `admin.changed` with the role before and after.
    pub async fn put_role(
        &self,
        config: &Config,
        name: &RoleName,
        document: serde_json::Value,
        expect: Option<Precondition>,
        caller: &Allowed<'_>,
        now_ms: i64,
    ) -> Result<RoleEntry, AdminError> {
        caller.covers(Action::PutRole, &role_resource(name))?;
        if is_file_role(config, name) {
            return Err(AdminError::ManagedInFile(name.clone()));
        }
        role_from_document(name.as_str(), document.clone(), &config.policies)
            .map_err(AdminError::Invalid)?;
        let expect = expect.ok_or(AdminError::PreconditionRequired(
            "a write needs If-Match with the role's ETag, or If-None-Match: * to create it",
        ))?;
        // Kept without `name`: the name is the row's key.
        let mut document = document;
        if let Some(object) = document.as_object_mut() {
            object.remove("name");
        }
        let body = document.to_string();
        let who = caller.who();
        let db = self.db()?;
        let written = db
            .put_entity(EntityKind::Role, name.as_str(), &body, &who, now_ms, expect)
            .await?;
        let after = EntityRow {
            name: name.to_string(),
            body,
            version: written.version,
            updated_at_ms: now_ms,
            updated_by: who,
        };
        self.changed(caller, "put", name, written.before, Some(&after), now_ms)
            .await;
        Ok(RoleEntry::of_row(after))
    }

    /// Deletes a database role at version `expect`. Records `admin.changed` with the role
    /// before (and no after).
    pub async fn delete_role(
        &self,
        config: &Config,
        name: &RoleName,
        expect: Option<i64>,
        caller: &Allowed<'_>,
        now_ms: i64,
    ) -> Result<(), AdminError> {
        caller.covers(Action::DeleteRole, &role_resource(name))?;
        if is_file_role(config, name) {
            return Err(AdminError::ManagedInFile(name.clone()));
        }
        let db = self.db()?;
        let Some(expect) = expect else {
            // Without a precondition, say 404 for a role that is not there at all.
            return match db.entity(EntityKind::Role, name.as_str()).await? {
                None => Err(AdminError::NotFound(name.clone())),
                Some(_) => Err(AdminError::PreconditionRequired(
                    "a delete needs If-Match with the role's ETag",
                )),
            };
        };
        let written = db
            .delete_entity(EntityKind::Role, name.as_str(), expect)
            .await?;
        self.changed(caller, "delete", name, written.before, None, now_ms)
            .await;
        Ok(())
    }

    /// Records the change and wakes this instance's catalog poll.
    async fn changed(
        &self,
        caller: &Allowed<'_>,
        operation: &str,
        name: &RoleName,
        before: Option<EntityRow>,
        after: Option<&EntityRow>,
        now_ms: i64,
    ) {
        self.changed.notify_one();
        let state = |row: Option<&EntityRow>| match row {
            None => serde_json::Value::Null,
            Some(row) => serde_json::json!({
                "version": row.version,
                "document": serde_json::from_str::<serde_json::Value>(&row.body).ok(),
            }),
        };
        let mut event = AuditEvent::new(EventKind::AdminChanged, now_ms);
        event.subject = Some(caller.claims.sub.to_string());
        event.provider = Some(caller.claims.idp.to_string());
        event.role = Some(name.clone());
        event.role_session = Some(caller.claims.sid.clone());
        event.detail = serde_json::json!({
            "kind": EntityKind::Role.as_str(),
            "name": name.as_str(),
            "operation": operation,
            "caller_role": caller.claims.role.as_str(),
            "before": state(before.as_ref()),
            "after": state(after),
        });
        // The write is committed: a trail that cannot keep the event is logged by `note`.
        self.audit.note(event).await;
    }
}

fn is_file_role(config: &Config, name: &RoleName) -> bool {
    config.roles.iter().any(|r| r.name == *name)
}
