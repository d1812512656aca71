//! Extractors: a page form, a page query and an API JSON body whose rejections are mapped
//! once (STYLE.md item 20), and the facts of a request (client address, user agent, now, transport) that
//! trust evaluation and the audit trail use.
//!
//! May import: `roles` (the facts type), `web::error`, `web::client_ip`, `web::i18n`.

use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::{Form, Json};
use serde::de::DeserializeOwned;

use crate::roles::RequestFacts;
use crate::web::error::{ApiError, PageError, WebError};
use crate::web::i18n::Msg;
use crate::web::{AppState, ClientIp};

/// The longest `User-Agent` kept, in characters.
pub const USER_AGENT_CHARS: usize = 256;

/// Declares a wrapper extractor over an axum one (`$inner`, a `$trait` extractor) whose
/// rejection is mapped once, by `$map`, into one of ours (`$rejection`).
macro_rules! mapped_extractor {
    ($(#[$doc:meta])* $name:ident: $trait:ident::$method:ident($input:ty) over $inner:ident,
     $rejection:ident by $map:expr) => {
        $(#[$doc])*
        pub struct $name<T>(pub T);

        impl<S, T> $trait<S> for $name<T>
        where
            S: Send + Sync,
            T: DeserializeOwned,
        {
            type Rejection = $rejection;

            async fn $method(input: $input, state: &S) -> Result<Self, $rejection> {
                match $inner::<T>::$method(input, state).await {
                    Ok($inner(v)) => Ok($name(v)),
                    Err(e) => Err($rejection($map(&e))),
                }
            }
        }
    };
}

mapped_extractor!(
    /// A form posted to a page. A form that cannot be read becomes a plain sentence for
    /// the person, never the deserializer's developer text (that goes to the log).
    PageForm: FromRequest::from_request(Request) over Form, PageError by form_rejection
);

mapped_extractor!(
    /// The query of a page, its rejection a plain sentence like [`PageForm`]'s.
    PageQuery: FromRequestParts::from_request_parts(&mut Parts) over Query, PageError
        by query_rejection
);

mapped_extractor!(
    /// A JSON body of an API, its rejection an OAuth-style JSON error.
    ApiJson: FromRequest::from_request(Request) over Json, ApiError by json_rejection
);

/// What a page says about an address whose query it could not read.
fn query_rejection(e: &QueryRejection) -> WebError {
    unreadable(
        e.status(),
        &e.body_text(),
        Msg::new("error-address-unreadable"),
    )
}

/// What a page says about a form it could not read (the detail goes to the log only).
pub fn form_rejection(e: &FormRejection) -> WebError {
    unreadable(
        e.status(),
        &e.body_text(),
        Msg::new("error-form-unreadable"),
    )
}

/// What an API says about a JSON body it could not read (in English: APIs are read by
/// programs and their developers).
pub fn json_rejection(e: &JsonRejection) -> WebError {
    let sentence = match e {
        JsonRejection::MissingJsonContentType(_) => {
            "the body must be JSON, sent with Content-Type: application/json"
        }
        _ => "the body is not the JSON object this endpoint expects",
    };
    unreadable(e.status(), &e.body_text(), Msg::verbatim(sentence))
}

fn unreadable(status: StatusCode, detail: &str, sentence: Msg) -> WebError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return WebError::PayloadTooLarge;
    }
    tracing::info!(detail, "request body unreadable");
    WebError::BadRequest(sentence)
}

impl FromRequestParts<AppState> for RequestFacts {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(ClientIp(source_ip)) = ClientIp::from_request_parts(parts, state).await;
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(user_agent)
            .filter(|ua| !ua.is_empty());
        Ok(RequestFacts {
            source_ip,
            now: state.clock.now(),
            secure_transport: state.config.server.secure_cookies,
            user_agent,
        })
    }
}

/// A browser's request as the page handlers see it, in one extractor: the broker's
/// state, the request's facts (address, user agent, time, transport) and its headers
/// (the cookies).
pub struct Browser(pub AppState, pub RequestFacts, pub HeaderMap);

impl FromRequestParts<AppState> for Browser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(facts) = RequestFacts::from_request_parts(parts, state).await;
        Ok(Browser(state.clone(), facts, parts.headers.clone()))
    }
}

/// A `User-Agent` as kept: at most [`USER_AGENT_CHARS`] characters, no control characters.
fn user_agent(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .take(USER_AGENT_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_agent_is_truncated_and_printable() {
        let long = "x".repeat(1000);
        assert_eq!(user_agent(&long).len(), USER_AGENT_CHARS);
        assert_eq!(user_agent("curl/8\u{7}.1"), "curl/8.1");
    }
}
