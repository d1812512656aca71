//! Sealing of role-session tokens under a key only the SSO cookie yields (HKDF-SHA-256,
//! AES-256-GCM), bound to the role session id.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const SALT: &[u8] = b"lanyard/sso/role-session-token/v1";

const INFO: &[&[u8]] = &[b"aes-256-gcm"];

fn key(cookie: &str) -> Option<LessSafeKey> {
    let prk = Salt::new(HKDF_SHA256, SALT).extract(cookie.as_bytes());
    let okm = prk.expand(INFO, &AES_256_GCM).ok()?;
    Some(LessSafeKey::new(UnboundKey::from(okm)))
}

/// Seals `token` for the browser holding `cookie`, bound to the role session `id`.
pub(super) fn seal(cookie: &str, id: &str, token: &str) -> Option<String> {
    let key = key(cookie)?;
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce).ok()?;
    let mut sealed = token.as_bytes().to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(id.as_bytes()),
        &mut sealed,
    )
    .ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Some(URL_SAFE_NO_PAD.encode(out))
}

/// Opens what [`seal`] sealed; `None` for another cookie, another id or a damaged value.
pub(super) fn open(cookie: &str, id: &str, sealed: &str) -> Option<String> {
    let key = key(cookie)?;
    let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if bytes.len() < NONCE_LEN {
        return None;
    }
    let (nonce, rest) = bytes.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut rest = rest.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(id.as_bytes()), &mut rest)
        .ok()?;
    String::from_utf8(plain.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::{open, seal};

    #[test]
    fn a_sealed_token_opens_only_with_its_cookie_and_role_session() {
        let sealed = seal("cookie-a", "rs-1", "header.payload.signature").unwrap();
        assert!(!sealed.contains("signature"));
        assert_eq!(
            open("cookie-a", "rs-1", &sealed).as_deref(),
            Some("header.payload.signature")
        );
        assert_eq!(open("cookie-b", "rs-1", &sealed), None);
        assert_eq!(open("cookie-a", "rs-2", &sealed), None);
        assert_eq!(open("cookie-a", "rs-1", "short"), None);
        // A fresh nonce each time.
        assert_ne!(
            sealed,
            seal("cookie-a", "rs-1", "header.payload.signature").unwrap()
        );
    }
}
