//! Small helpers over libxml trees (namespace-aware child lookup, for metadata), SAML
//! `xs:dateTime` values and XML escaping. Responses are read with `roxmltree` instead
//! ([`super::canonical`]).

use libxml::tree::{Node, NodeType};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::SamlError;
use crate::clock::UnixTime;

/// SAML 2.0 protocol namespace (saml-core §1.2).
pub const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// SAML 2.0 assertion namespace.
pub const ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// XML Signature namespace.
pub const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
/// XML Encryption namespace.
pub const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";

/// Whether `node` is the element `{ns}name`.
pub fn is(node: &Node, ns: &str, name: &str) -> bool {
    node.get_type() == Some(NodeType::ElementNode)
        && node.get_name() == name
        && node.get_namespace().is_some_and(|n| n.get_href() == ns)
}

/// Child elements `{ns}name` of `node`.
pub fn children(node: &Node, ns: &str, name: &str) -> Vec<Node> {
    node.get_child_elements()
        .into_iter()
        .filter(|c| is(c, ns, name))
        .collect()
}

/// Every element `{ns}name` below `node` (and `node` itself), in document order.
pub fn descendants(node: &Node, ns: &str, name: &str, out: &mut Vec<Node>) {
    if is(node, ns, name) {
        out.push(node.clone());
    }
    for c in node.get_child_elements() {
        descendants(&c, ns, name, out);
    }
}

/// An `xs:dateTime` in UTC (saml-core §1.3.3).
pub fn parse_time(v: &str) -> Result<UnixTime, SamlError> {
    OffsetDateTime::parse(v.trim(), &Rfc3339)
        .map(|t| UnixTime::from_secs(t.unix_timestamp()))
        .map_err(|_| SamlError::Malformed(format!("{v:?} is not an xs:dateTime")))
}

/// A time as an `xs:dateTime`.
pub fn format_time(t: UnixTime) -> String {
    OffsetDateTime::from_unix_timestamp(t.secs())
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// Escapes text for an XML attribute or element.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = UnixTime::from_secs(1_795_824_000);
        assert_eq!(parse_time("2026-11-28T00:00:00Z").unwrap(), t);
        assert_eq!(parse_time("2026-11-28T00:00:00.123Z").unwrap(), t);
        assert!(parse_time("yesterday").is_err());
        assert_eq!(format_time(t), "2026-11-28T00:00:00Z");
    }
}
