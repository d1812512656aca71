//! Authorization requests (RFC 6749 §4.1.1, OIDC Core §3.1.2): validated, parked until
//! the person has signed in and chosen a role, then answered with a code or an error.
//!
//! A request asking for a second factor (`acr_values` naming [`ACR_MFA`], OIDC Core
//! §3.1.2.1) of a session without one, or with one older than its `max_age`, is answered
//! with a step-up ([`AuthorizeNext::StepUp`]): the person's own provider is asked for a
//! fresh authentication with a second factor, as for a role that needs one (issue 17),
//! and the request goes on afterwards. This is also how Lanyard honours a resource
//! server's RFC 9470 challenge (`insufficient_user_authentication` with `acr_values` and
//! `max_age`): the application sends those values in its next authorization request. A
//! provider that cannot ask for a second factor ends the request with
//! `unmet_authentication_requirements` (OpenID Connect Core Unmet Authentication
//! Requirements 1.0). Other `acr_values` are voluntary (Core §5.5.1.1) and ignored: the
//! ID token's `acr` says what was achieved.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::access::CredentialIssuer;
use crate::clock::UnixTime;
use crate::identity::{ClientId, ExternalIdentity};
use crate::op::GrantType;
use crate::roles::RequestFacts;
use crate::roles::{MIN_SESSION_SECS, Role};
use crate::session::{PendingPut, digest, get_json, keyspace, random_id, take_json};
use crate::sso::Sso;

use super::clients::redirect_uri_matches;
use super::code::{CodeRecord, is_pkce_value};
use super::{ACR_MFA, CODE_TTL, Client, OAuthError, OidcProvider, PENDING_TTL, with_params};

/// The path where a sign-in for a request that asks for a second factor comes back to:
/// the request's requirements are checked again there (`?authz={id}`) before the picker.
pub const RESUME_PATH: &str = "/oauth2/authorize/resume";

/// The scopes Lanyard grants; others asked for are left out.
const KNOWN_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "groups",
    "offline_access",
    "roles",
];

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
    pub client_id: ClientId,
    /// The redirect URI as the request named it: a registered one, or a registered loopback
    /// one with the port the app listens on (RFC 8252 §7.3).
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
    pub min_auth_time: Option<UnixTime>,
    /// `prompt=none`: never show a page.
    pub prompt_none: bool,
    /// `login_hint`, passed to the sign-in page and upstream providers.
    #[serde(default)]
    pub login_hint: Option<String>,
    /// `acr_values` asked for [`ACR_MFA`]: a session without a second factor (or with
    /// one older than `min_auth_time`) steps up first; the ID token's `acr` then says what
    /// was achieved (OIDC Core §3.1.2.1).
    #[serde(default)]
    pub wants_mfa: bool,
}

impl PendingAuthorization {
    /// Whether `identity`'s sign-in meets the request: recent enough (`prompt=login`,
    /// `max_age`) and, when asked, with a second factor (whose time the session's
    /// `auth_time` is once it has one: a step-up moves it).
    pub fn met_by(&self, identity: &ExternalIdentity) -> bool {
        (!self.wants_mfa || identity.mfa)
            && self.min_auth_time.is_none_or(|m| identity.auth_time >= m)
    }
}

/// Why an authorization request was refused.
#[derive(Debug)]
pub enum AuthorizeRejection {
    /// The client or redirect URI cannot be trusted: show an error page, never redirect.
    Page(String),
    /// Send the error back to the client's (valid) redirect URI.
    Redirect(Url),
}

/// Where the browser goes once a validated request is parked.
#[derive(Debug)]
pub enum AuthorizeNext {
    /// The session is fresh enough: on to the role picker for the parked request `authz`.
    Roles {
        /// The parked request's id.
        authz: String,
    },
    /// Sign in first, then on to the role picker (through [`RESUME_PATH`] when `resume`).
    SignIn {
        /// The parked request's id.
        authz: String,
        /// The application's `login_hint`.
        login_hint: Option<String>,
        /// The request asks for a second factor, which a plain sign-in may not bring: the
        /// sign-in comes back to [`RESUME_PATH`], which steps up when it is still missing.
        resume: bool,
    },
    /// The signed-in person must authenticate again with a second factor at their own
    /// provider (a step-up), then on to the role picker for the parked request `authz`.
    StepUp {
        /// The parked request's id.
        authz: String,
    },
    /// `prompt=none` without a fresh session: back to the client with `login_required`.
    Client(Url),
}

/// Sends an error to a client's redirect URI once the client and that URI are known good.
struct ErrorBack<'a> {
    redirect_uri: &'a str,
    state: Option<&'a str>,
    /// Lanyard's issuer: error responses carry `iss` too (RFC 9207 §2).
    issuer: &'a str,
}

impl ErrorBack<'_> {
    /// The rejection saying `code` and `description` to the client (a page when the
    /// redirect URI cannot carry them).
    fn reject(&self, code: &str, description: &str) -> AuthorizeRejection {
        let mut params = vec![("error", code), ("error_description", description)];
        if let Some(s) = self.state {
            params.push(("state", s));
        }
        params.push(("iss", self.issuer));
        match with_params(self.redirect_uri, &params) {
            Some(u) => AuthorizeRejection::Redirect(u),
            None => AuthorizeRejection::Page(description.to_owned()),
        }
    }
}

/// When the person must have signed in: `prompt` and `max_age`.
struct Freshness {
    min_auth_time: Option<UnixTime>,
    prompt_none: bool,
}

impl OidcProvider {
    /// Validates an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1-2). The
    /// client and redirect URI are checked first; until both are known good, errors are
    /// shown as a page and never sent to the given redirect URI (no open redirect).
    pub fn validate_authorize(
        &self,
        p: &AuthorizeParams,
    ) -> Result<PendingAuthorization, AuthorizeRejection> {
        let (client, redirect_uri) = self.client_and_redirect(p)?;
        let back = ErrorBack {
            redirect_uri: &redirect_uri,
            state: p.state.as_deref(),
            issuer: self.issuer.tokens().issuer(),
        };
        let code_challenge = code_flow(&client, p, &back)?;
        let scope = granted_scope(p.scope.as_deref());
        let freshness = freshness(p, self.clock.now(), &back)?;
        let login_hint = hints(p, &back)?;
        let wants_mfa = asks_for_mfa(p.acr_values.as_deref());
        Ok(PendingAuthorization {
            client_id: client.config.id.clone(),
            redirect_uri,
            state: p.state.clone(),
            nonce: p.nonce.clone(),
            code_challenge,
            scope,
            min_auth_time: freshness.min_auth_time,
            prompt_none: freshness.prompt_none,
            login_hint,
            wants_mfa,
        })
    }

    /// The request's client and the registered redirect URI it names (exactly, or a
    /// loopback one with another port: [`redirect_uri_matches`]), or the only one
    /// registered; refused as a page, never redirected.
    fn client_and_redirect(
        &self,
        p: &AuthorizeParams,
    ) -> Result<(Arc<Client>, String), AuthorizeRejection> {
        let client_id = p
            .client_id
            .as_deref()
            .ok_or_else(|| AuthorizeRejection::Page("the request names no client_id".into()))?;
        let client = self.clients.get(client_id).cloned().ok_or_else(|| {
            AuthorizeRejection::Page(format!("there is no application \"{client_id}\""))
        })?;
        let registered = &client.config.redirect_uris;
        let redirect_uri = match p.redirect_uri.as_deref() {
            // Kept as given: a loopback URI's port differs from the registered one's
            // (RFC 8252 §7.3), and the code goes to the port the app listens on.
            Some(given) => registered
                .iter()
                .any(|u| redirect_uri_matches(u, given))
                .then(|| given.to_owned())
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
        Ok((client, redirect_uri))
    }

    /// After validation: parks the request for the person `identity` (signed in, or not)
    /// and says where the browser goes ([`OidcProvider::next`]).
    pub async fn start(
        &self,
        pending: PendingAuthorization,
        identity: Option<&ExternalIdentity>,
    ) -> Result<AuthorizeNext, OAuthError> {
        let authz = self.park(&pending).await?;
        self.next(authz, &pending, identity).await
    }

    /// Where the browser goes after a sign-in for the parked request `authz` (`pending`,
    /// as [`OidcProvider::pending`] read it) that asks for a second factor
    /// ([`RESUME_PATH`]): the same decision as [`OidcProvider::start`]'s, on the fresh
    /// session.
    pub async fn resume(
        &self,
        authz: &str,
        pending: &PendingAuthorization,
        identity: &ExternalIdentity,
    ) -> Result<AuthorizeNext, OAuthError> {
        self.next(authz.to_owned(), pending, Some(identity)).await
    }

    /// Where the browser goes for the parked request `authz` (`pending`) and the person
    /// `identity`: on to the picker when their sign-in meets the request; otherwise a
    /// step-up when the request asks for a second factor of a signed-in person, a sign-in
    /// when it asks for a fresher one (or nobody is signed in), and `login_required` to
    /// the client for `prompt=none`.
    async fn next(
        &self,
        authz: String,
        pending: &PendingAuthorization,
        identity: Option<&ExternalIdentity>,
    ) -> Result<AuthorizeNext, OAuthError> {
        if identity.is_some_and(|i| pending.met_by(i)) {
            return Ok(AuthorizeNext::Roles { authz });
        }
        if pending.prompt_none {
            let url = self.fail(&authz, &OAuthError::LoginRequired).await?;
            let url =
                url.ok_or_else(|| OAuthError::InvalidRequest("the request expired".into()))?;
            return Ok(AuthorizeNext::Client(url));
        }
        if pending.wants_mfa && identity.is_some() {
            return Ok(AuthorizeNext::StepUp { authz });
        }
        Ok(AuthorizeNext::SignIn {
            authz,
            login_hint: pending.login_hint.clone(),
            resume: pending.wants_mfa,
        })
    }

    /// Stores a validated request; returns its id (the `authz` parameter of `/roles`).
    pub async fn park(&self, pending: &PendingAuthorization) -> Result<String, OAuthError> {
        let (id, parked) = Self::parking(pending)?;
        self.store
            .put(&parked.key, &parked.value, parked.ttl)
            .await?;
        Ok(id)
    }

    /// A fresh id for `pending` and the record that parks it, not yet stored.
    fn parking(pending: &PendingAuthorization) -> Result<(String, PendingPut), OAuthError> {
        let id = random_id().expose_secret().to_owned();
        let parked = PendingPut::json(keyspace::AUTHZ.key([&id]), pending, PENDING_TTL)?;
        Ok((id, parked))
    }

    /// [`OidcProvider::start`] for a request whose person signs in first (nobody is signed
    /// in, and it is not `prompt=none`): always [`AuthorizeNext::SignIn`], with the record
    /// that parks the request *not yet stored*. The caller stores it with the sign-in's
    /// login transaction, in one round trip (`signin::Start::park_with`), before the
    /// browser is sent anywhere the request's id leads to.
    pub fn sign_in_first(
        &self,
        pending: &PendingAuthorization,
    ) -> Result<(AuthorizeNext, PendingPut), OAuthError> {
        if pending.prompt_none {
            return Err(OAuthError::ServerError(
                "a prompt=none request never signs in first".into(),
            ));
        }
        let (authz, parked) = Self::parking(pending)?;
        let next = AuthorizeNext::SignIn {
            authz,
            login_hint: pending.login_hint.clone(),
            resume: pending.wants_mfa,
        };
        Ok((next, parked))
    }

    /// A parked request, without consuming it.
    pub async fn pending(&self, id: &str) -> Result<Option<PendingAuthorization>, OAuthError> {
        if id.len() > 64 {
            return Ok(None);
        }
        Ok(get_json(&*self.store, &keyspace::AUTHZ.key([id])).await?)
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
        role: &Role,
        duration: Duration,
        facts: &RequestFacts,
    ) -> Result<Url, OAuthError> {
        let pending: PendingAuthorization =
            take_json(&*self.store, &keyspace::AUTHZ.key([authz_id]))
                .await?
                .ok_or_else(|| {
                    OAuthError::InvalidRequest("the sign-in request expired or was used".into())
                })?;
        // The picker checks the freshness itself; the second factor is checked here, on the
        // session the code is bound to, whatever page led to this (a picker opened before
        // the step-up, a hand-made form).
        if pending.wants_mfa {
            let session = self.sso.load(session_cookie).await?;
            if !session.is_some_and(|s| pending.met_by(&s.identity)) {
                return Err(OAuthError::UnmetAuthenticationRequirements(
                    "the application asks for a second factor this sign-in has not used".into(),
                ));
            }
        }
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
            role: role.name.clone(),
            duration_secs: secs,
            // The family is the code's digest (see `exchange_code`): not stored.
            family: None,
            source_ip: facts.source_ip,
        };
        self.store
            .put(
                &keyspace::CODE.key([&digest(&code)]),
                &record.encode()?,
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
    /// no role fits, `login_required` for prompt=none, `unmet_authentication_requirements`
    /// when the person's provider cannot ask for the second factor asked for).
    pub async fn fail(
        &self,
        authz_id: &str,
        error: &OAuthError,
    ) -> Result<Option<Url>, OAuthError> {
        let pending: Option<PendingAuthorization> =
            take_json(&*self.store, &keyspace::AUTHZ.key([authz_id])).await?;
        Ok(pending.and_then(|p| {
            let description = error.to_string();
            let mut params = vec![
                ("error", error.code()),
                ("error_description", description.as_str()),
            ];
            if let Some(s) = p.state.as_deref() {
                params.push(("state", s));
            }
            // RFC 9207 §2: error responses too (discovery says the parameter is sent).
            params.push(("iss", self.issuer.tokens().issuer()));
            with_params(&p.redirect_uri, &params)
        }))
    }
}

/// The scope granted for the scope asked for (`openid` when none was): the scopes Lanyard
/// knows, in the order asked; others are left out (RFC 6749 §3.3).
pub(super) fn granted_scope(asked: Option<&str>) -> String {
    let granted: Vec<&str> = asked
        .unwrap_or("openid")
        .split(' ')
        .filter(|s| !s.is_empty() && KNOWN_SCOPES.contains(s))
        .collect();
    granted.join(" ")
}

/// The flow's own checks: the client may use it, `response_type=code`,
/// `response_mode=query`, and PKCE (S256 only; required of public clients). Returns the
/// code challenge.
fn code_flow(
    client: &Client,
    p: &AuthorizeParams,
    back: &ErrorBack<'_>,
) -> Result<Option<String>, AuthorizeRejection> {
    if !client.config.allows(GrantType::AuthorizationCode) {
        return Err(back.reject(
            "unauthorized_client",
            "this application may not use the authorization code flow",
        ));
    }
    match p.response_type.as_deref() {
        Some("code") => {}
        None => return Err(back.reject("invalid_request", "response_type is required")),
        Some(_) => {
            return Err(back.reject(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    if p.response_mode.as_deref().is_some_and(|m| m != "query") {
        let why = "only response_mode=query is supported";
        return Err(back.reject("invalid_request", why));
    }
    let why = match (&p.code_challenge, p.code_challenge_method.as_deref()) {
        (Some(c), Some("S256")) if is_pkce_value(c, 43) => return Ok(Some(c.clone())),
        (Some(_), Some("S256")) => "code_challenge is malformed",
        (Some(_), _) => "code_challenge_method must be S256 (plain is not accepted)",
        (None, _) if client.is_public() => {
            "PKCE (code_challenge with S256) is required for public clients"
        }
        (None, _) => return Ok(None),
    };
    Err(back.reject("invalid_request", why))
}

/// Whether `acr_values` (space-separated, in order of preference) names [`ACR_MFA`]; the
/// other values are voluntary (OIDC Core §5.5.1.1) and left aside.
fn asks_for_mfa(acr_values: Option<&str>) -> bool {
    acr_values.is_some_and(|v| v.split(' ').any(|a| a == ACR_MFA))
}

/// `prompt` (`none` alone, or `login`) and `max_age` as the earliest acceptable
/// `auth_time`.
fn freshness(
    p: &AuthorizeParams,
    now: UnixTime,
    back: &ErrorBack<'_>,
) -> Result<Freshness, AuthorizeRejection> {
    let prompts: Vec<&str> = p.prompt.as_deref().unwrap_or("").split(' ').collect();
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return Err(back.reject("invalid_request", "prompt=none cannot be combined"));
    }
    let mut min_auth_time = prompts.contains(&"login").then_some(now);
    if let Some(max_age) = p.max_age.as_deref() {
        let why = "max_age must be a non-negative integer";
        let max_age: i64 = max_age
            .parse()
            .ok()
            .filter(|v: &i64| *v >= 0)
            .ok_or_else(|| back.reject("invalid_request", why))?;
        let bound = now - Duration::from_secs(max_age.unsigned_abs());
        min_auth_time = Some(min_auth_time.map_or(bound, |m| m.max(bound)));
    }
    Ok(Freshness {
        min_auth_time,
        prompt_none,
    })
}

/// Bounds on `state` and `nonce`, and the `login_hint` kept (none when empty).
fn hints(p: &AuthorizeParams, back: &ErrorBack<'_>) -> Result<Option<String>, AuthorizeRejection> {
    if p.nonce.as_deref().is_some_and(|n| n.len() > 512)
        || p.state.as_deref().is_some_and(|s| s.len() > 2048)
    {
        return Err(back.reject("invalid_request", "state or nonce is too long"));
    }
    match p.login_hint.as_deref() {
        None | Some("") => Ok(None),
        Some(h) if h.len() <= 256 && !h.chars().any(char::is_control) => Ok(Some(h.to_owned())),
        Some(_) => Err(back.reject("invalid_request", "login_hint is not acceptable")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{ProviderId, ProviderKind};

    fn person(mfa: bool, auth_time: i64) -> ExternalIdentity {
        ExternalIdentity {
            provider: ProviderId::new("corp"),
            provider_kind: ProviderKind::Local,
            subject: "root".into(),
            username: "root".into(),
            email: None,
            email_verified: false,
            display_name: None,
            groups: vec![],
            amr: vec!["pwd".into()],
            mfa,
            auth_time: UnixTime::from_secs(auth_time),
            tags: Default::default(),
            claims: Default::default(),
        }
    }

    fn pending(wants_mfa: bool, min_auth_time: Option<i64>) -> PendingAuthorization {
        PendingAuthorization {
            client_id: ClientId::new("app"),
            redirect_uri: "https://app.example/cb".into(),
            state: None,
            nonce: None,
            code_challenge: None,
            scope: "openid".into(),
            min_auth_time: min_auth_time.map(UnixTime::from_secs),
            prompt_none: false,
            login_hint: None,
            wants_mfa,
        }
    }

    #[test]
    fn a_request_for_mfa_is_met_by_a_second_factor_recent_enough() {
        // No requirement: anyone.
        assert!(pending(false, None).met_by(&person(false, 100)));
        // `acr_values=mfa`: a second factor, of any age.
        assert!(!pending(true, None).met_by(&person(false, 100)));
        assert!(pending(true, None).met_by(&person(true, 100)));
        // With `max_age`: a second factor no older than it.
        assert!(!pending(true, Some(200)).met_by(&person(true, 100)));
        assert!(pending(true, Some(100)).met_by(&person(true, 100)));
        assert!(!pending(true, Some(100)).met_by(&person(false, 300)));
        // `max_age` alone: a recent sign-in, whatever its factors.
        assert!(pending(false, Some(100)).met_by(&person(false, 150)));
        assert!(!pending(false, Some(200)).met_by(&person(true, 150)));
    }

    #[test]
    fn only_the_mfa_value_asks_for_a_second_factor() {
        assert!(asks_for_mfa(Some("mfa")));
        assert!(asks_for_mfa(Some("pwd mfa")));
        assert!(!asks_for_mfa(Some("pwd")));
        assert!(!asks_for_mfa(Some("urn:example:gold mfa2")));
        assert!(!asks_for_mfa(Some("")));
        assert!(!asks_for_mfa(None));
    }
}
