//! The sign-in service: begins a sign-in with any provider kind ([`SignIn::begin`]: a
//! redirect upstream, or a password form), finishes it ([`SignIn::finish`]: the redirect
//! callback of OpenID Connect and GitHub, the password form of the local directory and
//! LDAP with its one-time code, the SAML ACS, SP- and IdP-initiated) into one
//! [`SignedIn`], and establishes the SSO session ([`SignIn::establish`]). Every finished
//! sign-in is counted (`lanyard_signins_total{provider, outcome}`) and audited
//! (`signin.succeeded`, `signin.failed`, `signin.locked`); so is a sign-out.
//!
//! HTTP stays in `web`: this module takes and returns cookie *values* and URLs, never
//! requests or responses.
//!
//! May import: `connectors`, `sso`, `session`, `audit`, `telemetry`, `identity`, `roles`
//! (the request facts), `clock`, `secret`.

mod password;
mod settings;
mod step_up;

use std::sync::Arc;

pub use password::{
    Attempt, Lock, PasswordError, PasswordSignIn, Refusal, account_hash, lock_duration,
};
use serde_json::json;
pub use settings::SignInLimits;
pub use step_up::{CodePrompt, StepUpBegun, StepUpError, StepUpStart};

use crate::audit::{Audit, AuditEvent, EventKind, SignInRecorder};
use crate::clock::SharedClock;
use crate::connectors::saml::{AcceptError, Presenter, SamlConnector, SamlError};
use crate::connectors::upstream::{CallbackParams, UpstreamError, UpstreamLogin};
use crate::connectors::{Connector, Connectors, ProviderInfo};
use crate::identity::{Evidence, ExternalIdentity, ProviderId, StepUpMark};
use crate::roles::RequestFacts;
use crate::secret::Secret;
use crate::session::{PendingPut, digest, random_id};
use crate::sso::{Claim, Sso, SsoError, SsoSession};
use crate::telemetry::metrics::Metrics;

/// Where a person goes after signing in when nothing else was asked for.
pub const DEFAULT_RETURN_TO: &str = "/roles";

/// A `return_to` Lanyard accepts: a path on this site, nothing that leaves it.
pub fn safe_return_to(value: Option<&str>) -> Option<String> {
    let v = value?;
    let ok = v.starts_with('/')
        && !v.starts_with("//")
        && !v.starts_with("/\\")
        && v.len() <= 512
        && !v.chars().any(|c| c.is_control() || c == '\\');
    ok.then(|| v.to_owned())
}

/// A `login_hint` worth passing on: short, printable.
pub fn clean_login_hint(hint: Option<&str>) -> Option<String> {
    hint.filter(|h| !h.is_empty() && h.len() <= 256 && !h.chars().any(char::is_control))
        .map(str::to_owned)
}

/// How a finished sign-in ended: the `outcome` label of `lanyard_signins_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Signed in.
    Success,
    /// The person was not authenticated: wrong credentials, the provider said no or could
    /// not be reached.
    Failure,
    /// Refused unchecked: the account or address is locked after repeated failures.
    Locked,
    /// The answer did not pass Lanyard's checks (forged or replayed state, an invalid or
    /// replayed assertion, a stale form).
    Refused,
}

impl Outcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Locked => "locked",
            Outcome::Refused => "refused",
        }
    }
}

/// How a sign-in starts.
#[derive(Debug, Default)]
pub struct Start {
    /// Where to go afterwards, as asked (checked here: only paths on this site).
    pub return_to: Option<String>,
    /// Who an application expects to sign in (prefills the form, passed upstream).
    pub login_hint: Option<String>,
    /// The browser's binding cookie of password forms, when it has one.
    pub browser: Option<Secret>,
    /// Whether a SAML sign-in binds its pending request to the browser with a cross-site
    /// cookie (only possible over https).
    pub bind_saml_browser: bool,
    /// An admin's test sign-in: the digest of the admin's SSO session. Its answer comes
    /// back as [`SignedIn::test`] and must not become a session.
    pub test_for: Option<String>,
    /// A record of another layer that waits for this sign-in (an application's parked
    /// authorization request, whose id `return_to` names), stored with the login
    /// transaction in one round trip; before the answer in any case.
    pub park_with: Option<PendingPut>,
}

/// A started sign-in.
#[derive(Debug)]
pub enum Begun {
    /// Send the browser upstream, setting the binding cookie.
    Redirect {
        /// The provider's authorization or SSO URL.
        url: String,
        /// The cookie that binds the answer to this browser.
        binding: Option<Binding>,
    },
    /// Show the password form.
    PasswordForm(PasswordPrompt),
}

/// A cookie value binding an upstream answer to the browser that started the sign-in.
#[derive(Debug)]
pub enum Binding {
    /// The login transaction of a redirect sign-in (a `SameSite=Lax` cookie).
    Login(Secret),
    /// The pending SAML request (a `SameSite=None` cookie: the IdP posts cross-site).
    Saml(Secret),
}

/// A password form ready to show: its own single-use transaction, bound to the browser.
#[derive(Debug)]
pub struct PasswordPrompt {
    /// The provider.
    pub provider: ProviderInfo,
    /// The transaction id (the form's hidden field).
    pub form_id: Secret,
    /// The browser's binding cookie (new when it had none).
    pub browser: Secret,
    /// Whether the form asks for a one-time code.
    pub ask_otp: bool,
    /// Whether it is an admin's test sign-in.
    pub test: bool,
}

/// The answer that finishes a sign-in.
#[derive(Debug)]
pub enum Answer<'r> {
    /// The redirect callback (RFC 6749 §4.1.2); `params` is `None` when unreadable.
    Redirect {
        /// The callback's query.
        params: Option<CallbackParams>,
        /// The login transaction cookie.
        login: Option<&'r Secret>,
    },
    /// The password form.
    Password(PasswordAnswer<'r>),
    /// A SAML response at the ACS (saml-bindings §3.5.4).
    Saml {
        /// The base64 `SAMLResponse`.
        response: &'r str,
        /// The `RelayState` (the target of an IdP-initiated sign-in).
        relay_state: Option<&'r str>,
        /// The SAML binding cookie.
        binding: Option<&'r Secret>,
    },
}

/// The fields of a submitted password form.
#[derive(Debug)]
pub struct PasswordAnswer<'r> {
    /// The form's transaction id.
    pub form_id: &'r str,
    /// The browser's binding cookie.
    pub browser: Option<&'r Secret>,
    /// The username, trimmed.
    pub username: &'r str,
    /// The password.
    pub password: Secret,
    /// The one-time code (empty when the form had none).
    pub otp: Secret,
}

/// A person who has just signed in.
#[derive(Debug)]
pub struct SignedIn {
    /// Who.
    pub identity: ExternalIdentity,
    /// Where they wanted to go (a path on this site).
    pub return_to: Option<String>,
    /// Set when this was an admin's test sign-in ([`Start::test_for`]): then it is shown
    /// to that admin and creates no session.
    pub test: Option<TestSignIn>,
    /// Set when this was the fresh sign-in of a step-up ([`SignIn::begin_step_up`]): then
    /// it continues that choice in the session that asked ([`SignIn::conclude_step_up`])
    /// and creates no session.
    pub step_up: Option<StepUpMark>,
}

/// The answer of an admin's test sign-in.
#[derive(Debug)]
pub struct TestSignIn {
    /// The digest of the admin's SSO session that started it.
    pub for_session: String,
    /// What the provider sent.
    pub evidence: Evidence,
}

/// A new SSO session. No derived `Debug`: the session holds its CSRF token.
pub struct Established {
    /// The session cookie's value.
    pub cookie: Secret,
    /// The session just created (so that the request can go on with it without reading it
    /// back).
    pub session: SsoSession,
    /// Where the browser goes next.
    pub go_to: String,
}

impl std::fmt::Debug for Established {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Established")
            .field("cookie", &self.cookie)
            .field("subject", &self.session.identity.qualified_subject())
            .field("go_to", &self.go_to)
            .finish_non_exhaustive()
    }
}

/// Why a sign-in could not begin or finish.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// No provider has this id (or it offers no browser sign-in).
    #[error("there is no identity provider \"{0}\"")]
    UnknownProvider(String),
    /// A password form was posted to a redirect provider.
    #[error("{} signs people in on its own page; there is no password form here", .0.display_name)]
    NoPasswordForm(Box<ProviderInfo>),
    /// A SAML provider's callback was called with GET.
    #[error(
        "this address receives the SAML identity provider's answer by HTTP POST; start at \
         the sign-in page"
    )]
    PostOnly,
    /// A SAML response was posted for a provider that is not a SAML provider.
    #[error("there is no SAML identity provider \"{0}\"")]
    NotSaml(String),
    /// A redirect sign-in failed.
    #[error("signing in with {} failed: {error}", provider.display_name)]
    Upstream {
        /// The provider.
        provider: Box<ProviderInfo>,
        /// What happened.
        error: UpstreamError,
    },
    /// A SAML sign-in was refused.
    #[error("signing in with {} was refused: {error}", provider.display_name)]
    Saml {
        /// The provider.
        provider: Box<ProviderInfo>,
        /// Why.
        error: SamlError,
        /// The state of the IdP's metadata.
        idp_state: crate::connectors::saml::IdpState,
    },
    /// Wrong username, password or code, or a locked account or address.
    #[error("the username or password is incorrect")]
    Refused {
        /// The provider.
        provider: Box<ProviderInfo>,
        /// Why, for the audit trail only.
        refusal: Box<Refusal>,
        /// The account by its hash ([`account_hash`]).
        account: String,
        /// Where the sign-in wanted to go (for the next form).
        return_to: Option<String>,
        /// The admin session of a test sign-in (for the next form).
        test_for: Option<String>,
    },
    /// The directory cannot be reached or is too slow.
    #[error("the directory of {} is unavailable", provider.display_name)]
    DirectoryUnavailable {
        /// The provider.
        provider: Box<ProviderInfo>,
        /// Where the sign-in wanted to go (for the next form).
        return_to: Option<String>,
        /// The admin session of a test sign-in (for the next form).
        test_for: Option<String>,
    },
    /// The password form was stale, used, or from another browser: nothing was checked.
    #[error("the password form of {} had expired or was already used", provider.display_name)]
    FormExpired {
        /// The provider.
        provider: Box<ProviderInfo>,
    },
    /// The session store failed.
    #[error(transparent)]
    Sso(#[from] SsoError),
    /// Anything else (a bug, a failed hashing task).
    #[error("{0}")]
    Internal(String),
}

impl SignInError {
    /// How this ended a sign-in; `None` when it was no sign-in attempt (an unknown
    /// provider, a wrong method) or the store failed.
    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            SignInError::Upstream { error, .. } => Some(match error {
                UpstreamError::Denied { .. }
                | UpstreamError::NotAllowed(_)
                | UpstreamError::Unreachable { .. }
                | UpstreamError::Tls { .. }
                | UpstreamError::Timeout { .. }
                | UpstreamError::Status { .. }
                | UpstreamError::Malformed { .. }
                | UpstreamError::Config(_) => Outcome::Failure,
                _ => Outcome::Refused,
            }),
            SignInError::Saml { error, .. } => Some(match error {
                SamlError::Status(_)
                | SamlError::NotReady
                | SamlError::Metadata(_)
                | SamlError::Config(_) => Outcome::Failure,
                _ => Outcome::Refused,
            }),
            SignInError::Refused { refusal, .. } if refusal.locked => Some(Outcome::Locked),
            SignInError::Refused { .. } | SignInError::DirectoryUnavailable { .. } => {
                Some(Outcome::Failure)
            }
            SignInError::FormExpired { .. } => Some(Outcome::Refused),
            SignInError::UnknownProvider(_)
            | SignInError::NoPasswordForm(_)
            | SignInError::PostOnly
            | SignInError::NotSaml(_)
            | SignInError::Sso(_)
            | SignInError::Internal(_) => None,
        }
    }

    /// Why, for the audit trail.
    fn reason(&self) -> String {
        match self {
            SignInError::Upstream { error, .. } => error.to_string(),
            SignInError::Saml { error, .. } => error.to_string(),
            SignInError::Refused { refusal, .. } => refusal.reason.to_owned(),
            SignInError::DirectoryUnavailable { .. } => "directory unavailable".to_owned(),
            SignInError::FormExpired { .. } => "password form expired or already used".to_owned(),
            other => other.to_string(),
        }
    }
}

/// The sign-in service over the broker's parts: built per request, as a struct of the
/// parts it borrows.
pub struct SignIn<'a> {
    /// SSO sessions and login transactions.
    pub sso: &'a Sso,
    /// The upstream providers.
    pub connectors: &'a Connectors,
    /// The clock.
    pub clock: &'a SharedClock,
    /// `[sign_in]`: lockout and login limits.
    pub limits: &'a SignInLimits,
    /// The audit trail.
    pub audit: &'a Audit,
    /// The metrics.
    pub metrics: &'a Metrics,
    /// Keeps recent sign-ins for the trust simulator (`[admin] record_claims`).
    pub recorder: &'a SignInRecorder,
}

impl<'a> SignIn<'a> {
    /// The provider `id` if people may sign in with it in a browser.
    pub fn provider(&self, id: &str) -> Result<&'a ProviderInfo, SignInError> {
        self.browser_provider(id).map(|(info, _)| info)
    }

    /// The one provider people may sign in with in a browser, when there is exactly one and
    /// it signs them in on its own page (OpenID Connect, OAuth2, SAML): nothing to choose
    /// and no form of Lanyard's to show, so a sign-in can go straight there. `None` with
    /// several providers, or with a password provider (local, LDAP), whose form is a page
    /// of its own (`/auth/{provider}`).
    pub fn sole_upstream(&self) -> Option<&'a ProviderInfo> {
        let mut browser = self
            .connectors
            .providers()
            .iter()
            .filter(|p| self.connectors.offers_browser_sign_in(&p.id));
        let (only, None) = (browser.next()?, browser.next()) else {
            return None;
        };
        match self.connectors.get(only.id.as_str())?.1 {
            Connector::Oidc(_) | Connector::Github(_) | Connector::Saml(_) => Some(only),
            Connector::Local(_) | Connector::Ldap(_) => None,
        }
    }

    fn browser_provider(&self, id: &str) -> Result<(&'a ProviderInfo, &'a Connector), SignInError> {
        self.connectors
            .get(id)
            .filter(|(info, _)| self.connectors.offers_browser_sign_in(&info.id))
            .ok_or_else(|| unknown(id))
    }

    /// Starts a sign-in with `provider`: a fresh, single-use login transaction, then the
    /// way upstream or the password form.
    pub async fn begin(&self, provider: &str, start: Start) -> Result<Begun, SignInError> {
        let (info, connector) = self.browser_provider(provider)?;
        let return_to = safe_return_to(start.return_to.as_deref());
        let hint = clean_login_hint(start.login_hint.as_deref());
        let login = UpstreamLogin::fresh();
        let now = self.clock.now();
        if let (Some(parked), Connector::Local(_) | Connector::Ldap(_) | Connector::Saml(_)) =
            (&start.park_with, connector)
        {
            // These keep no login transaction of the same shape: stored on its own.
            let store = self.sso.store();
            store
                .put(&parked.key, &parked.value, parked.ttl)
                .await
                .map_err(SsoError::from)?;
        }
        let url = match connector {
            Connector::Local(_) | Connector::Ldap(_) => {
                let prompt =
                    self.password_form_for(provider, (return_to, start.test_for), start.browser);
                return prompt.await.map(Begun::PasswordForm);
            }
            Connector::Saml(saml) => {
                let bind = start.bind_saml_browser;
                return self
                    .begin_saml(info, saml, (return_to, start.test_for), bind)
                    .await;
            }
            Connector::Oidc(c) => c.authorization_url(&login, hint.as_deref(), now).await,
            Connector::Github(c) => c.authorization_url(&login, hint.as_deref()),
        }
        .map_err(|error| upstream(info, error))?;
        let (cookie, _) = self
            .sso
            .begin_login_parking(
                info.id.clone(),
                (return_to, start.test_for),
                Some(login),
                start.park_with.as_ref(),
            )
            .await?;
        Ok(Begun::Redirect {
            url: url.to_string(),
            binding: Some(Binding::Login(cookie)),
        })
    }

    /// A password form of `provider` with a fresh transaction of its own, bound to the
    /// browser holding `browser` (a new binding when `None`). Another tab's form keeps its
    /// own transaction.
    pub async fn password_form(
        &self,
        provider: &str,
        return_to: Option<String>,
        browser: Option<Secret>,
    ) -> Result<PasswordPrompt, SignInError> {
        self.password_form_for(provider, (return_to, None), browser)
            .await
    }

    /// [`SignIn::password_form`], for an admin's test sign-in when `test_for` is set (the
    /// fresh form after a refused attempt of a test keeps it: [`SignInError::Refused`]).
    pub async fn password_form_for(
        &self,
        provider: &str,
        (return_to, test_for): (Option<String>, Option<String>),
        browser: Option<Secret>,
    ) -> Result<PasswordPrompt, SignInError> {
        let (info, connector) = self
            .connectors
            .get(provider)
            .ok_or_else(|| unknown(provider))?;
        if !matches!(connector, Connector::Local(_) | Connector::Ldap(_)) {
            return Err(SignInError::NoPasswordForm(Box::new(info.clone())));
        }
        let ask_otp = matches!(connector, Connector::Local(dir) if dir.has_totp());
        let browser = browser.unwrap_or_else(random_id);
        let test = test_for.is_some();
        let (form_id, _) = self
            .sso
            .begin_form_login(
                info.id.clone(),
                (return_to, test_for),
                browser.expose_secret(),
            )
            .await?;
        Ok(PasswordPrompt {
            provider: info.clone(),
            form_id,
            browser,
            ask_otp,
            test,
        })
    }

    async fn begin_saml(
        &self,
        info: &ProviderInfo,
        saml: &SamlConnector,
        (return_to, test_for): (Option<String>, Option<String>),
        bind_browser: bool,
    ) -> Result<Begun, SignInError> {
        let (request_id, url) = saml
            .authn_request(self.clock.now(), None)
            .map_err(|e| saml_refused(info, saml, e))?;
        let binding = bind_browser.then(random_id);
        saml.remember_request(
            self.sso.store().as_ref(),
            &request_id,
            return_to,
            (
                binding.as_ref().map(|b| digest(b.expose_secret())),
                test_for,
            ),
            self.clock.now(),
        )
        .await
        .map_err(SsoError::from)?;
        tracing::info!(provider = %info.id, "SAML AuthnRequest sent");
        Ok(Begun::Redirect {
            url,
            binding: binding.map(Binding::Saml),
        })
    }

    /// Finishes a sign-in with `provider` from its answer; counts and audits the outcome.
    pub async fn finish(
        &self,
        provider: &str,
        answer: Answer<'_>,
        facts: &RequestFacts,
    ) -> Result<SignedIn, SignInError> {
        let Some((info, connector)) = self.connectors.get(provider) else {
            return Err(match answer {
                Answer::Saml { .. } => SignInError::NotSaml(shortened(provider)),
                _ => unknown(provider),
            });
        };
        let result = match answer {
            Answer::Redirect { params, login } => {
                self.finish_redirect(info, connector, params, login).await
            }
            Answer::Password(p) => self.finish_password(info, connector, p, facts).await,
            Answer::Saml {
                response,
                relay_state,
                binding,
            } => {
                let Connector::Saml(saml) = connector else {
                    return Err(SignInError::NotSaml(shortened(provider)));
                };
                self.finish_saml(info, saml, response, relay_state, binding)
                    .await
            }
        };
        self.record(&info.id, &result, facts).await;
        result
    }

    async fn finish_redirect(
        &self,
        info: &ProviderInfo,
        connector: &Connector,
        params: Option<CallbackParams>,
        login_cookie: Option<&Secret>,
    ) -> Result<SignedIn, SignInError> {
        if matches!(connector, Connector::Saml(_)) {
            return Err(SignInError::PostOnly);
        }
        let fail = |error| upstream(info, error);
        let params = params.ok_or_else(|| fail(UpstreamError::MissingCode))?;
        let cookie = login_cookie.ok_or_else(|| fail(UpstreamError::UnknownTransaction))?;
        // Checked, then taken: a forged answer (wrong `state`) leaves the sign-in in
        // progress alone; a matching one takes it atomically, so it cannot be used again.
        let txn = match self
            .sso
            .take_login_if(cookie.expose_secret(), |txn| {
                txn.provider == info.id && params.answers(txn.upstream.as_ref())
            })
            .await?
        {
            Claim::Taken(txn) => txn,
            Claim::Refused => return Err(fail(UpstreamError::StateMismatch)),
            Claim::Absent => return Err(fail(UpstreamError::UnknownTransaction)),
        };
        let Some(login) = txn.upstream else {
            return Err(fail(UpstreamError::UnknownTransaction));
        };
        let code = params.code_for(&login).map_err(fail)?;
        let now = self.clock.now();
        let keep = txn.test_for.is_some();
        let (identity, evidence) = match connector {
            Connector::Oidc(c) => c
                .finish_with(&code, params.iss.as_deref(), &login, now, keep)
                .await
                .map(|(i, e)| (i, e.map(Evidence::Oidc))),
            Connector::Github(c) => c.finish(&code, &login, now).await.map(|i| (i, None)),
            Connector::Local(_) | Connector::Ldap(_) | Connector::Saml(_) => {
                Err(UpstreamError::UnknownTransaction)
            }
        }
        .map_err(fail)?;
        Ok(SignedIn {
            identity,
            return_to: txn.return_to,
            test: test_sign_in(txn.test_for, evidence),
            step_up: txn.step_up,
        })
    }

    async fn finish_password(
        &self,
        info: &ProviderInfo,
        connector: &Connector,
        answer: PasswordAnswer<'_>,
        facts: &RequestFacts,
    ) -> Result<SignedIn, SignInError> {
        if !matches!(connector, Connector::Local(_) | Connector::Ldap(_)) {
            return Err(SignInError::NoPasswordForm(Box::new(info.clone())));
        }
        let browser = answer.browser.map(Secret::expose_secret);
        let claim = self
            .sso
            .take_form_login(answer.form_id, &info.id, browser)
            .await?;
        // A step-up's code form is answered at its own address (`finish_code`), never here.
        let txn = match claim {
            Claim::Taken(txn) if txn.step_up.is_none() => txn,
            _ => {
                return Err(SignInError::FormExpired {
                    provider: Box::new(info.clone()),
                });
            }
        };
        let service = PasswordSignIn::new(
            Arc::clone(self.sso.store()),
            Arc::clone(self.clock),
            self.limits.clone(),
        );
        let attempt = Attempt {
            provider: &info.id,
            connector,
            username: answer.username,
            password: &answer.password,
            otp: (!answer.otp.is_empty()).then(|| answer.otp.expose_secret()),
            source_ip: facts.source_ip,
            code_only: false,
        };
        let return_to = txn.return_to;
        match service.sign_in(attempt).await {
            Ok(identity) => Ok(SignedIn {
                identity,
                return_to,
                test: test_sign_in(txn.test_for, None),
                step_up: None,
            }),
            Err(PasswordError::Refused(refusal)) => Err(SignInError::Refused {
                test_for: txn.test_for,
                provider: Box::new(info.clone()),
                refusal: Box::new(refusal),
                account: account_hash(&info.id, answer.username),
                return_to,
            }),
            Err(PasswordError::DirectoryUnavailable(_)) => Err(SignInError::DirectoryUnavailable {
                test_for: txn.test_for,
                provider: Box::new(info.clone()),
                return_to,
            }),
            Err(PasswordError::Store(e)) => Err(SsoError::Store(e).into()),
            Err(PasswordError::Internal(e)) => Err(SignInError::Internal(e)),
        }
    }

    async fn finish_saml(
        &self,
        info: &ProviderInfo,
        saml: &SamlConnector,
        response: &str,
        relay_state: Option<&str>,
        binding: Option<&Secret>,
    ) -> Result<SignedIn, SignInError> {
        let presenter = Presenter::Browser(binding.map(Secret::expose_secret));
        let accepted = match saml
            .accept(
                self.sso.store().as_ref(),
                response,
                presenter,
                self.clock.now(),
            )
            .await
        {
            Ok(a) => a,
            Err(AcceptError::Store(e)) => return Err(SsoError::from(e).into()),
            Err(AcceptError::Saml(e)) => return Err(saml_refused(info, saml, e)),
        };
        tracing::info!(
            provider = %info.id,
            subject = %accepted.identity.subject,
            unsolicited = accepted.unsolicited,
            mfa = accepted.identity.mfa,
            "SAML assertion accepted"
        );
        // An IdP-initiated sign-in goes where its RelayState says, if that is on this site.
        let return_to = if accepted.unsolicited {
            safe_return_to(relay_state)
        } else {
            accepted.return_to
        };
        Ok(SignedIn {
            identity: accepted.identity,
            return_to,
            test: test_sign_in(accepted.test_for, accepted.evidence.map(Evidence::Saml)),
            step_up: accepted.step_up,
        })
    }

    /// After any successful sign-in: ends the browser's previous SSO session (`previous`,
    /// its cookie), creates a fresh one (a new cookie value, so a fixated id is useless),
    /// and says where to go next.
    pub async fn establish(
        &self,
        signed_in: SignedIn,
        previous: Option<&Secret>,
    ) -> Result<Established, SignInError> {
        if signed_in.step_up.is_some() || signed_in.test.is_some() {
            return Err(SignInError::Internal(
                "a test or step-up sign-in never becomes a session of its own".to_owned(),
            ));
        }
        if let Some(old) = previous {
            self.sso.end(old.expose_secret()).await?;
        }
        let identity = signed_in.identity;
        tracing::info!(provider = %identity.provider, subject = %identity.subject, "signed in");
        let (cookie, session) = self.sso.create(identity).await?;
        Ok(Established {
            cookie,
            session,
            go_to: signed_in
                .return_to
                .unwrap_or_else(|| DEFAULT_RETURN_TO.to_owned()),
        })
    }

    /// Ends `session` (its cookie `cookie`) and its role sessions; audited.
    pub async fn sign_out(
        &self,
        cookie: &Secret,
        session: &SsoSession,
        facts: &RequestFacts,
    ) -> Result<(), SignInError> {
        self.sso.end(cookie.expose_secret()).await?;
        let identity = &session.identity;
        tracing::info!(subject = %identity.qualified_subject(), "signed out");
        let mut event = event(EventKind::SignOut, &identity.provider, facts);
        event.subject = Some(identity.subject.clone());
        self.audit.note(event).await;
        Ok(())
    }

    /// Counts and audits a finished sign-in.
    async fn record(
        &self,
        provider: &ProviderId,
        result: &Result<SignedIn, SignInError>,
        facts: &RequestFacts,
    ) {
        let error = match result {
            Ok(signed_in) => {
                self.metrics
                    .signin(provider.as_str(), Outcome::Success.as_str());
                let identity = &signed_in.identity;
                let mut e = event(EventKind::SignInSucceeded, provider, facts);
                e.subject = Some(identity.subject.clone());
                e.detail = json!({ "mfa": identity.mfa, "amr": identity.amr });
                if signed_in.test.is_some() {
                    // An admin's test sign-in: in the trail, told apart from a real one.
                    e.detail["test"] = json!(true);
                }
                if let Some(mark) = &signed_in.step_up {
                    // A step-up's fresh sign-in (issue 17), for the role it asked for.
                    e.detail["step_up"] = json!(true);
                    e.detail["role"] = json!(mark.next.role().map_or("", |r| r.as_str()));
                }
                // Off the sign-in's path: spawned, never waited for.
                self.recorder.record(identity, self.clock.now_ms());
                return self.audit.note(e).await;
            }
            Err(error) => error,
        };
        let Some(outcome) = error.outcome() else {
            return;
        };
        self.metrics.signin(provider.as_str(), outcome.as_str());
        let mut failed = event(EventKind::SignInFailed, provider, facts);
        failed.reason = Some(error.reason());
        failed.detail = json!({ "outcome": outcome.as_str() });
        if let SignInError::Refused {
            refusal, account, ..
        } = error
        {
            failed.detail = json!({ "outcome": outcome.as_str(), "account": account });
            for lock in &refusal.locks {
                let mut locked = event(EventKind::SignInLocked, provider, facts);
                locked.reason = Some(format!("{} after {} failures", lock.locked, lock.failures));
                locked.detail = json!({
                    "locked": lock.locked,
                    "account": account,
                    "failures": lock.failures,
                    "lock_secs": lock.duration.as_secs(),
                });
                self.audit.note(locked).await;
            }
        }
        self.audit.note(failed).await;
    }
}

/// The test sign-in of the admin session `test_for`, if it is one; a connector that keeps
/// no evidence of its own answered with the identity alone.
fn test_sign_in(test_for: Option<String>, evidence: Option<Evidence>) -> Option<TestSignIn> {
    test_for.map(|for_session| TestSignIn {
        for_session,
        evidence: evidence.unwrap_or(Evidence::Identity),
    })
}

/// An event of `kind` at `provider` with the request's facts.
fn event(kind: EventKind, provider: &ProviderId, facts: &RequestFacts) -> AuditEvent {
    let mut e = AuditEvent::new(kind, facts.now.millis());
    e.provider = Some(provider.to_string());
    e.source_ip = facts.source_ip.map(|ip| ip.to_string());
    e.user_agent.clone_from(&facts.user_agent);
    e
}

/// An id from a URL as it may appear in an answer: at most 64 characters.
fn shortened(id: &str) -> String {
    id.chars().take(64).collect()
}

fn unknown(id: &str) -> SignInError {
    SignInError::UnknownProvider(shortened(id))
}

fn upstream(info: &ProviderInfo, error: UpstreamError) -> SignInError {
    SignInError::Upstream {
        provider: Box::new(info.clone()),
        error,
    }
}

/// Logs the precise reason of a SAML refusal.
fn saml_refused(info: &ProviderInfo, saml: &SamlConnector, error: SamlError) -> SignInError {
    tracing::warn!(provider = %info.id, reason = %error, "SAML sign-in refused");
    SignInError::Saml {
        provider: Box::new(info.clone()),
        error,
        idp_state: saml.idp_state(),
    }
}

#[cfg(test)]
mod tests;
