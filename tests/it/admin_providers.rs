//! The admin JSON API for providers and managed policies (`/admin/api/v1/providers`,
//! `/admin/api/v1/policies`): CRUD on SQLite and PostgreSQL with `ETag`/`If-Match` (412 on
//! a stale write), an OpenID Connect provider (the in-repo stand-in of `upstream.rs`)
//! added through the API and used for a real sign-in on the same instance as soon as the
//! write answered, and on a second instance of one PostgreSQL within 2 s; a provider's
//! secret never read back (GET, the write's answer, the audit trail) and kept when the
//! redaction marker is sent back; 422 with the JSON path; 409 for the file's entries and
//! for a policy a role still names; 403 for callers whose policies do not allow the
//! actions.

use std::time::Duration;

use lanyard::audit::{AuditQuery, EventKind};
use lanyard::db::{Database, EntityKind, Location};
use lanyard::tokens::Algorithm;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::admin_api::{Api, sqlite, start, token, within};
use crate::audit::PgDatabase;
use crate::harness::{Lanyard, browser};
use crate::upstream::{Fake, fake_idp, location, roles_after, to_lanyard};

const PROVIDERS: &str = "/admin/api/v1/providers";
const POLICIES: &str = "/admin/api/v1/policies";
const SECRET: &str = "s3cret-of-the-db-idp";

/// The stand-in OpenID provider as a provider document.
fn oidc(fake: &Fake, display_name: &str, secret: &str) -> Value {
    json!({
        "kind": "oidc",
        "display_name": display_name,
        "issuer": fake.issuer(),
        "client_id": "lanyard",
        "client_secret": secret,
        "timeout": "2s",
    })
}

/// A role for the stand-in's engineers, trusting the database provider `dbidp`.
fn db_role(policies: &[&str]) -> Value {
    json!({
        "description": "Engineers of the database IdP",
        "permission_policies": policies,
        "trust_policy": {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": "dbidp"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"ForAnyValue:StringEquals": {"idp:groups": ["engineering"]}}
            }]
        }
    })
}

fn logs_policy(action: &str) -> Value {
    json!({"document": {"Version": "2012-10-17", "Statement": [
        {"Sid": "Logs", "Effect": "Allow", "Action": action, "Resource": "*"}
    ]}})
}

impl Api<'_> {
    async fn put_at(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> (StatusCode, Option<String>, Value) {
        self.send(Method::PUT, path, headers, Some(body)).await
    }

    async fn delete_at(&self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        let (s, _, b) = self.send(Method::DELETE, path, headers, None).await;
        (s, b)
    }
}

/// The roles a sign-in through `provider` at `l` is offered (none when it fails).
async fn roles_through(l: &Lanyard, provider: &str) -> Vec<String> {
    let b = browser();
    let start = b
        .get(l.at(&format!("/auth/{provider}")))
        .send()
        .await
        .unwrap();
    if start.status() != 303 {
        return Vec::new();
    }
    // The sign-in this start began, followed through (not a second start: the provider
    // may go, or come, between two requests while an instance takes a change up).
    let back = b.get(location(&start)).send().await.unwrap();
    let callback = b.get(to_lanyard(l, &location(&back))).send().await.unwrap();
    if callback.status() != 303 {
        return Vec::new();
    }
    roles_after(l, &b, callback).await
}

/// Whether `v` (a response, an audit event) shows the provider's secret anywhere.
fn shows_secret(v: &Value) -> bool {
    v.to_string().contains(SECRET)
}

async fn providers_crud(database: &str) {
    let (l, _keys) = start(database).await;
    let fake = fake_idp(l.clock.clone(), Algorithm::Rs256).await;
    let api = Api::new(&l, token(&l, "alice", "admin").await);

    // The file's provider is listed, read-only.
    let (status, _, list) = api.get(PROVIDERS).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["providers"][0]["id"], "corp");
    assert_eq!(list["providers"][0]["source"], "file");
    assert_eq!(list["providers"][0]["kind"], "local");
    let (status, _, conflict) = api
        .put_at(
            &format!("{PROVIDERS}/corp"),
            &[("if-none-match", "*")],
            &oidc(&fake, "x", "y"),
        )
        .await;
    assert_eq!(
        (status, &conflict["error"]),
        (StatusCode::CONFLICT, &json!("managed_in_file"))
    );

    // Create: the secret is never read back.
    let path = format!("{PROVIDERS}/dbidp");
    let document = oidc(&fake, "Database IdP", SECRET);
    let (status, _, body) = api.put_at(&path, &[], &document).await;
    assert_eq!(
        (status, &body["error"]),
        (
            StatusCode::PRECONDITION_REQUIRED,
            &json!("precondition_required")
        )
    );
    let (status, etag, created) = api
        .put_at(&path, &[("if-none-match", "*")], &document)
        .await;
    assert_eq!(status, 201, "{created}");
    l.clock.advance(Duration::from_secs(1));
    let etag = etag.unwrap();
    assert_eq!(created["source"], "database");
    assert_eq!(created["kind"], "oidc");
    assert_eq!(created["document"]["client_secret"], "********");
    assert!(!shows_secret(&created), "{created}");
    let (status, read_etag, read) = api.get(&path).await;
    assert_eq!(
        (status, read_etag.as_deref()),
        (StatusCode::OK, Some(etag.as_str()))
    );
    assert_eq!(read["document"]["client_secret"], "********");
    assert_eq!(read["display_name"], "Database IdP");
    assert!(!shows_secret(&read), "{read}");
    let (_, _, list) = api.get(PROVIDERS).await;
    assert!(!shows_secret(&list), "{list}");
    assert_eq!(list["providers"][1]["id"], "dbidp");

    // A role of the database trusts it; a sign-in through it works on this instance as
    // soon as the writes answered (no waiting for the poll).
    let (status, _, role) = api
        .put_at(
            "/admin/api/v1/roles/eng-db",
            &[("if-none-match", "*")],
            &db_role(&[]),
        )
        .await;
    assert_eq!(status, 201, "{role}");
    l.clock.advance(Duration::from_secs(1));
    let serving = l.live.as_ref().unwrap().0.catalog_version().await;
    assert!(
        serving >= Some(role["version"].as_i64().unwrap()),
        "read-your-writes: {serving:?}"
    );
    assert_eq!(roles_through(&l, "dbidp").await, ["eng-db"]);
    let chooser = l.text(&browser(), "/signin").await;
    assert!(chooser.contains("Database IdP"), "{chooser}");

    // A catalog change that leaves the provider as it was keeps its connector (and its
    // cached keys); a change of the provider builds a new one (which fetches them again).
    let fetched = fake.jwks_fetches();
    assert!(fetched > 0);
    let (status, _, other) = api
        .put_at(
            "/admin/api/v1/policies/unrelated",
            &[("if-none-match", "*")],
            &logs_policy("logs:GetEvents"),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    assert_eq!(roles_through(&l, "dbidp").await, ["eng-db"]);
    assert_eq!(fake.jwks_fetches(), fetched, "the connector was kept");

    // Replace, sending the redaction marker back: the stored secret is kept.
    let mut renamed = read["document"].clone();
    renamed["display_name"] = json!("Database IdP, renamed");
    let (status, new_etag, replaced) = api.put_at(&path, &[("if-match", &etag)], &renamed).await;
    assert_eq!(status, 200, "{replaced}");
    l.clock.advance(Duration::from_secs(1));
    let new_etag = new_etag.unwrap();
    let db = Database::open(&Location::parse(database).unwrap()).unwrap();
    let row = db
        .entity(EntityKind::Provider, "dbidp")
        .await
        .unwrap()
        .unwrap();
    let stored: Value = serde_json::from_str(&row.body).unwrap();
    assert_eq!(
        stored["client_secret"], SECRET,
        "the marker kept the secret"
    );
    assert_eq!(stored["display_name"], "Database IdP, renamed");
    assert_eq!(roles_through(&l, "dbidp").await, ["eng-db"]);
    assert_eq!(
        fake.jwks_fetches(),
        fetched + 1,
        "a new connector for new settings"
    );

    // A stale ETag changes nothing.
    let (status, _, stale) = api
        .put_at(
            &path,
            &[("if-match", &etag)],
            &oidc(&fake, "Lost update", "other"),
        )
        .await;
    assert_eq!(
        (status, &stale["error"]),
        (
            StatusCode::PRECONDITION_FAILED,
            &json!("precondition_failed")
        )
    );
    let (status, _) = api.delete_at(&path, &[("if-match", &etag)]).await;
    assert_eq!(status, 412);
    let (_, still_etag, still) = api.get(&path).await;
    assert_eq!(still["display_name"], "Database IdP, renamed");
    assert_eq!(still_etag.as_deref(), Some(new_etag.as_str()));

    // The marker on a create has no secret to keep.
    let (status, _, invalid) = api
        .put_at(
            &format!("{PROVIDERS}/other"),
            &[("if-none-match", "*")],
            &oidc(&fake, "x", "********"),
        )
        .await;
    assert_eq!(
        (status, &invalid["path"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("client_secret"))
    );

    // Validation by check-config's code, with the field's path.
    let invalid = |document: Value| {
        let api = &api;
        async move {
            let (status, _, body) = api
                .put_at(
                    &format!("{PROVIDERS}/bad"),
                    &[("if-none-match", "*")],
                    &document,
                )
                .await;
            assert_eq!(status, 422, "{body}");
            assert_eq!(body["error"], "invalid_provider");
            (
                body["path"].as_str().unwrap().to_owned(),
                body["error_description"].as_str().unwrap().to_owned(),
            )
        }
    };
    let mut no_issuer = oidc(&fake, "x", "y");
    no_issuer.as_object_mut().unwrap().remove("issuer");
    assert_eq!(invalid(no_issuer).await.0, "issuer");
    let mut ftp = oidc(&fake, "x", "y");
    ftp["issuer"] = json!("ftp://idp.example.com");
    let (path_of, why) = invalid(ftp).await;
    assert_eq!(path_of, "issuer");
    assert!(why.contains("https://"), "{why}");
    let mut typo = oidc(&fake, "x", "y");
    typo["kind"] = json!("odic");
    let (path_of, why) = invalid(typo).await;
    assert_eq!(path_of, "kind");
    assert!(why.contains("did you mean \"oidc\"?"), "{why}");
    let mut nested = oidc(&fake, "x", "y");
    nested["claims"] = json!({"username": "preferred_username", "nickname": "x"});
    assert_eq!(invalid(nested).await.0, "claims.nickname");
    let mut from_file = oidc(&fake, "x", "y");
    from_file.as_object_mut().unwrap().remove("client_secret");
    from_file["client_secret_file"] = json!("/etc/shadow");
    assert_eq!(invalid(from_file).await.0, "client_secret_file");
    assert_eq!(
        invalid(oidc(&fake, "x", "${HOME}")).await.0,
        "client_secret"
    );
    assert_eq!(
        invalid(json!({"kind": "local", "users": []})).await.0,
        "kind"
    );
    assert_eq!(
        api.get(&format!("{PROVIDERS}/bad")).await.0,
        404,
        "nothing invalid was written"
    );
    let (status, _, _) = api
        .put_at(
            &format!("{PROVIDERS}/Not_An_Id"),
            &[("if-none-match", "*")],
            &oidc(&fake, "x", "y"),
        )
        .await;
    assert_eq!(status, 400);

    // Delete: allowed while a role trusts it, and the answer names that role; sign-ins
    // through it end at once.
    let (status, deleted) = api.delete_at(&path, &[("if-match", &new_etag)]).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["deleted"], "dbidp");
    assert_eq!(deleted["trusted_by"], json!(["eng-db"]));
    let b = browser();
    let r = b.get(l.at("/auth/dbidp")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(api.get(&path).await.0, 404);

    // The audit trail has each write, never the secret.
    let events = lanyard::audit::query(
        &db,
        &AuditQuery {
            event: Some(EventKind::AdminChanged),
            limit: 20,
            ..AuditQuery::default()
        },
    )
    .await
    .unwrap();
    db.close().await;
    let of_provider: Vec<&lanyard::audit::AuditEvent> = events
        .iter()
        .filter(|e| e.detail["kind"] == "provider")
        .collect();
    let ops: Vec<&str> = of_provider
        .iter()
        .map(|e| e.detail["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["delete", "put", "put"], "newest first");
    for e in &of_provider {
        assert!(!shows_secret(&e.detail), "{}", e.detail);
        assert_eq!(e.detail["name"], "dbidp");
    }
    assert_eq!(
        of_provider[2].detail["after"]["document"]["client_secret"],
        "********"
    );
    assert_eq!(
        of_provider[1].detail["before"]["document"]["display_name"],
        "Database IdP"
    );
    assert_eq!(of_provider[0].detail["after"], Value::Null);
}

#[tokio::test]
async fn providers_crud_on_sqlite() {
    let (_dir, url) = sqlite();
    providers_crud(&url).await;
}

#[tokio::test]
async fn providers_crud_on_postgres() {
    let pg = PgDatabase::create().await;
    providers_crud(&pg.url()).await;
}

/// A role dave (no groups) may take, with `policies`.
fn dave_role(policies: &[&str]) -> Value {
    json!({
        "permission_policies": policies,
        "trust_policy": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"idp:username": "dave"}}
        }]}
    })
}

async fn decide(l: &Lanyard, token: &str, action: &str) -> Value {
    let r = reqwest::Client::new()
        .post(l.at("/v1/authorize"))
        .bearer_auth(token)
        .json(&json!({"action": action, "resource": "*"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["decision"].clone()
}

async fn policies_crud(database: &str) {
    let (l, _keys) = start(database).await;
    let api = Api::new(&l, token(&l, "alice", "admin").await);

    let (status, _, list) = api.get(POLICIES).await;
    assert_eq!(status, 200, "{list}");
    let names: Vec<&str> = list["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"read-only") && names.contains(&"eng-trust-editor"),
        "{list}"
    );
    let (status, _, conflict) = api
        .put_at(
            &format!("{POLICIES}/read-only"),
            &[("if-none-match", "*")],
            &logs_policy("logs:*"),
        )
        .await;
    assert_eq!(
        (status, &conflict["error"]),
        (StatusCode::CONFLICT, &json!("managed_in_file"))
    );

    // Create a policy, and a role of the database naming it at once.
    let path = format!("{POLICIES}/oncall-logs");
    let (status, etag, created) = api
        .put_at(
            &path,
            &[("if-none-match", "*")],
            &logs_policy("logs:GetEvents"),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    l.clock.advance(Duration::from_secs(1));
    let etag = etag.unwrap();
    assert_eq!(
        created["document"]["document"]["Statement"][0]["Sid"],
        "Logs"
    );
    let (status, role_etag, role) = api
        .put_at(
            "/admin/api/v1/roles/eng-oncall",
            &[("if-none-match", "*")],
            &dave_role(&["oncall-logs"]),
        )
        .await;
    assert_eq!(status, 201, "{role}");
    l.clock.advance(Duration::from_secs(1));
    let dave = token(&l, "dave", "eng-oncall").await;
    assert_eq!(decide(&l, &dave, "logs:GetEvents").await, "Allow");
    assert_eq!(decide(&l, &dave, "logs:PutEvents").await, "Deny");

    // Replace: the role's decisions follow; a stale ETag changes nothing.
    let (status, new_etag, replaced) = api
        .put_at(
            &path,
            &[("if-match", &etag)],
            &logs_policy("logs:PutEvents"),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    l.clock.advance(Duration::from_secs(1));
    assert_eq!(decide(&l, &dave, "logs:GetEvents").await, "Deny");
    assert_eq!(decide(&l, &dave, "logs:PutEvents").await, "Allow");
    let (status, _, stale) = api
        .put_at(&path, &[("if-match", &etag)], &logs_policy("*"))
        .await;
    assert_eq!(
        (status, &stale["error"]),
        (
            StatusCode::PRECONDITION_FAILED,
            &json!("precondition_failed")
        )
    );

    // Validation by check-config's code, with the field's path.
    let mut bad = logs_policy("logs:GetEvents");
    bad["document"]["Statement"][0]["Effect"] = json!("Alow");
    let (status, _, invalid) = api
        .put_at(&format!("{POLICIES}/bad"), &[("if-none-match", "*")], &bad)
        .await;
    assert_eq!(status, 422, "{invalid}");
    assert_eq!(invalid["error"], "invalid_policy");
    assert_eq!(invalid["path"], "document.Statement[0].Effect");
    let (status, _, invalid) = api
        .put_at(
            &format!("{POLICIES}/bad"),
            &[("if-none-match", "*")],
            &json!({"document_file": "/etc/passwd"}),
        )
        .await;
    assert_eq!(
        (status, &invalid["path"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("document_file"))
    );
    assert_eq!(api.get(&format!("{POLICIES}/bad")).await.0, 404);

    // A policy a role names cannot be deleted; once the role is gone it can.
    let new_etag = new_etag.unwrap();
    let (status, in_use) = api.delete_at(&path, &[("if-match", &new_etag)]).await;
    assert_eq!(status, 409, "{in_use}");
    assert_eq!(in_use["error"], "in_use");
    assert_eq!(in_use["in_use_by"], json!(["eng-oncall"]));
    assert!(
        in_use["error_description"]
            .as_str()
            .unwrap()
            .contains("eng-oncall"),
        "{in_use}"
    );
    let (status, _) = api
        .delete_at(
            "/admin/api/v1/roles/eng-oncall",
            &[("if-match", &role_etag.unwrap())],
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = api.delete_at(&path, &[("if-match", &new_etag)]).await;
    assert_eq!(status, 204);
    assert_eq!(api.get(&path).await.0, 404);
    // A role naming a policy that is gone is refused with the path.
    let (status, _, invalid) = api
        .put_at(
            "/admin/api/v1/roles/eng-oncall",
            &[("if-none-match", "*")],
            &dave_role(&["oncall-logs"]),
        )
        .await;
    assert_eq!(
        (status, &invalid["path"]),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!("permission_policies[0]")
        )
    );
}

#[tokio::test]
async fn policies_crud_on_sqlite() {
    let (_dir, url) = sqlite();
    policies_crud(&url).await;
}

#[tokio::test]
async fn policies_crud_on_postgres() {
    let pg = PgDatabase::create().await;
    policies_crud(&pg.url()).await;
}

#[tokio::test]
async fn a_provider_written_through_one_instance_signs_in_on_another_within_two_seconds() {
    let pg = PgDatabase::create().await;
    let (one, _k1) = start(&pg.url()).await;
    let (two, _k2) = start(&pg.url()).await;
    let fake = fake_idp(one.clock.clone(), Algorithm::Rs256).await;
    assert!(roles_through(&two, "dbidp").await.is_empty());
    let api = Api::new(&one, token(&one, "alice", "admin").await);
    let (status, _, body) = api
        .put_at(
            "/admin/api/v1/roles/eng-db",
            &[("if-none-match", "*")],
            &db_role(&[]),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, etag, body) = api
        .put_at(
            &format!("{PROVIDERS}/dbidp"),
            &[("if-none-match", "*")],
            &oidc(&fake, "Database IdP", SECRET),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let took = within(
        Duration::from_secs(2),
        "the other instance signs in through it",
        || async { roles_through(&two, "dbidp").await == ["eng-db"] },
    )
    .await;
    eprintln!("the other instance used the new provider after {took:?}");
    // And a delete through the other instance ends sign-ins through it on the first.
    let other = Api::new(&two, token(&two, "alice", "admin").await);
    let (status, _) = other
        .delete_at(
            &format!("{PROVIDERS}/dbidp"),
            &[("if-match", &etag.unwrap())],
        )
        .await;
    assert_eq!(status, 200);
    within(
        Duration::from_secs(2),
        "the first instance drops it",
        || async { roles_through(&one, "dbidp").await.is_empty() },
    )
    .await;
}

#[tokio::test]
async fn callers_whose_policies_do_not_allow_provider_and_policy_actions_are_refused() {
    let (_dir, url) = sqlite();
    let (l, _keys) = start(&url).await;
    let fake = fake_idp(l.clock.clone(), Algorithm::Rs256).await;
    let document = oidc(&fake, "Database IdP", SECRET);
    // bob's engineer role may deploy, not administer; carol's trust-editor role may edit
    // the engineering roles only.
    for (user, role) in [("bob", "engineer"), ("carol", "trust-editor")] {
        let api = Api::new(&l, token(&l, user, role).await);
        let (status, _, body) = api
            .put_at(
                &format!("{PROVIDERS}/dbidp"),
                &[("if-none-match", "*")],
                &document,
            )
            .await;
        assert_eq!(status, 403, "{user}: {body}");
        assert_eq!(body["error"], "access_denied");
        let why = body["error_description"].as_str().unwrap();
        assert!(
            why.contains("lanyard:PutProvider") && why.contains("arn:lanyard:iam:::provider/dbidp"),
            "{why}"
        );
        assert!(!shows_secret(&body));
        assert_eq!(api.get(PROVIDERS).await.0, 403, "{user}");
        assert_eq!(api.get(&format!("{PROVIDERS}/corp")).await.0, 403, "{user}");
        assert_eq!(api.get(POLICIES).await.0, 403, "{user}");
        let (status, _, _) = api
            .put_at(
                &format!("{POLICIES}/x"),
                &[("if-none-match", "*")],
                &logs_policy("*"),
            )
            .await;
        assert_eq!(status, 403, "{user}");
    }
    assert_eq!(reqwest::get(l.at(PROVIDERS)).await.unwrap().status(), 401);
    // Nothing was written.
    let admin = Api::new(&l, token(&l, "alice", "admin").await);
    assert_eq!(admin.get(&format!("{PROVIDERS}/dbidp")).await.0, 404);
    assert_eq!(admin.get(&format!("{POLICIES}/x")).await.0, 404);
}

#[tokio::test]
async fn the_openapi_document_lists_the_provider_and_policy_paths() {
    let (_dir, url) = sqlite();
    let (l, _keys) = start(&url).await;
    let doc: Value = reqwest::get(l.at("/admin/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for list in [PROVIDERS, POLICIES] {
        assert!(paths[list]["get"].is_object(), "{list}");
    }
    for one in [
        "/admin/api/v1/providers/{id}",
        "/admin/api/v1/policies/{name}",
    ] {
        for method in ["get", "put", "delete"] {
            assert!(paths[one][method].is_object(), "{one} {method}");
        }
    }
    assert!(doc["components"]["schemas"]["ProviderView"].is_object());
}

/// The `X509Certificate` of a SAML SP metadata document.
fn sp_certificate(metadata: &str) -> String {
    let start = metadata.find("X509Certificate>").expect("a certificate") + 16;
    let end = start + metadata[start..].find('<').expect("its end");
    metadata[start..end].split_whitespace().collect()
}

#[tokio::test]
async fn a_saml_provider_of_the_database_is_one_sp_on_every_instance() {
    let pg = PgDatabase::create().await;
    let (one, _k1) = start(&pg.url()).await;
    let (two, _k2) = start(&pg.url()).await;
    let api = Api::new(&one, token(&one, "alice", "admin").await);
    let idp_cert = std::fs::read_to_string(crate::saml_support::fixture("idp1.crt")).unwrap();
    let (status, _, body) = api
        .put_at(
            &format!("{PROVIDERS}/partner"),
            &[("if-none-match", "*")],
            &json!({
                "kind": "saml",
                "display_name": "Partner",
                "idp_entity_id": crate::saml_support::IDP_ENTITY,
                "sso_url": "https://idp.test/sso",
                "certificates": [idp_cert],
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let metadata = |l: &Lanyard| {
        let url = l.at("/auth/partner/metadata");
        async move {
            let r = reqwest::get(url).await.unwrap();
            (r.status() == 200).then_some(r.text().await.unwrap())
        }
    };
    // The writing instance serves the SP at once, the other within two polls; both with
    // the one key pair the database keeps (a pair per instance would make the IdP refuse
    // all but one).
    let first = metadata(&one)
        .await
        .expect("served once the write answered");
    within(
        Duration::from_secs(2),
        "the other instance serves the SP",
        || async { metadata(&two).await.is_some() },
    )
    .await;
    let second = metadata(&two).await.unwrap();
    assert_eq!(sp_certificate(&first), sp_certificate(&second));
    assert!(
        sp_certificate(&first).len() > 500,
        "an RSA-3072 certificate"
    );
    // Nothing was written next to the process for it.
    assert!(!std::path::Path::new("data/saml/partner-sp.key").exists());
    // The pair is in the database, the key never in the API's answers.
    let db = Database::open(&Location::Postgres(lanyard::secret::Secret::new(pg.url()))).unwrap();
    let keys = db.sp_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(
        keys[0]
            .cert_pem
            .split_whitespace()
            .collect::<String>()
            .contains(&sp_certificate(&first))
    );
    let (_, _, read) = api.get(&format!("{PROVIDERS}/partner")).await;
    assert!(!read.to_string().contains("PRIVATE KEY"), "{read}");
    db.close().await;
}
