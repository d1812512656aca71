//! Authorization decisions for applications (`POST /v1/authorize`): a role session asks
//! whether its role may perform an action on a resource.
//!
//! Owns three things: which condition keys an application may put in the request context
//! (an allow-list, see [`classify_caller_key`]), how the context is completed from the role
//! session and the request, and the evaluation against the role's policies. Keys are
//! compared in the form the policy engine looks them up by ([`normalize_key`], Unicode
//! lower case), so a key that reads differently but means the same to the engine (the
//! Kelvin sign `K` for `k`, `IDP:` for `idp:`) is judged as the engine will see it.
//!
//! May import: `policy`, `roles`, `sso`, `access` (credentials), `identity`, `clock` (the
//! `UnixTime` type). No HTTP types.

use std::collections::BTreeSet;
use std::net::IpAddr;

use lanyard_policy::{
    Context, ContextError, ContextValue, Decision, Policy, PolicyKind, normalize_key,
};

use crate::access::AccessTokenClaims;
use crate::clock::UnixTime;
use crate::identity::RoleName;
use crate::roles::{RequestFacts, RoleCatalog, apply_request_facts, rfc3339};
use crate::sso::{Sso, SsoError};

/// Condition-key namespaces an application may never use besides the providers' ids:
/// `idp:` describes the person, `lanyard:` and `sts:` are Lanyard's own.
const RESERVED_NAMESPACES: &[&str] = &["idp", "lanyard", "sts"];

/// The `aws:` keys an application may send: properties of the request and of the resource
/// it acts on, which Lanyard cannot know. Prefixes end with `/` and need a tag name after.
const AWS_CALLER_PREFIXES: &[&str] = &["aws:requesttag/", "aws:resourcetag/"];
const AWS_CALLER_KEYS: &[&str] = &["aws:tagkeys"];

/// The `aws:` keys that describe the principal: they come from the role session only.
const AWS_PRINCIPAL_PREFIXES: &[&str] = &[
    "aws:principal",
    "aws:multifactorauth",
    "aws:username",
    "aws:userid",
    "aws:tokenissuetime",
    "aws:federatedprovider",
    "aws:sourceidentity",
];

/// The `aws:` keys Lanyard sets from the request it receives.
const AWS_REQUEST_FACTS: &[&str] = &["aws:currenttime", "aws:epochtime", "aws:securetransport"];

/// The normalised name of the one caller key whose acceptance depends on the client.
const SOURCE_IP: &str = "aws:sourceip";

/// Why a caller's context key is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefusal {
    /// It describes the principal (`idp:*`, `{provider}:*`, `aws:PrincipalTag/*`,
    /// `aws:username`, ...): Lanyard takes it from the role session.
    #[error("describes the principal; Lanyard takes it from the role session")]
    Principal,
    /// Lanyard sets it from the request (`aws:CurrentTime`, `aws:EpochTime`,
    /// `aws:SecureTransport`).
    #[error("is set by Lanyard from the request")]
    RequestFact,
    /// `aws:SourceIp` from a client not configured with `assert_source_ip = true`.
    #[error(
        "may be sent only by an application configured with assert_source_ip = true; \
         otherwise Lanyard uses the address the request came from"
    )]
    SourceIpNotTrusted,
    /// Another `aws:` key, or a reserved namespace (`lanyard:`, `sts:`).
    #[error(
        "is not one an application may set: send aws:RequestTag/*, aws:ResourceTag/*, \
         aws:TagKeys, or keys of the application's own namespace (\"app:name\")"
    )]
    Reserved,
    /// No `namespace:name` shape.
    #[error("has no namespace: application keys are \"app:name\"")]
    NoNamespace,
}

/// Why an authorization question got no decision.
#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    /// The token's role session is gone (signed out, expired, revoked).
    #[error("the role session has ended")]
    SessionEnded,
    /// The session's role was removed from the configuration.
    #[error("the role no longer exists")]
    RoleGone,
    /// The context is not an object of strings and lists of strings.
    #[error("context: {0}")]
    Context(#[from] ContextError),
    /// A context key the caller may not set.
    #[error("context key \"{key}\" {reason}")]
    RefusedKey {
        /// The key as the caller sent it.
        key: String,
        /// Why.
        reason: KeyRefusal,
    },
    /// A caller-asserted `aws:SourceIp` that is not one IP address.
    #[error("context key \"aws:SourceIp\" must be one IP address")]
    InvalidSourceIp,
    /// The session store failed.
    #[error(transparent)]
    Store(#[from] SsoError),
    /// The session policy stored with the role session does not parse (a bug).
    #[error("stored session policy: {0}")]
    StoredPolicy(String),
}

/// What the caller asks.
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    /// The action, `service:Name`.
    pub action: &'a str,
    /// The resource ARN.
    pub resource: &'a str,
    /// The caller's condition keys: a JSON object, or `None`.
    pub context: Option<&'a serde_json::Value>,
}

/// Who asks, as the web layer saw it.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The verified access token.
    pub claims: &'a AccessTokenClaims,
    /// The address the request came from (after trusted proxies).
    pub ip: Option<IpAddr>,
}

/// The answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The decision with its explanation.
    pub decision: Decision,
    /// The role evaluated.
    pub role: RoleName,
}

/// The services and settings an authorization decision reads.
#[derive(Clone)]
pub struct Authorizer<'a> {
    /// Role sessions.
    pub sso: &'a Sso,
    /// The roles and their policies.
    pub roles: &'a RoleCatalog,
    /// Every configured provider id: its namespace (`{id}:*`) describes a principal.
    pub provider_ids: Vec<&'a str>,
    /// The clients configured with `assert_source_ip = true`.
    pub source_ip_clients: Vec<&'a str>,
    /// Whether Lanyard is reached over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
}

impl Authorizer<'_> {
    /// Decides `question` for the caller's role session at time `now`.
    pub async fn decide(
        &self,
        caller: &Caller<'_>,
        question: &Question<'_>,
        now: UnixTime,
    ) -> Result<Answer, AuthzError> {
        let session = self
            .sso
            .role_session(&caller.claims.sid)
            .await?
            .ok_or(AuthzError::SessionEnded)?;
        let role = self.roles.get(&session.role).ok_or(AuthzError::RoleGone)?;

        let rules = KeyRules {
            providers: self
                .provider_ids
                .iter()
                .map(|id| normalize_key(id))
                .collect(),
            session_keys: session
                .principal_keys
                .0
                .keys()
                .map(|k| normalize_key(k))
                .collect(),
            source_ip_trusted: caller
                .claims
                .client_id
                .as_deref()
                .is_some_and(|id| self.source_ip_clients.contains(&id)),
        };
        let mut context = match question.context {
            None => Context::new(),
            Some(value) => {
                if let Some(object) = value.as_object() {
                    for key in object.keys() {
                        classify_caller_key(key, &rules).map_err(|reason| {
                            AuthzError::RefusedKey {
                                key: key.clone(),
                                reason,
                            }
                        })?;
                    }
                }
                Context::from_json(value)?
            }
        };
        let asserted_ip = match context.get(SOURCE_IP) {
            None => None,
            Some(ContextValue::Single(ip)) => Some(
                ip.trim()
                    .parse::<IpAddr>()
                    .map_err(|_| AuthzError::InvalidSourceIp)?,
            ),
            Some(ContextValue::Multi(_)) => return Err(AuthzError::InvalidSourceIp),
        };

        // What describes the principal comes from the role session, replacing nothing (the
        // caller could not send it) and overriding everything.
        session.principal_keys.apply(&mut context);
        context.insert(
            "aws:TokenIssueTime",
            ContextValue::Single(rfc3339(session.issued_at)),
        );
        let facts = RequestFacts {
            source_ip: asserted_ip.or(caller.ip),
            now,
            secure_transport: self.secure_transport,
            user_agent: None,
        };
        apply_request_facts(&mut context, &facts, session.auth_time, session.mfa);

        // A session policy set at AssumeRole time narrows the role: it must allow too.
        let session_policy = match &session.session_policy {
            None => None,
            Some(text) => Some(
                Policy::parse("session", text, PolicyKind::Session)
                    .map_err(|e| AuthzError::StoredPolicy(e.to_string()))?,
            ),
        };
        let decision = crate::roles::authorize(
            role,
            session_policy.as_ref(),
            question.action,
            question.resource,
            &context,
        );
        tracing::info!(
            sid = %session.id,
            role = %role.name,
            action = %question.action,
            resource = %question.resource,
            outcome = ?decision.outcome,
            source_ip_asserted = asserted_ip.is_some(),
            "authorization decision"
        );
        Ok(Answer {
            decision,
            role: role.name.clone(),
        })
    }
}

/// What decides whether a caller may set a key, for one request.
#[derive(Debug, Clone, Default)]
pub struct KeyRules {
    /// Every configured provider id, normalised: `{id}:*` describes a principal.
    pub providers: BTreeSet<String>,
    /// The keys the role session supplies, normalised.
    pub session_keys: BTreeSet<String>,
    /// Whether the token's client may assert `aws:SourceIp`.
    pub source_ip_trusted: bool,
}

/// Whether a caller may set `key` in `/v1/authorize`'s context: `Ok` for
/// `aws:RequestTag/<tag>`, `aws:ResourceTag/<tag>`, `aws:TagKeys`, an application key
/// `{app}:{name}` whose namespace is not reserved (`aws`, `idp`, `lanyard`, `sts`, or any
/// configured provider id), and `aws:SourceIp` when the client is trusted to assert it.
/// Decided on [`normalize_key`]'s form, the one the policy engine evaluates.
pub fn classify_caller_key(key: &str, rules: &KeyRules) -> Result<(), KeyRefusal> {
    let key = normalize_key(key);
    if rules.session_keys.contains(&key) {
        return Err(KeyRefusal::Principal);
    }
    let Some((namespace, name)) = key.split_once(':') else {
        return Err(KeyRefusal::NoNamespace);
    };
    if namespace.is_empty() || name.is_empty() {
        return Err(KeyRefusal::NoNamespace);
    }
    if namespace == "aws" {
        return classify_aws_key(&key, rules);
    }
    if namespace == "idp" || rules.providers.contains(namespace) {
        return Err(KeyRefusal::Principal);
    }
    if RESERVED_NAMESPACES.contains(&namespace) {
        return Err(KeyRefusal::Reserved);
    }
    Ok(())
}

fn classify_aws_key(key: &str, rules: &KeyRules) -> Result<(), KeyRefusal> {
    let tag_key = AWS_CALLER_PREFIXES
        .iter()
        .any(|p| key.strip_prefix(p).is_some_and(|tag| !tag.is_empty()));
    if tag_key || AWS_CALLER_KEYS.contains(&key) {
        return Ok(());
    }
    if key == SOURCE_IP {
        return if rules.source_ip_trusted {
            Ok(())
        } else {
            Err(KeyRefusal::SourceIpNotTrusted)
        };
    }
    if AWS_PRINCIPAL_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return Err(KeyRefusal::Principal);
    }
    if AWS_REQUEST_FACTS.contains(&key) {
        return Err(KeyRefusal::RequestFact);
    }
    Err(KeyRefusal::Reserved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> KeyRules {
        KeyRules {
            providers: ["corp", "hr", "kcorp"].map(str::to_owned).into(),
            session_keys: ["idp:groups", "corp:email", "deploy:team"]
                .map(str::to_owned)
                .into(),
            source_ip_trusted: false,
        }
    }

    #[test]
    fn application_and_resource_keys_are_allowed() {
        let r = rules();
        for key in [
            "aws:RequestTag/project",
            "AWS:ResourceTag/Owner",
            "aws:TagKeys",
            "app:tenant",
            "billing:CostCenter",
            "s3:prefix",
        ] {
            assert_eq!(classify_caller_key(key, &r), Ok(()), "{key}");
        }
    }

    #[test]
    fn principal_keys_are_refused_in_any_spelling() {
        let r = rules();
        for key in [
            "hr:groups",
            "HR:Groups",
            "corp:email",
            "kcorp:email",
            "\u{212A}corp:email",
            "\u{212A}CORP:department",
            "idp:groups",
            "IDP:anything",
            "aws:PrincipalTag/team",
            "aws:principaltag/Team",
            "aws:username",
            "aws:userid",
            "aws:MultiFactorAuthPresent",
            "aws:MultiFactorAuthAge",
            "aws:TokenIssueTime",
            "aws:PrincipalArn",
            "deploy:team",
        ] {
            assert_eq!(
                classify_caller_key(key, &r),
                Err(KeyRefusal::Principal),
                "{key}"
            );
        }
    }

    #[test]
    fn request_facts_reserved_namespaces_and_bare_keys_are_refused() {
        let r = rules();
        for key in ["aws:CurrentTime", "aws:EpochTime", "aws:SecureTransport"] {
            assert_eq!(
                classify_caller_key(key, &r),
                Err(KeyRefusal::RequestFact),
                "{key}"
            );
        }
        for key in [
            "aws:RequestTag/",
            "aws:SourceVpc",
            "lanyard:role",
            "sts:RoleSessionName",
        ] {
            assert_eq!(
                classify_caller_key(key, &r),
                Err(KeyRefusal::Reserved),
                "{key}"
            );
        }
        for key in ["groups", ":x", "app:"] {
            assert_eq!(
                classify_caller_key(key, &r),
                Err(KeyRefusal::NoNamespace),
                "{key}"
            );
        }
    }

    #[test]
    fn source_ip_only_from_a_trusted_client() {
        let mut r = rules();
        assert_eq!(
            classify_caller_key("aws:SourceIp", &r),
            Err(KeyRefusal::SourceIpNotTrusted)
        );
        r.source_ip_trusted = true;
        assert_eq!(classify_caller_key("aws:sourceip", &r), Ok(()));
    }
}
