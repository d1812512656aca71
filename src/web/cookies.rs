//! Cookies: the SSO session and the login transaction, both opaque 256-bit random values.
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
/// The login transaction cookie.
pub const LOGIN: &str = "lanyard_login";

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
