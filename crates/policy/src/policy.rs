//! Compiling a policy document: validation (every error, with its location) and the
//! immutable compiled form that evaluation reads.
//!
//! Implements "IAM JSON policy element reference" (Version, Id, Statement, Sid, Effect,
//! Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition) and
//! "Grammar of the IAM JSON policy language".

use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::context::lower;
use crate::error::{ValidationErrors, json_type};
use crate::glob::{Pattern, VTok, tokenize};
use crate::operator::{Cmp, Family, Operator, closest};
use crate::value::{Cidr, Instant, decode_base64, parse_bool, parse_date, parse_number};

/// What a policy document is used for; decides which elements it may and must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PolicyKind {
    /// A permission policy attached to a role (or inline): no `Principal`, `Resource` required.
    Identity,
    /// A resource-based policy: `Principal` or `NotPrincipal` required, `Resource` optional.
    Resource,
    /// A role's trust policy (a resource policy on the role): `Principal` required,
    /// `Resource` optional.
    Trust,
    /// A permissions boundary: as [`PolicyKind::Identity`].
    Boundary,
    /// A session policy: as [`PolicyKind::Identity`].
    Session,
}

impl PolicyKind {
    /// Whether statements name a principal (trust and resource policies).
    pub fn has_principal(self) -> bool {
        matches!(self, PolicyKind::Resource | PolicyKind::Trust)
    }

    /// A best guess of the kind of an unlabelled document (for `lanyard policy check
    /// FILE`): a document whose statements name a principal is a trust policy when all
    /// its actions are `sts:AssumeRole*`, else a resource policy; any other document is an
    /// identity policy.
    pub fn detect(doc: &Value) -> PolicyKind {
        let statements: Vec<&Value> = match doc.get("Statement") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(v @ Value::Object(_)) => vec![v],
            _ => return PolicyKind::Identity,
        };
        let names_principal = statements
            .iter()
            .any(|s| s.get("Principal").is_some() || s.get("NotPrincipal").is_some());
        if !names_principal {
            return PolicyKind::Identity;
        }
        let assume_role_only = statements.iter().all(|s| match s.get("Action") {
            Some(Value::String(a)) => a.to_ascii_lowercase().starts_with("sts:assumerole"),
            Some(Value::Array(list)) => list.iter().all(|a| {
                a.as_str()
                    .is_some_and(|a| a.to_ascii_lowercase().starts_with("sts:assumerole"))
            }),
            _ => false,
        });
        if assume_role_only {
            PolicyKind::Trust
        } else {
            PolicyKind::Resource
        }
    }

    fn describe(self) -> &'static str {
        match self {
            PolicyKind::Identity => "an identity policy",
            PolicyKind::Resource => "a resource policy",
            PolicyKind::Trust => "a trust policy",
            PolicyKind::Boundary => "a permissions boundary",
            PolicyKind::Session => "a session policy",
        }
    }
}

/// The policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyVersion {
    /// `2012-10-17`: the current language, with policy variables.
    V2012_10_17,
    /// `2008-10-17` (also the default when `Version` is absent): `${...}` is literal text.
    V2008_10_17,
}

/// A compiled, immutable policy. `Send + Sync`: share it with `Arc` and evaluate it from
/// any number of threads.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) name: String,
    pub(crate) kind: PolicyKind,
    pub(crate) version: PolicyVersion,
    pub(crate) statements: Box<[Statement]>,
    pub(crate) index: ActionIndex,
    /// The document as given, for showing to people ([`Policy::document`]).
    pub(crate) document: std::sync::Arc<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<PrincipalMatch>,
    pub actions: ActionMatch,
    pub resources: ResourceMatch,
    pub conditions: Box<[Condition]>,
}

#[derive(Debug, Clone)]
pub(crate) enum PrincipalMatch {
    Principal(PrincipalSet),
    NotPrincipal(PrincipalSet),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PrincipalSet {
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous included.
    pub any: bool,
    pub aws: Vec<AwsPrincipal>,
    pub federated: Vec<Box<str>>,
    pub service: Vec<Box<str>>,
    pub canonical: Vec<Box<str>>,
}

#[derive(Debug, Clone)]
pub(crate) enum AwsPrincipal {
    /// A 12-digit account id or `arn:...:iam::ACCOUNT:root`: any principal of the account.
    Account(Box<str>),
    /// A specific principal ARN.
    Arn(Box<str>),
}

#[derive(Debug, Clone)]
pub(crate) enum ActionMatch {
    Action(Box<[Pattern]>),
    NotAction(Box<[Pattern]>),
}

#[derive(Debug, Clone)]
pub(crate) enum ResourceMatch {
    /// No Resource element (trust and resource policies): every resource.
    All,
    Resource(Box<[Pattern]>),
    NotResource(Box<[Pattern]>),
}

#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub op: Operator,
    /// The condition key, lower case.
    pub key: Box<str>,
    pub values: Values,
    /// The operator, the key and the values as the document wrote them, for explanations
    /// ([`crate::explain`]).
    pub source: Box<ConditionSource>,
}

/// A condition as written: what an explanation shows as "wanted".
#[derive(Debug, Clone)]
pub(crate) struct ConditionSource {
    pub operator: Box<str>,
    pub key: Box<str>,
    pub values: Box<[String]>,
}

#[derive(Debug, Clone)]
pub(crate) enum Values {
    /// StringEquals / StringLike (case-sensitive), with or without wildcards.
    Str(Box<[Pattern]>),
    /// StringEqualsIgnoreCase: patterns in lower case, no wildcards.
    StrIc(Box<[Pattern]>),
    Num(Box<[f64]>),
    Date(Box<[Instant]>),
    Bool(Box<[BoolValue]>),
    Binary(Box<[Vec<u8>]>),
    Ip(Box<[Cidr]>),
    Arn(Box<[Pattern]>),
    /// Null: `true` = the key must be absent.
    Null(Box<[bool]>),
}

#[derive(Debug, Clone)]
pub(crate) enum BoolValue {
    Lit(bool),
    Var(Pattern),
}

/// Candidate statements for one action, in document order, split by effect.
#[derive(Debug, Clone, Default)]
pub(crate) struct Candidates {
    pub deny: Box<[Cand]>,
    pub allow: Box<[Cand]>,
}

/// A candidate statement; `known` when the index already proves the action matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cand {
    pub stmt: u32,
    pub known: bool,
}

/// Statements indexed by action: an exact (lower-case) action name gives its candidates
/// in one lookup; an unknown action of a known service gives that service's wildcard
/// statements; anything else only the statements that can match every action
/// (`*`, `NotAction`, wildcards in the service part).
#[derive(Debug, Clone, Default)]
pub(crate) struct ActionIndex {
    pub exact: FxHashMap<Box<str>, Candidates>,
    pub service: FxHashMap<Box<str>, Candidates>,
    pub fallback: Candidates,
}

impl ActionIndex {
    #[inline]
    pub(crate) fn candidates(&self, action_lower: &str) -> &Candidates {
        if let Some(c) = self.exact.get(action_lower) {
            return c;
        }
        let service = action_lower.split_once(':').map_or("", |(s, _)| s);
        self.service.get(service).unwrap_or(&self.fallback)
    }
}

impl Policy {
    /// Parses and validates a JSON policy document.
    ///
    /// On failure every problem is reported, each with its location.
    pub fn parse(name: &str, json: &str, kind: PolicyKind) -> Result<Policy, ValidationErrors> {
        match serde_json::from_str::<Value>(json) {
            Ok(v) => Policy::from_value(name, &v, kind),
            Err(e) => {
                let mut errs = ValidationErrors::new();
                errs.push("", format!("invalid JSON: {e}"));
                Err(errs)
            }
        }
    }

    /// Validates and compiles a policy document already parsed as JSON (or converted from
    /// TOML).
    pub fn from_value(
        name: &str,
        doc: &Value,
        kind: PolicyKind,
    ) -> Result<Policy, ValidationErrors> {
        Compiler::new(kind).compile(name, doc)
    }

    /// The name given at parse time (used in decisions).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the policy is used for.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The language version of the document.
    pub fn version(&self) -> PolicyVersion {
        self.version
    }

    /// How many statements the document has.
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// The document as it was given (valid, since it compiled): what a page shows a person
    /// who must judge what the policy allows. Evaluation never reads it.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The `Sid` of each statement, in document order.
    pub fn sids(&self) -> impl Iterator<Item = Option<&str>> {
        self.statements.iter().map(|s| s.sid.as_deref())
    }
}

const DOC_ELEMENTS: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_ELEMENTS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];
const PRINCIPAL_TYPES: &[&str] = &["AWS", "Federated", "Service", "CanonicalUser"];

struct Compiler {
    kind: PolicyKind,
    vars: bool,
    version_absent: bool,
    errs: ValidationErrors,
}

/// Action patterns of one statement as lower-case text, for the index.
type ActionTexts = Vec<String>;

fn unknown_element(key: &str, known: &[&str]) -> String {
    match closest(key, known) {
        Some(s) => format!("unknown element \"{key}\", did you mean \"{s}\"?"),
        None => format!(
            "unknown element \"{key}\" (expected one of {})",
            known.join(", ")
        ),
    }
}

impl Compiler {
    fn new(kind: PolicyKind) -> Self {
        Self {
            kind,
            vars: true,
            version_absent: false,
            errs: ValidationErrors::new(),
        }
    }

    fn compile(mut self, name: &str, doc: &Value) -> Result<Policy, ValidationErrors> {
        let Value::Object(obj) = doc else {
            self.errs.push(
                "",
                format!(
                    "a policy document must be a JSON object, found {}",
                    json_type(doc)
                ),
            );
            return Err(self.errs);
        };
        for key in obj.keys() {
            if !DOC_ELEMENTS.contains(&key.as_str()) {
                self.errs
                    .push(key.clone(), unknown_element(key, DOC_ELEMENTS));
            }
        }
        let version = match obj.get("Version") {
            None => {
                self.version_absent = true;
                PolicyVersion::V2008_10_17
            }
            Some(Value::String(v)) if v == "2012-10-17" => PolicyVersion::V2012_10_17,
            Some(Value::String(v)) if v == "2008-10-17" => PolicyVersion::V2008_10_17,
            Some(Value::String(v)) => {
                self.errs.push(
                    "Version",
                    format!(
                        "unsupported version \"{v}\" (expected \"2012-10-17\" or \"2008-10-17\")"
                    ),
                );
                PolicyVersion::V2012_10_17
            }
            Some(other) => {
                self.errs.push(
                    "Version",
                    format!("expected a string, found {}", json_type(other)),
                );
                PolicyVersion::V2012_10_17
            }
        };
        self.vars = version == PolicyVersion::V2012_10_17;
        if let Some(id) = obj.get("Id") {
            if !id.is_string() {
                self.errs
                    .push("Id", format!("expected a string, found {}", json_type(id)));
            }
        }
        let items: Vec<&Value> = match obj.get("Statement") {
            None => {
                self.errs.push("Statement", "missing required element");
                Vec::new()
            }
            Some(Value::Array(a)) => {
                if a.is_empty() {
                    self.errs
                        .push("Statement", "must contain at least one statement");
                }
                a.iter().collect()
            }
            Some(v @ Value::Object(_)) => vec![v],
            Some(other) => {
                self.errs.push(
                    "Statement",
                    format!(
                        "expected a statement object or a list of them, found {}",
                        json_type(other)
                    ),
                );
                Vec::new()
            }
        };
        let mut statements = Vec::with_capacity(items.len());
        let mut texts = Vec::with_capacity(items.len());
        let mut sids: FxHashMap<String, usize> = FxHashMap::default();
        for (i, item) in items.into_iter().enumerate() {
            let path = format!("Statement[{i}]");
            let Value::Object(st) = item else {
                self.errs.push(
                    path,
                    format!("expected a statement object, found {}", json_type(item)),
                );
                continue;
            };
            if let Some((s, t)) = self.statement(&path, st) {
                if let Some(sid) = &s.sid {
                    if let Some(first) = sids.insert(sid.clone(), i) {
                        self.errs.push(
                            format!("{path}.Sid"),
                            format!("duplicate Sid \"{sid}\" (also used by Statement[{first}])"),
                        );
                    }
                }
                statements.push(s);
                texts.push(t);
            }
        }
        if !self.errs.is_empty() {
            return Err(self.errs);
        }
        let index = build_index(&statements, &texts);
        Ok(Policy {
            name: name.to_owned(),
            kind: self.kind,
            version,
            statements: statements.into_boxed_slice(),
            index,
            document: std::sync::Arc::new(doc.clone()),
        })
    }

    fn statement(
        &mut self,
        path: &str,
        st: &serde_json::Map<String, Value>,
    ) -> Option<(Statement, ActionTexts)> {
        let before = self.errs.len();
        for key in st.keys() {
            if !STATEMENT_ELEMENTS.contains(&key.as_str()) {
                self.errs.push(
                    format!("{path}.{key}"),
                    unknown_element(key, STATEMENT_ELEMENTS),
                );
            }
        }
        let sid = match st.get("Sid") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.errs.push(
                    format!("{path}.Sid"),
                    format!("expected a string, found {}", json_type(other)),
                );
                None
            }
        };
        let effect = match st.get("Effect") {
            Some(Value::String(e)) if e == "Allow" => Some(Effect::Allow),
            Some(Value::String(e)) if e == "Deny" => Some(Effect::Deny),
            Some(Value::String(e)) => {
                let hint = closest(e, &["Allow", "Deny"])
                    .map(|s| format!(", did you mean \"{s}\"?"))
                    .unwrap_or_default();
                self.errs.push(
                    format!("{path}.Effect"),
                    format!("must be \"Allow\" or \"Deny\", found \"{e}\"{hint}"),
                );
                None
            }
            Some(other) => {
                self.errs.push(
                    format!("{path}.Effect"),
                    format!("expected \"Allow\" or \"Deny\", found {}", json_type(other)),
                );
                None
            }
            None => {
                self.errs
                    .push(format!("{path}.Effect"), "missing required element");
                None
            }
        };

        // Principal / NotPrincipal
        let principal = match (st.get("Principal"), st.get("NotPrincipal")) {
            (Some(_), Some(_)) => {
                self.errs.push(
                    format!("{path}.NotPrincipal"),
                    "Principal and NotPrincipal cannot both be present",
                );
                None
            }
            (p, np) if !self.kind.has_principal() => {
                if let Some(elem) = p.map(|_| "Principal").or(np.map(|_| "NotPrincipal")) {
                    self.errs.push(
                        format!("{path}.{elem}"),
                        format!(
                            "{elem} is not allowed in {} (only trust and resource policies name a principal)",
                            self.kind.describe()
                        ),
                    );
                }
                None
            }
            (Some(p), None) => self
                .principal(&format!("{path}.Principal"), p)
                .map(PrincipalMatch::Principal),
            (None, Some(np)) => self
                .principal(&format!("{path}.NotPrincipal"), np)
                .map(PrincipalMatch::NotPrincipal),
            (None, None) => {
                self.errs.push(
                    path.to_owned(),
                    format!(
                        "missing Principal or NotPrincipal (required in {})",
                        self.kind.describe()
                    ),
                );
                None
            }
        };

        // Action / NotAction
        let (actions, texts) = match (st.get("Action"), st.get("NotAction")) {
            (Some(_), Some(_)) => {
                self.errs.push(
                    format!("{path}.NotAction"),
                    "Action and NotAction cannot both be present",
                );
                (None, Vec::new())
            }
            (Some(a), None) => {
                let (p, t) = self.actions(&format!("{path}.Action"), a);
                (Some(ActionMatch::Action(p.into_boxed_slice())), t)
            }
            (None, Some(a)) => {
                let (p, t) = self.actions(&format!("{path}.NotAction"), a);
                (Some(ActionMatch::NotAction(p.into_boxed_slice())), t)
            }
            (None, None) => {
                self.errs
                    .push(path.to_owned(), "missing Action or NotAction");
                (None, Vec::new())
            }
        };

        // Resource / NotResource
        let resources = match (st.get("Resource"), st.get("NotResource")) {
            (Some(_), Some(_)) => {
                self.errs.push(
                    format!("{path}.NotResource"),
                    "Resource and NotResource cannot both be present",
                );
                None
            }
            (Some(r), None) => Some(ResourceMatch::Resource(
                self.resources(&format!("{path}.Resource"), r)
                    .into_boxed_slice(),
            )),
            (None, Some(r)) => Some(ResourceMatch::NotResource(
                self.resources(&format!("{path}.NotResource"), r)
                    .into_boxed_slice(),
            )),
            (None, None) if self.kind.has_principal() => Some(ResourceMatch::All),
            (None, None) => {
                self.errs.push(
                    path.to_owned(),
                    format!(
                        "missing Resource or NotResource (required in {})",
                        self.kind.describe()
                    ),
                );
                None
            }
        };

        let conditions = match st.get("Condition") {
            None => Vec::new(),
            Some(c) => self.conditions(&format!("{path}.Condition"), c),
        };

        if self.errs.len() != before {
            return None;
        }
        Some((
            Statement {
                sid,
                effect: effect?,
                principal,
                actions: actions?,
                resources: resources?,
                conditions: conditions.into_boxed_slice(),
            },
            texts,
        ))
    }

    /// A string or a non-empty list of strings, each with its path.
    fn strings<'v>(&mut self, path: &str, v: &'v Value) -> Vec<(String, &'v str)> {
        match v {
            Value::String(s) => vec![(path.to_owned(), s.as_str())],
            Value::Array(items) => {
                if items.is_empty() {
                    self.errs.push(path.to_owned(), "must not be an empty list");
                }
                let mut out = Vec::with_capacity(items.len());
                for (j, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push((format!("{path}[{j}]"), s.as_str())),
                        other => self.errs.push(
                            format!("{path}[{j}]"),
                            format!("expected a string, found {}", json_type(other)),
                        ),
                    }
                }
                out
            }
            other => {
                self.errs.push(
                    path.to_owned(),
                    format!(
                        "expected a string or a list of strings, found {}",
                        json_type(other)
                    ),
                );
                Vec::new()
            }
        }
    }

    fn no_variables(&mut self, path: &str, s: &str, element: &str) -> bool {
        if self.vars && s.contains("${") {
            self.errs.push(
                path.to_owned(),
                format!(
                    "policy variables are not allowed in {element} (only in Resource, NotResource and Condition values)"
                ),
            );
            return false;
        }
        true
    }

    fn principal(&mut self, path: &str, v: &Value) -> Option<PrincipalSet> {
        let mut set = PrincipalSet::default();
        match v {
            Value::String(s) if s == "*" => set.any = true,
            Value::String(s) => {
                self.errs.push(
                    path.to_owned(),
                    format!("expected \"*\" or an object such as {{\"Federated\": \"...\"}}, found \"{s}\""),
                );
                return None;
            }
            Value::Object(obj) => {
                if obj.is_empty() {
                    self.errs
                        .push(path.to_owned(), "must name at least one principal");
                }
                for (ty, ids) in obj {
                    let p = format!("{path}.{ty}");
                    if !PRINCIPAL_TYPES.contains(&ty.as_str()) {
                        self.errs.push(
                            p,
                            match closest(ty, PRINCIPAL_TYPES) {
                                Some(s) => format!(
                                    "unknown principal type \"{ty}\", did you mean \"{s}\"?"
                                ),
                                None => format!(
                                    "unknown principal type \"{ty}\" (expected one of {})",
                                    PRINCIPAL_TYPES.join(", ")
                                ),
                            },
                        );
                        continue;
                    }
                    for (ip, id) in self.strings(&p, ids) {
                        if !self.no_variables(&ip, id, "Principal") {
                            continue;
                        }
                        if id.is_empty() {
                            self.errs.push(ip, "must not be empty");
                            continue;
                        }
                        if ty == "AWS" && id == "*" {
                            set.any = true;
                            continue;
                        }
                        if id.contains(['*', '?']) {
                            self.errs.push(
                                ip,
                                format!("wildcards are not allowed in a principal (\"{id}\"); only \"*\" and {{\"AWS\": \"*\"}} match everyone"),
                            );
                            continue;
                        }
                        match ty.as_str() {
                            "AWS" => set.aws.push(aws_principal(id)),
                            "Federated" => set.federated.push(id.into()),
                            "Service" => set.service.push(id.into()),
                            _ => set.canonical.push(id.into()),
                        }
                    }
                }
            }
            other => {
                self.errs.push(
                    path.to_owned(),
                    format!("expected \"*\" or an object, found {}", json_type(other)),
                );
                return None;
            }
        }
        Some(set)
    }

    fn actions(&mut self, path: &str, v: &Value) -> (Vec<Pattern>, ActionTexts) {
        let mut patterns = Vec::new();
        let mut texts = Vec::new();
        for (p, a) in self.strings(path, v) {
            if !self.no_variables(&p, a, "Action") {
                continue;
            }
            if a != "*" {
                match a.split_once(':') {
                    None => {
                        self.errs.push(
                            p,
                            format!("action \"{a}\" has no service prefix (expected \"service:action\" or \"*\")"),
                        );
                        continue;
                    }
                    Some((svc, name)) => {
                        let svc_ok = !svc.is_empty()
                            && svc.chars().all(|c| {
                                c.is_ascii_alphanumeric()
                                    || matches!(c, '-' | '_' | '.' | '*' | '?')
                            });
                        if !svc_ok || name.is_empty() {
                            self.errs.push(
                                p,
                                format!("malformed action \"{a}\" (expected \"service:action\" or \"*\")"),
                            );
                            continue;
                        }
                    }
                }
            }
            let text = a.to_lowercase();
            match tokenize(&text, true, false) {
                Ok(toks) => {
                    patterns.push(Pattern::compile(toks));
                    texts.push(text);
                }
                Err(m) => self.errs.push(p, m),
            }
        }
        (patterns, texts)
    }

    fn resources(&mut self, path: &str, v: &Value) -> Vec<Pattern> {
        let mut out = Vec::new();
        for (p, r) in self.strings(path, v) {
            if r != "*" && !(r.starts_with("arn:") && r.matches(':').count() >= 5) {
                self.errs.push(
                    p,
                    format!("resource \"{r}\" is neither \"*\" nor an ARN (arn:partition:service:region:account:resource)"),
                );
                continue;
            }
            if let Some(toks) = self.template(&p, r, true) {
                out.push(Pattern::compile(toks));
            }
        }
        out
    }

    /// Tokenizes a value that may hold policy variables, reporting malformed ones.
    fn template(&mut self, path: &str, s: &str, wildcards: bool) -> Option<Vec<VTok>> {
        if self.version_absent && s.contains("${") {
            self.errs.push(
                path.to_owned(),
                "policy variables need \"Version\": \"2012-10-17\" (without a Version, ${...} would be literal text)",
            );
            return None;
        }
        match tokenize(s, wildcards, self.vars) {
            Ok(t) => Some(t),
            Err(m) => {
                self.errs.push(path.to_owned(), m);
                None
            }
        }
    }

    fn conditions(&mut self, path: &str, v: &Value) -> Vec<Condition> {
        let Value::Object(ops) = v else {
            self.errs.push(
                path.to_owned(),
                format!(
                    "expected an object of condition operators, found {}",
                    json_type(v)
                ),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (op_name, block) in ops {
            let op = match Operator::parse(op_name) {
                Ok(op) => Some(op),
                Err(m) => {
                    self.errs.push(path.to_owned(), m);
                    None
                }
            };
            let op_path = format!("{path}.{op_name}");
            let Value::Object(keys) = block else {
                self.errs.push(
                    op_path,
                    format!(
                        "expected an object of condition keys, found {}",
                        json_type(block)
                    ),
                );
                continue;
            };
            if keys.is_empty() {
                self.errs
                    .push(op_path.clone(), "must test at least one condition key");
            }
            for (key, vals) in keys {
                let key_path = format!("{op_path}.{key}");
                if key.is_empty() || !key.contains(':') || key.chars().any(char::is_whitespace) {
                    self.errs.push(
                        key_path.clone(),
                        format!("malformed condition key \"{key}\" (expected \"prefix:name\", e.g. \"aws:SourceIp\")"),
                    );
                } else if self.vars && key.contains("${") {
                    self.errs.push(
                        key_path.clone(),
                        "policy variables are not allowed in condition keys (only in Resource, NotResource and Condition values)",
                    );
                }
                let raw_values = self.condition_values(&key_path, vals);
                if let Some(op) = op {
                    if let Some(values) = self.typed_values(op, &raw_values) {
                        out.push(Condition {
                            op,
                            key: lower(key),
                            values,
                            source: Box::new(ConditionSource {
                                operator: op_name.as_str().into(),
                                key: key.as_str().into(),
                                values: raw_values.into_iter().map(|(_, v)| v).collect(),
                            }),
                        });
                    }
                }
            }
        }
        out
    }

    /// The raw values of one condition key: a scalar or a non-empty list of scalars.
    fn condition_values(&mut self, path: &str, v: &Value) -> Vec<(String, String)> {
        let scalar = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        match v {
            Value::Array(items) => {
                if items.is_empty() {
                    self.errs
                        .push(path.to_owned(), "must have at least one value");
                }
                let mut out = Vec::new();
                for (j, item) in items.iter().enumerate() {
                    match scalar(item) {
                        Some(s) => out.push((format!("{path}[{j}]"), s)),
                        None => self.errs.push(
                            format!("{path}[{j}]"),
                            format!(
                                "expected a string, number or boolean, found {}",
                                json_type(item)
                            ),
                        ),
                    }
                }
                out
            }
            other => match scalar(other) {
                Some(s) => vec![(path.to_owned(), s)],
                None => {
                    self.errs.push(
                        path.to_owned(),
                        format!(
                            "expected a string, number, boolean or a list of them, found {}",
                            json_type(other)
                        ),
                    );
                    Vec::new()
                }
            },
        }
    }

    fn typed_values(&mut self, op: Operator, raw: &[(String, String)]) -> Option<Values> {
        let before = self.errs.len();
        let family = op.cmp.family();
        let bad = |errs: &mut ValidationErrors, p: &str, what: &str, v: &str| {
            errs.push(p.to_owned(), format!("malformed {what} \"{v}\""));
        };
        for (p, v) in raw {
            if self.vars && !family.allows_variables() && v.contains("${") {
                self.errs.push(
                    p.clone(),
                    format!("policy variables are not supported with {family:?} operators"),
                );
            }
        }
        if self.errs.len() != before {
            return None;
        }
        let values = match family {
            Family::String => {
                let ic = op.cmp == Cmp::StrEqIc;
                let wild = op.cmp == Cmp::StrLike;
                let pats: Vec<Pattern> = raw
                    .iter()
                    .filter_map(|(p, v)| {
                        let text = if ic { v.to_lowercase() } else { v.clone() };
                        self.template(p, &text, wild).map(Pattern::compile)
                    })
                    .collect();
                if ic {
                    Values::StrIc(pats.into_boxed_slice())
                } else {
                    Values::Str(pats.into_boxed_slice())
                }
            }
            Family::Arn => Values::Arn(
                raw.iter()
                    .filter_map(|(p, v)| self.template(p, v, true).map(Pattern::compile))
                    .collect(),
            ),
            Family::Numeric => Values::Num(
                raw.iter()
                    .filter_map(|(p, v)| {
                        let n = parse_number(v);
                        if n.is_none() {
                            bad(&mut self.errs, p, "number", v);
                        }
                        n
                    })
                    .collect(),
            ),
            Family::Date => Values::Date(
                raw.iter()
                    .filter_map(|(p, v)| {
                        let d = parse_date(v);
                        if d.is_none() {
                            bad(
                                &mut self.errs,
                                p,
                                "date (expected ISO 8601 or epoch seconds)",
                                v,
                            );
                        }
                        d
                    })
                    .collect(),
            ),
            Family::Bool => Values::Bool(
                raw.iter()
                    .filter_map(|(p, v)| {
                        if self.vars && v.contains("${") {
                            return self
                                .template(p, v, false)
                                .map(|t| BoolValue::Var(Pattern::compile(t)));
                        }
                        let b = parse_bool(v);
                        if b.is_none() {
                            bad(
                                &mut self.errs,
                                p,
                                "boolean (expected \"true\" or \"false\")",
                                v,
                            );
                        }
                        b.map(BoolValue::Lit)
                    })
                    .collect(),
            ),
            Family::Null => Values::Null(
                raw.iter()
                    .filter_map(|(p, v)| {
                        let b = parse_bool(v);
                        if b.is_none() {
                            bad(
                                &mut self.errs,
                                p,
                                "Null value (expected \"true\" or \"false\")",
                                v,
                            );
                        }
                        b
                    })
                    .collect(),
            ),
            Family::Binary => Values::Binary(
                raw.iter()
                    .filter_map(|(p, v)| {
                        let b = decode_base64(v);
                        if b.is_none() {
                            bad(&mut self.errs, p, "base64 value", v);
                        }
                        b
                    })
                    .collect(),
            ),
            Family::Ip => Values::Ip(
                raw.iter()
                    .filter_map(|(p, v)| {
                        let c = Cidr::parse(v);
                        if c.is_none() {
                            bad(&mut self.errs, p, "CIDR", v);
                        }
                        c
                    })
                    .collect(),
            ),
        };
        (self.errs.len() == before).then_some(values)
    }
}

fn aws_principal(id: &str) -> AwsPrincipal {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        return AwsPrincipal::Account(id.into());
    }
    let parts: Vec<&str> = id.splitn(6, ':').collect();
    if let [_, _, "iam", "", account, "root"] = parts.as_slice() {
        return AwsPrincipal::Account((*account).into());
    }
    AwsPrincipal::Arn(id.into())
}

/// Where an action pattern goes in the index.
enum Slot<'a> {
    Exact(&'a str),
    Service(&'a str),
    Always,
}

fn slot<'a>(text: &'a str, pattern: &Pattern) -> Slot<'a> {
    match pattern {
        Pattern::Exact(_) => Slot::Exact(text),
        Pattern::Any => Slot::Always,
        _ => match text.split_once(':') {
            Some((svc, _)) if !svc.contains(['*', '?']) => Slot::Service(svc),
            _ => Slot::Always,
        },
    }
}

fn build_index(statements: &[Statement], texts: &[ActionTexts]) -> ActionIndex {
    let mut exact: FxHashMap<&str, Vec<Cand>> = FxHashMap::default();
    let mut service: FxHashMap<&str, Vec<Cand>> = FxHashMap::default();
    let mut always: Vec<Cand> = Vec::new();
    for (i, (st, txt)) in statements.iter().zip(texts).enumerate() {
        let stmt = u32::try_from(i).unwrap_or(u32::MAX);
        match &st.actions {
            ActionMatch::NotAction(_) => always.push(Cand { stmt, known: false }),
            ActionMatch::Action(pats) => {
                for (p, t) in pats.iter().zip(txt) {
                    match slot(t, p) {
                        Slot::Exact(a) => {
                            exact.entry(a).or_default().push(Cand { stmt, known: true })
                        }
                        Slot::Service(s) => service
                            .entry(s)
                            .or_default()
                            .push(Cand { stmt, known: false }),
                        Slot::Always => always.push(Cand {
                            stmt,
                            known: matches!(p, Pattern::Any),
                        }),
                    }
                }
            }
        }
    }
    let split = |lists: &[&[Cand]]| -> Candidates {
        let mut all: Vec<Cand> = lists.iter().flat_map(|l| l.iter().copied()).collect();
        // Document order; a statement listed several times is one candidate, known if any
        // listing proves the match.
        all.sort_by_key(|c| (c.stmt, !c.known));
        all.dedup_by_key(|c| c.stmt);
        let (deny, allow): (Vec<Cand>, Vec<Cand>) = all
            .into_iter()
            .partition(|c| statements[c.stmt as usize].effect == Effect::Deny);
        Candidates {
            deny: deny.into_boxed_slice(),
            allow: allow.into_boxed_slice(),
        }
    };
    let empty: Vec<Cand> = Vec::new();
    let exact_c = exact
        .iter()
        .map(|(a, list)| {
            let svc = a.split_once(':').map_or("", |(s, _)| s);
            let by_svc = service.get(svc).unwrap_or(&empty);
            (Box::<str>::from(*a), split(&[list, by_svc, &always]))
        })
        .collect();
    let service_c = service
        .iter()
        .map(|(s, list)| (Box::<str>::from(*s), split(&[list, &always])))
        .collect();
    ActionIndex {
        exact: exact_c,
        service: service_c,
        fallback: split(&[&always]),
    }
}
