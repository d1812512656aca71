//! The console's sessions: the live SSO sessions with their role sessions, filtered by
//! person, role or provider and paged; revoking one session, every session of a person or
//! every role session of a role, each after a confirmation page
//! ([`crate::admin::sessions`]).
//!
//! May import: `admin`, `identity`, `sso`, `web`.

use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Console, Nav, Posted, render, when};
use crate::admin::Action;
use crate::admin::AdminError;
use crate::admin::sessions::{
    ALL_SESSIONS, SessionFilter, SessionRef, revoked_resource, session_resource,
};
use crate::identity::{ProviderId, RoleName};
use crate::roles::is_valid_role_name;
use crate::sso::Revoked;
use crate::web::extract::{Browser, PageForm};
use crate::web::i18n::Locale;
// The `rich` macro of `templates/i18n.html` matches on it in the generated code.
#[allow(unused_imports)]
use crate::web::i18n::Tag;

/// A role session on the list.
pub struct RoleSessionRow {
    /// The role.
    pub role: String,
    /// When it ends.
    pub expires: String,
}

/// An SSO session on the list.
pub struct SessionRow {
    /// Its handle.
    pub id: String,
    /// `{provider}:{subject}`.
    pub person: String,
    /// The username.
    pub username: String,
    /// The provider.
    pub provider: String,
    /// When they signed in.
    pub since: String,
    /// When it ends unless used.
    pub expires: String,
    /// Its live role sessions.
    pub role_sessions: Vec<RoleSessionRow>,
}

/// `GET /admin/sessions`.
#[derive(Template)]
#[template(path = "admin_sessions.html")]
struct ListPage {
    t: Locale,
    nav: Nav,
    person: String,
    role: String,
    provider: String,
    sessions: Vec<SessionRow>,
    /// The next page's address, when there is one.
    next: Option<String>,
    /// A revocation just made: how many were ended.
    revoked: Option<u64>,
}

/// The list's filters.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    person: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    provider: String,
    cursor: Option<String>,
    revoked: Option<u64>,
}

/// `GET /admin/sessions`: a page of live sessions (`lanyard:ListSessions` on `session/*`).
pub async fn list(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Query(q): Query<ListQuery>,
) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts, t, "/admin/sessions").await?;
            let caller = c.allow(Action::ListSessions, ALL_SESSIONS).await?;
            let (person, role, provider) = (q.person.trim(), q.role.trim(), q.provider.trim());
            let filter = SessionFilter {
                person: Some(person.to_owned()).filter(|p| !p.is_empty()),
                role: Some(role).filter(|r| !r.is_empty()).map(RoleName::new),
                provider: Some(provider)
                    .filter(|p| !p.is_empty())
                    .map(ProviderId::new),
            };
            let page = c
                .state
                .admin
                .list_sessions(&c.state.sso, &filter, q.cursor.as_deref(), &caller)
                .await
                .map_err(|e| c.error(e))?;
            let next = page.next.map(|cursor| {
                let mut query = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in [("person", person), ("role", role), ("provider", provider)] {
                    if !v.is_empty() {
                        query.append_pair(k, v);
                    }
                }
                query.append_pair("cursor", &cursor);
                format!("/admin/sessions?{}", query.finish())
            });
            let sessions = page
                .sessions
                .into_iter()
                .map(|s| SessionRow {
                    id: s.id.as_str().to_owned(),
                    person: s.person,
                    username: s.username,
                    provider: s.provider.to_string(),
                    since: when(s.created_at),
                    expires: when(s.expires_at),
                    role_sessions: s
                        .role_sessions
                        .into_iter()
                        .map(|r| RoleSessionRow {
                            role: r.role.into_string(),
                            expires: when(r.expires_at),
                        })
                        .collect(),
                })
                .collect();
            Ok(render(
                StatusCode::OK,
                &ListPage {
                    t,
                    nav: c.nav("sessions"),
                    person: person.to_owned(),
                    role: role.to_owned(),
                    provider: provider.to_owned(),
                    sessions,
                    next,
                    revoked: q.revoked,
                },
            ))
        }
        .await,
    )
}

/// What to revoke: one of `session`, `person`, `role`.
#[derive(Debug, Default, Deserialize)]
pub struct Target {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    session: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    role: String,
    /// Why (kept in the audit trail).
    #[serde(default)]
    reason: String,
}

impl Posted for Target {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// What a revocation is about.
enum What {
    Session(SessionRef),
    Revoked(Revoked),
}

impl What {
    fn of(t: &Target) -> Option<What> {
        match (t.session.trim(), t.person.trim(), t.role.trim()) {
            (s, "", "") if !s.is_empty() => SessionRef::parse(s).map(What::Session),
            ("", p, "") if !p.is_empty() => Some(What::Revoked(Revoked::Person(p.to_owned()))),
            ("", "", r) if is_valid_role_name(r) => {
                Some(What::Revoked(Revoked::Role(RoleName::new(r))))
            }
            _ => None,
        }
    }

    fn resource(&self) -> String {
        match self {
            What::Session(id) => session_resource(id),
            What::Revoked(r) => revoked_resource(r),
        }
    }
}

/// The confirmation of a revocation.
#[derive(Template)]
#[template(path = "admin_revoke.html")]
struct ConfirmPage {
    t: Locale,
    nav: Nav,
    csrf: String,
    /// `session`, `person` or `role`: the hidden field's name.
    kind: &'static str,
    /// Its value.
    target: String,
}

/// `GET /admin/sessions/revoke?session=…|person=…|role=…`: asks to confirm a revocation
/// the caller may make (`lanyard:RevokeSessions` on its resource).
pub async fn confirm(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Query(target): Query<Target>,
) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts, t, "/admin/sessions").await?;
            let what = What::of(&target).ok_or_else(|| c.error(AdminError::SessionNotFound))?;
            c.allow(Action::RevokeSessions, &what.resource()).await?;
            let (kind, target) = match &what {
                What::Session(id) => ("session", id.as_str().to_owned()),
                What::Revoked(Revoked::Person(p)) => ("person", p.clone()),
                What::Revoked(Revoked::Role(r)) => ("role", r.to_string()),
            };
            Ok(render(
                StatusCode::OK,
                &ConfirmPage {
                    t,
                    nav: c.nav("sessions"),
                    csrf: c.csrf(),
                    kind,
                    target,
                },
            ))
        }
        .await,
    )
}

/// `POST /admin/sessions/revoke`: the confirmed revocation, then back to the list.
pub async fn revoke(
    Browser(state, facts, headers): Browser,
    t: Locale,
    form: Result<PageForm<Target>, crate::web::error::PageError>,
) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts, t, "/admin/sessions").await?;
            let target = c.posted(form)?;
            let what = What::of(&target).ok_or_else(|| c.error(AdminError::SessionNotFound))?;
            let caller = c.allow(Action::RevokeSessions, &what.resource()).await?;
            let reason = Some(target.reason.trim()).filter(|r| !r.is_empty());
            let ended = match &what {
                What::Session(id) => c
                    .state
                    .admin
                    .revoke_session(&c.state.sso, id, reason, &caller, c.now_ms())
                    .await
                    .map(|()| 1),
                What::Revoked(r) => {
                    let keep = crate::web::admin::sessions::revocation_keep(&c.state);
                    let now = c.state.clock.now();
                    c.state
                        .admin
                        .revoke(&c.state.sso, r, reason, &caller, now, keep)
                        .await
                }
            }
            .map_err(|e| c.error(e))?;
            Ok(Redirect::to(&format!("/admin/sessions?revoked={ended}")).into_response())
        }
        .await,
    )
}
