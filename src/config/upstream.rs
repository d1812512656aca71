//! `[[providers]]` of the redirect kinds: `oidc`, its presets `google` and `microsoft`, and
//! `github` (plain OAuth 2.0). The raw shapes and their conversion into the typed settings
//! the connectors use.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::{Cx, ProviderConfig, ProviderSettings, is_loopback_host};
use crate::identity::ProviderKind;
use crate::secret::Secret;

/// Google's issuer (OpenID Connect discovery lives under it).
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// Microsoft Entra ID's sign-in host (sovereign clouds have their own: set `authority`).
pub const MICROSOFT_AUTHORITY: &str = "https://login.microsoftonline.com";
/// The placeholder Entra ID's multi-tenant discovery documents put in `issuer`.
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";
/// GitHub's web host.
pub const GITHUB_URL: &str = "https://github.com";
/// GitHub's API host.
pub const GITHUB_API_URL: &str = "https://api.github.com";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_SKEW: Duration = Duration::from_secs(60);
const MAX_SKEW: Duration = Duration::from_secs(300);

/// `kind = "oidc" | "google" | "microsoft"`: one shape; the presets fix some keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOidcProvider {
    pub id: String,
    pub display_name: Option<String>,
    pub issuer: Option<String>,
    pub tenant: Option<String>,
    pub authority: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_secret_file: Option<String>,
    pub client_auth: Option<String>,
    pub private_key_file: Option<String>,
    pub private_key_id: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub claims: Option<RawClaimMapping>,
    #[serde(default)]
    pub principal_tags: BTreeMap<String, String>,
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    #[serde(default)]
    pub allowed_tenants: Vec<String>,
    pub prompt: Option<String>,
    #[serde(default)]
    pub acr_values: Vec<String>,
    #[serde(default)]
    pub mfa_acr_values: Vec<String>,
    pub fetch_userinfo: Option<bool>,
    pub clock_skew: Option<String>,
    pub timeout: Option<String>,
    pub web_identity_audiences: Option<Vec<String>>,
    pub browser_sign_in: Option<bool>,
}

/// `claims = { username = "...", ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClaimMapping {
    pub username: Option<String>,
    pub email: Option<String>,
    pub groups: Option<String>,
    pub display_name: Option<String>,
}

/// `kind = "github"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGithubProvider {
    pub id: String,
    pub display_name: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_secret_file: Option<String>,
    pub base_url: Option<String>,
    pub api_url: Option<String>,
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub allowed_organizations: Vec<String>,
    pub timeout: Option<String>,
}

/// Which flavour of OpenID Connect provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcPreset {
    /// Any provider, configured by hand.
    Generic,
    /// Google: `email_verified` required, `allowed_domains` checked against `hd`.
    Google,
    /// Microsoft Entra ID: multi-tenant issuer validated against `tid`.
    Microsoft,
}

impl OidcPreset {
    /// The provider kind.
    pub fn kind(self) -> ProviderKind {
        match self {
            OidcPreset::Generic => ProviderKind::Oidc,
            OidcPreset::Google => ProviderKind::Google,
            OidcPreset::Microsoft => ProviderKind::Microsoft,
        }
    }
}

/// How Lanyard authenticates itself at the token endpoint (OIDC Core §9).
#[derive(Debug, Clone)]
pub enum UpstreamClientAuth {
    /// `client_secret_basic`: HTTP Basic with the client secret (the default).
    SecretBasic(Secret),
    /// `client_secret_post`: the secret in the form body.
    SecretPost(Secret),
    /// `private_key_jwt`: a JWT signed with Lanyard's key (RFC 7523).
    PrivateKeyJwt {
        /// The private key, PEM (RSA → RS256, EC P-256 → ES256).
        pem: Secret,
        /// `kid` to put in the assertion header.
        key_id: Option<String>,
    },
    /// `none`: a public client (OAuth 2.0 §2.1); the code is protected by PKCE alone. Also
    /// the setting for a provider that is trusted only for web identity tokens (a CI
    /// system's OIDC tokens), where Lanyard never redeems a code.
    None,
}

/// Which claims fill the normalized identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    /// `idp:username` (default `preferred_username`, then `email`, then `sub`).
    pub username: String,
    /// `idp:email` (default `email`).
    pub email: String,
    /// `idp:groups` (default `groups`).
    pub groups: String,
    /// Display name (default `name`).
    pub display_name: String,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            username: "preferred_username".into(),
            email: "email".into(),
            groups: "groups".into(),
            display_name: "name".into(),
        }
    }
}

/// An OpenID Connect provider (generic or a preset).
#[derive(Debug, Clone)]
pub struct OidcProviderConfig {
    /// Which preset.
    pub preset: OidcPreset,
    /// The issuer as configured; discovery is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: Url,
    /// Our client id.
    pub client_id: String,
    /// Client authentication.
    pub client_auth: UpstreamClientAuth,
    /// Scopes requested (always including `openid`).
    pub scopes: Vec<String>,
    /// Claim mapping.
    pub claims: ClaimMapping,
    /// `aws:PrincipalTag/<tag>` ← claim.
    pub principal_tags: BTreeMap<String, String>,
    /// Email domains (generic) or Google `hd` values accepted; empty: any.
    pub allowed_domains: Vec<String>,
    /// Entra ID tenant ids (`tid`) accepted; empty: any.
    pub allowed_tenants: Vec<String>,
    /// `prompt` sent upstream.
    pub prompt: Option<String>,
    /// `acr_values` sent upstream.
    pub acr_values: Vec<String>,
    /// An `acr` among these counts as multi-factor authentication.
    pub mfa_acr_values: Vec<String>,
    /// Fetch userinfo and merge it into the ID token claims.
    pub fetch_userinfo: bool,
    /// Whether `email_verified` must be true (Google).
    pub require_verified_email: bool,
    /// Clock skew tolerated on `exp`, `iat`, `nbf`.
    pub clock_skew: Duration,
    /// Timeout of each upstream call.
    pub timeout: Duration,
    /// `aud` values accepted in web identity tokens (`/sts/assume-role-with-web-identity`,
    /// token exchange); `[client_id]` unless configured.
    pub web_identity_audiences: Vec<String>,
    /// Whether people can sign in with it in a browser (listed on the sign-in page); `false`
    /// for a provider trusted only for web identity tokens (a CI system).
    pub browser_sign_in: bool,
}

/// GitHub or GitHub Enterprise Server (OAuth 2.0 and the REST API).
#[derive(Debug, Clone)]
pub struct GithubProviderConfig {
    /// The web host (`/login/oauth/authorize`, `/login/oauth/access_token`).
    pub base_url: Url,
    /// The REST API root (`/user`, `/user/emails`, `/user/orgs`, `/user/teams`).
    pub api_url: Url,
    /// Our OAuth app's client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: Secret,
    /// Scopes requested.
    pub scopes: Vec<String>,
    /// Organizations one of which the person must belong to; empty: any GitHub user.
    pub allowed_organizations: Vec<String>,
    /// Timeout of each upstream call.
    pub timeout: Duration,
}

impl Cx<'_> {
    /// An upstream URL: https, or http on a loopback host (local development and tests).
    fn upstream_url(&mut self, path: &str, text: &str) -> Option<Url> {
        match Url::parse(text) {
            Ok(u) if u.scheme() == "https" || (u.scheme() == "http" && is_loopback_host(&u)) => {
                if u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() {
                    self.error(path, "must not carry a query, a fragment or credentials");
                    None
                } else {
                    Some(u)
                }
            }
            Ok(_) => {
                self.error(
                    path,
                    "must be an https:// URL (http:// only on a loopback address)",
                );
                None
            }
            Err(e) => {
                self.error(path, format!("{text:?} is not a URL: {e}"));
                None
            }
        }
    }

    fn required(&mut self, path: &str, value: Option<String>) -> Option<String> {
        match value {
            Some(v) if !v.trim().is_empty() => Some(v),
            _ => {
                self.error(path, "is required");
                None
            }
        }
    }

    fn timeouts(
        &mut self,
        path: &str,
        skew: Option<&str>,
        timeout: Option<&str>,
    ) -> (Duration, Duration) {
        let skew = match skew {
            Some("0") | Some("0s") => Duration::ZERO,
            other => self.duration(&format!("{path}.clock_skew"), other, DEFAULT_SKEW),
        };
        if skew > MAX_SKEW {
            self.error(format!("{path}.clock_skew"), "must be at most 5m");
        }
        let timeout = self.duration(&format!("{path}.timeout"), timeout, DEFAULT_TIMEOUT);
        if timeout > Duration::from_secs(60) {
            self.error(format!("{path}.timeout"), "must be at most 60s");
        }
        (skew, timeout)
    }

    /// `kind = "oidc" | "google" | "microsoft"`.
    pub(super) fn oidc_provider(
        &mut self,
        path: &str,
        preset: OidcPreset,
        raw: RawOidcProvider,
    ) -> Option<ProviderConfig> {
        let id = self.provider_id(path, &raw.id);
        let kind = preset.kind();
        let fixed = |key: &str| format!("{key} is fixed for kind = \"{kind}\"; remove it");
        let issuer_text = match preset {
            OidcPreset::Generic => {
                if raw.tenant.is_some() || raw.authority.is_some() {
                    self.error(
                        path,
                        "tenant and authority are for kind = \"microsoft\"; give issuer instead",
                    );
                }
                self.required(&format!("{path}.issuer"), raw.issuer)
            }
            OidcPreset::Google => {
                for (key, given) in [
                    ("issuer", raw.issuer.is_some()),
                    ("tenant", raw.tenant.is_some()),
                    ("authority", raw.authority.is_some()),
                ] {
                    if given {
                        self.error(format!("{path}.{key}"), fixed(key));
                    }
                }
                Some(GOOGLE_ISSUER.to_owned())
            }
            OidcPreset::Microsoft => {
                if raw.issuer.is_some() {
                    self.error(
                        format!("{path}.issuer"),
                        "for kind = \"microsoft\" give tenant (and authority for a sovereign cloud)",
                    );
                }
                let tenant = raw.tenant.unwrap_or_else(|| "organizations".to_owned());
                if tenant.is_empty()
                    || !tenant
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                {
                    self.error(
                        format!("{path}.tenant"),
                        "must be a tenant id, a domain, \"organizations\" or \"common\"",
                    );
                }
                let authority = raw
                    .authority
                    .unwrap_or_else(|| MICROSOFT_AUTHORITY.to_owned());
                Some(format!("{}/{tenant}/v2.0", authority.trim_end_matches('/')))
            }
        };
        let issuer = issuer_text.and_then(|t| {
            let key = match preset {
                OidcPreset::Microsoft => "authority",
                _ => "issuer",
            };
            self.upstream_url(&format!("{path}.{key}"), &t)
        });
        let client_id = self.required(&format!("{path}.client_id"), raw.client_id);
        let secret = self.secret(
            &format!("{path}.client_secret"),
            raw.client_secret,
            raw.client_secret_file,
            "client_secret_file",
        );
        let method = raw
            .client_auth
            .as_deref()
            .unwrap_or(if raw.private_key_file.is_some() {
                "private_key_jwt"
            } else {
                "client_secret_basic"
            });
        let client_auth = match method {
            "client_secret_basic" | "client_secret_post" => {
                match secret {
                    Some(s) if raw.private_key_file.is_none() => {
                        Some(if method == "client_secret_basic" {
                            UpstreamClientAuth::SecretBasic(s)
                        } else {
                            UpstreamClientAuth::SecretPost(s)
                        })
                    }
                    Some(_) => {
                        self.error(
                        format!("{path}.private_key_file"),
                        format!("is only used with client_auth = \"private_key_jwt\", not \"{method}\""),
                    );
                        None
                    }
                    None => {
                        self.error(
                            format!("{path}.client_secret"),
                            "is required (as \"${ENV_VAR}\" or client_secret_file), or use \
                         client_auth = \"private_key_jwt\" with private_key_file",
                        );
                        None
                    }
                }
            }
            "private_key_jwt" => {
                if secret.is_some() {
                    self.error(
                        format!("{path}.client_secret"),
                        "is not used with client_auth = \"private_key_jwt\"; remove it",
                    );
                }
                let pem = self.secret(
                    &format!("{path}.private_key"),
                    None,
                    raw.private_key_file,
                    "private_key_file",
                );
                match pem {
                    Some(pem) if private_key_is_usable(&pem) => {
                        Some(UpstreamClientAuth::PrivateKeyJwt {
                            pem,
                            key_id: raw.private_key_id,
                        })
                    }
                    Some(_) => {
                        self.error(
                            format!("{path}.private_key_file"),
                            "is not a PEM RSA or EC P-256 private key (PKCS#8 or PKCS#1/SEC1)",
                        );
                        None
                    }
                    None => {
                        self.error(
                            format!("{path}.private_key_file"),
                            "is required with client_auth = \"private_key_jwt\"",
                        );
                        None
                    }
                }
            }
            "none" => {
                if secret.is_some() || raw.private_key_file.is_some() {
                    self.error(
                        format!("{path}.client_auth"),
                        "is \"none\" (a public client), so client_secret and private_key_file \
                         must not be set",
                    );
                }
                Some(UpstreamClientAuth::None)
            }
            other => {
                self.error(
                    format!("{path}.client_auth"),
                    format!(
                        "unknown method \"{other}\": one of client_secret_basic, \
                         client_secret_post, private_key_jwt, none"
                    ),
                );
                None
            }
        };
        let mut scopes = raw.scopes.unwrap_or_else(|| {
            ["openid", "profile", "email"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        });
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".to_owned());
        }
        for (i, s) in scopes.iter().enumerate() {
            if s.is_empty()
                || s.chars()
                    .any(|c| c.is_whitespace() || c == '"' || c == '\\')
            {
                self.error(format!("{path}.scopes[{i}]"), "is not a valid scope token");
            }
        }
        let mut claims = ClaimMapping::default();
        if let Some(m) = raw.claims {
            for (value, slot) in [
                (m.username, &mut claims.username),
                (m.email, &mut claims.email),
                (m.groups, &mut claims.groups),
                (m.display_name, &mut claims.display_name),
            ] {
                if let Some(v) = value {
                    *slot = v;
                }
            }
        }
        for (tag, claim) in &raw.principal_tags {
            if tag.is_empty() || claim.is_empty() {
                self.error(
                    format!("{path}.principal_tags"),
                    "tag names and claim names must not be empty",
                );
            }
        }
        if !raw.allowed_tenants.is_empty() && preset != OidcPreset::Microsoft {
            self.error(
                format!("{path}.allowed_tenants"),
                "is for kind = \"microsoft\" (Entra ID tenant ids)",
            );
        }
        if let Some(p) = &raw.prompt
            && !p
                .split(' ')
                .all(|v| matches!(v, "none" | "login" | "consent" | "select_account"))
        {
            self.error(
                format!("{path}.prompt"),
                "must be space-separated values of none, login, consent, select_account",
            );
        }
        let (clock_skew, timeout) =
            self.timeouts(path, raw.clock_skew.as_deref(), raw.timeout.as_deref());
        if let Some(audiences) = &raw.web_identity_audiences {
            if audiences.is_empty() {
                self.error(
                    format!("{path}.web_identity_audiences"),
                    "must name at least one audience (leave it out to accept client_id)",
                );
            }
            for (i, a) in audiences.iter().enumerate() {
                if a.is_empty() || a.len() > 256 || a.chars().any(char::is_control) {
                    self.error(
                        format!("{path}.web_identity_audiences[{i}]"),
                        "must be a non-empty audience of at most 256 characters",
                    );
                }
            }
        }
        let web_identity_audiences = match (raw.web_identity_audiences, &client_id) {
            (Some(list), _) => list,
            (None, Some(id)) => vec![id.clone()],
            (None, None) => Vec::new(),
        };
        let id = id?;
        Some(ProviderConfig {
            display_name: raw.display_name.unwrap_or_else(|| match preset {
                OidcPreset::Google => "Google".to_owned(),
                OidcPreset::Microsoft => "Microsoft".to_owned(),
                OidcPreset::Generic => id.to_string(),
            }),
            id,
            settings: ProviderSettings::Oidc(OidcProviderConfig {
                preset,
                issuer: issuer?,
                client_id: client_id?,
                client_auth: client_auth?,
                scopes,
                claims,
                principal_tags: raw.principal_tags,
                allowed_domains: lowercase(raw.allowed_domains),
                allowed_tenants: lowercase(raw.allowed_tenants),
                prompt: raw.prompt,
                acr_values: raw.acr_values,
                mfa_acr_values: raw.mfa_acr_values,
                fetch_userinfo: raw.fetch_userinfo.unwrap_or(false),
                require_verified_email: preset == OidcPreset::Google,
                clock_skew,
                timeout,
                web_identity_audiences,
                browser_sign_in: raw.browser_sign_in.unwrap_or(true),
            }),
        })
    }

    /// `kind = "github"`.
    pub(super) fn github_provider(
        &mut self,
        path: &str,
        raw: RawGithubProvider,
    ) -> Option<ProviderConfig> {
        let id = self.provider_id(path, &raw.id);
        let base_text = raw.base_url.unwrap_or_else(|| GITHUB_URL.to_owned());
        let base_url = self.upstream_url(&format!("{path}.base_url"), &base_text);
        let api_text = match (&raw.api_url, &base_url) {
            (Some(a), _) => Some(a.clone()),
            (None, Some(b)) if b.as_str().trim_end_matches('/') == GITHUB_URL => {
                Some(GITHUB_API_URL.to_owned())
            }
            // GitHub Enterprise Server serves its API under /api/v3.
            (None, Some(b)) => Some(format!("{}/api/v3", b.as_str().trim_end_matches('/'))),
            (None, None) => None,
        };
        let api_url = api_text.and_then(|t| self.upstream_url(&format!("{path}.api_url"), &t));
        let client_id = self.required(&format!("{path}.client_id"), raw.client_id);
        let client_secret = self.secret(
            &format!("{path}.client_secret"),
            raw.client_secret,
            raw.client_secret_file,
            "client_secret_file",
        );
        if client_secret.is_none() {
            self.error(
                format!("{path}.client_secret"),
                "is required (as \"${ENV_VAR}\" or client_secret_file)",
            );
        }
        let scopes = raw.scopes.unwrap_or_else(|| {
            ["read:user", "user:email", "read:org"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        });
        let (_, timeout) = self.timeouts(path, None, raw.timeout.as_deref());
        let id = id?;
        Some(ProviderConfig {
            display_name: raw.display_name.unwrap_or_else(|| "GitHub".to_owned()),
            id,
            settings: ProviderSettings::Github(GithubProviderConfig {
                base_url: base_url?,
                api_url: api_url?,
                client_id: client_id?,
                client_secret: client_secret?,
                scopes,
                allowed_organizations: lowercase(raw.allowed_organizations),
                timeout,
            }),
        })
    }
}

fn lowercase(values: Vec<String>) -> Vec<String> {
    values.into_iter().map(|v| v.to_lowercase()).collect()
}

/// Whether a PEM private key can sign client assertions (RS256 or ES256).
pub fn private_key_is_usable(pem: &Secret) -> bool {
    let bytes = pem.expose_secret().as_bytes();
    jsonwebtoken::EncodingKey::from_rsa_pem(bytes).is_ok()
        || jsonwebtoken::EncodingKey::from_ec_pem(bytes).is_ok()
}
