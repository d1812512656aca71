//! `lanyard export` and `lanyard apply`, run as processes against the database of a
//! running live Lanyard (SQLite): a dry run writes nothing, an apply is taken up by the
//! running instance, a second apply and an apply of the export change nothing, the export
//! passes `check-config`, changes and deletions show as a diff and land in the audit
//! trail, and an invalid file or a name of lanyard.toml writes nothing.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use lanyard::clock::{ManualClock, UnixTime};
use serde_json::Value;

use crate::admin_api::{sqlite, token};
use crate::harness::{Lanyard, T0, config_text, memory_store, start_live};

fn lanyard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .args(args)
        .env_remove("LANYARD_CONFIG")
        .env("USER", "ops")
        .output()
        .unwrap()
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
            "/admin/api/v1/audit-events?event=admin.changed&subject=cli:ops&limit=100",
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
            "{}{}[[roles]]\nname = \"x\"\ntrust_policy = {{ Version = \"2012-10-17\", Statement = [{{ Effect = \"Maybe\" }}] }}\n[[clients]]\nid = \"c\"\n",
            role("eng-oncall", "engineering", "changed"),
            role("admin", "admins", "mine now"),
        ),
    );
    let refused = lanyard(&["apply", &bad, "--config", &config]);
    assert!(!refused.status.success());
    let err = text(&refused.stderr);
    assert!(err.contains("managed in lanyard.toml"), "{err}");
    assert!(err.contains("roles[2] (x)"), "{err}");
    assert!(err.contains("clients: not an entity"), "{err}");
    let (_, body) = get(&l, &admin, "/admin/api/v1/roles/eng-oncall").await;
    assert_eq!(
        body["document"]["description"], "Page the SREs",
        "nothing written"
    );
}
