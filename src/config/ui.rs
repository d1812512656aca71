//! `[ui]`: the organisation's branding of the pages — its name (header and `<title>`), its
//! logo (an SVG or PNG file read when the config is loaded, so at start and at every
//! reload) and an accent colour for buttons and links. How they are shown (the theme
//! stylesheet, the contrast rules) is `web::ui`'s business; here they are read and
//! checked, each problem located at `ui.<key>`.

use std::fmt;
use std::sync::Arc;

use super::Cx;
use super::raw::RawUi;

/// The name shown when `[ui] name` is not set.
pub const DEFAULT_NAME: &str = "Lanyard";
/// The longest organisation name, in characters (it sits in the header of a phone).
pub const MAX_NAME_CHARS: usize = 64;
/// The largest logo file accepted.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;

/// The first bytes of every PNG file (PNG specification §5.2).
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// `[ui]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiConfig {
    /// The organisation's name: the header and every page's `<title>` ("Sign in · Acme").
    pub name: String,
    /// The logo shown in the header (alt text: `name`), served at `/static/logo`.
    pub logo: Option<Logo>,
    /// The accent colour of buttons and links.
    pub accent: Option<Rgb>,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            name: DEFAULT_NAME.to_owned(),
            logo: None,
            accent: None,
        }
    }
}

/// What kind of image a logo is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoKind {
    /// `image/svg+xml`.
    Svg,
    /// `image/png`.
    Png,
}

impl LogoKind {
    /// The media type it is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            LogoKind::Svg => "image/svg+xml",
            LogoKind::Png => "image/png",
        }
    }
}

/// A logo file's bytes, checked to be what its name says.
#[derive(Clone, PartialEq, Eq)]
pub struct Logo {
    /// SVG or PNG.
    pub kind: LogoKind,
    /// The file's content, shared by every router built from this config.
    pub bytes: Arc<[u8]>,
}

impl fmt::Debug for Logo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logo")
            .field("kind", &self.kind)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// An sRGB colour (`#rrggbb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub [u8; 3]);

impl Rgb {
    /// Parses `#rrggbb` (either case); nothing else (no short form, no names).
    pub fn parse(text: &str) -> Option<Rgb> {
        let hex = text.strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        Some(Rgb([byte(0)?, byte(2)?, byte(4)?]))
    }
}

impl fmt::Display for Rgb {
    /// `#rrggbb`, lower case.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

/// Why a logo file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogoError {
    /// The name does not end in `.svg` or `.png`.
    #[error("must be an .svg or .png file")]
    Extension,
    /// Larger than [`MAX_LOGO_BYTES`].
    #[error("is {0} bytes; a logo may be at most 256 KiB")]
    TooLarge(usize),
    /// Named `.png` but not a PNG.
    #[error("is named .png but is not a PNG image (its first bytes are not the PNG signature)")]
    NotPng,
    /// Named `.svg` but not an SVG document.
    #[error("is named .svg but is not an SVG image (UTF-8 text with an <svg> element)")]
    NotSvg,
}

/// The kind of logo a file `name` says it is, by its extension.
pub fn logo_kind(name: &str) -> Result<LogoKind, LogoError> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".svg") {
        Ok(LogoKind::Svg)
    } else if lower.ends_with(".png") {
        Ok(LogoKind::Png)
    } else {
        Err(LogoError::Extension)
    }
}

/// Checks a logo file's `bytes` against its `name`'s extension.
pub fn check_logo(name: &str, bytes: &[u8]) -> Result<LogoKind, LogoError> {
    let kind = logo_kind(name)?;
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(LogoError::TooLarge(bytes.len()));
    }
    match kind {
        LogoKind::Png if !bytes.starts_with(PNG_SIGNATURE) => Err(LogoError::NotPng),
        LogoKind::Svg if !looks_like_svg(bytes) => Err(LogoError::NotSvg),
        kind => Ok(kind),
    }
}

/// UTF-8 text that begins with markup (an XML declaration, a comment, a doctype or the
/// element itself) and holds an `<svg` element.
fn looks_like_svg(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let text = text.trim_start_matches('\u{feff}').trim_start();
    text.starts_with('<') && text.contains("<svg")
}

impl Cx<'_> {
    pub(super) fn ui(&mut self, value: Option<toml::Value>) -> UiConfig {
        let Some(value) = value else {
            return UiConfig::default();
        };
        let Some(raw) = self.shape::<RawUi>("ui", value) else {
            return UiConfig::default();
        };
        let name = match raw.name.as_deref().map(str::trim) {
            None => DEFAULT_NAME.to_owned(),
            Some("") => {
                self.error("ui.name", "must not be empty");
                DEFAULT_NAME.to_owned()
            }
            Some(n) if n.chars().count() > MAX_NAME_CHARS => {
                self.error(
                    "ui.name",
                    format!("must be at most {MAX_NAME_CHARS} characters"),
                );
                DEFAULT_NAME.to_owned()
            }
            Some(n) if n.chars().any(char::is_control) => {
                self.error(
                    "ui.name",
                    "must not hold control characters (line breaks, tabs)",
                );
                DEFAULT_NAME.to_owned()
            }
            Some(n) => n.to_owned(),
        };
        let logo = raw.logo.and_then(|file| self.logo(&file));
        let accent = raw.accent.and_then(|text| {
            let parsed = Rgb::parse(text.trim());
            if parsed.is_none() {
                self.error(
                    "ui.accent",
                    format!("{text:?} is not a colour written #rrggbb, such as \"#0b6e4f\""),
                );
            }
            parsed
        });
        UiConfig { name, logo, accent }
    }

    /// Reads and checks the logo file `file` (relative to the config file).
    fn logo(&mut self, file: &str) -> Option<Logo> {
        let path = self.path_of(file);
        // Looked at before reading: a wrong name or a huge file is not read at all.
        if let Err(e) = logo_kind(file) {
            self.error("ui.logo", format!("{}: {e}", path.display()));
            return None;
        }
        let size = std::fs::metadata(&path).map(|m| m.len());
        if let Ok(size) = size
            && size > MAX_LOGO_BYTES as u64
        {
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            self.error(
                "ui.logo",
                format!("{}: {}", path.display(), LogoError::TooLarge(size)),
            );
            return None;
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                self.error("ui.logo", format!("cannot read {}: {e}", path.display()));
                return None;
            }
        };
        match check_logo(file, &bytes) {
            Ok(kind) => Some(Logo {
                kind,
                bytes: bytes.into(),
            }),
            Err(e) => {
                self.error("ui.logo", format!("{}: {e}", path.display()));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_written_rrggbb() {
        assert_eq!(Rgb::parse("#0B6e4f"), Some(Rgb([0x0b, 0x6e, 0x4f])));
        assert_eq!(
            Rgb::parse("#0b6e4f").map(|c| c.to_string()).as_deref(),
            Some("#0b6e4f")
        );
        for bad in [
            "0b6e4f", "#0b6", "#0b6e4f0", "#0g6e4f", "green", "#+b6e4f", "",
        ] {
            assert_eq!(Rgb::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_logo_is_what_its_name_says() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let svg = b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
        assert_eq!(check_logo("a/Logo.PNG", png), Ok(LogoKind::Png));
        assert_eq!(check_logo("logo.svg", svg), Ok(LogoKind::Svg));
        assert_eq!(
            check_logo("logo.svg", b"\xef\xbb\xbf <svg/>"),
            Ok(LogoKind::Svg)
        );
        assert_eq!(check_logo("logo.png", svg), Err(LogoError::NotPng));
        assert_eq!(check_logo("logo.svg", png), Err(LogoError::NotSvg));
        assert_eq!(
            check_logo("logo.svg", b"hello <svg"),
            Err(LogoError::NotSvg)
        );
        assert_eq!(check_logo("logo.gif", b"GIF89a"), Err(LogoError::Extension));
        let big = vec![b' '; MAX_LOGO_BYTES + 1];
        assert_eq!(
            check_logo("logo.svg", &big),
            Err(LogoError::TooLarge(MAX_LOGO_BYTES + 1))
        );
    }
}
