//! OpenID clients kept in the database (issue 15): how one is stored ([`StoredClient`]: the
//! `[[clients]]` document without its id, and the hashes of the secrets Lanyard generated
//! for it, each with when it stops working), and how they join the file's clients
//! ([`clients`]). Each row is validated against the file's config and the catalog's roles
//! by the code `check-config` runs for a `[[clients]]` entry
//! ([`crate::config::client_from_document`]). An id the file defines is the file's: a
//! database row of that id is left out (the API refuses to write one, but the file may
//! gain the id later), and so is a row that no longer validates (say, it names a role
//! that was deleted); both are logged.
//!
//! The secrets themselves are never stored: only `sha256:` hashes of generated 256-bit
//! secrets ([`crate::op::clients::fast_hash`]). Nothing here shows a hash: the admin API
//! reads [`StoredClient::secrets`] for their times only.
//!
//! May import: `clock`, `config`, `db`, `op`, `roles`.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::config::{Config, client_from_document};
use crate::db::EntityRow;
use crate::op::ClientSettings;
use crate::op::GeneratedSecret;
use crate::op::clients::fast_hash_digest;
use crate::roles::Role;

/// A client as its database row holds it (the row's body, as JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredClient {
    /// The `[[clients]]` entry as JSON, without `id` and without any secret.
    pub document: serde_json::Value,
    /// The generated secrets, oldest first: the current one (no `not_after`) last, before
    /// it those still in the overlap of a rotation. Empty for a public client.
    #[serde(default)]
    pub secrets: Vec<StoredSecret>,
}

/// One generated secret of a stored client: its hash and its times.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredSecret {
    /// `sha256:` and the SHA-256 of the secret, base64url.
    pub hash: String,
    /// When it was generated, seconds since the epoch.
    pub created_at: UnixTime,
    /// The first instant at which it no longer works; `None` until a rotation sets it.
    #[serde(default)]
    pub not_after: Option<UnixTime>,
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSecret")
            .field("hash", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("not_after", &self.not_after)
            .finish()
    }
}

impl StoredSecret {
    /// Whether the secret still works at `now`.
    pub fn works_at(&self, now: UnixTime) -> bool {
        self.not_after.is_none_or(|end| now < end)
    }
}

impl StoredClient {
    /// The client a row holds; a sentence when its body is not one.
    pub fn of_row(row: &EntityRow) -> Result<StoredClient, String> {
        serde_json::from_str(&row.body)
            .map_err(|e| format!("the stored client cannot be read: {e}"))
    }

    /// The row body of this client.
    pub fn to_body(&self) -> String {
        // A JSON value and strings always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether the document says `public = true`.
    pub fn is_public(&self) -> bool {
        is_public(&self.document)
    }

    /// The secrets as the OpenID provider checks them; a sentence when a stored hash is not
    /// a `sha256:` hash.
    pub fn generated_secrets(&self) -> Result<Vec<GeneratedSecret>, String> {
        self.secrets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                fast_hash_digest(&s.hash)
                    .map(|digest| GeneratedSecret {
                        digest,
                        not_after: s.not_after,
                    })
                    .ok_or_else(|| format!("secrets[{i}] is not a sha256: hash"))
            })
            .collect()
    }

    /// The client's settings, validated against `config` and `roles` as `check-config`
    /// validates a `[[clients]]` entry; every problem, each with its path, otherwise.
    pub fn settings(
        &self,
        id: &str,
        config: &Config,
        roles: &[Role],
    ) -> Result<ClientSettings, Vec<String>> {
        let secrets = self.generated_secrets().map_err(|e| vec![e])?;
        client_from_document(
            id,
            self.document.clone(),
            &secrets,
            roles,
            config.sessions.absolute_timeout,
        )
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }
}

/// Whether a client document says `public = true`.
pub fn is_public(document: &serde_json::Value) -> bool {
    document.get("public").and_then(serde_json::Value::as_bool) == Some(true)
}

/// The file's clients, then every database client that validates against the file's
/// config and `roles` (the catalog's: the file's and the database's) and whose id the file
/// does not define.
pub fn clients(config: &Config, rows: &[EntityRow], roles: &[Role]) -> Vec<ClientSettings> {
    let mut clients = config.clients.clone();
    for row in rows {
        if config.clients.iter().any(|c| c.id == row.name) {
            tracing::warn!(
                client = %row.name,
                "a client of the database has the id of a client in lanyard.toml; the file's is used"
            );
            continue;
        }
        let settings = StoredClient::of_row(row)
            .map_err(|e| vec![e])
            .and_then(|stored| stored.settings(&row.name, config, roles));
        match settings {
            Ok(client) => clients.push(client),
            Err(problems) => {
                for problem in problems {
                    tracing::error!(client = %row.name, "a client of the database is left out: {problem}");
                }
            }
        }
    }
    clients
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_client_round_trips_and_debug_shows_no_hash() {
        let (_, hash) = crate::op::clients::generate_secret();
        let stored = StoredClient {
            document: serde_json::json!({"grant_types": ["client_credentials"]}),
            secrets: vec![StoredSecret {
                hash: hash.clone(),
                created_at: UnixTime::from_secs(5),
                not_after: Some(UnixTime::from_secs(10)),
            }],
        };
        let row = EntityRow {
            name: "deployer".into(),
            body: stored.to_body(),
            version: 1,
            updated_at_ms: 0,
            updated_by: "corp:alice".into(),
        };
        let back = StoredClient::of_row(&row).unwrap();
        assert_eq!(back.secrets, stored.secrets);
        assert!(!format!("{back:?}").contains(&hash));
        let generated = back.generated_secrets().unwrap();
        assert_eq!(generated[0].not_after, Some(UnixTime::from_secs(10)));
        assert!(back.secrets[0].works_at(UnixTime::from_secs(9)));
        assert!(!back.secrets[0].works_at(UnixTime::from_secs(10)));
        let bad = StoredClient {
            secrets: vec![StoredSecret {
                hash: "$argon2id$v=19$x".into(),
                ..stored.secrets[0].clone()
            }],
            ..stored
        };
        assert!(bad.generated_secrets().is_err());
    }
}
