//! `lanyard audit query`: reads the audit database of a config file and prints the
//! matching events, newest first, as a table or as JSON lines (`--json`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::audit::{Audit, AuditEvent, AuditQuery, EventKind};
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::config::Config;

use super::EXIT_USAGE;

/// `lanyard audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print audit events from the configured database, newest first.
    Query {
        /// Config file (its `[audit] database` is read).
        #[arg(long, env = "LANYARD_CONFIG", default_value = "lanyard.toml")]
        config: PathBuf,
        /// Only this subject (as the upstream provider names it).
        #[arg(long)]
        subject: Option<String>,
        /// Only this role.
        #[arg(long)]
        role: Option<String>,
        /// Only this upstream identity provider.
        #[arg(long)]
        provider: Option<String>,
        /// Only this event (`credentials.issued`, `signin.failed`, `key.rotated`, …).
        #[arg(long)]
        event: Option<String>,
        /// Only this role session (the `sid` of a token).
        #[arg(long)]
        role_session: Option<String>,
        /// Only events since a duration ago (`1h`, `7d`) or a time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs an `audit` subcommand.
pub fn run(command: AuditCommand) -> ExitCode {
    let AuditCommand::Query {
        config,
        subject,
        role,
        provider,
        event,
        role_session,
        since,
        limit,
        json,
    } = command;
    let parsed = (|| {
        let event = event
            .map(|name| {
                EventKind::parse(&name).ok_or_else(|| {
                    let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                    format!(
                        "--event: unknown event {name:?}; one of {}",
                        known.join(", ")
                    )
                })
            })
            .transpose()?;
        let since_ms = since
            .map(|s| parse_since(&s, SystemClock.now()))
            .transpose()?;
        if limit == 0 {
            return Err("--limit must be at least 1".to_owned());
        }
        Ok(AuditQuery {
            subject,
            role,
            provider,
            event,
            role_session,
            since_ms,
            until_ms: None,
            after: None,
            limit,
        })
    })();
    let query = match parsed {
        Ok(q) => q,
        Err(e) => {
            eprintln!("lanyard: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let config = match Config::load(&config) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(1);
        }
    };
    match read(&config, &query) {
        Ok(events) if json => {
            for e in &events {
                match serde_json::to_string(e) {
                    Ok(line) => println!("{line}"),
                    Err(err) => eprintln!("lanyard: event {}: {err}", e.id),
                }
            }
            ExitCode::SUCCESS
        }
        Ok(events) => {
            print!("{}", table(&events));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lanyard: {e}");
            ExitCode::from(1)
        }
    }
}

fn read(config: &Config, query: &AuditQuery) -> Result<Vec<AuditEvent>, String> {
    let runtime = super::local_runtime()?;
    runtime.block_on(async {
        // Inside the runtime: the database pool starts its maintenance task when opened.
        let audit = Audit::from_settings(&config.audit).map_err(|e| e.to_string())?;
        let db = audit.database().ok_or_else(|| {
            "no audit database is configured ([audit] database = \"none\")".to_owned()
        })?;
        let events = crate::audit::query(db, query).await;
        db.close().await;
        events.map_err(|e| e.to_string())
    })
}

/// `--since`: a duration before `now` (`90m`, `1h`, `7d`) or an RFC 3339 time; in
/// milliseconds since the epoch.
fn parse_since(text: &str, now: UnixTime) -> Result<i64, String> {
    if let Ok(ago) = humantime::parse_duration(text) {
        let ago = i64::try_from(ago.as_millis()).unwrap_or(i64::MAX);
        return Ok(now.millis().saturating_sub(ago));
    }
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            format!(
                "--since: {text:?} is neither a duration (\"1h\", \"7d\") nor an RFC 3339 time \
                 (\"2026-11-28T09:00:00Z\")"
            )
        })?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| format!("--since: {text:?} is out of range"))
}

/// The events as an aligned table, a header first; `-` for empty fields.
fn table(events: &[AuditEvent]) -> String {
    const HEADER: [&str; 9] = [
        "TIME",
        "EVENT",
        "DOOR",
        "PROVIDER",
        "SUBJECT",
        "ROLE",
        "CLIENT",
        "SOURCE IP",
        "ROLE SESSION",
    ];
    let rows: Vec<[String; 9]> = events
        .iter()
        .map(|e| {
            [
                rfc3339(e.time_ms),
                e.event.as_str().to_owned(),
                e.door
                    .map_or_else(|| "-".to_owned(), |d| d.as_str().to_owned()),
                cell(e.provider.as_deref()),
                cell(e.subject.as_deref()),
                cell(e.role.as_deref()),
                cell(e.client_id.as_deref()),
                cell(e.source_ip.as_deref()),
                cell(e.role_session.as_deref()),
            ]
        })
        .collect();
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(&HEADER.map(str::to_owned));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

/// Milliseconds since the epoch as an RFC 3339 UTC time, to the second.
fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// A table cell: the value, or `-` when there is none.
fn cell(value: Option<&str>) -> String {
    value.unwrap_or("-").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Door;

    const NOW: i64 = 1_795_824_000; // 2026-11-28T00:00:00Z

    #[test]
    fn since_takes_a_duration_or_a_time() {
        assert_eq!(
            parse_since("1h", UnixTime::from_secs(NOW)),
            Ok((NOW - 3600) * 1000)
        );
        assert_eq!(
            parse_since("7d", UnixTime::from_secs(NOW)),
            Ok((NOW - 7 * 86_400) * 1000)
        );
        assert_eq!(
            parse_since("2026-11-27T23:00:00Z", UnixTime::from_secs(NOW)),
            Ok((NOW - 3600) * 1000)
        );
        assert_eq!(
            parse_since("2026-11-28T01:00:00+01:00", UnixTime::from_secs(NOW)),
            Ok(NOW * 1000)
        );
        for bad in ["yesterday", "", "1 fortnight", "2026-11-28"] {
            let err = parse_since(bad, UnixTime::from_secs(NOW)).unwrap_err();
            assert!(err.starts_with("--since:"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_table_aligns_columns_and_marks_empty_fields() {
        let mut issued = AuditEvent::new(EventKind::CredentialsIssued, NOW * 1000);
        issued.door = Some(Door::StsWebIdentity);
        issued.provider = Some("ci".into());
        issued.subject = Some("repo:acme/app:ref:refs/heads/main".into());
        issued.role = Some("deployer".into());
        issued.role_session = Some("rs-1".into());
        let key = AuditEvent::new(EventKind::KeyRotated, NOW * 1000 + 1500);
        let text = table(&[issued, key]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0].starts_with("TIME                  EVENT"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("2026-11-28T00:00:00Z  credentials.issued  sts_web_identity  ci"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("2026-11-28T00:00:01Z  key.rotated         -"),
            "{text}"
        );
        // Every row has its ROLE SESSION column where the header has it.
        let at = lines[0].find("ROLE SESSION").unwrap();
        assert_eq!(&lines[1][at..], "rs-1");
        assert_eq!(&lines[2][at..], "-");
    }
}
