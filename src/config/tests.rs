use super::*;

const BASE: &str = r#"
[server]
bind = "127.0.0.1:8080"
public_url = "http://127.0.0.1:8080"

[[providers]]
id = "corp"
kind = "local"

[[providers.users]]
username = "alice"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$0000000000000000000000000000000000000000000"
groups = ["engineering"]

[[roles]]
name = "engineer"
max_session_duration = "4h"
trust_policy = { Version = "2012-10-17", Statement = [
  { Effect = "Allow", Principal = { Federated = "corp" }, Action = "sts:AssumeRole" },
] }
"#;

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
    Config::from_toml(text, Path::new("."), &no_env)
}

/// The rendered problems of a config, one string each.
fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => vec![],
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_base_config_is_valid() {
    let c = parse(BASE).unwrap();
    assert_eq!(c.providers.len(), 1);
    assert_eq!(
        c.roles[0].max_session_duration,
        Duration::from_secs(4 * 3600)
    );
    assert!(!c.server.secure_cookies);
    assert_eq!(c.sessions.key_prefix, "lanyard:");
    assert_eq!(c.tokens.algorithm, Algorithm::Es256);
}

#[test]
fn the_quickstart_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart.toml");
    let c = Config::load(&path).unwrap();
    assert_eq!(c.roles.len(), 3);
    assert_eq!(demo_users(&c).len(), 4);
}

/// Broken configs and the exact problem each must report (line: path: message).
#[test]
fn broken_configs_report_exact_problems() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "typo in a section key",
            "[server]\nbind = \"127.0.0.1:8080\"\npublic_ur = \"http://127.0.0.1:8080\"\n",
            "line 3: server.public_ur: unknown field `public_ur`, expected `bind` or `public_url`",
        ),
        (
            "unknown section",
            "[sesions]\nstore = \"memory\"\n",
            "line 1: sesions: unknown section \"sesions\", did you mean \"sessions\"?",
        ),
        (
            "plain http off loopback",
            "[server]\npublic_url = \"http://sso.example.com\"\n",
            "line 2: server.public_url: must be https:// unless the host is a loopback address (cookies and tokens would cross the network in clear)",
        ),
        (
            "bad bind",
            "[server]\nbind = \"localhost\"\npublic_url = \"https://sso.example.com\"\n",
            "line 2: server.bind: \"localhost\" is not an address:port such as \"0.0.0.0:8080\"",
        ),
        (
            "bad duration",
            "[sessions]\nidle_timeout = \"an hour\"\n",
            "line 2: sessions.idle_timeout: \"an hour\" is not a duration (expected number at 0); write e.g. \"15m\", \"1h\", \"12h\"",
        ),
        (
            "idle longer than absolute",
            "[sessions]\nidle_timeout = \"2h\"\nabsolute_timeout = \"1h\"\n",
            "line 2: sessions.idle_timeout: must not be longer than absolute_timeout",
        ),
        (
            "redis without url",
            "[sessions]\nstore = \"redis\"\n",
            "line 1: sessions.redis_url: is required when store = \"redis\" (or give redis_url_file)",
        ),
        (
            "unknown store",
            "[sessions]\nstore = \"postgres\"\n",
            "line 2: sessions.store: unknown store \"postgres\"; use \"memory\" or \"redis\"",
        ),
        (
            "unknown algorithm",
            "[tokens]\nalgorithm = \"HS256\"\n",
            "line 2: tokens.algorithm: unknown algorithm \"HS256\"; use \"ES256\", \"EdDSA\" or \"RS256\"",
        ),
        (
            "token duration above 12h",
            "[tokens]\ndefault_duration = \"13h\"\n",
            "line 2: tokens.default_duration: must be between 15m and 12h (900-43200 seconds), not 46800 seconds",
        ),
        (
            "unknown provider kind",
            "[[providers]]\nid = \"x\"\nkind = \"ldapp\"\n",
            "line 3: providers[0].kind: unknown provider kind \"ldapp\", did you mean \"ldap\"?",
        ),
        (
            "bad provider id",
            "[[providers]]\nid = \"Corp Dir\"\nkind = \"local\"\n",
            "line 2: providers[0].id: \"Corp Dir\" is not a valid provider id: 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter",
        ),
        (
            "typo in a user key",
            "[[providers]]\nid = \"corp\"\nkind = \"local\"\n[[providers.users]]\nusername = \"a\"\npasword_hash = \"x\"\n",
            "line 6: providers[0].users[0].pasword_hash: unknown field `pasword_hash`, expected one of `username`, `password_hash`, `password_hash_file`, `insecure_demo_password`, `email`, `display_name`, `groups`, `tags`",
        ),
        (
            "not an argon2id hash",
            "[[providers]]\nid = \"corp\"\nkind = \"local\"\n[[providers.users]]\nusername = \"a\"\npassword_hash = \"$2b$12$abcdefghijklmnopqrstuv\"\n",
            "line 6: providers[0].users[0].password_hash: must be an argon2id PHC string ($argon2id$v=19$...); make one with `lanyard hash-password`",
        ),
        (
            "secret from a missing env var",
            "[[providers]]\nid = \"corp\"\nkind = \"local\"\n[[providers.users]]\nusername = \"a\"\npassword_hash = \"${ALICE_HASH}\"\n",
            "line 6: providers[0].users[0].password_hash: environment variable ALICE_HASH is not set (or empty)",
        ),
        (
            "user without a password",
            "[[providers]]\nid = \"corp\"\nkind = \"local\"\n[[providers.users]]\nusername = \"a\"\n",
            "line 4: providers[0].users[0].password_hash: is required (make one with `lanyard hash-password`)",
        ),
        (
            "role duration below 15 minutes",
            "[[roles]]\nname = \"r\"\nmax_session_duration = \"5m\"\ntrust_policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = \"*\", Action = \"sts:AssumeRole\" }] }\n",
            "line 3: roles[0].max_session_duration: must be between 15m and 12h (900-43200 seconds), not 300 seconds",
        ),
        (
            "role without trust policy",
            "[[roles]]\nname = \"r\"\n",
            "line 1: roles[0].trust_policy: is required: without one nobody may assume the role",
        ),
        (
            "bad role name",
            "[[roles]]\nname = \"my role\"\n",
            "line 2: roles[0].name: \"my role\" is not a valid role name: 1-64 characters of A-Z a-z 0-9 and +=,.@_-",
        ),
        (
            "unknown permission policy",
            "[[policies]]\nname = \"deploy\"\ndocument = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Action = \"s3:*\", Resource = \"*\" }] }\n[[roles]]\nname = \"r\"\npermission_policies = [\"deplyo\"]\ntrust_policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = \"*\", Action = \"sts:AssumeRole\" }] }\n",
            "line 6: roles[0].permission_policies[0]: no policy named \"deplyo\" in [[policies]], did you mean \"deploy\"?",
        ),
        (
            "policy file missing",
            "[[policies]]\nname = \"p\"\ndocument_file = \"does/not/exist.json\"\n",
            "line 1: policies[0].document: cannot read ./does/not/exist.json: No such file or directory (os error 2)",
        ),
        (
            "duplicate role",
            "[[roles]]\nname = \"r\"\ntrust_policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = \"*\", Action = \"sts:AssumeRole\" }] }\n[[roles]]\nname = \"r\"\ntrust_policy = { Version = \"2012-10-17\", Statement = [{ Effect = \"Allow\", Principal = \"*\", Action = \"sts:AssumeRole\" }] }\n",
            "line 5: roles[1].name: a role named \"r\" is already defined",
        ),
        (
            "not TOML at all",
            "[server\nbind = 1\n",
            "line 1: not valid TOML: unclosed table, expected `]`",
        ),
    ];
    for (name, text, expected) in cases {
        let got = problems(text);
        assert!(
            got.iter().any(|g| g == expected),
            "{name}: expected {expected:?}\n got {got:#?}"
        );
    }
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let text = "[server]\nbind = \"nope\"\n[sessions]\nstore = \"nope\"\n[tokens]\nalgorithm = \"nope\"\n[[roles]]\nname = \"a b\"\n";
    let got = problems(text);
    assert_eq!(got.len(), 4, "{got:#?}");
    let lines: Vec<_> = parse(text).unwrap_err().iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![Some(2), Some(4), Some(6), Some(8)]);
}

#[test]
fn policy_errors_carry_the_full_path() {
    let text = format!(
        "{BASE}\n[[roles]]\nname = \"bad\"\ntrust_policy = {{ Version = \"2012-10-17\", Statement = [{{ Effect = \"Allow\", Principal = {{ Federated = \"corp\" }}, Action = \"sts:AssumeRole\", Condition = {{ StringEqual = {{ \"idp:groups\" = \"x\" }} }} }}] }}\n"
    );
    let got = problems(&text);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].starts_with("line 24: roles[1].trust_policy.Statement[0].Condition"),
        "{got:#?}"
    );
    assert!(got[0].contains("did you mean \"StringEquals\""), "{got:#?}");
}

#[test]
fn secrets_come_from_env_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let hash =
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$0000000000000000000000000000000000000000000";
    std::fs::write(dir.path().join("bob.hash"), format!("{hash}\n")).unwrap();
    let text = "[[providers]]\nid = \"corp\"\nkind = \"local\"\n\
        [[providers.users]]\nusername = \"alice\"\npassword_hash = \"${ALICE_HASH}\"\n\
        [[providers.users]]\nusername = \"bob\"\npassword_hash_file = \"bob.hash\"\n\
        [sessions]\nstore = \"redis\"\nredis_url = \"${REDIS_URL}\"\n";
    let env = |name: &str| match name {
        "ALICE_HASH" => Some(hash.to_owned()),
        "REDIS_URL" => Some("redis://:pw@127.0.0.1:6379".to_owned()),
        _ => None,
    };
    let c = Config::from_toml(text, dir.path(), &env).unwrap();
    let ProviderSettings::Local(local) = &c.providers[0].settings else {
        panic!("a local provider")
    };
    for u in &local.users {
        let PasswordCredential::Hash(h) = &u.password else {
            panic!("expected a hash")
        };
        assert_eq!(h.expose_secret(), hash);
    }
    let StoreKind::Redis { url } = &c.sessions.store else {
        panic!("expected redis")
    };
    assert_eq!(url.expose_secret(), "redis://:pw@127.0.0.1:6379");
    assert!(
        !format!("{c:?}").contains(":pw@"),
        "secrets must not reach Debug"
    );
}

#[test]
fn did_you_mean_finds_close_words() {
    assert_eq!(did_you_mean("sesions", SECTIONS), Some("sessions"));
    assert_eq!(did_you_mean("zzz", SECTIONS), None);
}

#[test]
fn every_example_config_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let env = |name: &str| (name == "LANYARD_REDIS_URL").then(|| "redis://redis:6379".to_owned());
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            if let Err(e) = Config::from_toml(&text, &dir, &env) {
                panic!("{}: {e:#?}", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 2);
}
