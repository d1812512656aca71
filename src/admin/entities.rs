//! Providers and managed policies kept in the database (issue 15), and the one write path
//! every entity of the admin catalog takes (roles too): the precondition is required, the
//! document is validated by `check-config`'s code before anything is written, the write
//! is compare-and-set on the entity's version, the audit trail records `admin.changed`
//! with the entity before and after in the write's own transaction ([`super::changes`]),
//! and the write answers once this instance serves a catalog that holds it
//! (read-your-writes; the others take it up at their next poll).
//!
//! A provider's secrets (an OpenID Connect or GitHub `client_secret`, an LDAP
//! `bind_password`: [`PROVIDER_SECRET_FIELDS`]) are kept in the database and never leave
//! it through the API or the audit trail: they read as [`REDACTED`], and a write that sends
//! [`REDACTED`] back keeps the stored secret.
//!
//! Deleting a managed policy that a database role still names is refused ([`AdminError::
//! InUse`], naming the roles): the role would silently drop out of the catalog. Deleting a
//! provider is not refused even when trust policies name it: removing a provider is how
//! an admin cuts an identity provider off at once, and a trust policy naming a provider
//! that is gone admits nobody. The answer names the roles whose trust policies could admit
//! identities of that provider, so the admin can tidy them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lanyard_policy::Policy;
use serde_json::{Map, Value};

use super::changes::{Actor, Change, ChangeRecord, changed_event, shown, state};
use super::{
    ALL_POLICIES, ALL_PROVIDERS, Action, Admin, AdminError, Allowed, Entity, Precondition, Source,
    policy_resource, provider_resource,
};
use crate::catalog::SpKeyError;
use crate::config::{
    Config, ConfigError, PROVIDER_SECRET_FIELDS, policy_from_document, provider_from_document,
};
use crate::db::{EntityKind, EntityRow, WriteError};
use crate::identity::{ProviderId, ProviderKind, RoleName};
use crate::roles::{RoleCatalog, could_trust_provider};

/// What the API shows in place of a stored secret; sent back in a write, it keeps the
/// stored secret.
pub const REDACTED: &str = "********";

/// How long a write waits for this instance to serve the catalog that holds it.
const READ_YOUR_WRITES: Duration = Duration::from_secs(2);

/// The precondition a write needs.
pub(super) fn required(expect: Option<Precondition>) -> Result<Precondition, AdminError> {
    expect.ok_or(AdminError::PreconditionRequired(
        "a write needs If-Match with the ETag read, or If-None-Match: * to create",
    ))
}

/// `document` without its `key` (`name`, `id`): the key is the row's.
pub(super) fn without_key(mut document: Value, key: &str) -> Value {
    if let Some(object) = document.as_object_mut() {
        object.remove(key);
    }
    document
}

impl Admin {
    /// The policies a role may name now: the file's and the database's (read now, so that
    /// a policy written a moment ago may be named at once).
    pub(super) async fn policies_now(
        &self,
        config: &Config,
    ) -> Result<BTreeMap<String, Arc<Policy>>, AdminError> {
        let (_, rows) = self.db()?.entities(EntityKind::Policy).await?;
        let stored = crate::catalog::Stored {
            policies: rows.into(),
            ..Default::default()
        };
        Ok(crate::catalog::policies(config, &stored))
    }

    /// Writes `document` (validated by the caller) as `entity` when `expect` holds, with
    /// its `admin.changed` event in the same transaction, and waits for the catalog to hold
    /// it.
    pub(super) async fn write(
        &self,
        entity: &Entity,
        document: Value,
        expect: Precondition,
        caller: &Allowed<'_>,
        now_ms: i64,
    ) -> Result<EntityRow, AdminError> {
        let body = document.to_string();
        let who = caller.who();
        let db = self.db()?;
        let mut record = ChangeRecord::new(&self.audit, db);
        let after = |version| EntityRow {
            name: entity.name.clone(),
            body: body.clone(),
            version,
            updated_at_ms: now_ms,
            updated_by: who.clone(),
        };
        let written = db
            .put_entity(
                (entity.kind, &entity.name),
                &body,
                (&who, now_ms),
                expect,
                |written| {
                    let change = Change {
                        kind: entity.kind,
                        name: &entity.name,
                        operation: "put",
                        before: state(entity.kind, written.before.as_ref()),
                        after: state(entity.kind, Some(&after(written.version))),
                    };
                    let actor = Actor::Session(caller.claims);
                    record.rows(vec![changed_event(&actor, change, Map::new(), now_ms)])
                },
            )
            .await
            .map_err(|e| stale(entity.kind, e))?;
        record.committed().await;
        self.refreshed(written.version).await;
        Ok(after(written.version))
    }

    /// Deletes `entity` at version `expect`, with its `admin.changed` event in the same
    /// transaction, and waits for the catalog to drop it. Without a precondition: 404 for
    /// an entity that is not there at all, 428 otherwise. Gives the row deleted.
    pub(super) async fn remove(
        &self,
        entity: &Entity,
        expect: Option<i64>,
        caller: &Allowed<'_>,
        now_ms: i64,
    ) -> Result<EntityRow, AdminError> {
        let db = self.db()?;
        let Some(expect) = expect else {
            return match db.entity(entity.kind, &entity.name).await? {
                None => Err(AdminError::NotFound(entity.clone())),
                Some(_) => Err(AdminError::PreconditionRequired(
                    "a delete needs If-Match with the ETag read",
                )),
            };
        };
        let mut record = ChangeRecord::new(&self.audit, db);
        let written = db
            .delete_entity((entity.kind, &entity.name), expect, |written| {
                let change = Change {
                    kind: entity.kind,
                    name: &entity.name,
                    operation: "delete",
                    before: state(entity.kind, written.before.as_ref()),
                    after: Value::Null,
                };
                let actor = Actor::Session(caller.claims);
                record.rows(vec![changed_event(&actor, change, Map::new(), now_ms)])
            })
            .await
            .map_err(|e| stale(entity.kind, e))?;
        record.committed().await;
        self.refreshed(written.version).await;
        // A committed delete had a row at `expect`.
        written.before.ok_or(AdminError::Stale {
            kind: entity.kind,
            current: None,
        })
    }

    /// Wakes this instance's catalog poll and waits until it serves `version` or newer.
    pub(super) async fn refreshed(&self, version: i64) {
        self.changed.request();
        if !self.changed.until_applied(version, READ_YOUR_WRITES).await {
            tracing::warn!(
                catalog_version = version,
                "the admin catalog was not reloaded within 2 s of a write; it takes effect at the next poll"
            );
        }
    }
}

fn stale(kind: EntityKind, e: WriteError) -> AdminError {
    match e {
        WriteError::Stale { current } => AdminError::Stale { kind, current },
        WriteError::Db(e) => AdminError::Database(e),
    }
}

/// A provider as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderEntry {
    /// The provider's id.
    pub id: ProviderId,
    /// Where it is defined.
    pub source: Source,
    /// Its kind (`oidc`, `saml`, …).
    pub kind: String,
    /// The name the sign-in page shows.
    pub display_name: String,
    /// The document as stored, secrets [`REDACTED`] (database providers; the
    /// `[[providers]]` shape without `id`).
    pub document: Option<Value>,
    /// Its version, the `ETag` (database providers).
    pub version: Option<i64>,
    /// When it was last written, milliseconds since the epoch (database providers).
    pub updated_at_ms: Option<i64>,
    /// Who wrote it last (database providers).
    pub updated_by: Option<String>,
}

impl ProviderEntry {
    fn of_file(id: &ProviderId, kind: ProviderKind, display_name: &str) -> Self {
        Self {
            id: id.clone(),
            source: Source::File,
            kind: kind.as_str().to_owned(),
            display_name: display_name.to_owned(),
            document: None,
            version: None,
            updated_at_ms: None,
            updated_by: None,
        }
    }

    fn of_row(row: EntityRow) -> Self {
        let document = shown(EntityKind::Provider, &row.body);
        let text = |key: &str| {
            document
                .as_ref()
                .and_then(|d| d.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Self {
            kind: text("kind").unwrap_or_default(),
            display_name: text("display_name").unwrap_or_else(|| row.name.clone()),
            id: ProviderId::new(row.name),
            source: Source::Database,
            document,
            version: Some(row.version),
            updated_at_ms: Some(row.updated_at_ms),
            updated_by: Some(row.updated_by),
        }
    }
}

/// A managed policy as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyEntry {
    /// The policy's name.
    pub name: String,
    /// Where it is defined.
    pub source: Source,
    /// How many statements it has (file policies; database policies show `document`).
    pub statements: Option<usize>,
    /// The document as stored (database policies; the `[[policies]]` shape without
    /// `name`: `{"document": {...}}`).
    pub document: Option<Value>,
    /// Its version, the `ETag` (database policies).
    pub version: Option<i64>,
    /// When it was last written, milliseconds since the epoch (database policies).
    pub updated_at_ms: Option<i64>,
    /// Who wrote it last (database policies).
    pub updated_by: Option<String>,
}

impl PolicyEntry {
    fn of_file(name: &str, policy: &Policy) -> Self {
        Self {
            name: name.to_owned(),
            source: Source::File,
            statements: Some(policy.statement_count()),
            document: None,
            version: None,
            updated_at_ms: None,
            updated_by: None,
        }
    }

    fn of_row(row: EntityRow) -> Self {
        Self {
            document: shown(EntityKind::Policy, &row.body),
            name: row.name,
            source: Source::Database,
            statements: None,
            version: Some(row.version),
            updated_at_ms: Some(row.updated_at_ms),
            updated_by: Some(row.updated_by),
        }
    }
}

/// What deleting a provider leaves behind.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderDeleted {
    /// The provider deleted.
    pub id: ProviderId,
    /// The roles whose trust policies could admit identities of that provider: they
    /// admit nobody through it any more; edit them when the provider is gone for good.
    pub trusted_by: Vec<RoleName>,
}

fn is_file_provider(config: &Config, id: &ProviderId) -> bool {
    config.providers.iter().any(|p| p.id == *id)
}

impl Admin {
    /// Every provider: the file's, then the database's (read now).
    pub async fn list_providers(
        &self,
        config: &Config,
        caller: &Allowed<'_>,
    ) -> Result<Vec<ProviderEntry>, AdminError> {
        caller.covers(Action::ListProviders, ALL_PROVIDERS)?;
        let (_, rows) = self.db()?.entities(EntityKind::Provider).await?;
        let mut out: Vec<ProviderEntry> = (config.providers.iter())
            .map(|p| ProviderEntry::of_file(&p.id, p.kind(), &p.display_name))
            .collect();
        out.extend(
            rows.into_iter()
                .filter(|row| !config.providers.iter().any(|p| p.id.as_str() == row.name))
                .map(ProviderEntry::of_row),
        );
        Ok(out)
    }

    /// One provider.
    pub async fn provider(
        &self,
        config: &Config,
        id: &ProviderId,
        caller: &Allowed<'_>,
    ) -> Result<ProviderEntry, AdminError> {
        caller.covers(Action::GetProvider, &provider_resource(id.as_str()))?;
        if let Some(p) = config.providers.iter().find(|p| p.id == *id) {
            return Ok(ProviderEntry::of_file(&p.id, p.kind(), &p.display_name));
        }
        let row = self.db()?.entity(EntityKind::Provider, id.as_str()).await?;
        row.map(ProviderEntry::of_row)
            .ok_or_else(|| AdminError::NotFound(provider_entity(id)))
    }

    /// Creates (`expect` = [`Precondition::Absent`]) or replaces (`expect` = its version)
    /// a database provider, after validating `document` (the `[[providers]]` shape as
    /// JSON; a secret sent as [`REDACTED`] is the stored one) by the code `check-config`
    /// runs. Records `admin.changed` with the provider before and after, secrets redacted;
    /// answers once this instance's connectors include it.
    pub async fn put_provider(
        &self,
        config: &Config,
        id: &ProviderId,
        document: Value,
        expect: Option<Precondition>,
        caller: &Allowed<'_>,
        now_ms: i64,
    ) -> Result<ProviderEntry, AdminError> {
        caller.covers(Action::PutProvider, &provider_resource(id.as_str()))?;
        let entity = provider_entity(id);
        if is_file_provider(config, id) {
            return Err(AdminError::ManagedInFile(entity));
        }
        let expect = required(expect)?;
        let document = self.keep_secrets(&entity, document, expect).await?;
        let provider =
            provider_from_document(id.as_str(), document.clone(), &config.server.public_url)
                .map_err(|e| AdminError::Invalid(EntityKind::Provider, e))?;
        if provider.kind() == ProviderKind::Saml {
            // Its SP key pair first, so that the catalog taking the write up only reads it.
            crate::catalog::keep_sp_key(self.db()?, id.as_str(), now_ms)
                .await
                .map_err(|e| match e {
                    SpKeyError::Database(e) => AdminError::Database(e),
                    SpKeyError::Generate(e) => AdminError::KeyGeneration(e),
                })?;
        }
        let after = self
            .write(&entity, without_key(document, "id"), expect, caller, now_ms)
            .await?;
        Ok(ProviderEntry::of_row(after))
    }

    /// `document` with every secret sent as [`REDACTED`] replaced by the one stored at the
    /// version `expect` names.
    async fn keep_secrets(
        &self,
        entity: &Entity,
        mut document: Value,
        expect: Precondition,
    ) -> Result<Value, AdminError> {
        let Some(object) = document.as_object_mut() else {
            return Ok(document);
        };
        let marked: Vec<&str> = PROVIDER_SECRET_FIELDS
            .iter()
            .copied()
            .filter(|f| object.get(*f).and_then(Value::as_str) == Some(REDACTED))
            .collect();
        if marked.is_empty() {
            return Ok(document);
        }
        let stored = match expect {
            Precondition::Absent => None,
            Precondition::Version(v) => {
                let row = self.db()?.entity(entity.kind, &entity.name).await?;
                match row {
                    Some(row) if row.version == v => Some(row),
                    other => {
                        return Err(AdminError::Stale {
                            kind: entity.kind,
                            current: other.map(|r| r.version),
                        });
                    }
                }
            }
        };
        let stored: Option<Value> = stored.and_then(|row| serde_json::from_str(&row.body).ok());
        for field in marked {
            let kept = stored
                .as_ref()
                .and_then(|d| d.get(field))
                .filter(|v| v.is_string())
                .cloned();
            match kept {
                Some(secret) => {
                    object.insert(field.to_owned(), secret);
                }
                None => {
                    return Err(AdminError::Invalid(
                        EntityKind::Provider,
                        vec![ConfigError {
                            path: field.to_owned(),
                            line: None,
                            message: format!(
                                "is \"{REDACTED}\", which keeps the stored secret, but none is \
                                 stored: give the secret"
                            ),
                        }],
                    ));
                }
            }
        }
        Ok(document)
    }

    /// Deletes a database provider at version `expect`. Sign-ins through it stop on this
    /// instance when this answers, on the others within two polls; the answer names the
    /// roles of `roles` (the running catalog) whose trust policies could admit it.
    pub async fn delete_provider(
        &self,
        (config, roles): (&Config, &RoleCatalog),
        id: &ProviderId,
        expect: Option<i64>,
        caller: &Allowed<'_>,
        now_ms: i64,
    ) -> Result<ProviderDeleted, AdminError> {
        caller.covers(Action::DeleteProvider, &provider_resource(id.as_str()))?;
        let entity = provider_entity(id);
        if is_file_provider(config, id) {
            return Err(AdminError::ManagedInFile(entity));
        }
        self.remove(&entity, expect, caller, now_ms).await?;
        let trusted_by = roles
            .all()
            .iter()
            .filter(|r| could_trust_provider(r, id.as_str()))
            .map(|r| r.name.clone())
            .collect();
        Ok(ProviderDeleted {
            id: id.clone(),
            trusted_by,
        })
    }

    /// Every managed policy: the file's, then the database's (read now).
    pub async fn list_policies(
        &self,
        config: &Config,
        caller: &Allowed<'_>,
    ) -> Result<Vec<PolicyEntry>, AdminError> {
        caller.covers(Action::ListPolicies, ALL_POLICIES)?;
        let (_, rows) = self.db()?.entities(EntityKind::Policy).await?;
        let mut out: Vec<PolicyEntry> = (config.policies.iter())
            .map(|(name, p)| PolicyEntry::of_file(name, p))
            .collect();
        out.extend(
            rows.into_iter()
                .filter(|row| !config.policies.contains_key(&row.name))
                .map(PolicyEntry::of_row),
        );
        Ok(out)
    }

    /// One managed policy.
    pub async fn policy(
        &self,
        config: &Config,
        name: &str,
        caller: &Allowed<'_>,
    ) -> Result<PolicyEntry, AdminError> {
        caller.covers(Action::GetPolicy, &policy_resource(name))?;
        if let Some(p) = config.policies.get(name) {
            return Ok(PolicyEntry::of_file(name, p));
        }
        let row = self.db()?.entity(EntityKind::Policy, name).await?;
        row.map(PolicyEntry::of_row)
            .ok_or_else(|| AdminError::NotFound(policy_entity(name)))
    }

    /// Creates (`expect` = [`Precondition::Absent`]) or replaces (`expect` = its version)
    /// a database policy, after validating `document` (the `[[policies]]` shape as JSON:
    /// `{"document": {...}}`) by the code `check-config` runs. Roles naming it take the new
    /// version up with the catalog.
    pub async fn put_policy(
        &self,
        config: &Config,
        name: &str,
        document: Value,
        expect: Option<Precondition>,
        caller: &Allowed<'_>,
        now_ms: i64,
    ) -> Result<PolicyEntry, AdminError> {
        caller.covers(Action::PutPolicy, &policy_resource(name))?;
        let entity = policy_entity(name);
        if config.policies.contains_key(name) {
            return Err(AdminError::ManagedInFile(entity));
        }
        policy_from_document(name, document.clone())
            .map_err(|e| AdminError::Invalid(EntityKind::Policy, e))?;
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
        Ok(PolicyEntry::of_row(after))
    }

    /// Deletes a database policy at version `expect`; refused ([`AdminError::InUse`]) while
    /// a database role names it (in `permission_policies` or as `permissions_boundary`).
    /// The file's roles cannot name it: `check-config` holds them to the file's policies.
    pub async fn delete_policy(
        &self,
        config: &Config,
        name: &str,
        expect: Option<i64>,
        caller: &Allowed<'_>,
        now_ms: i64,
    ) -> Result<(), AdminError> {
        caller.covers(Action::DeletePolicy, &policy_resource(name))?;
        let entity = policy_entity(name);
        if config.policies.contains_key(name) {
            return Err(AdminError::ManagedInFile(entity));
        }
        let (_, roles) = self.db()?.entities(EntityKind::Role).await?;
        let by: Vec<String> = roles
            .into_iter()
            .filter(|row| role_names_policy(row, name))
            .map(|row| row.name)
            .collect();
        if !by.is_empty() {
            return Err(AdminError::InUse {
                entity,
                by_kind: EntityKind::Role,
                by,
            });
        }
        self.remove(&entity, expect, caller, now_ms).await.map(drop)
    }
}

fn provider_entity(id: &ProviderId) -> Entity {
    Entity {
        kind: EntityKind::Provider,
        name: id.to_string(),
    }
}

fn policy_entity(name: &str) -> Entity {
    Entity {
        kind: EntityKind::Policy,
        name: name.to_owned(),
    }
}

/// Whether a stored role names the policy `name` (`permission_policies`,
/// `permissions_boundary`).
fn role_names_policy(row: &EntityRow, name: &str) -> bool {
    let Ok(document) = serde_json::from_str::<Value>(&row.body) else {
        return false;
    };
    let listed = document
        .get("permission_policies")
        .and_then(Value::as_array)
        .is_some_and(|names| names.iter().any(|n| n.as_str() == Some(name)));
    listed || document.get("permissions_boundary").and_then(Value::as_str) == Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_names_a_policy_by_permission_policies_or_boundary() {
        let row = |body: &str| EntityRow {
            name: "r".into(),
            body: body.into(),
            version: 1,
            updated_at_ms: 0,
            updated_by: String::new(),
        };
        assert!(role_names_policy(
            &row(r#"{"permission_policies":["a","b"]}"#),
            "b"
        ));
        assert!(role_names_policy(
            &row(r#"{"permissions_boundary":"b"}"#),
            "b"
        ));
        assert!(!role_names_policy(
            &row(r#"{"permission_policies":["ab"]}"#),
            "b"
        ));
        assert!(!role_names_policy(&row("not json"), "b"));
    }
}
