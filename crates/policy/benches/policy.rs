//! Lanyard's policy engine against `cedar-policy`, on the same workloads, in the same run.
//!
//! Each workload has N statements over A actions; statement `i` is for action `i % A` and
//! has a wildcard resource (`arn:aws:s3:::bucket-{i%7}/*`), a `StringEquals` on a
//! principal tag, a `Bool` on `aws:SecureTransport` and an `IpAddress` on `aws:SourceIp`;
//! every fifth statement is a `Deny` with `NotIpAddress` instead. The Cedar policy set says
//! the same thing (`permit`/`forbid` with `like`, `==` and `isInRange`). The request is
//! allowed by one statement, after every candidate statement (and every Cedar policy) has
//! been looked at. Policies, entities, contexts and requests are built once, outside the
//! measured loop, for both engines.
//!
//! Run: `cargo bench -p lanyard-policy --bench policy`.

// Bench set-up code: a failed unwrap is a broken bench.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::str::FromStr;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lanyard_policy::{Context, Policy, PolicyKind, PolicySet, Request, evaluate};

struct Workload {
    iam: Policy,
    cedar: cedar_policy::PolicySet,
    action: String,
}

fn workload(n: usize, actions: usize) -> Workload {
    let mut statements = Vec::with_capacity(n);
    let mut cedar = String::new();
    for i in 0..n {
        let action = format!("svc{}:Action{}", (i % actions) % 5, i % actions);
        let resource = format!("arn:aws:s3:::bucket-{}/*", i % 7);
        let team = format!("team-{}", i % 4);
        if i % 5 == 4 {
            statements.push(serde_json::json!({
                "Sid": format!("S{i}"), "Effect": "Deny", "Action": action, "Resource": resource,
                "Condition": {
                    "StringEquals": {"aws:PrincipalTag/team": team},
                    "Bool": {"aws:SecureTransport": "true"},
                    "NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                }
            }));
            cedar.push_str(&format!(
                "@id(\"S{i}\") forbid(principal, action == Action::\"{action}\", resource) when {{ \
                 resource.arn like \"{resource}\" && context.team == \"{team}\" && context.secure == true \
                 && !context.sourceIp.isInRange(ip(\"10.0.0.0/8\")) }};\n"
            ));
        } else {
            let cidr = format!("10.{}.0.0/16", i % 8);
            statements.push(serde_json::json!({
                "Sid": format!("S{i}"), "Effect": "Allow", "Action": action, "Resource": resource,
                "Condition": {
                    "StringEquals": {"aws:PrincipalTag/team": team},
                    "Bool": {"aws:SecureTransport": "true"},
                    "IpAddress": {"aws:SourceIp": cidr},
                }
            }));
            cedar.push_str(&format!(
                "@id(\"S{i}\") permit(principal, action == Action::\"{action}\", resource) when {{ \
                 resource.arn like \"{resource}\" && context.team == \"{team}\" && context.secure == true \
                 && context.sourceIp.isInRange(ip(\"{cidr}\")) }};\n"
            ));
        }
    }
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
    Workload {
        iam: Policy::from_value("bench", &doc, PolicyKind::Identity).unwrap(),
        cedar: cedar_policy::PolicySet::from_str(&cedar).unwrap(),
        action: format!("svc{}:Action{}", (1 % actions) % 5, 1 % actions),
    }
}

const RESOURCE: &str = "arn:aws:s3:::bucket-1/reports/2024.csv";

fn bench(c: &mut Criterion) {
    let ctx = Context::new()
        .with("aws:PrincipalTag/team", "team-1")
        .with("aws:SecureTransport", true)
        .with("aws:SourceIp", "10.1.2.3");
    let entities = cedar_policy::Entities::from_json_value(
        serde_json::json!([{"uid": {"type": "Resource", "id": "r"}, "attrs": {"arn": RESOURCE}, "parents": []}]),
        None,
    )
    .unwrap();
    let authorizer = cedar_policy::Authorizer::new();

    for (label, n, actions) in [
        ("a_10_statements", 10, 1),
        ("b_100_statements", 100, 5),
        ("c_1000_statements_50_actions", 1000, 50),
    ] {
        let w = workload(n, actions);
        let set = PolicySet {
            identity: vec![&w.iam],
            ..Default::default()
        };
        let req = Request {
            principal: None,
            action: &w.action,
            resource: RESOURCE,
            context: &ctx,
        };
        let cedar_ctx = cedar_policy::Context::from_json_value(
            serde_json::json!({
                "team": "team-1",
                "secure": true,
                "sourceIp": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}},
            }),
            None,
        )
        .unwrap();
        let cedar_req = cedar_policy::Request::new(
            cedar_policy::EntityUid::from_str(r#"User::"alice""#).unwrap(),
            cedar_policy::EntityUid::from_str(&format!("Action::\"{}\"", w.action)).unwrap(),
            cedar_policy::EntityUid::from_str(r#"Resource::"r""#).unwrap(),
            cedar_ctx,
            None,
        )
        .unwrap();

        // Both engines must agree before we time them.
        let ours = evaluate(&set, &req);
        let theirs = authorizer.is_authorized(&cedar_req, &w.cedar, &entities);
        assert!(ours.is_allowed(), "{label}: lanyard said {ours:?}");
        assert_eq!(
            theirs.decision(),
            cedar_policy::Decision::Allow,
            "{label}: cedar disagrees"
        );
        assert!(
            theirs.diagnostics().errors().next().is_none(),
            "{label}: cedar errors"
        );
        // Cedar names policies parsed from text `policy0`, `policy1`... in order.
        let mut ours_ids: Vec<_> = ours
            .statements
            .iter()
            .map(|s| format!("policy{}", s.index))
            .collect();
        ours_ids.sort();
        let mut theirs_ids: Vec<_> = theirs
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        theirs_ids.sort();
        assert_eq!(
            ours_ids, theirs_ids,
            "{label}: different deciding statements"
        );

        let mut g = c.benchmark_group(label);
        g.bench_function("lanyard", |b| {
            b.iter(|| black_box(evaluate(black_box(&set), black_box(&req))))
        });
        g.bench_function("cedar", |b| {
            b.iter(|| {
                black_box(authorizer.is_authorized(black_box(&cedar_req), &w.cedar, &entities))
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
