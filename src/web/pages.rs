//! The browser pages: provider chooser, password form, role picker, credentials, sign-out.
//! Handlers are thin: extract, call one service, map the result. Each page is said in the
//! request's language, which handlers take as a [`Locale`] (`web::i18n`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::access::offer::{Audience, ChoiceError, Offer, offer, with_requestable};
use crate::access::{
    Attempt, CredentialIssuer, Holder, IssueError, IssueRequest, ShownCredentials,
};
use crate::audit::Door;
use crate::identity::{ExternalIdentity, RoleName, StepUpNext};
use crate::roles::{Caller, MAX_SESSION_SECS, MIN_SESSION_SECS, Role};
use crate::roles::{RequestFacts, TrustGrant};
use crate::secret::Secret;
use crate::signin::{
    Answer, Begun, Binding, PasswordAnswer, PasswordPrompt, SignInError, Start, clean_login_hint,
    safe_return_to,
};
use crate::sso::{LOGIN_TRANSACTION_TTL, SsoSession};
use crate::web::admin::test_signin;
use crate::web::error::{Back, PageError, WebError};
use crate::web::extract::{Browser, PageForm, PageQuery};
use crate::web::i18n::{Locale, Msg, duration};
use crate::web::picker::{Preferences, arrange};
use crate::web::requests::{Draft, Elevated, elevated, request_rows};
use crate::web::session::{current_session, enter};
use crate::web::shells::Shell;
use crate::web::step_up;
use crate::web::views::{
    ContinuePage, CredentialsPage, NoRolesPage, PasswordPage, ProviderLink, RolesPage, ShellLines,
    SignedOutPage, SigninPage,
};
use crate::web::{AppState, ClientIp, cookies};

/// More roles than this and the picker shows a filter box.
const FILTER_THRESHOLD: usize = 10;
/// The longest filter kept, in characters.
const FILTER_CHARS: usize = 100;

pub(crate) type PageResult = Result<Response, PageError>;

pub(crate) fn render(t: &impl Template) -> Result<Html<String>, PageError> {
    t.render()
        .map(Html)
        .map_err(|e| PageError(WebError::Internal(format!("template: {e}"))))
}

pub(crate) fn csrf_matches(expected: &str, given: &str) -> bool {
    !expected.is_empty() && Secret::new(expected) == Secret::new(given)
}

pub(crate) fn to_signin(return_to: &str) -> Response {
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
    t: Locale,
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
        t,
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
    Error(Msg),
    /// The form answered was stale or already used: a soft notice.
    Expired,
}

/// The notice on a fresh form after a stale or used one was submitted.
pub const FORM_EXPIRED: Msg = Msg::new("password-form-expired");

/// Renders the password form of `prompt` (its transaction id in the hidden `csrf` field)
/// in `t` and sets the browser's `lanyard_browser` cookie the transaction is bound to.
fn password_page(
    (state, t): (&AppState, Locale),
    prompt: PasswordPrompt,
    username: String,
    message: FormMessage,
    status: StatusCode,
) -> PageResult {
    let (error, notice) = match message {
        FormMessage::None => (None, None),
        FormMessage::Error(e) => (Some(t.say(&e)), None),
        FormMessage::Expired => (None, Some(t.say(&FORM_EXPIRED))),
    };
    let page = PasswordPage {
        t,
        provider_id: prompt.provider.id.to_string(),
        provider_name: prompt.provider.display_name.clone(),
        csrf: prompt.form_id.expose_secret().to_owned(),
        username,
        error,
        notice,
        ask_otp: prompt.ask_otp,
        test: prompt.test,
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
pub(crate) fn to_upstream(state: &AppState, url: &str, binding: Option<Binding>) -> Response {
    with_binding(state, Redirect::to(url).into_response(), binding)
}

/// `response` with the cookie that binds an upstream answer to this browser.
pub(crate) fn with_binding(
    state: &AppState,
    mut response: Response,
    binding: Option<Binding>,
) -> Response {
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
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(provider): Path<String>,
    PageQuery(q): PageQuery<ReturnTo>,
) -> PageResult {
    state.signin().provider(&provider)?;
    crate::web::admit(&state, &state.login_cap, ClientIp(facts.source_ip)).await?;
    let username = clean_login_hint(q.login_hint.as_deref()).unwrap_or_default();
    let start = Start {
        return_to: q.return_to,
        login_hint: q.login_hint,
        ..Start::default()
    };
    let upstream = |url: &str| Redirect::to(url).into_response();
    begin_in_browser((&state, t), &headers, &provider, start, username, upstream).await
}

/// Begins a sign-in through `provider` in the browser that sent `headers` (its password
/// forms' binding cookie; the SAML answer bound to it where cookies are secure) and
/// answers with the password form (`username` prefilled) or with `upstream(url)`, given
/// the cookie that binds the upstream answer to this browser. The flow of
/// `/auth/{provider}` and of the console's test sign-in, which differ only in `start`
/// (`return_to` or `test_for`) and in how they send the browser on.
pub(crate) async fn begin_in_browser(
    (state, t): (&AppState, Locale),
    headers: &HeaderMap,
    provider: &str,
    start: Start,
    username: String,
    upstream: impl FnOnce(&str) -> Response,
) -> PageResult {
    let secure = state.config.server.secure_cookies;
    let start = Start {
        browser: cookies::read(headers, cookies::BROWSER, secure),
        bind_saml_browser: secure,
        ..start
    };
    match state.signin().begin(provider, start).await? {
        Begun::Redirect { url, binding } => Ok(with_binding(state, upstream(&url), binding)),
        Begun::PasswordForm(prompt) => password_page(
            (state, t),
            prompt,
            username,
            FormMessage::None,
            StatusCode::OK,
        ),
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
type Continue = (Option<String>, Option<String>);

fn refused_form(e: SignInError) -> Result<(Continue, FormMessage, StatusCode), PageError> {
    match e {
        SignInError::Refused {
            return_to,
            test_for,
            ..
        } => Ok((
            (return_to, test_for),
            FormMessage::Error(Msg::new("password-refused")),
            StatusCode::UNAUTHORIZED,
        )),
        SignInError::DirectoryUnavailable {
            return_to,
            test_for,
            ..
        } => Ok((
            (return_to, test_for),
            FormMessage::Error(Msg::new("password-directory-unavailable")),
            StatusCode::SERVICE_UNAVAILABLE,
        )),
        other => Err(other.into()),
    }
}

/// `POST /auth/{provider}`: checks a username and password. A refused attempt gets a
/// fresh form saying why; a stale, used or foreign form a fresh one with a notice.
pub async fn password_login(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(provider): Path<String>,
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
    let (next, message, status) = match signin.finish(&provider, answer, &facts).await {
        Ok(mut signed_in) => {
            return match test_signin::conclude(&state, &mut signed_in).await? {
                Some(tested) => Ok(tested),
                None => enter(&state, &headers, signed_in).await,
            };
        }
        // Nothing was checked. The fresh form parks a new transaction, so it counts against
        // the same cap as `GET /auth/…`: anonymous POSTs must not grow the store either.
        Err(SignInError::FormExpired { .. }) => {
            crate::web::admit(&state, &state.login_cap, ClientIp(facts.source_ip)).await?;
            ((None, None), FormMessage::Expired, StatusCode::BAD_REQUEST)
        }
        Err(e) => refused_form(e)?,
    };
    let prompt = signin.password_form_for(&provider, next, browser).await?;
    password_page((&state, t), prompt, username, message, status)
}

/// Query of `GET /roles`.
#[derive(Debug, Deserialize)]
pub struct RolesQuery {
    /// The filter: part of a role's name, description or group.
    q: Option<String>,
    /// A pending OpenID Connect authorization request this visit completes.
    authz: Option<String>,
    /// The role chosen before the filter was applied (kept chosen while shown).
    selected: Option<String>,
}

/// The pending authorization a `/roles` visit belongs to.
enum ForClient {
    /// A plain visit: credentials for the person.
    None,
    /// For an application.
    Client {
        id: String,
        pending: Box<crate::op::PendingAuthorization>,
        name: String,
        allowed_roles: Vec<RoleName>,
    },
}

impl ForClient {
    fn audience(&self) -> Audience<'_> {
        match self {
            ForClient::None => Audience::Person,
            ForClient::Client {
                pending,
                allowed_roles,
                ..
            } => Audience::Client {
                allowed_roles,
                min_auth_time: pending.min_auth_time,
            },
        }
    }

    fn client_id(&self) -> Option<&str> {
        match self {
            ForClient::None => None,
            ForClient::Client { pending, .. } => Some(&pending.client_id),
        }
    }
}

/// Looks up `authz`, the pending authorization request a visit completes.
async fn for_client(state: &AppState, authz: Option<&str>) -> Result<ForClient, PageError> {
    let Some(id) = authz.filter(|a| !a.is_empty()) else {
        return Ok(ForClient::None);
    };
    let pending = state
        .oidc
        .pending(id)
        .await
        .map_err(crate::web::oauth::oauth_page)?
        .ok_or_else(|| WebError::BadRequest(Msg::new("error-authz-expired")))?;
    let client = state.oidc.clients().get(&pending.client_id);
    let name = client
        .map(|c| c.config.name.clone())
        .unwrap_or_else(|| pending.client_id.to_string());
    let allowed_roles = client
        .map(|c| c.config.allowed_roles.clone())
        .unwrap_or_default();
    Ok(ForClient::Client {
        id: id.to_owned(),
        name,
        pending: Box::new(pending),
        allowed_roles,
    })
}

/// Where a `/roles` visit comes back to after signing in.
fn roles_url(authz: Option<&str>) -> String {
    picker_url(authz.unwrap_or_default(), "", "")
}

/// The picker's address with its filter `q`, the role chosen and the pending authorization
/// (each left out when empty).
fn picker_url(authz: &str, q: &str, selected: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [("authz", authz), ("q", q.trim()), ("selected", selected)] {
        if !value.is_empty() {
            query.append_pair(name, value);
        }
    }
    match query.finish() {
        q if q.is_empty() => "/roles".to_owned(),
        q => format!("/roles?{q}"),
    }
}

/// `GET /roles`: the role picker (or straight to credentials when one role fits). A GET
/// never mints without bound: when one role fits, the live role session this SSO session
/// holds for it is shown again, and a `HEAD` changes nothing at all.
pub async fn roles(
    Browser(state, facts, headers): Browser,
    t: Locale,
    method: Method,
    Query(query): Query<RolesQuery>,
) -> PageResult {
    let head = method == Method::HEAD;
    let return_to = roles_url(query.authz.as_deref());
    let Some((cookie, mut session)) = current_session(&state, &headers).await? else {
        return Ok(to_signin(&return_to));
    };
    let target = for_client(&state, query.authz.as_deref()).await?;
    let visit = Visit::new(&state, &cookie, &target, (&facts, t));
    let elevated = elevated_for(&state, &session, &target, &facts).await;
    let offered = offer(&state.roles, &session.identity, target.audience(), &facts);
    match with_requestable(offered, !elevated.requestable.is_empty()) {
        Offer::SignInAgain => Ok(to_signin(&return_to)),
        // Answering would use up the application's request: not for a HEAD.
        Offer::NoRole { .. } | Offer::Issue(_) if head && target.client_id().is_some() => {
            Ok(StatusCode::OK.into_response())
        }
        Offer::NoRole { needing_mfa } => no_role(&visit, &session, needing_mfa).await,
        Offer::Issue(grant) => one_role(&visit, &mut session, *grant, head).await,
        Offer::Pick {
            grants,
            needing_mfa,
        } => {
            let listed = (grants.as_slice(), needing_mfa, &elevated);
            let view = PickerView {
                filter: query.q.unwrap_or_default(),
                selected: query.selected,
                notice: None,
                draft: None,
                t,
            };
            pick(&state, &session, listed, view, &target).await
        }
    }
}

/// What `GET {go_to}` would answer for a session just signed in (its cookie `cookie`) when
/// `go_to` is the role picker for a pending authorization (`/roles?authz=…`) and exactly
/// one role fits: the application's code, through the page that continues to it. `None`
/// when the picker has something to show or say (several roles, none, a fresher sign-in
/// needed) or `go_to` is anything else: the browser then goes to `go_to` as before. This
/// saves the browser the round trip through `/roles` after a redirect sign-in for an
/// application; every check is the picker's own (the same offer, the same completion).
pub(crate) async fn straight_on(
    state: &AppState,
    (facts, t): (&RequestFacts, Locale),
    go_to: &str,
    (cookie, session): (&Secret, &mut SsoSession),
) -> Result<Option<Response>, PageError> {
    let Some(authz) = picker_authz(go_to) else {
        return Ok(None);
    };
    let target = for_client(state, Some(&authz)).await?;
    let Offer::Issue(grant) = offer(&state.roles, &session.identity, target.audience(), facts)
    else {
        return Ok(None);
    };
    let visit = Visit::new(state, cookie, &target, (facts, t));
    one_role(&visit, session, *grant, false).await.map(Some)
}

/// The pending authorization of a plain picker address `/roles?authz={id}`; `None` for
/// any other address (another page, the picker for the person, or the picker with a
/// filter or a choice, which only the picker shows).
fn picker_authz(go_to: &str) -> Option<String> {
    let query = go_to.strip_prefix("/roles?")?;
    let mut authz = None;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*name {
            "authz" if authz.is_none() && !value.is_empty() => authz = Some(value.into_owned()),
            _ => return None,
        }
    }
    authz
}

/// What a role choice is about: the broker's state, the browser's session cookie, who
/// it is for, where the request came from, and the language of its pages.
struct Visit<'a> {
    state: &'a AppState,
    cookie: &'a Secret,
    target: &'a ForClient,
    facts: &'a RequestFacts,
    t: Locale,
}

impl<'a> Visit<'a> {
    fn new(
        state: &'a AppState,
        cookie: &'a Secret,
        target: &'a ForClient,
        (facts, t): (&'a RequestFacts, Locale),
    ) -> Self {
        Self {
            state,
            cookie,
            target,
            facts,
            t,
        }
    }
}

/// No role fits: the application hears `access_denied`; the person sees why.
async fn no_role(visit: &Visit<'_>, session: &SsoSession, mfa_roles: Vec<RoleName>) -> PageResult {
    let (state, t) = (visit.state, visit.t);
    if let ForClient::Client { id, name, .. } = visit.target {
        let error = crate::op::OAuthError::AccessDenied(
            "no role this application may receive is available to this person".into(),
        );
        let back = state.oidc.fail(id, &error).await;
        return match back.map_err(crate::web::oauth::oauth_page)? {
            Some(url) => to_client(t, name, &url),
            None => Err(WebError::Forbidden(Msg::new("error-no-role-for-app")).into()),
        };
    }
    let identity = &session.identity;
    let page = NoRolesPage {
        t,
        who: who(session),
        subject: identity.qualified_subject(),
        provider: provider_name(state, identity.provider.as_str()),
        groups: identity.groups.join(", "),
        csrf: session.csrf.clone(),
        mfa_roles,
    };
    Ok((StatusCode::FORBIDDEN, render(&page)?).into_response())
}

/// One role and nothing to explain: straight on (for the person, the role session this
/// browser already holds for it is shown again while it has half its time left).
async fn one_role(
    visit: &Visit<'_>,
    session: &mut SsoSession,
    grant: TrustGrant,
    head: bool,
) -> PageResult {
    let (state, role) = (visit.state, Arc::clone(grant.role()));
    let duration = match visit.target {
        ForClient::Client { pending, .. } => state.oidc.default_duration(&pending.client_id, &role),
        ForClient::None => state
            .config
            .tokens
            .default_duration
            .min(Duration::from_secs(CredentialIssuer::max_duration(&role))),
    };
    if let ForClient::None = visit.target {
        let cookie = visit.cookie.expose_secret();
        let min_left = Duration::from_secs(duration.as_secs() / 2);
        if let Some(rs) = state
            .sso
            .held_role_session(cookie, &role.name, min_left)
            .await?
        {
            state.sso.show_role_session(cookie, session, &rs).await?;
            return Ok(Redirect::to("/credentials").into_response());
        }
        if head {
            return Ok(StatusCode::OK.into_response());
        }
    }
    finish(visit, session, (grant, duration)).await
}

/// How a picker is shown: its filter, the role chosen on the page before, a notice, its
/// language.
struct PickerView {
    filter: String,
    selected: Option<String>,
    /// Said above the list; the page is then a `400` (a form answered with a problem).
    notice: Option<Msg>,
    /// A "Request access" form answered with a problem: shown again as sent, saying what
    /// is wrong (the page is then a `400`).
    draft: Option<Draft>,
    t: Locale,
}

/// The person's roles that need approval, for the picker: none when the visit is for an
/// application (an application's roles are granted without a request here).
async fn elevated_for(
    state: &AppState,
    session: &SsoSession,
    target: &ForClient,
    facts: &RequestFacts,
) -> Elevated {
    match target {
        ForClient::None => elevated(state, &session.identity, facts).await,
        ForClient::Client { .. } => {
            let audience = target.audience();
            crate::web::requests::elevated_for_client(state, &session.identity, audience, facts)
                .await
        }
    }
}

/// The picker for the person with the "Request access" form of `draft` shown again as it
/// was sent, saying what is wrong (a `400`): where `POST /requests` goes back to when the
/// elevation service refused the request for one of its fields.
pub(crate) async fn picker_with_draft(
    state: &AppState,
    (facts, t): (&RequestFacts, Locale),
    session: &SsoSession,
    draft: Draft,
) -> PageResult {
    let target = ForClient::None;
    let elevated = elevated_for(state, session, &target, facts).await;
    let offered = offer(&state.roles, &session.identity, Audience::Person, facts);
    let Offer::Pick {
        grants,
        needing_mfa,
    } = with_requestable(offered, !elevated.requestable.is_empty())
    else {
        let said = Msg::new("error-role-not-available").arg("role", draft.role().to_owned());
        return Err(WebError::Forbidden(said).into());
    };
    let view = PickerView {
        filter: String::new(),
        selected: None,
        notice: None,
        draft: Some(draft),
        t,
    };
    let listed = (grants.as_slice(), needing_mfa, &elevated);
    pick(state, session, listed, view, &target).await
}

/// The picker page for several roles, those that need a (fresh) second factor among them,
/// marked (choosing one asks for a step-up): the role used last first, then the person's
/// favourites, then the groups.
async fn pick(
    state: &AppState,
    session: &SsoSession,
    (grants, step_up, elevated): (&[TrustGrant], Vec<RoleName>, &Elevated),
    view: PickerView,
    target: &ForClient,
) -> PageResult {
    let last = state.sso.last_role(&session.identity).await?;
    let favourites = state.sso.favourites(&session.identity).await?;
    let approved = elevated.approved();
    // Config order, the roles granted now, those a step-up would grant and those an
    // approved request opens alike.
    let roles: Vec<Arc<Role>> = state
        .roles
        .all()
        .iter()
        .filter(|r| {
            grants.iter().any(|g| g.role().name == r.name)
                || step_up.contains(&r.name)
                || approved.iter().any(|(a, _)| *a == r.name)
        })
        .cloned()
        .collect();
    let prefs = Preferences {
        last: last.as_deref(),
        favourites: &favourites,
        selected: view.selected.as_deref(),
    };
    let filter: String = view.filter.trim().chars().take(FILTER_CHARS).collect();
    let default = state.config.tokens.default_duration.as_secs();
    let t = view.t;
    let mut arranged = arrange(&roles, prefs, &filter, (default, t));
    for row in arranged.groups.iter_mut().flat_map(|g| g.roles.iter_mut()) {
        row.step_up = step_up.iter().any(|r| r.as_str() == row.name);
    }
    crate::web::requests::mark_approved(&mut arranged.groups, &approved, (state.clock.now_ms(), t));
    // Access is requested on the person's own picker, not amid an application's sign-in.
    let requestable = match target {
        ForClient::None => request_rows(elevated, view.draft.as_ref(), (default, t)),
        ForClient::Client { .. } => Vec::new(),
    };
    // The role chosen before filtering is carried on (to "Clear" and the stars) even while
    // the filter hides it, so that clearing the filter brings it back chosen.
    let selected = view
        .selected
        .filter(|s| roles.iter().any(|r| r.name == *s))
        .or(arranged.selected)
        .unwrap_or_default();
    let (authz, client) = match target {
        ForClient::Client { id, name, .. } => (id.clone(), Some(name.clone())),
        ForClient::None => (String::new(), None),
    };
    let page = RolesPage {
        t,
        who: who(session),
        provider: provider_name(state, session.identity.provider.as_str()),
        csrf: session.csrf.clone(),
        groups: arranged.groups,
        show_filter: roles.len() > FILTER_THRESHOLD,
        total: roles.len(),
        shown: arranged.count,
        clear_href: picker_url(&authz, "", &selected),
        selected,
        filter,
        notice: view.notice.map(|n| t.say(&n)),
        authz,
        client,
        requestable,
        requests_unavailable: elevated.unavailable,
    };
    let status = match (&page.notice, &view.draft) {
        (None, None) => StatusCode::OK,
        _ => StatusCode::BAD_REQUEST,
    };
    Ok((status, render(&page)?).into_response())
}

/// The name the pages greet the person by.
pub(crate) fn who(session: &SsoSession) -> String {
    session
        .identity
        .display_name
        .clone()
        .unwrap_or_else(|| session.identity.username.clone())
}

/// The display name of the provider `id`.
pub(crate) fn provider_name(state: &AppState, id: &str) -> String {
    state
        .connectors
        .get(id)
        .map(|(i, _)| i.display_name.clone())
        .unwrap_or_else(|| id.to_owned())
}

/// The role picker's fields.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    /// Absent when the filter showed no role: answered with a plain sentence.
    #[serde(default)]
    role: String,
    /// A length for whichever role is chosen (older pages and scripts); the chosen role's
    /// own `duration.<role>` wins.
    #[serde(default)]
    duration: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    authz: String,
    /// `filter` when the Filter button sent the form: the picker again, filtered by `q`,
    /// the chosen role kept.
    #[serde(default)]
    action: String,
    /// The filter box.
    #[serde(default)]
    q: String,
    /// The other fields: each role's length, `duration.<role>` (seconds).
    #[serde(flatten)]
    lengths: HashMap<String, String>,
}

impl RoleForm {
    /// The length asked for the chosen role: its own select's, else the plain `duration`
    /// field; `None` when neither was sent.
    fn length(&self) -> Option<&str> {
        asked_length(&self.lengths, &self.role, &self.duration)
    }
}

/// The length a picker form asks for `role`: the role's own select (`duration.<role>`),
/// else the plain `duration` field; `None` when neither was sent.
pub(crate) fn asked_length<'a>(
    lengths: &'a HashMap<String, String>,
    role: &str,
    duration: &'a str,
) -> Option<&'a str> {
    lengths
        .get(&format!("duration.{role}"))
        .map(String::as_str)
        .filter(|d| !d.trim().is_empty())
        .or(Some(duration).filter(|d| !d.trim().is_empty()))
}

/// `POST /roles`: issues credentials for the chosen role. Errors link back to the picker.
pub async fn choose_role(
    Browser(state, facts, headers): Browser,
    t: Locale,
    form: Result<PageForm<RoleForm>, PageError>,
) -> Response {
    chosen(&state, (facts, t), &headers, form)
        .await
        .unwrap_or_else(|e| e.page(Back::Roles))
}

async fn chosen(
    state: &AppState,
    (facts, t): (RequestFacts, Locale),
    headers: &HeaderMap,
    form: Result<PageForm<RoleForm>, PageError>,
) -> PageResult {
    let Some((cookie, mut session)) = current_session(state, headers).await? else {
        return Ok(to_signin("/roles"));
    };
    let PageForm(form) = form?;
    if form.action == "filter" {
        let to = picker_url(&form.authz, &form.q, &form.role);
        return Ok(Redirect::to(&to).into_response());
    }
    checked_choice(&session, &form)?;
    let target = for_client(state, Some(&form.authz)).await?;
    let attempt = Attempt::new(&facts, Door::Browser, target.client_id());
    let default = default_length(state, &form.role).to_string();
    let asked = (form.role.as_str(), form.length().unwrap_or(&default));
    let request = (&facts, &attempt);
    let chose = crate::web::requests::choose(
        (state, t),
        &session.identity,
        target.audience(),
        asked,
        request,
    );
    let choice = match chose.await {
        Ok(Ok(c)) => c,
        Err(page) => return Ok(page),
        Ok(Err(e)) => {
            let at = (headers, &cookie, &session);
            return chosen_wrong(state, at, (&target, &facts, t), &form, e).await;
        }
    };
    let visit = Visit::new(state, &cookie, &target, (&facts, t));
    let duration = Duration::from_secs(choice.seconds);
    let chosen = (choice.grant, duration);
    let response = finish(&visit, &mut session, chosen).await?;
    if choice.shortened && target.client_id().is_none() {
        return Ok(Redirect::to("/credentials?shortened=1").into_response());
    }
    Ok(response)
}

/// The answer to a refused choice of the picker: a sign-in for a fresher session, a
/// step-up for a role that needs a (fresher) second factor, the picker again for a length
/// out of bounds, a page saying why otherwise.
async fn chosen_wrong(
    state: &AppState,
    (headers, cookie, session): (&HeaderMap, &Secret, &SsoSession),
    (target, facts, t): (&ForClient, &RequestFacts, Locale),
    form: &RoleForm,
    e: ChoiceError,
) -> PageResult {
    match e {
        ChoiceError::SignInAgain => Ok(to_signin(&roles_url(Some(&form.authz)))),
        ChoiceError::NeedsStepUp(asked) => {
            let (role, seconds) = *asked;
            let authz = (!form.authz.is_empty()).then(|| form.authz.clone());
            let next = StepUpNext::Role {
                role,
                seconds,
                authz,
            };
            step_up::begin(state, (headers, t), (cookie, session), next).await
        }
        e @ (ChoiceError::OutOfRange(_) | ChoiceError::NotSeconds) => {
            length_again(state, session, (target, facts, t), form, e).await
        }
        e => Err(choice_error(e).into()),
    }
}

/// After a step-up was checked and the session's MFA facts updated: the choice it carried
/// (the role, its length in seconds, the pending authorization or `""`) goes on as if just
/// made on the picker. The trust policy decides again, on the
/// updated person and on the fresh identity (`fresh`) alike; a role still out of reach is
/// refused with a page, never offered another step-up in a loop.
pub(crate) async fn continue_step_up(
    state: &AppState,
    (facts, t): (&RequestFacts, Locale),
    (cookie, session): (&Secret, &mut SsoSession),
    ((role, seconds, authz), fresh): ((RoleName, u64, String), &ExternalIdentity),
) -> PageResult {
    let target = for_client(state, Some(&authz)).await?;
    let attempt = Attempt::new(facts, Door::Browser, target.client_id());
    let seconds = seconds.to_string();
    let asked = (role.as_str(), seconds.as_str());
    let chose = state.access.choose(
        &state.roles,
        &session.identity,
        target.audience(),
        asked,
        (facts, &attempt),
    );
    let choice = match chose.await {
        Ok(c) => c,
        Err(ChoiceError::SignInAgain) => return Ok(to_signin(&roles_url(Some(&authz)))),
        Err(e @ ChoiceError::NeedsStepUp(_)) => {
            let role = role.to_string();
            tracing::warn!(role = %role, reason = %e, "still short of the role after a step-up");
            let said = Msg::new("step-up-not-enough").arg("role", role);
            return Err(WebError::Forbidden(said).into());
        }
        Err(e) => return Err(choice_error(e).into()),
    };
    if let Some(said) = fresh_refused(state, (&role, fresh), (facts, &attempt)).await {
        return Err(WebError::Forbidden(said).into());
    }
    let visit = Visit::new(state, cookie, &target, (facts, t));
    let duration = Duration::from_secs(choice.seconds);
    let response = finish(&visit, session, (choice.grant, duration)).await?;
    if choice.shortened && target.client_id().is_none() {
        return Ok(Redirect::to("/credentials?shortened=1").into_response());
    }
    Ok(response)
}

/// After a step-up, the fresh sign-in's identity (`fresh`) must be allowed `role` too:
/// what the provider says now, not only what the session remembers from the first
/// sign-in. A refusal is recorded (`credentials.refused`) and answered with what the
/// person reads; `None` when the role is allowed.
pub(crate) async fn fresh_refused(
    state: &AppState,
    (role, fresh): (&RoleName, &ExternalIdentity),
    (facts, attempt): (&RequestFacts, &Attempt),
) -> Option<Msg> {
    let caller = Caller::Federated(fresh.clone());
    let refusal = state.roles.evaluate(role.as_str(), caller, facts).err()?;
    state.access.refused(attempt, &refusal).await;
    Some(Msg::new("error-role-not-available").arg("role", role.to_string()))
}

/// Refuses a picker submission that names no role or lacks this session's CSRF token.
fn checked_choice(session: &SsoSession, form: &RoleForm) -> Result<(), WebError> {
    if form.role.is_empty() {
        return Err(WebError::BadRequest(Msg::new("error-no-role-chosen")));
    }
    if !csrf_matches(&session.csrf, &form.csrf) {
        return Err(WebError::Csrf);
    }
    Ok(())
}

/// The length preselected for `role`: `[tokens] default_duration`, capped by the role.
pub(crate) fn default_length(state: &AppState, role: &str) -> u64 {
    let default = state.config.tokens.default_duration.as_secs();
    state
        .roles
        .get(role)
        .map_or(default, |r| default.min(CredentialIssuer::max_duration(r)))
        .max(MIN_SESSION_SECS)
}

/// A length no list offers (a hand-made or very old form): the picker again, the role
/// still chosen and the filter kept, saying which lengths the role grants.
async fn length_again(
    state: &AppState,
    session: &SsoSession,
    (target, facts, t): (&ForClient, &RequestFacts, Locale),
    form: &RoleForm,
    e: ChoiceError,
) -> PageResult {
    let elevated = elevated_for(state, session, target, facts).await;
    let offered = offer(&state.roles, &session.identity, target.audience(), facts);
    let Offer::Pick {
        grants,
        needing_mfa,
    } = with_requestable(offered, !elevated.requestable.is_empty())
    else {
        return Err(choice_error(e).into());
    };
    let max = state
        .roles
        .get(&form.role)
        .map_or(MAX_SESSION_SECS, |r| CredentialIssuer::max_duration(r));
    let notice = Msg::new("picker-length-notice")
        .arg("role", form.role.chars().take(64).collect::<String>())
        .arg("min", duration(MIN_SESSION_SECS))
        .arg("max", duration(max));
    let view = PickerView {
        filter: form.q.clone(),
        selected: Some(form.role.clone()),
        notice: Some(notice),
        draft: None,
        t,
    };
    pick(
        state,
        session,
        (&grants, needing_mfa, &elevated),
        view,
        target,
    )
    .await
}

/// The star form of the picker.
#[derive(Debug, Deserialize)]
pub struct StarForm {
    #[serde(default)]
    csrf: String,
    /// The role to star (the button of an unstarred role).
    #[serde(default)]
    star: String,
    /// The role whose star to take away.
    #[serde(default)]
    unstar: String,
    /// The picker's filter, the role chosen and the pending authorization, to go back to.
    #[serde(default)]
    q: String,
    #[serde(default)]
    selected: String,
    #[serde(default)]
    authz: String,
}

/// `POST /roles/favourites`: stars a role (`star`) or takes its star away (`unstar`) for
/// the signed-in person, then back to the picker as it was.
pub async fn favourite(
    Browser(state, _, headers): Browser,
    form: Result<PageForm<StarForm>, PageError>,
) -> Response {
    starred(&state, &headers, form)
        .await
        .unwrap_or_else(|e| e.page(Back::Roles))
}

async fn starred(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<PageForm<StarForm>, PageError>,
) -> PageResult {
    let Some((_, session)) = current_session(state, headers).await? else {
        return Ok(to_signin("/roles"));
    };
    let PageForm(form) = form?;
    if !csrf_matches(&session.csrf, &form.csrf) {
        return Err(WebError::Csrf.into());
    }
    let (name, on) = match form.star.as_str() {
        "" => (form.unstar.as_str(), false),
        star => (star, true),
    };
    let Some(role) = state.roles.get(name) else {
        return Err(WebError::BadRequest(Msg::new("error-role-not-listed")).into());
    };
    state
        .sso
        .set_favourite(&session.identity, &role.name, on)
        .await?;
    let back = picker_url(&form.authz, &form.q, &form.selected);
    Ok(Redirect::to(&back).into_response())
}

/// What the person reads about a refused choice.
fn choice_error(e: ChoiceError) -> WebError {
    let said = choice_refused(&e);
    match e {
        ChoiceError::NotAvailable(_) => WebError::Forbidden(said),
        _ => WebError::BadRequest(said),
    }
}

/// The sentence saying why a choice was refused (the picker's error page, the device
/// page's notice).
pub fn choice_refused(e: &ChoiceError) -> Msg {
    match e {
        ChoiceError::OutOfRange(secs) => Msg::new("error-length-out-of-range")
            .arg("min", duration(MIN_SESSION_SECS))
            .arg("max", duration(MAX_SESSION_SECS))
            .arg("asked", duration(*secs)),
        ChoiceError::NotAvailable(role) => Msg::new("error-role-not-available").arg("role", role),
        ChoiceError::NotSeconds => Msg::new("error-length-not-seconds"),
        ChoiceError::SignInAgain => Msg::new("error-fresh-sign-in"),
        ChoiceError::NeedsStepUp(asked) => {
            Msg::new("error-role-needs-step-up").arg("role", asked.0.to_string())
        }
    }
}

/// Ends a role choice: credentials for the person, or a code for the application.
async fn finish(
    visit: &Visit<'_>,
    session: &mut SsoSession,
    (grant, duration): (TrustGrant, Duration),
) -> PageResult {
    let ForClient::Client {
        id, pending, name, ..
    } = visit.target
    else {
        return issue(visit, session, (grant, duration)).await;
    };
    let state = visit.state;
    let cookie = visit.cookie.expose_secret();
    let (identity, role) = (&session.identity, grant.role());
    let completed = state
        .oidc
        .complete(id, cookie, role, duration, visit.facts)
        .await;
    let url = completed.map_err(crate::web::oauth::oauth_page)?;
    tracing::info!(
        client = %pending.client_id,
        subject = %identity.qualified_subject(),
        role = %role.name,
        "authorization code issued"
    );
    to_client(visit.t, name, &url)
}

/// Sends the browser on to an application (its redirect URI with a code or an error)
/// through a page rather than a `303`: a redirect off-site that ends the chain of a form
/// POST (`POST /roles`, or `POST /auth/{provider}` → `/roles?authz=…` when the picker is
/// skipped) is blocked by the page CSP's `form-action 'self'` in Chromium, after the code
/// was issued and the request used up. The CSP stays as strict as on every other page.
fn to_client(t: Locale, app: &str, url: &url::Url) -> PageResult {
    Ok(render(&ContinuePage {
        t,
        app: app.to_owned(),
        url: url.as_str().to_owned(),
    })?
    .into_response())
}

/// Credentials for the person through the one door, held by the browser's SSO session
/// (at most `max_role_sessions` of them).
async fn issue(
    visit: &Visit<'_>,
    session: &mut SsoSession,
    (grant, duration): (TrustGrant, Duration),
) -> PageResult {
    let state = visit.state;
    let cookie = visit.cookie.expose_secret();
    let cap = state.config.sessions.max_role_sessions;
    if let Err(cap) = state.sso.reserve_role_session(cookie, cap).await? {
        let why = Msg::new("error-role-session-cap").arg("count", cap.0);
        return Err(WebError::Forbidden(why).into());
    }
    let request = IssueRequest {
        attempt: Attempt::new(visit.facts, Door::Browser, None),
        duration,
        session_name: None,
        client: None,
        session_policy: None,
        holder: Holder::Browser { cookie, session },
    };
    state
        .access
        .issue(grant, request)
        .await
        .map_err(|e| match e {
            IssueError::DurationOutOfRange { min, max } => WebError::BadRequest(
                Msg::new("error-duration-for-role")
                    .arg("min", min)
                    .arg("max", max),
            ),
            IssueError::Token(e) => WebError::Internal(e.to_string()),
            IssueError::Store(e) => WebError::StoreUnavailable(e.to_string()),
            IssueError::AuditUnavailable(e) => WebError::StoreUnavailable(e.to_string()),
        })?;
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
    Browser(state, facts, headers): Browser,
    t: Locale,
    Query(query): Query<CredentialsQuery>,
) -> PageResult {
    let Some((cookie, session)) = current_session(&state, &headers).await? else {
        return Ok(to_signin("/credentials"));
    };
    let cookie = cookie.expose_secret();
    let shown = state
        .access
        .shown_credentials(cookie, &session, &state.roles, &facts);
    let Some(shown) = shown.await? else {
        return Ok(Redirect::to("/roles").into_response());
    };
    let page = credentials_page((&state, t), &session, shown, query.shortened.is_some());
    Ok(render(&page)?.into_response())
}

/// The credentials page of `shown` (`shortened`: the length chosen was longer than the
/// role allows): the role as the picker names it, the expiry, and for each shell the lines
/// setting the variables and a call that tests the token.
fn credentials_page(
    (state, t): (&AppState, Locale),
    session: &SsoSession,
    shown: ShownCredentials,
    shortened: bool,
) -> CredentialsPage {
    let rs = shown.role_session;
    let expires_at = crate::roles::rfc3339(rs.expires_at);
    let issuer = state.config.server.issuer();
    let vars = [
        ("LANYARD_TOKEN", rs.access_token.as_str()),
        ("LANYARD_TOKEN_EXPIRES", expires_at.as_str()),
        ("LANYARD_ROLE", rs.role.as_str()),
        ("LANYARD_URL", issuer.as_str()),
    ];
    let shells = Shell::ALL
        .into_iter()
        .map(|shell| ShellLines {
            id: shell.id(),
            label: shell.label(),
            exports: shell.exports(&vars),
            test: shell.test_call(&issuer),
        })
        .collect();
    let left = state.clock.now().until(rs.expires_at).as_secs();
    let length = duration(rs.issued_at.until(rs.expires_at).as_secs());
    let description = state
        .roles
        .get(rs.role.as_str())
        .map(|r| r.description.clone())
        .unwrap_or_default();
    CredentialsPage {
        t,
        who: session.identity.username.clone(),
        description,
        expires_at_utc: format!(
            "{} UTC",
            expires_at.replacen('T', " ", 1).trim_end_matches('Z')
        ),
        expires_at,
        expires_in: t.say(&Msg::new("credentials-countdown").arg("left", duration(left))),
        seconds_left: left,
        shells,
        csrf: session.csrf.clone(),
        multiple_roles: shown.multiple_roles,
        shortened: shortened.then(|| {
            let said = Msg::new("credentials-shortened")
                .arg("role", rs.role.to_string())
                .arg("length", length);
            t.say(&said)
        }),
        role: rs.role.into_string(),
        token: rs.access_token,
    }
}

/// The sign-out form.
#[derive(Debug, Deserialize)]
pub struct SignoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /signout`: ends the SSO session and its role sessions.
pub async fn signout(
    Browser(state, facts, headers): Browser,
    t: Locale,
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
    let mut response = render(&SignedOutPage { t })?.into_response();
    cookies::clear(response.headers_mut(), cookies::SESSION, secure);
    response.headers_mut().insert(
        header::HeaderName::from_static("clear-site-data"),
        header::HeaderValue::from_static("\"cookies\""),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_picker_address_goes_straight_on() {
        assert_eq!(
            picker_authz("/roles?authz=abc%2Bd").as_deref(),
            Some("abc+d")
        );
        assert_eq!(picker_authz("/roles"), None, "for the person: the picker");
        assert_eq!(picker_authz("/roles?"), None);
        assert_eq!(picker_authz("/roles?authz="), None);
        assert_eq!(picker_authz("/roles?authz=a&authz=b"), None, "ambiguous");
        assert_eq!(picker_authz("/roles?q=deploy"), None, "a filter is shown");
        assert_eq!(picker_authz("/roles?authz=a&selected=x"), None);
        assert_eq!(picker_authz("/credentials?authz=a"), None);
        assert_eq!(picker_authz("/roles/favourites?authz=a"), None);
        assert_eq!(picker_authz("/rolesx?authz=a"), None);
    }
}
