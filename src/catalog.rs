//! One catalog of roles: those of `lanyard.toml` and those admins keep in the database,
//! validated into the one set the running broker uses (trust evaluation, the role picker,
//! STS, `/v1/authorize`).
//!
//! The database's entities are read as [`Stored`] (the catalog version and the rows); each
//! time a state is assembled they are validated against the file's config by the code
//! `check-config` runs for a `[[roles]]` entry ([`crate::config::role_from_document`]). A
//! name the file defines is the file's: a database row of that name is left out (the API
//! refuses to write one, but the file may gain the name later), and so is a row that no
//! longer validates (say, the file dropped a policy it names); both are logged.
//!
//! Clients kept in the database are merged into the file's the same way ([`clients`]).
//!
//! May import: `config`, `db`, `roles`, `op` (the clients' settings type), `clock`.

pub mod clients;

use std::sync::Arc;

use crate::config::{Config, role_from_document};
use crate::db::{Database, DbError, EntityKind, EntityRow};
use crate::roles::Role;

/// What the database held at one catalog version.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    /// The catalog version read (`None`: never read, or no database).
    pub version: Option<i64>,
    /// The role rows, by name.
    pub roles: Arc<[EntityRow]>,
    /// The client rows, by id.
    pub clients: Arc<[EntityRow]>,
}

impl Stored {
    /// Reads the catalog version and every role and client row (each at least as new as
    /// the version read).
    pub async fn load(db: &Database) -> Result<Stored, DbError> {
        let (version, rows) = db.entities(EntityKind::Role).await?;
        let (_, clients) = db.entities(EntityKind::Client).await?;
        Ok(Stored {
            version: Some(version),
            roles: rows.into(),
            clients: clients.into(),
        })
    }
}

/// The file's roles, then every database role that validates and whose name the file
/// does not define.
pub fn roles(config: &Config, stored: &Stored) -> Vec<Role> {
    let mut roles = config.roles.clone();
    for row in stored.roles.iter() {
        if config.roles.iter().any(|r| r.name.as_str() == row.name) {
            tracing::warn!(
                role = %row.name,
                "a role of the database has the name of a role in lanyard.toml; the file's is used"
            );
            continue;
        }
        match database_role(config, row) {
            Ok(role) => roles.push(role),
            Err(problems) => {
                for problem in problems {
                    tracing::error!(role = %row.name, "a role of the database is left out: {problem}");
                }
            }
        }
    }
    roles
}

/// One database row as a role, validated against `config`'s policies; the problems, each
/// with its path, otherwise.
pub fn database_role(config: &Config, row: &EntityRow) -> Result<Role, Vec<String>> {
    let document: serde_json::Value = serde_json::from_str(&row.body)
        .map_err(|e| vec![format!("the stored document is not JSON: {e}")])?;
    role_from_document(&row.name, document, &config.policies)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}
