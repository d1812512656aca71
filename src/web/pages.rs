//! The browser pages: provider chooser, password form, role picker, credentials, sign-out.
//! Handlers are thin: extract, call one service, map the result.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::config::{MAX_SESSION_SECS, MIN_SESSION_SECS, RoleConfig};
use crate::credentials::CredentialIssuer;
use crate::roles::RequestFacts;
use crate::secret::Secret;
use crate::signin::{
    Answer, Begun, Binding, PasswordAnswer, PasswordPrompt, SignInError, Start, clean_login_hint,
    safe_return_to,
};
use crate::sso::{LOGIN_TRANSACTION_TTL, SsoSession};
use crate::web::error::{Back, PageError, WebError};
use crate::web::extract::{PageForm, PageQuery};
use crate::web::session::{current_session, enter};
use crate::web::views::{
    ContinuePage, CredentialsPage, DurationChoice, NoRolesPage, PasswordPage, ProviderLink,
    RoleChoice, RoleGroup, RolesPage, SignedOutPage, SigninPage, human_duration,
};
use crate::web::{AppState, ClientIp, cookies};

/// More roles than this and the picker shows a filter box.
const FILTER_THRESHOLD: usize = 10;
/// Durations offered on the picker (each capped by the role's maximum).
const DURATION_STEPS: &[u64] = &[900, 1800, 3600, 7200, 14_400, 28_800, 43_200];

pub(crate) type PageResult = Result<Response, PageError>;

fn render(t: &impl Template) -> Result<Html<String>, PageError> {
    t.render()
        .map(Html)
        .map_err(|e| PageError(WebError::Internal(format!("template: {e}"))))
}

fn csrf_matches(expected: &str, given: &str) -> bool {
    !expected.is_empty() && Secret::new(expected) == Secret::new(given)
}

fn to_signin(return_to: &str) -> Response {
    let target = format!(
        "/signin?return_to={}",
        url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
    );
    Redirect::to(&target).into_response()
}

/// `GET /`.
pub async fn root() -> Redirect {
    Redirect::to("/signin")
}

/// Query of `/signin` and `/auth/{provider}`.
#[derive(Debug, Deserialize)]
pub struct ReturnTo {
    return_to: Option<String>,
    /// Who an application expects to sign in (OIDC `login_hint`): prefills the username,
    /// and is passed on to an upstream provider.
    login_hint: Option<String>,
}

/// `GET /signin`: the provider chooser; to a signed-in person it says who they are and
/// offers to continue, since signing in again ends the current session and its tokens.
pub async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(q): PageQuery<ReturnTo>,
) -> PageResult {
    let signed_in = current_session(&state, &headers).await?.map(|(_, s)| {
        s.identity
            .display_name
            .clone()
            .unwrap_or_else(|| s.identity.username.clone())
    });
    let return_to = safe_return_to(q.return_to.as_deref());
    let login_hint = clean_login_hint(q.login_hint.as_deref());
    let continue_to = return_to.clone().unwrap_or_else(|| "/roles".to_owned());
    Ok(render(&SigninPage {
        providers: provider_links(&state, return_to, login_hint),
        notice: None,
        signed_in,
        continue_to,
    })?
    .into_response())
}

/// The chooser's links: every provider offering browser sign-in, with the query passed on.
fn provider_links(
    state: &AppState,
    return_to: Option<String>,
    login_hint: Option<String>,
) -> Vec<ProviderLink> {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(r) = &return_to {
        query.append_pair("return_to", r);
    }
    if let Some(h) = &login_hint {
        query.append_pair("login_hint", h);
    }
    let query = query.finish();
    state
        .connectors
        .providers()
        .iter()
        .filter(|p| state.connectors.offers_browser_sign_in(&p.id))
        .map(|p| ProviderLink {
            display_name: p.display_name.clone(),
            kind: p.kind.to_string(),
            href: if query.is_empty() {
                format!("/auth/{}", p.id)
            } else {
                format!("/auth/{}?{query}", p.id)
            },
        })
        .collect()
}

/// What the password form says above its fields.
enum FormMessage {
    None,
    /// The last attempt failed (wrong password, directory down).
    Error(&'static str),
    /// The form answered was stale or already used: a soft notice.
    Expired,
}

/// The notice on a fresh form after a stale or used one was submitted.
pub const FORM_EXPIRED: &str = "That form had expired; please sign in again.";

/// Renders the password form of `prompt` (its transaction id in the hidden `csrf` field)
/// and sets the browser's `lanyard_browser` cookie the transaction is bound to.
fn password_page(
    state: &AppState,
    prompt: PasswordPrompt,
    username: String,
    message: FormMessage,
    status: StatusCode,
) -> PageResult {
    let (error, notice) = match message {
        FormMessage::None => (None, None),
        FormMessage::Error(e) => (Some(e.to_owned()), None),
        FormMessage::Expired => (None, Some(FORM_EXPIRED.to_owned())),
    };
    let page = PasswordPage {
        provider_id: prompt.provider.id.to_string(),
        provider_name: prompt.provider.display_name.clone(),
        csrf: prompt.form_id.expose_secret().to_owned(),
        username,
        error,
        notice,
        ask_otp: prompt.ask_otp,
    };
    let mut response = (status, render(&page)?).into_response();
    cookies::set(
        response.headers_mut(),
        cookies::BROWSER,
        state.config.server.secure_cookies,
        &prompt.browser,
        cookies::BROWSER_MAX_AGE,
    );
    Ok(response)
}

/// Sends the browser upstream, setting the cookie that binds the answer to it.
fn to_upstream(state: &AppState, url: &str, binding: Option<Binding>) -> Response {
    let mut response = Redirect::to(url).into_response();
    let ttl = i64::try_from(LOGIN_TRANSACTION_TTL.as_secs()).unwrap_or(600);
    let headers = response.headers_mut();
    match binding {
        Some(Binding::Login(value)) => {
            let secure = state.config.server.secure_cookies;
            cookies::set(headers, cookies::LOGIN, secure, &value, ttl);
        }
        Some(Binding::Saml(value)) => {
            cookies::set_cross_site(headers, cookies::SAML_BINDING, &value, ttl);
        }
        None => {}
    }
    response
}

/// `GET /auth/{provider}`: starts a sign-in.
pub async fn start_login(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    ip: ClientIp,
    headers: HeaderMap,
    PageQuery(q): PageQuery<ReturnTo>,
) -> PageResult {
    let signin = state.signin();
    signin.provider(&provider)?;
    crate::web::admit(&state, &state.login_cap, ip).await?;
    let secure = state.config.server.secure_cookies;
    let username = clean_login_hint(q.login_hint.as_deref()).unwrap_or_default();
    let start = Start {
        return_to: q.return_to,
        login_hint: q.login_hint,
        browser: cookies::read(&headers, cookies::BROWSER, secure),
        bind_saml_browser: secure,
    };
    match signin.begin(&provider, start).await? {
        Begun::Redirect { url, binding } => Ok(to_upstream(&state, &url, binding)),
        Begun::PasswordForm(prompt) => {
            password_page(&state, prompt, username, FormMessage::None, StatusCode::OK)
        }
    }
}

/// The password form's fields.
#[derive(Deserialize)]
pub struct PasswordForm {
    username: String,
    password: String,
    /// The one-time code, when the form asks for one.
    #[serde(default)]
    otp: String,
    #[serde(default)]
    csrf: String,
}

/// What the next password form says after a refused attempt, and where it goes on to;
/// other errors are pages of their own.
fn refused_form(e: SignInError) -> Result<(Option<String>, FormMessage, StatusCode), PageError> {
    match e {
        SignInError::Refused { return_to, .. } => Ok((
            return_to,
            FormMessage::Error("The username or password is incorrect."),
            StatusCode::UNAUTHORIZED,
        )),
        SignInError::DirectoryUnavailable { return_to, .. } => Ok((
            return_to,
            FormMessage::Error(
                "The directory cannot be reached right now. Please try again in a moment.",
            ),
            StatusCode::SERVICE_UNAVAILABLE,
        )),
        other => Err(other.into()),
    }
}

/// `POST /auth/{provider}`: checks a username and password. A refused attempt gets a
/// fresh form saying why; a stale, used or foreign form a fresh one with a notice.
pub async fn password_login(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    facts: RequestFacts,
    headers: HeaderMap,
    PageForm(form): PageForm<PasswordForm>,
) -> PageResult {
    let browser = cookies::read(
        &headers,
        cookies::BROWSER,
        state.config.server.secure_cookies,
    );
    let username = form.username.trim().to_owned();
    let answer = Answer::Password(PasswordAnswer {
        form_id: &form.csrf,
        browser: browser.as_ref(),
        username: &username,
        password: Secret::new(form.password),
        otp: Secret::new(form.otp),
    });
    let signin = state.signin();
    let (return_to, message, status) = match signin.finish(&provider, answer, &facts).await {
        Ok(signed_in) => return enter(&state, &headers, signed_in).await,
        // Nothing was checked. The fresh form parks a new transaction, so it counts against
        // the same cap as `GET /auth/…`: anonymous POSTs must not grow the store either.
        Err(SignInError::FormExpired { .. }) => {
            crate::web::admit(&state, &state.login_cap, ClientIp(facts.source_ip)).await?;
            (None, FormMessage::Expired, StatusCode::BAD_REQUEST)
        }
        Err(e) => refused_form(e)?,
    };
    let prompt = signin.password_form(&provider, return_to, browser).await?;
    password_page(&state, prompt, username, message, status)
}

/// Query of `GET /roles`.
#[derive(Debug, Deserialize)]
pub struct RolesQuery {
    q: Option<String>,
    /// A pending OpenID Connect authorization request this visit completes.
    authz: Option<String>,
}

/// The pending authorization a `/roles` visit belongs to, checked against the session.
enum ForClient {
    /// A plain visit: credentials for the person.
    None,
    /// For an application.
    Client {
        id: String,
        pending: Box<crate::provider::PendingAuthorization>,
        name: String,
    },
}

/// Looks up `authz`; `Err(response)` when the visit must go elsewhere first.
async fn for_client(
    state: &AppState,
    authz: Option<&str>,
    session: &SsoSession,
) -> Result<Result<ForClient, Response>, PageError> {
    let Some(id) = authz.filter(|a| !a.is_empty()) else {
        return Ok(Ok(ForClient::None));
    };
    let pending = state
        .oidc
        .pending(id)
        .await
        .map_err(crate::web::oauth::oauth_page)?
        .ok_or_else(|| {
            WebError::BadRequest(
                "this sign-in request has expired or was already used; go back to the \
                 application and start again"
                    .into(),
            )
        })?;
    if pending
        .min_auth_time
        .is_some_and(|m| session.identity.auth_time < m)
    {
        // prompt=login or max_age: this session is too old, sign in again.
        return Ok(Err(to_signin(&format!("/roles?authz={id}"))));
    }
    let name = state
        .oidc
        .clients()
        .get(&pending.client_id)
        .map(|c| c.config.name.clone())
        .unwrap_or_else(|| pending.client_id.clone());
    Ok(Ok(ForClient::Client {
        id: id.to_owned(),
        name,
        pending: Box::new(pending),
    }))
}

/// `GET /roles`: the role picker (or straight to credentials when one role fits). A GET
/// never mints without bound: when one role fits, the live role session this SSO session
/// holds for it is shown again, and a `HEAD` changes nothing at all.
pub async fn roles(
    State(state): State<AppState>,
    method: Method,
    facts: RequestFacts,
    headers: HeaderMap,
    Query(query): Query<RolesQuery>,
) -> PageResult {
    let head = method == Method::HEAD;
    let return_to = match &query.authz {
        Some(a) => format!(
            "/roles?authz={}",
            url::form_urlencoded::byte_serialize(a.as_bytes()).collect::<String>()
        ),
        None => "/roles".to_owned(),
    };
    let Some((cookie, mut session)) = current_session(&state, &headers).await? else {
        return Ok(to_signin(&return_to));
    };
    let target = match for_client(&state, query.authz.as_deref(), &session).await? {
        Ok(t) => t,
        Err(response) => return Ok(response),
    };
    let mut eligible = state.roles.eligible(&session.identity, &facts);
    if let ForClient::Client { pending, .. } = &target {
        eligible = state.oidc.allowed_for(&pending.client_id, eligible);
    }
    let mut mfa_roles = state.roles.needing_mfa(&session.identity, &facts);
    if let ForClient::Client { pending, .. } = &target {
        mfa_roles = state.oidc.allowed_for(&pending.client_id, mfa_roles);
    }
    let mfa_roles: Vec<String> = mfa_roles.iter().map(|r| r.name.clone()).collect();
    let who = session
        .identity
        .display_name
        .clone()
        .unwrap_or_else(|| session.identity.username.clone());
    let provider_name = provider_name(&state, session.identity.provider.as_str());
    match eligible.as_slice() {
        // Answering would use up the application's request: not for a HEAD.
        [] | [_] if head && matches!(target, ForClient::Client { .. }) => {
            Ok(StatusCode::OK.into_response())
        }
        [] if matches!(target, ForClient::Client { .. }) => {
            let ForClient::Client { id, name, .. } = &target else {
                return Err(WebError::Internal("unreachable".into()).into());
            };
            let error = crate::provider::OAuthError::AccessDenied(
                "no role this application may receive is available to this person".into(),
            );
            match state
                .oidc
                .fail(id, &error)
                .await
                .map_err(crate::web::oauth::oauth_page)?
            {
                Some(url) => to_client(name, &url),
                None => Err(WebError::Forbidden(error.to_string()).into()),
            }
        }
        [] => {
            let page = NoRolesPage {
                who,
                subject: session.identity.qualified_subject(),
                provider: provider_name,
                groups: session.identity.groups.join(", "),
                csrf: session.csrf.clone(),
                mfa_roles,
            };
            Ok((StatusCode::FORBIDDEN, render(&page)?).into_response())
        }
        // One role and nothing to explain: straight on.
        [only] if mfa_roles.is_empty() => {
            let duration = match &target {
                ForClient::Client { pending, .. } => {
                    state.oidc.default_duration(&pending.client_id, only)
                }
                ForClient::None => state
                    .config
                    .tokens
                    .default_duration
                    .min(Duration::from_secs(CredentialIssuer::max_duration(only))),
            };
            if matches!(target, ForClient::None) {
                // Reused while it has at least half the duration a new one would get.
                let min_left = i64::try_from(duration.as_secs() / 2).unwrap_or(i64::MAX);
                if let Some(rs) = state
                    .sso
                    .held_role_session(cookie.expose_secret(), &only.name, min_left)
                    .await?
                {
                    state
                        .sso
                        .show_role_session(cookie.expose_secret(), &mut session, &rs)
                        .await?;
                    return Ok(Redirect::to("/credentials").into_response());
                }
                if head {
                    return Ok(StatusCode::OK.into_response());
                }
            }
            finish(&state, &cookie, &mut session, only, duration, &target).await
        }
        many => {
            let last = state.sso.last_role(&session.identity).await?;
            let mut page = picker(
                &state,
                &session,
                many,
                last.as_deref(),
                query.q.unwrap_or_default(),
                who,
                provider_name,
            );
            if let ForClient::Client { id, name, .. } = &target {
                page.authz = id.clone();
                page.client = Some(name.clone());
            }
            page.mfa_roles = mfa_roles;
            Ok(render(&page)?.into_response())
        }
    }
}

fn provider_name(state: &AppState, id: &str) -> String {
    state
        .connectors
        .get(id)
        .map(|(i, _)| i.display_name.clone())
        .unwrap_or_else(|| id.to_owned())
}

fn picker(
    state: &AppState,
    session: &SsoSession,
    eligible: &[Arc<RoleConfig>],
    last: Option<&str>,
    filter: String,
    who: String,
    provider: String,
) -> RolesPage {
    let filter = filter.trim().chars().take(100).collect::<String>();
    let needle = filter.to_lowercase();
    let shown: Vec<&Arc<RoleConfig>> = eligible
        .iter()
        .filter(|r| {
            needle.is_empty()
                || r.name.to_lowercase().contains(&needle)
                || r.description.to_lowercase().contains(&needle)
        })
        .collect();
    let selected = last
        .filter(|l| shown.iter().any(|r| r.name == *l))
        .map(str::to_owned)
        .or_else(|| shown.first().map(|r| r.name.clone()));
    let mut groups: BTreeMap<String, Vec<RoleChoice>> = BTreeMap::new();
    for r in &shown {
        groups
            .entry(r.group.clone().unwrap_or_else(|| "Roles".to_owned()))
            .or_default()
            .push(RoleChoice {
                name: r.name.clone(),
                description: r.description.clone(),
                max_label: human_duration(CredentialIssuer::max_duration(r)),
                selected: selected.as_deref() == Some(r.name.as_str()),
            });
    }
    let longest = eligible
        .iter()
        .map(|r| CredentialIssuer::max_duration(r))
        .max()
        .unwrap_or(MIN_SESSION_SECS);
    let preferred = selected
        .as_deref()
        .and_then(|s| eligible.iter().find(|r| r.name == s))
        .map(|r| CredentialIssuer::max_duration(r))
        .unwrap_or(longest)
        .min(state.config.tokens.default_duration.as_secs());
    let mut steps: Vec<u64> = DURATION_STEPS
        .iter()
        .copied()
        .filter(|s| *s <= longest)
        .collect();
    if !steps.contains(&preferred) {
        steps.push(preferred);
        steps.sort_unstable();
    }
    RolesPage {
        who,
        provider,
        csrf: session.csrf.clone(),
        groups: groups
            .into_iter()
            .map(|(name, roles)| RoleGroup { name, roles })
            .collect(),
        durations: steps
            .into_iter()
            .map(|s| DurationChoice {
                seconds: s,
                label: human_duration(s),
                selected: s == preferred,
            })
            .collect(),
        show_filter: eligible.len() > FILTER_THRESHOLD,
        filter,
        total: eligible.len(),
        shown: shown.len(),
        authz: String::new(),
        client: None,
        mfa_roles: Vec::new(),
    }
}

/// The role picker's fields.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    /// Absent when the filter showed no role: answered with a plain sentence.
    #[serde(default)]
    role: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    authz: String,
}

/// `POST /roles`: issues credentials for the chosen role. Errors link back to the picker.
pub async fn choose_role(
    State(state): State<AppState>,
    facts: RequestFacts,
    headers: HeaderMap,
    form: Result<PageForm<RoleForm>, PageError>,
) -> Response {
    chosen(&state, facts, &headers, form)
        .await
        .unwrap_or_else(|e| e.page(Back::Roles))
}

async fn chosen(
    state: &AppState,
    facts: RequestFacts,
    headers: &HeaderMap,
    form: Result<PageForm<RoleForm>, PageError>,
) -> PageResult {
    let state = state.clone();
    let Some((cookie, mut session)) = current_session(&state, headers).await? else {
        return Ok(to_signin("/roles"));
    };
    let PageForm(form) = form?;
    if form.role.is_empty() {
        return Err(WebError::BadRequest(
            "no role was chosen; choose one of the roles on the list".into(),
        )
        .into());
    }
    if !csrf_matches(&session.csrf, &form.csrf) {
        return Err(WebError::Csrf.into());
    }
    let target = match for_client(&state, Some(&form.authz), &session).await? {
        Ok(t) => t,
        Err(response) => return Ok(response),
    };
    let mut eligible = state.roles.eligible(&session.identity, &facts);
    if let ForClient::Client { pending, .. } = &target {
        eligible = state.oidc.allowed_for(&pending.client_id, eligible);
    }
    let Some(role) = eligible.iter().find(|r| r.name == form.role) else {
        return Err(WebError::Forbidden(format!(
            "the role \"{}\" is not available to you",
            form.role.chars().take(64).collect::<String>()
        ))
        .into());
    };
    let secs: u64 = form.duration.trim().parse().map_err(|_| {
        WebError::BadRequest("the session length must be a whole number of seconds".into())
    })?;
    if !(MIN_SESSION_SECS..=MAX_SESSION_SECS).contains(&secs) {
        return Err(WebError::BadRequest(format!(
            "a session lasts {} to {}; {} is outside that range",
            human_duration(MIN_SESSION_SECS),
            human_duration(MAX_SESSION_SECS),
            human_duration(secs)
        ))
        .into());
    }
    // A length the list offers but the role does not allow is shortened to the role's
    // maximum (and the credentials page says so), never answered with an error page.
    let granted = secs.min(CredentialIssuer::max_duration(role).min(MAX_SESSION_SECS));
    let response = finish(
        &state,
        &cookie,
        &mut session,
        role,
        Duration::from_secs(granted),
        &target,
    )
    .await?;
    if granted < secs && matches!(target, ForClient::None) {
        return Ok(Redirect::to("/credentials?shortened=1").into_response());
    }
    Ok(response)
}

/// Ends a role choice: credentials for the person, or a code for the application.
async fn finish(
    state: &AppState,
    cookie: &Secret,
    session: &mut SsoSession,
    role: &RoleConfig,
    duration: Duration,
    target: &ForClient,
) -> PageResult {
    match target {
        ForClient::None => issue(state, cookie, session, role, duration).await,
        ForClient::Client { id, pending, name } => {
            let url = state
                .oidc
                .complete(
                    id,
                    cookie.expose_secret(),
                    &session.identity,
                    role,
                    duration,
                )
                .await
                .map_err(crate::web::oauth::oauth_page)?;
            tracing::info!(
                client = %pending.client_id,
                subject = %session.identity.qualified_subject(),
                role = %role.name,
                "authorization code issued"
            );
            to_client(name, &url)
        }
    }
}

/// Sends the browser on to an application (its redirect URI with a code or an error)
/// through a page rather than a `303`: a redirect off-site that ends the chain of a form
/// POST (`POST /roles`, or `POST /auth/{provider}` → `/roles?authz=…` when the picker is
/// skipped) is blocked by the page CSP's `form-action 'self'` in Chromium, after the code
/// was issued and the request used up. The CSP stays as strict as on every other page.
fn to_client(app: &str, url: &url::Url) -> PageResult {
    Ok(render(&ContinuePage {
        app: app.to_owned(),
        url: url.as_str().to_owned(),
    })?
    .into_response())
}

async fn issue(
    state: &AppState,
    cookie: &Secret,
    session: &mut SsoSession,
    role: &RoleConfig,
    duration: Duration,
) -> PageResult {
    if let Err(cap) = state
        .sso
        .reserve_role_session(
            cookie.expose_secret(),
            state.config.sessions.max_role_sessions,
        )
        .await?
    {
        return Err(WebError::Forbidden(format!(
            "{cap}; sign out and sign in again to get new credentials"
        ))
        .into());
    }
    let role_session = state
        .issuer
        .issue(&session.identity, role, duration)
        .map_err(|e| match e {
            crate::credentials::IssueError::DurationOutOfRange { .. } => {
                WebError::BadRequest(e.to_string())
            }
            crate::credentials::IssueError::Token(e) => WebError::Internal(e.to_string()),
        })?;
    state
        .sso
        .add_role_session(cookie.expose_secret(), session, &role_session)
        .await?;
    tracing::info!(
        subject = %role_session.subject,
        role = %role_session.role,
        sid = %role_session.id,
        expires_at = role_session.expires_at,
        "credentials issued"
    );
    Ok(Redirect::to("/credentials").into_response())
}

/// Query of `GET /credentials`.
#[derive(Debug, Deserialize)]
pub struct CredentialsQuery {
    /// Set when the length chosen was longer than the role allows.
    shortened: Option<String>,
}

/// `GET /credentials`: the token just issued.
pub async fn credentials(
    State(state): State<AppState>,
    facts: RequestFacts,
    headers: HeaderMap,
    Query(query): Query<CredentialsQuery>,
) -> PageResult {
    let Some((cookie, session)) = current_session(&state, &headers).await? else {
        return Ok(to_signin("/credentials"));
    };
    let Some(id) = session.last_role_session.as_deref() else {
        return Ok(Redirect::to("/roles").into_response());
    };
    let Some(rs) = state.sso.role_session(id).await? else {
        return Ok(Redirect::to("/roles").into_response());
    };
    // Only this browser can unseal the token its session was issued (see `sso`).
    let Some(token) = state.sso.shown_token(cookie.expose_secret(), &rs).await? else {
        return Ok(Redirect::to("/roles").into_response());
    };
    let now = state.clock.now();
    let expires_at = crate::roles::rfc3339(rs.expires_at);
    let exports = format!(
        "export LANYARD_TOKEN='{}'\nexport LANYARD_TOKEN_EXPIRES='{}'\nexport LANYARD_ROLE='{}'\nexport LANYARD_URL='{}'",
        token.expose_secret(),
        expires_at,
        rs.role,
        state.config.server.issuer(),
    );
    let multiple_roles = state.roles.eligible(&session.identity, &facts).len() > 1;
    let page = CredentialsPage {
        who: session.identity.username.clone(),
        role: rs.role.clone(),
        expires_at,
        expires_in: format!(
            "in {}",
            human_duration(u64::try_from(rs.expires_at - now).unwrap_or(0))
        ),
        token: token.expose_secret().to_owned(),
        exports,
        csrf: session.csrf.clone(),
        multiple_roles,
        shortened: query.shortened.is_some().then(|| {
            format!(
                "The role {} grants sessions of at most {}, so these credentials last {}.",
                rs.role,
                human_duration(u64::try_from(rs.expires_at - rs.issued_at).unwrap_or(0)),
                human_duration(u64::try_from(rs.expires_at - rs.issued_at).unwrap_or(0)),
            )
        }),
    };
    Ok(render(&page)?.into_response())
}

/// The sign-out form.
#[derive(Debug, Deserialize)]
pub struct SignoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /signout`: ends the SSO session and its role sessions.
pub async fn signout(
    State(state): State<AppState>,
    facts: RequestFacts,
    headers: HeaderMap,
    PageForm(form): PageForm<SignoutForm>,
) -> PageResult {
    let secure = state.config.server.secure_cookies;
    let Some((cookie, session)) = current_session(&state, &headers).await? else {
        return Ok(Redirect::to("/signin").into_response());
    };
    if !csrf_matches(&session.csrf, &form.csrf) {
        return Err(WebError::Csrf.into());
    }
    state.signin().sign_out(&cookie, &session, &facts).await?;
    let mut response = render(&SignedOutPage)?.into_response();
    cookies::clear(response.headers_mut(), cookies::SESSION, secure);
    response.headers_mut().insert(
        header::HeaderName::from_static("clear-site-data"),
        header::HeaderValue::from_static("\"cookies\""),
    );
    Ok(response)
}
