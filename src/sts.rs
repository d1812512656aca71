//! Programmatic role assumption (the `sts` module of DESIGN.md): a workload presents an
//! upstream credential (a web identity JWT, or a SAML response) and a role, and gets role
//! credentials after the same trust evaluation a browser sign-in gets.
//!
//! - [`Sts::assume_role_with_web_identity`]: `POST /sts/assume-role-with-web-identity` and
//!   RFC 8693 token exchange at `/oauth2/token`. The JWT is routed by its claimed `iss` to
//!   the OpenID Connect provider configured with that issuer, then validated with that
//!   provider's JWKS (signature, exact `iss`, `aud` among its `web_identity_audiences`,
//!   `exp`/`nbf`/`iat`). The role's trust policy sees the token's claims as
//!   `{provider}:{claim}` (`ci:sub`, `ci:aud`, ...) and the normalized `idp:*` keys, with
//!   the action `sts:AssumeRoleWithWebIdentity`.
//! - [`Sts::assume_role_with_saml`]: `POST /sts/assume-role-with-saml`, validated as at the
//!   ACS (including the assertion-ID replay cache), action `sts:AssumeRoleWithSAML`.
//! - [`Sts::token_exchange`]: RFC 8693 token exchange at `/oauth2/token` for a confidential
//!   client allowed the grant: a web identity call whose credentials are bound to the
//!   client and limited to its `allowed_roles`.
//!
//! A session policy (`policy`) can only narrow what the role grants: it is validated here,
//! stored with the role session, and `/v1/authorize` requires it to allow as well.
//!
//! A role that needs approval (`[roles.approval]`, issue 17) is granted to a person only
//! within the window of their approved access request ([`crate::elevation::evaluate`]),
//! and its credentials expire when the window closes, whatever `duration_seconds` asked.
//!
//! Errors carry AWS STS's error codes. A refusal by the trust policy is `AccessDenied` with
//! AWS's fixed message, the same whether the role does not exist or does not trust the
//! caller; the audit trail (`credentials.refused`) records the deciding statements. The one
//! refusal that says more is an approval role the caller's trust policy allows but that
//! has no open approved request: `AccessDenied` naming `/requests`
//! ([`StsError::ApprovalRequired`]). Credentials leave through the one door ([`Issuer`]).
//!
//! May import: `access`, `audit`, `connectors`, `elevation` (approval roles), `roles`,
//! `sso`, `op` (the client of a token exchange and its OAuth errors).

use std::sync::Arc;
use std::time::Duration;

use lanyard_policy::{Policy, PolicyKind};

use crate::access::{
    Attempt, ClientBinding, CredentialIssuer, Holder, IssueError, IssueRequest, Issuer,
};
use crate::audit::Door;
use crate::connectors::id_token::IdTokenError;
use crate::connectors::saml::{AcceptError, Presenter, SamlError};
use crate::connectors::upstream::UpstreamError;
use crate::connectors::{Connector, Connectors};
use crate::identity::{ExternalIdentity, RoleName};
use crate::op::{Client, GrantType, OAuthError};
use crate::roles::{Caller, MIN_SESSION_SECS, RequestFacts, RoleCatalog};
use crate::sso::{RoleSession, SsoError};

/// The longest duration any STS call grants (AWS's limit), before the role's own maximum.
pub const MAX_DURATION_SECS: u64 = 43_200;
/// The longest session policy accepted, in bytes of JSON (AWS's plain-text limit).
pub const MAX_SESSION_POLICY_BYTES: usize = 2048;
/// The longest web identity token accepted (AWS's limit).
pub const MAX_WEB_IDENTITY_TOKEN_BYTES: usize = 20_000;

/// What every STS call asks for, besides the upstream credential.
#[derive(Debug, Clone, Default)]
pub struct AssumeRoleRequest {
    /// The role's name (or its ARN `arn:lanyard:iam:::role/<name>`).
    pub role: String,
    /// Requested lifetime; the configured default (capped by the role) when absent.
    pub duration_seconds: Option<u64>,
    /// `session_name` of the credentials; the identity's username when absent.
    pub role_session_name: Option<String>,
    /// A session policy (IAM JSON) that narrows the role's permissions.
    pub policy: Option<String>,
}

/// Credentials issued by an STS call.
#[derive(Debug)]
pub struct Assumed {
    /// The stored role session, with the access token.
    pub session: RoleSession,
    /// The provider that vouched for the caller.
    pub provider: String,
    /// The audience of the web identity token, or the SAML SP entity id.
    pub audience: String,
}

/// Why an STS call was refused; [`StsError::code`] is AWS STS's error code.
#[derive(Debug, thiserror::Error)]
pub enum StsError {
    /// The request is malformed (duration, session name, role name, size).
    #[error("{0}")]
    Validation(String),
    /// The session policy is not a valid IAM policy.
    #[error("the session policy is not valid: {0}")]
    MalformedPolicy(String),
    /// The session policy is too large.
    #[error("the session policy is larger than {MAX_SESSION_POLICY_BYTES} bytes")]
    PolicyTooLarge,
    /// The upstream credential is not valid (signature, issuer, audience, shape).
    #[error("{0}")]
    InvalidIdentityToken(String),
    /// The upstream credential has expired.
    #[error("{0}")]
    ExpiredToken(String),
    /// The credential is valid but the provider's settings in Lanyard refuse the identity
    /// (allowed domains or tenants, verified email).
    #[error("{0}")]
    IdpRejectedClaim(String),
    /// The role's trust policy does not allow this caller, or the role does not exist.
    #[error("Not authorized to perform {0}")]
    AccessDenied(&'static str),
    /// The role needs an approved access request, its trust policy allows the caller, and
    /// the caller has no open approved request for it (none yet, or its window ended, or
    /// it was revoked).
    #[error(
        "the role \"{role}\" needs an approved access request, and none is open for you now: \
         request access at {requests}"
    )]
    ApprovalRequired {
        /// The role.
        role: String,
        /// Where access is requested (`{public_url}/requests`).
        requests: String,
    },
    /// Access requests could not be read (the database failed).
    #[error("access requests cannot be read right now; try again shortly")]
    RequestsUnavailable,
    /// The provider's discovery document or keys could not be fetched.
    #[error("{0}")]
    IdpCommunication(String),
    /// The session store failed.
    #[error(transparent)]
    Store(#[from] SsoError),
    /// The audit trail cannot record credentials: none are issued.
    #[error("credentials cannot be issued right now; try again shortly")]
    AuditUnavailable,
    /// Signing failed.
    #[error("credentials could not be issued: {0}")]
    Internal(String),
}

impl StsError {
    /// AWS STS's error code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            StsError::Validation(_) => "ValidationError",
            StsError::MalformedPolicy(_) => "MalformedPolicyDocument",
            StsError::PolicyTooLarge => "PackedPolicyTooLarge",
            StsError::InvalidIdentityToken(_) => "InvalidIdentityToken",
            StsError::ExpiredToken(_) => "ExpiredTokenException",
            StsError::IdpRejectedClaim(_) => "IDPRejectedClaim",
            StsError::AccessDenied(_) | StsError::ApprovalRequired { .. } => "AccessDenied",
            StsError::IdpCommunication(_) => "IDPCommunicationError",
            StsError::Store(_) | StsError::AuditUnavailable | StsError::RequestsUnavailable => {
                "ServiceUnavailable"
            }
            StsError::Internal(_) => "InternalFailure",
        }
    }
}

/// The STS service.
#[derive(Clone)]
pub struct Sts {
    connectors: Arc<Connectors>,
    roles: Arc<RoleCatalog>,
    issuer: Issuer,
    default_duration: Duration,
    /// Access requests, for the roles that need approval (`None` without a database).
    elevation: Option<Arc<crate::elevation::Elevation>>,
}

impl std::fmt::Debug for Sts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sts").finish_non_exhaustive()
    }
}

/// The application a token exchange issues to: the token is bound to it, and only its
/// `allowed_roles` may be assumed.
#[derive(Debug, Clone, Copy)]
pub struct ForClient<'a> {
    /// `client_id`, `aud` and scope of the token.
    pub binding: &'a ClientBinding,
    /// The client's `allowed_roles`.
    pub allowed_roles: &'a [RoleName],
}

/// A request checked for shape before any upstream credential is looked at.
#[derive(Debug)]
struct Checked {
    role: String,
    duration: Option<u64>,
    session_name: Option<String>,
    policy: Option<String>,
}

impl Sts {
    /// The service over the one door `issuer` (and its store and clock);
    /// `default_duration` is `[tokens] default_duration`.
    pub fn new(
        connectors: Arc<Connectors>,
        roles: Arc<RoleCatalog>,
        issuer: Issuer,
        default_duration: Duration,
    ) -> Self {
        Self {
            connectors,
            roles,
            issuer,
            default_duration,
            elevation: None,
        }
    }

    /// The service granting the roles that need approval through `elevation`'s access
    /// requests (without, it grants none of them).
    pub fn with_elevation(mut self, elevation: Option<Arc<crate::elevation::Elevation>>) -> Self {
        self.elevation = elevation;
        self
    }

    /// `AssumeRoleWithWebIdentity`: validates `token` with the JWKS of the provider whose
    /// issuer it names, evaluates the role's trust policy, and issues credentials (to
    /// `client` when called through token exchange).
    pub async fn assume_role_with_web_identity(
        &self,
        request: &AssumeRoleRequest,
        token: &str,
        client: Option<ForClient<'_>>,
        facts: &RequestFacts,
    ) -> Result<Assumed, StsError> {
        const ACTION: &str = "sts:AssumeRoleWithWebIdentity";
        let checked = check(request)?;
        if token.is_empty() {
            return Err(StsError::Validation(
                "web_identity_token is required".into(),
            ));
        }
        if token.len() > MAX_WEB_IDENTITY_TOKEN_BYTES {
            return Err(StsError::Validation(format!(
                "web_identity_token is longer than {MAX_WEB_IDENTITY_TOKEN_BYTES} bytes"
            )));
        }
        let unverified = crate::connectors::id_token::UnverifiedIdToken::parse(token)
            .map_err(|e| token_error(&e))?;
        let iss = unverified.claimed_issuer().map_err(|e| token_error(&e))?;
        let connector = self
            .connectors
            .providers()
            .iter()
            .find_map(|p| match self.connectors.get(p.id.as_str()) {
                Some((_, Connector::Oidc(c))) if c.is_issuer(&iss) => Some(c.as_ref()),
                _ => None,
            })
            .ok_or_else(|| {
                tracing::info!(target: "audit", event = "sts.refused", action = ACTION, issuer = %short(&iss), "no provider is configured with this issuer");
                StsError::InvalidIdentityToken(format!(
                    "no trusted OpenID Connect provider has the issuer \"{}\"",
                    short(&iss)
                ))
            })?;
        let provider = connector.id().to_string();
        let now = self.issuer.clock().now();
        let (identity, audience) = connector
            .verify_web_identity(&unverified, now)
            .await
            .map_err(|e| {
                tracing::info!(target: "audit", event = "sts.refused", action = ACTION, provider = %provider, reason = %e.detail(), "web identity token refused");
                upstream_error(e)
            })?;
        let session = self.issue(ACTION, identity, checked, client, facts).await?;
        Ok(Assumed {
            session,
            provider,
            audience,
        })
    }

    /// RFC 8693 token exchange at `/oauth2/token`: `subject_token` (an upstream provider's
    /// JWT) for credentials of the role named by `resource` (its ARN, or the client's only
    /// allowed role when left out), with the trust evaluation of
    /// [`Sts::assume_role_with_web_identity`]. The token is issued to `client` (its `aud`),
    /// which must be confidential and allowed the grant and the role.
    pub async fn token_exchange(
        &self,
        client: &Client,
        request: TokenExchange,
        facts: &RequestFacts,
    ) -> Result<Assumed, OAuthError> {
        if !client.config.allows(GrantType::TokenExchange) || client.is_public() {
            return Err(OAuthError::UnauthorizedClient(
                "this client may not use token exchange".into(),
            ));
        }
        let subject_token = request.checked()?;
        let role = exchange_role(request.resource, &client.config.allowed_roles)?;
        let duration = self.roles.get(&role).map(|r| {
            let wanted = client
                .config
                .access_token_lifetime
                .unwrap_or(self.default_duration);
            wanted.as_secs().min(CredentialIssuer::max_duration(r))
        });
        let assume = AssumeRoleRequest {
            role,
            duration_seconds: duration,
            role_session_name: None,
            policy: None,
        };
        let binding = ClientBinding {
            client_id: client.config.id.clone(),
            audience: client.config.audience.clone(),
            scope: None,
        };
        let for_client = ForClient {
            binding: &binding,
            allowed_roles: &client.config.allowed_roles,
        };
        self.assume_role_with_web_identity(&assume, &subject_token, Some(for_client), facts)
            .await
            .map_err(|e| match e {
                StsError::AccessDenied(_) | StsError::ApprovalRequired { .. } => {
                    OAuthError::InvalidTarget(e.to_string())
                }
                StsError::IdpCommunication(d) => OAuthError::TemporarilyUnavailable(d),
                StsError::AuditUnavailable | StsError::RequestsUnavailable => {
                    OAuthError::TemporarilyUnavailable(e.to_string())
                }
                StsError::Store(e) => e.into(),
                StsError::Internal(d) => OAuthError::ServerError(d),
                other => OAuthError::InvalidRequest(other.to_string()),
            })
    }

    /// `AssumeRoleWithSAML`: validates a base64 SAMLResponse as the ACS does (one use per
    /// assertion), evaluates the role's trust policy, and issues credentials. `provider`
    /// names the SAML provider; it may be left out when only one is configured.
    pub async fn assume_role_with_saml(
        &self,
        request: &AssumeRoleRequest,
        saml_response: &str,
        provider: Option<&str>,
        facts: &RequestFacts,
    ) -> Result<Assumed, StsError> {
        const ACTION: &str = "sts:AssumeRoleWithSAML";
        let checked = check(request)?;
        let connector = match provider {
            Some(p) => match self.connectors.get(p) {
                Some((_, Connector::Saml(c))) => c.as_ref(),
                _ => {
                    return Err(StsError::Validation(format!(
                        "there is no SAML identity provider \"{}\"",
                        short(p)
                    )));
                }
            },
            None => {
                let mut saml = self.connectors.providers().iter().filter_map(|p| {
                    match self.connectors.get(p.id.as_str()) {
                        Some((_, Connector::Saml(c))) => Some(c.as_ref()),
                        _ => None,
                    }
                });
                match (saml.next(), saml.next()) {
                    (Some(one), None) => one,
                    (None, _) => {
                        return Err(StsError::Validation(
                            "no SAML identity provider is configured".into(),
                        ));
                    }
                    (Some(_), Some(_)) => {
                        return Err(StsError::Validation(
                            "several SAML providers are configured: name one in \"provider\""
                                .into(),
                        ));
                    }
                }
            }
        };
        let now = self.issuer.clock().now();
        let accepted = match connector
            .accept(
                self.issuer.sso().store().as_ref(),
                saml_response,
                Presenter::Api,
                now,
            )
            .await
        {
            Ok(a) => a,
            Err(AcceptError::Store(e)) => return Err(SsoError::from(e).into()),
            Err(AcceptError::Saml(e)) => {
                tracing::info!(target: "audit", event = "sts.refused", action = ACTION, provider = %connector.id(), reason = %e, "SAML response refused");
                return Err(match e {
                    SamlError::Expired(_) | SamlError::NotYetValid(_) => StsError::ExpiredToken(
                        "the SAML assertion is outside its validity period".into(),
                    ),
                    SamlError::Replay => {
                        StsError::InvalidIdentityToken("the SAML assertion was already used".into())
                    }
                    SamlError::Status(_) => StsError::IdpRejectedClaim(
                        "the identity provider did not authenticate the subject".into(),
                    ),
                    _ => StsError::InvalidIdentityToken("the SAML response is not valid".into()),
                });
            }
        };
        let session = self
            .issue(ACTION, accepted.identity, checked, None, facts)
            .await?;
        Ok(Assumed {
            session,
            provider: connector.id().to_string(),
            audience: connector.entity_id().to_owned(),
        })
    }

    /// Trust evaluation for the one requested role, then credentials through the one
    /// door. A refusal is audited with its deciding statements; the caller learns only
    /// `AccessDenied`.
    async fn issue(
        &self,
        action: &'static str,
        identity: ExternalIdentity,
        checked: Checked,
        client: Option<ForClient<'_>>,
        facts: &RequestFacts,
    ) -> Result<RoleSession, StsError> {
        let door = match (client.is_some(), action) {
            (true, _) => Door::TokenExchange,
            (false, "sts:AssumeRoleWithSAML") => Door::StsSaml,
            (false, _) => Door::StsWebIdentity,
        };
        let client_id = client.map(|c| c.binding.client_id.as_str());
        let attempt = Attempt::new(facts, door, client_id);
        let caller = Caller::Federated(identity.clone());
        let elevation = self.elevation.as_deref();
        let decided =
            crate::elevation::evaluate(elevation, &self.roles, &checked.role, caller, facts)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "access requests could not be read");
                    StsError::RequestsUnavailable
                })?;
        let grant = match decided {
            Ok(g) => g,
            Err(refusal) => {
                self.issuer.refused(&attempt, &refusal).await;
                let for_client = client
                    .is_none_or(|c| c.allowed_roles.iter().any(|r| r == checked.role.as_str()));
                if for_client
                    && crate::elevation::awaits_approval(
                        &self.roles,
                        &checked.role,
                        &identity,
                        facts,
                    )
                {
                    return Err(StsError::ApprovalRequired {
                        role: checked.role,
                        requests: format!("{}/requests", self.issuer.tokens().issuer()),
                    });
                }
                return Err(StsError::AccessDenied(action));
            }
        };
        if let Some(c) = client
            && !c.allowed_roles.iter().any(|r| r == &grant.role().name)
        {
            let refusal = grant.refused("the role is not among the client's allowed_roles");
            self.issuer.refused(&attempt, &refusal).await;
            return Err(StsError::AccessDenied(action));
        }
        let role = Arc::clone(grant.role());
        let max = CredentialIssuer::max_duration(&role);
        let secs = checked
            .duration
            .unwrap_or_else(|| self.default_duration.as_secs().min(max));
        let request = IssueRequest {
            attempt,
            duration: Duration::from_secs(secs),
            session_name: checked.session_name,
            client: client.map(|c| c.binding.clone()),
            session_policy: checked.policy,
            holder: Holder::Alone,
        };
        self.issuer
            .issue(grant, request)
            .await
            .map_err(|e| match e {
                IssueError::DurationOutOfRange { .. } => StsError::Validation(format!(
                    "duration_seconds: {e} (the role \"{}\" allows at most {max})",
                    role.name
                )),
                IssueError::Token(e) => StsError::Internal(e.to_string()),
                IssueError::Store(e) => StsError::Store(e),
                IssueError::AuditUnavailable(_) => StsError::AuditUnavailable,
            })
    }
}

/// `urn:ietf:params:oauth:token-type:jwt`.
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// `urn:ietf:params:oauth:token-type:id_token`.
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// `urn:ietf:params:oauth:token-type:access_token`: what a token exchange issues.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The RFC 8693 §2.1 fields of a token exchange request.
#[derive(Default)]
pub struct TokenExchange {
    /// `subject_token`: the upstream JWT (a credential; never logged).
    pub subject_token: Option<String>,
    /// `subject_token_type`: a JWT or an ID token.
    pub subject_token_type: Option<String>,
    /// `requested_token_type`: an access token (or a JWT), when given.
    pub requested_token_type: Option<String>,
    /// `actor_token`: delegation, not supported.
    pub actor_token: Option<String>,
    /// `resource`: the role's ARN.
    pub resource: Option<String>,
}

impl std::fmt::Debug for TokenExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenExchange")
            .field("subject_token_type", &self.subject_token_type)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

impl TokenExchange {
    /// The subject token, once the request's shape is right.
    fn checked(&self) -> Result<String, OAuthError> {
        if self.actor_token.is_some() {
            return Err(OAuthError::InvalidRequest(
                "delegation (actor_token) is not supported".into(),
            ));
        }
        let subject_token = self
            .subject_token
            .clone()
            .ok_or_else(|| OAuthError::InvalidRequest("subject_token is required".into()))?;
        match self.subject_token_type.as_deref() {
            Some(JWT_TOKEN_TYPE | ID_TOKEN_TYPE) => {}
            Some(_) => {
                return Err(OAuthError::InvalidRequest(format!(
                    "subject_token_type must be {JWT_TOKEN_TYPE} or {ID_TOKEN_TYPE}"
                )));
            }
            None => {
                return Err(OAuthError::InvalidRequest(
                    "subject_token_type is required".into(),
                ));
            }
        }
        match self.requested_token_type.as_deref() {
            None | Some(ACCESS_TOKEN_TYPE | JWT_TOKEN_TYPE) => Ok(subject_token),
            Some(_) => Err(OAuthError::InvalidRequest(format!(
                "requested_token_type must be {ACCESS_TOKEN_TYPE}"
            ))),
        }
    }
}

/// The role a token exchange asks for: the role ARN in `resource`, or the client's only
/// allowed role.
fn exchange_role(resource: Option<String>, allowed: &[RoleName]) -> Result<String, OAuthError> {
    match (resource, allowed) {
        (Some(arn), _) => arn
            .strip_prefix(crate::roles::ROLE_ARN_PREFIX)
            .map(str::to_owned)
            .ok_or_else(|| {
                OAuthError::InvalidTarget(
                    "resource must be a role ARN (arn:lanyard:iam:::role/<name>)".into(),
                )
            }),
        (None, [only]) => Ok(only.to_string()),
        (None, _) => Err(OAuthError::InvalidTarget(
            "name the role in resource (arn:lanyard:iam:::role/<name>)".into(),
        )),
    }
}

/// Checks the parts of a request that need no upstream call.
fn check(request: &AssumeRoleRequest) -> Result<Checked, StsError> {
    let role = request
        .role
        .strip_prefix(crate::roles::ROLE_ARN_PREFIX)
        .unwrap_or(&request.role);
    if role.is_empty() || role.len() > 128 {
        return Err(StsError::Validation(
            "role must name a role (1 to 128 characters)".into(),
        ));
    }
    if let Some(d) = request.duration_seconds
        && !(MIN_SESSION_SECS..=MAX_DURATION_SECS).contains(&d)
    {
        return Err(StsError::Validation(format!(
            "duration_seconds must be between {MIN_SESSION_SECS} and {MAX_DURATION_SECS}"
        )));
    }
    if let Some(name) = &request.role_session_name {
        // AWS: 2–64 characters of [\w+=,.@-].
        let ok = (2..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
        if !ok {
            return Err(StsError::Validation(
                "role_session_name must be 2 to 64 characters of letters, digits and _+=,.@-"
                    .into(),
            ));
        }
    }
    let policy = match &request.policy {
        None => None,
        Some(text) if text.len() > MAX_SESSION_POLICY_BYTES => {
            return Err(StsError::PolicyTooLarge);
        }
        Some(text) => {
            Policy::parse("session", text, PolicyKind::Session)
                .map_err(|e| StsError::MalformedPolicy(e.to_string()))?;
            Some(text.clone())
        }
    };
    Ok(Checked {
        role: role.to_owned(),
        duration: request.duration_seconds,
        session_name: request.role_session_name.clone(),
        policy,
    })
}

fn token_error(e: &IdTokenError) -> StsError {
    match e {
        IdTokenError::Expired => {
            StsError::ExpiredToken("the web identity token has expired".into())
        }
        other => StsError::InvalidIdentityToken(format!(
            "the web identity token is not valid: {}",
            other.to_string().replace("the ID token", "the token")
        )),
    }
}

fn upstream_error(e: UpstreamError) -> StsError {
    match e {
        UpstreamError::InvalidIdToken(e) => token_error(&e),
        UpstreamError::NotAllowed(why) => StsError::IdpRejectedClaim(why.to_string()),
        other if other.is_provider_failure() => {
            StsError::IdpCommunication(format!("the provider's keys could not be fetched: {other}"))
        }
        other => StsError::InvalidIdentityToken(other.to_string()),
    }
}

fn short(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(128).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, SharedClock, UnixTime};
    use crate::config::Config;
    use crate::connectors::upstream::NotAllowed;
    use crate::identity::{ClaimValue, ProviderId, ProviderKind};
    use crate::session::{MemoryStore, SessionStore};
    use crate::telemetry::captured_log;

    const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

    const CONFIG: &str = r#"
[server]
bind = "127.0.0.1:0"
public_url = "http://127.0.0.1:8080"
[sessions]
store = "memory"
[[providers]]
id = "ci"
kind = "oidc"
issuer = "https://ci.example"
client_id = "lanyard"
client_auth = "none"
[[roles]]
name = "audit"
trust_policy = { Version = "2012-10-17", Statement = [
  { Sid = "AcmeRepos", Effect = "Allow", Principal = { Federated = "ci" }, Action = "sts:AssumeRoleWithWebIdentity",
    Condition = { StringLike = { "ci:sub" = "repo:acme/*" } } },
  { Sid = "NotForks", Effect = "Deny", Principal = { Federated = "ci" }, Action = "sts:AssumeRoleWithWebIdentity",
    Condition = { StringEquals = { "ci:repository_owner" = "fork-owner" } } },
] }
"#;

    fn service(dir: &std::path::Path) -> Sts {
        let clock: SharedClock = Arc::new(ManualClock::new(NOW));
        let config = Config::from_toml(CONFIG, dir, &|_| None).unwrap();
        let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new("t:", Arc::clone(&clock)));
        let url = "http://127.0.0.1:8080";
        let audit = crate::audit::Audit::log_only();
        let issuer = crate::access::testing::issuer(dir, &clock, store, url, audit);
        Sts::new(
            Arc::new(Connectors::new(&config.providers, &config.server.issuer()).unwrap()),
            Arc::new(RoleCatalog::new(config.roles.clone())),
            issuer,
            Duration::from_secs(900),
        )
    }

    fn ci_identity(sub: &str, owner: &str) -> ExternalIdentity {
        ExternalIdentity {
            provider: ProviderId::new("ci"),
            provider_kind: ProviderKind::Oidc,
            subject: sub.into(),
            username: sub.into(),
            email: None,
            email_verified: false,
            display_name: None,
            groups: vec![],
            amr: vec![],
            mfa: false,
            auth_time: NOW,
            tags: Default::default(),
            claims: [
                ("sub".to_owned(), ClaimValue::One(sub.into())),
                ("repository_owner".to_owned(), ClaimValue::One(owner.into())),
            ]
            .into(),
        }
    }

    #[tokio::test]
    async fn a_trust_refusal_is_explained_in_the_audit_log_only() {
        let dir = tempfile::tempdir().unwrap();
        let sts = service(dir.path());
        let facts = RequestFacts {
            source_ip: None,
            now: NOW,
            secure_transport: false,
            user_agent: None,
        };
        const ACTION: &str = "sts:AssumeRoleWithWebIdentity";
        let (log, _guard) = captured_log();
        let fork = ci_identity("repo:acme/app:ref:refs/heads/main", "fork-owner");
        let e = sts
            .issue(ACTION, fork, check(&req("audit")).unwrap(), None, &facts)
            .await
            .unwrap_err();
        // The caller's message names nothing of the policy...
        assert_eq!(e.code(), "AccessDenied");
        assert_eq!(e.to_string(), format!("Not authorized to perform {ACTION}"));
        // ...the audit log names the event, the subject and the deciding statement.
        let text = log.text();
        assert!(text.contains("credentials.refused"), "{text}");
        assert!(text.contains("NotForks"), "{text}");
        assert!(text.contains("repo:acme/app:ref:refs/heads/main"), "{text}");
        // The same caller without the Deny gets credentials, stored for /v1/authorize, and
        // the issue is audited too.
        let member = ci_identity("repo:acme/app:ref:refs/heads/main", "acme");
        let session = sts
            .issue(ACTION, member, check(&req("audit")).unwrap(), None, &facts)
            .await
            .unwrap();
        assert_eq!(session.expires_at, NOW + Duration::from_secs(900));
        let stored = sts
            .issuer
            .sso()
            .role_session(&session.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.access_token_digest,
            crate::session::digest(&session.access_token)
        );
        assert!(stored.access_token.is_empty());
        assert!(log.text().contains("credentials.issued"));
    }

    fn req(role: &str) -> AssumeRoleRequest {
        AssumeRoleRequest {
            role: role.into(),
            ..AssumeRoleRequest::default()
        }
    }

    #[test]
    fn requests_are_checked_before_any_upstream_call() {
        assert_eq!(check(&req("deploy")).unwrap().role, "deploy");
        assert_eq!(
            check(&req("arn:lanyard:iam:::role/deploy")).unwrap().role,
            "deploy"
        );
        assert!(matches!(check(&req("")), Err(StsError::Validation(_))));
        for d in [0, 899, 43_201] {
            let r = AssumeRoleRequest {
                duration_seconds: Some(d),
                ..req("deploy")
            };
            assert!(matches!(check(&r), Err(StsError::Validation(_))), "{d}");
        }
        for bad in ["x", "has space", "new\nline", &"a".repeat(65)] {
            let r = AssumeRoleRequest {
                role_session_name: Some(bad.to_owned()),
                ..req("deploy")
            };
            assert!(matches!(check(&r), Err(StsError::Validation(_))), "{bad:?}");
        }
        let ok = AssumeRoleRequest {
            role_session_name: Some("ci-job_42@repo.example".into()),
            ..req("deploy")
        };
        assert!(check(&ok).is_ok());
    }

    #[test]
    fn session_policies_are_validated_and_bounded() {
        let valid = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        let r = AssumeRoleRequest {
            policy: Some(valid.into()),
            ..req("deploy")
        };
        assert_eq!(check(&r).unwrap().policy.as_deref(), Some(valid));
        let r = AssumeRoleRequest {
            policy: Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}"#.into()),
            ..req("deploy")
        };
        let e = check(&r).unwrap_err();
        assert_eq!(e.code(), "MalformedPolicyDocument");
        let r = AssumeRoleRequest {
            policy: Some(format!("{valid}{}", " ".repeat(MAX_SESSION_POLICY_BYTES))),
            ..req("deploy")
        };
        assert_eq!(check(&r).unwrap_err().code(), "PackedPolicyTooLarge");
    }

    #[test]
    fn token_errors_map_to_sts_codes() {
        assert_eq!(
            token_error(&IdTokenError::Expired).code(),
            "ExpiredTokenException"
        );
        assert_eq!(
            token_error(&IdTokenError::WrongAudience).code(),
            "InvalidIdentityToken"
        );
        assert_eq!(
            upstream_error(UpstreamError::NotAllowed(NotAllowed::Tenant)).code(),
            "IDPRejectedClaim"
        );
        assert_eq!(
            StsError::AccessDenied("sts:AssumeRoleWithWebIdentity").to_string(),
            "Not authorized to perform sts:AssumeRoleWithWebIdentity"
        );
    }
}
