//! The console's audit trail: filters (person, role, provider, event, time), a page of
//! events newest first with a link to the next, and the same selection exported as CSV or
//! JSON ([`crate::admin::Admin::audit_events`], `lanyard:ListAuditEvents` on the trail).
//!
//! May import: `admin`, `audit`, `web`.

use askama::Template;
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Console, Nav, render, when_ms};
use crate::admin::{AUDIT, Action, MAX_AUDIT_PAGE};
use crate::audit::{AuditQuery, EventKind};
use crate::web::extract::Browser;
use crate::web::i18n::{Locale, Msg};
// The `rich` macro of `templates/i18n.html` matches on it in the generated code.
#[allow(unused_imports)]
use crate::web::i18n::Tag;

/// How many events a console page shows.
const PAGE: u32 = 50;

/// The filters, as the form and the links carry them.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    person: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    event: String,
    /// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` (UTC), inclusive.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD` (the whole day) or `YYYY-MM-DDTHH:MM` (UTC), exclusive.
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
    /// `csv` or `json` (the export).
    #[serde(default)]
    format: String,
}

/// One event on the page.
pub struct EventRow {
    /// When.
    pub time: String,
    /// What.
    pub event: String,
    /// Who (`{provider}:{subject}` where both are known).
    pub person: String,
    /// The role.
    pub role: String,
    /// Why, or what else is known.
    pub detail: String,
}

/// `GET /admin/audit`.
#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    t: Locale,
    nav: Nav,
    person: String,
    role: String,
    provider: String,
    from: String,
    to: String,
    events: Vec<(String, bool)>,
    rows: Vec<EventRow>,
    /// A filter that could not be read.
    error: Option<String>,
    next: Option<String>,
    csv: String,
    json: String,
}

/// A time filter in milliseconds: `YYYY-MM-DD` (its start; with `end`, the next day's
/// start) or `YYYY-MM-DDTHH:MM[:SS]` (UTC).
fn millis(text: &str, end: bool) -> Result<Option<i64>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let date_fmt = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = time::Date::parse(text, &date_fmt) {
        let day = date.midnight().assume_utc().unix_timestamp();
        let day = if end { day + 86_400 } else { day };
        return Ok(Some(day * 1000));
    }
    let minute = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let second = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(text, &minute)
        .or_else(|_| time::PrimitiveDateTime::parse(text, &second))
        .map(|t| Some(t.assume_utc().unix_timestamp() * 1000))
        .map_err(|_| ())
}

impl Filters {
    /// The query these filters ask, or the message saying which filter is not valid.
    fn query(&self, limit: u32) -> Result<AuditQuery, Msg> {
        let event = match self.event.trim() {
            "" => None,
            e => Some(EventKind::parse(e).ok_or_else(|| Msg::new("admin-audit-bad-event"))?),
        };
        let since_ms = millis(&self.from, false).map_err(|()| Msg::new("admin-audit-bad-time"))?;
        let until_ms = millis(&self.to, true).map_err(|()| Msg::new("admin-audit-bad-time"))?;
        let after = match self.cursor.trim() {
            "" => None,
            c => Some(
                AuditQuery::parse_cursor(c).ok_or_else(|| Msg::new("admin-audit-bad-cursor"))?,
            ),
        };
        // A person is `{provider}:{subject}`; the trail keeps the two apart.
        let (mut provider, mut subject) = (non_empty(&self.provider), None);
        if let Some(person) = non_empty(&self.person) {
            match person.split_once(':') {
                Some((p, s)) if provider.is_none() || provider.as_deref() == Some(p) => {
                    provider = Some(p.to_owned());
                    subject = Some(s.to_owned());
                }
                _ => subject = Some(person),
            }
        }
        Ok(AuditQuery {
            subject,
            role: non_empty(&self.role),
            provider,
            event,
            role_session: None,
            since_ms,
            until_ms,
            after,
            limit,
        })
    }

    /// The filters as a query string (without the cursor), `format` added when given.
    fn link(&self, format: Option<&str>, cursor: Option<&str>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("person", &self.person),
            ("role", &self.role),
            ("provider", &self.provider),
            ("event", &self.event),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.trim().is_empty() {
                q.append_pair(k, v.trim());
            }
        }
        if let Some(c) = cursor {
            q.append_pair("cursor", c);
        }
        if let Some(f) = format {
            q.append_pair("format", f);
        }
        q.finish()
    }
}

fn non_empty(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// `GET /admin/audit`: a page of the audit trail, filtered.
pub async fn list(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Query(f): Query<Filters>,
) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts, t, "/admin/audit").await?;
            let caller = c.allow(Action::ListAuditEvents, AUDIT).await?;
            let mut page = AuditPage {
                t,
                nav: c.nav("audit"),
                person: f.person.clone(),
                role: f.role.clone(),
                provider: f.provider.clone(),
                from: f.from.clone(),
                to: f.to.clone(),
                events: EventKind::ALL
                    .iter()
                    .map(|e| (e.as_str().to_owned(), e.as_str() == f.event))
                    .collect(),
                rows: Vec::new(),
                error: None,
                next: None,
                csv: format!("/admin/audit/export?{}", f.link(Some("csv"), None)),
                json: format!("/admin/audit/export?{}", f.link(Some("json"), None)),
            };
            let query = match f.query(PAGE) {
                Ok(q) => q,
                Err(why) => {
                    page.error = Some(t.say(&why));
                    return Ok(render(StatusCode::BAD_REQUEST, &page));
                }
            };
            let events = c
                .state
                .admin
                .audit_events(&query, &caller)
                .await
                .map_err(|e| c.error(e))?;
            page.next = events
                .next_cursor
                .map(|cursor| format!("/admin/audit?{}", f.link(None, Some(&cursor))));
            page.rows = events
                .events
                .into_iter()
                .map(|e| EventRow {
                    time: when_ms(e.time_ms),
                    event: e.event.as_str().to_owned(),
                    person: match (&e.provider, &e.subject) {
                        (Some(p), Some(s)) => format!("{p}:{s}"),
                        (None, Some(s)) => s.clone(),
                        _ => String::new(),
                    },
                    role: e.role.map(|r| r.into_string()).unwrap_or_default(),
                    detail: e.reason.unwrap_or_else(|| {
                        if e.detail.is_null() {
                            String::new()
                        } else {
                            e.detail.to_string()
                        }
                    }),
                })
                .collect();
            Ok(render(StatusCode::OK, &page))
        }
        .await,
    )
}

/// `GET /admin/audit/export?format=csv|json&…`: the events the filters select (at most
/// [`MAX_AUDIT_PAGE`], newest first) as a file to download.
pub async fn export(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Query(f): Query<Filters>,
) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts, t, "/admin/audit").await?;
            let caller = c.allow(Action::ListAuditEvents, AUDIT).await?;
            let query = f.query(MAX_AUDIT_PAGE).map_err(|why| {
                c.problem(StatusCode::BAD_REQUEST, why, "an audit filter is not valid")
            })?;
            let events = c
                .state
                .admin
                .audit_events(&query, &caller)
                .await
                .map_err(|e| c.error(e))?
                .events;
            let (body, kind, file) = if f.format == "json" {
                let body = serde_json::to_string_pretty(&serde_json::json!({ "events": events }))
                    .unwrap_or_default();
                (
                    body,
                    "application/json",
                    "attachment; filename=\"audit.json\"",
                )
            } else {
                (
                    crate::audit::csv(&events),
                    "text/csv; charset=utf-8",
                    "attachment; filename=\"audit.csv\"",
                )
            };
            Ok((
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
                    (header::CONTENT_DISPOSITION, HeaderValue::from_static(file)),
                ],
                body,
            )
                .into_response())
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_filters_are_utc_days_or_minutes() {
        // 2026-11-28T00:00:00Z
        let day = 1_795_824_000_000;
        assert_eq!(millis("", false), Ok(None));
        assert_eq!(millis("2026-11-28", false), Ok(Some(day)));
        assert_eq!(
            millis("2026-11-28", true),
            Ok(Some(day + 86_400_000)),
            "the whole day"
        );
        assert_eq!(
            millis(" 2026-11-28T18:30 ", false),
            Ok(Some(day + 66_600_000))
        );
        assert_eq!(
            millis("2026-11-28T18:30:15", true),
            Ok(Some(day + 66_615_000))
        );
        for bad in ["yesterday", "2026-13-01", "28.11.2026", "2026-11-28T25:00"] {
            assert_eq!(millis(bad, false), Err(()), "{bad}");
        }
    }

    #[test]
    fn a_person_filter_is_split_into_provider_and_subject() {
        let f = Filters {
            person: "corp:alice".into(),
            ..Filters::default()
        };
        let q = f.query(10).unwrap();
        assert_eq!(q.provider.as_deref(), Some("corp"));
        assert_eq!(q.subject.as_deref(), Some("alice"));
        let f = Filters {
            person: "alice".into(),
            event: "nope".into(),
            ..Filters::default()
        };
        assert!(f.query(10).is_err(), "an unknown event");
        let f = Filters {
            role: "eng".into(),
            from: "2026-11-28".into(),
            ..Filters::default()
        };
        assert_eq!(
            f.link(Some("csv"), Some("1.x")),
            "role=eng&from=2026-11-28&cursor=1.x&format=csv"
        );
    }
}
