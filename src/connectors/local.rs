//! The local directory (`kind = "local"`): users in the config file with argon2id password
//! hashes. Meant for small teams and break-glass accounts.
//!
//! The failure path costs the same whether the user is unknown or the password is wrong
//! (an unknown user is checked against a dummy hash of the same cost), and both answer
//! with the same error, so neither timing nor message tells which it was.
//!
//! A user with a TOTP secret also needs a one-time code (RFC 6238, see [`super::totp`]);
//! a missing or wrong code gets the same error as a wrong password, and a good one gives
//! `amr = ["pwd", "otp"]` and `mfa = true`.

use std::collections::BTreeMap;
use std::sync::Arc;

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, Params};

use crate::clock::UnixTime;
use crate::connectors::settings::{LocalDirectorySettings, LocalUser, PasswordCredential};
use crate::connectors::totp::{Totp, TotpError};
use crate::identity::{ClaimValue, ExternalIdentity, ProviderId, ProviderKind};
use crate::secret::Secret;
use crate::secret::hashing::PasswordHashing;

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
    /// A configured TOTP secret cannot be used.
    #[error("user {user}: {source}")]
    Totp {
        /// The user.
        user: String,
        /// Why.
        source: TotpError,
    },
}

struct User {
    profile: LocalUser,
    hash: Secret,
    totp: Option<Totp>,
}

/// A successful local sign-in.
#[derive(Debug)]
pub struct LocalSignIn {
    /// Who.
    pub identity: ExternalIdentity,
    /// The TOTP step whose code was used, when the user has TOTP: the caller records it so
    /// that the same code is not accepted twice.
    pub totp_step: Option<u64>,
}

/// A local directory, ready to check passwords.
pub struct LocalDirectory {
    id: ProviderId,
    users: BTreeMap<String, Arc<User>>,
    /// Checked for unknown usernames, with the cost parameters of the real hashes.
    dummy_hash: Secret,
    /// The process's bound on argon2id checks.
    hashing: PasswordHashing,
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
    /// Prepares the directory: parses every hash and hashes demo passwords. Passwords are
    /// checked within `hashing`, the bound the process puts on argon2id checks.
    pub fn new(
        id: ProviderId,
        config: &LocalDirectorySettings,
        hashing: PasswordHashing,
    ) -> Result<Self, LocalError> {
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
            let totp = u
                .totp
                .as_ref()
                .map(Totp::from_base32)
                .transpose()
                .map_err(|source| LocalError::Totp {
                    user: u.username.clone(),
                    source,
                })?;
            users.insert(
                u.username.clone(),
                Arc::new(User {
                    profile: u.clone(),
                    hash,
                    totp,
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
            hashing,
        })
    }

    /// Whether any user of this directory signs in with a one-time code (the form then
    /// shows the code field).
    pub fn has_totp(&self) -> bool {
        self.users.values().any(|u| u.totp.is_some())
    }

    /// Checks a username, password and, for users with TOTP, the one-time code `otp`; on
    /// success, the person's identity.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &Secret,
        otp: Option<&str>,
        now: UnixTime,
    ) -> Result<LocalSignIn, LocalError> {
        if password.is_empty() || password.expose_secret().len() > MAX_PASSWORD_BYTES {
            return Err(LocalError::InvalidCredentials);
        }
        let user = self.users.get(username).cloned();
        let hash = user
            .as_ref()
            .map(|u| u.hash.clone())
            .unwrap_or_else(|| self.dummy_hash.clone());
        let ok = self.verify(password.clone(), hash).await?;
        let Some(user) = user.filter(|_| ok) else {
            return Err(LocalError::InvalidCredentials);
        };
        let totp_step = match &user.totp {
            None => None,
            Some(totp) => Some(
                otp.and_then(|code| totp.check(code, now))
                    .ok_or(LocalError::InvalidCredentials)?,
            ),
        };
        Ok(LocalSignIn {
            identity: self.identity(&user.profile, totp_step.is_some(), now),
            totp_step,
        })
    }

    /// Whether `username` is a user of this directory with a TOTP secret: who can step up
    /// with a one-time code (issue 17).
    pub fn has_totp_for(&self, username: &str) -> bool {
        self.users.get(username).is_some_and(|u| u.totp.is_some())
    }

    /// Checks the one-time code `otp` of `username` alone: the step-up of a person already
    /// signed in with their password (issue 17). On success, the person's identity with
    /// the second factor, authenticated `now`, and the code's step (for replay protection).
    pub fn second_factor(
        &self,
        username: &str,
        otp: Option<&str>,
        now: UnixTime,
    ) -> Result<LocalSignIn, LocalError> {
        let user = self
            .users
            .get(username)
            .ok_or(LocalError::InvalidCredentials)?;
        let totp = user.totp.as_ref().ok_or(LocalError::InvalidCredentials)?;
        let step = otp
            .and_then(|code| totp.check(code, now))
            .ok_or(LocalError::InvalidCredentials)?;
        Ok(LocalSignIn {
            identity: self.identity(&user.profile, true, now),
            totp_step: Some(step),
        })
    }

    /// Spends what a failed password check costs, without checking anything: the answer to
    /// a locked account, so that it cannot be told from a wrong password by its timing.
    pub async fn decoy(&self) {
        let _ = self
            .verify(
                Secret::new("lanyard-decoy-password"),
                self.dummy_hash.clone(),
            )
            .await;
    }

    async fn verify(&self, password: Secret, hash: Secret) -> Result<bool, LocalError> {
        self.hashing
            .verify(password, hash)
            .await
            .map_err(|_| LocalError::Task)
    }

    fn identity(&self, u: &LocalUser, otp: bool, now: UnixTime) -> ExternalIdentity {
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
            amr: if otp {
                vec!["pwd".to_owned(), "otp".to_owned()]
            } else {
                vec!["pwd".to_owned()]
            },
            mfa: otp,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> LocalDirectory {
        let hash = hash_password(&Secret::new("correct horse")).unwrap();
        LocalDirectory::new(
            ProviderId::new("corp"),
            &LocalDirectorySettings {
                users: vec![LocalUser {
                    username: "alice".into(),
                    password: PasswordCredential::Hash(hash),
                    email: Some("alice@example.com".into()),
                    display_name: None,
                    groups: vec!["engineering".into()],
                    tags: [("team".to_owned(), "payments".to_owned())].into(),
                    totp: None,
                }],
            },
            PasswordHashing::default(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn right_password_gives_identity() {
        let dir = directory();
        let id = dir
            .authenticate(
                "alice",
                &Secret::new("correct horse"),
                None,
                UnixTime::from_secs(100),
            )
            .await
            .unwrap()
            .identity;
        assert_eq!(id.subject, "alice");
        assert_eq!(id.groups, vec!["engineering"]);
        assert_eq!(id.tags.get("team").map(String::as_str), Some("payments"));
        assert_eq!(id.auth_time, UnixTime::from_secs(100));
        assert_eq!(id.qualified_subject(), "corp:alice");
        assert_eq!(id.amr, vec!["pwd"]);
        assert!(!id.mfa);
    }

    #[tokio::test]
    async fn totp_users_need_the_code() {
        let secret = Secret::new("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let hash = hash_password(&Secret::new("pw")).unwrap();
        let dir = LocalDirectory::new(
            ProviderId::new("corp"),
            &LocalDirectorySettings {
                users: vec![LocalUser {
                    username: "root".into(),
                    password: PasswordCredential::Hash(hash),
                    email: None,
                    display_name: None,
                    groups: vec![],
                    tags: BTreeMap::new(),
                    totp: Some(secret.clone()),
                }],
            },
            PasswordHashing::default(),
        )
        .unwrap();
        assert!(dir.has_totp());
        let now = UnixTime::from_secs(1_800_000_000);
        let code = Totp::from_base32(&secret).unwrap().code_at(now);
        let pw = Secret::new("pw");
        for otp in [None, Some("000000"), Some("")] {
            let e = dir.authenticate("root", &pw, otp, now).await.unwrap_err();
            assert!(matches!(e, LocalError::InvalidCredentials), "{otp:?}");
        }
        let wrong_pw = dir
            .authenticate("root", &Secret::new("x"), Some(&code), now)
            .await;
        assert!(matches!(wrong_pw, Err(LocalError::InvalidCredentials)));
        let ok = dir
            .authenticate("root", &pw, Some(&code), now)
            .await
            .unwrap();
        assert_eq!(ok.identity.amr, vec!["pwd", "otp"]);
        assert!(ok.identity.mfa);
        assert_eq!(ok.totp_step, Some(1_800_000_000 / 30));
    }

    #[tokio::test]
    async fn failures_are_indistinguishable() {
        let dir = directory();
        let wrong = dir
            .authenticate("alice", &Secret::new("nope"), None, UnixTime::EPOCH)
            .await;
        let unknown = dir
            .authenticate("mallory", &Secret::new("nope"), None, UnixTime::EPOCH)
            .await;
        let empty = dir
            .authenticate("alice", &Secret::new(""), None, UnixTime::EPOCH)
            .await;
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
