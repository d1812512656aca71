//! Validation of a SAML `Response` received at the ACS (saml-core §3.2.2, saml-profiles
//! §4.1.4.3 Web Browser SSO processing rules), failing closed at every step.
//!
//! Order of work (one libxml parse of the received document, one verification, one
//! `roxmltree` parse of the signed bytes):
//! 1. size limit; DOCTYPE and entity declarations refused before any parser sees the bytes;
//! 2. the structure of the *received* document: root `samlp:Response`, exactly one
//!    `Assertion` or `EncryptedAssertion` in the whole document and directly under the root,
//!    signatures only as a direct child of the Response or of the Assertion, IDs unique;
//! 3. each signature pinned to one shape ([`signature_of`]): `SignedInfo`, `SignatureValue`
//!    and an optional `KeyInfo` only; SHA-2 signature and digest methods; exactly one
//!    `Reference`, to `#` + the ID of its parent; as transforms enveloped-signature and at
//!    most one canonicalization without comments (no XPath, XSLT or other transform that
//!    could make it cover less than the element) — so what it covers is its parent element
//!    whole, minus the signature itself;
//! 4. no comment or markup inside the text of a value Lanyard reads (refused with its own
//!    reason: the canonical form drops comments, so the signature would still verify);
//! 5. every signature verified by xmlsec (through samael's public API) against the IdP's
//!    certificates — a key in `KeyInfo` is never trusted — with xmlsec reporting the
//!    reference as succeeded; what is kept is xmlsec's pre-digest data, the canonical bytes
//!    it hashed for that reference (samael's `ReduceMode::PreDigest`; no pruning and no
//!    re-serialization of the document);
//! 6. claims read **only from those signed bytes**, whose root must be the referenced
//!    element (same name, same ID) — an element that was not signed cannot be read (the
//!    defence against XML Signature Wrapping). They are canonical XML, read with
//!    `roxmltree` ([`super::canonical`]): no DTD, no comments, well-formed by construction,
//!    and an attribute that libxml2 and `roxmltree` could read differently is refused;
//! 7. `EncryptedAssertion` decrypted with the SP key (taken from the signed bytes when the
//!    Response is signed), then its assertion checked and verified in the same way;
//! 8. Issuer, Audience, Destination/Recipient, status, time windows with the clock skew.
//!
//! Verification runs on samael's own parse of the same bytes rather than on Lanyard's tree:
//! samael keeps its xmlsec wrapper private and Lanyard has no `unsafe`. Reading the hashed
//! bytes instead of a node of Lanyard's tree leaves no room for the two parses to differ.
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
use super::canonical;
use super::decrypt::decrypt_assertion;
use super::xml::{
    self, ASSERTION, DSIG, PROTOCOL, XENC, at_most_one, attr, children, descendants, exactly_one,
    whole_text,
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

/// Refuses a document that is not UTF-8 or declares another encoding, so that libxml2's
/// detection (a missing or UTF-8 declaration, an optional UTF-8 byte-order mark) can only
/// find UTF-8. The encoding is not named to the parser: the `libxml` crate (0.3) hands
/// libxml2 a pointer to a name it has already freed, and libxml2 then read the encoding's
/// name from freed memory — under concurrent sign-ins it once decoded a response with
/// another character set (`@` read as `Á`).
pub(crate) fn utf8_only(bytes: &[u8]) -> Result<(), SamlError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| SamlError::Malformed("the document is not UTF-8".into()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(declaration) = text
        .strip_prefix("<?xml")
        .and_then(|rest| rest.split_once("?>"))
        .map(|(declaration, _)| declaration)
    else {
        return Ok(());
    };
    let Some((_, after)) = declaration.split_once("encoding") else {
        return Ok(());
    };
    let value = after
        .trim_start()
        .strip_prefix('=')
        .map(str::trim_start)
        .and_then(|v| {
            let quote = v.chars().next().filter(|q| *q == '"' || *q == '\'')?;
            v[1..].split_once(quote).map(|(name, _)| name)
        })
        .ok_or_else(|| {
            SamlError::Malformed("the XML declaration's encoding is malformed".into())
        })?;
    if value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8") {
        Ok(())
    } else {
        Err(SamlError::Malformed(format!(
            "the document declares the encoding \"{}\"; only UTF-8 is accepted",
            value.chars().take(40).collect::<String>()
        )))
    }
}

/// Parses SAML XML hardened: DOCTYPE and entity declarations refused first
/// ([`refuse_dtd`]), then libxml2 without network access, default DTD or recovery.
pub(crate) fn parse(bytes: &[u8]) -> Result<Document, SamlError> {
    refuse_dtd(bytes)?;
    utf8_only(bytes)?;
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
        // Not named (see `utf8_only`): detection finds UTF-8, the only encoding let in.
        encoding: None,
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

/// The enveloped-signature transform (XML-DSig 1.0 §6.6.4).
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// Exclusive XML Canonicalization 1.0, without comments.
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Canonicalizations accepted, as `SignedInfo`'s method and as the reference's last
/// transform: exclusive c14n, inclusive c14n 1.0 and 1.1, all without comments.
const CANONICALIZATIONS: &[&str] = &[
    EXC_C14N,
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/2006/12/xml-c14n11",
];

/// The `Algorithm` of `node`, required to be one of `accepted`; `what` names it in the error.
fn pinned_algorithm(
    node: &Node,
    accepted: &[&str],
    what: &'static str,
) -> Result<String, SamlError> {
    let alg = node.get_attribute("Algorithm").unwrap_or_default();
    if !accepted.contains(&alg.as_str()) {
        return Err(SamlError::SignatureAlgorithm(format!("{what} {alg:?}")));
    }
    // Only exclusive c14n takes a parameter (its InclusiveNamespaces prefix list); any
    // other child (an XPath expression, a stylesheet) is refused.
    for child in node.get_child_elements() {
        let prefix_list = alg == EXC_C14N && xml::is(&child, EXC_C14N, "InclusiveNamespaces");
        if !prefix_list {
            return Err(SamlError::SignatureAlgorithm(format!(
                "{what} {alg:?} with a {} parameter",
                child.get_name()
            )));
        }
    }
    Ok(alg)
}

/// Checks where signatures sit and what they reference; returns whether `parent` is signed.
///
/// A signature is accepted only in the one shape that lets it stand for its parent element
/// as a whole (XML-DSig 1.0 §4; saml-core §5.4): `SignedInfo`, `SignatureValue`, an
/// optional `KeyInfo` (never trusted: the key is always one of the IdP's certificates) and
/// nothing else; SHA-2 signature and digest methods ([`ALLOWED_ALGORITHMS`]); exactly one
/// `Reference`, whose URI is `#` + the parent's ID; and as its transforms the
/// enveloped-signature transform, optionally followed by one canonicalization without
/// comments. An XPath or XSLT transform (which can make a signature cover less than the
/// element) or a second reference is refused, so the canonical bytes xmlsec digests are the
/// whole parent element minus its own signature.
fn signature_of(parent: &Node) -> Result<bool, SamlError> {
    let Some(sig) = at_most_one(parent, DSIG, "Signature")? else {
        return Ok(false);
    };
    let parts: Vec<String> = sig
        .get_child_elements()
        .iter()
        .map(|p| {
            if p.get_namespace().is_some_and(|n| n.get_href() == DSIG) {
                p.get_name()
            } else {
                format!("(foreign) {}", p.get_name())
            }
        })
        .collect();
    if parts != ["SignedInfo", "SignatureValue"]
        && parts != ["SignedInfo", "SignatureValue", "KeyInfo"]
    {
        return Err(SamlError::SignatureReference(format!(
            "the {} signature holds {parts:?}, not SignedInfo, SignatureValue and KeyInfo",
            parent.get_name()
        )));
    }
    let signed_info = exactly_one(&sig, DSIG, "SignedInfo")?;
    let signature_methods: Vec<&str> = ALLOWED_ALGORITHMS
        .iter()
        .map(AllowedSignatureAlgorithm::signature_uri)
        .collect();
    let digest_methods: Vec<&str> = ALLOWED_ALGORITHMS
        .iter()
        .map(AllowedSignatureAlgorithm::digest_uri)
        .collect();
    pinned_algorithm(
        &exactly_one(&signed_info, DSIG, "CanonicalizationMethod")?,
        CANONICALIZATIONS,
        "CanonicalizationMethod",
    )?;
    pinned_algorithm(
        &exactly_one(&signed_info, DSIG, "SignatureMethod")?,
        &signature_methods,
        "SignatureMethod",
    )?;
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
    let transforms = exactly_one(reference, DSIG, "Transforms")?;
    let steps = transforms.get_child_elements();
    let (enveloped, c14n) = match steps.as_slice() {
        [e] => (e, None),
        [e, c] => (e, Some(c)),
        _ => {
            return Err(SamlError::SignatureAlgorithm(format!(
                "the {} signature has {} transforms, not enveloped-signature and at most one \
                 canonicalization",
                parent.get_name(),
                steps.len()
            )));
        }
    };
    if !steps.iter().all(|t| xml::is(t, DSIG, "Transform")) {
        return Err(SamlError::SignatureAlgorithm(
            "Transforms holds an element other than Transform".into(),
        ));
    }
    pinned_algorithm(enveloped, &[ENVELOPED], "first Transform")?;
    if let Some(c) = c14n {
        pinned_algorithm(c, CANONICALIZATIONS, "second Transform")?;
    }
    pinned_algorithm(
        &exactly_one(reference, DSIG, "DigestMethod")?,
        &digest_methods,
        "DigestMethod",
    )?;
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

/// Verifies every signature of `xml` with xmlsec (through samael) against the IdP's
/// certificates, SHA-2 only, and returns the canonical bytes the verified reference
/// covers — xmlsec's pre-digest data, exactly what was hashed. For a document whose
/// Response and Assertion are both signed, both signatures are verified and the Response's
/// bytes are returned. The caller reads them with [`signed_root`] only.
fn verify_signed(xml: &str, certs: &[CertificateDer]) -> Result<String, SamlError> {
    if certs.is_empty() {
        return Err(SamlError::Config(
            "no IdP signing certificate is known".into(),
        ));
    }
    super::with_xmlsec(|| {
        Crypto::reduce_xml_to_signed_with_allowed_algorithms(
            xml,
            certs,
            ReduceMode::PreDigest,
            Some(ALLOWED_ALGORITHMS),
        )
    })
    .map_err(|_| SamlError::BadSignature)
}

/// The root of the signed bytes, required to be the element `{ns}name` with the ID `id`:
/// the one the pinned signature ([`signature_of`]) references.
fn signed_root<'a, 'input>(
    doc: &'a roxmltree::Document<'input>,
    ns: &str,
    name: &str,
    id: &str,
) -> Result<roxmltree::Node<'a, 'input>, SamlError> {
    let r = doc.root_element();
    if !canonical::is(&r, ns, name) || canonical::id(&r)? != id {
        return Err(SamlError::SignatureReference(format!(
            "the verified element is not this {name}"
        )));
    }
    Ok(r)
}

/// The one Assertion or EncryptedAssertion directly under a (verified) Response.
fn only_assertion<'a, 'input>(
    response: roxmltree::Node<'a, 'input>,
) -> Result<roxmltree::Node<'a, 'input>, SamlError> {
    let found: Vec<_> = response
        .descendants()
        .filter(|n| {
            canonical::is(n, ASSERTION, "Assertion")
                || canonical::is(n, ASSERTION, "EncryptedAssertion")
        })
        .collect();
    match found.as_slice() {
        [one] if one.parent() == Some(response) => Ok(*one),
        other => Err(SamlError::AssertionCount(other.len())),
    }
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

    // Verify; from here on, claims are read only from the canonical bytes the verified
    // signature covers (the defence against XML Signature Wrapping).
    let target = if response_signed {
        Some((PROTOCOL, "Response", response_id))
    } else if plain_assertion_signed {
        Some((ASSERTION, "Assertion", id_of(assertion)?))
    } else {
        None
    };
    let signed_text = match &target {
        Some(_) => Some(verify_signed(text, exp.idp_certificates)?),
        None => None,
    };
    let signed_doc = signed_text.as_deref().map(canonical::parse).transpose()?;
    let signed_top = match (&signed_doc, &target) {
        (Some(doc), Some((ns, name, id))) => Some(signed_root(doc, ns, name, id)?),
        _ => None,
    };
    // The assertion as the signature covers it: inside the signed Response, or the signed
    // Assertion itself. `None` only for an encrypted assertion in an unsigned Response.
    let signed_assertion = match signed_top {
        Some(r) if response_signed => Some(only_assertion(r)?),
        other => other,
    };

    // Decrypt when needed; the plaintext assertion is then verified on its own.
    let received: roxmltree::Document;
    let plaintext: String;
    let inner_text: String;
    let inner_doc: roxmltree::Document;
    let (claims, assertion_signed) = if encrypted {
        let key = exp.decryption_key.ok_or_else(|| {
            SamlError::Decrypt("an encrypted assertion arrived but no SP key is set".into())
        })?;
        // In an unsigned Response the EncryptedAssertion is the received one: what it
        // decrypts to must carry its own signature, checked below.
        let source = match signed_assertion {
            Some(a) => a,
            None => {
                received = canonical::parse(text)?;
                only_assertion(received.root_element())?
            }
        };
        if !canonical::is(&source, ASSERTION, "EncryptedAssertion") {
            return Err(SamlError::AssertionCount(0));
        }
        plaintext = decrypt_assertion(source, key)?;
        let plain = parse(plaintext.as_bytes())?;
        let inner_root = root(&plain)?;
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
        if signature_of(&inner_root)? {
            let inner_id = id_of(&inner_root)?;
            inner_text = verify_signed(&plaintext, exp.idp_certificates)?;
            inner_doc = canonical::parse(&inner_text)?;
            (
                signed_root(&inner_doc, ASSERTION, "Assertion", &inner_id)?,
                true,
            )
        } else if response_signed {
            // The ciphertext was signed; its plaintext is read as decrypted.
            inner_doc = canonical::parse(&plaintext)?;
            let a = inner_doc.root_element();
            if !canonical::is(&a, ASSERTION, "Assertion") {
                return Err(SamlError::Decrypt(
                    "the plaintext is not an Assertion".into(),
                ));
            }
            (a, false)
        } else {
            return Err(SamlError::Unsigned);
        }
    } else {
        let Some(a) = signed_assertion else {
            return Err(SamlError::Unsigned);
        };
        if !canonical::is(&a, ASSERTION, "Assertion") {
            return Err(SamlError::AssertionCount(0));
        }
        (a, plain_assertion_signed)
    };
    if exp.want_assertions_signed && !assertion_signed {
        return Err(SamlError::AssertionUnsigned);
    }
    let mut verified = read_assertion(claims, exp)?;
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
    // One walk over the assertion (not one per name).
    let mut stack = vec![assertion.clone()];
    while let Some(node) = stack.pop() {
        let kids = node.get_child_nodes();
        let value = node
            .get_namespace()
            .is_some_and(|n| n.get_href() == ASSERTION);
        let name = node.get_name();
        if let Some(&name) = TEXT_VALUES.iter().find(|&&v| value && v == name) {
            // An AttributeValue of a complex type (a NameID inside) is refused by the
            // reader later with the same reason; here only comments and instructions count.
            let split = kids.iter().any(|k| {
                matches!(
                    k.get_type(),
                    Some(libxml::tree::NodeType::CommentNode | libxml::tree::NodeType::PiNode)
                )
            });
            if split {
                return Err(SamlError::SplitText(name));
            }
        }
        stack.extend(
            kids.into_iter()
                .filter(|k| k.get_type() == Some(libxml::tree::NodeType::ElementNode)),
        );
    }
    Ok(())
}

/// Reads and checks one verified Assertion element (saml-core §2.3.3, saml-profiles §4.1.4.2).
fn read_assertion(
    a: roxmltree::Node<'_, '_>,
    exp: &Expectations<'_>,
) -> Result<VerifiedAssertion, SamlError> {
    use canonical::{at_most_one, attribute, children, exactly_one, time_attr, whole_text};

    let id = canonical::id(&a)?.to_owned();
    if attribute(&a, "Version")? != Some("2.0") {
        return Err(SamlError::Malformed("Assertion Version is not 2.0".into()));
    }
    let issuer = whole_text(&exactly_one(&a, ASSERTION, "Issuer")?, "Issuer")?;
    if issuer != exp.idp_entity_id {
        return Err(SamlError::Issuer(issuer));
    }
    let now = exp.now;
    let skew = exp.clock_skew;

    // Subject and its bearer confirmation.
    let subject = exactly_one(&a, ASSERTION, "Subject")?;
    let name_id_node = exactly_one(&subject, ASSERTION, "NameID")?;
    let name_id = whole_text(&name_id_node, "NameID")?;
    if name_id.is_empty() || name_id.len() > 512 || name_id.chars().any(char::is_control) {
        return Err(SamlError::Malformed(
            "the NameID is empty or not printable".into(),
        ));
    }
    let name_id_format = attribute(&name_id_node, "Format")?.map(str::to_owned);
    let mut first_error = None;
    let mut confirmed: Option<(Option<String>, UnixTime)> = None;
    for sc in children(&subject, ASSERTION, "SubjectConfirmation") {
        if attribute(&sc, "Method")? != Some(BEARER) {
            continue;
        }
        let Some(data) = at_most_one(&sc, ASSERTION, "SubjectConfirmationData")? else {
            first_error.get_or_insert(SamlError::Malformed(
                "a bearer SubjectConfirmation has no SubjectConfirmationData".into(),
            ));
            continue;
        };
        let recipient = attribute(&data, "Recipient")?.unwrap_or_default();
        if recipient != exp.acs_url {
            first_error.get_or_insert(SamlError::Recipient(recipient.to_owned()));
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
        confirmed = Some((
            attribute(&data, "InResponseTo")?.map(str::to_owned),
            not_on_or_after,
        ));
        break;
    }
    let Some((in_response_to, scd_until)) = confirmed else {
        return Err(first_error
            .unwrap_or_else(|| SamlError::Malformed("no bearer SubjectConfirmation".into())));
    };

    // Conditions: time window and audience.
    let conditions = exactly_one(&a, ASSERTION, "Conditions")?;
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
    if let Some(issue_instant) = time_attr(&a, "IssueInstant")?
        && issue_instant > now + skew
    {
        return Err(SamlError::NotYetValid(xml::format_time(issue_instant)));
    }

    // Authentication statement.
    let mut authn_instant = None;
    let mut authn_context = None;
    let statements = children(&a, ASSERTION, "AuthnStatement");
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
    for st in children(&a, ASSERTION, "AttributeStatement") {
        for at in children(&st, ASSERTION, "Attribute") {
            let name = canonical::required(&at, "Name")?.to_owned();
            let mut values = Vec::new();
            for v in children(&at, ASSERTION, "AttributeValue") {
                let text = whole_text(&v, "AttributeValue")?;
                if !text.is_empty() {
                    values.push(text);
                }
            }
            attributes.push(SamlAttribute {
                name,
                friendly_name: attribute(&at, "FriendlyName")?.map(str::to_owned),
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
pub(super) fn encrypted_data<'a, 'input>(
    node: &roxmltree::Node<'a, 'input>,
) -> Result<roxmltree::Node<'a, 'input>, SamlError> {
    canonical::exactly_one(node, XENC, "EncryptedData")
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

    #[test]
    fn only_utf8_documents_are_parsed() {
        for good in [
            "<a>alice@example.com</a>",
            "<?xml version='1.0' encoding='UTF-8'?><a>alice@example.com</a>",
            "<?xml version=\"1.0\" encoding = \"utf-8\" ?><a>alice@example.com</a>",
            "<?xml version=\"1.0\"?><a>alice@example.com</a>",
            "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>alice@example.com</a>",
        ] {
            let doc = parse(good.as_bytes()).unwrap();
            let root = doc.get_root_element().unwrap();
            assert_eq!(root.get_content(), "alice@example.com", "{good}");
        }
        for bad in [
            &b"<?xml version='1.0' encoding='ISO-8859-1'?><a>x</a>"[..],
            b"<?xml version='1.0' encoding='ISO-646-HU'?><a>alice@example.com</a>",
            b"<?xml version='1.0' encoding=UTF-8?><a>x</a>",
            b"<a>caf\xe9</a>",
            b"\xff\xfe<\x00a\x00/\x00>\x00",
        ] {
            assert!(
                matches!(parse(bad), Err(SamlError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn concurrent_parses_read_the_same_text() {
        // The encoding's name was once read from freed memory, and a parse on one thread
        // while others allocated decoded `@` as `Á`: parses on many threads read UTF-8.
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..300 {
                        let doc = parse(
                            b"<?xml version='1.0' encoding='UTF-8'?><a>alice@example.com</a>",
                        )
                        .unwrap();
                        let text = doc.get_root_element().unwrap().get_content();
                        assert_eq!(text, "alice@example.com");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
