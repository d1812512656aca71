//! Signing in and out from a terminal.
//!
//! - The device authorization grant (RFC 8628), the default: Lanyard gives a user code and
//!   a verification URL (shown, with a QR code of the URL that carries the code when stderr
//!   is a terminal); the person approves on `/device` in any browser, on any machine, and
//!   picks the role and its length there; meanwhile the token endpoint is polled every
//!   `interval` seconds (five more after each `slow_down`, §3.5) until the code expires.
//! - The authorization code flow with PKCE (RFC 7636, S256) and a loopback redirect (RFC
//!   8252 §7.3), with `--browser`: a browser on this machine signs in and picks the role on
//!   the role picker; the code comes back to `http://127.0.0.1:<port>/callback` with the
//!   `state` sent (checked), and its `iss` (RFC 9207) must be the Lanyard asked.
//!
//! Either way the tokens are stored for the role the access token names. Signing out
//! revokes the refresh and the access token (RFC 7009) and forgets them; when Lanyard
//! cannot be reached they are forgotten all the same, and the person is told.
//!
//! May import: `secret`, `clock`, `session` (random values, the PKCE digest), `roles`
//! (time format), `connectors` (the terminal QR code).

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::clock::{Clock, SystemClock};
use crate::secret::Secret;

use super::loopback::{Loopback, Redirected};
use super::remote::{DEVICE_CODE_GRANT, Remote, RemoteError, SCOPE, TokenAnswer};
use super::store::{Entry, Store};
use super::{CliError, human, resolve_url};

/// How long the loopback flow waits for the browser.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);
/// RFC 8628 §3.5: the interval grows by this after `slow_down`.
const SLOW_DOWN_STEP: u64 = 5;
/// Polls that may fail to reach Lanyard in a row before the login gives up.
const UNREACHABLE_POLLS: u32 = 3;

/// What `lanyard login` was asked.
#[derive(Debug)]
pub struct Options {
    /// Lanyard's URL as given (else the one used last).
    pub url: Option<String>,
    /// The client.
    pub client_id: String,
    /// The role asked for.
    pub role: Option<String>,
    /// The session length asked for.
    pub duration: Option<Duration>,
    /// The loopback flow instead of the device flow.
    pub browser: bool,
    /// Whether to start a browser (the loopback flow).
    pub open: bool,
}

/// Signs in and stores the tokens; returns the stored entry.
pub async fn run(path: &Path, options: Options) -> Result<Entry, CliError> {
    let url = {
        let store = Store::open(path)?;
        resolve_url(options.url.as_deref(), &store.tokens).map_err(|e| match e {
            CliError::LoginNeeded { .. } => {
                CliError::Usage("which Lanyard? Pass --url URL or set LANYARD_URL".to_owned())
            }
            other => other,
        })?
    };
    let remote = Remote::discover(&url).await?;
    let answer = if options.browser {
        browser_flow(&remote, &options).await?
    } else {
        device_flow(&remote, &options).await?
    };
    let role = answer.role().ok_or_else(|| {
        CliError::LoginFailed("the access token Lanyard issued names no role".into())
    })?;
    if let Some(asked) = options.role.as_deref().filter(|a| *a != role) {
        eprintln!(
            "Note: the role chosen was {role}, not {asked}; the credentials are kept as {role}."
        );
    }
    if let Some(asked) = options.duration {
        let got = answer.expires_in;
        if got.abs_diff(asked.as_secs()) > 60 {
            eprintln!(
                "Note: the credentials last {}, not the {} asked for (the length is chosen on the page).",
                human(got),
                human(asked.as_secs())
            );
        }
    }
    let entry = Entry {
        url: url.clone(),
        role: role.clone(),
        client_id: options.client_id.clone(),
        expires_at: SystemClock.now() + Duration::from_secs(answer.expires_in),
        access_token: answer.access_token,
        refresh_token: answer.refresh_token,
    };
    let replaced = {
        let mut store = Store::open(path)?;
        let replaced = store.tokens.put(entry.clone());
        store.tokens.last_url = Some(url.clone());
        store.save()?;
        replaced
    };
    // The credentials replaced are of no more use: their refresh token is revoked (best
    // effort; they would end with the sign-in session anyway).
    if let Some(old) = replaced.and_then(|o| o.refresh_token.map(|t| (o.client_id, t))) {
        let _ = remote.revoke(&old.0, &old.1).await;
    }
    eprintln!(
        "Signed in to {url} as the role {role}; the credentials expire at {} (in {}) and are \
         refreshed while your sign-in lasts.",
        crate::roles::rfc3339(entry.expires_at),
        human(answer.expires_in)
    );
    Ok(entry)
}

/// RFC 8628: shows the code, polls until the person approves it.
async fn device_flow(remote: &Remote, options: &Options) -> Result<TokenAnswer, CliError> {
    let device = remote
        .device_authorization(&options.client_id, options.role.as_deref())
        .await?;
    let mut text = format!(
        "To sign in, open this page in a browser:\n\n    {}\n\nand enter the code\n\n    {}\n\n",
        device.verification_uri, device.user_code
    );
    if let Some(complete) = &device.verification_uri_complete {
        text.push_str(&format!(
            "or open this link, which carries the code:\n\n    {complete}\n\n"
        ));
        if std::io::stderr().is_terminal()
            && let Some(qr) = crate::connectors::totp::terminal_qr(complete)
        {
            text.push_str("or scan this with a phone:\n\n");
            text.push_str(&qr);
            text.push('\n');
        }
    }
    if let Some(choose) = choices(options) {
        text.push_str(&format!("{choose} there and approve.\n"));
    }
    text.push_str(&format!(
        "Waiting for the approval (the code expires in {})…\n",
        human(device.expires_in)
    ));
    eprint!("{text}");

    let deadline = Instant::now() + Duration::from_secs(device.expires_in);
    let mut interval = device.interval.max(1);
    let mut unreachable = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        if Instant::now() >= deadline {
            return Err(expired());
        }
        let form = [
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", device.device_code.expose_secret()),
            ("client_id", options.client_id.as_str()),
        ];
        match remote.token(&form).await {
            Ok(answer) => return Ok(answer),
            Err(e) => match e.oauth_code() {
                Some("authorization_pending") => unreachable = 0,
                Some("slow_down") => {
                    unreachable = 0;
                    interval += SLOW_DOWN_STEP;
                }
                Some("access_denied") => {
                    return Err(CliError::LoginFailed(
                        "the sign-in was denied on the approval page".into(),
                    ));
                }
                Some("expired_token") => return Err(expired()),
                _ if matches!(e, RemoteError::Unreachable { .. })
                    && unreachable < UNREACHABLE_POLLS =>
                {
                    unreachable += 1;
                }
                _ => return Err(e.into()),
            },
        }
    }
}

/// "Choose the role R and the length L", for what was asked on the command line (the page
/// is where both are chosen).
fn choices(options: &Options) -> Option<String> {
    let length = options.duration.map(|d| human(d.as_secs()));
    match (&options.role, length) {
        (Some(role), Some(length)) => {
            Some(format!("Choose the role {role} and the length {length}"))
        }
        (Some(role), None) => Some(format!("Choose the role {role}")),
        (None, Some(length)) => Some(format!("Choose the length {length}")),
        (None, None) => None,
    }
}

fn expired() -> CliError {
    CliError::LoginFailed(
        "the code expired before it was approved: run `lanyard login` again".into(),
    )
}

/// RFC 8252 with PKCE: a browser signs in, the code comes back to a loopback port.
async fn browser_flow(remote: &Remote, options: &Options) -> Result<TokenAnswer, CliError> {
    let loopback = Loopback::bind().await.map_err(|e| {
        CliError::LoginFailed(format!("cannot listen on 127.0.0.1 for the browser: {e}"))
    })?;
    let verifier = crate::session::random_id();
    let challenge = crate::session::digest(verifier.expose_secret());
    let state = crate::session::random_id();
    let mut url = remote.authorization_endpoint()?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &options.client_id)
        .append_pair("redirect_uri", loopback.redirect_uri())
        .append_pair("scope", SCOPE)
        .append_pair("state", state.expose_secret())
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let mut text = String::new();
    if options.open {
        text.push_str("Opening a browser to sign in. If none opens, open this page:\n\n");
    } else {
        text.push_str("Open this page in a browser on this machine to sign in:\n\n");
    }
    text.push_str(&format!("    {url}\n\n"));
    if let Some(choose) = choices(options) {
        text.push_str(&format!("{choose} there.\n"));
    }
    text.push_str(&format!(
        "Waiting for the browser (for up to {})…\n",
        human(BROWSER_TIMEOUT.as_secs())
    ));
    eprint!("{text}");
    if options.open {
        open_browser(url.as_str());
    }
    let redirected = tokio::time::timeout(BROWSER_TIMEOUT, loopback.wait(state.expose_secret()))
        .await
        .map_err(|_| {
            CliError::LoginFailed(format!(
                "no answer from the browser within {}: run `lanyard login --browser` again",
                human(BROWSER_TIMEOUT.as_secs())
            ))
        })?
        .map_err(|e| CliError::LoginFailed(format!("waiting for the browser failed: {e}")))?;
    let code = match redirected {
        Redirected::Code { code, issuer } => {
            // RFC 9207 §2.4: an answer naming another issuer is a mix-up; refuse it.
            if let Some(iss) = issuer.filter(|i| i.trim_end_matches('/') != remote.url()) {
                return Err(CliError::LoginFailed(format!(
                    "the answer came from {iss}, not {}",
                    remote.url()
                )));
            }
            code
        }
        Redirected::Error { code, description } => {
            return Err(CliError::LoginFailed(format!(
                "Lanyard refused the sign-in: {} ({code})",
                description.as_deref().unwrap_or("no reason given")
            )));
        }
    };
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.expose_secret()),
        ("redirect_uri", loopback.redirect_uri()),
        ("client_id", options.client_id.as_str()),
        ("code_verifier", verifier.expose_secret()),
    ];
    Ok(remote.token(&form).await?)
}

/// Starts the browser on `url`: `$BROWSER` when set, else the desktop's opener. Not waited
/// for (a terminal browser may take over the terminal); the URL is printed anyway.
fn open_browser(url: &str) {
    let program = std::env::var_os("BROWSER")
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| {
            if cfg!(target_os = "macos") {
                "open".into()
            } else {
                "xdg-open".into()
            }
        });
    let started = std::process::Command::new(&program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match started {
        // Reaped by a thread of its own, so that no zombie is left while we wait.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => eprintln!(
            "Could not start {}: {e}; open the page above yourself.",
            program.to_string_lossy()
        ),
    }
}

/// `lanyard logout`: revokes and forgets the credentials of `role` (or every role with
/// `all`) at the Lanyard meant.
pub async fn logout(
    path: &Path,
    url: Option<String>,
    role: Option<String>,
    all: bool,
) -> Result<(), CliError> {
    let mut store = Store::open(path)?;
    let chosen: Vec<Entry> = if all {
        let url = url
            .as_deref()
            .map(super::remote::normalize_url)
            .transpose()?;
        store
            .tokens
            .entries
            .iter()
            .filter(|e| url.as_deref().is_none_or(|u| e.url == u))
            .cloned()
            .collect()
    } else {
        let url = resolve_url(url.as_deref(), &store.tokens)?;
        vec![super::pick(
            &store.tokens,
            &url,
            role.as_deref(),
            super::Select::Role,
        )?]
    };
    if chosen.is_empty() {
        eprintln!("No credentials are stored; nothing to do.");
        return Ok(());
    }
    let mut remotes: Vec<(String, Result<Remote, RemoteError>)> = Vec::new();
    for entry in &chosen {
        if !remotes.iter().any(|(u, _)| *u == entry.url) {
            remotes.push((entry.url.clone(), Remote::discover(&entry.url).await));
        }
        let remote = remotes
            .iter()
            .find(|(u, _)| *u == entry.url)
            .map(|(_, r)| r);
        let revoked = match remote {
            Some(Ok(remote)) => revoke(remote, entry).await,
            Some(Err(e)) => Err(format!("{e}")),
            None => Err("no connection".to_owned()),
        };
        store.tokens.remove(&entry.url, &entry.role);
        match revoked {
            Ok(()) => eprintln!(
                "Signed out of the role {} at {}: its tokens are revoked and forgotten.",
                entry.role, entry.url
            ),
            Err(why) => eprintln!(
                "Forgot the credentials of the role {} at {}, but could not revoke them ({why}): \
                 they stay valid at Lanyard until they expire.",
                entry.role, entry.url
            ),
        }
    }
    store.save()?;
    Ok(())
}

/// Revokes the refresh token (which ends its whole family at Lanyard) and the access token.
async fn revoke(remote: &Remote, entry: &Entry) -> Result<(), String> {
    let tokens: Vec<&Secret> = entry
        .refresh_token
        .iter()
        .chain(std::iter::once(&entry.access_token))
        .collect();
    for token in tokens {
        remote
            .revoke(&entry.client_id, token)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
