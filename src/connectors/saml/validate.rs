//! Validation of a SAML `Response` received at the ACS (saml-core §3.2.2, saml-profiles
//! §4.1.4.3 Web Browser SSO processing rules), failing closed at every step.
//!
//! Order of work:
//! 1. size limit; DOCTYPE and entity declarations refused before any parser sees the bytes;
//! 2. the structure of the *received* document: root `samlp:Response`, exactly one
//!    `Assertion` or `EncryptedAssertion` in the whole document and directly under the root,
//!    signatures only as a direct child of the Response or of the Assertion, each with one
//!    `Reference` whose URI is `#` + the ID of its parent, IDs unique;
//!    and no comment or markup inside the text of a value Lanyard reads (refused with its
//!    own reason: samael's reduction would otherwise report it as a bad signature);
//! 3. every signature verified by xmlsec (through samael) against the IdP's certificates,
//!    with SHA-2 algorithms only, and the document reduced to what the signatures cover;
//! 4. claims read **only from the reduced (verified) tree** — an element that was not
//!    signed cannot be read (the defence against XML Signature Wrapping);
//! 5. `EncryptedAssertion` decrypted with the SP key, then verified in the same way;
//! 6. Issuer, Audience, Destination/Recipient, status, time windows with the clock skew.
//!
//! InResponseTo and assertion-ID replay need the session store; they are checked by the
//! caller with the values returned in [`VerifiedAssertion`].

use libxml::parser::{Parser, ParserOptions};
use libxml::tree::{Document, Node};
use openssl::pkey::{PKey, Private};
use samael::crypto::{
    AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode,
};

use std::time::Duration;

use super::SamlError;
use super::decrypt::decrypt_assertion;
use super::xml::{
    self, ASSERTION, DSIG, PROTOCOL, XENC, at_most_one, attr, children, descendants, exactly_one,
    time_attr, whole_text,
};
use crate::clock::UnixTime;

/// The largest decoded response accepted.
pub const MAX_RESPONSE_BYTES: usize = 192 * 1024;

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// Signature algorithms accepted: SHA-2 RSA and ECDSA (no SHA-1, no DSA).
pub const ALLOWED_ALGORITHMS: &[AllowedSignatureAlgorithm] = &[
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// What a response is checked against.
pub struct Expectations<'a> {
    /// The IdP's entity id (`Issuer`).
    pub idp_entity_id: &'a str,
    /// The IdP's signing certificates (several during a rollover).
    pub idp_certificates: &'a [CertificateDer],
    /// Lanyard's entity id (`Audience`).
    pub sp_entity_id: &'a str,
    /// The ACS URL (`Destination`, `Recipient`).
    pub acs_url: &'a str,
    /// The assertion itself must be signed.
    pub want_assertions_signed: bool,
    /// Allowed clock difference.
    pub clock_skew: Duration,
    /// Now (the injected clock).
    pub now: UnixTime,
    /// The key that decrypts `EncryptedAssertion`.
    pub decryption_key: Option<&'a PKey<Private>>,
}

/// One attribute of the verified assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlAttribute {
    /// `Name`.
    pub name: String,
    /// `FriendlyName`.
    pub friendly_name: Option<String>,
    /// The `AttributeValue`s.
    pub values: Vec<String>,
}

/// An assertion whose signature verified and whose conditions hold. Claims are reachable
/// only through this type, which only [`verify_response`] makes.
#[derive(Debug, Clone)]
pub struct VerifiedAssertion {
    id: String,
    name_id: String,
    name_id_format: Option<String>,
    in_response_to: Option<String>,
    valid_until: UnixTime,
    authn_instant: Option<UnixTime>,
    authn_context: Option<String>,
    attributes: Vec<SamlAttribute>,
    response_signed: bool,
    assertion_signed: bool,
    encrypted: bool,
}

impl VerifiedAssertion {
    /// The assertion's `ID` (replay cache key).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The NameID text.
    pub fn name_id(&self) -> &str {
        &self.name_id
    }
    /// The NameID `Format`.
    pub fn name_id_format(&self) -> Option<&str> {
        self.name_id_format.as_deref()
    }
    /// The request this answers (`SubjectConfirmationData/@InResponseTo`); `None` when
    /// unsolicited (IdP-initiated).
    pub fn in_response_to(&self) -> Option<&str> {
        self.in_response_to.as_deref()
    }
    /// The last second the assertion may be used (the earliest `NotOnOrAfter`, plus skew).
    pub fn valid_until(&self) -> UnixTime {
        self.valid_until
    }
    /// `AuthnStatement/@AuthnInstant`.
    pub fn authn_instant(&self) -> Option<UnixTime> {
        self.authn_instant
    }
    /// `AuthnContextClassRef`.
    pub fn authn_context(&self) -> Option<&str> {
        self.authn_context.as_deref()
    }
    /// The attributes.
    pub fn attributes(&self) -> &[SamlAttribute] {
        &self.attributes
    }
    /// Whether the Response element was signed.
    pub fn response_signed(&self) -> bool {
        self.response_signed
    }
    /// Whether the Assertion element was signed.
    pub fn assertion_signed(&self) -> bool {
        self.assertion_signed
    }
    /// Whether the assertion arrived encrypted.
    pub fn encrypted(&self) -> bool {
        self.encrypted
    }
}

/// Refuses DOCTYPE and entity declarations (and any other `<!` markup than comments and
/// CDATA) before parsing: no DTD, no external entity, no entity expansion ever reaches libxml.
pub fn refuse_dtd(bytes: &[u8]) -> Result<(), SamlError> {
    let mut i = 0;
    while let Some(pos) = bytes[i..].windows(2).position(|w| w == b"<!") {
        let at = i + pos + 2;
        let rest = &bytes[at..];
        if !(rest.starts_with(b"--") || rest.starts_with(b"[CDATA[")) {
            return Err(SamlError::Dtd);
        }
        i = at;
    }
    Ok(())
}

fn parse(bytes: &[u8]) -> Result<Document, SamlError> {
    refuse_dtd(bytes)?;
    let options = ParserOptions {
        recover: false,
        no_def_dtd: true,
        no_error: true,
        no_warning: true,
        pedantic: false,
        no_blanks: false,
        no_net: true,
        no_implied: false,
        compact: false,
        ignore_enc: false,
        encoding: Some("utf-8"),
    };
    super::with_xmlsec(|| Parser::default().parse_string_with_options(bytes, options))
        .map_err(|_| SamlError::Malformed("not well-formed XML".into()))
}

fn root(doc: &Document) -> Result<Node, SamlError> {
    doc.get_root_element()
        .ok_or_else(|| SamlError::Malformed("no root element".into()))
}

fn id_of(node: &Node) -> Result<String, SamlError> {
    let id = attr(node, "ID")?;
    if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c == '#') {
        return Err(SamlError::Malformed(
            "an ID attribute is not an NCName".into(),
        ));
    }
    Ok(id)
}

/// Checks where signatures sit and what they reference; returns whether `parent` is signed.
fn signature_of(parent: &Node) -> Result<bool, SamlError> {
    let Some(sig) = at_most_one(parent, DSIG, "Signature")? else {
        return Ok(false);
    };
    let signed_info = exactly_one(&sig, DSIG, "SignedInfo")?;
    let refs = children(&signed_info, DSIG, "Reference");
    let [reference] = refs.as_slice() else {
        return Err(SamlError::SignatureReference(
            "a signature must carry exactly one Reference".into(),
        ));
    };
    let uri = reference.get_attribute("URI").unwrap_or_default();
    let expected = format!("#{}", id_of(parent)?);
    if uri != expected {
        return Err(SamlError::SignatureReference(format!(
            "the {} signature references {uri:?}, not its own element",
            parent.get_name()
        )));
    }
    Ok(true)
}

/// Every ds:Signature of the document must be the direct child of the Response or of the
/// assertion; IDs must be unique.
fn check_signature_placement(root: &Node, assertion: &Node) -> Result<(), SamlError> {
    let mut sigs = Vec::new();
    descendants(root, DSIG, "Signature", &mut sigs);
    for s in &sigs {
        let parent = s.get_parent();
        let ok = parent.as_ref().is_some_and(|p| p == root || p == assertion);
        if !ok {
            return Err(SamlError::SignatureReference(
                "a signature sits outside the Response and the Assertion".into(),
            ));
        }
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut stack = vec![root.clone()];
    while let Some(n) = stack.pop() {
        if let Some(id) = n.get_attribute("ID")
            && !ids.insert(id)
        {
            return Err(SamlError::Malformed(
                "two elements carry the same ID".into(),
            ));
        }
        stack.extend(n.get_child_elements());
    }
    Ok(())
}

fn verify_and_reduce(xml: &str, certs: &[CertificateDer]) -> Result<Document, SamlError> {
    if certs.is_empty() {
        return Err(SamlError::Config(
            "no IdP signing certificate is known".into(),
        ));
    }
    let reduced = super::with_xmlsec(|| {
        Crypto::reduce_xml_to_signed_with_allowed_algorithms(
            xml,
            certs,
            ReduceMode::ValidateAndMarkNoAncestors,
            Some(ALLOWED_ALGORITHMS),
        )
    })
    .map_err(|_| SamlError::BadSignature)?;
    parse(reduced.as_bytes())
}

/// Validates a decoded SAML response (the XML, not base64).
pub fn verify_response(
    bytes: &[u8],
    exp: &Expectations<'_>,
) -> Result<VerifiedAssertion, SamlError> {
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(SamlError::TooLarge);
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| SamlError::Malformed("the response is not UTF-8".into()))?;
    let doc = parse(bytes)?;
    let response = root(&doc)?;
    if !xml::is(&response, PROTOCOL, "Response") {
        return Err(SamlError::Malformed(
            "the document is not a samlp:Response".into(),
        ));
    }
    let response_id = id_of(&response)?;
    if response.get_attribute("Version").as_deref() != Some("2.0") {
        return Err(SamlError::Malformed("Version is not 2.0".into()));
    }

    // Exactly one assertion in the whole document, directly under the Response.
    let mut found = Vec::new();
    descendants(&response, ASSERTION, "Assertion", &mut found);
    descendants(&response, ASSERTION, "EncryptedAssertion", &mut found);
    let [assertion] = found.as_slice() else {
        return Err(SamlError::AssertionCount(found.len()));
    };
    if assertion.get_parent().as_ref() != Some(&response) {
        return Err(SamlError::AssertionCount(found.len()));
    }
    let encrypted = xml::is(assertion, ASSERTION, "EncryptedAssertion");

    // Status and the envelope: read from the received document only to refuse.
    let status = exactly_one(&response, PROTOCOL, "Status")?;
    let code = exactly_one(&status, PROTOCOL, "StatusCode")?;
    let value = code.get_attribute("Value").unwrap_or_default();
    if value != SUCCESS {
        return Err(SamlError::Status(value));
    }
    if let Some(d) = response.get_attribute("Destination")
        && d != exp.acs_url
    {
        return Err(SamlError::Destination(d));
    }
    if let Some(issuer) = at_most_one(&response, ASSERTION, "Issuer")? {
        let issuer = whole_text(&issuer, "Issuer")?;
        if issuer != exp.idp_entity_id {
            return Err(SamlError::Issuer(issuer));
        }
    }

    check_signature_placement(&response, assertion)?;
    let response_signed = signature_of(&response)?;
    let plain_assertion_signed = if encrypted {
        false
    } else {
        signature_of(assertion)?
    };
    if !response_signed && !plain_assertion_signed && !encrypted {
        return Err(SamlError::Unsigned);
    }
    if response_signed && response.get_attribute("Destination").is_none() {
        return Err(SamlError::Destination("(missing)".into()));
    }
    let response_in_response_to = response.get_attribute("InResponseTo");

    // Comment injection, refused for what it is before the signature check (whose failure
    // on it would read as "signature does not verify"). Read only to refuse.
    refuse_split_text(assertion)?;

    // Verify and keep only what the signatures cover.
    let verified_doc = if response_signed || plain_assertion_signed {
        Some(verify_and_reduce(text, exp.idp_certificates)?)
    } else {
        None
    };
    let verified_root = verified_doc.as_ref().map(root).transpose()?;

    // The node the claims are read from: found again *in the verified tree* by its ID.
    let assertion_id_in_doc = assertion.get_attribute("ID");
    let verified_assertion_node: Option<Node> = match &verified_root {
        Some(r) if response_signed => {
            if !xml::is(r, PROTOCOL, "Response") || id_of(r)? != response_id {
                return Err(SamlError::SignatureReference(
                    "the verified element is not this Response".into(),
                ));
            }
            let mut inside = Vec::new();
            descendants(r, ASSERTION, "Assertion", &mut inside);
            descendants(r, ASSERTION, "EncryptedAssertion", &mut inside);
            match inside.as_slice() {
                [one] => Some(one.clone()),
                other => return Err(SamlError::AssertionCount(other.len())),
            }
        }
        Some(r) => {
            if !xml::is(r, ASSERTION, "Assertion") || Some(id_of(r)?) != assertion_id_in_doc {
                return Err(SamlError::SignatureReference(
                    "the verified element is not this Assertion".into(),
                ));
            }
            Some(r.clone())
        }
        None => None,
    };

    // Decrypt when needed; the plaintext assertion is then verified on its own.
    let (claims_doc, assertion_signed): (Document, bool) = if encrypted {
        let key = exp.decryption_key.ok_or_else(|| {
            SamlError::Decrypt("an encrypted assertion arrived but no SP key is set".into())
        })?;
        let source = verified_assertion_node.as_ref().unwrap_or(assertion);
        let plaintext = decrypt_assertion(source, key)?;
        let inner = parse(plaintext.as_bytes())?;
        let inner_root = root(&inner)?;
        if !xml::is(&inner_root, ASSERTION, "Assertion") {
            return Err(SamlError::Decrypt(
                "the plaintext is not an Assertion".into(),
            ));
        }
        let mut nested = Vec::new();
        descendants(&inner_root, ASSERTION, "Assertion", &mut nested);
        if nested.len() != 1 {
            return Err(SamlError::AssertionCount(nested.len()));
        }
        check_signature_placement(&inner_root, &inner_root)?;
        refuse_split_text(&inner_root)?;
        let signed = signature_of(&inner_root)?;
        if signed {
            let reduced = verify_and_reduce(&plaintext, exp.idp_certificates)?;
            let r = root(&reduced)?;
            if !xml::is(&r, ASSERTION, "Assertion") || id_of(&r)? != id_of(&inner_root)? {
                return Err(SamlError::SignatureReference(
                    "the verified element is not the decrypted Assertion".into(),
                ));
            }
            (reduced, true)
        } else if response_signed {
            (inner, false)
        } else {
            return Err(SamlError::Unsigned);
        }
    } else {
        let Some(doc) = verified_doc else {
            return Err(SamlError::Unsigned);
        };
        // For a signed Response the verified tree is the Response; the one assertion
        // inside it is found below.
        let _ = verified_assertion_node;
        (doc, plain_assertion_signed || !response_signed)
    };
    if exp.want_assertions_signed && !assertion_signed {
        return Err(SamlError::AssertionUnsigned);
    }
    let a = root(&claims_doc)?;
    let a = if xml::is(&a, ASSERTION, "Assertion") {
        a
    } else {
        // The verified Response kept as a whole (namespaces declared on it): find the one
        // assertion inside.
        let mut inside = Vec::new();
        descendants(&a, ASSERTION, "Assertion", &mut inside);
        match inside.as_slice() {
            [one] => one.clone(),
            other => return Err(SamlError::AssertionCount(other.len())),
        }
    };
    let mut verified = read_assertion(&a, exp)?;
    if let Some(r) = response_in_response_to
        && verified.in_response_to.as_deref() != Some(r.as_str())
    {
        return Err(SamlError::InResponseTo(
            "the Response and the Assertion answer different requests".into(),
        ));
    }
    verified.response_signed = response_signed;
    verified.assertion_signed = assertion_signed;
    verified.encrypted = encrypted;
    Ok(verified)
}

/// The elements of an assertion whose text Lanyard reads, each required to be one text node.
const TEXT_VALUES: &[&str] = &[
    "Issuer",
    "NameID",
    "Audience",
    "AuthnContextClassRef",
    "AttributeValue",
];

/// Refuses an assertion (received, not yet verified) in which a value Lanyard reads holds a
/// comment or markup besides its text ([`SamlError::SplitText`]).
fn refuse_split_text(assertion: &Node) -> Result<(), SamlError> {
    for &name in TEXT_VALUES {
        let mut found = Vec::new();
        descendants(assertion, ASSERTION, name, &mut found);
        for node in &found {
            // An AttributeValue of a complex type (a NameID inside) is refused by the
            // reader later with the same reason; here only comments and instructions count.
            let split = node.get_child_nodes().iter().any(|k| {
                matches!(
                    k.get_type(),
                    Some(libxml::tree::NodeType::CommentNode | libxml::tree::NodeType::PiNode)
                )
            });
            if split {
                return Err(SamlError::SplitText(name));
            }
        }
    }
    Ok(())
}

/// Reads and checks one verified Assertion element (saml-core §2.3.3, saml-profiles §4.1.4.2).
fn read_assertion(a: &Node, exp: &Expectations<'_>) -> Result<VerifiedAssertion, SamlError> {
    let id = id_of(a)?;
    if a.get_attribute("Version").as_deref() != Some("2.0") {
        return Err(SamlError::Malformed("Assertion Version is not 2.0".into()));
    }
    let issuer = whole_text(&exactly_one(a, ASSERTION, "Issuer")?, "Issuer")?;
    if issuer != exp.idp_entity_id {
        return Err(SamlError::Issuer(issuer));
    }
    let now = exp.now;
    let skew = exp.clock_skew;

    // Subject and its bearer confirmation.
    let subject = exactly_one(a, ASSERTION, "Subject")?;
    let name_id_node = exactly_one(&subject, ASSERTION, "NameID")?;
    let name_id = whole_text(&name_id_node, "NameID")?;
    if name_id.is_empty() || name_id.len() > 512 || name_id.chars().any(char::is_control) {
        return Err(SamlError::Malformed(
            "the NameID is empty or not printable".into(),
        ));
    }
    let name_id_format = name_id_node.get_attribute("Format");
    let mut first_error = None;
    let mut confirmed: Option<(Option<String>, UnixTime)> = None;
    for sc in children(&subject, ASSERTION, "SubjectConfirmation") {
        if sc.get_attribute("Method").as_deref() != Some(BEARER) {
            continue;
        }
        let Some(data) = at_most_one(&sc, ASSERTION, "SubjectConfirmationData")? else {
            first_error.get_or_insert(SamlError::Malformed(
                "a bearer SubjectConfirmation has no SubjectConfirmationData".into(),
            ));
            continue;
        };
        let recipient = data.get_attribute("Recipient").unwrap_or_default();
        if recipient != exp.acs_url {
            first_error.get_or_insert(SamlError::Recipient(recipient));
            continue;
        }
        let Some(not_on_or_after) = time_attr(&data, "NotOnOrAfter")? else {
            first_error.get_or_insert(SamlError::Malformed(
                "SubjectConfirmationData has no NotOnOrAfter".into(),
            ));
            continue;
        };
        if now >= not_on_or_after + skew {
            first_error.get_or_insert(SamlError::Expired(xml::format_time(not_on_or_after)));
            continue;
        }
        if let Some(nb) = time_attr(&data, "NotBefore")?
            && now + skew < nb
        {
            first_error.get_or_insert(SamlError::NotYetValid(xml::format_time(nb)));
            continue;
        }
        confirmed = Some((data.get_attribute("InResponseTo"), not_on_or_after));
        break;
    }
    let Some((in_response_to, scd_until)) = confirmed else {
        return Err(first_error
            .unwrap_or_else(|| SamlError::Malformed("no bearer SubjectConfirmation".into())));
    };

    // Conditions: time window and audience.
    let conditions = exactly_one(a, ASSERTION, "Conditions")?;
    let mut valid_until = scd_until;
    if let Some(nb) = time_attr(&conditions, "NotBefore")?
        && now + skew < nb
    {
        return Err(SamlError::NotYetValid(xml::format_time(nb)));
    }
    if let Some(noa) = time_attr(&conditions, "NotOnOrAfter")? {
        if now >= noa + skew {
            return Err(SamlError::Expired(xml::format_time(noa)));
        }
        valid_until = valid_until.min(noa);
    }
    let restrictions = children(&conditions, ASSERTION, "AudienceRestriction");
    if restrictions.is_empty() {
        return Err(SamlError::Audience("(no AudienceRestriction)".into()));
    }
    for r in &restrictions {
        let mut audiences = Vec::new();
        for aud in children(r, ASSERTION, "Audience") {
            audiences.push(whole_text(&aud, "Audience")?);
        }
        if !audiences.iter().any(|x| x == exp.sp_entity_id) {
            return Err(SamlError::Audience(audiences.join(", ")));
        }
    }
    if let Some(issue_instant) = time_attr(a, "IssueInstant")?
        && issue_instant > now + skew
    {
        return Err(SamlError::NotYetValid(xml::format_time(issue_instant)));
    }

    // Authentication statement.
    let mut authn_instant = None;
    let mut authn_context = None;
    let statements = children(a, ASSERTION, "AuthnStatement");
    if statements.is_empty() {
        return Err(SamlError::Malformed(
            "the assertion has no AuthnStatement".into(),
        ));
    }
    for s in &statements {
        if let Some(end) = time_attr(s, "SessionNotOnOrAfter")?
            && now >= end + skew
        {
            return Err(SamlError::Expired(xml::format_time(end)));
        }
        if authn_instant.is_none() {
            authn_instant = time_attr(s, "AuthnInstant")?;
        }
        if let Some(ctx) = at_most_one(s, ASSERTION, "AuthnContext")?
            && let Some(class) = at_most_one(&ctx, ASSERTION, "AuthnContextClassRef")?
            && authn_context.is_none()
        {
            authn_context = Some(whole_text(&class, "AuthnContextClassRef")?);
        }
    }

    // Attributes.
    let mut attributes = Vec::new();
    for st in children(a, ASSERTION, "AttributeStatement") {
        for at in children(&st, ASSERTION, "Attribute") {
            let name = attr(&at, "Name")?;
            let mut values = Vec::new();
            for v in children(&at, ASSERTION, "AttributeValue") {
                let text = whole_text(&v, "AttributeValue")?;
                if !text.is_empty() {
                    values.push(text);
                }
            }
            attributes.push(SamlAttribute {
                name,
                friendly_name: at.get_attribute("FriendlyName"),
                values,
            });
        }
    }
    Ok(VerifiedAssertion {
        id,
        name_id,
        name_id_format,
        in_response_to,
        valid_until: valid_until + skew,
        authn_instant,
        authn_context,
        attributes,
        response_signed: false,
        assertion_signed: false,
        encrypted: false,
    })
}

/// The EncryptedData element of an EncryptedAssertion.
pub(super) fn encrypted_data(node: &Node) -> Result<Node, SamlError> {
    exactly_one(node, XENC, "EncryptedData")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtd_is_refused_before_parsing() {
        assert!(refuse_dtd(b"<a><!-- c --><![CDATA[x]]></a>").is_ok());
        for bad in [
            &b"<!DOCTYPE r [<!ENTITY x \"y\">]><r/>"[..],
            b"<r><!ENTITY x SYSTEM \"file:///etc/passwd\"></r>",
            b"<!doctype r><r/>",
        ] {
            assert!(matches!(refuse_dtd(bad), Err(SamlError::Dtd)));
        }
    }
}
