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

pub(crate) async fn fill_and_send(page: &Page, user: &str) {
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

/// The same in Chromium: filtered to nothing, the picker has no button to press, says so
/// plainly and links back to every role. On main a button whose press answered "missing
/// field `role`".
#[tokio::test]
async fn an_empty_filter_in_chromium_offers_a_way_back_not_a_button() {
    let l = lanyard().await;
    let page = Page::open("empty_filter").await;
    page.goto(&l.at("/auth/corp")).await;
    fill_and_send(&page, "alice").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    page.goto(&l.at("/roles?q=nothing-matches-this")).await;
    page.shot("no-match").await;
    let text = page.text().await;
    assert!(
        text.contains("No role matches \u{201c}nothing-matches-this\u{201d}"),
        "{text}"
    );
    assert_eq!(submit_buttons(&page).await, 0, "nothing to submit");
    page.click(".no-match a").await;
    page.wait_for_url("the picker again", |u| {
        u.query().is_none() && u.path() == "/roles"
    })
    .await;
    assert!(page.text().await.contains("Choose a role"));
    assert_eq!(submit_buttons(&page).await, 1);
    page.close().await;
}

/// alice's roles each offer their own lengths in Chromium: admin (at most 1 hour) nothing
/// longer, engineer up to 4 hours, and 4 hours chosen for engineer is what the
/// credentials last. On main one list offered 12 hours to every role and a longer choice
/// was shortened after the fact.
#[tokio::test]
async fn each_role_offers_its_own_lengths_in_chromium() {
    let l = lanyard().await;
    let page = Page::open("lengths_per_role").await;
    page.goto(&l.at("/auth/corp")).await;
    fill_and_send(&page, "alice").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    assert_eq!(lengths(&page, "admin").await, [900, 1800, 3600]);
    assert_eq!(
        lengths(&page, "engineer").await,
        [900, 1800, 3600, 7200, 14_400]
    );
    assert_eq!(lengths(&page, "auditor").await.last(), Some(&43_200));
    page.click("input[name=role][value=\"engineer\"]").await;
    choose_length(&page, "engineer", "14400").await;
    page.shot("engineer-4h").await;
    page.click(GET_CREDENTIALS).await;
    page.wait_for_url("the credentials", |u| u.path() == "/credentials")
        .await;
    page.shot("credentials-4h").await;
    let text = page.text().await;
    // The script counts down from the seconds Lanyard gave ("expires in 4:00:00").
    let html = page.html().await;
    assert!(html.contains("data-seconds-left=\"14400\""), "{html}");
    assert!(!text.contains("grants sessions of at most"), "{text}");
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

/// The picker's "Get credentials" (or "Continue") button: the form's own, a direct child
/// (the Filter and star buttons are in the rows and the filter box).
const GET_CREDENTIALS: &str = "form[action=\"/roles\"][method=post] > button[type=submit]";

/// How many "Get credentials" buttons the page has.
async fn submit_buttons(page: &Page) -> u64 {
    let js = format!("return document.querySelectorAll('{GET_CREDENTIALS}').length;");
    page.client
        .execute(&js, vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap()
}

/// Runs `js` (which returns a list of strings) on the page.
async fn strings(page: &Page, js: &str) -> Vec<String> {
    let found = page.client.execute(js, vec![]).await.unwrap();
    serde_json::from_value(found).unwrap()
}

/// The headings of the picker, in order.
async fn legends(page: &Page) -> Vec<String> {
    strings(
        page,
        "return [...document.querySelectorAll('fieldset legend')].map(l => l.textContent);",
    )
    .await
}

/// The roles on the picker, in order.
async fn listed(page: &Page) -> Vec<String> {
    strings(
        page,
        "return [...document.querySelectorAll('input[name=role]')].map(r => r.value);",
    )
    .await
}

/// The role whose radio button is checked.
async fn checked(page: &Page) -> Vec<String> {
    strings(
        page,
        "return [...document.querySelectorAll('input[name=role]:checked')].map(r => r.value);",
    )
    .await
}

/// The session lengths (seconds) `role`'s own select offers.
async fn lengths(page: &Page, role: &str) -> Vec<u64> {
    let js = format!(
        "return [...document.querySelectorAll('select[name=\"duration.{role}\"] option')]\
         .map(o => o.value);"
    );
    strings(page, &js)
        .await
        .iter()
        .map(|v| v.parse().unwrap())
        .collect()
}

/// Chooses `seconds` in `role`'s own select.
async fn choose_length(page: &Page, role: &str, seconds: &str) {
    page.client
        .find(fantoccini::Locator::Css(&format!(
            "select[name=\"duration.{role}\"]"
        )))
        .await
        .unwrap()
        .select_by_value(seconds)
        .await
        .unwrap();
}

/// Waits (up to 10 s) until the picker's headings satisfy `ok` (a star reloads the same
/// address, so the location cannot tell).
async fn until_legends(page: &Page, what: &str, ok: impl Fn(&[String]) -> bool) -> Vec<String> {
    let started = std::time::Instant::now();
    loop {
        let found = legends(page).await;
        if ok(&found) {
            return found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "waited for {what}; headings {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// 25 more roles for alice: three groups with different maximums, and eight of no group
/// (at most 1 hour). The Payments roles' descriptions do not say "payments", so only the
/// group name matches that filter.
pub(crate) fn many_roles() -> String {
    let trust = "{ Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = \
                 { Federated = \"corp\" }, Action = \"sts:AssumeRole\", Condition = \
                 { StringEquals = { \"idp:username\" = \"alice\" } } }] }";
    let mut text = String::new();
    let sets: [(&str, Option<&str>, &str, &str, usize); 4] = [
        ("pay", Some("Payments"), "Card processing", "4h", 6),
        ("search", Some("Search"), "Search cluster", "12h", 6),
        ("data", Some("Data platform"), "Warehouse", "2h", 5),
        ("scratch", None, "Sandbox", "1h", 8),
    ];
    for (prefix, group, description, max, n) in sets {
        for i in 0..n {
            text.push_str(&format!(
                "\n[[roles]]\nname = \"{prefix}-{i:02}\"\ndescription = \"{description} {i}\"\n\
                 max_session_duration = \"{max}\"\ntrust_policy = {trust}\n"
            ));
            if let Some(g) = group {
                text.push_str(&format!("group = \"{g}\"\n"));
            }
        }
    }
    text
}

pub(crate) async fn lanyard_with_many_roles() -> Lanyard {
    let keys = tempfile::tempdir().unwrap();
    let mut text = config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    text.push_str(&many_roles());
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let mut l = start_public(&text, memory_store(&clock), clock).await;
    l.keep(keys);
    l
}

/// 28 roles in Chromium: groups alphabetically and the roles of no group last; a filter by
/// a group's name shows its roles and keeps the role chosen, as does clearing it; each
/// role offers only its own lengths; a starred role comes first; a filter that matches
/// nothing offers no button; after credentials the role used comes first. Issue 14.
#[tokio::test]
async fn a_long_role_list_in_chromium() {
    let l = lanyard_with_many_roles().await;
    let page = Page::open("many_roles").await;
    page.goto(&l.at("/auth/corp")).await;
    fill_and_send(&page, "alice").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    page.shot("many-roles").await;
    assert!(page.text().await.contains("Showing 28 of 28 roles"));
    assert_eq!(
        legends(&page).await,
        [
            "Compliance",
            "Data platform",
            "Engineering",
            "Payments",
            "Search",
            "Other roles"
        ]
    );
    assert_eq!(lengths(&page, "scratch-00").await, [900, 1800, 3600]);
    assert_eq!(lengths(&page, "data-00").await.last(), Some(&7200));
    assert_eq!(lengths(&page, "search-00").await.last(), Some(&43_200));

    // Choose pay-03, then filter by its group's name (in capitals): only its roles, pay-03
    // still chosen (the first row would be preselected otherwise).
    page.click("input[name=role][value=\"pay-03\"]").await;
    page.fill("q", "PAYMENTS").await;
    page.click("button[name=action][value=filter]").await;
    page.wait_for_url("the filtered picker", |u| {
        u.query_pairs().any(|(k, v)| k == "q" && v == "PAYMENTS")
    })
    .await;
    page.shot("filtered-by-group").await;
    let pay: Vec<String> = (0..6).map(|i| format!("pay-{i:02}")).collect();
    assert_eq!(listed(&page).await, pay);
    assert_eq!(legends(&page).await, ["Payments"]);
    assert_eq!(checked(&page).await, ["pay-03"]);
    assert!(page.text().await.contains("Showing 6 of 28 roles"));
    // Cleared: every role again, pay-03 still chosen.
    page.click(".filter a").await;
    page.wait_for_url("the whole list", |u| {
        u.path() == "/roles" && !u.query_pairs().any(|(k, _)| k == "q")
    })
    .await;
    assert_eq!(listed(&page).await.len(), 28);
    assert_eq!(checked(&page).await, ["pay-03"]);

    // Star scratch-07 (of no group): listed first, under Favourites, its star filled.
    page.click("button.star[name=star][value=\"scratch-07\"]")
        .await;
    until_legends(&page, "Favourites first", |l| {
        l.first().is_some_and(|f| f == "Favourites")
    })
    .await;
    page.shot("starred").await;
    assert_eq!(listed(&page).await[0], "scratch-07");
    assert_eq!(checked(&page).await, ["pay-03"], "the star kept the choice");
    let html = page.html().await;
    assert!(html.contains("Remove scratch-07 from favourites"), "{html}");

    // Nothing matches: no button, a sentence and a way back.
    page.fill("q", "no-such-role-anywhere").await;
    page.click("button[name=action][value=filter]").await;
    page.wait_for_url("the empty list", |u| {
        u.query_pairs()
            .any(|(k, v)| k == "q" && v == "no-such-role-anywhere")
    })
    .await;
    page.shot("no-match").await;
    let text = page.text().await;
    assert!(
        text.contains("No role matches \u{201c}no-such-role-anywhere\u{201d}"),
        "{text}"
    );
    assert_eq!(submit_buttons(&page).await, 0);
    page.click(".no-match a").await;
    page.wait_for_url("the whole list", |u| {
        u.path() == "/roles" && !u.query_pairs().any(|(k, _)| k == "q")
    })
    .await;
    assert_eq!(checked(&page).await, ["pay-03"]);

    // pay-03 for 1 hour, chosen in its own list.
    choose_length(&page, "pay-03", "3600").await;
    page.shot("pay-03-1h").await;
    page.click(GET_CREDENTIALS).await;
    page.wait_for_url("the credentials", |u| u.path() == "/credentials")
        .await;
    let text = page.text().await;
    let html = page.html().await;
    assert!(
        text.contains("pay-03") && html.contains("data-seconds-left=\"3600\""),
        "{text}"
    );

    // Back on the picker: the role used last first, then the favourite, the rest after.
    page.goto(&l.at("/roles")).await;
    page.shot("last-used-first").await;
    let headings = legends(&page).await;
    assert_eq!(headings[..3], ["Last used", "Favourites", "Compliance"]);
    assert_eq!(headings.last().map(String::as_str), Some("Other roles"));
    assert_eq!(listed(&page).await[..2], ["pay-03", "scratch-07"]);
    assert_eq!(checked(&page).await, ["pay-03"]);
    assert_eq!(listed(&page).await.len(), 28, "each role once");

    // The star taken away: no Favourites heading.
    page.click("button.star[name=unstar][value=\"scratch-07\"]")
        .await;
    until_legends(&page, "no favourites", |l| {
        !l.iter().any(|h| h == "Favourites")
    })
    .await;
    page.shot("unstarred").await;
    page.close().await;
}

/// The forms behind those pages, without a browser: each role's own length is the one
/// used; a length beyond the role is shortened, one beyond any list shows the picker
/// again with a plain notice; a star needs the CSRF token and a role that exists.
#[tokio::test]
async fn lengths_and_stars_by_hand() {
    let l = lanyard().await;
    let b = browser();
    let (_, html) = l.picker(&b, "alice").await;
    let csrf = csrf_of(&html);
    let post = |fields: Vec<(&'static str, String)>| {
        let b = b.clone();
        let url = l.at("/roles");
        async move { b.post(url).form(&fields).send().await.unwrap() }
    };
    // engineer's own field wins over the plain one.
    let r = post(vec![
        ("role", "engineer".into()),
        ("duration.engineer", "7200".into()),
        ("duration.admin", "900".into()),
        ("duration", "900".into()),
        ("csrf", csrf.clone()),
    ])
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/credentials");
    let (_, creds) = l.credentials(&b).await;
    assert!(creds.contains("in 2 hours"), "{creds}");
    // No length at all: the default (1 hour), within admin's.
    let r = post(vec![("role", "admin".into()), ("csrf", csrf.clone())]).await;
    assert_eq!(r.headers()["location"], "/credentials");
    // 5 minutes for admin: the picker again, admin chosen, saying what admin grants.
    let r = post(vec![
        ("role", "admin".into()),
        ("duration.admin", "300".into()),
        ("csrf", csrf.clone()),
    ])
    .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("Choose a role"), "{page}");
    assert!(
        page.contains("The role admin grants sessions of 15 minutes to 1 hour"),
        "{page}"
    );
    assert!(page.contains("value=\"admin\" required checked"), "{page}");
    assert_plain_title(&page);
    // The Filter button: back to the picker with the filter and the choice.
    let r = post(vec![
        ("role", "auditor".into()),
        ("action", "filter".into()),
        ("q", " logs ".into()),
        ("csrf", csrf.clone()),
    ])
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/roles?q=logs&selected=auditor");

    let star = |fields: Vec<(&'static str, String)>| {
        let b = b.clone();
        let url = l.at("/roles/favourites");
        async move { b.post(url).form(&fields).send().await.unwrap() }
    };
    let r = star(vec![("star", "auditor".into())]).await;
    assert_eq!(r.status(), 403, "no CSRF token");
    let r = star(vec![("star", "nope".into()), ("csrf", csrf.clone())]).await;
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("href=\"/roles\""), "{text}");
    assert_plain_title(&text);
    let r = star(vec![
        ("star", "auditor".into()),
        ("selected", "admin".into()),
        ("csrf", csrf.clone()),
    ])
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/roles?selected=admin");
    let page = l.text(&b, "/roles").await;
    let at = |needle: &str| {
        page.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {page}"))
    };
    assert!(at("<legend>Last used</legend>") < at("value=\"admin\""));
    assert!(at("value=\"admin\"") < at("<legend>Favourites</legend>"));
    assert!(at("<legend>Favourites</legend>") < at("value=\"auditor\""));
    assert!(at("value=\"auditor\"") < at("<legend>Engineering</legend>"));
    assert!(
        !page.contains("<legend>Compliance</legend>"),
        "auditor is listed once"
    );
    // The star is the person's, not the browser's: alice elsewhere sees it too.
    let (_, elsewhere) = l.picker(&browser(), "alice").await;
    assert!(elsewhere.contains("<legend>Favourites</legend>"));
}
