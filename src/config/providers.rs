//! `[[providers]]`: each entry's `kind` first, then the shape of that kind; the local
//! directory's users here, the other kinds in their own files.

use url::Url;

use super::cx::env_reference;
use super::raw::{RawLdapProvider, RawLocalProvider, RawSamlProvider};
use super::{Config, ConfigError, Cx, did_you_mean, upstream};
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

/// The fields of a provider document that hold a secret (an OpenID Connect or GitHub
/// `client_secret`, an LDAP `bind_password`): the admin API never shows them and the audit
/// trail never records them.
pub const PROVIDER_SECRET_FIELDS: &[&str] = &["client_secret", "bind_password"];

/// Validates a provider kept in the database by the code `check-config` runs for a
/// `[[providers]]` entry (the same checks, the same messages): `document` is the entry as
/// a JSON object, `id` the provider's id (an `id` in the document must be the same),
/// `public_url` the broker's (a SAML provider's SP endpoints hang off it). Paths of errors
/// start at the document (`issuer`, `user_search.base_dn`); a JSON `null` member counts as
/// absent.
///
/// Refused here although a file may hold them: the `local` kind (a directory of users and
/// password hashes stays in lanyard.toml), every `*_file` key (a path on the server, which
/// the database does not hold) and a secret given as `${ENV_VAR}` (a writer of the
/// database must not be able to send the server's environment to a provider of their
/// choosing): a secret of a database provider is given as itself.
pub fn provider_from_document(
    id: &str,
    document: serde_json::Value,
    public_url: &Url,
) -> Result<Provider, Vec<ConfigError>> {
    let no_env = |_: &str| -> Option<String> { None };
    let mut cx = Cx {
        errors: Vec::new(),
        base: std::path::Path::new("."),
        env: &no_env,
    };
    let provider = provider_document(&mut cx, id, document, public_url);
    // The conversion writes `{path}.field`; the document is the whole entry here.
    for e in &mut cx.errors {
        if let Some(rest) = e.path.strip_prefix('.') {
            e.path = rest.to_owned();
        }
    }
    match provider {
        Some(provider) if cx.errors.is_empty() => Ok(provider),
        _ => Err(cx.errors),
    }
}

fn provider_document(
    cx: &mut Cx<'_>,
    id: &str,
    document: serde_json::Value,
    public_url: &Url,
) -> Option<Provider> {
    let serde_json::Value::Object(mut object) = document else {
        cx.error("", "a provider is a JSON object");
        return None;
    };
    if cx.reserved("id", id) {
        return None;
    }
    match object.get("id") {
        None => {
            object.insert("id".to_owned(), serde_json::Value::from(id));
        }
        Some(serde_json::Value::String(given)) if given == id => {}
        Some(_) => {
            cx.error(
                "id",
                format!("must be \"{id}\", the id the provider is written under"),
            );
            return None;
        }
    }
    if object.get("kind").and_then(serde_json::Value::as_str) == Some("local") {
        cx.error(
            "kind",
            "a local directory (its users and password hashes) is kept in lanyard.toml; the \
             database holds federated providers: ldap, oidc, google, microsoft, github, saml",
        );
        return None;
    }
    for (key, value) in &object {
        if key.ends_with("_file") {
            cx.error(
                key.as_str(),
                "is a path to a file on the server and cannot be stored in the database",
            );
        } else if key == "certificates"
            && let Some(items) = value.as_array()
            && let Some(j) = items.iter().position(|c| {
                !c.as_str()
                    .is_some_and(|c| c.trim_start().starts_with("-----BEGIN CERTIFICATE-----"))
            })
        {
            // In lanyard.toml an entry may also name a PEM file; read from the database,
            // that would let a writer probe the server's files.
            cx.error(
                format!("certificates[{j}]"),
                "must be the PEM text of a certificate: a file path is read on the server \
                 and cannot be stored in the database",
            );
        } else if PROVIDER_SECRET_FIELDS.contains(&key.as_str())
            && value.as_str().and_then(env_reference).is_some()
        {
            cx.error(
                key.as_str(),
                "an environment reference is read on the server and cannot be stored in the \
                 database: give the secret itself (it is kept in the database and never shown)",
            );
        }
    }
    if !cx.errors.is_empty() {
        return None;
    }
    let table = match toml_of(serde_json::Value::Object(object), "") {
        Ok(table) => table,
        Err((path, message)) => {
            cx.error(path, message);
            return None;
        }
    };
    cx.provider("", table, Some(public_url))
}

/// A JSON document as the TOML value a file would give; a `null` member is left out.
fn toml_of(value: serde_json::Value, path: &str) -> Result<toml::Value, (String, String)> {
    use serde_json::Value as J;
    let at = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    Ok(match value {
        J::Null => return Err((path.to_owned(), "must not be null".to_owned())),
        J::Bool(b) => toml::Value::Boolean(b),
        J::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => toml::Value::Integer(i),
            (None, Some(f)) => toml::Value::Float(f),
            (None, None) => {
                return Err((path.to_owned(), "is not a number TOML can hold".to_owned()));
            }
        },
        J::String(s) => toml::Value::String(s),
        J::Array(items) => toml::Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| toml_of(v, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(members) => {
            let mut table = toml::Table::new();
            for (key, v) in members {
                if v.is_null() {
                    continue;
                }
                let converted = toml_of(v, &at(&key))?;
                table.insert(key, converted);
            }
            toml::Value::Table(table)
        }
    })
}
