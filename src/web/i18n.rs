//! Pages in the browser's language: `Accept-Language` negotiation, the translations and
//! the calls templates and handlers use to say something.
//!
//! The translations are Project Fluent files, `locales/<lang>/*.ftl`, compiled into the
//! binary ([`SOURCES`]) and parsed once, on first use. English is complete and is the
//! fallback of every other language: a message missing from a language is said in English,
//! and one missing from English is shown as its id and logged (never a panic). Tests keep
//! both from happening: every id the templates and the code name exists in every language.
//!
//! A sentence is a [`Msg`]: a message id and its arguments, said in a [`Locale`]. Templates
//! call `{{ t.msg("signin-title") }}` (where `t` is the page's [`Locale`]) and pass
//! placeables with `.arg("who", who)`; counts are numbers, so Fluent picks the plural form.
//! askama escapes the text like any other value. A placeable that the page shows as markup
//! (`<strong>`, `<code>`) is passed with `.strong(…)`/`.code(…)` and the template renders
//! the message's [`Msg::parts`] through the `rich` macro of `templates/i18n.html`, so that
//! the markup stays in the template and every piece of text is still escaped by askama.
//!
//! Fluent's bidi isolation marks (U+2068/U+2069 around placeables) are off: both languages
//! are left-to-right, and the marks would end up inside copied names and role names.
//!
//! May import: nothing of ours outside `web` (it is a leaf of the web layer).

use std::fmt;
use std::sync::LazyLock;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// The longest `Accept-Language` read, in bytes; the rest is ignored (it is unauthenticated
/// input, and real browsers send well under 200 bytes).
pub const MAX_ACCEPT_LANGUAGE_BYTES: usize = 512;
/// The most language ranges of an `Accept-Language` considered.
pub const MAX_LANGUAGE_RANGES: usize = 16;
/// The longest language tag considered (BCP 47 tags in practice are far shorter).
const MAX_TAG_LEN: usize = 35;

/// The first character of the private-use range [`Msg::parts`] marks placeables with.
const MARK: u32 = 0xE000;

/// A language Lanyard's pages are available in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Locale {
    /// English, complete, the default and the fallback.
    #[default]
    En,
    /// German.
    De,
}

impl Locale {
    /// Every available language, the default first.
    pub const ALL: [Locale; 2] = [Locale::En, Locale::De];

    /// The language tag (`<html lang>`, `Content-Language`, the folder under `locales/`).
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
        }
    }

    /// The language tag, for templates: `<html lang="{{ t.lang() }}">`.
    pub fn lang(&self) -> &'static str {
        self.tag()
    }

    fn langid(self) -> LanguageIdentifier {
        // A tag of letters only always parses (the tests use every locale).
        LanguageIdentifier::from_bytes(self.tag().as_bytes()).unwrap_or_default()
    }

    /// The language of a request: the best available match for its `Accept-Language`
    /// (q-values honoured, regions falling back to their language: `de-AT` → `de`), else
    /// English.
    pub fn of(headers: &HeaderMap) -> Locale {
        headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map_or(Locale::En, Locale::negotiate)
    }

    /// The best available match for an `Accept-Language` value, else English. Reads at
    /// most [`MAX_ACCEPT_LANGUAGE_BYTES`] and [`MAX_LANGUAGE_RANGES`] ranges; anything that
    /// is not a well-formed range is skipped.
    pub fn negotiate(accept_language: &str) -> Locale {
        let requested = accepted(accept_language);
        let available = Locale::ALL.map(Locale::langid);
        let default = Locale::En.langid();
        let chosen = fluent_langneg::negotiate_languages(
            &requested,
            &available,
            Some(&default),
            fluent_langneg::NegotiationStrategy::Lookup,
        );
        chosen
            .first()
            .and_then(|id| Locale::ALL.into_iter().find(|l| l.langid() == **id))
            .unwrap_or_default()
    }

    /// The message `id` in this language; add its arguments with [`Msg::arg`] and friends.
    pub fn msg(&self, id: &'static str) -> Msg {
        Msg::new(id).in_locale(*self)
    }

    /// A sentence made elsewhere (a notice, an error), in this language.
    pub fn say(&self, msg: &Msg) -> String {
        msg.render(*self)
    }

    /// A length of time in words: `900` → "15 minutes", `3600` → "1 hour", `5400` →
    /// "1 h 30 min" (in German "15 Minuten", "1 Stunde", "1 Std. 30 Min.").
    pub fn duration(&self, secs: u64) -> String {
        self.say(&duration(secs))
    }
}

/// A length of time as a sentence part (see [`Locale::duration`]).
pub fn duration(secs: u64) -> Msg {
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    match (h, m) {
        (0, m) => Msg::new("duration-minutes").arg("minutes", m),
        (h, 0) => Msg::new("duration-hours").arg("hours", h),
        (h, m) => Msg::new("duration-hours-minutes")
            .arg("hours", h)
            .arg("minutes", m),
    }
}

/// The language ranges of an `Accept-Language` value (RFC 9110 §12.5.4), best first:
/// ordered by q-value (stable, so equal weights keep the browser's order), without `*`,
/// ranges of weight 0 and anything malformed.
fn accepted(value: &str) -> Vec<LanguageIdentifier> {
    let mut end = value.len().min(MAX_ACCEPT_LANGUAGE_BYTES);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let mut ranges: Vec<(u16, LanguageIdentifier)> = value[..end]
        .split(',')
        .take(MAX_LANGUAGE_RANGES)
        .filter_map(|item| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let weight = match parts.next() {
                None => 1000,
                Some(q) => weight(q)?,
            };
            let well_formed = !tag.is_empty()
                && tag.len() <= MAX_TAG_LEN
                && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !well_formed || weight == 0 {
                return None;
            }
            Some((weight, tag.parse::<LanguageIdentifier>().ok()?))
        })
        .collect();
    ranges.sort_by_key(|(weight, _)| std::cmp::Reverse(*weight));
    ranges.into_iter().map(|(_, id)| id).collect()
}

/// A `q=` parameter in thousandths (`q=0.8` → 800); `None` when malformed.
fn weight(param: &str) -> Option<u16> {
    let value = param
        .trim()
        .strip_prefix("q=")
        .or(param.trim().strip_prefix("Q="))?;
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

/// The page's language, as handlers take it: negotiated once per request by the envelope
/// (which also sets `Content-Language`), or from the request's headers.
impl<S: Send + Sync> FromRequestParts<S> for Locale {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Locale>()
            .copied()
            .unwrap_or_else(|| Locale::of(&parts.headers)))
    }
}

tokio::task_local! {
    /// The language of the request being handled (set by the envelope), for what is
    /// rendered without the request at hand: error pages.
    pub static LOCALE: Locale;
}

/// The current request's language, or English outside a request.
pub fn current() -> Locale {
    LOCALE.try_with(|l| *l).unwrap_or_default()
}

/// How a placeable is shown on a page (see [`Msg::parts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// Plain text.
    Plain,
    /// `<strong>`: a name the sentence is about.
    Strong,
    /// `<code>`: an identifier as the system spells it.
    Code,
}

/// A value for a placeable.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// Text, shown as it is (escaped by the template).
    Text(String),
    /// A number: Fluent selects plural forms on it.
    Number(i64),
    /// Another sentence, said in the same language (a reason inside an error sentence).
    Msg(Box<Msg>),
    /// Text a page shows in markup, or a list of such texts (joined by ", ").
    Marked(Tag, Vec<String>),
}

/// What can be a placeable's value: text, numbers, sentences, and references to them (as
/// templates pass them).
pub trait ToArg {
    /// The value.
    fn to_arg(&self) -> Arg;
}

impl<T: ToArg + ?Sized> ToArg for &T {
    fn to_arg(&self) -> Arg {
        (**self).to_arg()
    }
}

impl ToArg for str {
    fn to_arg(&self) -> Arg {
        Arg::Text(self.to_owned())
    }
}

impl ToArg for String {
    fn to_arg(&self) -> Arg {
        Arg::Text(self.clone())
    }
}

impl ToArg for Msg {
    fn to_arg(&self) -> Arg {
        Arg::Msg(Box::new(self.clone()))
    }
}

impl ToArg for Arg {
    fn to_arg(&self) -> Arg {
        self.clone()
    }
}

macro_rules! number_args {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn to_arg(&self) -> Arg {
                Arg::Number(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
number_args!(u16, u32, u64, usize, i64);

/// A piece of a sentence as a page shows it: text, or a placeable in markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// How it is shown.
    pub tag: Tag,
    /// The text (escaped by the template).
    pub text: String,
}

/// A sentence: a message id with its arguments, said in a [`Locale`] (English until
/// [`Msg::in_locale`]); a [`Msg::verbatim`] sentence is the same text in every language.
/// Formats as plain text; [`Msg::parts`] gives the pieces for markup.
#[derive(Debug, Clone, PartialEq)]
pub struct Msg {
    id: &'static str,
    args: Vec<(&'static str, Arg)>,
    locale: Locale,
    /// Text that is not translated (machine-facing API sentences, never page text).
    verbatim: Option<String>,
}

impl Msg {
    /// The message `id` (a literal: the tests find every id the code names this way).
    pub const fn new(id: &'static str) -> Msg {
        Msg {
            id,
            args: Vec::new(),
            locale: Locale::En,
            verbatim: None,
        }
    }

    /// A sentence that is not translated: for JSON APIs, whose `error_description` is
    /// machine-facing and English. Pages never show one.
    pub fn verbatim(text: impl Into<String>) -> Msg {
        Msg {
            id: "",
            args: Vec::new(),
            locale: Locale::En,
            verbatim: Some(text.into()),
        }
    }

    /// The message id (empty for a verbatim sentence).
    pub fn id(&self) -> &'static str {
        self.id
    }

    /// The same sentence said in `locale`.
    #[must_use]
    pub fn in_locale(mut self, locale: Locale) -> Msg {
        self.locale = locale;
        self
    }

    /// Sets the placeable `$name` to `value` (text, a number or another sentence).
    #[must_use]
    pub fn arg(mut self, name: &'static str, value: impl ToArg) -> Msg {
        self.args.push((name, value.to_arg()));
        self
    }

    /// Sets `$name` to `value`, shown in `<strong>` by [`Msg::parts`].
    #[must_use]
    pub fn strong(self, name: &'static str, value: impl fmt::Display) -> Msg {
        self.arg(name, Arg::Marked(Tag::Strong, vec![value.to_string()]))
    }

    /// Sets `$name` to `value`, shown in `<code>` by [`Msg::parts`].
    #[must_use]
    pub fn code(self, name: &'static str, value: impl fmt::Display) -> Msg {
        self.arg(name, Arg::Marked(Tag::Code, vec![value.to_string()]))
    }

    /// Sets `$name` to a list, each item in `<code>` by [`Msg::parts`], joined by ", ".
    #[must_use]
    pub fn code_list<I>(self, name: &'static str, items: I) -> Msg
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        let items = items.into_iter().map(|i| i.to_string()).collect();
        self.arg(name, Arg::Marked(Tag::Code, items))
    }

    /// The sentence in `locale`, as plain text.
    pub fn render(&self, locale: Locale) -> String {
        if let Some(text) = &self.verbatim {
            return text.clone();
        }
        let mut args = FluentArgs::new();
        for (name, value) in &self.args {
            let value = match value {
                Arg::Text(s) => FluentValue::from(s.as_str()),
                Arg::Number(n) => FluentValue::from(*n),
                Arg::Msg(m) => FluentValue::from(m.render(locale)),
                Arg::Marked(_, items) => FluentValue::from(items.join(", ")),
            };
            args.set(*name, value);
        }
        format(locale, self.id, &args)
    }

    /// The sentence in its language as pieces: the text between placeables, and each
    /// placeable set with [`Msg::strong`]/[`Msg::code`] as a piece of its own (a list, one
    /// piece per item with ", " between). `templates/i18n.html`'s `rich` macro shows them,
    /// each escaped by askama.
    pub fn parts(&self) -> Vec<Part> {
        if let Some(text) = &self.verbatim {
            return vec![plain(text.clone())];
        }
        // Each marked placeable is formatted as one private-use character, then the text is
        // cut there. Characters of that range in other values are replaced first, so that
        // only the marks cut.
        let mut marked: Vec<(Tag, &[String])> = Vec::new();
        let mut args = FluentArgs::new();
        for (name, value) in &self.args {
            let value = match value {
                Arg::Text(s) => FluentValue::from(unmarked(s)),
                Arg::Number(n) => FluentValue::from(*n),
                Arg::Msg(m) => FluentValue::from(unmarked(&m.render(self.locale))),
                Arg::Marked(tag, items) => {
                    let index = u32::try_from(marked.len()).unwrap_or(0);
                    marked.push((*tag, items));
                    let mark = char::from_u32(MARK + index).unwrap_or('\u{FFFD}');
                    FluentValue::from(mark.to_string())
                }
            };
            args.set(*name, value);
        }
        let text = format(self.locale, self.id, &args);
        let mut parts = Vec::new();
        let mut run = String::new();
        for c in text.chars() {
            let found = (c as u32)
                .checked_sub(MARK)
                .and_then(|i| marked.get(usize::try_from(i).ok()?));
            match found {
                Some((tag, items)) => {
                    if !run.is_empty() {
                        parts.push(plain(std::mem::take(&mut run)));
                    }
                    for (n, item) in items.iter().enumerate() {
                        if n > 0 {
                            parts.push(plain(", ".to_owned()));
                        }
                        parts.push(Part {
                            tag: *tag,
                            text: item.clone(),
                        });
                    }
                }
                None => run.push(c),
            }
        }
        if !run.is_empty() {
            parts.push(plain(run));
        }
        parts
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(self.locale))
    }
}

fn plain(text: String) -> Part {
    Part {
        tag: Tag::Plain,
        text,
    }
}

/// `s` with the characters [`Msg::parts`] uses as marks replaced.
fn unmarked(s: &str) -> String {
    s.chars()
        .map(|c| match c as u32 {
            n if (MARK..MARK + 0x100).contains(&n) => '\u{FFFD}',
            _ => c,
        })
        .collect()
}

/// The translation files, compiled in: per language, each file's name and text. A new file
/// is added to every language here; a new language gets a [`Locale`] variant and a row.
pub const SOURCES: [(Locale, &[(&str, &str)]); 2] = [
    (
        Locale::En,
        &[
            ("pages.ftl", include_str!("../../locales/en/pages.ftl")),
            ("errors.ftl", include_str!("../../locales/en/errors.ftl")),
            ("admin.ftl", include_str!("../../locales/en/admin.ftl")),
            (
                "requests.ftl",
                include_str!("../../locales/en/requests.ftl"),
            ),
        ],
    ),
    (
        Locale::De,
        &[
            ("pages.ftl", include_str!("../../locales/de/pages.ftl")),
            ("errors.ftl", include_str!("../../locales/de/errors.ftl")),
            ("admin.ftl", include_str!("../../locales/de/admin.ftl")),
            (
                "requests.ftl",
                include_str!("../../locales/de/requests.ftl"),
            ),
        ],
    ),
];

/// One bundle per language, parsed on first use. The files are constants of the binary,
/// like the stylesheet, so they are kept in a `static` rather than in the state.
static BUNDLES: LazyLock<Vec<(Locale, FluentBundle<FluentResource>)>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(locale, files)| (*locale, bundle(*locale, files)))
        .collect()
});

/// The bundle of `locale` from its files. A file with a syntax error still gives the
/// messages that parsed (the tests keep every file clean); the error is logged.
fn bundle(locale: Locale, files: &[(&str, &str)]) -> FluentBundle<FluentResource> {
    let mut bundle = FluentBundle::new_concurrent(vec![locale.langid()]);
    bundle.set_use_isolating(false);
    for (name, text) in files {
        let resource = match FluentResource::try_new((*text).to_owned()) {
            Ok(r) => r,
            Err((r, errors)) => {
                tracing::error!(
                    lang = locale.tag(),
                    file = name,
                    ?errors,
                    "translation file has errors"
                );
                r
            }
        };
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(
                lang = locale.tag(),
                file = name,
                ?errors,
                "translation file repeats a message"
            );
        }
    }
    bundle
}

/// The message `id` in `locale` with `args`: else in English, else the id itself.
fn format(locale: Locale, id: &str, args: &FluentArgs) -> String {
    format_in(&BUNDLES, locale, id, args)
}

/// [`format`] over `bundles`.
fn format_in(
    bundles: &[(Locale, FluentBundle<FluentResource>)],
    locale: Locale,
    id: &str,
    args: &FluentArgs,
) -> String {
    let order = [locale, Locale::En];
    let tries = if locale == Locale::En {
        &order[..1]
    } else {
        &order[..]
    };
    for try_locale in tries {
        let Some((_, bundle)) = bundles.iter().find(|(l, _)| l == try_locale) else {
            continue;
        };
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            tracing::warn!(lang = try_locale.tag(), id, "message missing");
            continue;
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(args), &mut errors);
        if !errors.is_empty() {
            tracing::warn!(
                lang = try_locale.tag(),
                id,
                ?errors,
                "message formatted with errors"
            );
        }
        return text.into_owned();
    }
    id.to_owned()
}

#[cfg(test)]
mod tests;
