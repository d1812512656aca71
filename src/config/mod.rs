//! `lanyard.toml`: the file is read into the raw shape ([`raw`]), then converted in one pass
//! into a typed [`Config`] that has been validated as a whole. Every problem is collected with
//! its path (`roles[1].trust_policy.Statement[0].Condition`) and its line, never just the
//! first, and a bad value is an error, never a panic or a silent default.
//!
//! Secrets are never written into the file itself: a secret field takes `${ENV_VAR}` or a
//! sibling `*_file` key. Relative paths are relative to the directory of the config file.
//!
//! The typed values are the owners' types: a role is [`crate::roles::Role`], a client
//! [`crate::op::ClientSettings`], a provider [`crate::connectors::Provider`], the sign-in
//! limits [`crate::signin::SignInLimits`]; settings no domain module owns (`[server]`,
//! `[ui]`, …) are typed here; `config` keeps the raw shape, the error collector
//! and the conversion.
//!
//! May import: the types it builds (`roles`, `op`, `connectors`, `signin`, `audit`, `db`,
//! `elevation`, `identity`, `tokens`, `policy`, `secret`).

mod admin;
mod audit;
mod clients;
mod cx;
mod errors;
mod ldap;
mod policies;
mod providers;
mod raw;
mod requests;
mod roles;
mod saml;
mod server;
mod sessions;
mod sign_in;
mod spans;
mod ui;
mod upstream;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lanyard_policy::Policy;

use crate::connectors::Provider;
use crate::op::ClientSettings;
use crate::roles::{MAX_SESSION_SECS, Role};
use crate::signin::SignInLimits;

use cx::Cx;
use raw::{RawPolicy, RawRole};

pub use clients::{client_from_document, is_valid_client_id};
pub use errors::{ConfigError, ConfigErrors};
pub use policies::policy_from_document;
pub use providers::{PROVIDER_SECRET_FIELDS, demo_users, provider_from_document};
pub use roles::role_from_document;
pub use server::{MetricsConfig, ServerConfig};
pub use sessions::{DEFAULT_MAX_ROLE_SESSIONS, SessionsConfig, StoreKind, TokensConfig};
pub use sign_in::LimitsConfig;
pub use ui::{Logo, LogoError, LogoKind, Rgb, UiConfig};
pub use upstream::{GITHUB_API_URL, GITHUB_URL, GOOGLE_ISSUER, MICROSOFT_AUTHORITY};

/// A validated configuration.
#[derive(Debug)]
pub struct Config {
    /// `[server]`.
    pub server: ServerConfig,
    /// `[sessions]`.
    pub sessions: SessionsConfig,
    /// `[tokens]`.
    pub tokens: TokensConfig,
    /// `[[providers]]`, in file order.
    pub providers: Vec<Provider>,
    /// `[[roles]]`, in file order.
    pub roles: Vec<Role>,
    /// `[[policies]]` by name.
    pub policies: BTreeMap<String, Arc<Policy>>,
    /// `[[clients]]`, in file order.
    pub clients: Vec<ClientSettings>,
    /// `[sign_in]`: brute-force protection.
    pub sign_in: SignInLimits,
    /// `[limits]`: connections, timeouts, caps on anonymous work.
    pub limits: LimitsConfig,
    /// `[metrics]`: who may scrape `/metrics`.
    pub metrics: MetricsConfig,
    /// `[audit]`: where audit events go.
    pub audit: crate::audit::AuditSettings,
    /// `[ui]`: the organisation's name, logo and accent colour on the pages.
    pub ui: UiConfig,
    /// `[admin]`: the sign-ins the admin API's simulator keeps.
    pub admin: crate::audit::RecordClaims,
    /// `[access_requests]`: where notifications of access requests go.
    pub access_webhooks: Vec<crate::elevation::Webhook>,
}

impl Config {
    /// Reads and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        Self::load_with_text(path).map(|(config, _)| config)
    }

    /// [`Config::load`], also giving the text it validated (a reload compares it with the
    /// running one's).
    pub fn load_with_text(path: &Path) -> Result<(Config, String), ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            file: path.to_owned(),
            errors: vec![ConfigError {
                path: String::new(),
                line: None,
                message: format!("cannot read the file: {e}"),
            }],
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let config =
            Self::from_toml(&text, base, &|name| std::env::var(name).ok()).map_err(|errors| {
                ConfigErrors {
                    file: path.to_owned(),
                    errors,
                }
            })?;
        Ok((config, text))
    }

    /// Parses and validates `text`; relative paths are taken from `base`, `${VAR}` from `env`.
    pub fn from_toml(
        text: &str,
        base: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, Vec<ConfigError>> {
        let table: toml::Table = match toml::from_str(text) {
            Ok(t) => t,
            Err(e) => {
                let line = e.span().map(|s| spans::line_of_offset(text, s.start));
                return Err(vec![ConfigError {
                    path: String::new(),
                    line,
                    message: format!("not valid TOML: {}", e.message()),
                }]);
            }
        };
        let mut cx = Cx {
            errors: Vec::new(),
            base,
            env,
        };
        let config = cx.build(table);
        let mut errors = cx.errors;
        if errors.is_empty()
            && let Some(config) = config
        {
            return Ok(config);
        }
        let index = spans::SpanIndex::new(text);
        for e in &mut errors {
            if e.line.is_none() {
                e.line = index.line_of_path(&e.path);
            }
        }
        errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        Err(errors)
    }
}

const SECTIONS: &[&str] = &[
    "server",
    "sessions",
    "tokens",
    "providers",
    "roles",
    "policies",
    "clients",
    "sign_in",
    "limits",
    "metrics",
    "audit",
    "ui",
    "admin",
    "access_requests",
];

impl Cx<'_> {
    fn build(&mut self, mut table: toml::Table) -> Option<Config> {
        for key in table.keys() {
            if !SECTIONS.contains(&key.as_str()) {
                let hint = did_you_mean(key, SECTIONS)
                    .map(|s| format!(", did you mean \"{s}\"?"))
                    .unwrap_or_default();
                self.errors.push(ConfigError {
                    path: key.clone(),
                    line: None,
                    message: format!("unknown section \"{key}\"{hint}"),
                });
            }
        }
        let server = self.server(table.remove("server"));
        let sessions = self.sessions(table.remove("sessions"));
        let tokens = self.tokens(table.remove("tokens"));
        let raw_policies: Vec<RawPolicy> = self.array("policies", table.remove("policies"));
        let policies = self.policies(raw_policies);
        let raw_providers: Vec<toml::Value> = self.array("providers", table.remove("providers"));
        let public_url = server.as_ref().map(|s| s.public_url.clone());
        let providers = self.providers(raw_providers, public_url.as_ref());
        let raw_roles: Vec<RawRole> = self.array("roles", table.remove("roles"));
        let roles = self.roles(raw_roles, &policies);
        let raw_clients: Vec<raw::RawClient> = self.array("clients", table.remove("clients"));
        let absolute = sessions
            .as_ref()
            .map(|s| s.absolute_timeout)
            .unwrap_or(Duration::from_secs(MAX_SESSION_SECS));
        let clients = self.clients(raw_clients, &roles, absolute);
        let sign_in = self.sign_in(table.remove("sign_in"));
        let limits = self.limits(table.remove("limits"));
        let metrics = self.metrics(table.remove("metrics"));
        let keys_dir = tokens.as_ref().map(|t| t.keys_dir.clone());
        let keys_dir = keys_dir.unwrap_or_else(|| self.path_of("data/keys"));
        let audit = self.audit(table.remove("audit"), &keys_dir);
        let ui = self.ui(table.remove("ui"));
        let admin = self.admin(table.remove("admin"));
        let access_webhooks = self.access_requests(table.remove("access_requests"));
        Some(Config {
            server: server?,
            sessions: sessions?,
            tokens: tokens?,
            providers,
            roles,
            policies,
            clients,
            sign_in,
            limits,
            metrics,
            audit,
            ui,
            admin,
            access_webhooks,
        })
    }
}

/// The closest candidate within a small edit distance, for "did you mean" hints.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests;
