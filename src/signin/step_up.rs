//! Step-up MFA per role (issue 17): a signed-in person picks a role whose trust policy
//! needs a second factor (`aws:MultiFactorAuthPresent`) or a recent one
//! (`aws:MultiFactorAuthAge`) that their sign-in lacks; they sign in again, and the
//! choice goes on only if the fresh sign-in brings the second factor.
//!
//! - [`SignIn::begin_step_up`] asks the person's own provider for a fresh authentication
//!   with a second factor: an OpenID provider with `prompt=login`, `max_age=0` and its MFA
//!   `acr_values` (OpenID Connect Core §3.1.2.1), a SAML IdP with `ForceAuthn="true"` and a
//!   `RequestedAuthnContext` of its MFA class refs (saml-core §3.4.1), a local user with a
//!   form for their one-time code (RFC 6238). What comes next ([`StepUpNext`]: the role
//!   choice, the application's request, the decision or the device approval) travels in
//!   the fresh sign-in's single-use transaction as a [`StepUpMark`], with the SSO session
//!   that asked and the person it is for.
//! - The answer comes back through the usual callback, ACS or [`SignIn::finish_code`] as a
//!   [`SignedIn`] carrying the mark; it never becomes a session of its own.
//! - [`SignIn::conclude_step_up`] then checks it against the session the browser holds:
//!   the same session that asked, the same person (a step-up that comes back as somebody
//!   else is refused and audited, never a silent switch), a second factor (the provider's
//!   MFA `acr` or `amr`, the SAML MFA class ref, or the code), and an authentication newer
//!   than the step-up (the ID token's `auth_time`, the assertion's `AuthnInstant`). Only
//!   then are the session's MFA facts (present, `amr`, the time) updated, which is what
//!   `aws:MultiFactorAuthAge` is measured from afterwards. The role itself is decided again
//!   by the caller, by the trust evaluator, on the updated person: the mark alone grants
//!   nothing.
//! - An application's authorization request asking for a second factor (`acr_values`,
//!   `max_age`; `op::authorize`) starts the same step-up before any role is chosen
//!   ([`StepUpNext::Authorization`]); its answer is checked the same way, and the
//!   request goes on to the picker.
//! - The same step-up confirms an approver's second factor before a decision on an access
//!   request: the mark then names the request ([`StepUpNext::Decision`], with the comment
//!   typed) instead of a role choice, and the person goes back to the request's page, where
//!   the elevation service decides on the updated session.
//! - The device page (RFC 8628) starts it for a role chosen with Approve
//!   ([`StepUpNext::Device`], the user code kept): the device sign-in is approved after the
//!   answer, the trust policy asked again on the updated person.
//!
//! May import: `connectors`, `sso`, `session`, `audit`, `identity`, `roles`, `clock`,
//! `secret`.

use std::sync::Arc;

use serde_json::json;

use super::password::{Attempt, PasswordError, PasswordSignIn, account_hash};
use super::{Binding, SignIn, SignInError, SignedIn, event, saml_refused, upstream};
use crate::audit::EventKind;
use crate::connectors::upstream::UpstreamLogin;
use crate::connectors::{Connector, ProviderInfo};
use crate::identity::{ExternalIdentity, StepUpMark, StepUpNext};
use crate::roles::RequestFacts;
use crate::secret::Secret;
use crate::session::{digest, random_id};
use crate::sso::{Claim, Sso, SsoError, SsoSession};

/// What a step-up starts from: the session that asks and the choice it continues.
pub struct StepUpStart<'r> {
    /// The SSO session's cookie (its handle goes into the mark).
    pub cookie: &'r Secret,
    /// The SSO session.
    pub session: &'r SsoSession,
    /// What the step-up goes on to (a length in it is already checked).
    pub next: StepUpNext,
    /// The browser's binding cookie of forms, when it has one.
    pub browser: Option<Secret>,
    /// Whether a SAML step-up binds its pending request to the browser with a cross-site
    /// cookie (only possible over https).
    pub bind_saml_browser: bool,
}

/// A started step-up.
#[derive(Debug)]
pub enum StepUpBegun {
    /// Send the browser to the provider, setting the binding cookie.
    Redirect {
        /// The provider's authorization or SSO URL.
        url: String,
        /// The cookie that binds the answer to this browser.
        binding: Option<Binding>,
    },
    /// Show the one-time code form.
    CodeForm(CodePrompt),
}

/// A one-time code form ready to show: its own single-use transaction, bound to the
/// browser.
#[derive(Debug)]
pub struct CodePrompt {
    /// The provider (a local directory).
    pub provider: ProviderInfo,
    /// Who is asked for their code.
    pub username: String,
    /// What the code is for (which the form says, and where its cancel link goes).
    pub next: StepUpNext,
    /// The transaction id (the form's hidden field).
    pub form_id: Secret,
    /// The browser's binding cookie (new when it had none).
    pub browser: Secret,
}

/// Why a step-up could not begin, or its answer was refused.
#[derive(Debug, thiserror::Error)]
pub enum StepUpError {
    /// The person's provider cannot be asked for a second factor (LDAP, GitHub, a local
    /// user without a TOTP secret).
    #[error("{} cannot ask for a second factor", .0.display_name)]
    NoSecondFactor(Box<ProviderInfo>),
    /// The person's provider is not configured any more.
    #[error("the identity provider \"{0}\" is not configured any more")]
    ProviderGone(String),
    /// The answer is not for the SSO session this browser holds (or it holds none).
    #[error("the step-up was started in another session")]
    OtherSession,
    /// The fresh sign-in named another person than the session's.
    #[error("the fresh sign-in was {got}, the session is {expected}")]
    OtherPerson {
        /// The session's person (`{provider}:{subject}`).
        expected: String,
        /// Who signed in (`{provider}:{subject}`).
        got: String,
    },
    /// The fresh sign-in brought no second factor (or not one of the provider's MFA
    /// `acr` values).
    #[error("the fresh sign-in used no second factor")]
    NoSecondFactorUsed,
    /// The fresh sign-in's authentication is not newer than the step-up (or its time is
    /// missing).
    #[error("the fresh sign-in's authentication is older than the step-up")]
    NotFresh,
    /// The code form had expired, was used, or came from another browser.
    #[error("the one-time code form had expired or was already used")]
    FormExpired,
    /// The one-time code was wrong, already used, or the account is locked: a fresh form
    /// for the same choice may be shown.
    #[error("the one-time code is incorrect")]
    WrongCode(Box<StepUpMark>),
    /// The fresh sign-in failed.
    #[error(transparent)]
    SignIn(#[from] SignInError),
    /// The session store failed.
    #[error(transparent)]
    Sso(#[from] SsoError),
}

impl SignIn<'_> {
    /// Starts a step-up for `start`'s choice at the session's own provider.
    pub async fn begin_step_up(&self, start: StepUpStart<'_>) -> Result<StepUpBegun, StepUpError> {
        let identity = &start.session.identity;
        let Some((info, connector)) = self.connectors.get(identity.provider.as_str()) else {
            return Err(StepUpError::ProviderGone(identity.provider.to_string()));
        };
        let now = self.clock.now();
        let mark = StepUpMark {
            session: Sso::session_ref(start.cookie.expose_secret()),
            provider: identity.provider.clone(),
            subject: identity.subject.clone(),
            begun_at: now,
            next: start.next,
        };
        tracing::info!(
            provider = %info.id,
            subject = %identity.qualified_subject(),
            next = ?mark.next,
            "step-up begun"
        );
        match connector {
            Connector::Oidc(c) => {
                let login = UpstreamLogin::fresh();
                let url = c
                    .step_up_url(&login, Some(identity.username.as_str()), now)
                    .await
                    .map_err(|e| upstream(info, e))?;
                let cookie = self.sso.begin_step_up(mark, Some(login), "").await?;
                Ok(StepUpBegun::Redirect {
                    url: url.to_string(),
                    binding: Some(Binding::Login(cookie)),
                })
            }
            Connector::Saml(saml) => {
                let (request_id, url) = saml
                    .step_up_request(now)
                    .map_err(|e| saml_refused(info, saml, e))?;
                let binding = start.bind_saml_browser.then(random_id);
                let bound = binding.as_ref().map(|b| digest(b.expose_secret()));
                let store = self.sso.store().as_ref();
                saml.remember_step_up(store, &request_id, mark, bound, now)
                    .await
                    .map_err(SsoError::from)?;
                Ok(StepUpBegun::Redirect {
                    url,
                    binding: binding.map(Binding::Saml),
                })
            }
            Connector::Local(dir) if dir.has_totp_for(&identity.subject) => self
                .code_form(mark, start.browser)
                .await
                .map(StepUpBegun::CodeForm),
            Connector::Local(_) | Connector::Ldap(_) | Connector::Github(_) => {
                Err(StepUpError::NoSecondFactor(Box::new(info.clone())))
            }
        }
    }

    /// A one-time code form for `mark` with a fresh transaction of its own, bound to the
    /// browser holding `browser` (a new binding when `None`): the first one, or the next
    /// after a wrong code.
    pub async fn code_form(
        &self,
        mark: StepUpMark,
        browser: Option<Secret>,
    ) -> Result<CodePrompt, StepUpError> {
        let Some((info, _)) = self.connectors.get(mark.provider.as_str()) else {
            return Err(StepUpError::ProviderGone(mark.provider.to_string()));
        };
        let browser = browser.unwrap_or_else(random_id);
        let (username, next) = (mark.subject.clone(), mark.next.clone());
        let form_id = self
            .sso
            .begin_step_up(mark, None, browser.expose_secret())
            .await?;
        Ok(CodePrompt {
            provider: info.clone(),
            username,
            next,
            form_id,
            browser,
        })
    }

    /// Finishes a local user's step-up from their code form: the transaction `form_id`
    /// (bound to the browser holding `browser`) is taken, then the code is checked as the
    /// password form checks one (the same attempt limits, lockout and replay protection).
    /// Counted and audited as a sign-in.
    pub async fn finish_code(
        &self,
        form_id: &str,
        browser: Option<&Secret>,
        otp: &Secret,
        facts: &RequestFacts,
    ) -> Result<SignedIn, StepUpError> {
        let mark = self.take_code_form(form_id, browser).await?;
        let Some((info, connector)) = self.connectors.get(mark.provider.as_str()) else {
            return Err(StepUpError::ProviderGone(mark.provider.to_string()));
        };
        let service = PasswordSignIn::new(
            Arc::clone(self.sso.store()),
            Arc::clone(self.clock),
            self.limits.clone(),
        );
        let attempt = Attempt {
            provider: &info.id,
            connector,
            username: &mark.subject,
            password: &Secret::new(""),
            otp: (!otp.is_empty()).then(|| otp.expose_secret()),
            source_ip: facts.source_ip,
            code_only: true,
        };
        let result = match service.sign_in(attempt).await {
            Ok(identity) => Ok(SignedIn {
                identity,
                return_to: None,
                test: None,
                step_up: Some(mark.clone()),
            }),
            Err(PasswordError::Refused(refusal)) => Err(SignInError::Refused {
                provider: Box::new(info.clone()),
                refusal: Box::new(refusal),
                account: account_hash(&info.id, &mark.subject),
                return_to: None,
                test_for: None,
            }),
            Err(PasswordError::DirectoryUnavailable(_)) => Err(SignInError::DirectoryUnavailable {
                provider: Box::new(info.clone()),
                return_to: None,
                test_for: None,
            }),
            Err(PasswordError::Store(e)) => Err(SsoError::Store(e).into()),
            Err(PasswordError::Internal(e)) => Err(SignInError::Internal(e)),
        };
        self.record(&info.id, &result, facts).await;
        match result {
            Ok(signed_in) => Ok(signed_in),
            Err(SignInError::Refused { .. }) => Err(StepUpError::WrongCode(Box::new(mark))),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes the code form's transaction `form_id` if this browser started it for a
    /// step-up.
    async fn take_code_form(
        &self,
        form_id: &str,
        browser: Option<&Secret>,
    ) -> Result<StepUpMark, StepUpError> {
        if form_id.is_empty() || form_id.len() > 128 {
            return Err(StepUpError::FormExpired);
        }
        let browser = browser.map(Secret::expose_secret);
        // The provider is checked by the mark inside: any provider's form id is looked up.
        let claim = self.sso.take_step_up_form(form_id, browser).await?;
        match claim {
            Claim::Taken(mark) => Ok(mark),
            Claim::Refused | Claim::Absent => Err(StepUpError::FormExpired),
        }
    }

    /// Checks the answer of a step-up (`fresh`, who signed in, for `mark`) against the SSO
    /// session the browser holds (`cookie`, `session`), then records its second factor in
    /// that session: present, its `amr` added, and its time as the session's
    /// authentication time (what `aws:MultiFactorAuthAge` is measured from). A refusal is
    /// audited (`signin.failed` with the reason) and leaves the session as it was.
    pub async fn conclude_step_up(
        &self,
        (cookie, session): (&Secret, &mut SsoSession),
        (fresh, mark): (&ExternalIdentity, &StepUpMark),
        facts: &RequestFacts,
    ) -> Result<(), StepUpError> {
        let checked = self.check_step_up((cookie, &*session), fresh, mark);
        if let Err(e) = &checked {
            tracing::warn!(
                provider = %mark.provider,
                session_subject = %session.identity.qualified_subject(),
                fresh_subject = %fresh.qualified_subject(),
                reason = %e,
                "step-up refused"
            );
            let mut refused = event(EventKind::SignInFailed, &fresh.provider, facts);
            refused.subject = Some(fresh.subject.clone());
            refused.reason = Some(format!("step-up: {e}"));
            refused.detail = json!({
                "outcome": "refused",
                "step_up": true,
                "role": mark.next.role().map_or("", |r| r.as_str()),
                "session_subject": session.identity.qualified_subject(),
            });
            self.audit.note(refused).await;
            return checked;
        }
        let identity = &mut session.identity;
        identity.mfa = true;
        for method in &fresh.amr {
            if !identity.amr.contains(method) {
                identity.amr.push(method.clone());
            }
        }
        identity.auth_time = fresh.auth_time;
        self.sso.save(cookie.expose_secret(), session).await?;
        tracing::info!(
            subject = %session.identity.qualified_subject(),
            next = ?mark.next,
            "stepped up with a second factor"
        );
        Ok(())
    }

    /// The checks of [`SignIn::conclude_step_up`], in order.
    fn check_step_up(
        &self,
        (cookie, session): (&Secret, &SsoSession),
        fresh: &ExternalIdentity,
        mark: &StepUpMark,
    ) -> Result<(), StepUpError> {
        let here = Secret::new(Sso::session_ref(cookie.expose_secret()));
        if here != Secret::new(mark.session.as_str()) {
            return Err(StepUpError::OtherSession);
        }
        let person = &session.identity;
        let same = fresh.provider == person.provider
            && fresh.subject == person.subject
            && mark.provider == person.provider
            && mark.subject == person.subject;
        if !same {
            return Err(StepUpError::OtherPerson {
                expected: person.qualified_subject(),
                got: fresh.qualified_subject(),
            });
        }
        if !fresh.mfa {
            return Err(StepUpError::NoSecondFactorUsed);
        }
        if let Some((_, Connector::Oidc(c))) = self.connectors.get(fresh.provider.as_str()) {
            // The provider's own word: one of its MFA `acr` values when it has any, and
            // the `auth_time` that `max_age` obliges it to send (Core §3.1.2.1).
            let acr = claim_text(fresh, "acr");
            if !c.mfa_acr_values().is_empty()
                && !acr.is_some_and(|a| c.mfa_acr_values().iter().any(|m| m == a))
            {
                return Err(StepUpError::NoSecondFactorUsed);
            }
            let sent = claim_text(fresh, "auth_time").and_then(|t| t.parse::<i64>().ok());
            if sent != Some(fresh.auth_time.secs()) {
                return Err(StepUpError::NotFresh);
            }
        }
        if fresh.auth_time.secs() < mark.begun_at.secs() {
            return Err(StepUpError::NotFresh);
        }
        Ok(())
    }
}

/// A single-valued raw claim of `identity`, if it has one.
fn claim_text<'i>(identity: &'i ExternalIdentity, name: &str) -> Option<&'i str> {
    match identity.claims.get(name) {
        Some(crate::identity::ClaimValue::One(v)) => Some(v.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::UnixTime;
    use crate::identity::{ClaimValue, ProviderId, ProviderKind};

    fn person(subject: &str) -> ExternalIdentity {
        ExternalIdentity {
            provider: ProviderId::new("corp"),
            provider_kind: ProviderKind::Local,
            subject: subject.into(),
            username: subject.into(),
            email: None,
            email_verified: false,
            display_name: None,
            groups: vec![],
            amr: vec!["pwd".into()],
            mfa: false,
            auth_time: UnixTime::from_secs(100),
            tags: Default::default(),
            claims: Default::default(),
        }
    }

    #[test]
    fn a_claim_is_read_only_when_single_valued() {
        let mut i = person("alice");
        i.claims
            .insert("acr".into(), ClaimValue::One("urn:mfa".into()));
        i.claims
            .insert("amr".into(), ClaimValue::Many(vec!["otp".into()]));
        assert_eq!(claim_text(&i, "acr"), Some("urn:mfa"));
        assert_eq!(claim_text(&i, "amr"), None);
        assert_eq!(claim_text(&i, "auth_time"), None);
    }
}
