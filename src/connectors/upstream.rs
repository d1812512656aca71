//! What the redirect connectors (`oidc`, `oauth2`) share: the upstream HTTP client (rustls,
//! timeouts on every call, no redirects followed, response bodies capped), the error type
//! that names what went wrong with the provider, and the login state kept in the login
//! transaction (RFC 6749 §10.12 `state`, OIDC Core §3.1.2.1 `nonce`, RFC 7636 PKCE).

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::secret::Secret;
use crate::session::random_id;

/// The largest upstream response body read (discovery, JWKS, token, userinfo, API).
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// How long establishing a connection may take, within the overall timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which upstream endpoint a call went to, for messages and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/.well-known/openid-configuration`.
    Discovery,
    /// `jwks_uri`.
    Jwks,
    /// The token endpoint.
    Token,
    /// The userinfo endpoint.
    Userinfo,
    /// A REST API call (GitHub).
    Api,
}

impl Endpoint {
    fn as_str(self) -> &'static str {
        match self {
            Endpoint::Discovery => "discovery document",
            Endpoint::Jwks => "signing keys (JWKS)",
            Endpoint::Token => "token endpoint",
            Endpoint::Userinfo => "userinfo endpoint",
            Endpoint::Api => "API",
        }
    }
}

impl Endpoint {
    /// The `operation` label of the upstream metrics.
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Discovery => "discovery",
            Endpoint::Jwks => "jwks",
            Endpoint::Token => "token",
            Endpoint::Userinfo => "userinfo",
            Endpoint::Api => "api",
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a valid identity may not sign in through a provider (its settings restrict who may).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAllowed {
    /// Not a member of any of these GitHub organizations.
    #[error(
        "only members of the GitHub organization{} {} may sign in here",
        if .0.len() == 1 { "" } else { "s" },
        .0.join(", ")
    )]
    Organization(Vec<String>),
    /// The provider has not verified the account's email address.
    #[error("the provider has not verified the email address of this account")]
    UnverifiedEmail,
    /// The account's domain (shortened) is not an allowed one.
    #[error("accounts of the domain \"{0}\" may not sign in here")]
    Domain(String),
    /// The account has no verified email address of a domain to check.
    #[error("only accounts with a verified email address of an allowed domain may sign in here")]
    NoAllowedDomain,
    /// The Microsoft Entra tenant is not an allowed one.
    #[error("accounts of this Microsoft Entra tenant may not sign in here")]
    Tenant,
}

/// Why a sign-in through an upstream provider failed. Messages are written for the person
/// signing in (they name no secret, code or token); [`UpstreamError::detail`] adds what the
/// log needs.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The provider sent the person back with an OAuth error (`error=access_denied`…).
    #[error("the provider refused the sign-in ({error}){}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Denied {
        /// The OAuth error code.
        error: String,
        /// Its description, shortened.
        description: Option<String>,
    },
    /// The callback does not belong to a sign-in started in this browser, or was used.
    #[error("this sign-in link expired, was already used or was started in another browser")]
    UnknownTransaction,
    /// `state` did not match the login transaction.
    #[error("the sign-in answer did not match the sign-in that was started (state mismatch)")]
    StateMismatch,
    /// The callback lacks the code.
    #[error("the provider's answer carries no authorization code")]
    MissingCode,
    /// The provider could not be reached.
    #[error("the provider could not be reached ({endpoint})")]
    Unreachable {
        /// Which call.
        endpoint: Endpoint,
        /// The cause, for the log.
        detail: String,
    },
    /// The TLS handshake failed (bad or untrusted certificate, not TLS at all).
    #[error("a secure (TLS) connection to the provider could not be established ({endpoint})")]
    Tls {
        /// Which call.
        endpoint: Endpoint,
        /// The cause, for the log.
        detail: String,
    },
    /// The call timed out.
    #[error("the provider did not answer in time ({endpoint}, {}s)", timeout.as_secs())]
    Timeout {
        /// Which call.
        endpoint: Endpoint,
        /// The limit.
        timeout: Duration,
    },
    /// An unexpected HTTP status.
    #[error("the provider's {endpoint} answered with HTTP {status}")]
    Status {
        /// Which call.
        endpoint: Endpoint,
        /// The status.
        status: u16,
        /// An OAuth `error` code in the body, if any.
        error: Option<String>,
    },
    /// The answer could not be read (not JSON, missing fields, too large).
    #[error("the provider's {endpoint} sent an answer Lanyard cannot read")]
    Malformed {
        /// Which call.
        endpoint: Endpoint,
        /// The cause, for the log.
        detail: String,
    },
    /// The ID token did not pass validation.
    #[error("the provider's ID token was not valid")]
    InvalidIdToken(#[from] crate::connectors::id_token::IdTokenError),
    /// Userinfo belongs to someone else (`sub` differs from the ID token's).
    #[error("the provider's userinfo does not describe the signed-in person")]
    UserinfoSubjectMismatch,
    /// The identity is valid but not allowed here (domain, tenant, organization, email).
    #[error("{0}")]
    NotAllowed(NotAllowed),
    /// Lanyard's own configuration cannot be used (e.g. the client assertion key).
    #[error("the provider is misconfigured in Lanyard")]
    Config(String),
}

impl UpstreamError {
    /// Internal detail for the log (never shown to the person).
    pub fn detail(&self) -> String {
        match self {
            UpstreamError::Unreachable { detail, .. }
            | UpstreamError::Tls { detail, .. }
            | UpstreamError::Malformed { detail, .. }
            | UpstreamError::Config(detail) => detail.clone(),
            UpstreamError::InvalidIdToken(e) => e.to_string(),
            UpstreamError::Status {
                error: Some(code), ..
            } => format!("error={code}"),
            other => other.to_string(),
        }
    }

    /// Whether the provider (or the path to it) failed, rather than the person or the request:
    /// 502/504 rather than 4xx.
    pub fn is_provider_failure(&self) -> bool {
        matches!(
            self,
            UpstreamError::Unreachable { .. }
                | UpstreamError::Tls { .. }
                | UpstreamError::Timeout { .. }
                | UpstreamError::Status { .. }
                | UpstreamError::Malformed { .. }
                | UpstreamError::Config(_)
        )
    }
}

/// The upstream HTTP client of one provider.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    timeout: Duration,
    timer: super::CallTimer,
}

/// A form or query parameter list.
pub type Params<'a> = Vec<(&'a str, String)>;

impl Http {
    /// A client with `timeout` on every call (connect within 5 s of it), each call timed
    /// by `timer`.
    pub fn new(timeout: Duration, timer: super::CallTimer) -> Result<Self, UpstreamError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Lanyard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| UpstreamError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            client,
            timeout,
            timer,
        })
    }

    /// `GET url` as JSON, optionally with a bearer token.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        url: &Url,
        bearer: Option<&Secret>,
        accept: &str,
    ) -> Result<T, UpstreamError> {
        let mut req = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, accept);
        if let Some(token) = bearer {
            req = req.bearer_auth(token.expose_secret());
        }
        let body = self.send(endpoint, req, MAX_RESPONSE_BYTES).await?;
        parse_json(endpoint, &body)
    }

    /// `GET url`, the body as bytes, at most `max_bytes` of them (a larger body is
    /// [`UpstreamError::Malformed`]).
    pub async fn get_bytes(
        &self,
        endpoint: Endpoint,
        url: &Url,
        accept: &str,
        max_bytes: usize,
    ) -> Result<Vec<u8>, UpstreamError> {
        let req = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, accept);
        self.send(endpoint, req, max_bytes).await
    }

    /// `POST url` with a form body, optionally with HTTP Basic client authentication
    /// (RFC 6749 §2.3.1: both parts form-urlencoded first).
    pub async fn post_form<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        url: &Url,
        form: &Params<'_>,
        basic: Option<(&str, &Secret)>,
    ) -> Result<T, UpstreamError> {
        let mut req = self
            .client
            .post(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form);
        if let Some((user, password)) = basic {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            req = req.basic_auth(enc(user), Some(enc(password.expose_secret())));
        }
        let body = self.send(endpoint, req, MAX_RESPONSE_BYTES).await?;
        parse_json(endpoint, &body)
    }

    async fn send(
        &self,
        endpoint: Endpoint,
        req: reqwest::RequestBuilder,
        max_bytes: usize,
    ) -> Result<Vec<u8>, UpstreamError> {
        self.timer
            .time(endpoint.label(), self.exchange(endpoint, req, max_bytes))
            .await
    }

    async fn exchange(
        &self,
        endpoint: Endpoint,
        req: reqwest::RequestBuilder,
        max_bytes: usize,
    ) -> Result<Vec<u8>, UpstreamError> {
        let mut resp = req.send().await.map_err(|e| self.classify(endpoint, &e))?;
        let status = resp.status();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.classify(endpoint, &e))?
        {
            if body.len() + chunk.len() > max_bytes {
                return Err(UpstreamError::Malformed {
                    endpoint,
                    detail: format!("response larger than {max_bytes} bytes"),
                });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            #[derive(Deserialize)]
            struct OAuthError {
                error: String,
            }
            let error = serde_json::from_slice::<OAuthError>(&body)
                .ok()
                .map(|e| short(&e.error, 64));
            return Err(UpstreamError::Status {
                endpoint,
                status: status.as_u16(),
                error,
            });
        }
        Ok(body)
    }

    fn classify(&self, endpoint: Endpoint, e: &reqwest::Error) -> UpstreamError {
        // The URL is dropped from messages: a token endpoint URL holds nothing secret, but an
        // error chain of a failed request should not need to be reasoned about.
        let chain = error_chain(&e.without_url_ref());
        if e.is_timeout() {
            UpstreamError::Timeout {
                endpoint,
                timeout: self.timeout,
            }
        } else if [
            "certificate",
            "tls",
            "TLS",
            "Tls",
            "rustls",
            "handshake",
            "InvalidContentType",
        ]
        .iter()
        .any(|m| chain.contains(m))
        {
            UpstreamError::Tls {
                endpoint,
                detail: chain,
            }
        } else {
            UpstreamError::Unreachable {
                endpoint,
                detail: chain,
            }
        }
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut out = String::new();
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(self);
        out.push_str(if self.is_connect() {
            "connect error"
        } else if self.is_body() || self.is_decode() {
            "body error"
        } else {
            "request error"
        });
        while let Some(s) = source {
            out.push_str(": ");
            out.push_str(&s.to_string());
            source = s.source();
        }
        out
    }
}

fn error_chain(s: &str) -> String {
    short(s, 300)
}

fn parse_json<T: DeserializeOwned>(endpoint: Endpoint, body: &[u8]) -> Result<T, UpstreamError> {
    serde_json::from_slice(body).map_err(|e| UpstreamError::Malformed {
        endpoint,
        // Position and category only: the body may hold tokens.
        detail: format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ),
    })
}

/// At most `max` characters of `s`, without control characters.
pub fn short(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

pub use crate::identity::UpstreamLogin;

impl UpstreamLogin {
    /// Fresh random `state`, `nonce` and PKCE verifier (256 bits each).
    pub fn fresh() -> Self {
        Self {
            state: random_id().expose_secret().to_owned(),
            nonce: random_id().expose_secret().to_owned(),
            pkce_verifier: random_id().expose_secret().to_owned(),
        }
    }

    /// The S256 `code_challenge` of the verifier (RFC 7636 §4.2).
    pub fn pkce_challenge(&self) -> String {
        crate::session::digest(&self.pkce_verifier)
    }

    /// Whether the `state` of a callback is this login's (constant time).
    pub fn state_matches(&self, given: &str) -> bool {
        !self.state.is_empty() && Secret::new(self.state.as_str()) == Secret::new(given)
    }
}

/// The query of a redirect callback (RFC 6749 §4.1.2 and §4.1.2.1).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallbackParams {
    /// The authorization code.
    pub code: Option<Secret>,
    /// The state.
    pub state: Option<String>,
    /// An error code.
    pub error: Option<String>,
    /// Its description.
    pub error_description: Option<String>,
    /// The issuer (RFC 9207), checked when present.
    pub iss: Option<String>,
}

impl CallbackParams {
    /// Whether this callback answers `login`: its `state` matches (constant time). Checked
    /// before the login transaction is taken, so a forged callback cannot end it.
    pub fn answers(&self, login: Option<&UpstreamLogin>) -> bool {
        login.is_some_and(|l| l.state_matches(self.state.as_deref().unwrap_or("")))
    }

    /// Checks `state` against the login, then turns an upstream `error` into [`UpstreamError`];
    /// returns the code.
    pub fn code_for(&self, login: &UpstreamLogin) -> Result<Secret, UpstreamError> {
        if !login.state_matches(self.state.as_deref().unwrap_or("")) {
            return Err(UpstreamError::StateMismatch);
        }
        if let Some(error) = &self.error {
            return Err(UpstreamError::Denied {
                error: short(error, 64),
                description: self.error_description.as_deref().map(|d| short(d, 200)),
            });
        }
        match &self.code {
            Some(code) if !code.is_empty() && code.expose_secret().len() <= 4096 => {
                Ok(code.clone())
            }
            _ => Err(UpstreamError::MissingCode),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636_appendix_b() {
        let login = UpstreamLogin {
            state: "s".into(),
            nonce: "n".into(),
            pkce_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
        };
        assert_eq!(
            login.pkce_challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn callback_checks_state_before_anything() {
        let login = UpstreamLogin::fresh();
        let mut p = CallbackParams {
            code: Some(Secret::new("c")),
            state: Some("other".into()),
            ..Default::default()
        };
        assert!(matches!(
            p.code_for(&login),
            Err(UpstreamError::StateMismatch)
        ));
        p.state = Some(login.state.clone());
        assert!(p.code_for(&login).is_ok());
        p.error = Some("access_denied".into());
        assert!(matches!(
            p.code_for(&login),
            Err(UpstreamError::Denied { .. })
        ));
        let debug = format!("{login:?}");
        assert!(!debug.contains(&login.state));
    }
}
