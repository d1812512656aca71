//! Login transactions: a sign-in between "start" and the answer (10 minutes, single use).
//! A redirect sign-in's is keyed by the digest of its login cookie, a password form's by the
//! digest of the form's id, under distinct prefixes.

use serde::{Deserialize, Serialize};

use super::{Claim, Sso, SsoError, key_hash};
use crate::clock::UnixTime;
use crate::identity::{ProviderId, UpstreamLogin};
use crate::secret::Secret;
use crate::session::keyspace::{LOGIN, LOGIN_FORM, LOGIN_TRANSACTION_TTL};
use crate::session::random_id;

/// A sign-in in progress. Single use: taken from the store when the answer arrives.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginTransaction {
    /// The provider the person chose.
    pub provider: ProviderId,
    /// Synchronizer token of the password form.
    pub csrf: String,
    /// A Lanyard path to go back to after sign-in.
    pub return_to: Option<String>,
    /// When it started.
    pub created_at: UnixTime,
    /// `state`, `nonce` and PKCE verifier of a redirect (OIDC / OAuth 2.0) sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<UpstreamLogin>,
    /// SHA-256 of the browser cookie that binds a password-form sign-in to the browser
    /// that started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_binding: Option<String>,
    /// For an admin's test sign-in: the digest of the admin's SSO session that started it.
    /// Its answer is shown to that admin and creates no session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_for: Option<String>,
}

impl std::fmt::Debug for LoginTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginTransaction")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl Sso {
    /// Starts a password-form sign-in: one transaction per form shown, so that two tabs or
    /// a second visit never overwrite each other. Returns the transaction id (the form's
    /// hidden field) and the record. The record keeps the SHA-256 of `browser`, the value
    /// of the browser's `lanyard_browser` cookie: the answer must come with both the id
    /// (only readable from Lanyard's own page) and that cookie (`HttpOnly`, `SameSite=Lax`,
    /// never sent on a cross-site POST). Stored under its own prefix, so a form's id is
    /// never accepted where a redirect sign-in's cookie is expected, or the other way round.
    pub async fn begin_form_login(
        &self,
        provider: ProviderId,
        (return_to, test_for): (Option<String>, Option<String>),
        browser: &str,
    ) -> Result<(Secret, LoginTransaction), SsoError> {
        let id = random_id();
        let txn = LoginTransaction {
            provider,
            csrf: String::new(),
            return_to,
            created_at: self.clock.now(),
            upstream: None,
            browser_binding: Some(key_hash(browser)),
            test_for,
        };
        let key = LOGIN_FORM.key([&key_hash(id.expose_secret())]);
        self.put(&key, &txn, LOGIN_TRANSACTION_TTL).await?;
        Ok((id, txn))
    }

    /// Takes the password-form transaction `id` if it was started for `provider` in the
    /// browser holding `browser` (compare and delete, so it is used at most once, also
    /// under concurrency). A mismatch leaves it in place ([`Claim::Refused`]).
    pub async fn take_form_login(
        &self,
        id: &str,
        provider: &ProviderId,
        browser: Option<&str>,
    ) -> Result<Claim<LoginTransaction>, SsoError> {
        let Some(browser) = browser else {
            return Ok(Claim::Refused);
        };
        let binding = Secret::new(key_hash(browser));
        self.take_checked(&LOGIN_FORM.key([&key_hash(id)]), |txn| {
            &txn.provider == provider
                && txn
                    .browser_binding
                    .as_deref()
                    .is_some_and(|b| Secret::new(b) == binding)
        })
        .await
    }

    /// Starts a sign-in that keeps redirect state (`state`, `nonce`, PKCE verifier) until
    /// the callback; returns the transaction's cookie value and the record.
    pub async fn begin_login_with(
        &self,
        provider: ProviderId,
        (return_to, test_for): (Option<String>, Option<String>),
        upstream: Option<UpstreamLogin>,
    ) -> Result<(Secret, LoginTransaction), SsoError> {
        let id = random_id();
        let txn = LoginTransaction {
            provider,
            csrf: random_id().expose_secret().to_owned(),
            return_to,
            created_at: self.clock.now(),
            upstream,
            browser_binding: None,
            test_for,
        };
        let key = LOGIN.key([&key_hash(id.expose_secret())]);
        self.put(&key, &txn, LOGIN_TRANSACTION_TTL).await?;
        Ok((id, txn))
    }

    /// Takes a login transaction only if `accept` says it is the one being answered (for a
    /// redirect callback: the same provider and `state`): it is read, checked, then taken
    /// atomically only if it is still the same record (compare and delete). A forged
    /// answer therefore leaves the person's sign-in in progress untouched.
    pub async fn take_login_if(
        &self,
        cookie: &str,
        accept: impl FnOnce(&LoginTransaction) -> bool,
    ) -> Result<Claim<LoginTransaction>, SsoError> {
        self.take_checked(&LOGIN.key([&key_hash(cookie)]), accept)
            .await
    }

    /// Reads the transaction under `key`, checks it with `accept`, then takes it only if it
    /// is still the same record (compare and delete).
    async fn take_checked(
        &self,
        key: &str,
        accept: impl FnOnce(&LoginTransaction) -> bool,
    ) -> Result<Claim<LoginTransaction>, SsoError> {
        let Some(bytes) = self.store.get(key).await? else {
            return Ok(Claim::Absent);
        };
        let Some(txn) = Self::decode::<LoginTransaction>(Some(bytes.clone()))? else {
            return Ok(Claim::Absent);
        };
        if !accept(&txn) {
            return Ok(Claim::Refused);
        }
        Ok(if self.store.take_if_equal(key, &bytes).await? {
            Claim::Taken(txn)
        } else {
            Claim::Absent
        })
    }
}
