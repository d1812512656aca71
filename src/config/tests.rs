use super::*;
use crate::connectors::settings::{
    LdapTransport, PasswordCredential, ProviderSettings, UpstreamClientAuth,
};
use crate::identity::ProviderKind;
use crate::signin::SignInLimits;
use crate::tokens::Algorithm;

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
            "line 3: server.public_ur: unknown field `public_ur`, expected one of `bind`, `public_url`, `trusted_proxies`",
        ),
        (
            "a trusted proxy that is not a network",
            "[server]\npublic_url = \"http://127.0.0.1:8080\"\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n",
            "line 3: server.trusted_proxies[1]: \"10.0.0.0/33\" is not an address or a network such as \"10.0.0.0/8\"",
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
            "no role sessions at all",
            "[sessions]\nmax_role_sessions = 0\n",
            "line 2: sessions.max_role_sessions: must be at least 1",
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
            "line 6: providers[0].users[0].pasword_hash: unknown field `pasword_hash`, expected one of `username`, `password_hash`, `password_hash_file`, `insecure_demo_password`, `email`, `display_name`, `groups`, `tags`, `totp_secret`, `totp_secret_file`",
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
        panic!("not a local provider")
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
    let env = |name: &str| match name {
        "LANYARD_REDIS_URL" => Some("redis://redis:6379".to_owned()),
        "LANYARD_AUDIT_DB" => Some("postgres://lanyard:pw@postgres:5432/lanyard".to_owned()),
        "LANYARD_LDAP_BIND_PASSWORD" | "LANYARD_AD_BIND_PASSWORD" => Some("bind-pw".to_owned()),
        "LANYARD_ROOT_PASSWORD_HASH" | "DEPLOYER_SECRET_HASH" => {
            Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".to_owned())
        }
        "LANYARD_TOTP_ROOT" => Some("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".to_owned()),
        "OIDC_CLIENT_SECRET"
        | "GOOGLE_CLIENT_SECRET"
        | "MICROSOFT_CLIENT_SECRET"
        | "GITHUB_CLIENT_SECRET" => Some("example-secret".to_owned()),
        _ => None,
    };
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
    assert!(checked >= 4);
}

const LDAP: &str = r#"
[[providers]]
id = "dir"
kind = "ldap"
url = "ldaps://ldap.example.com"
bind_dn = "cn=svc,dc=example,dc=com"
bind_password = "${BIND_PW}"

[providers.user_search]
base_dn = "ou=people,dc=example,dc=com"

[providers.group_search]
base_dn = "ou=groups,dc=example,dc=com"
"#;

fn with_bind_pw(name: &str) -> Option<String> {
    (name == "BIND_PW").then(|| "s3cret".to_owned())
}

fn ldap_problems(extra_provider_lines: &str, replace: Option<(&str, &str)>) -> Vec<String> {
    let mut ldap = LDAP.replacen(
        "bind_password = \"${BIND_PW}\"\n",
        &format!("bind_password = \"${{BIND_PW}}\"\n{extra_provider_lines}"),
        1,
    );
    if let Some((from, to)) = replace {
        assert!(ldap.contains(from), "{from}");
        ldap = ldap.replacen(from, to, 1);
    }
    match Config::from_toml(&format!("{BASE}{ldap}"), Path::new("."), &with_bind_pw) {
        Ok(_) => vec![],
        Err(errors) => errors.iter().map(|e| e.message.clone()).collect(),
    }
}

#[test]
fn an_ldap_provider_with_defaults() {
    let c = Config::from_toml(&format!("{BASE}{LDAP}"), Path::new("."), &with_bind_pw).unwrap();
    let p = &c.providers[1];
    assert_eq!(p.kind(), ProviderKind::Ldap);
    let ProviderSettings::Ldap(l) = &p.settings else {
        panic!("not ldap")
    };
    assert_eq!(l.transport, LdapTransport::Ldaps);
    assert_eq!(l.bind_password.as_ref().unwrap().expose_secret(), "s3cret");
    assert_eq!(l.user_search.filter.render("a*", ""), "(uid=a\\2a)");
    assert_eq!(l.user_search.username_attribute, "uid");
    let g = l.group_search.as_ref().unwrap();
    assert_eq!(g.filter.render("", "uid=a,dc=x"), "(member=uid=a,dc=x)");
    assert_eq!(l.timeout, Duration::from_secs(5));
    assert_eq!(l.pool_size, 4);
    let debug = format!("{l:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert_eq!(c.sign_in, SignInLimits::default());
}

#[test]
fn ldap_settings_are_validated() {
    // (extra provider lines, a replacement in the provider, the expected message)
    type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a str);
    let cases: &[Case<'_>] = &[
        (
            "insecure_no_tls = true\n",
            Some(("ldaps://ldap.example.com", "ldap://ldap.example.com")),
            "only allowed for a loopback host",
        ),
        (
            "insecure_no_tls = true\n",
            None,
            "contradicts an ldaps:// URL",
        ),
        (
            "",
            Some(("ldaps://ldap.example.com", "http://ldap.example.com")),
            "must be an ldap://",
        ),
        (
            "",
            Some((
                "ldaps://ldap.example.com",
                "ldaps://u:p@ldap.example.com/dc=x",
            )),
            "must be just scheme, host and port",
        ),
        (
            "",
            Some((
                "base_dn = \"ou=people,dc=example,dc=com\"\n",
                "base_dn = \"ou=people,dc=example,dc=com\"\nfilter = \"(uid={user})\"\n",
            )),
            "unknown placeholder {user}",
        ),
        (
            "",
            Some((
                "base_dn = \"ou=people,dc=example,dc=com\"\n",
                "base_dn = \"ou=people,dc=example,dc=com\"\nfilter = \"(uid=alice)\"\n",
            )),
            "must contain a placeholder",
        ),
        (
            "",
            Some((
                "base_dn = \"ou=people,dc=example,dc=com\"\n",
                "base_dn = \"ou=people,dc=example,dc=com\"\nfilter = \"(uid={username}\"\n",
            )),
            "is not a valid LDAP filter",
        ),
        (
            "",
            Some((
                "base_dn = \"ou=groups,dc=example,dc=com\"\n",
                "base_dn = \"ou=groups,dc=example,dc=com\"\nnested = true\nfilter = \"(member={dn})\"\n",
            )),
            "give either nested = true or a filter",
        ),
        (
            "",
            Some((
                "base_dn = \"ou=people,dc=example,dc=com\"\n",
                "base_dn = \"ou=people,dc=example,dc=com\"\nscope = \"deep\"\n",
            )),
            "unknown scope",
        ),
        (
            "",
            Some((
                "base_dn = \"ou=people,dc=example,dc=com\"\n",
                "base_dn = \"ou=people,dc=example,dc=com\"\nemail_attribute = \"mail)(x\"\n",
            )),
            "is not an LDAP attribute name",
        ),
        ("pool_size = 0\n", None, "must be between 1 and 64"),
        (
            "timeout = \"0s\"\n",
            None,
            "must be a positive whole number",
        ),
        (
            "ca_file = \"/nonexistent/ca.pem\"\n",
            None,
            "cannot read /nonexistent/ca.pem",
        ),
        ("unknown_key = 1\n", None, "unknown field `unknown_key`"),
        (
            "",
            Some(("bind_password = \"${BIND_PW}\"\n", "")),
            "is required with bind_dn",
        ),
    ];
    for (extra, replace, expected) in cases {
        let p = ldap_problems(extra, *replace);
        assert!(
            p.iter().any(|m| m.contains(expected)),
            "{extra:?} {replace:?}: expected {expected:?} in {p:?}"
        );
    }
    // Nested groups build Active Directory's in-chain filter.
    let text = LDAP.replacen(
        "base_dn = \"ou=groups,dc=example,dc=com\"\n",
        "base_dn = \"ou=groups,dc=example,dc=com\"\nnested = true\n",
        1,
    );
    let c = Config::from_toml(&format!("{BASE}{text}"), Path::new("."), &with_bind_pw).unwrap();
    let ProviderSettings::Ldap(l) = &c.providers[1].settings else {
        panic!("not ldap")
    };
    assert_eq!(
        l.group_search
            .as_ref()
            .unwrap()
            .filter
            .render("", "CN=a,DC=x"),
        "(member:1.2.840.113556.1.4.1941:=CN=a,DC=x)"
    );
    // Clear text is fine on loopback.
    let p = ldap_problems(
        "insecure_no_tls = true\n",
        Some(("ldaps://ldap.example.com", "ldap://127.0.0.1:3890")),
    );
    assert!(p.is_empty(), "{p:?}");
}

#[test]
fn totp_secrets_and_sign_in_limits_are_validated() {
    let with = |line: &str| {
        BASE.replacen(
            "groups = [\"engineering\"]\n",
            &format!("groups = [\"engineering\"]\n{line}\n"),
            1,
        )
    };
    let c = parse(&with(
        "totp_secret = \"gezd gnbv gy3t qojq gezd gnbv gy3t qojq\"",
    ))
    .unwrap();
    let ProviderSettings::Local(dir) = &c.providers[0].settings else {
        panic!("not local")
    };
    assert_eq!(
        dir.users[0].totp.as_ref().unwrap().expose_secret(),
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    );
    assert!(problems(&with("totp_secret = \"GEZDGNBV\""))[0].contains("too short"));
    assert!(problems(&with("totp_secret = \"not base32!\""))[0].contains("not base32"));
    let limits = format!(
        "{BASE}\n[sign_in]\nmax_account_failures = 0\nlockout = \"10m\"\nmax_lockout = \"1m\"\n"
    );
    let p = problems(&limits);
    assert!(
        p.iter()
            .any(|m| m.contains("max_account_failures: must be at least 1")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|m| m.contains("must not be shorter than lockout")),
        "{p:?}"
    );
    let ok = parse(&format!("{BASE}\n[sign_in]\nmax_ip_failures = 7\n")).unwrap();
    assert_eq!(ok.sign_in.max_ip_failures, 7);
    assert!(
        problems(&format!("{BASE}\n[sign_in]\nmax_failures = 7\n"))[0].contains("unknown field")
    );
}

#[test]
fn broken_clients_report_exact_problems() {
    let client = |body: &str| format!("{BASE}\n[[clients]]\nid = \"app\"\n{body}\n");
    let cases: &[(&str, &str)] = &[
        (
            "secret_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$0000000000000000000000000000000000000000000\"\nredirect_uris = [\"http://app.example.com/cb\"]",
            "clients[0].redirect_uris[0]: must be https:// unless the host is a loopback address",
        ),
        (
            "public = true\nredirect_uris = [\"https://app.example.com/cb#frag\"]",
            "clients[0].redirect_uris[0]: must not contain a fragment (RFC 6749 §3.1.2)",
        ),
        (
            "public = true\nredirect_uris = [\"javascript://x\"]",
            "clients[0].redirect_uris[0]: the scheme \"javascript\" is not allowed",
        ),
        (
            "public = true\nredirect_uris = [\"https://app.example.com/cb\"]\nallowed_roles = [\"enginer\"]",
            "clients[0].allowed_roles[0]: no role named \"enginer\" in [[roles]]",
        ),
        (
            "redirect_uris = [\"https://app.example.com/cb\"]",
            "clients[0].secret_hash: is required for a confidential client (or set public = true)",
        ),
        (
            "public = true\ngrant_types = [\"client_credentials\"]\nmachine_role = \"engineer\"",
            "clients[0].machine_role: a public client cannot use client_credentials",
        ),
        (
            "secret_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$0000000000000000000000000000000000000000000\"\ngrant_types = [\"client_credentials\"]\nmachine_role = \"engineer\"",
            "clients[0].machine_role: the trust policy of role \"engineer\" has no Allow statement for Principal = { AWS = \"arn:lanyard:iam:::client/app\" } with Action \"sts:AssumeRole\", so this client could never get its credentials",
        ),
        (
            "public = true\ngrant_types = [\"token_exchange\"]\nallowed_roles = [\"engineer\"]",
            "clients[0].grant_types: a public client cannot use token_exchange",
        ),
        (
            "public = true\ngrant_types = [\"password\"]",
            "clients[0].grant_types[0]: unknown grant type \"password\"; use authorization_code, refresh_token, client_credentials, token_exchange or device_code",
        ),
        (
            "public = true\nredirect_uris = [\"https://app.example.com/cb\"]\nintrospect = \"any\"",
            "clients[0].introspect: a public client cannot introspect tokens",
        ),
        (
            "public = true\nredirect_uris = [\"https://app.example.com/cb\"]\nintrospect = \"all\"",
            "clients[0].introspect: unknown value \"all\"; use \"own\" or \"any\"",
        ),
    ];
    for (body, expected) in cases {
        let got = problems(&client(body));
        assert!(
            got.iter().any(|g| g.ends_with(expected)),
            "expected {expected:?}\n got {got:#?}"
        );
    }
}

#[test]
fn upstream_providers_are_checked_with_exact_messages() {
    let with = |provider: &str| format!("{BASE}\n[[providers]]\n{provider}\n");
    let ok = with(
        "id = \"okta\"\nkind = \"oidc\"\nissuer = \"https://example.okta.com\"\nclient_id = \"c\"\nclient_secret = \"s\"",
    );
    let c = parse(&ok).unwrap();
    let ProviderSettings::Oidc(o) = &c.providers[1].settings else {
        panic!("an oidc provider")
    };
    assert_eq!(o.scopes, ["openid", "profile", "email"]);
    assert_eq!(o.clock_skew, Duration::from_secs(60));
    assert!(matches!(o.client_auth, UpstreamClientAuth::SecretBasic(_)));
    assert!(
        !format!("{o:?}").contains("\"s\""),
        "secret redacted in Debug"
    );
    assert_eq!(o.web_identity_audiences, ["c"], "client_id by default");
    assert!(o.browser_sign_in);
    let ci = parse(&with(
        "id = \"ci\"\nkind = \"oidc\"\nissuer = \"https://ci.example\"\nclient_id = \"lanyard\"\n\
         client_auth = \"none\"\nweb_identity_audiences = [\"sts\", \"sts2\"]\nbrowser_sign_in = false",
    ))
    .unwrap();
    let ProviderSettings::Oidc(o) = &ci.providers[1].settings else {
        panic!("an oidc provider")
    };
    assert!(matches!(o.client_auth, UpstreamClientAuth::None));
    assert_eq!(o.web_identity_audiences, ["sts", "sts2"]);
    assert!(!o.browser_sign_in);
    let cases: &[(&str, &str)] = &[
        (
            "id = \"okta\"\nkind = \"oidc\"\nissuer = \"http://idp.example.com\"\nclient_id = \"c\"\nclient_secret = \"s\"",
            "providers[1].issuer: must be an https:// URL (http:// only on a loopback address)",
        ),
        (
            "id = \"okta\"\nkind = \"oidc\"\nissuer = \"https://idp.example.com\"\nclient_id = \"c\"",
            "providers[1].client_secret: is required (as \"${ENV_VAR}\" or client_secret_file), or use client_auth = \"private_key_jwt\" with private_key_file",
        ),
        (
            "id = \"g\"\nkind = \"google\"\nissuer = \"https://x.example\"\nclient_id = \"c\"\nclient_secret = \"s\"",
            "providers[1].issuer: issuer is fixed for kind = \"google\"; remove it",
        ),
        (
            "id = \"okta\"\nkind = \"oidc\"\nissuer = \"https://idp.example.com\"\nclient_id = \"c\"\nclient_secret = \"s\"\nclient_auth = \"basic\"",
            "providers[1].client_auth: unknown method \"basic\": one of client_secret_basic, client_secret_post, private_key_jwt, none",
        ),
        (
            "id = \"ci\"\nkind = \"oidc\"\nissuer = \"https://ci.example\"\nclient_id = \"c\"\nclient_secret = \"s\"\nclient_auth = \"none\"",
            "providers[1].client_auth: is \"none\" (a public client), so client_secret and private_key_file must not be set",
        ),
        (
            "id = \"ci\"\nkind = \"oidc\"\nissuer = \"https://ci.example\"\nclient_id = \"c\"\nclient_auth = \"none\"\nweb_identity_audiences = []",
            "providers[1].web_identity_audiences: must name at least one audience (leave it out to accept client_id)",
        ),
        (
            "id = \"gh\"\nkind = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\nallowed_orgs = [\"x\"]",
            "providers[1].allowed_orgs: unknown field `allowed_orgs`, expected one of",
        ),
        (
            "id = \"m\"\nkind = \"microsoft\"\nclient_id = \"c\"\nclient_secret = \"s\"\nclock_skew = \"10m\"",
            "providers[1].clock_skew: must be at most 5m",
        ),
    ];
    for (provider, expected) in cases {
        let found = problems(&with(provider));
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "expected {expected:?} in {found:#?}"
        );
    }
}

#[test]
fn shutdown_delay_and_metrics_access_are_validated() {
    let c = parse(BASE).unwrap();
    assert_eq!(c.limits.shutdown_delay, Duration::from_secs(5));
    assert_eq!(c.metrics.allow.len(), 2);
    assert!(c.metrics.bearer_token.is_none());
    let zero = parse(&format!("{BASE}\n[limits]\nshutdown_delay = \"0s\"\n")).unwrap();
    assert_eq!(zero.limits.shutdown_delay, Duration::ZERO);
    let p = problems(&format!("{BASE}\n[limits]\nshutdown_delay = \"soon\"\n"));
    assert!(p[0].contains("limits.shutdown_delay"), "{p:?}");
    let m = parse(&format!(
        "{BASE}\n[metrics]\nallow = [\"10.1.2.0/24\"]\nbearer_token = \"t0ken\"\n"
    ))
    .unwrap();
    assert_eq!(
        m.metrics.allow,
        vec!["10.1.2.0/24".parse::<ipnet::IpNet>().unwrap()]
    );
    assert_eq!(m.metrics.bearer_token.unwrap().expose_secret(), "t0ken");
    let one = parse(&format!("{BASE}\n[metrics]\nallow = [\"10.1.2.3\"]\n")).unwrap();
    assert_eq!(
        one.metrics.allow,
        vec!["10.1.2.3/32".parse::<ipnet::IpNet>().unwrap()]
    );
    let p = problems(&format!("{BASE}\n[metrics]\nallow = [\"10.1.2.0/33\"]\n"));
    assert!(
        p[0].contains("metrics.allow[0]") && p[0].contains("is not an address or a network"),
        "{p:?}"
    );
    let p = problems(&format!(
        "{BASE}\n[metrics]\nbearer_token = \"a\"\nbearer_token_file = \"t\"\n"
    ));
    assert!(
        p[0].contains("give either this or bearer_token_file"),
        "{p:?}"
    );
}

#[test]
fn ui_defaults_to_lanyard_and_reads_a_logo_beside_the_config() {
    let c = parse(BASE).unwrap();
    assert_eq!(c.ui, UiConfig::default());
    assert_eq!(c.ui.name, "Lanyard");
    let dir = tempfile::tempdir().unwrap();
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 10 10\"/>";
    std::fs::write(dir.path().join("acme.svg"), svg).unwrap();
    let text = format!(
        "{BASE}\n[ui]\nname = \"  Acme Corp \"\nlogo = \"acme.svg\"\naccent = \"#0B6E4F\"\n"
    );
    let c = Config::from_toml(&text, dir.path(), &no_env).unwrap();
    assert_eq!(c.ui.name, "Acme Corp");
    let logo = c.ui.logo.unwrap();
    assert_eq!(logo.kind, LogoKind::Svg);
    assert_eq!(&*logo.bytes, svg.as_bytes());
    assert_eq!(c.ui.accent, Some(Rgb([0x0b, 0x6e, 0x4f])));
}

/// Every `[ui]` problem at its key and line: a colour not written `#rrggbb`, a logo that is
/// too large, not what its name says, of another type, or missing; a blank name.
#[test]
fn ui_problems_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    write("big.svg", &vec![b' '; 256 * 1024 + 1]);
    write("fake.png", b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    write("fake.svg", b"\x89PNG\r\n\x1a\n....");
    write("logo.gif", b"GIF89a");
    let cases: &[(&str, String)] = &[
        (
            "accent = \"green\"",
            "ui.accent: \"green\" is not a colour written #rrggbb, such as \"#0b6e4f\"".into(),
        ),
        (
            "accent = \"#0b6e4\"",
            "ui.accent: \"#0b6e4\" is not a colour".into(),
        ),
        (
            "logo = \"big.svg\"",
            format!(
                "ui.logo: {}: is 262145 bytes; a logo may be at most 256 KiB",
                dir.path().join("big.svg").display()
            ),
        ),
        (
            "logo = \"fake.png\"",
            format!(
                "ui.logo: {}: is named .png but is not a PNG image",
                dir.path().join("fake.png").display()
            ),
        ),
        (
            "logo = \"fake.svg\"",
            format!(
                "ui.logo: {}: is named .svg but is not an SVG image",
                dir.path().join("fake.svg").display()
            ),
        ),
        (
            "logo = \"logo.gif\"",
            format!(
                "ui.logo: {}: must be an .svg or .png file",
                dir.path().join("logo.gif").display()
            ),
        ),
        (
            "logo = \"missing.png\"",
            format!(
                "ui.logo: cannot read {}",
                dir.path().join("missing.png").display()
            ),
        ),
        ("name = \" \"", "ui.name: must not be empty".into()),
        (
            "colour = \"#000000\"",
            "ui.colour: unknown field `colour`".into(),
        ),
    ];
    for (line, expected) in cases {
        let text = format!("{BASE}\n[ui]\n{line}\n");
        let errors = Config::from_toml(&text, dir.path(), &no_env).unwrap_err();
        assert_eq!(errors.len(), 1, "{line}: {errors:?}");
        let shown = errors[0].to_string();
        let at = text.lines().position(|l| l == *line).unwrap() + 1;
        let expected = format!("line {at}: {expected}");
        assert!(
            shown.starts_with(&expected),
            "{line}:\n  got  {shown}\n  want {expected}"
        );
    }
}

#[test]
fn redis_topologies_are_configured_and_checked() {
    let sentinel = format!(
        "{BASE}\n[sessions]\nstore = \"redis\"\nredis_mode = \"sentinel\"\n\
         sentinels = [\"redis://10.0.0.5:26379\", \"redis://10.0.0.6:26379\"]\n\
         sentinel_master = \"lanyard\"\nredis_password = \"pw\"\n"
    );
    let c = parse(&sentinel).unwrap();
    let StoreKind::RedisSentinel {
        sentinels,
        master,
        password,
    } = &c.sessions.store
    else {
        panic!("expected sentinel")
    };
    assert_eq!(sentinels.len(), 2);
    assert_eq!(master, "lanyard");
    assert_eq!(password.as_ref().unwrap().expose_secret(), "pw");
    assert_eq!(c.sessions.redis_replica_acks, 1, "WAIT by default");
    assert!(!format!("{c:?}").contains("\"pw\""), "no password in Debug");

    let cluster = format!(
        "{BASE}\n[sessions]\nstore = \"redis\"\nredis_mode = \"cluster\"\n\
         cluster_nodes = [\"rediss://a:6379\", \"redis://b:6379\"]\n"
    );
    let c = parse(&cluster).unwrap();
    assert!(
        matches!(&c.sessions.store, StoreKind::RedisCluster { nodes, password: None } if nodes.len() == 2)
    );
    assert_eq!(c.sessions.redis_replica_acks, 0);
    let standalone = format!("{BASE}\n[sessions]\nstore = \"redis\"\nredis_url = \"redis://a\"\n");
    assert_eq!(parse(&standalone).unwrap().sessions.redis_replica_acks, 0);

    let cases = [
        (
            "redis_mode = \"replicated\"\nredis_url = \"redis://a\"",
            "sessions.redis_mode: unknown mode \"replicated\"; use \"standalone\", \"sentinel\" or \"cluster\"",
        ),
        (
            "redis_mode = \"sentinel\"\nsentinels = [\"redis://a:26379\"]",
            "sessions.sentinel_master: is required when redis_mode = \"sentinel\"",
        ),
        (
            "redis_mode = \"sentinel\"\nsentinels = []\nsentinel_master = \"m\"",
            "sessions.sentinels: must list at least one redis:// URL",
        ),
        (
            "redis_mode = \"sentinel\"\nsentinels = [\"http://a\"]\nsentinel_master = \"m\"",
            "sessions.sentinels[0]: must start with redis:// or rediss://",
        ),
        (
            "redis_mode = \"sentinel\"\nsentinels = [\"rediss://a:26379\"]\nsentinel_master = \"m\"",
            "sessions.sentinels[0]: TLS (rediss://) is not supported",
        ),
        (
            "redis_mode = \"sentinel\"\nsentinels = [\"redis://a\"]\nsentinel_master = \"m\"\nredis_url = \"redis://b\"",
            "sessions.redis_url: is only for redis_mode = \"standalone\" (this is \"sentinel\")",
        ),
        (
            "redis_url = \"redis://a\"\ncluster_nodes = [\"redis://b\"]",
            "sessions.cluster_nodes: is only for redis_mode = \"cluster\" (this is \"standalone\")",
        ),
        (
            "redis_url = \"redis://a\"\nredis_password = \"pw\"",
            "sessions.redis_password: is for redis_mode = \"sentinel\" or \"cluster\"",
        ),
        (
            "redis_mode = \"cluster\"\ncluster_nodes = [\"redis://a\"]\nredis_replica_acks = 1",
            "sessions.redis_replica_acks: is not supported with redis_mode = \"cluster\"",
        ),
        (
            "redis_mode = \"cluster\"\ncluster_nodes = [\"redis://a\"]\nkey_prefix = \"{lanyard}:\"",
            "sessions.key_prefix: must not contain { or } with redis_mode = \"cluster\"",
        ),
        (
            "redis_url = \"rediss://a\"\nredis_ca_file = \"does/not/exist.pem\"",
            "sessions.redis_ca_file: cannot read ./does/not/exist.pem",
        ),
    ];
    for (lines, expected) in cases {
        let text = format!("{BASE}\n[sessions]\nstore = \"redis\"\n{lines}\n");
        let got = problems(&text);
        assert!(
            got.iter().any(|g| g.contains(expected)),
            "expected {expected:?}\n got {got:#?}"
        );
    }
    // Redis settings with the memory store are named, not ignored.
    let got = problems(&format!("{BASE}\n[sessions]\nredis_mode = \"cluster\"\n"));
    assert!(
        got.iter()
            .any(|g| g.contains("sessions.redis_mode: is only for store = \"redis\"")),
        "{got:#?}"
    );
}

#[test]
fn a_database_role_gets_check_configs_messages_at_paths_from_the_document() {
    let bad = |max: &str| {
        format!(
            "{BASE}\n[[roles]]\nname = \"bad\"\nmax_session_duration = \"{max}\"\n\
             permission_policies = [\"nope\"]\n\
             trust_policy = {{ Version = \"2012-10-17\", Statement = [{{ Effect = \"Allow\", \
             Principal = {{ Federated = \"corp\" }}, Action = \"sts:AssumeRole\", \
             Condition = {{ StringEqual = {{ \"idp:groups\" = \"x\" }} }} }}] }}\n"
        )
    };
    let from_file = parse(&bad("13h")).unwrap_err();
    let policies = parse(BASE).unwrap().policies;
    let document = serde_json::json!({
        "max_session_duration": "13h",
        "permission_policies": ["nope"],
        "trust_policy": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEqual": {"idp:groups": "x"}}}]}
    });
    let from_db = role_from_document("bad", document, &policies).unwrap_err();
    let strip = |e: &ConfigError| {
        (
            e.path
                .strip_prefix("roles[1].")
                .unwrap_or(&e.path)
                .to_owned(),
            e.message.clone(),
        )
    };
    let mut a: Vec<_> = from_file.iter().map(strip).collect();
    let mut b: Vec<_> = from_db.iter().map(strip).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert_eq!(a.len(), 3, "{a:#?}");
    assert!(
        b.iter()
            .any(|(p, _)| p == "trust_policy.Statement[0].Condition")
    );

    // A policy file path, a name other than the role's, an unknown key: refused, located.
    let path = role_from_document(
        "ok",
        serde_json::json!({"trust_policy": "policies/trust.json"}),
        &policies,
    )
    .unwrap_err();
    assert_eq!(path[0].path, "trust_policy");
    let named = role_from_document("ok", serde_json::json!({"name": "other"}), &policies);
    assert_eq!(named.unwrap_err()[0].path, "name");
    let unknown = role_from_document("ok", serde_json::json!({"trust": {}}), &policies);
    assert!(
        unknown.unwrap_err()[0]
            .message
            .contains("unknown field `trust`")
    );
    let invalid_name = role_from_document("no spaces", serde_json::json!({}), &policies);
    assert_eq!(invalid_name.unwrap_err()[0].path, "name");
}

#[test]
fn new_is_no_name_for_a_database_entity() {
    let public_url = url::Url::parse("https://lanyard.example.com").unwrap();
    let policies = std::collections::BTreeMap::new();
    let role = role_from_document("new", serde_json::json!({}), &policies).unwrap_err();
    assert_eq!(role[0].path, "name");
    assert!(role[0].message.contains("console"), "{}", role[0].message);
    let policy = policy_from_document(
        "new",
        serde_json::json!({"document": {"Version": "2012-10-17", "Statement": []}}),
    )
    .unwrap_err();
    assert_eq!(policy[0].path, "name");
    let provider = provider_from_document(
        "new",
        serde_json::json!({"kind": "github", "client_id": "x", "client_secret": "y"}),
        &public_url,
    )
    .unwrap_err();
    assert_eq!(provider[0].path, "id");
    let client = client_from_document(
        "new",
        serde_json::json!({}),
        &[],
        &[],
        std::time::Duration::from_secs(3600),
    )
    .unwrap_err();
    assert_eq!(client[0].path, "id");
}

#[test]
fn record_claims_is_off_by_default_reloadable_keys_are_bounded() {
    let c = parse(BASE).unwrap();
    assert!(!c.admin.enabled);
    assert_eq!(c.admin.days, 7);
    let c = parse(&format!(
        "{BASE}\n[admin]\nrecord_claims = true\nrecord_claims_days = 3\n"
    ))
    .unwrap();
    assert!(c.admin.enabled);
    assert_eq!(c.admin.days, 3);
    let errors = problems(&format!("{BASE}\n[admin]\nrecord_claims_days = 0\n"));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("admin.record_claims_days") && e.contains("between 1 and 366")),
        "{errors:?}"
    );
    let errors = problems(&format!("{BASE}\n[admin]\nrecord_claim = true\n"));
    assert!(errors.iter().any(|e| e.contains("admin")), "{errors:?}");
}

/// The problems of `errors` with `prefix` taken off their paths, sorted.
fn located(errors: &[ConfigError], prefix: &str) -> Vec<(String, String)> {
    let mut out: Vec<_> = errors
        .iter()
        .map(|e| {
            let path = e.path.strip_prefix(prefix).unwrap_or(&e.path).to_owned();
            (path, e.message.clone())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_database_provider_gets_check_configs_messages_at_paths_from_the_document() {
    let from_file = parse(&format!(
        "{BASE}\n[[providers]]\nid = \"okta\"\nkind = \"oidc\"\nissuer = \"ftp://okta.example\"\n\
         client_secret = \"s\"\nscopes = [\"openid\", \"bad scope\"]\nclock_skew = \"10m\"\n\
         claims = {{ username = \"u\" }}\n"
    ))
    .unwrap_err();
    let public_url = url::Url::parse("http://127.0.0.1:8080").unwrap();
    let document = serde_json::json!({
        "kind": "oidc", "issuer": "ftp://okta.example", "client_secret": "s",
        "scopes": ["openid", "bad scope"], "clock_skew": "10m", "claims": {"username": "u"},
        "display_name": null,
    });
    let from_db = provider_from_document("okta", document, &public_url).unwrap_err();
    let a = located(&from_file, "providers[1].");
    assert_eq!(a, located(&from_db, ""));
    let paths: Vec<&str> = a.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        ["client_id", "clock_skew", "issuer", "scopes[1]"],
        "{a:#?}"
    );

    // A valid one converts as the file's would.
    let ok = serde_json::json!({"kind": "github", "client_id": "x", "client_secret": "y"});
    let github = provider_from_document("gh", ok, &public_url).unwrap();
    assert_eq!(
        (github.id.as_str(), github.kind()),
        ("gh", ProviderKind::Github)
    );

    // What the database may not hold, each refused at its path.
    let refused = |document: serde_json::Value| {
        provider_from_document("x", document, &public_url).unwrap_err()[0]
            .path
            .clone()
    };
    assert_eq!(refused(serde_json::json!({"kind": "local"})), "kind");
    assert_eq!(
        refused(
            serde_json::json!({"kind": "github", "client_id": "x", "client_secret_file": "/etc/shadow"})
        ),
        "client_secret_file"
    );
    assert_eq!(
        refused(
            serde_json::json!({"kind": "github", "client_id": "x", "client_secret": "${HOME}"})
        ),
        "client_secret"
    );
    assert_eq!(
        refused(serde_json::json!({"id": "y", "kind": "github"})),
        "id"
    );
    // A SAML certificate that is not PEM text would be read as a path on the server.
    assert_eq!(
        refused(
            serde_json::json!({"kind": "saml", "idp_entity_id": "https://idp",
            "sso_url": "https://idp/sso", "certificates": ["/etc/hostname"]})
        ),
        "certificates[0]"
    );
    assert_eq!(refused(serde_json::json!(["kind"])), "");
    assert_eq!(
        refused(serde_json::json!({"kind": "github", "scopes": [null]})),
        "scopes[0]"
    );
}

#[test]
fn a_database_policy_gets_check_configs_messages_at_paths_from_the_document() {
    let from_file = parse(&format!(
        "{BASE}\n[[policies]]\nname = \"p\"\ndocument = {{ Version = \"2012-10-17\", Statement = [\
         {{ Effect = \"Alow\", Action = \"s3:Get*\", Resource = \"*\" }}] }}\n"
    ))
    .unwrap_err();
    let document = serde_json::json!({"document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Alow", "Action": "s3:Get*", "Resource": "*"}]}});
    let from_db = policy_from_document("p", document).unwrap_err();
    let a = located(&from_file, "policies[0].");
    assert_eq!(a, located(&from_db, ""));
    assert_eq!(a[0].0, "document.Statement[0].Effect", "{a:#?}");

    let ok = serde_json::json!({"document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}});
    assert_eq!(policy_from_document("p", ok).unwrap().statement_count(), 1);
    let refused = |name: &str, document: serde_json::Value| {
        policy_from_document(name, document).unwrap_err()[0]
            .path
            .clone()
    };
    assert_eq!(
        refused("p", serde_json::json!({"document_file": "p.json"})),
        "document_file"
    );
    assert_eq!(refused("p", serde_json::json!({})), "");
    assert_eq!(
        refused("no spaces", serde_json::json!({"document": {}})),
        "name"
    );
    assert_eq!(
        refused("p", serde_json::json!({"name": "q", "document": {}})),
        "name"
    );
}

#[test]
fn a_policy_may_have_a_description_of_at_most_1000_characters() {
    let document = |description: String| {
        serde_json::json!({"description": description, "document": {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}})
    };
    assert!(policy_from_document("p", document("Read the buckets".into())).is_ok());
    let long = policy_from_document("p", document("x".repeat(1001))).unwrap_err();
    assert_eq!(long[0].path, "description", "{long:#?}");
    assert!(
        parse(&format!(
            "{BASE}\n[[policies]]\nname = \"p\"\ndescription = \"Read the buckets\"\n\
         document = {{ Version = \"2012-10-17\", Statement = [\
         {{ Effect = \"Allow\", Action = \"s3:Get*\", Resource = \"*\" }}] }}\n"
        ))
        .is_ok()
    );
}

/// A role that needs approval, with `extra` lines in its `[roles.approval]`.
fn approval_role(extra: &str) -> String {
    format!(
        r#"{BASE}
[[roles]]
name = "prod-admin"
max_session_duration = "2h"
trust_policy = {{ Version = "2012-10-17", Statement = [
  {{ Effect = "Allow", Principal = {{ Federated = "corp" }}, Action = "sts:AssumeRole" }},
] }}
[roles.approval]
{extra}
"#
    )
}

const APPROVERS: &str = r#"approvers = { Version = "2012-10-17", Statement = [
  { Effect = "Allow", Principal = { Federated = "corp" }, Action = "lanyard:ApproveAccessRequest",
    Condition = { "ForAnyValue:StringEquals" = { "idp:groups" = "sre-leads" } } },
] }"#;

#[test]
fn a_role_that_needs_approval_reads_its_rule_with_defaults() {
    let c = parse(&approval_role(&format!(
        "{APPROVERS}\napprovals = 2\nmax_duration = \"30m\"\nticket_pattern = \"OPS-[0-9]+\""
    )))
    .unwrap();
    let rule = c.roles[1].approval.as_ref().unwrap();
    assert_eq!(rule.approvals, 2);
    assert_eq!(rule.max_duration, Duration::from_secs(1800));
    assert!(rule.require_reason);
    assert_eq!(rule.decision_window, Duration::from_secs(24 * 3600));
    assert!(!rule.break_glass);
    let pattern = rule.ticket_pattern.as_ref().unwrap();
    assert!(pattern.matches("OPS-12"));
    assert!(!pattern.matches("OPS-12 and more"));
    assert!(c.roles[0].approval.is_none());
    // Break-glass alone needs no approvers.
    let c = parse(&approval_role("break_glass = true")).unwrap();
    assert!(c.roles[1].approval.as_ref().unwrap().approvers.is_none());
}

#[test]
fn a_bad_approval_rule_is_refused_with_its_path() {
    let cases = [
        ("approvals = 1", "roles[1].approval.approvers: is required"),
        (
            &format!("{APPROVERS}\napprovals = 0") as &str,
            "roles[1].approval.approvals: must be between 1 and 5, not 0",
        ),
        (
            &format!("{APPROVERS}\nmax_duration = \"3h\""),
            "roles[1].approval.max_duration: must not be longer than the role's \
             max_session_duration (7200 seconds)",
        ),
        (
            &format!("{APPROVERS}\ndecision_window = \"30d\""),
            "roles[1].approval.decision_window: must be between 5m and 7d",
        ),
        (
            &format!("{APPROVERS}\nticket_pattern = \"OPS-[\""),
            "roles[1].approval.ticket_pattern: is not a regular expression",
        ),
        (
            &format!("{APPROVERS}\napprovers_typo = 1"),
            "roles[1].approval.approvers_typo: unknown field `approvers_typo`",
        ),
    ];
    for (extra, expected) in cases {
        let found = problems(&approval_role(extra));
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{extra}: {found:?}"
        );
    }
}

#[test]
fn access_request_webhooks_are_read_and_a_json_one_needs_a_secret() {
    let env = |name: &str| (name == "HOOK_SECRET").then(|| "s3cret".to_owned());
    let text = format!(
        "{BASE}\n[access_requests]\nwebhooks = [\n  \
         {{ url = \"https://hooks.example.com/lanyard\", secret = \"${{HOOK_SECRET}}\" }},\n  \
         {{ url = \"https://chat.example.com/T0/B0/x\", format = \"chat\" }},\n]\n"
    );
    let c = Config::from_toml(&text, Path::new("."), &env).unwrap();
    assert_eq!(c.access_webhooks.len(), 2);
    assert_eq!(
        c.access_webhooks[0].format,
        crate::elevation::WebhookFormat::Json
    );
    assert_eq!(
        c.access_webhooks[0]
            .secret
            .as_ref()
            .map(|s| s.expose_secret()),
        Some("s3cret")
    );
    // The chat URL is its secret: not in Debug.
    assert!(!format!("{:?}", c.access_webhooks[1]).contains("T0/B0"));
    let found = problems(&format!(
        "{BASE}\n[access_requests]\nwebhooks = [{{ url = \"https://h.example.com/\" }}, \
         {{ url = \"ftp://h.example.com/\", format = \"xml\", secret = \"x\" }}]\n"
    ));
    for expected in [
        "access_requests.webhooks[0].secret: is required for a JSON webhook",
        "access_requests.webhooks[1].url: must be an http(s) URL",
        "access_requests.webhooks[1].format: must be \"json\" or \"chat\"",
    ] {
        assert!(found.iter().any(|p| p.contains(expected)), "{found:?}");
    }
}
