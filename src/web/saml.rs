//! SAML routes: the Assertion Consumer Service (`POST /auth/{provider}/callback`,
//! HTTP-POST binding, also IdP-initiated) and the SP metadata. Starting an SP-initiated
//! sign-in is `GET /auth/{provider}` (the sign-in service); `POST
//! /sts/assume-role-with-saml` is in `web::sts`.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::signin::Answer;
use crate::web::admin::test_signin;
use crate::web::error::{PageError, WebError};
use crate::web::extract::{Browser, PageForm};
use crate::web::i18n::Msg;
use crate::web::session::enter;
use crate::web::step_up;
use crate::web::{AppState, cookies};

/// The largest body the ACS and the SAML STS endpoint accept (a response with an encrypted
/// assertion and many groups is larger than a form).
pub const MAX_SAML_BODY_BYTES: usize = 256 * 1024;

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
    Browser(state, facts, headers): Browser,
    Path(provider): Path<String>,
    PageForm(form): PageForm<AcsForm>,
) -> Result<Response, PageError> {
    let secure = state.config.server.secure_cookies;
    let binding = cookies::read(&headers, cookies::SAML_BINDING, secure);
    let answer = Answer::Saml {
        response: &form.saml_response,
        relay_state: form.relay_state.as_deref(),
        binding: binding.as_ref(),
    };
    let mut signed_in = state.signin().finish(&provider, answer, &facts).await?;
    let mut response = match test_signin::conclude(&state, &mut signed_in).await? {
        Some(tested) => tested,
        None => match step_up::conclude(&state, &mut signed_in).await? {
            Some(stepped) => stepped,
            None => enter(&state, &headers, signed_in).await?,
        },
    };
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
    let connector = state.connectors.saml(&provider).ok_or_else(|| {
        WebError::NotFound(
            Msg::new("error-no-saml-provider")
                .arg("provider", provider.chars().take(64).collect::<String>()),
        )
    })?;
    let xml = connector
        .sp_metadata(state.clock.now())
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        xml,
    )
        .into_response())
}
