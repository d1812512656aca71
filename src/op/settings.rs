//! The settings of a registered client: how it authenticates, which grants it may use, where
//! it may be sent back to, which roles it may receive. Built by `config` from `[[clients]]`.
//!
//! May import: `tokens` (a `private_key_jwt` client's keys), `secret`, `clock` (when a
//! generated secret stops working).

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::clock::UnixTime;
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
    /// A client kept in the database (the admin API): the secrets Lanyard generated for
    /// it, each checked by its SHA-256 ([`crate::op::clients::fast_hash`]); the current one
    /// and those still in their overlap after a rotation.
    GeneratedSecrets(Arc<[GeneratedSecret]>),
    /// A public client (a SPA or a CLI): no secret, PKCE required.
    Public,
    /// `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9): a JWT signed with one of these
    /// public keys. HMAC keys are refused.
    PrivateKeyJwt(Arc<PublicKeys>),
}

/// A secret Lanyard generated for a client: the SHA-256 of the secret (256 random bits, so
/// a fast hash is enough), and when it stops working.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedSecret {
    /// The SHA-256 of the secret.
    pub digest: [u8; 32],
    /// The first instant at which it no longer works (`None`: until a rotation replaces it).
    pub not_after: Option<UnixTime>,
}

impl GeneratedSecret {
    /// Whether the secret still works at `now`.
    pub fn works_at(&self, now: UnixTime) -> bool {
        self.not_after.is_none_or(|end| now < end)
    }
}

impl std::fmt::Debug for GeneratedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedSecret")
            .field("digest", &"[redacted]")
            .field("not_after", &self.not_after)
            .finish()
    }
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
