//! Fleet mode (`--fleet 1,3`): the sign-in scenario (3), the authorization code flow of a
//! local user, against N `lanyard serve` processes behind HAProxy on 127.0.0.1, instead of
//! a Lanyard in this process. Every size gets a fresh fleet: one config (the same file but
//! for `bind`), one signing key generated before the instances start, the local Redis
//! under the run's prefix, and an audit trail per instance as `--audit` says (SQLite: a
//! file of each instance's own). HAProxy balances round robin with no stickiness and
//! health-checks `/readyz`, as in the fleet test (`tests/it/fleet.rs`).
//!
//! Besides the rates, each row reports the CPU seconds the Lanyard processes, HAProxy
//! and this tool spent per sign-in (from `/proc`), which explains the figures on a
//! machine with fewer cores than processes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Args, Report, Stats};

/// The options of fleet mode.
#[derive(Debug, clap::Args)]
pub struct FleetArgs {
    /// Fleet mode: run the sign-in scenario against this many `lanyard serve` processes
    /// behind HAProxy, once per size given (e.g. `1,3`), instead of the other scenarios.
    #[arg(long = "fleet", value_delimiter = ',')]
    pub sizes: Vec<usize>,
    /// The HAProxy binary fleet mode puts in front.
    #[arg(long, default_value = "/usr/sbin/haproxy")]
    pub haproxy: PathBuf,
}

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Process {
    /// CPU seconds (user + system) the process has used so far.
    fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.0.id())
    }
}

/// User + system CPU seconds of process `pid` so far (0 once it is gone).
fn cpu_seconds(pid: u32) -> f64 {
    super::signin::cpu_time(pid).map_or(0.0, |d| d.as_secs_f64())
}

/// Runs the sign-in scenario against each fleet size of `args`.
pub fn run(args: &Args) -> Result<Report, String> {
    let redis = url::Url::parse(&args.redis).map_err(|e| e.to_string())?;
    if !matches!(redis.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) {
        return Err("the load tool only sends traffic to 127.0.0.1".into());
    }
    let lanyard = match args.lanyard_bin.first() {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("lanyard"),
    };
    if !lanyard.exists() {
        return Err(format!(
            "{} not found: build it (cargo build --release --bin lanyard) or pass --lanyard-bin",
            lanyard.display()
        ));
    }
    println!(
        "lanyard-loadgen fleet mode: {} s per size, {} concurrent clients, {} cores, {}, audit trail: {:?}",
        args.seconds,
        args.concurrency,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        lanyard.display(),
        args.audit,
    );
    println!(
        "password hashing for the code flow: argon2id m=8 KiB, t=1, p=1 (the minimum the library accepts)"
    );
    let prefix = format!("loadgen:{}:", lanyard::session::random_id().expose_secret());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("loadgen")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!();
    super::print_table_header();
    let mut rows = Vec::new();
    let mut cpu = Vec::new();
    for &size in &args.fleet.sizes {
        let measured = runtime.block_on(measure(args, &lanyard, size, &prefix));
        match measured {
            Ok((stats, per_signin)) => {
                stats.print();
                cpu.push((size, stats.rate(), per_signin));
                rows.push(stats);
            }
            Err(e) => {
                let _ = runtime.block_on(crate::remove_keys(&args.redis, &prefix));
                return Err(format!("fleet of {size}: {e}"));
            }
        }
    }
    println!();
    for (size, rate, (lanyard_cpu, haproxy_cpu, tool_cpu)) in cpu {
        println!(
            "fleet of {size}: {rate:.0} code flows/s ({:.0} HTTP requests/s); CPU ms per sign-in: \
             Lanyard processes {:.2}, HAProxy {:.2}, load tool {:.2}",
            rate * 7.0,
            lanyard_cpu * 1000.0,
            haproxy_cpu * 1000.0,
            tool_cpu * 1000.0
        );
    }
    runtime.block_on(crate::remove_keys(&args.redis, &prefix))?;
    Ok(Report { rows, prefix })
}

/// One fleet of `size`: started, measured for `--seconds`, stopped. Returns the stats and
/// the CPU seconds per sign-in of the Lanyard processes, HAProxy and this tool.
async fn measure(
    args: &Args,
    lanyard: &Path,
    size: usize,
    prefix: &str,
) -> Result<(Stats, (f64, f64, f64)), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let keys = dir.path().join("keys");
    let out = Command::new(lanyard)
        .args(["keys", "generate", "--alg", "ES256", "--dir"])
        .arg(&keys)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "lanyard keys generate: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let lb_port = free_port()?;
    let public_url = format!("http://127.0.0.1:{lb_port}");
    let text = crate::config_text(
        &public_url,
        &keys,
        &args.redis,
        prefix,
        None,
        crate::AuditSink::None,
    )?;
    let mut instances = Vec::new();
    let mut ports = Vec::new();
    for i in 0..size {
        let port = free_port()?;
        let audit = match args.audit {
            crate::AuditSink::Sqlite => format!(
                "[audit]\ndatabase = \"sqlite:{}\"\n",
                dir.path().join(format!("audit-{i}.db")).display()
            ),
            other => other.section(&dir.path().join(format!("audit-{i}"))),
        };
        if args.audit == crate::AuditSink::File {
            std::fs::create_dir_all(dir.path().join(format!("audit-{i}")))
                .map_err(|e| e.to_string())?;
        }
        // The generated text has no audit section when `AuditSink::None` is asked for
        // but one saying "none": this instance's own replaces it.
        let own = text
            .replace(
                "bind = \"127.0.0.1:0\"",
                &format!("bind = \"127.0.0.1:{port}\""),
            )
            .replace(&crate::AuditSink::None.section(dir.path()), &audit);
        let config = dir.path().join(format!("lanyard-{i}.toml"));
        std::fs::write(&config, own).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.path().join(format!("lanyard-{i}.log")))
            .map_err(|e| e.to_string())?;
        let child = Command::new(lanyard)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env_remove("LANYARD_CONFIG")
            .env("LANYARD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| e.to_string())?;
        instances.push(Process(child));
        ports.push(port);
    }
    let client = crate::http()?;
    for port in &ports {
        wait_ready(&client, &format!("http://127.0.0.1:{port}/readyz")).await?;
    }
    let haproxy_config = dir.path().join("haproxy.cfg");
    std::fs::write(&haproxy_config, haproxy_config_text(lb_port, &ports))
        .map_err(|e| e.to_string())?;
    let haproxy = Process(
        Command::new(&args.fleet.haproxy)
            .arg("-f")
            .arg(&haproxy_config)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", args.fleet.haproxy.display()))?,
    );
    // Every instance in the rotation: HAProxy marks a server up after two good checks.
    wait_ready(&client, &format!("{public_url}/readyz")).await?;
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let cpu_before = (
        instances.iter().map(Process::cpu_seconds).sum::<f64>(),
        haproxy.cpu_seconds(),
        cpu_seconds(std::process::id()),
    );
    let base = public_url.clone();
    let stats = crate::drive(
        &format!("fleet of {size} behind HAProxy: code flow (7 req)"),
        args.concurrency,
        Duration::from_secs(args.seconds),
        move |_| {
            let base = base.clone();
            async move { crate::code_flow(&base).await }
        },
    )
    .await?;
    let flows = stats.ok.max(1) as f64;
    let per_signin = (
        (instances.iter().map(Process::cpu_seconds).sum::<f64>() - cpu_before.0) / flows,
        (haproxy.cpu_seconds() - cpu_before.1) / flows,
        (cpu_seconds(std::process::id()) - cpu_before.2) / flows,
    );
    drop(haproxy);
    drop(instances);
    Ok((stats, per_signin))
}

/// HAProxy in front of `ports`: round robin, no stickiness, `/readyz` health checks.
fn haproxy_config_text(port: u16, ports: &[u16]) -> String {
    let servers: String = ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("    server l{} 127.0.0.1:{p} check\n", i + 1))
        .collect();
    format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n    \
         timeout server 30s\n    timeout check 2s\n\
         frontend fleet\n    bind 127.0.0.1:{port}\n    default_backend lanyard\n\
         backend lanyard\n    balance roundrobin\n    option httpchk GET /readyz\n    \
         http-check expect status 200\n    default-server inter 200ms fall 1 rise 2\n    \
         retries 3\n    option redispatch 1\n{servers}"
    )
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Waits (at most 30 s) until `url` answers 200.
async fn wait_ready(client: &reqwest::Client, url: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(url).send().await
            && r.status() == 200
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("{url} did not answer 200 within 30 s"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_that_is_gone_counts_no_cpu() {
        assert_eq!(cpu_seconds(u32::MAX), 0.0);
    }
}
