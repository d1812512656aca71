//! The client's address: the peer of the TCP connection, or — when that peer is one of
//! `[server] trusted_proxies` — the address the proxies recorded in `X-Forwarded-For`.
//!
//! The header is read from the right: each trusted proxy appends the address it received
//! the request from, so the right-most address that is not itself a trusted proxy is the
//! client. Anything left of it was written by the client and is not believed. Without
//! trusted proxies the header is ignored, so nobody can choose their own `aws:SourceIp` or
//! escape the per-address sign-in limits by sending it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::web::AppState;

/// The client's address, when the server was started with connection info.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip());
        Ok(ClientIp(peer.map(|p| {
            client_address(p, &parts.headers, &state.config.server.trusted_proxies)
        })))
    }
}

/// The client behind `peer`, believing `X-Forwarded-For` only as far as `trusted` reaches.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return canonical(peer);
    }
    // Every X-Forwarded-For line, in order, as one list (RFC 7230 §3.2.2).
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = canonical(peer);
    for hop in hops.iter().rev() {
        // A hop that is not an address (a port, `unknown`, garbage) ends the trust chain.
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = canonical(ip);
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// An address as proxies write it: bare, or an IPv6 address in brackets with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    hop.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let h = xff(&["203.0.113.9"]);
        assert_eq!(
            client_address(ip("198.51.100.1"), &h, &[]),
            ip("198.51.100.1")
        );
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_address(ip("198.51.100.1"), &h, &trusted),
            ip("198.51.100.1"),
            "an untrusted peer cannot name its own address"
        );
        assert_eq!(
            client_address(ip("10.1.2.3"), &h, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.0.2.7/32"]);
        // The client forged a first entry; the load balancer (192.0.2.7) and the ingress
        // (10.0.0.5) appended theirs.
        let h = xff(&["1.2.3.4, 203.0.113.9", "192.0.2.7"]);
        assert_eq!(
            client_address(ip("10.0.0.5"), &h, &trusted),
            ip("203.0.113.9")
        );
        // Every hop trusted: the left-most one.
        let h = xff(&["10.9.9.9, 192.0.2.7"]);
        assert_eq!(client_address(ip("10.0.0.5"), &h, &trusted), ip("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(
            client_address(ip("10.0.0.5"), &HeaderMap::new(), &trusted),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn odd_hops_end_the_chain_and_mapped_addresses_are_ipv4() {
        let trusted = nets(&["10.0.0.0/8"]);
        let h = xff(&["203.0.113.9, unknown"]);
        assert_eq!(client_address(ip("10.0.0.5"), &h, &trusted), ip("10.0.0.5"));
        let h = xff(&["[2001:db8::1]:4711"]);
        assert_eq!(
            client_address(ip("10.0.0.5"), &h, &trusted),
            ip("2001:db8::1")
        );
        let h = xff(&["::ffff:203.0.113.9"]);
        assert_eq!(
            client_address(ip("::ffff:10.0.0.5"), &h, &trusted),
            ip("203.0.113.9")
        );
    }
}
