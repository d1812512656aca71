//! `lanyard.toml`: the file is read into the raw shape ([`raw`]), then converted in one pass
//! into a typed [`Config`] that has been validated as a whole. Every problem is collected with
//! its path (`roles[1].trust_policy.Statement[0].Condition`) and its line, never just the
//! first, and a bad value is an error, never a panic or a silent default.
//!
//! Secrets are never written into the file itself: a secret field takes `${ENV_VAR}` or a
//! sibling `*_file` key. Relative paths are relative to the directory of the config file.
//!
//! May import: the types it configures (`identity`, `tokens`, `policy`, `secret`).

mod audit;
mod clients;
mod ldap;
mod raw;
mod saml;
mod sign_in;
mod spans;
mod upstream;

pub use clients::{ClientAuth, ClientConfig, GrantType, IntrospectScope, TOKEN_EXCHANGE_GRANT};

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lanyard_policy::{Policy, PolicyKind};
use serde::de::DeserializeOwned;
use url::Url;

use crate::identity::{ProviderId, ProviderKind};
use crate::secret::Secret;
use crate::tokens::Algorithm;

use raw::{RawLdapProvider, RawLocalProvider, RawPolicy, RawPolicySource, RawRole};

pub use ldap::{
    LdapConfig, LdapFilter, LdapGroupSearch, LdapScope, LdapTransport, LdapUserSearch,
    MATCHING_RULE_IN_CHAIN,
};
pub use sign_in::{LimitsConfig, SignInConfig};

use raw::RawSamlProvider;
pub use upstream::{
    ClaimMapping, GithubProviderConfig, OidcPreset, OidcProviderConfig, TENANT_PLACEHOLDER,
    UpstreamClientAuth,
};

pub use saml::{IdpSource, SamlAttributeMap, SamlProviderConfig};

/// The shortest session a role may grant (AWS's minimum, 15 minutes).
pub const MIN_SESSION_SECS: u64 = 900;
/// The longest session a role may grant (AWS's maximum, 12 hours).
pub const MAX_SESSION_SECS: u64 = 43_200;

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
    pub providers: Vec<ProviderConfig>,
    /// `[[roles]]`, in file order.
    pub roles: Vec<RoleConfig>,
    /// `[[policies]]` by name.
    pub policies: BTreeMap<String, Arc<Policy>>,
    /// `[[clients]]`, in file order.
    pub clients: Vec<ClientConfig>,
    /// `[sign_in]`: brute-force protection.
    pub sign_in: SignInConfig,
    /// `[limits]`: connections, timeouts, caps on anonymous work.
    pub limits: LimitsConfig,
    /// `[metrics]`: who may scrape `/metrics`.
    pub metrics: MetricsConfig,
    /// `[audit]`: where audit events go.
    pub audit: crate::audit::AuditSettings,
}

/// `[metrics]`: `/metrics` answers clients in `allow`, or presenting `bearer_token`;
/// everybody else gets 404.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    /// Networks that may scrape (default loopback only).
    pub allow: Vec<ipnet::IpNet>,
    /// A token that lets any address scrape (`Authorization: Bearer …`).
    pub bearer_token: Option<Secret>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            allow: vec![
                ipnet::IpNet::from(std::net::IpAddr::from([127, 0, 0, 1])),
                ipnet::IpNet::from(std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
            ],
            bearer_token: None,
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// The URL people and applications reach Lanyard at; the token issuer.
    pub public_url: Url,
    /// `false` only when `public_url` is plain `http` on a loopback address (local
    /// development): cookies then lose `Secure` and the `__Host-` prefix.
    pub secure_cookies: bool,
    /// Reverse proxies and load balancers whose `X-Forwarded-For` is believed (networks).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl ServerConfig {
    /// `public_url` without a trailing slash, for building absolute URLs and as `iss`.
    pub fn issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }
}

/// Where sessions are kept.
#[derive(Debug, Clone)]
pub enum StoreKind {
    /// In this process (embedded default; lost on restart, not shared between instances).
    Memory,
    /// A Redis server (production).
    Redis {
        /// `redis://` or `rediss://` URL; may carry a password.
        url: Secret,
    },
}

/// Role sessions one SSO session may mint on the picker when the configuration names no
/// `sessions.max_role_sessions`.
pub const DEFAULT_MAX_ROLE_SESSIONS: u32 = 50;

/// `[sessions]`.
#[derive(Debug, Clone)]
pub struct SessionsConfig {
    /// Backend.
    pub store: StoreKind,
    /// Prefix of every key.
    pub key_prefix: String,
    /// An SSO session ends after this long without use.
    pub idle_timeout: Duration,
    /// An SSO session ends this long after sign-in, used or not.
    pub absolute_timeout: Duration,
    /// How many role sessions one SSO session may mint on the role picker.
    pub max_role_sessions: u32,
}

/// `[tokens]`.
#[derive(Debug, Clone)]
pub struct TokensConfig {
    /// Signing algorithm of new tokens.
    pub algorithm: Algorithm,
    /// Where signing keys live.
    pub keys_dir: PathBuf,
    /// Duration offered first on the role picker (capped by the role's maximum).
    pub default_duration: Duration,
    /// `aud` of issued access tokens.
    pub audience: String,
}

/// One `[[providers]]` entry.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Id.
    pub id: ProviderId,
    /// Name on the sign-in page.
    pub display_name: String,
    /// Kind-specific settings.
    pub settings: ProviderSettings,
}

impl ProviderConfig {
    /// The provider's kind.
    pub fn kind(&self) -> ProviderKind {
        match &self.settings {
            ProviderSettings::Local(_) => ProviderKind::Local,
            ProviderSettings::Ldap(_) => ProviderKind::Ldap,
            ProviderSettings::Oidc(o) => o.preset.kind(),
            ProviderSettings::Github(_) => ProviderKind::Github,
            ProviderSettings::Saml(_) => ProviderKind::Saml,
        }
    }
}

/// Kind-specific provider settings.
#[derive(Debug, Clone)]
pub enum ProviderSettings {
    /// `kind = "local"`.
    Local(LocalDirectoryConfig),
    /// `kind = "ldap"`.
    Ldap(Box<LdapConfig>),
    /// `kind = "oidc"`, `"google"` or `"microsoft"`.
    Oidc(OidcProviderConfig),
    /// `kind = "github"`.
    Github(GithubProviderConfig),
    /// `kind = "saml"`.
    Saml(Box<SamlProviderConfig>),
}

/// A local directory.
#[derive(Debug, Clone)]
pub struct LocalDirectoryConfig {
    /// Its users.
    pub users: Vec<LocalUserConfig>,
}

/// How a local user's password is checked.
#[derive(Debug, Clone)]
pub enum PasswordCredential {
    /// An argon2id PHC string.
    Hash(Secret),
    /// A plaintext password from the config, for demo directories only: hashed at start-up,
    /// printed at start-up, and warned about loudly.
    InsecureDemo(Secret),
}

/// One local user.
#[derive(Debug, Clone)]
pub struct LocalUserConfig {
    /// Username (the subject).
    pub username: String,
    /// Password.
    pub password: PasswordCredential,
    /// Email.
    pub email: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Groups.
    pub groups: Vec<String>,
    /// Principal tags.
    pub tags: BTreeMap<String, String>,
    /// The base32 TOTP secret (RFC 6238) when the user signs in with a one-time code too.
    pub totp: Option<Secret>,
}

/// One `[[roles]]` entry.
#[derive(Debug, Clone)]
pub struct RoleConfig {
    /// Name (`[A-Za-z0-9+=,.@_-]`, 1–64, as IAM).
    pub name: String,
    /// What the role is for.
    pub description: String,
    /// Heading the role is listed under on the role picker.
    pub group: Option<String>,
    /// Longest session it grants.
    pub max_session_duration: Duration,
    /// Who may assume it.
    pub trust_policy: Arc<Policy>,
    /// What it may do: named policies then the inline one.
    pub permission_policies: Vec<Arc<Policy>>,
    /// Upper bound of what it may do.
    pub permissions_boundary: Option<Arc<Policy>>,
}

/// One problem in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where, as a path of keys and indices (`providers[0].users[2].password_hash`).
    pub path: String,
    /// 1-based line of the closest element that exists in the file.
    pub line: Option<usize>,
    /// What is wrong, as a sentence for the admin.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.path.is_empty()) {
            (Some(line), false) => write!(f, "line {line}: {}: {}", self.path, self.message),
            (Some(line), true) => write!(f, "line {line}: {}", self.message),
            (None, false) => write!(f, "{}: {}", self.path, self.message),
            (None, true) => f.write_str(&self.message),
        }
    }
}

/// Every problem found in a config file.
#[derive(Debug, thiserror::Error)]
pub struct ConfigErrors {
    /// The file.
    pub file: PathBuf,
    /// The problems, in file order.
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        writeln!(
            f,
            "{}: {n} problem{}",
            self.file.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
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

/// The conversion context: collects errors instead of stopping at the first.
struct Cx<'a> {
    errors: Vec<ConfigError>,
    base: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
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
];
const PROVIDER_KINDS: &[&str] = &[
    "local",
    "ldap",
    "oidc",
    "google",
    "microsoft",
    "github",
    "saml",
];

impl Cx<'_> {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            path: path.into(),
            line: None,
            message: message.into(),
        });
    }

    /// Deserializes one value, recording a shape error (unknown key, wrong type) at its path.
    fn shape<T: DeserializeOwned>(&mut self, path: &str, value: toml::Value) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let inner = e.path().to_string();
                let full = match (path.is_empty(), inner.as_str()) {
                    (_, ".") => path.to_owned(),
                    (true, _) => inner,
                    (false, _) => format!("{path}.{inner}"),
                };
                let message = e.into_inner().message().to_owned();
                self.error(full, message);
                None
            }
        }
    }

    /// Each element of an array of tables, deserialized on its own so that one bad entry
    /// does not hide the problems of the others.
    fn array<T: DeserializeOwned>(&mut self, name: &str, value: Option<toml::Value>) -> Vec<T> {
        match value {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .filter_map(|(i, v)| self.shape(&format!("{name}[{i}]"), v))
                .collect(),
            Some(_) => {
                self.error(name, format!("must be an array of tables ([[{name}]])"));
                Vec::new()
            }
        }
    }

    fn duration(&mut self, path: &str, value: Option<&str>, default: Duration) -> Duration {
        let Some(text) = value else { return default };
        match humantime::parse_duration(text) {
            Ok(d) if d.subsec_nanos() == 0 && !d.is_zero() => d,
            Ok(_) => {
                self.error(path, "must be a positive whole number of seconds");
                default
            }
            Err(e) => {
                self.error(
                    path,
                    format!(
                        "{text:?} is not a duration ({e}); write e.g. \"15m\", \"1h\", \"12h\""
                    ),
                );
                default
            }
        }
    }

    fn path_of(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_owned()
        } else {
            self.base.join(p)
        }
    }

    /// A secret given as `${ENV_VAR}` (the whole value) or literally, or read from `*_file`.
    fn secret(
        &mut self,
        path: &str,
        value: Option<String>,
        file: Option<String>,
        file_key: &str,
    ) -> Option<Secret> {
        match (value, file) {
            (Some(_), Some(_)) => {
                self.error(path, format!("give either this or {file_key}, not both"));
                None
            }
            (Some(v), None) => match env_reference(&v) {
                Some(var) => match (self.env)(var) {
                    Some(v) if !v.is_empty() => Some(Secret::new(v)),
                    _ => {
                        self.error(
                            path,
                            format!("environment variable {var} is not set (or empty)"),
                        );
                        None
                    }
                },
                None => Some(Secret::new(v)),
            },
            (None, Some(f)) => {
                let full = self.path_of(&f);
                match std::fs::read_to_string(&full) {
                    Ok(v) if !v.trim().is_empty() => {
                        Some(Secret::new(v.trim_end_matches(['\r', '\n'])))
                    }
                    Ok(_) => {
                        self.error(
                            format!("{path}_file"),
                            format!("{} is empty", full.display()),
                        );
                        None
                    }
                    Err(e) => {
                        self.error(
                            format!("{path}_file"),
                            format!("cannot read {}: {e}", full.display()),
                        );
                        None
                    }
                }
            }
            (None, None) => None,
        }
    }

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
        let roles = self.roles(raw_roles, &policies, &providers);
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
        })
    }

    fn metrics(&mut self, value: Option<toml::Value>) -> MetricsConfig {
        let Some(value) = value else {
            return MetricsConfig::default();
        };
        let Some(raw) = self.shape::<raw::RawMetrics>("metrics", value) else {
            return MetricsConfig::default();
        };
        let allow = match raw.allow {
            None => MetricsConfig::default().allow,
            Some(texts) => {
                let mut allow = Vec::new();
                for (i, text) in texts.iter().enumerate() {
                    let net = text.parse::<ipnet::IpNet>().ok().or_else(|| {
                        text.parse::<std::net::IpAddr>()
                            .ok()
                            .map(ipnet::IpNet::from)
                    });
                    match net {
                        Some(n) => allow.push(n.trunc()),
                        None => self.error(
                            format!("metrics.allow[{i}]"),
                            format!(
                                "{text:?} is not an address or a network such as \"127.0.0.1/32\""
                            ),
                        ),
                    }
                }
                allow
            }
        };
        let bearer_token = self.secret(
            "metrics.bearer_token",
            raw.bearer_token,
            raw.bearer_token_file,
            "bearer_token_file",
        );
        MetricsConfig {
            allow,
            bearer_token,
        }
    }

    fn server(&mut self, value: Option<toml::Value>) -> Option<ServerConfig> {
        let raw: raw::RawServer = self.shape(
            "server",
            value.unwrap_or(toml::Value::Table(toml::Table::new())),
        )?;
        let bind_text = raw.bind.as_deref().unwrap_or("127.0.0.1:8080");
        let bind = match bind_text.parse::<SocketAddr>() {
            Ok(b) => Some(b),
            Err(_) => {
                self.error(
                    "server.bind",
                    format!("{bind_text:?} is not an address:port such as \"0.0.0.0:8080\""),
                );
                None
            }
        };
        let url_text = match (&raw.public_url, bind) {
            (Some(u), _) => u.clone(),
            (None, Some(b)) => format!("http://{b}"),
            // The bind error already says what is wrong; no second error about the URL.
            (None, None) => return None,
        };
        let public_url = match Url::parse(&url_text) {
            Ok(u) if !matches!(u.scheme(), "http" | "https") => {
                self.error("server.public_url", "must be an http:// or https:// URL");
                None
            }
            Ok(u) if u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() => {
                self.error(
                    "server.public_url",
                    "must not carry a query, a fragment or credentials",
                );
                None
            }
            Ok(u) => Some(u),
            Err(e) => {
                self.error(
                    "server.public_url",
                    format!("{url_text:?} is not a URL: {e}"),
                );
                None
            }
        };
        let public_url = public_url?;
        let secure_cookies = public_url.scheme() == "https";
        if !secure_cookies && !is_loopback_host(&public_url) {
            self.error(
                "server.public_url",
                "must be https:// unless the host is a loopback address (cookies and tokens \
                 would cross the network in clear)",
            );
            return None;
        }
        let mut trusted_proxies = Vec::new();
        for (i, text) in raw.trusted_proxies.iter().enumerate() {
            let net = text.parse::<ipnet::IpNet>().ok().or_else(|| {
                text.parse::<std::net::IpAddr>()
                    .ok()
                    .map(ipnet::IpNet::from)
            });
            match net {
                Some(n) => trusted_proxies.push(n.trunc()),
                None => self.error(
                    format!("server.trusted_proxies[{i}]"),
                    format!("{text:?} is not an address or a network such as \"10.0.0.0/8\""),
                ),
            }
        }
        Some(ServerConfig {
            bind: bind?,
            public_url,
            secure_cookies,
            trusted_proxies,
        })
    }

    fn sessions(&mut self, value: Option<toml::Value>) -> Option<SessionsConfig> {
        let raw: raw::RawSessions = self.shape(
            "sessions",
            value.unwrap_or(toml::Value::Table(toml::Table::new())),
        )?;
        let redis_url = self.secret(
            "sessions.redis_url",
            raw.redis_url,
            raw.redis_url_file,
            "redis_url_file",
        );
        let store = match raw.store.as_deref().unwrap_or("memory") {
            "memory" => Some(StoreKind::Memory),
            "redis" => match redis_url {
                Some(url) => {
                    let scheme_ok = url.expose_secret().starts_with("redis://")
                        || url.expose_secret().starts_with("rediss://")
                        || url.expose_secret().starts_with("redis+unix://")
                        || url.expose_secret().starts_with("unix://");
                    if scheme_ok {
                        Some(StoreKind::Redis { url })
                    } else {
                        self.error(
                            "sessions.redis_url",
                            "must start with redis://, rediss:// or unix://",
                        );
                        None
                    }
                }
                None => {
                    self.error(
                        "sessions.redis_url",
                        "is required when store = \"redis\" (or give redis_url_file)",
                    );
                    None
                }
            },
            other => {
                self.error(
                    "sessions.store",
                    format!("unknown store \"{other}\"; use \"memory\" or \"redis\""),
                );
                None
            }
        };
        let key_prefix = raw.key_prefix.unwrap_or_else(|| "lanyard:".to_owned());
        let idle = self.duration(
            "sessions.idle_timeout",
            raw.idle_timeout.as_deref(),
            Duration::from_secs(3600),
        );
        let absolute = self.duration(
            "sessions.absolute_timeout",
            raw.absolute_timeout.as_deref(),
            Duration::from_secs(12 * 3600),
        );
        if idle > absolute {
            self.error(
                "sessions.idle_timeout",
                "must not be longer than absolute_timeout",
            );
        }
        let max_role_sessions = raw.max_role_sessions.unwrap_or(DEFAULT_MAX_ROLE_SESSIONS);
        if max_role_sessions == 0 {
            self.error("sessions.max_role_sessions", "must be at least 1");
        }
        Some(SessionsConfig {
            store: store?,
            key_prefix,
            idle_timeout: idle,
            absolute_timeout: absolute,
            max_role_sessions,
        })
    }

    fn tokens(&mut self, value: Option<toml::Value>) -> Option<TokensConfig> {
        let raw: raw::RawTokens = self.shape(
            "tokens",
            value.unwrap_or(toml::Value::Table(toml::Table::new())),
        )?;
        let algorithm = match raw
            .algorithm
            .as_deref()
            .unwrap_or("ES256")
            .parse::<Algorithm>()
        {
            Ok(a) => Some(a),
            Err(_) => {
                self.error(
                    "tokens.algorithm",
                    format!(
                        "unknown algorithm {:?}; use \"ES256\", \"EdDSA\" or \"RS256\"",
                        raw.algorithm.unwrap_or_default()
                    ),
                );
                None
            }
        };
        let default_duration = self.duration(
            "tokens.default_duration",
            raw.default_duration.as_deref(),
            Duration::from_secs(3600),
        );
        check_session_bounds(self, "tokens.default_duration", default_duration);
        Some(TokensConfig {
            algorithm: algorithm?,
            keys_dir: self.path_of(raw.keys_dir.as_deref().unwrap_or("data/keys")),
            default_duration,
            audience: raw.audience.unwrap_or_default(),
        })
    }

    fn policy_source(
        &mut self,
        path: &str,
        source: RawPolicySource,
        name: &str,
        kind: PolicyKind,
    ) -> Option<Arc<Policy>> {
        let document = match source {
            RawPolicySource::Inline(v) => v,
            RawPolicySource::File(file) => {
                let full = self.path_of(&file);
                let text = match std::fs::read_to_string(&full) {
                    Ok(t) => t,
                    Err(e) => {
                        self.error(path, format!("cannot read {}: {e}", full.display()));
                        return None;
                    }
                };
                match serde_json::from_str(&text) {
                    Ok(v) => v,
                    Err(e) => {
                        self.error(path, format!("{} is not valid JSON: {e}", full.display()));
                        return None;
                    }
                }
            }
        };
        match Policy::from_value(name, &document, kind) {
            Ok(p) => Some(Arc::new(p)),
            Err(errors) => {
                for e in errors.iter() {
                    let sub = if e.path.is_empty() {
                        path.to_owned()
                    } else {
                        format!("{path}.{}", e.path)
                    };
                    self.error(sub, e.message.clone());
                }
                None
            }
        }
    }

    fn policies(&mut self, raws: Vec<RawPolicy>) -> BTreeMap<String, Arc<Policy>> {
        let mut out = BTreeMap::new();
        for (i, raw) in raws.into_iter().enumerate() {
            let path = format!("policies[{i}]");
            if raw.name.is_empty() {
                self.error(format!("{path}.name"), "must not be empty");
                continue;
            }
            if out.contains_key(&raw.name) {
                self.error(
                    format!("{path}.name"),
                    format!("a policy named \"{}\" is already defined", raw.name),
                );
                continue;
            }
            let source = match (raw.document, raw.document_file) {
                (Some(doc), None) => RawPolicySource::Inline(doc),
                (None, Some(file)) => RawPolicySource::File(file),
                _ => {
                    self.error(&path, "give exactly one of document or document_file");
                    continue;
                }
            };
            let sub = format!("{path}.document");
            if let Some(p) = self.policy_source(&sub, source, &raw.name, PolicyKind::Identity) {
                out.insert(raw.name, p);
            }
        }
        out
    }

    /// Each provider is read in two steps, `kind` first and then the shape of that kind, so
    /// that a problem inside one is reported with its full path.
    fn providers(
        &mut self,
        raws: Vec<toml::Value>,
        public_url: Option<&Url>,
    ) -> Vec<ProviderConfig> {
        let mut out: Vec<ProviderConfig> = Vec::new();
        for (i, raw) in raws.into_iter().enumerate() {
            let path = format!("providers[{i}]");
            let toml::Value::Table(mut table) = raw else {
                self.error(&path, "must be a table ([[providers]])");
                continue;
            };
            let kind = match table.remove("kind") {
                Some(toml::Value::String(k)) => k,
                Some(_) => {
                    self.error(format!("{path}.kind"), "must be a string");
                    continue;
                }
                None => {
                    self.error(
                        &path,
                        format!("kind is required: one of {}", PROVIDER_KINDS.join(", ")),
                    );
                    continue;
                }
            };
            let provider = match kind.as_str() {
                "local" => self
                    .shape::<RawLocalProvider>(&path, toml::Value::Table(table))
                    .and_then(|local| self.local_provider(&path, local)),
                "ldap" => self
                    .shape::<RawLdapProvider>(&path, toml::Value::Table(table))
                    .and_then(|ldap| self.ldap_provider(&path, ldap)),
                "oidc" | "google" | "microsoft" => {
                    let preset = match kind.as_str() {
                        "google" => upstream::OidcPreset::Google,
                        "microsoft" => upstream::OidcPreset::Microsoft,
                        _ => upstream::OidcPreset::Generic,
                    };
                    self.shape::<upstream::RawOidcProvider>(&path, toml::Value::Table(table))
                        .and_then(|raw| self.oidc_provider(&path, preset, raw))
                }
                "github" => self
                    .shape::<upstream::RawGithubProvider>(&path, toml::Value::Table(table))
                    .and_then(|raw| self.github_provider(&path, raw)),
                "saml" => self
                    .shape::<RawSamlProvider>(&path, toml::Value::Table(table))
                    .and_then(|saml| self.saml_provider(&path, saml, public_url)),
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
            };
            let Some(provider) = provider else { continue };
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

    fn provider_id(&mut self, path: &str, id: &str) -> Option<ProviderId> {
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

    fn local_provider(&mut self, path: &str, raw: RawLocalProvider) -> Option<ProviderConfig> {
        let id = self.provider_id(path, &raw.id);
        let mut users: Vec<LocalUserConfig> = Vec::new();
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
            let password = match (hash, u.insecure_demo_password) {
                (Some(h), None) => {
                    if !h.expose_secret().starts_with("$argon2id$") {
                        self.error(
                            format!("{upath}.password_hash"),
                            "must be an argon2id PHC string ($argon2id$v=19$...); make one with \
                             `lanyard hash-password`",
                        );
                        continue;
                    }
                    PasswordCredential::Hash(h)
                }
                (None, Some(p)) if !p.is_empty() => {
                    PasswordCredential::InsecureDemo(Secret::new(p))
                }
                (Some(_), Some(_)) => {
                    self.error(
                        &upath,
                        "give either password_hash or insecure_demo_password, not both",
                    );
                    continue;
                }
                _ => {
                    self.error(
                        format!("{upath}.password_hash"),
                        "is required (make one with `lanyard hash-password`)",
                    );
                    continue;
                }
            };
            let totp = self.totp_secret(&upath, u.totp_secret, u.totp_secret_file);
            users.push(LocalUserConfig {
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
        Some(ProviderConfig {
            display_name: raw.display_name.unwrap_or_else(|| id.to_string()),
            id,
            settings: ProviderSettings::Local(LocalDirectoryConfig { users }),
        })
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

    fn roles(
        &mut self,
        raws: Vec<RawRole>,
        policies: &BTreeMap<String, Arc<Policy>>,
        providers: &[ProviderConfig],
    ) -> Vec<RoleConfig> {
        let mut out: Vec<RoleConfig> = Vec::new();
        let _ = providers;
        for (i, raw) in raws.into_iter().enumerate() {
            let path = format!("roles[{i}]");
            if !is_valid_role_name(&raw.name) {
                self.error(
                    format!("{path}.name"),
                    format!(
                        "{:?} is not a valid role name: 1-64 characters of A-Z a-z 0-9 and +=,.@_-",
                        raw.name
                    ),
                );
                continue;
            }
            if out.iter().any(|r| r.name == raw.name) {
                self.error(
                    format!("{path}.name"),
                    format!("a role named \"{}\" is already defined", raw.name),
                );
                continue;
            }
            let max = self.duration(
                &format!("{path}.max_session_duration"),
                raw.max_session_duration.as_deref(),
                Duration::from_secs(3600),
            );
            check_session_bounds(self, &format!("{path}.max_session_duration"), max);
            let trust = match raw.trust_policy {
                Some(source) => self.policy_source(
                    &format!("{path}.trust_policy"),
                    source,
                    &format!("{}/trust", raw.name),
                    PolicyKind::Trust,
                ),
                None => {
                    self.error(
                        format!("{path}.trust_policy"),
                        "is required: without one nobody may assume the role",
                    );
                    None
                }
            };
            let mut permission_policies = Vec::new();
            for (j, name) in raw.permission_policies.iter().enumerate() {
                match policies.get(name) {
                    Some(p) => permission_policies.push(Arc::clone(p)),
                    None => self.unknown_policy(
                        &format!("{path}.permission_policies[{j}]"),
                        name,
                        policies,
                    ),
                }
            }
            if let Some(source) = raw.inline_policy
                && let Some(p) = self.policy_source(
                    &format!("{path}.inline_policy"),
                    source,
                    &format!("{}/inline", raw.name),
                    PolicyKind::Identity,
                )
            {
                permission_policies.push(p);
            }
            let permissions_boundary = match raw.permissions_boundary {
                Some(name) => match policies.get(&name) {
                    Some(p) => Some(Arc::clone(p)),
                    None => {
                        self.unknown_policy(
                            &format!("{path}.permissions_boundary"),
                            &name,
                            policies,
                        );
                        None
                    }
                },
                None => None,
            };
            let Some(trust_policy) = trust else { continue };
            out.push(RoleConfig {
                name: raw.name,
                description: raw.description.unwrap_or_default(),
                group: raw.group,
                max_session_duration: max,
                trust_policy,
                permission_policies,
                permissions_boundary,
            });
        }
        out
    }

    fn unknown_policy(&mut self, path: &str, name: &str, policies: &BTreeMap<String, Arc<Policy>>) {
        let names: Vec<&str> = policies.keys().map(String::as_str).collect();
        let hint = did_you_mean(name, &names)
            .map(|s| format!(", did you mean \"{s}\"?"))
            .unwrap_or_default();
        self.error(
            path,
            format!("no policy named \"{name}\" in [[policies]]{hint}"),
        );
    }
}

fn check_session_bounds(cx: &mut Cx<'_>, path: &str, d: Duration) {
    let secs = d.as_secs();
    if !(MIN_SESSION_SECS..=MAX_SESSION_SECS).contains(&secs) {
        cx.error(
            path,
            format!("must be between 15m and 12h (900-43200 seconds), not {secs} seconds"),
        );
    }
}

/// `Some("NAME")` when `value` is exactly `${NAME}` with an environment-variable name.
fn env_reference(value: &str) -> Option<&str> {
    let name = value.strip_prefix("${")?.strip_suffix('}')?;
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// IAM role-name rules.
pub fn is_valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
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

#[cfg(test)]
mod tests;
