//! A SAML response read WITHOUT verifying it, for the trust simulator only: an admin pastes
//! a response (from a browser's developer tools, a SAML tracer, a support ticket) to see
//! which roles its attributes would give. Nothing here is trusted: no signature, issuer,
//! audience, time or replay check is made, the result can only feed a simulation (it is a
//! type of its own, never a [`super::VerifiedAssertion`]), and the simulator says so.
//!
//! The reading is as strict as a sign-in's about the document itself: the same size bound,
//! DOCTYPE refusal, the same `roxmltree` reading as a sign-in's structure checks
//! ([`super::validate::parse_received`]) and whole-text reads (comment injection refused).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use roxmltree::Node;

use super::SamlError;
use super::canonical::{at_most_one, attribute, children, is, time_attr, whole_text};
use super::validate::{MAX_RESPONSE_BYTES, SamlAttribute, parse_received};
use super::xml::{ASSERTION, PROTOCOL};
use crate::clock::UnixTime;

/// What a pasted, unverified assertion says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedAssertion {
    /// The assertion's `Issuer` (else the Response's): to find the provider.
    pub issuer: Option<String>,
    /// `NameID`.
    pub name_id: String,
    /// `AuthnContextClassRef` of the first authentication statement.
    pub authn_context: Option<String>,
    /// `AuthnInstant` of the first authentication statement.
    pub authn_instant: Option<UnixTime>,
    /// Every attribute.
    pub attributes: Vec<SamlAttribute>,
}

/// Reads `pasted`: a base64 `SAMLResponse` (as posted to an ACS, whitespace allowed), or
/// the XML itself (a `Response` or a lone `Assertion`).
pub fn read(pasted: &str) -> Result<UnverifiedAssertion, SamlError> {
    let trimmed = pasted.trim();
    if trimmed.len() > MAX_RESPONSE_BYTES * 4 / 3 + 4096 {
        return Err(SamlError::TooLarge);
    }
    let bytes = if trimmed.starts_with('<') {
        trimmed.as_bytes().to_vec()
    } else {
        let cleaned: String = trimmed
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        STANDARD.decode(cleaned).map_err(|_| SamlError::Base64)?
    };
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(SamlError::TooLarge);
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| SamlError::Malformed("the document is not UTF-8".into()))?;
    let doc = parse_received(text)?;
    let root = doc.root_element();
    let assertion = if is(&root, ASSERTION, "Assertion") {
        root
    } else if is(&root, PROTOCOL, "Response") {
        if root
            .descendants()
            .any(|n| is(&n, ASSERTION, "EncryptedAssertion"))
        {
            return Err(SamlError::Malformed(
                "the assertion is encrypted: only a sign-in (or a test sign-in) can read it".into(),
            ));
        }
        let found: Vec<_> = root
            .descendants()
            .filter(|n| is(n, ASSERTION, "Assertion"))
            .collect();
        match found.as_slice() {
            [one] => *one,
            other => return Err(SamlError::AssertionCount(other.len())),
        }
    } else {
        return Err(SamlError::Malformed(
            "neither a SAML Response nor an Assertion".into(),
        ));
    };
    let issuer_of = |node: &Node<'_, '_>| -> Result<Option<String>, SamlError> {
        at_most_one(node, ASSERTION, "Issuer")?
            .map(|i| whole_text(&i, "Issuer"))
            .transpose()
    };
    let issuer = match issuer_of(&assertion)? {
        Some(i) => Some(i),
        None if !is(&root, ASSERTION, "Assertion") => issuer_of(&root)?,
        None => None,
    };
    let subject = at_most_one(&assertion, ASSERTION, "Subject")?
        .ok_or_else(|| SamlError::Malformed("the assertion has no Subject".into()))?;
    let name_id = at_most_one(&subject, ASSERTION, "NameID")?
        .ok_or_else(|| SamlError::Malformed("the Subject has no NameID".into()))?;
    let name_id = whole_text(&name_id, "NameID")?;
    let mut authn_context = None;
    let mut authn_instant = None;
    if let Some(statement) = children(&assertion, ASSERTION, "AuthnStatement").first() {
        authn_instant = time_attr(statement, "AuthnInstant")?;
        if let Some(ctx) = at_most_one(statement, ASSERTION, "AuthnContext")?
            && let Some(class) = at_most_one(&ctx, ASSERTION, "AuthnContextClassRef")?
        {
            authn_context = Some(whole_text(&class, "AuthnContextClassRef")?);
        }
    }
    let mut attributes = Vec::new();
    for st in children(&assertion, ASSERTION, "AttributeStatement") {
        for at in children(&st, ASSERTION, "Attribute") {
            let Some(name) = attribute(&at, "Name")? else {
                return Err(SamlError::Malformed("an Attribute has no Name".into()));
            };
            let mut values = Vec::new();
            for v in children(&at, ASSERTION, "AttributeValue") {
                let text = whole_text(&v, "AttributeValue")?;
                if !text.is_empty() {
                    values.push(text);
                }
            }
            attributes.push(SamlAttribute {
                name: name.to_owned(),
                friendly_name: attribute(&at, "FriendlyName")?.map(str::to_owned),
                values,
            });
        }
    }
    Ok(UnverifiedAssertion {
        issuer,
        name_id,
        authn_context,
        authn_instant,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESPONSE: &str = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="r1" Version="2.0" IssueInstant="2026-11-30T10:00:00Z">
  <saml:Issuer>https://idp.example.com/metadata</saml:Issuer>
  <saml:Assertion ID="a1" Version="2.0" IssueInstant="2026-11-30T10:00:00Z">
    <saml:Issuer>https://idp.example.com/metadata</saml:Issuer>
    <saml:Subject><saml:NameID>alice-id</saml:NameID></saml:Subject>
    <saml:AuthnStatement AuthnInstant="2026-11-30T09:59:00Z"><saml:AuthnContext><saml:AuthnContextClassRef>urn:mfa</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>
    <saml:AttributeStatement>
      <saml:Attribute Name="urn:oid:0.9.2342.19200300.100.1.3" FriendlyName="mail"><saml:AttributeValue>alice@example.com</saml:AttributeValue></saml:Attribute>
      <saml:Attribute Name="groups"><saml:AttributeValue>engineering</saml:AttributeValue><saml:AttributeValue>admins</saml:AttributeValue></saml:Attribute>
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>"#;

    #[test]
    fn a_pasted_response_is_read_as_xml_or_base64() {
        let from_xml = read(RESPONSE).unwrap();
        assert_eq!(
            from_xml.issuer.as_deref(),
            Some("https://idp.example.com/metadata")
        );
        assert_eq!(from_xml.name_id, "alice-id");
        assert_eq!(from_xml.authn_context.as_deref(), Some("urn:mfa"));
        assert_eq!(from_xml.attributes.len(), 2);
        assert_eq!(from_xml.attributes[1].values, ["engineering", "admins"]);
        let wrapped: String = STANDARD
            .encode(RESPONSE)
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned() + "\n")
            .collect();
        assert_eq!(read(&wrapped).unwrap(), from_xml);
    }

    #[test]
    fn what_is_no_readable_assertion_is_refused() {
        assert!(matches!(read("%%%"), Err(SamlError::Base64)));
        assert!(read("<x/>").is_err());
        let dtd = format!("<!DOCTYPE x [<!ENTITY e \"1\">]>{RESPONSE}");
        assert!(read(&dtd).is_err());
        let encrypted = RESPONSE.replace(
            "<saml:Assertion ",
            "<saml:EncryptedAssertion/><saml:Assertion ",
        );
        assert!(read(&encrypted).is_err());
        let injected = RESPONSE.replace("alice-id", "alice<!-- x -->-id");
        assert!(read(&injected).is_err(), "comment injection is refused");
        assert!(matches!(
            read(&"A".repeat(400 * 1024)),
            Err(SamlError::TooLarge)
        ));
    }
}
