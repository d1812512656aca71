//! Roles held only through an approved access request (`[roles.approval]`): the rule a
//! request is held to, the question "may this person approve it?" — the approvers document
//! evaluated like a trust policy, with the approver as the principal,
//! [`APPROVE_ACTION`] as the action and the role's ARN as the resource — and the approved
//! window a grant for such a role never outlives.

use std::sync::Arc;
use std::time::Duration;

use lanyard_policy::{Context, Policy, PolicySet, Request};

use super::{
    Caller, RequestFacts, Role, RoleCatalog, TrustRefusal, refused_before, role_arn, statement_name,
};
use crate::clock::UnixTime;
use crate::identity::{ExternalIdentity, RoleName};

/// The action an approvers document allows.
pub const APPROVE_ACTION: &str = "lanyard:ApproveAccessRequest";

/// The most approvals a role may ask for.
pub const MAX_APPROVALS: u32 = 5;

/// The longest a ticket reference may be, in characters.
pub const MAX_TICKET_CHARS: usize = 64;

/// The most a ticket pattern may compile to, in bytes: a pattern is the admin's, but it is
/// run on every request, so it is kept small.
const TICKET_PATTERN_SIZE: usize = 64 * 1024;

/// How a role's access requests are decided.
#[derive(Debug, Clone)]
pub struct Approval {
    /// Who may approve: a trust-policy-shaped document asked [`APPROVE_ACTION`] on the
    /// role's ARN with the approver as the principal. `None` only for a break-glass role,
    /// which nobody approves but the requester.
    pub approvers: Option<Arc<Policy>>,
    /// How many different people must approve (1 to [`MAX_APPROVALS`]).
    pub approvals: u32,
    /// The longest window an approval opens.
    pub max_duration: Duration,
    /// Whether a request must say why.
    pub require_reason: bool,
    /// What a ticket reference must look like; when set, a request must name a ticket.
    pub ticket_pattern: Option<TicketPattern>,
    /// How long a request waits for its decision before it expires.
    pub decision_window: Duration,
    /// Whether the requester may approve their own request, with a reason (break-glass):
    /// it always notifies and is marked in the audit trail.
    pub break_glass: bool,
}

impl Approval {
    /// Whether a request for this role must carry a reason: always for break-glass.
    pub fn needs_reason(&self, break_glass: bool) -> bool {
        self.require_reason || break_glass
    }
}

/// A ticket reference's pattern: a regular expression the whole reference must match.
#[derive(Clone)]
pub struct TicketPattern {
    source: String,
    regex: regex::Regex,
}

impl std::fmt::Debug for TicketPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TicketPattern").field(&self.source).finish()
    }
}

impl TicketPattern {
    /// Compiles `source`, anchored at both ends (`OPS-[0-9]+` matches `OPS-12`, not
    /// `see OPS-12`); the error says why it does not compile.
    pub fn new(source: &str) -> Result<Self, String> {
        let regex = regex::RegexBuilder::new(&format!("^(?:{source})$"))
            .size_limit(TICKET_PATTERN_SIZE)
            .build()
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => "is too large a pattern".to_owned(),
                other => format!("is not a regular expression: {other}"),
            })?;
        Ok(Self {
            source: source.to_owned(),
            regex,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `ticket` (at most [`MAX_TICKET_CHARS`]) matches the pattern whole.
    pub fn matches(&self, ticket: &str) -> bool {
        ticket.chars().count() <= MAX_TICKET_CHARS && self.regex.is_match(ticket)
    }
}

/// An access request the elevation service found approved for this person and role,
/// open until `ends`: what [`RoleCatalog::evaluate_approved`] takes to grant a role that
/// needs approval.
#[derive(Debug, Clone)]
pub struct ApprovedAccess {
    /// The request's id.
    pub request: String,
    /// The role it approves.
    pub role: RoleName,
    /// The requester's provider.
    pub provider: String,
    /// The requester's subject at it.
    pub subject: String,
    /// When the approved window closes: no role session outlives it.
    pub ends: UnixTime,
}

impl RoleCatalog {
    /// The roles that need approval and whose trust policy allows `identity`: the role
    /// picker's "Request access" list, in config order.
    pub fn requestable(&self, identity: &ExternalIdentity, facts: &RequestFacts) -> Vec<Arc<Role>> {
        let caller = Caller::Federated(identity.clone());
        let context = caller.trust_context(facts);
        self.roles
            .iter()
            .filter(|r| r.approval.is_some() && super::decide(r, &caller, &context).is_ok())
            .cloned()
            .collect()
    }

    /// Whether `identity` may ask for `role` (the role needs approval and its trust policy
    /// allows the identity), with the refusal otherwise.
    pub fn may_request(
        &self,
        role: &str,
        identity: &ExternalIdentity,
        facts: &RequestFacts,
    ) -> Result<Arc<Role>, TrustRefusal> {
        let caller = Caller::Federated(identity.clone());
        let Some(found) = self.get(role) else {
            return Err(refused_before(role, &caller, "no role has this name"));
        };
        if found.approval.is_none() {
            return Err(refused_before(
                role,
                &caller,
                "the role is assumed without a request",
            ));
        }
        let context = caller.trust_context(facts);
        super::decide(found, &caller, &context)?;
        Ok(Arc::clone(found))
    }

    /// Whether `approver` may approve requests for `role`: the role's approvers document
    /// asked [`APPROVE_ACTION`] on the role's ARN, with the approver's principal keys and
    /// the request facts (so `aws:MultiFactorAuthPresent`, `aws:MultiFactorAuthAge` and
    /// `aws:SourceIp` work as in a trust policy). The deciding statements, or the refusal.
    /// A role without approvers (break-glass only) refuses everyone.
    pub fn may_approve(
        &self,
        role: &str,
        approver: &ExternalIdentity,
        facts: &RequestFacts,
    ) -> Result<Vec<String>, TrustRefusal> {
        let caller = Caller::Federated(approver.clone());
        let approvers = self
            .get(role)
            .and_then(|r| r.approval.as_ref())
            .and_then(|a| a.approvers.as_ref());
        let Some(approvers) = approvers else {
            return Err(refused_before(
                role,
                &caller,
                "nobody approves requests for this role",
            ));
        };
        let context = caller.trust_context(facts);
        let decision = approve_question(role, approvers, &caller, &context);
        let statements = decision.statements.iter().map(statement_name).collect();
        if decision.outcome.is_allowed() {
            Ok(statements)
        } else {
            let mut refused = refused_before(role, &caller, &decision.reason);
            refused.statements = statements;
            Err(refused)
        }
    }
}

fn approve_question(
    role: &str,
    approvers: &Policy,
    caller: &Caller,
    context: &Context,
) -> lanyard_policy::Decision {
    let arn = role_arn(role);
    let (principal, _) = caller.policy_principal();
    let request = Request {
        principal: Some(principal),
        action: APPROVE_ACTION,
        resource: &arn,
        context,
    };
    let set = PolicySet {
        resource: Some(approvers),
        ..PolicySet::default()
    };
    lanyard_policy::evaluate(&set, &request)
}
