//! OpenID clients kept in the database (issue 15): listed, read, created, replaced and
//! deleted like roles (validated by `check-config`'s code, compare-and-set on the version,
//! recorded in the audit trail), with one difference: a confidential client's secret is
//! generated here, by the generator of `lanyard client-secret`
//! ([`crate::op::clients::generate_secret`]), never accepted from the caller. Only its
//! `sha256:` hash is stored ([`StoredClient`]); the secret is handed back once, in the
//! answer to the write that made it, and never again.
//!
//! [`Admin::rotate_client_secret`] makes a new secret; the previous ones keep working until
//! the end of an overlap (24 h by default, at most [`MAX_OVERLAP`], 0 ends them at once). A
//! rotation only ever shortens what an older secret has left. The end is a time stored with
//! the hash and checked by the OpenID provider at each request (no timer).
//!
//! Every write records `admin.changed` in its own transaction ([`super::changes`]) and
//! waits until this instance runs on the catalog it made (`Admin::refreshed`),
//! so the next request through the same instance already uses the client (every other
//! instance takes it up at its next catalog poll).
//!
//! Actions: `lanyard:ListClients` on [`ALL_CLIENTS`]; `lanyard:GetClient`,
//! `lanyard:PutClient`, `lanyard:DeleteClient` and `lanyard:RotateClientSecret` on
//! `arn:lanyard:iam:::client/{id}`.
//!
//! May import: `admin`, `audit`, `catalog`, `clock`, `config`, `db`, `identity`, `op`,
//! `roles`, `secret`. No HTTP types.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::changes::{Actor, Change, ChangeRecord, changed_event, state};
use super::{Action, Admin, AdminError, Allowed, Precondition, Source};
use crate::catalog::Stored;
use crate::catalog::clients::{StoredClient, StoredSecret, is_public};
use crate::clock::UnixTime;
use crate::config::{Config, ConfigError, client_from_document};
use crate::db::{Database, EntityKind, EntityRow, WriteError};
use crate::identity::ClientId;
use crate::op::ClientSettings;
use crate::op::clients::generate_secret;
use crate::roles::client_arn;
use crate::secret::Secret;

/// The resource `lanyard:ListClients` is evaluated on: every client.
pub const ALL_CLIENTS: &str = "arn:lanyard:iam:::client/*";

/// The resource of an action on one client: `arn:lanyard:iam:::client/{id}`.
pub fn client_resource(id: &ClientId) -> String {
    client_arn(id)
}

/// How long the previous secrets keep working after a rotation, unless the caller says.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// The longest overlap a rotation may give.
pub const MAX_OVERLAP: Duration = Duration::from_secs(30 * 24 * 3600);

/// The most secrets a client may have in use at once (the current one and those in their
/// overlap).
pub const MAX_SECRETS: usize = 5;

/// Why an operation on a client did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No client has that id.
    #[error("no client has the id \"{0}\"")]
    NotFound(ClientId),
    /// The client is defined in `lanyard.toml`.
    #[error("the client \"{0}\" is managed in lanyard.toml and cannot be changed through the API")]
    ManagedInFile(ClientId),
    /// The document does not validate; every problem with its path.
    #[error("the client is not valid: {}", .0.first().map(ToString::to_string).unwrap_or_default())]
    Invalid(Vec<ConfigError>),
    /// A rotation of a public client, which has no secret.
    #[error("the client \"{0}\" is public: it has no secret to rotate")]
    Public(ClientId),
    /// A rotation's overlap beyond [`MAX_OVERLAP`].
    #[error("overlap_seconds must be at most {} (30 days)", MAX_OVERLAP.as_secs())]
    OverlapTooLong,
    /// A rotation that would leave more than [`MAX_SECRETS`] secrets in use.
    #[error(
        "the client already has {} secrets in use; rotate with overlap_seconds = 0 to end the \
         previous ones at once, or wait until their overlap ends",
        MAX_SECRETS
    )]
    TooManySecrets,
    /// A write without `If-Match` (or, to create, `If-None-Match: *`).
    #[error("{0}")]
    PreconditionRequired(&'static str),
    /// The precondition no longer holds: the client changed (or appeared, or went).
    #[error("the client changed since it was read (its version is now {})", .current.map_or_else(|| "none: it does not exist".to_owned(), |v| v.to_string()))]
    Stale {
        /// The client's version now.
        current: Option<i64>,
    },
    /// A stored row that cannot be read (written by something else than this module).
    #[error("the stored client cannot be read: {0}")]
    Unreadable(String),
}

/// A write's failure: the client changed, or the database failed.
fn write_error(e: WriteError) -> AdminError {
    match e {
        WriteError::Db(e) => AdminError::Database(e),
        WriteError::Stale { current } => ClientError::Stale { current }.into(),
    }
}

/// When one of a client's secrets was made and when it stops working (never the secret or
/// its hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretTimes {
    /// When it was generated.
    pub created_at: UnixTime,
    /// When it stops working (`None`: until a rotation).
    pub not_after: Option<UnixTime>,
}

/// A client as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientEntry {
    /// Its id.
    pub id: ClientId,
    /// Where it is defined.
    pub source: Source,
    /// The name shown to people (file clients; database clients carry it in `document`).
    pub name: Option<String>,
    /// Whether it is public (no secret).
    pub public: bool,
    /// The grant types it may use (file clients).
    pub grant_types: Vec<&'static str>,
    /// The document as stored (database clients): the `[[clients]]` shape without `id`
    /// and without any secret.
    pub document: Option<Value>,
    /// Its version, the `ETag` (database clients).
    pub version: Option<i64>,
    /// When it was last written, milliseconds since the epoch (database clients).
    pub updated_at_ms: Option<i64>,
    /// Who wrote it last (database clients).
    pub updated_by: Option<String>,
    /// Its secrets' times, oldest first (database clients that are confidential).
    pub secrets: Vec<SecretTimes>,
}

impl ClientEntry {
    fn of_file(client: &ClientSettings) -> Self {
        Self {
            id: client.id.clone(),
            source: Source::File,
            name: Some(client.name.clone()),
            public: matches!(client.auth, crate::op::ClientAuth::Public),
            grant_types: client.grant_types.iter().map(|g| g.as_str()).collect(),
            document: None,
            version: None,
            updated_at_ms: None,
            updated_by: None,
            secrets: Vec::new(),
        }
    }

    fn of_row(row: &EntityRow, now: UnixTime) -> Self {
        // Written by this module; a row that cannot be read is shown without a document.
        let stored = StoredClient::of_row(row).ok();
        let document = stored.as_ref().map(|s| s.document.clone());
        let name = document
            .as_ref()
            .and_then(|d| d.get("name"))
            .and_then(Value::as_str)
            .map(ToOwned::to_owned);
        Self {
            id: ClientId::new(row.name.clone()),
            source: Source::Database,
            name,
            public: document.as_ref().is_some_and(is_public),
            grant_types: Vec::new(),
            document,
            version: Some(row.version),
            updated_at_ms: Some(row.updated_at_ms),
            updated_by: Some(row.updated_by.clone()),
            secrets: stored
                .map(|s| {
                    s.secrets
                        .iter()
                        .filter(|s| s.works_at(now))
                        .map(|s| SecretTimes {
                            created_at: s.created_at,
                            not_after: s.not_after,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// A client written, and the secret generated by the write, if any: shown this once.
#[derive(Debug)]
pub struct ClientWritten {
    /// The client as written.
    pub entry: ClientEntry,
    /// The new secret (a create or a rotation of a confidential client).
    pub secret: Option<Secret>,
}

fn is_file_client(config: &Config, id: &ClientId) -> bool {
    config.clients.iter().any(|c| c.id == *id)
}

impl Admin {
    /// Every client: the file's, then the database's (read now, not the running catalog).
    pub async fn list_clients(
        &self,
        config: &Config,
        caller: &Allowed<'_>,
        now: UnixTime,
    ) -> Result<Vec<ClientEntry>, AdminError> {
        caller.covers(Action::ListClients, ALL_CLIENTS)?;
        let (_, rows) = self.db()?.entities(EntityKind::Client).await?;
        let mut out: Vec<ClientEntry> = config.clients.iter().map(ClientEntry::of_file).collect();
        out.extend(
            rows.iter()
                .filter(|row| !config.clients.iter().any(|c| c.id == row.name))
                .map(|row| ClientEntry::of_row(row, now)),
        );
        Ok(out)
    }

    /// One client.
    pub async fn client(
        &self,
        config: &Config,
        id: &ClientId,
        caller: &Allowed<'_>,
        now: UnixTime,
    ) -> Result<ClientEntry, AdminError> {
        caller.covers(Action::GetClient, &client_resource(id))?;
        if let Some(client) = config.clients.iter().find(|c| c.id == *id) {
            return Ok(ClientEntry::of_file(client));
        }
        let row = self.db()?.entity(EntityKind::Client, id.as_str()).await?;
        row.map(|row| ClientEntry::of_row(&row, now))
            .ok_or_else(|| ClientError::NotFound(id.clone()).into())
    }

    /// Creates (`expect` = [`Precondition::Absent`]) or replaces (`expect` = its version)
    /// a database client, after validating `document` (the `[[clients]]` shape as JSON,
    /// without a secret) by the code `check-config` runs, against the file's roles and
    /// the database's. A confidential client keeps the secrets it has; one that has none
    /// (a create, or a public client made confidential) gets a new one, returned in
    /// [`ClientWritten::secret`]; a public client keeps none. Records `admin.changed`
    /// with the document before and after, and answers once this instance runs on it.
    pub async fn put_client(
        &self,
        config: &Config,
        id: &ClientId,
        document: Value,
        expect: Option<Precondition>,
        caller: &Allowed<'_>,
        now: UnixTime,
    ) -> Result<ClientWritten, AdminError> {
        caller.covers(Action::PutClient, &client_resource(id))?;
        if is_file_client(config, id) {
            return Err(ClientError::ManagedInFile(id.clone()).into());
        }
        let db = self.db()?;
        let before = db.entity(EntityKind::Client, id.as_str()).await?;
        let kept: Vec<StoredSecret> = match &before {
            Some(row) => StoredClient::of_row(row)
                .map_err(ClientError::Unreadable)?
                .secrets
                .into_iter()
                .filter(|s| s.works_at(now))
                .collect(),
            None => Vec::new(),
        };
        let mut new_secret = None;
        let secrets = if is_public(&document) {
            Vec::new()
        } else if kept.is_empty() {
            let (secret, hash) = generate_secret();
            new_secret = Some(secret);
            vec![StoredSecret {
                hash,
                created_at: now,
                not_after: None,
            }]
        } else {
            kept
        };
        let mut stored = StoredClient { document, secrets };
        let generated = stored
            .generated_secrets()
            .map_err(ClientError::Unreadable)?;
        let roles = crate::catalog::roles(config, &Stored::load(db).await?);
        client_from_document(
            id.as_str(),
            stored.document.clone(),
            &generated,
            &roles,
            config.sessions.absolute_timeout,
        )
        .map_err(ClientError::Invalid)?;
        let expect = expect.ok_or(ClientError::PreconditionRequired(
            "a write needs If-Match with the client's ETag, or If-None-Match: * to create it",
        ))?;
        // Kept without `id`: the id is the row's key.
        if let Some(object) = stored.document.as_object_mut() {
            object.remove("id");
        }
        let body = stored.to_body();
        let who = caller.who();
        let now_ms = now.millis();
        let after = |version| EntityRow {
            name: id.to_string(),
            body: body.clone(),
            version,
            updated_at_ms: now_ms,
            updated_by: who.clone(),
        };
        let mut record = ChangeRecord::new(&self.audit, db);
        let written = db
            .put_entity(
                (EntityKind::Client, id.as_str()),
                &body,
                (&who, now_ms),
                expect,
                |written| {
                    let change = Change {
                        kind: EntityKind::Client,
                        name: id.as_str(),
                        operation: "put",
                        before: state(EntityKind::Client, written.before.as_ref()),
                        after: state(EntityKind::Client, Some(&after(written.version))),
                    };
                    let mut extra = Map::new();
                    extra.insert("secret_generated".into(), new_secret.is_some().into());
                    let actor = Actor::Session(caller.claims);
                    record.rows(vec![changed_event(&actor, change, extra, now_ms)])
                },
            )
            .await
            .map_err(write_error)?;
        record.committed().await;
        self.refreshed(written.version).await;
        let after = after(written.version);
        Ok(ClientWritten {
            entry: ClientEntry::of_row(&after, now),
            secret: new_secret,
        })
    }

    /// Deletes a database client at version `expect`: its secrets stop working with it.
    /// Records `admin.changed` with the document before.
    pub async fn delete_client(
        &self,
        config: &Config,
        id: &ClientId,
        expect: Option<i64>,
        caller: &Allowed<'_>,
        now: UnixTime,
    ) -> Result<(), AdminError> {
        caller.covers(Action::DeleteClient, &client_resource(id))?;
        if is_file_client(config, id) {
            return Err(ClientError::ManagedInFile(id.clone()).into());
        }
        let db = self.db()?;
        let Some(expect) = expect else {
            return match db.entity(EntityKind::Client, id.as_str()).await? {
                None => Err(ClientError::NotFound(id.clone()).into()),
                Some(_) => Err(ClientError::PreconditionRequired(
                    "a delete needs If-Match with the client's ETag",
                )
                .into()),
            };
        };
        let now_ms = now.millis();
        let mut record = ChangeRecord::new(&self.audit, db);
        let written = db
            .delete_entity((EntityKind::Client, id.as_str()), expect, |written| {
                let change = Change {
                    kind: EntityKind::Client,
                    name: id.as_str(),
                    operation: "delete",
                    before: state(EntityKind::Client, written.before.as_ref()),
                    after: Value::Null,
                };
                let actor = Actor::Session(caller.claims);
                record.rows(vec![changed_event(&actor, change, Map::new(), now_ms)])
            })
            .await
            .map_err(write_error)?;
        record.committed().await;
        self.refreshed(written.version).await;
        Ok(())
    }

    /// Gives a confidential database client a new secret, returned in
    /// [`ClientWritten::secret`]. Each previous secret keeps working until `overlap` from
    /// now, or until its own end if that is sooner (`None`: [`DEFAULT_OVERLAP`]; zero ends
    /// them at once). With `expect`, only at that version; without, on whatever version
    /// the client is at (a concurrent write is retried). Records `admin.changed` with the
    /// overlap, never a secret or a hash.
    pub async fn rotate_client_secret(
        &self,
        config: &Config,
        id: &ClientId,
        (overlap, expect): (Option<Duration>, Option<i64>),
        caller: &Allowed<'_>,
        now: UnixTime,
    ) -> Result<ClientWritten, AdminError> {
        caller.covers(Action::RotateClientSecret, &client_resource(id))?;
        if is_file_client(config, id) {
            return Err(ClientError::ManagedInFile(id.clone()).into());
        }
        let overlap = overlap.unwrap_or(DEFAULT_OVERLAP);
        if overlap > MAX_OVERLAP {
            return Err(ClientError::OverlapTooLong.into());
        }
        let db = self.db()?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self
                .rotate_once(db, id, (overlap, expect), caller, now)
                .await
            {
                Err(WriteError::Stale { .. }) if expect.is_none() && attempts < 3 => continue,
                Err(e) => return Err(write_error(e)),
                Ok(result) => return result,
            }
        }
    }

    /// One try of [`Admin::rotate_client_secret`]: `Err` when the write found the client
    /// changed (or the database failed), `Ok` with the answer otherwise.
    async fn rotate_once(
        &self,
        db: &Database,
        id: &ClientId,
        (overlap, expect): (Duration, Option<i64>),
        caller: &Allowed<'_>,
        now: UnixTime,
    ) -> Result<Result<ClientWritten, AdminError>, WriteError> {
        let Some(row) = db.entity(EntityKind::Client, id.as_str()).await? else {
            return Ok(Err(ClientError::NotFound(id.clone()).into()));
        };
        if let Some(v) = expect
            && v != row.version
        {
            let current = Some(row.version);
            return Ok(Err(ClientError::Stale { current }.into()));
        }
        let stored = match StoredClient::of_row(&row) {
            Ok(s) => s,
            Err(e) => return Ok(Err(ClientError::Unreadable(e).into())),
        };
        if stored.is_public() {
            return Ok(Err(ClientError::Public(id.clone()).into()));
        }
        let end = now + overlap;
        let mut secrets: Vec<StoredSecret> = stored
            .secrets
            .iter()
            .map(|s| StoredSecret {
                not_after: Some(s.not_after.map_or(end, |e| e.min(end))),
                ..s.clone()
            })
            .filter(|s| s.works_at(now))
            .collect();
        if secrets.len() >= MAX_SECRETS {
            return Ok(Err(ClientError::TooManySecrets.into()));
        }
        let previous_end = secrets.iter().filter_map(|s| s.not_after).max();
        let (secret, hash) = generate_secret();
        secrets.push(StoredSecret {
            hash,
            created_at: now,
            not_after: None,
        });
        let in_use = secrets.len();
        let after = StoredClient {
            document: stored.document,
            secrets,
        };
        let body = after.to_body();
        let who = caller.who();
        let now_ms = now.millis();
        let mut record = ChangeRecord::new(&self.audit, db);
        let written = db
            .put_entity(
                (EntityKind::Client, id.as_str()),
                &body,
                (&who, now_ms),
                Precondition::Version(row.version),
                |written| {
                    let change = Change {
                        kind: EntityKind::Client,
                        name: id.as_str(),
                        operation: "rotate_secret",
                        before: json!({"version": row.version}),
                        after: json!({"version": written.version}),
                    };
                    let extra = json!({
                        "overlap_seconds": overlap.as_secs(),
                        "previous_secrets_end_at": previous_end.map(UnixTime::secs),
                        "secrets_in_use": in_use,
                    });
                    let extra = match extra {
                        Value::Object(extra) => extra,
                        _ => Map::new(),
                    };
                    let actor = Actor::Session(caller.claims);
                    record.rows(vec![changed_event(&actor, change, extra, now_ms)])
                },
            )
            .await?;
        record.committed().await;
        self.refreshed(written.version).await;
        let after = EntityRow {
            name: id.to_string(),
            body,
            version: written.version,
            updated_at_ms: now_ms,
            updated_by: who,
        };
        Ok(Ok(ClientWritten {
            entry: ClientEntry::of_row(&after, now),
            secret: Some(secret),
        }))
    }
}
