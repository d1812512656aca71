//! The `lanyard` command line (clap): `serve`, `check-config`, `hash-password`, `client-secret`,
//! `keys generate`, `policy check`, `policy simulate`, `totp enroll`, `audit query`, `health`,
//! `export`, `apply`;
//! and the employee's `login`, `credentials`, `exec`, `roles`, `logout` ([`terminal`]).
//!
//! May import: everything.

mod audit;
mod entities;
mod health;
mod terminal;

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use lanyard_policy::{Context, Policy, PolicyKind, PolicySet, Principal, Request};

use crate::clock::{Clock, SharedClock, SystemClock};
use crate::config::Config;
use crate::secret::Secret;
use crate::tokens::Algorithm;

/// Lanyard: a federation and SSO identity broker.
#[derive(Debug, Parser)]
#[command(name = "lanyard", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the broker.
    Serve {
        /// Config file.
        #[arg(long, env = "LANYARD_CONFIG", default_value = "lanyard.toml")]
        config: PathBuf,
    },
    /// Validate a config file; print every problem with its location.
    CheckConfig {
        /// Config file.
        #[arg(long, env = "LANYARD_CONFIG", default_value = "lanyard.toml")]
        config: PathBuf,
    },
    /// Read a password on stdin, print its argon2id PHC string.
    HashPassword,
    /// Generate a client secret (256 random bits); print it and, on a second line, its
    /// `sha256:` hash for the client's `secret_hash` (checked without argon2id's cost).
    ClientSecret,
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The IAM policy language.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// One-time codes (TOTP, RFC 6238) for local users.
    Totp {
        #[command(subcommand)]
        command: TotpCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Print the entities admins keep in the database (managed policies, providers, roles
    /// and clients written through the admin API or console) as TOML in lanyard.toml's
    /// shapes, for `apply` and for git. Provider secrets are written as "********".
    Export {
        /// Config file (its `[audit] database` is read).
        #[arg(long, env = "LANYARD_CONFIG", default_value = "lanyard.toml")]
        config: PathBuf,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Make the database's entities match a file (create, replace, delete), after
    /// validating every entry as check-config does; prints the changes as a diff.
    Apply {
        /// The file: `[[policies]]`, `[[providers]]`, `[[roles]]` and `[[clients]]` entries,
        /// as `export` writes them.
        file: PathBuf,
        /// Config file (its `[audit] database` is written).
        #[arg(long, env = "LANYARD_CONFIG", default_value = "lanyard.toml")]
        config: PathBuf,
        /// Print the changes and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Sign in from this terminal and keep a role's credentials (a code to approve in any
    /// browser, or --browser on this machine).
    Login(terminal::LoginArgs),
    /// Print a role's stored credentials (refreshed first when about to expire).
    Credentials(terminal::CredentialsArgs),
    /// Run a command with a role's credentials in its environment.
    Exec(terminal::ExecArgs),
    /// List the roles you may take (the current one marked).
    Roles(terminal::RolesArgs),
    /// Revoke and forget stored credentials.
    Logout(terminal::LogoutArgs),
    /// Ask the running broker whether it is ready (`GET /readyz` on the config's bind
    /// address): exit 0 when ready, 1 otherwise. The container's health check.
    Health {
        /// Config file (its `[server] bind` is asked).
        #[arg(long, env = "LANYARD_CONFIG", default_value = "lanyard.toml")]
        config: PathBuf,
        /// Ask this URL instead, e.g. `http://127.0.0.1:8080/readyz`.
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TotpCommand {
    /// Make a new TOTP secret for a local user: prints the otpauth:// URI and a QR code to
    /// scan with an authenticator app, and the line to add to the user in lanyard.toml.
    Enroll {
        /// The local user's username.
        user: String,
        /// Name shown in the authenticator app.
        #[arg(long, default_value = "Lanyard")]
        issuer: String,
        /// Write the secret into this new file (mode 0600) for `totp_secret_file`, instead
        /// of printing it for an environment variable.
        #[arg(long)]
        secret_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Write a new signing key into DIR (it becomes the active key for its algorithm).
    Generate {
        /// ES256, EdDSA or RS256.
        #[arg(long, default_value = "ES256")]
        alg: Algorithm,
        /// Key directory (`[tokens] keys_dir`).
        #[arg(long)]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate policy documents (JSON). A document naming a `Principal` is checked as a
    /// trust or resource policy, any other as a permission policy.
    Check {
        /// Files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Evaluate a request against policies, as AWS would.
    Simulate(SimulateArgs),
}

/// The arguments of `policy simulate`.
#[derive(Debug, Args)]
struct SimulateArgs {
    /// Identity (permission) policies.
    #[arg(long = "policy", required = true)]
    policies: Vec<PathBuf>,
    /// Action, e.g. `s3:GetObject`.
    #[arg(long)]
    action: String,
    /// Resource ARN.
    #[arg(long)]
    resource: String,
    /// JSON object of condition keys to a string or a list of strings.
    #[arg(long)]
    context: Option<PathBuf>,
    /// A resource-based policy.
    #[arg(long)]
    resource_policy: Option<PathBuf>,
    /// A permissions boundary.
    #[arg(long)]
    boundary: Option<PathBuf>,
    /// A session policy.
    #[arg(long)]
    session_policy: Option<PathBuf>,
    /// The caller's ARN, matched against `Principal` in the resource policy (without
    /// it only `"*"` principals match). A resource-policy `Allow` naming this ARN (or
    /// `"*"`) is not limited by the boundary's implicit deny, as in AWS.
    #[arg(long, value_name = "ARN")]
    principal: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Exit code of an invalid command line or invalid input. clap's own default for usage
/// errors is 2, which `policy simulate` uses for Deny; every command answers 1 instead.
const EXIT_USAGE: u8 = 1;

/// A single-threaded runtime for a command that makes a few requests (every command but
/// `serve`), or why none could start.
fn local_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` come here too: printed on stdout, exit 0.
            let code = if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
            // Printing fails only on a closed stdout/stderr; the exit code still tells.
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Serve { config } => serve(&config),
        Command::CheckConfig { config } => match Config::load(&config) {
            Ok(c) => {
                println!(
                    "{}: valid ({} provider{}, {} role{}, {} polic{})",
                    config.display(),
                    c.providers.len(),
                    plural(c.providers.len()),
                    c.roles.len(),
                    plural(c.roles.len()),
                    c.policies.len(),
                    if c.policies.len() == 1 { "y" } else { "ies" }
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprint!("{e}");
                ExitCode::from(1)
            }
        },
        Command::HashPassword => hash_password(),
        Command::ClientSecret => {
            let (secret, hash) = crate::op::clients::generate_secret();
            println!("{}", secret.expose_secret());
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Command::Keys {
            command: KeysCommand::Generate { alg, dir },
        } => match crate::tokens::generate_key(&dir, alg, SystemClock.now()) {
            Ok(path) => {
                println!("{}", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("lanyard: cannot generate a key: {e}");
                ExitCode::from(1)
            }
        },
        Command::Policy {
            command: PolicyCommand::Check { files },
        } => policy_check(&files),
        Command::Policy {
            command: PolicyCommand::Simulate(args),
        } => match simulate(&args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(2),
            Err(e) => {
                eprintln!("lanyard: {e}");
                ExitCode::from(1)
            }
        },
        Command::Totp {
            command:
                TotpCommand::Enroll {
                    user,
                    issuer,
                    secret_file,
                },
        } => totp_enroll(&user, &issuer, secret_file.as_deref()),
        Command::Audit { command } => audit::run(command),
        Command::Export { config, output } => entities::export(&config, output.as_deref()),
        Command::Apply {
            file,
            config,
            dry_run,
        } => entities::apply(&config, &file, dry_run),
        Command::Login(args) => terminal::login(args),
        Command::Credentials(args) => terminal::credentials(args),
        Command::Exec(args) => terminal::exec(args),
        Command::Roles(args) => terminal::roles(args),
        Command::Logout(args) => terminal::logout(args),
        Command::Health { config, url } => health::run(&config, url),
    }
}

fn totp_enroll(user: &str, issuer: &str, secret_file: Option<&Path>) -> ExitCode {
    if user.is_empty() || user.chars().any(char::is_control) {
        eprintln!("lanyard: the username must be non-empty without control characters");
        return ExitCode::from(1);
    }
    let enrolment = match crate::connectors::totp::enroll(user, issuer) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("lanyard: {e}");
            return ExitCode::from(1);
        }
    };
    // Built whole (it holds the secret) and written once, so that a closed pipe is an
    // error exit rather than a panic.
    let mut out = zeroize::Zeroizing::new(String::new());
    let config_line = match secret_file {
        Some(path) => {
            if let Err(e) = write_private(path, enrolment.secret.expose_secret()) {
                eprintln!("lanyard: cannot write {}: {e}", path.display());
                return ExitCode::from(1);
            }
            format!("totp_secret_file = \"{}\"", path.display())
        }
        None => {
            out.push_str("Secret (base32; keep it secret):\n  ");
            out.push_str(enrolment.secret.expose_secret());
            out.push_str("\n\n");
            "totp_secret = \"${LANYARD_TOTP_<USER>}\"   # the secret above, from the environment"
                .to_owned()
        }
    };
    out.push_str("Scan this with an authenticator app (or paste the URI into it):\n  ");
    out.push_str(enrolment.uri.expose_secret());
    out.push('\n');
    if let Some(qr) = crate::connectors::totp::terminal_qr(enrolment.uri.expose_secret()) {
        out.push_str(&qr);
        out.push('\n');
    }
    out.push_str(&format!(
        "Then add to the user \"{user}\" in lanyard.toml:\n  {config_line}\n"
    ));
    let mut stdout = std::io::stdout().lock();
    match std::io::Write::write_all(&mut stdout, out.as_bytes())
        .and_then(|()| std::io::Write::flush(&mut stdout))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lanyard: cannot write the enrolment: {e}");
            ExitCode::from(1)
        }
    }
}

/// Creates `path` (which must not exist) readable by its owner only, and writes `text`.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn serve(path: &Path) -> ExitCode {
    crate::telemetry::init();
    let (config, text) = match Config::load_with_text(path) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lanyard: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let clock: SharedClock = Arc::new(SystemClock);
    match runtime.block_on(crate::server::run(path, config, &text, clock)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("lanyard: {e}");
            ExitCode::from(1)
        }
    }
}

fn hash_password() -> ExitCode {
    let mut line = String::new();
    let stdin = std::io::stdin();
    if stdin.lock().read_line(&mut line).is_err() {
        eprintln!("lanyard: cannot read a password from stdin");
        return ExitCode::from(1);
    }
    let password = Secret::new(line.trim_end_matches(['\r', '\n']));
    if password.is_empty() {
        eprintln!("lanyard: the password is empty");
        return ExitCode::from(1);
    }
    match crate::connectors::local::hash_password(&password) {
        Ok(hash) => {
            println!("{}", hash.expose_secret());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lanyard: {e}");
            ExitCode::from(1)
        }
    }
}

/// Reads a policy file as `kind`, or as the kind its content suggests when `kind` is `None`.
fn read_policy(path: &Path, kind: Option<PolicyKind>) -> Result<Policy, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let kind = match kind {
        Some(k) => k,
        None => serde_json::from_str::<serde_json::Value>(&text)
            .map(|v| PolicyKind::detect(&v))
            .unwrap_or(PolicyKind::Identity),
    };
    Policy::parse(&name, &text, kind).map_err(|errors| {
        errors
            .iter()
            .map(|e| format!("{}: {e}", path.display()))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn policy_check(files: &[PathBuf]) -> ExitCode {
    let mut ok = true;
    for f in files {
        match read_policy(f, None) {
            Ok(p) => println!("{}: valid {:?} policy", f.display(), p.kind()),
            Err(e) => {
                ok = false;
                eprintln!("{e}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A `--context` file: a JSON object of condition keys to a string or a list of strings.
fn read_context(path: &Path) -> Result<Context, String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    Context::from_json(&value).map_err(|e| format!("{}: {e}", path.display()))
}

/// `policy simulate`: prints the decision and which statements decided it; `Ok(true)` on
/// Allow.
fn simulate(args: &SimulateArgs) -> Result<bool, String> {
    if let Some(arn) = args
        .principal
        .as_deref()
        .filter(|a| !a.starts_with("arn:") || a.contains(char::is_whitespace))
    {
        return Err(format!("--principal: \"{arn}\" is not an ARN"));
    }
    let identity = args
        .policies
        .iter()
        .map(|p| read_policy(p, Some(PolicyKind::Identity)))
        .collect::<Result<Vec<_>, _>>()?;
    let optional = |path: &Option<PathBuf>, kind| {
        path.as_deref()
            .map(|p| read_policy(p, Some(kind)))
            .transpose()
    };
    let resource_policy = optional(&args.resource_policy, PolicyKind::Resource)?;
    let boundary = optional(&args.boundary, PolicyKind::Boundary)?;
    let session = optional(&args.session_policy, PolicyKind::Session)?;
    let context = match &args.context {
        None => Context::new(),
        Some(path) => read_context(path)?,
    };
    let set = PolicySet {
        identity: identity.iter().collect(),
        resource: resource_policy.as_ref(),
        boundary: boundary.as_ref(),
        session: session.as_ref(),
    };
    let decision = lanyard_policy::evaluate(
        &set,
        &Request {
            principal: args.principal.as_deref().map(Principal::Aws),
            action: &args.action,
            resource: &args.resource,
            context: &context,
        },
    );
    let allowed = decision.outcome.is_allowed();
    if args.json {
        let out = serde_json::json!({
            "decision": if allowed { "Allow" } else { "Deny" },
            "reason": decision.outcome,
            "explanation": decision.reason,
            "statements": decision.statements,
        });
        println!("{out:#}");
    } else {
        println!(
            "{} ({:?}): {}",
            if allowed { "Allow" } else { "Deny" },
            decision.outcome,
            decision.reason
        );
        for s in &decision.statements {
            match &s.sid {
                Some(sid) => println!("  {} Statement[{}] Sid {sid}", s.policy, s.index),
                None => println!("  {} Statement[{}]", s.policy, s.index),
            }
        }
    }
    Ok(allowed)
}
