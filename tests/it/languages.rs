//! Pages in the browser's language (`Accept-Language`): German with `de`, English without
//! a header or with a language Lanyard does not have; JSON APIs always in English. Then the
//! same in Chromium set to German, with a screenshot of each step.

use lanyard::clock::{ManualClock, UnixTime};
use reqwest::header::{ACCEPT_LANGUAGE, CONTENT_LANGUAGE, HeaderMap, HeaderValue, VARY};

use crate::chromium::Page;
use crate::harness::{Lanyard, T0, config_text, csrf_of, memory_store, start_public};

async fn lanyard() -> Lanyard {
    lanyard_with("").await
}

/// The quickstart's command-line client, for device sign-ins.
const CLI_CLIENT: &str = r#"
[[clients]]
id = "lanyard-cli"
name = "Lanyard command line"
public = true
grant_types = ["device_code"]
allowed_roles = ["engineer", "admin", "auditor"]
"#;

/// Lanyard with `extra` configuration after the harness's.
async fn lanyard_with(extra: &str) -> Lanyard {
    let keys = tempfile::tempdir().unwrap();
    let mut text = config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    text.push_str(extra);
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let mut l = start_public(&text, memory_store(&clock), clock).await;
    l.keep(keys);
    l
}

/// A cookie-keeping client that sends `accept_language` (none when `None`).
fn browser_in(accept_language: Option<&str>) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    if let Some(lang) = accept_language {
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_str(lang).unwrap());
    }
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// The page's status, its `Content-Language`, whether it varies on `Accept-Language`, and
/// its HTML.
async fn page(r: reqwest::RequestBuilder) -> (u16, String, bool, String) {
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let lang = r
        .headers()
        .get(CONTENT_LANGUAGE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let varies = r.headers().get_all(VARY).iter().any(|v| {
        v.to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("accept-language")
    });
    (status, lang, varies, r.text().await.unwrap())
}

/// What each language says on the pages looked at.
struct Words {
    lang: &'static str,
    signin: &'static str,
    refused: &'static str,
    username: &'static str,
    no_role: &'static str,
    no_role_lead: &'static str,
    not_found_title: &'static str,
    unknown_provider: &'static str,
    back: &'static str,
}

const ENGLISH: Words = Words {
    lang: "en",
    signin: "Choose how to sign in.",
    refused: "The username or password is incorrect.",
    username: ">Username</label>",
    no_role: "No role is available to you",
    no_role_lead: "You signed in as <strong>dave</strong> (<code>corp:dave</code>) through <strong>Corp directory</strong>",
    not_found_title: "<h1>That page does not exist</h1>",
    unknown_provider: "There is no identity provider &#34;nope&#34;.",
    back: "Back to sign-in",
};

const GERMAN: Words = Words {
    lang: "de",
    signin: "Wählen Sie, wie Sie sich anmelden möchten.",
    refused: "Benutzername oder Passwort ist falsch.",
    username: ">Benutzername</label>",
    no_role: "Für Sie ist keine Rolle verfügbar",
    no_role_lead: "Sie haben sich als <strong>dave</strong> (<code>corp:dave</code>) über <strong>Corp directory</strong> angemeldet",
    not_found_title: "<h1>Diese Seite gibt es nicht</h1>",
    unknown_provider: "Es gibt keinen Identitätsanbieter „nope“.",
    back: "Zurück zur Anmeldung",
};

/// Sign-in page, a wrong password, the no-role page and an error page, each in `w`'s
/// language for a browser sending `accept_language`.
async fn pages_say(l: &Lanyard, accept_language: Option<&str>, w: &Words) {
    let b = browser_in(accept_language);
    let html_lang = format!("<html lang=\"{}\">", w.lang);
    let check = |what: &str, (_, lang, varies, html): &(u16, String, bool, String)| {
        assert!(
            html.contains(&html_lang),
            "{what} ({accept_language:?}): {html}"
        );
        assert_eq!(lang, w.lang, "{what}: Content-Language");
        assert!(varies, "{what}: Vary: Accept-Language");
    };

    let signin = page(b.get(l.at("/signin"))).await;
    assert_eq!(signin.0, 200);
    check("sign-in", &signin);
    assert!(signin.3.contains(w.signin), "{}", signin.3);

    let form = page(b.get(l.at("/auth/corp"))).await;
    check("password form", &form);
    assert!(form.3.contains(w.username), "{}", form.3);
    let wrong = page(b.post(l.at("/auth/corp")).form(&[
        ("username", "alice"),
        ("password", "wrong"),
        ("csrf", &csrf_of(&form.3)),
    ]))
    .await;
    assert_eq!(wrong.0, 401);
    check("wrong password", &wrong);
    assert!(wrong.3.contains(w.refused), "{}", wrong.3);

    let form = page(b.get(l.at("/auth/corp"))).await;
    let signed_in = b
        .post(l.at("/auth/corp"))
        .form(&[
            ("username", "dave"),
            ("password", "dave-pw"),
            ("csrf", &csrf_of(&form.3)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let no_role = page(b.get(l.at("/roles"))).await;
    assert_eq!(no_role.0, 403);
    check("no role", &no_role);
    assert!(no_role.3.contains(w.no_role), "{}", no_role.3);
    assert!(no_role.3.contains(w.no_role_lead), "{}", no_role.3);

    let error = page(b.get(l.at("/auth/nope"))).await;
    assert_eq!(error.0, 404);
    check("error page", &error);
    assert!(error.3.contains(w.not_found_title), "{}", error.3);
    assert!(error.3.contains(w.unknown_provider), "{}", error.3);
    assert!(error.3.contains(w.back), "{}", error.3);
}

#[tokio::test]
async fn pages_are_german_for_a_german_browser() {
    let l = lanyard().await;
    pages_say(&l, Some("de"), &GERMAN).await;
    pages_say(&l, Some("de-AT,de;q=0.9,en;q=0.5"), &GERMAN).await;
    pages_say(&l, Some("fr-FR, fr;q=0.9, de;q=0.4"), &GERMAN).await;
}

#[tokio::test]
async fn pages_are_english_without_a_header_or_for_a_language_lanyard_lacks() {
    let l = lanyard().await;
    pages_say(&l, None, &ENGLISH).await;
    pages_say(&l, Some("fr"), &ENGLISH).await;
    pages_say(&l, Some("de;q=0, en"), &ENGLISH).await;
    pages_say(&l, Some(&"x".repeat(4000)), &ENGLISH).await;
}

/// JSON is read by programs: English whatever the browser prefers, and no page headers.
#[tokio::test]
async fn json_apis_stay_english() {
    let l = lanyard().await;
    let r = browser_in(Some("de"))
        .post(l.at("/v1/authorize"))
        .json(&serde_json::json!({"action": "a:B", "resource": "*"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get(CONTENT_LANGUAGE).is_none());
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error_description"], "A bearer token is required.");
    let r = browser_in(Some("de"))
        .post(l.at("/oauth2/token"))
        .form(&[("grant_type", "nonsense")])
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(
        !text.contains("Anmeldung") && !text.contains("Sie "),
        "{text}"
    );
}

/// Asserts that `html` (the page `what`) holds every one of `words` and none of `english`.
fn says(what: &str, html: &str, words: &[&str], english: &[&str]) {
    for w in words {
        assert!(html.contains(w), "{what} lacks {w:?}: {html}");
    }
    for e in english {
        assert!(!html.contains(e), "{what} still says {e:?}: {html}");
    }
}

/// English sentences of the picker, the credentials page and the device pages that a
/// German page must not show (role descriptions come from the configuration and stay).
const ENGLISH_LEFT: [&str; 16] = [
    "Get credentials",
    "Choose",
    "Sign out",
    "Sign in",
    "Showing",
    "Signed in as",
    "Session length",
    "to favourites",
    "Copy",
    "Valid until",
    "expires",
    "Paste into",
    "Continue",
    "terminal",
    "Approve",
    "Deny",
];

/// With `Accept-Language: de`: the role picker, the credentials page after a choice, and
/// the device pages (entry, a malformed code, confirmation, a refused and a good approval,
/// a denial) are German throughout, the script's sentences included.
#[tokio::test]
async fn the_picker_credentials_and_device_pages_are_german() {
    let l = lanyard_with(CLI_CLIENT).await;
    let b = browser_in(Some("de"));
    assert_eq!(l.sign_in(&b, "alice", "alice-pw").await.status(), 303);

    let (status, lang, _, picker) = page(b.get(l.at("/roles"))).await;
    assert_eq!((status, lang.as_str()), (200, "de"), "{picker}");
    says(
        "the picker",
        &picker,
        &[
            "<title>Rolle wählen",
            "<h1>Rolle wählen</h1>",
            "Angemeldet als <strong>alice</strong> über Corp directory.",
            "Zugangsdaten abrufen",
            "aria-label=\"Sitzungsdauer für engineer\"",
            "engineer zu den Favoriten hinzufügen",
            "Jede Rolle bietet die Sitzungsdauern an",
            "Keine Rolle passt zu „<span class=\"no-match-filter\"></span>“.",
            "Alle Rollen anzeigen",
            ">Abmelden</button>",
        ],
        &ENGLISH_LEFT,
    );

    let chose = l.choose(&b, &picker, "engineer", 3600).await;
    assert_eq!(chose.status(), 303);
    let (status, _, _, creds) = page(b.get(l.at("/credentials"))).await;
    assert_eq!(status, 200, "{creds}");
    says(
        "the credentials page",
        &creds,
        &[
            "<title>Ihre Zugangsdaten",
            "<h1>Zugangsdaten für <code>engineer</code></h1>",
            "Angemeldet als <strong>alice</strong>.",
            "Gültig bis <time",
            "data-template=\"läuft in {left} ab\">läuft in 1 Stunde ab</span>.",
            "Diese Zugangsdaten sind abgelaufen – <a href=\"/roles\">Rolle erneut wählen</a>.",
            "In eine Shell einfügen",
            "<span class=\"copy-label\">Kopieren</span>",
            "(Zeilen für bash / zsh)",
            "data-copied=\"Kopiert\"",
            "Strg+C",
            "Behandeln Sie dieses Token wie ein Passwort",
            "Andere Rolle wählen",
            ">Abmelden</button>",
        ],
        &ENGLISH_LEFT,
    );

    // The device pages.
    let started = reqwest::Client::new()
        .post(l.at("/oauth2/device_authorization"))
        .form(&[("client_id", "lanyard-cli")])
        .send()
        .await
        .unwrap();
    let started: serde_json::Value = started.json().await.unwrap();
    let user_code = started["user_code"].as_str().unwrap().to_owned();
    let path = format!("/device?user_code={user_code}");
    let (status, _, _, entry) = page(b.get(l.at(&path))).await;
    assert_eq!(status, 200, "{entry}");
    says(
        "the device entry form",
        &entry,
        &[
            "<h1>Auf Ihrem Gerät anmelden</h1>",
            "Angemeldet als <strong>alice</strong> über Corp directory. Geben Sie den Code ein",
            ">Code aus Ihrem Terminal</label>",
            "8 Buchstaben, etwa BCDF-GHJK",
            ">Weiter</button>",
        ],
        &ENGLISH_LEFT,
    );
    let csrf = csrf_of(&entry);
    let post = |fields: Vec<(&'static str, String)>| {
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(fields);
        page(b.post(l.at("/device")).form(&form))
    };
    let code = || ("user_code", user_code.clone());

    let (status, _, _, malformed) = post(vec![("user_code", "BCDF".into())]).await;
    assert_eq!(status, 400);
    says(
        "a malformed code",
        &malformed,
        &["Das ist kein Code, den Lanyard ausgibt"],
        &ENGLISH_LEFT,
    );

    let (status, _, _, confirm) = post(vec![code(), ("action", "continue".into())]).await;
    assert_eq!(status, 200, "{confirm}");
    says(
        "the device confirmation",
        &confirm,
        &[
            "<h1>Bei Lanyard command line anmelden?</h1>",
            "<strong>Lanyard command line</strong> möchte sich mit dem Code <code class=\"user-code\">",
            "als <strong>alice</strong> (Corp directory) anmelden.",
            "Fahren Sie nur fort, wenn",
            "Wählen Sie die Rolle, die Lanyard command line erhält",
            "aria-label=\"Sitzungsdauer für auditor\"",
            ">Zustimmen</button>",
            ">Ablehnen</button>",
        ],
        &ENGLISH_LEFT,
    );

    let (status, _, _, no_role) = post(vec![code(), ("action", "approve".into())]).await;
    assert_eq!(status, 400);
    says(
        "approval without a role",
        &no_role,
        &["Wählen Sie eine der Rollen, um zuzustimmen"],
        &ENGLISH_LEFT,
    );
    let approve = |seconds: &str| {
        vec![
            code(),
            ("action", "approve".into()),
            ("role", "auditor".into()),
            ("duration.auditor", seconds.to_owned()),
        ]
    };
    let (status, _, _, too_long) = post(approve("99999")).await;
    assert_eq!(status, 400);
    says(
        "a length out of range",
        &too_long,
        &["liegt außerhalb dieses Bereichs"],
        &ENGLISH_LEFT,
    );

    let (status, _, _, done) = post(approve("1800")).await;
    assert_eq!(status, 200, "{done}");
    says(
        "the approval",
        &done,
        &[
            "<h1>Lanyard command line ist angemeldet</h1>",
            "Sie können diesen Tab schließen",
            "Es hat die Rolle <code>auditor</code>; seine Zugangsdaten gelten 30 Minuten lang.",
        ],
        &ENGLISH_LEFT,
    );

    let (status, _, _, gone) = post(vec![code(), ("action", "deny".into())]).await;
    assert_eq!(status, 400);
    says(
        "an answered code",
        &gone,
        &["Dieser Code ist ungültig"],
        &ENGLISH_LEFT,
    );
}

/// Chromium set to German: the sign-in page, a wrong password and the right one, then the
/// no-role page, all German; axe checks each (a `lang` that matches the text is part of it).
#[tokio::test]
async fn a_german_browser_signs_in_in_german() {
    let l = lanyard().await;
    let page = Page::open_in("german_sign_in", "de").await;
    page.goto(&l.at("/signin")).await;
    let lang = page
        .client
        .execute("return document.documentElement.lang;", vec![])
        .await
        .unwrap();
    assert_eq!(lang, "de");
    let text = page.text().await;
    assert!(text.contains(GERMAN.signin), "{text}");
    page.shot("anmelden").await;
    page.click("a[href^=\"/auth/corp\"]").await;
    page.wait_for_url("the password form", |u| u.path() == "/auth/corp")
        .await;
    assert!(page.text().await.contains("Mit Corp directory anmelden"));
    page.shot("passwortformular").await;
    page.fill("username", "dave").await;
    page.fill("password", "falsch").await;
    page.click("form[method=post] button[type=submit]").await;
    page.wait_for_url("the form again", |u| u.path() == "/auth/corp")
        .await;
    let text = page.text().await;
    assert!(text.contains(GERMAN.refused), "{text}");
    page.shot("falsches-passwort").await;
    page.fill("username", "dave").await;
    page.fill("password", "dave-pw").await;
    page.click("form[method=post] button[type=submit]").await;
    page.wait_for_url("the no-role page", |u| u.path() == "/roles")
        .await;
    let text = page.text().await;
    assert!(text.contains(GERMAN.no_role), "{text}");
    assert!(
        text.contains("Gruppen, die Lanyard erhalten hat: keine."),
        "{text}"
    );
    page.shot("keine-rolle").await;
    page.click("form[action=\"/signout\"] button[type=submit]")
        .await;
    page.wait_for_url("the signed-out page", |u| u.path() == "/signout")
        .await;
    assert!(page.text().await.contains("Sie sind abgemeldet"));
    page.shot("abgemeldet").await;
    page.goto(&l.at("/auth/nope")).await;
    let text = page.text().await;
    assert!(text.contains("Diese Seite gibt es nicht"), "{text}");
    page.shot("fehlerseite").await;
    page.close().await;
}

/// Chromium set to German: alice's role picker and, after a choice, the credentials page
/// with the script's countdown and copy buttons, all German; axe checks each.
#[tokio::test]
async fn a_german_browser_picks_a_role_and_gets_credentials_in_german() {
    let l = lanyard().await;
    let page = Page::open_in("german_picker", "de").await;
    page.goto(&l.at("/auth/corp")).await;
    page.fill("username", "alice").await;
    page.fill("password", "alice-pw").await;
    page.click("form[method=post] button[type=submit]").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    let text = page.text().await;
    for german in [
        "Rolle wählen",
        "Angemeldet als alice über Corp directory.",
        "Zugangsdaten abrufen",
        "Abmelden",
    ] {
        assert!(text.contains(german), "{german:?}: {text}");
    }
    for english in [
        "Get credentials",
        "Choose",
        "Sign out",
        "Showing",
        "Signed in",
    ] {
        assert!(!text.contains(english), "{english:?}: {text}");
    }
    page.shot("rollenauswahl").await;
    page.click("input[name=role][value=\"engineer\"]").await;
    page.click("form[action=\"/roles\"][method=post] > button[type=submit]")
        .await;
    page.wait_for_url("the credentials", |u| u.path() == "/credentials")
        .await;
    let text = page.text().await;
    for german in [
        "Zugangsdaten für engineer",
        "Gültig bis",
        "läuft in ",
        "In eine Shell einfügen",
        "Kopieren",
        "Andere Rolle wählen",
        "Abmelden",
    ] {
        assert!(text.contains(german), "{german:?}: {text}");
    }
    for english in [
        "expires",
        "Valid until",
        "Copy",
        "Choose",
        "Sign out",
        "Treat this",
    ] {
        assert!(!text.contains(english), "{english:?}: {text}");
    }
    page.shot("zugangsdaten").await;
    page.close().await;
}
