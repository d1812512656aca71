//! `lanyard export` and `lanyard apply`: the entities admins keep in the database (managed
//! policies, providers, roles and clients written through the admin API or console) as
//! TOML in the shapes of `lanyard.toml`, and back, so that a team can keep its trust
//! configuration in git.
//!
//! `export` writes every database entity as a `[[policies]]`, `[[providers]]`, `[[roles]]`
//! or `[[clients]]` entry, kind by kind in that order, each kind in the order of names;
//! each entry is accepted by `check-config` in a `lanyard.toml`, since both read it with the
//! same code. Secrets never leave the database in clear:
//! - a provider's `client_secret` / `bind_password` is written as `"********"`
//!   ([`REDACTED`], the admin API's marker);
//! - a client's secrets are only ever stored as `sha256:` hashes of 256-bit generated
//!   secrets (a hash of such a secret reveals nothing usable): `secret_hash` is the hash of
//!   its current secret (the newest that no rotation has given an end). Secrets still in
//!   the overlap of a rotation are not written.
//!
//! `apply FILE` makes the database match the file, declaratively: an entity of the file
//! that the database lacks is created, one that differs is replaced, and a database entity
//! the file does not name is deleted (every kind alike, so a file names every entity the
//! database should keep; `export` writes such a file). Secrets in the file:
//! - a provider's secret as `"********"` keeps the stored one (the API's rule); a new
//!   provider, or one with no such secret stored, is refused. `"${ENV_NAME}"` is read from
//!   the environment of `lanyard apply` itself, when it runs, and the value is stored (the
//!   server never reads its environment for a database provider). A secret written in the
//!   file itself is stored too, with a warning (keep secrets out of git).
//! - a client's `secret_hash` must be the `sha256:` hash of a generated secret
//!   (`lanyard client-secret` prints both); a secret (`client_secret`, or a `secret_hash`
//!   that is not such a hash) is refused. The hash the client's current secret already has
//!   changes nothing and keeps every stored secret as it is, those in a rotation's overlap
//!   included; another hash replaces them all (the previous secrets stop working at once).
//!
//! Every entry is validated first by the code `check-config` runs (every problem printed
//! with its path; nothing is written while one remains): roles against the file's and
//! `lanyard.toml`'s policies, clients against their roles. A name `lanyard.toml` defines is
//! refused (the file's entry wins there). The plan is printed as a diff, secrets shown as
//! `********` (and `******** (changed)` where the file changes one); `--dry-run` stops
//! there. The writes then go in one transaction under the versions the plan read, so a
//! change made meanwhile (through the API, or another `apply`) makes this one change
//! nothing and say so; a second run of the same file changes nothing and records nothing.
//! Each write is an `admin.changed` audit event, built as the API builds it
//! ([`crate::admin::changes`]) and inserted in the same transaction; every instance takes
//! the new catalog up within 2 seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use lanyard_policy::Policy;
use serde_json::{Map, Value};

use crate::admin::changes::{Actor, Change, ChangeRecord, changed_event, shown, state};
use crate::admin::entities::REDACTED;
use crate::audit::Audit;
use crate::catalog::clients::{StoredClient, StoredSecret, is_public};
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::config::{
    Config, PROVIDER_SECRET_FIELDS, client_from_document, policy_from_document,
    provider_from_document, role_from_document,
};
use crate::db::{BatchError, BatchWrite, Database, EntityKind, EntityRow, Precondition};
use crate::op::clients::fast_hash_digest;
use crate::roles::Role;

/// A kind of entity the two commands handle: its array of tables in `lanyard.toml` and
/// the field that names an entry there.
#[derive(Debug)]
struct Kind {
    entity: EntityKind,
    /// `roles`.
    table: &'static str,
    /// `name`.
    key: &'static str,
    /// `role`, as the diff names one.
    label: &'static str,
}

/// Every kind, in the order they are validated and written (a role names policies, a
/// client names roles).
const KINDS: &[Kind] = &[
    Kind {
        entity: EntityKind::Policy,
        table: "policies",
        key: "name",
        label: "policy",
    },
    Kind {
        entity: EntityKind::Provider,
        table: "providers",
        key: "id",
        label: "provider",
    },
    Kind {
        entity: EntityKind::Role,
        table: "roles",
        key: "name",
        label: "role",
    },
    Kind {
        entity: EntityKind::Client,
        table: "clients",
        key: "id",
        label: "client",
    },
];

impl Kind {
    /// Whether `lanyard.toml` defines an entity of this kind named `name`.
    fn in_file(&self, config: &Config, name: &str) -> bool {
        match self.entity {
            EntityKind::Role => config.roles.iter().any(|r| r.name.as_str() == name),
            EntityKind::Policy => config.policies.contains_key(name),
            EntityKind::Provider => config.providers.iter().any(|p| p.id.as_str() == name),
            EntityKind::Client => config.clients.iter().any(|c| c.id.as_str() == name),
        }
    }
}

/// `lanyard export`: prints (or writes to `output`) the database's entities as TOML.
pub fn export(config: &Path, output: Option<&Path>) -> ExitCode {
    let result = (|| -> Result<String, String> {
        let config = load(config)?;
        let (version, stored) = with_database(&config, |_, db| async move { read_all(&db).await })?;
        let mut root = toml::Table::new();
        for (kind, rows) in KINDS.iter().zip(stored) {
            let mut entries = Vec::new();
            for row in rows {
                entries.push(toml::Value::Table(entry(kind, &row)?));
            }
            if !entries.is_empty() {
                root.insert(kind.table.to_owned(), toml::Value::Array(entries));
            }
        }
        let body = toml::to_string(&root).map_err(|e| format!("cannot write TOML: {e}"))?;
        Ok(format!(
            "# Lanyard entities exported from the database at catalog version {version}.\n\
             # `lanyard apply` this file to make a database match it. Provider secrets read\n\
             # \"{REDACTED}\" (apply keeps the stored one) or may be given as \"${{ENV_NAME}}\".\n\n{body}"
        ))
    })();
    match result {
        Ok(text) => match output {
            Some(path) => match std::fs::write(path, text) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("lanyard: cannot write {}: {e}", path.display());
                    ExitCode::from(1)
                }
            },
            None => {
                print!("{text}");
                ExitCode::SUCCESS
            }
        },
        Err(e) => {
            eprintln!("lanyard: {e}");
            ExitCode::from(1)
        }
    }
}

/// One stored row as a table of `kind`: its key and its document as the file holds it
/// ([`file_document`]), `null` members left out.
fn entry(kind: &Kind, row: &EntityRow) -> Result<toml::Table, String> {
    let mut table = toml::Table::new();
    table.insert(kind.key.to_owned(), toml::Value::String(row.name.clone()));
    for (field, value) in file_document(kind, row)? {
        if field == kind.key || value.is_null() {
            continue;
        }
        let value = toml::Value::try_from(&value).map_err(|e| {
            format!(
                "{} {:?}: field {field} cannot be written as TOML: {e}",
                kind.label, row.name
            )
        })?;
        table.insert(field, value);
    }
    Ok(table)
}

/// A stored row as the file holds it (without its key): a provider's secrets as
/// [`REDACTED`], a client's document with the hash of its current secret as `secret_hash`.
fn file_document(kind: &Kind, row: &EntityRow) -> Result<Map<String, Value>, String> {
    let unreadable =
        |why: &str| format!("{} {:?}: the stored document {why}", kind.label, row.name);
    let document = match kind.entity {
        EntityKind::Client => {
            let stored = StoredClient::of_row(row)
                .map_err(|e| format!("{} {:?}: {e}", kind.label, row.name))?;
            let mut document = stored.document.clone();
            if let (Some(object), Some(current)) =
                (document.as_object_mut(), current_secret(&stored.secrets))
            {
                object.insert("secret_hash".into(), Value::from(current.hash.clone()));
            }
            document
        }
        _ => shown(kind.entity, &row.body).ok_or_else(|| unreadable("is not JSON"))?,
    };
    match document {
        Value::Object(fields) => Ok(fields),
        _ => Err(unreadable("is not an object")),
    }
}

/// The secret an export names: the current one (the newest with no end set), or else the
/// newest.
fn current_secret(secrets: &[StoredSecret]) -> Option<&StoredSecret> {
    (secrets.iter().rev())
        .find(|s| s.not_after.is_none())
        .or(secrets.last())
}

/// One entry of the file: where it is, its name, and its fields without the name.
#[derive(Debug, Clone)]
struct FileEntry {
    /// `roles[2]`.
    at: String,
    name: String,
    document: Map<String, Value>,
}

/// An entity as the file wants it: the row body to write, and what the diff shows of it.
#[derive(Clone)]
struct Desired {
    body: Value,
    shown: Value,
}

impl std::fmt::Debug for Desired {
    // The body may hold a provider's secrets: only what the diff shows.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desired")
            .field("shown", &self.shown)
            .finish_non_exhaustive()
    }
}

/// What `apply` changes of one entity.
#[derive(Debug, Clone)]
enum Step {
    /// Create it.
    Create(Desired),
    /// Replace the stored row.
    Replace(EntityRow, Desired),
    /// Delete the stored row.
    Delete(EntityRow),
}

/// The changes that make the database match a file, by kind and name.
#[derive(Debug, Default)]
struct Plan {
    steps: Vec<(&'static Kind, String, Step)>,
}

/// `lanyard apply FILE`: makes the database match `file` (or, with `dry_run`, only says
/// what that would change).
pub fn apply(config: &Path, file: &Path, dry_run: bool) -> ExitCode {
    let result = (|| {
        let config = load(config)?;
        let (entries, mut problems) = read_file(&config, file)?;
        let config = &config;
        with_database(config, |audit, db| async move {
            let (version, stored) = read_all(&db).await?;
            let env = |name: &str| std::env::var(name).ok();
            let now = SystemClock.now();
            let resolved = desired(config, &entries, &stored, (&env, now));
            problems.extend(resolved.problems);
            if !problems.is_empty() {
                return Err(format!(
                    "{} is not applied (nothing was written):\n  {}",
                    file.display(),
                    problems.join("\n  ")
                ));
            }
            for warning in &resolved.warnings {
                eprintln!("lanyard: warning: {warning}");
            }
            let plan = plan(&resolved.entities, stored);
            print!("{}", describe(&plan));
            if plan.steps.is_empty() {
                println!("The database already matches {}.", file.display());
                return Ok(());
            }
            if dry_run {
                println!(
                    "{} change(s) at catalog version {version}; nothing written (--dry-run).",
                    plan.steps.len()
                );
                return Ok(());
            }
            write(&audit, &db, &plan, &user()).await
        })
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lanyard: {e}");
            ExitCode::from(1)
        }
    }
}

fn load(path: &Path) -> Result<Config, String> {
    Config::load(path).map_err(|e| e.to_string())
}

/// Runs `f` on the configured audit trail and its database (where the entities live) in a
/// runtime of its own, then closes the database.
fn with_database<T, F, Fut>(config: &Config, f: F) -> Result<T, String>
where
    F: FnOnce(Audit, Arc<Database>) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let runtime = super::local_runtime()?;
    runtime.block_on(async {
        // Inside the runtime: the database pool starts its maintenance task when opened.
        let audit = Audit::from_settings(&config.audit).map_err(|e| e.to_string())?;
        let db = audit.database().cloned().ok_or_else(|| {
            "no database is configured ([audit] database = \"none\"); the entities admins \
             manage live there"
                .to_owned()
        })?;
        let out = f(audit, Arc::clone(&db)).await;
        db.close().await;
        out
    })
}

/// The catalog version and every stored entity, per kind of [`KINDS`].
async fn read_all(db: &Database) -> Result<(i64, Vec<Vec<EntityRow>>), String> {
    let mut version = None;
    let mut all = Vec::new();
    for kind in KINDS {
        let (v, rows) = db
            .entities(kind.entity)
            .await
            .map_err(|e| format!("cannot read the database: {e}"))?;
        version.get_or_insert(v);
        all.push(rows);
    }
    Ok((version.unwrap_or_default(), all))
}

/// The entries of `file`, per kind of [`KINDS`], and the problems of their shape (an
/// unknown table, an entry without its name, a name of `lanyard.toml`, a name twice); `Err`
/// when the file cannot be read as TOML at all.
fn read_file(config: &Config, file: &Path) -> Result<(Vec<Vec<FileEntry>>, Vec<String>), String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let root: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{} is not valid TOML: {e}", file.display()))?;
    Ok(entries(config, &root))
}

/// The entries of a file's `root` table, per kind, and the problems of their shape.
fn entries(config: &Config, root: &toml::Table) -> (Vec<Vec<FileEntry>>, Vec<String>) {
    let known: Vec<&str> = KINDS.iter().map(|k| k.table).collect();
    let mut problems = Vec::new();
    for key in root.keys() {
        if !known.contains(&key.as_str()) {
            problems.push(format!(
                "{key}: not an entity admins keep in the database (apply takes {})",
                known
                    .iter()
                    .map(|t| format!("[[{t}]]"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let mut out = Vec::new();
    for kind in KINDS {
        let mut entries: Vec<FileEntry> = Vec::new();
        let items = match root.get(kind.table) {
            None => &Vec::new(),
            Some(toml::Value::Array(items)) => items,
            Some(_) => {
                problems.push(format!("{}: must be an array of tables", kind.table));
                out.push(entries);
                continue;
            }
        };
        for (i, item) in items.iter().enumerate() {
            let at = format!("{}[{i}]", kind.table);
            let mut document = match serde_json::to_value(item) {
                Ok(Value::Object(fields)) => fields,
                _ => {
                    problems.push(format!("{at}: must be a table"));
                    continue;
                }
            };
            let Some(Value::String(name)) = document.remove(kind.key) else {
                problems.push(format!("{at}.{}: missing (a string)", kind.key));
                continue;
            };
            if kind.in_file(config, &name) {
                problems.push(format!(
                    "{at}: {} {name:?} is managed in lanyard.toml; remove it from one of the two",
                    kind.label
                ));
                continue;
            }
            if entries.iter().any(|e| e.name == name) {
                problems.push(format!("{at}: a second entry named {name:?}"));
                continue;
            }
            entries.push(FileEntry { at, name, document });
        }
        out.push(entries);
    }
    (out, problems)
}

/// The file's entities resolved and validated: per kind of [`KINDS`], by name.
#[derive(Debug, Default)]
struct Resolved {
    entities: Vec<BTreeMap<String, Desired>>,
    /// Every problem, with its place: nothing is written while one remains.
    problems: Vec<String>,
    /// Things worth saying that do not stop the apply (a secret written in the file).
    warnings: Vec<String>,
}

/// Reads an environment variable (of `lanyard apply` itself).
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The file's `entries` as the rows to write, each validated by the code `check-config`
/// runs: secrets resolved against `stored` (a provider's marker) and `env` (a provider's
/// `${ENV}`), a client's new secret hash dated `now`.
fn desired(
    config: &Config,
    entries: &[Vec<FileEntry>],
    stored: &[Vec<EntityRow>],
    (env, now): (Env<'_>, UnixTime),
) -> Resolved {
    let mut out = Resolved::default();
    // What roles may name, and clients: the file's (lanyard.toml) and this file's.
    let mut policies: BTreeMap<String, Arc<Policy>> = config.policies.clone();
    let mut roles: Vec<Role> = config.roles.clone();
    for ((kind, entries), rows) in KINDS.iter().zip(entries).zip(stored) {
        let mut wanted = BTreeMap::new();
        for entry in entries {
            let row = rows.iter().find(|r| r.name == entry.name);
            let located = |problem: String| format!("{} ({}): {problem}", entry.at, entry.name);
            let document = Value::Object(entry.document.clone());
            let resolved = match kind.entity {
                EntityKind::Policy => match policy_from_document(&entry.name, document.clone()) {
                    Ok(policy) => {
                        policies.insert(entry.name.clone(), policy);
                        Ok(Desired {
                            shown: document.clone(),
                            body: document,
                        })
                    }
                    Err(errors) => Err(errors.iter().map(ToString::to_string).collect()),
                },
                EntityKind::Role => {
                    match role_from_document(&entry.name, document.clone(), &policies) {
                        Ok(role) => {
                            roles.push(role);
                            Ok(Desired {
                                shown: document.clone(),
                                body: document,
                            })
                        }
                        Err(errors) => Err(errors.iter().map(ToString::to_string).collect()),
                    }
                }
                EntityKind::Provider => {
                    let public_url = &config.server.public_url;
                    provider(public_url, entry, row, env, &mut out.warnings)
                }
                EntityKind::Client => client(config, entry, row, &roles, now),
            };
            match resolved {
                Ok(desired) => {
                    wanted.insert(entry.name.clone(), desired);
                }
                Err(problems) => out.problems.extend(problems.into_iter().map(located)),
            }
        }
        out.entities.push(wanted);
    }
    out
}

/// `${NAME}`: the name of the environment variable a secret refers to.
fn env_reference(value: &str) -> Option<&str> {
    let name = value.strip_prefix("${")?.strip_suffix('}')?;
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// A provider of the file as its row: each secret given as [`REDACTED`] taken from
/// `stored`, each `${ENV}` read from `env`; then validated as the admin API validates one.
fn provider(
    public_url: &url::Url,
    entry: &FileEntry,
    stored: Option<&EntityRow>,
    env: Env<'_>,
    warnings: &mut Vec<String>,
) -> Result<Desired, Vec<String>> {
    let kept: Option<Map<String, Value>> = stored.and_then(|r| serde_json::from_str(&r.body).ok());
    let mut document = entry.document.clone();
    let mut problems = Vec::new();
    for field in PROVIDER_SECRET_FIELDS {
        let Some(Value::String(text)) = document.get(*field) else {
            continue;
        };
        let value = if text == REDACTED {
            match kept
                .as_ref()
                .and_then(|k| k.get(*field))
                .filter(|v| v.is_string())
            {
                Some(secret) => secret.clone(),
                None => {
                    let why = if stored.is_none() {
                        "the provider is new"
                    } else {
                        "none is stored"
                    };
                    problems.push(format!(
                        "{field}: is \"{REDACTED}\", which keeps the stored secret, but {why}: \
                         give the secret as \"${{ENV_NAME}}\", read from the environment of \
                         lanyard apply"
                    ));
                    continue;
                }
            }
        } else if let Some(name) = env_reference(text) {
            match env(name).filter(|v| !v.is_empty()) {
                Some(secret) => Value::from(secret),
                None => {
                    problems.push(format!(
                        "{field}: environment variable {name} is not set (or empty) in the \
                         environment of lanyard apply"
                    ));
                    continue;
                }
            }
        } else {
            warnings.push(format!(
                "{}.{field} is written in the file itself; keep secrets out of git: give \
                 \"${{ENV_NAME}}\" and set it when you run lanyard apply",
                entry.at
            ));
            continue;
        };
        document.insert((*field).to_owned(), value);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let body = Value::Object(document);
    provider_from_document(&entry.name, body.clone(), public_url)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let shown = shown_provider(&body, kept.as_ref());
    Ok(Desired { body, shown })
}

/// A provider's row as the diff shows it: each secret as [`REDACTED`], marked
/// `(changed)` where it differs from `kept`'s.
fn shown_provider(body: &Value, kept: Option<&Map<String, Value>>) -> Value {
    let mut shown = body.clone();
    if let Some(object) = shown.as_object_mut() {
        for field in PROVIDER_SECRET_FIELDS {
            let Some(value) = object.get_mut(*field) else {
                continue;
            };
            let same = kept.and_then(|k| k.get(*field)) == Some(&*value);
            *value = if same || kept.is_none() {
                Value::from(REDACTED)
            } else {
                Value::from(format!("{REDACTED} (changed)"))
            };
        }
    }
    shown
}

/// A client of the file as its row: the document without `secret_hash`, and the secrets
/// that hash names (the stored ones, when it is the current secret's hash; otherwise that
/// one alone, dated `now`); validated as the admin API validates one, against `roles`.
fn client(
    config: &Config,
    entry: &FileEntry,
    stored: Option<&EntityRow>,
    roles: &[Role],
    now: UnixTime,
) -> Result<Desired, Vec<String>> {
    let mut document = entry.document.clone();
    if document.contains_key("client_secret") {
        return Err(vec![
            "client_secret: a client's secret is never written in the file: give secret_hash, \
             the sha256: hash of a generated secret (`lanyard client-secret` prints both)"
                .to_owned(),
        ]);
    }
    let hash = document.remove("secret_hash");
    let stored = stored.and_then(|r| StoredClient::of_row(r).ok());
    let secrets = match hash {
        None if !is_public(&Value::Object(document.clone())) => {
            return Err(vec![
                "secret_hash: is required for a confidential client (or set public = true): \
                 the sha256: hash of a generated secret (`lanyard client-secret`)"
                    .to_owned(),
            ]);
        }
        None => Vec::new(),
        Some(Value::String(hash)) if fast_hash_digest(&hash).is_some() => match stored {
            Some(s) if current_secret(&s.secrets).is_some_and(|c| c.hash == hash) => s.secrets,
            _ => vec![StoredSecret {
                hash,
                created_at: now,
                not_after: None,
            }],
        },
        Some(Value::String(hash)) if hash.starts_with("$argon2id$") => {
            return Err(vec![
                "secret_hash: an argon2id hash is for a client of lanyard.toml; a client in \
                 the database authenticates with generated secrets: give the sha256: hash \
                 `lanyard client-secret` prints"
                    .to_owned(),
            ]);
        }
        Some(_) => {
            return Err(vec![
                "secret_hash: must be the sha256: hash of a generated secret \
                 (`lanyard client-secret`), never a secret itself"
                    .to_owned(),
            ]);
        }
    };
    let client = StoredClient {
        document: Value::Object(document),
        secrets,
    };
    let generated = client.generated_secrets().map_err(|e| vec![e])?;
    client_from_document(
        &entry.name,
        client.document.clone(),
        &generated,
        roles,
        config.sessions.absolute_timeout,
    )
    .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let body = serde_json::to_value(&client).map_err(|e| vec![e.to_string()])?;
    Ok(Desired {
        body,
        shown: Value::Object(entry.document.clone()),
    })
}

/// `value` without `null` members, at every depth (a `null` member counts as absent, and
/// an export leaves it out).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Whether the stored row already holds `desired`.
fn holds(row: &EntityRow, desired: &Desired) -> bool {
    serde_json::from_str::<Value>(&row.body)
        .is_ok_and(|stored| without_nulls(stored) == without_nulls(desired.body.clone()))
}

/// The steps from `stored` to `desired`, kind by kind, in the order of names.
fn plan(desired: &[BTreeMap<String, Desired>], stored: Vec<Vec<EntityRow>>) -> Plan {
    let mut plan = Plan::default();
    for ((kind, want), have) in KINDS.iter().zip(desired).zip(stored) {
        let mut have: BTreeMap<String, EntityRow> =
            have.into_iter().map(|r| (r.name.clone(), r)).collect();
        let names: BTreeSet<String> = want.keys().chain(have.keys()).cloned().collect();
        for name in names {
            let step = match (want.get(&name), have.remove(&name)) {
                (Some(doc), None) => Step::Create(doc.clone()),
                (Some(doc), Some(row)) if holds(&row, doc) => continue,
                (Some(doc), Some(row)) => Step::Replace(row, doc.clone()),
                (None, Some(row)) => Step::Delete(row),
                (None, None) => continue,
            };
            plan.steps.push((kind, name, step));
        }
    }
    plan
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(&without_nulls(value.clone())).unwrap_or_default()
}

/// A stored row as the diff shows it: as the file would hold it (secrets redacted).
fn stored_pretty(kind: &Kind, row: &EntityRow) -> String {
    match file_document(kind, row) {
        Ok(document) => pretty(&Value::Object(document)),
        Err(e) => e,
    }
}

/// The plan as a person reads it: `+` creates, `-` deletes, `~` replaces with a unified
/// diff of the documents. No secret is shown.
fn describe(plan: &Plan) -> String {
    let mut out = String::new();
    for (kind, name, step) in &plan.steps {
        let label = kind.label;
        match step {
            Step::Create(desired) => {
                let _ = writeln!(out, "+ {label} {name}");
                for line in pretty(&desired.shown).lines() {
                    let _ = writeln!(out, "+   {line}");
                }
            }
            Step::Delete(row) => {
                let _ = writeln!(out, "- {label} {name} (version {})", row.version);
            }
            Step::Replace(row, desired) => {
                let _ = writeln!(out, "~ {label} {name} (version {})", row.version);
                let (old, new) = (stored_pretty(kind, row), pretty(&desired.shown));
                let diff = similar::TextDiff::from_lines(&old, &new);
                for hunk in diff.unified_diff().context_radius(2).iter_hunks() {
                    for line in hunk.to_string().lines() {
                        let _ = writeln!(out, "    {line}");
                    }
                }
                if old == new {
                    // Only what the diff does not show changed: the secrets kept with a
                    // client (a rotation's overlap) or stored values it redacts.
                    let _ = writeln!(out, "    (stored state not shown here changes)");
                }
            }
        }
    }
    out
}

/// The operating-system user `apply` writes as.
fn user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Writes `plan` in one transaction with its `admin.changed` events, as `user`.
async fn write(audit: &Audit, db: &Database, plan: &Plan, user: &str) -> Result<(), String> {
    let bodies: Vec<Option<String>> = plan
        .steps
        .iter()
        .map(|(_, _, step)| match step {
            Step::Create(desired) | Step::Replace(_, desired) => Some(desired.body.to_string()),
            Step::Delete(_) => None,
        })
        .collect();
    let writes: Vec<BatchWrite<'_>> = plan
        .steps
        .iter()
        .zip(&bodies)
        .map(|((kind, name, step), body)| BatchWrite {
            kind: kind.entity,
            name,
            expect: match step {
                Step::Create(_) => Precondition::Absent,
                Step::Replace(row, _) | Step::Delete(row) => Precondition::Version(row.version),
            },
            body: body.as_deref(),
        })
        .collect();
    let who = format!("cli:{user}");
    let now_ms = SystemClock.now_ms();
    let mut record = ChangeRecord::new(audit, db);
    let written = db
        .write_all(&writes, (&who, now_ms), |version, befores| {
            let events = (plan.steps.iter().zip(&bodies).zip(befores))
                .map(|(((kind, name, _), body), before)| {
                    let after = body.as_ref().map(|body| EntityRow {
                        name: name.clone(),
                        body: body.clone(),
                        version,
                        updated_at_ms: now_ms,
                        updated_by: who.clone(),
                    });
                    let change = Change {
                        kind: kind.entity,
                        name,
                        operation: if body.is_some() { "put" } else { "delete" },
                        before: state(kind.entity, before.as_ref()),
                        after: state(kind.entity, after.as_ref()),
                    };
                    changed_event(&Actor::Cli(user), change, Map::new(), now_ms)
                })
                .collect();
            record.rows(events)
        })
        .await;
    let version = match written {
        Ok((version, _)) => version,
        Err(BatchError::Stale { index, current }) => {
            let (kind, name) = plan
                .steps
                .get(index)
                .map_or(("entity", ""), |(kind, name, _)| {
                    (kind.label, name.as_str())
                });
            return Err(format!(
                "{kind} {name:?} changed since this plan was made (its version is now {}); \
                 nothing was written: run apply again",
                current.map_or_else(|| "gone".to_owned(), |v| v.to_string())
            ));
        }
        Err(BatchError::Db(e)) => return Err(format!("nothing was written: {e}")),
    };
    record.committed().await;
    println!(
        "Applied {} change(s); catalog version {version}. Every instance takes them up within 2 seconds.",
        plan.steps.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, body: &str, version: i64) -> EntityRow {
        EntityRow {
            name: name.to_owned(),
            body: body.to_owned(),
            version,
            updated_at_ms: 0,
            updated_by: "corp:alice".to_owned(),
        }
    }

    fn same(value: Value) -> Desired {
        Desired {
            shown: value.clone(),
            body: value,
        }
    }

    const ROLES: usize = 2;

    fn roles_only(desired: BTreeMap<String, Desired>) -> Vec<BTreeMap<String, Desired>> {
        let mut all = vec![BTreeMap::new(); KINDS.len()];
        all[ROLES] = desired;
        all
    }

    #[test]
    fn the_plan_creates_replaces_and_deletes_and_leaves_equal_entities_alone() {
        assert_eq!(KINDS[ROLES].entity, EntityKind::Role);
        let desired = roles_only(BTreeMap::from([
            ("a".to_owned(), same(serde_json::json!({"x": 1}))),
            (
                "b".to_owned(),
                same(serde_json::json!({"x": 2, "y": [1, 2]})),
            ),
            ("c".to_owned(), same(serde_json::json!({"x": 3}))),
        ]));
        let mut stored = vec![Vec::new(); KINDS.len()];
        stored[ROLES] = vec![
            // Same document, other key order, a null member: unchanged.
            row("b", r#"{"y":[1,2],"x":2,"group":null}"#, 4),
            row("c", r#"{"x":30}"#, 5),
            row("d", r#"{}"#, 6),
        ];
        let plan = plan(&desired, stored);
        let steps: Vec<(&str, &str)> = plan
            .steps
            .iter()
            .map(|(_, name, step)| {
                let what = match step {
                    Step::Create(_) => "create",
                    Step::Replace(..) => "replace",
                    Step::Delete(_) => "delete",
                };
                (name.as_str(), what)
            })
            .collect();
        assert_eq!(
            steps,
            vec![("a", "create"), ("c", "replace"), ("d", "delete")]
        );
        let text = describe(&plan);
        assert!(text.contains("+ role a"), "{text}");
        assert!(text.contains("- role d (version 6)"), "{text}");
        assert!(text.contains("~ role c (version 5)"), "{text}");
        assert!(
            text.contains("-  \"x\": 30") && text.contains("+  \"x\": 3"),
            "{text}"
        );
    }

    #[test]
    fn an_exported_entry_carries_its_name_drops_nulls_and_redacts_secrets() {
        let role = &KINDS[ROLES];
        let table = entry(
            role,
            &row(
                "eng",
                r#"{"description":"d","group":null,"max_session_duration":"1h"}"#,
                1,
            ),
        )
        .unwrap();
        assert_eq!(table.get("name").and_then(toml::Value::as_str), Some("eng"));
        assert!(!table.contains_key("group"));
        assert!(entry(role, &row("x", "not json", 1)).is_err());

        let provider = &KINDS[1];
        let body = r#"{"kind":"oidc","client_id":"l","client_secret":"s3cret"}"#;
        let table = entry(provider, &row("dbidp", body, 1)).unwrap();
        assert_eq!(table.get("id").and_then(toml::Value::as_str), Some("dbidp"));
        assert_eq!(
            table.get("client_secret").and_then(toml::Value::as_str),
            Some(REDACTED)
        );
        assert!(!toml::to_string(&table).unwrap().contains("s3cret"));
    }

    #[test]
    fn a_client_exports_its_current_secret_hash() {
        let (_, old) = crate::op::clients::generate_secret();
        let (_, new) = crate::op::clients::generate_secret();
        let stored = StoredClient {
            document: serde_json::json!({"grant_types": ["client_credentials"]}),
            secrets: vec![
                StoredSecret {
                    hash: old.clone(),
                    created_at: UnixTime::from_secs(1),
                    not_after: Some(UnixTime::from_secs(100)),
                },
                StoredSecret {
                    hash: new.clone(),
                    created_at: UnixTime::from_secs(2),
                    not_after: None,
                },
            ],
        };
        let table = entry(&KINDS[3], &row("deployer", &stored.to_body(), 3)).unwrap();
        assert_eq!(
            table.get("secret_hash").and_then(toml::Value::as_str),
            Some(new.as_str())
        );
        assert!(!toml::to_string(&table).unwrap().contains(&old));
    }

    #[test]
    fn a_provider_secret_is_kept_read_from_the_environment_or_refused() {
        let entry = |secret: &str| FileEntry {
            at: "providers[0]".into(),
            name: "dbidp".into(),
            document: serde_json::json!({
                "kind": "oidc",
                "issuer": "https://idp.example.com",
                "client_id": "lanyard",
                "client_secret": secret,
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        };
        let public_url = url::Url::parse("http://127.0.0.1:8080").unwrap();
        let env = |name: &str| (name == "IDP_SECRET").then(|| "from-env".to_owned());
        let stored = row("dbidp", r#"{"kind":"oidc","client_secret":"kept"}"#, 2);
        let mut warnings = Vec::new();
        let resolve = |secret: &str, row: Option<&EntityRow>, warnings: &mut Vec<String>| {
            provider(&public_url, &entry(secret), row, &env, warnings)
        };
        let problems = resolve(REDACTED, None, &mut warnings).unwrap_err();
        assert!(problems[0].contains("the provider is new"), "{problems:?}");
        let problems = resolve("${NOPE}", None, &mut warnings).unwrap_err();
        assert!(problems[0].contains("NOPE is not set"), "{problems:?}");
        let none_stored = row("dbidp", r#"{"kind":"oidc"}"#, 2);
        let problems = resolve(REDACTED, Some(&none_stored), &mut warnings).unwrap_err();
        assert!(problems[0].contains("none is stored"), "{problems:?}");
        assert!(warnings.is_empty());
        for (secret, row, want) in [
            (REDACTED, Some(&stored), "kept"),
            ("${IDP_SECRET}", None, "from-env"),
        ] {
            let desired = resolve(secret, row, &mut warnings).unwrap();
            assert_eq!(desired.body["client_secret"], want);
            assert!(!format!("{desired:?}").contains(want));
            assert!(!desired.shown.to_string().contains(want));
        }
        assert!(warnings.is_empty());
        let literal = resolve("in-the-file", None, &mut warnings).unwrap();
        assert_eq!(literal.body["client_secret"], "in-the-file");
        assert!(
            warnings[0].contains("providers[0].client_secret"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_changed_secret_shows_as_changed_never_as_itself() {
        let kept = serde_json::json!({"client_secret": "old", "bind_password": "pw"});
        let kept = kept.as_object();
        let body = serde_json::json!({"client_secret": "new", "bind_password": "pw"});
        let shown = shown_provider(&body, kept);
        assert_eq!(shown["client_secret"], "******** (changed)");
        assert_eq!(shown["bind_password"], REDACTED);
        assert_eq!(shown_provider(&body, None)["client_secret"], REDACTED);
    }

    #[test]
    fn environment_references_are_named_variables_only() {
        assert_eq!(env_reference("${IDP_SECRET}"), Some("IDP_SECRET"));
        assert_eq!(env_reference("${1X}"), None);
        assert_eq!(env_reference("$IDP"), None);
        assert_eq!(env_reference("${A-B}"), None);
    }
}
