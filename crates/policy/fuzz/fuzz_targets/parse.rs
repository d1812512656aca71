//! Fuzz the policy parser and validator, then evaluate whatever it accepts: neither may
//! panic, and an accepted document must evaluate (a valid document never fails at
//! evaluation time).
#![no_main]

use lanyard_policy::{Context, Policy, PolicyKind, PolicySet, Principal, Request, evaluate};
use libfuzzer_sys::fuzz_target;

const KINDS: [PolicyKind; 5] = [
    PolicyKind::Identity,
    PolicyKind::Resource,
    PolicyKind::Trust,
    PolicyKind::Boundary,
    PolicyKind::Session,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The same bytes also serve as a request context when they are a JSON object.
    let ctx = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| Context::from_json(&v).ok())
        .unwrap_or_else(|| {
            Context::new()
                .with("aws:username", "alice")
                .with("aws:SourceIp", "10.1.2.3")
                .with("aws:CurrentTime", "2024-06-01T00:00:00Z")
                .with("aws:TagKeys", vec!["a", "b"])
        });
    for kind in KINDS {
        let Ok(policy) = Policy::parse("fuzz", text, kind) else {
            continue;
        };
        let mut set = PolicySet::default();
        match kind {
            PolicyKind::Resource | PolicyKind::Trust => set.resource = Some(&policy),
            PolicyKind::Boundary => {
                set.identity.push(&policy);
                set.boundary = Some(&policy);
            }
            PolicyKind::Session => {
                set.identity.push(&policy);
                set.session = Some(&policy);
            }
            PolicyKind::Identity => set.identity.push(&policy),
        }
        for (principal, action, resource) in [
            (None, "s3:GetObject", "arn:aws:s3:::b/alice/k"),
            (
                Some(Principal::Federated("corp")),
                "sts:AssumeRole",
                "arn:lanyard:iam:::role/r",
            ),
            (Some(Principal::Anonymous), "x", ""),
        ] {
            let d = evaluate(
                &set,
                &Request {
                    principal,
                    action,
                    resource,
                    context: &ctx,
                },
            );
            assert!(!d.reason.is_empty());
        }
    }
});
