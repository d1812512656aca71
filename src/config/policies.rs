//! `[[policies]]`: named IAM policy documents, inline or in a JSON file, and the policy
//! sources roles give (trust, inline) parsed with their located errors.

use std::collections::BTreeMap;
use std::sync::Arc;

use lanyard_policy::{Policy, PolicyKind};

use super::cx::at;
use super::raw::{RawPolicy, RawPolicySource};
use super::{ConfigError, Cx, did_you_mean};
use crate::roles::is_valid_role_name;

/// The longest description a `[[policies]]` entry may have, in characters.
const MAX_DESCRIPTION: usize = 1000;

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
            let name = raw.name.clone();
            if let Some(p) = self.policy(&path, raw) {
                out.insert(name, p);
            }
        }
        out
    }

    /// One `[[policies]]` entry whose name is valid and new.
    fn policy(&mut self, path: &str, raw: RawPolicy) -> Option<Arc<Policy>> {
        // Shown on the admin console's pages: a sentence or two, not a document.
        if raw
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
        {
            self.error(
                at(path, "description"),
                format!("must be at most {MAX_DESCRIPTION} characters"),
            );
            return None;
        }
        let source = match (raw.document, raw.document_file) {
            (Some(doc), None) => RawPolicySource::Inline(doc),
            (None, Some(file)) => RawPolicySource::File(file),
            _ => {
                self.error(path, "give exactly one of document or document_file");
                return None;
            }
        };
        let sub = at(path, "document");
        self.policy_source(&sub, source, &raw.name, PolicyKind::Identity)
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

/// Validates a managed policy kept in the database by the code `check-config` runs for a
/// `[[policies]]` entry (the same checks, the same messages): `document` is the entry as a
/// JSON object (`{"document": {...}}`), `name` the policy's name (a `name` in the document
/// must be the same). A policy's name in the database follows IAM's rule for policy names
/// (it is part of the resource `arn:lanyard:iam:::policy/{name}`). Paths of errors start at
/// the document (`document.Statement[0].Effect`); `document_file` is refused, as a file
/// path names a file on the server, which the database does not hold.
pub fn policy_from_document(
    name: &str,
    document: serde_json::Value,
) -> Result<Arc<Policy>, Vec<ConfigError>> {
    let no_env = |_: &str| -> Option<String> { None };
    let mut cx = Cx {
        errors: Vec::new(),
        base: std::path::Path::new("."),
        env: &no_env,
    };
    let policy = policy_document(&mut cx, name, document);
    match policy {
        Some(policy) if cx.errors.is_empty() => Ok(policy),
        _ => Err(cx.errors),
    }
}

fn policy_document(
    cx: &mut Cx<'_>,
    name: &str,
    document: serde_json::Value,
) -> Option<Arc<Policy>> {
    let serde_json::Value::Object(mut object) = document else {
        cx.error(
            "",
            "a policy is a JSON object: {\"document\": {\"Version\": ..., \"Statement\": [...]}}",
        );
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
                format!("must be \"{name}\", the name the policy is written under"),
            );
            return None;
        }
    }
    let raw: RawPolicy = match serde_path_to_error::deserialize(serde_json::Value::Object(object)) {
        Ok(raw) => raw,
        Err(e) => {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            cx.error(if path == "." { String::new() } else { path }, message);
            return None;
        }
    };
    if !is_valid_role_name(&raw.name) {
        cx.error(
            "name",
            format!(
                "{:?} is not a valid policy name: 1-64 characters of A-Z a-z 0-9 and +=,.@_-",
                raw.name
            ),
        );
        return None;
    }
    if raw.document_file.is_some() {
        cx.error(
            "document_file",
            "is a path to a file on the server and cannot be stored in the database; give \
             the policy as document (a JSON object)",
        );
        return None;
    }
    cx.policy("", raw)
}
