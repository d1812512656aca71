//! Inspecting an identity provider before trusting it (issue 15, "Add an identity
//! provider"): a SAML IdP's metadata, fetched from a URL or pasted (saml-metadata §2.4.3,
//! §2.3.2 and §2.4.1), or an OpenID Connect provider's discovery document and signing keys
//! (OpenID Connect Discovery §4), described for the admin who is about to add it, with what
//! Lanyard would refuse or warn about.
//!
//! Nothing here is new trust logic: the fetches go through the redirect connectors' bounded
//! client ([`Http`]: timeouts, no redirect followed, bodies capped), the XML through the SAML
//! connector's hardened parser (DOCTYPE and entity declarations refused, no network), and
//! the verdicts are the connectors' own ([`parse_idp_metadata`], [`check_discovery`],
//! [`allowed_algorithms`]).
//!
//! May import: `clock`, `identity`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use url::Url;

use super::CallTimer;
use super::id_token::{JwksDocument, PublicKeys, allowed_algorithms};
use super::oidc::{
    DiscoveryFault, ProviderMetadata, check_discovery, discovery_url, is_secure_endpoint,
};
use super::saml::metadata::{MD, REDIRECT_BINDING, parse_idp_metadata};
use super::saml::xml::{self, DSIG};
use super::saml::{MAX_METADATA_BYTES, SamlError, validate};
use super::settings::OidcPreset;
use super::upstream::{Endpoint, Http, UpstreamError, short};
use crate::clock::UnixTime;
use crate::identity::ProviderId;

/// How long one fetch (metadata, discovery, JWKS) may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// A certificate that expires within this many days is flagged.
pub const WARN_DAYS: i64 = 30;

/// Why a provider could not be described at all (what can be described but is wrong is a
/// problem of the description instead). Each has a machine-readable [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectError {
    /// The URL given is not one Lanyard fetches.
    #[error("{0}")]
    InvalidUrl(String),
    /// The metadata URL could not be fetched.
    #[error("the metadata could not be fetched: {0}")]
    MetadataUnreachable(String),
    /// The metadata is not a SAML IdP's metadata document Lanyard can read.
    #[error("the metadata cannot be read: {0}")]
    MetadataInvalid(String),
    /// The discovery document could not be fetched.
    #[error("the discovery document could not be fetched: {0}")]
    DiscoveryUnreachable(String),
    /// The discovery document is not one Lanyard can use.
    #[error("the discovery document cannot be used: {0}")]
    DiscoveryInvalid(String),
    /// The discovery document names another issuer (Discovery §4.3).
    #[error(
        "the discovery document names the issuer {found:?}, not {expected:?}: Lanyard would \
         refuse every sign-in through it"
    )]
    IssuerMismatch {
        /// The issuer the document names (shortened).
        found: String,
        /// The issuer asked for.
        expected: String,
    },
}

impl InspectError {
    /// The machine-readable code: `invalid_url`, `metadata_unreachable`,
    /// `metadata_invalid`, `discovery_unreachable`, `discovery_invalid`, `issuer_mismatch`.
    pub fn code(&self) -> &'static str {
        match self {
            InspectError::InvalidUrl(_) => "invalid_url",
            InspectError::MetadataUnreachable(_) => "metadata_unreachable",
            InspectError::MetadataInvalid(_) => "metadata_invalid",
            InspectError::DiscoveryUnreachable(_) => "discovery_unreachable",
            InspectError::DiscoveryInvalid(_) => "discovery_invalid",
            InspectError::IssuerMismatch { .. } => "issuer_mismatch",
        }
    }
}

/// A SAML endpoint: its binding and location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEndpoint {
    /// The `Binding` URI.
    pub binding: String,
    /// The `Location` URL.
    pub location: String,
}

/// What a certificate of a `KeyDescriptor` is for (saml-metadata §2.4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// `use="signing"`.
    Signing,
    /// `use="encryption"`.
    Encryption,
    /// No `use`: both.
    Both,
}

/// A certificate, as an admin compares it with what the IdP's admin sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    /// What the IdP lists it for.
    pub key_use: KeyUse,
    /// Its subject (`CN=…, O=…`).
    pub subject: String,
    /// The SHA-256 fingerprint of its DER, colon-separated upper-case hex.
    pub sha256: String,
    /// When it expires; `None` when that cannot be read.
    pub not_after: Option<UnixTime>,
    /// Whole days from now until it expires (negative once expired).
    pub days_left: Option<i64>,
    /// Whether it expired or expires within [`WARN_DAYS`] days.
    pub warning: bool,
    /// The certificate as PEM text (what a provider's `certificates` takes).
    pub pem: String,
}

/// A SAML IdP's metadata, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlDescription {
    /// Its entity id.
    pub entity_id: String,
    /// `SingleSignOnService` endpoints.
    pub sso_endpoints: Vec<ServiceEndpoint>,
    /// `SingleLogoutService` endpoints.
    pub slo_endpoints: Vec<ServiceEndpoint>,
    /// `NameIDFormat`s it offers.
    pub name_id_formats: Vec<String>,
    /// `WantAuthnRequestsSigned`.
    pub want_authn_requests_signed: bool,
    /// The certificates of its `KeyDescriptor`s.
    pub certificates: Vec<CertificateFacts>,
    /// What Lanyard would refuse or warns about, one sentence each.
    pub problems: Vec<String>,
    /// Whether Lanyard's SAML provider accepts this document as it is.
    pub accepted: bool,
}

/// A signing key of a JWKS, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    /// `kid`.
    pub kid: Option<String>,
    /// `kty`.
    pub kty: Option<String>,
    /// `alg`.
    pub alg: Option<String>,
}

/// An OpenID Connect provider's discovery document and keys, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcDescription {
    /// `issuer` (the one asked for, which the document names).
    pub issuer: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: String,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `userinfo_endpoint`.
    pub userinfo_endpoint: Option<String>,
    /// `jwks_uri`.
    pub jwks_uri: String,
    /// `id_token_signing_alg_values_supported`, as advertised.
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// The ID token algorithms Lanyard would accept from it.
    pub accepted_algorithms: Vec<String>,
    /// The keys of its JWKS.
    pub keys: Vec<KeyFacts>,
    /// What Lanyard would refuse or warns about, one sentence each.
    pub problems: Vec<String>,
}

/// A URL Lanyard may fetch metadata from: http or https, without credentials.
pub fn metadata_url(text: &str) -> Result<Url, InspectError> {
    match Url::parse(text.trim()) {
        Ok(u)
            if matches!(u.scheme(), "https" | "http")
                && u.username().is_empty()
                && u.password().is_none() =>
        {
            Ok(u)
        }
        _ => Err(InspectError::InvalidUrl(
            "metadata_url must be an http:// or https:// URL without credentials".to_owned(),
        )),
    }
}

/// Fetches a SAML IdP's metadata from `url` (at most the connector's size, within
/// [`FETCH_TIMEOUT`], no redirect followed) and describes it.
pub async fn fetch_saml_metadata(
    url: &Url,
    now: UnixTime,
) -> Result<SamlDescription, InspectError> {
    // The endpoint only labels the call in `UpstreamError`s, which are reworded here.
    let body = client()
        .map_err(|e| InspectError::MetadataUnreachable(e.to_string()))?
        .get_bytes(
            Endpoint::Api,
            url,
            "application/samlmetadata+xml, application/xml, text/xml",
            MAX_METADATA_BYTES,
        )
        .await
        .map_err(|e| match e {
            UpstreamError::Malformed { .. } => InspectError::MetadataInvalid(format!(
                "the document is larger than {} KiB",
                MAX_METADATA_BYTES / 1024
            )),
            other => InspectError::MetadataUnreachable(fetch_failure(&other)),
        })?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| InspectError::MetadataInvalid("the document is not UTF-8".to_owned()))?;
    describe_saml_metadata(text, now)
}

/// Describes a SAML IdP's metadata document at `now`: a lone `EntityDescriptor` (what the
/// connector reads) or an aggregate, of which the first IdP is described.
pub fn describe_saml_metadata(text: &str, now: UnixTime) -> Result<SamlDescription, InspectError> {
    if text.len() > MAX_METADATA_BYTES {
        return Err(InspectError::MetadataInvalid(format!(
            "the document is larger than {} KiB",
            MAX_METADATA_BYTES / 1024
        )));
    }
    let doc = validate::parse(text.as_bytes()).map_err(|e| {
        InspectError::MetadataInvalid(match e {
            SamlError::Dtd => "the XML carries a DOCTYPE or entity declaration, which SAML \
                               metadata never needs; Lanyard refuses it"
                .to_owned(),
            _ => "not well-formed XML".to_owned(),
        })
    })?;
    let root = doc
        .get_root_element()
        .ok_or_else(|| InspectError::MetadataInvalid("the document is empty".to_owned()))?;
    let mut problems = Vec::new();
    // Whether a problem already says why the connector refuses the document.
    let mut refused = false;
    let entities = if xml::is(&root, MD, "EntityDescriptor") {
        vec![root.clone()]
    } else if xml::is(&root, MD, "EntitiesDescriptor") {
        let mut found = Vec::new();
        xml::descendants(&root, MD, "EntityDescriptor", &mut found);
        found
    } else {
        return Err(InspectError::MetadataInvalid(
            "the root is neither an md:EntityDescriptor nor an md:EntitiesDescriptor".to_owned(),
        ));
    };
    let idps: Vec<_> = entities
        .iter()
        .filter(|e| !xml::children(e, MD, "IDPSSODescriptor").is_empty())
        .collect();
    let (Some(entity), Some(idp)) = (
        idps.first(),
        idps.first()
            .and_then(|e| xml::children(e, MD, "IDPSSODescriptor").into_iter().next()),
    ) else {
        return Err(InspectError::MetadataInvalid(
            "no entity has an md:IDPSSODescriptor: this is not an identity provider's metadata"
                .to_owned(),
        ));
    };
    let entity_id = entity
        .get_attribute("entityID")
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| {
            InspectError::MetadataInvalid("the EntityDescriptor has no entityID".to_owned())
        })?;
    if !xml::is(&root, MD, "EntityDescriptor") {
        refused = true;
        problems.push(format!(
            "the document is an aggregate (md:EntitiesDescriptor) of {} entit{}, {} of them \
             identity providers; Lanyard's SAML provider reads one md:EntityDescriptor: give \
             {entity_id}'s alone (this describes it)",
            entities.len(),
            if entities.len() == 1 { "y" } else { "ies" },
            idps.len(),
        ));
    }
    let endpoints = |name: &str| -> Vec<ServiceEndpoint> {
        xml::children(&idp, MD, name)
            .into_iter()
            .map(|s| ServiceEndpoint {
                binding: s.get_attribute("Binding").unwrap_or_default(),
                location: s.get_attribute("Location").unwrap_or_default(),
            })
            .collect()
    };
    let sso_endpoints = endpoints("SingleSignOnService");
    let slo_endpoints = endpoints("SingleLogoutService");
    if !sso_endpoints.iter().any(|e| e.binding == REDIRECT_BINDING) {
        refused = true;
        problems.push(
            "no SingleSignOnService with the HTTP-Redirect binding: Lanyard sends its \
             AuthnRequests by that binding"
                .to_owned(),
        );
    }
    let name_id_formats = xml::children(&idp, MD, "NameIDFormat")
        .into_iter()
        .map(|n| n.get_content().trim().to_owned())
        .filter(|f| !f.is_empty())
        .collect();
    let want_authn_requests_signed = idp
        .get_attribute("WantAuthnRequestsSigned")
        .is_some_and(|v| matches!(v.trim(), "true" | "1"));
    let mut certificates = Vec::new();
    for kd in xml::children(&idp, MD, "KeyDescriptor") {
        let key_use = match kd.get_attribute("use").as_deref() {
            None => KeyUse::Both,
            Some("signing") => KeyUse::Signing,
            Some("encryption") => KeyUse::Encryption,
            Some(other) => {
                problems.push(format!(
                    "a KeyDescriptor has use={:?}, neither signing nor encryption; it is left out",
                    short(other, 40)
                ));
                continue;
            }
        };
        let mut found = Vec::new();
        xml::descendants(&kd, DSIG, "X509Certificate", &mut found);
        for c in found {
            let b64: String = c
                .get_content()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            match STANDARD
                .decode(b64)
                .ok()
                .and_then(|der| certificate_facts(&der, key_use, now))
            {
                Some(facts) => certificates.push(facts),
                None => {
                    refused |= key_use != KeyUse::Encryption;
                    problems
                        .push("an X509Certificate is not a certificate Lanyard can read".into());
                }
            }
        }
    }
    if !certificates.iter().any(|c| c.key_use != KeyUse::Encryption) {
        refused = true;
        problems.push(
            "no signing certificate: Lanyard could not verify any of the IdP's responses"
                .to_owned(),
        );
    }
    for c in &certificates {
        match (c.not_after, c.days_left) {
            (Some(at), Some(days)) if days < 0 || at <= now => problems.push(format!(
                "the certificate {} expired on {}",
                c.subject,
                xml::format_time(at)
            )),
            (Some(at), Some(days)) if c.warning => problems.push(format!(
                "the certificate {} expires in {days} day{} ({})",
                c.subject,
                if days == 1 { "" } else { "s" },
                xml::format_time(at)
            )),
            _ => {}
        }
    }
    // The connector's own verdict, so that the description never accepts what sign-in
    // refuses.
    let verdict = parse_idp_metadata(text);
    if let Err(e) = &verdict
        && !refused
    {
        problems.push(format!(
            "Lanyard's SAML provider refuses this document: {e}"
        ));
    }
    Ok(SamlDescription {
        entity_id,
        sso_endpoints,
        slo_endpoints,
        name_id_formats,
        want_authn_requests_signed,
        certificates,
        problems,
        accepted: verdict.is_ok(),
    })
}

/// Fetches and checks the discovery document of `issuer` (https, or http on a loopback
/// host, as the connector requires), then its JWKS.
pub async fn inspect_oidc(issuer: &str) -> Result<OidcDescription, InspectError> {
    let issuer = match Url::parse(issuer.trim()) {
        Ok(u)
            if is_secure_endpoint(&u)
                && u.query().is_none()
                && u.fragment().is_none()
                && u.username().is_empty()
                && u.password().is_none() =>
        {
            u
        }
        _ => {
            return Err(InspectError::InvalidUrl(
                "issuer must be an https:// URL (http:// only on a loopback host) without a \
                 query, a fragment or credentials"
                    .to_owned(),
            ));
        }
    };
    let http = client().map_err(|e| InspectError::DiscoveryUnreachable(e.to_string()))?;
    let m: ProviderMetadata = http
        .get_json(
            Endpoint::Discovery,
            &discovery_url(&issuer),
            None,
            "application/json",
        )
        .await
        .map_err(|e| match e {
            UpstreamError::Malformed { .. } => InspectError::DiscoveryInvalid(
                "it is not a JSON document with issuer, authorization_endpoint, \
                 token_endpoint and jwks_uri URLs (or it is larger than 256 KiB)"
                    .to_owned(),
            ),
            other => InspectError::DiscoveryUnreachable(fetch_failure(&other)),
        })?;
    check_discovery(&issuer, OidcPreset::Generic, &m).map_err(|fault| match fault {
        DiscoveryFault::IssuerMismatch { found, expected } => {
            InspectError::IssuerMismatch { found, expected }
        }
        DiscoveryFault::Insecure(u) => InspectError::DiscoveryInvalid(format!(
            "the endpoint {u} is not https (http only on a loopback host)"
        )),
    })?;
    let mut problems = Vec::new();
    let advertised = m.id_token_signing_alg_values_supported.clone();
    let accepted: Vec<String> = allowed_algorithms(advertised.as_deref())
        .iter()
        .map(|a| format!("{a:?}"))
        .collect();
    if accepted.is_empty() {
        problems.push(format!(
            "none of the ID token signing algorithms it advertises ({}) is one Lanyard \
             accepts (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)",
            advertised.unwrap_or_default().join(", ")
        ));
    }
    let keys = match http
        .get_json::<JwksDocument>(Endpoint::Jwks, &m.jwks_uri, None, "application/json")
        .await
    {
        Ok(doc) => {
            if PublicKeys::from_document(&doc).is_empty() {
                problems.push("its JWKS holds no signing key Lanyard can use".to_owned());
            }
            doc.keys()
                .iter()
                .map(|k| {
                    let field = |name: &str| {
                        k.get(name)
                            .and_then(serde_json::Value::as_str)
                            .map(|v| short(v, 200))
                    };
                    KeyFacts {
                        kid: field("kid"),
                        kty: field("kty"),
                        alg: field("alg"),
                    }
                })
                .collect()
        }
        Err(UpstreamError::Malformed { .. }) => {
            problems.push("its JWKS (jwks_uri) is not a JWK set Lanyard can read".to_owned());
            Vec::new()
        }
        Err(e) => {
            problems.push(format!(
                "its JWKS (jwks_uri) could not be fetched: {}",
                fetch_failure(&e)
            ));
            Vec::new()
        }
    };
    Ok(OidcDescription {
        issuer: m.issuer.to_string(),
        authorization_endpoint: m.authorization_endpoint.to_string(),
        token_endpoint: m.token_endpoint.to_string(),
        userinfo_endpoint: m.userinfo_endpoint.as_ref().map(ToString::to_string),
        jwks_uri: m.jwks_uri.to_string(),
        id_token_signing_alg_values_supported: m.id_token_signing_alg_values_supported,
        accepted_algorithms: accepted,
        keys,
        problems,
    })
}

/// The bounded client of an inspection (its calls are not reported to any provider's
/// metrics).
fn client() -> Result<Http, UpstreamError> {
    Http::new(
        FETCH_TIMEOUT,
        CallTimer::new(ProviderId::new("inspect"), None),
    )
}

/// A failed fetch in a sentence for the admin (no URL: they gave it).
fn fetch_failure(e: &UpstreamError) -> String {
    match e {
        UpstreamError::Timeout { timeout, .. } => {
            format!("no answer within {} s", timeout.as_secs())
        }
        UpstreamError::Unreachable { detail, .. } => format!("the connection failed ({detail})"),
        UpstreamError::Tls { detail, .. } => {
            format!("no secure (TLS) connection could be made ({detail})")
        }
        UpstreamError::Status { status, .. } if (300..400).contains(status) => format!(
            "it answered with a redirect (HTTP {status}); Lanyard follows none: give the URL \
             it redirects to"
        ),
        UpstreamError::Status { status, .. } => format!("it answered with HTTP {status}"),
        other => other.detail(),
    }
}

/// A DER certificate's facts at `now`; `None` when it is not a certificate.
fn certificate_facts(der: &[u8], key_use: KeyUse, now: UnixTime) -> Option<CertificateFacts> {
    let crate::identity::CertificateFacts {
        subject,
        sha256,
        not_after,
    } = super::certificate_facts(der)?;
    let days_left = not_after.map(|at| (at.secs() - now.secs()).div_euclid(86_400));
    Some(CertificateFacts {
        key_use,
        subject,
        sha256,
        not_after,
        days_left,
        warning: days_left.is_none_or(|d| d < WARN_DAYS),
        pem: pem_of(der),
    })
}

/// DER as PEM text: the base64 in lines of 64 characters between the `CERTIFICATE`
/// markers (RFC 7468 §2).
fn pem_of(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem_body(name: &str) -> String {
        let pem = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/saml")
                .join(name),
        )
        .unwrap();
        pem.lines().filter(|l| !l.starts_with("-----")).collect()
    }

    fn entity(id: &str, sso_binding: &str, key_use: &str) -> String {
        format!(
            "<md:EntityDescriptor xmlns:md=\"{MD}\" entityID=\"{id}\">\
             <md:IDPSSODescriptor WantAuthnRequestsSigned=\"true\" \
             protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
             <md:KeyDescriptor{key_use}><ds:KeyInfo xmlns:ds=\"{DSIG}\"><ds:X509Data>\
             <ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\
             </md:KeyDescriptor>\
             <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>\
             <md:SingleSignOnService Binding=\"{sso_binding}\" Location=\"https://idp.test/sso\"/>\
             <md:SingleLogoutService Binding=\"{REDIRECT_BINDING}\" Location=\"https://idp.test/slo\"/>\
             </md:IDPSSODescriptor></md:EntityDescriptor>",
            pem_body("idp1.crt")
        )
    }

    /// tests/fixtures/saml/idp1.crt: notAfter 2036-11-25T21:05:45Z.
    const IDP1_EXPIRES: i64 = 2_111_259_945;

    #[test]
    fn a_good_entity_is_described_and_accepted() {
        let now = UnixTime::from_secs(IDP1_EXPIRES - 100 * 86_400);
        let d = describe_saml_metadata(
            &entity("https://idp.test", REDIRECT_BINDING, " use=\"signing\""),
            now,
        )
        .unwrap();
        assert_eq!(d.entity_id, "https://idp.test");
        assert!(d.accepted, "{:?}", d.problems);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert!(d.want_authn_requests_signed);
        assert_eq!(d.sso_endpoints[0].location, "https://idp.test/sso");
        assert_eq!(d.slo_endpoints[0].location, "https://idp.test/slo");
        assert_eq!(
            d.name_id_formats,
            ["urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"]
        );
        let c = &d.certificates[0];
        assert_eq!(c.key_use, KeyUse::Signing);
        assert_eq!(c.subject, "CN=lanyard-test-idp1");
        assert_eq!(c.days_left, Some(100));
        assert!(!c.warning);
        assert_eq!(c.sha256.len(), 32 * 3 - 1);
        // The PEM is the fixture's certificate, as a provider's `certificates` takes it.
        let fixture = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/saml/idp1.crt"),
        )
        .unwrap();
        let body =
            |pem: &str| -> String { pem.lines().filter(|l| !l.starts_with("-----")).collect() };
        assert!(c.pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(c.pem.lines().all(|l| l.len() <= 64));
        assert_eq!(body(&c.pem), body(&fixture));
    }

    #[test]
    fn problems_are_named_and_match_the_connectors_verdict() {
        let soon = UnixTime::from_secs(IDP1_EXPIRES - 10 * 86_400);
        let d = describe_saml_metadata(
            &entity(
                "https://idp.test",
                super::super::saml::metadata::POST_BINDING,
                "",
            ),
            soon,
        )
        .unwrap();
        assert!(!d.accepted);
        assert!(d.problems[0].contains("HTTP-Redirect"), "{:?}", d.problems);
        assert!(
            d.problems[1].contains("expires in 10 days"),
            "{:?}",
            d.problems
        );
        assert_eq!(d.certificates[0].key_use, KeyUse::Both);
        assert!(d.certificates[0].warning);

        let later = UnixTime::from_secs(IDP1_EXPIRES + 86_400);
        let d = describe_saml_metadata(
            &entity("https://idp.test", REDIRECT_BINDING, " use=\"encryption\""),
            later,
        )
        .unwrap();
        assert!(!d.accepted);
        assert!(
            d.problems
                .iter()
                .any(|p| p.contains("no signing certificate"))
        );
        assert!(
            d.problems
                .iter()
                .any(|p| p.contains("expired on 2036-11-25"))
        );
        assert_eq!(d.certificates[0].days_left, Some(-1));

        let two = format!(
            "<md:EntitiesDescriptor xmlns:md=\"{MD}\">{}{}</md:EntitiesDescriptor>",
            entity("https://a.test", REDIRECT_BINDING, ""),
            entity("https://b.test", REDIRECT_BINDING, "")
        );
        let d = describe_saml_metadata(&two, later).unwrap();
        assert_eq!(d.entity_id, "https://a.test");
        assert!(!d.accepted);
        assert!(d.problems[0].contains("aggregate"), "{:?}", d.problems);
        assert!(
            d.problems[0].contains("2 entities, 2 of them"),
            "{:?}",
            d.problems
        );
    }

    #[test]
    fn documents_that_cannot_be_described_are_refused_with_a_code() {
        for (text, code) in [
            ("not xml at all", "metadata_invalid"),
            (
                "<!DOCTYPE r [<!ENTITY x \"y\">]><md:EntityDescriptor/>",
                "metadata_invalid",
            ),
            ("<html><body>login</body></html>", "metadata_invalid"),
        ] {
            let e = describe_saml_metadata(text, UnixTime::EPOCH).unwrap_err();
            assert_eq!(e.code(), code, "{text}");
        }
        let dtd = describe_saml_metadata("<!DOCTYPE x><x/>", UnixTime::EPOCH).unwrap_err();
        assert!(dtd.to_string().contains("DOCTYPE"), "{dtd}");
        for bad in [
            "file:///etc/passwd",
            "gopher://x",
            "https://u:p@idp.test/m",
            "x",
        ] {
            assert_eq!(
                metadata_url(bad).unwrap_err().code(),
                "invalid_url",
                "{bad}"
            );
        }
        assert!(metadata_url("http://127.0.0.1:9/metadata").is_ok());
    }
}
