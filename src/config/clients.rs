//! `[[clients]]`: the applications (OpenID Connect relying parties and machine clients)
//! that Lanyard issues credentials to.

use std::time::Duration;

use url::Url;

use super::Cx;
use super::raw::RawClient;
use super::roles::check_session_bounds;
use super::server::is_loopback_host;
use crate::identity::{ClientId, RoleName};
use crate::op::{
    ClientAuth, ClientSettings, DEVICE_CODE_GRANT, GrantType, IntrospectScope, TOKEN_EXCHANGE_GRANT,
};
use crate::roles::{MAX_SESSION_SECS, Role};
use crate::secret::Secret;

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
        roles: &[Role],
        absolute_timeout: Duration,
    ) -> Vec<ClientSettings> {
        let mut out: Vec<ClientSettings> = Vec::new();
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
            if let Some(c) = self.client(&path, raw, roles, absolute_timeout) {
                out.push(c);
            }
        }
        out
    }

    /// One client whose id is valid and new: its authentication method, then the rest.
    fn client(
        &mut self,
        path: &str,
        raw: RawClient,
        roles: &[Role],
        absolute_timeout: Duration,
    ) -> Option<ClientSettings> {
        let secret = self.secret(
            &format!("{path}.secret_hash"),
            raw.secret_hash.clone(),
            raw.secret_hash_file.clone(),
            "secret_hash_file",
        );
        let auth = match raw.jwks_file.as_deref() {
            Some(file) => {
                let set = self.client_jwks(&format!("{path}.jwks_file"), file)?;
                if secret.is_some() || raw.public {
                    self.error(
                        format!("{path}.jwks_file"),
                        "a private_key_jwt client has no secret and is not public",
                    );
                    return None;
                }
                ClientAuth::PrivateKeyJwt(std::sync::Arc::new(set))
            }
            None => self.client_secret_auth(path, secret, raw.public)?,
        };
        self.client_rest(path, raw, auth, roles, absolute_timeout)
    }

    /// A client without `jwks_file`: confidential with a secret hash, or public.
    fn client_secret_auth(
        &mut self,
        path: &str,
        secret: Option<Secret>,
        public: bool,
    ) -> Option<ClientAuth> {
        match (secret, public) {
            (Some(_), true) => {
                self.error(
                    format!("{path}.public"),
                    "a public client has no secret: remove secret_hash or public",
                );
                None
            }
            (Some(h), false)
                if h.expose_secret().starts_with("$argon2id$")
                    || crate::op::clients::fast_hash_digest(h.expose_secret()).is_some() =>
            {
                Some(ClientAuth::SecretHash(h))
            }
            (Some(_), false) => {
                self.error(
                    format!("{path}.secret_hash"),
                    "must be an argon2id PHC string ($argon2id$v=19$...; make one with \
                     `lanyard hash-password`) or the sha256: hash of a generated secret \
                     (`lanyard client-secret`)",
                );
                None
            }
            (None, true) => Some(ClientAuth::Public),
            (None, false) => {
                self.error(
                    format!("{path}.secret_hash"),
                    "is required for a confidential client (or set public = true)",
                );
                None
            }
        }
    }

    /// Everything of a client after its authentication method.
    fn client_rest(
        &mut self,
        path: &str,
        raw: RawClient,
        auth: ClientAuth,
        roles: &[Role],
        absolute_timeout: Duration,
    ) -> Option<ClientSettings> {
        let grant_types = self.grant_types(path, raw.grant_types.as_deref());
        let (redirect_uris, post_logout_redirect_uris) =
            self.client_redirect_uris(path, &raw, &grant_types);
        self.client_roles(path, &raw, &auth, &grant_types, roles);
        let public = matches!(auth, ClientAuth::Public);
        // As for client_credentials: tokens issued to the client without a person need a
        // client that proves who it is.
        if grant_types.contains(&GrantType::TokenExchange) && public {
            self.error(
                format!("{path}.grant_types"),
                "a public client cannot use token_exchange",
            );
        }
        // A public client's tokens are in the hands of whoever uses it, who could then
        // claim any address.
        if raw.assert_source_ip && public {
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
        let introspect = self.introspect_scope(path, raw.introspect.as_deref(), public);
        Some(ClientSettings {
            name: raw.name.unwrap_or_else(|| raw.id.clone()),
            audience: raw.audience.unwrap_or_else(|| raw.id.clone()),
            assert_source_ip: raw.assert_source_ip,
            id: ClientId::new(raw.id),
            auth,
            redirect_uris,
            post_logout_redirect_uris,
            allowed_roles: raw.allowed_roles.into_iter().map(RoleName::new).collect(),
            grant_types,
            access_token_lifetime,
            refresh_token_lifetime,
            machine_role: raw.machine_role,
            introspect,
        })
    }

    /// `grant_types`, by default the code flow with refresh tokens.
    fn grant_types(&mut self, path: &str, names: Option<&[String]>) -> Vec<GrantType> {
        let Some(names) = names else {
            return vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        };
        let mut grants = Vec::new();
        for (j, name) in names.iter().enumerate() {
            match name.as_str() {
                "authorization_code" => grants.push(GrantType::AuthorizationCode),
                "refresh_token" => grants.push(GrantType::RefreshToken),
                "client_credentials" => grants.push(GrantType::ClientCredentials),
                "token_exchange" | TOKEN_EXCHANGE_GRANT => grants.push(GrantType::TokenExchange),
                "device_code" | DEVICE_CODE_GRANT => grants.push(GrantType::DeviceCode),
                other => self.error(
                    format!("{path}.grant_types[{j}]"),
                    format!(
                        "unknown grant type \"{other}\"; use authorization_code, \
                         refresh_token, client_credentials, token_exchange or device_code"
                    ),
                ),
            }
        }
        grants
    }

    /// `redirect_uris` (required for the code flow) and `post_logout_redirect_uris`.
    fn client_redirect_uris(
        &mut self,
        path: &str,
        raw: &RawClient,
        grant_types: &[GrantType],
    ) -> (Vec<Url>, Vec<Url>) {
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
        (redirect_uris, post_logout_redirect_uris)
    }

    /// `allowed_roles` and `machine_role` name configured roles; a machine role's trust
    /// policy lets the client in, and goes with `client_credentials` and a client that
    /// authenticates.
    fn client_roles(
        &mut self,
        path: &str,
        raw: &RawClient,
        auth: &ClientAuth,
        grant_types: &[GrantType],
        roles: &[Role],
    ) {
        for (j, role) in raw.allowed_roles.iter().enumerate() {
            if !roles.iter().any(|r| &r.name == role) {
                self.error(
                    format!("{path}.allowed_roles[{j}]"),
                    format!("no role named \"{role}\" in [[roles]]"),
                );
            }
        }
        let Some(role) = &raw.machine_role else {
            if grant_types.contains(&GrantType::ClientCredentials) {
                self.error(
                    format!("{path}.machine_role"),
                    "is required with client_credentials: the role the client assumes",
                );
            }
            return;
        };
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
    }

    /// `introspect`: `"own"` by default; `"any"` not for a public client.
    fn introspect_scope(
        &mut self,
        path: &str,
        value: Option<&str>,
        public: bool,
    ) -> IntrospectScope {
        match value {
            None | Some("own") => IntrospectScope::Own,
            Some("any") if public => {
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
        }
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
