//! The `lanyard` command line, run as a process.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn lanyard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .args(args)
        .env_remove("LANYARD_CONFIG")
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Sid": "ReadOwn", "Effect": "Allow", "Action": "s3:GetObject",
   "Resource": "arn:aws:s3:::home/${aws:username}/*"},
  {"Sid": "NeverSecrets", "Effect": "Deny", "Action": "s3:*",
   "Resource": "arn:aws:s3:::home/*/secrets/*"}]}"#;

#[test]
fn check_config_accepts_the_quickstart_and_lists_every_problem() {
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart.toml");
    let ok = lanyard(&["check-config", "--config", quickstart.to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&ok.stdout).contains("valid (1 provider, 3 roles, 3 policies)")
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.toml",
        "[server]\npublic_ur = \"x\"\n[[roles]]\nname = \"r\"\ntrust_policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = \"*\", Action = \"sts:AssumeRole\", Condition = { StringEqual = { \"a:b\" = \"c\" } } }] }\n",
    );
    let out = lanyard(&["check-config", "--config", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 problems"), "{err}");
    assert!(
        err.contains("line 2: server.public_ur: unknown field `public_ur`"),
        "{err}"
    );
    assert!(
        err.contains("line 5: roles[0].trust_policy.Statement[0].Condition: unknown operator \"StringEqual\", did you mean \"StringEquals\"?"),
        "{err}"
    );
}

#[test]
fn hash_password_prints_a_verifiable_argon2id_hash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap();
    let hash = hash.trim();
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    use argon2::password_hash::PasswordVerifier;
    let parsed = argon2::password_hash::phc::PasswordHash::new(hash).unwrap();
    assert!(
        argon2::Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok()
    );
    assert!(
        argon2::Argon2::default()
            .verify_password(b"correct horse ", &parsed)
            .is_err()
    );
}

#[test]
fn keys_generate_writes_a_private_key_file() {
    let dir = tempfile::tempdir().unwrap();
    for alg in ["ES256", "EdDSA"] {
        let out = lanyard(&[
            "keys",
            "generate",
            "--alg",
            alg,
            "--dir",
            dir.path().to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = String::from_utf8(out.stdout).unwrap();
        let path = Path::new(path.trim());
        assert!(
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .ends_with(&format!("-{alg}.pem"))
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let bad = lanyard(&[
        "keys",
        "generate",
        "--alg",
        "HS256",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(
        bad.status.code(),
        Some(1),
        "clap rejects an unknown algorithm: a usage error, exit 1"
    );
}

#[test]
fn policy_check_validates_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.json", POLICY);
    let bad = write(
        dir.path(),
        "bad.json",
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "GetObject", "Resource": "*"}}"#,
    );
    let out = lanyard(&["policy", "check", &good]);
    assert_eq!(out.status.code(), Some(0));
    let out = lanyard(&["policy", "check", &good, &bad]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json: Statement[0].Action"), "{err}");
}

#[test]
fn policy_simulate_exit_codes_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.json", POLICY);
    let context = write(dir.path(), "ctx.json", r#"{"aws:username": "alice"}"#);
    let run = |resource: &str| {
        lanyard(&[
            "policy",
            "simulate",
            "--policy",
            &policy,
            "--action",
            "s3:GetObject",
            "--resource",
            resource,
            "--context",
            &context,
            "--json",
        ])
    };
    let allow = run("arn:aws:s3:::home/alice/notes.txt");
    assert_eq!(allow.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&allow.stdout).unwrap();
    assert_eq!(v["decision"], "Allow");
    assert_eq!(v["reason"], "Allowed");
    assert_eq!(v["statements"][0]["sid"], "ReadOwn");

    let implicit = run("arn:aws:s3:::home/bob/notes.txt");
    assert_eq!(implicit.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&implicit.stdout).unwrap();
    assert_eq!(v["reason"], "ImplicitDeny");

    let explicit = run("arn:aws:s3:::home/alice/secrets/key");
    assert_eq!(explicit.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&explicit.stdout).unwrap();
    assert_eq!(v["reason"], "ExplicitDeny");
    assert_eq!(v["statements"][0]["sid"], "NeverSecrets");

    // Text output names the deciding statement.
    let text = lanyard(&[
        "policy",
        "simulate",
        "--policy",
        &policy,
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::home/alice/x",
        "--context",
        &context,
    ]);
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(out.starts_with("Allow (Allowed)"), "{out}");
    assert!(out.contains("Sid ReadOwn"), "{out}");

    // A boundary that does not allow it turns the allow into an implicit deny.
    let boundary = write(
        dir.path(),
        "b.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}"#,
    );
    let bounded = lanyard(&[
        "policy",
        "simulate",
        "--policy",
        &policy,
        "--boundary",
        &boundary,
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::home/alice/x",
        "--context",
        &context,
        "--json",
    ]);
    assert_eq!(bounded.status.code(), Some(2));

    // Invalid input: exit 1.
    let missing = lanyard(&[
        "policy",
        "simulate",
        "--policy",
        "/nonexistent.json",
        "--action",
        "s3:GetObject",
        "--resource",
        "*",
    ]);
    assert_eq!(missing.status.code(), Some(1));
    let bad_ctx = write(dir.path(), "bad.json", "[1, 2]");
    let out = lanyard(&[
        "policy",
        "simulate",
        "--policy",
        &policy,
        "--action",
        "s3:GetObject",
        "--resource",
        "*",
        "--context",
        &bad_ctx,
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn policy_simulate_usage_errors_exit_1_not_the_deny_code() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.json", POLICY);
    let cases: [&[&str]; 4] = [
        // --action missing
        &["policy", "simulate", "--policy", &policy, "--resource", "*"],
        // an unknown flag
        &[
            "policy",
            "simulate",
            "--policy",
            &policy,
            "--action",
            "s3:GetObject",
            "--resource",
            "*",
            "--bogus",
        ],
        // a flag without its value
        &["policy", "simulate", "--policy", &policy, "--action"],
        // an unknown subcommand
        &["policy", "simulat"],
    ];
    for args in cases {
        let out = lanyard(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error:"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // Help and version are not errors.
    let help = lanyard(&["policy", "simulate", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--principal"));
    assert_eq!(lanyard(&["--version"]).status.code(), Some(0));
    // A malformed --principal is invalid input.
    let out = lanyard(&[
        "policy",
        "simulate",
        "--policy",
        &policy,
        "--action",
        "s3:GetObject",
        "--resource",
        "*",
        "--principal",
        "alice",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an ARN"));
}

#[test]
fn policy_simulate_principal_meets_resource_policy_past_the_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let identity = write(
        dir.path(),
        "id.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}]}"#,
    );
    let resource_policy = write(
        dir.path(),
        "bucket.json",
        r#"{"Version": "2012-10-17", "Statement": [
          {"Sid": "ToAlice", "Effect": "Allow",
           "Principal": {"AWS": "arn:lanyard:sts:::assumed-role/dev/alice"},
           "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"},
          {"Sid": "ToAccount", "Effect": "Allow", "Principal": {"AWS": "111122223333"},
           "Action": "s3:PutObject", "Resource": "arn:aws:s3:::shared/*"}]}"#,
    );
    let boundary = write(
        dir.path(),
        "boundary.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}"#,
    );
    let run = |principal: Option<&str>, action: &str| {
        let mut args = vec![
            "policy",
            "simulate",
            "--policy",
            &identity,
            "--resource-policy",
            &resource_policy,
            "--boundary",
            &boundary,
            "--action",
            action,
            "--resource",
            "arn:aws:s3:::shared/report.csv",
            "--json",
        ];
        if let Some(p) = principal {
            args.extend(["--principal", p]);
        }
        let out = lanyard(&args);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (out.status.code(), v)
    };
    // Named directly: allowed although the boundary allows only ec2.
    let (code, v) = run(
        Some("arn:lanyard:sts:::assumed-role/dev/alice"),
        "s3:GetObject",
    );
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["statements"][0]["sid"], "ToAlice");
    // Another caller, or none: the statement does not apply.
    let (code, v) = run(
        Some("arn:lanyard:sts:::assumed-role/dev/bob"),
        "s3:GetObject",
    );
    assert_eq!(code, Some(2));
    assert_eq!(v["reason"], "ImplicitDeny");
    let (code, _) = run(None, "s3:GetObject");
    assert_eq!(code, Some(2));
    // A grant to the account is still limited by the boundary.
    let (code, v) = run(
        Some("arn:lanyard:sts::111122223333:assumed-role/dev/alice"),
        "s3:PutObject",
    );
    assert_eq!(code, Some(2), "{v}");
    assert_eq!(v["reason"], "ImplicitDeny");
    assert_eq!(v["statements"][0]["sid"], "ToAccount");
}
