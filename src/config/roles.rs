//! `[[roles]]` into the roles the trust evaluator uses ([`crate::roles::Role`]), and the
//! session bounds every configured duration of a role session is held to.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lanyard_policy::{Policy, PolicyKind};

use super::Cx;
use super::cx::at;
use super::raw::{RawApproval, RawPolicySource, RawRole};
use crate::identity::RoleName;
use crate::roles::{
    Approval, MAX_APPROVALS, MAX_SESSION_SECS, MIN_SESSION_SECS, Role, TicketPattern,
    is_valid_role_name,
};

/// The longest a request may wait for its decision.
const MAX_DECISION_WINDOW_SECS: u64 = 7 * 24 * 3600;
/// The shortest.
const MIN_DECISION_WINDOW_SECS: u64 = 300;

pub(super) fn check_session_bounds(cx: &mut Cx<'_>, path: &str, d: Duration) {
    let secs = d.as_secs();
    if !(MIN_SESSION_SECS..=MAX_SESSION_SECS).contains(&secs) {
        cx.error(
            path,
            format!("must be between 15m and 12h (900-43200 seconds), not {secs} seconds"),
        );
    }
}

impl Cx<'_> {
    pub(super) fn roles(
        &mut self,
        raws: Vec<RawRole>,
        policies: &BTreeMap<String, Arc<Policy>>,
    ) -> Vec<Role> {
        let mut out: Vec<Role> = Vec::new();
        for (i, raw) in raws.into_iter().enumerate() {
            let path = format!("roles[{i}]");
            if !self.role_name(&path, &raw.name) {
                continue;
            }
            if out.iter().any(|r| r.name == raw.name) {
                self.error(
                    format!("{path}.name"),
                    format!("a role named \"{}\" is already defined", raw.name),
                );
                continue;
            }
            if let Some(role) = self.role(&path, raw, policies) {
                out.push(role);
            }
        }
        out
    }

    /// Whether `name` is a valid role name; records the error at `{path}.name` if not.
    fn role_name(&mut self, path: &str, name: &str) -> bool {
        let valid = is_valid_role_name(name);
        if !valid {
            self.error(
                at(path, "name"),
                format!(
                    "{name:?} is not a valid role name: 1-64 characters of A-Z a-z 0-9 and +=,.@_-"
                ),
            );
        }
        valid
    }

    /// One role whose name is valid and new.
    fn role(
        &mut self,
        path: &str,
        raw: RawRole,
        policies: &BTreeMap<String, Arc<Policy>>,
    ) -> Option<Role> {
        let max = self.duration(
            &at(path, "max_session_duration"),
            raw.max_session_duration.as_deref(),
            Duration::from_secs(3600),
        );
        check_session_bounds(self, &at(path, "max_session_duration"), max);
        let trust = match raw.trust_policy {
            Some(source) => self.policy_source(
                &at(path, "trust_policy"),
                source,
                &format!("{}/trust", raw.name),
                PolicyKind::Trust,
            ),
            None => {
                self.error(
                    at(path, "trust_policy"),
                    "is required: without one nobody may assume the role",
                );
                None
            }
        };
        let mut permission_policies = self.named_policies(path, &raw.permission_policies, policies);
        if let Some(source) = raw.inline_policy
            && let Some(p) = self.policy_source(
                &at(path, "inline_policy"),
                source,
                &format!("{}/inline", raw.name),
                PolicyKind::Identity,
            )
        {
            permission_policies.push(p);
        }
        let permissions_boundary = match raw.permissions_boundary {
            Some(name) => match policies.get(&name) {
                Some(p) => Some(Arc::clone(p)),
                None => {
                    self.unknown_policy(&at(path, "permissions_boundary"), &name, policies);
                    None
                }
            },
            None => None,
        };
        let approval = match raw.approval {
            Some(a) => Some(Arc::new(self.approval(
                &at(path, "approval"),
                &raw.name,
                a,
                max,
            )?)),
            None => None,
        };
        Some(Role {
            name: RoleName::new(raw.name),
            description: raw.description.unwrap_or_default(),
            group: raw.group,
            max_session_duration: max,
            trust_policy: trust?,
            permission_policies,
            permissions_boundary,
            approval,
        })
    }

    /// A role's `approval`: who approves, how many, for how long. `max` is the role's
    /// `max_session_duration`, which an approved window may not exceed either.
    fn approval(
        &mut self,
        path: &str,
        role: &str,
        raw: RawApproval,
        max: Duration,
    ) -> Option<Approval> {
        let before = self.errors.len();
        let approvers = match raw.approvers {
            Some(source) => self.policy_source(
                &at(path, "approvers"),
                source,
                &format!("{role}/approvers"),
                PolicyKind::Trust,
            ),
            None if raw.break_glass => None,
            None => {
                self.error(
                    at(path, "approvers"),
                    "is required: a policy allowing lanyard:ApproveAccessRequest to the                      people who decide (only a break_glass role may have none)",
                );
                None
            }
        };
        let approvals = raw.approvals.unwrap_or(1);
        if !(1..=MAX_APPROVALS).contains(&approvals) {
            self.error(
                at(path, "approvals"),
                format!("must be between 1 and {MAX_APPROVALS}, not {approvals}"),
            );
        }
        let max_duration = self.duration(
            &at(path, "max_duration"),
            raw.max_duration.as_deref(),
            Duration::from_secs(3600).min(max),
        );
        check_session_bounds(self, &at(path, "max_duration"), max_duration);
        if max_duration > max {
            self.error(
                at(path, "max_duration"),
                format!(
                    "must not be longer than the role's max_session_duration ({} seconds)",
                    max.as_secs()
                ),
            );
        }
        let decision_window = self.duration(
            &at(path, "decision_window"),
            raw.decision_window.as_deref(),
            Duration::from_secs(24 * 3600),
        );
        if !(MIN_DECISION_WINDOW_SECS..=MAX_DECISION_WINDOW_SECS)
            .contains(&decision_window.as_secs())
        {
            self.error(
                at(path, "decision_window"),
                "must be between 5m and 7d (300-604800 seconds)",
            );
        }
        let ticket_pattern = match raw.ticket_pattern.as_deref() {
            Some(source) => match TicketPattern::new(source) {
                Ok(p) => Some(p),
                Err(e) => {
                    self.error(at(path, "ticket_pattern"), e);
                    None
                }
            },
            None => None,
        };
        if self.errors.len() > before {
            return None;
        }
        Some(Approval {
            approvers,
            approvals,
            max_duration,
            require_reason: raw.require_reason.unwrap_or(true),
            ticket_pattern,
            decision_window,
            break_glass: raw.break_glass,
        })
    }

    /// A role's `permission_policies`, each the name of one of `[[policies]]`.
    fn named_policies(
        &mut self,
        path: &str,
        names: &[String],
        policies: &BTreeMap<String, Arc<Policy>>,
    ) -> Vec<Arc<Policy>> {
        let mut found = Vec::new();
        for (j, name) in names.iter().enumerate() {
            match policies.get(name) {
                Some(p) => found.push(Arc::clone(p)),
                None => self.unknown_policy(
                    &at(path, &format!("permission_policies[{j}]")),
                    name,
                    policies,
                ),
            }
        }
        found
    }
}

/// Validates a role kept in the database by the code `check-config` runs for a `[[roles]]`
/// entry (the same checks, the same messages): `document` is the entry as a JSON object,
/// `name` the role's name (a `name` in the document must be the same), `policies` the
/// `[[policies]]` its `permission_policies` and `permissions_boundary` may name. Paths of
/// errors start at the document (`trust_policy.Statement[0].Condition`). A policy must be
/// given as a document: a file path names a file on the server, which the database does
/// not hold.
pub fn role_from_document(
    name: &str,
    document: serde_json::Value,
    policies: &BTreeMap<String, Arc<Policy>>,
) -> Result<Role, Vec<super::ConfigError>> {
    let no_env = |_: &str| -> Option<String> { None };
    let mut cx = Cx {
        errors: Vec::new(),
        base: std::path::Path::new("."),
        env: &no_env,
    };
    let role = role_document(&mut cx, name, document, policies);
    match role {
        Some(role) if cx.errors.is_empty() => Ok(role),
        _ => Err(cx.errors),
    }
}

fn role_document(
    cx: &mut Cx<'_>,
    name: &str,
    document: serde_json::Value,
    policies: &BTreeMap<String, Arc<Policy>>,
) -> Option<Role> {
    let serde_json::Value::Object(mut object) = document else {
        cx.error("", "a role is a JSON object");
        return None;
    };
    if cx.reserved("name", name) {
        return None;
    }
    match object.get("name") {
        None => {
            object.insert("name".to_owned(), serde_json::Value::from(name));
        }
        Some(serde_json::Value::String(given)) if given == name => {}
        Some(_) => {
            cx.error(
                "name",
                format!("must be \"{name}\", the name the role is written under"),
            );
            return None;
        }
    }
    let raw: RawRole = match serde_path_to_error::deserialize(serde_json::Value::Object(object)) {
        Ok(raw) => raw,
        Err(e) => {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            cx.error(if path == "." { String::new() } else { path }, message);
            return None;
        }
    };
    if !cx.role_name("", &raw.name) {
        return None;
    }
    for (field, source) in [
        ("trust_policy", &raw.trust_policy),
        ("inline_policy", &raw.inline_policy),
    ] {
        if let Some(RawPolicySource::File(_)) = source {
            cx.error(
                field,
                "must be a policy document (a JSON object): a file path is read on the \
                 server and cannot be stored in the database",
            );
        }
    }
    if !cx.errors.is_empty() {
        return None;
    }
    cx.role("", raw, policies)
}
