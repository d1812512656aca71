//! The `[ui]` settings at work on the pages: the organisation's name in every header and
//! `<title>`, its logo (`GET /static/logo`), and its accent colour as a generated stylesheet
//! (`GET /static/theme.css`; the page CSP forbids inline style), with the colour maths
//! that keeps every text/background pair readable (WCAG 2.2 contrast).
//!
//! A [`Branding`] is built once per router (at start and at every config reload) and made
//! the current one for each request by the envelope, so that every page — error pages
//! rendered far from the state included — shows the same name.
//!
//! May import: `config`, `web::error`, `web::i18n`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::config::{LogoKind, Rgb, UiConfig};
use crate::web::error::{PageError, WebError};
use crate::web::i18n::Msg;

/// The card's background (light scheme): what the accent must stand out on.
pub const LIGHT_CARD: Rgb = Rgb([0xff, 0xff, 0xff]);
/// The card's background in the dark scheme.
pub const DARK_CARD: Rgb = Rgb([0x1a, 0x1e, 0x24]);
/// The least contrast of text against its background (WCAG 2.2 SC 1.4.3, level AA).
pub const MIN_TEXT_CONTRAST: f64 = 4.5;

/// The logo's own Content-Security-Policy. An SVG shown through `<img>` never runs
/// scripts nor loads anything (browsers render images in a secure static mode), so this
/// only matters when the logo is opened by itself: then nothing loads and no script runs
/// (`default-src 'none'`, and `sandbox` gives it an opaque origin); inline styles, which
/// SVG files often carry in `style` attributes, stay allowed so that it still looks right.
pub const LOGO_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

const BLACK: Rgb = Rgb([0, 0, 0]);
const WHITE: Rgb = Rgb([0xff, 0xff, 0xff]);

/// How the pages are branded, from `[ui]`.
#[derive(Debug, Clone)]
pub struct Branding {
    /// The organisation's name (header, `<title>`, the logo's `alt`).
    pub name: String,
    /// Where the header's logo is loaded from, versioned by its content.
    pub logo_href: Option<String>,
    /// Where the theme stylesheet is loaded from, versioned by its content.
    pub theme_href: Option<String>,
    logo: Option<(LogoKind, Arc<[u8]>)>,
    theme_css: Option<String>,
}

impl Default for Branding {
    fn default() -> Self {
        Self::new(&UiConfig::default())
    }
}

impl Branding {
    /// The branding `[ui]` describes.
    pub fn new(ui: &UiConfig) -> Self {
        let logo = ui.logo.as_ref().map(|l| (l.kind, Arc::clone(&l.bytes)));
        let theme_css = ui.accent.map(theme_css);
        Self {
            name: ui.name.clone(),
            // A new file or colour gets a new address, so that a reload is seen at once
            // although both are cached.
            logo_href: logo
                .as_ref()
                .map(|(_, bytes)| format!("/static/logo?v={:016x}", fnv1a(bytes))),
            theme_href: theme_css
                .as_ref()
                .map(|css| format!("/static/theme.css?v={:016x}", fnv1a(css.as_bytes()))),
            logo,
            theme_css,
        }
    }
}

tokio::task_local! {
    /// The branding of the router handling the request (set by the envelope).
    static CURRENT: Arc<Branding>;
}

/// Runs `f` with `branding` as the current one (the envelope, for each request).
pub fn scope<F: std::future::Future>(
    branding: Arc<Branding>,
    f: F,
) -> tokio::task::futures::TaskLocalFuture<Arc<Branding>, F> {
    CURRENT.scope(branding, f)
}

/// The branding of the request being handled; the default one outside a request.
pub fn current() -> Arc<Branding> {
    CURRENT
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::new(Branding::default()))
}

/// `GET /static/theme.css`: the accent's stylesheet (404 without `[ui] accent`).
pub async fn theme(State(branding): State<Arc<Branding>>) -> Response {
    match &branding.theme_css {
        Some(css) => (
            [
                (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            css.clone(),
        )
            .into_response(),
        None => PageError(WebError::NotFound(Msg::new("error-no-such-page"))).into_response(),
    }
}

/// `GET /static/logo`: the `[ui] logo` file with its media type (404 without one); an
/// SVG with [`LOGO_CSP`].
pub async fn logo(State(branding): State<Arc<Branding>>) -> Response {
    let Some((kind, bytes)) = &branding.logo else {
        return PageError(WebError::NotFound(Msg::new("error-no-such-page"))).into_response();
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, kind.content_type()),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        axum::body::Bytes::from_owner(Arc::clone(bytes)),
    )
        .into_response();
    if *kind == LogoKind::Svg {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(LOGO_CSP),
        );
    }
    response
}

/// The stylesheet for `accent`, loaded after `lanyard.css` and overriding its variables:
/// - buttons take the accent, their text black or white, whichever contrasts more (one
///   of the two always reaches 4.5:1);
/// - links (and focus rings) take the accent only when it reaches 4.5:1 on the card,
///   else they keep Lanyard's own link colour;
/// - in the dark scheme the accent is lightened (mixed with white) until it reaches
///   4.5:1 on the dark card, and buttons and links take that.
pub fn theme_css(accent: Rgb) -> String {
    let dark = readable_on(accent, DARK_CARD);
    let mut css = format!(
        "/* Lanyard theme: [ui] accent = \"{accent}\". Generated; see web::ui::theme_css. */\n\
         :root {{ --accent: {accent}; --on-accent: {}; ",
        text_on(accent)
    );
    if contrast(accent, LIGHT_CARD) >= MIN_TEXT_CONTRAST {
        css.push_str(&format!("--link: {accent}; "));
    }
    css.push_str(&format!(
        "}}\n@media (prefers-color-scheme: dark) {{ :root {{ --accent: {dark}; --on-accent: {}; \
         --link: {dark}; }} }}\n",
        text_on(dark)
    ));
    css
}

/// The relative luminance of an sRGB colour (WCAG 2.2, "relative luminance").
pub fn luminance(c: Rgb) -> f64 {
    let linear = |v: u8| {
        let s = f64::from(v) / 255.0;
        if s <= 0.04045 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    let [r, g, b] = c.0;
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

/// The contrast ratio of two colours, 1 to 21 (WCAG 2.2, "contrast ratio").
pub fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la >= lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// Black or white, whichever contrasts more with `background` (black on a tie).
pub fn text_on(background: Rgb) -> Rgb {
    if contrast(BLACK, background) >= contrast(WHITE, background) {
        BLACK
    } else {
        WHITE
    }
}

/// `colour` itself when it reaches [`MIN_TEXT_CONTRAST`] on `background`, else the first
/// mix of it with white, in steps of 5 %, that does (white always does on a dark card).
pub fn readable_on(colour: Rgb, background: Rgb) -> Rgb {
    (0..=20)
        .map(|step| mix_with_white(colour, f64::from(step) / 20.0))
        .find(|c| contrast(*c, background) >= MIN_TEXT_CONTRAST)
        .unwrap_or(WHITE)
}

/// `colour` mixed with white: 0 keeps it, 1 is white.
fn mix_with_white(colour: Rgb, amount: f64) -> Rgb {
    let channel = |v: u8| {
        let mixed = f64::from(v) + (255.0 - f64::from(v)) * amount;
        // In 0..=255 by construction; the cast only drops the fraction.
        mixed.round().clamp(0.0, 255.0) as u8
    };
    let [r, g, b] = colour.0;
    Rgb([channel(r), channel(g), channel(b)])
}

/// FNV-1a, 64 bits: a short, stable fingerprint of a file for its versioned address.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb(text: &str) -> Rgb {
        Rgb::parse(text).unwrap()
    }

    #[test]
    fn contrast_follows_wcag() {
        assert!((contrast(BLACK, WHITE) - 21.0).abs() < 1e-9);
        assert!((contrast(WHITE, WHITE) - 1.0).abs() < 1e-9);
        assert_eq!(contrast(BLACK, WHITE), contrast(WHITE, BLACK));
        // Known ratios: #767676 is the lightest grey with 4.5:1 on white; Lanyard's own
        // link blue #1f5fbf has about 6.1:1.
        assert!((contrast(rgb("#767676"), WHITE) - 4.54).abs() < 0.01);
        assert!((contrast(rgb("#1f5fbf"), WHITE) - 6.09).abs() < 0.01);
        assert!((luminance(rgb("#808080")) - 0.2159).abs() < 0.001);
    }

    #[test]
    fn text_on_the_accent_is_black_or_white_whichever_contrasts_more() {
        assert_eq!(text_on(rgb("#1f5fbf")), WHITE);
        assert_eq!(text_on(rgb("#ffcc00")), BLACK);
        assert_eq!(text_on(rgb("#0b6e4f")), WHITE);
        // Whatever the accent, one of the two reaches 4.5:1.
        for v in (0..=255u8).step_by(5) {
            for accent in [
                Rgb([v, 0, 0]),
                Rgb([0, v, 0]),
                Rgb([0, 0, v]),
                Rgb([v, v, v]),
            ] {
                let c = contrast(text_on(accent), accent);
                assert!(c >= MIN_TEXT_CONTRAST, "{accent}: {c}");
            }
        }
    }

    #[test]
    fn a_dark_scheme_accent_is_lightened_until_it_reads() {
        let navy = rgb("#0b2a6f");
        let dark = readable_on(navy, DARK_CARD);
        assert_ne!(dark, navy);
        assert!(contrast(dark, DARK_CARD) >= MIN_TEXT_CONTRAST);
        // The lightest mix needed, not white.
        assert_ne!(dark, WHITE);
        let yellow = rgb("#ffcc00");
        assert_eq!(readable_on(yellow, DARK_CARD), yellow, "already readable");
        assert_eq!(
            readable_on(BLACK, DARK_CARD).0[0],
            readable_on(BLACK, DARK_CARD).0[2]
        );
    }

    #[test]
    fn links_take_the_accent_only_when_it_reads_on_the_card() {
        let green = theme_css(rgb("#0b6e4f"));
        assert!(
            green.contains(":root { --accent: #0b6e4f; --on-accent: #ffffff; --link: #0b6e4f; }"),
            "{green}"
        );
        let yellow = theme_css(rgb("#ffcc00"));
        assert!(
            yellow.contains(":root { --accent: #ffcc00; --on-accent: #000000; }"),
            "{yellow}"
        );
        assert!(yellow.contains(
            "@media (prefers-color-scheme: dark) { :root { --accent: #ffcc00; --on-accent: #000000; --link: #ffcc00; } }"
        ), "{yellow}");
    }

    #[test]
    fn addresses_change_with_the_content() {
        let mut ui = UiConfig::default();
        assert_eq!(Branding::new(&ui).theme_href, None);
        assert_eq!(Branding::new(&ui).name, "Lanyard");
        ui.accent = Some(rgb("#0b6e4f"));
        let a = Branding::new(&ui).theme_href.unwrap();
        ui.accent = Some(rgb("#0b6e50"));
        let b = Branding::new(&ui).theme_href.unwrap();
        assert!(a.starts_with("/static/theme.css?v="));
        assert_ne!(a, b);
    }
}
