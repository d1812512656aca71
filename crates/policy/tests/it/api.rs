//! The public API as Lanyard's HTTP and CLI layers use it.

use std::sync::Arc;

use lanyard_policy::{
    Context, ContextValue, Outcome, Policy, PolicyKind, PolicySet, Principal, Request,
    ValidationErrors, evaluate,
};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn compiled_policies_are_shareable() {
    assert_send_sync::<Policy>();
    assert_send_sync::<Context>();
    let p = Arc::new(
        Policy::parse(
            "p",
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"a:B","Resource":"*"}}"#,
            PolicyKind::Identity,
        )
        .unwrap(),
    );
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let p = Arc::clone(&p);
            std::thread::spawn(move || {
                let ctx = Context::new();
                let set = PolicySet {
                    identity: vec![&p],
                    ..Default::default()
                };
                evaluate(
                    &set,
                    &Request {
                        principal: None,
                        action: "a:b",
                        resource: "x",
                        context: &ctx,
                    },
                )
                .outcome
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), Outcome::Allowed);
    }
}

#[test]
fn trust_evaluation_as_lanyard_does_it() {
    let trust = Policy::parse(
        "engineer.trust_policy",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"corp"},
            "Action":"sts:AssumeRole","Condition":{"ForAnyValue:StringEquals":{"idp:groups":["engineering"]}}}]}"#,
        PolicyKind::Trust,
    )
    .unwrap();
    let ctx = Context::new().with("idp:groups", vec!["engineering", "admins"]);
    let set = PolicySet {
        resource: Some(&trust),
        ..Default::default()
    };
    let d = evaluate(
        &set,
        &Request {
            principal: Some(Principal::Federated("corp")),
            action: "sts:AssumeRole",
            resource: "arn:lanyard:iam:::role/engineer",
            context: &ctx,
        },
    );
    assert_eq!(d.outcome, Outcome::Allowed);
    assert_eq!(d.statements[0].policy, "engineer.trust_policy");
    assert_eq!(d.statements[0].index, 0);
    assert_eq!(d.statements[0].sid, None);
    assert_eq!(
        d.reason,
        "allowed by statement #0 of policy \"engineer.trust_policy\""
    );
}

#[test]
fn decision_serializes_for_the_wire() {
    let p = Policy::parse(
        "deploy",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoProd","Effect":"Deny","Action":"deploy:*","Resource":"arn:lanyard:deploy:::env/prod"}]}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    let ctx = Context::new();
    let d = PolicySet {
        identity: vec![&p],
        ..Default::default()
    }
    .evaluate(&Request {
        principal: None,
        action: "deploy:Start",
        resource: "arn:lanyard:deploy:::env/prod",
        context: &ctx,
    });
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "outcome": "ExplicitDeny",
            "reason": "explicitly denied by statement \"NoProd\" of policy \"deploy\"",
            "statements": [{"policy": "deploy", "sid": "NoProd", "index": 0}]
        })
    );
    assert!(!d.is_allowed());
}

#[test]
fn validation_errors_display_and_prefix() {
    let errs: ValidationErrors = Policy::parse(
        "t",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"corp"},"Action":"sts:AssumeRole",
            "Condition":{"StringEqual":{"idp:sub":"x"}}}]}"#,
        PolicyKind::Trust,
    )
    .unwrap_err();
    assert_eq!(
        errs.clone().prefixed("roles[1].trust_policy").to_string(),
        "roles[1].trust_policy.Statement[0].Condition: unknown operator \"StringEqual\", did you mean \"StringEquals\"?"
    );
    let e = errs.iter().next().unwrap();
    assert_eq!(e.path, "Statement[0].Condition");
    assert_eq!(errs.len(), 1);
    let as_error: &dyn std::error::Error = &errs;
    assert!(as_error.to_string().contains("StringEquals"));

    let bad_json = Policy::parse("t", "{not json", PolicyKind::Identity).unwrap_err();
    assert!(bad_json.to_string().starts_with("invalid JSON"));
    assert_eq!(
        bad_json
            .clone()
            .prefixed("policies[0]")
            .into_iter()
            .next()
            .unwrap()
            .path,
        "policies[0]"
    );
}

#[test]
fn context_values_convert() {
    assert_eq!(
        ContextValue::from(true),
        ContextValue::Single("true".into())
    );
    assert_eq!(ContextValue::from(42i64), ContextValue::Single("42".into()));
    assert_eq!(
        ContextValue::from(vec!["a".to_owned()]),
        ContextValue::Multi(vec!["a".into()])
    );
    let ctx: Context = [("aws:SourceIp", "10.0.0.1")].into_iter().collect();
    assert!(ctx.get("AWS:SourceIP").is_some());
}

#[test]
fn a_valid_document_never_fails_at_evaluation() {
    // Values the policy cannot read simply do not match; unresolved variables make the
    // statement inapplicable.
    let p = Policy::parse(
        "p",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:x:y:::${aws:username}",
            "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateLessThan":{"aws:CurrentTime":"2030-01-01"},
            "NumericLessThan":{"n:n":"3"},"BinaryEquals":{"b:b":"YQ=="},"ArnLike":{"a:a":"arn:*:*:*:*:${aws:username}"}}}]}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    let ctx = Context::new()
        .with("aws:SourceIp", "nonsense")
        .with("aws:CurrentTime", "nonsense")
        .with("n:n", "nonsense")
        .with("b:b", "!!")
        .with("a:a", "nonsense");
    let d = PolicySet {
        identity: vec![&p],
        ..Default::default()
    }
    .evaluate(&Request {
        principal: None,
        action: "x:y",
        resource: "arn:x:y:::alice",
        context: &ctx,
    });
    assert_eq!(d.outcome, Outcome::ImplicitDeny);
}

#[test]
fn action_index_covers_wildcards_and_not_action() {
    let doc = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"Exact","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
        {"Sid":"Svc","Effect":"Allow","Action":"s3:Get*","Resource":"*"},
        {"Sid":"Global","Effect":"Allow","Action":"*:Get*","Resource":"*"},
        {"Sid":"Star","Effect":"Allow","Action":"*","Resource":"*"},
        {"Sid":"Not","Effect":"Allow","NotAction":"ec2:*","Resource":"*"},
        {"Sid":"Other","Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}]}"#;
    let p = Policy::parse("p", doc, PolicyKind::Identity).unwrap();
    let ctx = Context::new();
    let sids = |action: &str| -> Vec<String> {
        PolicySet {
            identity: vec![&p],
            ..Default::default()
        }
        .evaluate(&Request {
            principal: None,
            action,
            resource: "x",
            context: &ctx,
        })
        .statements
        .into_iter()
        .filter_map(|s| s.sid)
        .collect()
    };
    assert_eq!(
        sids("s3:GetObject"),
        ["Exact", "Svc", "Global", "Star", "Not"]
    );
    assert_eq!(sids("S3:GETBUCKETACL"), ["Svc", "Global", "Star", "Not"]);
    assert_eq!(sids("sqs:GetQueueUrl"), ["Global", "Star", "Not"]);
    assert_eq!(sids("ec2:RunInstances"), ["Star", "Other"]);
    assert_eq!(sids("ec2:GetConsole"), ["Global", "Star"]);
}

#[test]
fn kind_detection_for_policy_check() {
    let kind = |v: serde_json::Value| PolicyKind::detect(&v);
    assert_eq!(
        kind(
            serde_json::json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}})
        ),
        PolicyKind::Identity
    );
    assert_eq!(
        kind(
            serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": "corp"},
            "Action": ["sts:AssumeRole", "sts:AssumeRoleWithSAML"]}]})
        ),
        PolicyKind::Trust
    );
    assert_eq!(
        kind(
            serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "*"}]})
        ),
        PolicyKind::Resource
    );
    assert_eq!(kind(serde_json::json!([])), PolicyKind::Identity);
}
