//! OAuth 2.0 protocol errors (RFC 6749 §4.1.2.1 and §5.2, OpenID Connect Core §3.1.2.6,
//! OpenID Connect Core Unmet Authentication Requirements 1.0, RFC 8628 §3.5), carrying the
//! registered error codes.

/// An error answered to an application in OAuth form.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// `invalid_request`.
    #[error("{0}")]
    InvalidRequest(String),
    /// `invalid_client`: unknown client or failed client authentication.
    #[error("client authentication failed")]
    InvalidClient,
    /// `invalid_grant`: the code or refresh token is invalid, expired, used or not this client's.
    #[error("{0}")]
    InvalidGrant(String),
    /// `unauthorized_client`: this client may not use this grant.
    #[error("{0}")]
    UnauthorizedClient(String),
    /// `unsupported_grant_type`.
    #[error("unsupported grant_type")]
    UnsupportedGrantType,
    /// `unsupported_response_type`.
    #[error("only response_type=code is supported")]
    UnsupportedResponseType,
    /// `invalid_scope`.
    #[error("{0}")]
    InvalidScope(String),
    /// `access_denied`.
    #[error("{0}")]
    AccessDenied(String),
    /// `invalid_target` (RFC 8693 §2.2.2): no token can be issued for the requested role.
    #[error("{0}")]
    InvalidTarget(String),
    /// `unmet_authentication_requirements` (OpenID Connect Core Unmet Authentication
    /// Requirements 1.0 §2): the request asked for a second factor (`acr_values`) that the
    /// person's provider cannot ask for, or that the fresh sign-in did not bring.
    #[error("{0}")]
    UnmetAuthenticationRequirements(String),
    /// `login_required` (prompt=none without a session).
    #[error("the person is not signed in")]
    LoginRequired,
    /// `invalid_token` (RFC 6750).
    #[error("{0}")]
    InvalidToken(String),
    /// `temporarily_unavailable`: the session store is down.
    #[error("the session store is unavailable")]
    TemporarilyUnavailable(String),
    /// `temporarily_unavailable`: too many client authentications are waiting; retry
    /// after a second.
    #[error("too many client authentications are in progress; retry in a second")]
    Busy,
    /// `server_error`.
    #[error("internal error")]
    ServerError(String),
    /// `authorization_pending` (RFC 8628 §3.5): the person has not answered yet.
    #[error("the person has not approved the sign-in yet; keep polling")]
    AuthorizationPending,
    /// `slow_down` (RFC 8628 §3.5): polled sooner than the interval, which is now
    /// `interval` seconds.
    #[error("polled too often; wait {interval} seconds between polls")]
    SlowDown {
        /// The interval from now on, in seconds.
        interval: u64,
    },
    /// `expired_token` (RFC 8628 §3.5): the device code expired; start again.
    #[error("the device code has expired; start the sign-in again")]
    ExpiredToken,
}

impl OAuthError {
    /// The registered error code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnauthorizedClient(_) => "unauthorized_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::UnsupportedResponseType => "unsupported_response_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::AccessDenied(_) => "access_denied",
            OAuthError::InvalidTarget(_) => "invalid_target",
            OAuthError::UnmetAuthenticationRequirements(_) => "unmet_authentication_requirements",
            OAuthError::LoginRequired => "login_required",
            OAuthError::InvalidToken(_) => "invalid_token",
            OAuthError::TemporarilyUnavailable(_) | OAuthError::Busy => "temporarily_unavailable",
            OAuthError::ServerError(_) => "server_error",
            OAuthError::AuthorizationPending => "authorization_pending",
            OAuthError::SlowDown { .. } => "slow_down",
            OAuthError::ExpiredToken => "expired_token",
        }
    }
}

impl From<crate::sso::SsoError> for OAuthError {
    fn from(e: crate::sso::SsoError) -> Self {
        match e {
            crate::sso::SsoError::Store(e) => OAuthError::TemporarilyUnavailable(e.to_string()),
            crate::sso::SsoError::Corrupt => OAuthError::ServerError(e.to_string()),
        }
    }
}

impl From<crate::session::StoreError> for OAuthError {
    fn from(e: crate::session::StoreError) -> Self {
        OAuthError::TemporarilyUnavailable(e.to_string())
    }
}
