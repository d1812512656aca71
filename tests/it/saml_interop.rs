//! Interop against a real SAML IdP: pysaml2 (tests/peers/saml/idp.py), started here on a
//! free loopback port. The IdP stamps real time, so these tests run Lanyard's clock at the
//! real time too.

use std::path::Path;

use lanyard::clock::{ManualClock, UnixTime};

use crate::harness::{Lanyard, browser, csrf_of, memory_store, start_with, token_of};
use crate::saml_support::*;

#[allow(clippy::disallowed_methods)]
fn real_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub(crate) enum Source<'a> {
    File,
    Url,
    Explicit(&'a [&'a str]),
}

pub(crate) struct Setup {
    pub(crate) l: Lanyard,
    pub(crate) idp: Idp,
    _dir: tempfile::TempDir,
}

pub(crate) async fn setup(opts: IdpOptions, source: Source<'_>, extra: &str) -> Setup {
    let idp = Idp::start(opts).await;
    let dir = tempfile::tempdir().unwrap();
    let idp_block = match source {
        Source::File => {
            let path = dir.path().join("idp-metadata.xml");
            std::fs::write(&path, idp.metadata().await).unwrap();
            format!("metadata_file = \"{}\"", path.display())
        }
        Source::Url => format!("metadata_url = \"{}\"", idp.url("/metadata")),
        Source::Explicit(certs) => format!(
            "idp_entity_id = \"{}\"\nsso_url = \"{}\"\ncertificates = [{}]",
            idp.entity_id(),
            idp.url("/sso/redirect"),
            certs
                .iter()
                .map(|c| format!("\"{}\"", fixture(c).display()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let provider = format!(
        "[[providers]]\nid = \"idp\"\nkind = \"saml\"\ndisplay_name = \"pysaml2 IdP\"\n{idp_block}\n\
         sp_key_file = \"{}\"\nsp_cert_file = \"{}\"\n{extra}\n",
        fixture("sp.key").display(),
        fixture("sp.crt").display(),
    );
    let keys = dir.path().join("keys");
    let text = lanyard_toml(Path::new(&keys), &provider);
    let clock = ManualClock::new(UnixTime::from_secs(real_now()));
    let store = memory_store(&clock);
    let l = start_with(&text, store, clock).await;
    Setup { l, idp, _dir: dir }
}

/// Starts a sign-in at Lanyard, lets the IdP answer for `user`, posts the answer to the ACS.
pub(crate) async fn sign_in(s: &Setup, b: &reqwest::Client, user: &str) -> reqwest::Response {
    let mut r = b.get(s.l.at("/auth/idp")).send().await.unwrap();
    // A metadata URL is fetched in the background at start: wait for it.
    for _ in 0..100 {
        if r.status() == 303 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        r = b.get(s.l.at("/auth/idp")).send().await.unwrap();
    }
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&s.idp.url("/sso/redirect?SAMLRequest=")));
    let (saml_response, relay_state) = s.idp.answer(&location, user).await;
    b.post(s.l.at("/auth/idp/callback"))
        .form(&[("SAMLResponse", saml_response), ("RelayState", relay_state)])
        .send()
        .await
        .unwrap()
}

pub(crate) fn signed_assertion() -> IdpOptions {
    IdpOptions {
        sign_assertion: true,
        ..IdpOptions::default()
    }
}

#[tokio::test]
async fn sp_initiated_sign_in_to_role_picker_to_token() {
    let s = setup(signed_assertion(), Source::File, "").await;
    // alice: engineering + admins with MFA → picker with engineer and admin.
    let b = browser();
    let r = sign_in(&s, &b, "alice").await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(r.headers()["location"], "/roles");
    let picker = b.get(s.l.at("/roles")).send().await.unwrap();
    assert_eq!(picker.status(), 200);
    let html = picker.text().await.unwrap();
    assert!(html.contains("value=\"engineer\"") && html.contains("value=\"admin\""));
    assert!(!html.contains("value=\"auditor\""));
    let r = b
        .post(s.l.at("/roles"))
        .form(&[
            ("role", "admin"),
            ("duration", "900"),
            ("csrf", &csrf_of(&html)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = b.get(s.l.at("/credentials")).send().await.unwrap();
    let token = token_of(&page.text().await.unwrap());
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["role"], "admin");
    assert_eq!(claims["idp"], "idp");
    assert_eq!(claims["sub"], "idp:alice-persistent-id");
    assert_eq!(claims["amr"], serde_json::json!(["mfa"]));
    assert_eq!(
        claims["groups"],
        serde_json::json!(["admins", "engineering"])
    );
    // bob: engineering only → straight to credentials.
    let b = browser();
    assert_eq!(sign_in(&s, &b, "bob").await.status(), 303);
    let r = b.get(s.l.at("/roles")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/credentials");
    // carol: finance → auditor.
    let b = browser();
    assert_eq!(sign_in(&s, &b, "carol").await.status(), 303);
    let r = b.get(s.l.at("/roles")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/credentials");
    let page = b.get(s.l.at("/credentials")).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("<code>auditor</code>"));
}

#[tokio::test]
async fn signed_response_with_unsigned_assertion() {
    let opts = IdpOptions {
        sign_response: true,
        ..IdpOptions::default()
    };
    let s = setup(opts, Source::File, "want_assertions_signed = false").await;
    let r = sign_in(&s, &browser(), "bob").await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn signed_response_alone_is_refused_when_assertions_must_be_signed() {
    let opts = IdpOptions {
        sign_response: true,
        ..IdpOptions::default()
    };
    let s = setup(opts, Source::File, "").await;
    let r = sign_in(&s, &browser(), "bob").await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("pysaml2 IdP"));
}

#[tokio::test]
async fn signed_response_and_signed_assertion() {
    let opts = IdpOptions {
        sign_response: true,
        sign_assertion: true,
        ..IdpOptions::default()
    };
    let s = setup(opts, Source::File, "").await;
    let r = sign_in(&s, &browser(), "alice").await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn encrypted_assertion() {
    let opts = IdpOptions {
        sign_assertion: true,
        encrypt_assertion: true,
        ..IdpOptions::default()
    };
    let s = setup(opts, Source::File, "").await;
    let b = browser();
    let r = sign_in(&s, &b, "carol").await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = b.get(s.l.at("/roles")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/credentials");
}

#[tokio::test]
async fn idp_initiated_when_allowed_honours_only_local_relay_state() {
    let s = setup(
        signed_assertion(),
        Source::File,
        "allow_idp_initiated = true",
    )
    .await;
    let post = |resp: String, relay: &'static str| {
        let b = browser();
        let url = s.l.at("/auth/idp/callback");
        async move {
            b.post(url)
                .form(&[("SAMLResponse", resp.as_str()), ("RelayState", relay)])
                .send()
                .await
                .unwrap()
        }
    };
    let r = post(
        s.idp.unsolicited("bob", "/credentials").await,
        "/credentials",
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(r.headers()["location"], "/credentials");
    let r = post(
        s.idp.unsolicited("bob", "https://evil.example/").await,
        "https://evil.example/",
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/roles");
}

#[tokio::test]
async fn idp_initiated_is_refused_by_default() {
    let s = setup(signed_assertion(), Source::File, "").await;
    let resp = s.idp.unsolicited("bob", "").await;
    let r = browser()
        .post(s.l.at("/auth/idp/callback"))
        .form(&[("SAMLResponse", resp.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("pysaml2 IdP"));
}

#[tokio::test]
async fn metadata_url_is_fetched() {
    let s = setup(signed_assertion(), Source::Url, "metadata_refresh = \"1h\"").await;
    assert_eq!(sign_in(&s, &browser(), "bob").await.status(), 303);
}

#[tokio::test]
async fn certificate_rollover_through_metadata() {
    // The IdP signs with its new key and publishes the old and the new certificate.
    let opts = IdpOptions {
        sign_assertion: true,
        rolled_key: true,
        extra_certs: vec!["idp1.crt"],
        ..IdpOptions::default()
    };
    let s = setup(opts, Source::File, "").await;
    assert_eq!(sign_in(&s, &browser(), "bob").await.status(), 303);
}

#[tokio::test]
async fn certificate_rollover_with_explicit_certificates() {
    let opts = IdpOptions {
        sign_assertion: true,
        rolled_key: true,
        ..IdpOptions::default()
    };
    let s = setup(
        opts.clone(),
        Source::Explicit(&["idp1.crt", "idp2.crt"]),
        "",
    )
    .await;
    assert_eq!(sign_in(&s, &browser(), "bob").await.status(), 303);
    // Before the new certificate is configured, the new key is not trusted.
    let s = setup(opts, Source::Explicit(&["idp1.crt"]), "").await;
    assert_eq!(sign_in(&s, &browser(), "bob").await.status(), 403);
}
