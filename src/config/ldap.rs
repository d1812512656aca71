//! `kind = "ldap"`: the typed settings of an LDAP or Active Directory provider, and their
//! validation (URL and transport security, search filters, attribute names, timeouts).
//!
//! A search filter is a template with `{username}` (user search) or `{dn}` / `{username}`
//! (group search) placeholders. It is parsed once here, so that a value put into it at
//! sign-in is always escaped (RFC 4515 §3) and can never change the filter's structure.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::raw::{RawLdapGroupSearch, RawLdapProvider, RawLdapUserSearch};
use super::{Cx, ProviderConfig, ProviderSettings};
use crate::secret::Secret;

/// Active Directory's `LDAP_MATCHING_RULE_IN_CHAIN`: membership through nested groups.
pub const MATCHING_RULE_IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// The most connections a provider may keep open.
const MAX_POOL_SIZE: u32 = 64;

/// How the connection to the directory is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdapTransport {
    /// `ldaps://`: TLS from the first byte.
    Ldaps,
    /// `ldap://` upgraded with the StartTLS extended operation (RFC 4511 §4.14) before
    /// anything else is sent.
    StartTls,
    /// `ldap://` in clear (`insecure_no_tls = true`), allowed for loopback hosts only.
    InsecurePlain,
}

/// Search scope (RFC 4511 §4.5.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdapScope {
    /// The base entry only.
    Base,
    /// The immediate children of the base entry.
    One,
    /// The base entry and everything below it.
    Sub,
}

/// One piece of a filter template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Username,
    Dn,
}

/// A search filter with placeholders, validated at start-up; see [`LdapFilter::render`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapFilter {
    pieces: Vec<Piece>,
}

impl LdapFilter {
    /// Parses a template; `allowed` lists the placeholders it may use.
    fn parse(template: &str, allowed: &[&str]) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| "has a '{' without a closing '}'".to_owned())?;
            let name = &after[..close];
            if !allowed.contains(&name) {
                return Err(format!(
                    "unknown placeholder {{{name}}}; this filter may use {}",
                    allowed
                        .iter()
                        .map(|a| format!("{{{a}}}"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ));
            }
            pieces.push(match name {
                "username" => Piece::Username,
                _ => Piece::Dn,
            });
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        let filter = Self { pieces };
        if !filter
            .pieces
            .iter()
            .any(|p| matches!(p, Piece::Username | Piece::Dn))
        {
            return Err("must contain a placeholder for the person (e.g. {username})".to_owned());
        }
        if ldap3::parse_filter(filter.render("x", "cn=x")).is_err() {
            return Err(format!(
                "{template:?} is not a valid LDAP filter (RFC 4515)"
            ));
        }
        Ok(filter)
    }

    /// The filter for one person: `username` and `dn` are escaped (RFC 4515 §3), so that
    /// `*`, `(`, `)`, `\` and NUL in them match literally.
    pub fn render(&self, username: &str, dn: &str) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Username => out.push_str(&ldap3::ldap_escape(username)),
                Piece::Dn => out.push_str(&ldap3::ldap_escape(dn)),
            }
        }
        out
    }
}

/// `[providers.user_search]`.
#[derive(Debug, Clone)]
pub struct LdapUserSearch {
    /// Where people are.
    pub base_dn: String,
    /// Finds exactly one person by `{username}`.
    pub filter: LdapFilter,
    /// Scope.
    pub scope: LdapScope,
    /// Attribute holding the username (`uid`; `sAMAccountName` in Active Directory).
    pub username_attribute: String,
    /// Attribute holding the email address.
    pub email_attribute: String,
    /// Whether the directory vouches for the email addresses it holds (`idp:email_verified`).
    pub email_verified: bool,
    /// Attribute holding the display name.
    pub display_name_attribute: String,
    /// Attribute of the person's entry listing group DNs (`memberOf`), if groups come
    /// from there.
    pub groups_attribute: Option<String>,
}

/// `[providers.group_search]`.
#[derive(Debug, Clone)]
pub struct LdapGroupSearch {
    /// Where groups are.
    pub base_dn: String,
    /// Finds the person's groups by `{dn}` (or `{username}`).
    pub filter: LdapFilter,
    /// Scope.
    pub scope: LdapScope,
    /// Attribute holding a group's name (`cn`).
    pub name_attribute: String,
}

/// An LDAP or Active Directory provider.
#[derive(Clone)]
pub struct LdapConfig {
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: Url,
    /// How the connection is protected.
    pub transport: LdapTransport,
    /// CA certificates (PEM) to verify the directory's certificate with, instead of the
    /// system's.
    pub ca_file: Option<PathBuf>,
    /// Service account used to search; anonymous when absent.
    pub bind_dn: Option<String>,
    /// Its password.
    pub bind_password: Option<Secret>,
    /// How people are found.
    pub user_search: LdapUserSearch,
    /// How groups are found, if by a search.
    pub group_search: Option<LdapGroupSearch>,
    /// Principal tag name → attribute of the person's entry.
    pub principal_tags: BTreeMap<String, String>,
    /// Longest wait for a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Longest wait for one operation.
    pub timeout: Duration,
    /// Connections kept open at most.
    pub pool_size: usize,
}

impl std::fmt::Debug for LdapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapConfig")
            .field("url", &self.url.as_str())
            .field("transport", &self.transport)
            .field("bind_dn", &self.bind_dn)
            .field("user_search", &self.user_search)
            .field("group_search", &self.group_search)
            .finish_non_exhaustive()
    }
}

/// Whether an `ldap://` URL names this machine. (`ldap` is not a "special" scheme for the
/// URL standard, so its host is not parsed as an IP address: do it here.)
fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn scope(cx: &mut Cx<'_>, path: &str, value: Option<&str>) -> LdapScope {
    match value.unwrap_or("sub") {
        "sub" | "subtree" => LdapScope::Sub,
        "one" | "onelevel" => LdapScope::One,
        "base" => LdapScope::Base,
        other => {
            cx.error(
                path,
                format!("unknown scope \"{other}\"; use \"sub\", \"one\" or \"base\""),
            );
            LdapScope::Sub
        }
    }
}

/// An attribute description: a name or an OID (RFC 4512 §2.5), no options.
fn attribute(cx: &mut Cx<'_>, path: &str, value: Option<String>, default: &str) -> String {
    let value = value.unwrap_or_else(|| default.to_owned());
    let ok = (1..=128).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && value.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        cx.error(path, format!("{value:?} is not an LDAP attribute name"));
    }
    value
}

fn dn(cx: &mut Cx<'_>, path: &str, value: &str) {
    if value.trim().is_empty() || value.len() > 1024 || value.chars().any(char::is_control) {
        cx.error(
            path,
            "must be a distinguished name such as \"dc=example,dc=com\"",
        );
    }
}

fn filter(cx: &mut Cx<'_>, path: &str, template: &str, allowed: &[&str]) -> Option<LdapFilter> {
    match LdapFilter::parse(template, allowed) {
        Ok(f) => Some(f),
        Err(e) => {
            cx.error(path, e);
            None
        }
    }
}

impl Cx<'_> {
    pub(super) fn ldap_provider(
        &mut self,
        path: &str,
        raw: RawLdapProvider,
    ) -> Option<ProviderConfig> {
        let id = self.provider_id(path, &raw.id);
        let url = self.ldap_url(path, &raw.url, raw.insecure_no_tls);
        let ca_file = raw.ca_file.map(|f| {
            let full = self.path_of(&f);
            if let Err(e) = std::fs::metadata(&full) {
                self.error(
                    format!("{path}.ca_file"),
                    format!("cannot read {}: {e}", full.display()),
                );
            }
            full
        });
        if ca_file.is_some() && matches!(url, Some((_, LdapTransport::InsecurePlain))) {
            self.error(
                format!("{path}.ca_file"),
                "has no effect with insecure_no_tls = true",
            );
        }
        let gave_password = raw.bind_password.is_some() || raw.bind_password_file.is_some();
        let bind_password = self.secret(
            &format!("{path}.bind_password"),
            raw.bind_password,
            raw.bind_password_file,
            "bind_password_file",
        );
        if let Some(b) = &raw.bind_dn {
            dn(self, &format!("{path}.bind_dn"), b);
        }
        match (&raw.bind_dn, gave_password) {
            (Some(_), false) => self.error(
                format!("{path}.bind_password"),
                "is required with bind_dn (give bind_password = \"${ENV_VAR}\" or \
                 bind_password_file)",
            ),
            (None, true) => self.error(
                format!("{path}.bind_dn"),
                "is required with bind_password (leave both out to search anonymously)",
            ),
            _ => {}
        }
        let user_search = self.ldap_user_search(&format!("{path}.user_search"), raw.user_search);
        let group_search = raw
            .group_search
            .and_then(|g| self.ldap_group_search(&format!("{path}.group_search"), g));
        for (tag, attr) in &raw.principal_tags {
            let tpath = format!("{path}.principal_tags.{tag}");
            if tag.is_empty()
                || tag.len() > 128
                || !tag
                    .chars()
                    .all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c))
            {
                self.error(
                    &tpath,
                    "is not a valid tag key (as IAM: 1-128 of letters, digits and _.:/=+-@)",
                );
            }
            attribute(self, &tpath, Some(attr.clone()), "");
        }
        let connect_timeout = self.duration(
            &format!("{path}.connect_timeout"),
            raw.connect_timeout.as_deref(),
            Duration::from_secs(5),
        );
        let timeout = self.duration(
            &format!("{path}.timeout"),
            raw.timeout.as_deref(),
            Duration::from_secs(5),
        );
        let pool_size = raw.pool_size.unwrap_or(4);
        if !(1..=MAX_POOL_SIZE).contains(&pool_size) {
            self.error(
                format!("{path}.pool_size"),
                format!("must be between 1 and {MAX_POOL_SIZE}"),
            );
        }
        let id = id?;
        let (url, transport) = url?;
        Some(ProviderConfig {
            display_name: raw.display_name.unwrap_or_else(|| id.to_string()),
            id,
            settings: ProviderSettings::Ldap(Box::new(LdapConfig {
                url,
                transport,
                ca_file,
                bind_dn: raw.bind_dn,
                bind_password,
                user_search: user_search?,
                group_search,
                principal_tags: raw.principal_tags,
                connect_timeout,
                timeout,
                pool_size: usize::try_from(pool_size).unwrap_or(4),
            })),
        })
    }

    fn ldap_url(&mut self, path: &str, text: &str, insecure: bool) -> Option<(Url, LdapTransport)> {
        let upath = format!("{path}.url");
        let url = match Url::parse(text) {
            Ok(u) => u,
            Err(e) => {
                self.error(&upath, format!("{text:?} is not a URL: {e}"));
                return None;
            }
        };
        if url.host_str().is_none_or(str::is_empty) {
            self.error(&upath, "must name a host (ldaps://ldap.example.com)");
            return None;
        }
        if !url.username().is_empty()
            || url.password().is_some()
            || !matches!(url.path(), "" | "/")
            || url.query().is_some()
            || url.fragment().is_some()
        {
            self.error(
                &upath,
                "must be just scheme, host and port; the base DN and the credentials have \
                 their own settings",
            );
            return None;
        }
        let transport = match (url.scheme(), insecure) {
            ("ldaps", false) => LdapTransport::Ldaps,
            ("ldap", false) => LdapTransport::StartTls,
            ("ldap", true) if is_loopback(&url) => LdapTransport::InsecurePlain,
            ("ldap", true) => {
                self.error(
                    format!("{path}.insecure_no_tls"),
                    "is only allowed for a loopback host (tests); passwords would cross the \
                     network in clear",
                );
                return None;
            }
            ("ldaps", true) => {
                self.error(
                    format!("{path}.insecure_no_tls"),
                    "contradicts an ldaps:// URL; remove it",
                );
                return None;
            }
            _ => {
                self.error(&upath, "must be an ldap:// (StartTLS) or ldaps:// URL");
                return None;
            }
        };
        Some((url, transport))
    }

    fn ldap_user_search(&mut self, path: &str, raw: RawLdapUserSearch) -> Option<LdapUserSearch> {
        dn(self, &format!("{path}.base_dn"), &raw.base_dn);
        let scope = scope(self, &format!("{path}.scope"), raw.scope.as_deref());
        let username_attribute = attribute(
            self,
            &format!("{path}.username_attribute"),
            raw.username_attribute,
            "uid",
        );
        let default_filter = format!("({username_attribute}={{username}})");
        let template = raw.filter.unwrap_or(default_filter);
        let filter = match LdapFilter::parse(&template, &["username"]) {
            Ok(f) if !f.pieces.contains(&Piece::Username) => {
                self.error(format!("{path}.filter"), "must contain {username}");
                None
            }
            Ok(f) => Some(f),
            Err(e) => {
                self.error(format!("{path}.filter"), e);
                None
            }
        };
        let email_attribute = attribute(
            self,
            &format!("{path}.email_attribute"),
            raw.email_attribute,
            "mail",
        );
        let display_name_attribute = attribute(
            self,
            &format!("{path}.display_name_attribute"),
            raw.display_name_attribute,
            "cn",
        );
        let groups_attribute = raw
            .groups_attribute
            .map(|a| attribute(self, &format!("{path}.groups_attribute"), Some(a), ""));
        Some(LdapUserSearch {
            base_dn: raw.base_dn,
            filter: filter?,
            scope,
            username_attribute,
            email_attribute,
            email_verified: raw.email_verified,
            display_name_attribute,
            groups_attribute,
        })
    }

    fn ldap_group_search(
        &mut self,
        path: &str,
        raw: RawLdapGroupSearch,
    ) -> Option<LdapGroupSearch> {
        dn(self, &format!("{path}.base_dn"), &raw.base_dn);
        let scope = scope(self, &format!("{path}.scope"), raw.scope.as_deref());
        let name_attribute = attribute(
            self,
            &format!("{path}.name_attribute"),
            raw.name_attribute,
            "cn",
        );
        let template = match (raw.filter, raw.nested) {
            (Some(_), true) => {
                self.error(
                    format!("{path}.nested"),
                    format!(
                        "builds its own filter (member:{MATCHING_RULE_IN_CHAIN}:={{dn}}); give \
                         either nested = true or a filter"
                    ),
                );
                return None;
            }
            (Some(f), false) => f,
            (None, true) => format!("(member:{MATCHING_RULE_IN_CHAIN}:={{dn}})"),
            (None, false) => "(member={dn})".to_owned(),
        };
        let filter = filter(
            self,
            &format!("{path}.filter"),
            &template,
            &["dn", "username"],
        )?;
        Some(LdapGroupSearch {
            base_dn: raw.base_dn,
            filter,
            scope,
            name_attribute,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_escaped_and_cannot_change_the_filter() {
        let f =
            LdapFilter::parse("(&(objectClass=person)(uid={username}))", &["username"]).unwrap();
        assert_eq!(f.render("alice", ""), "(&(objectClass=person)(uid=alice))");
        assert_eq!(f.render("*", ""), "(&(objectClass=person)(uid=\\2a))");
        assert_eq!(
            f.render(")(uid=*", ""),
            "(&(objectClass=person)(uid=\\29\\28uid=\\2a))"
        );
        assert_eq!(f.render("a\0b", ""), "(&(objectClass=person)(uid=a\\00b))");
        // A value that looks like a placeholder stays a value.
        assert_eq!(
            f.render("{dn}", "cn=x"),
            "(&(objectClass=person)(uid={dn}))"
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(LdapFilter::parse("(uid={user})", &["username"]).is_err());
        assert!(LdapFilter::parse("(uid=alice)", &["username"]).is_err());
        assert!(LdapFilter::parse("(uid={username}", &["username"]).is_err());
        assert!(LdapFilter::parse("uid={username", &["username"]).is_err());
        let g = LdapFilter::parse("(member:1.2.840.113556.1.4.1941:={dn})", &["dn"]).unwrap();
        assert_eq!(
            g.render("", "CN=A (x),DC=ex"),
            "(member:1.2.840.113556.1.4.1941:=CN=A \\28x\\29,DC=ex)"
        );
    }
}
