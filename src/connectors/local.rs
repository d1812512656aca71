//! The local directory (`kind = "local"`): users in the config file with argon2id password
//! hashes. Meant for small teams and break-glass accounts.
//!
//! The failure path costs the same whether the user is unknown or the password is wrong
//! (an unknown user is checked against a dummy hash of the same cost), and both answer
//! with the same error, so neither timing nor message tells which it was.

use std::collections::BTreeMap;
use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, Params};
use tokio::sync::Semaphore;

use crate::config::{LocalDirectoryConfig, LocalUserConfig, PasswordCredential};
use crate::identity::{ClaimValue, ExternalIdentity, ProviderId, ProviderKind};
use crate::secret::Secret;

/// Password checks running at once; more wait, so a burst of logins cannot starve the
/// rest of the server of CPU.
const MAX_CONCURRENT_HASHES: usize = 4;

/// The longest password accepted (argon2 itself takes more, but nobody types this much and
/// hashing huge inputs is a denial-of-service vector).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Why a local sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// Unknown user, wrong password or empty password: deliberately one variant.
    #[error("the username or password is incorrect")]
    InvalidCredentials,
    /// A configured hash cannot be parsed.
    #[error("the password hash of user {user} is not a valid argon2id PHC string")]
    BadHash {
        /// The user.
        user: String,
    },
    /// Hashing failed (demo passwords at start-up).
    #[error("cannot hash a password: {0}")]
    Hash(String),
    /// The hashing task died.
    #[error("the password check did not complete")]
    Task,
}

struct User {
    profile: LocalUserConfig,
    hash: Secret,
}

/// A local directory, ready to check passwords.
pub struct LocalDirectory {
    id: ProviderId,
    users: BTreeMap<String, Arc<User>>,
    /// Checked for unknown usernames, with the cost parameters of the real hashes.
    dummy_hash: Secret,
    limiter: Arc<Semaphore>,
}

impl std::fmt::Debug for LocalDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalDirectory")
            .field("id", &self.id)
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

impl LocalDirectory {
    /// Prepares the directory: parses every hash and hashes demo passwords.
    pub fn new(id: ProviderId, config: &LocalDirectoryConfig) -> Result<Self, LocalError> {
        let mut users = BTreeMap::new();
        let mut params: Option<Params> = None;
        for u in &config.users {
            let hash = match &u.password {
                PasswordCredential::Hash(h) => {
                    let parsed =
                        PasswordHash::new(h.expose_secret()).map_err(|_| LocalError::BadHash {
                            user: u.username.clone(),
                        })?;
                    if params.is_none() {
                        params = Params::try_from(&parsed).ok();
                    }
                    h.clone()
                }
                PasswordCredential::InsecureDemo(pw) => hash_password(pw)?,
            };
            users.insert(
                u.username.clone(),
                Arc::new(User {
                    profile: u.clone(),
                    hash,
                }),
            );
        }
        let argon = Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params.unwrap_or_default(),
        );
        let dummy = argon
            .hash_password(b"lanyard-dummy-password-for-unknown-users")
            .map_err(|e| LocalError::Hash(e.to_string()))?;
        Ok(Self {
            id,
            users,
            dummy_hash: Secret::new(dummy.to_string()),
            limiter: Arc::new(Semaphore::new(MAX_CONCURRENT_HASHES)),
        })
    }

    /// Checks a username and password; on success, the person's identity.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &Secret,
        now: i64,
    ) -> Result<ExternalIdentity, LocalError> {
        if password.is_empty() || password.expose_secret().len() > MAX_PASSWORD_BYTES {
            return Err(LocalError::InvalidCredentials);
        }
        let user = self.users.get(username).cloned();
        let hash = user
            .as_ref()
            .map(|u| u.hash.clone())
            .unwrap_or_else(|| self.dummy_hash.clone());
        let password = password.clone();
        let _permit = self.limiter.acquire().await.map_err(|_| LocalError::Task)?;
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(|_| LocalError::Task)?;
        match (ok, user) {
            (true, Some(user)) => Ok(self.identity(&user.profile, now)),
            _ => Err(LocalError::InvalidCredentials),
        }
    }

    fn identity(&self, u: &LocalUserConfig, now: i64) -> ExternalIdentity {
        let mut claims = BTreeMap::new();
        claims.insert("username".to_owned(), ClaimValue::One(u.username.clone()));
        if let Some(email) = &u.email {
            claims.insert("email".to_owned(), ClaimValue::One(email.clone()));
        }
        claims.insert("groups".to_owned(), ClaimValue::Many(u.groups.clone()));
        ExternalIdentity {
            provider: self.id.clone(),
            provider_kind: ProviderKind::Local,
            subject: u.username.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
            email_verified: u.email.is_some(),
            display_name: u.display_name.clone(),
            groups: u.groups.clone(),
            amr: vec!["pwd".to_owned()],
            mfa: false,
            auth_time: now,
            tags: u.tags.clone(),
            claims,
        }
    }
}

/// Hashes a password into an argon2id PHC string with the library's default (OWASP) cost.
pub fn hash_password(password: &Secret) -> Result<Secret, LocalError> {
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes())
        .map(|h| Secret::new(h.to_string()))
        .map_err(|e| LocalError::Hash(e.to_string()))
}

fn verify_password(password: &Secret, hash: &Secret) -> bool {
    match PasswordHash::new(hash.expose_secret()) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> LocalDirectory {
        let hash = hash_password(&Secret::new("correct horse")).unwrap();
        LocalDirectory::new(
            ProviderId::new("corp"),
            &LocalDirectoryConfig {
                users: vec![LocalUserConfig {
                    username: "alice".into(),
                    password: PasswordCredential::Hash(hash),
                    email: Some("alice@example.com".into()),
                    display_name: None,
                    groups: vec!["engineering".into()],
                    tags: [("team".to_owned(), "payments".to_owned())].into(),
                }],
            },
        )
        .unwrap()
    }

    #[tokio::test]
    async fn right_password_gives_identity() {
        let dir = directory();
        let id = dir
            .authenticate("alice", &Secret::new("correct horse"), 100)
            .await
            .unwrap();
        assert_eq!(id.subject, "alice");
        assert_eq!(id.groups, vec!["engineering"]);
        assert_eq!(id.tags.get("team").map(String::as_str), Some("payments"));
        assert_eq!(id.auth_time, 100);
        assert_eq!(id.qualified_subject(), "corp:alice");
    }

    #[tokio::test]
    async fn failures_are_indistinguishable() {
        let dir = directory();
        let wrong = dir.authenticate("alice", &Secret::new("nope"), 0).await;
        let unknown = dir.authenticate("mallory", &Secret::new("nope"), 0).await;
        let empty = dir.authenticate("alice", &Secret::new(""), 0).await;
        for r in [wrong, unknown, empty] {
            let e = r.unwrap_err();
            assert!(matches!(e, LocalError::InvalidCredentials));
            assert_eq!(e.to_string(), "the username or password is incorrect");
        }
    }

    #[test]
    fn dummy_hash_has_the_cost_of_real_hashes() {
        let dir = directory();
        let real = dir.users["alice"].hash.expose_secret().to_owned();
        let params = |h: &str| h.split('$').nth(3).map(str::to_owned);
        assert_eq!(params(&real), params(dir.dummy_hash.expose_secret()));
    }
}
