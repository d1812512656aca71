//! `[[roles]]` into the roles the trust evaluator uses ([`crate::roles::Role`]), and the
//! session bounds every configured duration of a role session is held to.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lanyard_policy::{Policy, PolicyKind};

use super::Cx;
use super::raw::RawRole;
use crate::identity::RoleName;
use crate::roles::{MAX_SESSION_SECS, MIN_SESSION_SECS, Role, is_valid_role_name};

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
            if !is_valid_role_name(&raw.name) {
                self.error(
                    format!("{path}.name"),
                    format!(
                        "{:?} is not a valid role name: 1-64 characters of A-Z a-z 0-9 and +=,.@_-",
                        raw.name
                    ),
                );
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

    /// One role whose name is valid and new.
    fn role(
        &mut self,
        path: &str,
        raw: RawRole,
        policies: &BTreeMap<String, Arc<Policy>>,
    ) -> Option<Role> {
        let max = self.duration(
            &format!("{path}.max_session_duration"),
            raw.max_session_duration.as_deref(),
            Duration::from_secs(3600),
        );
        check_session_bounds(self, &format!("{path}.max_session_duration"), max);
        let trust = match raw.trust_policy {
            Some(source) => self.policy_source(
                &format!("{path}.trust_policy"),
                source,
                &format!("{}/trust", raw.name),
                PolicyKind::Trust,
            ),
            None => {
                self.error(
                    format!("{path}.trust_policy"),
                    "is required: without one nobody may assume the role",
                );
                None
            }
        };
        let mut permission_policies = self.named_policies(path, &raw.permission_policies, policies);
        if let Some(source) = raw.inline_policy
            && let Some(p) = self.policy_source(
                &format!("{path}.inline_policy"),
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
                    self.unknown_policy(&format!("{path}.permissions_boundary"), &name, policies);
                    None
                }
            },
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
                None => {
                    self.unknown_policy(&format!("{path}.permission_policies[{j}]"), name, policies)
                }
            }
        }
        found
    }
}
