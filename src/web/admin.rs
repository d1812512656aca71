//! The admin JSON API (`/admin/api/v1/…`, issue 15's first slice: roles) and its OpenAPI
//! document, generated from these handlers and wire types by `utoipa` and served at
//! `/admin/api/v1/openapi.json`.
//!
//! Every call takes `Authorization: Bearer <Lanyard access token>`; the operation is an IAM
//! action the caller's role session must be allowed ([`crate::admin`]). Reads carry an
//! `ETag` (the role's version); a replace or delete needs `If-Match` with it, a create
//! `If-None-Match: *`; a stale precondition gets 412 and changes nothing. Errors are
//! `{"error", "error_description", "path", "request_id"}`.
//!
//! May import: `admin`, `access`, `authz`, `web`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::admin::{
    ALL_ROLES, Action, AdminError, Allowed, Precondition, RoleEntry, Source, role_resource,
};
use crate::authz::Caller;
use crate::identity::RoleName;
use crate::web::error::request_id;
use crate::web::{AppState, ClientIp};

/// The OpenAPI document of the admin API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lanyard admin API",
        description = "Roles kept in Lanyard's database. Every operation is an IAM action \
                       (lanyard:ListRoles, lanyard:GetRole, lanyard:PutRole, \
                       lanyard:DeleteRole) on arn:lanyard:iam:::role/{name}, allowed or \
                       refused by the caller's role session's policies."
    ),
    paths(list_roles, get_role, put_role, delete_role),
    components(schemas(RoleView, RoleList, ErrorBody, RoleSource)),
    modifiers(&BearerToken),
    security(("bearer" = []))
)]
pub struct AdminApi;

/// Declares the bearer scheme the API takes.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Where a role is defined: `file` (lanyard.toml, read-only here) or `database`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleSource {
    /// `lanyard.toml`.
    File,
    /// The database.
    Database,
}

/// A role.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    /// The role's name.
    name: String,
    /// Where it is defined.
    source: RoleSource,
    /// What the role is for.
    description: String,
    /// The document (database roles): the shape of a `[[roles]]` entry of lanyard.toml as
    /// JSON, without `name`: `trust_policy`, `permission_policies`, `inline_policy`,
    /// `permissions_boundary`, `max_session_duration`, `description`, `group`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    document: Option<serde_json::Value>,
    /// The version, also the `ETag` (database roles).
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
    /// When it was last written, milliseconds since the epoch (database roles).
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at_ms: Option<i64>,
    /// Who wrote it last: the subject of the caller's token (database roles).
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_by: Option<String>,
    /// The longest session it grants, in seconds (file roles).
    #[serde(skip_serializing_if = "Option::is_none")]
    max_session_duration_secs: Option<u64>,
}

impl From<RoleEntry> for RoleView {
    fn from(e: RoleEntry) -> Self {
        Self {
            name: e.name.into_string(),
            source: match e.source {
                Source::File => RoleSource::File,
                Source::Database => RoleSource::Database,
            },
            description: e.description,
            document: e.document,
            version: e.version,
            updated_at_ms: e.updated_at_ms,
            updated_by: e.updated_by,
            max_session_duration_secs: e.max_session_duration_secs,
        }
    }
}

/// Every role.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleList {
    /// The file's roles, then the database's.
    roles: Vec<RoleView>,
}

/// An error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A machine-readable code: `invalid_token`, `access_denied`, `not_found`,
    /// `managed_in_file`, `invalid_role`, `invalid_json`, `precondition_failed`,
    /// `precondition_required`, `body_too_large`, `unavailable`, `server_error`.
    error: &'static str,
    /// A sentence for the person.
    error_description: String,
    /// The JSON path of the field at fault (`trust_policy.Statement[0].Condition`).
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// Every problem of an invalid role, each with its path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<Problem>,
    /// The request's id, as logged.
    request_id: String,
}

/// One problem of an invalid document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// The JSON path of the field.
    path: String,
    /// What is wrong.
    message: String,
}

/// An admin API answer that is not a success.
#[derive(Debug)]
pub enum AdminApiError {
    /// No valid bearer token.
    Unauthorized(String),
    /// The body is not JSON.
    InvalidJson(String),
    /// The body is larger than the limit.
    TooLarge,
    /// The operation refused.
    Admin(AdminError),
}

impl From<AdminError> for AdminApiError {
    fn from(e: AdminError) -> Self {
        AdminApiError::Admin(e)
    }
}

impl IntoResponse for AdminApiError {
    fn into_response(self) -> Response {
        let request_id = request_id();
        let (status, code, description, path, errors) = match &self {
            AdminApiError::Unauthorized(why) => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                why.clone(),
                None,
                vec![],
            ),
            AdminApiError::InvalidJson(why) => (
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body is not JSON: {why}"),
                Some(String::new()),
                vec![],
            ),
            AdminApiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "the body is larger than {} KiB",
                    crate::web::MAX_BODY_BYTES / 1024
                ),
                None,
                vec![],
            ),
            AdminApiError::Admin(e) => admin_error(e),
        };
        if status.is_server_error() {
            tracing::error!(request_id, status = status.as_u16(), detail = %self_detail(&self), "admin API request failed");
        } else {
            tracing::info!(request_id, status = status.as_u16(), reason = %description, "admin API request refused");
        }
        let body = ErrorBody {
            error: code,
            error_description: description,
            path,
            errors,
            request_id,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

fn self_detail(e: &AdminApiError) -> String {
    match e {
        AdminApiError::Admin(e) => e.to_string(),
        other => format!("{other:?}"),
    }
}

type Mapped = (
    StatusCode,
    &'static str,
    String,
    Option<String>,
    Vec<Problem>,
);

/// The status, code, sentence, path and problems of an admin error. 5xx answers carry a
/// plain sentence, never the database's text (that goes to the log).
fn admin_error(e: &AdminError) -> Mapped {
    let plain = |status, code, text: String| (status, code, text, None, vec![]);
    match e {
        AdminError::NoDatabase => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            e.to_string(),
        ),
        AdminError::Database(_) | AdminError::Store(_) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database or session store did not answer; try again".to_owned(),
        ),
        AdminError::Internal(_) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the request could not be decided; see the log".to_owned(),
        ),
        AdminError::Session(_) => plain(StatusCode::UNAUTHORIZED, "invalid_token", e.to_string()),
        AdminError::Refused { .. } => plain(StatusCode::FORBIDDEN, "access_denied", e.to_string()),
        AdminError::NotFound(_) => plain(StatusCode::NOT_FOUND, "not_found", e.to_string()),
        AdminError::ManagedInFile(_) => {
            plain(StatusCode::CONFLICT, "managed_in_file", e.to_string())
        }
        AdminError::PreconditionRequired(_) => plain(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
            e.to_string(),
        ),
        AdminError::Stale { .. } => plain(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            e.to_string(),
        ),
        AdminError::Invalid(problems) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_role",
            e.to_string(),
            problems.first().map(|p| p.path.clone()),
            problems
                .iter()
                .map(|p| Problem {
                    path: p.path.clone(),
                    message: p.message.clone(),
                })
                .collect(),
        ),
    }
}

/// The caller's verified token, or 401.
fn claims(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<crate::access::AccessTokenClaims, AdminApiError> {
    let token = crate::web::bearer_token(headers)
        .ok_or_else(|| AdminApiError::Unauthorized("a bearer token is required".to_owned()))?;
    state
        .access
        .tokens()
        .verify_any_audience(token)
        .map_err(|e| AdminApiError::Unauthorized(format!("the access token is not valid: {e}")))
}

/// Whether the caller may perform `action` on `resource` (403 or 401 if not).
async fn allowed<'a>(
    state: &AppState,
    claims: &'a crate::access::AccessTokenClaims,
    ip: ClientIp,
    action: Action,
    resource: &str,
) -> Result<Allowed<'a>, AdminApiError> {
    let caller = Caller { claims, ip: ip.0 };
    let authorizer = crate::web::api::authorizer(state);
    Ok(state
        .admin
        .authorize(&authorizer, &caller, action, resource, state.clock.now())
        .await?)
}

/// An `ETag` header value for a version.
fn etag(version: i64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("\"{version}\"")).ok()
}

/// The precondition of a write: `If-None-Match: *` (create) or `If-Match: "<version>"`.
/// An `If-Match` that is not one of our ETags matches nothing (412).
fn precondition(headers: &HeaderMap) -> Option<Precondition> {
    if let Some(value) = headers.get(header::IF_MATCH) {
        let version = value
            .to_str()
            .ok()
            .map(str::trim)
            .and_then(|v| v.strip_prefix('"')?.strip_suffix('"'))
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|v| *v > 0);
        return Some(Precondition::Version(version.unwrap_or(0)));
    }
    let none_match = headers.get(header::IF_NONE_MATCH)?.to_str().ok()?;
    (none_match.trim() == "*").then_some(Precondition::Absent)
}

/// A role view with its `ETag`.
fn with_etag(status: StatusCode, entry: RoleEntry) -> Response {
    let tag = entry.version.and_then(etag);
    let mut response = (status, Json(RoleView::from(entry))).into_response();
    if let Some(tag) = tag {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

/// `GET /admin/api/v1/roles`: every role (`lanyard:ListRoles` on `role/*`).
#[utoipa::path(
    get,
    path = "/admin/api/v1/roles",
    responses(
        (status = 200, description = "Every role: the file's, then the database's", body = RoleList),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:ListRoles is not allowed", body = ErrorBody),
    )
)]
pub async fn list_roles(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
) -> Result<Json<RoleList>, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let caller = allowed(&state, &claims, ip, Action::ListRoles, ALL_ROLES).await?;
    let roles = state.admin.list_roles(&state.config, &caller).await?;
    Ok(Json(RoleList {
        roles: roles.into_iter().map(RoleView::from).collect(),
    }))
}

/// `GET /admin/api/v1/roles/{name}`: one role, with its `ETag`.
#[utoipa::path(
    get,
    path = "/admin/api/v1/roles/{name}",
    params(("name" = String, Path, description = "The role's name")),
    responses(
        (status = 200, description = "The role; ETag is its version", body = RoleView),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:GetRole is not allowed", body = ErrorBody),
        (status = 404, description = "No such role", body = ErrorBody),
    )
)]
pub async fn get_role(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(name): Path<RoleName>,
    headers: HeaderMap,
) -> Result<Response, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let caller = allowed(&state, &claims, ip, Action::GetRole, &role_resource(&name)).await?;
    let entry = state.admin.role(&state.config, &name, &caller).await?;
    Ok(with_etag(StatusCode::OK, entry))
}

/// `PUT /admin/api/v1/roles/{name}`: creates (`If-None-Match: *`) or replaces (`If-Match`)
/// a database role. The body is the role as JSON in the shape of a `[[roles]]` entry.
#[utoipa::path(
    put,
    path = "/admin/api/v1/roles/{name}",
    params(
        ("name" = String, Path, description = "The role's name"),
        ("If-Match" = Option<String>, Header, description = "The ETag read, to replace"),
        ("If-None-Match" = Option<String>, Header, description = "`*`, to create"),
    ),
    request_body(content = Object, description = "The role: trust_policy (required), \
        permission_policies, inline_policy, permissions_boundary, max_session_duration, \
        description, group", content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced; ETag is the new version", body = RoleView),
        (status = 201, description = "Created; ETag is its version", body = RoleView),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:PutRole is not allowed", body = ErrorBody),
        (status = 409, description = "The role is managed in lanyard.toml", body = ErrorBody),
        (status = 412, description = "The ETag is stale; nothing changed", body = ErrorBody),
        (status = 422, description = "The role is not valid; `path` names the field", body = ErrorBody),
        (status = 428, description = "Neither If-Match nor If-None-Match: *", body = ErrorBody),
    )
)]
pub async fn put_role(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(name): Path<RoleName>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let caller = allowed(&state, &claims, ip, Action::PutRole, &role_resource(&name)).await?;
    // Read after the caller is allowed: a refused caller learns nothing of the body.
    let document = json_body(body)?;
    let expect = precondition(&headers);
    let created = expect == Some(Precondition::Absent);
    let entry = state
        .admin
        .put_role(
            &state.config,
            &name,
            document,
            expect,
            &caller,
            state.clock.now_ms(),
        )
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(with_etag(status, entry))
}

/// `DELETE /admin/api/v1/roles/{name}`: deletes a database role (`If-Match` required).
#[utoipa::path(
    delete,
    path = "/admin/api/v1/roles/{name}",
    params(
        ("name" = String, Path, description = "The role's name"),
        ("If-Match" = String, Header, description = "The ETag read"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:DeleteRole is not allowed", body = ErrorBody),
        (status = 404, description = "No such role", body = ErrorBody),
        (status = 409, description = "The role is managed in lanyard.toml", body = ErrorBody),
        (status = 412, description = "The ETag is stale; nothing changed", body = ErrorBody),
        (status = 428, description = "No If-Match", body = ErrorBody),
    )
)]
pub async fn delete_role(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(name): Path<RoleName>,
    headers: HeaderMap,
) -> Result<StatusCode, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let caller = allowed(
        &state,
        &claims,
        ip,
        Action::DeleteRole,
        &role_resource(&name),
    )
    .await?;
    let expect = match precondition(&headers) {
        Some(Precondition::Version(v)) => Some(v),
        Some(Precondition::Absent) | None => None,
    };
    state
        .admin
        .delete_role(&state.config, &name, expect, &caller, state.clock.now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /admin/api/v1/openapi.json`: the OpenAPI document of this API.
pub async fn openapi() -> Response {
    match AdminApi::openapi().to_json() {
        Ok(json) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize the OpenAPI document");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn json_body(body: Result<Bytes, BytesRejection>) -> Result<serde_json::Value, AdminApiError> {
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AdminApiError::TooLarge
        } else {
            AdminApiError::InvalidJson(r.body_text())
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| AdminApiError::InvalidJson(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preconditions_are_read_from_the_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(precondition(&h), None);
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert_eq!(precondition(&h), Some(Precondition::Absent));
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"12\""));
        assert_eq!(precondition(&h), Some(Precondition::Version(12)));
        for never in ["12", "W/\"12\"", "*", "\"-3\""] {
            h.insert(header::IF_MATCH, HeaderValue::from_static(never));
            assert_eq!(precondition(&h), Some(Precondition::Version(0)), "{never}");
        }
    }

    #[test]
    fn the_openapi_document_lists_every_path() {
        let json = AdminApi::openapi().to_json().unwrap();
        let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(doc["paths"]["/admin/api/v1/roles"]["get"].is_object());
        for method in ["get", "put", "delete"] {
            assert!(doc["paths"]["/admin/api/v1/roles/{name}"][method].is_object());
        }
    }
}
