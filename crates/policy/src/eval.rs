//! Evaluation: one request against a set of policies, with the statements that decided it.
//!
//! Implements "Policy evaluation logic" for a single account: an explicit `Deny` in any
//! policy wins; otherwise an `Allow` is needed from an identity-based policy or from the
//! resource-based policy; a permissions boundary and a session policy, when present, must
//! also allow ("Determining whether a request is allowed or denied within an account",
//! "Permissions boundaries for IAM entities", "Session policies"), except that an `Allow`
//! in the resource-based policy naming the caller directly (`"*"` or the caller's own ARN,
//! not its account) is not limited by the boundary's implicit deny, as AWS documents for
//! same-account resource-based policies. Conditions follow "IAM
//! JSON policy elements: Condition operators", "Condition with multiple context keys or
//! values" and "Set operators for multivalued context keys".
//!
//! Evaluation never fails and never allocates per statement: a value that cannot be read
//! (a request IP that is not an IP) simply does not match; a policy variable that cannot
//! be resolved makes its statement inapplicable, as AWS documents ("the entire statement
//! may be invalid").

use std::borrow::Cow;

use serde::Serialize;

use crate::context::{Context, ContextValue};
use crate::glob::Pattern;
use crate::glob::{arn_match, resolve};
use crate::operator::{Cmp, SetOp};
use crate::policy::{
    ActionMatch, AwsPrincipal, BoolValue, Condition, Effect, Policy, PrincipalMatch, PrincipalSet,
    ResourceMatch, Statement, Values,
};
use crate::value::{decode_base64, parse_bool, parse_date, parse_ip, parse_number};

/// Who makes the request, for `Principal`/`NotPrincipal` in trust and resource policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal<'a> {
    /// A federated identity provider (a Lanyard provider id): matches
    /// `{"Federated": "<id>"}`.
    Federated(&'a str),
    /// An AWS-style principal ARN: matches `{"AWS": "<arn>"}`, its account id or
    /// `arn:...:iam::<account>:root`.
    Aws(&'a str),
    /// A service principal: matches `{"Service": "<name>"}`.
    Service(&'a str),
    /// An unauthenticated caller: matches only `"*"` / `{"AWS": "*"}`.
    Anonymous,
}

/// One authorization question.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Who asks; `None` when no policy in the set names principals (permission checks).
    /// `None` matches only `"*"` principals.
    pub principal: Option<Principal<'a>>,
    /// The action, `service:Name` (matched case-insensitively).
    pub action: &'a str,
    /// The resource ARN (matched case-sensitively).
    pub resource: &'a str,
    /// The condition keys of the request.
    pub context: &'a Context,
}

/// The policies that apply to one request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet<'a> {
    /// Identity-based policies: the role's permission policies and inline policy.
    pub identity: Vec<&'a Policy>,
    /// The resource's policy (a role's trust policy for `sts:AssumeRole*`).
    pub resource: Option<&'a Policy>,
    /// The permissions boundary; when present it must also allow.
    pub boundary: Option<&'a Policy>,
    /// The session policy; when present it must also allow.
    pub session: Option<&'a Policy>,
}

impl PolicySet<'_> {
    /// Evaluates `request` against this set (same as [`evaluate`]).
    pub fn evaluate(&self, request: &Request<'_>) -> Decision {
        evaluate(self, request)
    }

    /// Every policy of the set: identity policies, the resource policy, the boundary,
    /// the session policy, in that order.
    pub(crate) fn policies(&self) -> impl Iterator<Item = &Policy> {
        self.identity
            .iter()
            .copied()
            .chain(self.resource)
            .chain(self.boundary)
            .chain(self.session)
    }
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Outcome {
    /// An allow applied and nothing denied.
    Allowed,
    /// A `Deny` statement applied.
    ExplicitDeny,
    /// No applicable allow (or a boundary or session policy did not allow).
    ImplicitDeny,
}

impl Outcome {
    /// Whether the request is allowed.
    pub fn is_allowed(self) -> bool {
        self == Outcome::Allowed
    }
}

/// A statement of a named policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct StatementRef {
    /// The policy's name.
    pub policy: String,
    /// The statement's `Sid`, if it has one.
    pub sid: Option<String>,
    /// The statement's position in the policy (0-based).
    pub index: usize,
}

/// Which gate stopped an otherwise allowed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Gate {
    /// The permissions boundary did not allow.
    PermissionsBoundary,
    /// The session policy did not allow.
    SessionPolicy,
}

/// The answer, with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Allowed, explicitly or implicitly denied.
    pub outcome: Outcome,
    /// A sentence saying why.
    pub reason: String,
    /// The statements that decided it: every applicable `Deny` for
    /// [`Outcome::ExplicitDeny`]; every applicable `Allow` (identity/resource, then
    /// boundary, then session) for [`Outcome::Allowed`]; for an [`Outcome::ImplicitDeny`]
    /// by a permissions boundary or session policy (see [`Decision::gate`]), the allows
    /// that the failed gate overrode; otherwise empty.
    pub statements: Vec<StatementRef>,
    /// For an implicit deny by a permissions boundary or session policy, which one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<Gate>,
}

impl Decision {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        self.outcome.is_allowed()
    }
}

/// Evaluates one request against a set of policies.
pub fn evaluate(set: &PolicySet<'_>, request: &Request<'_>) -> Decision {
    let action = lower_action(request.action);
    let ev = Evaluator {
        req: request,
        action: &action,
    };
    let mut denies = Vec::new();
    for p in set.policies() {
        ev.collect(p, Effect::Deny, &mut denies);
    }
    if !denies.is_empty() {
        let reason = format!(
            "explicitly denied by {}{}",
            describe(&denies[0]),
            more(denies.len())
        );
        return Decision {
            outcome: Outcome::ExplicitDeny,
            reason,
            statements: denies,
            gate: None,
        };
    }

    let mut allows = Vec::new();
    for p in set.identity.iter().copied() {
        ev.collect(p, Effect::Allow, &mut allows);
    }
    // A same-account resource-based policy that grants to the caller directly (its own
    // ARN, or `"*"`) is not limited by an implicit deny in the permissions boundary ("Permissions
    // boundaries for IAM entities", evaluating effective permissions with resource-based
    // policies). An explicit deny in the boundary was already handled above.
    let mut direct_grant = false;
    if let Some(resource_policy) = set.resource {
        let before = allows.len();
        ev.collect(resource_policy, Effect::Allow, &mut allows);
        direct_grant = allows[before..].iter().any(|r| {
            resource_policy
                .statements
                .get(r.index)
                .is_some_and(|st| names_caller_directly(st, request.principal))
        });
    }
    if allows.is_empty() {
        return Decision {
            outcome: Outcome::ImplicitDeny,
            reason: format!(
                "no statement allows \"{}\" on \"{}\"",
                request.action, request.resource
            ),
            statements: Vec::new(),
            gate: None,
        };
    }
    let first = describe(&allows[0]);
    let n = allows.len();
    for (gate, policy, what) in [
        (
            Gate::PermissionsBoundary,
            set.boundary,
            "permissions boundary",
        ),
        (Gate::SessionPolicy, set.session, "session policy"),
    ] {
        let Some(policy) = policy else { continue };
        if gate == Gate::PermissionsBoundary && direct_grant {
            continue;
        }
        let before = allows.len();
        ev.collect(policy, Effect::Allow, &mut allows);
        if allows.len() == before {
            return Decision {
                outcome: Outcome::ImplicitDeny,
                reason: format!(
                    "the {what} \"{}\" does not allow \"{}\" on \"{}\" (otherwise allowed by {first}{})",
                    policy.name,
                    request.action,
                    request.resource,
                    more(n)
                ),
                statements: allows,
                gate: Some(gate),
            };
        }
    }
    let unbounded = if direct_grant && set.boundary.is_some() {
        " (a resource-based policy naming the caller directly is not limited by the permissions boundary)"
    } else {
        ""
    };
    Decision {
        outcome: Outcome::Allowed,
        reason: format!("allowed by {first}{}{unbounded}", more(n)),
        statements: allows,
        gate: None,
    }
}

impl Policy {
    /// Whether some `Allow` statement of this policy could allow `action` on `resource`
    /// for `principal` under some condition values: its principal, action and resource
    /// match (a pattern whose policy variable cannot be resolved counts as matching) and
    /// its conditions are not looked at. A `false` means no request of this shape can
    /// ever be allowed: what a configuration check reports.
    pub fn may_allow(&self, principal: Principal<'_>, action: &str, resource: &str) -> bool {
        let action = lower_action(action);
        let empty = Context::new();
        let matches =
            |ps: &[Pattern], text: &str| ps.iter().any(|p| p.matches(text, &empty).unwrap_or(true));
        self.statements.iter().any(|st| {
            let principal_ok = match &st.principal {
                None => true,
                Some(PrincipalMatch::Principal(set)) => principal_matches(set, Some(principal)),
                Some(PrincipalMatch::NotPrincipal(set)) => !principal_matches(set, Some(principal)),
            };
            let action_ok = match &st.actions {
                ActionMatch::Action(ps) => matches(ps, action.as_ref()),
                ActionMatch::NotAction(ps) => !matches(ps, action.as_ref()),
            };
            let resource_ok = match &st.resources {
                ResourceMatch::All => true,
                ResourceMatch::Resource(ps) => matches(ps, resource),
                ResourceMatch::NotResource(ps) => !matches(ps, resource),
            };
            st.effect == Effect::Allow && principal_ok && action_ok && resource_ok
        })
    }
}

fn describe(s: &StatementRef) -> String {
    match &s.sid {
        Some(sid) => format!("statement \"{sid}\" of policy \"{}\"", s.policy),
        None => format!("statement #{} of policy \"{}\"", s.index, s.policy),
    }
}

fn more(n: usize) -> String {
    match n {
        0 | 1 => String::new(),
        2 => " and 1 other statement".to_owned(),
        _ => format!(" and {} other statements", n - 1),
    }
}

pub(crate) fn lower_action(a: &str) -> Cow<'_, str> {
    if a.is_ascii() {
        if a.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(a.to_ascii_lowercase())
        } else {
            Cow::Borrowed(a)
        }
    } else {
        Cow::Owned(a.to_lowercase())
    }
}

pub(crate) struct Evaluator<'r, 'a> {
    pub(crate) req: &'r Request<'a>,
    pub(crate) action: &'r str,
}

impl Evaluator<'_, '_> {
    /// Appends every applicable statement of `effect` in `policy` to `out`.
    fn collect(&self, policy: &Policy, effect: Effect, out: &mut Vec<StatementRef>) {
        let cands = policy.index.candidates(self.action);
        let list = match effect {
            Effect::Deny => &cands.deny,
            Effect::Allow => &cands.allow,
        };
        for c in list.iter() {
            let Some(st) = policy.statements.get(c.stmt as usize) else {
                continue;
            };
            if (c.known || self.action_matches(st)) && self.applies(st) {
                out.push(StatementRef {
                    policy: policy.name.clone(),
                    sid: st.sid.clone(),
                    index: c.stmt as usize,
                });
            }
        }
    }

    pub(crate) fn action_matches(&self, st: &Statement) -> bool {
        let ctx = self.req.context;
        let any = |ps: &[Pattern]| {
            ps.iter()
                .any(|p| p.matches(self.action, ctx).unwrap_or(false))
        };
        match &st.actions {
            ActionMatch::Action(ps) => any(ps),
            ActionMatch::NotAction(ps) => !any(ps),
        }
    }

    /// Principal, resource and conditions (the action is already matched).
    fn applies(&self, st: &Statement) -> bool {
        self.first_failure(st).is_none()
    }

    /// What stops `st` from applying, in the order checked: its principal, its resource,
    /// then its first condition that is not true. `None` when it applies (the action is
    /// matched by the caller). [`Evaluator::applies`] and [`crate::explain`] both read this,
    /// so an explanation cannot disagree with the decision.
    #[inline]
    pub(crate) fn first_failure(&self, st: &Statement) -> Option<Failure> {
        if let Some(pm) = &st.principal {
            let ok = match pm {
                PrincipalMatch::Principal(set) => principal_matches(set, self.req.principal),
                PrincipalMatch::NotPrincipal(set) => !principal_matches(set, self.req.principal),
            };
            if !ok {
                return Some(Failure::Principal);
            }
        }
        let ctx = self.req.context;
        let res = self.req.resource;
        let resource_ok = match &st.resources {
            ResourceMatch::All => true,
            ResourceMatch::Resource(ps) => {
                any_of(ps.iter().map(|p| p.matches(res, ctx))) == Some(true)
            }
            ResourceMatch::NotResource(ps) => {
                any_of(ps.iter().map(|p| p.matches(res, ctx))) == Some(false)
            }
        };
        if !resource_ok {
            return Some(Failure::Resource);
        }
        st.conditions
            .iter()
            .position(|c| eval_condition(c, ctx) != Some(true))
            .map(Failure::Condition)
    }
}

/// Why a statement whose action matched does not apply (see [`Evaluator::first_failure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// `Principal`/`NotPrincipal` does not admit the caller.
    Principal,
    /// `Resource`/`NotResource` does not admit the resource.
    Resource,
    /// The condition at this position is false (or cannot be decided).
    Condition(usize),
}

/// Whether an (applicable) resource-policy statement grants to the caller itself: its
/// `Principal` is `"*"` / `{"AWS": "*"}` or the caller's own ARN. An account or `root`
/// principal, a `Federated` or `Service` one, and `NotPrincipal` delegate to the account
/// and so stay limited by the boundary.
fn names_caller_directly(st: &Statement, caller: Option<Principal<'_>>) -> bool {
    let Some(PrincipalMatch::Principal(set)) = &st.principal else {
        return false;
    };
    if set.any {
        return true;
    }
    match caller {
        Some(Principal::Aws(arn)) => set
            .aws
            .iter()
            .any(|a| matches!(a, AwsPrincipal::Arn(x) if **x == *arn)),
        _ => false,
    }
}

fn principal_matches(set: &PrincipalSet, p: Option<Principal<'_>>) -> bool {
    if set.any {
        return true;
    }
    match p {
        None | Some(Principal::Anonymous) => false,
        Some(Principal::Federated(id)) => set.federated.iter().any(|f| **f == *id),
        Some(Principal::Service(id)) => set.service.iter().any(|f| **f == *id),
        Some(Principal::Aws(arn)) => set.aws.iter().any(|a| match a {
            AwsPrincipal::Arn(x) => **x == *arn,
            AwsPrincipal::Account(acct) => {
                arn == &**acct || arn.split(':').nth(4).is_some_and(|a| a == &**acct)
            }
        }),
    }
}

/// Three-valued OR: `Some(true)` if any is true, else `None` if any is unknown.
fn any_of(it: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut unknown = false;
    for r in it {
        match r {
            Some(true) => return Some(true),
            None => unknown = true,
            Some(false) => {}
        }
    }
    if unknown { None } else { Some(false) }
}

/// Three-valued AND.
fn all_of(it: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut unknown = false;
    for r in it {
        match r {
            Some(false) => return Some(false),
            None => unknown = true,
            Some(true) => {}
        }
    }
    if unknown { None } else { Some(true) }
}

/// One condition (one operator and one key, its values OR-ed). `None` when a policy
/// variable cannot be resolved.
pub(crate) fn eval_condition(c: &Condition, ctx: &Context) -> Option<bool> {
    let present = ctx
        .get_lower(&c.key)
        .filter(|v| !matches!(v, ContextValue::Multi(m) if m.is_empty()));
    if let Values::Null(expect) = &c.values {
        // "true": the key must be absent; "false": it must be present.
        return Some(expect.iter().any(|&absent| absent == present.is_none()));
    }
    let Some(value) = present else {
        // Missing key: IfExists passes; ForAllValues is vacuously true; ForAnyValue is
        // false; a plain negated operator is true, a plain positive one false.
        return Some(if c.op.if_exists {
            true
        } else {
            match c.op.set {
                Some(SetOp::ForAllValues) => true,
                Some(SetOp::ForAnyValue) => false,
                None => c.op.negated,
            }
        });
    };
    let neg = c.op.negated;
    let vals = value.values();
    match c.op.set {
        // A single value, or a multivalued key without a qualifier (matched as "any
        // request value matches any policy value", then negated for Not operators).
        None => any_of(vals.iter().map(|v| value_matches(c, v, ctx))).map(|b| b ^ neg),
        Some(SetOp::ForAnyValue) => any_of(
            vals.iter()
                .map(|v| value_matches(c, v, ctx).map(|b| b ^ neg)),
        ),
        Some(SetOp::ForAllValues) => all_of(
            vals.iter()
                .map(|v| value_matches(c, v, ctx).map(|b| b ^ neg)),
        ),
    }
}

/// Whether one request value matches any of the condition's policy values (positive
/// comparison).
fn value_matches(c: &Condition, v: &str, ctx: &Context) -> Option<bool> {
    match &c.values {
        Values::Str(ps) => any_of(ps.iter().map(|p| p.matches(v, ctx))),
        Values::StrIc(ps) => any_of(ps.iter().map(|p| match p {
            Pattern::Exact(l) => Some(eq_ignore_case(v, l)),
            other => {
                let toks = other.resolved(ctx)?;
                let mut s = String::new();
                for t in toks {
                    if let crate::glob::TokRef::Lit(l) = t {
                        s.push_str(l);
                    }
                }
                Some(eq_ignore_case(v, &s))
            }
        })),
        Values::Num(ns) => {
            let Some(x) = parse_number(v) else {
                return Some(false);
            };
            Some(ns.iter().any(|&n| match c.op.cmp {
                Cmp::NumLt => x < n,
                Cmp::NumLe => x <= n,
                Cmp::NumGt => x > n,
                Cmp::NumGe => x >= n,
                _ => x == n,
            }))
        }
        Values::Date(ds) => {
            let Some(x) = parse_date(v) else {
                return Some(false);
            };
            Some(ds.iter().any(|&d| match c.op.cmp {
                Cmp::DateLt => x < d,
                Cmp::DateLe => x <= d,
                Cmp::DateGt => x > d,
                Cmp::DateGe => x >= d,
                _ => x == d,
            }))
        }
        Values::Bool(bs) => {
            let Some(x) = parse_bool(v) else {
                return Some(false);
            };
            any_of(bs.iter().map(|b| match b {
                BoolValue::Lit(b) => Some(*b == x),
                BoolValue::Var(p) => {
                    let toks = p.resolved(ctx)?;
                    let s: String = toks
                        .iter()
                        .filter_map(|t| match t {
                            crate::glob::TokRef::Lit(l) => Some(*l),
                            _ => None,
                        })
                        .collect();
                    Some(parse_bool(&s) == Some(x))
                }
            }))
        }
        Values::Binary(bs) => {
            let Some(x) = decode_base64(v) else {
                return Some(false);
            };
            Some(bs.contains(&x))
        }
        Values::Ip(cidrs) => {
            let Some(ip) = parse_ip(v) else {
                return Some(false);
            };
            Some(cidrs.iter().any(|c| c.contains(ip)))
        }
        Values::Arn(ps) => any_of(ps.iter().map(|p| match p {
            Pattern::Any => Some(true),
            Pattern::Template(t) => resolve(t, ctx).map(|r| arn_match(&r, v)),
            other => other.resolved(ctx).map(|r| arn_match(&r, v)),
        })),
        Values::Null(_) => Some(false),
    }
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}
