//! `lanyard health`: the container's health check (`HEALTHCHECK` in the Dockerfile). It asks
//! the running broker's `GET /readyz` on the address the config binds (an unspecified
//! address such as `0.0.0.0` is asked on loopback) and exits 0 when the answer is 200
//! (`ready`, or `degraded`: some providers' metadata is not loaded but the instance
//! serves), 1 otherwise: 503 while the session store is down or during a graceful
//! shutdown, no answer within 3 seconds, or a config that does not load.
//!
//! May import: `config`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::config::Config;

/// How long the probe waits for the whole answer.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Runs the probe: `url` when given, else `/readyz` on the bind address of `config`.
pub fn run(config: &Path, url: Option<String>) -> ExitCode {
    let url = match url {
        Some(url) => url,
        None => match Config::load(config) {
            Ok(c) => readyz_url(c.server.bind),
            Err(e) => {
                eprint!("lanyard health: the config does not load: {e}");
                return ExitCode::from(1);
            }
        },
    };
    let answer = super::local_runtime().and_then(|rt| rt.block_on(probe(&url)));
    match answer {
        Ok((200, body)) => {
            println!("{url}: {body}");
            ExitCode::SUCCESS
        }
        Ok((status, body)) => {
            eprintln!("lanyard health: {url} answered {status}: {body}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("lanyard health: {url}: {e}");
            ExitCode::from(1)
        }
    }
}

/// `http://{bind}/readyz`, with an unspecified address replaced by loopback.
fn readyz_url(bind: SocketAddr) -> String {
    let ip = match bind.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/readyz", SocketAddr::new(ip, bind.port()))
}

/// The status and body (at most a line of it) of `GET url`.
async fn probe(url: &str) -> Result<(u16, String), String> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| e.to_string())?;
    let line: String = body
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    Ok((status, line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_bind_is_asked_on_loopback() {
        let url = |s: &str| readyz_url(s.parse().unwrap());
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080/readyz");
        assert_eq!(url("[::]:8080"), "http://[::1]:8080/readyz");
        assert_eq!(url("10.1.2.3:9000"), "http://10.1.2.3:9000/readyz");
    }
}
