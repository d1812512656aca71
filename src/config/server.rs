//! `[server]`: where Lanyard listens and the URL it is reached at; `[metrics]`: who may
//! scrape `/metrics`.

use std::net::{IpAddr, SocketAddr};

use url::Url;

use super::Cx;
use super::raw;
use crate::secret::Secret;

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

pub(super) fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

impl Cx<'_> {
    pub(super) fn metrics(&mut self, value: Option<toml::Value>) -> MetricsConfig {
        let Some(value) = value else {
            return MetricsConfig::default();
        };
        let Some(raw) = self.shape::<raw::RawMetrics>("metrics", value) else {
            return MetricsConfig::default();
        };
        let allow = match raw.allow {
            None => MetricsConfig::default().allow,
            Some(texts) => self.networks("metrics.allow", &texts, "127.0.0.1/32"),
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

    pub(super) fn server(&mut self, value: Option<toml::Value>) -> Option<ServerConfig> {
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
        let trusted_proxies =
            self.networks("server.trusted_proxies", &raw.trusted_proxies, "10.0.0.0/8");
        Some(ServerConfig {
            bind: bind?,
            public_url,
            secure_cookies,
            trusted_proxies,
        })
    }

    /// A list of networks (`10.0.0.0/8`) or single addresses; `example` goes in the message
    /// of one that is neither.
    fn networks(&mut self, path: &str, texts: &[String], example: &str) -> Vec<ipnet::IpNet> {
        let mut nets = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let net = text.parse::<ipnet::IpNet>().ok().or_else(|| {
                text.parse::<std::net::IpAddr>()
                    .ok()
                    .map(ipnet::IpNet::from)
            });
            match net {
                Some(n) => nets.push(n.trunc()),
                None => self.error(
                    format!("{path}[{i}]"),
                    format!("{text:?} is not an address or a network such as \"{example}\""),
                ),
            }
        }
        nets
    }
}
