//! Audit events as CSV (RFC 4180): one header line, one line per event, every field quoted
//! when it holds a comma, a quote or a line break. A field that a spreadsheet would read
//! as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) is
//! prefixed with `'` (OWASP, "CSV Injection").

use super::AuditEvent;

/// The columns, in order.
pub const CSV_COLUMNS: [&str; 14] = [
    "id",
    "time",
    "time_ms",
    "event",
    "door",
    "provider",
    "subject",
    "role",
    "session_name",
    "role_session",
    "client_id",
    "source_ip",
    "statements",
    "reason",
];

/// `events` as CSV text, with a header line; lines end with CRLF.
pub fn csv(events: &[AuditEvent]) -> String {
    let mut out = String::new();
    push_line(&mut out, CSV_COLUMNS.iter().map(|c| (*c).to_owned()));
    for e in events {
        let opt = |v: Option<&str>| v.unwrap_or_default().to_owned();
        push_line(
            &mut out,
            [
                e.id.clone(),
                rfc3339_ms(e.time_ms),
                e.time_ms.to_string(),
                e.event.as_str().to_owned(),
                opt(e.door.map(|d| d.as_str())),
                opt(e.provider.as_deref()),
                opt(e.subject.as_deref()),
                opt(e.role.as_deref()),
                opt(e.session_name.as_deref()),
                opt(e.role_session.as_deref()),
                opt(e.client_id.as_deref()),
                opt(e.source_ip.as_deref()),
                e.statements.join(" "),
                opt(e.reason.as_deref()),
            ]
            .into_iter(),
        );
    }
    out
}

fn push_line(out: &mut String, cells: impl Iterator<Item = String>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&field(&cell));
    }
    out.push_str("\r\n");
}

fn field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Milliseconds since the epoch as RFC 3339 UTC with milliseconds.
fn rfc3339_ms(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::EventKind;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        let mut e = AuditEvent::new(EventKind::SignInFailed, 1_700_000_000_123);
        e.id = "e1".to_owned();
        e.subject = Some("=HYPERLINK(\"x\")".to_owned());
        e.reason = Some("bad, \"very\"".to_owned());
        let text = csv(&[e]);
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next(), Some(CSV_COLUMNS.join(",").as_str()));
        let line = lines.next().unwrap();
        assert!(
            line.starts_with("e1,2023-11-14T22:13:20.123Z,1700000000123,signin.failed,,"),
            "{line}"
        );
        assert!(line.contains(",\"'=HYPERLINK(\"\"x\"\")\","), "{line}");
        assert!(line.ends_with(",\"bad, \"\"very\"\"\""), "{line}");
    }
}
