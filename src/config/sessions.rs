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

impl Cx<'_> {
    pub(super) fn sessions(&mut self, value: Option<toml::Value>) -> Option<SessionsConfig> {
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
        let store = self.store(raw.store.as_deref(), redis_url);
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

    /// `store`: memory by default, or Redis at `redis_url`.
    fn store(&mut self, store: Option<&str>, redis_url: Option<Secret>) -> Option<StoreKind> {
        match store.unwrap_or("memory") {
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
        }
    }
}
