//! The admin console (`/admin`, issue 15): askama pages over the admin operations of
//! [`crate::admin`], in the employee pages' layout and style, working without JavaScript.
//!
//! Who acts is the browser's SSO session with the role session its person chose last on
//! the role picker (the one `/credentials` shows): its token's claims are the caller of
//! every operation, and each page or form is the IAM action the JSON API uses, allowed by
//! the same code ([`crate::admin::Admin::authorize`] through [`super::allowed`]). Not signed
//! in: the sign-in page, coming back here. Signed in but refused: a page naming the action,
//! the resource and the role, and how to get it (choose another role). Every form posts a
//! `csrf` field checked against the SSO session's token; every change that removes access
//! goes through a confirmation page.
//!
//! May import: `access`, `admin`, `audit`, `authz`, `identity`, `roles`, `sso`, `web`.

mod audit;
mod clients;
mod policies;
mod provider_form;
mod providers;
mod roles;
mod sessions;
mod simulate;
mod upload;

use askama::Template;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::{AdminApiError, allowed};
use crate::access::AccessTokenClaims;
use crate::admin::sessions::ALL_SESSIONS;
use crate::admin::{ALL_ROLES, AUDIT, Action, AdminError, Allowed, EntityKind};
use crate::clock::UnixTime;

use crate::roles::RequestFacts;
use crate::sso::SsoSession;
use crate::web::error::{PageError, WebError, request_id};
use crate::web::extract::PageForm;
use crate::web::i18n::{Locale, Msg};
// The `rich` macro of `templates/i18n.html` matches on it in the generated code.
#[allow(unused_imports)]
use crate::web::i18n::Tag;
use crate::web::pages::{csrf_matches, to_signin};
use crate::web::session::current_session;
use crate::web::views::ErrorPage;
use crate::web::{AppState, ClientIp};

/// The console's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home))
        .route("/admin/roles", get(roles::list).post(roles::create))
        .route("/admin/roles/new", get(roles::new_form))
        .route("/admin/roles/{name}", get(roles::view).post(roles::save))
        .route(
            "/admin/roles/{name}/delete",
            get(roles::delete_confirm).post(roles::delete),
        )
        .route("/admin/simulate", get(simulate::form).post(simulate::run))
        .route("/admin/sessions", get(sessions::list))
        .route(
            "/admin/sessions/revoke",
            get(sessions::confirm).post(sessions::revoke),
        )
        .route("/admin/providers", get(providers::list))
        .route(
            "/admin/providers/new",
            get(provider_form::new_form)
                .post(provider_form::submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    provider_form::MAX_PROVIDER_FORM_BYTES,
                )),
        )
        .route(
            "/admin/providers/{id}",
            get(provider_form::view).post(provider_form::save),
        )
        .route(
            "/admin/providers/{id}/delete",
            get(provider_form::delete_confirm).post(provider_form::delete),
        )
        .route(
            "/admin/providers/{id}/test-sign-in",
            axum::routing::post(providers::start_test),
        )
        .route("/admin/test-sign-in/{id}", get(providers::result))
        .route("/admin/audit", get(audit::list))
        .route("/admin/audit/export", get(audit::export))
        .route(
            "/admin/policies",
            get(policies::list).post(policies::create),
        )
        .route("/admin/policies/new", get(policies::new_form))
        .route(
            "/admin/policies/{name}",
            get(policies::view).post(policies::save),
        )
        .route(
            "/admin/policies/{name}/delete",
            get(policies::delete_confirm).post(policies::delete),
        )
        .route("/admin/clients", get(clients::list).post(clients::create))
        .route("/admin/clients/new", get(clients::new_form))
        .route(
            "/admin/clients/{id}",
            get(clients::view).post(clients::save),
        )
        .route(
            "/admin/clients/{id}/secret",
            axum::routing::post(clients::rotate),
        )
        .route(
            "/admin/clients/{id}/delete",
            get(clients::delete_confirm).post(clients::delete),
        )
}

/// What every console page shows above its content: who acts, with which role.
pub struct Nav {
    /// The person's username.
    pub who: String,
    /// The role they act with.
    pub role: String,
    /// The page's entry in the navigation (`home`, `roles`, `simulate`, `sessions`,
    /// `audit`), marked as the current one.
    pub here: &'static str,
}

/// The person at the console: their SSO session and the claims of the role session they
/// chose last.
pub struct Console {
    state: AppState,
    t: Locale,
    facts: RequestFacts,
    session: SsoSession,
    claims: AccessTokenClaims,
}

/// A console answer: a page, or the page saying why not.
type Page = Result<Response, Response>;

impl Console {
    /// The person at the console of this request, or the answer that replaces the page
    /// at `here`: the sign-in page (coming back to `here`), or the page asking to choose
    /// a role first.
    pub async fn of(
        state: &AppState,
        headers: &HeaderMap,
        facts: RequestFacts,
        t: Locale,
        here: &str,
    ) -> Result<Console, Response> {
        let Some((cookie, session)) = current_session(state, headers)
            .await
            .map_err(|e| e.page(crate::web::error::Back::SignIn))?
        else {
            return Err(to_signin(here));
        };
        let shown = state
            .access
            .shown_credentials(cookie.expose_secret(), &session, &state.roles, &facts)
            .await
            .map_err(|e| PageError::from(e).page(crate::web::error::Back::Roles))?;
        let claims = shown.and_then(|shown| {
            state
                .access
                .tokens()
                .verify_any_audience(&shown.role_session.access_token)
                .ok()
        });
        let Some(claims) = claims else {
            return Err(no_role(t, &session));
        };
        Ok(Console {
            state: state.clone(),
            t,
            facts,
            session,
            claims,
        })
    }

    /// Whether the caller may perform `action` on `resource`; else the refusal page.
    pub async fn allow(&self, action: Action, resource: &str) -> Result<Allowed<'_>, Response> {
        let ip = ClientIp(self.facts.source_ip);
        allowed(&self.state, &self.claims, ip, action, resource)
            .await
            .map_err(|e| match e {
                AdminApiError::Admin(e) => self.error(e),
                other => self.problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Msg::new("admin-error-internal"),
                    &format!("{other:?}"),
                ),
            })
    }

    /// The caller allowed `action` on `resource`, or `None` (no page either way: for
    /// what a page only shows when allowed).
    pub async fn try_allow(&self, action: Action, resource: &str) -> Option<Allowed<'_>> {
        let ip = ClientIp(self.facts.source_ip);
        allowed(&self.state, &self.claims, ip, action, resource)
            .await
            .ok()
    }

    /// The navigation of a page at `here`.
    pub fn nav(&self, here: &'static str) -> Nav {
        Nav {
            who: self.session.identity.username.clone(),
            role: self.claims.role.to_string(),
            here,
        }
    }

    /// The SSO session's form token.
    pub fn csrf(&self) -> String {
        self.session.csrf.clone()
    }

    /// The CSRF error page when `given` is not this session's form token; `None` when it
    /// is.
    fn csrf_refused(&self, given: &str) -> Option<Response> {
        (!csrf_matches(&self.session.csrf, given)).then(|| self.web_error(WebError::Csrf))
    }

    /// A posted form read and its token checked: the form, or the page saying it cannot
    /// be read or did not come from this session's page.
    // The error is the page answered, as every console step's is (`Page`).
    #[allow(clippy::result_large_err)]
    pub fn posted<T: Posted>(&self, form: Result<PageForm<T>, PageError>) -> Result<T, Response> {
        let PageForm(form) = form.map_err(|e| self.web_error(e.0))?;
        self.checked(form)
    }

    /// `form` when its token is this session's, else the CSRF error page.
    #[allow(clippy::result_large_err)]
    pub fn checked<T: Posted>(&self, form: T) -> Result<T, Response> {
        match self.csrf_refused(form.csrf()) {
            Some(refused) => Err(refused),
            None => Ok(form),
        }
    }

    /// The page of an admin error: the refusal page for a refused action, the page asking
    /// to choose a role again when the role session ended, else an error page.
    pub fn error(&self, e: AdminError) -> Response {
        let detail = e.to_string();
        match e {
            AdminError::Refused {
                action,
                resource,
                reason,
            } => refused(self, action, &resource, &reason),
            AdminError::Session(_) => no_role(self.t, &self.session),
            AdminError::NoDatabase => self.problem(
                StatusCode::SERVICE_UNAVAILABLE,
                Msg::new("admin-error-no-database"),
                &detail,
            ),
            AdminError::Database(_)
            | AdminError::Store(_)
            | AdminError::Audit(_)
            | AdminError::SessionStore(_) => self.problem(
                StatusCode::SERVICE_UNAVAILABLE,
                Msg::new("admin-error-unavailable"),
                &detail,
            ),
            AdminError::Internal(_) | AdminError::KeyGeneration(_) => self.problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                Msg::new("admin-error-internal"),
                &detail,
            ),
            AdminError::NotFound(entity) => self.problem(
                StatusCode::NOT_FOUND,
                match entity.kind {
                    EntityKind::Role => {
                        Msg::new("admin-error-no-role").arg("role", entity.name.as_str())
                    }
                    _ => Msg::new("admin-error-detail").arg("detail", detail.as_str()),
                },
                &detail,
            ),
            AdminError::SessionNotFound => self.problem(
                StatusCode::NOT_FOUND,
                Msg::new("admin-error-no-session"),
                &detail,
            ),
            AdminError::ManagedInFile(entity) => self.problem(
                StatusCode::CONFLICT,
                match entity.kind {
                    EntityKind::Role => {
                        Msg::new("admin-error-managed-in-file").arg("role", entity.name.as_str())
                    }
                    _ => Msg::new("admin-error-detail").arg("detail", detail.as_str()),
                },
                &detail,
            ),
            AdminError::Invalid(..)
            | AdminError::InUse { .. }
            | AdminError::Client(_)
            | AdminError::PreconditionRequired(_)
            | AdminError::Claims { .. }
            | AdminError::Stale { .. } => self.problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                Msg::new("admin-error-detail").arg("detail", detail.as_str()),
                &detail,
            ),
        }
    }

    /// An error page with `status` and `message`, its link back to the console home;
    /// `detail` goes to the log only.
    pub fn problem(&self, status: StatusCode, message: Msg, detail: &str) -> Response {
        let request_id = request_id();
        if status.is_server_error() {
            tracing::error!(
                request_id,
                status = status.as_u16(),
                detail,
                "admin console request failed"
            );
        } else {
            tracing::info!(
                request_id,
                status = status.as_u16(),
                detail,
                "admin console request refused"
            );
        }
        let t = self.t;
        let title = if status.is_server_error() {
            Msg::new("admin-error-title-failed")
        } else {
            Msg::new("admin-error-title")
        };
        let page = ErrorPage {
            t,
            title: t.say(&title),
            message: t.say(&message),
            request_id,
            retry: None,
            back_href: "/admin".to_owned(),
            back_label: t.say(&Msg::new("admin-back-home")),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, t.say(&message)).into_response(),
        }
    }

    /// The error page of a [`WebError`] (a form that cannot be read, a CSRF failure).
    pub fn web_error(&self, e: WebError) -> Response {
        PageError(e).page(crate::web::error::Back::Roles)
    }

    /// Milliseconds since the epoch now.
    pub fn now_ms(&self) -> i64 {
        self.state.clock.now_ms()
    }
}

/// A form a console page posts: it carries the session's form token.
pub trait Posted {
    /// The `csrf` field as posted.
    fn csrf(&self) -> &str;
}

/// The form of a confirmation that acts on an entity at the version it showed (a
/// deletion): the form token and that version.
#[derive(Debug, Deserialize)]
pub struct VersionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
}

impl VersionForm {
    /// The version confirmed; 0, which no entity has, when the field is not a number.
    pub fn version(&self) -> i64 {
        self.version.trim().parse::<i64>().unwrap_or(0)
    }
}

impl Posted for VersionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Renders `page` with `status`.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => PageError(WebError::Internal(format!("template: {e}"))).into_response(),
    }
}

/// An instant as the console shows it: `2026-11-28 00:00:00 UTC`.
pub fn when(at: UnixTime) -> String {
    let text = crate::roles::rfc3339(at);
    format!("{} UTC", text.replacen('T', " ", 1).trim_end_matches('Z'))
}

/// [`when`] of milliseconds since the epoch.
pub fn when_ms(ms: i64) -> String {
    when(UnixTime::from_secs(ms.div_euclid(1000)))
}

/// The refusal page.
#[derive(Template)]
#[template(path = "admin_refused.html")]
struct RefusedPage {
    t: Locale,
    nav: Nav,
    action: String,
    resource: String,
    reason: String,
}

fn refused(console: &Console, action: &str, resource: &str, reason: &str) -> Response {
    tracing::info!(
        request_id = request_id(),
        action,
        resource,
        role = %console.claims.role,
        "admin console action refused"
    );
    render(
        StatusCode::FORBIDDEN,
        &RefusedPage {
            t: console.t,
            nav: console.nav(""),
            action: action.to_owned(),
            resource: resource.to_owned(),
            reason: reason.to_owned(),
        },
    )
}

/// The page asking to choose a role first (none chosen, or its session ended).
#[derive(Template)]
#[template(path = "admin_no_role.html")]
struct NoRolePage {
    t: Locale,
    who: String,
}

fn no_role(t: Locale, session: &SsoSession) -> Response {
    render(
        StatusCode::FORBIDDEN,
        &NoRolePage {
            t,
            who: session.identity.username.clone(),
        },
    )
}

/// One area of the console on its home page.
pub struct Area {
    /// Where it is.
    pub href: &'static str,
    /// Its name.
    pub name: String,
    /// What it is for.
    pub what: String,
    /// The action it needs, and whether the caller's role allows it.
    pub action: &'static str,
    /// Whether the caller's role allows it.
    pub allowed: bool,
}

/// `GET /admin`.
#[derive(Template)]
#[template(path = "admin_home.html")]
struct HomePage {
    t: Locale,
    nav: Nav,
    areas: Vec<Area>,
}

/// `GET /admin`: what the caller's role may do here, with links.
async fn home(
    crate::web::extract::Browser(state, facts, headers): crate::web::extract::Browser,
    t: Locale,
) -> Response {
    let console = match Console::of(&state, &headers, facts, t, "/admin").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let areas = [
        ("/admin/roles", "roles", Action::ListRoles, ALL_ROLES),
        (
            "/admin/providers",
            "providers",
            Action::ListProviders,
            crate::admin::ALL_PROVIDERS,
        ),
        (
            "/admin/simulate",
            "simulate",
            Action::SimulateTrust,
            ALL_ROLES,
        ),
        (
            "/admin/sessions",
            "sessions",
            Action::ListSessions,
            ALL_SESSIONS,
        ),
        (
            "/admin/policies",
            "policies",
            Action::ListPolicies,
            crate::admin::ALL_POLICIES,
        ),
        (
            "/admin/clients",
            "clients",
            Action::ListClients,
            crate::admin::clients::ALL_CLIENTS,
        ),
        ("/admin/audit", "audit", Action::ListAuditEvents, AUDIT),
    ];
    let mut out = Vec::new();
    for (href, area, action, resource) in areas {
        let (name, what) = match area {
            "roles" => (Msg::new("admin-nav-roles"), Msg::new("admin-home-roles")),
            "providers" => (
                Msg::new("admin-nav-providers"),
                Msg::new("admin-home-providers"),
            ),
            "simulate" => (
                Msg::new("admin-nav-simulate"),
                Msg::new("admin-home-simulate"),
            ),
            "sessions" => (
                Msg::new("admin-nav-sessions"),
                Msg::new("admin-home-sessions"),
            ),
            "policies" => (
                Msg::new("admin-nav-policies"),
                Msg::new("admin-home-policies"),
            ),
            "clients" => (
                Msg::new("admin-nav-clients"),
                Msg::new("admin-home-clients"),
            ),
            _ => (Msg::new("admin-nav-audit"), Msg::new("admin-home-audit")),
        };
        out.push(Area {
            href,
            name: t.say(&name),
            what: t.say(&what),
            action: action.as_str(),
            allowed: console.try_allow(action, resource).await.is_some(),
        });
    }
    render(
        StatusCode::OK,
        &HomePage {
            t,
            nav: console.nav("home"),
            areas: out,
        },
    )
}

/// Runs a console page: `Ok` and `Err` are both answers.
pub fn answer(page: Page) -> Response {
    page.unwrap_or_else(|r| r)
}
