//! `POST /v1/authorize`: which condition keys an application may send. Three providers
//! (`corp`, `hr`, `kcorp`), one role `shared` whose policy tests keys of all three; a
//! person signed in through `corp` must not be able to pose as `hr` staff or as a `kcorp`
//! address (also spelt with a Kelvin sign), while request and application keys still work.
//! `aws:SourceIp` is taken only from a client configured with `assert_source_ip = true`.

use std::path::Path;

use crate::harness::{Lanyard, T0, browser, cheap_hash, memory_store, start_with};
use lanyard::clock::UnixTime;

fn config(keys_dir: &Path) -> String {
    let user = |name: &str, groups: &str, team: &str| {
        format!(
            "[[providers.users]]\nusername = \"{name}\"\npassword_hash = \"{}\"\n\
             email = \"{name}@example.com\"\ngroups = [{groups}]\ntags = {{ team = \"{team}\" }}\n",
            cheap_hash(&format!("{name}-pw"))
        )
    };
    format!(
        r#"[server]
bind = "127.0.0.1:0"
public_url = "http://127.0.0.1:8080"
[sessions]
store = "memory"
[tokens]
algorithm = "ES256"
keys_dir = "{keys}"
default_duration = "1h"

[[providers]]
id = "corp"
kind = "local"
display_name = "Corp"
{alice}
[[providers]]
id = "hr"
kind = "local"
display_name = "HR"
{harriet}
[[providers]]
id = "kcorp"
kind = "local"
display_name = "K Corp"
{kim}
[[roles]]
name = "shared"
permission_policies = ["shared"]
trust_policy = {{ Version = "2012-10-17", Statement = [
  {{ Effect = "Allow", Principal = {{ Federated = ["corp", "hr", "kcorp"] }}, Action = "sts:AssumeRole" }},
  {{ Sid = "Machines", Effect = "Allow", Action = "sts:AssumeRole",
     Principal = {{ AWS = ["arn:lanyard:iam:::client/gatekeeper", "arn:lanyard:iam:::client/plain"] }} }},
] }}

[[roles]]
name = "bystander"
permission_policies = ["shared"]
trust_policy = {{ Version = "2012-10-17", Statement = [
  {{ Effect = "Allow", Principal = {{ Federated = "corp" }}, Action = "sts:AssumeRole" }},
] }}

[[policies]]
name = "shared"
document = {{ Version = "2012-10-17", Statement = [
  {{ Sid = "HrStaff", Effect = "Allow", Action = "wiki:Edit", Resource = "*",
     Condition = {{ "ForAnyValue:StringEquals" = {{ "hr:groups" = ["staff"] }} }} }},
  {{ Sid = "KcorpBoss", Effect = "Allow", Action = "payroll:Read", Resource = "*",
     Condition = {{ StringEquals = {{ "kcorp:email" = "boss@kcorp.example" }} }} }},
  {{ Sid = "OwnTeamDocs", Effect = "Allow", Action = "docs:Read", Resource = "*",
     Condition = {{ StringEquals = {{ "aws:ResourceTag/team" = "platform", "aws:PrincipalTag/team" = "platform", "app:tenant" = "acme" }} }} }},
  {{ Sid = "TaggedCreate", Effect = "Allow", Action = "docs:Create", Resource = "*",
     Condition = {{ "ForAllValues:StringEquals" = {{ "aws:TagKeys" = ["team", "project"] }}, StringEquals = {{ "aws:RequestTag/team" = "platform" }} }} }},
  {{ Sid = "Office", Effect = "Allow", Action = "door:Open", Resource = "*",
     Condition = {{ IpAddress = {{ "aws:SourceIp" = "203.0.113.0/24" }} }} }},
] }}

[[clients]]
id = "gatekeeper"
secret_hash = "{gatekeeper}"
grant_types = ["client_credentials"]
machine_role = "shared"
assert_source_ip = true

[[clients]]
id = "plain"
secret_hash = "{plain}"
grant_types = ["client_credentials"]
machine_role = "shared"
"#,
        keys = keys_dir.display(),
        alice = user("alice", "\"engineering\"", "platform"),
        harriet = user("harriet", "\"staff\"", "people"),
        kim = user("kim", "", "k"),
        gatekeeper = cheap_hash("gatekeeper-secret"),
        plain = cheap_hash("plain-secret"),
    )
}

async fn start() -> Lanyard {
    let keys = tempfile::tempdir().unwrap();
    let text = config(keys.path());
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let mut l = start_with(&text, memory_store(&clock), clock).await;
    l.keep(keys);
    l
}

/// alice, signed in through `corp`, with role `shared`: her access token.
async fn alice_token(l: &Lanyard) -> String {
    let b = browser();
    let (status, html) = l.picker(&b, "alice").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("bystander"), "the picker offers two roles");
    let r = l.choose(&b, &html, "shared", 900).await;
    assert_eq!(r.status(), 303);
    l.credentials(&b).await.0
}

async fn machine_token(l: &Lanyard, client: &str) -> String {
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/token"))
        .basic_auth(client, Some(format!("{client}-secret")))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: serde_json::Value = r.json().await.unwrap();
    t["access_token"].as_str().unwrap().to_owned()
}

async fn ask(
    l: &Lanyard,
    token: &str,
    action: &str,
    context: serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(l.at("/v1/authorize"))
        .bearer_auth(token)
        .json(&serde_json::json!({"action": action, "resource": "arn:lanyard:x:::thing/1", "context": context}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn another_providers_keys_cannot_be_posed() {
    let l = start().await;
    let token = alice_token(&l).await;
    let (s, v) = ask(&l, &token, "wiki:Edit", serde_json::json!({})).await;
    assert_eq!((s, v["decision"].as_str()), (200, Some("Deny")), "{v}");
    // The exploit of the review: hr:groups from the caller turned this Deny into Allow.
    for key in ["hr:groups", "HR:Groups", "Hr:groups"] {
        let (s, v) = ask(
            &l,
            &token,
            "wiki:Edit",
            serde_json::json!({ key: ["staff"] }),
        )
        .await;
        assert_eq!(s, 400, "{key}: {v}");
        assert_eq!(v["error"], "invalid_request");
        let why = v["error_description"].as_str().unwrap();
        assert!(why.contains(&format!("\"{key}\"")), "names the key: {why}");
        assert!(why.contains("describes the principal"), "{why}");
    }
}

#[tokio::test]
async fn a_kelvin_sign_does_not_smuggle_a_provider_key() {
    let l = start().await;
    let token = alice_token(&l).await;
    for key in [
        "\u{212A}corp:email",
        "kcorp:email",
        "KCORP:EMAIL",
        "\u{212A}CORP:Email",
    ] {
        let (s, v) = ask(
            &l,
            &token,
            "payroll:Read",
            serde_json::json!({ key: "boss@kcorp.example" }),
        )
        .await;
        assert_eq!(s, 400, "{key:?}: {v}");
        assert!(
            v["error_description"]
                .as_str()
                .unwrap()
                .contains(&format!("\"{key}\"")),
            "{v}"
        );
    }
}

#[tokio::test]
async fn principal_and_request_keys_are_refused_and_allowed_keys_work() {
    let l = start().await;
    let token = alice_token(&l).await;
    for key in [
        "idp:groups",
        "corp:groups",
        "aws:PrincipalTag/team",
        "aws:username",
        "aws:userid",
        "aws:MultiFactorAuthPresent",
        "aws:MultiFactorAuthAge",
        "aws:TokenIssueTime",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:SecureTransport",
        "aws:SourceVpc",
        "lanyard:role",
        "sts:RoleSessionName",
        "notanamespace",
    ] {
        let (s, v) = ask(&l, &token, "docs:Read", serde_json::json!({ key: "x" })).await;
        assert_eq!(s, 400, "{key}: {v}");
    }
    // A protected key is refused even with a null value (which would be dropped).
    let (s, _) = ask(
        &l,
        &token,
        "docs:Read",
        serde_json::json!({"hr:groups": null}),
    )
    .await;
    assert_eq!(s, 400);

    // Resource tags and the application's own keys: allowed, and they decide.
    let ctx = serde_json::json!({"aws:ResourceTag/team": "platform", "app:tenant": "acme"});
    let (s, v) = ask(&l, &token, "docs:Read", ctx).await;
    assert_eq!((s, v["decision"].as_str()), (200, Some("Allow")), "{v}");
    assert_eq!(v["statements"][0]["sid"], "OwnTeamDocs");
    let ctx = serde_json::json!({"AWS:ResourceTag/team": "platform", "APP:Tenant": "other"});
    let (s, v) = ask(&l, &token, "docs:Read", ctx).await;
    assert_eq!((s, v["decision"].as_str()), (200, Some("Deny")), "{v}");
    // Request tags and tag keys.
    let ctx = serde_json::json!({"aws:RequestTag/team": "platform", "aws:TagKeys": ["team"]});
    let (s, v) = ask(&l, &token, "docs:Create", ctx).await;
    assert_eq!((s, v["decision"].as_str()), (200, Some("Allow")), "{v}");
    let ctx =
        serde_json::json!({"aws:RequestTag/team": "platform", "aws:TagKeys": ["team", "owner"]});
    let (s, v) = ask(&l, &token, "docs:Create", ctx).await;
    assert_eq!((s, v["decision"].as_str()), (200, Some("Deny")), "{v}");
}

#[tokio::test]
async fn source_ip_only_from_a_client_trusted_to_assert_it() {
    let l = start().await;
    let office = serde_json::json!({"aws:SourceIp": "203.0.113.7"});
    // The person's own token (no client) and an ordinary client: refused.
    let token = alice_token(&l).await;
    let (s, v) = ask(&l, &token, "door:Open", office.clone()).await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("assert_source_ip"),
        "{v}"
    );
    let plain = machine_token(&l, "plain").await;
    let (s, _) = ask(&l, &plain, "door:Open", office.clone()).await;
    assert_eq!(s, 400);
    // Without it, the request's own address (loopback) decides.
    let (s, v) = ask(&l, &plain, "door:Open", serde_json::json!({})).await;
    assert_eq!((s, v["decision"].as_str()), (200, Some("Deny")), "{v}");

    // The trusted client: its assertion is used, and must be one address.
    let trusted = machine_token(&l, "gatekeeper").await;
    let (s, v) = ask(&l, &trusted, "door:Open", office).await;
    assert_eq!((s, v["decision"].as_str()), (200, Some("Allow")), "{v}");
    let (s, v) = ask(
        &l,
        &trusted,
        "door:Open",
        serde_json::json!({"aws:SourceIp": "198.51.100.1"}),
    )
    .await;
    assert_eq!((s, v["decision"].as_str()), (200, Some("Deny")), "{v}");
    for bad in [
        serde_json::json!({"aws:SourceIp": "not-an-ip"}),
        serde_json::json!({"aws:SourceIp": ["203.0.113.7", "203.0.113.8"]}),
    ] {
        let (s, v) = ask(&l, &trusted, "door:Open", bad).await;
        assert_eq!(s, 400, "{v}");
    }
}

#[test]
fn a_public_client_cannot_assert_source_ip() {
    let keys = tempfile::tempdir().unwrap();
    let text = config(keys.path()).replace(
        "[[clients]]\nid = \"plain\"",
        "[[clients]]\nid = \"spa\"\npublic = true\nredirect_uris = [\"http://127.0.0.1:9/cb\"]\n\
         assert_source_ip = true\n\n[[clients]]\nid = \"plain\"",
    );
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let err = lanyard::config::Config::from_toml(&text, &examples, &|_| None)
        .expect_err("refused")
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        err.contains("assert_source_ip: a public client cannot be trusted to assert aws:SourceIp"),
        "{err}"
    );
}
