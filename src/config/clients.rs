//! `[[clients]]`: the applications (OpenID Connect relying parties and machine clients)
//! that Lanyard issues credentials to.

use std::time::Duration;

use url::Url;

use super::raw::RawClient;
use super::{Cx, MAX_SESSION_SECS, RoleConfig, check_session_bounds, is_loopback_host};
use crate::secret::Secret;

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
}

/// RFC 8693's grant type URN.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

impl GrantType {
    /// The RFC 6749 name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::TokenExchange => TOKEN_EXCHANGE_GRANT,
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
    PrivateKeyJwt(std::sync::Arc<crate::tokens::jose::PublicKeys>),
}

/// Which tokens a client may introspect (`introspect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntrospectScope {
    /// `"own"` (the default): tokens issued to it or whose `aud` is its audience.
    Own,
    /// `"any"`: every token Lanyard issued (a resource server serving many applications).
    Any,
}

/// One `[[clients]]` entry.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `client_id`.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// Authentication.
    pub auth: ClientAuth,
    /// Registered redirect URIs (exact match).
    pub redirect_uris: Vec<Url>,
    /// Where RP-initiated logout may send people back to.
    pub post_logout_redirect_uris: Vec<Url>,
    /// Roles this client may receive (the role picker shows only the intersection).
    pub allowed_roles: Vec<String>,
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

impl ClientConfig {
    /// Whether the client may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// A registered redirect URI: absolute, no fragment, https unless loopback http
/// (RFC 6749 §3.1.2, RFC 8252 §7.3), or a private-use scheme for native apps (RFC 8252 §7.1).
fn redirect_uri(cx: &mut Cx<'_>, path: &str, text: &str) -> Option<Url> {
    let url = match Url::parse(text) {
        Ok(u) => u,
        Err(e) => {
            cx.error(path, format!("{text:?} is not an absolute URL: {e}"));
            return None;
        }
    };
    if url.fragment().is_some() {
        cx.error(path, "must not contain a fragment (RFC 6749 §3.1.2)");
        return None;
    }
    match url.scheme() {
        "https" => Some(url),
        "http" if is_loopback_host(&url) => Some(url),
        "http" => {
            cx.error(
                path,
                "must be https:// unless the host is a loopback address",
            );
            None
        }
        "javascript" | "data" | "file" | "vbscript" => {
            cx.error(
                path,
                format!("the scheme \"{}\" is not allowed", url.scheme()),
            );
            None
        }
        // Private-use URI schemes of native apps (com.example.app:/callback).
        scheme if scheme.contains('.') => Some(url),
        scheme => {
            cx.error(
                path,
                format!(
                    "the scheme \"{scheme}\" is not allowed: use https, loopback http, or a \
                     reverse-domain private-use scheme"
                ),
            );
            None
        }
    }
}

impl Cx<'_> {
    pub(super) fn clients(
        &mut self,
        raws: Vec<RawClient>,
        roles: &[RoleConfig],
        absolute_timeout: Duration,
    ) -> Vec<ClientConfig> {
        let mut out: Vec<ClientConfig> = Vec::new();
        for (i, raw) in raws.into_iter().enumerate() {
            let path = format!("clients[{i}]");
            let id_ok = (1..=128).contains(&raw.id.len())
                && raw
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
            if !id_ok {
                self.error(
                    format!("{path}.id"),
                    "must be 1-128 characters of A-Z a-z 0-9 - _ . :",
                );
                continue;
            }
            if out.iter().any(|c| c.id == raw.id) {
                self.error(
                    format!("{path}.id"),
                    format!("a client with id \"{}\" is already defined", raw.id),
                );
                continue;
            }
            let secret = self.secret(
                &format!("{path}.secret_hash"),
                raw.secret_hash.clone(),
                raw.secret_hash_file.clone(),
                "secret_hash_file",
            );
            let jwks = match raw.jwks_file.as_deref() {
                None => None,
                Some(file) => {
                    let p = format!("{path}.jwks_file");
                    match self.client_jwks(&p, file) {
                        Some(set) => Some(set),
                        None => continue,
                    }
                }
            };
            if let Some(set) = jwks {
                if secret.is_some() || raw.public {
                    self.error(
                        format!("{path}.jwks_file"),
                        "a private_key_jwt client has no secret and is not public",
                    );
                    continue;
                }
                let auth = ClientAuth::PrivateKeyJwt(std::sync::Arc::new(set));
                if let Some(c) = self.client_rest(&path, raw, auth, roles, absolute_timeout) {
                    out.push(c);
                }
                continue;
            }
            let auth = match (secret, raw.public) {
                (Some(_), true) => {
                    self.error(
                        format!("{path}.public"),
                        "a public client has no secret: remove secret_hash or public",
                    );
                    continue;
                }
                (Some(h), false)
                    if h.expose_secret().starts_with("$argon2id$")
                        || crate::op::clients::fast_hash_digest(h.expose_secret()).is_some() =>
                {
                    ClientAuth::SecretHash(h)
                }
                (Some(_), false) => {
                    self.error(
                        format!("{path}.secret_hash"),
                        "must be an argon2id PHC string ($argon2id$v=19$...; make one with \
                         `lanyard hash-password`) or the sha256: hash of a generated secret \
                         (`lanyard client-secret`)",
                    );
                    continue;
                }
                (None, true) => ClientAuth::Public,
                (None, false) => {
                    self.error(
                        format!("{path}.secret_hash"),
                        "is required for a confidential client (or set public = true)",
                    );
                    continue;
                }
            };
            if let Some(c) = self.client_rest(&path, raw, auth, roles, absolute_timeout) {
                out.push(c);
            }
        }
        out
    }

    /// Everything of a client after its authentication method.
    fn client_rest(
        &mut self,
        path: &str,
        raw: RawClient,
        auth: ClientAuth,
        roles: &[RoleConfig],
        absolute_timeout: Duration,
    ) -> Option<ClientConfig> {
        let grant_types = match raw.grant_types {
            None => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            Some(names) => {
                let mut grants = Vec::new();
                for (j, name) in names.iter().enumerate() {
                    match name.as_str() {
                        "authorization_code" => grants.push(GrantType::AuthorizationCode),
                        "refresh_token" => grants.push(GrantType::RefreshToken),
                        "client_credentials" => grants.push(GrantType::ClientCredentials),
                        "token_exchange" | TOKEN_EXCHANGE_GRANT => {
                            grants.push(GrantType::TokenExchange)
                        }
                        other => self.error(
                            format!("{path}.grant_types[{j}]"),
                            format!(
                                "unknown grant type \"{other}\"; use authorization_code, \
                                 refresh_token, client_credentials or token_exchange"
                            ),
                        ),
                    }
                }
                grants
            }
        };
        let mut redirect_uris = Vec::new();
        for (j, u) in raw.redirect_uris.iter().enumerate() {
            if let Some(u) = redirect_uri(self, &format!("{path}.redirect_uris[{j}]"), u) {
                redirect_uris.push(u);
            }
        }
        if grant_types.contains(&GrantType::AuthorizationCode) && raw.redirect_uris.is_empty() {
            self.error(
                format!("{path}.redirect_uris"),
                "at least one redirect URI is required for authorization_code",
            );
        }
        let mut post_logout_redirect_uris = Vec::new();
        for (j, u) in raw.post_logout_redirect_uris.iter().enumerate() {
            let p = format!("{path}.post_logout_redirect_uris[{j}]");
            if let Some(u) = redirect_uri(self, &p, u) {
                post_logout_redirect_uris.push(u);
            }
        }
        for (j, role) in raw.allowed_roles.iter().enumerate() {
            if !roles.iter().any(|r| &r.name == role) {
                self.error(
                    format!("{path}.allowed_roles[{j}]"),
                    format!("no role named \"{role}\" in [[roles]]"),
                );
            }
        }
        if let Some(role) = &raw.machine_role {
            match roles.iter().find(|r| &r.name == role) {
                None => self.error(
                    format!("{path}.machine_role"),
                    format!("no role named \"{role}\" in [[roles]]"),
                ),
                Some(r) if !crate::roles::could_trust_client(r, &raw.id) => self.error(
                    format!("{path}.machine_role"),
                    format!(
                        "the trust policy of role \"{role}\" has no Allow statement for \
                         Principal = {{ AWS = \"{}\" }} with Action \"{}\", so this client \
                         could never get its credentials",
                        crate::roles::client_arn(&raw.id),
                        crate::roles::CLIENT_TRUST_ACTION
                    ),
                ),
                Some(_) => {}
            }
            if !grant_types.contains(&GrantType::ClientCredentials) {
                self.error(
                    format!("{path}.machine_role"),
                    "only meaningful with grant_types = [\"client_credentials\"]",
                );
            }
            if matches!(auth, ClientAuth::Public) {
                self.error(
                    format!("{path}.machine_role"),
                    "a public client cannot use client_credentials",
                );
            }
        } else if grant_types.contains(&GrantType::ClientCredentials) {
            self.error(
                format!("{path}.machine_role"),
                "is required with client_credentials: the role the client assumes",
            );
        }
        // As for client_credentials: tokens issued to the client without a person need a
        // client that proves who it is.
        if grant_types.contains(&GrantType::TokenExchange) && matches!(auth, ClientAuth::Public) {
            self.error(
                format!("{path}.grant_types"),
                "a public client cannot use token_exchange",
            );
        }
        // A public client's tokens are in the hands of whoever uses it, who could then
        // claim any address.
        if raw.assert_source_ip && matches!(auth, ClientAuth::Public) {
            self.error(
                format!("{path}.assert_source_ip"),
                "a public client cannot be trusted to assert aws:SourceIp",
            );
        }
        let access_token_lifetime = raw.access_token_lifetime.as_deref().map(|t| {
            let d = self.duration(
                &format!("{path}.access_token_lifetime"),
                Some(t),
                Duration::from_secs(3600),
            );
            check_session_bounds(self, &format!("{path}.access_token_lifetime"), d);
            d
        });
        let refresh_token_lifetime = self.duration(
            &format!("{path}.refresh_token_lifetime"),
            raw.refresh_token_lifetime.as_deref(),
            absolute_timeout.min(Duration::from_secs(MAX_SESSION_SECS)),
        );
        let introspect = match raw.introspect.as_deref() {
            None | Some("own") => IntrospectScope::Own,
            Some("any") if matches!(auth, ClientAuth::Public) => {
                self.error(
                    format!("{path}.introspect"),
                    "a public client cannot introspect tokens",
                );
                IntrospectScope::Own
            }
            Some("any") => IntrospectScope::Any,
            Some(other) => {
                self.error(
                    format!("{path}.introspect"),
                    format!("unknown value \"{other}\"; use \"own\" or \"any\""),
                );
                IntrospectScope::Own
            }
        };
        Some(ClientConfig {
            name: raw.name.unwrap_or_else(|| raw.id.clone()),
            audience: raw.audience.unwrap_or_else(|| raw.id.clone()),
            assert_source_ip: raw.assert_source_ip,
            id: raw.id,
            auth,
            redirect_uris,
            post_logout_redirect_uris,
            allowed_roles: raw.allowed_roles,
            grant_types,
            access_token_lifetime,
            refresh_token_lifetime,
            machine_role: raw.machine_role,
            introspect,
        })
    }

    /// A client's JWK set for `private_key_jwt`: asymmetric signing keys only.
    fn client_jwks(&mut self, path: &str, file: &str) -> Option<crate::tokens::jose::PublicKeys> {
        let full = self.path_of(file);
        let text = match std::fs::read_to_string(&full) {
            Ok(t) => t,
            Err(e) => {
                self.error(path, format!("cannot read {}: {e}", full.display()));
                return None;
            }
        };
        match crate::tokens::jose::PublicKeys::from_json_strict(&text) {
            Ok(set) => Some(set),
            Err(e) => {
                self.error(path, format!("{}: {e}", full.display()));
                None
            }
        }
    }
}
