//! Lanyard as an OpenID Connect provider for applications: the authorization code flow with
//! PKCE (OpenID Connect Core 1.0 §3.1, RFC 6749 §4.1, RFC 7636), refresh tokens rotated on
//! every use with reuse detection (OAuth 2.0 Security BCP §4.14), `client_credentials` for
//! machine clients, userinfo (Core §5.3), introspection (RFC 7662), revocation (RFC 7009)
//! and RP-initiated logout (RP-Initiated Logout 1.0).
//!
//! Everything single-use (pending authorization requests once completed, codes, refresh
//! tokens) is taken atomically from the session store, so a replay loses the race. A code
//! or refresh token is taken together with leaving its "used" tombstone (one store step,
//! [`SessionStore::take_leaving`]), which names its token family: whoever comes second,
//! concurrently or later, finds the tombstone and revokes the family. Revoking marks the
//! family first, and issuing checks that mark after recording what it issued, so tokens
//! the first user is still issuing when the second revokes are revoked too.
//!
//! Credentials leave through the one door ([`Issuer`]): every grant carries a trust
//! decision. A person's role is evaluated again at the code exchange (with the address
//! they chose it from) and at every refresh; a machine client's role is evaluated for the
//! client's principal `arn:lanyard:iam:::client/<id>`. A reused code or refresh token
//! (`refresh.reuse`) and every revocation (`revocation`) are written to the audit trail.
//!
//! May import: `access`, `audit`, `tokens`, `sso`, `roles`, `identity`, `session`.

pub mod clients;
pub mod error;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::access::{
    AccessTokenClaims, Attempt, ClientBinding, CredentialIssuer, Holder, IssueError, IssueRequest,
    Issuer, Origin,
};
use crate::audit::{AuditEvent, Door, EventKind};
use crate::clock::SharedClock;
use crate::identity::ExternalIdentity;
use crate::roles::{
    Caller, MIN_SESSION_SECS, MachineClient, RequestFacts, Role, RoleCatalog, TrustGrant,
};
use crate::session::{SessionStore, digest, get_json, put_json, random_id, take_json};
use crate::sso::{RoleSession, RoleSessionRecord, RoleSessionToken, Sso};
use crate::tokens::jose::UnverifiedJws;
use crate::tokens::jose::client_assertion::{self, VerifiedAssertion};
use crate::tokens::{Algorithm, Expectations};

pub use clients::{Client, Clients, PresentedAssertion, PresentedClient};
pub use error::OAuthError;
pub use settings::{ClientAuth, ClientSettings, GrantType, IntrospectScope, TOKEN_EXCHANGE_GRANT};

/// How long a pending authorization request waits for the person to sign in.
const PENDING_TTL: Duration = Duration::from_secs(600);
/// How long an authorization code lives (single use).
const CODE_TTL: Duration = Duration::from_secs(60);
/// How long a used code or refresh token is remembered, to detect replays.
const USED_TTL: Duration = Duration::from_secs(24 * 3600);
/// The `typ` of ID tokens.
const ID_TOKEN_TYPE: &str = "JWT";
/// `acr` of a sign-in with a second factor.
pub const ACR_MFA: &str = "mfa";
/// `acr` of a sign-in with a single factor.
pub const ACR_PASSWORD: &str = "pwd";

/// The query of `/oauth2/authorize`, before validation.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuthorizeParams {
    /// `response_type`.
    pub response_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `prompt`.
    pub prompt: Option<String>,
    /// `max_age`.
    pub max_age: Option<String>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// `acr_values`.
    pub acr_values: Option<String>,
    /// `response_mode`.
    pub response_mode: Option<String>,
}

/// A validated authorization request, waiting for the person to sign in and choose a role.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingAuthorization {
    /// The client.
    pub client_id: String,
    /// The exact registered redirect URI.
    pub redirect_uri: String,
    /// `state`, returned as given.
    pub state: Option<String>,
    /// `nonce`, put in the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// Granted scope.
    pub scope: String,
    /// The person must have authenticated at or after this time (`prompt=login`, `max_age`).
    pub min_auth_time: Option<i64>,
    /// `prompt=none`: never show a page.
    pub prompt_none: bool,
    /// `login_hint`, passed to the sign-in page and upstream providers.
    #[serde(default)]
    pub login_hint: Option<String>,
    /// `acr_values` asked for `mfa`: a session without a second factor signs in again
    /// (the ID token's `acr` then says what was achieved; OIDC Core §3.1.2.1).
    #[serde(default)]
    pub wants_mfa: bool,
}

/// Why an authorization request was refused.
#[derive(Debug)]
pub enum AuthorizeRejection {
    /// The client or redirect URI cannot be trusted: show an error page, never redirect.
    Page(String),
    /// Send the error back to the client's (valid) redirect URI.
    Redirect(Url),
}

/// The answer of the token endpoint (RFC 6749 §5.1). Its `Debug` leaves the tokens out.
#[derive(Serialize)]
pub struct TokenResponse {
    /// The access token (a JWT, DESIGN.md's claims).
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The ID token, when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// A refresh token, when the client may refresh.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Granted scope.
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CodeRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeRecord")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Serialize, Deserialize)]
struct CodeRecord {
    client_id: String,
    redirect_uri: String,
    code_challenge: Option<String>,
    nonce: Option<String>,
    scope: String,
    sso_ref: String,
    identity: ExternalIdentity,
    role: String,
    duration_secs: u64,
    /// The token family the exchange starts (what a reuse of the code revokes). Absent in
    /// codes minted before families were named at minting.
    #[serde(default)]
    family: Option<String>,
    /// The person's address when the role was chosen: the exchange evaluates the role's
    /// trust policy again with it (the token request comes from the application).
    #[serde(default)]
    source_ip: Option<std::net::IpAddr>,
}

/// The tombstone a used code or refresh token leaves: a copy of its record, of which only
/// the family is read (an older format kept the family alone, as a JSON string).
#[derive(Deserialize)]
#[serde(untagged)]
enum UsedTombstone {
    Family(String),
    Record { family: Option<String> },
}

impl UsedTombstone {
    fn family(self) -> Option<String> {
        match self {
            UsedTombstone::Family(f) => Some(f),
            UsedTombstone::Record { family } => family,
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
struct RefreshRecord {
    family: String,
    client_id: String,
    scope: String,
    sso_ref: Option<String>,
    identity: ExternalIdentity,
    role: String,
    duration_secs: u64,
    expires_at: i64,
}

/// The answer of `/oauth2/introspect` (RFC 7662 §2.2). Serialized with `active` first and
/// the members of each kind in a fixed order, straight from the claims (no intermediate
/// JSON tree).
#[derive(Debug)]
pub enum Introspection {
    /// A live access token, described by its claims.
    AccessToken(Box<AccessTokenClaims>),
    /// A live refresh token.
    RefreshToken {
        /// The client it was issued to.
        client_id: String,
        /// `{provider}:{subject}`.
        sub: String,
        /// The role.
        role: String,
        /// Expiry (seconds since the epoch).
        exp: i64,
        /// Granted scope.
        scope: String,
    },
    /// Unknown, expired, revoked or signed out: `{"active": false}` and nothing more.
    Inactive,
}

impl Serialize for Introspection {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        match self {
            Introspection::AccessToken(c) => {
                let mut m = serializer.serialize_struct("Introspection", 18)?;
                m.serialize_field("active", &true)?;
                m.serialize_field("token_type", "Bearer")?;
                m.serialize_field("iss", &c.iss)?;
                m.serialize_field("sub", &c.sub)?;
                m.serialize_field("aud", &c.aud)?;
                m.serialize_field("exp", &c.exp)?;
                m.serialize_field("iat", &c.iat)?;
                m.serialize_field("nbf", &c.nbf)?;
                m.serialize_field("jti", &c.jti)?;
                m.serialize_field("sid", &c.sid)?;
                m.serialize_field("role", &c.role)?;
                m.serialize_field("session_name", &c.session_name)?;
                m.serialize_field("username", &c.session_name)?;
                m.serialize_field("idp", &c.idp)?;
                m.serialize_field("groups", &c.groups)?;
                m.serialize_field("tags", &c.tags)?;
                m.serialize_field("client_id", &c.client_id)?;
                m.serialize_field("scope", &c.scope)?;
                m.end()
            }
            Introspection::RefreshToken {
                client_id,
                sub,
                role,
                exp,
                scope,
            } => {
                let mut m = serializer.serialize_struct("Introspection", 7)?;
                m.serialize_field("active", &true)?;
                m.serialize_field("token_type", "refresh_token")?;
                m.serialize_field("client_id", client_id)?;
                m.serialize_field("sub", sub)?;
                m.serialize_field("role", role)?;
                m.serialize_field("exp", exp)?;
                m.serialize_field("scope", scope)?;
                m.end()
            }
            Introspection::Inactive => {
                let mut m = serializer.serialize_struct("Introspection", 1)?;
                m.serialize_field("active", &false)?;
                m.end()
            }
        }
    }
}

/// Appends query parameters to a redirect URI.
fn with_params(base: &str, params: &[(&str, &str)]) -> Option<Url> {
    let mut url = Url::parse(base).ok()?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    Some(url)
}

/// What a token grant hands to [`OidcProvider::respond`] besides the trust grant.
struct Exchange<'a> {
    duration_secs: u64,
    scope: &'a str,
    nonce: Option<&'a str>,
    sso_ref: Option<&'a str>,
    family: &'a str,
}

/// The OAuth answer to an issue that failed.
fn issue_error(e: IssueError) -> OAuthError {
    match e {
        IssueError::DurationOutOfRange { .. } => OAuthError::InvalidGrant(e.to_string()),
        IssueError::Token(e) => OAuthError::ServerError(e.to_string()),
        IssueError::Store(e) => e.into(),
        IssueError::AuditUnavailable(e) => OAuthError::TemporarilyUnavailable(format!(
            "credentials cannot be issued while the audit trail is unavailable: {e}"
        )),
    }
}

/// The OpenID Connect provider service.
#[derive(Clone)]
pub struct OidcProvider {
    clients: Arc<Clients>,
    store: Arc<dyn SessionStore>,
    sso: Sso,
    issuer: Issuer,
    roles: Arc<RoleCatalog>,
    clock: SharedClock,
    default_duration: Duration,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("clients", &self.clients)
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// The provider over the broker's services.
    pub fn new(
        clients: Arc<Clients>,
        sso: Sso,
        issuer: Issuer,
        roles: Arc<RoleCatalog>,
        clock: SharedClock,
        default_duration: Duration,
    ) -> Self {
        Self {
            store: Arc::clone(sso.store()),
            clients,
            sso,
            issuer,
            roles,
            clock,
            default_duration,
        }
    }

    /// The registered clients.
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// Validates an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1-2). The
    /// client and redirect URI are checked first; until both are known good, errors are
    /// shown as a page and never sent to the given redirect URI (no open redirect).
    pub fn validate_authorize(
        &self,
        p: &AuthorizeParams,
    ) -> Result<PendingAuthorization, AuthorizeRejection> {
        let client_id = p
            .client_id
            .as_deref()
            .ok_or_else(|| AuthorizeRejection::Page("the request names no client_id".into()))?;
        let client = self.clients.get(client_id).ok_or_else(|| {
            AuthorizeRejection::Page(format!("there is no application \"{client_id}\""))
        })?;
        let registered = &client.config.redirect_uris;
        let redirect_uri = match p.redirect_uri.as_deref() {
            Some(given) => registered
                .iter()
                .find(|u| u.as_str() == given)
                .map(|u| u.as_str().to_owned())
                .ok_or_else(|| {
                    AuthorizeRejection::Page(
                        "the redirect_uri is not registered for this application".into(),
                    )
                })?,
            None if registered.len() == 1 => registered[0].as_str().to_owned(),
            None => {
                return Err(AuthorizeRejection::Page(
                    "the request names no redirect_uri".into(),
                ));
            }
        };
        let state = p.state.clone();
        let fail = |code: &str, description: &str| {
            let mut params = vec![("error", code), ("error_description", description)];
            if let Some(s) = state.as_deref() {
                params.push(("state", s));
            }
            match with_params(&redirect_uri, &params) {
                Some(u) => AuthorizeRejection::Redirect(u),
                None => AuthorizeRejection::Page(description.to_owned()),
            }
        };
        if !client.config.allows(GrantType::AuthorizationCode) {
            return Err(fail(
                "unauthorized_client",
                "this application may not use the authorization code flow",
            ));
        }
        match p.response_type.as_deref() {
            Some("code") => {}
            None => return Err(fail("invalid_request", "response_type is required")),
            Some(_) => {
                return Err(fail(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ));
            }
        }
        if let Some(mode) = p.response_mode.as_deref()
            && mode != "query"
        {
            return Err(fail(
                "invalid_request",
                "only response_mode=query is supported",
            ));
        }
        let method = p.code_challenge_method.as_deref();
        let code_challenge = match (&p.code_challenge, method) {
            (Some(c), Some("S256")) if is_pkce_value(c, 43) => Some(c.clone()),
            (Some(_), Some("S256")) => {
                return Err(fail("invalid_request", "code_challenge is malformed"));
            }
            (Some(_), _) => {
                return Err(fail(
                    "invalid_request",
                    "code_challenge_method must be S256 (plain is not accepted)",
                ));
            }
            (None, _) if client.is_public() => {
                return Err(fail(
                    "invalid_request",
                    "PKCE (code_challenge with S256) is required for public clients",
                ));
            }
            (None, _) => None,
        };
        let scopes: Vec<&str> = p
            .scope
            .as_deref()
            .unwrap_or("openid")
            .split(' ')
            .filter(|s| !s.is_empty())
            .collect();
        let known = [
            "openid",
            "profile",
            "email",
            "groups",
            "offline_access",
            "roles",
        ];
        let granted: Vec<&str> = scopes
            .iter()
            .copied()
            .filter(|s| known.contains(s))
            .collect();
        let now = self.clock.now();
        let prompts: Vec<&str> = p.prompt.as_deref().unwrap_or("").split(' ').collect();
        let prompt_none = prompts.contains(&"none");
        if prompt_none && prompts.len() > 1 {
            return Err(fail("invalid_request", "prompt=none cannot be combined"));
        }
        let mut min_auth_time = None;
        if prompts.contains(&"login") {
            min_auth_time = Some(now);
        }
        if let Some(max_age) = p.max_age.as_deref() {
            let max_age: i64 = max_age
                .parse()
                .ok()
                .filter(|v: &i64| *v >= 0)
                .ok_or_else(|| fail("invalid_request", "max_age must be a non-negative integer"))?;
            let bound = now - max_age;
            min_auth_time = Some(min_auth_time.map_or(bound, |m: i64| m.max(bound)));
        }
        if p.nonce.as_deref().is_some_and(|n| n.len() > 512)
            || p.state.as_deref().is_some_and(|s| s.len() > 2048)
        {
            return Err(fail("invalid_request", "state or nonce is too long"));
        }
        let login_hint = match p.login_hint.as_deref() {
            None | Some("") => None,
            Some(h) if h.len() <= 256 && !h.chars().any(char::is_control) => Some(h.to_owned()),
            Some(_) => return Err(fail("invalid_request", "login_hint is not acceptable")),
        };
        let wants_mfa = p
            .acr_values
            .as_deref()
            .is_some_and(|v| v.split(' ').any(|a| a == ACR_MFA));
        Ok(PendingAuthorization {
            client_id: client_id.to_owned(),
            redirect_uri,
            state: p.state.clone(),
            nonce: p.nonce.clone(),
            code_challenge,
            scope: granted.join(" "),
            min_auth_time,
            prompt_none,
            login_hint,
            wants_mfa,
        })
    }

    /// Stores a validated request; returns its id (the `authz` parameter of `/roles`).
    pub async fn park(&self, pending: &PendingAuthorization) -> Result<String, OAuthError> {
        let id = random_id().expose_secret().to_owned();
        put_json(&*self.store, &format!("authz:{id}"), pending, PENDING_TTL).await?;
        Ok(id)
    }

    /// A parked request, without consuming it.
    pub async fn pending(&self, id: &str) -> Result<Option<PendingAuthorization>, OAuthError> {
        if id.len() > 64 {
            return Ok(None);
        }
        Ok(get_json(&*self.store, &format!("authz:{id}")).await?)
    }

    /// The duration to use when the person did not choose one (the picker was skipped).
    pub fn default_duration(&self, client_id: &str, role: &Role) -> Duration {
        let wanted = self
            .clients
            .get(client_id)
            .and_then(|c| c.config.access_token_lifetime)
            .unwrap_or(self.default_duration);
        wanted.min(Duration::from_secs(CredentialIssuer::max_duration(role)))
    }

    /// Completes a parked request once the person has chosen `role`: takes it (single
    /// use), mints a code bound to the client, redirect URI, PKCE challenge and SSO session,
    /// and returns where to send the browser.
    pub async fn complete(
        &self,
        authz_id: &str,
        session_cookie: &str,
        identity: &ExternalIdentity,
        role: &Role,
        duration: Duration,
        facts: &RequestFacts,
    ) -> Result<Url, OAuthError> {
        let pending: PendingAuthorization = take_json(&*self.store, &format!("authz:{authz_id}"))
            .await?
            .ok_or_else(|| {
                OAuthError::InvalidRequest("the sign-in request expired or was used".into())
            })?;
        let secs = duration.as_secs();
        if !(MIN_SESSION_SECS..=CredentialIssuer::max_duration(role)).contains(&secs) {
            return Err(OAuthError::InvalidRequest(
                "the duration is outside the role's bounds".into(),
            ));
        }
        let code = random_id().expose_secret().to_owned();
        let record = CodeRecord {
            client_id: pending.client_id.clone(),
            redirect_uri: pending.redirect_uri.clone(),
            code_challenge: pending.code_challenge.clone(),
            nonce: pending.nonce.clone(),
            scope: pending.scope.clone(),
            sso_ref: Sso::session_ref(session_cookie),
            identity: identity.clone(),
            role: role.name.clone(),
            duration_secs: secs,
            family: Some(random_id().expose_secret().to_owned()),
            source_ip: facts.source_ip,
        };
        put_json(
            &*self.store,
            &format!("code:{}", digest(&code)),
            &record,
            CODE_TTL,
        )
        .await?;
        let mut params = vec![
            ("code", code.as_str()),
            ("iss", self.issuer.tokens().issuer()),
        ];
        if let Some(s) = pending.state.as_deref() {
            params.push(("state", s));
        }
        with_params(&pending.redirect_uri, &params)
            .ok_or_else(|| OAuthError::ServerError("the redirect URI cannot be built".into()))
    }

    /// An error answer to a parked request, sent back to the client (`access_denied` when
    /// no role fits, `login_required` for prompt=none).
    pub async fn fail(
        &self,
        authz_id: &str,
        error: &OAuthError,
    ) -> Result<Option<Url>, OAuthError> {
        let pending: Option<PendingAuthorization> =
            take_json(&*self.store, &format!("authz:{authz_id}")).await?;
        Ok(pending.and_then(|p| {
            let description = error.to_string();
            let mut params = vec![
                ("error", error.code()),
                ("error_description", description.as_str()),
            ];
            if let Some(s) = p.state.as_deref() {
                params.push(("state", s));
            }
            with_params(&p.redirect_uri, &params)
        }))
    }

    /// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).
    pub async fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        (redirect_uri, verifier): (Option<&str>, Option<&str>),
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.config.allows(GrantType::AuthorizationCode) {
            return Err(OAuthError::UnauthorizedClient(
                "this client may not use authorization_code".into(),
            ));
        }
        let key = digest(code);
        let (code_key, used) = (format!("code:{key}"), format!("code-used:{key}"));
        let Some((record, bytes)) = self.take_single_use::<CodeRecord>(&code_key, &used).await?
        else {
            // A replayed code: revoke what it issued (RFC 6749 §4.1.2).
            if let Some(family) = self.used_family(&used).await? {
                self.reuse_detected(client, &family, origin, "authorization code")
                    .await?;
            }
            return Err(OAuthError::InvalidGrant(
                "the code is invalid, expired or already used".into(),
            ));
        };
        let result = self
            .redeem_code(client, record, (redirect_uri, verifier), origin)
            .await;
        if matches!(result, Err(OAuthError::TemporarilyUnavailable(_))) {
            self.restore_single_use(&code_key, &used, &bytes, CODE_TTL)
                .await;
        }
        result
    }

    /// [`OidcProvider::exchange_code`] once the code is taken.
    async fn redeem_code(
        &self,
        client: &Client,
        record: CodeRecord,
        (redirect_uri, verifier): (Option<&str>, Option<&str>),
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        if record.client_id != client.config.id {
            return Err(OAuthError::InvalidGrant(
                "the code was issued to another client".into(),
            ));
        }
        if redirect_uri != Some(record.redirect_uri.as_str()) {
            return Err(OAuthError::InvalidGrant(
                "redirect_uri does not match the authorization request".into(),
            ));
        }
        match (&record.code_challenge, verifier) {
            (Some(challenge), Some(v)) if is_pkce_value(v, 43) && pkce_s256(v) == *challenge => {}
            (Some(_), _) => {
                return Err(OAuthError::InvalidGrant(
                    "the PKCE code_verifier does not match".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(OAuthError::InvalidGrant(
                    "a code_verifier was sent but the request had no code_challenge".into(),
                ));
            }
            (None, None) => {}
        }
        if self.sso.load_by_ref(&record.sso_ref).await?.is_none() {
            return Err(OAuthError::InvalidGrant(
                "the sign-in session has ended".into(),
            ));
        }
        let family = record
            .family
            .clone()
            .unwrap_or_else(|| random_id().expose_secret().to_owned());
        // The person's facts from when the role was chosen, at the time of the exchange.
        let facts = RequestFacts {
            source_ip: record.source_ip,
            now: self.clock.now(),
            secure_transport: origin.facts.secure_transport,
            user_agent: origin.user_agent.clone(),
        };
        let attempt = origin.at(Door::OidcCode, Some(&client.config.id));
        let grant = self
            .person_grant(client, &record.identity, &record.role, &facts, &attempt)
            .await?;
        let exchange = Exchange {
            duration_secs: record.duration_secs,
            scope: &record.scope,
            nonce: record.nonce.as_deref(),
            sso_ref: Some(&record.sso_ref),
            family: &family,
        };
        self.respond(client, grant, exchange, attempt).await
    }

    /// `grant_type=refresh_token` (RFC 6749 §6): the token is rotated; presenting an old one
    /// again revokes the whole family.
    pub async fn refresh(
        &self,
        client: &Client,
        token: &str,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.config.allows(GrantType::RefreshToken) {
            return Err(OAuthError::UnauthorizedClient(
                "this client may not use refresh_token".into(),
            ));
        }
        let key = digest(token);
        let (rt_key, used) = (format!("rt:{key}"), format!("rt-used:{key}"));
        let Some((record, bytes)) = self
            .take_single_use::<RefreshRecord>(&rt_key, &used)
            .await?
        else {
            if let Some(family) = self.used_family(&used).await? {
                self.reuse_detected(client, &family, origin, "refresh token")
                    .await?;
            }
            return Err(OAuthError::InvalidGrant(
                "the refresh token is invalid, expired or already used".into(),
            ));
        };
        let expires_at = record.expires_at;
        let result = self.refresh_with(client, record, origin).await;
        if matches!(result, Err(OAuthError::TemporarilyUnavailable(_))) {
            let left = u64::try_from(expires_at - self.clock.now()).unwrap_or(0);
            if left > 0 {
                self.restore_single_use(&rt_key, &used, &bytes, Duration::from_secs(left))
                    .await;
            }
        }
        result
    }

    /// [`OidcProvider::refresh`] once the refresh token is taken.
    async fn refresh_with(
        &self,
        client: &Client,
        record: RefreshRecord,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        if record.client_id != client.config.id {
            self.revoke_family(&record.family, "a refresh token came from another client")
                .await?;
            return Err(OAuthError::InvalidGrant(
                "the refresh token was issued to another client".into(),
            ));
        }
        if record.expires_at <= self.clock.now() {
            return Err(OAuthError::InvalidGrant(
                "the refresh token has expired".into(),
            ));
        }
        if let Some(sso_ref) = &record.sso_ref
            && self.sso.load_by_ref(sso_ref).await?.is_none()
        {
            self.revoke_family(&record.family, "the sign-in session has ended")
                .await?;
            return Err(OAuthError::InvalidGrant(
                "the sign-in session has ended".into(),
            ));
        }
        // The person must still be allowed the role, and the client to receive it: trust is
        // evaluated again, so a changed policy takes effect at the next refresh. The
        // request comes from the application, not the person: no address.
        let facts = RequestFacts {
            source_ip: None,
            now: self.clock.now(),
            secure_transport: true,
            user_agent: None,
        };
        let attempt = origin.at(Door::OidcRefresh, Some(&client.config.id));
        let grant = match self
            .person_grant(client, &record.identity, &record.role, &facts, &attempt)
            .await
        {
            Ok(g) => g,
            Err(e) => {
                self.revoke_family(&record.family, "the role is no longer available")
                    .await?;
                return Err(e);
            }
        };
        let exchange = Exchange {
            duration_secs: record.duration_secs,
            scope: &record.scope,
            nonce: None,
            sso_ref: record.sso_ref.as_deref(),
            family: &record.family,
        };
        self.respond(client, grant, exchange, attempt).await
    }

    /// `grant_type=client_credentials` for a machine client with a `machine_role`: the
    /// role's trust policy is evaluated for the client's principal
    /// (`{"AWS": "arn:lanyard:iam:::client/<id>"}`, action `sts:AssumeRole`).
    pub async fn client_credentials(
        &self,
        client: &Client,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        let role_name = match (
            &client.config.machine_role,
            client.config.allows(GrantType::ClientCredentials),
        ) {
            (Some(r), true) if !client.is_public() => r.clone(),
            _ => {
                return Err(OAuthError::UnauthorizedClient(
                    "this client may not use client_credentials".into(),
                ));
            }
        };
        let method = match client.config.auth {
            ClientAuth::PrivateKeyJwt(_) => "private_key_jwt",
            _ => "client_secret",
        };
        let caller = Caller::Client(MachineClient::new(&client.config.id, method));
        let attempt = origin.at(Door::ClientCredentials, Some(&client.config.id));
        let grant = match self.roles.evaluate(&role_name, caller, &origin.facts) {
            Ok(g) => g,
            Err(refusal) => {
                self.issuer.refused(&attempt, &refusal).await;
                return Err(OAuthError::UnauthorizedClient(
                    "the trust policy of this client's role does not allow it".into(),
                ));
            }
        };
        let duration_secs = self
            .default_duration(&client.config.id, grant.role())
            .as_secs();
        let family = random_id().expose_secret().to_owned();
        let exchange = Exchange {
            duration_secs,
            scope: "",
            nonce: None,
            sso_ref: None,
            family: &family,
        };
        let mut response = self.respond(client, grant, exchange, attempt).await?;
        response.refresh_token = None;
        Ok(response)
    }

    /// The trust decision for a person's role at the token endpoint (code, refresh): the
    /// role's trust policy must still allow them, and the client must be allowed the role.
    /// A refusal is audited and answered `invalid_grant`.
    async fn person_grant(
        &self,
        client: &Client,
        identity: &ExternalIdentity,
        role: &str,
        facts: &RequestFacts,
        attempt: &Attempt,
    ) -> Result<TrustGrant, OAuthError> {
        let refusal = match self
            .roles
            .evaluate(role, Caller::Federated(identity.clone()), facts)
        {
            Ok(g) if client.config.allowed_roles.contains(&g.role().name) => return Ok(g),
            Ok(g) => g.refused("the role is not among the client's allowed_roles"),
            Err(refusal) => refusal,
        };
        self.issuer.refused(attempt, &refusal).await;
        Err(OAuthError::InvalidGrant(
            "the role is no longer available to this person".into(),
        ))
    }

    /// A used code or refresh token came back: its family is revoked, and the reuse
    /// recorded in the audit trail (`refresh.reuse`).
    async fn reuse_detected(
        &self,
        client: &Client,
        family: &str,
        origin: &Origin,
        what: &str,
    ) -> Result<(), OAuthError> {
        self.revoke_family(family, "a used code or refresh token came back")
            .await?;
        tracing::warn!(client = %client.config.id, "{what} reused: its family is revoked");
        let mut event = self.event(EventKind::RefreshReuse, Some(&client.config.id));
        event.source_ip = origin.facts.source_ip.map(|ip| ip.to_string());
        event.reason = Some(format!("a used {what} was presented again"));
        self.issuer.audit().note(event).await;
        Ok(())
    }

    /// An audit event of this service.
    fn event(&self, kind: EventKind, client_id: Option<&str>) -> AuditEvent {
        let mut event = AuditEvent::new(kind, self.clock.now().saturating_mul(1000));
        event.client_id = client_id.map(str::to_owned);
        event
    }

    /// Issues the tokens of a grant through the one door, then what only the OpenID
    /// provider adds: the token family, the ID token and the rotated refresh token.
    async fn respond(
        &self,
        client: &Client,
        grant: TrustGrant,
        x: Exchange<'_>,
        attempt: Attempt,
    ) -> Result<TokenResponse, OAuthError> {
        let identity = match grant.caller() {
            Caller::Federated(i) => Some(i.clone()),
            Caller::Client(_) => None,
        };
        let request = IssueRequest {
            attempt,
            duration: Duration::from_secs(x.duration_secs),
            session_name: None,
            client: Some(ClientBinding {
                client_id: client.config.id.clone(),
                audience: client.config.audience.clone(),
                scope: (!x.scope.is_empty()).then(|| x.scope.to_owned()),
            }),
            session_policy: None,
            holder: x.sso_ref.map_or(Holder::Alone, Holder::SsoRef),
        };
        let role_session = self
            .issuer
            .issue(grant, request)
            .await
            .map_err(issue_error)?;
        self.store
            .set_add(&format!("family:{}", x.family), &role_session.id, USED_TTL)
            .await?;
        let scopes: Vec<&str> = x.scope.split(' ').collect();
        let id_token = match &identity {
            Some(i) if scopes.contains(&"openid") => {
                Some(self.id_token(client, i, &role_session, x.nonce, x.sso_ref, &scopes)?)
            }
            _ => None,
        };
        let refresh_token = match (&identity, x.sso_ref) {
            (Some(i), Some(_)) if client.config.allows(GrantType::RefreshToken) => Some(
                self.refresh_token(client, i, &role_session.role, &x)
                    .await?,
            ),
            _ => None,
        };
        // Recorded first, checked second: a revocation that began before this check is
        // seen here, and one that begins after it finds what was just recorded.
        if x.sso_ref.is_some()
            && self
                .store
                .get(&format!("family-revoked:{}", x.family))
                .await?
                .is_some()
        {
            self.revoke_family(x.family, "a code or refresh token was used twice at once")
                .await?;
            tracing::warn!(client = %client.config.id, "a code or refresh token was used twice at once: its tokens are revoked");
            return Err(OAuthError::InvalidGrant(
                "the code or refresh token was used more than once".into(),
            ));
        }
        Ok(TokenResponse {
            expires_in: role_session.expires_at - self.clock.now(),
            access_token: role_session.access_token,
            token_type: "Bearer",
            id_token,
            refresh_token,
            scope: x.scope.to_owned(),
        })
    }

    /// A new refresh token of the exchange's family, replacing the family's current one.
    async fn refresh_token(
        &self,
        client: &Client,
        identity: &ExternalIdentity,
        role: &str,
        x: &Exchange<'_>,
    ) -> Result<String, OAuthError> {
        let token = random_id().expose_secret().to_owned();
        let lifetime = client.config.refresh_token_lifetime;
        let record = RefreshRecord {
            family: x.family.to_owned(),
            client_id: client.config.id.clone(),
            scope: x.scope.to_owned(),
            sso_ref: x.sso_ref.map(str::to_owned),
            identity: identity.clone(),
            role: role.to_owned(),
            duration_secs: x.duration_secs,
            expires_at: self.clock.now() + i64::try_from(lifetime.as_secs()).unwrap_or(0),
        };
        put_json(
            &*self.store,
            &format!("rt:{}", digest(&token)),
            &record,
            lifetime,
        )
        .await?;
        self.store
            .put(
                &format!("family-rt:{}", x.family),
                digest(&token).as_bytes(),
                lifetime,
            )
            .await?;
        Ok(token)
    }

    fn id_token(
        &self,
        client: &Client,
        identity: &ExternalIdentity,
        role_session: &RoleSession,
        nonce: Option<&str>,
        sso_ref: Option<&str>,
        scopes: &[&str],
    ) -> Result<String, OAuthError> {
        let now = self.clock.now();
        let alg = self.issuer.tokens().keys().algorithm();
        let mut claims = serde_json::json!({
            "iss": self.issuer.tokens().issuer(),
            "sub": identity.qualified_subject(),
            "aud": client.config.id,
            "azp": client.config.id,
            "exp": role_session.expires_at,
            "iat": now,
            "auth_time": identity.auth_time,
            "amr": identity.amr,
            "acr": if identity.mfa { ACR_MFA } else { ACR_PASSWORD },
            "at_hash": at_hash(&role_session.access_token, alg),
            "role": role_session.role,
        });
        if let Some(map) = claims.as_object_mut() {
            if let Some(n) = nonce {
                map.insert("nonce".into(), n.into());
            }
            if let Some(s) = sso_ref {
                map.insert("sid".into(), s.into());
            }
            if scopes.contains(&"email")
                && let Some(e) = &identity.email
            {
                map.insert("email".into(), e.clone().into());
                map.insert("email_verified".into(), identity.email_verified.into());
            }
            if scopes.contains(&"profile") {
                map.insert(
                    "preferred_username".into(),
                    identity.username.clone().into(),
                );
                if let Some(n) = &identity.display_name {
                    map.insert("name".into(), n.clone().into());
                }
            }
            if scopes.contains(&"groups") {
                map.insert("groups".into(), identity.groups.clone().into());
            }
        }
        self.issuer
            .tokens()
            .keys()
            .sign(&claims, ID_TOKEN_TYPE)
            .map_err(|e| OAuthError::ServerError(e.to_string()))
    }

    /// Takes a code or refresh token record and, in the same store step, leaves its
    /// tombstone under `used`. Returns the record and its stored bytes.
    async fn take_single_use<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        used: &str,
    ) -> Result<Option<(T, Vec<u8>)>, OAuthError> {
        let Some(bytes) = self.store.take_leaving(key, used, USED_TTL).await? else {
            return Ok(None);
        };
        let record = serde_json::from_slice(&bytes)
            .map_err(|_| OAuthError::ServerError("a stored token record is unreadable".into()))?;
        Ok(Some((record, bytes)))
    }

    /// Puts back a code or refresh token whose use failed only because the store did (the
    /// client is told to try again), and removes its tombstone, so that the retry finds it
    /// as it was. Best effort: with the store still down the item stays used. Whatever the
    /// failed attempt recorded before failing was never handed out; should someone reuse
    /// the item meanwhile, its family is marked revoked and the retry is refused.
    async fn restore_single_use(&self, key: &str, used: &str, bytes: &[u8], ttl: Duration) {
        if self.store.put(key, bytes, ttl).await.is_ok() {
            let _ = self.store.delete(used).await;
        } else {
            tracing::warn!(
                "the session store failed mid-exchange; the code or refresh token is used up"
            );
        }
    }

    /// The family a used code or refresh token's tombstone names.
    async fn used_family(&self, used: &str) -> Result<Option<String>, OAuthError> {
        Ok(self
            .store
            .get(used)
            .await?
            .and_then(|b| serde_json::from_slice::<UsedTombstone>(&b).ok())
            .and_then(UsedTombstone::family))
    }

    /// Revokes every role session and the current refresh token of a family. The family is
    /// marked revoked first: an exchange still issuing into it sees the mark after recording
    /// its tokens (see [`OidcProvider::respond`]) and revokes them itself.
    /// Recorded as one `revocation` event saying why.
    async fn revoke_family(&self, family: &str, why: &str) -> Result<(), OAuthError> {
        self.store
            .put(&format!("family-revoked:{family}"), b"1", USED_TTL)
            .await?;
        let members = self.store.set_members(&format!("family:{family}")).await?;
        for id in &members {
            self.sso.revoke_role_session(id).await?;
        }
        if let Some(current) = self.store.take(&format!("family-rt:{family}")).await?
            && let Ok(current) = String::from_utf8(current)
        {
            self.store.delete(&format!("rt:{current}")).await?;
        }
        let mut event = self.event(EventKind::Revocation, None);
        event.reason = Some(why.to_owned());
        event.detail = serde_json::json!({ "role_sessions": members });
        self.issuer.audit().note(event).await;
        Ok(())
    }

    /// A live access token: its claims and role session (userinfo, revocation).
    ///
    /// The session store is the source of truth: the role session named by the token's
    /// `sid` keeps the SHA-256 of the exact token Lanyard issued (never the token), so a
    /// presented token whose digest equals it (compared in constant time) is authentic
    /// without a signature check, and one whose digest does not is refused whatever its
    /// signature says. This spares an ECDSA verification per introspection.
    pub async fn live_access_token(
        &self,
        token: &str,
    ) -> Result<Option<(AccessTokenClaims, RoleSession)>, OAuthError> {
        self.live_access_token_as(token).await
    }

    /// [`OidcProvider::live_access_token`], with the role session decoded into `R`.
    async fn live_access_token_as<R: RoleSessionRecord>(
        &self,
        token: &str,
    ) -> Result<Option<(AccessTokenClaims, R)>, OAuthError> {
        let Some(claims) = unverified_claims::<AccessTokenClaims>(token) else {
            return Ok(None);
        };
        let Some(rs) = self.sso.role_session_as::<R>(&claims.sid).await? else {
            return Ok(None);
        };
        // Checked here too, not only by the store lookup: a token past its role session's
        // expiry is never live, whichever path loaded the session.
        if rs.expires_at() <= self.clock.now() {
            return Ok(None);
        }
        // CRYPTO_memcmp: constant time in the contents, word at a time (subtle's `ct_eq`
        // goes byte by byte behind an optimization barrier, a microsecond per token).
        let same = aws_lc_rs::constant_time::verify_slices_are_equal(
            rs.access_token_digest().as_bytes(),
            digest(token).as_bytes(),
        )
        .is_ok();
        Ok(same.then_some((claims, rs)))
    }

    /// `/oauth2/userinfo` (OIDC Core §5.3): the claims of the token's person.
    pub async fn userinfo(&self, token: &str) -> Result<serde_json::Value, OAuthError> {
        let (claims, rs) = self
            .live_access_token(token)
            .await?
            .ok_or_else(|| OAuthError::InvalidToken("the access token is not active".into()))?;
        let keys = &rs.principal_keys.0;
        let one = |k: &str| keys.get(k).and_then(|v| v.first()).cloned();
        let mut out = serde_json::json!({
            "sub": claims.sub,
            "preferred_username": one("idp:username"),
            "role": claims.role,
            "groups": claims.groups,
        });
        if let Some(map) = out.as_object_mut()
            && let Some(email) = one("idp:email")
        {
            map.insert("email".into(), email.into());
            map.insert(
                "email_verified".into(),
                (one("idp:email_verified").as_deref() == Some("true")).into(),
            );
        }
        Ok(out)
    }

    /// `/oauth2/introspect` (RFC 7662 §2.2) for an authenticated `client`: `active: false`
    /// for anything not live, and for tokens the client may not see. Only confidential
    /// clients may introspect (RFC 7662 §2.1 protects the endpoint against token
    /// scanning); by default only tokens issued to them or whose audience is theirs,
    /// everything with `introspect = "any"`. A refresh token is live only while the SSO
    /// session it belongs to is.
    pub async fn introspect(
        &self,
        client: &Client,
        token: &str,
    ) -> Result<Introspection, OAuthError> {
        if client.is_public() {
            return Err(OAuthError::InvalidClient);
        }
        let any = client.config.introspect == IntrospectScope::Any;
        // Only the token and expiry of the role session are needed here.
        if let Some((c, _)) = self.live_access_token_as::<RoleSessionToken>(token).await? {
            let visible = any
                || c.client_id.as_deref() == Some(client.config.id.as_str())
                || c.aud == client.config.audience;
            return Ok(if visible {
                Introspection::AccessToken(Box::new(c))
            } else {
                Introspection::Inactive
            });
        }
        let Some(r) =
            get_json::<_, RefreshRecord>(&*self.store, &format!("rt:{}", digest(token))).await?
        else {
            return Ok(Introspection::Inactive);
        };
        if r.expires_at <= self.clock.now() || !(any || r.client_id == client.config.id) {
            return Ok(Introspection::Inactive);
        }
        if let Some(sso_ref) = &r.sso_ref
            && self.sso.load_by_ref(sso_ref).await?.is_none()
        {
            return Ok(Introspection::Inactive);
        }
        Ok(Introspection::RefreshToken {
            sub: r.identity.qualified_subject(),
            client_id: r.client_id,
            role: r.role,
            exp: r.expires_at,
            scope: r.scope,
        })
    }

    /// `/oauth2/revoke` (RFC 7009): ends an access token's role session or a refresh
    /// token's family. Unknown tokens are not an error.
    pub async fn revoke(&self, client: &Client, token: &str) -> Result<(), OAuthError> {
        if let Some((c, rs)) = self.live_access_token(token).await? {
            if c.client_id.as_deref() == Some(client.config.id.as_str()) {
                self.sso.revoke_role_session(&rs.id).await?;
                let mut event = self.event(EventKind::Revocation, Some(&client.config.id));
                event.role = Some(rs.role.clone());
                event.subject = Some(rs.subject.clone());
                event.role_session = Some(rs.id.clone());
                event.reason = Some("the client revoked the access token".to_owned());
                self.issuer.audit().note(event).await;
            }
            return Ok(());
        }
        let key = digest(token);
        if let Some(r) = get_json::<_, RefreshRecord>(&*self.store, &format!("rt:{key}")).await?
            && r.client_id == client.config.id
        {
            self.revoke_family(&r.family, "the client revoked the refresh token")
                .await?;
        }
        Ok(())
    }

    /// Checks an `id_token_hint` (RP-Initiated Logout 1.0 §2): signed by Lanyard, issued by
    /// it; expiry is not required. Returns the client it was issued to and its `sid`.
    pub fn check_id_token_hint(&self, hint: &str) -> Option<(String, Option<String>)> {
        #[derive(Deserialize)]
        struct Hint {
            aud: String,
            sid: Option<String>,
        }
        let hint: Hint = self
            .issuer
            .tokens()
            .keys()
            .verify(
                hint,
                &Expectations {
                    issuer: self.issuer.tokens().issuer().to_owned(),
                    audience: None,
                    typ: Some(ID_TOKEN_TYPE.to_owned()),
                    now: self.clock.now(),
                    // An expired ID token is still a fine hint of who is logging out.
                    leeway_secs: 30 * 24 * 3600,
                },
            )
            .ok()?;
        Some((hint.aud, hint.sid))
    }
}

impl OidcProvider {
    /// Authenticates a client by `private_key_jwt` (RFC 7523 §2.2, §3; OIDC Core §9): the
    /// assertion verifies as [`VerifiedAssertion`] against the client's registered keys,
    /// for Lanyard's issuer or one of its client-authenticating endpoints, and its `jti`
    /// is accepted once.
    pub async fn authenticate_assertion(
        &self,
        presented: PresentedAssertion,
    ) -> Result<Arc<Client>, OAuthError> {
        let jws = UnverifiedJws::parse(presented.assertion.expose_secret())
            .map_err(|_| OAuthError::InvalidClient)?;
        let claimed =
            client_assertion::claimed_client(&jws).map_err(|_| OAuthError::InvalidClient)?;
        if presented
            .client_id
            .as_deref()
            .is_some_and(|id| id != claimed)
        {
            return Err(OAuthError::InvalidClient);
        }
        let client = self
            .clients
            .get(&claimed)
            .cloned()
            .ok_or(OAuthError::InvalidClient)?;
        let ClientAuth::PrivateKeyJwt(keys) = &client.config.auth else {
            return Err(OAuthError::InvalidClient);
        };
        let issuer = self.issuer.tokens().issuer();
        let audiences = [issuer.to_owned()]
            .into_iter()
            .chain(["token", "introspect", "revoke"].map(|e| format!("{issuer}/oauth2/{e}")))
            .collect::<Vec<_>>();
        let now = self.clock.now();
        let assertion =
            VerifiedAssertion::verify(&jws, keys, &claimed, &audiences, now).map_err(|e| {
                tracing::debug!(client = %claimed, reason = %e, "client assertion refused");
                OAuthError::InvalidClient
            })?;
        let remember = u64::try_from(assertion.expires_at() - now + 120).unwrap_or(120);
        let key = format!("jti:{claimed}:{}", digest(assertion.jti()));
        if !self
            .store
            .put_if_absent(&key, b"1", Duration::from_secs(remember))
            .await?
        {
            tracing::warn!(client = %claimed, "client assertion replayed");
            return Err(OAuthError::InvalidClient);
        }
        Ok(client)
    }
}

/// The claims of a JWT before verification: only to find the record that proves it.
fn unverified_claims<T: serde::de::DeserializeOwned>(token: &str) -> Option<T> {
    UnverifiedJws::parse(token).ok()?.untrusted_claims().ok()
}

/// `code_verifier` and `code_challenge` syntax (RFC 7636 §4.1): 43-128 unreserved chars.
fn is_pkce_value(v: &str, min: usize) -> bool {
    (min..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// `BASE64URL(SHA256(verifier))` (RFC 7636 §4.2).
fn pkce_s256(verifier: &str) -> String {
    digest(verifier)
}

/// `at_hash` (OIDC Core §3.1.3.6): the left half of the hash of the access token, with the
/// hash of the signing algorithm (SHA-512 for EdDSA/Ed25519).
fn at_hash(access_token: &str, alg: Algorithm) -> String {
    let algorithm = match alg {
        Algorithm::EdDsa => &aws_lc_rs::digest::SHA512,
        _ => &aws_lc_rs::digest::SHA256,
    };
    let d = aws_lc_rs::digest::digest(algorithm, access_token.as_bytes());
    let half = &d.as_ref()[..d.as_ref().len() / 2];
    URL_SAFE_NO_PAD.encode(half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_the_rfc_7636_example() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            pkce_s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(is_pkce_value(verifier, 43));
        assert!(!is_pkce_value("short", 43));
        assert!(!is_pkce_value(&format!("{verifier}+"), 43));
    }

    #[test]
    fn at_hash_is_the_left_half() {
        let h = at_hash("abc", Algorithm::Es256);
        assert_eq!(URL_SAFE_NO_PAD.decode(h).unwrap().len(), 16);
        let h = at_hash("abc", Algorithm::EdDsa);
        assert_eq!(URL_SAFE_NO_PAD.decode(h).unwrap().len(), 32);
    }
}
