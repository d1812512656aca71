//! Cookies: the SSO session, the login transaction of a redirect sign-in and the browser
//! binding of password forms, all opaque 256-bit random values.
//!
//! Outside local development they are `__Host-` cookies (`Secure`, `Path=/`, no `Domain`),
//! `HttpOnly`, `SameSite=Lax` (a sign-in must survive the top-level redirect back from an
//! identity provider). Browsers refuse a `__Host-` cookie without `Secure`, so on plain
//! `http://` loopback (local development only) the names lose the prefix.

use axum::http::HeaderMap;
use axum::http::header::{COOKIE, SET_COOKIE};
use cookie::{Cookie, SameSite};

use crate::secret::Secret;

/// The SSO session cookie.
pub const SESSION: &str = "lanyard_session";
/// The login transaction cookie of a redirect (OIDC, GitHub) sign-in.
pub const LOGIN: &str = "lanyard_login";
/// A per-browser random value that password forms are bound to: each form carries its
/// own transaction id, and the transaction keeps the SHA-256 of this cookie (see
/// `Sso::begin_form_login`). On its own it grants nothing.
pub const BROWSER: &str = "lanyard_browser";
/// How long the browser cookie lasts (renewed with each password form shown).
pub const BROWSER_MAX_AGE: i64 = 24 * 3600;
/// Binds a SAML sign-in to the browser that started it: `SameSite=None` (the IdP posts
/// cross-site), so only set on https.
pub const SAML_BINDING: &str = "lanyard_saml";

/// The cookie's name in this deployment.
pub fn name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// The value of cookie `base` in the request, if present and plausible (base64url, ≤ 128).
pub fn read(headers: &HeaderMap, base: &str, secure: bool) -> Option<Secret> {
    let wanted = name(base, secure);
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_owned()))
        .filter_map(Result::ok)
        .find(|c| c.name() == wanted)
        .map(|c| c.value().to_owned())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(Secret::new)
}

/// `Set-Cookie` for `base` = `value`, lasting `max_age` seconds.
pub fn set(headers: &mut HeaderMap, base: &str, secure: bool, value: &Secret, max_age: i64) {
    let cookie = Cookie::build((name(base, secure), value.expose_secret().to_owned()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    if let Ok(v) = cookie.to_string().parse() {
        headers.append(SET_COOKIE, v);
    }
}

/// `Set-Cookie` for a cookie that must come back on a cross-site POST (the SAML binding):
/// `__Host-`, `Secure`, `HttpOnly`, `SameSite=None`. Only for https deployments.
pub fn set_cross_site(headers: &mut HeaderMap, base: &str, value: &Secret, max_age: i64) {
    let cookie = Cookie::build((name(base, true), value.expose_secret().to_owned()))
        .path("/")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::None)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    if let Ok(v) = cookie.to_string().parse() {
        headers.append(SET_COOKIE, v);
    }
}

/// `Set-Cookie` that removes `base`.
pub fn clear(headers: &mut HeaderMap, base: &str, secure: bool) {
    let cookie = Cookie::build((name(base, secure), ""))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    if let Ok(v) = cookie.to_string().parse() {
        headers.append(SET_COOKIE, v);
    }
}
