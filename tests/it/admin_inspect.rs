//! The admin API's provider inspection (`POST /admin/api/v1/inspect-provider`) against
//! real peers: the pysaml2 IdP's metadata fetched from its `/metadata` URL and pasted, with
//! the SP URLs to hand to its admin; the `oidc-provider` peer's discovery and keys, an
//! issuer mismatch (the same provider asked for under another host name), the presets;
//! garbage XML and a DTD refused with 422; URLs Lanyard does not fetch; a caller without
//! `lanyard:InspectProvider` (403) or without a token (401); a certificate flagged as it
//! nears and passes its expiry (the injected clock moved to the fixture's `notAfter`).

use lanyard::clock::{ManualClock, UnixTime};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin_api::{sqlite, token};
use crate::harness::{Lanyard, T0, config_text, memory_store, start_live};
use crate::oidc_interop::start_op;
use crate::saml_support::{Idp, IdpOptions};

const INSPECT: &str = "/admin/api/v1/inspect-provider";
/// tests/fixtures/saml/idp1.crt: notAfter 2036-11-25T21:05:45Z.
const IDP1_EXPIRES: i64 = 2_111_259_945;
const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/// A Lanyard (the test directory and quickstart roles, on SQLite) whose clock reads `now`,
/// and the directories it keeps.
async fn start(now: i64) -> (Lanyard, tempfile::TempDir, tempfile::TempDir) {
    let keys = tempfile::tempdir().unwrap();
    let (db_dir, url) = sqlite();
    let text = format!(
        "{}\n[audit]\ndatabase = \"{url}\"\n",
        config_text("[sessions]\nstore = \"memory\"\n", keys.path())
    );
    let clock = ManualClock::new(UnixTime::from_secs(now));
    let l = start_live(&text, memory_store(&clock), clock).await;
    (l, keys, db_dir)
}

/// `POST` the inspection with `token` (none: no `Authorization`): the status and body.
async fn inspect(l: &Lanyard, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
    let mut r = reqwest::Client::new().post(l.at(INSPECT)).json(body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}")),
    )
}

#[tokio::test]
async fn the_pysaml2_idp_is_described_from_its_metadata_url_and_pasted() {
    let idp = Idp::start(IdpOptions::default()).await;
    let (l, _k, _d) = start(T0).await;
    let admin = token(&l, "alice", "admin").await;

    let (status, by_url) = inspect(
        &l,
        Some(&admin),
        &json!({"kind": "saml", "metadata_url": idp.url("/metadata"), "id": "partner-idp"}),
    )
    .await;
    assert_eq!(status, 200, "{by_url}");
    assert_eq!(by_url["kind"], "saml");
    assert_eq!(by_url["entity_id"], idp.entity_id());
    assert_eq!(by_url["accepted"], true, "{by_url}");
    assert_eq!(by_url["problems"], json!([]), "{by_url}");
    let sso = by_url["sso_endpoints"].as_array().unwrap();
    assert!(
        sso.iter().any(|e| e["binding"] == REDIRECT
            && e["location"].as_str().unwrap().starts_with(&idp.url("/"))),
        "{by_url}"
    );
    let certs = by_url["certificates"].as_array().unwrap();
    // pysaml2 lists its one key pair twice: for signing and for encryption.
    let uses: Vec<&str> = certs.iter().map(|c| c["use"].as_str().unwrap()).collect();
    assert_eq!(uses, ["signing", "encryption"], "{by_url}");
    for c in certs {
        assert_eq!(c["subject"], "CN=lanyard-test-idp1", "{c}");
        assert_eq!(c["sha256"].as_str().unwrap().len(), 95, "{c}");
        assert_eq!(c["warning"], false, "{c}");
        assert!(c["days_left"].as_i64().unwrap() > 3000, "{c}");
        assert!(c["not_after"].as_str().unwrap().starts_with("2036-"), "{c}");
    }
    // What the IdP's admin is given: the URLs the SAML provider `partner-idp` will have.
    assert_eq!(
        by_url["lanyard"],
        json!({
            "sp_entity_id": "http://127.0.0.1:8080/auth/partner-idp/metadata",
            "acs_url": "http://127.0.0.1:8080/auth/partner-idp/callback",
            "sp_metadata_url": "http://127.0.0.1:8080/auth/partner-idp/metadata",
        })
    );

    // The same document pasted: the same description; no id, no handover.
    let (status, pasted) = inspect(
        &l,
        Some(&admin),
        &json!({"kind": "saml", "metadata_xml": idp.metadata().await}),
    )
    .await;
    assert_eq!(status, 200, "{pasted}");
    assert_eq!(pasted["entity_id"], by_url["entity_id"]);
    assert_eq!(pasted["certificates"], by_url["certificates"]);
    assert_eq!(pasted["sso_endpoints"], by_url["sso_endpoints"]);
    assert!(pasted.get("lanyard").is_none(), "{pasted}");

    // Pasted documents larger than the API's usual 64 KiB bodies fit, up to the
    // connector's 1 MiB.
    let metadata = idp.metadata().await;
    let padded = format!("{metadata}<!-- {} -->", "x".repeat(200_000));
    let (status, body) = inspect(
        &l,
        Some(&admin),
        &json!({"kind": "saml", "metadata_xml": padded}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], true, "{body}");
    let huge = format!("{metadata}<!-- {} -->", "x".repeat(1_100_000));
    let (status, body) = inspect(
        &l,
        Some(&admin),
        &json!({"kind": "saml", "metadata_xml": huge}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "metadata_invalid", "{body}");

    // A metadata URL that does not answer, and one that is not metadata.
    let (status, body) = inspect(
        &l,
        Some(&admin),
        &json!({"kind": "saml", "metadata_url": idp.url("/no-such-page")}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "metadata_unreachable", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("HTTP 404"),
        "{body}"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (status, body) = inspect(
        &l,
        Some(&admin),
        &json!({"kind": "saml", "metadata_url": format!("http://127.0.0.1:{port}/metadata")}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "metadata_unreachable", "{body}");
}

#[tokio::test]
async fn garbage_a_dtd_and_urls_lanyard_does_not_fetch_are_refused() {
    let (l, _k, _d) = start(T0).await;
    let admin = token(&l, "alice", "admin").await;
    for (body, code, says) in [
        (
            json!({"kind": "saml", "metadata_xml": "<<< this is not XML"}),
            "metadata_invalid",
            "not well-formed",
        ),
        (
            json!({"kind": "saml", "metadata_xml":
                "<?xml version=\"1.0\"?><!DOCTYPE md [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\
                 <md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
                 entityID=\"&xxe;\"/>"}),
            "metadata_invalid",
            "DOCTYPE",
        ),
        (
            json!({"kind": "saml", "metadata_xml": "<html><body>Sign in</body></html>"}),
            "metadata_invalid",
            "EntityDescriptor",
        ),
        (
            json!({"kind": "saml", "metadata_url": "file:///etc/passwd"}),
            "invalid_url",
            "http",
        ),
        (
            json!({"kind": "oidc", "issuer": "http://idp.example.com"}),
            "invalid_url",
            "https",
        ),
    ] {
        let (status, answer) = inspect(&l, Some(&admin), &body).await;
        assert_eq!(status, 422, "{body} → {answer}");
        assert_eq!(answer["error"], code, "{body} → {answer}");
        let sentence = answer["error_description"].as_str().unwrap();
        assert!(sentence.contains(says), "{body} → {answer}");
        assert!(!sentence.contains("root:"), "{answer}");
    }
    // Requests of no accepted shape are 400 with the field.
    for (body, path) in [
        (json!({"kind": "ldap"}), "kind"),
        (json!({"kind": "saml"}), ""),
        (
            json!({"kind": "saml", "metadata_xml": "<x/>", "id": "Not An Id"}),
            "id",
        ),
        (json!({"kind": "oidc", "preset": "okta"}), "preset"),
    ] {
        let (status, answer) = inspect(&l, Some(&admin), &body).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["path"], path, "{body} → {answer}");
    }
}

#[tokio::test]
async fn the_oidc_provider_peer_is_checked_on_the_spot() {
    let op = start_op().await;
    let (l, _k, _d) = start(T0).await;
    let admin = token(&l, "alice", "admin").await;

    let (status, d) = inspect(
        &l,
        Some(&admin),
        &json!({"kind": "oidc", "issuer": op.issuer, "id": "partner-op"}),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["checked"], true);
    assert_eq!(d["issuer"], op.issuer.as_str());
    for field in ["authorization_endpoint", "token_endpoint", "jwks_uri"] {
        assert!(
            d[field].as_str().unwrap().starts_with(&op.issuer),
            "{field}: {d}"
        );
    }
    assert_eq!(
        d["discovery_url"],
        format!("{}/.well-known/openid-configuration", op.issuer)
    );
    assert!(
        d["accepted_algorithms"]
            .as_array()
            .unwrap()
            .contains(&json!("RS256")),
        "{d}"
    );
    let keys = d["keys"].as_array().unwrap();
    assert!(!keys.is_empty(), "{d}");
    assert!(
        keys.iter()
            .all(|k| k["kid"].is_string() && k["kty"].is_string()),
        "{d}"
    );
    assert_eq!(d["problems"], json!([]), "{d}");
    assert_eq!(
        d["lanyard"]["redirect_uri"],
        "http://127.0.0.1:8080/auth/partner-op/callback"
    );

    // The same provider asked for under another name of its host: its document names
    // 127.0.0.1, so every sign-in would be refused.
    let other_name = op.issuer.replace("127.0.0.1", "localhost");
    let (status, e) = inspect(
        &l,
        Some(&admin),
        &json!({"kind": "oidc", "issuer": other_name}),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["error"], "issuer_mismatch", "{e}");
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains(&op.issuer),
        "{e}"
    );
    // A path with no discovery document under it.
    let (status, e) = inspect(
        &l,
        Some(&admin),
        &json!({"kind": "oidc", "issuer": format!("{}/elsewhere", op.issuer)}),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["error"], "discovery_unreachable", "{e}");

    // Presets: known endpoints, nothing fetched.
    let (status, g) = inspect(
        &l,
        Some(&admin),
        &json!({"kind": "oidc", "preset": "github", "id": "gh"}),
    )
    .await;
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["checked"], false);
    assert_eq!(
        g["authorization_endpoint"],
        "https://github.com/login/oauth/authorize"
    );
    assert_eq!(
        g["token_endpoint"],
        "https://github.com/login/oauth/access_token"
    );
    assert_eq!(
        g["lanyard"]["redirect_uri"],
        "http://127.0.0.1:8080/auth/gh/callback"
    );
    let (status, google) = inspect(
        &l,
        Some(&admin),
        &json!({"kind": "oidc", "preset": "google"}),
    )
    .await;
    assert_eq!(status, 200, "{google}");
    assert_eq!(google["issuer"], "https://accounts.google.com");
}

#[tokio::test]
async fn a_caller_without_the_action_is_refused_before_anything_is_fetched() {
    let (l, _k, _d) = start(T0).await;
    let bob = token(&l, "bob", "engineer").await;
    // A listener that records whether Lanyard connected to it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metadata", listener.local_addr().unwrap());
    let (status, body) = inspect(
        &l,
        Some(&bob),
        &json!({"kind": "saml", "metadata_url": url}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "access_denied");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("lanyard:InspectProvider"),
        "{body}"
    );
    let connected =
        tokio::time::timeout(std::time::Duration::from_millis(200), listener.accept()).await;
    assert!(connected.is_err(), "a refused caller made Lanyard fetch");
    let (status, body) = inspect(&l, None, &json!({"kind": "oidc", "preset": "google"})).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn certificates_are_flagged_as_they_near_and_pass_their_expiry() {
    let idp = Idp::start(IdpOptions::default()).await;
    let metadata = idp.metadata().await;
    for (now, days, expired) in [
        (IDP1_EXPIRES - 10 * 86_400, 10, false),
        (IDP1_EXPIRES + 86_400, -1, true),
    ] {
        let (l, _k, _d) = start(now).await;
        let admin = token(&l, "alice", "admin").await;
        let (status, d) = inspect(
            &l,
            Some(&admin),
            &json!({"kind": "saml", "metadata_xml": metadata}),
        )
        .await;
        assert_eq!(status, 200, "{d}");
        let cert = &d["certificates"][0];
        assert_eq!(cert["subject"], "CN=lanyard-test-idp1", "{d}");
        assert_eq!(cert["warning"], true, "{d}");
        assert_eq!(cert["days_left"], days, "{d}");
        let problems = d["problems"].as_array().unwrap();
        let said = if expired {
            "expired on 2036-11-25T21:05:45Z"
        } else {
            "expires in 10 days"
        };
        assert!(
            problems.iter().any(|p| p.as_str().unwrap().contains(said)),
            "{d}"
        );
    }
}
