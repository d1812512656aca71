//! Validation of a SAML `Response` received at the ACS (saml-core §3.2.2, saml-profiles
//! §4.1.4.3 Web Browser SSO processing rules), failing closed at every step.
//!
//! Order of work (one `roxmltree` parse of the received document for the checks, one
//! verification — samael's own libxml2 parse — and one `roxmltree` parse of the signed
//! bytes):
//! 1. size limit; DOCTYPE and entity declarations refused before any parser sees the bytes;
//!    only UTF-8 and XML 1.0 ([`parse_received`]);
//! 2. the structure of the *received* document, found in one walk ([`survey`]): root
//!    `samlp:Response`, exactly one `Assertion` or `EncryptedAssertion` in the whole
//!    document and directly under the root, signatures only as a direct child of the
//!    Response or of the Assertion, IDs unique, nesting bounded — and refused, whatever
//!    could read differently in `roxmltree` and in libxml2, which xmlsec verifies on (a
//!    namespaced twin of an attribute read namespace-blind, `xml:id`, `xml:base`);
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
//! bytes instead of a node of Lanyard's tree leaves no room for the two parses to differ in
//! the claims; for the structure checks, which do run on Lanyard's parse, every difference
//! known between the two parsers is refused (see [`survey`] and the tests).
//!
//! InResponseTo and assertion-ID replay need the session store; they are checked by the
//! caller with the values returned in [`VerifiedAssertion`].

use libxml::parser::{Parser, ParserOptions};
use libxml::tree::Document;
use openssl::pkey::{PKey, Private};
use samael::crypto::{
    AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode,
};

use std::time::Duration;

use super::SamlError;
use super::canonical;
use super::decrypt::decrypt_assertion;
use super::xml::{self, ASSERTION, DSIG, PROTOCOL, XENC};
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
/// another character set (`@` read as `Á`). `roxmltree` reads `&str` and ignores the
/// declaration, so this is also what keeps its reading and libxml2's on the same characters.
///
/// A declared XML version other than 1.0 is refused too: neither parser implements XML 1.1
/// (its other line ends and control characters), and each treats the version differently.
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
    if let Some(version) = pseudo_attribute(declaration, "version")?
        && version != "1.0"
    {
        return Err(SamlError::Malformed(format!(
            "the document declares XML version \"{}\"; only 1.0 is accepted",
            version.chars().take(10).collect::<String>()
        )));
    }
    let Some(value) = pseudo_attribute(declaration, "encoding")? else {
        return Ok(());
    };
    if value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8") {
        Ok(())
    } else {
        Err(SamlError::Malformed(format!(
            "the document declares the encoding \"{}\"; only UTF-8 is accepted",
            value.chars().take(40).collect::<String>()
        )))
    }
}

/// The value of the pseudo-attribute `name` of an XML declaration (the text between
/// `<?xml` and `?>`); `None` when absent, an error when it has no quoted value.
fn pseudo_attribute<'a>(declaration: &'a str, name: &str) -> Result<Option<&'a str>, SamlError> {
    let Some((_, after)) = declaration.split_once(name) else {
        return Ok(None);
    };
    after
        .trim_start()
        .strip_prefix('=')
        .map(str::trim_start)
        .and_then(|v| {
            let quote = v.chars().next().filter(|q| *q == '"' || *q == '\'')?;
            v[1..].split_once(quote).map(|(value, _)| value)
        })
        .map(Some)
        .ok_or_else(|| SamlError::Malformed(format!("the XML declaration's {name} is malformed")))
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

/// The most nodes (elements, text, comments, instructions) a received document may hold.
/// The size bound already limits them; this makes the parser stop early on a flood of
/// empty elements.
const MAX_NODES: u32 = 1 << 16;

/// The deepest element nesting accepted in a received document. A SAML response nests about
/// ten deep (an encrypted assertion's key a little more); libxml2, which samael verifies
/// with, stops at 256, and samael walks its tree recursively.
pub(crate) const MAX_DEPTH: usize = 64;

/// The XML namespace (`xml:` prefix).
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Attribute names read with a namespace-blind lookup on the received document: by
/// libxml2's `xmlGetProp`/`xmlHasProp` (samael's ID registration reads `ID` so, xmlsec
/// its `Id`, `URI`, `Algorithm`, `Type` and `PrefixList`) and, before this reading moved to
/// `roxmltree`, by Lanyard's own structure checks (`Version`, `Destination`,
/// `InResponseTo`, the status `Value`). An attribute of one of these names in a namespace
/// is refused wherever it appears ([`survey`]): `roxmltree` tells `x:ID` from `ID`, libxml2
/// does not, so the two readings could disagree.
const READ_BLIND: &[&str] = &[
    "ID",
    "Id",
    "URI",
    "Algorithm",
    "Type",
    "PrefixList",
    "Version",
    "Destination",
    "InResponseTo",
    "Value",
];

/// Parses a received document — the posted response, or a decrypted assertion — for the
/// structure checks, with `roxmltree` (pure Rust, no `unsafe`): DOCTYPE and entity
/// declarations refused first ([`refuse_dtd`]), only UTF-8 and XML 1.0 ([`utf8_only`]),
/// at most [`MAX_NODES`] nodes, none of the constructs of [`refuse_parser_splits`].
/// `roxmltree` refuses what is not namespace-well-formed (an
/// undeclared prefix, which libxml2 only warns about), so a document either parser would
/// read differently for that reason is refused here.
pub(crate) fn parse_received(text: &str) -> Result<roxmltree::Document<'_>, SamlError> {
    refuse_dtd(text.as_bytes())?;
    utf8_only(text.as_bytes())?;
    refuse_parser_splits(text)?;
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(text, options)
        .map_err(|_| SamlError::Malformed("not well-formed XML".into()))
}

/// Refuses two constructs that are not well-formed, that `roxmltree` reads anyway and that
/// libxml2 (as samael runs it, recovering from errors) reads otherwise:
/// - a character reference to a code point that is no XML character (`&#xD800;`):
///   `roxmltree` reads U+FFFD, libxml2 drops it;
/// - a prefix bound to the empty name (`xmlns:p=""`, allowed in XML 1.1 only): `roxmltree`
///   unbinds `p`, libxml2 ignores the declaration and keeps the outer binding of `p`.
///
/// A scan of the text (so `&#` or `xmlns:` inside a comment counts too: refused the same).
fn refuse_parser_splits(text: &str) -> Result<(), SamlError> {
    for (at, _) in text.match_indices("&#") {
        let rest = &text[at + 2..];
        let (digits, radix) = match rest.strip_prefix('x') {
            Some(hex) => (hex, 16),
            None => (rest, 10),
        };
        let value = digits
            .split_once(';')
            .filter(|(d, _)| d.len() <= 8)
            .and_then(|(d, _)| u32::from_str_radix(d, radix).ok());
        let xml_char = value.is_some_and(|c| {
            matches!(c, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x1_0000..=0x10_FFFF)
        });
        if !xml_char {
            return Err(SamlError::Malformed(
                "a character reference names no XML character".into(),
            ));
        }
    }
    for (at, _) in text.match_indices("xmlns:") {
        let rest = text[at + 6..]
            .trim_start_matches(|c: char| !c.is_whitespace() && c != '=')
            .trim_start();
        let Some(value) = rest.strip_prefix('=').map(str::trim_start) else {
            continue;
        };
        if value.starts_with("\"\"") || value.starts_with("''") {
            return Err(SamlError::Malformed(
                "a namespace prefix is bound to the empty name".into(),
            ));
        }
    }
    Ok(())
}

/// What one walk over a received tree found: the facts the structure checks need.
struct Survey<'a, 'input> {
    /// Every `Assertion` and `EncryptedAssertion`, in document order.
    assertions: Vec<roxmltree::Node<'a, 'input>>,
    /// The parent of every `ds:Signature`.
    signature_parents: Vec<Option<roxmltree::Node<'a, 'input>>>,
    /// Whether two elements carry the same ID (`ID` or `Id`: one table in libxml2).
    duplicate_id: bool,
    /// Each value Lanyard reads ([`TEXT_VALUES`]) that holds a comment or an instruction.
    split_text: Vec<(roxmltree::Node<'a, 'input>, &'static str)>,
}

/// Walks the received tree under `root` once, refusing on the spot what the two parsers
/// (this `roxmltree` reading and samael's libxml2 one) could read differently:
/// - nesting deeper than [`MAX_DEPTH`];
/// - an attribute of a [`READ_BLIND`] name in a namespace, and any namespaced attribute
///   inside a `ds:Signature` (xmlsec reads its attributes namespace-blind);
/// - `xml:id` (libxml2 adds it to the document's ID table while parsing, where a reference
///   could find it) and `xml:base` (nothing in SAML uses it; c14n 1.1 rewrites it).
///
/// and collecting the rest for the checks to refuse in their order ([`Survey`]).
fn survey<'a, 'input>(root: roxmltree::Node<'a, 'input>) -> Result<Survey<'a, 'input>, SamlError> {
    let mut found = Survey {
        assertions: Vec::new(),
        signature_parents: Vec::new(),
        duplicate_id: false,
        split_text: Vec::new(),
    };
    let mut ids = std::collections::HashSet::new();
    // Pre-order over the elements without recursion: down to the first child, else on to
    // the next sibling of the nearest ancestor that has one.
    let mut node = root;
    let mut depth = 1usize;
    // The depth of the ds:Signature being walked through, if any.
    let mut signature_depth: Option<usize> = None;
    'walk: loop {
        if depth > MAX_DEPTH {
            return Err(SamlError::Malformed(format!(
                "elements nest deeper than {MAX_DEPTH}"
            )));
        }
        if signature_depth.is_some_and(|d| depth <= d) {
            signature_depth = None;
        }
        if signature_depth.is_none() && canonical::is(&node, DSIG, "Signature") {
            signature_depth = Some(depth);
            found.signature_parents.push(node.parent_element());
        }
        visit(node, signature_depth.is_some(), &mut ids, &mut found)?;
        if let Some(child) = node.first_element_child() {
            node = child;
            depth += 1;
            continue;
        }
        loop {
            if node == root {
                break 'walk;
            }
            if let Some(next) = node.next_sibling_element() {
                node = next;
                continue 'walk;
            }
            match node.parent_element() {
                Some(parent) => {
                    node = parent;
                    depth -= 1;
                }
                None => break 'walk,
            }
        }
    }
    Ok(found)
}

/// [`survey`]'s look at one element; `in_signature` when it is a ds:Signature or inside one.
fn visit<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    in_signature: bool,
    ids: &mut std::collections::HashSet<&'a str>,
    found: &mut Survey<'a, 'input>,
) -> Result<(), SamlError> {
    let name = node.tag_name();
    for a in node.attributes() {
        match a.namespace() {
            None if a.name() == "ID" || a.name() == "Id" => {
                found.duplicate_id |= !ids.insert(a.value());
            }
            None => {}
            Some(XML_NS) if a.name() == "id" || a.name() == "base" => {
                return Err(SamlError::Malformed(format!(
                    "{} carries xml:{}",
                    name.name(),
                    a.name()
                )));
            }
            Some(_) if in_signature || READ_BLIND.contains(&a.name()) => {
                return Err(SamlError::Malformed(format!(
                    "{} carries {} in a namespace",
                    name.name(),
                    a.name()
                )));
            }
            Some(_) => {}
        }
    }
    if name.namespace() == Some(ASSERTION) {
        match name.name() {
            "Assertion" | "EncryptedAssertion" => found.assertions.push(node),
            local => {
                if let Some(&value) = TEXT_VALUES.iter().find(|&&v| v == local)
                    && node.children().any(|k| k.is_comment() || k.is_pi())
                {
                    found.split_text.push((node, value));
                }
            }
        }
    }
    Ok(())
}

impl<'a, 'input> Survey<'a, 'input> {
    /// Every ds:Signature must be the direct child of `root` (the Response) or of the
    /// `assertion`; IDs must be unique.
    fn check_signature_placement(
        &self,
        root: roxmltree::Node<'a, 'input>,
        assertion: roxmltree::Node<'a, 'input>,
    ) -> Result<(), SamlError> {
        if self
            .signature_parents
            .iter()
            .any(|p| *p != Some(root) && *p != Some(assertion))
        {
            return Err(SamlError::SignatureReference(
                "a signature sits outside the Response and the Assertion".into(),
            ));
        }
        if self.duplicate_id {
            return Err(SamlError::Malformed(
                "two elements carry the same ID".into(),
            ));
        }
        Ok(())
    }

    /// Refuses an assertion (received, not yet verified) in which a value Lanyard reads
    /// holds a comment or an instruction besides its text ([`SamlError::SplitText`]).
    fn refuse_split_text(&self, assertion: roxmltree::Node<'a, 'input>) -> Result<(), SamlError> {
        match self
            .split_text
            .iter()
            .find(|(n, _)| n.ancestors().any(|a| a == assertion))
        {
            Some((_, name)) => Err(SamlError::SplitText(name)),
            None => Ok(()),
        }
    }
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

/// The child elements of `node`, whatever their names.
fn element_children<'a, 'input>(
    node: &roxmltree::Node<'a, 'input>,
) -> impl Iterator<Item = roxmltree::Node<'a, 'input>> {
    node.children().filter(roxmltree::Node::is_element)
}

/// The `Algorithm` of `node`, required to be one of `accepted`; `what` names it in the error.
fn pinned_algorithm<'a>(
    node: &roxmltree::Node<'a, '_>,
    accepted: &[&str],
    what: &'static str,
) -> Result<&'a str, SamlError> {
    let alg = canonical::attribute(node, "Algorithm")?.unwrap_or_default();
    if !accepted.contains(&alg) {
        return Err(SamlError::SignatureAlgorithm(format!("{what} {alg:?}")));
    }
    // Only exclusive c14n takes a parameter (its InclusiveNamespaces prefix list); any
    // other child (an XPath expression, a stylesheet) is refused.
    for child in element_children(node) {
        let prefix_list = alg == EXC_C14N && canonical::is(&child, EXC_C14N, "InclusiveNamespaces");
        if !prefix_list {
            return Err(SamlError::SignatureAlgorithm(format!(
                "{what} {alg:?} with a {} parameter",
                child.tag_name().name()
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
fn signature_of(parent: &roxmltree::Node<'_, '_>) -> Result<bool, SamlError> {
    use canonical::{at_most_one, children, exactly_one};

    let Some(sig) = at_most_one(parent, DSIG, "Signature")? else {
        return Ok(false);
    };
    let parent_name = parent.tag_name().name();
    let parts: Vec<String> = element_children(&sig)
        .map(|p| {
            if p.tag_name().namespace() == Some(DSIG) {
                p.tag_name().name().to_owned()
            } else {
                format!("(foreign) {}", p.tag_name().name())
            }
        })
        .collect();
    if parts != ["SignedInfo", "SignatureValue"]
        && parts != ["SignedInfo", "SignatureValue", "KeyInfo"]
    {
        return Err(SamlError::SignatureReference(format!(
            "the {parent_name} signature holds {parts:?}, not SignedInfo, SignatureValue and \
             KeyInfo"
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
    let uri = canonical::attribute(reference, "URI")?.unwrap_or_default();
    if uri.strip_prefix('#') != Some(canonical::id(parent)?) {
        return Err(SamlError::SignatureReference(format!(
            "the {parent_name} signature references {uri:?}, not its own element"
        )));
    }
    let transforms = exactly_one(reference, DSIG, "Transforms")?;
    let steps: Vec<_> = element_children(&transforms).collect();
    let (enveloped, c14n) = match steps.as_slice() {
        [e] => (e, None),
        [e, c] => (e, Some(c)),
        _ => {
            return Err(SamlError::SignatureAlgorithm(format!(
                "the {parent_name} signature has {} transforms, not enveloped-signature and at \
                 most one canonicalization",
                steps.len()
            )));
        }
    };
    if !steps.iter().all(|t| canonical::is(t, DSIG, "Transform")) {
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
    use canonical::{at_most_one, attribute, exactly_one, whole_text};

    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(SamlError::TooLarge);
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| SamlError::Malformed("the response is not UTF-8".into()))?;
    let received = parse_received(text)?;
    let response = received.root_element();
    let found = survey(response)?;
    if !canonical::is(&response, PROTOCOL, "Response") {
        return Err(SamlError::Malformed(
            "the document is not a samlp:Response".into(),
        ));
    }
    let response_id = canonical::id(&response)?;
    if attribute(&response, "Version")? != Some("2.0") {
        return Err(SamlError::Malformed("Version is not 2.0".into()));
    }

    // Exactly one assertion in the whole document, directly under the Response.
    let [assertion] = found.assertions.as_slice() else {
        return Err(SamlError::AssertionCount(found.assertions.len()));
    };
    let assertion = *assertion;
    if assertion.parent() != Some(response) {
        return Err(SamlError::AssertionCount(1));
    }
    let encrypted = canonical::is(&assertion, ASSERTION, "EncryptedAssertion");

    // Status and the envelope: read from the received document only to refuse.
    let status = exactly_one(&response, PROTOCOL, "Status")?;
    let code = exactly_one(&status, PROTOCOL, "StatusCode")?;
    let value = attribute(&code, "Value")?.unwrap_or_default();
    if value != SUCCESS {
        return Err(SamlError::Status(value.to_owned()));
    }
    let destination = attribute(&response, "Destination")?;
    if let Some(d) = destination
        && d != exp.acs_url
    {
        return Err(SamlError::Destination(d.to_owned()));
    }
    if let Some(issuer) = at_most_one(&response, ASSERTION, "Issuer")? {
        let issuer = whole_text(&issuer, "Issuer")?;
        if issuer != exp.idp_entity_id {
            return Err(SamlError::Issuer(issuer));
        }
    }

    found.check_signature_placement(response, assertion)?;
    let response_signed = signature_of(&response)?;
    let plain_assertion_signed = if encrypted {
        false
    } else {
        signature_of(&assertion)?
    };
    if !response_signed && !plain_assertion_signed && !encrypted {
        return Err(SamlError::Unsigned);
    }
    if response_signed && destination.is_none() {
        return Err(SamlError::Destination("(missing)".into()));
    }
    let response_in_response_to = attribute(&response, "InResponseTo")?;

    // Comment injection, refused for what it is before the signature check (whose failure
    // on it would read as "signature does not verify"). Read only to refuse.
    found.refuse_split_text(assertion)?;

    // Verify; from here on, claims are read only from the canonical bytes the verified
    // signature covers (the defence against XML Signature Wrapping).
    let target = if response_signed {
        Some((PROTOCOL, "Response", response_id))
    } else if plain_assertion_signed {
        Some((ASSERTION, "Assertion", canonical::id(&assertion)?))
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
    let plaintext: String;
    let plain_doc: roxmltree::Document;
    let inner_text: String;
    let inner_doc: roxmltree::Document;
    let (claims, assertion_signed) = if encrypted {
        let key = exp.decryption_key.ok_or_else(|| {
            SamlError::Decrypt("an encrypted assertion arrived but no SP key is set".into())
        })?;
        // In an unsigned Response the EncryptedAssertion is the received one: what it
        // decrypts to must carry its own signature, checked below.
        let source = signed_assertion.unwrap_or(assertion);
        if !canonical::is(&source, ASSERTION, "EncryptedAssertion") {
            return Err(SamlError::AssertionCount(0));
        }
        plaintext = decrypt_assertion(source, key)?;
        plain_doc = parse_received(&plaintext)?;
        let inner_root = plain_doc.root_element();
        let inner = survey(inner_root)?;
        if !canonical::is(&inner_root, ASSERTION, "Assertion") {
            return Err(SamlError::Decrypt(
                "the plaintext is not an Assertion".into(),
            ));
        }
        if inner.assertions.len() != 1 {
            return Err(SamlError::AssertionCount(inner.assertions.len()));
        }
        inner.check_signature_placement(inner_root, inner_root)?;
        inner.refuse_split_text(inner_root)?;
        if signature_of(&inner_root)? {
            let inner_id = canonical::id(&inner_root)?;
            inner_text = verify_signed(&plaintext, exp.idp_certificates)?;
            inner_doc = canonical::parse(&inner_text)?;
            (
                signed_root(&inner_doc, ASSERTION, "Assertion", inner_id)?,
                true,
            )
        } else if response_signed {
            // The ciphertext was signed; its plaintext is read as decrypted.
            (inner_root, false)
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
        && verified.in_response_to.as_deref() != Some(r)
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

    /// A dump of a libxml2 tree as samael parses it (default options: recovery on), text
    /// and CDATA merged as `roxmltree` merges them.
    fn libxml_dump(node: &libxml::tree::Node, out: &mut String) {
        use libxml::tree::NodeType;
        match node.get_type() {
            Some(NodeType::ElementNode) => {
                let ns = node
                    .get_namespace()
                    .map(|n| n.get_href())
                    .unwrap_or_default();
                let mut attrs: Vec<_> = node.get_properties().into_iter().collect();
                attrs.sort();
                out.push_str(&format!("<{{{ns}}}{} {attrs:?}>", node.get_name()));
                for k in node.get_child_nodes() {
                    libxml_dump(&k, out);
                }
                out.push_str("</>");
            }
            Some(NodeType::TextNode | NodeType::CDataSectionNode) => {
                if !out.ends_with('»') {
                    out.push('«');
                } else {
                    out.pop();
                }
                out.push_str(&node.get_content());
                out.push('»');
            }
            Some(NodeType::CommentNode) => out.push_str(&format!("C({})", node.get_content())),
            Some(NodeType::PiNode) => {
                out.push_str(&format!("P({} {})", node.get_name(), node.get_content()))
            }
            other => out.push_str(&format!("?{other:?}")),
        }
    }

    /// The same dump of a `roxmltree` tree.
    fn roxml_dump(node: roxmltree::Node<'_, '_>, out: &mut String) {
        if node.is_element() {
            let ns = node.tag_name().namespace().unwrap_or_default();
            let mut attrs: Vec<_> = node
                .attributes()
                .map(|a| (a.name().to_owned(), a.value().to_owned()))
                .collect();
            attrs.sort();
            out.push_str(&format!("<{{{ns}}}{} {attrs:?}>", node.tag_name().name()));
            for k in node.children() {
                roxml_dump(k, out);
            }
            out.push_str("</>");
        } else if node.is_text() {
            out.push_str(&format!("«{}»", node.text().unwrap_or_default()));
        } else if node.is_comment() {
            out.push_str(&format!("C({})", node.text().unwrap_or_default()));
        } else if let Some(pi) = node.pi() {
            out.push_str(&format!(
                "P({} {})",
                pi.target,
                pi.value.unwrap_or_default()
            ));
        }
    }

    /// Documents that probe where `roxmltree` and libxml2 (as samael runs it, recovering
    /// from errors) could part: every one that Lanyard's reading accepts must give libxml2
    /// the same tree, and the ones listed as refused must be refused.
    #[test]
    fn what_the_checks_accept_libxml2_reads_the_same() {
        let accepted = [
            "<a>alice@example.com</a>",
            "\u{feff}<a/>",
            "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>",
            "<?xml version='1.0' standalone='yes'?><a/>",
            "<a b=\"x\ny\tz\r\nw\" c=\"&#10;&#9;&#13;\"/>",
            "<a>x\r\ny\rz</a>",
            "<a><![CDATA[x]]>y<![CDATA[]]>z</a>",
            "<a>&lt;&amp;&gt;&quot;&apos;&#x41;&#65;</a>",
            "<a xmlns=\"urn:x\"><b xmlns=\"\"/><c/></a>",
            "<a xmlns:p=\"urn:p\"><p:b p:d=\"1\" c=\"2\"/></a>",
            "<a><?target some value?><!-- a comment --></a>",
            "<a b='\"' c=\"'\"></a >",
            "<a xml:lang=\"en\" xml:space=\"preserve\"> </a>",
            "<a>\u{85}\u{2028}\u{e000}\u{10ffff}</a>",
            "<!-- before --><a/><!-- after --><?pi after?>",
            "<?xml version=\"1.0\" standalone=\"maybe\"?><a/>",
            "<?xml version=\"1.0\"?>\n<a>\t</a>",
            // Not namespace-well-formed, yet both read the same tree.
            "<a xmlns:xmlns=\"urn:x\"/>",
            "<a xmlns:p=\"urn:p\"><b xmlns:p=\"urn:q\"><p:c/></b><p:c/></a>",
            "<a xml:b=\"1\" xmlns:xml=\"http://www.w3.org/XML/1998/namespace\"/>",
            "<a xmlns:xml=\"http://www.w3.org/XML/1998/namespace\"/>",
        ];
        for doc in accepted {
            let ours = parse_received(doc).unwrap_or_else(|e| panic!("{doc:?} refused: {e}"));
            survey(ours.root_element()).unwrap_or_else(|e| panic!("{doc:?} refused: {e}"));
            let theirs = super::super::with_xmlsec(|| Parser::default().parse_string(doc))
                .unwrap_or_else(|_| panic!("libxml2 refuses {doc:?}"));
            let (mut a, mut b) = (String::new(), String::new());
            roxml_dump(ours.root_element(), &mut a);
            libxml_dump(&theirs.get_root_element().unwrap(), &mut b);
            assert_eq!(a, b, "{doc:?}");
        }
        let refused = [
            "",
            " ",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "<a/>text",
            "<a>x]]>y</a>",
            "<a>&#0;</a>",
            "<a>&#1;</a>",
            "<a>&#xD800;</a>",
            "<a>&#x110000;</a>",
            "<a>&#xFFFE;</a>",
            "<a>&#99999999999;</a>",
            "<a b=\"&#xDFFF;\"/>",
            "<a>\u{1}</a>",
            "<a>\0</a>",
            "<a/>\0",
            "<a>\u{fffe}</a>",
            "<a>&foo;</a>",
            "<a b=\"1\" b=\"2\"/>",
            "<a b=\"1\"c=\"2\"/>",
            "<a b=\"<\"/>",
            "<a b=c/>",
            "<1a/>",
            "</ a>",
            "<a><p:b/></a>",
            "<p:a p:b=\"1\"/>",
            "<a xmlns:p=\"urn:x\" xmlns:q=\"urn:x\" p:b=\"1\" q:b=\"2\"/>",
            "<a xmlns:p=\"urn:p\" xmlns:p=\"urn:q\"/>",
            "<a xmlns:xml=\"urn:wrong\"/>",
            "<a xmlns:p=\"\"/>",
            "<a xmlns:p=\"urn:p\"><b xmlns:p=\"\"><p:c/></b></a>",
            "<a xmlns:p=\"urn:p\"><b xmlns:p=\"\" p:d=\"1\"/></a>",
            "<a xmlns:xmlns=\"urn:x\"><xmlns:b/></a>",
            "<xmlns:a/>",
            "<xml:a/>",
            "<a xmlns=\"http://www.w3.org/2000/xmlns/\"/>",
            "<a xmlns=\"http://www.w3.org/XML/1998/namespace\"/>",
            "<a:b:c xmlns:a=\"urn:a\"/>",
            "<a><!-- a -- b --></a>",
            "<a><?xml x?></a>",
            "<?xml version=\"1.1\"?><a/>",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" encoding=\"UTF-8\"?><a/>",
            "<?xml version=\"2.0\"?><a/>",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>",
            "<?xml version=\"1.0\"encoding=\"UTF-8\"?><a/>",
            " <?xml version=\"1.0\"?><a/>",
            "<?xml version=\"1.0\"?><?xml version=\"1.0\"?><a/>",
            "<!DOCTYPE a><a/>",
            "<a xmlns:x=\"urn:x\" x:ID=\"evil\" ID=\"good\"/>",
            "<a xmlns:x=\"urn:x\" x:ID=\"only\"/>",
            "<a><b xmlns:x=\"urn:x\" x:Destination=\"d\"/></a>",
            "<a xml:id=\"r1\"/>",
            "<a xmlns:p=\"http://www.w3.org/XML/1998/namespace\" p:id=\"r1\"/>",
            "<a xml:base=\"https://evil.example/\"/>",
            "<a ID=\"r1\"><b Id=\"r1\"/></a>",
        ];
        for doc in refused {
            let ours = parse_received(doc).and_then(|d| {
                let found = survey(d.root_element())?;
                let root = d.root_element();
                found.check_signature_placement(root, root)
            });
            assert!(ours.is_err(), "{doc:?} accepted");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        let ok = deep(MAX_DEPTH);
        let doc = parse_received(&ok).unwrap();
        assert!(survey(doc.root_element()).is_ok());
        let too_deep = deep(MAX_DEPTH + 1);
        let doc = parse_received(&too_deep).unwrap();
        assert!(matches!(
            survey(doc.root_element()),
            Err(SamlError::Malformed(m)) if m.contains("nest")
        ));
        // Far deeper than libxml2's own limit, within the size bound: refused, no overflow.
        let far = deep(40_000);
        let doc = parse_received(&far).unwrap();
        assert!(survey(doc.root_element()).is_err());
    }

    #[test]
    fn namespaced_attributes_inside_a_signature_are_refused() {
        let sig = |attrs: &str| {
            format!(
                "<r xmlns:ds=\"{DSIG}\" xmlns:x=\"urn:x\" ID=\"r\"><ds:Signature><ds:SignedInfo>\
                 <ds:Reference {attrs}/></ds:SignedInfo></ds:Signature></r>"
            )
        };
        let ok = sig("URI=\"#r\"");
        let doc = parse_received(&ok).unwrap();
        let found = survey(doc.root_element()).unwrap();
        assert_eq!(found.signature_parents, [Some(doc.root_element())]);
        for bad in ["URI=\"#r\" x:URI=\"#evil\"", "URI=\"#r\" x:Other=\"1\""] {
            let bad = sig(bad);
            let doc = parse_received(&bad).unwrap();
            assert!(
                matches!(survey(doc.root_element()), Err(SamlError::Malformed(_))),
                "{bad}"
            );
        }
        // Outside a signature, a namespaced attribute of another name is fine (xsi:type).
        let typed = "<r xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
                     xsi:type=\"xs:string\" ID=\"r\"/>";
        let doc = parse_received(typed).unwrap();
        assert!(survey(doc.root_element()).is_ok());
    }

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
