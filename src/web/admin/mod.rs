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

pub mod clients;
pub mod console;
pub mod entities;
pub mod inspect;
pub mod sessions;
pub mod test_signin;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_policy::{Mismatch, Outcome, StatementEffect, StatementExplanation, StatementRef};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use crate::admin::{
    ALL_ROLES, AUDIT, Action, AdminError, Allowed, Change, ClaimsMapper, ClaimsSource, EntityKind,
    Precondition, RecordedSignIn, RoleEntry, Source, provider_id, provider_resource, role_resource,
};
use crate::audit::{AuditEvent, AuditQuery, EventKind};
use crate::authz::Caller;
use crate::clock::UnixTime;
use crate::connectors::Connectors;
use crate::identity::{ExternalIdentity, RoleName};
use crate::roles::{RequestFacts, TrustExplanation, is_valid_role_name};
use crate::web::error::request_id;
use crate::web::{AppState, ClientIp};

/// The OpenAPI document of the admin API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lanyard admin API",
        description = "Roles, providers, managed policies and OpenID clients kept in \
                       Lanyard's database, the recorded sign-ins, the trust simulator, change \
                       impact, sessions and the audit trail. Every operation is an IAM action \
                       (lanyard:ListRoles, lanyard:GetRole, lanyard:PutRole, \
                       lanyard:DeleteRole, lanyard:SimulateTrust on \
                       arn:lanyard:iam:::role/{name}; lanyard:ListProviders, \
                       lanyard:GetProvider, lanyard:PutProvider, lanyard:DeleteProvider, \
                       lanyard:ListRecentSignIns on arn:lanyard:iam:::provider/{id}; \
                       lanyard:ListPolicies, lanyard:GetPolicy, lanyard:PutPolicy, \
                       lanyard:DeletePolicy on arn:lanyard:iam:::policy/{name}; \
                       lanyard:ListClients, lanyard:GetClient, lanyard:PutClient, \
                       lanyard:DeleteClient, lanyard:RotateClientSecret on \
                       arn:lanyard:iam:::client/{id}; lanyard:ListAuditEvents on \
                       arn:lanyard:iam:::audit), allowed or refused by the caller's role \
                       session's policies."
    ),
    paths(
        list_roles,
        get_role,
        put_role,
        delete_role,
        recent_sign_ins,
        simulate,
        impact,
        audit_events
    ),
    components(schemas(
        RoleView,
        RoleList,
        ErrorBody,
        RoleSource,
        RecordedSignInView,
        RecentSignIns,
        SimulateRequest,
        RoleVerdict,
        SimulationView,
        ImpactView,
        ImpactList,
        AuditEvents
    )),
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
    /// `managed_in_file`, `in_use`, `invalid_role`, `invalid_provider`, `invalid_policy`,
    /// `invalid_client`, `invalid_json`, `invalid_request`, `invalid_claims`,
    /// `invalid_overlap`, `public_client`, `too_many_secrets`, `precondition_failed`,
    /// `precondition_required`, `body_too_large`, `unavailable`, `server_error`.
    error: &'static str,
    /// A sentence for the person.
    error_description: String,
    /// The JSON path of the field at fault (`trust_policy.Statement[0].Condition`).
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// Every problem of an invalid document, each with its path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<Problem>,
    /// For `in_use`: the names of the entities that still name this one (roles).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    in_use_by: Vec<String>,
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
    /// A field or parameter that is not valid: its name and what is wrong.
    BadRequest(&'static str, String),
    /// No provider has the id in the path.
    NoProvider,
    /// No policy has the name in the path.
    NoPolicy,
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
            AdminApiError::BadRequest(field, why) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                why.clone(),
                Some((*field).to_owned()),
                vec![],
            ),
            AdminApiError::NoProvider => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no provider has this id".to_owned(),
                None,
                vec![],
            ),
            AdminApiError::NoPolicy => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no policy has this name".to_owned(),
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
        let in_use_by = match &self {
            AdminApiError::Admin(AdminError::InUse { by, .. }) => by.clone(),
            _ => Vec::new(),
        };
        let body = ErrorBody {
            error: code,
            error_description: description,
            path,
            errors,
            in_use_by,
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
        AdminError::Claims { field, .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_claims",
            e.to_string(),
            Some((*field).to_owned()),
            vec![],
        ),
        AdminError::Database(_)
        | AdminError::Store(_)
        | AdminError::Audit(_)
        | AdminError::SessionStore(_) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database or session store did not answer; try again".to_owned(),
        ),
        AdminError::Internal(_) | AdminError::KeyGeneration(_) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the request could not be decided; see the log".to_owned(),
        ),
        AdminError::Session(_) => plain(StatusCode::UNAUTHORIZED, "invalid_token", e.to_string()),
        AdminError::Refused { .. } => plain(StatusCode::FORBIDDEN, "access_denied", e.to_string()),
        AdminError::NotFound(_) | AdminError::SessionNotFound => {
            plain(StatusCode::NOT_FOUND, "not_found", e.to_string())
        }
        AdminError::ManagedInFile(_) => {
            plain(StatusCode::CONFLICT, "managed_in_file", e.to_string())
        }
        AdminError::InUse { .. } => plain(StatusCode::CONFLICT, "in_use", e.to_string()),
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
        AdminError::Client(e) => clients::client_error(e),
        AdminError::Invalid(kind, problems) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            match kind {
                EntityKind::Role => "invalid_role",
                EntityKind::Provider => "invalid_provider",
                EntityKind::Policy => "invalid_policy",
                EntityKind::Client => "invalid_client",
            },
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
    match document().to_json() {
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

/// The OpenAPI document: [`AdminApi`] and the sessions' paths.
fn document() -> utoipa::openapi::OpenApi {
    let mut doc = AdminApi::openapi();
    doc.merge(sessions::SessionsApi::openapi());
    doc.merge(clients::ClientsApi::openapi());
    doc.merge(entities::EntitiesApi::openapi());
    doc.merge(inspect::InspectApi::openapi());
    doc
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

/// A recorded sign-in.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedSignInView {
    /// Its id: give it to `POST /admin/api/v1/simulate` as `recorded_sign_in`.
    id: String,
    /// When, milliseconds since the epoch.
    time_ms: i64,
    /// The normalized identity (`provider`, `subject`, `username`, `email`, `groups`,
    /// `amr`, `mfa`, `auth_time`, `tags`) and its raw upstream `claims`.
    #[schema(value_type = Object)]
    identity: serde_json::Value,
}

impl From<RecordedSignIn> for RecordedSignInView {
    fn from(r: RecordedSignIn) -> Self {
        Self {
            id: r.id,
            time_ms: r.time_ms,
            identity: to_json(&r.identity),
        }
    }
}

/// A provider's recorded sign-ins.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecentSignIns {
    /// Whether sign-ins are being recorded (`[admin] record_claims`).
    record_claims: bool,
    /// How many days a recorded sign-in is kept (`[admin] record_claims_days`).
    record_claims_days: u32,
    /// The newest first; one per subject, at most 50 per provider.
    sign_ins: Vec<RecordedSignInView>,
}

/// `GET /admin/api/v1/providers/{id}/recent-sign-ins`: the provider's recorded sign-ins
/// (`lanyard:ListRecentSignIns` on `provider/{id}`).
#[utoipa::path(
    get,
    path = "/admin/api/v1/providers/{id}/recent-sign-ins",
    params(("id" = String, Path, description = "The provider's id")),
    responses(
        (status = 200, description = "The recorded sign-ins, newest first", body = RecentSignIns),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:ListRecentSignIns is not allowed", body = ErrorBody),
        (status = 404, description = "No such provider", body = ErrorBody),
    )
)]
pub async fn recent_sign_ins(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RecentSignIns>, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let provider = provider_id(&id).ok_or(AdminApiError::NoProvider)?;
    let resource = provider_resource(provider.as_str());
    let caller = allowed(&state, &claims, ip, Action::ListRecentSignIns, &resource).await?;
    if state.connectors.get(provider.as_str()).is_none() {
        return Err(AdminApiError::NoProvider);
    }
    let sign_ins = state
        .admin
        .recent_sign_ins(
            &state.config,
            provider.as_str(),
            &caller,
            state.clock.now_ms(),
        )
        .await?;
    Ok(Json(RecentSignIns {
        record_claims: state.config.admin.enabled,
        record_claims_days: state.config.admin.days,
        sign_ins: sign_ins.into_iter().map(RecordedSignInView::from).collect(),
    }))
}

/// The simulator maps claims as the providers do.
impl ClaimsMapper for Connectors {
    fn identity(
        &self,
        provider: &str,
        claims: &serde_json::Map<String, serde_json::Value>,
        now: UnixTime,
    ) -> Option<Result<ExternalIdentity, String>> {
        self.identity_of_untrusted(provider, claims, now)
            .map(|r| r.map_err(|e| e.to_string()))
    }

    fn provider_of_issuer(&self, iss: &str) -> Option<String> {
        Connectors::provider_of_issuer(self, iss).map(ToString::to_string)
    }

    fn saml_identity(
        &self,
        provider: Option<&str>,
        response: &str,
        now: UnixTime,
    ) -> Result<ExternalIdentity, String> {
        let read = crate::connectors::saml::unverified::read(response)
            .map_err(|e| format!("the SAML response cannot be read: {e}"))?;
        let connector = match provider {
            Some(id) => self.saml(id).ok_or_else(|| {
                format!(
                    "no SAML provider has the id \"{}\"",
                    id.chars().take(64).collect::<String>()
                )
            })?,
            None => {
                let issuer = read
                    .issuer
                    .as_deref()
                    .ok_or("the response names no Issuer; name the provider".to_owned())?;
                self.saml_providers()
                    .find(|(_, c)| c.idp().is_ok_and(|idp| idp.entity_id == issuer))
                    .map(|(_, c)| c)
                    .ok_or_else(|| {
                        format!(
                            "no SAML provider trusts the issuer \"{}\"; name the provider",
                            issuer.chars().take(200).collect::<String>()
                        )
                    })?
            }
        };
        Ok(connector.identity_of_unverified(&read, now))
    }
}

/// A simulation: one claims source (`recorded_sign_in`, `claims` with `provider`, or
/// `jwt`), optionally one role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// The id of a recorded sign-in.
    #[serde(default)]
    recorded_sign_in: Option<String>,
    /// The provider of `claims` (required with them), or of `jwt` (else found by `iss`).
    #[serde(default)]
    provider: Option<String>,
    /// Claims as a JSON object, as the provider would send them (`sub` required).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    claims: Option<serde_json::Map<String, serde_json::Value>>,
    /// An upstream JWT: decoded WITHOUT verifying it, only a source of claims.
    #[serde(default)]
    jwt: Option<String>,
    /// A SAML response, base64 as an IdP posts it or its XML: read WITHOUT verifying it,
    /// only a source of attributes; its provider named in `provider`, else found by the
    /// response's `Issuer`.
    #[serde(default)]
    saml_response: Option<String>,
    /// Only this role (then `lanyard:SimulateTrust` on `role/{name}` suffices).
    #[serde(default)]
    role: Option<String>,
    /// The address the simulated sign-in comes from (`aws:SourceIp`); none by default.
    #[serde(default)]
    source_ip: Option<String>,
}

/// One role's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleVerdict {
    /// The role.
    role: String,
    /// Whether the role picker offers it to this identity.
    offered: bool,
    /// `Allowed`, `ExplicitDeny` or `ImplicitDeny`.
    #[schema(value_type = String)]
    outcome: Outcome,
    /// The engine's sentence.
    reason: String,
    /// The deciding statements (`policy`, `sid`, `index`): the allows of an offer, the
    /// denies of an explicit deny.
    #[schema(value_type = Vec<Object>)]
    deciding: Vec<StatementRef>,
    /// For a refusal, each `Allow` statement that named this identity's provider and
    /// action, with the condition that failed in it: `operator`, `key`, `seen` (null when
    /// the identity lacks the key) and `wanted`.
    #[schema(value_type = Vec<Object>)]
    failed_conditions: Vec<serde_json::Value>,
    /// Every statement of the trust policy: `policy`, `sid`, `index`, `effect`,
    /// `applies`, and what stopped it, `mismatch` (`element`: `action`, `principal`,
    /// `resource`, or `condition` with the condition's details).
    #[schema(value_type = Vec<Object>)]
    statements: Vec<StatementExplanation>,
}

impl From<&TrustExplanation> for RoleVerdict {
    fn from(t: &TrustExplanation) -> Self {
        let e = &t.explanation;
        let failed_conditions = e
            .statements
            .iter()
            .filter(|s| s.effect == StatementEffect::Allow)
            .filter_map(|s| match &s.mismatch {
                Some(Mismatch::Condition(c)) => Some(serde_json::json!({
                    "policy": s.statement.policy,
                    "sid": s.statement.sid,
                    "index": s.statement.index,
                    "condition": c,
                })),
                _ => None,
            })
            .collect();
        Self {
            role: t.role.name.to_string(),
            offered: t.offered(),
            outcome: e.decision.outcome,
            reason: e.decision.reason.clone(),
            deciding: e.decision.statements.clone(),
            failed_conditions,
            statements: e.statements.clone(),
        }
    }
}

/// An identity as JSON (it always serializes: strings, lists and maps of strings).
fn to_json(identity: &ExternalIdentity) -> serde_json::Value {
    serde_json::to_value(identity).unwrap_or_default()
}

/// The simulator's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimulationView {
    /// The identity simulated, as trust policies see it.
    #[schema(value_type = Object)]
    identity: serde_json::Value,
    /// Set when the claims were not verified (a JWT, a SAML response): they prove nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    warning: Option<&'static str>,
    /// Every role (or the one asked for), in catalog order.
    roles: Vec<RoleVerdict>,
}

/// `POST /admin/api/v1/simulate`: every role's trust decision for an identity, explained
/// (`lanyard:SimulateTrust` on `role/*`, or on `role/{name}` with `role`).
#[utoipa::path(
    post,
    path = "/admin/api/v1/simulate",
    request_body = SimulateRequest,
    responses(
        (status = 200, description = "Every role: offered or not, and why", body = SimulationView),
        (status = 400, description = "Not JSON, or not exactly one claims source", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:SimulateTrust is not allowed", body = ErrorBody),
        (status = 404, description = "No such role", body = ErrorBody),
        (status = 422, description = "The claims source is not usable; `path` names it", body = ErrorBody),
    )
)]
pub async fn simulate(
    State(state): State<AppState>,
    ip: ClientIp,
    facts: RequestFacts,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SimulationView>, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let request: SimulateRequest = typed_body(body)?;
    let only = match request.role.as_deref() {
        Some(name) if is_valid_role_name(name) => Some(RoleName::new(name)),
        Some(_) => return Err(bad("role", "not a role name")),
        None => None,
    };
    let resource = only
        .as_ref()
        .map_or_else(|| ALL_ROLES.to_owned(), |r| role_resource(r));
    let caller = allowed(&state, &claims, ip, Action::SimulateTrust, &resource).await?;
    let source = match (
        request.recorded_sign_in,
        request.claims,
        request.jwt,
        request.saml_response,
    ) {
        (Some(id), None, None, None) => ClaimsSource::Recorded(id),
        (None, Some(claims), None, None) => ClaimsSource::Claims {
            provider: request
                .provider
                .ok_or_else(|| bad("provider", "claims need their provider"))?,
            claims,
        },
        (None, None, Some(token), None) => ClaimsSource::Jwt {
            provider: request.provider,
            token,
        },
        (None, None, None, Some(response)) => ClaimsSource::Saml {
            provider: request.provider,
            response,
        },
        _ => {
            return Err(bad(
                "",
                "give exactly one of recorded_sign_in, claims (with provider), jwt or \
                 saml_response",
            ));
        }
    };
    let source_ip = match request.source_ip.as_deref() {
        None => None,
        Some(text) => Some(
            text.trim()
                .parse()
                .map_err(|_| bad("source_ip", "not an IP address"))?,
        ),
    };
    // The simulated sign-in's facts: now, this broker's transport, the address asked for.
    let facts = RequestFacts {
        source_ip,
        user_agent: None,
        ..facts
    };
    let simulation = state
        .admin
        .simulate(
            &state.config,
            (&state.roles, &*state.connectors),
            source,
            only.as_ref(),
            &caller,
            &facts,
        )
        .await?;
    Ok(Json(SimulationView {
        identity: to_json(&simulation.identity),
        warning: simulation.warning,
        roles: simulation.roles.iter().map(RoleVerdict::from).collect(),
    }))
}

/// One recorded identity the candidate role changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImpactView {
    /// `gains` or `loses` the role.
    change: &'static str,
    /// The recorded sign-in.
    sign_in: RecordedSignInView,
}

/// The impact of a candidate role.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImpactList {
    /// The role.
    role: String,
    /// The recorded identities that would gain or lose it (the others keep what they
    /// have).
    changes: Vec<ImpactView>,
}

/// `POST /admin/api/v1/roles/{name}/impact`: which recorded identities a candidate
/// document (validated as `PUT` validates) would give or take the role
/// (`lanyard:SimulateTrust` on `role/{name}`).
#[utoipa::path(
    post,
    path = "/admin/api/v1/roles/{name}/impact",
    params(("name" = String, Path, description = "The role's name")),
    request_body(content = Object, description = "The candidate role, as for PUT", content_type = "application/json"),
    responses(
        (status = 200, description = "Who gains and who loses the role", body = ImpactList),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:SimulateTrust is not allowed", body = ErrorBody),
        (status = 409, description = "The role is managed in lanyard.toml", body = ErrorBody),
        (status = 422, description = "The role is not valid; `path` names the field", body = ErrorBody),
    )
)]
pub async fn impact(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(name): Path<RoleName>,
    facts: RequestFacts,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImpactList>, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let resource = role_resource(&name);
    let caller = allowed(&state, &claims, ip, Action::SimulateTrust, &resource).await?;
    let document = json_body(body)?;
    let facts = RequestFacts {
        source_ip: None,
        user_agent: None,
        ..facts
    };
    let changes = state
        .admin
        .impact(
            &state.config,
            &state.roles,
            (&name, document),
            &caller,
            &facts,
        )
        .await?;
    Ok(Json(ImpactList {
        role: name.into_string(),
        changes: changes
            .into_iter()
            .map(|c| ImpactView {
                change: match c.change {
                    Change::Gains => "gains",
                    Change::Loses => "loses",
                },
                sign_in: c.recorded.into(),
            })
            .collect(),
    }))
}

/// The filters of `GET /admin/api/v1/audit-events`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// The subject (the person at their provider).
    subject: Option<String>,
    /// The role.
    role: Option<String>,
    /// The provider.
    provider: Option<String>,
    /// The event's name (`signin.succeeded`, `credentials.issued`, `admin.changed`, …).
    event: Option<String>,
    /// Only events at or after this time, milliseconds since the epoch.
    from_ms: Option<i64>,
    /// Only events before this time, milliseconds since the epoch.
    to_ms: Option<i64>,
    /// At most this many (1–1000, 100 by default).
    limit: Option<u32>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
    /// `json` (default) or `csv` (also chosen by `Accept: text/csv`).
    format: Option<String>,
}

/// A page of audit events.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvents {
    /// The events, newest first, as the audit trail keeps them.
    #[schema(value_type = Vec<Object>)]
    events: Vec<AuditEvent>,
    /// Give as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// `GET /admin/api/v1/audit-events`: the audit trail, filtered, as JSON or CSV
/// (`lanyard:ListAuditEvents` on `arn:lanyard:iam:::audit`).
#[utoipa::path(
    get,
    path = "/admin/api/v1/audit-events",
    params(AuditParams),
    responses(
        (status = 200, description = "A page of events, newest first: JSON, or CSV with a header line (the next page's cursor then in the X-Next-Cursor header)", body = AuditEvents),
        (status = 400, description = "A filter that is not valid", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:ListAuditEvents is not allowed", body = ErrorBody),
    )
)]
pub async fn audit_events(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Response, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let caller = allowed(&state, &claims, ip, Action::ListAuditEvents, AUDIT).await?;
    let Query(p) = params.map_err(|r| AdminApiError::BadRequest("", r.body_text()))?;
    let event = match p.event.as_deref() {
        None => None,
        Some(name) => Some(
            EventKind::parse(name).ok_or_else(|| bad("event", "no audit event has this name"))?,
        ),
    };
    let after = match p.cursor.as_deref() {
        None => None,
        Some(c) => Some(
            AuditQuery::parse_cursor(c)
                .ok_or_else(|| bad("cursor", "not a cursor this API gave"))?,
        ),
    };
    let csv = match p.format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(_) => return Err(bad("format", "must be json or csv")),
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv")),
    };
    let query = AuditQuery {
        subject: p.subject,
        role: p.role,
        provider: p.provider,
        event,
        role_session: None,
        since_ms: p.from_ms,
        until_ms: p.to_ms,
        after,
        limit: p.limit.unwrap_or(100),
    };
    let page = state.admin.audit_events(&query, &caller).await?;
    if csv {
        let mut response = (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            )],
            crate::audit::csv(&page.events),
        )
            .into_response();
        if let Some(next) = page
            .next_cursor
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            response.headers_mut().insert("x-next-cursor", next);
        }
        return Ok(response);
    }
    Ok(Json(AuditEvents {
        events: page.events,
        next_cursor: page.next_cursor,
    })
    .into_response())
}

fn bad(field: &'static str, why: &str) -> AdminApiError {
    AdminApiError::BadRequest(field, why.to_owned())
}

fn typed_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, AdminApiError> {
    let value = json_body(body)?;
    serde_json::from_value(value).map_err(|e| AdminApiError::InvalidJson(e.to_string()))
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
        assert!(doc["paths"]["/admin/api/v1/roles/{name}/impact"]["post"].is_object());
        assert!(doc["paths"]["/admin/api/v1/simulate"]["post"].is_object());
        assert!(doc["paths"]["/admin/api/v1/audit-events"]["get"].is_object());
        assert!(doc["paths"]["/admin/api/v1/providers/{id}/recent-sign-ins"]["get"].is_object());
    }
}
