//! `[[providers]]` of the redirect kinds: `oidc`, its presets `google` and `microsoft`, and
//! `github` (plain OAuth 2.0). The raw shapes and their conversion into the typed settings
//! the connectors use.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::Cx;
use super::server::is_loopback_host;
use crate::connectors::settings::{
    ClaimMapping, GithubSettings, OidcPreset, OidcSettings, Provider, ProviderSettings,
    UpstreamClientAuth,
};
use crate::secret::Secret;

/// Google's issuer (OpenID Connect discovery lives under it).
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// Microsoft Entra ID's sign-in host (sovereign clouds have their own: set `authority`).
pub const MICROSOFT_AUTHORITY: &str = "https://login.microsoftonline.com";
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
    ) -> Option<Provider> {
        let id = self.provider_id(path, &raw.id);
        let issuer = self.oidc_issuer(path, preset, &raw);
        let client_id = self.required(&format!("{path}.client_id"), raw.client_id);
        let secret = self.secret(
            &format!("{path}.client_secret"),
            raw.client_secret,
            raw.client_secret_file,
            "client_secret_file",
        );
        let key = UpstreamKey {
            file: raw.private_key_file,
            id: raw.private_key_id,
        };
        let client_auth = self.upstream_client_auth(path, raw.client_auth.as_deref(), secret, key);
        let scopes = self.oidc_scopes(path, raw.scopes);
        let claims = claim_mapping(raw.claims);
        self.oidc_claim_options(path, preset, &raw.principal_tags, &raw.allowed_tenants);
        self.oidc_prompt(path, raw.prompt.as_deref());
        let (clock_skew, timeout) =
            self.timeouts(path, raw.clock_skew.as_deref(), raw.timeout.as_deref());
        let web_identity_audiences =
            self.web_identity_audiences(path, raw.web_identity_audiences, client_id.as_ref());
        let id = id?;
        Some(Provider {
            display_name: raw.display_name.unwrap_or_else(|| match preset {
                OidcPreset::Google => "Google".to_owned(),
                OidcPreset::Microsoft => "Microsoft".to_owned(),
                OidcPreset::Generic => id.to_string(),
            }),
            id,
            settings: ProviderSettings::Oidc(OidcSettings {
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

    /// The issuer: `issuer` for a generic provider, fixed for Google, built from `tenant`
    /// and `authority` for Microsoft.
    fn oidc_issuer(
        &mut self,
        path: &str,
        preset: OidcPreset,
        raw: &RawOidcProvider,
    ) -> Option<Url> {
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
                self.required(&format!("{path}.issuer"), raw.issuer.clone())
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
            OidcPreset::Microsoft => self.microsoft_issuer(path, raw),
        };
        issuer_text.and_then(|t| {
            let key = match preset {
                OidcPreset::Microsoft => "authority",
                _ => "issuer",
            };
            self.upstream_url(&format!("{path}.{key}"), &t)
        })
    }

    /// Entra ID's issuer for `tenant` (default `organizations`) under `authority`.
    fn microsoft_issuer(&mut self, path: &str, raw: &RawOidcProvider) -> Option<String> {
        if raw.issuer.is_some() {
            self.error(
                format!("{path}.issuer"),
                "for kind = \"microsoft\" give tenant (and authority for a sovereign cloud)",
            );
        }
        let tenant = raw.tenant.as_deref().unwrap_or("organizations");
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
        let authority = raw.authority.as_deref().unwrap_or(MICROSOFT_AUTHORITY);
        Some(format!("{}/{tenant}/v2.0", authority.trim_end_matches('/')))
    }

    /// How Lanyard authenticates at the provider's token endpoint: `client_auth`, by default
    /// `private_key_jwt` when a private key is given and `client_secret_basic` otherwise.
    fn upstream_client_auth(
        &mut self,
        path: &str,
        method: Option<&str>,
        secret: Option<Secret>,
        key: UpstreamKey,
    ) -> Option<UpstreamClientAuth> {
        let method = method.unwrap_or(if key.file.is_some() {
            "private_key_jwt"
        } else {
            "client_secret_basic"
        });
        match method {
            "client_secret_basic" | "client_secret_post" => {
                self.upstream_secret_auth(path, method, secret, key.file.is_some())
            }
            "private_key_jwt" => self.upstream_private_key_auth(path, secret.is_some(), key),
            "none" => {
                if secret.is_some() || key.file.is_some() {
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
        }
    }

    /// `client_secret_basic` or `client_secret_post`: a secret and no private key.
    fn upstream_secret_auth(
        &mut self,
        path: &str,
        method: &str,
        secret: Option<Secret>,
        has_key: bool,
    ) -> Option<UpstreamClientAuth> {
        match secret {
            Some(s) if !has_key => Some(if method == "client_secret_basic" {
                UpstreamClientAuth::SecretBasic(s)
            } else {
                UpstreamClientAuth::SecretPost(s)
            }),
            Some(_) => {
                self.error(
                    format!("{path}.private_key_file"),
                    format!(
                        "is only used with client_auth = \"private_key_jwt\", not \"{method}\""
                    ),
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

    /// `private_key_jwt`: a usable private key and no secret.
    fn upstream_private_key_auth(
        &mut self,
        path: &str,
        has_secret: bool,
        key: UpstreamKey,
    ) -> Option<UpstreamClientAuth> {
        if has_secret {
            self.error(
                format!("{path}.client_secret"),
                "is not used with client_auth = \"private_key_jwt\"; remove it",
            );
        }
        let pem = self.secret(
            &format!("{path}.private_key"),
            None,
            key.file,
            "private_key_file",
        );
        match pem {
            Some(pem) if private_key_is_usable(&pem) => Some(UpstreamClientAuth::PrivateKeyJwt {
                pem,
                key_id: key.id,
            }),
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

    /// `scopes`, `openid` always among them.
    fn oidc_scopes(&mut self, path: &str, scopes: Option<Vec<String>>) -> Vec<String> {
        let mut scopes = scopes.unwrap_or_else(|| {
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
        scopes
    }

    /// `principal_tags` name claims; `allowed_tenants` is for Microsoft only.
    fn oidc_claim_options(
        &mut self,
        path: &str,
        preset: OidcPreset,
        principal_tags: &BTreeMap<String, String>,
        allowed_tenants: &[String],
    ) {
        for (tag, claim) in principal_tags {
            if tag.is_empty() || claim.is_empty() {
                self.error(
                    format!("{path}.principal_tags"),
                    "tag names and claim names must not be empty",
                );
            }
        }
        if !allowed_tenants.is_empty() && preset != OidcPreset::Microsoft {
            self.error(
                format!("{path}.allowed_tenants"),
                "is for kind = \"microsoft\" (Entra ID tenant ids)",
            );
        }
    }

    /// `prompt`: space-separated OIDC Core §3.1.2.1 values.
    fn oidc_prompt(&mut self, path: &str, prompt: Option<&str>) {
        if let Some(p) = prompt
            && !p
                .split(' ')
                .all(|v| matches!(v, "none" | "login" | "consent" | "select_account"))
        {
            self.error(
                format!("{path}.prompt"),
                "must be space-separated values of none, login, consent, select_account",
            );
        }
    }

    /// The audiences a web identity token may carry: `web_identity_audiences`, by default
    /// the client id.
    fn web_identity_audiences(
        &mut self,
        path: &str,
        audiences: Option<Vec<String>>,
        client_id: Option<&String>,
    ) -> Vec<String> {
        if let Some(audiences) = &audiences {
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
        match (audiences, client_id) {
            (Some(list), _) => list,
            (None, Some(id)) => vec![id.clone()],
            (None, None) => Vec::new(),
        }
    }

    pub(super) fn github_provider(
        &mut self,
        path: &str,
        raw: RawGithubProvider,
    ) -> Option<Provider> {
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
        Some(Provider {
            display_name: raw.display_name.unwrap_or_else(|| "GitHub".to_owned()),
            id,
            settings: ProviderSettings::Github(GithubSettings {
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

/// `private_key_file` and `private_key_id`: the key Lanyard signs its client assertions with.
struct UpstreamKey {
    file: Option<String>,
    id: Option<String>,
}

/// `claims`: which claims fill the normalized identity, each defaulted.
fn claim_mapping(raw: Option<RawClaimMapping>) -> ClaimMapping {
    let mut claims = ClaimMapping::default();
    if let Some(m) = raw {
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
    claims
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
