//! The OpenID Connect provider endpoints (`/oauth2/*`): wire types and thin handlers over
//! [`OidcProvider`](crate::op::OidcProvider).

use askama::Template;
use axum::Form;
use axum::Json;
use axum::extract::rejection::{FormRejection, RawFormRejection};
use axum::extract::{Query, RawForm, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::clock::UnixTime;
use crate::op::{
    AuthorizeNext, AuthorizeParams, AuthorizeRejection, DEVICE_CODE_GRANT, LogoutRequest,
    OAuthError, PresentedClient, TOKEN_EXCHANGE_GRANT,
};
use crate::roles::RequestFacts;
use crate::secret::Secret;
use crate::session::PendingPut;
use crate::signin::{Begun, Start};
use crate::sts::TokenExchange;
use crate::telemetry::metrics::Outcome;
use crate::web::error::{PageError, WebError, request_id};
use crate::web::i18n::{Locale, Msg};
use crate::web::pages::to_upstream;
use crate::web::session::current_session;
use crate::web::views::LogoutConfirmPage;
use crate::web::{AppState, ClientIp, cookies, op_step_up};

/// An [`OAuthError`] as an RFC 6749 §5.2 JSON response.
#[derive(Debug)]
pub struct OAuthResponse(pub OAuthError);

impl From<OAuthError> for OAuthResponse {
    fn from(e: OAuthError) -> Self {
        OAuthResponse(e)
    }
}

impl IntoResponse for OAuthResponse {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = match &e {
            OAuthError::InvalidClient | OAuthError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            OAuthError::TemporarilyUnavailable(_) | OAuthError::Busy => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            OAuthError::ServerError(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let description = match &e {
            OAuthError::TemporarilyUnavailable(detail) | OAuthError::ServerError(detail) => {
                tracing::error!(request_id = %request_id(), detail = %detail, "oauth request failed");
                e.to_string()
            }
            // A device client polls every few seconds (RFC 8628 §3.4): not worth a line each.
            OAuthError::AuthorizationPending | OAuthError::SlowDown { .. } => {
                tracing::debug!(request_id = %request_id(), error = e.code(), "device poll answered");
                e.to_string()
            }
            other => {
                tracing::info!(request_id = %request_id(), error = other.code(), reason = %other, "oauth request refused");
                other.to_string()
            }
        };
        let mut body = serde_json::json!({"error": e.code(), "error_description": description});
        // Beyond RFC 8628 §3.5, which has the client add 5 s itself: the interval to keep.
        if let (OAuthError::SlowDown { interval }, Some(map)) = (&e, body.as_object_mut()) {
            map.insert("interval".into(), (*interval).into());
        }
        let mut response = (
            status,
            axum::Extension(Outcome::OAuthError(e.code())),
            Json(body),
        )
            .into_response();
        match e {
            OAuthError::InvalidClient => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"lanyard\""),
                );
            }
            OAuthError::InvalidToken(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            OAuthError::Busy => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

/// `GET /oauth2/authorize` (OIDC Core §3.1.2): validates, parks the request, and sends the
/// person to sign in (if needed: the provider chooser, or with one upstream provider
/// straight there), or through a step-up when the request asks for a second factor the
/// session lacks (`web::op_step_up`), and to the role picker.
pub async fn authorize(
    State(state): State<AppState>,
    ip: ClientIp,
    t: Locale,
    headers: HeaderMap,
    query: Result<Query<AuthorizeParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(params) = query.map_err(|e| unusable_request(&e.body_text()))?;
    let pending = match state.oidc.validate_authorize(&params) {
        Ok(p) => p,
        Err(AuthorizeRejection::Page(message)) => return Err(unusable_request(&message).into()),
        Err(AuthorizeRejection::Redirect(url)) => {
            return Ok(Redirect::to(url.as_str()).into_response());
        }
    };
    let session = current_session(&state, &headers).await?;
    // Nobody signed in, and one upstream provider: the request goes straight there, which
    // parks a login transaction too. Both caps are then counted here, in one round trip to
    // the store and in the order of the two steps.
    let straight_up =
        session.is_none() && !pending.prompt_none && state.signin().sole_upstream().is_some();
    if straight_up {
        let caps = [&state.authorization_cap, &state.login_cap];
        crate::web::admit_all(&state, &caps, ip).await?;
    } else {
        crate::web::admit(&state, &state.authorization_cap, ip).await?;
    }
    let identity = session.as_ref().map(|(_, s)| &s.identity);
    let app = op_step_up::app_name(&state, pending.client_id.as_str());
    // Going straight upstream, the parked request is stored with the login transaction,
    // in one round trip.
    let (next, mut parked) = if straight_up {
        let (next, parked) = state.oidc.sign_in_first(&pending).map_err(oauth_page)?;
        (Ok(next), Some(parked))
    } else {
        (state.oidc.start(pending, identity).await, None)
    };
    let to = match next.map_err(oauth_page)? {
        AuthorizeNext::Roles { authz } => format!("/roles?authz={authz}"),
        AuthorizeNext::Client(url) => url.into(),
        AuthorizeNext::StepUp { authz } => {
            let Some((cookie, session)) = &session else {
                return Err(WebError::Internal("a step-up without a session".into()).into());
            };
            let at = (cookie, session);
            return op_step_up::begin(&state, (&headers, t), at, (&authz, &app)).await;
        }
        AuthorizeNext::SignIn {
            authz,
            login_hint,
            resume,
        } => {
            // A request asking for a second factor comes back through its own check,
            // which steps up when the sign-in did not bring one.
            let return_to = match resume {
                true => op_step_up::resume_path(&authz),
                false => format!("/roles?authz={authz}"),
            };
            if state.signin().sole_upstream().is_some() {
                let login = (return_to, login_hint, parked.take());
                return upstream_at_once(&state, (ip, &headers), login).await;
            }
            chooser(&return_to, login_hint.as_deref())
        }
    };
    if let Some(parked) = parked {
        // Not stored with a login transaction after all: on its own, before the redirect.
        let store = state.sso.store();
        store
            .put(&parked.key, &parked.value, parked.ttl)
            .await
            .map_err(|e| oauth_page(e.into()))?;
    }
    Ok(Redirect::to(&to).into_response())
}

/// The provider chooser's address for a sign-in that goes on to `return_to`.
fn chooser(return_to: &str, login_hint: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("return_to", return_to);
    if let Some(hint) = login_hint {
        query.append_pair("login_hint", hint);
    }
    format!("/signin?{}", query.finish())
}

/// With one provider, and that one signing people in on its own page, there is nothing to
/// choose: the sign-in begins here, as `GET /auth/{provider}` would begin it (the same
/// login transaction, cookie binding and cap on anonymous parked records), and the browser
/// goes straight upstream. Dex does the same with one connector. `parked`: the
/// application's request waiting for this sign-in, not yet stored (`authorize` parked it
/// with the login cap already counted, with the authorization cap): stored here with the
/// login transaction.
async fn upstream_at_once(
    state: &AppState,
    (ip, headers): (ClientIp, &HeaderMap),
    (return_to, login_hint, parked): (String, Option<String>, Option<PendingPut>),
) -> Result<Response, PageError> {
    let signin = state.signin();
    let Some(provider) = signin.sole_upstream() else {
        if let Some(parked) = &parked {
            let store = state.sso.store();
            store
                .put(&parked.key, &parked.value, parked.ttl)
                .await
                .map_err(|e| oauth_page(e.into()))?;
        }
        return Ok(Redirect::to(&chooser(&return_to, login_hint.as_deref())).into_response());
    };
    if parked.is_none() {
        crate::web::admit(state, &state.login_cap, ip).await?;
    }
    let secure = state.config.server.secure_cookies;
    let start = Start {
        return_to: Some(return_to.clone()),
        login_hint,
        browser: cookies::read(headers, cookies::BROWSER, secure),
        bind_saml_browser: secure,
        test_for: None,
        park_with: parked,
    };
    match signin.begin(provider.id.as_str(), start).await? {
        Begun::Redirect { url, binding } => Ok(to_upstream(state, &url, binding)),
        // Not for a provider `sole_upstream` names; the chooser's link leads to the form.
        Begun::PasswordForm(_) => Ok(Redirect::to(&chooser(&return_to, None)).into_response()),
    }
}

/// An OAuth failure on a page-rendering path.
pub fn oauth_page(e: OAuthError) -> PageError {
    match e {
        OAuthError::TemporarilyUnavailable(d) => PageError(WebError::StoreUnavailable(d)),
        OAuthError::ServerError(d) => PageError(WebError::Internal(d)),
        other => PageError(unusable_request(&other.to_string())),
    }
}

/// An application's request that a page cannot go on with: a sentence in the page's
/// language around the protocol's own (English) description of what is wrong.
fn unusable_request(detail: &str) -> WebError {
    let detail: String = detail
        .trim()
        .trim_end_matches('.')
        .chars()
        .take(300)
        .collect();
    WebError::BadRequest(Msg::new("error-application-request").arg("detail", detail))
}

/// How a form authenticates its client (RFC 6749 §2.3.1 `client_secret_post`, RFC 7523
/// §2.2 `private_key_jwt`); `client_secret_basic` comes in the `Authorization` header. No
/// `Debug`: it holds secrets.
#[derive(Deserialize)]
pub struct ClientAuthFields {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// Moves the client authentication fields out of a form (a [`TokenForm`] or a
/// [`TokenOnlyForm`]).
macro_rules! client_auth {
    ($form:ident) => {
        ClientAuthFields {
            client_id: $form.client_id,
            client_secret: $form.client_secret,
            client_assertion_type: $form.client_assertion_type,
            client_assertion: $form.client_assertion,
        }
    };
}

/// Moves the RFC 8693 fields out of a [`TokenForm`] into a [`TokenExchange`].
macro_rules! exchange_fields {
    ($form:ident) => {
        TokenExchange {
            subject_token: $form.subject_token,
            subject_token_type: $form.subject_token_type,
            requested_token_type: $form.requested_token_type,
            actor_token: $form.actor_token,
            resource: $form.resource,
        }
    };
}

/// The token endpoint's form (RFC 6749 §4.1.3, §6, §4.4). No `Debug`: codes, verifiers and
/// refresh tokens are bearer secrets.
#[derive(Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    subject_token: Option<String>,
    subject_token_type: Option<String>,
    requested_token_type: Option<String>,
    actor_token: Option<String>,
    resource: Option<String>,
    device_code: Option<String>,
    // The fields of [`ClientAuthFields`], spelled out: `#[serde(flatten)]` would buffer
    // every field of the form into an intermediate map first.
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1, form-urlencoded id and
/// secret) or the form body; both at once is an error.
fn presented_client(
    headers: &HeaderMap,
    form_id: Option<String>,
    form_secret: Option<String>,
) -> Result<PresentedClient, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        });
    match (basic, form_secret) {
        (Some(_), Some(_)) => Err(OAuthError::InvalidRequest(
            "use one client authentication method".into(),
        )),
        (Some(b64), None) => {
            let decoded = STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or(OAuthError::InvalidClient)?;
            let (id, secret) = decoded.split_once(':').ok_or(OAuthError::InvalidClient)?;
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            let id = decode(id);
            if form_id.as_deref().is_some_and(|f| f != id) {
                return Err(OAuthError::InvalidClient);
            }
            Ok(PresentedClient {
                id,
                secret: Some(Secret::new(decode(secret))),
            })
        }
        (None, secret) => Ok(PresentedClient {
            id: form_id.ok_or(OAuthError::InvalidClient)?,
            secret: secret.map(Secret::new),
        }),
    }
}

/// The client of a token, introspection or revocation request, authenticated by whichever
/// method it used (exactly one).
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    fields: ClientAuthFields,
) -> Result<std::sync::Arc<crate::op::Client>, OAuthError> {
    let ClientAuthFields {
        client_id,
        client_secret,
        client_assertion_type: assertion_type,
        client_assertion: assertion,
    } = fields;
    match (assertion_type.as_deref(), assertion) {
        (Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), Some(a)) => {
            if client_secret.is_some() || headers.contains_key(header::AUTHORIZATION) {
                return Err(OAuthError::InvalidRequest(
                    "use one client authentication method".into(),
                ));
            }
            state
                .oidc
                .authenticate_assertion(crate::op::PresentedAssertion {
                    client_id,
                    assertion: Secret::new(a),
                })
                .await
        }
        (Some(_), _) | (None, Some(_)) => Err(OAuthError::InvalidRequest(
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
             with a client_assertion"
                .into(),
        )),
        (None, None) => {
            state
                .oidc
                .clients()
                .authenticate(
                    presented_client(headers, client_id, client_secret)?,
                    state.clock.now(),
                )
                .await
        }
    }
}

fn form<T>(f: Result<Form<T>, FormRejection>) -> Result<T, OAuthError> {
    f.map(|Form(v)| v).map_err(|e| {
        OAuthError::InvalidRequest(format!("the form could not be read: {}", e.body_text()))
    })
}

/// `POST /oauth2/token`: one grant per `grant_type`, each through the one door.
pub async fn token(
    State(state): State<AppState>,
    facts: RequestFacts,
    headers: HeaderMap,
    body: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, OAuthResponse> {
    let f = form(body)?;
    let client = authenticate(&state, &headers, client_auth!(f)).await?;
    let required = |v: Option<String>, name: &str| {
        v.ok_or_else(|| OAuthError::InvalidRequest(format!("{name} is required")))
    };
    let grant = f.grant_type.as_deref().unwrap_or_default().to_owned();
    let response = match grant.as_str() {
        "authorization_code" => {
            let code = required(f.code, "code")?;
            let pkce = (f.redirect_uri.as_deref(), f.code_verifier.as_deref());
            let response = state.oidc.exchange_code(&client, &code, pkce, &facts);
            Json(response.await?).into_response()
        }
        "refresh_token" => {
            let token = required(f.refresh_token, "refresh_token")?;
            Json(state.oidc.refresh(&client, &token, &facts).await?).into_response()
        }
        "client_credentials" => {
            Json(state.oidc.client_credentials(&client, &facts).await?).into_response()
        }
        DEVICE_CODE_GRANT => {
            let device_code = required(f.device_code, "device_code")?;
            let response = state.oidc.device_token(&client, &device_code, &facts);
            Json(response.await?).into_response()
        }
        TOKEN_EXCHANGE_GRANT => {
            let exchange = exchange_fields!(f);
            let assumed = state.sts.token_exchange(&client, exchange, &facts);
            Json(ExchangeResponse::new(assumed.await?, facts.now)).into_response()
        }
        "" => return Err(OAuthError::InvalidRequest("grant_type is required".into()).into()),
        _ => return Err(OAuthError::UnsupportedGrantType.into()),
    };
    tracing::info!(client = %client.config.id, grant, "tokens issued");
    Ok(response)
}

/// The form of `POST /oauth2/device_authorization` (RFC 8628 §3.1): client authentication
/// as at the token endpoint, `scope`, and Lanyard's `role` (a role to preselect on the
/// device page). No `Debug`: it holds secrets.
#[derive(Deserialize)]
pub struct DeviceAuthorizationForm {
    scope: Option<String>,
    role: Option<String>,
    // As in [`TokenForm`], the fields of [`ClientAuthFields`] without `flatten`.
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// `POST /oauth2/device_authorization` (RFC 8628 §3.1, §3.2): a device code and a user code
/// for a client that may use the device grant. Each request parks a record, so it counts
/// against the cap on pending authorization requests per address.
pub async fn device_authorization(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Result<Form<DeviceAuthorizationForm>, FormRejection>,
) -> Response {
    let f = match form(body) {
        Ok(f) => f,
        Err(e) => return OAuthResponse(e).into_response(),
    };
    let (scope, role) = (f.scope.clone(), f.role.clone());
    let client = match authenticate(&state, &headers, client_auth!(f)).await {
        Ok(c) => c,
        Err(e) => return OAuthResponse(e).into_response(),
    };
    if let Err(e) = crate::web::admit(&state, &state.authorization_cap, ip).await {
        return crate::web::error::ApiError(e).into_response();
    }
    let answer = state
        .oidc
        .device_authorization(&client, scope.as_deref(), role.as_deref())
        .await;
    match answer {
        Ok(answer) => {
            // `Cache-Control: no-store` (the envelope's, on every answer) keeps the device
            // code out of caches (RFC 8628 §3.2 by RFC 6749 §5.1).
            tracing::info!(client = %client.config.id, "device authorization started");
            Json(answer).into_response()
        }
        Err(e) => OAuthResponse(e).into_response(),
    }
}

/// RFC 8693 §2.2.1's answer.
#[derive(serde::Serialize)]
struct ExchangeResponse {
    access_token: String,
    issued_token_type: &'static str,
    token_type: &'static str,
    expires_in: u64,
}

impl ExchangeResponse {
    fn new(assumed: crate::sts::Assumed, now: UnixTime) -> Self {
        Self {
            expires_in: now.until(assumed.session.expires_at).as_secs(),
            access_token: assumed.session.access_token,
            issued_token_type: crate::sts::ACCESS_TOKEN_TYPE,
            token_type: "Bearer",
        }
    }
}

fn bearer(headers: &HeaderMap) -> Result<String, OAuthError> {
    crate::web::bearer_token(headers)
        .map(str::to_owned)
        .ok_or_else(|| OAuthError::InvalidToken("a bearer token is required".into()))
}

/// `GET|POST /oauth2/userinfo`.
pub async fn userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, OAuthResponse> {
    let token = bearer(&headers)?;
    Ok(Json(state.oidc.userinfo(&token).await?))
}

/// The form of introspection and revocation (`token_type_hint` is accepted and, as RFC
/// 7009 §2.1 allows, not needed: Lanyard tells the token kinds apart itself). No `Debug`.
///
/// Read by [`TokenOnlyForm::read`] rather than through `Form` (or `form_urlencoded::parse`,
/// which `Form` uses): these forms carry a token of several hundred bytes that needs no
/// decoding (base64url and dots), which that parser walks byte by byte, once for `+` and
/// once for `%`, before handing it back. Looking for either with `<[u8]>::contains` (core's
/// word-at-a-time `memchr` for bytes) and borrowing the token saves ~17,000 of an introspection's
/// ~148,000 instructions (callgrind, `scripts/callgrind-per-request.sh`).
#[derive(Default)]
pub struct TokenOnlyForm {
    token: Option<String>,
    // As in [`TokenForm`], the fields of [`ClientAuthFields`] without `flatten`.
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

impl TokenOnlyForm {
    /// Reads an `application/x-www-form-urlencoded` body (WHATWG URL, §5.1: `&`-separated
    /// `name=value` pairs, `+` for a space, percent escapes, invalid UTF-8 replaced) as
    /// `Form` does: unknown fields are ignored, and a field given twice is an error (RFC
    /// 6749 §3.1: parameters must not repeat). A name or value with neither `%` nor `+`
    /// is taken as it is, without a byte-by-byte decoding pass.
    fn read(body: &[u8]) -> Result<Self, String> {
        let mut form = Self::default();
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            let slot = match &*form_decode(name) {
                "token" => &mut form.token,
                "client_id" => &mut form.client_id,
                "client_secret" => &mut form.client_secret,
                "client_assertion_type" => &mut form.client_assertion_type,
                "client_assertion" => &mut form.client_assertion,
                _ => continue,
            };
            if slot.is_some() {
                let name = String::from_utf8_lossy(name);
                return Err(format!("duplicate field `{name}`"));
            }
            *slot = Some(form_decode(value).into_owned());
        }
        Ok(form)
    }
}

/// One name or value of a form body, decoded: borrowed when there is nothing to decode.
fn form_decode(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    if !raw.contains(&b'%')
        && !raw.contains(&b'+')
        && let Ok(text) = std::str::from_utf8(raw)
    {
        return std::borrow::Cow::Borrowed(text);
    }
    // WHATWG URL §5.1 and §1.3 (percent-decode): `+` is a space, `%` and two hex digits
    // a byte, any other `%` itself.
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        let escaped = match (b, raw.get(i + 1), raw.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match (b, escaped.and_then(|v| u8::try_from(v).ok())) {
            (_, Some(byte)) => {
                bytes.push(byte);
                i += 3;
            }
            (b'+', None) => {
                bytes.push(b' ');
                i += 1;
            }
            (other, None) => {
                bytes.push(other);
                i += 1;
            }
        }
    }
    std::borrow::Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
}

/// A [`TokenOnlyForm`] from the body `RawForm` read (which checks the content type).
fn token_only_form(body: Result<RawForm, RawFormRejection>) -> Result<TokenOnlyForm, OAuthError> {
    let read = match body {
        Ok(RawForm(bytes)) => TokenOnlyForm::read(&bytes),
        Err(e) => Err(e.body_text()),
    };
    read.map_err(|e| OAuthError::InvalidRequest(format!("the form could not be read: {e}")))
}

/// `POST /oauth2/introspect` (RFC 7662; confidential clients only, authenticated).
pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<RawForm, RawFormRejection>,
) -> Result<Response, OAuthResponse> {
    let f = token_only_form(body)?;
    let client = authenticate(&state, &headers, client_auth!(f)).await?;
    let token = f
        .token
        .ok_or_else(|| OAuthError::InvalidRequest("token is required".into()))?;
    Ok(match state.oidc.introspect(&client, &token).await? {
        // Already written as JSON: its text is the body, not copied again.
        crate::op::Introspection::AccessToken(answer) => {
            crate::web::json_bytes(Box::<str>::from(answer).into_string())
        }
        other => Json(other).into_response(),
    })
}

/// `POST /oauth2/revoke` (RFC 7009; 200 even for unknown tokens).
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<RawForm, RawFormRejection>,
) -> Result<StatusCode, OAuthResponse> {
    let f = token_only_form(body)?;
    let client = authenticate(&state, &headers, client_auth!(f)).await?;
    let token = f
        .token
        .ok_or_else(|| OAuthError::InvalidRequest("token is required".into()))?;
    state.oidc.revoke(&client, &token).await?;
    Ok(StatusCode::OK)
}

/// `GET /oauth2/logout`: with a valid `id_token_hint` for the current session, ends it and
/// returns to a registered `post_logout_redirect_uri`; otherwise asks the person to confirm
/// on Lanyard's own sign-out form (a cross-site request cannot sign anyone out).
pub async fn logout(
    State(state): State<AppState>,
    t: Locale,
    headers: HeaderMap,
    Query(q): Query<LogoutRequest>,
) -> Result<Response, PageError> {
    let secure = state.config.server.secure_cookies;
    let plan = state.oidc.plan_logout(&q).map_err(oauth_page)?;
    if let Some(c) = cookies::read(&headers, cookies::SESSION, secure) {
        if !plan.proves(c.expose_secret()) {
            // Not provably this session's application: let the person decide.
            if let Some(session) = state.sso.load(c.expose_secret()).await? {
                let page = LogoutConfirmPage {
                    t,
                    csrf: session.csrf,
                };
                let html = page
                    .render()
                    .map_err(|e| WebError::Internal(format!("template: {e}")))?;
                return Ok(Html(html).into_response());
            }
            return Ok(Redirect::to("/signin").into_response());
        }
        state.sso.end(c.expose_secret()).await?;
        let client = plan.client_id.as_deref().unwrap_or("-");
        tracing::info!(client, "signed out by the application");
    }
    let to = plan
        .redirect
        .map_or_else(|| "/signin".to_owned(), String::from);
    let mut response = Redirect::to(&to).into_response();
    cookies::clear(response.headers_mut(), cookies::SESSION, secure);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_form_reads_as_a_form_does() {
        let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_";
        let f =
            TokenOnlyForm::read(format!("token={token}&token_type_hint=access_token").as_bytes())
                .unwrap();
        assert_eq!(f.token.as_deref(), Some(token));
        assert!(f.client_id.is_none() && f.client_secret.is_none());

        // Escapes, `+`, empty pairs, a bare name, `=` inside a value, an escaped name.
        let f = TokenOnlyForm::read(
            b"&client_id=a%20b+c&&client%5Fsecret=x%3Dy=z&client_assertion&token=%zz%4",
        )
        .unwrap();
        assert_eq!(f.client_id.as_deref(), Some("a b c"));
        assert_eq!(f.client_secret.as_deref(), Some("x=y=z"));
        assert_eq!(f.client_assertion.as_deref(), Some(""));
        assert_eq!(f.token.as_deref(), Some("%zz%4"));

        // Invalid UTF-8 is replaced, as `Form` does.
        let f = TokenOnlyForm::read(b"token=a%FFb\xFF").unwrap();
        assert_eq!(f.token.as_deref(), Some("a\u{FFFD}b\u{FFFD}"));

        // A field given twice is refused, also when spelled differently.
        let e = TokenOnlyForm::read(b"token=a&client_id=c&tok%65n=b")
            .err()
            .unwrap();
        assert!(e.contains("duplicate field"), "{e}");
        assert!(TokenOnlyForm::read(b"").unwrap().token.is_none());
    }
}
