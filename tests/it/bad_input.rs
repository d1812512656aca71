//! Bad input: each a clear 4xx page or JSON error, never a panic, nothing stored lost.

use crate::harness::{browser, csrf_of, start_memory};

#[tokio::test]
async fn unknown_provider_and_page_are_404_pages() {
    let l = start_memory().await;
    let b = browser();
    for path in ["/auth/nope", "/auth/no%20such", "/no/such/page"] {
        let r = b.get(l.at(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Reference:"),
            "{path}: correlation id on the page"
        );
    }
    let r = b
        .post(l.at("/auth/nope"))
        .form(&[("username", "a"), ("password", "b"), ("csrf", "c")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn malformed_and_oversized_forms() {
    let l = start_memory().await;
    let b = browser();
    let (_, html) = l.picker(&b, "alice").await;
    // Not a form at all.
    let r = b
        .post(l.at("/roles"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("The form could not be read"), "{text}");
    assert!(!text.contains("deserialize"), "{text}");
    // Missing fields.
    let r = b
        .post(l.at("/roles"))
        .form(&[("csrf", csrf_of(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("No role was chosen"));
    // Oversized body.
    let big = "x".repeat(200 * 1024);
    let r = b
        .post(l.at("/roles"))
        .form(&[
            ("role", big.as_str()),
            ("duration", "900"),
            ("csrf", &csrf_of(&html)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // The session survived all of it.
    assert_eq!(l.choose(&b, &html, "engineer", 900).await.status(), 303);
}

#[tokio::test]
async fn tampered_or_unknown_cookies_mean_signed_out() {
    let l = start_memory().await;
    let b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for cookie in [
        "lanyard_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "lanyard_session=../../etc/passwd",
        "lanyard_session=",
        "lanyard_session=%00%01",
    ] {
        let r = b
            .get(l.at("/roles"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{cookie}");
    }
    // A login POST without its browser cookie signs nobody in: the form again, not a crash.
    let r = b
        .post(l.at("/auth/corp"))
        .form(&[
            ("username", "alice"),
            ("password", "alice-pw"),
            ("csrf", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn api_errors_are_oauth_json() {
    let l = start_memory().await;
    let c = reqwest::Client::new();
    let r = c
        .post(l.at("/v1/authorize"))
        .json(&serde_json::json!({"action": "a:b", "resource": "*"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_token");
    assert!(v["error_description"].is_string());
    for token in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
        let r = c
            .post(l.at("/v1/authorize"))
            .bearer_auth(token)
            .json(&serde_json::json!({"action": "a:b", "resource": "*"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{token}");
    }
}

#[tokio::test]
async fn wrong_methods_are_refused_cleanly() {
    let l = start_memory().await;
    let r = browser().delete(l.at("/roles")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let r = browser().get(l.at("/signout")).send().await.unwrap();
    assert_eq!(r.status(), 405);
}
