//! Typed condition values: numbers, dates (ISO 8601 and epoch seconds), booleans, IP
//! addresses and CIDR blocks (v4 and v6), base64 binaries.
//!
//! The same parsers read policy values (at validation, where a failure is an error) and
//! request values (at evaluation, where a failure means "does not match").

use std::net::IpAddr;

/// Parses a number as `Numeric*` operators read it: an integer or a decimal.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    let ok = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|&c| c == '.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit());
    if !ok {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Parses a boolean (`true`/`false`, any case).
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A point in time as nanoseconds since the Unix epoch.
pub(crate) type Instant = i128;

const NANOS: i128 = 1_000_000_000;

/// Parses a date as `Date*` operators read it: ISO 8601 (`2020-01-01`,
/// `2020-01-01T12:00:00Z`, `2020-01-01T12:00:00.5+02:00`, no zone = UTC) or epoch seconds
/// (`1577836800`, `1577836800.25`, optionally negative).
pub(crate) fn parse_date(s: &str) -> Option<Instant> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes()
        .all(|b| b.is_ascii_digit() || b == b'-' || b == b'.')
        && !s[1..].contains('-')
    {
        return parse_epoch(s);
    }
    parse_iso8601(s)
}

fn parse_epoch(s: &str) -> Option<Instant> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() || int.len() > 15 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i128 = int.parse().ok()?;
    let nanos = parse_fraction(frac)?;
    let v = secs * NANOS + nanos;
    Some(if neg { -v } else { v })
}

/// `"5"` → 500_000_000 ns; at most nine digits count, more are truncated.
fn parse_fraction(frac: &str) -> Option<i128> {
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut n: i128 = 0;
    for i in 0..9 {
        n = n * 10 + frac.as_bytes().get(i).map_or(0, |b| i128::from(b - b'0'));
    }
    Some(n)
}

fn num(s: &str, len: usize) -> Option<(i64, &str)> {
    let head = s.get(..len)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[len..]))
}

fn parse_iso8601(s: &str) -> Option<Instant> {
    let (year, rest) = num(s, 4)?;
    let rest = rest.strip_prefix('-')?;
    let (month, rest) = num(rest, 2)?;
    let rest = rest.strip_prefix('-')?;
    let (day, rest) = num(rest, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut secs: i128 = 0;
    let mut nanos: i128 = 0;
    let mut offset: i128 = 0;
    if !rest.is_empty() {
        let rest = rest.strip_prefix(['T', 't', ' '])?;
        let (hour, rest) = num(rest, 2)?;
        let rest = rest.strip_prefix(':')?;
        let (minute, mut rest) = num(rest, 2)?;
        let mut second = 0;
        if let Some(r) = rest.strip_prefix(':') {
            let (sec, r) = num(r, 2)?;
            second = sec;
            rest = r;
            if let Some(r) = rest.strip_prefix(['.', ',']) {
                let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
                if end == 0 {
                    return None;
                }
                nanos = parse_fraction(&r[..end])?;
                rest = &r[end..];
            }
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        secs = i128::from(hour * 3600 + minute * 60 + second);
        match rest {
            "" | "Z" | "z" => {}
            _ => {
                let sign: i128 = match rest.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let z = &rest[1..];
                let (oh, z) = num(z, 2)?;
                let z = z.strip_prefix(':').unwrap_or(z);
                let om = if z.is_empty() {
                    0
                } else {
                    let (om, z) = num(z, 2)?;
                    if !z.is_empty() {
                        return None;
                    }
                    om
                };
                if oh > 23 || om > 59 {
                    return None;
                }
                offset = sign * i128::from(oh * 3600 + om * 60);
            }
        }
    }
    let days = i128::from(days_from_civil(year, month, day));
    Some((days * 86_400 + secs - offset) * NANOS + nanos)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An IPv4 or IPv6 network (`IpAddress`/`NotIpAddress` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cidr {
    V4 { net: u32, mask: u32 },
    V6 { net: u128, mask: u128 },
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128).
    pub(crate) fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => {
                if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (a, Some(l.parse::<u32>().ok()?))
            }
            None => (s, None),
        };
        match addr.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => {
                let len = len.unwrap_or(32);
                if len > 32 {
                    return None;
                }
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                Some(Cidr::V4 {
                    net: u32::from(a) & mask,
                    mask,
                })
            }
            IpAddr::V6(a) => {
                let len = len.unwrap_or(128);
                if len > 128 {
                    return None;
                }
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                Some(Cidr::V6 {
                    net: u128::from(a) & mask,
                    mask,
                })
            }
        }
    }

    /// Whether `ip` is in the network (an IPv4-mapped IPv6 address counts as IPv4).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self, ip) {
            (Cidr::V4 { net, mask }, IpAddr::V4(a)) => u32::from(a) & mask == *net,
            (Cidr::V6 { net, mask }, IpAddr::V6(a)) => u128::from(a) & mask == *net,
            _ => false,
        }
    }
}

/// Parses a request's IP address (`aws:SourceIp`); a `/32`-style suffix is tolerated.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let s = s.split_once('/').map_or(s, |(a, _)| a);
    s.parse().ok()
}

/// Decodes standard base64 (padding optional).
pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.trim();
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 || (s.len() != body.len() && s.len() % 4 != 0) {
        return None;
    }
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in body.bytes() {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("10"), Some(10.0));
        assert_eq!(parse_number("-1.5"), Some(-1.5));
        assert_eq!(parse_number("1e3"), None);
        assert_eq!(parse_number("abc"), None);
        assert_eq!(parse_number("."), None);
        assert_eq!(parse_number("NaN"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("0"), Some(0));
        assert_eq!(
            parse_date("2020-01-01T00:00:00Z"),
            Some(1_577_836_800 * NANOS)
        );
        assert_eq!(parse_date("1577836800"), Some(1_577_836_800 * NANOS));
        assert_eq!(
            parse_date("2020-01-01T02:00:00+02:00"),
            Some(1_577_836_800 * NANOS)
        );
        assert_eq!(
            parse_date("2020-01-01T02:00:00+0200"),
            Some(1_577_836_800 * NANOS)
        );
        assert_eq!(
            parse_date("2019-12-31T19:00:00-05"),
            Some(1_577_836_800 * NANOS)
        );
        assert_eq!(
            parse_date("2020-01-01T00:00:00.5Z"),
            Some(1_577_836_800 * NANOS + NANOS / 2)
        );
        assert_eq!(parse_date("2020-02-30"), None);
        assert_eq!(parse_date("2020-13-01"), None);
        assert_eq!(parse_date("2020-01-01T25:00:00Z"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("2020-01-01T00:00:00Q"), None);
        assert_eq!(
            parse_date("2024-02-29"),
            Some(i128::from(days_from_civil(2024, 2, 29)) * 86_400 * NANOS)
        );
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(c.contains("203.0.113.9".parse().unwrap()));
        assert!(!c.contains("203.0.114.9".parse().unwrap()));
        assert!(c.contains("::ffff:203.0.113.9".parse().unwrap()));
        let c6 = Cidr::parse("2001:DB8:1234:5678::/64").unwrap();
        assert!(c6.contains("2001:db8:1234:5678::1".parse().unwrap()));
        assert!(!c6.contains("203.0.113.9".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("1.2.3.4".parse().unwrap())
        );
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("10.0.0/8"), None);
        assert_eq!(Cidr::parse("10.0.0.0/"), None);
        assert!(Cidr::parse("10.1.2.3").is_some());
    }

    #[test]
    fn base64() {
        assert_eq!(
            decode_base64("QmluYXJ5VmFsdWVJbkJhc2U2NA=="),
            Some(b"BinaryValueInBase64".to_vec())
        );
        assert_eq!(decode_base64("YQ"), Some(b"a".to_vec()));
        assert_eq!(decode_base64("Y"), None);
        assert_eq!(decode_base64("!!!!"), None);
    }
}
