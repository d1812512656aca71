//! Reading SAML XML with `roxmltree`: strict helpers over the trees of the received document
//! (its structure checks, [`super::validate`]), of the canonical bytes xmlsec hashed (the
//! claims) and of decrypted assertions, the counterpart of [`super::xml`]'s helpers over
//! libxml trees (which metadata still uses).
//!
//! Why not libxml2, which xmlsec verifies with: `roxmltree` (pure Rust, no `unsafe`) reads a
//! document in a fraction of the time libxml2 and the `libxml` crate's node wrappers take,
//! and without the process-wide libxml lock ([`super::with_xmlsec`]). The signed bytes are
//! canonical XML (XML-C14N §2: no DTD, no CDATA, no comments in the without-comments forms
//! Lanyard pins, attributes normalised, namespaces declared where used), well-formed by
//! construction. The received document is not: where the two parsers could read it
//! differently, [`super::validate`] refuses it, and so does [`attribute`] for one attribute.
//!
//! May import: the parent module's error and namespaces only.

use roxmltree::{Document, Node, ParsingOptions};

use super::SamlError;
use super::xml::parse_time;
use crate::clock::UnixTime;

/// Parses `text` (canonical signed bytes or a decrypted assertion): a DTD is refused, as
/// everywhere in Lanyard's SAML reading.
pub fn parse(text: &str) -> Result<Document<'_>, SamlError> {
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options)
        .map_err(|_| SamlError::Malformed("the signed bytes are not well-formed XML".into()))
}

/// Whether `node` is the element `{ns}name`.
pub fn is(node: &Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}

/// Child elements `{ns}name` of `node`, in document order.
pub fn children<'a, 'input>(
    node: &Node<'a, 'input>,
    ns: &str,
    name: &str,
) -> Vec<Node<'a, 'input>> {
    node.children().filter(|c| is(c, ns, name)).collect()
}

/// The only child `{ns}name`; `None` when absent; an error when repeated.
pub fn at_most_one<'a, 'input>(
    node: &Node<'a, 'input>,
    ns: &str,
    name: &str,
) -> Result<Option<Node<'a, 'input>>, SamlError> {
    let mut found = node.children().filter(|c| is(c, ns, name));
    match (found.next(), found.next()) {
        (first, None) => Ok(first),
        _ => Err(SamlError::Malformed(format!(
            "more than one {name} element"
        ))),
    }
}

/// The only child `{ns}name`, required.
pub fn exactly_one<'a, 'input>(
    node: &Node<'a, 'input>,
    ns: &str,
    name: &str,
) -> Result<Node<'a, 'input>, SamlError> {
    at_most_one(node, ns, name)?
        .ok_or_else(|| SamlError::Malformed(format!("the {name} element is missing")))
}

/// The text of an element that must hold exactly one text node and nothing else (see
/// [`super::xml::whole_text`]: a comment, a processing instruction or a child element is
/// refused rather than read around), trimmed.
pub fn whole_text(node: &Node<'_, '_>, what: &'static str) -> Result<String, SamlError> {
    let mut kids = node.children();
    match (kids.next(), kids.next()) {
        (None, _) => Ok(String::new()),
        (Some(k), None) if k.is_text() => Ok(k.text().unwrap_or_default().trim().to_owned()),
        _ => Err(SamlError::SplitText(what)),
    }
}

/// The attribute `name` in no namespace. An element that also carries an attribute of that
/// local name in a namespace (`x:ID` beside `ID`) is refused: libxml2's `xmlGetProp`, which
/// samael and xmlsec use on the received document, matches either, so the two readings
/// could disagree.
pub fn attribute<'a>(node: &Node<'a, '_>, name: &str) -> Result<Option<&'a str>, SamlError> {
    let mut found = None;
    for a in node.attributes() {
        if a.name() != name {
            continue;
        }
        if a.namespace().is_some() {
            return Err(SamlError::Malformed(format!(
                "{} carries {name} in a namespace",
                node.tag_name().name()
            )));
        }
        found = Some(a.value());
    }
    Ok(found)
}

/// A required attribute.
pub fn required<'a>(node: &Node<'a, '_>, name: &str) -> Result<&'a str, SamlError> {
    attribute(node, name)?.ok_or_else(|| {
        SamlError::Malformed(format!(
            "{} has no {name} attribute",
            node.tag_name().name()
        ))
    })
}

/// An `xs:dateTime` attribute (whole seconds).
pub fn time_attr(node: &Node<'_, '_>, name: &str) -> Result<Option<UnixTime>, SamlError> {
    attribute(node, name)?.map(parse_time).transpose()
}

/// The element's `ID`, required to be an NCName-like token (no whitespace, no `#`).
pub fn id<'a>(node: &Node<'a, '_>) -> Result<&'a str, SamlError> {
    let id = required(node, "ID")?;
    if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c == '#') {
        return Err(SamlError::Malformed(
            "an ID attribute is not an NCName".into(),
        ));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "urn:x";

    #[test]
    fn whole_text_refuses_comments_and_markup() {
        let doc = parse("<n xmlns='urn:x'>alice@example.com</n>").unwrap();
        assert_eq!(
            whole_text(&doc.root_element(), "NameID").unwrap(),
            "alice@example.com"
        );
        let doc = parse("<n><![CDATA[alice]]>@example.com</n>").unwrap();
        assert_eq!(
            whole_text(&doc.root_element(), "NameID").unwrap(),
            "alice@example.com",
            "CDATA is text"
        );
        for bad in [
            "<n>alice@example.com<!---->.evil.com</n>",
            "<n>alice@example.com<?pi x?>.evil.com</n>",
            "<n>alice<b/>@example.com</n>",
        ] {
            let doc = parse(bad).unwrap();
            assert!(
                matches!(
                    whole_text(&doc.root_element(), "NameID"),
                    Err(SamlError::SplitText("NameID"))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_dtd_is_refused() {
        assert!(parse("<!DOCTYPE r [<!ENTITY x \"y\">]><r>&x;</r>").is_err());
        assert!(parse("<r>&x;</r>").is_err(), "an undeclared entity");
    }

    #[test]
    fn an_attribute_also_in_a_namespace_is_refused() {
        let doc = parse("<r xmlns:x='urn:y' ID='good' Version='2.0'/>").unwrap();
        assert_eq!(id(&doc.root_element()).unwrap(), "good");
        // libxml2's xmlGetProp would read `x:ID` (the first of the two); refused here.
        let doc = parse("<r xmlns:x='urn:y' x:ID='evil' ID='good'/>").unwrap();
        assert!(matches!(
            id(&doc.root_element()),
            Err(SamlError::Malformed(_))
        ));
        let doc = parse("<r xmlns:x='urn:y' x:ID='only'/>").unwrap();
        assert!(id(&doc.root_element()).is_err(), "no unqualified ID");
    }

    #[test]
    fn children_are_matched_by_namespace_and_name() {
        let doc = parse("<r xmlns='urn:x' xmlns:o='urn:o'><a/><o:a/><a/><b/></r>").unwrap();
        let r = doc.root_element();
        assert_eq!(children(&r, NS, "a").len(), 2);
        assert!(at_most_one(&r, NS, "a").is_err());
        assert!(at_most_one(&r, NS, "b").unwrap().is_some());
        assert!(exactly_one(&r, NS, "c").is_err());
        assert_eq!(children(&r, "urn:o", "a").len(), 1);
    }
}
