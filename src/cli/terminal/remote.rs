//! The command line's HTTP client of one Lanyard: discovery (OpenID Connect Discovery 1.0
//! §4, RFC 8414 §3.3: the issuer must be the URL asked), the token endpoint (RFC 6749 §4.1.3
//! code, §6 refresh; RFC 8628 §3.4 device code, with its §3.5 polling errors), the device
//! authorization endpoint (RFC 8628 §3.1), revocation (RFC 7009) and `GET /v1/roles`.
//!
//! Tokens are [`Secret`]s from the moment they are read; nothing here logs. Plain `http` is
//! refused except to a loopback address, as for redirect URIs (a bearer token must not
//! cross a network in clear).
//!
//! May import: `secret`, `tokens` (reading a token's claims unverified, for its role).

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::secret::Secret;

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// RFC 8628 §3.4's grant type.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The scope the command line asks for.
pub const SCOPE: &str = "openid offline_access";

/// Why a call to Lanyard failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The URL is not one to send tokens to.
    #[error("{0}")]
    BadUrl(String),
    /// No answer (connection refused, DNS, TLS, timeout).
    #[error("cannot reach Lanyard at {url}: {reason}")]
    Unreachable {
        /// Where.
        url: String,
        /// Why, as the HTTP client says.
        reason: String,
    },
    /// An answer that is not what the protocol says (not JSON, a 5xx, a wrong issuer).
    #[error("unexpected answer from {url}: {reason}")]
    Unexpected {
        /// Where.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// An OAuth error answer (RFC 6749 §5.2), e.g. `invalid_grant`.
    #[error("{description} ({code})")]
    OAuth {
        /// The error code.
        code: String,
        /// Its description, or the code again.
        description: String,
    },
    /// The bearer token was refused (401).
    #[error("the access token was refused: {0}")]
    Unauthorized(String),
    /// This Lanyard lacks an endpoint the command needs.
    #[error("{0}")]
    Unsupported(String),
}

impl RemoteError {
    /// The OAuth error code, when the answer was an OAuth error.
    pub fn oauth_code(&self) -> Option<&str> {
        match self {
            RemoteError::OAuth { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// The endpoints of a Lanyard, from its discovery document.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    revocation_endpoint: Option<String>,
    #[serde(default)]
    device_authorization_endpoint: Option<String>,
}

/// A token endpoint answer (RFC 6749 §5.1). `Debug` shows no token.
#[derive(Debug, Deserialize)]
pub struct TokenAnswer {
    /// The access token.
    pub access_token: Secret,
    /// `Bearer`.
    #[serde(default)]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The (rotated) refresh token.
    #[serde(default)]
    pub refresh_token: Option<Secret>,
}

impl TokenAnswer {
    /// The `role` claim of the access token, read without verifying it: the server the
    /// token came from is the one that verifies it; this only names the stored entry.
    pub fn role(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct RoleClaim {
            role: String,
        }
        let jws = crate::tokens::jose::UnverifiedJws::parse(self.access_token.expose_secret());
        jws.ok()?
            .untrusted_claims::<RoleClaim>()
            .ok()
            .map(|c| c.role)
    }
}

/// A device authorization answer (RFC 8628 §3.2). `Debug` shows no device code.
#[derive(Debug, Deserialize)]
pub struct DeviceAnswer {
    /// The device code, polled with.
    pub device_code: Secret,
    /// The code the person types.
    pub user_code: String,
    /// Where the person goes.
    pub verification_uri: String,
    /// Where the person goes with the code filled in.
    #[serde(default)]
    pub verification_uri_complete: Option<String>,
    /// Seconds until the codes expire.
    pub expires_in: u64,
    /// Seconds to wait between polls (5 when absent, §3.2).
    #[serde(default = "default_interval")]
    pub interval: u64,
}

fn default_interval() -> u64 {
    5
}

/// One role of `GET /v1/roles`.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct OfferedRole {
    /// The name.
    pub name: String,
    /// The description.
    #[serde(default)]
    pub description: String,
    /// The group on the picker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The longest credentials it grants, in seconds.
    pub max_duration_seconds: u64,
}

/// The answer of `GET /v1/roles`.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct RolesAnswer {
    /// The roles.
    pub roles: Vec<OfferedRole>,
    /// The token's role.
    pub current: String,
}

/// The normal form of a Lanyard URL as given by a person: no trailing slash, https (or
/// http to a loopback address).
pub fn normalize_url(given: &str) -> Result<String, RemoteError> {
    let trimmed = given.trim().trim_end_matches('/');
    let url = Url::parse(trimmed)
        .map_err(|e| RemoteError::BadUrl(format!("--url {given:?} is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(RemoteError::BadUrl(format!(
                "--url {given:?}: use https:// (plain http only to a loopback address)"
            )));
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(RemoteError::BadUrl(format!(
            "--url {given:?}: Lanyard's URL has no query or fragment"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A Lanyard, discovered.
#[derive(Debug, Clone)]
pub struct Remote {
    http: reqwest::Client,
    url: String,
    discovery: Discovery,
}

impl Remote {
    /// Reads the discovery document of the Lanyard at `url` (normalized, see
    /// [`normalize_url`]); its issuer must be `url`.
    pub async fn discover(url: &str) -> Result<Self, RemoteError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("lanyard-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RemoteError::Unreachable {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        let at = format!("{url}/.well-known/openid-configuration");
        let response = http.get(&at).send().await.map_err(unreachable(url))?;
        let discovery: Discovery = json_of(&at, response).await?;
        if discovery.issuer.trim_end_matches('/') != url {
            return Err(RemoteError::Unexpected {
                url: at,
                reason: format!(
                    "its issuer is {} (use --url {})",
                    discovery.issuer, discovery.issuer
                ),
            });
        }
        Ok(Self {
            http,
            url: url.to_owned(),
            discovery,
        })
    }

    /// Lanyard's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The authorization endpoint.
    pub fn authorization_endpoint(&self) -> Result<Url, RemoteError> {
        Url::parse(&self.discovery.authorization_endpoint).map_err(|e| RemoteError::Unexpected {
            url: self.url.clone(),
            reason: format!("its authorization_endpoint is not a URL: {e}"),
        })
    }

    /// RFC 8628 §3.1: asks for a device code and a user code.
    pub async fn device_authorization(
        &self,
        client_id: &str,
        role: Option<&str>,
    ) -> Result<DeviceAnswer, RemoteError> {
        let endpoint = self
            .discovery
            .device_authorization_endpoint
            .as_deref()
            .ok_or_else(|| {
                RemoteError::Unsupported(format!(
                    "{} offers no device authorization (RFC 8628); sign in with \
                     `lanyard login --browser` instead",
                    self.url
                ))
            })?;
        let mut form = vec![("client_id", client_id), ("scope", SCOPE)];
        if let Some(role) = role {
            form.push(("role", role));
        }
        self.post_form(endpoint, &form).await
    }

    /// The token endpoint with `form` (a grant and the client's id).
    pub async fn token(&self, form: &[(&str, &str)]) -> Result<TokenAnswer, RemoteError> {
        let answer: TokenAnswer = self.post_form(&self.discovery.token_endpoint, form).await?;
        if !answer.token_type.eq_ignore_ascii_case("bearer") {
            return Err(RemoteError::Unexpected {
                url: self.discovery.token_endpoint.clone(),
                reason: format!("token_type {:?}, not Bearer", answer.token_type),
            });
        }
        Ok(answer)
    }

    /// RFC 7009: revokes `token` (an access or refresh token of `client_id`).
    pub async fn revoke(&self, client_id: &str, token: &Secret) -> Result<(), RemoteError> {
        let endpoint = self
            .discovery
            .revocation_endpoint
            .as_deref()
            .ok_or_else(|| {
                RemoteError::Unsupported(format!("{} offers no token revocation", self.url))
            })?;
        let form = [("token", token.expose_secret()), ("client_id", client_id)];
        let response = self
            .http
            .post(endpoint)
            .form(&form)
            .send()
            .await
            .map_err(unreachable(endpoint))?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(error_of(endpoint, response).await)
    }

    /// `GET /v1/roles` with `token`.
    pub async fn roles(&self, token: &Secret) -> Result<RolesAnswer, RemoteError> {
        let at = format!("{}/v1/roles", self.url);
        let response = self
            .http
            .get(&at)
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(unreachable(&at))?;
        json_of(&at, response).await
    }

    async fn post_form<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> Result<T, RemoteError> {
        let response = self
            .http
            .post(endpoint)
            .form(form)
            .send()
            .await
            .map_err(unreachable(endpoint))?;
        json_of(endpoint, response).await
    }
}

fn unreachable(url: &str) -> impl FnOnce(reqwest::Error) -> RemoteError + '_ {
    move |e| {
        // The innermost cause says it best ("Connection refused").
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            reason = s.to_string();
            source = s.source();
        }
        RemoteError::Unreachable {
            url: url.to_owned(),
            reason,
        }
    }
}

/// The JSON body of a 2xx answer, or the error the answer says.
async fn json_of<T: serde::de::DeserializeOwned>(
    url: &str,
    response: reqwest::Response,
) -> Result<T, RemoteError> {
    if !response.status().is_success() {
        return Err(error_of(url, response).await);
    }
    let bytes = response.bytes().await.map_err(unreachable(url))?;
    serde_json::from_slice(&bytes).map_err(|e| RemoteError::Unexpected {
        url: url.to_owned(),
        reason: format!("not the expected JSON: {e}"),
    })
}

/// The error an unsuccessful answer carries: OAuth JSON (RFC 6749 §5.2), 401, or other.
async fn error_of(url: &str, response: reqwest::Response) -> RemoteError {
    #[derive(Deserialize)]
    struct OAuthBody {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    let parsed = serde_json::from_slice::<OAuthBody>(&body).ok();
    match parsed {
        Some(b) if status == reqwest::StatusCode::UNAUTHORIZED && b.error == "invalid_token" => {
            RemoteError::Unauthorized(b.error_description.unwrap_or(b.error))
        }
        Some(b) if status.is_client_error() => RemoteError::OAuth {
            description: b.error_description.unwrap_or_else(|| b.error.clone()),
            code: b.error,
        },
        Some(b) => RemoteError::Unexpected {
            url: url.to_owned(),
            reason: format!("{status}: {}", b.error_description.unwrap_or(b.error)),
        },
        None if status == reqwest::StatusCode::UNAUTHORIZED => {
            RemoteError::Unauthorized(status.to_string())
        }
        None => RemoteError::Unexpected {
            url: url.to_owned(),
            reason: status.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalized_and_plain_http_only_to_loopback() {
        assert_eq!(
            normalize_url("https://sso.example.com/").unwrap(),
            "https://sso.example.com"
        );
        assert_eq!(
            normalize_url(" https://sso.example.com/lanyard/ ").unwrap(),
            "https://sso.example.com/lanyard"
        );
        assert_eq!(
            normalize_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            normalize_url("http://[::1]:8080/").unwrap(),
            "http://[::1]:8080"
        );
        for bad in [
            "http://sso.example.com",
            "ftp://sso.example.com",
            "sso.example.com",
            "https://sso.example.com/?x=1",
        ] {
            assert!(normalize_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_role_is_read_from_the_access_token() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let token = format!(
            "{}.{}.{}",
            b64(r#"{"alg":"ES256","typ":"at+jwt"}"#),
            b64(r#"{"role":"engineer"}"#),
            b64("sig")
        );
        let answer = TokenAnswer {
            access_token: Secret::new(token),
            token_type: "Bearer".into(),
            expires_in: 900,
            refresh_token: None,
        };
        assert_eq!(answer.role().as_deref(), Some("engineer"));
        assert!(!format!("{answer:?}").contains("eyJ"));
    }
}
