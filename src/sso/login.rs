//! Login transactions: a sign-in between "start" and the answer (10 minutes, single use).
//! A redirect sign-in's is keyed by the digest of its login cookie, a password form's by the
//! digest of the form's id, under distinct prefixes.

use serde::{Deserialize, Serialize};

use super::{Claim, Sso, SsoError, key_hash};
use crate::clock::UnixTime;
use crate::identity::{ProviderId, StepUpMark, UpstreamLogin};
use crate::secret::Secret;
use crate::session::keyspace::{LOGIN, LOGIN_FORM, LOGIN_TRANSACTION_TTL};
use crate::session::{PendingPut, Step, random_id};

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
    /// For a step-up (issue 17): the choice it continues, in which SSO session, for whom.
    /// Its answer never becomes a session of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_up: Option<StepUpMark>,
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
            step_up: None,
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
        self.begin_login_parking(provider, (return_to, test_for), upstream, None)
            .await
    }

    /// [`Sso::begin_login_with`] that also stores `parked` (a record of another layer
    /// waiting for this sign-in), in the same round trip to the store.
    pub async fn begin_login_parking(
        &self,
        provider: ProviderId,
        (return_to, test_for): (Option<String>, Option<String>),
        upstream: Option<UpstreamLogin>,
        parked: Option<&PendingPut>,
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
            step_up: None,
        };
        let key = LOGIN.key([&key_hash(id.expose_secret())]);
        let Some(parked) = parked else {
            self.put(&key, &txn, LOGIN_TRANSACTION_TTL).await?;
            return Ok((id, txn));
        };
        let bytes = serde_json::to_vec(&txn).map_err(|_| SsoError::Corrupt)?;
        let steps = [
            parked.step(),
            Step::Put {
                key: &key,
                value: &bytes,
                ttl: LOGIN_TRANSACTION_TTL,
            },
        ];
        self.store.batch(&steps).await?;
        Ok((id, txn))
    }

    /// Starts the fresh sign-in of a step-up ([`StepUpMark`]): a redirect sign-in's
    /// transaction (`upstream` set, keyed by the returned cookie value, as
    /// [`Sso::begin_login_with`]) or, without `upstream`, a one-time-code form's (keyed by
    /// the returned form id and bound to the browser holding `browser`, as
    /// [`Sso::begin_form_login`]). Single use like every login transaction.
    pub async fn begin_step_up(
        &self,
        mark: StepUpMark,
        upstream: Option<UpstreamLogin>,
        browser: &str,
    ) -> Result<Secret, SsoError> {
        let id = random_id();
        let form = upstream.is_none();
        let txn = LoginTransaction {
            provider: mark.provider.clone(),
            csrf: String::new(),
            return_to: None,
            created_at: self.clock.now(),
            upstream,
            browser_binding: form.then(|| key_hash(browser)),
            test_for: None,
            step_up: Some(mark),
        };
        let kind = if form { LOGIN_FORM } else { LOGIN };
        let key = kind.key([&key_hash(id.expose_secret())]);
        self.put(&key, &txn, LOGIN_TRANSACTION_TTL).await?;
        Ok(id)
    }

    /// Takes the one-time code form `id` of a step-up ([`Sso::begin_step_up`]) if it was
    /// started in the browser holding `browser`; its mark. A mismatch (another browser, a
    /// form that is no step-up's) leaves it in place ([`Claim::Refused`]).
    pub async fn take_step_up_form(
        &self,
        id: &str,
        browser: Option<&str>,
    ) -> Result<Claim<StepUpMark>, SsoError> {
        let Some(browser) = browser else {
            return Ok(Claim::Refused);
        };
        let binding = Secret::new(key_hash(browser));
        let claim = self
            .take_checked(&LOGIN_FORM.key([&key_hash(id)]), |txn| {
                txn.step_up.is_some()
                    && txn
                        .browser_binding
                        .as_deref()
                        .is_some_and(|b| Secret::new(b) == binding)
            })
            .await?;
        Ok(match claim {
            Claim::Taken(LoginTransaction {
                step_up: Some(mark),
                ..
            }) => Claim::Taken(mark),
            Claim::Taken(_) | Claim::Absent => Claim::Absent,
            Claim::Refused => Claim::Refused,
        })
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
