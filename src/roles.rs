//! Roles and trust evaluation: which roles an identity may assume (its *eligible* roles), and
//! the condition-key context that trust policies and permission policies see.
//!
//! Trust evaluation is AWS's: a role's trust policy is a resource-based policy on the role,
//! evaluated with the identity as a `Federated` principal, the action of the provider's kind
//! (`sts:AssumeRole` for local, `sts:AssumeRoleWithWebIdentity`, `…WithSAML`,
//! `…WithLDAPIdentity`) and the role's ARN as the resource.
//!
//! May import: `policy`, `identity`, `config` (role definitions).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use lanyard_policy::{Context, ContextValue, Decision, Policy, PolicySet, Principal, Request};
use serde::{Deserialize, Serialize};

use crate::config::RoleConfig;
use crate::identity::{ClaimValue, ExternalIdentity};

/// What a role ARN starts with; the role's name follows.
pub const ROLE_ARN_PREFIX: &str = "arn:lanyard:iam:::role/";

/// The ARN Lanyard gives a role, the resource of trust evaluation.
pub fn role_arn(name: &str) -> String {
    format!("{ROLE_ARN_PREFIX}{name}")
}

/// Facts about the request that are not about the person.
#[derive(Debug, Clone)]
pub struct RequestFacts {
    /// The client's address (`aws:SourceIp`).
    pub source_ip: Option<IpAddr>,
    /// Now, seconds since the epoch (`aws:CurrentTime`, `aws:EpochTime`).
    pub now: i64,
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
    /// The client's `User-Agent`, truncated (for the audit trail; no condition key).
    pub user_agent: Option<String>,
}

/// The principal-derived condition keys of a session: computed once at sign-in from the
/// identity, kept with the role session, and never overridable by a caller's context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PrincipalKeys(pub BTreeMap<String, Vec<String>>);

impl PrincipalKeys {
    /// The keys an identity brings: `idp:*`, `{provider}:{claim}`, `aws:PrincipalTag/*`,
    /// `aws:username`, `aws:userid`, `aws:MultiFactorAuthPresent`.
    pub fn of(identity: &ExternalIdentity) -> Self {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut one = |k: &str, v: &str| {
            m.insert(k.to_owned(), vec![v.to_owned()]);
        };
        one("idp:provider", identity.provider.as_str());
        one("idp:sub", &identity.subject);
        one("idp:username", &identity.username);
        if let Some(email) = &identity.email {
            one("idp:email", email);
        }
        one(
            "idp:email_verified",
            if identity.email_verified {
                "true"
            } else {
                "false"
            },
        );
        one("aws:username", &identity.username);
        one("aws:userid", &identity.qualified_subject());
        one(
            "aws:MultiFactorAuthPresent",
            if identity.mfa { "true" } else { "false" },
        );
        m.insert("idp:groups".to_owned(), identity.groups.clone());
        m.insert("idp:amr".to_owned(), identity.amr.clone());
        for (k, v) in &identity.tags {
            m.insert(format!("aws:PrincipalTag/{k}"), vec![v.clone()]);
        }
        for (k, v) in &identity.claims {
            let values = match v {
                ClaimValue::One(s) => vec![s.clone()],
                ClaimValue::Many(list) => list.clone(),
            };
            m.insert(format!("{}:{k}", identity.provider), values);
        }
        Self(m)
    }

    /// The provider these keys came from (`idp:provider`).
    pub fn provider(&self) -> &str {
        self.0
            .get("idp:provider")
            .and_then(|v| v.first())
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Writes these keys into `context`, replacing whatever the caller put there.
    pub fn apply(&self, context: &mut Context) {
        for (k, v) in &self.0 {
            let value = match v.as_slice() {
                [single] if !is_multivalued(k) => ContextValue::Single(single.clone()),
                _ => ContextValue::Multi(v.clone()),
            };
            context.insert(k.clone(), value);
        }
    }
}

fn is_multivalued(key: &str) -> bool {
    matches!(key, "idp:groups" | "idp:amr")
}

/// Adds the request facts: `aws:SourceIp`, `aws:CurrentTime`, `aws:EpochTime`,
/// `aws:SecureTransport`, and `aws:MultiFactorAuthAge` when MFA was used.
pub fn apply_request_facts(context: &mut Context, facts: &RequestFacts, auth_time: i64, mfa: bool) {
    if let Some(ip) = facts.source_ip {
        context.insert("aws:SourceIp", ContextValue::Single(ip.to_string()));
    }
    context.insert("aws:CurrentTime", ContextValue::Single(rfc3339(facts.now)));
    context.insert("aws:EpochTime", ContextValue::Single(facts.now.to_string()));
    context.insert(
        "aws:SecureTransport",
        ContextValue::Single(facts.secure_transport.to_string()),
    );
    if mfa {
        context.insert(
            "aws:MultiFactorAuthAge",
            ContextValue::Single((facts.now - auth_time).max(0).to_string()),
        );
    }
}

/// `2026-11-28T20:33:14Z`.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// The trust context of an identity: its principal keys plus the request facts.
pub fn trust_context(identity: &ExternalIdentity, facts: &RequestFacts) -> Context {
    let mut context = Context::new();
    PrincipalKeys::of(identity).apply(&mut context);
    apply_request_facts(&mut context, facts, identity.auth_time, identity.mfa);
    context
}

/// The configured roles.
#[derive(Debug)]
pub struct RoleCatalog {
    roles: Vec<Arc<RoleConfig>>,
}

impl RoleCatalog {
    /// Wraps the roles of the configuration.
    pub fn new(roles: Vec<RoleConfig>) -> Self {
        Self {
            roles: roles.into_iter().map(Arc::new).collect(),
        }
    }

    /// A role by name.
    pub fn get(&self, name: &str) -> Option<&Arc<RoleConfig>> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// All roles, in config order.
    pub fn all(&self) -> &[Arc<RoleConfig>] {
        &self.roles
    }

    /// The roles this identity would get had it signed in with a second factor, but does
    /// not get without: what the role picker names as "needs MFA". Empty when the identity
    /// already used MFA.
    pub fn needing_mfa(
        &self,
        identity: &ExternalIdentity,
        facts: &RequestFacts,
    ) -> Vec<Arc<RoleConfig>> {
        if identity.mfa {
            return Vec::new();
        }
        let mut with_mfa = identity.clone();
        with_mfa.mfa = true;
        if !with_mfa.amr.iter().any(|m| m == "otp") {
            with_mfa.amr.push("otp".to_owned());
        }
        let without = trust_context(identity, facts);
        let with = trust_context(&with_mfa, facts);
        self.roles
            .iter()
            .filter(|r| {
                !trust_decision(r, identity, &without).outcome.is_allowed()
                    && trust_decision(r, &with_mfa, &with).outcome.is_allowed()
            })
            .cloned()
            .collect()
    }

    /// The roles whose trust policy allows this identity, in config order.
    pub fn eligible(
        &self,
        identity: &ExternalIdentity,
        facts: &RequestFacts,
    ) -> Vec<Arc<RoleConfig>> {
        let context = trust_context(identity, facts);
        self.roles
            .iter()
            .filter(|r| trust_decision(r, identity, &context).outcome.is_allowed())
            .cloned()
            .collect()
    }
}

/// Evaluates one role's trust policy for an identity with a prepared context.
pub fn trust_decision(
    role: &RoleConfig,
    identity: &ExternalIdentity,
    context: &Context,
) -> Decision {
    let arn = role_arn(&role.name);
    let request = Request {
        principal: Some(Principal::Federated(identity.provider.as_str())),
        action: identity.provider_kind.trust_action(),
        resource: &arn,
        context,
    };
    let set = PolicySet {
        resource: Some(&role.trust_policy),
        ..PolicySet::default()
    };
    lanyard_policy::evaluate(&set, &request)
}

/// Evaluates the role's permission policies (with its boundary and an optional session
/// policy) for an action on a resource.
pub fn authorize(
    role: &RoleConfig,
    session_policy: Option<&Policy>,
    action: &str,
    resource: &str,
    context: &Context,
) -> Decision {
    let set = PolicySet {
        identity: role
            .permission_policies
            .iter()
            .map(|p| p.as_ref())
            .collect(),
        resource: None,
        boundary: role.permissions_boundary.as_deref(),
        session: session_policy,
    };
    let request = Request {
        principal: None,
        action,
        resource,
        context,
    };
    lanyard_policy::evaluate(&set, &request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{ProviderId, ProviderKind};
    use lanyard_policy::PolicyKind;
    use std::time::Duration;

    fn identity(groups: &[&str]) -> ExternalIdentity {
        ExternalIdentity {
            provider: ProviderId::new("corp"),
            provider_kind: ProviderKind::Local,
            subject: "alice".into(),
            username: "alice".into(),
            email: Some("alice@example.com".into()),
            email_verified: true,
            display_name: None,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            amr: vec!["pwd".into()],
            mfa: false,
            auth_time: 1_000,
            tags: [("team".to_owned(), "payments".to_owned())].into(),
            claims: BTreeMap::new(),
        }
    }

    fn role(name: &str, trust: serde_json::Value) -> RoleConfig {
        RoleConfig {
            name: name.into(),
            description: String::new(),
            group: None,
            max_session_duration: Duration::from_secs(3600),
            trust_policy: Arc::new(Policy::from_value("t", &trust, PolicyKind::Trust).unwrap()),
            permission_policies: vec![],
            permissions_boundary: None,
        }
    }

    fn facts() -> RequestFacts {
        RequestFacts {
            source_ip: Some("10.1.2.3".parse().unwrap()),
            now: 2_000,
            secure_transport: true,
            user_agent: None,
        }
    }

    #[test]
    fn eligible_roles_follow_trust_policies() {
        let catalog = RoleCatalog::new(vec![
            role(
                "engineer",
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRole",
                    "Condition": {"ForAnyValue:StringEquals": {"idp:groups": ["engineering"]}}}]}),
            ),
            role(
                "payments",
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:PrincipalTag/team": "payments"},
                                  "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}),
            ),
            role(
                "other-idp",
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": "okta"}, "Action": "sts:AssumeRole"}]}),
            ),
            role(
                "saml-only",
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRoleWithSAML"}]}),
            ),
        ]);
        let names = |groups: &[&str]| {
            catalog
                .eligible(&identity(groups), &facts())
                .iter()
                .map(|r| r.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&["engineering"]), vec!["engineer", "payments"]);
        assert_eq!(names(&["finance"]), vec!["payments"]);
    }

    #[test]
    fn roles_needing_mfa_are_named() {
        let catalog = RoleCatalog::new(vec![
            role(
                "break-glass",
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}),
            ),
            role(
                "finance-only",
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                                  "ForAnyValue:StringEquals": {"idp:groups": ["finance"]}}}]}),
            ),
        ]);
        let without = identity(&["engineering"]);
        assert!(catalog.eligible(&without, &facts()).is_empty());
        let names: Vec<_> = catalog
            .needing_mfa(&without, &facts())
            .iter()
            .map(|r| r.name.clone())
            .collect();
        assert_eq!(names, vec!["break-glass"]);
        let mut with = without.clone();
        with.mfa = true;
        assert_eq!(catalog.eligible(&with, &facts()).len(), 1);
        assert!(catalog.needing_mfa(&with, &facts()).is_empty());
    }

    #[test]
    fn principal_keys_cover_the_contract() {
        let keys = PrincipalKeys::of(&identity(&["a", "b"]));
        assert_eq!(keys.0["idp:groups"], vec!["a", "b"]);
        assert_eq!(keys.0["aws:userid"], vec!["corp:alice"]);
        assert_eq!(keys.0["aws:PrincipalTag/team"], vec!["payments"]);
        assert_eq!(keys.0["idp:email_verified"], vec!["true"]);
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
