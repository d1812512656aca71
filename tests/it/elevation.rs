//! Elevation with approval at the doors that are not the picker (issue 17), on the real
//! Redis (a key prefix of each test's own) and the real PostgreSQL (a database of each
//! test's own): a CI job's web identity assumes an approval role through STS only within
//! the approved window, its credentials expiring with the window; revoking the request
//! refuses its token at once on a second instance sharing the store; the window's end
//! refuses it too (the test clock moved past it). And the races: two approvers deciding
//! an `approvals = 1` request at once, and two instances' sweeps expiring the same
//! requests at once, on PostgreSQL and on SQLite — exactly one opens (or closes) each, with
//! exactly one event.
//!
//! The requests are made and decided through the elevation service itself (what the
//! `/requests` pages call), on the same database and store as the brokers.

use std::sync::Arc;
use std::time::Duration;

use lanyard::audit::{MemorySink, OnFailure};
use lanyard::clock::{Clock, ManualClock, SharedClock, UnixTime};
use lanyard::config::Config;
use lanyard::db::{Database, Location};
use lanyard::elevation::{Ask, DecisionError, Elevation, Notifier, State, Verdict};
use lanyard::identity::{ClaimValue, ExternalIdentity, ProviderId, ProviderKind};
use lanyard::roles::{RequestFacts, RoleCatalog};
use lanyard::session::{RedisStore, RedisTimeouts, SessionStore};
use lanyard::sso::Sso;
use lanyard::tokens::Algorithm;
use serde_json::{Value, json};

use crate::audit::PgDatabase;
use crate::harness::{Lanyard, T0, cheap_hash, start_with};
use crate::sts::MAIN;
use crate::upstream::{Fake, PUBLIC_URL, fake_idp};

const REDIS: &str = "redis://127.0.0.1:6379";
const WEB_IDENTITY: &str = "/sts/assume-role-with-web-identity";

/// The role `prod` (any acme repository may ask; `lead` approves, once, with MFA; a window
/// of at most an hour) and the resource server `rs`, which introspects any token.
fn config(issuer: &str, keys: &std::path::Path, prefix: &str, database: &str) -> String {
    format!(
        r#"
[server]
bind = "127.0.0.1:0"
public_url = "{PUBLIC_URL}"
[sessions]
store = "redis"
redis_url = "{REDIS}"
key_prefix = "{prefix}"
[tokens]
algorithm = "ES256"
keys_dir = "{keys}"
default_duration = "1h"
[audit]
database = "{database}"

[[providers]]
id = "ci"
kind = "oidc"
issuer = "{issuer}"
client_id = "lanyard"
client_auth = "none"
web_identity_audiences = ["sts.lanyard"]
browser_sign_in = false
timeout = "2s"

[[roles]]
name = "prod"
max_session_duration = "2h"
permission_policies = ["deploy"]
trust_policy = {{ Version = "2012-10-17", Statement = [
  {{ Effect = "Allow", Principal = {{ Federated = "ci" }}, Action = "sts:AssumeRoleWithWebIdentity",
    Condition = {{ StringLike = {{ "ci:sub" = "repo:acme/*" }} }} }},
] }}
[roles.approval]
approvers = {{ Version = "2012-10-17", Statement = [
  {{ Sid = "Lead", Effect = "Allow", Principal = {{ Federated = "ci" }},
    Action = "lanyard:ApproveAccessRequest",
    Condition = {{ StringEquals = {{ "idp:sub" = ["lead", "lead-2"] }},
                  Bool = {{ "aws:MultiFactorAuthPresent" = "true" }} }} }},
] }}
approvals = 1
max_duration = "1h"

[[policies]]
name = "deploy"
document = {{ Version = "2012-10-17", Statement = [
  {{ Effect = "Allow", Action = "deploy:*", Resource = "*" }},
] }}

[[clients]]
id = "rs"
secret_hash = "{rs}"
grant_types = []
introspect = "any"
"#,
        keys = keys.display(),
        rs = cheap_hash("rs-secret"),
    )
}

fn prefix() -> String {
    format!(
        "lanyard-it:{}:",
        lanyard::session::random_id().expose_secret()
    )
}

async fn redis(prefix: &str) -> Arc<dyn SessionStore> {
    Arc::new(RedisStore::connect(REDIS, prefix, RedisTimeouts::default()).unwrap())
}

/// The CI job `sub` as the elevation service sees it (as STS will: provider `ci`, its
/// `sub` claim), or an approver with a fresh second factor.
fn person(sub: &str, mfa: bool, now: UnixTime) -> ExternalIdentity {
    ExternalIdentity {
        provider: ProviderId::new("ci"),
        provider_kind: ProviderKind::Oidc,
        subject: sub.into(),
        username: sub.into(),
        email: None,
        email_verified: false,
        display_name: None,
        groups: vec![],
        amr: if mfa {
            vec!["pwd".into(), "otp".into()]
        } else {
            vec![]
        },
        mfa,
        auth_time: now,
        tags: Default::default(),
        claims: [("sub".to_owned(), ClaimValue::One(sub.into()))].into(),
    }
}

fn facts(clock: &ManualClock) -> RequestFacts {
    RequestFacts {
        source_ip: None,
        now: clock.now(),
        secure_transport: true,
        user_agent: None,
    }
}

/// An elevation service ("an instance") on `database` and `store`, recording to `sink`.
fn elevation(
    database: &Location,
    store: Arc<dyn SessionStore>,
    clock: &ManualClock,
    sink: &MemorySink,
) -> Elevation {
    let shared: SharedClock = Arc::new(clock.clone());
    let sso = Sso::new(
        store,
        Arc::clone(&shared),
        Duration::from_secs(3600),
        Duration::from_secs(36_000),
    );
    Elevation::new(
        Arc::new(Database::open(database).unwrap()),
        sink.audit(OnFailure::Refuse),
        Notifier::new(Vec::new(), PUBLIC_URL.parse().unwrap()).unwrap(),
        shared,
        sso,
    )
}

/// Two brokers on one Redis and one PostgreSQL, the fake CI issuer, and the elevation
/// service the `/requests` pages would use, on the same database and store.
struct World {
    a: Lanyard,
    b: Lanyard,
    fake: Fake,
    clock: ManualClock,
    roles: RoleCatalog,
    requests: Elevation,
    sink: MemorySink,
    _keys: tempfile::TempDir,
    _pg: PgDatabase,
}

async fn world() -> World {
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let fake = fake_idp(clock.clone(), Algorithm::Rs256).await;
    let keys = tempfile::tempdir().unwrap();
    let pg = PgDatabase::create().await;
    let prefix = prefix();
    let text = config(&fake.issuer(), keys.path(), &prefix, &pg.url());
    let a = start_with(&text, redis(&prefix).await, clock.clone()).await;
    let b = start_with(&text, redis(&prefix).await, clock.clone()).await;
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let parsed = Config::from_toml(&text, &examples, &|_| None).unwrap();
    let sink = MemorySink::new();
    let location = Location::parse(&pg.url()).unwrap();
    World {
        requests: elevation(&location, redis(&prefix).await, &clock, &sink),
        roles: RoleCatalog::new(parsed.roles.clone()),
        a,
        b,
        fake,
        clock,
        sink,
        _keys: keys,
        _pg: pg,
    }
}

impl World {
    /// A CI job's token for `sub`, valid 5 minutes from now.
    fn token(&self, sub: &str) -> String {
        let s = self.fake.0.lock().unwrap();
        let now = s.clock.now().secs();
        let claims = json!({
            "iss": s.issuer, "aud": "sts.lanyard", "sub": sub, "iat": now, "exp": now + 300,
            "jti": format!("job-{now}-{sub}"),
        });
        s.keys.sign(&claims, "JWT").unwrap()
    }

    /// `AssumeRoleWithWebIdentity` of `prod` for `sub` at `l`, asking two hours.
    async fn assume(&self, l: &Lanyard, sub: &str) -> (u16, Value) {
        let body = json!({"role": "prod", "web_identity_token": self.token(sub),
                          "duration_seconds": 7200});
        let r = reqwest::Client::new()
            .post(l.at(WEB_IDENTITY))
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// A request of `MAIN` for `prod`, for `minutes`, approved by `lead`: its id.
    async fn approved(&self, minutes: u64) -> String {
        let ask = Ask {
            role: "prod".into(),
            duration: Duration::from_secs(minutes * 60),
            reason: "hotfix".into(),
            ticket: String::new(),
            break_glass: false,
        };
        let now = self.clock.now();
        let asked = self
            .requests
            .request(
                &self.roles,
                &person(MAIN, false, now),
                &facts(&self.clock),
                ask,
            )
            .await
            .unwrap();
        let decided = self
            .requests
            .decide(
                &self.roles,
                &asked.row.id,
                &person("lead", true, now),
                &facts(&self.clock),
                (Verdict::Approve, "ok"),
            )
            .await
            .unwrap();
        assert_eq!(decided.state, State::Approved);
        asked.row.id
    }
}

/// `/v1/authorize` of `deploy:Run` with `token` at `l`: the status.
async fn authorize(l: &Lanyard, token: &str) -> u16 {
    reqwest::Client::new()
        .post(l.at("/v1/authorize"))
        .bearer_auth(token)
        .json(&json!({"action": "deploy:Run", "resource": "arn:aws:deploy:::app"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Whether `token` is active by introspection at `l`.
async fn active(l: &Lanyard, token: &str) -> bool {
    let v: Value = reqwest::Client::new()
        .post(l.at("/oauth2/introspect"))
        .basic_auth("rs", Some("rs-secret"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["active"] == json!(true)
}

fn refused_for_approval(got: &(u16, Value)) {
    assert_eq!(got.0, 403, "{}", got.1);
    assert_eq!(got.1["error"], "AccessDenied", "{}", got.1);
    let why = got.1["error_description"].as_str().unwrap();
    assert!(why.contains("needs an approved access request"), "{why}");
    assert!(why.contains(&format!("{PUBLIC_URL}/requests")), "{why}");
}

#[tokio::test]
async fn sts_assumes_an_approval_role_within_its_window_and_revocation_ends_it_everywhere() {
    let w = world().await;
    // No request yet: refused, saying why and where to ask. A job the trust policy does
    // not allow hears AWS's plain refusal, which names no role.
    refused_for_approval(&w.assume(&w.a, MAIN).await);
    let outsider = w.assume(&w.a, "repo:evil/app:ref:refs/heads/main").await;
    assert_eq!(outsider.0, 403);
    assert_eq!(
        outsider.1["error_description"],
        "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );

    // Approved for 30 minutes; assumed 10 minutes later asking two hours: the
    // credentials end with the window.
    let id = w.approved(30).await;
    let window_end = UnixTime::from_secs(T0 + 1800);
    w.clock.advance(Duration::from_secs(600));
    let (status, v) = w.assume(&w.a, MAIN).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["credentials"]["expires_in"], 1200);
    assert_eq!(
        v["credentials"]["expires_at"],
        lanyard::roles::rfc3339(window_end)
    );
    let token = v["credentials"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for l in [&w.a, &w.b] {
        assert_eq!(authorize(l, &token).await, 200);
        assert!(active(l, &token).await);
    }
    // The request is marked used, and the credentials name it in the trail.
    assert_eq!(
        w.requests.get(&id).await.unwrap().unwrap().state,
        State::Used
    );

    // Revoked (through the service, as the /requests page does): the token is refused on
    // both instances at once, and no new one is issued.
    let revoked = w.requests.revoke(&id, "ci:lead", "done").await.unwrap();
    assert_eq!(revoked.state, State::Revoked);
    for l in [&w.b, &w.a] {
        assert_eq!(authorize(l, &token).await, 401);
        assert!(!active(l, &token).await);
    }
    refused_for_approval(&w.assume(&w.b, MAIN).await);

    // Approved again: the window's end refuses the token (the clock moved past it), on
    // both instances, and the role with it.
    w.approved(15).await;
    let (status, v) = w.assume(&w.b, MAIN).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["credentials"]["expires_in"], 900);
    let token = v["credentials"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(authorize(&w.a, &token).await, 200);
    w.clock.advance(Duration::from_secs(899));
    assert_eq!(authorize(&w.a, &token).await, 200);
    w.clock.advance(Duration::from_secs(1));
    for l in [&w.a, &w.b] {
        assert_eq!(authorize(l, &token).await, 401);
        assert!(!active(l, &token).await);
    }
    refused_for_approval(&w.assume(&w.a, MAIN).await);
    assert_eq!(w.requests.expire_due().await.unwrap(), 1);

    let kinds: Vec<&str> = w.sink.events().iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "access.requested",
            "access.approved",
            "access.revoked",
            "access.requested",
            "access.approved",
            "access.expired",
        ]
    );
}

/// Two approvers deciding one `approvals = 1` request at once, `rounds` times, through
/// two services on `location` (two instances); then two sweeps at once over approved
/// requests whose windows ended. Exactly one decision opens each window, the other hears
/// `Closed`; exactly one sweep closes each request; one event each.
async fn races(location: &Location, store: Arc<dyn SessionStore>) {
    const ROUNDS: usize = 6;
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let dir = tempfile::tempdir().unwrap();
    let text = config("http://127.0.0.1:9", dir.path(), "x:", "none");
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let roles = RoleCatalog::new(
        Config::from_toml(&text, &examples, &|_| None)
            .unwrap()
            .roles,
    );
    let sink = MemorySink::new();
    let one = Arc::new(elevation(location, Arc::clone(&store), &clock, &sink));
    let two = Arc::new(elevation(location, store, &clock, &sink));
    let roles = Arc::new(roles);

    let mut ids = Vec::new();
    for round in 0..ROUNDS {
        let sub = format!("repo:acme/app-{round}");
        let ask = Ask {
            role: "prod".into(),
            duration: Duration::from_secs(900),
            reason: "race".into(),
            ticket: String::new(),
            break_glass: false,
        };
        let asked = one
            .request(
                &roles,
                &person(&sub, false, clock.now()),
                &facts(&clock),
                ask,
            )
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for (service, lead) in [(&one, "lead"), (&two, "lead-2")] {
            let (service, roles, clock) = (Arc::clone(service), Arc::clone(&roles), clock.clone());
            let id = asked.row.id.clone();
            tasks.push(tokio::spawn(async move {
                let approver = person(lead, true, clock.now());
                service
                    .decide(
                        &roles,
                        &id,
                        &approver,
                        &facts(&clock),
                        (Verdict::Approve, ""),
                    )
                    .await
            }));
        }
        let mut opened = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(r) => {
                    assert_eq!(r.state, State::Approved);
                    opened += 1;
                }
                Err(DecisionError::Closed(State::Approved)) => {}
                Err(e) => panic!("round {round}: {e:?}"),
            }
        }
        assert_eq!(
            opened, 1,
            "round {round}: exactly one decision opens the window"
        );
        let done = one.get(&asked.row.id).await.unwrap().unwrap();
        assert_eq!(done.approvals(), 1);
        ids.push(asked.row.id);
    }
    let approved = sink
        .events()
        .iter()
        .filter(|e| e.event.as_str() == "access.approved")
        .count();
    assert_eq!(approved, ROUNDS);

    // Every window ends; two instances sweep at once.
    clock.advance(Duration::from_secs(900));
    let sweeps = [Arc::clone(&one), Arc::clone(&two)]
        .map(|s| tokio::spawn(async move { s.expire_due().await.unwrap() }));
    let mut closed = 0;
    for s in sweeps {
        closed += s.await.unwrap();
    }
    assert_eq!(
        closed, ROUNDS,
        "each request is closed by exactly one sweep"
    );
    let expired: Vec<String> = sink
        .events()
        .iter()
        .filter(|e| e.event.as_str() == "access.expired")
        .map(|e| e.detail["request"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = expired.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ROUNDS, "{expired:?}");
    assert_eq!(expired.len(), ROUNDS, "one access.expired per request");
    for id in &ids {
        assert_eq!(one.get(id).await.unwrap().unwrap().state, State::Expired);
    }
}

#[tokio::test]
async fn concurrent_decisions_and_sweeps_take_effect_once_on_postgresql() {
    let pg = PgDatabase::create().await;
    let prefix = prefix();
    races(&Location::parse(&pg.url()).unwrap(), redis(&prefix).await).await;
}

#[tokio::test]
async fn concurrent_decisions_and_sweeps_take_effect_once_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let store = crate::harness::memory_store(&clock);
    races(&Location::Sqlite(dir.path().join("lanyard.db")), store).await;
}
