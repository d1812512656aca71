//! `[[policies]]`: named IAM policy documents, inline or in a JSON file, and the policy
//! sources roles give (trust, inline) parsed with their located errors.

use std::collections::BTreeMap;
use std::sync::Arc;

use lanyard_policy::{Policy, PolicyKind};

use super::raw::{RawPolicy, RawPolicySource};
use super::{Cx, did_you_mean};

impl Cx<'_> {
    pub(super) fn policy_source(
        &mut self,
        path: &str,
        source: RawPolicySource,
        name: &str,
        kind: PolicyKind,
    ) -> Option<Arc<Policy>> {
        let document = match source {
            RawPolicySource::Inline(v) => v,
            RawPolicySource::File(file) => {
                let full = self.path_of(&file);
                let text = match std::fs::read_to_string(&full) {
                    Ok(t) => t,
                    Err(e) => {
                        self.error(path, format!("cannot read {}: {e}", full.display()));
                        return None;
                    }
                };
                match serde_json::from_str(&text) {
                    Ok(v) => v,
                    Err(e) => {
                        self.error(path, format!("{} is not valid JSON: {e}", full.display()));
                        return None;
                    }
                }
            }
        };
        match Policy::from_value(name, &document, kind) {
            Ok(p) => Some(Arc::new(p)),
            Err(errors) => {
                for e in errors.iter() {
                    let sub = if e.path.is_empty() {
                        path.to_owned()
                    } else {
                        format!("{path}.{}", e.path)
                    };
                    self.error(sub, e.message.clone());
                }
                None
            }
        }
    }

    pub(super) fn policies(&mut self, raws: Vec<RawPolicy>) -> BTreeMap<String, Arc<Policy>> {
        let mut out = BTreeMap::new();
        for (i, raw) in raws.into_iter().enumerate() {
            let path = format!("policies[{i}]");
            if raw.name.is_empty() {
                self.error(format!("{path}.name"), "must not be empty");
                continue;
            }
            if out.contains_key(&raw.name) {
                self.error(
                    format!("{path}.name"),
                    format!("a policy named \"{}\" is already defined", raw.name),
                );
                continue;
            }
            let source = match (raw.document, raw.document_file) {
                (Some(doc), None) => RawPolicySource::Inline(doc),
                (None, Some(file)) => RawPolicySource::File(file),
                _ => {
                    self.error(&path, "give exactly one of document or document_file");
                    continue;
                }
            };
            let sub = format!("{path}.document");
            if let Some(p) = self.policy_source(&sub, source, &raw.name, PolicyKind::Identity) {
                out.insert(raw.name, p);
            }
        }
        out
    }

    pub(super) fn unknown_policy(
        &mut self,
        path: &str,
        name: &str,
        policies: &BTreeMap<String, Arc<Policy>>,
    ) {
        let names: Vec<&str> = policies.keys().map(String::as_str).collect();
        let hint = did_you_mean(name, &names)
            .map(|s| format!(", did you mean \"{s}\"?"))
            .unwrap_or_default();
        self.error(
            path,
            format!("no policy named \"{name}\" in [[policies]]{hint}"),
        );
    }
}
