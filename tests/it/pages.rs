//! Pages that never strand a person (issue 14): forms in two tabs, forms left open, error
//! pages. Rust-client checks first, then the same in Chromium (`chromium.rs`), with a
//! screenshot of each step in `target/screenshots/<test>/`.

use std::time::Duration;

use lanyard::clock::{ManualClock, UnixTime};

use crate::chromium::Page;
use crate::harness::{Lanyard, T0, browser, config_text, csrf_of, memory_store, start_public};

const EXPIRED: &str = "That form had expired; please sign in again.";
/// Titles a page must never have: HTTP reason phrases.
const REASON_PHRASES: &[&str] = &[
    "Bad Request",
    "Forbidden",
    "Not Found",
    "Unauthorized",
    "Internal Server Error",
    "Payload Too Large",
    "Service Unavailable",
    "Too Many Requests",
];

async fn lanyard() -> Lanyard {
    let keys = tempfile::tempdir().unwrap();
    let text = config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let mut l = start_public(&text, memory_store(&clock), clock).await;
    l.keep(keys);
    l
}

async fn form(l: &Lanyard, b: &reqwest::Client) -> String {
    let r = b.get(l.at("/auth/corp")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    csrf_of(&r.text().await.unwrap())
}

async fn submit(l: &Lanyard, b: &reqwest::Client, user: &str, txn: &str) -> reqwest::Response {
    b.post(l.at("/auth/corp"))
        .form(&[
            ("username", user),
            ("password", &format!("{user}-pw")),
            ("csrf", txn),
        ])
        .send()
        .await
        .unwrap()
}

fn title_of(html: &str) -> &str {
    let start = html.find("<title>").map_or(0, |i| i + 7);
    let end = html[start..].find("</title>").map_or(start, |i| i + start);
    &html[start..end]
}

fn assert_plain_title(html: &str) {
    let title = title_of(html);
    for phrase in REASON_PHRASES {
        assert!(
            !title.contains(phrase),
            "title {title:?} is a reason phrase"
        );
    }
}

/// Two forms open in one browser: each has its own transaction, so either works, in any
/// order. On main the second form overwrote the first's cookie: 403 "Forbidden".
#[tokio::test]
async fn two_forms_in_one_browser_both_sign_in() {
    let l = lanyard().await;
    let b = browser();
    let first = form(&l, &b).await;
    let second = form(&l, &b).await;
    assert_ne!(first, second);
    let r = submit(&l, &b, "alice", &first).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = submit(&l, &b, "bob", &second).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
}

/// A form left open past its 10 minutes, or sent twice, comes back fresh with the username
/// kept and a soft notice; never a "Forbidden" page.
#[tokio::test]
async fn a_stale_or_used_form_comes_back_fresh() {
    let l = lanyard().await;
    let b = browser();
    let txn = form(&l, &b).await;
    l.clock.advance(Duration::from_secs(11 * 60));
    let r = submit(&l, &b, "alice", &txn).await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains(EXPIRED), "{html}");
    assert!(html.contains("value=\"alice\""), "username kept: {html}");
    assert!(!html.contains("Forbidden"), "{html}");
    assert_plain_title(&html);
    // Nothing was signed in, and the fresh form works.
    assert_eq!(b.get(l.at("/roles")).send().await.unwrap().status(), 303);
    let fresh = csrf_of(&html);
    assert_ne!(fresh, txn);
    assert_eq!(submit(&l, &b, "alice", &fresh).await.status(), 303);
    // The same form again: used, so a fresh one with the notice.
    let r = submit(&l, &b, "alice", &fresh).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains(EXPIRED));
}

/// CSRF stays as strong: a form's transaction id without the browser's own cookie (another
/// browser, e.g. an attacker who fetched a form and makes the victim post it) signs nobody
/// in, and does not use up the transaction of the browser it belongs to.
#[tokio::test]
async fn a_form_is_bound_to_the_browser_that_opened_it() {
    let l = lanyard().await;
    let owner = browser();
    let txn = form(&l, &owner).await;
    let other = browser();
    let _ = form(&l, &other).await; // `other` has a browser cookie of its own
    let r = submit(&l, &other, "alice", &txn).await;
    assert_eq!(r.status(), 400);
    let set_cookies: Vec<_> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        !set_cookies
            .iter()
            .any(|c| c.starts_with("lanyard_session=")),
        "{set_cookies:?}"
    );
    assert_eq!(b_roles(&l, &other).await, 303, "not signed in");
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(submit(&l, &bare, "alice", &txn).await.status(), 400);
    // The owner's form still works.
    assert_eq!(submit(&l, &owner, "alice", &txn).await.status(), 303);
}

async fn b_roles(l: &Lanyard, b: &reqwest::Client) -> u16 {
    b.get(l.at("/roles"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn fill_and_send(page: &Page, user: &str) {
    page.fill("username", user).await;
    page.fill("password", &format!("{user}-pw")).await;
    page.click("form[method=post] button[type=submit]").await;
}

/// The sign-in form in two tabs: the second tab signs in, then the first one does too.
#[tokio::test]
async fn two_tabs_in_chromium_both_sign_in() {
    let l = lanyard().await;
    let page = Page::open("two_tabs").await;
    page.goto(&l.at("/auth/corp")).await;
    let first = page.client.window().await.unwrap();
    let second = page.client.new_window(true).await.unwrap();
    page.client.switch_to_window(second.handle).await.unwrap();
    page.goto(&l.at("/auth/corp")).await;
    page.shot("second-tab").await;
    fill_and_send(&page, "alice").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    page.client.switch_to_window(first).await.unwrap();
    page.shot("first-tab").await;
    fill_and_send(&page, "alice").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    page.shot("first-tab-signed-in").await;
    assert!(page.text().await.contains("Choose a role"));
    page.close().await;
}

/// A form left open for 11 minutes: the form again, username kept, a notice; then the
/// password alone signs in.
#[tokio::test]
async fn a_form_left_open_in_chromium_comes_back_fresh() {
    let l = lanyard().await;
    let page = Page::open("stale_form").await;
    page.goto(&l.at("/auth/corp")).await;
    l.clock.advance(Duration::from_secs(11 * 60));
    fill_and_send(&page, "alice").await;
    page.wait_for_url("the form again", |u| u.path() == "/auth/corp")
        .await;
    page.shot("expired-notice").await;
    let text = page.text().await;
    assert!(text.contains(EXPIRED), "{text}");
    assert!(!text.contains("Forbidden"), "{text}");
    assert_plain_title(&page.html().await);
    let kept = page
        .client
        .find(fantoccini::Locator::Css("#username"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("alice"));
    page.fill("password", "alice-pw").await;
    page.click("form[method=post] button[type=submit]").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    page.close().await;
}

/// The picker sent with no role chosen (the filter showed none): a plain sentence, a title
/// that is not a reason phrase, and a link back to the picker, not to sign-in. On main:
/// "Failed to deserialize form body: missing field `role`" under the title "Bad Request".
#[tokio::test]
async fn a_picker_sent_without_a_role_says_so_plainly() {
    let l = lanyard().await;
    let b = browser();
    let (_, html) = l.picker(&b, "alice").await;
    let r = b
        .post(l.at("/roles"))
        .form(&[("duration", "900"), ("csrf", &csrf_of(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        !html.contains("deserialize") && !html.contains("missing field"),
        "{html}"
    );
    assert!(html.contains("No role was chosen"), "{html}");
    assert!(html.contains("href=\"/roles\""), "{html}");
    assert_plain_title(&html);
}

/// The same in Chromium: filter to nothing, press the button.
#[tokio::test]
async fn an_empty_filter_in_chromium_does_not_show_developer_text() {
    let l = lanyard().await;
    let page = Page::open("empty_filter").await;
    page.goto(&l.at("/auth/corp")).await;
    fill_and_send(&page, "alice").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    page.goto(&l.at("/roles?q=nothing-matches-this")).await;
    page.shot("no-match").await;
    page.click("form[action=\"/roles\"][method=post] button[type=submit]")
        .await;
    page.wait_for_url("the answer", |u| {
        u.query().is_none() && u.path() == "/roles"
    })
    .await;
    page.shot("answer").await;
    let text = page.text().await;
    assert!(
        !text.contains("deserialize") && !text.contains("missing field"),
        "{text}"
    );
    assert!(text.contains("No role was chosen"), "{text}");
    assert_plain_title(&page.html().await);
    page.click("a[href=\"/roles\"]").await;
    page.wait_for_url("the picker again", |u| u.path() == "/roles")
        .await;
    assert!(page.text().await.contains("Choose a role"));
    page.close().await;
}

/// alice picks admin (at most 1 hour) with 12 hours in Chromium: credentials for 1 hour,
/// and the page says why; on main a 400 page.
#[tokio::test]
async fn a_length_longer_than_the_role_allows_is_shortened_in_chromium() {
    let l = lanyard().await;
    let page = Page::open("duration_shortened").await;
    page.goto(&l.at("/auth/corp")).await;
    fill_and_send(&page, "alice").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    page.click("input[name=role][value=\"admin\"]").await;
    page.client
        .find(fantoccini::Locator::Css("#duration"))
        .await
        .unwrap()
        .select_by_value("43200")
        .await
        .unwrap();
    page.shot("admin-12h").await;
    page.click("form[action=\"/roles\"][method=post] button[type=submit]")
        .await;
    page.wait_for_url("the credentials", |u| u.path() == "/credentials")
        .await;
    page.shot("credentials-shortened").await;
    let text = page.text().await;
    assert!(
        text.contains("The role admin grants sessions of at most 1 hour"),
        "{text}"
    );
    assert_plain_title(&page.html().await);
    page.close().await;
}

/// A signed-in person who opens `/` (or `/signin`) is told who they are and can continue;
/// on main the bare sign-in page, whose use silently ended the session and its tokens.
#[tokio::test]
async fn the_sign_in_page_knows_who_is_signed_in_in_chromium() {
    let l = lanyard().await;
    let page = Page::open("signed_in_state").await;
    page.goto(&l.at("/auth/corp")).await;
    fill_and_send(&page, "alice").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    page.goto(&l.at("/")).await;
    page.wait_for_url("the sign-in page", |u| u.path() == "/signin")
        .await;
    page.shot("signed-in-state").await;
    let text = page.text().await;
    assert!(
        text.contains("Signed in as alice — continue, or use another account"),
        "{text}"
    );
    page.click("a[href=\"/roles\"]").await;
    page.wait_for_url("the picker", |u| u.path() == "/roles")
        .await;
    assert!(page.text().await.contains("Choose a role"));
    page.close().await;
}
