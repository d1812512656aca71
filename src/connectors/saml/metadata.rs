//! SAML metadata (saml-metadata §2): reading an IdP's `EntityDescriptor`, and writing Lanyard's
//! signed SP `EntityDescriptor` for an admin to upload to the IdP.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use samael::crypto::{CertificateDer, Crypto, CryptoProvider};
use url::Url;

use super::SamlError;
use super::keys::SpKeys;
use super::xml::{self, DSIG, escape};
use crate::clock::UnixTime;

/// SAML metadata namespace (saml-metadata §1.1).
pub const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// HTTP-Redirect binding (saml-bindings §3.4).
pub const REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// HTTP-POST binding (saml-bindings §3.5).
pub const POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// What Lanyard trusts of an IdP.
#[derive(Debug, Clone)]
pub struct IdpTrust {
    /// Entity id (`Issuer`).
    pub entity_id: String,
    /// SSO endpoint for the HTTP-Redirect binding.
    pub sso_url: Url,
    /// Signing certificates.
    pub certificates: Vec<CertificateDer>,
}

/// Reads an IdP `EntityDescriptor` (a lone one, not an aggregate).
pub fn parse_idp_metadata(text: &str) -> Result<IdpTrust, SamlError> {
    super::validate::refuse_dtd(text.as_bytes())?;
    let doc = super::with_xmlsec(|| libxml::parser::Parser::default().parse_string(text))
        .map_err(|_| SamlError::Metadata("not well-formed XML".into()))?;
    let root = doc
        .get_root_element()
        .ok_or_else(|| SamlError::Metadata("empty document".into()))?;
    if !xml::is(&root, MD, "EntityDescriptor") {
        return Err(SamlError::Metadata(
            "the root is not an md:EntityDescriptor".into(),
        ));
    }
    let entity_id = root
        .get_attribute("entityID")
        .filter(|e| !e.is_empty())
        .ok_or_else(|| SamlError::Metadata("EntityDescriptor has no entityID".into()))?;
    let idp = xml::children(&root, MD, "IDPSSODescriptor")
        .into_iter()
        .next()
        .ok_or_else(|| SamlError::Metadata("no IDPSSODescriptor".into()))?;
    let sso_url = xml::children(&idp, MD, "SingleSignOnService")
        .into_iter()
        .find(|s| s.get_attribute("Binding").as_deref() == Some(REDIRECT_BINDING))
        .and_then(|s| s.get_attribute("Location"))
        .ok_or_else(|| {
            SamlError::Metadata("no SingleSignOnService with the HTTP-Redirect binding".into())
        })?;
    let sso_url = Url::parse(&sso_url)
        .map_err(|_| SamlError::Metadata(format!("{sso_url:?} is not a URL")))?;
    let mut certificates = Vec::new();
    for kd in xml::children(&idp, MD, "KeyDescriptor") {
        if kd.get_attribute("use").is_some_and(|u| u != "signing") {
            continue;
        }
        let mut found = Vec::new();
        xml::descendants(&kd, DSIG, "X509Certificate", &mut found);
        for c in found {
            let b64: String = c
                .get_content()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let der = STANDARD
                .decode(b64)
                .map_err(|_| SamlError::Metadata("an X509Certificate is not base64".into()))?;
            openssl::x509::X509::from_der(&der)
                .map_err(|_| SamlError::Metadata("an X509Certificate does not parse".into()))?;
            certificates.push(CertificateDer::from(der));
        }
    }
    if certificates.is_empty() {
        return Err(SamlError::Metadata("no signing certificate".into()));
    }
    Ok(IdpTrust {
        entity_id,
        sso_url,
        certificates,
    })
}

/// Everything the SP metadata says.
pub struct SpDescription<'a> {
    /// Entity id.
    pub entity_id: &'a str,
    /// ACS URL.
    pub acs_url: &'a str,
    /// Whether AuthnRequests are signed.
    pub authn_requests_signed: bool,
    /// Whether assertions must be signed.
    pub want_assertions_signed: bool,
    /// Requested NameID format.
    pub name_id_format: &'a str,
    /// `validUntil`; `None` for none (the metadata does not expire).
    pub valid_until: Option<UnixTime>,
}

/// A ds:Signature template over the element with `id` (exclusive c14n, RSA-SHA256, SHA-256).
pub fn signature_template(id: &str, cert: &CertificateDer) -> String {
    format!(
        "<ds:Signature xmlns:ds=\"{DSIG}\"><ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
         <ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\
         <ds:Reference URI=\"#{id}\"><ds:Transforms>\
         <ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
         <ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
         <ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>\
         <ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}\
         </ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>",
        STANDARD.encode(cert.der_data())
    )
}

/// The SP's `EntityDescriptor`, signed with the SP key.
pub fn sp_metadata(d: &SpDescription<'_>, keys: &SpKeys) -> Result<String, SamlError> {
    let id = format!("_{}", uuid::Uuid::new_v4().simple());
    let cert = STANDARD.encode(keys.cert.der_data());
    let key_info = format!(
        "<ds:KeyInfo xmlns:ds=\"{DSIG}\"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
    );
    let name_id = format!(
        "<md:NameIDFormat>{}</md:NameIDFormat>",
        escape(d.name_id_format)
    );
    let until = d
        .valid_until
        .map(|t| format!(" validUntil=\"{}\"", xml::format_time(t)))
        .unwrap_or_default();
    let xml = format!(
        "<md:EntityDescriptor xmlns:md=\"{MD}\" ID=\"{id}\" entityID=\"{entity}\"{until}>\
         {sig}\
         <md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         AuthnRequestsSigned=\"{signed}\" WantAssertionsSigned=\"{want}\">\
         <md:KeyDescriptor use=\"signing\">{key_info}</md:KeyDescriptor>\
         <md:KeyDescriptor use=\"encryption\">{key_info}\
         <md:EncryptionMethod Algorithm=\"http://www.w3.org/2009/xmlenc11#aes256-gcm\"/>\
         <md:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes256-cbc\"/>\
         <md:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"/>\
         </md:KeyDescriptor>{name_id}\
         <md:AssertionConsumerService Binding=\"{POST_BINDING}\" Location=\"{acs}\" index=\"0\" isDefault=\"true\"/>\
         </md:SPSSODescriptor></md:EntityDescriptor>",
        entity = escape(d.entity_id),
        sig = signature_template(&id, &keys.cert),
        signed = d.authn_requests_signed,
        want = d.want_assertions_signed,
        acs = escape(d.acs_url),
    );
    super::with_xmlsec(|| Crypto::sign_xml(xml, &keys.key_der))
        .map_err(|e| SamlError::Config(format!("signing the SP metadata failed: {e}")))
}
