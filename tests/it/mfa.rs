//! TOTP for local users: enrolment with the CLI, sign-in with a code, wrong, missing and
//! reused codes, the clock-skew window, and roles that require MFA.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lanyard::clock::UnixTime;
use lanyard::connectors::totp::Totp;
use lanyard::secret::Secret;

use crate::harness::{Lanyard, T0, browser, cheap_hash, csrf_of, memory_store, start_with};

const INCORRECT: &str = "The username or password is incorrect.";

/// `root` has TOTP (secret file) and is in `admins`; `dave` is in `admins` without TOTP.
/// Role `breakglass` needs MFA; role `viewer` does not.
fn config(secret_file: &Path, keys: &Path) -> String {
    let mfa = "\"Bool\" = { \"aws:MultiFactorAuthPresent\" = \"true\" }, ";
    let role = |name: &str, extra: &str| {
        format!(
            "[[roles]]\nname = \"{name}\"\ntrust_policy = {{ Version = \"2012-10-17\", Statement = [{{ \
             Effect = \"Allow\", Principal = {{ Federated = \"corp\" }}, Action = \"sts:AssumeRole\", \
             Condition = {{ {extra}\"ForAnyValue:StringEquals\" = {{ \"idp:groups\" = [\"admins\"] }} }} }}] }}\n"
        )
    };
    format!(
        "[server]\nbind = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n\
         [sessions]\nstore = \"memory\"\n\
         [tokens]\nalgorithm = \"ES256\"\nkeys_dir = \"{keys}\"\n\
         [[providers]]\nid = \"corp\"\nkind = \"local\"\n\
         [[providers.users]]\nusername = \"root\"\npassword_hash = \"{root}\"\n\
         groups = [\"admins\"]\ntotp_secret_file = \"{secret}\"\n\
         [[providers.users]]\nusername = \"dave\"\npassword_hash = \"{dave}\"\ngroups = [\"admins\"]\n\
         {}{}",
        role("breakglass", mfa),
        role("viewer", ""),
        keys = keys.display(),
        secret = secret_file.display(),
        root = cheap_hash("root-pw"),
        dave = cheap_hash("dave-pw"),
    )
}

/// `lanyard totp enroll root --secret-file FILE`, as an admin would run it.
fn enroll(dir: &Path) -> (std::path::PathBuf, Totp) {
    let file = dir.join("root.totp");
    let out = Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .args([
            "totp",
            "enroll",
            "root",
            "--issuer",
            "Lanyard test",
            "--secret-file",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("otpauth://totp/Lanyard%20test:root?secret="),
        "{stdout}"
    );
    assert!(
        stdout.contains('█') || stdout.contains('▀'),
        "a QR code is drawn"
    );
    assert!(stdout.contains(&format!("totp_secret_file = \"{}\"", file.display())));
    let secret = std::fs::read_to_string(&file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "secret file is private");
    }
    let totp = Totp::from_base32(&Secret::new(secret.trim())).unwrap();
    (file, totp)
}

async fn sign_in(l: &Lanyard, b: &reqwest::Client, user: &str, otp: Option<&str>) -> (u16, String) {
    let form = b.get(l.at("/auth/corp")).send().await.unwrap();
    let html = form.text().await.unwrap();
    assert!(html.contains("name=\"otp\""), "the form asks for a code");
    let csrf = csrf_of(&html);
    let password = format!("{user}-pw");
    let mut fields = vec![("username", user), ("password", &password), ("csrf", &csrf)];
    if let Some(otp) = otp {
        fields.push(("otp", otp));
    }
    let r = b
        .post(l.at("/auth/corp"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

async fn setup() -> (Lanyard, Totp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (file, totp) = enroll(dir.path());
    let keys = dir.path().join("keys");
    let clock = lanyard::clock::ManualClock::new(UnixTime::from_secs(T0));
    let l = start_with(&config(&file, &keys), memory_store(&clock), clock).await;
    (l, totp, dir)
}

#[tokio::test]
async fn enrolled_user_signs_in_with_a_code_and_gets_mfa_roles() {
    let (l, totp, _dir) = setup().await;
    let b = browser();
    let (status, body) =
        sign_in(&l, &b, "root", Some(&totp.code_at(UnixTime::from_secs(T0)))).await;
    assert_eq!(status, 303, "{body}");
    let r = b.get(l.at("/roles")).send().await.unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("value=\"breakglass\"") && html.contains("value=\"viewer\""));
    assert!(!html.contains("multi-factor"));
    let r = l.choose(&b, &html, "breakglass", 900).await;
    assert_eq!(r.status(), 303);
    let (token, _) = l.credentials(&b).await;
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp"]));
}

#[tokio::test]
async fn wrong_missing_and_reused_codes_are_refused_alike() {
    let (l, totp, _dir) = setup().await;
    let good = totp.code_at(UnixTime::from_secs(T0));
    let wrong = if good == "000000" { "111111" } else { "000000" };
    for otp in [None, Some(wrong), Some("12345"), Some("abcdef")] {
        let (status, body) = sign_in(&l, &browser(), "root", otp).await;
        assert_eq!(status, 401, "{otp:?}");
        assert!(body.contains(INCORRECT));
    }
    assert_eq!(sign_in(&l, &browser(), "root", Some(&good)).await.0, 303);
    // The same code again, within its window: refused, with the same message.
    let (status, body) = sign_in(&l, &browser(), "root", Some(&good)).await;
    assert_eq!(status, 401);
    assert!(body.contains(INCORRECT));
    // Later, still inside the skew window of that step: still refused.
    l.clock.advance(Duration::from_secs(20));
    assert_eq!(sign_in(&l, &browser(), "root", Some(&good)).await.0, 401);
}

#[tokio::test]
async fn one_step_of_clock_skew_is_accepted_either_way() {
    let (l, totp, _dir) = setup().await;
    let now = UnixTime::from_secs(T0 + 600);
    let step = std::time::Duration::from_secs(30);
    l.clock.set(now);
    // The authenticator's clock 30 s behind, then 30 s ahead: both fine (distinct steps).
    assert_eq!(
        sign_in(&l, &browser(), "root", Some(&totp.code_at(now - step)))
            .await
            .0,
        303
    );
    assert_eq!(
        sign_in(&l, &browser(), "root", Some(&totp.code_at(now + step)))
            .await
            .0,
        303
    );
    // Two steps off: refused.
    assert_eq!(
        sign_in(&l, &browser(), "root", Some(&totp.code_at(now - 2 * step)))
            .await
            .0,
        401
    );
    assert_eq!(
        sign_in(&l, &browser(), "root", Some(&totp.code_at(now + 2 * step)))
            .await
            .0,
        401
    );
    assert_eq!(
        sign_in(&l, &browser(), "root", Some(&totp.code_at(now)))
            .await
            .0,
        303
    );
}

/// Since step-up (issue 17, `step_up.rs`), such roles are offered, marked; choosing one
/// asks for a second factor, which a user without TOTP cannot give: a page says so.
#[tokio::test]
async fn a_user_without_mfa_is_told_which_roles_need_it() {
    let (l, _totp, _dir) = setup().await;
    let b = browser();
    // dave has no TOTP: an otp field value is ignored, the password suffices.
    let (status, body) = sign_in(&l, &b, "dave", Some("123456")).await;
    assert_eq!(status, 303, "{body}");
    let r = b.get(l.at("/roles")).send().await.unwrap();
    // viewer is the only role he may take now; breakglass is offered, marked.
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("value=\"viewer\""));
    assert!(html.contains("value=\"breakglass\""));
    assert!(
        html.contains("Needs a second factor: you will be asked to sign in again."),
        "{html}"
    );
    // Choosing breakglass: dave has no second factor to give, and is told so.
    let r = l.choose(&b, &html, "breakglass", 900).await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("cannot ask you for a second factor"),
        "{page}"
    );
}
