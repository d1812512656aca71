//! The admin API's sessions (`/admin/api/v1/sessions`): the live SSO sessions after real
//! sign-ins through the local provider, filtered by person, role and provider and paged by
//! cursor; the revocation of one (its role session's token refused at `/v1/authorize`
//! at once, another person's still accepted, an `admin.changed` audit event); 403 for a
//! caller whose policies do not allow the action; revoking every session of a person and
//! killing a role (not-before marks): their tokens refused at `/v1/authorize`,
//! introspection and userinfo, others' still accepted, a new sign-in after the mark
//! served again, and two instances on one Redis: a revocation through one is refused by
//! the other at once.

use std::collections::BTreeSet;
use std::path::Path;

use lanyard::audit::{AuditQuery, EventKind};
use lanyard::clock::{ManualClock, UnixTime};
use lanyard::db::{Database, Location};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin_api::token;
use crate::harness::{
    Lanyard, T0, browser, cheap_hash, config_text, memory_store, start_live, start_with,
};

const SESSIONS: &str = "/admin/api/v1/sessions";

/// The test directory and quickstart roles, with the database at `database`.
fn config(keys_dir: &Path, database: &str) -> String {
    format!(
        "{}\n[[clients]]\nid = \"api\"\nsecret_hash = \"{}\"\ngrant_types = []\n\
         introspect = \"any\"\n[audit]\ndatabase = \"{database}\"\n",
        config_text("[sessions]\nstore = \"memory\"\n", keys_dir),
        cheap_hash("api-secret"),
    )
}

/// A Lanyard on a SQLite database of its own: it, its keys and the database's directory
/// and URL.
async fn start() -> (Lanyard, tempfile::TempDir, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("lanyard.db").display());
    let keys = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let l = start_live(&config(keys.path(), &url), memory_store(&clock), clock).await;
    (l, keys, dir, url)
}

/// `method path` with `token` as the bearer: the status and the JSON body (null if none).
async fn call(
    l: &Lanyard,
    token: &str,
    method: reqwest::Method,
    path: &str,
) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .request(method, l.at(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}"))
    };
    (status, body)
}

/// Every session the listing with `query` gives, following its cursors; and how many
/// pages it took.
async fn list_all(l: &Lanyard, token: &str, query: &str) -> (Vec<Value>, usize) {
    let mut sessions = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("{SESSIONS}?{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", urlencode(c)));
        }
        let (status, body) = call(l, token, reqwest::Method::GET, &path).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        assert!(pages < 100, "the listing does not end");
        sessions.extend(body["sessions"].as_array().unwrap().iter().cloned());
        match body["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (sessions, pages),
        }
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// What `/v1/authorize` answers `token` for an action its role allows or not: the status.
async fn authorize(l: &Lanyard, token: &str) -> StatusCode {
    reqwest::Client::new()
        .post(l.at("/v1/authorize"))
        .bearer_auth(token)
        .json(&json!({"action": "sts:GetCallerIdentity", "resource": "*"}))
        .send()
        .await
        .unwrap()
        .status()
}

fn persons(sessions: &[Value]) -> BTreeSet<String> {
    sessions
        .iter()
        .map(|s| s["person"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn sessions_are_listed_filtered_paged_and_revoked_one_by_one() {
    let (l, _keys, _dir, url) = start().await;
    let admin = token(&l, "alice", "admin").await;
    let bob = token(&l, "bob", "engineer").await;
    // dave has no role: sessions without role sessions, enough of them for several pages.
    for _ in 0..120 {
        assert_eq!(l.sign_in(&browser(), "dave", "dave-pw").await.status(), 303);
    }

    // Everything, over several pages; each session once.
    let (all, pages) = list_all(&l, &admin, "").await;
    assert!(pages > 1, "122 sessions take more than one page of 100");
    let ids: BTreeSet<&str> = all.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len(), "no session twice");
    assert_eq!(all.len(), 122);

    // By person: bob's session, its person and its role session.
    let (bobs, _) = list_all(&l, &admin, "person=corp:bob").await;
    assert_eq!(bobs.len(), 1, "{bobs:?}");
    let session = &bobs[0];
    assert_eq!(session["username"], "bob");
    assert_eq!(session["email"], "bob@example.com");
    assert_eq!(session["provider"], "corp");
    assert!(session["expires_at"].as_i64().unwrap() > session["created_at"].as_i64().unwrap());
    let roles: Vec<&str> = session["role_sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["engineer"]);

    // By role, and by provider.
    let (engineers, _) = list_all(&l, &admin, "role=engineer").await;
    assert_eq!(persons(&engineers), BTreeSet::from(["corp:bob".to_owned()]));
    let (admins, _) = list_all(&l, &admin, "role=admin&person=corp:alice").await;
    assert_eq!(admins.len(), 1);
    let (corp, _) = list_all(&l, &admin, "provider=corp").await;
    assert_eq!(corp.len(), 122);
    let (none, _) = list_all(&l, &admin, "provider=elsewhere").await;
    assert!(none.is_empty());

    // Revoke bob's session: his token is refused at once, alice's still works.
    assert_eq!(authorize(&l, &bob).await, 200);
    let id = session["id"].as_str().unwrap();
    let path = format!("{SESSIONS}/{id}?reason=laptop%20stolen");
    let (status, body) = call(&l, &admin, reqwest::Method::DELETE, &path).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(authorize(&l, &bob).await, 401);
    assert_eq!(authorize(&l, &admin).await, 200);
    let (bobs, _) = list_all(&l, &admin, "person=corp:bob").await;
    assert!(bobs.is_empty(), "{bobs:?}");
    let (status, body) = call(&l, &admin, reqwest::Method::DELETE, &path).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );
    let (status, _) = call(
        &l,
        &admin,
        reqwest::Method::DELETE,
        &format!("{SESSIONS}/not*a*ref"),
    )
    .await;
    assert_eq!(status, 404);

    // The audit trail says who revoked whose session, and why.
    let db = Database::open(&Location::parse(&url).unwrap()).unwrap();
    let events = lanyard::audit::query(
        &db,
        &AuditQuery {
            event: Some(EventKind::AdminChanged),
            limit: 10,
            ..AuditQuery::default()
        },
    )
    .await
    .unwrap();
    db.close().await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.subject.as_deref(), Some("alice"));
    assert_eq!(event.provider.as_deref(), Some("corp"));
    assert_eq!(event.detail["kind"], "session");
    assert_eq!(event.detail["operation"], "revoke");
    assert_eq!(event.detail["session"], id);
    assert_eq!(event.detail["person"], "corp:bob");
    assert_eq!(event.detail["reason"], "laptop stolen");
    assert_eq!(event.detail["role_sessions"][0]["role"], "engineer");
}

#[tokio::test]
async fn callers_whose_policies_do_not_allow_the_action_are_refused() {
    let (l, _keys, _dir, _url) = start().await;
    let admin = token(&l, "alice", "admin").await;
    let bob = token(&l, "bob", "engineer").await;
    let (status, body) = call(&l, &bob, reqwest::Method::GET, SESSIONS).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("lanyard:ListSessions")
    );
    let (_, listed) = call(&l, &admin, reqwest::Method::GET, SESSIONS).await;
    let alices = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["person"] == "corp:alice")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = call(
        &l,
        &bob,
        reqwest::Method::DELETE,
        &format!("{SESSIONS}/{alices}"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains(&format!("arn:lanyard:iam:::session/{alices}"))
    );
    assert_eq!(authorize(&l, &admin).await, 200, "alice's session lives on");
    let r = reqwest::Client::new()
        .get(l.at(SESSIONS))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn the_openapi_document_lists_the_sessions_paths() {
    let (l, _keys, _dir, _url) = start().await;
    let doc: Value = reqwest::get(l.at("/admin/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"][SESSIONS]["get"].is_object(), "{doc}");
    assert!(doc["paths"]["/admin/api/v1/sessions/{id}"]["delete"].is_object());
    assert!(doc["paths"]["/admin/api/v1/roles"]["get"].is_object());
}

/// Whether `token` is accepted at `/v1/authorize`, introspection and userinfo: all three
/// must agree.
async fn accepted(l: &Lanyard, token: &str) -> bool {
    let authorized = authorize(l, token).await;
    let introspected: Value = reqwest::Client::new()
        .post(l.at("/oauth2/introspect"))
        .basic_auth("api", Some("api-secret"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let userinfo = reqwest::Client::new()
        .get(l.at("/oauth2/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status();
    let verdicts = (
        authorized == 200,
        introspected["active"] == json!(true),
        userinfo == 200,
    );
    assert!(
        verdicts == (true, true, true) || verdicts == (false, false, false),
        "{verdicts:?} {introspected}"
    );
    verdicts.0
}

/// `POST /admin/api/v1/sessions/revoke` with `body`: the status and answer.
async fn revoke(l: &Lanyard, token: &str, body: &Value) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(l.at(&format!("{SESSIONS}/revoke")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

#[tokio::test]
async fn revoking_a_person_refuses_every_token_of_theirs_and_no_one_elses() {
    let (l, _keys, _dir, url) = start().await;
    let admin = token(&l, "alice", "admin").await;
    let bob = token(&l, "bob", "engineer").await;
    let bob_again = token(&l, "bob", "engineer").await;
    assert!(accepted(&l, &bob).await && accepted(&l, &admin).await);

    let (status, body) = revoke(&l, &admin, &json!({"person": "corp:bob", "reason": "left"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ended"], 2, "both of bob's sessions: {body}");
    assert!(!accepted(&l, &bob).await);
    assert!(!accepted(&l, &bob_again).await);
    assert!(accepted(&l, &admin).await, "alice's token still works");
    let (bobs, _) = list_all(&l, &admin, "person=corp:bob").await;
    assert!(bobs.is_empty(), "{bobs:?}");

    // Signing in after the mark works again.
    l.clock.advance(std::time::Duration::from_secs(1));
    let fresh = token(&l, "bob", "engineer").await;
    assert!(accepted(&l, &fresh).await);

    // Bad bodies.
    for bad in [
        json!({}),
        json!({"person": "corp:bob", "role": "engineer"}),
        json!({"who": 1}),
    ] {
        let (status, body) = revoke(&l, &admin, &bad).await;
        assert_eq!(status, 400, "{bad} {body}");
    }

    let db = Database::open(&Location::parse(&url).unwrap()).unwrap();
    let events = lanyard::audit::query(
        &db,
        &AuditQuery {
            event: Some(EventKind::AdminChanged),
            limit: 10,
            ..AuditQuery::default()
        },
    )
    .await
    .unwrap();
    db.close().await;
    let event = &events[0];
    assert_eq!(event.subject.as_deref(), Some("alice"));
    assert_eq!(event.provider.as_deref(), Some("corp"));
    assert_eq!(event.detail["operation"], "revoke_person");
    assert_eq!(event.detail["target"]["person"], "corp:bob");
    assert_eq!(event.detail["reason"], "left");
    assert_eq!(event.detail["ended"], 2);
}

#[tokio::test]
async fn killing_a_role_refuses_its_tokens_until_a_new_sign_in() {
    let (l, _keys, _dir, _url) = start().await;
    let admin = token(&l, "alice", "admin").await;
    let bob = token(&l, "bob", "engineer").await;
    let alice_engineer = token(&l, "alice", "engineer").await;
    assert!(accepted(&l, &bob).await);

    let (status, body) = revoke(&l, &admin, &json!({"role": "engineer"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ended"], 2, "{body}");
    assert!(!accepted(&l, &bob).await);
    assert!(!accepted(&l, &alice_engineer).await);
    assert!(
        accepted(&l, &admin).await,
        "another role's token still works"
    );
    let (engineers, _) = list_all(&l, &admin, "role=engineer").await;
    assert!(engineers.is_empty(), "{engineers:?}");

    // A new sign-in after the mark gets the role again.
    l.clock.advance(std::time::Duration::from_secs(1));
    let fresh = token(&l, "bob", "engineer").await;
    assert!(accepted(&l, &fresh).await);

    // Without the action: 403, nothing revoked.
    let (status, body) = revoke(&l, &fresh, &json!({"role": "admin"})).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("arn:lanyard:iam:::role/admin")
    );
    let (status, _) = revoke(&l, &fresh, &json!({"person": "corp:alice"})).await;
    assert_eq!(status, 403);
    assert!(accepted(&l, &admin).await);
}

#[tokio::test]
async fn a_revocation_through_one_instance_is_refused_by_another_at_once() {
    let keys = tempfile::tempdir().unwrap();
    let prefix = format!(
        "lanyard-it:{}:",
        lanyard::session::random_id().expose_secret()
    );
    let text = config_text(
        &format!(
            "[sessions]\nstore = \"redis\"\nredis_url = \"redis://127.0.0.1:6379\"\nkey_prefix = \"{prefix}\"\n"
        ),
        keys.path(),
    );
    let store = || -> std::sync::Arc<dyn lanyard::session::SessionStore> {
        std::sync::Arc::new(
            lanyard::session::RedisStore::connect(
                "redis://127.0.0.1:6379",
                &prefix,
                lanyard::session::RedisTimeouts::default(),
            )
            .unwrap(),
        )
    };
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let a = start_with(&text, store(), clock.clone()).await;
    let b = start_with(&text, store(), clock.clone()).await;
    let admin = token(&a, "alice", "admin").await;
    let bob = token(&b, "bob", "engineer").await;
    let carol = token(&b, "carol", "auditor").await;
    assert_eq!(authorize(&b, &bob).await, 200);

    let (status, body) = revoke(&a, &admin, &json!({"role": "engineer"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(authorize(&b, &bob).await, 401);
    assert_eq!(authorize(&b, &carol).await, 200);

    let (status, body) = revoke(&a, &admin, &json!({"person": "corp:carol"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(authorize(&b, &carol).await, 401);
    assert_eq!(authorize(&b, &admin).await, 200);
}
