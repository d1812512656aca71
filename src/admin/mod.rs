//! Admin operations (issue 15, first slice: roles): reading and writing the roles kept in
//! the database, each write validated by `check-config`'s code, compare-and-set on the
//! entity's version, recorded in the audit trail with the entity before and after, and
//! then taken up by every instance's catalog poll ([`crate::reload::Reloader::watch_catalog`]).
//!
//! Who may do what is Lanyard's own IAM: every operation is an action (`lanyard:PutRole`)
//! on a resource (`arn:lanyard:iam:::role/{name}`) that the caller's role session must be
//! allowed by the policy engine, evaluated as `/v1/authorize` evaluates ([`Authorizer`]).
//!
//! Second slice: the tools that answer "who gets which role, and why" — the recorded
//! sign-ins (`[admin] record_claims`, [`Admin::recent_sign_ins`]), the trust simulator
//! ([`Admin::simulate`]), the impact of a candidate role ([`Admin::impact`]) and the audit
//! trail ([`Admin::audit_events`]). The simulator asks the trust question through
//! [`RoleCatalog::explain`], the code the role picker's [`RoleCatalog::eligible`] runs, so
//! it cannot drift from a real sign-in.
//!
//! Fourth slice ([`entities`]): providers and managed policies kept in the database, the
//! same way as roles, through one entity write path (precondition, validation, write with
//! its audit event in one transaction, catalog refresh) that the roles use too; the event
//! is built by [`changes`], which `lanyard apply` uses as well. Clients kept in the database,
//! with secrets Lanyard generates, shows once and rotates with an overlap: [`clients`].
//!
//! May import: `access`, `audit`, `authz`, `catalog`, `clock`, `config`, `db`, `identity`,
//! `op` (client settings and the secret generator), `roles`, `secret`.
//! The providers' claim mapping reaches the simulator as a [`ClaimsMapper`] (the broker's
//! connectors, handed in by `web`). No HTTP types.

pub mod changes;
pub mod clients;
pub mod entities;
pub mod sessions;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::access::AccessTokenClaims;
use crate::audit::{Audit, AuditEvent, AuditQuery, EventKind};
use crate::authz::{Authorizer, AuthzError, Caller, Question};
use crate::catalog::Refresh;
use crate::clock::UnixTime;
use crate::config::{Config, ConfigError, role_from_document};
use crate::db::{Database, DbError, EntityRow};

pub use crate::db::{EntityKind, Precondition};
use crate::identity::{ExternalIdentity, ProviderId, RoleName};
use crate::roles::{RequestFacts, Role, RoleCatalog, TrustExplanation, explain_roles, role_arn};
use entities::{required, without_key};

/// An admin action, as named in policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// List the SSO sessions and their role sessions (resource [`sessions::ALL_SESSIONS`]).
    ListSessions,
    /// End a session, a person's sessions or a role's role sessions.
    RevokeSessions,
    /// List the roles (resource [`ALL_ROLES`]).
    ListRoles,
    /// Read one role.
    GetRole,
    /// Create or replace a role.
    PutRole,
    /// Delete a role.
    DeleteRole,
    /// Read a provider's recorded sign-ins (resource [`provider_resource`]).
    ListRecentSignIns,
    /// Simulate trust: every role ([`ALL_ROLES`]) or one, and the impact of a candidate
    /// role.
    SimulateTrust,
    /// Read the audit trail (resource [`AUDIT`]).
    ListAuditEvents,
    /// List the OpenID clients (resource [`clients::ALL_CLIENTS`]).
    ListClients,
    /// Read one client.
    GetClient,
    /// Create or replace a client.
    PutClient,
    /// Delete a client.
    DeleteClient,
    /// Give a client a new secret.
    RotateClientSecret,
    /// List the providers (resource [`ALL_PROVIDERS`]).
    ListProviders,
    /// Read one provider (resource [`provider_resource`]).
    GetProvider,
    /// Create or replace a provider.
    PutProvider,
    /// Delete a provider.
    DeleteProvider,
    /// List the managed policies (resource [`ALL_POLICIES`]).
    ListPolicies,
    /// Read one managed policy (resource [`policy_resource`]).
    GetPolicy,
    /// Create or replace a managed policy.
    PutPolicy,
    /// Delete a managed policy.
    DeletePolicy,
    /// Fetch and describe an identity provider's metadata or discovery document before
    /// adding it (resource [`ALL_PROVIDERS`]).
    InspectProvider,
    /// Run a test sign-in through a provider (resource [`provider_resource`]).
    TestSignIn,
}

impl Action {
    /// The action's name in a policy (`lanyard:PutRole`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ListSessions => "lanyard:ListSessions",
            Action::RevokeSessions => "lanyard:RevokeSessions",
            Action::ListRoles => "lanyard:ListRoles",
            Action::GetRole => "lanyard:GetRole",
            Action::PutRole => "lanyard:PutRole",
            Action::DeleteRole => "lanyard:DeleteRole",
            Action::ListRecentSignIns => "lanyard:ListRecentSignIns",
            Action::SimulateTrust => "lanyard:SimulateTrust",
            Action::ListAuditEvents => "lanyard:ListAuditEvents",
            Action::ListClients => "lanyard:ListClients",
            Action::GetClient => "lanyard:GetClient",
            Action::PutClient => "lanyard:PutClient",
            Action::DeleteClient => "lanyard:DeleteClient",
            Action::RotateClientSecret => "lanyard:RotateClientSecret",
            Action::ListProviders => "lanyard:ListProviders",
            Action::GetProvider => "lanyard:GetProvider",
            Action::PutProvider => "lanyard:PutProvider",
            Action::DeleteProvider => "lanyard:DeleteProvider",
            Action::ListPolicies => "lanyard:ListPolicies",
            Action::GetPolicy => "lanyard:GetPolicy",
            Action::PutPolicy => "lanyard:PutPolicy",
            Action::DeletePolicy => "lanyard:DeletePolicy",
            Action::InspectProvider => "lanyard:InspectProvider",
            Action::TestSignIn => "lanyard:TestSignIn",
        }
    }
}

/// The resource `lanyard:ListRoles` is evaluated on: every role.
pub const ALL_ROLES: &str = "arn:lanyard:iam:::role/*";

/// The resource of an action on one role: `arn:lanyard:iam:::role/{name}`.
pub fn role_resource(name: &str) -> String {
    role_arn(name)
}

/// The resource of the audit trail.
pub const AUDIT: &str = "arn:lanyard:iam:::audit";

/// The resource of an action on one provider: `arn:lanyard:iam:::provider/{id}`.
pub fn provider_resource(id: &str) -> String {
    format!("arn:lanyard:iam:::provider/{id}")
}

/// The resource `lanyard:ListProviders` is evaluated on: every provider.
pub const ALL_PROVIDERS: &str = "arn:lanyard:iam:::provider/*";

/// The resource `lanyard:ListPolicies` is evaluated on: every managed policy.
pub const ALL_POLICIES: &str = "arn:lanyard:iam:::policy/*";

/// The resource of an action on one managed policy: `arn:lanyard:iam:::policy/{name}`.
pub fn policy_resource(name: &str) -> String {
    format!("arn:lanyard:iam:::policy/{name}")
}

/// The most audit events one page holds.
pub const MAX_AUDIT_PAGE: u32 = 1000;

/// Where a role, provider or policy is defined.
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
    /// A SAML provider's SP key pair could not be generated.
    #[error("{0}")]
    KeyGeneration(String),
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
    /// The session store failed (a listing or revocation of sessions).
    #[error("session store: {0}")]
    SessionStore(crate::sso::SsoError),
    /// No live SSO session has that handle.
    #[error("no live session has that id")]
    SessionNotFound,
    /// No entity of that kind and name.
    #[error("no {} named \"{}\"", .0.kind.as_str(), .0.name)]
    NotFound(Entity),
    /// The entity is defined in `lanyard.toml`.
    #[error("the {} \"{}\" is managed in lanyard.toml and cannot be changed through the API", .0.kind.as_str(), .0.name)]
    ManagedInFile(Entity),
    /// The document does not validate; every problem with its path.
    #[error("the {} is not valid: {}", .0.as_str(), .1.first().map(ToString::to_string).unwrap_or_default())]
    Invalid(EntityKind, Vec<ConfigError>),
    /// Other entities still name this one (a policy named by roles): nothing changed.
    #[error("the {} \"{}\" is still named by these {}s: {}; change them first", .entity.kind.as_str(), .entity.name, .by_kind.as_str(), .by.join(", "))]
    InUse {
        /// The entity to delete.
        entity: Entity,
        /// What kind of entity names it.
        by_kind: EntityKind,
        /// The names of those that name it.
        by: Vec<String>,
    },
    /// A write without `If-Match` (or, to create, `If-None-Match: *`).
    #[error("{0}")]
    PreconditionRequired(&'static str),
    /// The simulator's claims source is not usable (no such recorded sign-in, not a JWT,
    /// no such provider, claims the provider would not map).
    #[error("{message}")]
    Claims {
        /// The field at fault (`recorded_sign_in`, `claims`, `jwt`, `provider`).
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The audit trail could not be read.
    #[error("audit trail: {0}")]
    Audit(String),
    /// An operation on a client refused ([`clients`]).
    #[error("{0}")]
    Client(#[from] clients::ClientError),
    /// The precondition no longer holds: the entity changed (or appeared, or went).
    #[error("the {} changed since it was read (its version is now {})", .kind.as_str(), .current.map_or_else(|| "none: it does not exist".to_owned(), |v| v.to_string()))]
    Stale {
        /// What kind of entity.
        kind: EntityKind,
        /// The entity's version now.
        current: Option<i64>,
    },
}

/// One entity of the admin catalog: its kind and its name (a provider's id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// Its kind.
    pub kind: EntityKind,
    /// Its name, unique within its kind.
    pub name: String,
}

impl Entity {
    /// The role `name`.
    pub fn role(name: &RoleName) -> Self {
        Self {
            kind: EntityKind::Role,
            name: name.to_string(),
        }
    }
}

/// Admin operations on this broker's database and audit trail.
#[derive(Clone)]
pub struct Admin {
    db: Option<Arc<Database>>,
    audit: Audit,
    changed: Arc<Refresh>,
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
    /// recording writes in `audit` and refreshing the catalog through `changed` after each.
    pub fn new(db: Option<Arc<Database>>, audit: Audit, changed: Arc<Refresh>) -> Self {
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
            let mut event = AuditEvent::new(EventKind::AdminRefused, now.millis());
            changes::Actor::Session(caller.claims).stamp(&mut event);
            event.role = Some(caller.claims.role.clone());
            event.source_ip = caller.ip.map(|ip| ip.to_string());
            event.reason = Some(answer.decision.reason.clone());
            event.detail = serde_json::json!({
                "action": action.as_str(),
                "resource": resource,
            });
            self.audit.note(event).await;
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
            .ok_or_else(|| AdminError::NotFound(Entity::role(name)))
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
        let entity = Entity::role(name);
        if is_file_role(config, name) {
            return Err(AdminError::ManagedInFile(entity));
        }
        let policies = self.policies_now(config).await?;
        role_from_document(name.as_str(), document.clone(), &policies)
            .map_err(|e| AdminError::Invalid(EntityKind::Role, e))?;
        let expect = required(expect)?;
        let after = self
            .write(
                &entity,
                without_key(document, "name"),
                expect,
                caller,
                now_ms,
            )
            .await?;
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
        let entity = Entity::role(name);
        if is_file_role(config, name) {
            return Err(AdminError::ManagedInFile(entity));
        }
        self.remove(&entity, expect, caller, now_ms).await.map(drop)
    }
}

fn is_file_role(config: &Config, name: &RoleName) -> bool {
    config.roles.iter().any(|r| r.name == *name)
}

/// A recorded sign-in: the identity as the provider gave it, when.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedSignIn {
    /// Its id, for the simulator.
    pub id: String,
    /// When, milliseconds since the epoch.
    pub time_ms: i64,
    /// The normalized identity with its raw claims.
    pub identity: ExternalIdentity,
}

/// Where the simulator takes the identity from.
#[derive(Debug, Clone)]
pub enum ClaimsSource {
    /// A recorded sign-in, by id.
    Recorded(String),
    /// Claims pasted as a JSON object, for a provider.
    Claims {
        /// The provider the claims are from.
        provider: String,
        /// The claims.
        claims: Map<String, Value>,
    },
    /// An upstream JWT, decoded WITHOUT verifying it (only a source of claims); its
    /// provider named, or found by its `iss`.
    Jwt {
        /// The provider, when named.
        provider: Option<String>,
        /// The compact JWT.
        token: String,
    },
    /// A SAML response (base64 as posted, or its XML), read WITHOUT verifying it (only a
    /// source of attributes); its provider named, or found by its `Issuer`.
    Saml {
        /// The provider, when named.
        provider: Option<String>,
        /// The pasted response.
        response: String,
    },
}

/// How the simulator turns claims nobody verified into an identity: the providers' own
/// mapping, implemented by the broker's connectors (see `web::admin`).
pub trait ClaimsMapper: Sync {
    /// The identity provider `provider` would make of `claims`; `None` when no provider
    /// has that id, `Err` (a sentence) when the provider would refuse them.
    fn identity(
        &self,
        provider: &str,
        claims: &Map<String, Value>,
        now: UnixTime,
    ) -> Option<Result<ExternalIdentity, String>>;

    /// The provider whose issuer is `iss`, if any.
    fn provider_of_issuer(&self, iss: &str) -> Option<String>;

    /// The identity a SAML provider would make of a pasted, unverified SAML response: the
    /// provider named, or the SAML provider whose IdP entity id is the response's
    /// `Issuer`; with that provider's id. `Err` (a sentence) when the response cannot be
    /// read or no SAML provider fits.
    fn saml_identity(
        &self,
        provider: Option<&str>,
        response: &str,
        now: UnixTime,
    ) -> Result<ExternalIdentity, String>;
}

/// What the simulator says is not verified about its identity.
pub const UNVERIFIED_JWT: &str = "the JWT was decoded without verifying its signature, \
    issuer, audience or expiry: its claims are only a source for this simulation and \
    prove nothing";

/// What the simulator says is not verified about a pasted SAML response.
pub const UNVERIFIED_SAML: &str = "the SAML response was read without verifying its \
    signature, issuer, audience, times or replay: its attributes are only a source for this \
    simulation and prove nothing";

/// The simulator's answer.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The identity simulated.
    pub identity: ExternalIdentity,
    /// A warning about the claims source (an unverified JWT).
    pub warning: Option<&'static str>,
    /// Every role (or the one asked for), in catalog order, explained.
    pub roles: Vec<TrustExplanation>,
}

/// How a candidate role changes one recorded identity's access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Offered with the candidate, not with the role as it is.
    Gains,
    /// Offered with the role as it is, not with the candidate.
    Loses,
}

/// One recorded identity whose access the candidate changes.
#[derive(Debug, Clone, PartialEq)]
pub struct ImpactEntry {
    /// The recorded sign-in.
    pub recorded: RecordedSignIn,
    /// Gains or loses the role.
    pub change: Change,
}

/// A page of the audit trail.
#[derive(Debug, Clone)]
pub struct AuditPage {
    /// The events, newest first.
    pub events: Vec<AuditEvent>,
    /// The cursor of the next page, when this one is full.
    pub next_cursor: Option<String>,
}

impl Admin {
    /// The recorded sign-ins of `provider` still kept (`[admin] record_claims_days`),
    /// newest first.
    pub async fn recent_sign_ins(
        &self,
        config: &Config,
        provider: &str,
        caller: &Allowed<'_>,
        now_ms: i64,
    ) -> Result<Vec<RecordedSignIn>, AdminError> {
        caller.covers(Action::ListRecentSignIns, &provider_resource(provider))?;
        self.recorded(config, Some(provider), now_ms).await
    }

    async fn recorded(
        &self,
        config: &Config,
        provider: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<RecordedSignIn>, AdminError> {
        let since = config.admin.oldest_kept_ms(now_ms);
        let rows = self.db()?.recorded_sign_ins(provider, since).await?;
        Ok(rows.into_iter().filter_map(recorded_of_row).collect())
    }

    /// Every role's trust decision (or `only`'s) for the identity of `source`, explained
    /// statement by statement, as a sign-in with `facts` would meet it.
    pub async fn simulate(
        &self,
        config: &Config,
        (roles, connectors): (&RoleCatalog, &dyn ClaimsMapper),
        source: ClaimsSource,
        only: Option<&RoleName>,
        caller: &Allowed<'_>,
        facts: &RequestFacts,
    ) -> Result<Simulation, AdminError> {
        let resource = only.map_or_else(|| ALL_ROLES.to_owned(), |r| role_resource(r));
        caller.covers(Action::SimulateTrust, &resource)?;
        if let Some(name) = only
            && roles.get(name.as_str()).is_none()
        {
            return Err(AdminError::NotFound(Entity::role(name)));
        }
        let (identity, warning) = self.identity_of(config, connectors, source, facts).await?;
        let explained = roles.explain(&identity, facts, only.map(RoleName::as_str));
        Ok(Simulation {
            identity,
            warning,
            roles: explained,
        })
    }

    async fn identity_of(
        &self,
        config: &Config,
        connectors: &dyn ClaimsMapper,
        source: ClaimsSource,
        facts: &RequestFacts,
    ) -> Result<(ExternalIdentity, Option<&'static str>), AdminError> {
        let now_ms = facts.now.secs().saturating_mul(1000);
        let (provider, claims, warning) = match source {
            ClaimsSource::Recorded(id) => {
                let since = config.admin.oldest_kept_ms(now_ms);
                let row = self.db()?.recorded_sign_in(&id, since).await?;
                let recorded = row.and_then(recorded_of_row).ok_or(AdminError::Claims {
                    field: "recorded_sign_in",
                    message: "no recorded sign-in has this id (or it has expired)".to_owned(),
                })?;
                return Ok((recorded.identity, None));
            }
            ClaimsSource::Claims { provider, claims } => (provider, claims, None),
            ClaimsSource::Jwt { provider, token } => {
                let claims = unverified_jwt_claims(&token)?;
                let provider = match provider {
                    Some(p) => p,
                    None => claims
                        .get("iss")
                        .and_then(Value::as_str)
                        .and_then(|iss| connectors.provider_of_issuer(iss))
                        .ok_or(AdminError::Claims {
                            field: "provider",
                            message: "no OpenID Connect provider has the JWT's issuer; name \
                                      the provider"
                                .to_owned(),
                        })?,
                };
                (provider, claims, Some(UNVERIFIED_JWT))
            }
            ClaimsSource::Saml { provider, response } => {
                let identity = connectors
                    .saml_identity(provider.as_deref(), &response, facts.now)
                    .map_err(|message| AdminError::Claims {
                        field: "saml_response",
                        message,
                    })?;
                return Ok((identity, Some(UNVERIFIED_SAML)));
            }
        };
        let identity = connectors
            .identity(&provider, &claims, facts.now)
            .ok_or_else(|| AdminError::Claims {
                field: "provider",
                message: format!(
                    "no provider has the id \"{}\"",
                    provider.chars().take(64).collect::<String>()
                ),
            })?
            .map_err(|e| AdminError::Claims {
                field: "claims",
                message: format!("the provider would not sign these claims in: {e}"),
            })?;
        Ok((identity, warning))
    }

    /// Which recorded identities would gain or lose the role `name` if its document were
    /// `document` (validated as [`Admin::put_role`] validates), compared with the role as
    /// it is now (a role that does not exist yet is offered to nobody).
    pub async fn impact(
        &self,
        config: &Config,
        roles: &RoleCatalog,
        (name, document): (&RoleName, Value),
        caller: &Allowed<'_>,
        facts: &RequestFacts,
    ) -> Result<Vec<ImpactEntry>, AdminError> {
        caller.covers(Action::SimulateTrust, &role_resource(name))?;
        if is_file_role(config, name) {
            return Err(AdminError::ManagedInFile(Entity::role(name)));
        }
        let policies = self.policies_now(config).await?;
        let candidate = role_from_document(name.as_str(), document, &policies)
            .map_err(|e| AdminError::Invalid(EntityKind::Role, e))?;
        let candidate = [Arc::new(candidate)];
        let current = roles.get(name.as_str()).map(|r| [Arc::clone(r)]);
        let now_ms = facts.now.secs().saturating_mul(1000);
        let mut out = Vec::new();
        for recorded in self.recorded(config, None, now_ms).await? {
            let offered = |list: &[Arc<Role>]| {
                explain_roles(list, &recorded.identity, facts, None)
                    .iter()
                    .any(TrustExplanation::offered)
            };
            let before = current.as_ref().is_some_and(|c| offered(c));
            let after = offered(&candidate);
            let change = match (before, after) {
                (false, true) => Change::Gains,
                (true, false) => Change::Loses,
                _ => continue,
            };
            out.push(ImpactEntry { recorded, change });
        }
        Ok(out)
    }

    /// The last successful and the last failed sign-in through `provider` (a provider's
    /// health), from the audit trail; test sign-ins count too. Needs the permission the
    /// caller was allowed for the page that shows it (`covered`).
    pub async fn last_sign_ins(
        &self,
        provider: &str,
        caller: &Allowed<'_>,
        covered: (Action, &str),
    ) -> Result<(Option<AuditEvent>, Option<AuditEvent>), AdminError> {
        caller.covers(covered.0, covered.1)?;
        let last = |event| AuditQuery {
            provider: Some(provider.to_owned()),
            event: Some(event),
            limit: 1,
            ..AuditQuery::default()
        };
        let db = self.db()?;
        let read = |e: crate::audit::AuditError| AdminError::Audit(e.to_string());
        let ok = crate::audit::query(db, &last(EventKind::SignInSucceeded))
            .await
            .map_err(read)?;
        let failed = crate::audit::query(db, &last(EventKind::SignInFailed))
            .await
            .map_err(read)?;
        Ok((ok.into_iter().next(), failed.into_iter().next()))
    }

    /// A page of the audit trail matching `query` (its `limit` at most
    /// [`MAX_AUDIT_PAGE`]), newest first, with the cursor of the next page.
    pub async fn audit_events(
        &self,
        query: &AuditQuery,
        caller: &Allowed<'_>,
    ) -> Result<AuditPage, AdminError> {
        caller.covers(Action::ListAuditEvents, AUDIT)?;
        let query = AuditQuery {
            limit: query.limit.clamp(1, MAX_AUDIT_PAGE),
            ..query.clone()
        };
        let events = crate::audit::query(self.db()?, &query)
            .await
            .map_err(|e| AdminError::Audit(e.to_string()))?;
        let next_cursor = (events.len() == query.limit as usize)
            .then(|| events.last().map(AuditQuery::cursor_of))
            .flatten();
        Ok(AuditPage {
            events,
            next_cursor,
        })
    }
}

fn recorded_of_row(row: crate::db::RecordedRow) -> Option<RecordedSignIn> {
    match serde_json::from_str::<ExternalIdentity>(&row.identity) {
        Ok(identity) => Some(RecordedSignIn {
            id: row.id,
            time_ms: row.time_ms,
            identity,
        }),
        Err(e) => {
            tracing::warn!(id = %row.id, error = %e, "a recorded sign-in cannot be read; skipped");
            None
        }
    }
}

/// The claims of a compact JWT (JWS), decoded WITHOUT verifying anything: only for the
/// simulator, which says so in its answer.
fn unverified_jwt_claims(token: &str) -> Result<Map<String, Value>, AdminError> {
    use base64::Engine as _;
    let bad = |why: &str| AdminError::Claims {
        field: "jwt",
        message: format!("not a JWT: {why}"),
    };
    let mut parts = token.trim().split('.');
    let (Some(_header), Some(payload)) = (parts.next(), parts.next()) else {
        return Err(bad("expected header.payload.signature"));
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| bad("the payload is not base64url"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(claims)) => Ok(claims),
        _ => Err(bad("the payload is not a JSON object")),
    }
}

/// The provider id a path names, if it is one (so that a resource ARN is never built from
/// arbitrary text).
pub fn provider_id(text: &str) -> Option<ProviderId> {
    ProviderId::is_valid(text).then(|| ProviderId::new(text))
}
