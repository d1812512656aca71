//! The settings of a registered client: how it authenticates, which grants it may use, where
//! it may be sent back to, which roles it may receive. Built by `config` from `[[clients]]`.
//!
//! May import: `tokens` (a `private_key_jwt` client's keys), `secret`.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::identity::{ClientId, RoleName};
use crate::secret::Secret;
use crate::tokens::jose::PublicKeys;

/// A grant type a client may use at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    /// `authorization_code` (with PKCE).
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials`, for machine clients with a `machine_role`.
    ClientCredentials,
    /// RFC 8693 token exchange: an upstream provider's JWT for role credentials.
    TokenExchange,
    /// RFC 8628 device authorization: a person approves a command-line tool's request on
    /// the `/device` page (config value `device_code`).
    DeviceCode,
}

/// RFC 8693's grant type URN.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// RFC 8628's grant type URN (§3.4), the `grant_type` of a device code poll.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

impl GrantType {
    /// The `grant_type` on the wire (RFC 6749 names, RFC 8693 and RFC 8628 URNs).
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::TokenExchange => TOKEN_EXCHANGE_GRANT,
            GrantType::DeviceCode => DEVICE_CODE_GRANT,
        }
    }
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// A confidential client: its secret's argon2id hash.
    SecretHash(Secret),
    /// A public client (a SPA or a CLI): no secret, PKCE required.
    Public,
    /// `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9): a JWT signed with one of these
    /// public keys. HMAC keys are refused.
    PrivateKeyJwt(Arc<PublicKeys>),
}

/// Which tokens a client may introspect (`introspect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntrospectScope {
    /// `"own"` (the default): tokens issued to it or whose `aud` is its audience.
    Own,
    /// `"any"`: every token Lanyard issued (a resource server serving many applications).
    Any,
}

/// A registered application (an OpenID Connect relying party or a machine client): one
/// `[[clients]]` entry.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// `client_id`.
    pub id: ClientId,
    /// Name shown to people.
    pub name: String,
    /// Authentication.
    pub auth: ClientAuth,
    /// Registered redirect URIs (exact match).
    pub redirect_uris: Vec<Url>,
    /// Where RP-initiated logout may send people back to.
    pub post_logout_redirect_uris: Vec<Url>,
    /// Roles this client may receive (the role picker shows only the intersection).
    pub allowed_roles: Vec<RoleName>,
    /// `aud` of access tokens issued to this client.
    pub audience: String,
    /// Whether `/v1/authorize` takes `aws:SourceIp` from this client's context (the
    /// application is trusted to report the address of the person it serves); otherwise a
    /// caller's `aws:SourceIp` is refused and the request's own address is used.
    pub assert_source_ip: bool,
    /// Grant types allowed.
    pub grant_types: Vec<GrantType>,
    /// Lifetime of access tokens (capped by the role's maximum).
    pub access_token_lifetime: Option<Duration>,
    /// Lifetime of refresh tokens (never beyond the SSO session's absolute timeout).
    pub refresh_token_lifetime: Duration,
    /// The role a `client_credentials` client assumes.
    pub machine_role: Option<String>,
    /// Which tokens it may introspect (public clients may introspect none).
    pub introspect: IntrospectScope,
}

impl ClientSettings {
    /// Whether the client may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}
