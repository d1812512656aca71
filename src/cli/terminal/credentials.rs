//! What `lanyard credentials` prints and `lanyard exec` puts in a command's environment:
//! `LANYARD_TOKEN` (the bearer token), `LANYARD_ROLE`, `LANYARD_URL` and
//! `LANYARD_TOKEN_EXPIRES` (RFC 3339).
//!
//! Formats: `env` (`export NAME='value'` lines for a POSIX shell's `eval`), `json`
//! (`{access_token, token_type, role, expires_at, expires_in}`), and `credential-process`:
//! the one JSON object `{"Version": 1, "AccessToken": …, "Expiration": …}` in the shape of
//! an external credential hook (AWS's `credential_process`). Lanyard's token is a bearer
//! token for Lanyard and the applications that trust it, not an AWS access key pair, so
//! only a hook that expects a bearer token in `AccessToken` can use it.
//!
//! May import: `clock`, `roles` (time format).

use std::ffi::OsString;
use std::process::ExitCode;

use clap::ValueEnum;

use crate::clock::UnixTime;

use super::store::Entry;

/// The output format of `lanyard credentials`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `export` lines for a shell (`eval "$(lanyard credentials)"`).
    Env,
    /// One JSON object.
    Json,
    /// The JSON object of an external credential hook.
    CredentialProcess,
}

/// The environment variables of `entry`, in order.
pub fn environment(entry: &Entry) -> Vec<(&'static str, String)> {
    vec![
        (
            "LANYARD_TOKEN",
            entry.access_token.expose_secret().to_owned(),
        ),
        ("LANYARD_ROLE", entry.role.clone()),
        ("LANYARD_URL", entry.url.clone()),
        (
            "LANYARD_TOKEN_EXPIRES",
            crate::roles::rfc3339(entry.expires_at),
        ),
    ]
}

/// `entry` in `format`, ending with a newline.
pub fn render(entry: &Entry, format: Format, now: UnixTime) -> String {
    match format {
        Format::Env => environment(entry)
            .iter()
            .map(|(name, value)| format!("export {name}={}\n", shell_quote(value)))
            .collect(),
        Format::Json => {
            let json = serde_json::json!({
                "access_token": entry.access_token.expose_secret(),
                "token_type": "Bearer",
                "role": entry.role,
                "expires_at": crate::roles::rfc3339(entry.expires_at),
                "expires_in": now.until(entry.expires_at).as_secs(),
            });
            format!("{json}\n")
        }
        Format::CredentialProcess => {
            let json = serde_json::json!({
                "Version": 1,
                "AccessToken": entry.access_token.expose_secret(),
                "Expiration": crate::roles::rfc3339(entry.expires_at),
            });
            format!("{json}\n")
        }
    }
}

/// `value` in single quotes for a POSIX shell (a `'` inside becomes `'\''`).
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Runs `command` with `env` added to this environment and exits as it did: its exit code,
/// or 128 + the signal that ended it. SIGTERM and SIGHUP sent to `lanyard` are passed on;
/// SIGINT and SIGQUIT from the terminal reach the command directly (same process group),
/// so `lanyard` only outlives them to report the command's end.
pub fn exec(command: &[OsString], env: Vec<(&'static str, String)>) -> ExitCode {
    let Some((program, args)) = command.split_first() else {
        eprintln!("lanyard: exec needs a command after `--`");
        return ExitCode::from(1);
    };
    let runtime = match crate::cli::local_runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lanyard: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        let mut child = match tokio::process::Command::new(program)
            .args(args)
            .envs(env)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("lanyard: cannot run {}: {e}", program.to_string_lossy());
                // The shell's codes: 127 not found, 126 found but not runnable.
                let code = if e.kind() == std::io::ErrorKind::NotFound {
                    127
                } else {
                    126
                };
                return ExitCode::from(code);
            }
        };
        match wait_forwarding(&mut child).await {
            Ok(status) => exit_code_of(status),
            Err(e) => {
                eprintln!("lanyard: waiting for the command failed: {e}");
                ExitCode::from(1)
            }
        }
    })
}

/// Waits for `child`, passing SIGTERM and SIGHUP on to it and outliving SIGINT and SIGQUIT.
async fn wait_forwarding(
    child: &mut tokio::process::Child,
) -> std::io::Result<std::process::ExitStatus> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut quit = signal(SignalKind::quit())?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(rustix::process::Pid::from_raw);
    let forward = |sig: rustix::process::Signal| {
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, sig);
        }
    };
    loop {
        tokio::select! {
            status = child.wait() => return status,
            _ = term.recv() => forward(rustix::process::Signal::TERM),
            _ = hup.recv() => forward(rustix::process::Signal::HUP),
            _ = int.recv() => {}
            _ = quit.recv() => {}
        }
    }
}

/// The exit code for a finished command: its own, or 128 + the signal that ended it.
fn exit_code_of(status: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn entry() -> Entry {
        Entry {
            url: "https://sso.example.com".into(),
            role: "engineer".into(),
            client_id: "lanyard-cli".into(),
            access_token: Secret::new("eyJ.token.sig"),
            refresh_token: None,
            expires_at: UnixTime::from_secs(1_800_000_000),
        }
    }

    #[test]
    fn the_three_formats() {
        let now = UnixTime::from_secs(1_800_000_000 - 600);
        let env = render(&entry(), Format::Env, now);
        assert_eq!(
            env,
            "export LANYARD_TOKEN='eyJ.token.sig'\nexport LANYARD_ROLE='engineer'\n\
             export LANYARD_URL='https://sso.example.com'\n\
             export LANYARD_TOKEN_EXPIRES='2027-01-15T08:00:00Z'\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&entry(), Format::Json, now)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"access_token": "eyJ.token.sig", "token_type": "Bearer",
                "role": "engineer", "expires_at": "2027-01-15T08:00:00Z", "expires_in": 600})
        );
        let hook: serde_json::Value =
            serde_json::from_str(&render(&entry(), Format::CredentialProcess, now)).unwrap();
        assert_eq!(
            hook,
            serde_json::json!({"Version": 1, "AccessToken": "eyJ.token.sig",
                "Expiration": "2027-01-15T08:00:00Z"})
        );
    }

    #[test]
    fn values_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }
}
