//! The admin JSON API for roles (`/admin/api/v1/roles`): CRUD on SQLite and PostgreSQL,
//! `ETag`/`If-Match` (412 on a stale write, nothing changed), IAM authorization (403 for
//! a caller whose policies do not allow the action, and for a role outside `role/eng-*`
//! under the narrow example policy), 409 for a role of `lanyard.toml`, validation errors
//! with their JSON path, the audit event with the role before and after, the OpenAPI
//! document, and two instances on one PostgreSQL seeing each other's changes within 2 s.
//!
//! Each Lanyard runs as `lanyard serve` does ([`start_live`]): the reloader serves it and
//! polls the catalog version.

use std::path::Path;
use std::time::{Duration, Instant};

use lanyard::audit::{AuditQuery, EventKind};
use lanyard::clock::{ManualClock, UnixTime};
use lanyard::db::{Database, Location};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::audit::PgDatabase;
use crate::harness::{Lanyard, T0, browser, config_text, memory_store, start_live};

const ROLES: &str = "/admin/api/v1/roles";

/// The test directory and quickstart roles, a `trust-editor` role (carol, through the
/// finance group) with the narrow example policy, and the database at `database`.
fn config(keys_dir: &Path, database: &str) -> String {
    format!(
        "{}\n\
         [[roles]]\nname = \"trust-editor\"\npermission_policies = [\"eng-trust-editor\"]\n\
         trust_policy = {{ Version = \"2012-10-17\", Statement = [\n\
           {{ Effect = \"Allow\", Principal = {{ Federated = \"corp\" }}, Action = \"sts:AssumeRole\",\n\
              Condition = {{ \"ForAnyValue:StringEquals\" = {{ \"idp:groups\" = [\"finance\"] }} }} }},\n\
         ] }}\n\
         [[policies]]\nname = \"eng-trust-editor\"\ndocument_file = \"policies/eng-trust-editor.json\"\n\
         [audit]\ndatabase = \"{database}\"\n",
        config_text("[sessions]\nstore = \"memory\"\n", keys_dir),
    )
}

/// A Lanyard on `database`, and the directory of its keys.
pub(crate) async fn start(database: &str) -> (Lanyard, tempfile::TempDir) {
    let keys = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let l = start_live(&config(keys.path(), database), memory_store(&clock), clock).await;
    (l, keys)
}

/// A SQLite database in a directory of the test's own.
pub(crate) fn sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("lanyard.db").display());
    (dir, url)
}

/// An access token of `user`'s role session for `role`.
pub(crate) async fn token(l: &Lanyard, user: &str, role: &str) -> String {
    let b = browser();
    let (status, html) = l.picker(&b, user).await;
    if status == 200 {
        assert_eq!(l.choose(&b, &html, role, 900).await.status(), 303);
    }
    let (token, page) = l.credentials(&b).await;
    assert!(
        page.contains(&format!("<code>{role}</code>")),
        "{user} as {role}"
    );
    token
}

/// A role dave (no groups) may take, described as `description`.
fn dave_role(description: &str) -> Value {
    json!({
        "description": description,
        "max_session_duration": "2h",
        "permission_policies": ["read-only"],
        "trust_policy": {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": "corp"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"idp:username": "dave"}}
            }]
        }
    })
}

pub(crate) struct Api<'a> {
    l: &'a Lanyard,
    pub(crate) token: String,
    http: reqwest::Client,
}

impl<'a> Api<'a> {
    pub(crate) fn new(l: &'a Lanyard, token: String) -> Self {
        Self {
            l,
            token,
            http: reqwest::Client::new(),
        }
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (StatusCode, Option<String>, Value) {
        let mut r = self
            .http
            .request(method, self.l.at(path))
            .bearer_auth(&self.token);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(body) = body {
            r = r.json(body);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let etag = r
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = r.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}"))
        };
        (status, etag, body)
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Option<String>, Value) {
        self.send(reqwest::Method::GET, path, &[], None).await
    }

    async fn put(
        &self,
        name: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> (StatusCode, Option<String>, Value) {
        let path = format!("{ROLES}/{name}");
        self.send(reqwest::Method::PUT, &path, headers, Some(body))
            .await
    }

    async fn delete(&self, name: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        let path = format!("{ROLES}/{name}");
        let (s, _, b) = self
            .send(reqwest::Method::DELETE, &path, headers, None)
            .await;
        (s, b)
    }
}

/// Polls `done` every 50 ms for at most `within`; returns how long it took.
pub(crate) async fn within<F, Fut>(within: Duration, what: &str, done: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// Whether dave, signing in now, gets `role` (his only role, so the picker is skipped).
async fn dave_gets(l: &Lanyard, role: &str) -> bool {
    let b = browser();
    let r = l.sign_in(&b, "dave", "dave-pw").await;
    assert_eq!(r.status(), 303);
    let r = b.get(l.at("/roles")).send().await.unwrap();
    if r.status() != 303 {
        return false;
    }
    let (_, page) = l.credentials(&b).await;
    page.contains(&format!("<code>{role}</code>"))
}

async fn crud(database: &str) {
    let (l, _keys) = start(database).await;
    let api = Api::new(&l, token(&l, "alice", "admin").await);

    // The file's roles are listed, read-only.
    let (status, _, list) = api.get(ROLES).await;
    assert_eq!(status, 200, "{list}");
    let names: Vec<&str> = list["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["engineer", "admin", "auditor", "trust-editor"]);
    assert_eq!(list["roles"][0]["source"], "file");

    // Create: If-None-Match: *.
    let role = dave_role("On call");
    let (status, _, body) = api.put("eng-oncall", &[], &role).await;
    assert_eq!(status, 428, "{body}");
    assert_eq!(body["error"], "precondition_required");
    let (status, etag, body) = api
        .put("eng-oncall", &[("if-none-match", "*")], &role)
        .await;
    assert_eq!(status, 201, "{body}");
    let etag = etag.unwrap();
    // A second between writes orders their audit events.
    l.clock.advance(Duration::from_secs(1));
    assert_eq!(body["source"], "database");
    assert_eq!(body["document"]["description"], "On call");
    assert_eq!(body["updated_by"], "corp:alice");
    let (status, _, again) = api
        .put("eng-oncall", &[("if-none-match", "*")], &role)
        .await;
    assert_eq!(status, 412, "{again}");

    // Read, with the ETag.
    let (status, read_etag, read) = api.get(&format!("{ROLES}/eng-oncall")).await;
    assert_eq!(
        (status, read_etag.as_deref()),
        (StatusCode::OK, Some(etag.as_str()))
    );
    assert_eq!(read["document"], body["document"]);

    // The running broker offers it (the catalog poll, within 2 s).
    within(Duration::from_secs(2), "dave gets eng-oncall", || {
        dave_gets(&l, "eng-oncall")
    })
    .await;

    // /v1/authorize evaluates the database role's permission policies.
    let dave = token(&l, "dave", "eng-oncall").await;
    let decide = |action: &'static str| {
        let (url, dave) = (l.at("/v1/authorize"), dave.clone());
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .bearer_auth(dave)
                .json(&json!({"action": action, "resource": "*"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()["decision"].clone()
        }
    };
    assert_eq!(decide("logs:GetEvents").await, "Allow");
    assert_eq!(decide("lanyard:PutRole").await, "Deny");

    // Replace with If-Match; a stale If-Match changes nothing.
    let (status, new_etag, replaced) = api
        .put(
            "eng-oncall",
            &[("if-match", &etag)],
            &dave_role("On call, weekdays"),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    l.clock.advance(Duration::from_secs(1));
    let new_etag = new_etag.unwrap();
    assert_ne!(new_etag, etag);
    let (status, _, stale) = api
        .put(
            "eng-oncall",
            &[("if-match", &etag)],
            &dave_role("Lost update"),
        )
        .await;
    assert_eq!(status, 412, "{stale}");
    assert_eq!(stale["error"], "precondition_failed");
    let (status, _) = api.delete("eng-oncall", &[("if-match", &etag)]).await;
    assert_eq!(status, 412);
    let (_, still_etag, still) = api.get(&format!("{ROLES}/eng-oncall")).await;
    assert_eq!(still["document"]["description"], "On call, weekdays");
    assert_eq!(still_etag.as_deref(), Some(new_etag.as_str()));

    // A role of lanyard.toml is read-only here.
    let (status, _, conflict) = api
        .put("admin", &[("if-none-match", "*")], &dave_role("x"))
        .await;
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["error"], "managed_in_file");
    let (status, body) = api.delete("engineer", &[("if-match", "\"1\"")]).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::CONFLICT, &json!("managed_in_file"))
    );

    // Validation by check-config's code, with the field's path.
    let mut bad = dave_role("Bad");
    bad["trust_policy"]["Statement"][0]["Condition"] =
        json!({"StringEqual": {"idp:username": "dave"}});
    let (status, _, invalid) = api.put("eng-bad", &[("if-none-match", "*")], &bad).await;
    assert_eq!(status, 422, "{invalid}");
    assert_eq!(invalid["error"], "invalid_role");
    assert_eq!(invalid["path"], "trust_policy.Statement[0].Condition");
    assert!(
        invalid["error_description"]
            .as_str()
            .unwrap()
            .contains("did you mean \"StringEquals\"?"),
        "{invalid}"
    );
    let mut unknown = dave_role("Bad");
    unknown["permission_policies"] = json!(["read-only", "nope"]);
    let (status, _, invalid) = api
        .put("eng-bad", &[("if-none-match", "*")], &unknown)
        .await;
    assert_eq!(
        (status, &invalid["path"]),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!("permission_policies[1]")
        )
    );
    let (status, _, invalid) = api
        .put(
            "eng-bad",
            &[("if-none-match", "*")],
            &json!({"description": "no trust"}),
        )
        .await;
    assert_eq!(
        (status, &invalid["path"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("trust_policy"))
    );
    let mut huge = dave_role("Huge");
    huge["description"] = json!("x".repeat(70 * 1024));
    let (status, _, too_large) = api.put("eng-bad", &[("if-none-match", "*")], &huge).await;
    assert_eq!(status, 413, "{too_large}");
    assert_eq!(too_large["error"], "body_too_large");
    let (status, _, _) = api.get(&format!("{ROLES}/eng-bad")).await;
    assert_eq!(status, 404, "nothing invalid was written");

    // Delete with If-Match.
    let (status, _) = api.delete("eng-oncall", &[("if-match", &new_etag)]).await;
    assert_eq!(status, 204);
    let (status, _, gone) = api.get(&format!("{ROLES}/eng-oncall")).await;
    assert_eq!(
        (status, &gone["error"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );
    within(Duration::from_secs(2), "dave loses eng-oncall", || async {
        !dave_gets(&l, "eng-oncall").await
    })
    .await;

    // The audit trail has each write with the role before and after.
    let db = Database::open(&Location::parse(database).unwrap()).unwrap();
    let events = lanyard::audit::query(
        &db,
        &AuditQuery {
            event: Some(EventKind::AdminChanged),
            role: Some("eng-oncall".into()),
            limit: 10,
            ..AuditQuery::default()
        },
    )
    .await
    .unwrap();
    db.close().await;
    let ops: Vec<&str> = events
        .iter()
        .map(|e| e.detail["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["delete", "put", "put"], "newest first");
    let (delete, replace, create) = (&events[0], &events[1], &events[2]);
    // The person as sign-in events record one: the subject and its provider apart.
    assert_eq!(create.subject.as_deref(), Some("alice"));
    assert_eq!(create.provider.as_deref(), Some("corp"));
    assert_eq!(create.detail["caller_role"], "admin");
    assert_eq!(create.detail["before"], Value::Null);
    assert_eq!(create.detail["after"]["document"]["description"], "On call");
    assert_eq!(
        replace.detail["before"]["document"]["description"],
        "On call"
    );
    assert_eq!(
        replace.detail["after"]["document"]["description"],
        "On call, weekdays"
    );
    assert_eq!(
        delete.detail["before"]["document"]["description"],
        "On call, weekdays"
    );
    assert_eq!(delete.detail["after"], Value::Null);
}

#[tokio::test]
async fn roles_crud_on_sqlite() {
    let (_dir, url) = sqlite();
    crud(&url).await;
}

#[tokio::test]
async fn roles_crud_on_postgres() {
    let pg = PgDatabase::create().await;
    crud(&pg.url()).await;
}

#[tokio::test]
async fn a_role_created_through_one_instance_is_offered_by_another_within_two_seconds() {
    let pg = PgDatabase::create().await;
    let (one, _k1) = start(&pg.url()).await;
    let (two, _k2) = start(&pg.url()).await;
    assert!(!dave_gets(&two, "eng-oncall").await);
    let api = Api::new(&one, token(&one, "alice", "admin").await);
    let (status, etag, body) = api
        .put(
            "eng-oncall",
            &[("if-none-match", "*")],
            &dave_role("On call"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let took = within(
        Duration::from_secs(2),
        "the other instance offers it",
        || dave_gets(&two, "eng-oncall"),
    )
    .await;
    eprintln!("the other instance offered the new role after {took:?}");
    // And a delete through the other instance is seen by the first.
    let other = Api::new(&two, token(&two, "alice", "admin").await);
    let (status, _) = other
        .delete("eng-oncall", &[("if-match", &etag.unwrap())])
        .await;
    assert_eq!(status, 204);
    within(
        Duration::from_secs(2),
        "the first instance drops it",
        || async { !dave_gets(&one, "eng-oncall").await },
    )
    .await;
}

#[tokio::test]
async fn of_concurrent_writes_with_one_etag_exactly_one_wins_on_postgres() {
    let pg = PgDatabase::create().await;
    concurrent_writes(&pg.url()).await;
}

#[tokio::test]
async fn of_concurrent_writes_with_one_etag_exactly_one_wins_on_sqlite() {
    let (_dir, url) = sqlite();
    concurrent_writes(&url).await;
}

async fn concurrent_writes(database: &str) {
    let (l, _keys) = start(database).await;
    let api = Api::new(&l, token(&l, "alice", "admin").await);
    let (status, etag, _) = api
        .put("eng-oncall", &[("if-none-match", "*")], &dave_role("v1"))
        .await;
    assert_eq!(status, 201);
    let etag = etag.unwrap();
    // Six writers read the same ETag and write at once.
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..6 {
        let (url, token, etag) = (
            l.at(&format!("{ROLES}/eng-oncall")),
            api.token.clone(),
            etag.clone(),
        );
        writers.spawn(async move {
            reqwest::Client::new()
                .put(url)
                .bearer_auth(token)
                .header("if-match", etag)
                .json(&dave_role(&format!("writer {i}")))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let mut statuses = writers.join_all().await;
    statuses.sort();
    assert_eq!(statuses, [200, 412, 412, 412, 412, 412]);
    let (_, _, role) = api.get(&format!("{ROLES}/eng-oncall")).await;
    assert_ne!(role["document"]["description"], "v1");
}

#[tokio::test]
async fn a_reload_of_the_file_keeps_the_database_roles_and_the_file_wins_a_name() {
    let (_dir, url) = sqlite();
    let (l, _keys) = start(&url).await;
    let api = Api::new(&l, token(&l, "alice", "admin").await);
    let (status, _, body) = api
        .put(
            "eng-oncall",
            &[("if-none-match", "*")],
            &dave_role("From the database"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    within(Duration::from_secs(2), "dave gets eng-oncall", || {
        dave_gets(&l, "eng-oncall")
    })
    .await;

    // The file gains a role: a reload keeps the database's.
    let (reloader, path) = l.live.as_ref().unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let file_role = |name: &str, description: &str| {
        format!(
            "\n[[roles]]\nname = \"{name}\"\ndescription = \"{description}\"\n\
             trust_policy = {{ Version = \"2012-10-17\", Statement = [\n\
               {{ Effect = \"Allow\", Principal = {{ Federated = \"corp\" }}, Action = \"sts:AssumeRole\",\n\
                  Condition = {{ StringEquals = {{ \"idp:username\" = \"nobody\" }} }} }},\n\
             ] }}\n"
        )
    };
    std::fs::write(
        path,
        format!("{text}{}", file_role("eng-file", "From the file")),
    )
    .unwrap();
    reloader.reload().await.unwrap();
    assert!(dave_gets(&l, "eng-oncall").await, "kept across the reload");

    // The file takes the database role's name: the file's role is the one used.
    std::fs::write(
        path,
        format!("{text}{}", file_role("eng-oncall", "From the file")),
    )
    .unwrap();
    reloader.reload().await.unwrap();
    assert!(
        !dave_gets(&l, "eng-oncall").await,
        "the file's trust policy decides"
    );
    let (status, _, role) = api.get(&format!("{ROLES}/eng-oncall")).await;
    assert_eq!((status, &role["source"]), (StatusCode::OK, &json!("file")));
    let (status, _, body) = api
        .put("eng-oncall", &[("if-match", "\"1\"")], &dave_role("x"))
        .await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::CONFLICT, &json!("managed_in_file"))
    );
}

#[tokio::test]
async fn callers_whose_policies_do_not_allow_the_action_are_refused() {
    let (_dir, url) = sqlite();
    let (l, _keys) = start(&url).await;
    // No token, or a bad one: 401.
    let anonymous = reqwest::Client::new();
    let r = anonymous.get(l.at(ROLES)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    let forged = Api::new(&l, "not.a.token".into());
    assert_eq!(forged.get(ROLES).await.0, 401);

    // bob's engineer role may deploy, not administer.
    let bob = Api::new(&l, token(&l, "bob", "engineer").await);
    let (status, _, body) = bob.get(ROLES).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "access_denied");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("lanyard:ListRoles")
    );
    let (status, _, _) = bob
        .put("eng-oncall", &[("if-none-match", "*")], &dave_role("x"))
        .await;
    assert_eq!(status, 403);

    // carol's trust-editor role: the engineering roles only.
    let carol = Api::new(&l, token(&l, "carol", "trust-editor").await);
    assert_eq!(carol.get(ROLES).await.0, 200);
    let (status, etag, body) = carol
        .put("eng-oncall", &[("if-none-match", "*")], &dave_role("x"))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(carol.get(&format!("{ROLES}/eng-oncall")).await.0, 200);
    // ... and may simulate and weigh changes to them, not to the others.
    let post = |path: String, body: Value| {
        let carol = &carol;
        async move {
            carol
                .send(reqwest::Method::POST, &path, &[], Some(&body))
                .await
        }
    };
    let pasted = |role: &str| json!({"provider": "corp", "claims": {"sub": "x"}, "role": role});
    // The simulator evaluates the running catalog, which takes the new role up within 2 s.
    within(
        Duration::from_secs(2),
        "the simulator knows eng-oncall",
        || async {
            post("/admin/api/v1/simulate".into(), pasted("eng-oncall"))
                .await
                .0
                != 404
        },
    )
    .await;
    let (status, _, body) = post("/admin/api/v1/simulate".into(), pasted("eng-oncall")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["roles"][0]["offered"], false, "{body}");
    let all = json!({"provider": "corp", "claims": {"sub": "x"}});
    assert_eq!(post("/admin/api/v1/simulate".into(), all).await.0, 403);
    assert_eq!(
        post("/admin/api/v1/simulate".into(), pasted("admin"))
            .await
            .0,
        403
    );
    let (status, _, body) = post(format!("{ROLES}/eng-oncall/impact"), dave_role("y")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        post(format!("{ROLES}/ops-oncall/impact"), dave_role("y"))
            .await
            .0,
        403
    );
    let (status, _, body) = carol
        .put("ops-oncall", &[("if-none-match", "*")], &dave_role("x"))
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("arn:lanyard:iam:::role/ops-oncall")
    );
    assert_eq!(carol.get(&format!("{ROLES}/admin")).await.0, 403);
    let (status, _) = carol.delete("ops-oncall", &[("if-match", "\"1\"")]).await;
    assert_eq!(status, 403);
    let (status, _) = carol
        .delete("eng-oncall", &[("if-match", &etag.unwrap())])
        .await;
    assert_eq!(status, 204);

    // Every refusal is in the audit trail: who, with which role, the action, the resource
    // and the policy engine's reason.
    let admin = Api::new(&l, token(&l, "alice", "admin").await);
    let refusals = "/admin/api/v1/audit-events?event=admin.refused&limit=100";
    within(
        Duration::from_secs(5),
        "the refusals in the trail",
        || async {
            let body = admin.get(refusals).await.2;
            let events = body["events"].as_array().cloned().unwrap_or_default();
            let by = |who: &str, action: &str, resource: &str| {
                let (provider, subject) = who.split_once(':').unwrap();
                events.iter().any(|e| {
                    e["subject"] == subject
                        && e["provider"] == provider
                        && e["detail"]["action"] == action
                        && e["detail"]["resource"] == resource
                        && e["reason"].as_str().is_some_and(|r| !r.is_empty())
                })
            };
            by("corp:bob", "lanyard:ListRoles", "arn:lanyard:iam:::role/*")
                && by(
                    "corp:carol",
                    "lanyard:PutRole",
                    "arn:lanyard:iam:::role/ops-oncall",
                )
                && by(
                    "corp:carol",
                    "lanyard:DeleteRole",
                    "arn:lanyard:iam:::role/ops-oncall",
                )
        },
    )
    .await;
}

#[tokio::test]
async fn the_openapi_document_parses_and_lists_the_paths() {
    let (_dir, url) = sqlite();
    let (l, _keys) = start(&url).await;
    let r = reqwest::get(l.at("/admin/api/v1/openapi.json"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths[ROLES]["get"].is_object());
    for method in ["get", "put", "delete"] {
        assert!(
            paths["/admin/api/v1/roles/{name}"][method].is_object(),
            "{method}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}
