//! The admin API's second slice: recorded sign-ins (`[admin] record_claims`), the trust
//! simulator, change impact and the audit trail — on SQLite and PostgreSQL.
//!
//! Real sign-ins through the local directory record their identities; the simulator's
//! answer for each recorded identity is compared with what the role picker's own offer
//! (`access::offer`) gives that identity; a refusal names its failed condition with the
//! value seen and the values wanted; an unsigned JWT is only a claims source; a candidate
//! role lists who gains and who loses it; recorded sign-ins expire after
//! `record_claims_days`; the audit trail filters, pages and exports CSV; a caller whose
//! policies do not allow an action gets 403.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use lanyard::access::offer::{Audience, Offer, offer};
use lanyard::clock::{Clock, ManualClock, UnixTime};
use lanyard::config::Config;
use lanyard::identity::ExternalIdentity;
use lanyard::roles::{RequestFacts, RoleCatalog};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin_api::{sqlite, token};
use crate::audit::PgDatabase;
use crate::harness::{Lanyard, T0, browser, config_text, memory_store, start_live};

/// The test directory and quickstart roles, recording sign-ins for 2 days, on `database`.
fn config(keys_dir: &Path, database: &str) -> String {
    format!(
        "{}\n[audit]\ndatabase = \"{database}\"\n\
         [admin]\nrecord_claims = true\nrecord_claims_days = 2\n",
        config_text("[sessions]\nstore = \"memory\"\n", keys_dir),
    )
}

struct Fixture {
    l: Lanyard,
    text: String,
    _keys: tempfile::TempDir,
}

async fn start(database: &str) -> Fixture {
    let keys = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let text = config(keys.path(), database);
    let l = start_live(&text, memory_store(&clock), clock).await;
    Fixture {
        l,
        text,
        _keys: keys,
    }
}

/// Signs `user` in (a real sign-in: it is recorded).
async fn sign_in(l: &Lanyard, user: &str) {
    let r = l.sign_in(&browser(), user, &format!("{user}-pw")).await;
    assert_eq!(r.status(), 303, "sign-in of {user}");
}

async fn call(
    l: &Lanyard,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut r = reqwest::Client::new()
        .request(method, l.at(path))
        .bearer_auth(token);
    if let Some(body) = body {
        r = r.json(body);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}")),
    )
}

async fn get(l: &Lanyard, token: &str, path: &str) -> (StatusCode, Value) {
    call(l, token, reqwest::Method::GET, path, None).await
}

async fn post(l: &Lanyard, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    call(l, token, reqwest::Method::POST, path, Some(body)).await
}

const RECENT: &str = "/admin/api/v1/providers/corp/recent-sign-ins";
const SIMULATE: &str = "/admin/api/v1/simulate";

/// The recorded subjects of `corp`, once `expected` are all there (the write is off the
/// sign-in's path, so it may land a moment later).
async fn recorded(l: &Lanyard, token: &str, expected: &[&str]) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let (status, body) = get(l, token, RECENT).await;
        assert_eq!(status, 200, "{body}");
        let list = body["sign_ins"].as_array().unwrap().clone();
        let subjects: Vec<&str> = list
            .iter()
            .map(|s| s["identity"]["subject"].as_str().unwrap())
            .collect();
        if expected.iter().all(|e| subjects.contains(e)) {
            return list;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "recorded {subjects:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The roles the role picker offers `identity` now: `access::offer` over the file's roles.
fn picker_offers(f: &Fixture, identity: &ExternalIdentity) -> Vec<String> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let config = Config::from_toml(&f.text, &examples, &|_| None).unwrap();
    let roles = RoleCatalog::new(config.roles);
    let facts = RequestFacts {
        source_ip: None,
        now: f.l.clock.now(),
        secure_transport: config.server.secure_cookies,
        user_agent: None,
    };
    match offer(&roles, identity, Audience::Person, &facts) {
        Offer::Issue(grant) => vec![grant.role().name.to_string()],
        Offer::Pick { grants, .. } => grants.iter().map(|g| g.role().name.to_string()).collect(),
        Offer::NoRole { .. } | Offer::SignInAgain => vec![],
    }
}

fn offered(simulation: &Value) -> Vec<String> {
    simulation["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["offered"] == true)
        .map(|r| r["role"].as_str().unwrap().to_owned())
        .collect()
}

fn verdict<'a>(simulation: &'a Value, role: &str) -> &'a Value {
    simulation["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == role)
        .unwrap_or_else(|| panic!("{role} in {simulation}"))
}

/// An unsigned JWT (`alg: none`) with these claims.
fn unsigned_jwt(claims: &Value) -> String {
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    format!("{}.{}.", b64(&json!({"alg": "none"})), b64(claims))
}

async fn simulate_and_impact(database: &str) {
    let f = start(database).await;
    let l = &f.l;
    let admin = token(l, "alice", "admin").await;
    for user in ["bob", "carol", "dave"] {
        sign_in(l, user).await;
    }
    let list = recorded(l, &admin, &["alice", "bob", "carol", "dave"]).await;
    assert_eq!(list.len(), 4, "one per subject: {list:?}");

    // For every recorded identity, the simulator offers exactly what the picker offers.
    for entry in &list {
        let identity: ExternalIdentity = serde_json::from_value(entry["identity"].clone()).unwrap();
        let (status, sim) = post(
            l,
            &admin,
            SIMULATE,
            &json!({"recorded_sign_in": entry["id"]}),
        )
        .await;
        assert_eq!(status, 200, "{sim}");
        assert!(sim.get("warning").is_none());
        assert_eq!(
            offered(&sim),
            picker_offers(&f, &identity),
            "{}",
            identity.subject
        );
        assert_eq!(
            sim["roles"].as_array().unwrap().len(),
            3,
            "every role is answered"
        );
    }
    let id_of = |subject: &str| {
        list.iter()
            .find(|s| s["identity"]["subject"] == subject)
            .unwrap()["id"]
            .clone()
    };
    let (_, alice) = post(
        l,
        &admin,
        SIMULATE,
        &json!({"recorded_sign_in": id_of("alice")}),
    )
    .await;
    assert_eq!(offered(&alice), ["engineer", "admin", "auditor"]);
    let engineer = verdict(&alice, "engineer");
    assert_eq!(engineer["deciding"][0]["sid"], "Engineers");

    // A refusal names the failed condition, the value seen and the values wanted.
    let (status, carol) = post(
        l,
        &admin,
        SIMULATE,
        &json!({"recorded_sign_in": id_of("carol"), "role": "engineer"}),
    )
    .await;
    assert_eq!(status, 200, "{carol}");
    assert_eq!(carol["roles"].as_array().unwrap().len(), 1);
    let refused = verdict(&carol, "engineer");
    assert_eq!(refused["offered"], false);
    assert_eq!(refused["outcome"], "ImplicitDeny");
    let failed = &refused["failed_conditions"][0];
    assert_eq!(failed["sid"], "Engineers");
    assert_eq!(failed["condition"]["operator"], "ForAnyValue:StringEquals");
    assert_eq!(failed["condition"]["key"], "idp:groups");
    assert_eq!(failed["condition"]["seen"], json!(["finance"]));
    assert_eq!(failed["condition"]["wanted"], json!(["engineering"]));
    // The machine-client statement is not for a person: its principal does not match.
    let statements = refused["statements"].as_array().unwrap();
    assert!(
        statements
            .iter()
            .any(|s| s["sid"] == "DeployerClient" && s["mismatch"]["element"] == "principal"),
        "{refused}"
    );

    // Pasted claims, with their provider.
    let (status, pasted) = post(
        l,
        &admin,
        SIMULATE,
        &json!({"provider": "corp", "claims": {"sub": "erin", "groups": ["finance"]}}),
    )
    .await;
    assert_eq!(status, 200, "{pasted}");
    assert_eq!(offered(&pasted), ["auditor"]);
    assert_eq!(pasted["identity"]["subject"], "erin");

    // A JWT is decoded without trusting it, and the answer says so.
    let jwt = unsigned_jwt(&json!({"sub": "frank", "groups": ["engineering"], "exp": 1}));
    let (status, from_jwt) = post(
        l,
        &admin,
        SIMULATE,
        &json!({"provider": "corp", "jwt": jwt}),
    )
    .await;
    assert_eq!(status, 200, "{from_jwt}");
    assert_eq!(offered(&from_jwt), ["engineer"]);
    assert!(
        from_jwt["warning"]
            .as_str()
            .unwrap()
            .contains("without verifying"),
        "{from_jwt}"
    );

    // Bad sources: 400 for none or two, 422 for an unknown recorded id or a non-JWT.
    let (status, body) = post(l, &admin, SIMULATE, &json!({})).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_request"))
    );
    let (status, body) = post(l, &admin, SIMULATE, &json!({"recorded_sign_in": "nope"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["path"], "recorded_sign_in");
    let (status, body) = post(
        l,
        &admin,
        SIMULATE,
        &json!({"provider": "corp", "jwt": "x"}),
    )
    .await;
    assert_eq!(
        (status, &body["path"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("jwt"))
    );
    let (status, _) = post(
        l,
        &admin,
        SIMULATE,
        &json!({"recorded_sign_in": id_of("bob"), "role": "nobody"}),
    )
    .await;
    assert_eq!(status, 404);

    // Change impact: a new role for engineering, then narrowed to dave.
    let trust = |condition: Value| {
        json!({
            "permission_policies": ["read-only"],
            "trust_policy": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Federated": "corp"},
                "Action": "sts:AssumeRole", "Condition": condition
            }]}
        })
    };
    let for_engineering =
        trust(json!({"ForAnyValue:StringEquals": {"idp:groups": ["engineering"]}}));
    let impact = "/admin/api/v1/roles/eng-oncall/impact";
    let (status, body) = post(l, &admin, impact, &for_engineering).await;
    assert_eq!(status, 200, "{body}");
    let changes = |body: &Value| {
        let mut c: Vec<(String, String)> = body["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["sign_in"]["identity"]["subject"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    c["change"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        c.sort();
        c
    };
    let pair = |s: &str, c: &str| (s.to_owned(), c.to_owned());
    assert_eq!(
        changes(&body),
        [pair("alice", "gains"), pair("bob", "gains")]
    );
    let r = reqwest::Client::new()
        .put(l.at("/admin/api/v1/roles/eng-oncall"))
        .bearer_auth(&admin)
        .header("if-none-match", "*")
        .json(&for_engineering)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // The catalog poll takes the new role up within a second or two.
    let started = Instant::now();
    loop {
        let (_, sim) = post(
            l,
            &admin,
            SIMULATE,
            &json!({"recorded_sign_in": id_of("bob")}),
        )
        .await;
        if offered(&sim).contains(&"eng-oncall".to_owned()) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{sim}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let for_dave = trust(json!({"StringEquals": {"idp:username": "dave"}}));
    let (status, body) = post(l, &admin, impact, &for_dave).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        changes(&body),
        [
            pair("alice", "loses"),
            pair("bob", "loses"),
            pair("dave", "gains")
        ]
    );
    // Validated exactly as PUT: the path of the field at fault.
    let (status, body) = post(
        l,
        &admin,
        impact,
        &json!({"trust_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Alow"}]}}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "invalid_role");
    assert!(
        body["path"].as_str().unwrap().starts_with("trust_policy"),
        "{body}"
    );
    let (status, body) = post(l, &admin, "/admin/api/v1/roles/engineer/impact", &for_dave).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::CONFLICT, &json!("managed_in_file"))
    );

    // Recorded sign-ins go after record_claims_days (2): three days on, only the new
    // sign-in of alice (for a fresh token) is there.
    l.clock.advance(Duration::from_secs(3 * 86_400));
    let admin = token(l, "alice", "admin").await;
    let list = recorded(l, &admin, &["alice"]).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let (status, _) = post(
        l,
        &admin,
        SIMULATE,
        &json!({"recorded_sign_in": id_of("bob")}),
    )
    .await;
    assert_eq!(status, 422, "an expired recorded sign-in is not found");
}

#[tokio::test]
async fn recorded_sign_ins_simulation_and_impact_on_sqlite() {
    let (_dir, url) = sqlite();
    simulate_and_impact(&url).await;
}

#[tokio::test]
async fn recorded_sign_ins_simulation_and_impact_on_postgres() {
    let pg = PgDatabase::create().await;
    simulate_and_impact(&pg.url()).await;
}

async fn audit_events(database: &str) {
    let f = start(database).await;
    let l = &f.l;
    let admin = token(l, "alice", "admin").await;
    l.clock.advance(Duration::from_secs(10));
    sign_in(l, "bob").await;
    l.clock.advance(Duration::from_secs(10));
    sign_in(l, "bob").await;
    let t_second = l.clock.now().secs() * 1000;
    let events = "/admin/api/v1/audit-events";
    let bobs = format!("{events}?event=signin.succeeded&subject=bob");
    // The trail's writer may land a moment after the answer.
    let started = Instant::now();
    let body = loop {
        let (status, body) = get(l, &admin, &bobs).await;
        assert_eq!(status, 200, "{body}");
        if body["events"].as_array().unwrap().len() == 2 {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for e in body["events"].as_array().unwrap() {
        assert_eq!(
            (e["event"].as_str(), e["subject"].as_str()),
            (Some("signin.succeeded"), Some("bob"))
        );
    }
    assert!(body.get("next_cursor").is_none());

    // Time range, limit and cursor.
    let (_, since) = get(l, &admin, &format!("{bobs}&from_ms={t_second}")).await;
    assert_eq!(since["events"].as_array().unwrap().len(), 1);
    let (_, before) = get(l, &admin, &format!("{bobs}&to_ms={t_second}")).await;
    assert_eq!(before["events"].as_array().unwrap().len(), 1);
    assert_ne!(since["events"][0]["id"], before["events"][0]["id"]);
    let (_, page1) = get(l, &admin, &format!("{bobs}&limit=1")).await;
    let cursor = page1["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(page1["events"][0]["id"], since["events"][0]["id"]);
    let (_, page2) = get(l, &admin, &format!("{bobs}&limit=1&cursor={cursor}")).await;
    assert_eq!(page2["events"][0]["id"], before["events"][0]["id"]);
    let (status, body) = get(l, &admin, &format!("{events}?cursor=nonsense")).await;
    assert_eq!(
        (status, &body["path"]),
        (StatusCode::BAD_REQUEST, &json!("cursor"))
    );
    let (status, body) = get(l, &admin, &format!("{events}?event=no.such")).await;
    assert_eq!(
        (status, &body["path"]),
        (StatusCode::BAD_REQUEST, &json!("event"))
    );
    let (_, by_role) = get(l, &admin, &format!("{events}?role=admin&provider=corp")).await;
    assert!(
        by_role["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "credentials.issued" && e["subject"] == "alice"),
        "{by_role}"
    );

    // CSV, by format or by Accept.
    for (path, accept) in [
        (format!("{bobs}&format=csv"), "*/*"),
        (bobs.clone(), "text/csv"),
    ] {
        let r = reqwest::Client::new()
            .get(l.at(&path))
            .bearer_auth(&admin)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let text = r.text().await.unwrap();
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("id,time,time_ms,event,"));
        assert!(
            lines[1..]
                .iter()
                .all(|l| l.contains(",signin.succeeded,") && l.contains(",bob,"))
        );
    }
}

#[tokio::test]
async fn audit_events_filter_page_and_export_csv_on_sqlite() {
    let (_dir, url) = sqlite();
    audit_events(&url).await;
}

#[tokio::test]
async fn audit_events_filter_page_and_export_csv_on_postgres() {
    let pg = PgDatabase::create().await;
    audit_events(&pg.url()).await;
}

#[tokio::test]
async fn callers_without_the_actions_are_refused() {
    let (_dir, url) = sqlite();
    let f = start(&url).await;
    let l = &f.l;
    // bob's engineer role may deploy, not administer.
    let bob = token(l, "bob", "engineer").await;
    let claims = json!({"provider": "corp", "claims": {"sub": "x"}});
    let impact = json!({"trust_policy": {}});
    for (status, body) in [
        get(l, &bob, RECENT).await,
        post(l, &bob, SIMULATE, &claims).await,
        post(l, &bob, "/admin/api/v1/roles/eng-x/impact", &impact).await,
        get(l, &bob, "/admin/api/v1/audit-events").await,
    ] {
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"], "access_denied");
    }
    let (_, body) = post(l, &bob, SIMULATE, &claims).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("lanyard:SimulateTrust")
    );
    let (_, body) = get(l, &bob, "/admin/api/v1/audit-events").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("arn:lanyard:iam:::audit")
    );
    let (_, body) = get(l, &bob, RECENT).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("arn:lanyard:iam:::provider/corp")
    );
    // An admin asking about a provider that does not exist: 404.
    let admin = token(l, "alice", "admin").await;
    let (status, _) = get(l, &admin, "/admin/api/v1/providers/nope/recent-sign-ins").await;
    assert_eq!(status, 404);
}
