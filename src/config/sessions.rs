//! `[sessions]`: where SSO and role sessions are kept and how long they last; `[tokens]`:
//! how access tokens are signed.

use std::path::PathBuf;
use std::time::Duration;

use super::Cx;
use super::raw;
use super::roles::check_session_bounds;
use crate::secret::Secret;
use crate::tokens::Algorithm;

/// Where sessions are kept.
#[derive(Debug, Clone)]
pub enum StoreKind {
    /// In this process (embedded default; lost on restart, not shared between instances).
    Memory,
    /// A Redis server (production; `redis_mode = "standalone"`).
    Redis {
        /// `redis://` or `rediss://` URL; may carry a password.
        url: Secret,
    },
    /// A Redis master and replicas watched by Sentinel (`redis_mode = "sentinel"`).
    RedisSentinel {
        /// The sentinels' `redis://` URLs.
        sentinels: Vec<Secret>,
        /// The name the sentinels monitor the master under.
        master: String,
        /// The master's and replicas' password.
        password: Option<Secret>,
    },
    /// A Redis Cluster (`redis_mode = "cluster"`).
    RedisCluster {
        /// Some of its nodes' `redis://` or `rediss://` URLs.
        nodes: Vec<Secret>,
        /// The nodes' password.
        password: Option<Secret>,
    },
}

/// What `redis_mode` is, when the configuration names none.
const REDIS_MODES: &str = "\"standalone\", \"sentinel\" or \"cluster\"";

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
    /// CA certificates (PEM) trusted for `rediss://` besides the system's roots.
    pub redis_ca_file: Option<PathBuf>,
    /// Replicas that must hold a write before it counts as done (Redis `WAIT`).
    pub redis_replica_acks: u32,
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

impl Cx<'_> {
    pub(super) fn sessions(&mut self, value: Option<toml::Value>) -> Option<SessionsConfig> {
        let raw: raw::RawSessions = self.shape(
            "sessions",
            value.unwrap_or(toml::Value::Table(toml::Table::new())),
        )?;
        let redis_url = self.secret(
            "sessions.redis_url",
            raw.redis_url.clone(),
            raw.redis_url_file.clone(),
            "redis_url_file",
        );
        let store = self.store(&raw, redis_url);
        let key_prefix = raw.key_prefix.unwrap_or_else(|| "lanyard:".to_owned());
        if matches!(store, Some(StoreKind::RedisCluster { .. })) && key_prefix.contains(['{', '}'])
        {
            self.error(
                "sessions.key_prefix",
                "must not contain { or } with redis_mode = \"cluster\" (the keys' hash tags \
                 would no longer keep the keys of one operation in one slot)",
            );
        }
        let redis_ca_file = raw.redis_ca_file.as_deref().map(|f| self.path_of(f));
        if let Some(file) = &redis_ca_file {
            match std::fs::read_to_string(file) {
                Ok(pem) if pem.contains("-----BEGIN CERTIFICATE-----") => {}
                Ok(_) => self.error(
                    "sessions.redis_ca_file",
                    format!("{} holds no PEM certificate", file.display()),
                ),
                Err(e) => self.error(
                    "sessions.redis_ca_file",
                    format!("cannot read {}: {e}", file.display()),
                ),
            }
        }
        let redis_replica_acks = match (&store, raw.redis_replica_acks) {
            (Some(StoreKind::RedisCluster { .. }), Some(n)) if n > 0 => {
                self.error(
                    "sessions.redis_replica_acks",
                    "is not supported with redis_mode = \"cluster\" (set 0 or leave it out)",
                );
                0
            }
            (Some(StoreKind::Memory), Some(_)) => {
                self.error(
                    "sessions.redis_replica_acks",
                    "is only for store = \"redis\"",
                );
                0
            }
            (_, Some(n)) => n,
            (Some(StoreKind::RedisSentinel { .. }), None) => 1,
            (_, None) => 0,
        };
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
            redis_ca_file,
            redis_replica_acks,
        })
    }

    pub(super) fn tokens(&mut self, value: Option<toml::Value>) -> Option<TokensConfig> {
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

    /// `store`: memory by default, or Redis in `redis_mode` (standalone at `redis_url` by
    /// default, `sentinels` + `sentinel_master`, or `cluster_nodes`).
    fn store(&mut self, raw: &raw::RawSessions, redis_url: Option<Secret>) -> Option<StoreKind> {
        let mode = raw.redis_mode.as_deref().unwrap_or("standalone");
        let store = raw.store.as_deref().unwrap_or("memory");
        if store != "redis" {
            // Redis settings without Redis are a mistake worth naming.
            let given = [
                ("redis_mode", raw.redis_mode.is_some()),
                ("sentinels", raw.sentinels.is_some()),
                ("sentinel_master", raw.sentinel_master.is_some()),
                ("cluster_nodes", raw.cluster_nodes.is_some()),
                ("redis_password", raw.redis_password.is_some()),
                ("redis_password_file", raw.redis_password_file.is_some()),
                ("redis_ca_file", raw.redis_ca_file.is_some()),
            ];
            for (key, _) in given.iter().filter(|(_, set)| *set) {
                self.error(format!("sessions.{key}"), "is only for store = \"redis\"");
            }
        }
        match store {
            "memory" => Some(StoreKind::Memory),
            "redis" => match mode {
                "standalone" => {
                    self.only_in_mode(raw, "standalone");
                    if raw.redis_password.is_some() || raw.redis_password_file.is_some() {
                        self.error(
                            "sessions.redis_password",
                            "is for redis_mode = \"sentinel\" or \"cluster\"; a standalone \
                             Redis takes its password in redis_url",
                        );
                    }
                    self.standalone(redis_url)
                }
                "sentinel" => {
                    self.only_in_mode(raw, "sentinel");
                    let sentinels = self.redis_urls("sessions.sentinels", raw.sentinels.as_ref());
                    let master = match raw.sentinel_master.as_deref() {
                        Some(name) if !name.trim().is_empty() => Some(name.to_owned()),
                        Some(_) => {
                            self.error("sessions.sentinel_master", "must not be empty");
                            None
                        }
                        None => {
                            self.error(
                                "sessions.sentinel_master",
                                "is required when redis_mode = \"sentinel\" (the name the \
                                 sentinels monitor the master under)",
                            );
                            None
                        }
                    };
                    if let Some(urls) = &sentinels {
                        for (i, url) in urls.iter().enumerate() {
                            if url.expose_secret().starts_with("rediss://") {
                                self.error(
                                    format!("sessions.sentinels[{i}]"),
                                    "TLS (rediss://) is not supported with redis_mode = \
                                     \"sentinel\" yet; use redis://",
                                );
                            }
                        }
                    }
                    let password = self.redis_password(raw);
                    Some(StoreKind::RedisSentinel {
                        sentinels: sentinels?,
                        master: master?,
                        password,
                    })
                }
                "cluster" => {
                    self.only_in_mode(raw, "cluster");
                    let nodes =
                        self.redis_urls("sessions.cluster_nodes", raw.cluster_nodes.as_ref());
                    let password = self.redis_password(raw);
                    Some(StoreKind::RedisCluster {
                        nodes: nodes?,
                        password,
                    })
                }
                other => {
                    self.error(
                        "sessions.redis_mode",
                        format!("unknown mode \"{other}\"; use {REDIS_MODES}"),
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
        }
    }

    /// `redis_url` of the standalone mode.
    fn standalone(&mut self, redis_url: Option<Secret>) -> Option<StoreKind> {
        match redis_url {
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
        }
    }

    /// Names every key of another mode that is set, at its path.
    fn only_in_mode(&mut self, raw: &raw::RawSessions, mode: &str) {
        let keys = [
            ("redis_url", raw.redis_url.is_some(), "standalone"),
            ("redis_url_file", raw.redis_url_file.is_some(), "standalone"),
            ("sentinels", raw.sentinels.is_some(), "sentinel"),
            ("sentinel_master", raw.sentinel_master.is_some(), "sentinel"),
            ("cluster_nodes", raw.cluster_nodes.is_some(), "cluster"),
        ];
        for (key, _, owner) in keys.iter().filter(|(_, set, owner)| *set && *owner != mode) {
            self.error(
                format!("sessions.{key}"),
                format!("is only for redis_mode = \"{owner}\" (this is \"{mode}\")"),
            );
        }
    }

    /// A non-empty list of `redis://` or `rediss://` URLs, each maybe `${ENV}`.
    fn redis_urls(&mut self, path: &str, urls: Option<&Vec<String>>) -> Option<Vec<Secret>> {
        let Some(urls) = urls.filter(|u| !u.is_empty()) else {
            self.error(path, "must list at least one redis:// URL");
            return None;
        };
        let mut out = Vec::with_capacity(urls.len());
        let mut ok = true;
        for (i, url) in urls.iter().enumerate() {
            let at = format!("{path}[{i}]");
            match self.secret(&at, Some(url.clone()), None, "") {
                Some(url)
                    if url.expose_secret().starts_with("redis://")
                        || url.expose_secret().starts_with("rediss://") =>
                {
                    out.push(url);
                }
                Some(_) => {
                    self.error(at, "must start with redis:// or rediss://");
                    ok = false;
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// `redis_password` / `redis_password_file`: the data nodes' password, if any.
    fn redis_password(&mut self, raw: &raw::RawSessions) -> Option<Secret> {
        self.secret(
            "sessions.redis_password",
            raw.redis_password.clone(),
            raw.redis_password_file.clone(),
            "redis_password_file",
        )
    }
}
