//! Property tests: evaluation never panics on any parsed document, adding a `Deny` never
//! turns a deny into an allow, and without `Deny` statements or a boundary, allow is
//! monotone in added `Allow` statements.

use lanyard_policy::{
    Context, Outcome, Policy, PolicyKind, PolicySet, Principal, Request, evaluate,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:Get*",
    "s3:*",
    "*",
    "ec2:RunInstances",
    "ec2:*Instances",
    "iam:?etUser",
    "*:Get*",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/${aws:username}/*",
    "arn:aws:s3:::b/${aws:PrincipalTag/team, 'shared'}/*",
    "arn:aws:ec2:*:*:instance/*",
    "arn:aws:s3:::b/k?",
];
const REQ_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "S3:PutObject",
    "ec2:RunInstances",
    "iam:GetUser",
    "sqs:SendMessage",
];
const REQ_RESOURCES: &[&str] = &[
    "arn:aws:s3:::b/k1",
    "arn:aws:s3:::b/alice/x",
    "arn:aws:s3:::b/shared/x",
    "arn:aws:ec2:us-east-1:1:instance/i-1",
    "arn:aws:iam::1:user/bob",
];

fn conditions() -> Vec<Value> {
    vec![
        json!({"StringEquals": {"aws:username": ["alice", "bob"]}}),
        json!({"StringLike": {"aws:username": "a*"}}),
        json!({"StringNotEquals": {"aws:username": "alice"}}),
        json!({"StringEqualsIgnoreCase": {"aws:username": "${aws:PrincipalTag/nick}"}}),
        json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}),
        json!({"NotIpAddress": {"aws:SourceIp": "192.168.0.0/16"}}),
        json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}),
        json!({"ForAnyValue:StringLike": {"aws:TagKeys": "a*"}}),
        json!({"ForAnyValue:StringNotEquals": {"aws:TagKeys": "b"}}),
        json!({"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}),
        json!({"NumericGreaterThanIfExists": {"n:num": "5"}}),
        json!({"Bool": {"aws:SecureTransport": "true"}}),
        json!({"Null": {"aws:username": "false"}}),
        json!({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:t*"}}),
        json!({"BinaryEquals": {"n:bin": "YQ=="}}),
    ]
}

fn statement(effect: Option<&'static str>) -> impl Strategy<Value = Value> {
    let effect = match effect {
        Some(e) => Just(e).boxed(),
        None => prop_oneof![Just("Allow"), Just("Deny")].boxed(),
    };
    (
        effect,
        any::<bool>(),
        prop::collection::vec(prop::sample::select(ACTIONS), 1..3),
        any::<bool>(),
        prop::collection::vec(prop::sample::select(RESOURCES), 1..3),
        prop::collection::vec(prop::sample::select(conditions()), 0..3),
    )
        .prop_map(
            |(effect, not_action, actions, not_resource, resources, conds)| {
                let mut st = serde_json::Map::new();
                st.insert("Effect".into(), json!(effect));
                st.insert(
                    if not_action { "NotAction" } else { "Action" }.into(),
                    json!(actions),
                );
                st.insert(
                    if not_resource {
                        "NotResource"
                    } else {
                        "Resource"
                    }
                    .into(),
                    json!(resources),
                );
                let mut cond = serde_json::Map::new();
                for c in conds {
                    if let Value::Object(o) = c {
                        cond.extend(o);
                    }
                }
                if !cond.is_empty() {
                    st.insert("Condition".into(), Value::Object(cond));
                }
                Value::Object(st)
            },
        )
}

fn doc(statements: &[Value]) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn context() -> impl Strategy<Value = Context> {
    (
        prop::option::of(prop::sample::select(vec!["alice", "bob", "ALICE", "a*"])),
        prop::option::of(prop::sample::select(vec![
            "10.1.2.3",
            "192.168.1.1",
            "2001:db8::1",
            "x",
        ])),
        prop::option::of(prop::collection::vec(
            prop::sample::select(vec!["a", "ab", "b", "c"]),
            0..3,
        )),
        prop::option::of(prop::sample::select(vec![
            "2024-06-01T00:00:00Z",
            "2026-01-01",
            "1700000000",
            "?",
        ])),
        prop::option::of(prop::sample::select(vec!["1", "10", "nan"])),
        prop::option::of(prop::sample::select(vec!["true", "false"])),
        prop::option::of(prop::sample::select(vec!["payments", "shared"])),
    )
        .prop_map(|(user, ip, tags, time, num, tls, team)| {
            let mut c = Context::new();
            if let Some(v) = user {
                c.insert("aws:username", v);
                c.insert("aws:PrincipalTag/nick", v.to_lowercase());
            }
            if let Some(v) = ip {
                c.insert("aws:SourceIp", v);
            }
            if let Some(v) = tags {
                c.insert("aws:TagKeys", v);
            }
            if let Some(v) = time {
                c.insert("aws:CurrentTime", v);
            }
            if let Some(v) = num {
                c.insert("n:num", v);
            }
            if let Some(v) = tls {
                c.insert("aws:SecureTransport", v);
            }
            if let Some(v) = team {
                c.insert("aws:PrincipalTag/team", v);
            }
            c.insert("aws:SourceArn", "arn:aws:sns:us-east-1:1:topic");
            c.insert("n:bin", "YQ==");
            c
        })
}

fn decide(
    policies: &[Policy],
    boundary: Option<&Policy>,
    action: &str,
    resource: &str,
    ctx: &Context,
) -> Outcome {
    let set = PolicySet {
        identity: policies.iter().collect(),
        boundary,
        ..Default::default()
    };
    evaluate(
        &set,
        &Request {
            principal: None,
            action,
            resource,
            context: ctx,
        },
    )
    .outcome
}

/// Arbitrary JSON built from policy vocabulary, to reach deep into the validator.
fn arb_json() -> impl Strategy<Value = Value> {
    let words = prop::sample::select(vec![
        "Version",
        "2012-10-17",
        "2008-10-17",
        "Statement",
        "Sid",
        "Effect",
        "Allow",
        "Deny",
        "Principal",
        "NotPrincipal",
        "AWS",
        "Federated",
        "Service",
        "*",
        "Action",
        "NotAction",
        "s3:Get*",
        "GetObject",
        "Resource",
        "NotResource",
        "arn:aws:s3:::b/${aws:username}",
        "${",
        "${aws:username",
        "${a, 'd'}",
        "Condition",
        "StringEquals",
        "ForAllValues:StringLike",
        "ForAnyValue:Null",
        "NullIfExists",
        "IpAddress",
        "aws:SourceIp",
        "10.0.0.0/8",
        "::1/200",
        "DateLessThan",
        "2020-02-30",
        "1700000000",
        "Bool",
        "true",
        "BinaryEquals",
        "====",
        "ArnLike",
        "arn:*:*",
        "é?*",
        "",
    ]);
    let leaf = prop_oneof![
        words.clone().prop_map(|s| json!(s)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<bool>().prop_map(|b| json!(b)),
        Just(Value::Null),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((words.clone(), inner), 0..5).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

const KINDS: [PolicyKind; 5] = [
    PolicyKind::Identity,
    PolicyKind::Resource,
    PolicyKind::Trust,
    PolicyKind::Boundary,
    PolicyKind::Session,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_documents(v in arb_json(), kind in prop::sample::select(KINDS.to_vec()),
                                           action in prop::sample::select(REQ_ACTIONS), ctx in context()) {
        if let Ok(p) = Policy::from_value("p", &v, kind) {
            let mut set = PolicySet::default();
            match kind {
                PolicyKind::Resource | PolicyKind::Trust => set.resource = Some(&p),
                PolicyKind::Boundary => { set.boundary = Some(&p); set.identity.push(&p); }
                _ => set.identity.push(&p),
            }
            for principal in [None, Some(Principal::Federated("corp")), Some(Principal::Anonymous)] {
                let d = evaluate(&set, &Request { principal, action, resource: "arn:aws:s3:::b/k1", context: &ctx });
                prop_assert!(!d.reason.is_empty());
            }
        }
    }

    #[test]
    fn never_panics_on_arbitrary_text(s in "\\PC{0,300}") {
        let _ = Policy::parse("p", &s, PolicyKind::Identity);
    }

    #[test]
    fn generated_documents_are_valid_and_evaluate(sts in prop::collection::vec(statement(None), 1..6),
                                                 action in prop::sample::select(REQ_ACTIONS),
                                                 resource in prop::sample::select(REQ_RESOURCES), ctx in context()) {
        let p = Policy::from_value("p", &doc(&sts), PolicyKind::Identity);
        prop_assert!(p.is_ok(), "{:?}", p.err());
        let p = p.unwrap();
        let _ = decide(std::slice::from_ref(&p), Some(&p), action, resource, &ctx);
    }

    #[test]
    fn adding_a_deny_never_turns_deny_into_allow(sts in prop::collection::vec(statement(None), 1..6),
                                                 deny in statement(Some("Deny")),
                                                 action in prop::sample::select(REQ_ACTIONS),
                                                 resource in prop::sample::select(REQ_RESOURCES), ctx in context()) {
        let before = Policy::from_value("p", &doc(&sts), PolicyKind::Identity).unwrap();
        let mut more = sts.clone();
        more.push(deny.clone());
        let after = Policy::from_value("p", &doc(&more), PolicyKind::Identity).unwrap();
        // Also as a separate policy.
        let extra = Policy::from_value("extra", &doc(&[deny]), PolicyKind::Identity).unwrap();
        let d0 = decide(std::slice::from_ref(&before), None, action, resource, &ctx);
        let d1 = decide(std::slice::from_ref(&after), None, action, resource, &ctx);
        let d2 = decide(&[before, extra], None, action, resource, &ctx);
        if d0 != Outcome::Allowed {
            prop_assert_ne!(d1, Outcome::Allowed);
            prop_assert_ne!(d2, Outcome::Allowed);
        }
        if d0 == Outcome::ExplicitDeny {
            prop_assert_eq!(d1, Outcome::ExplicitDeny);
            prop_assert_eq!(d2, Outcome::ExplicitDeny);
        }
    }

    #[test]
    fn allow_is_monotone_without_denies(sts in prop::collection::vec(statement(Some("Allow")), 1..6),
                                        allow in statement(Some("Allow")),
                                        action in prop::sample::select(REQ_ACTIONS),
                                        resource in prop::sample::select(REQ_RESOURCES), ctx in context()) {
        let before = Policy::from_value("p", &doc(&sts), PolicyKind::Identity).unwrap();
        let mut more = sts.clone();
        more.push(allow.clone());
        let after = Policy::from_value("p", &doc(&more), PolicyKind::Identity).unwrap();
        let extra = Policy::from_value("extra", &doc(&[allow]), PolicyKind::Identity).unwrap();
        let d0 = decide(std::slice::from_ref(&before), None, action, resource, &ctx);
        prop_assert_ne!(d0, Outcome::ExplicitDeny);
        if d0 == Outcome::Allowed {
            prop_assert_eq!(decide(std::slice::from_ref(&after), None, action, resource, &ctx), Outcome::Allowed);
            prop_assert_eq!(decide(&[before, extra], None, action, resource, &ctx), Outcome::Allowed);
        }
    }
}
