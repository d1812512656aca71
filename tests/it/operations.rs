//! Operations against a real `lanyard serve` process: graceful shutdown (SIGTERM turns
//! `/readyz` 503 during the drain delay, a request in flight finishes, the process exits 0)
//! and the Prometheus `/metrics` endpoint.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::floods::serve_binary;
use crate::harness::config_text;
use lanyard::clock::UnixTime;

/// A config with a `client_credentials` client `deployer` (secret `s3cret-for-deployer`)
/// and `limits` appended to a memory store.
fn machine_client_config(dir: &std::path::Path, limits: &str) -> String {
    use argon2::password_hash::PasswordHasher;
    let hash = argon2::Argon2::default()
        .hash_password(b"s3cret-for-deployer")
        .unwrap()
        .to_string();
    let mut text = config_text(
        &format!("[sessions]\nstore = \"memory\"\n[limits]\n{limits}\n"),
        &dir.join("keys"),
    );
    text.push_str(&format!(
        "\n[[clients]]\nid = \"deployer\"\nsecret_hash = \"{hash}\"\n\
         grant_types = [\"client_credentials\"]\nmachine_role = \"engineer\"\n"
    ));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_withdraws_readiness_lets_a_request_in_flight_finish_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let text = machine_client_config(dir.path(), "shutdown_delay = \"2s\"");
    let mut served = serve_binary(&text, dir.path()).await;
    let addr = served.url.trim_start_matches("http://").to_owned();
    let probe = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let ready = probe
        .get(format!("{}/readyz", served.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    // A token request in flight: its head and half its body sent, the rest held back.
    let body = "grant_type=client_credentials&client_id=deployer&client_secret=s3cret-for-deployer";
    let (first, rest) = body.split_at(body.len() / 2);
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /oauth2/token HTTP/1.1\r\nHost: lanyard\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{first}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let pid = served.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());

    // During the drain delay new connections are still accepted and /readyz says 503.
    let deadline = Instant::now() + Duration::from_millis(1500);
    let mut withdrawn = None;
    while Instant::now() < deadline {
        if let Ok(r) = probe.get(format!("{}/readyz", served.url)).send().await
            && r.status() == 503
        {
            withdrawn = Some(r.json::<serde_json::Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let withdrawn = withdrawn.expect("/readyz did not turn 503 after SIGTERM");
    assert_eq!(withdrawn["status"], "shutting down");
    // The process is still running: the request in flight holds it.
    assert!(served.child.try_wait().unwrap().is_none());

    // The request in flight completes after the listener has closed.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    slow.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer))
        .await
        .expect("the request in flight got no answer")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.contains("\"access_token\""), "{answer}");

    // Then the process exits, with status 0.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "lanyard did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(TcpStream::connect(&addr).await.is_err(), "still listening");
}

/// Every sample of a `/metrics` scrape.
pub(crate) async fn scrape(
    url: &str,
    token: Option<&str>,
) -> (u16, Option<prometheus_parse::Scrape>) {
    let mut request = reqwest::Client::new().get(format!("{url}/metrics"));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    if status != 200 {
        return (status, None);
    }
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    (
        status,
        Some(prometheus_parse::Scrape::parse(lines).unwrap()),
    )
}

/// The value of the counter or gauge (or untyped sample) `name` with exactly `labels`.
pub(crate) fn value(
    scrape: &prometheus_parse::Scrape,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| {
            labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
                && s.labels.len() == labels.len()
        })
        .find_map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => Some(v),
            _ => None,
        })
}

#[tokio::test]
async fn metrics_count_credentials_errors_and_requests_by_route() {
    use serde_json::json;
    let s = crate::sts::setup().await;
    // An STS call that succeeds, one that is refused.
    let token = s.token(crate::sts::MAIN, json!({"jti": "metrics-1"}));
    let (status, v) = s
        .assume(json!({"role": "deploy", "web_identity_token": token}))
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = s
        .assume(json!({"role": "deploy", "web_identity_token": "not-a-token"}))
        .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("InvalidIdentityToken"))
    );
    // A token exchange that succeeds, and an OAuth error (a wrong client secret).
    let subject = s.token(crate::sts::MAIN, json!({"jti": "metrics-2"}));
    let exchange = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("subject_token", subject.as_str()),
        ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
    ];
    let (status, v) = s.exchange(("ci-app", "ci-secret"), &exchange).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = s.exchange(("ci-app", "wrong"), &exchange).await;
    assert_eq!((status, v["error"].as_str()), (401, Some("invalid_client")));

    // Scraped from loopback, which the default `[metrics] allow` admits.
    let (status, scrape) = scrape(&s.l.url, None).await;
    assert_eq!(status, 200);
    let scrape = scrape.unwrap();
    let issued = "lanyard_credentials_issued_total";
    assert_eq!(
        value(
            &scrape,
            issued,
            &[("door", "sts_web_identity"), ("role", "deploy")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &scrape,
            issued,
            &[("door", "token_exchange"), ("role", "deploy")]
        ),
        Some(1.0)
    );
    assert_eq!(
        scrape.samples.iter().filter(|s| s.metric == issued).count(),
        2,
        "only the two issued credentials are counted"
    );
    assert_eq!(
        value(
            &scrape,
            "lanyard_sts_errors_total",
            &[("code", "InvalidIdentityToken")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &scrape,
            "lanyard_oauth_errors_total",
            &[("code", "invalid_client")]
        ),
        Some(1.0)
    );
    // Request latency by route template and status class.
    let count = "lanyard_http_request_duration_seconds_count";
    let sts_route = ("route", "/sts/assume-role-with-web-identity");
    assert_eq!(
        value(&scrape, count, &[sts_route, ("status", "2xx")]),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, count, &[sts_route, ("status", "4xx")]),
        Some(1.0)
    );
    let token_route = ("route", "/oauth2/token");
    assert_eq!(
        value(&scrape, count, &[token_route, ("status", "2xx")]),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, count, &[token_route, ("status", "4xx")]),
        Some(1.0)
    );
    let buckets = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "lanyard_http_request_duration_seconds"
                && s.labels.get("route") == Some("/oauth2/token")
                && s.labels.get("status") == Some("2xx")
        })
        .map(|s| s.value.clone());
    match buckets {
        Some(prometheus_parse::Value::Histogram(b)) => {
            assert!(
                b.iter().any(|h| h.less_than == 10.0 && h.count == 1.0),
                "{b:?}"
            );
        }
        other => panic!("no latency histogram for /oauth2/token: {other:?}"),
    }
}

#[tokio::test]
async fn metrics_are_a_404_outside_the_allowed_networks_without_the_token() {
    use crate::harness::{T0, memory_store, start_with};
    let keys = tempfile::tempdir().unwrap();
    let text = config_text(
        "[sessions]\nstore = \"memory\"\n[metrics]\nallow = [\"10.0.0.0/8\"]\n\
         bearer_token = \"scrape-me-please-0123456789\"\n",
        keys.path(),
    );
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let l = start_with(&text, memory_store(&clock), clock).await;
    // Loopback is not in `allow` here: no token, or a wrong one, is the ordinary 404.
    assert_eq!(scrape(&l.url, None).await.0, 404);
    assert_eq!(
        scrape(&l.url, Some("scrape-me-please-012345678")).await.0,
        404
    );
    assert_eq!(scrape(&l.url, Some("wrong")).await.0, 404);
    let (status, scrape) = scrape(&l.url, Some("scrape-me-please-0123456789")).await;
    assert_eq!(status, 200);
    // The refused scrapes were requests too.
    let scrape = scrape.unwrap();
    assert_eq!(
        value(
            &scrape,
            "lanyard_http_request_duration_seconds_count",
            &[("route", "/metrics"), ("status", "4xx")]
        ),
        Some(3.0)
    );
}

#[tokio::test]
async fn metrics_give_the_seconds_until_a_saml_idp_certificate_expires() {
    use crate::harness::{T0, memory_store, start_with};
    use crate::saml_support::{lanyard_toml, provider_toml};
    let keys = tempfile::tempdir().unwrap();
    let text = lanyard_toml(keys.path(), &provider_toml(""));
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let l = start_with(&text, memory_store(&clock), clock).await;
    let (status, scrape) = scrape(&l.url, None).await;
    assert_eq!(status, 200);
    // tests/fixtures/saml/idp1.crt: notAfter Nov 25 21:05:45 2036 GMT.
    let not_after = 2_111_259_945_i64;
    let expiry = scrape
        .unwrap()
        .samples
        .iter()
        .find(|s| {
            s.metric == "lanyard_upstream_certificate_expiry_seconds"
                && s.labels.get("provider") == Some("idp")
        })
        .map(|s| s.value.clone());
    match expiry {
        Some(prometheus_parse::Value::Gauge(v)) => assert_eq!(v, (not_after - T0) as f64),
        other => panic!("no certificate expiry gauge: {other:?}"),
    }
    // The metadata file was read at start-up, moments ago.
    let age = value(
        &scrape_again(&l.url).await,
        "lanyard_upstream_keys_age_seconds",
        &[("provider", "idp")],
    );
    assert!(age.is_some_and(|a| (0.0..60.0).contains(&a)), "{age:?}");
}

async fn scrape_again(url: &str) -> prometheus_parse::Scrape {
    let (status, scrape) = scrape(url, None).await;
    assert_eq!(status, 200);
    scrape.unwrap()
}

/// The number of observations of histogram `name` with exactly `labels`.
fn observations(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(scrape, &format!("{name}_count"), labels).unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_time_store_operations_and_count_a_stopped_redis_as_errors() {
    use crate::harness::{T0, start_with};
    use lanyard::session::{RedisStore, RedisTimeouts};
    let redis = crate::private_redis::PrivateRedis::start().await;
    let keys = tempfile::tempdir().unwrap();
    let text = config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    let store =
        RedisStore::connect(&redis.url(), "metrics-store:", RedisTimeouts::default()).unwrap();
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let l = start_with(&text, std::sync::Arc::new(store), clock).await;
    let b = crate::harness::browser();
    assert_eq!(l.sign_in(&b, "alice", "alice-pw").await.status(), 303);
    let scrape = scrape_again(&l.url).await;
    let store_op = "lanyard_store_operation_duration_seconds";
    for op in ["put", "get", "reserve_attempt"] {
        assert!(
            observations(&scrape, store_op, &[("op", op)]) >= 1.0,
            "{op}"
        );
    }
    assert_eq!(
        value(&scrape, "lanyard_store_errors_total", &[("op", "get")]),
        None
    );

    // Redis goes away: the session lookup of the next page fails and is counted.
    drop(redis);
    let r = b.get(l.at("/roles")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let scrape = scrape_again(&l.url).await;
    // (An SSO session is read with the revocation marks: `get_with_fields`.)
    let lookup = [("op", "get_with_fields")];
    assert!(value(&scrape, "lanyard_store_errors_total", &lookup).is_some_and(|n| n >= 1.0));
    assert!(observations(&scrape, store_op, &lookup) >= 1.0);
}

#[tokio::test]
async fn metrics_time_ldap_binds_and_searches_and_count_a_stopped_directory() {
    use crate::ldap::{Groups, Transport, config, lanyard, sign_in};
    let mut slapd = crate::slapd::Slapd::start(false).await;
    let keys = tempfile::tempdir().unwrap();
    let l = lanyard(&config(
        &slapd,
        Transport::Plain,
        Groups::Search,
        keys.path(),
    ))
    .await;
    let b = crate::harness::browser();
    assert_eq!(sign_in(&l, &b, "alice", "alice-pw").await.0, 303);
    // A wrong password is the directory's answer, not an upstream error.
    assert_eq!(
        sign_in(&l, &crate::harness::browser(), "alice", "nope")
            .await
            .0,
        401
    );
    let scrape = scrape_again(&l.url).await;
    let upstream = "lanyard_upstream_request_duration_seconds";
    let dir = |op| [("provider", "dir"), ("operation", op)];
    assert!(observations(&scrape, upstream, &dir("connect")) >= 1.0);
    // Service bind, alice's bind, service bind again; twice, for the two sign-ins.
    assert!(observations(&scrape, upstream, &dir("bind")) >= 4.0);
    // The user search and the group search, and one more user search.
    assert!(observations(&scrape, upstream, &dir("search")) >= 3.0);
    assert_eq!(
        value(&scrape, "lanyard_upstream_errors_total", &dir("bind")),
        None
    );

    slapd.stop();
    let (status, _) = sign_in(&l, &crate::harness::browser(), "alice", "alice-pw").await;
    assert_eq!(status, 503);
    let scrape = scrape_again(&l.url).await;
    let errors: f64 = ["connect", "bind", "search"]
        .iter()
        .filter_map(|op| value(&scrape, "lanyard_upstream_errors_total", &dir(*op)))
        .sum();
    assert!(errors >= 1.0, "a stopped directory counts as errors");
}
