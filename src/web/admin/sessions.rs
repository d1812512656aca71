//! The admin API's sessions (`/admin/api/v1/sessions…`, issue 15): the live SSO sessions
//! with the role sessions each holds, filtered by person, role or provider and paged by an
//! opaque cursor; the revocation of one, as signing out does; and of every session of a
//! person or every role session of a role ([`crate::admin::sessions`]).
//!
//! May import: `admin`, `identity`, `sso`, `sts` (its duration cap), `web`.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{AdminApiError, ErrorBody, allowed, claims};
use crate::admin::Action;
use crate::admin::AdminError;
use crate::admin::sessions::{
    ALL_SESSIONS, RoleSessionEntry, SessionEntry, SessionFilter, SessionRef, revoked_resource,
    session_resource,
};
use crate::identity::{ProviderId, RoleName};
use crate::sso::Revoked;
use crate::web::{AppState, ClientIp};

/// The OpenAPI paths of the sessions, merged into the admin API's document.
#[derive(OpenApi)]
#[openapi(
    paths(list_sessions, revoke_session, revoke),
    components(schemas(SessionView, RoleSessionView, SessionList, RevokeBody, Revocation))
)]
pub struct SessionsApi;

/// The routes of the sessions.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/api/v1/sessions", get(list_sessions))
        .route("/admin/api/v1/sessions/{id}", delete(revoke_session))
        .route("/admin/api/v1/sessions/revoke", post(revoke))
}

/// The filters and cursor of a listing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this person's sessions: `{provider}:{subject}`.
    person: Option<String>,
    /// Only sessions holding a live role session of this role (and only those shown).
    role: Option<String>,
    /// Only sessions signed in with this provider.
    provider: Option<String>,
    /// Where to go on: the `next` of the page before.
    cursor: Option<String>,
}

/// Why a session is revoked (kept in the audit trail).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevokeQuery {
    /// Why, for the audit trail.
    reason: Option<String>,
}

/// A live role session.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleSessionView {
    /// Its id (the `sid` of its tokens).
    id: String,
    /// The role.
    role: String,
    /// Its session name (the person's username, or what the application asked for).
    session_name: String,
    /// When it was issued, seconds since the epoch.
    issued_at: i64,
    /// When it ends, seconds since the epoch.
    expires_at: i64,
}

impl From<RoleSessionEntry> for RoleSessionView {
    fn from(r: RoleSessionEntry) -> Self {
        Self {
            id: r.id.to_string(),
            role: r.role.into_string(),
            session_name: r.session_name,
            issued_at: r.issued_at.secs(),
            expires_at: r.expires_at.secs(),
        }
    }
}

/// A live SSO session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Its id: a non-secret handle (the `{id}` to revoke it).
    id: String,
    /// The person, `{provider}:{subject}`.
    person: String,
    /// Their username.
    username: String,
    /// Their email address, if the provider gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    /// The provider they signed in with.
    provider: String,
    /// When they signed in, seconds since the epoch.
    created_at: i64,
    /// When the session was last used (written at most once a minute).
    last_seen: i64,
    /// When it ends unless used again.
    expires_at: i64,
    /// The live role sessions issued in it.
    role_sessions: Vec<RoleSessionView>,
}

impl From<SessionEntry> for SessionView {
    fn from(e: SessionEntry) -> Self {
        Self {
            id: e.id.as_str().to_owned(),
            person: e.person,
            username: e.username,
            email: e.email,
            provider: e.provider.to_string(),
            created_at: e.created_at.secs(),
            last_seen: e.last_seen.secs(),
            expires_at: e.expires_at.secs(),
            role_sessions: e.role_sessions.into_iter().map(Into::into).collect(),
        }
    }
}

/// One page of sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// The sessions of this page.
    sessions: Vec<SessionView>,
    /// The cursor of the next page; absent on the last. A page may be empty and still
    /// have one (the sessions it looked at did not match).
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// `GET /admin/api/v1/sessions`: a page of the live SSO sessions (`lanyard:ListSessions`
/// on `session/*`).
#[utoipa::path(
    get,
    path = "/admin/api/v1/sessions",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of the live SSO sessions that match", body = SessionList),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:ListSessions is not allowed", body = ErrorBody),
    )
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Json<SessionList>, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let caller = allowed(&state, &claims, ip, Action::ListSessions, ALL_SESSIONS).await?;
    let filter = SessionFilter {
        person: query.person,
        role: query.role.map(RoleName::new),
        provider: query.provider.map(ProviderId::new),
    };
    let page = state
        .admin
        .list_sessions(&state.sso, &filter, query.cursor.as_deref(), &caller)
        .await?;
    Ok(Json(SessionList {
        sessions: page.sessions.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}

/// `DELETE /admin/api/v1/sessions/{id}`: ends an SSO session and its role sessions, as
/// signing out does (`lanyard:RevokeSessions` on `session/{id}`).
#[utoipa::path(
    delete,
    path = "/admin/api/v1/sessions/{id}",
    params(("id" = String, Path, description = "The session's id"), RevokeQuery),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:RevokeSessions is not allowed", body = ErrorBody),
        (status = 404, description = "No live session has that id", body = ErrorBody),
    )
)]
pub async fn revoke_session(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<RevokeQuery>,
) -> Result<StatusCode, AdminApiError> {
    let claims = claims(&state, &headers)?;
    // An id that is not a handle's shape names no session; it is still authorized first,
    // so a refused caller learns nothing of which ids exist.
    let parsed = SessionRef::parse(&id);
    let resource = match &parsed {
        Some(id) => session_resource(id),
        None => format!("arn:lanyard:iam:::session/{id}"),
    };
    let caller = allowed(&state, &claims, ip, Action::RevokeSessions, &resource).await?;
    let id = parsed.ok_or(AdminError::SessionNotFound)?;
    state
        .admin
        .revoke_session(
            &state.sso,
            &id,
            query.reason.as_deref(),
            &caller,
            state.clock.now_ms(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What to revoke: exactly one of `person` and `role`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    /// Every session of this person, `{provider}:{subject}`.
    person: Option<String>,
    /// Every role session of this role (the kill switch).
    role: Option<String>,
    /// Why, for the audit trail.
    reason: Option<String>,
}

/// What a revocation did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revocation {
    /// The mark: what was issued at or before this second (since the epoch) is refused.
    revoked_before: i64,
    /// How many sessions (a person's) or role sessions (a role's) were found and ended.
    ended: usize,
}

/// `POST /admin/api/v1/sessions/revoke`: every session of a person
/// (`lanyard:RevokeSessions` on `person/{p}`) or every role session of a role (on the
/// role's ARN), refused from now on by every instance.
#[utoipa::path(
    post,
    path = "/admin/api/v1/sessions/revoke",
    request_body = RevokeBody,
    responses(
        (status = 200, description = "Revoked", body = Revocation),
        (status = 400, description = "Not exactly one of person and role", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:RevokeSessions is not allowed", body = ErrorBody),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Revocation>, AdminApiError> {
    let claims = claims(&state, &headers)?;
    // The resource is in the body: read it first (small, and only JSON).
    let value = super::json_body(body)?;
    let body: RevokeBody =
        serde_json::from_value(value).map_err(|e| AdminApiError::InvalidJson(e.to_string()))?;
    let what = match (body.person, body.role) {
        (Some(p), None) if !p.is_empty() => Revoked::Person(p),
        (None, Some(r)) if !r.is_empty() => Revoked::Role(RoleName::new(r)),
        _ => {
            return Err(AdminApiError::InvalidJson(
                "give exactly one of \"person\" and \"role\"".to_owned(),
            ));
        }
    };
    let caller = allowed(
        &state,
        &claims,
        ip,
        Action::RevokeSessions,
        &revoked_resource(&what),
    )
    .await?;
    let keep = revocation_keep(&state);
    let now = state.clock.now();
    let ended = state
        .admin
        .revoke(
            &state.sso,
            &what,
            body.reason.as_deref(),
            &caller,
            now,
            keep,
        )
        .await?;
    Ok(Json(Revocation {
        revoked_before: now.secs(),
        ended,
    }))
}

/// How long a revocation mark is kept: as long as anything it refuses could live (an SSO
/// session, a role session of 12 hours at most, a refresh token), and a minute more.
pub(crate) fn revocation_keep(state: &AppState) -> std::time::Duration {
    state
        .config
        .clients
        .iter()
        .map(|c| c.refresh_token_lifetime)
        .chain([
            state.config.sessions.absolute_timeout,
            std::time::Duration::from_secs(crate::sts::MAX_DURATION_SECS),
        ])
        .max()
        .unwrap_or_default()
        + std::time::Duration::from_secs(60)
}
