//! The employee's commands: `lanyard login`, `credentials`, `exec`, `roles` and `logout` —
//! role credentials into a terminal without copy and paste, as `aws sso login` does for
//! AWS. `login` signs in through the device authorization grant (RFC 8628, the default) or
//! a browser and a loopback redirect (RFC 8252, `--browser`), as the public client
//! `lanyard-cli`, and keeps the tokens in a private file ([`store`]); the other commands
//! read them, refreshing an access token about to expire (RFC 6749 §6, the refresh token
//! rotated and stored at every use).
//!
//! Exit codes: 0 done; 1 an error (bad input, Lanyard unreachable or refusing); 2 a login
//! is needed (nothing stored for the role, or its refresh token no longer works); `exec`
//! exits with its command's code (128 + n when a signal n ended it).
//!
//! Human messages go to stderr; stdout carries only what a command prints for scripts.
//!
//! May import: `secret`, `clock`, `session` (random values, digests), `tokens` (reading a
//! token's claims), `roles` (time formats and duration bounds), `connectors` (the terminal
//! QR code). The outbound HTTP client (reqwest) is used in [`remote`] only.

mod credentials;
mod login;
mod loopback;
mod remote;
mod roles;
mod store;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::clock::{Clock, SystemClock, UnixTime};

pub use credentials::Format;
use remote::{Remote, RemoteError};
use store::{Entry, Store, StoreError};

/// The client the command line is registered as.
pub const DEFAULT_CLIENT_ID: &str = "lanyard-cli";
/// An access token expiring within this is refreshed first.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Exit code of a failure.
const EXIT_ERROR: u8 = 1;
/// Exit code when a login is needed.
const EXIT_LOGIN_NEEDED: u8 = 2;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The token store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A call to Lanyard.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The command line names something that is not there or not possible.
    #[error("{0}")]
    Usage(String),
    /// There are no usable credentials: sign in (exit code 2).
    #[error("{reason}: run `{command}`")]
    LoginNeeded {
        /// What is missing or refused.
        reason: String,
        /// The command that signs in.
        command: String,
    },
    /// Signing in did not succeed.
    #[error("{0}")]
    LoginFailed(String),
    /// Writing the output failed (a closed pipe).
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}

impl CliError {
    fn exit_code(&self) -> ExitCode {
        match self {
            CliError::LoginNeeded { .. } => ExitCode::from(EXIT_LOGIN_NEEDED),
            _ => ExitCode::from(EXIT_ERROR),
        }
    }
}

/// `lanyard login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Lanyard's URL [default: $LANYARD_URL, else the one used last].
    #[arg(long)]
    url: Option<String>,
    /// The OAuth client the command line is registered as.
    #[arg(long, default_value = DEFAULT_CLIENT_ID)]
    client_id: String,
    /// The role to sign in for (preselected on the approval page; the role chosen there
    /// is the one stored).
    #[arg(long)]
    role: Option<String>,
    /// The session length to choose on the page (15m to 12h). Lanyard's endpoints take no
    /// length: the page asks the person, and this says which to pick.
    #[arg(long, value_parser = parse_session_length)]
    duration: Option<Duration>,
    /// Sign in with a browser on this machine and a loopback redirect (RFC 8252) instead
    /// of a code to enter (RFC 8628).
    #[arg(long)]
    browser: bool,
    /// With --browser: do not start a browser, only print the URL to open (on stderr).
    #[arg(long, requires = "browser")]
    no_open: bool,
}

/// Which stored credentials a command uses.
#[derive(Debug, Args)]
pub struct Target {
    /// Lanyard's URL [default: $LANYARD_URL, else the one used last].
    #[arg(long)]
    url: Option<String>,
    /// The role [default: the only one stored for the URL].
    #[arg(long)]
    role: Option<String>,
}

/// `lanyard credentials`.
#[derive(Debug, Args)]
pub struct CredentialsArgs {
    #[command(flatten)]
    target: Target,
    /// Output format: `export` lines, a JSON object, or the one JSON object of an
    /// external credential hook.
    #[arg(long, value_enum, default_value = "env")]
    format: Format,
}

/// `lanyard exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    target: Target,
    /// The command and its arguments (after `--`).
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<std::ffi::OsString>,
}

/// `lanyard roles`.
#[derive(Debug, Args)]
pub struct RolesArgs {
    #[command(flatten)]
    target: Target,
    /// Only roles whose name, description or group contains this (any case).
    #[arg(long)]
    filter: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// `lanyard logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Lanyard's URL [default: $LANYARD_URL, else the one used last].
    #[arg(long)]
    url: Option<String>,
    /// The role to sign out of [default: the only one stored for the URL].
    #[arg(long, conflicts_with = "all")]
    role: Option<String>,
    /// Every stored role (of --url's Lanyard when --url or LANYARD_URL is given, else of
    /// every Lanyard).
    #[arg(long)]
    all: bool,
}

/// Runs `login`.
pub fn login(args: LoginArgs) -> ExitCode {
    run(|| async move {
        let path = store::default_path()?;
        let options = login::Options {
            url: given_url(args.url),
            client_id: args.client_id,
            role: args.role,
            duration: args.duration,
            browser: args.browser,
            open: !args.no_open,
        };
        login::run(&path, options).await.map(|_| ())
    })
}

/// Runs `credentials`.
pub fn credentials(args: CredentialsArgs) -> ExitCode {
    run(|| async move {
        let entry = fresh(&args.target, Select::Role).await?;
        let text = credentials::render(&entry, args.format, SystemClock.now());
        print(&text)
    })
}

/// Runs `exec`.
pub fn exec(args: ExecArgs) -> ExitCode {
    let prepared = run_value(|| async {
        let entry = fresh(&args.target, Select::Role).await?;
        Ok(credentials::environment(&entry))
    });
    match prepared {
        Ok(env) => credentials::exec(&args.command, env),
        Err(code) => code,
    }
}

/// Runs `roles`.
pub fn roles(args: RolesArgs) -> ExitCode {
    run(|| async move {
        let entry = fresh(&args.target, Select::Any).await?;
        roles::run(&entry, args.filter.as_deref(), args.json).await
    })
}

/// Runs `logout`.
pub fn logout(args: LogoutArgs) -> ExitCode {
    run(|| async move {
        let path = store::default_path()?;
        login::logout(&path, given_url(args.url), args.role, args.all).await
    })
}

/// Runs an async command on a runtime of its own, printing its error.
fn run<F, Fut>(command: F) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), CliError>>,
{
    match run_value(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// [`run`] for a command that hands a value on; the error is printed.
fn run_value<T, F, Fut>(command: F) -> Result<T, ExitCode>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, CliError>>,
{
    let runtime = crate::cli::local_runtime().map_err(|e| {
        eprintln!("lanyard: {e}");
        ExitCode::from(EXIT_ERROR)
    })?;
    runtime.block_on(command()).map_err(|e| {
        eprintln!("lanyard: {e}");
        e.exit_code()
    })
}

/// Prints `text` on stdout.
fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}

/// `--url`, else `$LANYARD_URL` (empty counts as unset).
fn given_url(flag: Option<String>) -> Option<String> {
    flag.or_else(|| std::env::var("LANYARD_URL").ok())
        .filter(|u| !u.trim().is_empty())
}

/// The Lanyard meant: given (normalized), else the one used last, else the only one with
/// stored credentials.
fn resolve_url(given: Option<&str>, tokens: &store::Tokens) -> Result<String, CliError> {
    if let Some(url) = given {
        return Ok(remote::normalize_url(url)?);
    }
    if let Some(last) = &tokens.last_url {
        return Ok(last.clone());
    }
    let mut urls: Vec<&str> = tokens.entries.iter().map(|e| e.url.as_str()).collect();
    urls.dedup();
    match urls.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(CliError::LoginNeeded {
            reason: "you are not signed in".into(),
            command: "lanyard login --url URL".into(),
        }),
        _ => Err(CliError::Usage(format!(
            "credentials of several Lanyards are stored ({}): choose one with --url",
            urls.join(", ")
        ))),
    }
}

/// How a command picks among the roles stored for a URL when `--role` is not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Select {
    /// The only one; several are an error that lists them.
    Role,
    /// Any (the first): the command needs a token, whichever role.
    Any,
}

/// The stored credentials `target` names, refreshed first when they expire within a
/// minute. When they cannot be refreshed, a login is needed: started here when stdin is a
/// terminal, otherwise the error says which command to run.
async fn fresh(target: &Target, select: Select) -> Result<Entry, CliError> {
    let path = store::default_path()?;
    let (url, role, client_id) = {
        let mut store = Store::open(&path)?;
        let url = resolve_url(given_url(target.url.clone()).as_deref(), &store.tokens)?;
        let entry = pick(&store.tokens, &url, target.role.as_deref(), select)?;
        let now = SystemClock.now();
        if entry.expires_at > now + REFRESH_MARGIN {
            return Ok(entry);
        }
        match refresh(&mut store, entry.clone()).await {
            Ok(fresh) => return Ok(fresh),
            Err(CliError::LoginNeeded { reason, .. }) if std::io::stdin().is_terminal() => {
                eprintln!("lanyard: {reason}.");
            }
            Err(e) => return Err(e),
        }
        (url, entry.role, entry.client_id)
    };
    // The store's lock is released while the person signs in.
    eprintln!("Signing in again for the role {role}.");
    let options = login::Options {
        url: Some(url),
        client_id,
        role: Some(role),
        duration: None,
        browser: false,
        open: true,
    };
    login::run(&path, options).await
}

/// The stored entry for `role` (or by `select`) at `url`.
fn pick(
    tokens: &store::Tokens,
    url: &str,
    role: Option<&str>,
    select: Select,
) -> Result<Entry, CliError> {
    if let Some(role) = role {
        return tokens
            .get(url, role)
            .cloned()
            .ok_or_else(|| CliError::LoginNeeded {
                reason: format!("no credentials for the role {role} are stored for {url}"),
                command: format!("lanyard login --role {role}"),
            });
    }
    let stored: Vec<&Entry> = tokens.at(url).collect();
    match (stored.as_slice(), select) {
        ([], _) => Err(CliError::LoginNeeded {
            reason: format!("you are not signed in to {url}"),
            command: "lanyard login".into(),
        }),
        ([one], _) => Ok((*one).clone()),
        (several, Select::Any) => {
            let now = SystemClock.now();
            let live = several.iter().find(|e| e.expires_at > now + REFRESH_MARGIN);
            Ok((*live.unwrap_or(&several[0])).clone())
        }
        (several, Select::Role) => {
            let mut names: Vec<&str> = several.iter().map(|e| e.role.as_str()).collect();
            names.sort_unstable();
            Err(CliError::Usage(format!(
                "credentials for several roles are stored for {url} ({}): choose one with --role",
                names.join(", ")
            )))
        }
    }
}

/// Refreshes `entry` (RFC 6749 §6) under the store's lock and stores the rotated tokens.
/// A refresh token Lanyard no longer accepts is forgotten, and a login is needed.
async fn refresh(store: &mut Store, entry: Entry) -> Result<Entry, CliError> {
    let login_needed = |why: &str| CliError::LoginNeeded {
        reason: format!(
            "the credentials for the role {} at {} {why}",
            entry.role, entry.url
        ),
        command: format!("lanyard login --role {}", entry.role),
    };
    let Some(refresh_token) = entry.refresh_token.clone() else {
        return Err(login_needed("have expired and cannot be refreshed"));
    };
    let remote = Remote::discover(&entry.url).await?;
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose_secret()),
        ("client_id", entry.client_id.as_str()),
    ];
    let answer = match remote.token(&form).await {
        Ok(a) => a,
        Err(e)
            if matches!(
                e.oauth_code(),
                Some("invalid_grant" | "unauthorized_client")
            ) =>
        {
            store.tokens.remove(&entry.url, &entry.role);
            store.save()?;
            return Err(login_needed(&format!("can no longer be refreshed ({e})")));
        }
        Err(e) => return Err(e.into()),
    };
    let fresh = Entry {
        expires_at: SystemClock.now() + Duration::from_secs(answer.expires_in),
        access_token: answer.access_token,
        refresh_token: answer.refresh_token,
        ..entry
    };
    store.tokens.put(fresh.clone());
    store.save()?;
    Ok(fresh)
}

/// A `--duration`: 15 minutes to 12 hours.
fn parse_session_length(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| format!("{text:?}: {e}"))?;
    let (min, max) = (
        crate::roles::MIN_SESSION_SECS,
        crate::roles::MAX_SESSION_SECS,
    );
    if (min..=max).contains(&d.as_secs()) {
        Ok(d)
    } else {
        Err(format!("a session lasts {} to {}", human(min), human(max)))
    }
}

/// An RFC 3339 time as a [`UnixTime`].
fn parse_rfc3339(text: &str) -> Option<UnixTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| UnixTime::from_secs(t.unix_timestamp()))
}

/// A length of time in a few characters: `4h`, `1h30m`, `15m`, `45s`.
fn human(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_read_and_shown() {
        assert_eq!(parse_session_length("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_session_length("15m"), Ok(Duration::from_secs(900)));
        assert!(parse_session_length("10m").is_err());
        assert!(parse_session_length("13h").is_err());
        assert!(parse_session_length("soon").is_err());
        assert_eq!(human(14_400), "4h");
        assert_eq!(human(5400), "1h30m");
        assert_eq!(human(900), "15m");
        assert_eq!(human(45), "45s");
        assert_eq!(human(75), "1m15s");
    }

    #[test]
    fn rfc3339_times_are_read() {
        assert_eq!(
            parse_rfc3339("2027-01-15T08:00:00Z"),
            Some(UnixTime::from_secs(1_800_000_000))
        );
        assert_eq!(
            parse_rfc3339("2027-01-15T09:00:00+01:00"),
            Some(UnixTime::from_secs(1_800_000_000))
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
