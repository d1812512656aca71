//! Explanation: one request against a set of policies, statement by statement — which
//! statements applied, and for each one that did not, what stopped it (its principal, its
//! action, its resource, or the first condition that was not true, with the value the
//! request had and the values the statement wanted).
//!
//! The decision is [`evaluate`]'s own, and whether a statement applies is read from the
//! same check [`evaluate`] makes, so an explanation cannot disagree with a decision.

use serde::Serialize;

use crate::context::ContextValue;
use crate::eval::{
    Decision, Evaluator, Failure, PolicySet, Request, StatementRef, eval_condition, evaluate,
    lower_action,
};
use crate::policy::{Condition, Effect, Policy};

/// A decision with every statement of the set explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The decision, exactly as [`evaluate`] makes it.
    pub decision: Decision,
    /// Every statement of every policy of the set (identity policies, the resource policy,
    /// the boundary, the session policy), in that order and in document order.
    pub statements: Vec<StatementExplanation>,
}

/// One statement, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementExplanation {
    /// The statement.
    #[serde(flatten)]
    pub statement: StatementRef,
    /// Its effect.
    pub effect: StatementEffect,
    /// Whether it applied to the request (its principal, action, resource and every
    /// condition matched).
    pub applies: bool,
    /// What stopped it, when it did not apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<Mismatch>,
}

/// A statement's `Effect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum StatementEffect {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
}

/// What stopped a statement from applying: the first element, in the order checked, that
/// did not match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "element", rename_all = "snake_case")]
pub enum Mismatch {
    /// `Action`/`NotAction` does not cover the request's action.
    Action,
    /// `Principal`/`NotPrincipal` does not admit the caller.
    Principal,
    /// `Resource`/`NotResource` does not cover the request's resource.
    Resource,
    /// A condition was not true.
    Condition(FailedCondition),
}

/// A condition that was not true, with what it saw and what it wanted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedCondition {
    /// Its position among the statement's conditions (operators, then keys, as written).
    pub index: usize,
    /// The operator, as written (`ForAnyValue:StringEquals`).
    pub operator: String,
    /// The condition key, as written (`idp:groups`).
    pub key: String,
    /// The request's value(s) of the key; `None` when the request does not have the key.
    pub seen: Option<Vec<String>>,
    /// The values the condition wanted, as written.
    pub wanted: Vec<String>,
    /// Whether a policy variable in the wanted values could not be resolved (which makes
    /// the condition undecidable, and so not true).
    pub unresolved: bool,
}

/// Evaluates `request` against `set` and explains every statement.
pub fn explain(set: &PolicySet<'_>, request: &Request<'_>) -> Explanation {
    let decision = evaluate(set, request);
    let action = lower_action(request.action);
    let ev = Evaluator {
        req: request,
        action: &action,
    };
    let mut statements = Vec::new();
    for policy in set.policies() {
        explain_policy(&ev, policy, &mut statements);
    }
    Explanation {
        decision,
        statements,
    }
}

fn explain_policy(ev: &Evaluator<'_, '_>, policy: &Policy, out: &mut Vec<StatementExplanation>) {
    for (index, st) in policy.statements.iter().enumerate() {
        let mismatch = if ev.action_matches(st) {
            ev.first_failure(st).map(|failure| match failure {
                Failure::Principal => Mismatch::Principal,
                Failure::Resource => Mismatch::Resource,
                Failure::Condition(i) => match st.conditions.get(i) {
                    Some(c) => Mismatch::Condition(failed(i, c, ev)),
                    None => Mismatch::Resource,
                },
            })
        } else {
            Some(Mismatch::Action)
        };
        out.push(StatementExplanation {
            statement: StatementRef {
                policy: policy.name.clone(),
                sid: st.sid.clone(),
                index,
            },
            effect: match st.effect {
                Effect::Allow => StatementEffect::Allow,
                Effect::Deny => StatementEffect::Deny,
            },
            applies: mismatch.is_none(),
            mismatch,
        });
    }
}

fn failed(index: usize, c: &Condition, ev: &Evaluator<'_, '_>) -> FailedCondition {
    let ctx = ev.req.context;
    let seen = ctx.get_lower(&c.key).map(|v| match v {
        ContextValue::Single(s) => vec![s.clone()],
        ContextValue::Multi(m) => m.clone(),
    });
    FailedCondition {
        index,
        operator: c.source.operator.to_string(),
        key: c.source.key.to_string(),
        seen,
        wanted: c.source.values.to_vec(),
        unresolved: eval_condition(c, ctx).is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Context, PolicyKind, Principal};

    fn trust() -> Policy {
        Policy::parse(
            "trust",
            r#"{"Version": "2012-10-17", "Statement": [
                {"Sid": "Eng", "Effect": "Allow", "Principal": {"Federated": "corp"},
                 "Action": "sts:AssumeRole",
                 "Condition": {"ForAnyValue:StringEquals": {"idp:groups": ["engineering", "sre"]},
                               "Bool": {"aws:MultiFactorAuthPresent": "true"}}},
                {"Effect": "Allow", "Principal": {"Federated": "other"}, "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRoleWithSAML"}
            ]}"#,
            PolicyKind::Trust,
        )
        .unwrap()
    }

    fn ask(policy: &Policy, context: &Context) -> Explanation {
        let set = PolicySet {
            resource: Some(policy),
            ..PolicySet::default()
        };
        explain(
            &set,
            &Request {
                principal: Some(Principal::Federated("corp")),
                action: "sts:AssumeRole",
                resource: "arn:lanyard:iam:::role/eng",
                context,
            },
        )
    }

    #[test]
    fn a_refusal_names_the_failed_condition_with_seen_and_wanted_values() {
        let policy = trust();
        let context = Context::new()
            .with("idp:groups", vec!["sales".to_owned()])
            .with("aws:MultiFactorAuthPresent", "true");
        let e = ask(&policy, &context);
        assert!(!e.decision.is_allowed());
        assert_eq!(e.statements.len(), 3);
        assert_eq!(
            e.statements[0].mismatch,
            Some(Mismatch::Condition(FailedCondition {
                index: 0,
                operator: "ForAnyValue:StringEquals".to_owned(),
                key: "idp:groups".to_owned(),
                seen: Some(vec!["sales".to_owned()]),
                wanted: vec!["engineering".to_owned(), "sre".to_owned()],
                unresolved: false,
            }))
        );
        assert_eq!(e.statements[1].mismatch, Some(Mismatch::Principal));
        assert_eq!(e.statements[2].mismatch, Some(Mismatch::Action));
    }

    #[test]
    fn a_missing_key_is_seen_as_none_and_an_allow_applies() {
        let policy = trust();
        let context = Context::new().with("idp:groups", vec!["sre".to_owned()]);
        let e = ask(&policy, &context);
        match &e.statements[0].mismatch {
            Some(Mismatch::Condition(c)) => {
                assert_eq!(
                    (c.key.as_str(), c.seen.as_ref()),
                    ("aws:MultiFactorAuthPresent", None)
                );
                assert_eq!(c.wanted, vec!["true".to_owned()]);
            }
            other => panic!("{other:?}"),
        }
        let context = context.with("aws:MultiFactorAuthPresent", "true");
        let e = ask(&policy, &context);
        assert!(e.decision.is_allowed());
        assert!(e.statements[0].applies && e.statements[0].mismatch.is_none());
        // The applying statements are exactly the decision's.
        let applying: Vec<_> = e
            .statements
            .iter()
            .filter(|s| s.applies)
            .map(|s| s.statement.clone())
            .collect();
        assert_eq!(applying, e.decision.statements);
    }
}
