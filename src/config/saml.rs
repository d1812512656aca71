//! `kind = "saml"`: one upstream SAML 2.0 identity provider, and Lanyard's Service Provider
//! towards it, into the connector's [`SamlSettings`]. Checked here without touching the network or the key files
//! (those are read, or generated, when the connector starts).

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::Cx;
use super::raw::{RawSamlAttributes, RawSamlProvider};
use crate::connectors::settings::{
    IdpSource, Provider, ProviderSettings, SamlAttributeMap, SamlSettings, SpEndpoints, SpKeySource,
};
use crate::identity::ProviderId;

/// Attribute names understood out of the box for the username: ADFS/Entra claim URIs,
/// eduPerson/LDAP `urn:oid:` names and friendly names. The NameID is used when none is sent.
pub const DEFAULT_USERNAME_ATTRIBUTES: &[&str] = &[
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
    "eduPersonPrincipalName",
    "urn:oid:0.9.2342.19200300.100.1.1",
    "uid",
    "username",
];
/// Default email attribute names.
pub const DEFAULT_EMAIL_ATTRIBUTES: &[&str] = &[
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "mail",
    "email",
    "emailAddress",
];
/// Default group attribute names.
pub const DEFAULT_GROUP_ATTRIBUTES: &[&str] = &[
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    "http://schemas.xmlsoap.org/claims/Group",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
    "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
    "isMemberOf",
    "memberOf",
    "groups",
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.7",
    "eduPersonEntitlement",
];
/// Default display-name attribute names.
pub const DEFAULT_DISPLAY_NAME_ATTRIBUTES: &[&str] = &[
    "http://schemas.microsoft.com/identity/claims/displayname",
    "urn:oid:2.16.840.1.113730.3.1.241",
    "displayName",
    "urn:oid:2.5.4.3",
    "cn",
];
/// The NameID format requested when `name_id_format` is not set: a persistent, opaque
/// identifier (saml-core §8.3.7), so that a person keeps one `sub` across sign-ins even at
/// an IdP whose own default is transient.
pub const DEFAULT_NAME_ID_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";

/// Bounds of `metadata_valid_for`: at least an hour, at most ten years.
const METADATA_VALIDITY: (Duration, Duration) = (
    Duration::from_secs(3600),
    Duration::from_secs(3650 * 24 * 3600),
);

/// `AuthnContextClassRef` values that mean a second factor was used.
pub const DEFAULT_MFA_AUTHN_CONTEXTS: &[&str] = &[
    "http://schemas.microsoft.com/claims/multipleauthn",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
    "https://refeds.org/profile/mfa",
];

fn names(given: Option<super::raw::RawNames>, default: &[&str]) -> Vec<String> {
    given
        .map(super::raw::RawNames::into_vec)
        .unwrap_or_else(|| default.iter().map(|s| (*s).to_owned()).collect())
}

/// `[providers.attributes]`, each list defaulted.
fn attribute_map(raw: RawSamlAttributes) -> SamlAttributeMap {
    SamlAttributeMap {
        username: names(raw.username, DEFAULT_USERNAME_ATTRIBUTES),
        email: names(raw.email, DEFAULT_EMAIL_ATTRIBUTES),
        groups: names(raw.groups, DEFAULT_GROUP_ATTRIBUTES),
        display_name: names(raw.display_name, DEFAULT_DISPLAY_NAME_ATTRIBUTES),
    }
}

impl Cx<'_> {
    pub(super) fn saml_provider(
        &mut self,
        path: &str,
        mut raw: RawSamlProvider,
        public_url: Option<&Url>,
    ) -> Option<Provider> {
        let id = self.provider_id(path, &raw.id)?;
        let refresh = self.duration(
            &format!("{path}.metadata_refresh"),
            raw.metadata_refresh.as_deref(),
            Duration::from_secs(3600),
        );
        let idp = self.saml_idp(path, &mut raw, refresh)?;
        self.saml_settings(path, id, idp, raw, public_url)
    }

    /// Where the IdP's description comes from: `metadata_url`, `metadata_file`, or given
    /// explicitly. The outer `None` as for [`Cx::explicit_idp`].
    fn saml_idp(
        &mut self,
        path: &str,
        raw: &mut RawSamlProvider,
        refresh: Duration,
    ) -> Option<Option<IdpSource>> {
        let explicit = raw.idp_entity_id.is_some() || raw.sso_url.is_some();
        match (raw.metadata_url.take(), raw.metadata_file.take(), explicit) {
            (Some(u), None, false) => Some(self.idp_metadata_url(path, &u, refresh)),
            (None, Some(f), false) => Some(Some(IdpSource::MetadataFile(self.path_of(&f)))),
            (None, None, true) => self.explicit_idp(
                path,
                raw.idp_entity_id.take(),
                raw.sso_url.take(),
                &raw.certificates,
            ),
            _ => {
                self.error(
                    path,
                    "give exactly one of metadata_url, metadata_file, or idp_entity_id + sso_url + \
                     certificates",
                );
                Some(None)
            }
        }
    }

    /// The provider's settings once its IdP source is read.
    fn saml_settings(
        &mut self,
        path: &str,
        id: ProviderId,
        idp: Option<IdpSource>,
        raw: RawSamlProvider,
        public_url: Option<&Url>,
    ) -> Option<Provider> {
        let clock_skew = self.saml_clock_skew(path, raw.clock_skew.as_deref());
        let metadata_valid_for = self.metadata_valid_for(path, raw.metadata_valid_for.as_deref());
        let name_id_format = self.name_id_format(path, raw.name_id_format);
        let sp = SpEndpoints::of(public_url, &id);
        let want_assertions_signed = raw.want_assertions_signed.unwrap_or(true);
        let (sp_key_file, sp_cert_file) = self.sp_key_files(&id, raw.sp_key_file, raw.sp_cert_file);
        let settings = SamlSettings {
            idp: idp?,
            sp_entity_id: raw.sp_entity_id.unwrap_or(sp.entity_id),
            acs_url: sp.acs_url,
            metadata_url: sp.metadata_url,
            sp_keys: SpKeySource::Files {
                key: sp_key_file,
                cert: sp_cert_file,
            },
            encryption_key_file: raw.encryption_key_file.map(|f| self.path_of(&f)),
            name_id_format,
            metadata_valid_for,
            attributes: attribute_map(raw.attributes),
            principal_tags: raw.principal_tags,
            allow_idp_initiated: raw.allow_idp_initiated.unwrap_or(false),
            sign_authn_requests: raw.sign_authn_requests.unwrap_or(true),
            force_authn: raw.force_authn.unwrap_or(false),
            requested_authn_context: raw.requested_authn_context,
            clock_skew,
            want_assertions_signed,
            mfa_authn_contexts: raw.mfa_authn_contexts.unwrap_or_else(|| {
                DEFAULT_MFA_AUTHN_CONTEXTS
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            }),
        };
        if !want_assertions_signed {
            tracing::warn!(
                provider = %id,
                "want_assertions_signed = false: a signed response covering the assertion is accepted"
            );
        }
        Some(Provider {
            display_name: raw.display_name.unwrap_or_else(|| id.to_string()),
            id,
            settings: ProviderSettings::Saml(Box::new(settings)),
        })
    }

    /// The SP's key and certificate files, by default `data/saml/{id}-sp.key` and `.crt`.
    fn sp_key_files(
        &self,
        id: &ProviderId,
        key: Option<String>,
        cert: Option<String>,
    ) -> (PathBuf, PathBuf) {
        let key_dir = self.path_of("data/saml");
        let key = key
            .map(|f| self.path_of(&f))
            .unwrap_or_else(|| key_dir.join(format!("{id}-sp.key")));
        let cert = cert
            .map(|f| self.path_of(&f))
            .unwrap_or_else(|| key_dir.join(format!("{id}-sp.crt")));
        (key, cert)
    }

    /// `metadata_url`: the IdP's metadata, fetched over http(s) and refreshed.
    fn idp_metadata_url(&mut self, path: &str, text: &str, refresh: Duration) -> Option<IdpSource> {
        match Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "https" | "http") => {
                Some(IdpSource::MetadataUrl { url, refresh })
            }
            _ => {
                self.error(
                    format!("{path}.metadata_url"),
                    format!("{text:?} is not an http(s) URL"),
                );
                None
            }
        }
    }

    /// An IdP given by `idp_entity_id`, `sso_url` and `certificates`. The outer `None` means
    /// the provider cannot be built at all (no entity id, or a certificate that could not be
    /// read), so that the provider's other keys are not checked; the inner `None` a bad
    /// `sso_url`.
    fn explicit_idp(
        &mut self,
        path: &str,
        entity_id: Option<String>,
        sso_url: Option<String>,
        given: &[String],
    ) -> Option<Option<IdpSource>> {
        let entity_id = entity_id.unwrap_or_default();
        if entity_id.is_empty() {
            self.error(format!("{path}.idp_entity_id"), "is required with sso_url");
        }
        let sso_url = match sso_url.as_deref().map(Url::parse) {
            Some(Ok(u)) if matches!(u.scheme(), "https" | "http") => Some(u),
            _ => {
                self.error(
                    format!("{path}.sso_url"),
                    "must be the IdP's http(s) single sign-on URL",
                );
                None
            }
        };
        let certificates = self.idp_certificates(path, given);
        if entity_id.is_empty() || certificates.len() != given.len() {
            return None;
        }
        Some(sso_url.map(|sso_url| IdpSource::Explicit {
            entity_id,
            sso_url,
            certificates,
        }))
    }

    /// `certificates`: each PEM text, or a file holding one; at least one.
    fn idp_certificates(&mut self, path: &str, given: &[String]) -> Vec<String> {
        let mut certificates = Vec::new();
        for (j, c) in given.iter().enumerate() {
            if c.trim_start().starts_with("-----BEGIN CERTIFICATE-----") {
                certificates.push(c.clone());
                continue;
            }
            let full = self.path_of(c);
            match std::fs::read_to_string(&full) {
                Ok(pem) if pem.contains("-----BEGIN CERTIFICATE-----") => certificates.push(pem),
                Ok(_) => self.error(
                    format!("{path}.certificates[{j}]"),
                    format!("{} holds no PEM certificate", full.display()),
                ),
                Err(e) => self.error(
                    format!("{path}.certificates[{j}]"),
                    format!("cannot read {}: {e}", full.display()),
                ),
            }
        }
        if given.is_empty() {
            self.error(
                format!("{path}.certificates"),
                "at least one IdP signing certificate is required (PEM text or a file)",
            );
        }
        certificates
    }

    /// `clock_skew`: 2 minutes by default, at most 10.
    fn saml_clock_skew(&mut self, path: &str, text: Option<&str>) -> Duration {
        let skew = self.duration(
            &format!("{path}.clock_skew"),
            text,
            Duration::from_secs(120),
        );
        if skew > Duration::from_secs(600) {
            self.error(
                format!("{path}.clock_skew"),
                "must be at most 10m: a longer skew keeps expired assertions usable",
            );
        }
        skew
    }

    /// `metadata_valid_for`: the `validUntil` of Lanyard's SP metadata, when wanted.
    fn metadata_valid_for(&mut self, path: &str, text: Option<&str>) -> Option<Duration> {
        text.map(|text| {
            let p = format!("{path}.metadata_valid_for");
            let d = self.duration(&p, Some(text), METADATA_VALIDITY.0);
            if d < METADATA_VALIDITY.0 || d > METADATA_VALIDITY.1 {
                self.error(
                    p,
                    "must be between 1h and 3650d (omit it for metadata without validUntil)",
                );
            }
            d
        })
    }

    /// `name_id_format`: a URI, persistent by default.
    fn name_id_format(&mut self, path: &str, given: Option<String>) -> String {
        let name_id_format = given.unwrap_or_else(|| DEFAULT_NAME_ID_FORMAT.to_owned());
        if name_id_format.trim().is_empty() || name_id_format.chars().any(char::is_whitespace) {
            self.error(
                format!("{path}.name_id_format"),
                "must be a NameID format URI, e.g. urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            );
        }
        name_id_format
    }
}
