//! SAML routes: starting an SP-initiated sign-in (HTTP-Redirect to the IdP), the Assertion
//! Consumer Service (`POST /auth/{provider}/callback`, HTTP-POST binding, also IdP-initiated),
//! the SP metadata, and `POST /sts/assume-role-with-saml`.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::connectors::Connector;
use crate::connectors::saml::{AcceptError, Presenter, SamlConnector, SamlError};
use crate::identity::ProviderId;
use crate::web::error::{PageError, WebError};
use crate::web::pages::{establish_session, safe_return_to};
use crate::web::{AppState, cookies};

/// The largest body the ACS and the SAML STS endpoint accept (a response with an encrypted
/// assertion and many groups is larger than a form).
pub const MAX_SAML_BODY_BYTES: usize = 256 * 1024;

/// Starts an SP-initiated sign-in: stores the request ID, redirects to the IdP.
pub async fn start(
    state: &AppState,
    connector: &SamlConnector,
    return_to: Option<String>,
) -> Result<Response, PageError> {
    let (request_id, url) = connector
        .authn_request(state.clock.now(), None)
        .map_err(|e| refused(state, connector.id(), &e))?;
    // On https, bind the pending request to this browser with a cookie that survives the
    // IdP's cross-site POST. (Plain-http local development cannot set SameSite=None.)
    let binding = state
        .config
        .server
        .secure_cookies
        .then(crate::session::random_id);
    state
        .sso
        .begin_saml_login(
            connector.id().clone(),
            &request_id,
            return_to,
            binding
                .as_ref()
                .map(|b| crate::session::digest(b.expose_secret())),
        )
        .await?;
    tracing::info!(provider = %connector.id(), "SAML AuthnRequest sent");
    let mut response = Redirect::to(&url).into_response();
    if let Some(b) = &binding {
        cookies::set_cross_site(
            response.headers_mut(),
            cookies::SAML_BINDING,
            b,
            i64::try_from(crate::sso::LOGIN_TRANSACTION_TTL.as_secs()).unwrap_or(600),
        );
    }
    Ok(response)
}

fn display_name(state: &AppState, id: &str) -> String {
    state
        .connectors
        .get(id)
        .map(|(i, _)| i.display_name.clone())
        .unwrap_or_else(|| id.to_owned())
}

/// Logs the precise reason and gives the person a plain sentence naming the provider.
fn refused(state: &AppState, provider: &ProviderId, e: &SamlError) -> WebError {
    tracing::warn!(provider = %provider, reason = %e, "SAML sign-in refused");
    let name = display_name(state, provider.as_str());
    match e {
        SamlError::NotReady => {
            let connector = saml_connector(state, provider.as_str()).ok();
            let why = connector
                .map(|c| c.idp_state().to_string())
                .unwrap_or_else(|| SamlError::NotReady.to_string());
            WebError::ProviderUnavailable {
                provider_id: provider.to_string(),
                provider_name: name,
                reason: format!(
                    "Lanyard does not know this identity provider yet: {why}. It tries again \
                     within a minute"
                ),
            }
        }
        SamlError::Config(detail) => WebError::Internal(detail.clone()),
        _ => WebError::Forbidden(format!(
            "sign-in through {name} was refused: the identity provider's answer did not pass \
             Lanyard's checks ({})",
            public_reason(e)
        )),
    }
}

/// A short reason safe to show to the person.
fn public_reason(e: &SamlError) -> &'static str {
    match e {
        SamlError::Expired(_) | SamlError::NotYetValid(_) => "it is outside its validity period",
        SamlError::OtherBrowser => {
            "it answers a sign-in started in another browser; start again here"
        }
        SamlError::Replay | SamlError::InResponseTo(_) => {
            "it was already used or answers no pending sign-in; start again"
        }
        SamlError::Unsolicited => "sign-ins started at the identity provider are not accepted",
        SamlError::Status(_) => "the identity provider did not authenticate you",
        _ => "it is not valid",
    }
}

fn saml_connector<'a>(state: &'a AppState, provider: &str) -> Result<&'a SamlConnector, WebError> {
    match state.connectors.get(provider) {
        Some((_, Connector::Saml(c))) => Ok(c),
        _ => Err(WebError::NotFound(format!(
            "there is no SAML identity provider \"{}\"",
            provider.chars().take(64).collect::<String>()
        ))),
    }
}

/// The ACS form (saml-bindings §3.5.4).
#[derive(Deserialize)]
pub struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `POST /auth/{provider}/callback`: the Assertion Consumer Service.
pub async fn acs(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    form: Result<Form<AcsForm>, FormRejection>,
) -> Result<Response, PageError> {
    let connector = saml_connector(&state, &provider)?;
    let form = match form {
        Ok(Form(f)) => f,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            tracing::warn!(provider = %provider, reason = "body too large", "SAML sign-in refused");
            return Err(WebError::PayloadTooLarge.into());
        }
        Err(e) => {
            return Err(WebError::BadRequest(format!(
                "the identity provider's form could not be read: {}",
                e.body_text()
            ))
            .into());
        }
    };
    let secure = state.config.server.secure_cookies;
    let binding = cookies::read(&headers, cookies::SAML_BINDING, secure);
    let presenter = Presenter::Browser(binding.as_ref().map(|b| b.expose_secret()));
    let accepted = match connector
        .accept(
            &state.sso,
            &form.saml_response,
            presenter,
            state.clock.now(),
        )
        .await
    {
        Ok(a) => a,
        Err(AcceptError::Store(e)) => return Err(e.into()),
        Err(AcceptError::Saml(e)) => return Err(refused(&state, connector.id(), &e).into()),
    };
    let target = if accepted.unsolicited {
        safe_return_to(form.relay_state.as_deref())
    } else {
        accepted.return_to
    }
    .unwrap_or_else(|| "/roles".to_owned());
    tracing::info!(
        provider = %connector.id(),
        subject = %accepted.identity.subject,
        unsolicited = accepted.unsolicited,
        mfa = accepted.identity.mfa,
        "SAML assertion accepted"
    );
    let mut response = establish_session(&state, &headers, accepted.identity, Some(target)).await?;
    if binding.is_some() {
        cookies::clear(response.headers_mut(), cookies::SAML_BINDING, secure);
    }
    Ok(response)
}

/// `GET /auth/{provider}/metadata`: signed SP metadata to upload to the IdP.
pub async fn metadata(
    State(state): State<AppState>,
    Path(provider): Path<String>,
) -> Result<Response, PageError> {
    let connector = saml_connector(&state, &provider)?;
    let xml = connector
        .sp_metadata(state.clock.now())
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        xml,
    )
        .into_response())
}
