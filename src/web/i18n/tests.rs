//! Tests of `web::i18n`: negotiation, the translation files, and saying things.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fluent_syntax::ast;

use super::*;

#[test]
fn negotiation_follows_q_values_and_falls_back_to_the_language() {
    let n = Locale::negotiate;
    assert_eq!(n("de"), Locale::De);
    assert_eq!(
        n("de-AT"),
        Locale::De,
        "a region falls back to its language"
    );
    assert_eq!(n("DE-at"), Locale::De, "tags are case-insensitive");
    assert_eq!(n("de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7"), Locale::De);
    assert_eq!(n("en-GB,en;q=0.9,de;q=0.8"), Locale::En);
    assert_eq!(
        n("en;q=0.5, de"),
        Locale::De,
        "the weight decides, not the order"
    );
    assert_eq!(
        n("de;q=0.5, en;q=0.5"),
        Locale::De,
        "equal weights keep the order"
    );
    assert_eq!(n("fr"), Locale::En, "unavailable: English");
    assert_eq!(n("fr-CH, fr;q=0.9, de;q=0.7, *;q=0.5"), Locale::De);
    assert_eq!(n("de;q=0, en"), Locale::En, "q=0 means not acceptable");
    assert_eq!(n("de;q=0.000"), Locale::En);
    assert_eq!(n("*"), Locale::En);
    assert_eq!(n(""), Locale::En);
}

#[test]
fn negotiation_skips_garbage() {
    let n = Locale::negotiate;
    for garbage in [
        ";;;,,,==",
        "q=1",
        "de;q=abc",
        "de;q=1.5",
        "de;q=-1",
        "de;q=0.1234",
        "de;q=",
        "<script>",
        "de_AT\u{0}",
        "ü",
        "de de",
        "123",
    ] {
        assert_eq!(n(garbage), Locale::En, "{garbage:?}");
    }
    assert_eq!(
        n("de;q=abc, de-AT;q=0.2"),
        Locale::De,
        "the good range still counts"
    );
    assert_eq!(
        n("  de ; q=0.8 "),
        Locale::De,
        "whitespace around the parts"
    );
}

#[test]
fn negotiation_reads_a_bounded_part_of_huge_headers() {
    let n = Locale::negotiate;
    // Far past the byte bound: never read.
    let long = format!("{},de", "x".repeat(100_000));
    assert_eq!(n(&long), Locale::En);
    // Within the bound but past the range count.
    let many = format!("{}de", "fr,".repeat(MAX_LANGUAGE_RANGES));
    assert_eq!(n(&many), Locale::En);
    let enough = format!("{}de", "fr,".repeat(MAX_LANGUAGE_RANGES - 1));
    assert_eq!(n(&enough), Locale::De);
    // A multi-byte character across the byte bound is cut before it, not through it.
    let wide = format!("{}é", "a".repeat(MAX_ACCEPT_LANGUAGE_BYTES - 1));
    assert_eq!(n(&wide), Locale::En);
    let tag = format!("de-{}", "a".repeat(60));
    assert_eq!(n(&tag), Locale::En, "an overlong tag is skipped");
}

#[test]
fn the_request_language_comes_from_its_header() {
    let mut headers = HeaderMap::new();
    assert_eq!(Locale::of(&headers), Locale::En);
    headers.insert(ACCEPT_LANGUAGE, "de-CH".parse().unwrap());
    assert_eq!(Locale::of(&headers), Locale::De);
    headers.insert(
        ACCEPT_LANGUAGE,
        axum::http::HeaderValue::from_bytes(b"de\xff").unwrap(),
    );
    assert_eq!(Locale::of(&headers), Locale::En, "not text: English");
    assert_eq!(current(), Locale::En, "outside a request");
}

#[test]
fn durations_read_well_in_both_languages() {
    let cases = [
        (60, "1 minute", "1 Minute"),
        (900, "15 minutes", "15 Minuten"),
        (3600, "1 hour", "1 Stunde"),
        (43_200, "12 hours", "12 Stunden"),
        (5400, "1 h 30 min", "1 Std. 30 Min."),
    ];
    for (secs, en, de) in cases {
        assert_eq!(Locale::En.duration(secs), en);
        assert_eq!(Locale::De.duration(secs), de);
    }
}

#[test]
fn placeables_carry_no_isolation_marks_and_counts_pick_plural_forms() {
    let said = Locale::En
        .msg("signin-continue-as")
        .arg("who", "alice")
        .to_string();
    assert_eq!(said, "Continue as alice");
    let one = Locale::De
        .msg("mfa-roles")
        .arg("count", 1_usize)
        .code_list("roles", ["admin"]);
    assert!(
        one.to_string().starts_with("Die Rolle admin erfordert"),
        "{one}"
    );
    let two = Locale::De
        .msg("mfa-roles")
        .arg("count", 2_usize)
        .code_list("roles", ["admin", "root"]);
    assert!(
        two.to_string()
            .starts_with("Die Rollen admin, root erfordern"),
        "{two}"
    );
    let en = Locale::En
        .msg("mfa-roles")
        .arg("count", 2_usize)
        .code_list("roles", ["admin", "root"]);
    assert!(en.to_string().ends_with("to get them."), "{en}");
}

#[test]
fn parts_keep_markup_out_of_the_text_and_values_cannot_forge_it() {
    let parts = Locale::En
        .msg("no-roles-lead")
        .strong("who", "Eve \u{E001}<b>")
        .code("subject", "corp:eve")
        .strong("provider", "Corp")
        .parts();
    let shown: Vec<(Tag, &str)> = parts.iter().map(|p| (p.tag, p.text.as_str())).collect();
    assert_eq!(
        shown,
        [
            (Tag::Plain, "You signed in as "),
            (Tag::Strong, "Eve \u{E001}<b>"),
            (Tag::Plain, " ("),
            (Tag::Code, "corp:eve"),
            (Tag::Plain, ") through "),
            (Tag::Strong, "Corp"),
            (
                Tag::Plain,
                ", but no role's trust policy allows this identity."
            ),
        ]
    );
    // A plain value holding a mark character does not become a marked piece.
    let parts = Locale::En
        .msg("signin-signed-in")
        .strong("who", "x")
        .arg("unused", "\u{E000}")
        .parts();
    assert_eq!(parts.iter().filter(|p| p.tag == Tag::Strong).count(), 1);
    let list = Locale::De
        .msg("mfa-roles")
        .arg("count", 2_usize)
        .code_list("roles", ["a", "b"])
        .parts();
    let codes: Vec<&str> = list
        .iter()
        .filter(|p| p.tag == Tag::Code)
        .map(|p| p.text.as_str())
        .collect();
    assert_eq!(codes, ["a", "b"]);
    assert!(list.iter().any(|p| p.tag == Tag::Plain && p.text == ", "));
}

#[test]
fn a_verbatim_sentence_is_the_same_in_every_language() {
    let m = Msg::verbatim("the body is not JSON");
    assert_eq!(m.render(Locale::De), "the body is not JSON");
    assert_eq!(m.id(), "");
}

#[test]
fn a_missing_message_falls_back_to_english_then_to_its_id() {
    let bundles = vec![
        (
            Locale::En,
            bundle(Locale::En, &[("t.ftl", "a = in English { $n }\nb = B\n")]),
        ),
        (
            Locale::De,
            bundle(Locale::De, &[("t.ftl", "b = B auf Deutsch\n")]),
        ),
    ];
    let mut args = FluentArgs::new();
    args.set("n", 3);
    assert_eq!(format_in(&bundles, Locale::De, "a", &args), "in English 3");
    assert_eq!(format_in(&bundles, Locale::De, "b", &args), "B auf Deutsch");
    assert_eq!(format_in(&bundles, Locale::De, "nope", &args), "nope");
    assert_eq!(format_in(&bundles, Locale::En, "nope", &args), "nope");
    // The real catalogue does the same.
    assert_eq!(
        Locale::De.msg("no-such-message").to_string(),
        "no-such-message"
    );
}

// The translation files.

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The messages of a language: id → the variables its value uses.
fn messages(locale: Locale) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    let files = SOURCES
        .iter()
        .find(|(l, _)| *l == locale)
        .map(|(_, f)| *f)
        .unwrap_or_default();
    for (name, text) in files {
        let resource = fluent_syntax::parser::parse(*text)
            .unwrap_or_else(|(_, errors)| panic!("{}/{name}: {errors:?}", locale.tag()));
        for entry in resource.body {
            match entry {
                ast::Entry::Message(m) => {
                    let mut vars = BTreeSet::new();
                    if let Some(p) = &m.value {
                        pattern_vars(p, &mut vars);
                    }
                    let id = m.id.name.to_owned();
                    assert!(
                        out.insert(id.clone(), vars).is_none(),
                        "{}: {id} is defined twice",
                        locale.tag()
                    );
                }
                ast::Entry::Junk { content } => {
                    panic!("{}/{name}: junk {content:?}", locale.tag())
                }
                _ => {}
            }
        }
    }
    out
}

fn pattern_vars(p: &ast::Pattern<&str>, vars: &mut BTreeSet<String>) {
    for element in &p.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            expression_vars(expression, vars);
        }
    }
}

fn expression_vars(e: &ast::Expression<&str>, vars: &mut BTreeSet<String>) {
    match e {
        ast::Expression::Inline(i) => inline_vars(i, vars),
        ast::Expression::Select { selector, variants } => {
            inline_vars(selector, vars);
            for v in variants {
                pattern_vars(&v.value, vars);
            }
        }
    }
}

fn inline_vars(i: &ast::InlineExpression<&str>, vars: &mut BTreeSet<String>) {
    match i {
        ast::InlineExpression::VariableReference { id } => {
            vars.insert(id.name.to_owned());
        }
        ast::InlineExpression::Placeable { expression } => expression_vars(expression, vars),
        _ => {}
    }
}

#[test]
fn every_translation_file_parses_cleanly_and_every_language_has_every_file() {
    for (locale, files) in SOURCES {
        let on_disk: BTreeSet<String> =
            std::fs::read_dir(root().join("locales").join(locale.tag()))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".ftl"))
                .collect();
        let compiled: BTreeSet<String> = files.iter().map(|(n, _)| (*n).to_owned()).collect();
        assert_eq!(
            on_disk,
            compiled,
            "{}: every file is compiled in",
            locale.tag()
        );
        for (name, text) in files {
            assert!(
                FluentResource::try_new((*text).to_owned()).is_ok(),
                "{name}"
            );
            for c in text.chars() {
                let n = c as u32;
                assert!(
                    !(0xE000..0xF900).contains(&n) && !(0x2066..=0x2069).contains(&n),
                    "{}/{name}: private-use or bidi character U+{n:04X}",
                    locale.tag()
                );
            }
        }
        assert!(!messages(locale).is_empty());
    }
}

#[test]
fn every_language_has_exactly_the_messages_and_placeables_of_english() {
    let en = messages(Locale::En);
    for locale in Locale::ALL {
        let other = messages(locale);
        let missing: Vec<&String> = en.keys().filter(|id| !other.contains_key(*id)).collect();
        let extra: Vec<&String> = other.keys().filter(|id| !en.contains_key(*id)).collect();
        assert!(missing.is_empty(), "{} lacks {missing:?}", locale.tag());
        assert!(
            extra.is_empty(),
            "{} has messages English lacks: {extra:?}",
            locale.tag()
        );
        for (id, vars) in &other {
            assert_eq!(
                Some(vars),
                en.get(id),
                "{}: the placeables of {id}",
                locale.tag()
            );
        }
    }
}

/// Every file under `dir` (recursively) whose name ends with `ext`.
fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.to_string_lossy().ends_with(ext) {
            out.push(path);
        }
    }
}

/// The ids a text names as `msg("id")` (templates, `Locale::msg`) or `Msg::new("id")`.
fn named_ids(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for marker in ["msg(\"", "Msg::new(\""] {
        for (i, _) in text.match_indices(marker) {
            let rest = &text[i + marker.len()..];
            if let Some(end) = rest.find('"') {
                ids.push(rest[..end].to_owned());
            }
        }
    }
    ids
}

#[test]
fn every_message_the_pages_and_the_code_name_exists_in_every_language() {
    let mut sources = Vec::new();
    files(&root().join("templates"), ".html", &mut sources);
    files(&root().join("src"), ".rs", &mut sources);
    let this_file = root().join("src/web/i18n/tests.rs");
    let mut named: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in sources.iter().filter(|p| **p != this_file) {
        let text = std::fs::read_to_string(path).unwrap();
        for id in named_ids(&text) {
            named.entry(id).or_insert_with(|| path.clone());
        }
    }
    assert!(named.len() > 50, "the scan finds the ids: {named:?}");
    for locale in Locale::ALL {
        let have = messages(locale);
        for (id, path) in &named {
            assert!(
                have.contains_key(id),
                "{} names \"{id}\", which locales/{}/ lacks",
                path.display(),
                locale.tag()
            );
        }
    }
    // And the other way round: a message nobody names is dead (or named in a way this
    // scan cannot see, which it must be able to).
    let unused: Vec<String> = messages(Locale::En)
        .into_keys()
        .filter(|id| !named.contains_key(id))
        .collect();
    assert!(unused.is_empty(), "messages nothing names: {unused:?}");
}

#[test]
fn the_scan_finds_ids_in_templates_and_code() {
    let ids = named_ids(
        "{{ t.msg(\"a-b\").arg(\"x\", y) }} Msg::new(\"c\") Locale::De.msg(\"d\") msg(x)",
    );
    assert_eq!(ids, ["a-b", "d", "c"]);
}
