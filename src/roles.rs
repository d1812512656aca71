//! Roles and trust evaluation: which roles an identity may assume (its *eligible* roles), and
//! the condition-key context that trust policies and permission policies see.
//!
//! Trust evaluation is AWS's: a role's trust policy is a resource-based policy on the role,
//! evaluated with the identity as a `Federated` principal, the action of the provider's kind
//! (`sts:AssumeRole` for local, `sts:AssumeRoleWithWebIdentity`, `…WithSAML`,
//! `…WithLDAPIdentity`) and the role's ARN as the resource.
//!
//! May import: `policy`, `identity`, `clock` (the `UnixTime` type).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use lanyard_policy::{
    Context, ContextValue, Decision, Explanation, Policy, PolicySet, Principal, Request,
    StatementRef,
};

use crate::clock::UnixTime;
use crate::identity::{ExternalIdentity, ProviderKind, RoleName};

mod approval;

pub use approval::{
    APPROVE_ACTION, Approval, ApprovedAccess, MAX_APPROVALS, MAX_TICKET_CHARS, TicketPattern,
};

/// The shortest session a role may grant (AWS's minimum, 15 minutes).
pub const MIN_SESSION_SECS: u64 = 900;
/// The longest session a role may grant (AWS's maximum, 12 hours).
pub const MAX_SESSION_SECS: u64 = 43_200;

/// A role: who may assume it (its trust policy) and what it may then do.
#[derive(Debug, Clone)]
pub struct Role {
    /// Name (`[A-Za-z0-9+=,.@_-]`, 1–64, as IAM).
    pub name: RoleName,
    /// What the role is for.
    pub description: String,
    /// Heading the role is listed under on the role picker.
    pub group: Option<String>,
    /// Longest session it grants.
    pub max_session_duration: Duration,
    /// Who may assume it.
    pub trust_policy: Arc<Policy>,
    /// What it may do: named policies then the inline one.
    pub permission_policies: Vec<Arc<Policy>>,
    /// Upper bound of what it may do.
    pub permissions_boundary: Option<Arc<Policy>>,
    /// When set, the role is assumed only through an approved access request: its trust
    /// policy says who may ask, this says who decides and for how long.
    pub approval: Option<Arc<Approval>>,
}

/// IAM role-name rules.
pub fn is_valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// What a role ARN starts with; the role's name follows.
pub const ROLE_ARN_PREFIX: &str = "arn:lanyard:iam:::role/";

/// The ARN Lanyard gives a role, the resource of trust evaluation.
pub fn role_arn(name: &str) -> String {
    format!("{ROLE_ARN_PREFIX}{name}")
}

/// Facts about the request that are not about the person.
#[derive(Debug, Clone)]
pub struct RequestFacts {
    /// The client's address (`aws:SourceIp`).
    pub source_ip: Option<IpAddr>,
    /// Now (`aws:CurrentTime`, `aws:EpochTime`).
    pub now: UnixTime,
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
    /// The client's `User-Agent`, truncated (for the audit trail; no condition key).
    pub user_agent: Option<String>,
}

pub use crate::identity::PrincipalKeys;

impl PrincipalKeys {
    /// The keys of a machine client: `aws:username` (its id), `aws:userid` and
    /// `aws:PrincipalArn` (its ARN), `aws:MultiFactorAuthPresent` (`false`).
    pub fn of_client(id: &str) -> Self {
        let one = |v: String| vec![v];
        Self(BTreeMap::from([
            ("aws:username".to_owned(), one(id.to_owned())),
            ("aws:userid".to_owned(), one(client_arn(id))),
            ("aws:PrincipalArn".to_owned(), one(client_arn(id))),
            (
                "aws:MultiFactorAuthPresent".to_owned(),
                one("false".to_owned()),
            ),
        ]))
    }

    /// The provider these keys came from (`idp:provider`).
    pub fn provider(&self) -> &str {
        self.0
            .get("idp:provider")
            .and_then(|v| v.first())
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Writes these keys into `context`, replacing whatever the caller put there.
    pub fn apply(&self, context: &mut Context) {
        for (k, v) in &self.0 {
            let value = match v.as_slice() {
                [single] if !is_multivalued(k) => ContextValue::Single(single.clone()),
                _ => ContextValue::Multi(v.clone()),
            };
            context.insert(k.clone(), value);
        }
    }
}

fn is_multivalued(key: &str) -> bool {
    matches!(key, "idp:groups" | "idp:amr")
}

/// How many keys [`apply_request_facts`] adds at most.
const REQUEST_FACT_KEYS: usize = 5;

/// Adds the request facts: `aws:SourceIp`, `aws:CurrentTime`, `aws:EpochTime`,
/// `aws:SecureTransport`, and `aws:MultiFactorAuthAge` when MFA was used.
pub fn apply_request_facts(
    context: &mut Context,
    facts: &RequestFacts,
    auth_time: UnixTime,
    mfa: bool,
) {
    if let Some(ip) = facts.source_ip {
        context.insert("aws:SourceIp", ContextValue::Single(ip.to_string()));
    }
    context.insert("aws:CurrentTime", ContextValue::Single(rfc3339(facts.now)));
    context.insert(
        "aws:EpochTime",
        ContextValue::Single(facts.now.secs().to_string()),
    );
    context.insert(
        "aws:SecureTransport",
        ContextValue::Single(facts.secure_transport.to_string()),
    );
    if mfa {
        context.insert(
            "aws:MultiFactorAuthAge",
            ContextValue::Single(facts.now.since(auth_time).as_secs().to_string()),
        );
    }
}

/// `2026-11-28T20:33:14Z`.
pub fn rfc3339(at: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(at.secs())
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// The configured roles.
#[derive(Debug)]
pub struct RoleCatalog {
    roles: Vec<Arc<Role>>,
}

impl RoleCatalog {
    /// Wraps the roles of the configuration.
    pub fn new(roles: Vec<Role>) -> Self {
        Self {
            roles: roles.into_iter().map(Arc::new).collect(),
        }
    }

    /// A role by name.
    pub fn get(&self, name: &str) -> Option<&Arc<Role>> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// All roles, in config order.
    pub fn all(&self) -> &[Arc<Role>] {
        &self.roles
    }

    /// The roles this identity would get had it just signed in with a second factor, but
    /// does not get as it is: what the role picker offers with a step-up (issue 17). A
    /// session without MFA gets the roles that need `aws:MultiFactorAuthPresent`; one whose
    /// MFA is older than a role's `aws:MultiFactorAuthAge` allows gets that role too (the
    /// fresh factor is supposed now).
    pub fn needing_mfa(&self, identity: &ExternalIdentity, facts: &RequestFacts) -> Vec<Arc<Role>> {
        let mut with_mfa = identity.clone();
        with_mfa.mfa = true;
        with_mfa.auth_time = facts.now;
        if !with_mfa.amr.iter().any(|m| m == "otp") {
            with_mfa.amr.push("otp".to_owned());
        }
        let (without, with) = (
            Caller::Federated(identity.clone()),
            Caller::Federated(with_mfa),
        );
        let (without_context, with_context) =
            (without.trust_context(facts), with.trust_context(facts));
        self.roles
            .iter()
            .filter(|r| {
                r.approval.is_none()
                    && decide(r, &without, &without_context).is_err()
                    && decide(r, &with, &with_context).is_ok()
            })
            .cloned()
            .collect()
    }

    /// The grants of every role whose trust policy allows this identity, in config order:
    /// the role picker's list. A role that needs approval is never in it (see
    /// [`RoleCatalog::requestable`]).
    pub fn eligible(&self, identity: &ExternalIdentity, facts: &RequestFacts) -> Vec<TrustGrant> {
        let caller = Caller::Federated(identity.clone());
        let context = caller.trust_context(facts);
        self.roles
            .iter()
            .filter(|r| r.approval.is_none())
            .filter_map(|r| {
                let statements = decide(r, &caller, &context).ok()?;
                Some(TrustGrant {
                    role: Arc::clone(r),
                    caller: caller.clone(),
                    statements,
                    decided_at: facts.now,
                    principal_keys: None,
                    approved: None,
                })
            })
            .collect()
    }

    /// The trust decision for one role: a [`TrustGrant`] when the role's trust policy
    /// allows `caller`, a [`TrustRefusal`] with the deciding statements otherwise (also
    /// when no role has that name, and for a role that needs approval: that one is
    /// granted only by [`RoleCatalog::evaluate_approved`]).
    pub fn evaluate(
        &self,
        role: &str,
        caller: Caller,
        facts: &RequestFacts,
    ) -> Result<TrustGrant, TrustRefusal> {
        let Some(found) = self.get(role) else {
            return Err(refused_before(role, &caller, "no role has this name"));
        };
        if found.approval.is_some() {
            return Err(refused_before(
                role,
                &caller,
                "the role needs an approved access request",
            ));
        }
        Self::grant(found, caller, facts, None)
    }

    /// The trust decision for a role that needs approval, with the approved request
    /// `approved` the elevation service found for this caller: refused unless it approves
    /// this role to this person and is still open, and unless the role's trust policy
    /// still allows the caller (a change of the policy or of the person's groups since the
    /// approval counts). The grant's role session ends when the window does.
    pub fn evaluate_approved(
        &self,
        role: &str,
        caller: Caller,
        facts: &RequestFacts,
        approved: &ApprovedAccess,
    ) -> Result<TrustGrant, TrustRefusal> {
        let Some(found) = self.get(role) else {
            return Err(refused_before(role, &caller, "no role has this name"));
        };
        let Caller::Federated(identity) = &caller else {
            return Err(refused_before(
                role,
                &caller,
                "an access request is a person's, not a client's",
            ));
        };
        if found.approval.is_none()
            || approved.role != role
            || approved.provider != identity.provider.as_str()
            || approved.subject != identity.subject
        {
            return Err(refused_before(
                role,
                &caller,
                "the access request does not approve this role for this person",
            ));
        }
        if facts.now >= approved.ends {
            return Err(refused_before(
                role,
                &caller,
                "the access request's approved window has ended",
            ));
        }
        Self::grant(found, caller, facts, Some(approved))
    }

    fn grant(
        role: &Arc<Role>,
        caller: Caller,
        facts: &RequestFacts,
        approved: Option<&ApprovedAccess>,
    ) -> Result<TrustGrant, TrustRefusal> {
        // Built once: for the trust context, then kept in the grant for the role session.
        let keys = caller.principal_keys();
        let context = caller.trust_context_with(&keys, facts);
        decide(role, &caller, &context).map(|decided| TrustGrant {
            role: Arc::clone(role),
            caller,
            statements: decided,
            decided_at: facts.now,
            principal_keys: Some(keys),
            approved: approved.map(|a| (a.request.clone(), a.ends)),
        })
    }
}

/// A refusal made before the trust policy was asked.
fn refused_before(role: &str, caller: &Caller, reason: &str) -> TrustRefusal {
    TrustRefusal {
        role: role.chars().take(128).collect(),
        subject: caller.upstream_subject().to_owned(),
        provider: caller.provider().map(str::to_owned),
        statements: Vec::new(),
        reason: reason.to_owned(),
    }
}

/// What a role's trust policy said: the deciding `Allow` statements, or the refusal.
fn decide(
    role: &Arc<Role>,
    caller: &Caller,
    context: &Context,
) -> Result<Vec<String>, TrustRefusal> {
    let decision = trust_question(role, caller, context, lanyard_policy::evaluate);
    let statements = decision.statements.iter().map(statement_name).collect();
    if decision.outcome.is_allowed() {
        Ok(statements)
    } else {
        Err(TrustRefusal {
            role: role.name.to_string(),
            subject: caller.upstream_subject().to_owned(),
            provider: caller.provider().map(str::to_owned),
            statements,
            reason: decision.reason,
        })
    }
}

/// Asks `ask` (the engine's `evaluate` or `explain`) the trust question of `role` for
/// `caller`: the one place the question is built, for real decisions and simulations.
fn trust_question<R>(
    role: &Role,
    caller: &Caller,
    context: &Context,
    ask: impl FnOnce(&PolicySet<'_>, &Request<'_>) -> R,
) -> R {
    let arn = role_arn(&role.name);
    let (principal, action) = caller.policy_principal();
    let request = Request {
        principal: Some(principal),
        action,
        resource: &arn,
        context,
    };
    let set = PolicySet {
        resource: Some(&role.trust_policy),
        ..PolicySet::default()
    };
    ask(&set, &request)
}

/// One role's trust decision for an identity, statement by statement (the trust
/// simulator's answer): made by the code [`RoleCatalog::eligible`] runs, so `offered` is
/// exactly whether the role picker offers the role.
#[derive(Debug, Clone)]
pub struct TrustExplanation {
    /// The role.
    pub role: Arc<Role>,
    /// The decision and every statement of the trust policy, explained.
    pub explanation: Explanation,
}

impl TrustExplanation {
    /// Whether the trust policy allows the identity: the role is offered.
    pub fn offered(&self) -> bool {
        self.explanation.decision.is_allowed()
    }
}

impl RoleCatalog {
    /// The trust decision of every role (or of the one named `only`) for `identity`,
    /// explained, in config order. Same caller, context and question as
    /// [`RoleCatalog::eligible`].
    pub fn explain(
        &self,
        identity: &ExternalIdentity,
        facts: &RequestFacts,
        only: Option<&str>,
    ) -> Vec<TrustExplanation> {
        explain_roles(&self.roles, identity, facts, only)
    }
}

/// [`RoleCatalog::explain`] over any list of roles (a candidate role not yet saved, too).
pub fn explain_roles(
    roles: &[Arc<Role>],
    identity: &ExternalIdentity,
    facts: &RequestFacts,
    only: Option<&str>,
) -> Vec<TrustExplanation> {
    let caller = Caller::Federated(identity.clone());
    let context = caller.trust_context(facts);
    roles
        .iter()
        .filter(|r| only.is_none_or(|name| r.name == name))
        .map(|r| TrustExplanation {
            role: Arc::clone(r),
            explanation: trust_question(r, &caller, &context, lanyard_policy::explain),
        })
        .collect()
}

/// A statement as the audit trail names it: its `Sid`, or its position.
fn statement_name(s: &StatementRef) -> String {
    match &s.sid {
        Some(sid) => sid.clone(),
        None => format!("{}#{}", s.policy, s.index),
    }
}

/// Whether `role`'s trust policy has an `Allow` statement that could let the machine
/// client `client_id` assume it with `sts:AssumeRole` under some conditions: what
/// `check-config` asks of every client's `machine_role`.
pub fn could_trust_client(role: &Role, client_id: &str) -> bool {
    role.trust_policy.may_allow(
        Principal::Aws(&client_arn(client_id)),
        CLIENT_TRUST_ACTION,
        &role_arn(&role.name),
    )
}

/// Whether `role`'s trust policy has an `Allow` statement that could admit identities of
/// the provider `id` (`{"Federated": id}`, or a principal matching every caller) under
/// some conditions, with the action of any provider kind: the roles that deleting the
/// provider leaves trusting nobody through it.
pub fn could_trust_provider(role: &Role, id: &str) -> bool {
    [
        ProviderKind::Local,
        ProviderKind::Ldap,
        ProviderKind::Oidc,
        ProviderKind::Saml,
    ]
    .iter()
    .any(|kind| {
        role.trust_policy.may_allow(
            Principal::Federated(id),
            kind.trust_action(),
            &role_arn(&role.name),
        )
    })
}

/// Who asks to assume a role.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A person or workload an upstream provider vouched for: the trust policy sees
    /// `{"Federated": "<provider id>"}` and the action of the provider's kind.
    Federated(ExternalIdentity),
    /// A machine client of Lanyard's OpenID provider (`client_credentials`): the trust
    /// policy sees `{"AWS": "arn:lanyard:iam:::client/<id>"}` and `sts:AssumeRole`.
    Client(MachineClient),
}

/// A machine client that authenticated to the token endpoint.
#[derive(Debug, Clone)]
pub struct MachineClient {
    id: String,
    arn: String,
    method: &'static str,
}

impl MachineClient {
    /// The client `id`, authenticated by `method` (`client_secret`, `private_key_jwt`).
    pub fn new(id: &str, method: &'static str) -> Self {
        Self {
            id: id.to_owned(),
            arn: client_arn(id),
            method,
        }
    }

    /// `client_id`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// How it authenticated: the token's `amr`.
    pub fn method(&self) -> &'static str {
        self.method
    }
}

impl Caller {
    /// The session subject: `{provider}:{subject}`, or the client's ARN.
    pub fn subject(&self) -> String {
        match self {
            Caller::Federated(i) => i.qualified_subject(),
            Caller::Client(c) => c.arn.clone(),
        }
    }

    /// The subject as its provider names it (the audit trail's `subject`, next to its
    /// `provider`), or the client's ARN.
    pub fn upstream_subject(&self) -> &str {
        match self {
            Caller::Federated(i) => &i.subject,
            Caller::Client(c) => &c.arn,
        }
    }

    /// The upstream provider that vouched, if any.
    pub fn provider(&self) -> Option<&str> {
        match self {
            Caller::Federated(i) => Some(i.provider.as_str()),
            Caller::Client(_) => None,
        }
    }

    /// The principal-derived condition keys.
    pub fn principal_keys(&self) -> PrincipalKeys {
        match self {
            Caller::Federated(i) => PrincipalKeys::of(i),
            Caller::Client(c) => PrincipalKeys::of_client(&c.id),
        }
    }

    fn policy_principal(&self) -> (Principal<'_>, &'static str) {
        match self {
            Caller::Federated(i) => (
                Principal::Federated(i.provider.as_str()),
                i.provider_kind.trust_action(),
            ),
            Caller::Client(c) => (Principal::Aws(&c.arn), CLIENT_TRUST_ACTION),
        }
    }

    /// The trust context: the principal keys plus the request facts.
    fn trust_context(&self, facts: &RequestFacts) -> Context {
        self.trust_context_with(&self.principal_keys(), facts)
    }

    /// [`Caller::trust_context`] with the caller's principal `keys` already built.
    fn trust_context_with(&self, keys: &PrincipalKeys, facts: &RequestFacts) -> Context {
        let mut context = Context::with_capacity(keys.0.len() + REQUEST_FACT_KEYS);
        keys.apply(&mut context);
        match self {
            Caller::Federated(i) => apply_request_facts(&mut context, facts, i.auth_time, i.mfa),
            Caller::Client(_) => apply_request_facts(&mut context, facts, facts.now, false),
        }
        context
    }
}

/// The action a machine client's trust evaluation asks for.
pub const CLIENT_TRUST_ACTION: &str = "sts:AssumeRole";
/// What a machine client's ARN starts with; the `client_id` follows.
pub const CLIENT_ARN_PREFIX: &str = "arn:lanyard:iam:::client/";

/// The ARN of a machine client, its principal in trust policies
/// (`Principal = { AWS = "arn:lanyard:iam:::client/<id>" }`).
pub fn client_arn(id: &str) -> String {
    format!("{CLIENT_ARN_PREFIX}{id}")
}

/// A role the trust evaluator allowed a caller to assume.
///
/// Its fields are private and it has no public constructor: only
/// [`RoleCatalog::evaluate`] and [`RoleCatalog::eligible`] build one, after the role's
/// trust policy allowed the caller, so nothing can issue credentials for a role without a
/// trust decision (the issuer in `access` takes a grant by value).
#[derive(Debug, Clone)]
pub struct TrustGrant {
    role: Arc<Role>,
    caller: Caller,
    statements: Vec<String>,
    decided_at: UnixTime,
    /// The caller's principal keys when the evaluation built them already (one role
    /// evaluated); the grants of [`RoleCatalog::eligible`] leave them to be built for the
    /// one role chosen.
    principal_keys: Option<PrincipalKeys>,
    /// The approved access request the grant rests on, and when its window closes.
    approved: Option<(String, UnixTime)>,
}

impl TrustGrant {
    /// The caller's principal keys for the role session, taken from the grant (built once
    /// per evaluation: the trust context used them, and the role session keeps them).
    /// A grant that kept none builds them; the keys depend only on the caller, so they are
    /// the same either way.
    pub(crate) fn take_principal_keys(&mut self) -> PrincipalKeys {
        self.principal_keys
            .take()
            .unwrap_or_else(|| self.caller.principal_keys())
    }

    /// The role granted.
    pub fn role(&self) -> &Arc<Role> {
        &self.role
    }

    /// Who it was granted to.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The `Allow` statements that decided.
    pub fn statements(&self) -> &[String] {
        &self.statements
    }

    /// When the decision was made.
    pub fn decided_at(&self) -> UnixTime {
        self.decided_at
    }

    /// The approved access request this grant rests on (its id), and the end of its
    /// window, which the role session may not outlive.
    pub fn approved(&self) -> Option<(&str, UnixTime)> {
        self.approved
            .as_ref()
            .map(|(id, ends)| (id.as_str(), *ends))
    }

    /// The refusal of this grant for a reason other than trust (the role is not for this
    /// client, the duration is out of bounds): for the audit trail.
    pub fn refused(&self, reason: impl Into<String>) -> TrustRefusal {
        TrustRefusal {
            role: self.role.name.to_string(),
            subject: self.caller.upstream_subject().to_owned(),
            provider: self.caller.provider().map(str::to_owned),
            statements: Vec::new(),
            reason: reason.into(),
        }
    }
}

/// Why the trust evaluator refused a role: kept for the audit trail, never shown to the
/// caller (who gets a plain "not authorized").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRefusal {
    /// The role asked for (truncated).
    pub role: String,
    /// The caller's subject at its provider (or the client's ARN).
    pub subject: String,
    /// The upstream provider, if any.
    pub provider: Option<String>,
    /// The deciding statements (every applicable `Deny`, or none for an implicit deny).
    pub statements: Vec<String>,
    /// The evaluator's explanation.
    pub reason: String,
}

/// Evaluates the role's permission policies (with its boundary and an optional session
/// policy) for an action on a resource.
pub fn authorize(
    role: &Role,
    session_policy: Option<&Policy>,
    action: &str,
    resource: &str,
    context: &Context,
) -> Decision {
    let set = PolicySet {
        identity: role
            .permission_policies
            .iter()
            .map(|p| p.as_ref())
            .collect(),
        resource: None,
        boundary: role.permissions_boundary.as_deref(),
        session: session_policy,
    };
    let request = Request {
        principal: None,
        action,
        resource,
        context,
    };
    lanyard_policy::evaluate(&set, &request)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::identity::{ProviderId, ProviderKind};
    use lanyard_policy::PolicyKind;
    use std::time::Duration;

    pub(crate) fn identity(groups: &[&str]) -> ExternalIdentity {
        ExternalIdentity {
            provider: ProviderId::new("corp"),
            provider_kind: ProviderKind::Local,
            subject: "alice".into(),
            username: "alice".into(),
            email: Some("alice@example.com".into()),
            email_verified: true,
            display_name: None,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            amr: vec!["pwd".into()],
            mfa: false,
            auth_time: UnixTime::from_secs(1_000),
            tags: [("team".to_owned(), "payments".to_owned())].into(),
            claims: BTreeMap::new(),
        }
    }

    /// A role of one hour at most with this trust policy (shared by the tests of `access`).
    pub(crate) fn role(name: &str, trust: serde_json::Value) -> Role {
        Role {
            name: name.into(),
            description: String::new(),
            group: None,
            max_session_duration: Duration::from_secs(3600),
            trust_policy: Arc::new(Policy::from_value("t", &trust, PolicyKind::Trust).unwrap()),
            permission_policies: vec![],
            permissions_boundary: None,
            approval: None,
        }
    }

    fn facts() -> RequestFacts {
        RequestFacts {
            source_ip: Some("10.1.2.3".parse().unwrap()),
            now: UnixTime::from_secs(2_000),
            secure_transport: true,
            user_agent: None,
        }
    }

    #[test]
    fn eligible_roles_follow_trust_policies() {
        let catalog = RoleCatalog::new(vec![
            role(
                "engineer",
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRole",
                    "Condition": {"ForAnyValue:StringEquals": {"idp:groups": ["engineering"]}}}]}),
            ),
            role(
                "payments",
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:PrincipalTag/team": "payments"},
                                  "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}),
            ),
            role(
                "other-idp",
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": "okta"}, "Action": "sts:AssumeRole"}]}),
            ),
            role(
                "saml-only",
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRoleWithSAML"}]}),
            ),
        ]);
        let names = |groups: &[&str]| {
            catalog
                .eligible(&identity(groups), &facts())
                .iter()
                .map(|g| g.role().name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&["engineering"]), vec!["engineer", "payments"]);
        assert_eq!(names(&["finance"]), vec!["payments"]);
    }

    #[test]
    fn roles_needing_mfa_are_named() {
        let catalog = RoleCatalog::new(vec![
            role(
                "break-glass",
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}),
            ),
            role(
                "finance-only",
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                                  "ForAnyValue:StringEquals": {"idp:groups": ["finance"]}}}]}),
            ),
        ]);
        let without = identity(&["engineering"]);
        assert!(catalog.eligible(&without, &facts()).is_empty());
        let names: Vec<_> = catalog
            .needing_mfa(&without, &facts())
            .iter()
            .map(|r| r.name.clone())
            .collect();
        assert_eq!(names, vec!["break-glass"]);
        let mut with = without.clone();
        with.mfa = true;
        assert_eq!(catalog.eligible(&with, &facts()).len(), 1);
        assert!(catalog.needing_mfa(&with, &facts()).is_empty());
    }

    #[test]
    fn a_role_that_needs_a_recent_second_factor_asks_an_old_one_again() {
        let catalog = RoleCatalog::new(vec![role(
            "prod-write",
            serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRole",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                              "NumericLessThanEquals": {"aws:MultiFactorAuthAge": "300"}}}]}),
        )]);
        // MFA 1000 s ago (facts' now is 2000, the identity's auth_time 1000): too old.
        let mut old = identity(&["engineering"]);
        old.mfa = true;
        assert!(catalog.eligible(&old, &facts()).is_empty());
        let names: Vec<_> = catalog
            .needing_mfa(&old, &facts())
            .iter()
            .map(|r| r.name.clone())
            .collect();
        assert_eq!(names, vec!["prod-write"], "a fresh factor would do");
        // MFA 100 s ago: granted, nothing to step up to.
        let mut fresh = old.clone();
        fresh.auth_time = UnixTime::from_secs(1_900);
        assert_eq!(catalog.eligible(&fresh, &facts()).len(), 1);
        assert!(catalog.needing_mfa(&fresh, &facts()).is_empty());
    }

    #[test]
    fn the_evaluator_grants_with_its_statements_and_refuses_with_its_reason() {
        let catalog = RoleCatalog::new(vec![role(
            "deploy",
            serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "Engineers", "Effect": "Allow", "Principal": {"Federated": "corp"},
                 "Action": "sts:AssumeRole",
                 "Condition": {"ForAnyValue:StringEquals": {"idp:groups": ["engineering"]}}},
                {"Sid": "NoInterns", "Effect": "Deny", "Principal": {"Federated": "corp"},
                 "Action": "sts:AssumeRole",
                 "Condition": {"ForAnyValue:StringEquals": {"idp:groups": ["interns"]}}},
                {"Sid": "Pipeline", "Effect": "Allow",
                 "Principal": {"AWS": "arn:lanyard:iam:::client/pipeline"},
                 "Action": "sts:AssumeRole"}]}),
        )]);
        let person = |groups: &[&str]| Caller::Federated(identity(groups));
        let grant = catalog
            .evaluate("deploy", person(&["engineering"]), &facts())
            .unwrap();
        assert_eq!(grant.role().name, "deploy");
        assert_eq!(grant.statements(), ["Engineers"]);
        assert_eq!(grant.caller().subject(), "corp:alice");
        assert_eq!(grant.decided_at(), UnixTime::from_secs(2_000));
        let denied = catalog
            .evaluate("deploy", person(&["engineering", "interns"]), &facts())
            .unwrap_err();
        assert_eq!(denied.statements, ["NoInterns"]);
        assert!(
            denied.reason.contains("explicitly denied"),
            "{}",
            denied.reason
        );
        let implicit = catalog
            .evaluate("deploy", person(&["finance"]), &facts())
            .unwrap_err();
        assert!(implicit.statements.is_empty());
        assert_eq!(implicit.provider.as_deref(), Some("corp"));
        let missing = catalog
            .evaluate("nope", person(&["engineering"]), &facts())
            .unwrap_err();
        assert_eq!(missing.reason, "no role has this name");
        // A machine client is the AWS principal of its ARN, with sts:AssumeRole.
        let client = |id: &str| Caller::Client(MachineClient::new(id, "client_secret"));
        let grant = catalog
            .evaluate("deploy", client("pipeline"), &facts())
            .unwrap();
        assert_eq!(grant.statements(), ["Pipeline"]);
        assert_eq!(
            grant.caller().subject(),
            "arn:lanyard:iam:::client/pipeline"
        );
        assert_eq!(grant.caller().provider(), None);
        let other = catalog
            .evaluate("deploy", client("other"), &facts())
            .unwrap_err();
        assert_eq!(other.subject, "arn:lanyard:iam:::client/other");
        assert!(could_trust_client(&catalog.all()[0], "pipeline"));
        assert!(!could_trust_client(&catalog.all()[0], "other"));
    }

    #[test]
    fn principal_keys_cover_the_contract() {
        let keys = PrincipalKeys::of(&identity(&["a", "b"]));
        assert_eq!(keys.0["idp:groups"], vec!["a", "b"]);
        assert_eq!(keys.0["aws:userid"], vec!["corp:alice"]);
        assert_eq!(keys.0["aws:PrincipalTag/team"], vec!["payments"]);
        assert_eq!(keys.0["idp:email_verified"], vec!["true"]);
        assert_eq!(rfc3339(UnixTime::EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn the_explanation_offers_exactly_what_eligible_offers() {
        let catalog = RoleCatalog::new(vec![
            role(
                "eng",
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Sid": "Eng", "Effect": "Allow", "Principal": {"Federated": "corp"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"ForAnyValue:StringEquals": {"idp:groups": ["eng"]}}}]}),
            ),
            role(
                "not-sales",
                serde_json::json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRole"},
                    {"Sid": "NoSales", "Effect": "Deny", "Principal": {"Federated": "corp"},
                     "Action": "sts:AssumeRole",
                     "Condition": {"ForAnyValue:StringEquals": {"idp:groups": ["sales"]}}}]}),
            ),
        ]);
        for groups in [&[][..], &["eng"], &["sales"], &["eng", "sales"]] {
            let who = identity(groups);
            let eligible: Vec<String> = catalog
                .eligible(&who, &facts())
                .iter()
                .map(|g| g.role().name.to_string())
                .collect();
            let explained = catalog.explain(&who, &facts(), None);
            let offered: Vec<String> = explained
                .iter()
                .filter(|t| t.offered())
                .map(|t| t.role.name.to_string())
                .collect();
            assert_eq!(offered, eligible, "{groups:?}");
            assert_eq!(explained.len(), 2);
        }
        let only = catalog.explain(&identity(&["eng", "sales"]), &facts(), Some("not-sales"));
        assert_eq!(only.len(), 1);
        let deny = &only[0].explanation.decision;
        assert_eq!(deny.outcome, lanyard_policy::Outcome::ExplicitDeny);
        assert_eq!(deny.statements[0].sid.as_deref(), Some("NoSales"));
    }
}
