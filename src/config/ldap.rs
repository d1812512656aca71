//! `kind = "ldap"`: an LDAP or Active Directory provider into the connector's
//! [`LdapSettings`], validated (URL and transport security, search filters, attribute
//! names, timeouts). Search filter templates are parsed here once ([`LdapFilter::parse`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::Cx;
use super::raw::{RawLdapGroupSearch, RawLdapProvider, RawLdapUserSearch};
use crate::connectors::settings::{
    LdapFilter, LdapGroupSearch, LdapScope, LdapSettings, LdapTransport, LdapUserSearch, Provider,
    ProviderSettings,
};

/// Active Directory's `LDAP_MATCHING_RULE_IN_CHAIN`: membership through nested groups.
pub const MATCHING_RULE_IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// The most connections a provider may keep open.
const MAX_POOL_SIZE: u32 = 64;

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
    pub(super) fn ldap_provider(&mut self, path: &str, raw: RawLdapProvider) -> Option<Provider> {
        let id = self.provider_id(path, &raw.id);
        let url = self.ldap_url(path, &raw.url, raw.insecure_no_tls);
        let ca_file = self.ldap_ca_file(path, raw.ca_file, url.as_ref().map(|(_, t)| *t));
        let gave_password = raw.bind_password.is_some() || raw.bind_password_file.is_some();
        let bind_password = self.secret(
            &format!("{path}.bind_password"),
            raw.bind_password,
            raw.bind_password_file,
            "bind_password_file",
        );
        self.ldap_bind_dn(path, raw.bind_dn.as_deref(), gave_password);
        let user_search = self.ldap_user_search(&format!("{path}.user_search"), raw.user_search);
        let group_search = raw
            .group_search
            .and_then(|g| self.ldap_group_search(&format!("{path}.group_search"), g));
        self.ldap_principal_tags(path, &raw.principal_tags);
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
        Some(Provider {
            display_name: raw.display_name.unwrap_or_else(|| id.to_string()),
            id,
            settings: ProviderSettings::Ldap(Box::new(LdapSettings {
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

    /// `ca_file`: a readable file, meaningful only with TLS.
    fn ldap_ca_file(
        &mut self,
        path: &str,
        file: Option<String>,
        transport: Option<LdapTransport>,
    ) -> Option<PathBuf> {
        let ca_file = file.map(|f| {
            let full = self.path_of(&f);
            if let Err(e) = std::fs::metadata(&full) {
                self.error(
                    format!("{path}.ca_file"),
                    format!("cannot read {}: {e}", full.display()),
                );
            }
            full
        });
        if ca_file.is_some() && transport == Some(LdapTransport::InsecurePlain) {
            self.error(
                format!("{path}.ca_file"),
                "has no effect with insecure_no_tls = true",
            );
        }
        ca_file
    }

    /// `bind_dn` is a DN and comes with a bind password, and the other way round.
    fn ldap_bind_dn(&mut self, path: &str, bind_dn: Option<&str>, gave_password: bool) {
        if let Some(b) = bind_dn {
            dn(self, &format!("{path}.bind_dn"), b);
        }
        match (bind_dn, gave_password) {
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
    }

    /// `principal_tags`: IAM tag keys, each naming an attribute.
    fn ldap_principal_tags(&mut self, path: &str, tags: &BTreeMap<String, String>) {
        for (tag, attr) in tags {
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
            Ok(f) if !f.has_username() => {
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
