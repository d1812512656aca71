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
        Some(2),
        "clap rejects an unknown algorithm"
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
