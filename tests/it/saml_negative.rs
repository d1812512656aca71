//! The negative corpus: responses an attacker or a broken IdP could send, each built
//! programmatically from a validly signed response (signed by libxmlsec1 through samael with
//! the fixture IdP key) and each refused with a specific, logged reason.

use lanyard::clock::UnixTime;
use lanyard::connectors::saml::SamlError;

use crate::harness::{T0, browser, start_with};
use crate::saml_support::*;

fn refuse(xml: &str, check: impl Fn(&SamlError) -> bool) {
    refuse_with(&connector(""), xml, check)
}

fn refuse_with(
    c: &lanyard::connectors::saml::SamlConnector,
    xml: &str,
    check: impl Fn(&SamlError) -> bool,
) {
    match c.verify_xml(xml.as_bytes(), UnixTime::from_secs(T0)) {
        Ok(v) => panic!("accepted: {v:?}"),
        Err(e) => {
            eprintln!("refused as expected: {e}");
            assert!(check(&e), "refused for the wrong reason: {e}");
        }
    }
}

fn unsolicited_ok() -> lanyard::connectors::saml::SamlConnector {
    connector("allow_idp_initiated = true")
}

#[test]
fn the_valid_baseline_is_accepted() {
    let c = unsolicited_ok();
    let v = c
        .verify_xml(
            signed(&Shape::valid(T0)).as_bytes(),
            UnixTime::from_secs(T0),
        )
        .unwrap();
    assert_eq!(v.name_id(), "alice@example.com");
    assert!(v.assertion_signed() && !v.response_signed());
    let id = c.identity(&v, UnixTime::from_secs(T0));
    assert_eq!(id.groups, vec!["engineering".to_owned()]);
    assert_eq!(id.email.as_deref(), Some("alice@example.com"));
    // A signed Response (assertion unsigned) is accepted only when configured so.
    let s = Shape::valid(T0);
    let xml = response(&s, &assertion(&s, None), Some("idp1.key"));
    let relaxed = connector("allow_idp_initiated = true\nwant_assertions_signed = false");
    assert!(
        relaxed
            .verify_xml(xml.as_bytes(), UnixTime::from_secs(T0))
            .unwrap()
            .response_signed()
    );
}

#[test]
fn unsigned_response_is_refused() {
    let s = Shape::valid(T0);
    refuse(&response(&s, &assertion(&s, None), None), |e| {
        matches!(e, SamlError::Unsigned)
    });
}

#[test]
fn signed_response_without_signed_assertion_is_refused_by_default() {
    let s = Shape::valid(T0);
    refuse_with(
        &unsolicited_ok(),
        &response(&s, &assertion(&s, None), Some("idp1.key")),
        |e| matches!(e, SamlError::AssertionUnsigned),
    );
}

#[test]
fn signature_by_another_key_is_refused() {
    let s = Shape::valid(T0);
    refuse_with(
        &unsolicited_ok(),
        &response(&s, &assertion(&s, Some("other.key")), None),
        |e| matches!(e, SamlError::BadSignature),
    );
}

#[test]
fn attributes_changed_after_signing_are_refused() {
    let xml = signed(&Shape::valid(T0)).replace(
        "<saml:AttributeValue>engineering</saml:AttributeValue>",
        "<saml:AttributeValue>admins</saml:AttributeValue>",
    );
    assert!(xml.contains(">admins<"));
    refuse_with(&unsolicited_ok(), &xml, |e| {
        matches!(e, SamlError::BadSignature)
    });
}

/// The evil assertion: same shape, another subject and group, unsigned.
fn evil(s: &Shape) -> String {
    let mut e = s.clone();
    e.assertion_id = "_evil".into();
    e.name_id_xml = "mallory@example.com".into();
    e.groups = vec!["admins".into()];
    assertion(&e, None)
}

fn signature_of(xml: &str) -> String {
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    xml[start..end].to_owned()
}

fn without_signature(xml: &str) -> String {
    xml.replace(&signature_of(xml), "")
}

fn xsw_refused(xml: &str) {
    refuse_with(&unsolicited_ok(), xml, |e| {
        matches!(
            e,
            SamlError::AssertionCount(_)
                | SamlError::SignatureReference(_)
                | SamlError::BadSignature
                | SamlError::Malformed(_)
        )
    });
}

/// Signed-response wrapping: the original signed Response moves into the signature's Object;
/// a new Response with the evil assertion takes the root.
#[test]
fn xsw1_response_wrapped_in_signature_object_is_refused() {
    let s = Shape::valid(T0);
    let original = response(&s, &assertion(&s, None), Some("idp1.key"));
    let sig = signature_of(&original);
    let wrapped_sig = sig.replace(
        "</ds:Signature>",
        &format!(
            "<ds:Object>{}</ds:Object></ds:Signature>",
            without_signature(&original)
        ),
    );
    let mut e = s.clone();
    e.response_id = "_evilresponse".into();
    let xml = response(&e, &evil(&s), None)
        .replace("<samlp:Status>", &format!("{wrapped_sig}<samlp:Status>"));
    xsw_refused(&xml);
}

/// As XSW1, with the original Response placed after the signature (detached).
#[test]
fn xsw2_detached_original_response_is_refused() {
    let s = Shape::valid(T0);
    let original = response(&s, &assertion(&s, None), Some("idp1.key"));
    let sig = signature_of(&original);
    let mut e = s.clone();
    e.response_id = "_evilresponse".into();
    let xml = response(&e, &evil(&s), None).replace(
        "<samlp:Status>",
        &format!("{sig}{}<samlp:Status>", without_signature(&original)),
    );
    xsw_refused(&xml);
}

/// The evil assertion inserted before the signed one.
#[test]
fn xsw3_evil_assertion_before_the_signed_one_is_refused() {
    let s = Shape::valid(T0);
    let good = assertion(&s, Some("idp1.key"));
    xsw_refused(&response(&s, &format!("{}{good}", evil(&s)), None));
}

/// The evil assertion wraps the signed one.
#[test]
fn xsw4_evil_assertion_wrapping_the_signed_one_is_refused() {
    let s = Shape::valid(T0);
    let good = assertion(&s, Some("idp1.key"));
    let wrapped = evil(&s).replace("</saml:Assertion>", &format!("{good}</saml:Assertion>"));
    xsw_refused(&response(&s, &wrapped, None));
}

/// The signature moved into the evil assertion, the original appended after it.
#[test]
fn xsw5_signature_copied_into_evil_assertion_is_refused() {
    let s = Shape::valid(T0);
    let good = assertion(&s, Some("idp1.key"));
    let sig = signature_of(&good);
    let ev = evil(&s).replacen("</saml:Issuer>", &format!("</saml:Issuer>{sig}"), 1);
    xsw_refused(&response(
        &s,
        &format!("{ev}{}", without_signature(&good)),
        None,
    ));
}

/// The evil assertion carries the signature, whose Object holds the original assertion.
#[test]
fn xsw6_original_inside_signature_object_of_evil_assertion_is_refused() {
    let s = Shape::valid(T0);
    let good = assertion(&s, Some("idp1.key"));
    let sig = signature_of(&good).replace(
        "</ds:Signature>",
        &format!(
            "<ds:Object>{}</ds:Object></ds:Signature>",
            without_signature(&good)
        ),
    );
    let ev = evil(&s).replacen("</saml:Issuer>", &format!("</saml:Issuer>{sig}"), 1);
    xsw_refused(&response(&s, &ev, None));
}

/// The signed assertion hidden in an Extensions element, the evil one in its place.
#[test]
fn xsw7_signed_assertion_in_extensions_is_refused() {
    let s = Shape::valid(T0);
    let good = assertion(&s, Some("idp1.key"));
    let xml = response(&s, &evil(&s), None).replace(
        "<samlp:Status>",
        &format!("<samlp:Extensions>{good}</samlp:Extensions><samlp:Status>"),
    );
    xsw_refused(&xml);
}

/// The evil assertion's signature holds an Object with the original assertion minus its
/// signature (the reference then resolves to the hidden original).
#[test]
fn xsw8_original_without_signature_in_object_is_refused() {
    let s = Shape::valid(T0);
    let good = assertion(&s, Some("idp1.key"));
    let sig = signature_of(&good).replace(
        "</ds:Signature>",
        &format!(
            "<ds:Object>{}</ds:Object></ds:Signature>",
            without_signature(&good)
        ),
    );
    let mut e = s.clone();
    e.name_id_xml = "mallory@example.com".into();
    e.groups = vec!["admins".into()];
    // Same ID as the original: the reference could resolve to either.
    let ev = assertion(&e, None).replacen("</saml:Issuer>", &format!("</saml:Issuer>{sig}"), 1);
    xsw_refused(&response(&s, &ev, None));
}

/// Without the structural checks, the verified-subtree rule alone still holds: an evil
/// assertion that reuses the signed one's ID (so it alone is in the document) fails the
/// digest.
#[test]
fn xsw_evil_assertion_reusing_the_signed_id_fails_the_digest() {
    let s = Shape::valid(T0);
    let good = assertion(&s, Some("idp1.key"));
    let sig = signature_of(&good);
    let mut e = s.clone();
    e.name_id_xml = "mallory@example.com".into();
    let ev = assertion(&e, None).replacen("</saml:Issuer>", &format!("</saml:Issuer>{sig}"), 1);
    refuse_with(&unsolicited_ok(), &response(&s, &ev, None), |e| {
        matches!(e, SamlError::BadSignature)
    });
}

#[test]
fn two_assertions_are_refused() {
    let s = Shape::valid(T0);
    let mut other = s.clone();
    other.assertion_id = "_second".into();
    let xml = response(
        &s,
        &format!(
            "{}{}",
            assertion(&s, Some("idp1.key")),
            assertion(&other, Some("idp1.key"))
        ),
        None,
    );
    refuse_with(&unsolicited_ok(), &xml, |e| {
        matches!(e, SamlError::AssertionCount(2))
    });
}

/// The attack: the IdP signs `alice@example.com.evil.com` (a name the attacker may
/// register), then a comment is slipped in after signing. Exclusive c14n drops comments, so
/// xmlsec still verifies the document; a parser that reads the first text node would see
/// `alice@example.com`. Lanyard refuses it, and says why: the NameID holds a comment (the
/// signature does verify, so "bad signature" would send an operator looking in the wrong
/// place).
#[test]
fn comment_injection_in_name_id_is_refused() {
    let mut s = Shape::valid(T0);
    s.name_id_xml = "alice@example.com.evil.com".into();
    let xml = signed(&s).replace(
        ">alice@example.com.evil.com<",
        ">alice@example.com<!---->.evil.com<",
    );
    assert!(xml.contains("<!---->"));
    let pem = std::fs::read(fixture("idp1.crt")).unwrap();
    let der = openssl::x509::X509::from_pem(&pem)
        .unwrap()
        .to_der()
        .unwrap();
    use samael::crypto::CryptoProvider;
    lanyard::connectors::saml::with_xmlsec(|| {
        samael::crypto::Crypto::verify_signed_xml(xml.as_bytes(), &der.into(), Some("ID"))
    })
    .expect("at the xmlsec level the signature still verifies");
    refuse_with(&unsolicited_ok(), &xml, |e| {
        matches!(e, SamlError::SplitText("NameID"))
    });
    assert_eq!(
        SamlError::SplitText("NameID").to_string(),
        "the NameID holds a comment or markup inside its text (comment injection)"
    );
    // A processing instruction, and a comment in an attribute value: the same reason.
    let xml = signed(&s).replace(
        ">alice@example.com.evil.com<",
        ">alice@example.com<?x y?>.evil.com<",
    );
    refuse_with(&unsolicited_ok(), &xml, |e| {
        matches!(e, SamlError::SplitText("NameID"))
    });
    let xml = signed(&Shape::valid(T0)).replace(
        "<saml:AttributeValue>engineering</saml:AttributeValue>",
        "<saml:AttributeValue>engi<!---->neering</saml:AttributeValue>",
    );
    refuse_with(&unsolicited_ok(), &xml, |e| {
        matches!(e, SamlError::SplitText("AttributeValue"))
    });
}

/// A comment inside a signed NameID (signed with the comment) is refused by the
/// whole-text rule.
#[test]
fn comment_inside_signed_name_id_is_refused() {
    let mut s = Shape::valid(T0);
    s.name_id_xml = "alice@example.com<!---->.evil.com".into();
    refuse_with(&unsolicited_ok(), &signed(&s), |e| {
        matches!(e, SamlError::SplitText("NameID"))
    });
}

// ---- the pinned signature shape -----------------------------------------------------

const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED_T: &str =
    "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>";

/// A response whose assertion carries a signature template passed through `edit` (another
/// algorithm, transform or reference), signed by xmlsec in place inside the Response as an
/// IdP would.
fn signed_with(s: &Shape, edit: &dyn Fn(String) -> String) -> String {
    sign_in_place(
        s,
        edit(sig_template(&s.assertion_id, &pem_body("idp1.crt"))),
    )
}

/// The unsigned response with `template` put into its assertion, then signed.
fn sign_in_place(s: &Shape, template: String) -> String {
    let unsigned = response(s, &assertion(s, None), None);
    let xml = unsigned.replacen("<saml:Subject>", &format!("{template}<saml:Subject>"), 1);
    assert!(xml.contains("<ds:Signature"));
    strip_decl(
        &lanyard::connectors::saml::with_xmlsec(|| {
            use samael::crypto::CryptoProvider;
            samael::crypto::Crypto::sign_xml(xml, &key_der("idp1.key"))
        })
        .unwrap(),
    )
}

/// Whether bare xmlsec (no Lanyard rule) verifies `xml` with the IdP certificate.
fn xmlsec_verifies(xml: &str) -> bool {
    let pem = std::fs::read(fixture("idp1.crt")).unwrap();
    let der = openssl::x509::X509::from_pem(&pem)
        .unwrap()
        .to_der()
        .unwrap();
    use samael::crypto::CryptoProvider;
    lanyard::connectors::saml::with_xmlsec(|| {
        samael::crypto::Crypto::verify_signed_xml(xml.as_bytes(), &der.into(), Some("ID"))
    })
    .is_ok()
}

fn refused_as_algorithm(xml: &str) {
    refuse_with(&unsolicited_ok(), xml, |e| {
        matches!(e, SamlError::SignatureAlgorithm(_))
    });
}

/// The attack an XPath transform allows: the IdP's signature leaves the AttributeStatement
/// out, so it can be rewritten after signing and xmlsec still verifies. Lanyard refuses any
/// transform besides enveloped-signature and one canonicalization, signed or tampered.
#[test]
fn xpath_transform_is_refused() {
    let s = Shape::valid(T0);
    let xml = signed_with(&s, &|t| {
        t.replace(
            ENVELOPED_T,
            &format!(
                "{ENVELOPED_T}<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\">\
                 <ds:XPath xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">\
                 not(ancestor-or-self::saml:AttributeStatement)</ds:XPath></ds:Transform>"
            ),
        )
    });
    assert!(xml.contains("REC-xpath-19991116"));
    let tampered = xml.replace(
        "<saml:AttributeValue>engineering</saml:AttributeValue>",
        "<saml:AttributeValue>admins</saml:AttributeValue>",
    );
    assert!(tampered.contains(">admins<"));
    assert!(
        xmlsec_verifies(&tampered),
        "at the xmlsec level the tampered attributes are outside the signature"
    );
    refused_as_algorithm(&xml);
    refused_as_algorithm(&tampered);
}

/// A parameter inside an accepted transform (here an XPath child under enveloped-signature)
/// is refused too.
#[test]
fn transform_with_a_parameter_is_refused() {
    let s = Shape::valid(T0);
    let xml = signed_with(&s, &|t| {
        t.replace(
            ENVELOPED_T,
            "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\">\
             <ds:XPath>1</ds:XPath></ds:Transform>",
        )
    });
    refused_as_algorithm(&xml);
}

/// SHA-1, as the signature method or as the digest method, is refused before xmlsec runs.
#[test]
fn sha1_is_refused() {
    let s = Shape::valid(T0);
    let sha1_signature = signed_with(&s, &|t| {
        t.replace(
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        )
        .replace(
            "http://www.w3.org/2001/04/xmlenc#sha256",
            "http://www.w3.org/2000/09/xmldsig#sha1",
        )
    });
    assert!(sha1_signature.contains("#rsa-sha1"));
    assert!(xmlsec_verifies(&sha1_signature));
    refused_as_algorithm(&sha1_signature);
    let sha1_digest = signed_with(&s, &|t| {
        t.replace(
            "http://www.w3.org/2001/04/xmlenc#sha256",
            "http://www.w3.org/2000/09/xmldsig#sha1",
        )
    });
    assert!(xmlsec_verifies(&sha1_digest));
    refused_as_algorithm(&sha1_digest);
}

/// Canonicalization with comments is refused: the pinned shape reads values whose comments
/// the signature does not cover only through the whole-text rule.
#[test]
fn canonicalization_with_comments_is_refused() {
    let s = Shape::valid(T0);
    let xml = signed_with(&s, &|t| {
        t.replacen(
            &format!("<ds:CanonicalizationMethod Algorithm=\"{EXC}\"/>"),
            &format!("<ds:CanonicalizationMethod Algorithm=\"{EXC}WithComments\"/>"),
            1,
        )
    });
    assert!(xml.contains("WithComments"));
    refused_as_algorithm(&xml);
}

/// Two references (both resolving, both verifying) are refused: the signature must stand
/// for its parent alone.
#[test]
fn two_references_are_refused() {
    let s = Shape::valid(T0);
    let xml = signed_with(&s, &|t| {
        let start = t.find("<ds:Reference").unwrap();
        let end = t.find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
        let reference = t[start..end].to_owned();
        t.replacen(&reference, &format!("{reference}{reference}"), 1)
    });
    assert_eq!(xml.matches("<ds:Reference").count(), 2);
    assert!(xmlsec_verifies(&xml));
    refuse_with(&unsolicited_ok(), &xml, |e| {
        matches!(e, SamlError::SignatureReference(_))
    });
}

/// A reference to another element's ID (here the Response's, from the assertion's
/// signature) is refused even though it verifies.
#[test]
fn reference_to_another_id_is_refused() {
    let s = Shape::valid(T0);
    // The assertion's signature covers the Response, not the assertion.
    let xml = sign_in_place(&s, sig_template(&s.response_id, &pem_body("idp1.crt")));
    assert!(xml.contains(&format!("URI=\"#{}\"", s.response_id)));
    assert!(xmlsec_verifies(&xml));
    refuse_with(&unsolicited_ok(), &xml, |e| {
        matches!(e, SamlError::SignatureReference(_))
    });
}

/// Anything in the signature besides SignedInfo, SignatureValue and KeyInfo (an Object
/// that could carry a wrapped copy) is refused, though the signature still verifies.
#[test]
fn object_inside_signature_is_refused() {
    let xml = signed(&Shape::valid(T0)).replacen(
        "</ds:Signature>",
        "<ds:Object><x>payload</x></ds:Object></ds:Signature>",
        1,
    );
    assert!(xml.contains("<ds:Object>"));
    assert!(xmlsec_verifies(&xml));
    refuse_with(&unsolicited_ok(), &xml, |e| {
        matches!(e, SamlError::SignatureReference(_))
    });
}

/// The shapes IdPs use besides the default stay accepted: enveloped-signature alone
/// (inclusive c14n applies), inclusive c14n named, and exclusive c14n with an
/// InclusiveNamespaces prefix list.
#[test]
fn other_canonicalizations_are_accepted() {
    let c = unsolicited_ok();
    let inclusive = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
    let edits: [&dyn Fn(String) -> String; 3] = [
        &|t: String| t.replace(&format!("<ds:Transform Algorithm=\"{EXC}\"/>"), ""),
        &|t: String| t.replace(EXC, inclusive),
        &|t: String| {
            t.replace(
                &format!("<ds:Transform Algorithm=\"{EXC}\"/>"),
                &format!(
                    "<ds:Transform Algorithm=\"{EXC}\"><ec:InclusiveNamespaces \
                     xmlns:ec=\"{EXC}\" PrefixList=\"xs\"/></ds:Transform>"
                ),
            )
        },
    ];
    for (i, edit) in edits.iter().enumerate() {
        let xml = signed_with(&Shape::valid(T0), edit);
        let v = c
            .verify_xml(xml.as_bytes(), UnixTime::from_secs(T0))
            .unwrap_or_else(|e| panic!("shape {i} refused: {e}\n{xml}"));
        assert_eq!(v.name_id(), "alice@example.com");
        assert!(v.assertion_signed());
    }
}

// ---- parser differentials ----------------------------------------------------------
// Lanyard's structure checks read the received document with roxmltree; xmlsec verifies it
// on samael's libxml2 parse (recovering from errors). Where the two could read one document
// differently, the document is refused. Each case below still verifies at the xmlsec level.

/// The valid response with `edit` applied, checked to verify with bare xmlsec and to be
/// refused by Lanyard as malformed.
fn differential_refused(edit: &dyn Fn(String) -> String) {
    let xml = edit(signed(&Shape::valid(T0)));
    assert!(xmlsec_verifies(&xml), "xmlsec should still verify:\n{xml}");
    refuse_with(&unsolicited_ok(), &xml, |e| {
        matches!(e, SamlError::Malformed(_))
    });
}

/// libxml2 only warns about an undeclared prefix; roxmltree refuses the document.
#[test]
fn an_undeclared_prefix_is_refused() {
    differential_refused(&|x| x.replacen("<samlp:Status>", "<x:Extensions/><samlp:Status>", 1));
}

/// libxml2's `xmlGetProp`, which samael's ID registration uses, matches `x:ID` as `ID`
/// (the first of the two); roxmltree tells them apart.
#[test]
fn a_namespaced_twin_of_id_is_refused() {
    differential_refused(&|x| {
        x.replacen(
            "<samlp:Response ",
            "<samlp:Response xmlns:x=\"urn:x\" x:ID=\"_evil\" ",
            1,
        )
    });
    differential_refused(&|x| {
        x.replacen(
            "<samlp:Response ",
            "<samlp:Response xmlns:x=\"urn:x\" x:Destination=\"https://evil.example/acs\" ",
            1,
        )
    });
}

/// xmlsec reads the attributes of a signature namespace-blind: a namespaced attribute
/// anywhere inside one (here on KeyInfo, which the signature does not cover) is refused.
#[test]
fn a_namespaced_attribute_inside_a_signature_is_refused() {
    differential_refused(&|x| {
        x.replacen(
            "<ds:KeyInfo>",
            "<ds:KeyInfo xmlns:x=\"urn:x\" x:Algorithm=\"urn:evil\">",
            1,
        )
    });
}

/// libxml2 adds `xml:id` to the document's ID table while parsing; `xml:base` changes how
/// c14n 1.1 writes URIs. Neither has a use in SAML.
#[test]
fn xml_id_and_xml_base_are_refused() {
    differential_refused(&|x| x.replacen("<samlp:Response ", "<samlp:Response xml:id=\"r-x\" ", 1));
    differential_refused(&|x| {
        x.replacen(
            "<samlp:Response ",
            "<samlp:Response xml:base=\"https://evil.example/\" ",
            1,
        )
    });
}

/// `ID` (samael) and `Id` (xmlsec, inside a signature) share libxml2's one ID table: a value
/// carried twice across them is refused as a duplicate.
#[test]
fn an_id_repeated_as_id_is_refused() {
    differential_refused(&|x| {
        let id = x
            .split(" ID=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap();
        let id = id.to_owned();
        x.replacen("<ds:KeyInfo>", &format!("<ds:KeyInfo Id=\"{id}\">"), 1)
    });
}

/// Nesting is bounded (libxml2 stops at 256; samael walks its tree recursively).
#[test]
fn deep_nesting_is_refused() {
    let depth = 70;
    let deep = format!(
        "{}{}",
        "<x:e xmlns:x=\"urn:x\">".repeat(depth),
        "</x:e>".repeat(depth)
    );
    differential_refused(&|x| x.replacen("<samlp:Status>", &format!("{deep}<samlp:Status>"), 1));
}

/// XML 1.1 is refused (neither parser implements it; each reads the version differently).
#[test]
fn xml_1_1_is_refused() {
    differential_refused(&|x| format!("<?xml version=\"1.1\"?>{x}"));
}

/// A UTF-8 byte-order mark and a UTF-8 declaration read the same in both parsers.
#[test]
fn a_byte_order_mark_and_a_utf8_declaration_are_accepted() {
    let xml = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        signed(&Shape::valid(T0))
    );
    assert!(xmlsec_verifies(&xml));
    let v = unsolicited_ok()
        .verify_xml(xml.as_bytes(), UnixTime::from_secs(T0))
        .unwrap();
    assert_eq!(v.name_id(), "alice@example.com");
}

#[test]
fn doctype_is_refused() {
    let xml = format!("<!DOCTYPE samlp:Response>{}", signed(&Shape::valid(T0)));
    refuse(&xml, |e| matches!(e, SamlError::Dtd));
}

#[test]
fn external_entity_is_refused() {
    let mut s = Shape::valid(T0);
    s.name_id_xml = "&xxe;".into();
    let xml = format!(
        "<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
        response(&s, &assertion(&s, None), None)
    );
    refuse(&xml, |e| matches!(e, SamlError::Dtd));
}

#[test]
fn entity_expansion_is_refused() {
    let mut s = Shape::valid(T0);
    s.name_id_xml = "&lol3;".into();
    let xml = format!(
        "<!DOCTYPE r [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\
         <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>{}",
        response(&s, &assertion(&s, None), None)
    );
    refuse(&xml, |e| matches!(e, SamlError::Dtd));
}

#[test]
fn wrong_audience_is_refused() {
    let mut s = Shape::valid(T0);
    s.audience = "https://other-sp.example/metadata".into();
    refuse_with(&unsolicited_ok(), &signed(&s), |e| {
        matches!(e, SamlError::Audience(_))
    });
}

#[test]
fn wrong_destination_is_refused() {
    let mut s = Shape::valid(T0);
    s.destination = "https://other-sp.example/acs".into();
    refuse_with(&unsolicited_ok(), &signed(&s), |e| {
        matches!(e, SamlError::Destination(_))
    });
}

#[test]
fn wrong_recipient_is_refused() {
    let mut s = Shape::valid(T0);
    s.recipient = "https://other-sp.example/acs".into();
    refuse_with(&unsolicited_ok(), &signed(&s), |e| {
        matches!(e, SamlError::Recipient(_))
    });
}

#[test]
fn wrong_issuer_is_refused() {
    let mut s = Shape::valid(T0);
    s.issuer = "https://evil-idp.example".into();
    refuse_with(&unsolicited_ok(), &signed(&s), |e| {
        matches!(e, SamlError::Issuer(_))
    });
}

#[test]
fn expired_assertion_is_refused() {
    let mut s = Shape::valid(T0 - 3600);
    s.not_on_or_after = T0 - 600;
    refuse_with(&unsolicited_ok(), &signed(&s), |e| {
        matches!(e, SamlError::Expired(_))
    });
}

#[test]
fn expiry_within_the_clock_skew_is_accepted() {
    let mut s = Shape::valid(T0 - 600);
    s.not_on_or_after = T0 - 60; // 60 s late; the default skew is 2 minutes
    assert!(
        unsolicited_ok()
            .verify_xml(signed(&s).as_bytes(), UnixTime::from_secs(T0))
            .is_ok()
    );
}

#[test]
fn not_yet_valid_assertion_is_refused() {
    let mut s = Shape::valid(T0 + 3600);
    s.not_before = T0 + 3000;
    refuse_with(&unsolicited_ok(), &signed(&s), |e| {
        matches!(e, SamlError::NotYetValid(_))
    });
}

#[test]
fn status_other_than_success_is_refused() {
    let mut s = Shape::valid(T0);
    s.status = "urn:oasis:names:tc:SAML:2.0:status:Responder".into();
    refuse_with(&unsolicited_ok(), &signed(&s), |e| {
        matches!(e, SamlError::Status(_))
    });
}

#[test]
fn unsolicited_response_is_refused_unless_allowed() {
    refuse(&signed(&Shape::valid(T0)), |e| {
        matches!(e, SamlError::Unsolicited)
    });
}

#[test]
fn oversized_response_is_refused_by_the_validator() {
    let mut s = Shape::valid(T0);
    s.padding_attributes = 3000;
    refuse_with(&unsolicited_ok(), &signed(&s), |e| {
        matches!(e, SamlError::TooLarge)
    });
}

// ---- through HTTP, with the session store --------------------------------------------------

async fn lanyard(extra: &str) -> (crate::harness::Lanyard, tempfile::TempDir) {
    let keys = tempfile::tempdir().unwrap();
    let text = lanyard_toml(keys.path(), &provider_toml(extra));
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let store = crate::harness::memory_store(&clock);
    (start_with(&text, store, clock).await, keys)
}

async fn post_acs(
    l: &crate::harness::Lanyard,
    b: &reqwest::Client,
    saml_response: &str,
) -> reqwest::Response {
    b.post(l.at("/auth/idp/callback"))
        .form(&[("SAMLResponse", saml_response), ("RelayState", "")])
        .send()
        .await
        .unwrap()
}

async fn begin(l: &crate::harness::Lanyard, b: &reqwest::Client) -> String {
    let r = b.get(l.at("/auth/idp")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("https://idp.test/sso?SAMLRequest="));
    assert!(location.contains("&SigAlg=") && location.contains("&Signature="));
    request_id(&location)
}

#[tokio::test]
async fn sp_initiated_response_signs_in_once() {
    let (l, _k) = lanyard("").await;
    let b = browser();
    let mut s = Shape::valid(T0);
    s.in_response_to = Some(begin(&l, &b).await);
    let r = post_acs(&l, &b, &b64(&signed(&s))).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/roles");
    let r = b.get(l.at("/roles")).send().await.unwrap();
    assert_eq!(r.status(), 303, "one role (engineer) fits");
    assert_eq!(r.headers()["location"], "/credentials");
}

#[tokio::test]
async fn replayed_response_is_refused() {
    let (l, _k) = lanyard("allow_idp_initiated = true").await;
    let xml = b64(&signed(&Shape::valid(T0)));
    assert_eq!(post_acs(&l, &browser(), &xml).await.status(), 303);
    let again = post_acs(&l, &browser(), &xml).await;
    assert_eq!(again.status(), 403);
    assert!(again.text().await.unwrap().contains("Test IdP"));
}

#[tokio::test]
async fn unknown_in_response_to_is_refused() {
    let (l, _k) = lanyard("").await;
    let mut s = Shape::valid(T0);
    s.in_response_to = Some("_never_sent".into());
    assert_eq!(
        post_acs(&l, &browser(), &b64(&signed(&s))).await.status(),
        403
    );
}

#[tokio::test]
async fn reused_in_response_to_is_refused() {
    let (l, _k) = lanyard("").await;
    let b = browser();
    let id = begin(&l, &b).await;
    let mut s = Shape::valid(T0);
    s.in_response_to = Some(id.clone());
    assert_eq!(post_acs(&l, &b, &b64(&signed(&s))).await.status(), 303);
    // A second, fresh assertion for the same request: the request was taken.
    let mut s2 = Shape::valid(T0);
    s2.in_response_to = Some(id);
    assert_eq!(
        post_acs(&l, &browser(), &b64(&signed(&s2))).await.status(),
        403
    );
}

/// On https, an SP-initiated sign-in is bound to the browser that started it by a
/// `SameSite=None` cookie: someone who starts a sign-in and gets their own valid response
/// cannot post it into another person's browser (login CSRF).
#[tokio::test]
async fn a_response_is_accepted_only_from_the_browser_that_started_the_sign_in() {
    const PUBLIC: &str = "https://sso.test";
    let keys = tempfile::tempdir().unwrap();
    let text =
        lanyard_toml(keys.path(), &provider_toml("")).replace("http://127.0.0.1:8080", PUBLIC);
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let l = start_with(&text, crate::harness::memory_store(&clock), clock).await;
    // No cookie store: Secure cookies are handled by hand over the loopback http.
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let begin = || async {
        let r = c.get(l.at("/auth/idp")).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let id = request_id(r.headers()["location"].to_str().unwrap());
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with("__Host-lanyard_saml="))
            .expect("the binding cookie");
        for attr in ["Secure", "HttpOnly", "SameSite=None", "Path=/"] {
            assert!(cookie.contains(attr), "{attr} in {cookie}");
        }
        let pair = cookie.split(';').next().unwrap().to_owned();
        (id, pair)
    };
    let response_to = |id: &str| {
        let mut s = Shape::valid(T0);
        s.in_response_to = Some(id.to_owned());
        s.audience = format!("{PUBLIC}/auth/idp/metadata");
        s.recipient = format!("{PUBLIC}/auth/idp/callback");
        s.destination = s.recipient.clone();
        b64(&signed(&s))
    };
    let post = |saml: String, cookie: Option<String>| {
        let mut req = c
            .post(l.at("/auth/idp/callback"))
            .form(&[("SAMLResponse", saml.as_str()), ("RelayState", "")]);
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        async move { req.send().await.unwrap() }
    };
    // The attacker's own sign-in, answered in the victim's browser (no cookie, or the
    // victim's cookie of another sign-in): refused.
    let (attacker_id, _attacker_cookie) = begin().await;
    let r = post(response_to(&attacker_id), None).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("another browser"));
    let (other_id, victim_cookie) = begin().await;
    let (attacker_id, _) = begin().await;
    let r = post(response_to(&attacker_id), Some(victim_cookie.clone())).await;
    assert_eq!(r.status(), 403);
    // The victim's own sign-in in the victim's browser: accepted, and the cookie cleared.
    let r = post(response_to(&other_id), Some(victim_cookie)).await;
    assert_eq!(r.status(), 303, "{:?}", r.headers());
    assert!(
        r.headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("__Host-lanyard_saml=;")),
        "binding cookie cleared"
    );
}

#[tokio::test]
async fn oversized_body_is_refused_with_413() {
    let (l, _k) = lanyard("allow_idp_initiated = true").await;
    let big = "A".repeat(300 * 1024);
    assert_eq!(post_acs(&l, &browser(), &big).await.status(), 413);
}

#[tokio::test]
async fn garbage_is_refused_without_a_panic() {
    let (l, _k) = lanyard("allow_idp_initiated = true").await;
    for body in ["", "%%%", &b64("<not xml"), &b64("<a/>")] {
        let r = post_acs(&l, &browser(), body).await;
        assert_eq!(r.status(), 403, "{body:?}");
    }
    let r = browser()
        .get(l.at("/auth/idp/callback"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn sp_metadata_is_signed_and_names_the_acs() {
    let (l, _k) = lanyard("").await;
    let r = browser()
        .get(l.at("/auth/idp/metadata"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/samlmetadata+xml");
    let xml = r.text().await.unwrap();
    assert!(xml.contains(&format!("entityID=\"{SP_ENTITY}\"")));
    assert!(xml.contains(&format!("Location=\"{ACS}\"")));
    let sp_cert = std::fs::read(fixture("sp.crt")).unwrap();
    let der = openssl::x509::X509::from_pem(&sp_cert)
        .unwrap()
        .to_der()
        .unwrap();
    use samael::crypto::CryptoProvider;
    lanyard::connectors::saml::with_xmlsec(|| {
        samael::crypto::Crypto::verify_signed_xml(xml.as_bytes(), &der.into(), Some("ID"))
    })
    .expect("the SP metadata signature verifies");
}

#[tokio::test]
async fn sts_assume_role_with_saml_issues_credentials() {
    let (l, _k) = lanyard("allow_idp_initiated = true").await;
    let c = reqwest::Client::new();
    let response = b64(&signed(&Shape::valid(T0)));
    let ok = c
        .post(l.at("/sts/assume-role-with-saml"))
        .json(&serde_json::json!({"role": "engineer", "saml_response": response}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let v: serde_json::Value = ok.json().await.unwrap();
    // The same shape as /sts/assume-role-with-web-identity.
    assert_eq!(v["assumed_role"]["role"], "engineer");
    assert_eq!(v["provider"], "idp");
    assert_eq!(v["credentials"]["token_type"], "Bearer");
    assert!(v["credentials"]["access_token"].as_str().unwrap().len() > 100);
    assert!(
        v["credentials"]["expires_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    // The same assertion again: the replay cache refuses it.
    let replay = c
        .post(l.at("/sts/assume-role-with-saml"))
        .json(&serde_json::json!({"role": "engineer", "saml_response": response}))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    let v: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(v["error"], "InvalidIdentityToken");
    // Not trusted for admin (no MFA, no admins group) → 403 AccessDenied.
    let denied = c
        .post(l.at("/sts/assume-role-with-saml"))
        .json(
            &serde_json::json!({"role": "admin", "saml_response": b64(&signed(&Shape::valid(T0)))}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    let v: serde_json::Value = denied.json().await.unwrap();
    assert_eq!(v["error"], "AccessDenied");
    assert_eq!(
        v["error_description"],
        "Not authorized to perform sts:AssumeRoleWithSAML"
    );
    // A tampered response → 400 InvalidIdentityToken.
    let bad = c
        .post(l.at("/sts/assume-role-with-saml"))
        .json(&serde_json::json!({"role": "engineer", "saml_response": b64(&signed(&Shape::valid(T0)).replace("engineering", "admins"))}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let v: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(v["error"], "InvalidIdentityToken");
}

/// A metadata server that answers once, then fails: the first copy must be kept.
#[tokio::test]
async fn metadata_refresh_failure_keeps_the_last_good_copy() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let metadata = format!(
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{IDP_ENTITY}\">\
         <md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
         <md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data>\
         <ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\
         <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://idp.test/sso\"/>\
         </md:IDPSSODescriptor></md:EntityDescriptor>",
        pem_body("idp1.crt")
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&served);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let n = count.fetch_add(1, Ordering::SeqCst);
            let reply = if n == 0 {
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{metadata}",
                    metadata.len()
                )
            } else {
                "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned()
            };
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    let keys = tempfile::tempdir().unwrap();
    let provider = format!(
        "[[providers]]\nid = \"idp\"\nkind = \"saml\"\ndisplay_name = \"Test IdP\"\n\
         metadata_url = \"http://127.0.0.1:{port}/metadata\"\nmetadata_refresh = \"1s\"\n\
         sp_key_file = \"{}\"\nsp_cert_file = \"{}\"\nallow_idp_initiated = true\n",
        fixture("sp.key").display(),
        fixture("sp.crt").display(),
    );
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let store = crate::harness::memory_store(&clock);
    let l = start_with(&lanyard_toml(keys.path(), &provider), store, clock).await;
    // Wait for the first fetch, then for at least one failed refresh.
    for _ in 0..100 {
        if served.load(Ordering::SeqCst) >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        served.load(Ordering::SeqCst) >= 2,
        "a refresh was attempted"
    );
    let r = browser().get(l.at("/auth/idp")).send().await.unwrap();
    assert_eq!(
        r.status(),
        303,
        "the IdP is still known after a failed refresh"
    );
    let r = post_acs(&l, &browser(), &b64(&signed(&Shape::valid(T0)))).await;
    assert_eq!(r.status(), 303);
}

/// The XML of the AuthnRequest in a redirect Location.
fn authn_request_xml(location: &str) -> String {
    use base64::Engine;
    use std::io::Read;
    let url = url::Url::parse(location).unwrap();
    let req = url
        .query_pairs()
        .find(|(k, _)| k == "SAMLRequest")
        .unwrap()
        .1
        .to_string();
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(req)
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";

#[tokio::test]
async fn persistent_name_id_is_asked_for_by_default_and_metadata_does_not_expire() {
    let (l, _k) = lanyard("").await;
    let b = browser();
    let r = b.get(l.at("/auth/idp")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let xml = authn_request_xml(r.headers()["location"].to_str().unwrap());
    assert!(
        xml.contains(&format!(
            "<samlp:NameIDPolicy Format=\"{PERSISTENT}\" AllowCreate=\"true\"/>"
        )),
        "{xml}"
    );
    let metadata = b
        .get(l.at("/auth/idp/metadata"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metadata.contains(&format!("<md:NameIDFormat>{PERSISTENT}</md:NameIDFormat>")),
        "{metadata}"
    );
    assert!(
        !metadata.contains("validUntil"),
        "a saved copy must not expire unless configured: {metadata}"
    );

    // Both configurable: another format, and a lifetime for the metadata.
    let email = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
    let (l, _k) = lanyard(&format!(
        "name_id_format = \"{email}\"\nmetadata_valid_for = \"365d\""
    ))
    .await;
    let r = b.get(l.at("/auth/idp")).send().await.unwrap();
    let xml = authn_request_xml(r.headers()["location"].to_str().unwrap());
    assert!(xml.contains(&format!("Format=\"{email}\"")), "{xml}");
    let metadata = b
        .get(l.at("/auth/idp/metadata"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // T0 is 2026-11-28T00:00:00Z; 365 days later.
    assert!(
        metadata.contains("validUntil=\"2027-11-28T00:00:00Z\""),
        "{metadata}"
    );
    assert!(metadata.contains(&format!("<md:NameIDFormat>{email}</md:NameIDFormat>")));
    // The signature still verifies.
    let sp_cert = std::fs::read(fixture("sp.crt")).unwrap();
    let der = openssl::x509::X509::from_pem(&sp_cert)
        .unwrap()
        .to_der()
        .unwrap();
    use samael::crypto::CryptoProvider;
    lanyard::connectors::saml::with_xmlsec(|| {
        samael::crypto::Crypto::verify_signed_xml(metadata.as_bytes(), &der.into(), Some("ID"))
    })
    .expect("the SP metadata signature verifies");
}

#[test]
fn metadata_valid_for_is_bounded() {
    for bad in ["10m", "20000d", "soon"] {
        let text = format!(
            "[server]\npublic_url = \"http://127.0.0.1:8080\"\n{}",
            provider_toml(&format!("metadata_valid_for = \"{bad}\""))
        );
        let err = lanyard::config::Config::from_toml(&text, std::path::Path::new("."), &|_| None)
            .expect_err("refused")
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            err.contains("providers[0].metadata_valid_for"),
            "{bad}: {err}"
        );
    }
}

/// An IdP whose metadata URL answers 500: the sign-in page names the provider and why (not
/// the session store), 503 with a link to try again; `/readyz` stays 200 but says
/// "degraded" and the provider's state.
#[tokio::test]
async fn an_idp_whose_metadata_cannot_be_loaded_is_named_and_reported() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let _ = sock
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
    });
    let keys = tempfile::tempdir().unwrap();
    let provider = format!(
        "[[providers]]\nid = \"idp\"\nkind = \"saml\"\ndisplay_name = \"Test IdP\"\n\
         metadata_url = \"http://127.0.0.1:{port}/metadata\"\n\
         sp_key_file = \"{}\"\nsp_cert_file = \"{}\"\n",
        fixture("sp.key").display(),
        fixture("sp.crt").display(),
    );
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let store = crate::harness::memory_store(&clock);
    let l = start_with(&lanyard_toml(keys.path(), &provider), store, clock).await;
    let b = browser();
    // Wait (bounded) for the first fetch to have failed.
    let mut ready = serde_json::Value::Null;
    for _ in 0..100 {
        let r = b.get(l.at("/readyz")).send().await.unwrap();
        assert_eq!(
            r.status(),
            200,
            "a provider down does not take the instance out"
        );
        ready = r.json().await.unwrap();
        if ready["providers"]["idp"]["state"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["store"], "memory");
    assert_eq!(ready["providers"]["idp"]["state"], "failed", "{ready}");
    let error = ready["providers"]["idp"]["error"].as_str().unwrap();
    assert!(error.contains("HTTP 500"), "{error}");
    assert!(
        !error.contains("127.0.0.1"),
        "no URL in the public body: {error}"
    );

    let r = b.get(l.at("/auth/idp")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let html = r.text().await.unwrap();
    assert!(!html.contains("session store"), "{html}");
    assert!(html.contains("Test IdP is not available"), "{html}");
    assert!(
        html.contains("its metadata could not be loaded (IdP metadata: HTTP 500"),
        "{html}"
    );
    assert!(html.contains("href=\"/auth/idp\""), "a retry link: {html}");

    // A healthy SAML provider reports ready.
    let (l, _k) = lanyard("").await;
    let v: serde_json::Value = b
        .get(l.at("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "ready");
    assert_eq!(v["providers"]["idp"]["state"], "ready");
}
