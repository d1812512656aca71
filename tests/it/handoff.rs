//! The employee pages as a hand-off, in headless Chromium (`chromium.rs`) and by hand: the
//! credentials page (three shells, tabs by keyboard and remembered, copy buttons, local
//! expiry and countdown, an expired page), the same page with scripts turned off, the role
//! picker's filter as you type, and the `[ui]` name, logo and accent (also across a
//! reload). Every state is a `page.shot`, so axe-core checks it in both colour schemes.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use lanyard::clock::{ManualClock, SharedClock, UnixTime};
use lanyard::config::Config;
use lanyard::reload::Reloader;
use lanyard::server::Shared;

use crate::chromium::Page;
use crate::harness::{Lanyard, T0, browser, config_text, memory_store, start_public};
use crate::pages::{fill_and_send, lanyard_with_many_roles};

/// The page CSP, exactly: scripts and styles from Lanyard only.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                        img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                        base-uri 'none'";
/// The variables every shell's lines set.
const VARS: [&str; 4] = [
    "LANYARD_TOKEN",
    "LANYARD_TOKEN_EXPIRES",
    "LANYARD_ROLE",
    "LANYARD_URL",
];
/// WebDriver's keys (W3C WebDriver, "Keyboard actions").
const ARROW_LEFT: &str = "\u{E012}";
const ARROW_RIGHT: &str = "\u{E014}";
const HOME: &str = "\u{E011}";
const END: &str = "\u{E010}";

/// The smallest PNG: one transparent pixel.
const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];
/// A logo mark (no words: the header shows the name beside it).
const ACME_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"32\" height=\"32\" \
    viewBox=\"0 0 32 32\"><rect width=\"32\" height=\"32\" rx=\"6\" fill=\"#0b6e4f\"/>\
    <circle cx=\"16\" cy=\"16\" r=\"7\" style=\"fill: #fff\"/></svg>";

/// Lanyard on its real loopback URL with the test directory and `extra` config.
async fn lanyard(extra: &str) -> Lanyard {
    let keys = tempfile::tempdir().unwrap();
    let mut text = config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    text.push_str(extra);
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let mut l = start_public(&text, memory_store(&clock), clock).await;
    l.keep(keys);
    l
}

/// Runs `js` (a function body that returns a value) on the page.
async fn js(page: &Page, js: &str) -> serde_json::Value {
    page.client
        .execute(js, vec![])
        .await
        .unwrap_or_else(|e| panic!("{js}: {e}"))
}

async fn js_string(page: &Page, script: &str) -> String {
    match js(page, script).await {
        serde_json::Value::String(s) => s,
        other => panic!("{script}: {other}"),
    }
}

async fn js_strings(page: &Page, script: &str) -> Vec<String> {
    serde_json::from_value(js(page, script).await).unwrap()
}

/// Waits (up to 10 s) until `script` returns `true`.
async fn until(page: &Page, what: &str, script: &str) {
    let started = Instant::now();
    while js(page, script).await != serde_json::Value::Bool(true) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "waited 10 s for {what}\n{}",
            page.text().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of the element `#id` (shown or not).
async fn text_of(page: &Page, id: &str) -> String {
    js_string(
        page,
        &format!("return document.getElementById('{id}').textContent;"),
    )
    .await
}

/// Whether the element `css` is displayed.
async fn shown(page: &Page, css: &str) -> bool {
    page.client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("nothing matches {css}: {e}"))
        .is_displayed()
        .await
        .unwrap()
}

/// Signs in as alice (password form) and picks `role` on the picker.
async fn credentials_for(page: &Page, l: &Lanyard, role: &str) {
    page.goto(&l.at("/auth/corp")).await;
    fill_and_send(page, "alice").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    page.click(&format!("input[name=role][value=\"{role}\"]"))
        .await;
    page.click("form[action=\"/roles\"][method=post] > button[type=submit]")
        .await;
    page.wait_for_url("the credentials", |u| u.path() == "/credentials")
        .await;
}

/// `expires in 1:02:05` → 3725.
fn countdown_secs(text: &str) -> u64 {
    let clock = text
        .trim()
        .strip_prefix("expires in ")
        .unwrap_or_else(|| panic!("not a countdown: {text:?}"));
    clock
        .split(':')
        .fold(0, |acc, part| acc * 60 + part.parse::<u64>().unwrap())
}

/// The selected shell tab and which panels are displayed.
async fn tab_state(page: &Page) -> (String, Vec<String>) {
    let selected = js_string(
        page,
        "return document.querySelector('[role=tab][aria-selected=true]').dataset.shell;",
    )
    .await;
    let visible = js_strings(
        page,
        "return [...document.querySelectorAll('section.shell')]\
         .filter(s => s.offsetParent !== null).map(s => s.id);",
    )
    .await;
    (selected, visible)
}

/// Sends `key` to the element that has the focus.
async fn key(page: &Page, key: &str) {
    page.client
        .active_element()
        .await
        .unwrap()
        .send_keys(key)
        .await
        .unwrap();
}

/// The credentials page in Chromium: the role as the picker names it; bash, fish and
/// PowerShell lines each setting every variable (and the bash lines with the test call
/// really work against this Lanyard); the shells as tabs worked by arrow keys and
/// remembered across a reload; a copy button that puts the lines on the clipboard; the
/// expiry in the browser's time zone; a countdown that decreases; an expired page.
#[tokio::test]
async fn the_credentials_page_hands_over_in_chromium() {
    let l = lanyard("").await;
    let page = Page::open("handoff_credentials").await;
    // A time zone an hour ahead of UTC at the test's date (2026-11-28), and the clipboard.
    page.cdp(
        "Emulation.setTimezoneOverride",
        serde_json::json!({ "timezoneId": "Europe/Berlin" }),
    )
    .await;
    page.cdp(
        "Browser.grantPermissions",
        serde_json::json!({
            "origin": l.url,
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
        }),
    )
    .await;
    credentials_for(&page, &l, "engineer").await;
    page.shot("credentials").await;
    let text = page.text().await;
    assert!(
        text.contains("Credentials for engineer") && text.contains("Deploy and operate services"),
        "the role's name and description, as on the picker: {text}"
    );

    // Every shell sets every variable, to the same values.
    let bash = text_of(&page, "exports-bash").await;
    let fish = text_of(&page, "exports-fish").await;
    let powershell = text_of(&page, "exports-powershell").await;
    for var in VARS {
        assert!(bash.contains(&format!("export {var}='")), "{var}: {bash}");
        assert!(fish.contains(&format!("set -gx {var} '")), "{var}: {fish}");
        assert!(
            powershell.contains(&format!("$Env:{var} = '")),
            "{var}: {powershell}"
        );
    }
    let values = |lines: &str| -> Vec<String> {
        lines
            .lines()
            .map(|line| line.split('\'').nth(1).unwrap().to_owned())
            .collect()
    };
    assert_eq!(values(&bash), values(&fish));
    assert_eq!(values(&bash), values(&powershell));
    assert_eq!(values(&bash)[2], "engineer");
    assert_eq!(values(&bash)[3], l.url);
    assert!(
        text_of(&page, "test-powershell")
            .await
            .contains("Invoke-RestMethod")
    );

    // The bash lines and the test call, run by bash: Lanyard answers for the role.
    let script = format!("{bash}\n{}", text_of(&page, "test-bash").await);
    let out = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{script}\n{out:?}");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["role"], "engineer", "{answer}");
    assert!(answer["decision"].is_string(), "{answer}");

    // The tabs: bash first; arrows move and choose, wrapping; Home and End.
    assert!(shown(&page, "[role=tablist]").await);
    assert_eq!(
        tab_state(&page).await,
        ("bash".to_owned(), vec!["shell-bash".to_owned()])
    );
    page.click("#tab-bash").await;
    key(&page, ARROW_RIGHT).await;
    assert_eq!(
        tab_state(&page).await,
        ("fish".to_owned(), vec!["shell-fish".to_owned()])
    );
    let focused = js_string(&page, "return document.activeElement.id;").await;
    assert_eq!(focused, "tab-fish", "the focus follows the arrow");
    page.shot("fish-tab").await;
    key(&page, ARROW_RIGHT).await;
    key(&page, ARROW_RIGHT).await;
    assert_eq!(tab_state(&page).await.0, "bash", "wraps around");
    key(&page, ARROW_LEFT).await;
    assert_eq!(tab_state(&page).await.0, "powershell");
    key(&page, HOME).await;
    assert_eq!(tab_state(&page).await.0, "bash");
    key(&page, END).await;
    assert_eq!(
        tab_state(&page).await,
        ("powershell".to_owned(), vec!["shell-powershell".to_owned()])
    );
    let tabindex = js_strings(
        &page,
        "return [...document.querySelectorAll('[role=tab]')].map(t => String(t.tabIndex));",
    )
    .await;
    assert_eq!(tabindex, ["-1", "-1", "0"], "one tab stop");
    page.shot("powershell-tab").await;

    // Remembered across a reload.
    page.client.refresh().await.unwrap();
    until(
        &page,
        "the tabs",
        "return !document.querySelector('[role=tablist]').hidden;",
    )
    .await;
    assert_eq!(
        tab_state(&page).await,
        ("powershell".to_owned(), vec!["shell-powershell".to_owned()])
    );

    // Copy: the PowerShell lines on the clipboard, "Copied" said and announced.
    page.click("button.copy[data-copy=exports-powershell]")
        .await;
    until(
        &page,
        "the copy to be announced",
        "return document.getElementById('copy-status').textContent === 'Copied';",
    )
    .await;
    let label = js_string(
        &page,
        "return document.querySelector('button.copy[data-copy=exports-powershell] .copy-label').textContent;",
    )
    .await;
    assert_eq!(label, "Copied");
    page.shot("copied").await;
    let clipboard = page
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             navigator.clipboard.readText().then(done, e => done('failed: ' + e));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(clipboard.as_str(), Some(powershell.as_str()));
    // The token's own button.
    page.click("button.copy[data-copy=token]").await;
    until(
        &page,
        "the token on the clipboard",
        "return document.querySelector('button.copy[data-copy=token] .copy-label').textContent === 'Copied';",
    )
    .await;
    let clipboard = page
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             navigator.clipboard.readText().then(done, e => done('failed: ' + e));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(clipboard.as_str(), Some(values(&bash)[0].as_str()));

    // The expiry in Berlin time (UTC+1 in November): 01:00 UTC is 02:00 there.
    let time = text_of(&page, "expiry").await;
    assert!(
        time.contains("02:00") && time.contains("GMT+1") && time.contains("2026"),
        "{time}"
    );
    let datetime = js_string(
        &page,
        "return document.querySelector('#expiry time').getAttribute('datetime');",
    )
    .await;
    assert_eq!(datetime, "2026-11-28T01:00:00Z");
    // The countdown decreases.
    let countdown = || async {
        countdown_secs(
            &js_string(
                &page,
                "return document.querySelector('.countdown').textContent;",
            )
            .await,
        )
    };
    let first = countdown().await;
    assert!((3300..=3600).contains(&first), "{first}");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let second = countdown().await;
    assert!(
        second < first && first - second <= 4,
        "{first} then {second}"
    );

    // Three seconds before the end (by Lanyard's clock): the page says it has expired.
    l.clock.advance(Duration::from_secs(3600 - 3));
    page.client.refresh().await.unwrap();
    until(
        &page,
        "the expired notice",
        "const e = document.getElementById('expired'); return !!e && !e.hidden;",
    )
    .await;
    let text = page.text().await;
    assert!(
        text.contains("These credentials have expired — choose a role again"),
        "{text}"
    );
    assert!(text.contains("expires in 0:00"), "{text}");
    assert_eq!(
        js(
            &page,
            "return [...document.querySelectorAll('button.copy')].every(b => b.hidden);"
        )
        .await,
        serde_json::Value::Bool(true),
        "no copy buttons for expired credentials"
    );
    page.shot("expired").await;
    page.click("#expired a").await;
    page.wait_for_url("the picker", |u| u.path() == "/roles")
        .await;
    page.close().await;
}

/// Turns the page's scripts off (from the next page on) or back on.
async fn scripts(page: &Page, on: bool) {
    page.cdp(
        "Emulation.setScriptExecutionDisabled",
        serde_json::json!({ "value": !on }),
    )
    .await;
}

/// `page.shot` of a page loaded without scripts: axe needs them, so they are turned on
/// for the shot (a page's own script skipped at load does not run later) and off again.
async fn shot_without_scripts(page: &Page, step: &str) {
    scripts(page, true).await;
    page.shot(step).await;
    scripts(page, false).await;
}

/// The credentials page with scripts turned off: all three shells under their headings,
/// no tab list, no copy buttons, the expiry in UTC with "in 1 hour"; and the sign-in and
/// picker on the way there work too.
#[tokio::test]
async fn without_javascript_every_shell_is_shown_in_chromium() {
    let l = lanyard("").await;
    let page = Page::open("handoff_no_script").await;
    scripts(&page, false).await;
    credentials_for(&page, &l, "engineer").await;
    shot_without_scripts(&page, "credentials-no-script").await;
    let text = page.text().await;
    for heading in ["bash / zsh", "fish", "PowerShell"] {
        assert!(text.contains(heading), "{heading}: {text}");
    }
    for line in [
        "export LANYARD_TOKEN='",
        "set -gx LANYARD_ROLE 'engineer'",
        "$Env:LANYARD_URL = '",
        "curl -sS -X POST",
        "Invoke-RestMethod",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(
        text.contains("Valid until 2026-11-28 01:00:00 UTC — expires in 1 hour."),
        "{text}"
    );
    for id in ["shell-bash", "shell-fish", "shell-powershell"] {
        assert!(shown(&page, &format!("#{id}")).await, "{id}");
    }
    assert!(!shown(&page, "[role=tablist]").await);
    for button in page
        .client
        .find_all(Locator::Css("button.copy"))
        .await
        .unwrap()
    {
        assert!(!button.is_displayed().await.unwrap(), "no copy button");
    }
    assert!(!shown(&page, "#expired").await);
    // "Choose another role" and sign-out still work.
    page.click("a.button[href=\"/roles\"]").await;
    page.wait_for_url("the picker", |u| u.path() == "/roles")
        .await;
    shot_without_scripts(&page, "picker-no-script").await;
    page.click("form[action=\"/signout\"] button[type=submit]")
        .await;
    page.wait_for_url("signed out", |u| u.path() == "/signout")
        .await;
    page.close().await;
}

/// The rows of the picker shown now.
async fn visible_roles(page: &Page) -> Vec<String> {
    js_strings(
        page,
        "return [...document.querySelectorAll('.role')].filter(r => r.offsetParent !== null)\
         .map(r => r.querySelector('input[name=role]').value);",
    )
    .await
}

/// The headings of the picker shown now.
async fn visible_legends(page: &Page) -> Vec<String> {
    js_strings(
        page,
        "return [...document.querySelectorAll('fieldset')].filter(f => f.offsetParent !== null)\
         .map(f => f.querySelector('legend').textContent);",
    )
    .await
}

async fn checked_role(page: &Page) -> Vec<String> {
    js_strings(
        page,
        "return [...document.querySelectorAll('input[name=role]:checked')].map(r => r.value);",
    )
    .await
}

/// Types `text` into the filter box after emptying it, as a person would (each key an
/// `input` event), and waits for the count to settle on `count`.
async fn type_filter(page: &Page, text: &str, count: &str) {
    let field = page.client.find(Locator::Css("#q")).await.unwrap();
    field.click().await.unwrap();
    // Select all and delete: fires `input` like a person's keys.
    field.send_keys("\u{E009}a\u{E000}\u{E003}").await.unwrap();
    field.send_keys(text).await.unwrap();
    until(
        page,
        &format!("the count {count:?}"),
        &format!("return document.getElementById('shown-count').textContent === {count:?};"),
    )
    .await;
}

/// 28 roles: typing filters the rows by name, description and configured group (not by
/// a heading such as "Last used"), ignoring case, without a round trip; empty groups
/// hide; the role chosen stays chosen and the page says so when hidden; nothing matching
/// hides the button and says so; the count is announced through a live region.
#[tokio::test]
async fn the_picker_filters_as_you_type_in_chromium() {
    let l = lanyard_with_many_roles().await;
    let page = Page::open("handoff_filter").await;
    page.goto(&l.at("/auth/corp")).await;
    fill_and_send(&page, "alice").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    let live = js_string(
        &page,
        "return document.getElementById('shown-count').getAttribute('aria-live');",
    )
    .await;
    assert_eq!(live, "polite");
    page.click("input[name=role][value=\"pay-03\"]").await;

    // By a group's name, in capitals.
    type_filter(&page, "PAYMENTS", "Showing 6 of 28 roles.").await;
    let pay: Vec<String> = (0..6).map(|i| format!("pay-{i:02}")).collect();
    assert_eq!(visible_roles(&page).await, pay);
    assert_eq!(visible_legends(&page).await, ["Payments"]);
    assert_eq!(page.url().await.query(), None, "no round trip");
    page.shot("typed-group").await;

    // By a description: pay-03 is hidden, still chosen, and the page says so.
    type_filter(&page, "warehouse", "Showing 5 of 28 roles.").await;
    let data: Vec<String> = (0..5).map(|i| format!("data-{i:02}")).collect();
    assert_eq!(visible_roles(&page).await, data);
    assert_eq!(visible_legends(&page).await, ["Data platform"]);
    assert_eq!(checked_role(&page).await, ["pay-03"]);
    assert!(shown(&page, "#kept-choice").await);
    assert!(
        page.text()
            .await
            .contains("The role pay-03 stays selected, though the filter hides it."),
    );
    page.shot("typed-description").await;

    // By a name.
    type_filter(&page, "search-0", "Showing 6 of 28 roles.").await;
    assert!(
        visible_roles(&page)
            .await
            .iter()
            .all(|r| r.starts_with("search-"))
    );

    // Nothing matches: no button, the sentence, pay-03 still chosen.
    type_filter(&page, "no-such-role", "Showing 0 of 28 roles.").await;
    assert!(visible_roles(&page).await.is_empty());
    assert!(visible_legends(&page).await.is_empty());
    assert!(!shown(&page, "form[action=\"/roles\"] > button[type=submit]").await);
    assert!(shown(&page, ".no-match").await);
    assert!(
        page.text()
            .await
            .contains("No role matches \u{201c}no-such-role\u{201d}. Show all roles"),
    );
    assert_eq!(checked_role(&page).await, ["pay-03"]);
    page.shot("typed-no-match").await;

    // "Show all roles" empties the box here: every row again, pay-03 chosen.
    page.click(".no-match a").await;
    until(
        &page,
        "every role",
        "return document.getElementById('shown-count').textContent === 'Showing 28 of 28 roles.';",
    )
    .await;
    assert_eq!(visible_roles(&page).await.len(), 28);
    assert!(!shown(&page, "#kept-choice").await);
    assert_eq!(page.url().await.query(), None);
    let focused = js_string(&page, "return document.activeElement.id;").await;
    assert_eq!(focused, "q");

    // Filtered to its group again, pay-03 in view: its credentials.
    type_filter(&page, "payments", "Showing 6 of 28 roles.").await;
    page.click("form[action=\"/roles\"] > button[type=submit]")
        .await;
    page.wait_for_url("the credentials", |u| u.path() == "/credentials")
        .await;
    assert!(page.text().await.contains("Credentials for pay-03"));

    // pay-03 is now listed under "Last used": its group still matches, the heading not.
    page.goto(&l.at("/roles")).await;
    type_filter(&page, "payments", "Showing 6 of 28 roles.").await;
    assert_eq!(visible_legends(&page).await, ["Last used", "Payments"]);
    assert_eq!(visible_roles(&page).await[0], "pay-03");
    page.shot("typed-last-used").await;
    type_filter(&page, "last used", "Showing 0 of 28 roles.").await;
    page.close().await;
}

/// A directory with the Acme logo as `name`.
fn logo_dir(name: &str, bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), bytes).unwrap();
    dir
}

fn ui_section(name: &str, logo: &Path, accent: &str) -> String {
    format!(
        "\n[ui]\nname = \"{name}\"\nlogo = \"{}\"\naccent = \"{accent}\"\n",
        logo.display()
    )
}

/// A CSS property of the element `css`, computed.
async fn computed(page: &Page, css: &str, property: &str) -> String {
    js_string(
        page,
        &format!("return getComputedStyle(document.querySelector('{css}')).{property};"),
    )
    .await
}

async fn dark(page: &Page, on: bool) {
    let value = if on { "dark" } else { "light" };
    page.cdp(
        "Emulation.setEmulatedMedia",
        serde_json::json!({ "features": [{ "name": "prefers-color-scheme", "value": value }] }),
    )
    .await;
}

/// `[ui]` in Chromium: the name in the header (the logo's alt) and the title, the logo
/// loaded, buttons and links in a dark green accent with white text on buttons, a
/// lightened accent in the dark scheme; a yellow accent keeps the default link colour
/// (too light on white) and puts black text on its buttons. axe passes in both schemes.
#[tokio::test]
async fn organisation_branding_in_chromium() {
    let dir = logo_dir("acme.svg", ACME_SVG.as_bytes());
    let l = lanyard(&ui_section(
        "Acme Corp",
        &dir.path().join("acme.svg"),
        "#0b6e4f",
    ))
    .await;
    let page = Page::open("handoff_branding").await;
    page.goto(&l.at("/signin")).await;
    page.shot("signin-branded").await;
    assert_eq!(page.client.title().await.unwrap(), "Sign in · Acme Corp");
    let alt = js_string(
        &page,
        "return document.querySelector('header .brand img').alt;",
    )
    .await;
    assert_eq!(alt, "Acme Corp");
    until(
        &page,
        "the logo",
        "const i = document.querySelector('header .brand img'); return i.complete && i.naturalWidth > 0;",
    )
    .await;
    assert_eq!(
        computed(&page, "a.button", "backgroundColor").await,
        "rgb(11, 110, 79)"
    );
    assert_eq!(
        computed(&page, "a.button", "color").await,
        "rgb(255, 255, 255)"
    );
    page.goto(&l.at("/auth/corp")).await;
    assert_eq!(
        page.client.title().await.unwrap(),
        "Sign in with Corp directory · Acme Corp"
    );
    assert_eq!(
        computed(&page, "p.small a", "color").await,
        "rgb(11, 110, 79)",
        "the accent reads on white: links take it"
    );
    dark(&page, true).await;
    let dark_link = computed(&page, "p.small a", "color").await;
    assert_ne!(dark_link, "rgb(11, 110, 79)", "lightened for the dark card");
    dark(&page, false).await;
    fill_and_send(&page, "alice").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    page.shot("picker-branded").await;
    page.click("input[name=role][value=\"engineer\"]").await;
    page.click("form[action=\"/roles\"][method=post] > button[type=submit]")
        .await;
    page.wait_for_url("the credentials", |u| u.path() == "/credentials")
        .await;
    page.shot("credentials-branded").await;
    page.close().await;

    // Yellow: too light for links on white, so they keep Lanyard's blue; black on buttons.
    let dir = logo_dir("logo.png", PNG_1X1);
    let l = lanyard(&ui_section(
        "Globex",
        &dir.path().join("logo.png"),
        "#ffcc00",
    ))
    .await;
    let page = Page::open("handoff_branding_yellow").await;
    page.goto(&l.at("/auth/corp")).await;
    page.shot("password-yellow").await;
    assert_eq!(
        computed(&page, "button[type=submit]", "backgroundColor").await,
        "rgb(255, 204, 0)"
    );
    assert_eq!(
        computed(&page, "button[type=submit]", "color").await,
        "rgb(0, 0, 0)"
    );
    assert_eq!(
        computed(&page, "p.small a", "color").await,
        "rgb(31, 95, 191)"
    );
    page.close().await;
}

/// Without a browser: the page CSP exactly; the script, theme and logo with their types
/// and caching; the logo's own CSP; 404 for a theme or logo not configured; the
/// credentials page's no-script markup.
#[tokio::test]
async fn the_static_files_and_the_csp_by_hand() {
    let dir = logo_dir("acme.svg", ACME_SVG.as_bytes());
    let l = lanyard(&ui_section("Acme", &dir.path().join("acme.svg"), "#0b6e4f")).await;
    let b = browser();
    let page = b.get(l.at("/signin")).send().await.unwrap();
    assert_eq!(page.headers()["content-security-policy"], PAGE_CSP);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<script src=\"/static/lanyard.js\" defer></script>"),
        "{html}"
    );
    assert!(html.contains("<title>Sign in · Acme</title>"), "{html}");
    let theme_href = html
        .split("<link rel=\"stylesheet\" href=\"")
        .nth(2)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    assert!(theme_href.starts_with("/static/theme.css?v="), "{html}");
    let logo_href = html
        .split("<img class=\"logo\" src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    assert!(logo_href.starts_with("/static/logo?v="), "{html}");

    let script = b.get(l.at("/static/lanyard.js")).send().await.unwrap();
    assert_eq!(script.status(), 200);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(script.headers()["cache-control"], "public, max-age=3600");
    assert_eq!(script.headers()["x-content-type-options"], "nosniff");
    assert_eq!(script.headers()["content-security-policy"], PAGE_CSP);
    let css = b.get(l.at("/static/lanyard.css")).send().await.unwrap();
    assert_eq!(css.headers()["cache-control"], "public, max-age=3600");
    let body = script.text().await.unwrap();
    assert_eq!(body, include_str!("../../static/lanyard.js"));

    let theme = b.get(l.at(&theme_href)).send().await.unwrap();
    assert_eq!(theme.status(), 200);
    assert_eq!(theme.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(theme.headers()["cache-control"], "public, max-age=3600");
    let theme = theme.text().await.unwrap();
    assert!(
        theme.contains(":root { --accent: #0b6e4f; --on-accent: #ffffff; --link: #0b6e4f; }"),
        "{theme}"
    );
    assert!(
        theme.contains("@media (prefers-color-scheme: dark)"),
        "{theme}"
    );

    let logo = b.get(l.at(&logo_href)).send().await.unwrap();
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/svg+xml");
    assert_eq!(
        logo.headers()["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    );
    assert_eq!(logo.headers()["x-content-type-options"], "nosniff");
    assert_eq!(logo.text().await.unwrap(), ACME_SVG);

    // Lanyard without [ui]: no theme, no logo, the name "Lanyard".
    let plain = lanyard("").await;
    let b = browser();
    for path in ["/static/theme.css", "/static/logo"] {
        let r = b.get(plain.at(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let (_, picker) = plain.picker(&b, "alice").await;
    assert!(picker.contains("<title>Choose a role · Lanyard</title>"));
    assert!(picker.contains("<a class=\"brand\" href=\"/signin\">Lanyard</a>"));
    assert!(!picker.contains("theme.css"));

    // The credentials page as it arrives: every shell, the script's controls hidden.
    let r = plain.choose(&b, &picker, "engineer", 3600).await;
    assert_eq!(r.status(), 303);
    let (token, html) = plain.credentials(&b).await;
    assert!(!token.is_empty());
    for id in ["bash", "fish", "powershell"] {
        assert!(
            html.contains(&format!("<section class=\"shell\" id=\"shell-{id}\"")),
            "{html}"
        );
        assert!(
            html.contains(&format!("<code id=\"exports-{id}\">")),
            "{html}"
        );
        assert!(html.contains(&format!("<code id=\"test-{id}\">")), "{html}");
    }
    assert!(html.contains("<div class=\"tablist\" role=\"tablist\" aria-label=\"Shell\" hidden>"));
    assert_eq!(
        html.matches("<button type=\"button\" class=\"copy\"")
            .count(),
        html.matches("class=\"copy\" data-copy=").count()
    );
    assert_eq!(
        html.matches(" hidden><span class=\"copy-label\">").count(),
        7
    );
    assert!(
        html.contains("<time datetime=\"2026-11-28T01:00:00Z\""),
        "{html}"
    );
    assert!(html.contains("expires in 1 hour"), "{html}");
    assert!(html.contains("data-seconds-left=\"3600\""), "{html}");
}

/// `[ui]` follows the config file: a reload changes the name, the accent and the logo
/// (each at a new address, so that caches do not keep the old one).
#[tokio::test]
async fn a_reload_rebrands_the_pages() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("logo.svg"), ACME_SVG).unwrap();
    let base = config_text("[sessions]\nstore = \"memory\"\n", &dir.path().join("keys"));
    let first = format!("{base}\n[ui]\nname = \"Acme\"\nlogo = \"logo.svg\"\n");
    let path = crate::reload::write_config(dir.path(), &first);
    let (config, text) = Config::load_with_text(&path).unwrap();
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let shared = Shared::new(
        &config,
        memory_store(&clock),
        Arc::new(clock) as SharedClock,
    )
    .unwrap();
    let limits = config.limits.clone();
    let reloader = Reloader::new(path.clone(), config, &text, shared).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(lanyard::web::serve_live(
        listener,
        reloader.router(),
        limits,
        async {
            let _ = rx.await;
        },
    ));
    let b = browser();
    let signin = |b: reqwest::Client| {
        let url = format!("{url}/signin");
        async move { b.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let before = signin(b.clone()).await;
    assert!(before.contains("<title>Sign in · Acme</title>"), "{before}");
    assert!(!before.contains("theme.css"));
    let logo_before = before.split("/static/logo?v=").nth(1).unwrap()[..16].to_owned();

    std::fs::write(
        dir.path().join("logo.svg"),
        ACME_SVG.replace("#0b6e4f", "#5b2a86"),
    )
    .unwrap();
    let second =
        format!("{base}\n[ui]\nname = \"Globex\"\nlogo = \"logo.svg\"\naccent = \"#5b2a86\"\n");
    std::fs::write(&path, second).unwrap();
    let done = reloader.reload().await.unwrap();
    assert!(done.restart_needed.is_empty(), "{done:?}");
    let after = signin(b.clone()).await;
    assert!(after.contains("<title>Sign in · Globex</title>"), "{after}");
    assert!(after.contains("alt=\"Globex\""), "{after}");
    let logo_after = after.split("/static/logo?v=").nth(1).unwrap()[..16].to_owned();
    assert_ne!(logo_before, logo_after, "a new address for the new logo");
    let logo = b.get(format!("{url}/static/logo")).send().await.unwrap();
    assert!(logo.text().await.unwrap().contains("#5b2a86"));
    let theme = b
        .get(format!("{url}/static/theme.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(theme.status(), 200);
    assert!(theme.text().await.unwrap().contains("--accent: #5b2a86"));

    // A broken [ui] keeps the running branding, the problem located.
    std::fs::write(
        &path,
        format!("{base}\n[ui]\nname = \"Initech\"\naccent = \"purple\"\n"),
    )
    .unwrap();
    let refused = reloader.reload().await.unwrap_err();
    let problems = refused.problems();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("ui.accent: \"purple\" is not a colour")),
        "{problems:?}"
    );
    assert!(signin(b).await.contains("<title>Sign in · Globex</title>"));
}
