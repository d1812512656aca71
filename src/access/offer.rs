//! The browser's role offer and choice (`GET /roles`, `POST /roles`): which roles a signed-in
//! person may pick, narrowed to an application's allowed roles when the visit completes an
//! authorization request, and the grant for the role picked. Both use the trust evaluator
//! of `roles`, so the list shown and the grant issued come from one decision rule; a POST
//! evaluates the chosen role alone instead of the whole list again.
//!
//! Roles that need approval (`[roles.approval]`) are never granted by the evaluator alone:
//! the picker lists those the person may request ([`RoleCatalog::requestable`]), so a
//! person who may request one always sees the picker ([`with_requestable`]), and choosing
//! one takes the elevation service's decision ([`Issuer::choose_approved`]).
//!
//! May import: `roles`, `identity`, `audit`, `clock` (the `UnixTime` type).

use crate::access::{Attempt, CredentialIssuer, Issuer};
use crate::clock::UnixTime;
use crate::identity::{ExternalIdentity, RoleName};
use crate::roles::{
    Caller, MAX_SESSION_SECS, MIN_SESSION_SECS, RequestFacts, RoleCatalog, TrustGrant, TrustRefusal,
};

/// Who a role choice is for.
#[derive(Debug, Clone, Copy)]
pub enum Audience<'a> {
    /// The person: credentials on the credentials page.
    Person,
    /// An application completing an authorization request: only its allowed roles, and a
    /// session at least this fresh (`prompt=login`, `max_age`).
    Client {
        /// The client's `allowed_roles`.
        allowed_roles: &'a [RoleName],
        /// The earliest acceptable `auth_time`.
        min_auth_time: Option<UnixTime>,
    },
}

impl Audience<'_> {
    /// Whether the sign-in is recent enough for the application.
    pub fn fresh_enough(&self, identity: &ExternalIdentity) -> bool {
        match self {
            Audience::Client {
                min_auth_time: Some(m),
                ..
            } => identity.auth_time >= *m,
            _ => true,
        }
    }

    /// Whether the application may receive `role` (a person may receive any).
    pub fn allows(&self, role: &str) -> bool {
        match self {
            Audience::Person => true,
            Audience::Client { allowed_roles, .. } => allowed_roles.iter().any(|r| r == role),
        }
    }
}

/// What `GET /roles` shows.
#[derive(Debug)]
pub enum Offer {
    /// Exactly one role fits and no role needs a second factor: go straight on.
    Issue(Box<TrustGrant>),
    /// Several roles fit, or some would with a fresh second factor: the picker, which
    /// offers the latter with a step-up (a fresh sign-in when picked).
    Pick {
        /// The grants, in config order.
        grants: Vec<TrustGrant>,
        /// Names of roles that need a second factor this sign-in lacks (or has used too
        /// long ago for the role's `aws:MultiFactorAuthAge`).
        needing_mfa: Vec<RoleName>,
    },
    /// No role fits, not even with a fresh second factor (`needing_mfa` is then empty; it
    /// stays for the pages that name such roles).
    NoRole {
        /// Names of roles that need a second factor this sign-in lacks.
        needing_mfa: Vec<RoleName>,
    },
    /// The sign-in is too old for the application: sign in again.
    SignInAgain,
}

/// Why a choice was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChoiceError {
    /// The duration is not a whole number of seconds.
    #[error("the session length must be a whole number of seconds")]
    NotSeconds,
    /// The duration is outside 900 s – 12 h.
    #[error(
        "a session lasts {MIN_SESSION_SECS} to {MAX_SESSION_SECS} seconds; {0} is outside that range"
    )]
    OutOfRange(u64),
    /// The sign-in is too old for the application: sign in again.
    #[error("the application asks for a fresh sign-in")]
    SignInAgain,
    /// The role is not available to this person (or this application).
    #[error("the role \"{0}\" is not available to you")]
    NotAvailable(String),
    /// The role would be available after a fresh sign-in with a second factor (a step-up):
    /// nothing was refused yet. Carries the role and the length asked (seconds, already
    /// checked).
    #[error("the role needs a fresh second factor")]
    NeedsStepUp(Box<(RoleName, u64)>),
}

/// A role the person picked, with the duration granted (never longer than the role
/// allows: a longer request is shortened, and `shortened` says so).
#[derive(Debug)]
pub struct Choice {
    /// The grant.
    pub grant: TrustGrant,
    /// The granted duration in seconds.
    pub seconds: u64,
    /// Whether the request was longer than the role allows.
    pub shortened: bool,
}

/// The roles `identity` may pick for `audience`.
pub fn offer(
    roles: &RoleCatalog,
    identity: &ExternalIdentity,
    audience: Audience<'_>,
    facts: &RequestFacts,
) -> Offer {
    if !audience.fresh_enough(identity) {
        return Offer::SignInAgain;
    }
    let mut grants = roles.eligible(identity, facts);
    grants.retain(|g| audience.allows(&g.role().name));
    let needing_mfa: Vec<RoleName> = roles
        .needing_mfa(identity, facts)
        .iter()
        .filter(|r| audience.allows(&r.name))
        .map(|r| r.name.clone())
        .collect();
    match grants.len() {
        0 if needing_mfa.is_empty() => Offer::NoRole { needing_mfa },
        1 if needing_mfa.is_empty() => match grants.pop() {
            Some(only) => Offer::Issue(Box::new(only)),
            None => Offer::NoRole { needing_mfa },
        },
        _ => Offer::Pick {
            grants,
            needing_mfa,
        },
    }
}

/// `offer` for a person who may also request roles that need approval (`requestable`):
/// the picker rather than straight on (or "no role"), so that those can be requested or,
/// once approved, chosen.
pub fn with_requestable(offer: Offer, requestable: bool) -> Offer {
    if !requestable {
        return offer;
    }
    match offer {
        Offer::Issue(grant) => Offer::Pick {
            grants: vec![*grant],
            needing_mfa: Vec::new(),
        },
        Offer::NoRole { needing_mfa } => Offer::Pick {
            grants: Vec::new(),
            needing_mfa,
        },
        other => other,
    }
}

/// The session length a picker form asks for (seconds, as typed), checked against the
/// bounds every role session has.
pub fn asked_seconds(duration: &str) -> Result<u64, ChoiceError> {
    let secs: u64 = duration
        .trim()
        .parse()
        .map_err(|_| ChoiceError::NotSeconds)?;
    if !(MIN_SESSION_SECS..=MAX_SESSION_SECS).contains(&secs) {
        return Err(ChoiceError::OutOfRange(secs));
    }
    Ok(secs)
}

impl Issuer {
    /// `POST /roles` (or the device page) for a role that needs approval: `decided` is
    /// the elevation service's trust decision on it (the role's trust policy with the
    /// person's open approved request), `secs` the length asked (from [`asked_seconds`]),
    /// `audience` who receives it (the person, or an application, which must be allowed the
    /// role). A refusal is recorded as `credentials.refused`; the role session the grant
    /// opens never outlives the approved window.
    pub async fn choose_approved(
        &self,
        decided: Result<TrustGrant, TrustRefusal>,
        secs: u64,
        audience: Audience<'_>,
        attempt: &Attempt,
    ) -> Result<Choice, ChoiceError> {
        let grant = match decided {
            Ok(g) if audience.allows(&g.role().name) => g,
            Ok(g) => {
                let refusal = g.refused("the application may not receive this role");
                let shown: String = refusal.role.chars().take(64).collect();
                self.refused(attempt, &refusal).await;
                return Err(ChoiceError::NotAvailable(shown));
            }
            Err(refusal) => {
                let shown: String = refusal.role.chars().take(64).collect();
                self.refused(attempt, &refusal).await;
                return Err(ChoiceError::NotAvailable(shown));
            }
        };
        let max = CredentialIssuer::max_duration(grant.role());
        Ok(Choice {
            seconds: secs.min(max),
            shortened: secs > max,
            grant,
        })
    }

    /// `POST /roles`: the grant for `role` with `duration` (seconds, as typed), after the
    /// trust evaluator allowed it for this person and the audience allows it. A refusal
    /// is recorded as `credentials.refused`.
    pub async fn choose(
        &self,
        roles: &RoleCatalog,
        identity: &ExternalIdentity,
        audience: Audience<'_>,
        (role, duration): (&str, &str),
        (facts, attempt): (&RequestFacts, &Attempt),
    ) -> Result<Choice, ChoiceError> {
        if !audience.fresh_enough(identity) {
            return Err(ChoiceError::SignInAgain);
        }
        let secs = asked_seconds(duration)?;
        let shown: String = role.chars().take(64).collect();
        let caller = Caller::Federated(identity.clone());
        let grant = match roles.evaluate(role, caller, facts) {
            Ok(g) if audience.allows(&g.role().name) => g,
            Ok(g) => {
                let refusal = g.refused("the application may not receive this role");
                self.refused(attempt, &refusal).await;
                return Err(ChoiceError::NotAvailable(shown));
            }
            Err(refusal) => {
                // Not refused yet when a fresh second factor would do: the step-up asks
                // for one, and this is decided again on its answer.
                if audience.allows(role)
                    && let Some(r) = roles
                        .needing_mfa(identity, facts)
                        .into_iter()
                        .find(|r| r.name.as_str() == role)
                {
                    return Err(ChoiceError::NeedsStepUp(Box::new((r.name.clone(), secs))));
                }
                self.refused(attempt, &refusal).await;
                return Err(ChoiceError::NotAvailable(shown));
            }
        };
        let max = CredentialIssuer::max_duration(grant.role());
        Ok(Choice {
            seconds: secs.min(max),
            shortened: secs > max,
            grant,
        })
    }
}
