//! `lanyard export` and `lanyard apply`, run as processes against the database of a
//! running live Lanyard (SQLite, and the real PostgreSQL): a dry run writes nothing, an
//! apply is taken up by the running instance, a second apply and an apply of the export
//! change nothing (and record nothing), the export passes `check-config`, changes and
//! deletions show as a diff and land in the audit trail, and an invalid file or a name of
//! lanyard.toml writes nothing. For every kind (policies, providers, roles, clients): a
//! provider's secret given as `${ENV}` is read from apply's environment and never shown
//! (diff, export, API), the marker on a new provider is refused, a client's secret hash
//! round-trips (a client-credentials grant with the original secret works after apply,
//! and a rotation's overlap survives an apply of the export), a plain client secret is
//! refused.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use lanyard::audit::{AuditQuery, EventKind};
use lanyard::clock::{ManualClock, UnixTime};
use lanyard::db::{Database, EntityKind, Location};
use lanyard::secret::Secret;
use serde_json::Value;

use crate::admin_api::{sqlite, token};
use crate::audit::PgDatabase;
use crate::harness::{Lanyard, T0, config_text, memory_store, start_live};

fn lanyard(args: &[&str]) -> Output {
    lanyard_with(args, &[])
}

/// `lanyard args…` with the environment variables `env` set.
fn lanyard_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lanyard"));
    command
        .args(args)
        .env_remove("LANYARD_CONFIG")
        .env_remove("DBIDP_SECRET")
        .env("USER", "ops");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

/// A role that `group` members of the directory may take.
fn role(name: &str, group: &str, description: &str) -> String {
    format!(
        "[[roles]]\nname = \"{name}\"\ndescription = \"{description}\"\n\
         permission_policies = [\"read-only\"]\nmax_session_duration = \"1h\"\n\
         trust_policy = {{ Version = \"2012-10-17\", Statement = [\n\
           {{ Effect = \"Allow\", Principal = {{ Federated = \"corp\" }}, Action = \"sts:AssumeRole\",\n\
              Condition = {{ \"ForAnyValue:StringEquals\" = {{ \"idp:groups\" = [\"{group}\"] }} }} }},\n\
         ] }}\n"
    )
}

/// GET of an admin API path with `admin`'s token: status and body.
async fn get(l: &Lanyard, admin: &str, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(l.at(path))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Waits (up to 2 s) until the running instance's simulator knows `role` or not.
async fn known(l: &Lanyard, admin: &str, role: &str, want: bool) {
    let started = Instant::now();
    loop {
        let r = reqwest::Client::new()
            .post(l.at("/admin/api/v1/simulate"))
            .bearer_auth(admin)
            .json(&serde_json::json!({"provider": "corp", "claims": {"sub": "x"}, "role": role}))
            .send()
            .await
            .unwrap();
        if (r.status() != 404) == want {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the running instance knows {role}: not {want} within 2 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn apply_makes_the_database_match_a_file_and_export_round_trips() {
    let keys = tempfile::tempdir().unwrap();
    let (_db_dir, url) = sqlite();
    let config_text = format!(
        "{}\n[audit]\ndatabase = \"{url}\"\n",
        config_text("[sessions]\nstore = \"memory\"\n", keys.path())
    );
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let l = start_live(&config_text, memory_store(&clock), clock).await;
    let config = l.live.as_ref().unwrap().1.display().to_string();
    let admin = token(&l, "alice", "admin").await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.display().to_string()
    };
    let two = file(
        "two.toml",
        &format!(
            "{}{}",
            role("eng-oncall", "engineering", "Page the engineers"),
            role("fin-readonly", "finance", "Read the books")
        ),
    );

    // A dry run says what it would do and writes nothing.
    let dry = lanyard(&["apply", &two, "--config", &config, "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let out = text(&dry.stdout);
    assert!(
        out.contains("+ role eng-oncall") && out.contains("+ role fin-readonly"),
        "{out}"
    );
    assert!(out.contains("nothing written (--dry-run)"), "{out}");
    assert_eq!(
        get(&l, &admin, "/admin/api/v1/roles/eng-oncall").await.0,
        404
    );

    // Applied: in the database, written by the CLI's user, and taken up by the running
    // instance.
    let applied = lanyard(&["apply", &two, "--config", &config]);
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    assert!(
        text(&applied.stdout).contains("Applied 2 change(s)"),
        "{}",
        text(&applied.stdout)
    );
    let (status, body) = get(&l, &admin, "/admin/api/v1/roles/eng-oncall").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["updated_by"], "cli:ops");
    assert_eq!(body["document"]["description"], "Page the engineers");
    known(&l, &admin, "eng-oncall", true).await;

    // Idempotent: the same file again, and the export of the database, change nothing.
    let again = lanyard(&["apply", &two, "--config", &config]);
    assert!(again.status.success());
    assert!(
        text(&again.stdout).contains("already matches"),
        "{}",
        text(&again.stdout)
    );
    let exported = lanyard(&["export", "--config", &config]);
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let export = text(&exported.stdout);
    assert!(export.contains("name = \"eng-oncall\""), "{export}");
    let export_file = file("export.toml", &export);
    let round = lanyard(&["apply", &export_file, "--config", &config]);
    assert!(
        text(&round.stdout).contains("already matches"),
        "{}",
        text(&round.stdout)
    );
    // check-config accepts the exported entries in a lanyard.toml.
    let with_export = Path::new(&config).with_file_name("with-export.toml");
    let base = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&with_export, format!("{base}\n{export}")).unwrap();
    let checked = lanyard(&["check-config", "--config", with_export.to_str().unwrap()]);
    assert!(
        checked.status.success(),
        "{}{}",
        text(&checked.stdout),
        text(&checked.stderr)
    );

    // A changed description and a role left out: a diff, then both written.
    let one = file(
        "one.toml",
        &role("eng-oncall", "engineering", "Page the SREs"),
    );
    let changed = lanyard(&["apply", &one, "--config", &config]);
    assert!(changed.status.success(), "{}", text(&changed.stderr));
    let out = text(&changed.stdout);
    assert!(out.contains("~ role eng-oncall"), "{out}");
    assert!(
        out.contains("-  \"description\": \"Page the engineers\""),
        "{out}"
    );
    assert!(
        out.contains("+  \"description\": \"Page the SREs\""),
        "{out}"
    );
    assert!(out.contains("- role fin-readonly"), "{out}");
    assert_eq!(
        get(&l, &admin, "/admin/api/v1/roles/fin-readonly").await.0,
        404
    );
    known(&l, &admin, "fin-readonly", false).await;
    let started = Instant::now();
    loop {
        let (_, body) = get(
            &l,
            &admin,
            "/admin/api/v1/audit-events?event=admin.changed&provider=cli&subject=ops&limit=100",
        )
        .await;
        let events = body["events"].as_array().cloned().unwrap_or_default();
        let deleted = events.iter().any(|e| {
            e["detail"]["operation"] == "delete"
                && e["detail"]["name"] == "fin-readonly"
                && e["detail"]["source"] == "lanyard apply"
                && e["detail"]["before"]["document"]["description"] == "Read the books"
        });
        if events.len() == 4 && deleted {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Invalid entries and a role of lanyard.toml: every problem said, nothing written.
    let bad = file(
        "bad.toml",
        &format!(
            "{}{}[[roles]]\nname = \"x\"\ntrust_policy = {{ Version = \"2012-10-17\", Statement = [{{ Effect = \"Maybe\" }}] }}\n[server]\nbind = \"0.0.0.0:80\"\n",
            role("eng-oncall", "engineering", "changed"),
            role("admin", "admins", "mine now"),
        ),
    );
    let refused = lanyard(&["apply", &bad, "--config", &config]);
    assert!(!refused.status.success());
    let err = text(&refused.stderr);
    assert!(err.contains("managed in lanyard.toml"), "{err}");
    assert!(err.contains("roles[2] (x)"), "{err}");
    assert!(err.contains("server: not an entity"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    let (_, body) = get(&l, &admin, "/admin/api/v1/roles/eng-oncall").await;
    assert_eq!(
        body["document"]["description"], "Page the SREs",
        "nothing written"
    );
}

/// The provider secret `${DBIDP_SECRET}` stands for in the tests' files.
const IDP_SECRET: &str = "idp-secret-from-the-environment";

/// One entity of every kind: a managed policy, an OpenID Connect provider whose secret is
/// `secret`, a role that the client `deployer` may assume and that names the policy, and
/// that client, whose secret has the hash `hash`.
fn every_kind(secret: &str, hash: &str) -> String {
    format!(
        "[[policies]]\nname = \"logs-read\"\n\
         document = {{ Version = \"2012-10-17\", Statement = [\n\
           {{ Sid = \"Logs\", Effect = \"Allow\", Action = \"logs:Get*\", Resource = \"*\" }},\n\
         ] }}\n\
         [[providers]]\nid = \"dbidp\"\nkind = \"oidc\"\ndisplay_name = \"Database IdP\"\n\
         issuer = \"https://idp.example.com\"\nclient_id = \"lanyard\"\nclient_secret = \"{secret}\"\n\
         [[roles]]\nname = \"deploy-bot\"\ndescription = \"The deployer's role\"\n\
         permission_policies = [\"logs-read\"]\nmax_session_duration = \"1h\"\n\
         trust_policy = {{ Version = \"2012-10-17\", Statement = [\n\
           {{ Effect = \"Allow\", Principal = {{ AWS = \"arn:lanyard:iam:::client/deployer\" }}, Action = \"sts:AssumeRole\" }},\n\
         ] }}\n\
         [[clients]]\nid = \"deployer\"\nname = \"Deployer\"\ngrant_types = [\"client_credentials\"]\n\
         machine_role = \"deploy-bot\"\nsecret_hash = \"{hash}\"\n"
    )
}

/// The status of a client-credentials grant of `deployer` with `secret`, and the token's
/// role on success.
async fn grant(l: &Lanyard, secret: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/token"))
        .basic_auth("deployer", Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Waits (up to 3 s) until a grant with `secret` gets `want`.
async fn grant_answers(l: &Lanyard, secret: &str, want: u16) {
    let started = Instant::now();
    loop {
        let (status, body) = grant(l, secret).await;
        if status == want {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "a grant answers {status}, not {want}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The catalog version and the number of `admin.changed` events of the database at `url`.
async fn version_and_changes(url: &str) -> (i64, usize) {
    let db = Database::open(&Location::parse(url).unwrap()).unwrap();
    let version = db.catalog_version().await.unwrap();
    let changes = lanyard::audit::query(
        &db,
        &AuditQuery {
            event: Some(EventKind::AdminChanged),
            limit: 1000,
            ..AuditQuery::default()
        },
    )
    .await
    .unwrap()
    .len();
    let stored = db.entity(EntityKind::Provider, "dbidp").await.unwrap();
    db.close().await;
    if let Some(row) = stored {
        assert!(
            !row.body.contains("********"),
            "the secret itself is stored"
        );
    }
    (version, changes)
}

/// Every kind exported, checked and applied back on the database at `url`; secrets as the
/// module says.
async fn every_kind_round_trips(url: &str) {
    let keys = tempfile::tempdir().unwrap();
    let config_text = format!(
        "{}\n[audit]\ndatabase = \"{url}\"\n",
        config_text("[sessions]\nstore = \"memory\"\n", keys.path())
    );
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let l = start_live(&config_text, memory_store(&clock), clock).await;
    let config = l.live.as_ref().unwrap().1.display().to_string();
    let admin = token(&l, "alice", "admin").await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.display().to_string()
    };
    let (secret, hash) = lanyard::op::clients::generate_secret();
    let secret = secret.expose_secret().to_owned();
    let all = file("all.toml", &every_kind("${DBIDP_SECRET}", &hash));
    let env = [("DBIDP_SECRET", IDP_SECRET)];
    let apply = |path: &str, env: &[(&str, &str)], dry: bool| {
        let mut args = vec!["apply", path, "--config", config.as_str()];
        if dry {
            args.push("--dry-run");
        }
        lanyard_with(&args, env)
    };

    // A dry run: every kind, the secret as the marker, nothing written.
    let before = version_and_changes(url).await;
    let dry = apply(&all, &env, true);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let out = text(&dry.stdout);
    for created in [
        "+ policy logs-read",
        "+ provider dbidp",
        "+ role deploy-bot",
        "+ client deployer",
    ] {
        assert!(out.contains(created), "{created}: {out}");
    }
    assert!(out.contains("\"client_secret\": \"********\""), "{out}");
    assert!(!out.contains(IDP_SECRET), "{out}");
    assert!(out.contains("nothing written (--dry-run)"), "{out}");
    assert_eq!(version_and_changes(url).await, before);

    // Without the variable in apply's environment: refused, with the place.
    let unset = apply(&all, &[], false);
    assert!(!unset.status.success());
    let err = text(&unset.stderr);
    assert!(
        err.contains("providers[0] (dbidp): client_secret: environment variable DBIDP_SECRET"),
        "{err}"
    );
    assert_eq!(version_and_changes(url).await, before);

    // Applied: one transaction, one event per entity; the secret read from the
    // environment is stored and never shown; the client's original secret works.
    let applied = apply(&all, &env, false);
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    assert!(
        text(&applied.stdout).contains("Applied 4 change(s)"),
        "{}",
        text(&applied.stdout)
    );
    let after = version_and_changes(url).await;
    assert_eq!(after, (before.0 + 1, before.1 + 4));
    let db = Database::open(&Location::parse(url).unwrap()).unwrap();
    let row = db
        .entity(EntityKind::Provider, "dbidp")
        .await
        .unwrap()
        .unwrap();
    db.close().await;
    assert!(row.body.contains(IDP_SECRET), "stored as given");
    let (status, body) = get(&l, &admin, "/admin/api/v1/providers/dbidp").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["document"]["client_secret"], "********");
    grant_answers(&l, &secret, 200).await;
    let (_, granted) = grant(&l, &secret).await;
    assert!(granted["access_token"].is_string(), "{granted}");

    // The export: secrets as the marker and the hash, accepted by check-config, and
    // applied back (without the variable) it changes and records nothing.
    let exported = lanyard(&["export", "--config", &config]);
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let export = text(&exported.stdout);
    assert!(export.contains("client_secret = \"********\""), "{export}");
    assert!(
        export.contains(&format!("secret_hash = \"{hash}\"")),
        "{export}"
    );
    assert!(
        !export.contains(IDP_SECRET) && !export.contains(&secret),
        "{export}"
    );
    for table in ["[[policies]]", "[[providers]]", "[[roles]]", "[[clients]]"] {
        assert!(export.contains(table), "{table}: {export}");
    }
    let with_export = Path::new(&config).with_file_name("with-export.toml");
    let base = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&with_export, format!("{base}\n{export}")).unwrap();
    let checked = lanyard(&["check-config", "--config", with_export.to_str().unwrap()]);
    assert!(
        checked.status.success(),
        "{}{}",
        text(&checked.stdout),
        text(&checked.stderr)
    );
    let export_file = file("export.toml", &export);
    let round = apply(&export_file, &[], false);
    assert!(round.status.success(), "{}", text(&round.stderr));
    assert!(
        text(&round.stdout).contains("already matches"),
        "{}",
        text(&round.stdout)
    );
    assert_eq!(version_and_changes(url).await, after, "nothing written");

    // The marker on a new provider: refused, nothing written.
    let marker = file(
        "marker.toml",
        &format!(
            "{export}\n[[providers]]\nid = \"other\"\nkind = \"oidc\"\n\
             issuer = \"https://other.example.com\"\nclient_id = \"l\"\nclient_secret = \"********\"\n"
        ),
    );
    let refused = apply(&marker, &[], false);
    assert!(!refused.status.success());
    let err = text(&refused.stderr);
    assert!(
        err.contains("providers[1] (other): client_secret: is \"********\"")
            && err.contains("the provider is new"),
        "{err}"
    );
    assert_eq!(version_and_changes(url).await, after);

    // A new secret from the environment: the dry run says it changes, never what it is.
    let new_secret = file(
        "new-secret.toml",
        &export.replace(
            "client_secret = \"********\"",
            "client_secret = \"${DBIDP_SECRET}\"",
        ),
    );
    let dry = apply(&new_secret, &[("DBIDP_SECRET", "a-brand-new-secret")], true);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let out = text(&dry.stdout);
    assert!(out.contains("~ provider dbidp"), "{out}");
    assert!(
        out.contains("+  \"client_secret\": \"******** (changed)\""),
        "{out}"
    );
    assert!(
        !out.contains("a-brand-new-secret") && !out.contains(IDP_SECRET),
        "{out}"
    );

    // A plain client secret and an invalid role: every problem said, nothing written.
    let bad = file(
        "bad.toml",
        &format!(
            "{}[[roles]]\nname = \"broken\"\ntrust_policy = {{ Version = \"2012-10-17\", Statement = [{{ Effect = \"Maybe\" }}] }}\n\
             [[clients]]\nid = \"plain\"\nclient_secret = \"hunter2-hunter2\"\ngrant_types = [\"client_credentials\"]\nmachine_role = \"deploy-bot\"\n\
             [[clients]]\nid = \"unhashed\"\nsecret_hash = \"hunter2-hunter2\"\ngrant_types = [\"client_credentials\"]\nmachine_role = \"deploy-bot\"\n",
            export.replace(
                "description = \"The deployer's role\"",
                "description = \"changed\""
            )
        ),
    );
    let refused = apply(&bad, &[], false);
    assert!(!refused.status.success());
    let err = text(&refused.stderr);
    assert!(err.contains("roles[1] (broken)"), "{err}");
    assert!(
        err.contains("clients[1] (plain): client_secret: a client's secret is never written"),
        "{err}"
    );
    assert!(
        err.contains("clients[2] (unhashed): secret_hash: must be the sha256: hash"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    assert_eq!(version_and_changes(url).await, after);
    let (_, role) = get(&l, &admin, "/admin/api/v1/roles/deploy-bot").await;
    assert_eq!(role["document"]["description"], "The deployer's role");

    // A rotation through the API: the export names the new secret, and applying it keeps
    // the previous one working until its overlap ends.
    let rotated: Value = reqwest::Client::new()
        .post(l.at("/admin/api/v1/clients/deployer/secret"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"overlap_seconds": 3600}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new = rotated["client_secret"].as_str().unwrap().to_owned();
    let new_hash = lanyard::op::clients::fast_hash(&Secret::new(new.clone()));
    let exported = lanyard(&["export", "--config", &config]);
    let export = text(&exported.stdout);
    assert!(
        export.contains(&format!("secret_hash = \"{new_hash}\"")),
        "{export}"
    );
    assert!(!export.contains(&hash), "only the current secret: {export}");
    let rotated_file = file("rotated.toml", &export);
    let round = apply(&rotated_file, &[], false);
    assert!(
        text(&round.stdout).contains("already matches"),
        "{}{}",
        text(&round.stdout),
        text(&round.stderr)
    );
    grant_answers(&l, &new, 200).await;
    grant_answers(&l, &secret, 200).await;

    // A file without the client deletes it: its secrets stop working.
    let mut without = toml::from_str::<toml::Table>(&export).unwrap();
    assert!(without.remove("clients").is_some());
    let no_client = file("no-client.toml", &toml::to_string(&without).unwrap());
    let applied = apply(&no_client, &[], false);
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    assert!(
        text(&applied.stdout).contains("- client deployer"),
        "{}",
        text(&applied.stdout)
    );
    grant_answers(&l, &new, 401).await;
}

#[tokio::test]
async fn every_kind_round_trips_on_sqlite() {
    let (_dir, url) = sqlite();
    every_kind_round_trips(&url).await;
}

#[tokio::test]
async fn every_kind_round_trips_on_postgres() {
    let pg = PgDatabase::create().await;
    every_kind_round_trips(&pg.url()).await;
}
