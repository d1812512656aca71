//! Sign-in against a real OpenLDAP (see `slapd.rs`): groups to roles, wrong, empty and
//! unknown credentials, LDAP injection in the username, `memberOf`, StartTLS with a test
//! CA, and a directory that goes away and comes back.

use std::path::Path;

use crate::harness::{Lanyard, T0, browser, csrf_of, memory_store, start_with};
use crate::slapd::{BASE, SERVICE_DN, SERVICE_PW, Slapd};
use lanyard::clock::UnixTime;

const INCORRECT: &str = "The username or password is incorrect.";
const UNREACHABLE: &str = "The directory cannot be reached right now.";

/// How Lanyard reaches the test directory.
pub(crate) enum Transport<'a> {
    Plain,
    StartTls { ca_file: &'a Path },
    Ldaps { ca_file: &'a Path },
}

/// Groups by search (`member={dn}`) or from the entry's `memberOf`.
pub(crate) enum Groups {
    Search,
    MemberOf,
}

pub(crate) fn config(
    slapd: &Slapd,
    transport: Transport<'_>,
    groups: Groups,
    keys: &Path,
) -> String {
    let (url, transport) = match transport {
        Transport::Plain => (slapd.url(), "insecure_no_tls = true".to_owned()),
        Transport::StartTls { ca_file } => {
            (slapd.url(), format!("ca_file = \"{}\"", ca_file.display()))
        }
        Transport::Ldaps { ca_file } => (
            slapd.ldaps_url(),
            format!("ca_file = \"{}\"", ca_file.display()),
        ),
    };
    let (groups_attribute, group_search) = match groups {
        Groups::Search => (
            String::new(),
            format!(
                "[providers.group_search]\nbase_dn = \"ou=groups,{BASE}\"\n\
                 filter = \"(&(objectClass=groupOfNames)(member={{dn}}))\"\n"
            ),
        ),
        Groups::MemberOf => (
            "groups_attribute = \"memberOf\"\n".to_owned(),
            String::new(),
        ),
    };
    let trust = |group: &str| {
        format!(
            "trust_policy = {{ Version = \"2012-10-17\", Statement = [{{ Effect = \"Allow\", \
             Principal = {{ Federated = \"dir\" }}, Action = \"sts:AssumeRoleWithLDAPIdentity\", \
             Condition = {{ \"ForAnyValue:StringEquals\" = {{ \"idp:groups\" = [\"{group}\"] }} }} }}] }}\n"
        )
    };
    format!(
        "[server]\nbind = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n\
         [sessions]\nstore = \"memory\"\n\
         [tokens]\nalgorithm = \"ES256\"\nkeys_dir = \"{keys}\"\n\
         [[providers]]\nid = \"dir\"\nkind = \"ldap\"\ndisplay_name = \"Test directory\"\n\
         url = \"{url}\"\n{transport}\n\
         bind_dn = \"{SERVICE_DN}\"\nbind_password = \"{SERVICE_PW}\"\n\
         connect_timeout = \"2s\"\ntimeout = \"2s\"\npool_size = 2\n\
         [providers.user_search]\nbase_dn = \"ou=people,{BASE}\"\n\
         filter = \"(&(objectClass=inetOrgPerson)(uid={{username}}))\"\n{groups_attribute}\
         {group_search}\
         [providers.principal_tags]\ndepartment = \"departmentNumber\"\n\
         [[roles]]\nname = \"engineer\"\n{}\
         [[roles]]\nname = \"admin\"\n{}\
         [[roles]]\nname = \"analyst\"\n{}",
        trust("engineering"),
        trust("admins"),
        trust("finance"),
        keys = keys.display(),
    )
}

pub(crate) async fn lanyard(text: &str) -> Lanyard {
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    start_with(text, memory_store(&clock), clock).await
}

/// Posts the password form of provider `dir`; returns status and body.
pub(crate) async fn sign_in(
    l: &Lanyard,
    b: &reqwest::Client,
    user: &str,
    password: &str,
) -> (u16, String) {
    let form = b.get(l.at("/auth/dir")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(!html.contains("name=\"otp\""), "no code field for LDAP");
    let r = b
        .post(l.at("/auth/dir"))
        .form(&[
            ("username", user),
            ("password", password),
            ("csrf", &csrf_of(&html)),
        ])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// Signs in (must succeed) and returns the role page's status and body.
async fn roles_of(l: &Lanyard, user: &str) -> (u16, String, reqwest::Client) {
    let b = browser();
    let (status, body) = sign_in(l, &b, user, &format!("{user}-pw")).await;
    assert_eq!(status, 303, "{user}: {body}");
    let r = b.get(l.at("/roles")).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = r.text().await.unwrap();
    (status, location.unwrap_or(body), b)
}

#[tokio::test]
async fn users_in_different_groups_get_different_roles() {
    eprintln!("testing against {}", crate::slapd::version());
    let slapd = Slapd::start(false).await;
    let keys = tempfile::tempdir().unwrap();
    let l = lanyard(&config(
        &slapd,
        Transport::Plain,
        Groups::Search,
        keys.path(),
    ))
    .await;
    // alice: engineering + admins → two roles on the picker.
    let (status, html, _) = roles_of(&l, "alice").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("value=\"engineer\"") && html.contains("value=\"admin\""));
    assert!(!html.contains("value=\"analyst\""));
    assert!(html.contains("Alice Example"), "display name from cn");
    // bob: engineering only → straight to credentials, for engineer.
    let (status, location, b) = roles_of(&l, "bob").await;
    assert_eq!((status, location.as_str()), (303, "/credentials"));
    let (token, page) = l.credentials(&b).await;
    assert!(page.contains("<code>engineer</code>"));
    let claims = decode_claims(&token);
    assert_eq!(claims["sub"], format!("dir:uid=bob,ou=people,{BASE}"));
    assert_eq!(claims["groups"], serde_json::json!(["engineering"]));
    assert_eq!(claims["tags"]["department"], "payments");
    // carol: finance → analyst.
    let (status, location, b) = roles_of(&l, "carol").await;
    assert_eq!((status, location.as_str()), (303, "/credentials"));
    assert!(l.credentials(&b).await.1.contains("<code>analyst</code>"));
}

/// The payload of a JWT, without verification (the flow tests verify signatures).
fn decode_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn groups_from_member_of_give_the_same_roles() {
    let slapd = Slapd::start(false).await;
    let keys = tempfile::tempdir().unwrap();
    let l = lanyard(&config(
        &slapd,
        Transport::Plain,
        Groups::MemberOf,
        keys.path(),
    ))
    .await;
    let (status, html, _) = roles_of(&l, "alice").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("value=\"engineer\"") && html.contains("value=\"admin\""));
    let (status, location, _) = roles_of(&l, "carol").await;
    assert_eq!((status, location.as_str()), (303, "/credentials"));
}

#[tokio::test]
async fn wrong_empty_and_unknown_credentials_get_one_answer() {
    let slapd = Slapd::start(false).await;
    let keys = tempfile::tempdir().unwrap();
    let l = lanyard(&config(
        &slapd,
        Transport::Plain,
        Groups::Search,
        keys.path(),
    ))
    .await;
    let b = browser();
    for (user, password) in [
        ("alice", "wrong"),
        ("alice", ""),
        ("nobody", "whatever"),
        // An entry without a password: the bind fails like a wrong password.
        ("dave", "anything"),
        ("", "alice-pw"),
    ] {
        let (status, body) = sign_in(&l, &b, user, password).await;
        assert_eq!(status, 401, "{user:?}/{password:?}");
        assert!(body.contains(INCORRECT), "{user:?}");
    }
    // Nothing was signed in, and the directory still works for alice.
    assert_eq!(b.get(l.at("/roles")).send().await.unwrap().status(), 303);
    let (status, _) = sign_in(&l, &b, "alice", "alice-pw").await;
    assert_eq!(status, 303);
}

#[tokio::test]
async fn ldap_injection_in_the_username_matches_nothing() {
    let slapd = Slapd::start(false).await;
    let keys = tempfile::tempdir().unwrap();
    let l = lanyard(&config(
        &slapd,
        Transport::Plain,
        Groups::Search,
        keys.path(),
    ))
    .await;
    let b = browser();
    // Each of these, put into the filter unescaped, would find alice (or everyone), and
    // her password would then sign in.
    for user in [
        "*",
        "al*",
        "a*e",
        ")(uid=*",
        "alice)(|(uid=*",
        "*)(uid=alice",
        "alice\0",
        "\0",
    ] {
        let (status, body) = sign_in(&l, &b, user, "alice-pw").await;
        assert_eq!(status, 401, "{user:?}");
        assert!(body.contains(INCORRECT));
    }
    assert_eq!(sign_in(&l, &b, "alice", "alice-pw").await.0, 303);
}

#[tokio::test]
async fn starttls_and_ldaps_with_a_test_ca() {
    let slapd = Slapd::start(true).await;
    let keys = tempfile::tempdir().unwrap();
    let ca = slapd.tls.as_ref().unwrap().ca_file.clone();
    // slapd requires TLS (security tls=1): a sign-in proves StartTLS happened.
    let l = lanyard(&config(
        &slapd,
        Transport::StartTls { ca_file: &ca },
        Groups::Search,
        keys.path(),
    ))
    .await;
    let (status, html, _) = roles_of(&l, "alice").await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(sign_in(&l, &browser(), "alice", "nope").await.0, 401);
    // The same directory over ldaps:// (TLS from the first byte).
    let keys_ldaps = tempfile::tempdir().unwrap();
    let l_ldaps = lanyard(&config(
        &slapd,
        Transport::Ldaps { ca_file: &ca },
        Groups::Search,
        keys_ldaps.path(),
    ))
    .await;
    let (status, location, _) = roles_of(&l_ldaps, "carol").await;
    assert_eq!((status, location.as_str()), (303, "/credentials"));
    // A client trusting another CA refuses the server: the directory is "unreachable".
    let other = unrelated(&keys);
    let keys2 = tempfile::tempdir().unwrap();
    let l2 = lanyard(&config(
        &slapd,
        Transport::StartTls { ca_file: &other },
        Groups::Search,
        keys2.path(),
    ))
    .await;
    let (status, body) = sign_in(&l2, &browser(), "alice", "alice-pw").await;
    assert_eq!(status, 503);
    assert!(body.contains(UNREACHABLE));
    // And a clear-text client is refused by the server itself.
    let keys3 = tempfile::tempdir().unwrap();
    let l3 = lanyard(&config(
        &slapd,
        Transport::Plain,
        Groups::Search,
        keys3.path(),
    ))
    .await;
    assert_eq!(sign_in(&l3, &browser(), "alice", "alice-pw").await.0, 503);
}

fn unrelated(dir: &tempfile::TempDir) -> std::path::PathBuf {
    crate::slapd::unrelated_ca(dir.path())
}

#[tokio::test]
async fn directory_down_gives_a_clear_page_and_the_pool_recovers() {
    let mut slapd = Slapd::start(false).await;
    let keys = tempfile::tempdir().unwrap();
    let l = lanyard(&config(
        &slapd,
        Transport::Plain,
        Groups::Search,
        keys.path(),
    ))
    .await;
    let b = browser();
    assert_eq!(sign_in(&l, &b, "alice", "alice-pw").await.0, 303);
    slapd.stop();
    let (status, body) = sign_in(&l, &browser(), "alice", "alice-pw").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(UNREACHABLE) && body.contains("name=\"password\""));
    slapd.resume().await;
    let (status, body) = sign_in(&l, &browser(), "bob", "bob-pw").await;
    assert_eq!(status, 303, "{body}");
    // The pooled connection from before the outage is gone; new ones work.
    assert_eq!(sign_in(&l, &browser(), "alice", "alice-pw").await.0, 303);
}

#[tokio::test]
async fn a_hanging_directory_times_out_with_a_clear_page() {
    let slapd = Slapd::start(false).await;
    let keys = tempfile::tempdir().unwrap();
    let text = config(&slapd, Transport::Plain, Groups::Search, keys.path())
        .replace("timeout = \"2s\"", "timeout = \"1s\"");
    let l = lanyard(&text).await;
    assert_eq!(sign_in(&l, &browser(), "alice", "alice-pw").await.0, 303);
    slapd.freeze(true);
    let started = std::time::Instant::now();
    let (status, body) = sign_in(&l, &browser(), "alice", "alice-pw").await;
    let took = started.elapsed();
    slapd.freeze(false);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(UNREACHABLE));
    assert!(took < std::time::Duration::from_secs(8), "{took:?}");
    assert_eq!(sign_in(&l, &browser(), "alice", "alice-pw").await.0, 303);
}

#[tokio::test]
async fn repeated_failures_lock_an_ldap_account_with_the_same_answer() {
    let slapd = Slapd::start(false).await;
    let keys = tempfile::tempdir().unwrap();
    let text = config(&slapd, Transport::Plain, Groups::Search, keys.path())
        + "\n[sign_in]\nmax_account_failures = 3\nlockout = \"1m\"\n";
    let l = lanyard(&text).await;
    let b = browser();
    for _ in 0..3 {
        assert_eq!(sign_in(&l, &b, "bob", "guess").await.0, 401);
    }
    // Locked: the right password gets the same answer as a wrong one.
    let (status, body) = sign_in(&l, &b, "bob", "bob-pw").await;
    assert_eq!(status, 401);
    assert!(body.contains(INCORRECT));
    // Other accounts are not affected.
    assert_eq!(sign_in(&l, &b, "alice", "alice-pw").await.0, 303);
    // After the lock, bob is back.
    l.clock.advance(std::time::Duration::from_secs(61));
    assert_eq!(sign_in(&l, &browser(), "bob", "bob-pw").await.0, 303);
}

/// The time of one password-form POST (the form itself is fetched first, untimed).
async fn timed_sign_in(
    l: &Lanyard,
    b: &reqwest::Client,
    user: &str,
    password: &str,
) -> std::time::Duration {
    let form = b.get(l.at("/auth/dir")).send().await.unwrap();
    let csrf = csrf_of(&form.text().await.unwrap());
    let started = std::time::Instant::now();
    let r = b
        .post(l.at("/auth/dir"))
        .form(&[("username", user), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(r.status(), 401, "{user}");
    took
}

/// The fastest of `samples`: the cost of the path itself. A busy machine only ever adds
/// time to a sample (another process, a build, the test runner), so the minimum is the
/// estimate such noise leaves alone, where a median of a few samples can be pushed by it;
/// a path that does less work (no bind for an unknown user) still shows as faster.
fn fastest(samples: &[std::time::Duration]) -> std::time::Duration {
    samples.iter().copied().min().unwrap_or_default()
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_take_as_long_from_the_first_request() {
    let slapd = Slapd::start(false).await;
    let keys = tempfile::tempdir().unwrap();
    let text = format!(
        "{}[sign_in]\nmax_account_failures = 100\nmax_ip_failures = 1000\n",
        config(&slapd, Transport::Plain, Groups::Search, keys.path())
    );
    let l = lanyard(&text).await;
    let b = browser();
    // Right after start, unknown users and wrong passwords in turn, unknown first.
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for i in 0..9 {
        unknown.push(timed_sign_in(&l, &b, &format!("nobody{i}"), "whatever").await);
        wrong.push(timed_sign_in(&l, &b, "alice", "wrong").await);
    }
    let (unknown, wrong) = (fastest(&unknown), fastest(&wrong));
    let gap = unknown.abs_diff(wrong);
    assert!(
        gap < std::time::Duration::from_millis(4),
        "unknown user {unknown:?} vs wrong password {wrong:?} (fastest of 9 each)"
    );
}
