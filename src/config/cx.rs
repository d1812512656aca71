//! The conversion context: collects every error with its path instead of stopping at the
//! first, and reads the values many sections share (shapes, durations, paths, secrets).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::ConfigError;
use crate::secret::Secret;

/// The conversion context: collects errors instead of stopping at the first.
pub(super) struct Cx<'a> {
    pub(super) errors: Vec<ConfigError>,
    pub(super) base: &'a Path,
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
}

/// `field` of the entry at `path` (`roles[1].trust_policy`), or `field` alone when the
/// entry is the whole document (`trust_policy`, an entity sent to the admin API).
pub(super) fn at(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// `Some("NAME")` when `value` is exactly `${NAME}` with an environment-variable name.
pub(super) fn env_reference(value: &str) -> Option<&str> {
    let name = value.strip_prefix("${")?.strip_suffix('}')?;
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// The name the console's pages for adding an entity take (`/admin/roles/new`, …): an
/// entity of the database may not have it, or the console could not open it.
pub const RESERVED_NAME: &str = "new";

impl Cx<'_> {
    /// Records an error at `field` when `name`, an entity of the database's, is
    /// [`RESERVED_NAME`]; whether it was.
    pub(super) fn reserved(&mut self, field: &str, name: &str) -> bool {
        let reserved = name == RESERVED_NAME;
        if reserved {
            self.error(
                field,
                format!(
                    "\"{RESERVED_NAME}\" is the console's page for adding one; choose another {field}"
                ),
            );
        }
        reserved
    }

    pub(super) fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            path: path.into(),
            line: None,
            message: message.into(),
        });
    }

    /// Deserializes one value, recording a shape error (unknown key, wrong type) at its path.
    pub(super) fn shape<T: DeserializeOwned>(
        &mut self,
        path: &str,
        value: toml::Value,
    ) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let inner = e.path().to_string();
                let full = match (path.is_empty(), inner.as_str()) {
                    (_, ".") => path.to_owned(),
                    (true, _) => inner,
                    (false, _) => format!("{path}.{inner}"),
                };
                let message = e.into_inner().message().to_owned();
                self.error(full, message);
                None
            }
        }
    }

    /// Each element of an array of tables, deserialized on its own so that one bad entry
    /// does not hide the problems of the others.
    pub(super) fn array<T: DeserializeOwned>(
        &mut self,
        name: &str,
        value: Option<toml::Value>,
    ) -> Vec<T> {
        match value {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .filter_map(|(i, v)| self.shape(&format!("{name}[{i}]"), v))
                .collect(),
            Some(_) => {
                self.error(name, format!("must be an array of tables ([[{name}]])"));
                Vec::new()
            }
        }
    }

    pub(super) fn duration(
        &mut self,
        path: &str,
        value: Option<&str>,
        default: Duration,
    ) -> Duration {
        let Some(text) = value else { return default };
        match humantime::parse_duration(text) {
            Ok(d) if d.subsec_nanos() == 0 && !d.is_zero() => d,
            Ok(_) => {
                self.error(path, "must be a positive whole number of seconds");
                default
            }
            Err(e) => {
                self.error(
                    path,
                    format!(
                        "{text:?} is not a duration ({e}); write e.g. \"15m\", \"1h\", \"12h\""
                    ),
                );
                default
            }
        }
    }

    pub(super) fn path_of(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_owned()
        } else {
            self.base.join(p)
        }
    }

    /// A secret given as `${ENV_VAR}` (the whole value) or literally, or read from `*_file`.
    pub(super) fn secret(
        &mut self,
        path: &str,
        value: Option<String>,
        file: Option<String>,
        file_key: &str,
    ) -> Option<Secret> {
        match (value, file) {
            (Some(_), Some(_)) => {
                self.error(path, format!("give either this or {file_key}, not both"));
                None
            }
            (Some(v), None) => match env_reference(&v) {
                Some(var) => match (self.env)(var) {
                    Some(v) if !v.is_empty() => Some(Secret::new(v)),
                    _ => {
                        self.error(
                            path,
                            format!("environment variable {var} is not set (or empty)"),
                        );
                        None
                    }
                },
                None => Some(Secret::new(v)),
            },
            (None, Some(f)) => {
                let full = self.path_of(&f);
                match std::fs::read_to_string(&full) {
                    Ok(v) if !v.trim().is_empty() => {
                        Some(Secret::new(v.trim_end_matches(['\r', '\n'])))
                    }
                    Ok(_) => {
                        self.error(
                            format!("{path}_file"),
                            format!("{} is empty", full.display()),
                        );
                        None
                    }
                    Err(e) => {
                        self.error(
                            format!("{path}_file"),
                            format!("cannot read {}: {e}", full.display()),
                        );
                        None
                    }
                }
            }
            (None, None) => None,
        }
    }
}
