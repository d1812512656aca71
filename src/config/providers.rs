//! `[[providers]]`: each entry's `kind` first, then the shape of that kind; the local
//! directory's users here, the other kinds in their own files.

use url::Url;

use super::raw::{RawLdapProvider, RawLocalProvider, RawSamlProvider};
use super::{Config, Cx, did_you_mean, upstream};
use crate::connectors::settings::{
    LocalDirectorySettings, LocalUser, OidcPreset, PasswordCredential, Provider, ProviderSettings,
};
use crate::identity::ProviderId;
use crate::secret::Secret;

const PROVIDER_KINDS: &[&str] = &[
    "local",
    "ldap",
    "oidc",
    "google",
    "microsoft",
    "github",
    "saml",
];

/// Names of users and providers that are configured with plaintext demo passwords.
pub fn demo_users(config: &Config) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for p in &config.providers {
        let ProviderSettings::Local(dir) = &p.settings else {
            continue;
        };
        for u in &dir.users {
            if let PasswordCredential::InsecureDemo(pw) = &u.password {
                out.push((
                    p.id.to_string(),
                    u.username.clone(),
                    pw.expose_secret().to_owned(),
                ));
            }
        }
    }
    out
}

impl Cx<'_> {
    /// Each provider is read in two steps, `kind` first and then the shape of that kind, so
    /// that a problem inside one is reported with its full path.
    pub(super) fn providers(
        &mut self,
        raws: Vec<toml::Value>,
        public_url: Option<&Url>,
    ) -> Vec<Provider> {
        let mut out: Vec<Provider> = Vec::new();
        for (i, raw) in raws.into_iter().enumerate() {
            let path = format!("providers[{i}]");
            let Some(provider) = self.provider(&path, raw, public_url) else {
                continue;
            };
            if out.iter().any(|p| p.id == provider.id) {
                self.error(
                    format!("{path}.id"),
                    format!("a provider with id \"{}\" is already defined", provider.id),
                );
                continue;
            }
            out.push(provider);
        }
        out
    }

    /// One `[[providers]]` entry: its `kind` first.
    fn provider(
        &mut self,
        path: &str,
        raw: toml::Value,
        public_url: Option<&Url>,
    ) -> Option<Provider> {
        let toml::Value::Table(mut table) = raw else {
            self.error(path, "must be a table ([[providers]])");
            return None;
        };
        let kind = match table.remove("kind") {
            Some(toml::Value::String(k)) => k,
            Some(_) => {
                self.error(format!("{path}.kind"), "must be a string");
                return None;
            }
            None => {
                self.error(
                    path,
                    format!("kind is required: one of {}", PROVIDER_KINDS.join(", ")),
                );
                return None;
            }
        };
        self.provider_of_kind(path, &kind, toml::Value::Table(table), public_url)
    }

    /// The rest of a provider entry, in the shape of its kind.
    fn provider_of_kind(
        &mut self,
        path: &str,
        kind: &str,
        table: toml::Value,
        public_url: Option<&Url>,
    ) -> Option<Provider> {
        match kind {
            "local" => self
                .shape::<RawLocalProvider>(path, table)
                .and_then(|local| self.local_provider(path, local)),
            "ldap" => self
                .shape::<RawLdapProvider>(path, table)
                .and_then(|ldap| self.ldap_provider(path, ldap)),
            "oidc" | "google" | "microsoft" => {
                let preset = match kind {
                    "google" => OidcPreset::Google,
                    "microsoft" => OidcPreset::Microsoft,
                    _ => OidcPreset::Generic,
                };
                self.shape::<upstream::RawOidcProvider>(path, table)
                    .and_then(|raw| self.oidc_provider(path, preset, raw))
            }
            "github" => self
                .shape::<upstream::RawGithubProvider>(path, table)
                .and_then(|raw| self.github_provider(path, raw)),
            "saml" => self
                .shape::<RawSamlProvider>(path, table)
                .and_then(|saml| self.saml_provider(path, saml, public_url)),
            other => {
                let hint = did_you_mean(other, PROVIDER_KINDS)
                    .map(|s| format!(", did you mean \"{s}\"?"))
                    .unwrap_or_default();
                self.error(
                    format!("{path}.kind"),
                    format!("unknown provider kind \"{other}\"{hint}"),
                );
                None
            }
        }
    }

    pub(super) fn provider_id(&mut self, path: &str, id: &str) -> Option<ProviderId> {
        if ProviderId::is_valid(id) {
            Some(ProviderId::new(id))
        } else {
            self.error(
                format!("{path}.id"),
                format!(
                    "{id:?} is not a valid provider id: 1-64 characters of a-z, 0-9, '-' and '_', \
                     starting with a letter"
                ),
            );
            None
        }
    }

    fn local_provider(&mut self, path: &str, raw: RawLocalProvider) -> Option<Provider> {
        let id = self.provider_id(path, &raw.id);
        let mut users: Vec<LocalUser> = Vec::new();
        for (j, u) in raw.users.into_iter().enumerate() {
            let upath = format!("{path}.users[{j}]");
            if u.username.is_empty()
                || u.username.len() > 128
                || u.username.chars().any(char::is_control)
            {
                self.error(
                    format!("{upath}.username"),
                    "must be 1-128 characters without control characters",
                );
                continue;
            }
            if users.iter().any(|x| x.username == u.username) {
                self.error(
                    format!("{upath}.username"),
                    format!("user \"{}\" is already defined", u.username),
                );
                continue;
            }
            let hash = self.secret(
                &format!("{upath}.password_hash"),
                u.password_hash,
                u.password_hash_file,
                "password_hash_file",
            );
            let Some(password) = self.password_credential(&upath, hash, u.insecure_demo_password)
            else {
                continue;
            };
            let totp = self.totp_secret(&upath, u.totp_secret, u.totp_secret_file);
            users.push(LocalUser {
                totp,
                username: u.username,
                password,
                email: u.email,
                display_name: u.display_name,
                groups: u.groups,
                tags: u.tags,
            });
        }
        let id = id?;
        Some(Provider {
            display_name: raw.display_name.unwrap_or_else(|| id.to_string()),
            id,
            settings: ProviderSettings::Local(LocalDirectorySettings { users }),
        })
    }

    /// A local user's password: an argon2id hash, or a demo password, exactly one.
    fn password_credential(
        &mut self,
        upath: &str,
        hash: Option<Secret>,
        demo: Option<String>,
    ) -> Option<PasswordCredential> {
        match (hash, demo) {
            (Some(h), None) => {
                if !h.expose_secret().starts_with("$argon2id$") {
                    self.error(
                        format!("{upath}.password_hash"),
                        "must be an argon2id PHC string ($argon2id$v=19$...); make one with \
                         `lanyard hash-password`",
                    );
                    return None;
                }
                Some(PasswordCredential::Hash(h))
            }
            (None, Some(p)) if !p.is_empty() => {
                Some(PasswordCredential::InsecureDemo(Secret::new(p)))
            }
            (Some(_), Some(_)) => {
                self.error(
                    upath,
                    "give either password_hash or insecure_demo_password, not both",
                );
                None
            }
            _ => {
                self.error(
                    format!("{upath}.password_hash"),
                    "is required (make one with `lanyard hash-password`)",
                );
                None
            }
        }
    }

    /// A user's TOTP secret: base32 (RFC 4648), at least 128 bits (RFC 4226 §4).
    fn totp_secret(
        &mut self,
        upath: &str,
        value: Option<String>,
        file: Option<String>,
    ) -> Option<Secret> {
        let path = format!("{upath}.totp_secret");
        let secret = self.secret(&path, value, file, "totp_secret_file")?;
        let normalized = Secret::new(
            secret
                .expose_secret()
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '=')
                .collect::<String>()
                .to_ascii_uppercase(),
        );
        match totp_rs::Secret::try_from_base32(normalized.expose_secret()) {
            Ok(bytes) if bytes.as_bytes().len() >= 16 => Some(normalized),
            Ok(_) => {
                self.error(
                    path,
                    "is too short: a TOTP secret needs at least 128 bits (26 base32 \
                     characters); make one with `lanyard totp enroll USER`",
                );
                None
            }
            Err(_) => {
                self.error(
                    path,
                    "is not base32 (A-Z, 2-7); make one with `lanyard totp enroll USER`",
                );
                None
            }
        }
    }
}
