//! `lanyard login`, `credentials`, `exec`, `roles` and `logout`: the real binary against a
//! Lanyard on a loopback port, the browser half in headless Chromium (`chromium.rs`); and
//! `GET /v1/roles` and loopback redirect URIs with any port (RFC 8252 §7.3) over HTTP.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use lanyard::clock::{ManualClock, UnixTime};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::chromium::Page;
use crate::harness::{Lanyard, T0, browser, config_text, memory_store, start_public};
use crate::oidc_provider::{authorize_url, location, pkce, query, run_authorize, token};

/// The command line's client as the README registers it, and a narrower public client.
const CLIENTS: &str = r#"
[[clients]]
id = "lanyard-cli"
name = "Lanyard command line"
public = true
grant_types = ["device_code", "authorization_code", "refresh_token"]
redirect_uris = ["http://127.0.0.1/callback"]
allowed_roles = ["engineer", "admin", "auditor"]

[[clients]]
id = "narrow"
public = true
redirect_uris = ["http://127.0.0.1/callback"]
allowed_roles = ["auditor"]
"#;

/// Lanyard on its real loopback URL (the command line checks the issuer it discovers).
async fn lanyard() -> Lanyard {
    let keys = tempfile::tempdir().unwrap();
    let mut text = config_text("[sessions]\nstore = \"memory\"\n", keys.path());
    text.push_str(CLIENTS);
    let clock = ManualClock::new(UnixTime::from_secs(T0));
    let mut l = start_public(&text, memory_store(&clock), clock).await;
    l.keep(keys);
    l
}

/// The command line of one person: a credentials file of its own in a fresh directory.
struct Cli {
    _dir: tempfile::TempDir,
    file: PathBuf,
}

impl Cli {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config/lanyard/credentials.json");
        Self { _dir: dir, file }
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_lanyard"));
        c.args(args)
            .env("LANYARD_CREDENTIALS_FILE", &self.file)
            .env_remove("LANYARD_URL")
            .env_remove("BROWSER")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    /// Runs `lanyard args…` to its end.
    async fn run(&self, args: &[&str]) -> Output {
        tokio::time::timeout(Duration::from_secs(60), self.command(args).output())
            .await
            .expect("the command ended within 60 s")
            .unwrap()
    }

    /// Runs `lanyard args…` on a terminal (a pseudo-terminal from util-linux's `script`),
    /// typing each answer once the screen shows its prompt; everything the terminal showed
    /// until the command ended, or, with `stop_at`, until the screen shows that (the
    /// command is then stopped).
    async fn on_terminal(
        &self,
        args: &[&str],
        answers: &[(&str, &str)],
        stop_at: Option<&str>,
    ) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let command = std::iter::once(env!("CARGO_BIN_EXE_lanyard"))
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = tokio::process::Command::new("script")
            .args([
                "--quiet",
                "--flush",
                "--return",
                "--command",
                &command,
                "/dev/null",
            ])
            .env("LANYARD_CREDENTIALS_FILE", &self.file)
            .env("TERM", "xterm")
            .env_remove("LANYARD_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("util-linux's script");
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut screen = String::new();
        let mut buf = [0u8; 4096];
        let mut seen = 0;
        let stop = stop_at.map(|p| (p, ""));
        for (prompt, answer) in answers.iter().copied().chain(stop) {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            while !screen[seen..].contains(prompt) {
                let n = tokio::time::timeout_at(deadline, stdout.read(&mut buf))
                    .await
                    .unwrap_or_else(|_| panic!("no {prompt:?} on the terminal:\n{screen}"))
                    .unwrap();
                assert!(n > 0, "the command ended before {prompt:?}:\n{screen}");
                screen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            seen = screen.rfind(prompt).unwrap() + prompt.len();
            if stop_at == Some(prompt) {
                return screen;
            }
            // The picker redraws as it reads; give it its raw mode before typing.
            tokio::time::sleep(Duration::from_millis(200)).await;
            stdin.write_all(answer.as_bytes()).await.unwrap();
            stdin.flush().await.unwrap();
        }
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), stdout.read_to_end(&mut rest))
            .await
            .expect("the command ended")
            .unwrap();
        screen.push_str(&String::from_utf8_lossy(&rest));
        screen
    }

    fn stored(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&self.file).unwrap()).unwrap()
    }

    fn store(&self, value: &serde_json::Value) {
        std::fs::write(&self.file, serde_json::to_string_pretty(value).unwrap()).unwrap();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The status of `/v1/authorize` for an engineer's action with `token`.
async fn may_deploy(l: &Lanyard, token: &str) -> u16 {
    reqwest::Client::new()
        .post(l.at("/v1/authorize"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "action": "deploy:GetService",
            "resource": "arn:lanyard:deploy:::service/platform/api"
        }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `GET /v1/roles` with `token`: the status, the `WWW-Authenticate` header, the body.
async fn v1_roles(l: &Lanyard, token: &str) -> (u16, Option<String>, serde_json::Value) {
    let r = reqwest::Client::new()
        .get(l.at("/v1/roles"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, r.json().await.unwrap())
}

/// Signs in as `user` on the password form shown now, picks `role` for `seconds` on the
/// role picker.
async fn sign_in_and_pick(page: &Page, user: &str, role: &str, seconds: u64) {
    page.wait_for_url("the sign-in page", |u| u.path() == "/signin")
        .await;
    page.click("a[href^=\"/auth/corp\"]").await;
    page.wait_for_url("the password form", |u| u.path() == "/auth/corp")
        .await;
    page.fill("username", user).await;
    page.fill("password", &format!("{user}-pw")).await;
    page.shot("password-form").await;
    page.click("form[method=post] button[type=submit]").await;
    page.wait_for_url("the role picker", |u| u.path() == "/roles")
        .await;
    assert!(page.text().await.contains("Lanyard command line"));
    page.click(&format!("input[name=role][value=\"{role}\"]"))
        .await;
    page.client
        .find(fantoccini::Locator::Css(&format!(
            "select[name=\"duration.{role}\"]"
        )))
        .await
        .unwrap()
        .select_by_value(&seconds.to_string())
        .await
        .unwrap();
    page.shot("picker").await;
    page.click("form[action=\"/roles\"][method=post] > button[type=submit]")
        .await;
}

/// The lines of a child's stderr: the first that satisfies `wanted`, and a task collecting
/// the rest.
async fn stderr_line(
    child: &mut tokio::process::Child,
    wanted: impl Fn(&str) -> bool,
) -> (String, tokio::task::JoinHandle<String>) {
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let Some(line) = lines.next_line().await.unwrap() else {
                panic!("stderr ended before the line looked for:\n{seen}");
            };
            seen.push_str(&line);
            seen.push('\n');
            if wanted(&line) {
                return line;
            }
        }
    })
    .await
    .expect("the line within 30 s");
    let rest = tokio::spawn(async move {
        let mut all = seen;
        while let Ok(Some(line)) = lines.next_line().await {
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    (found, rest)
}

/// The whole life of command-line credentials: `login --browser` (the browser half in
/// Chromium), `credentials` in its three formats, `exec`, `roles`, a silent refresh after
/// the token expired, the file's mode, and `logout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_loopback_login_credentials_exec_roles_refresh_and_logout() {
    let l = lanyard().await;
    let cli = Cli::new();

    // login --browser, with no browser started: the URL is read from stderr.
    let mut login = cli
        .command(&[
            "login",
            "--url",
            &l.url,
            "--browser",
            "--no-open",
            "--role",
            "engineer",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (line, rest) = stderr_line(&mut login, |l| l.contains("/oauth2/authorize?")).await;
    let authorize = url::Url::parse(line.trim()).unwrap();
    let redirect = query(authorize.as_str(), "redirect_uri").unwrap();
    assert!(
        redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"),
        "{redirect}"
    );
    assert_eq!(
        query(authorize.as_str(), "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(query(authorize.as_str(), "state").is_some_and(|s| s.len() >= 43));

    let page = Page::open("cli_loopback_login").await;
    page.goto(authorize.as_str()).await;
    sign_in_and_pick(&page, "alice", "engineer", 900).await;
    let back = page
        .wait_for_url("the command line's page", |u| {
            u.as_str().starts_with(&redirect)
        })
        .await;
    assert_eq!(back.port(), url::Url::parse(&redirect).unwrap().port());
    assert!(
        page.text().await.contains("return to your terminal"),
        "{}",
        page.text().await
    );
    page.shot("returned-to-the-terminal").await;
    page.close().await;
    let status = tokio::time::timeout(Duration::from_secs(30), login.wait())
        .await
        .unwrap()
        .unwrap();
    let said = rest.await.unwrap();
    assert!(status.success(), "{said}");
    assert!(said.contains("Signed in to"), "{said}");
    assert!(said.contains("as the role engineer"), "{said}");

    // The file and its directory are private.
    assert_eq!(mode(&cli.file), 0o600);
    assert_eq!(mode(cli.file.parent().unwrap()), 0o700);
    let stored = cli.stored();
    assert_eq!(stored["last_url"], l.url.as_str());
    assert_eq!(stored["entries"][0]["role"], "engineer");
    assert!(stored["entries"][0]["refresh_token"].is_string());

    // credentials --format json: a token Lanyard accepts.
    let out = cli.run(&["credentials", "--format", "json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["role"], "engineer");
    assert_eq!(json["token_type"], "Bearer");
    let expires_in = json["expires_in"].as_u64().unwrap();
    assert!((850..=900).contains(&expires_in), "{json}");
    let first = json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(may_deploy(&l, &first).await, 200);
    // … and as export lines, and for a credential hook.
    let out = cli.run(&["credentials"]).await;
    let env = text(&out.stdout);
    assert!(
        env.contains(&format!("export LANYARD_TOKEN='{first}'\n")),
        "{env}"
    );
    assert!(env.contains("export LANYARD_ROLE='engineer'\n"), "{env}");
    assert!(
        env.contains(&format!("export LANYARD_URL='{}'\n", l.url)),
        "{env}"
    );
    assert!(env.contains("export LANYARD_TOKEN_EXPIRES='"), "{env}");
    let out = cli
        .run(&[
            "credentials",
            "--role",
            "engineer",
            "--format",
            "credential-process",
        ])
        .await;
    let hook: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hook["Version"], 1);
    assert_eq!(hook["AccessToken"], first.as_str());
    assert_eq!(hook["Expiration"], json["expires_at"]);

    // exec: the variables reach the command; its exit code (or 128 + signal) comes back.
    let out = cli
        .run(&[
            "exec",
            "--role",
            "engineer",
            "--",
            "sh",
            "-c",
            "echo $LANYARD_ROLE; exit 3",
        ])
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "engineer\n");
    let out = cli
        .run(&[
            "exec",
            "--",
            "sh",
            "-c",
            "test -n \"$LANYARD_TOKEN\" && kill -TERM $$",
        ])
        .await;
    assert_eq!(out.status.code(), Some(128 + 15), "{}", text(&out.stderr));
    let out = cli.run(&["exec", "--", "no-such-command-here"]).await;
    assert_eq!(out.status.code(), Some(127));

    // roles: what alice may take through the command line's client.
    let out = cli.run(&["roles", "--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let roles: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(roles["current"], "engineer");
    let names: Vec<&str> = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["engineer", "admin", "auditor"]);
    assert_eq!(roles["roles"][0]["max_duration_seconds"], 14_400);
    let out = cli.run(&["roles"]).await;
    let table = text(&out.stdout);
    assert!(
        table.lines().any(|l| l.starts_with("* engineer")),
        "{table}"
    );
    assert!(table.lines().any(|l| l.starts_with("  admin")), "{table}");
    let out = cli.run(&["roles", "--filter", "READ-ONLY"]).await;
    let table = text(&out.stdout);
    assert!(
        table.contains("auditor") && !table.contains("admin"),
        "{table}"
    );

    // On a terminal, `roles` is a fuzzy picker: typing narrows it, Enter prints the role,
    // and for a role with nothing stored it offers a sign-in (declined here).
    let answers = [
        ("Role (type to filter", "audit"),
        ("auditor", "\r"),
        ("Sign in for it now?", "n"),
    ];
    let screen = cli.on_terminal(&["roles"], &answers, None).await;
    assert!(screen.contains("lanyard login --role auditor"), "{screen}");

    // Expiry: Lanyard's clock passes the token's 15 minutes, and so (edited) does the
    // file's; the next command refreshes silently and stores the rotated refresh token.
    l.clock.advance(Duration::from_secs(901));
    assert_eq!(may_deploy(&l, &first).await, 401);
    let mut stored = cli.stored();
    let old_refresh = stored["entries"][0]["refresh_token"].clone();
    stored["entries"][0]["expires_at"] = "2000-01-01T00:00:00Z".into();
    cli.store(&stored);
    let out = cli.run(&["credentials", "--format", "json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let second = json["access_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(may_deploy(&l, &second).await, 200);
    let stored = cli.stored();
    assert_ne!(stored["entries"][0]["refresh_token"], old_refresh);
    assert_ne!(stored["entries"][0]["expires_at"], "2000-01-01T00:00:00Z");
    assert_eq!(mode(&cli.file), 0o600, "rewritten private");

    // A file others may read is refused, with the fix.
    std::fs::set_permissions(&cli.file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = cli.run(&["credentials"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("chmod 600"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    std::fs::set_permissions(&cli.file, std::fs::Permissions::from_mode(0o600)).unwrap();

    // logout: both tokens revoked at Lanyard, the entry gone.
    let refresh = cli.stored()["entries"][0]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = cli.run(&["logout"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Signed out of the role engineer"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(may_deploy(&l, &second).await, 401);
    let (status, e) = token(
        &l,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "lanyard-cli"),
        ],
    )
    .await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(cli.stored()["entries"], serde_json::json!([]));
    let out = cli.run(&["credentials"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("run `lanyard login`"),
        "{}",
        text(&out.stderr)
    );
}

/// An entry as `lanyard login` stores it.
fn entry(url: &str, role: &str, refresh: &str, expires_at: &str) -> serde_json::Value {
    serde_json::json!({
        "url": url, "role": role, "client_id": "lanyard-cli",
        "access_token": "not.a.token", "refresh_token": refresh, "expires_at": expires_at,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_refresh_refused_asks_for_a_login_and_forgets_the_entry() {
    let l = lanyard().await;
    let cli = Cli::new();
    std::fs::create_dir_all(cli.file.parent().unwrap()).unwrap();
    cli.store(&serde_json::json!({
        "version": 1,
        "last_url": l.url,
        "entries": [
            entry(&l.url, "engineer", "revoked-refresh-token", "2000-01-01T00:00:00Z"),
            entry(&l.url, "auditor", "another", "2000-01-01T00:00:00Z"),
        ],
    }));
    std::fs::set_permissions(&cli.file, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Two roles stored: which one must be said.
    let out = cli.run(&["credentials"]).await;
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stderr);
    assert!(
        said.contains("auditor, engineer") && said.contains("--role"),
        "{said}"
    );
    // The refresh is refused: a login is needed (stdin is no terminal, so none starts).
    let out = cli.run(&["credentials", "--role", "engineer"]).await;
    assert_eq!(out.status.code(), Some(2));
    let said = text(&out.stderr);
    assert!(
        said.contains("run `lanyard login --role engineer`"),
        "{said}"
    );
    let roles: Vec<String> = cli.stored()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["role"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(roles, ["auditor"], "the dead entry is forgotten");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_logout_forgets_locally_when_lanyard_is_unreachable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let cli = Cli::new();
    std::fs::create_dir_all(cli.file.parent().unwrap()).unwrap();
    cli.store(&serde_json::json!({
        "version": 1,
        "entries": [entry(&url, "engineer", "r", "2100-01-01T00:00:00Z")],
    }));
    std::fs::set_permissions(&cli.file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = cli.run(&["logout", "--url", &url, "--all"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(said.contains("could not revoke"), "{said}");
    assert!(
        said.contains("stay valid at Lanyard until they expire"),
        "{said}"
    );
    assert_eq!(cli.stored()["entries"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_refuses_a_store_others_may_read_and_plain_http_elsewhere() {
    let cli = Cli::new();
    std::fs::create_dir_all(cli.file.parent().unwrap()).unwrap();
    cli.store(&serde_json::json!({"version": 1, "entries": []}));
    std::fs::set_permissions(&cli.file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = cli
        .run(&["credentials", "--url", "https://sso.example.com"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stderr);
    assert!(
        said.contains("0644") && said.contains("chmod 600"),
        "{said}"
    );
    std::fs::set_permissions(&cli.file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = cli.run(&["login", "--url", "http://sso.example.com"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("use https://"),
        "{}",
        text(&out.stderr)
    );
    let out = cli.run(&["credentials"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// A registered `http://127.0.0.1/callback` matches any port (RFC 8252 §7.3); another
/// host or path does not, and the code is bound to the port it was sent to.
#[tokio::test]
async fn loopback_redirect_uris_match_any_port() {
    let l = lanyard().await;
    let b = browser();
    let (verifier, challenge) = pkce();
    let pk = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for bad in [
        "http://localhost:4711/callback",
        "http://127.0.0.1:4711/other",
        "http://127.0.0.2:4711/callback",
        "http://[::1]:4711/callback",
    ] {
        let r = b
            .get(authorize_url(&l, "lanyard-cli", bad, &pk))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert!(r.headers().get("location").is_none());
    }
    let redirect = "http://127.0.0.1:4711/callback";
    let r = b
        .get(authorize_url(&l, "lanyard-cli", redirect, &pk))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/signin"), "{}", location(&r));
    let back = run_authorize(
        &l,
        &b,
        &authorize_url(&l, "lanyard-cli", redirect, &pk),
        "bob",
        None,
    )
    .await;
    assert!(back.starts_with(&format!("{redirect}?code=")), "{back}");
    let code = query(&back, "code").unwrap();
    let exchange = |redirect_uri: &'static str, code: String| {
        let verifier = verifier.clone();
        let l = &l;
        async move {
            token(
                l,
                None,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect_uri),
                    ("client_id", "lanyard-cli"),
                    ("code_verifier", &verifier),
                ],
            )
            .await
        }
    };
    // Another port at the exchange than at the request: refused (RFC 6749 §4.1.3).
    let (s, e) = exchange("http://127.0.0.1:4712/callback", code).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let back = run_authorize(
        &l,
        &b,
        &authorize_url(&l, "lanyard-cli", redirect, &pk),
        "bob",
        None,
    )
    .await;
    let (s, t) = exchange(redirect, query(&back, "code").unwrap()).await;
    assert_eq!(s, 200, "{t}");
}

/// `GET /v1/roles`: the client's allowed roles the person may take, the token's role as
/// `current`; 401 with `WWW-Authenticate` for a token that is not live.
#[tokio::test]
async fn v1_roles_lists_the_roles_through_the_tokens_client() {
    let l = lanyard().await;
    let (verifier, challenge) = pkce();
    let pk = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let redirect = "http://127.0.0.1:4711/callback";
    let tokens_of = |client: &'static str, role: Option<&'static str>| {
        let (l, verifier, pk) = (&l, verifier.clone(), pk);
        async move {
            let b = browser();
            let url = authorize_url(l, client, redirect, &pk);
            let back = run_authorize(l, &b, &url, "alice", role).await;
            let code = query(&back, "code").unwrap();
            let (s, t) = token(
                l,
                None,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("client_id", client),
                    ("code_verifier", &verifier),
                ],
            )
            .await;
            assert_eq!(s, 200, "{t}");
            t
        }
    };
    let t = tokens_of("lanyard-cli", Some("auditor")).await;
    let access = t["access_token"].as_str().unwrap();
    let (status, _, body) = v1_roles(&l, access).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["current"], "auditor");
    assert_eq!(
        body["roles"],
        serde_json::json!([
            {"name": "engineer", "description": "Deploy and operate services",
             "group": "Engineering", "max_duration_seconds": 14400},
            {"name": "admin", "description": "Administer the platform (break-glass)",
             "group": "Engineering", "max_duration_seconds": 3600},
            {"name": "auditor", "description": "Read-only access to logs and billing",
             "group": "Compliance", "max_duration_seconds": 43200},
        ])
    );
    // Through a client allowed fewer roles, fewer are listed.
    let narrow = tokens_of("narrow", None).await;
    let (status, _, body) = v1_roles(&l, narrow["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["auditor"]);
    // Not a token, or a revoked one: 401 with a Bearer challenge (RFC 6750 §3).
    let (status, challenge, body) = v1_roles(&l, "not-a-token").await;
    assert_eq!(status, 401);
    assert!(
        challenge
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    assert_eq!(body["error"], "invalid_token");
    let r = reqwest::Client::new()
        .get(l.at("/v1/roles"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = reqwest::Client::new()
        .post(l.at("/oauth2/revoke"))
        .form(&[("token", access), ("client_id", "lanyard-cli")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, challenge, _) = v1_roles(&l, access).await;
    assert_eq!(status, 401);
    assert!(challenge.is_some());
    // Expired (the default hour has passed): refused too.
    l.clock.advance(Duration::from_secs(2 * 3600));
    let (status, _, _) = v1_roles(&l, narrow["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
}

/// On a terminal, `lanyard login` shows the code, the link that carries it, and a QR code
/// of that link for a phone; piped, no QR code (it would be noise in a log).
#[tokio::test]
async fn cli_device_login_shows_a_qr_code_on_a_terminal() {
    let l = lanyard().await;
    let cli = Cli::new();
    let args = ["login", "--url", &l.url];
    let screen = cli
        .on_terminal(&args, &[], Some("Waiting for the approval"))
        .await;
    assert!(screen.contains("/device?user_code="), "{screen}");
    assert!(screen.contains("or scan this with a phone"), "{screen}");
    let blocks = screen
        .chars()
        .filter(|c| matches!(c, '█' | '▀' | '▄'))
        .count();
    assert!(blocks > 100, "a QR code of half-blocks: {screen}");

    let mut piped = cli.command(&args).stderr(Stdio::piped()).spawn().unwrap();
    let (_, rest) = stderr_line(&mut piped, |l| l.contains("Waiting for the approval")).await;
    let _ = piped.kill().await;
    let all = rest.await.unwrap();
    assert!(all.contains("/device?user_code="), "{all}");
    assert!(!all.contains("scan this") && !all.contains('▀'), "{all}");
}

/// Keeps Lanyard's clock with real time (whole seconds since now) while the command line
/// polls: its polls come `interval` real seconds apart, and Lanyard must see them so.
fn tick_with_real_time(clock: &ManualClock) -> tokio::task::JoinHandle<()> {
    let (clock, started) = (clock.clone(), std::time::Instant::now());
    let start = lanyard::clock::Clock::now(&clock).secs();
    tokio::spawn(async move {
        loop {
            let elapsed = i64::try_from(started.elapsed().as_secs()).unwrap();
            clock.set(UnixTime::from_secs(start + elapsed));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// `lanyard login` with the device grant: the command prints the page and the code, the
/// person opens the link that carries the code in Chromium, signs in, keeps the role the
/// command asked for, picks a length and approves; the command's polls get the tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_device_login_end_to_end() {
    let l = lanyard().await;
    let ticking = tick_with_real_time(&l.clock);
    let cli = Cli::new();
    let mut login = cli
        .command(&["login", "--url", &l.url, "--role", "auditor"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (line, rest) = stderr_line(&mut login, |l| l.contains("/device?user_code=")).await;
    let complete = line.trim().to_owned();
    assert!(
        complete.starts_with(&format!("{}/device?", l.url)),
        "{complete}"
    );
    let user_code = query(&complete, "user_code").unwrap();

    let page = Page::open("cli_device_login").await;
    page.goto(&complete).await;
    page.wait_for_url("the sign-in page", |u| u.path() == "/signin")
        .await;
    page.click("a[href^=\"/auth/corp\"]").await;
    page.wait_for_url("the password form", |u| u.path() == "/auth/corp")
        .await;
    page.fill("username", "alice").await;
    page.fill("password", "alice-pw").await;
    page.click("form[method=post] button[type=submit]").await;
    page.wait_for_url("the device page", |u| u.path() == "/device")
        .await;
    page.shot("entry-prefilled").await;
    page.click("form[action=\"/device\"] button[value=continue]")
        .await;
    page.wait_for_text("Only continue if you started this")
        .await;
    assert!(page.text().await.contains(&user_code));
    let preselected = page
        .client
        .execute(
            "return document.querySelector('input[name=role][value=auditor]').checked;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(preselected, true, "--role auditor is preselected");
    page.client
        .find(fantoccini::Locator::Css(
            "select[name=\"duration.auditor\"]",
        ))
        .await
        .unwrap()
        .select_by_value("7200")
        .await
        .unwrap();
    page.shot("confirm").await;
    page.click("button[value=approve]").await;
    page.wait_for_text("return to your terminal").await;
    page.shot("approved").await;
    page.close().await;

    let status = tokio::time::timeout(Duration::from_secs(60), login.wait())
        .await
        .expect("the command saw the approval within 60 s")
        .unwrap();
    let said = rest.await.unwrap();
    assert!(status.success(), "{said}");
    assert!(
        said.contains(&format!("enter the code\n\n    {user_code}\n")),
        "{said}"
    );
    assert!(said.contains(&format!("{}/device\n", l.url)), "{said}");
    assert!(said.contains("Choose the role auditor there"), "{said}");
    assert!(
        !said.contains("scan this"),
        "no QR code when stderr is no terminal: {said}"
    );
    assert!(said.contains("as the role auditor"), "{said}");

    let out = cli.run(&["credentials", "--format", "json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["role"], "auditor");
    let expires_in = json["expires_in"].as_u64().unwrap();
    assert!((7100..=7200).contains(&expires_in), "{json}");
    let token = json["access_token"].as_str().unwrap();
    assert_eq!(may_deploy(&l, token).await, 200, "a token Lanyard accepts");
    let out = cli.run(&["roles", "--json"]).await;
    let roles: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(roles["current"], "auditor");
    assert_eq!(mode(&cli.file), 0o600);
    ticking.abort();
}
