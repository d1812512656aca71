//! The IAM policy language of Lanyard: parse, validate, evaluate, explain.
//!
//! Pure and synchronous: no I/O, no clock, no globals. A policy document is parsed once
//! into an immutable [`Policy`] (wildcard patterns pre-compiled, statements indexed by
//! action) and evaluated any number of times, from any number of threads, without locks.
//!
//! ```
//! use lanyard_policy::{Context, Policy, PolicyKind, PolicySet, Request, evaluate};
//!
//! let policy = Policy::parse("deploy", r#"{
//!     "Version": "2012-10-17",
//!     "Statement": [{
//!         "Effect": "Allow",
//!         "Action": "deploy:Start*",
//!         "Resource": "arn:lanyard:deploy:::service/${aws:PrincipalTag/team}/*",
//!         "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
//!     }]
//! }"#, PolicyKind::Identity)?;
//! let context = Context::new()
//!     .with("aws:PrincipalTag/team", "payments")
//!     .with("aws:SourceIp", "10.1.2.3");
//! let set = PolicySet { identity: vec![&policy], ..Default::default() };
//! let decision = evaluate(&set, &Request {
//!     principal: None,
//!     action: "deploy:StartRollout",
//!     resource: "arn:lanyard:deploy:::service/payments/api",
//!     context: &context,
//! });
//! assert!(decision.is_allowed());
//! # Ok::<(), lanyard_policy::ValidationErrors>(())
//! ```
//!
//! What it implements, with AWS's documented meaning (AWS IAM User Guide pages):
//! - "IAM JSON policy element reference": `Version` (`2012-10-17`; `2008-10-17`, the default,
//!   makes `${...}` literal), `Id`, `Statement` (an object or a list), `Sid`, `Effect`,
//!   `Principal`/`NotPrincipal` (`"*"`, `AWS`, `Federated`, `Service`, `CanonicalUser`),
//!   `Action`/`NotAction` (case-insensitive, `*` and `?`), `Resource`/`NotResource`
//!   (case-sensitive, `*` and `?`), `Condition`.
//! - "IAM JSON policy elements: Condition operators": every family (String, Numeric, Date,
//!   Bool, BinaryEquals, IpAddress/NotIpAddress, Arn, Null), the `...IfExists` suffix, and
//!   the rule that a missing key makes a condition false except for negated operators.
//! - "Condition with multiple context keys or values": keys and operators AND-ed, the
//!   values of one key OR-ed (negated operators: none may match).
//! - "Set operators for multivalued context keys" / "Single-valued vs. multivalued context
//!   keys": `ForAllValues:` (true on a missing or empty key) and `ForAnyValue:` (false on
//!   one).
//! - "IAM policy elements: Variables and tags": `${key}`, `${key, 'default'}`, `${*}`,
//!   `${?}`, `${$}` in `Resource`, `NotResource` and in string, ARN and Boolean condition
//!   values.
//! - "Policy evaluation logic" (single account), "Permissions boundaries for IAM
//!   entities", "Session policies": see [`evaluate`].
//! - "IAM JSON policy elements: NotAction", "NotResource", "NotPrincipal".
//!
//! This module imports nothing from the rest of Lanyard.

mod context;
mod error;
mod eval;
mod explain;
mod glob;
mod operator;
mod policy;
mod value;

pub use context::{Context, ContextValue, normalize_key};
pub use error::{ContextError, ValidationError, ValidationErrors};
pub use eval::{Decision, Gate, Outcome, PolicySet, Principal, Request, StatementRef, evaluate};
pub use explain::{
    Explanation, FailedCondition, Mismatch, StatementEffect, StatementExplanation, explain,
};
pub use operator::{KNOWN_OPERATORS, SET_QUALIFIERS};
pub use policy::{Policy, PolicyKind, PolicyVersion};
