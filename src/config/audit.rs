//! `[audit]`: where audit events go (`database`, `file`), what a failed write means
//! (`on_failure`), and how long the database keeps them (`retention`).
//!
//! Without the section, events go to a SQLite file in the data directory (the parent of
//! `tokens.keys_dir`, `data/` by default) and a failed write refuses the answer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::Cx;
use crate::audit::{AuditFile, AuditSettings, OnFailure};
use crate::db::Location;

/// The file name of the default SQLite database, in the data directory.
pub const DEFAULT_DATABASE_FILE: &str = "lanyard.db";

/// `[audit]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    database: Option<String>,
    database_file: Option<String>,
    file: Option<String>,
    on_failure: Option<String>,
    retention: Option<String>,
}

impl Cx<'_> {
    /// `[audit]`; `keys_dir` places the default database beside the keys.
    pub(super) fn audit(&mut self, value: Option<toml::Value>, keys_dir: &Path) -> AuditSettings {
        let default_db = default_database(keys_dir);
        let defaults = AuditSettings {
            database: Some(Location::Sqlite(default_db)),
            file: None,
            on_failure: OnFailure::Refuse,
            retention: None,
        };
        let Some(value) = value else { return defaults };
        let Some(raw) = self.shape::<RawAudit>("audit", value) else {
            return defaults;
        };
        let mut turned_off = false;
        let database = match self.secret(
            "audit.database",
            raw.database,
            raw.database_file,
            "database_file",
        ) {
            None => defaults.database,
            Some(text) if text.expose_secret() == "none" => {
                turned_off = true;
                None
            }
            Some(text) => match Location::parse(text.expose_secret()) {
                Ok(Location::Sqlite(path)) => {
                    Some(Location::Sqlite(self.path_of(&path.to_string_lossy())))
                }
                Ok(location) => Some(location),
                Err(message) => {
                    self.error("audit.database", message);
                    None
                }
            },
        };
        let file = match raw.file.as_deref() {
            None => None,
            Some("-") => Some(AuditFile::Stdout),
            Some("") => {
                self.error("audit.file", "must be a path, or \"-\" for standard output");
                None
            }
            Some(path) => Some(AuditFile::Path(self.path_of(path))),
        };
        let on_failure = match raw.on_failure.as_deref() {
            None | Some("refuse") => OnFailure::Refuse,
            Some("log") => OnFailure::Log,
            Some(other) => {
                self.error(
                    "audit.on_failure",
                    format!("unknown policy \"{other}\"; use \"refuse\" or \"log\""),
                );
                OnFailure::Refuse
            }
        };
        let retention = match raw.retention.as_deref() {
            None | Some("0") => None,
            Some(text) => Some(self.duration("audit.retention", Some(text), Duration::ZERO)),
        };
        if retention.is_some() && turned_off {
            self.error(
                "audit.retention",
                "needs a database (retention deletes old events from it)",
            );
        }
        AuditSettings {
            database,
            file,
            on_failure,
            retention: retention.filter(|d| !d.is_zero()),
        }
    }
}

/// `lanyard.db` in the data directory: the parent of the keys directory.
fn default_database(keys_dir: &Path) -> PathBuf {
    keys_dir
        .parent()
        .unwrap_or(keys_dir)
        .join(DEFAULT_DATABASE_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const SERVER: &str = "[server]\npublic_url = \"http://127.0.0.1:8080\"\n";

    fn parse(text: &str) -> Result<Config, Vec<String>> {
        let env = |name: &str| (name == "AUDIT_DB").then(|| "postgres://u:pw@db/audit".to_owned());
        Config::from_toml(&format!("{SERVER}{text}"), Path::new("/etc/lanyard"), &env)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    fn audit(text: &str) -> AuditSettings {
        match parse(text) {
            Ok(c) => c.audit,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn without_the_section_events_go_to_sqlite_beside_the_keys() {
        let a = audit("");
        assert_eq!(
            a.database,
            Some(Location::Sqlite(PathBuf::from(
                "/etc/lanyard/data/lanyard.db"
            )))
        );
        assert_eq!(a.on_failure, OnFailure::Refuse);
        assert_eq!((a.file, a.retention), (None, None));
        let a = audit("[tokens]\nkeys_dir = \"/var/lib/lanyard/keys\"\n");
        assert_eq!(
            a.database,
            Some(Location::Sqlite(PathBuf::from(
                "/var/lib/lanyard/lanyard.db"
            )))
        );
    }

    #[test]
    fn every_key_is_read() {
        let a = audit(
            "[audit]\ndatabase = \"sqlite:trail.db\"\nfile = \"logs/audit.jsonl\"\n\
             on_failure = \"log\"\nretention = \"90d\"\n",
        );
        assert_eq!(
            a.database,
            Some(Location::Sqlite(PathBuf::from("/etc/lanyard/trail.db")))
        );
        assert_eq!(
            a.file,
            Some(AuditFile::Path(PathBuf::from(
                "/etc/lanyard/logs/audit.jsonl"
            )))
        );
        assert_eq!(a.on_failure, OnFailure::Log);
        assert_eq!(a.retention, Some(Duration::from_secs(90 * 86_400)));
        let a = audit("[audit]\ndatabase = \"${AUDIT_DB}\"\nfile = \"-\"\nretention = \"0\"\n");
        assert_eq!(
            a.database,
            Some(Location::Postgres(crate::secret::Secret::new(
                "postgres://u:pw@db/audit"
            )))
        );
        assert_eq!((a.file, a.retention), (Some(AuditFile::Stdout), None));
        assert_eq!(audit("[audit]\ndatabase = \"none\"\n").database, None);
    }

    #[test]
    fn mistakes_are_located() {
        let errors = parse(
            "[audit]\ndatabase = \"mysql://db/x\"\non_failure = \"ignore\"\nretention = \"soon\"\n",
        )
        .unwrap_err();
        let text = errors.join("\n");
        for expected in [
            "audit.database: must be \"sqlite:PATH\", \"postgres://…\" or \"none\"",
            "audit.on_failure: unknown policy \"ignore\"; use \"refuse\" or \"log\"",
            "audit.retention: \"soon\" is not a duration",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        let errors = parse("[audit]\ndatabse = \"none\"\n")
            .unwrap_err()
            .join("\n");
        assert!(errors.contains("audit.databse: unknown field"), "{errors}");
        let errors = parse("[audit]\ndatabase = \"none\"\nretention = \"30d\"\n")
            .unwrap_err()
            .join("\n");
        assert!(
            errors.contains("audit.retention: needs a database"),
            "{errors}"
        );
        let errors = parse("[audit]\ndatabase = \"${NOPE}\"\n")
            .unwrap_err()
            .join("\n");
        assert!(
            errors.contains("environment variable NOPE is not set"),
            "{errors}"
        );
        // A URL that does not parse is refused without repeating it (it may hold a password).
        let errors = parse("[audit]\ndatabase = \"postgres://u:hunter2@[::1/db\"\n")
            .unwrap_err()
            .join("\n");
        assert!(
            errors.contains("audit.database: is not a valid PostgreSQL URL"),
            "{errors}"
        );
        assert!(!errors.contains("hunter2"), "{errors}");
    }
}
