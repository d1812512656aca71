//! Table-driven cases built from the examples of AWS's IAM documentation.
//!
//! Each scenario in `tests/data/aws_docs_*.json` names the documentation page it comes
//! from (`page`), gives the policies (identity, resource/trust, boundary, session) and a
//! list of requests with the expected outcome and, where it matters, the `Sid`s of the
//! statements that decided it. `aws_docs_validation.json` holds documents that must be
//! rejected (with the expected error lines) or accepted. Every case is run and every
//! failure reported together.

use lanyard_policy::{
    Context, Decision, Outcome, Policy, PolicyKind, PolicySet, Principal, Request, evaluate,
};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Scenario {
    page: String,
    title: String,
    #[serde(default)]
    identity: Vec<Value>,
    resource: Option<ResourceDoc>,
    boundary: Option<Value>,
    session: Option<Value>,
    checks: Vec<Check>,
}

#[derive(Deserialize)]
struct ResourceDoc {
    kind: String,
    doc: Value,
}

#[derive(Deserialize)]
struct Check {
    principal: Option<Value>,
    action: String,
    resource: String,
    #[serde(default)]
    context: Option<Value>,
    expect: String,
    statements: Option<Vec<String>>,
    gate: Option<String>,
}

#[derive(Deserialize)]
struct Invalid {
    page: String,
    title: String,
    kind: String,
    doc: Value,
    errors: Vec<String>,
    count: Option<usize>,
}

fn kind(s: &str) -> PolicyKind {
    match s {
        "Identity" => PolicyKind::Identity,
        "Resource" => PolicyKind::Resource,
        "Trust" => PolicyKind::Trust,
        "Boundary" => PolicyKind::Boundary,
        "Session" => PolicyKind::Session,
        other => panic!("unknown kind {other}"),
    }
}

fn scenarios() -> Vec<Scenario> {
    let mut all: Vec<Scenario> =
        serde_json::from_str(include_str!("../data/aws_docs_1.json")).unwrap();
    all.extend(
        serde_json::from_str::<Vec<Scenario>>(include_str!("../data/aws_docs_2.json")).unwrap(),
    );
    all
}

fn principal(v: &Option<Value>) -> Option<Principal<'_>> {
    match v {
        None => None,
        Some(Value::String(s)) if s == "Anonymous" => Some(Principal::Anonymous),
        Some(Value::Object(o)) => {
            let (k, v) = o.iter().next().unwrap();
            let v = v.as_str().unwrap();
            Some(match k.as_str() {
                "Federated" => Principal::Federated(v),
                "AWS" => Principal::Aws(v),
                "Service" => Principal::Service(v),
                other => panic!("unknown principal type {other}"),
            })
        }
        Some(other) => panic!("bad principal {other}"),
    }
}

fn outcome(s: &str) -> Outcome {
    match s {
        "Allowed" => Outcome::Allowed,
        "ExplicitDeny" => Outcome::ExplicitDeny,
        "ImplicitDeny" => Outcome::ImplicitDeny,
        other => panic!("unknown outcome {other}"),
    }
}

fn check_one(s: &Scenario, c: &Check) -> Result<(), String> {
    let compile = |name: &str, doc: &Value, k: PolicyKind| {
        Policy::from_value(name, doc, k).map_err(|e| format!("policy {name} rejected:\n{e}"))
    };
    let identity: Vec<Policy> = s
        .identity
        .iter()
        .enumerate()
        .map(|(i, d)| compile(&format!("identity{i}"), d, PolicyKind::Identity))
        .collect::<Result<_, _>>()?;
    let resource = s
        .resource
        .as_ref()
        .map(|r| compile("resource", &r.doc, kind(&r.kind)))
        .transpose()?;
    let boundary = s
        .boundary
        .as_ref()
        .map(|d| compile("boundary", d, PolicyKind::Boundary))
        .transpose()?;
    let session = s
        .session
        .as_ref()
        .map(|d| compile("session", d, PolicyKind::Session))
        .transpose()?;
    let set = PolicySet {
        identity: identity.iter().collect(),
        resource: resource.as_ref(),
        boundary: boundary.as_ref(),
        session: session.as_ref(),
    };
    let ctx = match &c.context {
        Some(v) => Context::from_json(v).map_err(|e| e.to_string())?,
        None => Context::new(),
    };
    let d: Decision = evaluate(
        &set,
        &Request {
            principal: principal(&c.principal),
            action: &c.action,
            resource: &c.resource,
            context: &ctx,
        },
    );
    let want = outcome(&c.expect);
    if d.outcome != want {
        return Err(format!(
            "expected {want:?}, got {:?} ({})",
            d.outcome, d.reason
        ));
    }
    if let Some(sids) = &c.statements {
        let got: Vec<String> = d
            .statements
            .iter()
            .map(|s| s.sid.clone().unwrap_or_default())
            .collect();
        if &got != sids {
            return Err(format!("expected statements {sids:?}, got {got:?}"));
        }
    }
    if let Some(g) = &c.gate {
        let got = d.gate.map(|g| format!("{g:?}")).unwrap_or_default();
        if &got != g {
            return Err(format!("expected gate {g}, got {got:?}"));
        }
    }
    // Every decision explains itself.
    if d.reason.is_empty() || (want != Outcome::ImplicitDeny && d.statements.is_empty()) {
        return Err(format!("decision without explanation: {d:?}"));
    }
    Ok(())
}

#[test]
fn aws_documentation_examples() {
    let scenarios = scenarios();
    let invalid: Vec<Invalid> =
        serde_json::from_str(include_str!("../data/aws_docs_validation.json")).unwrap();
    let mut failures = Vec::new();
    let mut cases = 0;
    for s in &scenarios {
        assert!(!s.page.is_empty(), "every scenario names its page");
        for (i, c) in s.checks.iter().enumerate() {
            cases += 1;
            if let Err(e) = check_one(s, c) {
                failures.push(format!(
                    "[{}] {} — check {i} ({} on {}): {e}",
                    s.page, s.title, c.action, c.resource
                ));
            }
        }
    }
    for v in &invalid {
        cases += 1;
        let got = Policy::from_value("doc", &v.doc, kind(&v.kind));
        let lines: Vec<String> = match &got {
            Ok(_) => Vec::new(),
            Err(errs) => errs.iter().map(ToString::to_string).collect(),
        };
        let mut problems = Vec::new();
        if v.errors.is_empty() && got.is_err() {
            problems.push(format!(
                "expected a valid document, got:\n{}",
                lines.join("\n")
            ));
        }
        for want in &v.errors {
            if !lines.iter().any(|l| l.contains(want.as_str())) {
                problems.push(format!("missing error {want:?}"));
            }
        }
        if let Some(n) = v.count {
            if lines.len() != n {
                problems.push(format!("expected {n} errors, got {}", lines.len()));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "[{}] {}: {}\n  got: {}",
                v.page,
                v.title,
                problems.join("; "),
                lines.join("\n       ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cases >= 150, "only {cases} documentation cases");
    println!("{cases} documentation cases passed");
}
