//! `lanyard export` and `lanyard apply`: the entities admins keep in the database (roles
//! written through the admin API or console) as TOML in the shapes of `lanyard.toml`, and
//! back, so that a team can keep its trust configuration in git.
//!
//! `export` writes every database entity as a `[[roles]]` entry, in the order of their
//! names; each entry is accepted by `check-config` in a `lanyard.toml`, since both read it
//! with the same code.
//!
//! `apply FILE` makes the database match the file, declaratively: an entity of the file
//! that the database lacks is created, one that differs is replaced, and a database entity
//! the file does not name is deleted. Every entry is validated first by the code
//! `check-config` runs (every problem printed with its path; nothing is written while one
//! remains); a name `lanyard.toml` defines is refused (the file's entry wins there). The
//! plan is printed as a diff; `--dry-run` stops there. The writes then go in one
//! transaction under the versions the plan read, so a change made meanwhile (through the
//! API, or another `apply`) makes this one change nothing and say so; a second run of the
//! same file changes nothing. Each write is an `admin.changed` audit event whose subject
//! is `cli:{user}`, and every instance takes the new catalog up within 2 seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use crate::audit::{Audit, AuditEvent, EventKind};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, role_from_document};
use crate::db::{BatchError, BatchWrite, Database, EntityKind, EntityRow, Precondition};

/// A kind of entity the two commands handle: its array of tables in `lanyard.toml` and
/// the field that names an entry there.
#[derive(Debug)]
struct Kind {
    entity: EntityKind,
    /// `roles`.
    table: &'static str,
    /// `name`.
    key: &'static str,
}

/// Every kind, in the order they are written.
const KINDS: &[Kind] = &[Kind {
    entity: EntityKind::Role,
    table: "roles",
    key: "name",
}];

impl Kind {
    /// The problems of `document` as entity `name`, by the code `check-config` runs; none
    /// when it is valid.
    fn problems(&self, config: &Config, name: &str, document: &Value) -> Vec<String> {
        match self.entity {
            EntityKind::Role => role_from_document(name, document.clone(), &config.policies)
                .err()
                .map(|errors| errors.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            other => vec![format!("{} entities are not applied here", other.as_str())],
        }
    }

    /// Whether `lanyard.toml` defines an entity of this kind named `name`.
    fn in_file(&self, config: &Config, name: &str) -> bool {
        match self.entity {
            EntityKind::Role => config.roles.iter().any(|r| r.name.as_str() == name),
            _ => false,
        }
    }
}

/// `lanyard export`: prints (or writes to `output`) the database's entities as TOML.
pub fn export(config: &Path, output: Option<&Path>) -> ExitCode {
    let result = (|| -> Result<String, String> {
        let config = load(config)?;
        let (version, stored) = with_database(&config, |db| async move { read_all(&db).await })?;
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
             # `lanyard apply` this file to make a database match it.\n\n{body}"
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

/// One stored row as a table of `kind`: its key and its document.
fn entry(kind: &Kind, row: &EntityRow) -> Result<toml::Table, String> {
    let document: Value = serde_json::from_str(&row.body).map_err(|e| {
        format!(
            "{} {:?}: the stored document is not JSON: {e}",
            kind.table, row.name
        )
    })?;
    let Value::Object(fields) = document else {
        return Err(format!(
            "{} {:?}: the stored document is not an object",
            kind.table, row.name
        ));
    };
    let mut table = toml::Table::new();
    table.insert(kind.key.to_owned(), toml::Value::String(row.name.clone()));
    for (field, value) in fields {
        if field == kind.key || value.is_null() {
            continue;
        }
        let value = toml::Value::try_from(&value).map_err(|e| {
            format!(
                "{} {:?}: field {field} cannot be written as TOML: {e}",
                kind.table, row.name
            )
        })?;
        table.insert(field, value);
    }
    Ok(table)
}

/// What `apply` changes of one entity.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// Create it with this document.
    Create(Value),
    /// Replace the stored row with this document.
    Replace(EntityRow, Value),
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
        let desired = desired(&config, file)?;
        let config = &config;
        with_database(config, |db| async move {
            let (version, stored) = read_all(&db).await?;
            let plan = plan(&desired, stored);
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
            write(config, &db, &plan).await
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

/// Runs `f` on the configured database in a runtime of its own, then closes the database.
fn with_database<T, F, Fut>(config: &Config, f: F) -> Result<T, String>
where
    F: FnOnce(std::sync::Arc<Database>) -> Fut,
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
        let out = f(std::sync::Arc::clone(&db)).await;
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

/// The entities of `file`, each validated, per kind of [`KINDS`]; every problem, with its
/// place, otherwise.
fn desired(config: &Config, file: &Path) -> Result<Vec<BTreeMap<String, Value>>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let root: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{} is not valid TOML: {e}", file.display()))?;
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
        let mut entities = BTreeMap::new();
        let entries = match root.get(kind.table) {
            None => &Vec::new(),
            Some(toml::Value::Array(entries)) => entries,
            Some(_) => {
                problems.push(format!("{}: must be an array of tables", kind.table));
                out.push(entities);
                continue;
            }
        };
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("{}[{i}]", kind.table);
            let mut document = match serde_json::to_value(entry) {
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
            let document = Value::Object(document);
            if kind.in_file(config, &name) {
                problems.push(format!(
                    "{at}: {} {name:?} is managed in lanyard.toml; remove it from one of the two",
                    kind.table
                ));
                continue;
            }
            for problem in kind.problems(config, &name, &document) {
                problems.push(format!("{at} ({name}): {problem}"));
            }
            if entities.insert(name.clone(), document).is_some() {
                problems.push(format!("{at}: a second entry named {name:?}"));
            }
        }
        out.push(entities);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(format!(
            "{} is not applied:\n  {}",
            file.display(),
            problems.join("\n  ")
        ))
    }
}

/// The steps from `stored` to `desired`, kind by kind, in the order of names.
fn plan(desired: &[BTreeMap<String, Value>], stored: Vec<Vec<EntityRow>>) -> Plan {
    let mut plan = Plan::default();
    for ((kind, want), have) in KINDS.iter().zip(desired).zip(stored) {
        let mut have: BTreeMap<String, EntityRow> =
            have.into_iter().map(|r| (r.name.clone(), r)).collect();
        let names: BTreeSet<String> = want.keys().chain(have.keys()).cloned().collect();
        for name in names {
            let step = match (want.get(&name), have.remove(&name)) {
                (Some(doc), None) => Step::Create(doc.clone()),
                (Some(doc), Some(row)) => {
                    let same = serde_json::from_str::<Value>(&row.body).is_ok_and(|s| s == *doc);
                    if same {
                        continue;
                    }
                    Step::Replace(row, doc.clone())
                }
                (None, Some(row)) => Step::Delete(row),
                (None, None) => continue,
            };
            plan.steps.push((kind, name, step));
        }
    }
    plan
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn stored_pretty(row: &EntityRow) -> String {
    serde_json::from_str::<Value>(&row.body)
        .map(|v| pretty(&v))
        .unwrap_or_else(|_| row.body.clone())
}

/// The plan as a person reads it: `+` creates, `-` deletes, `~` replaces with a unified
/// diff of the documents.
fn describe(plan: &Plan) -> String {
    let mut out = String::new();
    for (kind, name, step) in &plan.steps {
        let label = kind.table.trim_end_matches('s');
        match step {
            Step::Create(doc) => {
                let _ = writeln!(out, "+ {label} {name}");
                for line in pretty(doc).lines() {
                    let _ = writeln!(out, "+   {line}");
                }
            }
            Step::Delete(row) => {
                let _ = writeln!(out, "- {label} {name} (version {})", row.version);
            }
            Step::Replace(row, doc) => {
                let _ = writeln!(out, "~ {label} {name} (version {})", row.version);
                let (old, new) = (stored_pretty(row), pretty(doc));
                let diff = similar::TextDiff::from_lines(&old, &new);
                for hunk in diff.unified_diff().context_radius(2).iter_hunks() {
                    for line in hunk.to_string().lines() {
                        let _ = writeln!(out, "    {line}");
                    }
                }
            }
        }
    }
    out
}

/// Who `apply` writes as: `cli:{user}`.
fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    format!("cli:{user}")
}

/// Writes `plan` in one transaction, then its audit events.
async fn write(config: &Config, db: &Database, plan: &Plan) -> Result<(), String> {
    let bodies: Vec<Option<String>> = plan
        .steps
        .iter()
        .map(|(_, _, step)| match step {
            Step::Create(doc) | Step::Replace(_, doc) => Some(doc.to_string()),
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
    let who = who();
    let now_ms = SystemClock.now_ms();
    let (version, _) = match db.write_all(&writes, &who, now_ms).await {
        Ok(done) => done,
        Err(BatchError::Stale { index, current }) => {
            let (kind, name, _) = &plan.steps[index];
            return Err(format!(
                "{} {name:?} changed since this plan was made (its version is now {}); \
                 nothing was written: run apply again",
                kind.table.trim_end_matches('s'),
                current.map_or_else(|| "gone".to_owned(), |v| v.to_string())
            ));
        }
        Err(BatchError::Db(e)) => return Err(format!("nothing was written: {e}")),
    };
    // The writes are committed; the trail records each (a failing trail is logged).
    let audit = Audit::from_settings(&config.audit).map_err(|e| e.to_string())?;
    for ((kind, name, step), body) in plan.steps.iter().zip(&bodies) {
        let state = |row: Option<&EntityRow>, body: Option<&String>, v| match (row, body) {
            (Some(row), _) => serde_json::json!({
                "version": row.version,
                "document": serde_json::from_str::<Value>(&row.body).ok(),
            }),
            (None, Some(body)) => serde_json::json!({
                "version": v,
                "document": serde_json::from_str::<Value>(body).ok(),
            }),
            (None, None) => Value::Null,
        };
        let (operation, before) = match step {
            Step::Create(_) => ("put", Value::Null),
            Step::Replace(row, _) => ("put", state(Some(row), None, 0)),
            Step::Delete(row) => ("delete", state(Some(row), None, 0)),
        };
        let mut event = AuditEvent::new(EventKind::AdminChanged, now_ms);
        event.subject = Some(who.clone());
        if kind.entity == EntityKind::Role {
            event.role = Some(crate::identity::RoleName::new(name.clone()));
        }
        event.detail = serde_json::json!({
            "kind": kind.entity.as_str(),
            "name": name,
            "operation": operation,
            "source": "lanyard apply",
            "before": before,
            "after": state(None, body.as_ref(), version),
        });
        audit.note(event).await;
    }
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

    #[test]
    fn the_plan_creates_replaces_and_deletes_and_leaves_equal_entities_alone() {
        let desired = vec![BTreeMap::from([
            ("a".to_owned(), serde_json::json!({"x": 1})),
            ("b".to_owned(), serde_json::json!({"x": 2, "y": [1, 2]})),
            ("c".to_owned(), serde_json::json!({"x": 3})),
        ])];
        let stored = vec![vec![
            // Same document, other key order: unchanged.
            row("b", r#"{"y":[1,2],"x":2}"#, 4),
            row("c", r#"{"x":30}"#, 5),
            row("d", r#"{}"#, 6),
        ]];
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
    fn an_exported_entry_carries_its_name_and_drops_nulls() {
        let table = entry(
            &KINDS[0],
            &row(
                "eng",
                r#"{"description":"d","group":null,"max_session_duration":"1h"}"#,
                1,
            ),
        )
        .unwrap();
        assert_eq!(table.get("name").and_then(toml::Value::as_str), Some("eng"));
        assert!(!table.contains_key("group"));
        assert!(entry(&KINDS[0], &row("x", "not json", 1)).is_err());
    }
}
