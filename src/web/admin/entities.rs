//! The admin API's providers and managed policies (`/admin/api/v1/providers…`,
//! `/admin/api/v1/policies…`, issue 15): read, created, replaced and deleted as roles are
//! (`ETag` / `If-Match`, 409 `managed_in_file`, 422 with the JSON path), through the
//! operations of [`crate::admin::entities`]. A provider's secrets read as `"********"`.
//!
//! May import: `admin`, `identity`, `roles`, `web`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::{AdminApiError, ErrorBody, RoleSource, allowed, claims, etag, json_body, precondition};
use crate::admin::entities::{PolicyEntry, ProviderDeleted, ProviderEntry};
use crate::admin::{
    ALL_POLICIES, ALL_PROVIDERS, Action, Precondition, Source, policy_resource, provider_id,
    provider_resource,
};
use crate::identity::ProviderId;
use crate::roles::is_valid_role_name;
use crate::web::{AppState, ClientIp};

/// The OpenAPI paths of the providers and policies, merged into the admin API's document.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_providers,
        get_provider,
        put_provider,
        delete_provider,
        list_policies,
        get_policy,
        put_policy,
        delete_policy
    ),
    components(schemas(
        ProviderView,
        ProviderList,
        ProviderDeletedView,
        PolicyView,
        PolicyList
    ))
)]
pub struct EntitiesApi;

/// The routes of the providers and policies.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/api/v1/providers", get(list_providers))
        .route(
            "/admin/api/v1/providers/{id}",
            get(get_provider).put(put_provider).delete(delete_provider),
        )
        .route("/admin/api/v1/policies", get(list_policies))
        .route(
            "/admin/api/v1/policies/{name}",
            get(get_policy).put(put_policy).delete(delete_policy),
        )
}

fn source(s: Source) -> RoleSource {
    match s {
        Source::File => RoleSource::File,
        Source::Database => RoleSource::Database,
    }
}

/// A provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderView {
    /// The provider's id (in URLs, `Principal.Federated` and condition keys).
    id: String,
    /// Where it is defined.
    source: RoleSource,
    /// Its kind: `ldap`, `oidc`, `google`, `microsoft`, `github`, `saml` (`local` in the
    /// file only).
    kind: String,
    /// The name the sign-in page shows.
    display_name: String,
    /// The document (database providers): the shape of a `[[providers]]` entry of
    /// lanyard.toml as JSON, without `id`; `client_secret` and `bind_password` read as
    /// `"********"` (send that back to keep the stored secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    document: Option<serde_json::Value>,
    /// The version, also the `ETag` (database providers).
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
    /// When it was last written, milliseconds since the epoch (database providers).
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at_ms: Option<i64>,
    /// Who wrote it last: the subject of the caller's token (database providers).
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_by: Option<String>,
}

impl From<ProviderEntry> for ProviderView {
    fn from(e: ProviderEntry) -> Self {
        Self {
            id: e.id.to_string(),
            source: source(e.source),
            kind: e.kind,
            display_name: e.display_name,
            document: e.document,
            version: e.version,
            updated_at_ms: e.updated_at_ms,
            updated_by: e.updated_by,
        }
    }
}

/// Every provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderList {
    /// The file's providers, then the database's.
    providers: Vec<ProviderView>,
}

/// A deleted provider, and the roles that still trust it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderDeletedView {
    /// The provider deleted.
    deleted: String,
    /// The roles whose trust policies could admit identities of that provider: they admit
    /// nobody through it any more; edit them if the provider is gone for good.
    trusted_by: Vec<String>,
}

impl From<ProviderDeleted> for ProviderDeletedView {
    fn from(d: ProviderDeleted) -> Self {
        Self {
            deleted: d.id.to_string(),
            trusted_by: d.trusted_by.into_iter().map(|r| r.into_string()).collect(),
        }
    }
}

/// A managed policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    /// The policy's name (in roles' `permission_policies` and `permissions_boundary`).
    name: String,
    /// Where it is defined.
    source: RoleSource,
    /// How many statements it has (file policies).
    #[serde(skip_serializing_if = "Option::is_none")]
    statements: Option<usize>,
    /// The document (database policies): the shape of a `[[policies]]` entry of
    /// lanyard.toml as JSON, without `name`: `{"document": {"Version": ..., "Statement":
    /// [...]}}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    document: Option<serde_json::Value>,
    /// The version, also the `ETag` (database policies).
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
    /// When it was last written, milliseconds since the epoch (database policies).
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at_ms: Option<i64>,
    /// Who wrote it last (database policies).
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_by: Option<String>,
}

impl From<PolicyEntry> for PolicyView {
    fn from(e: PolicyEntry) -> Self {
        Self {
            name: e.name,
            source: source(e.source),
            statements: e.statements,
            document: e.document,
            version: e.version,
            updated_at_ms: e.updated_at_ms,
            updated_by: e.updated_by,
        }
    }
}

/// Every managed policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyList {
    /// The file's policies, then the database's.
    policies: Vec<PolicyView>,
}

/// `body` with its `ETag` (`version`).
fn tagged(status: StatusCode, version: Option<i64>, body: impl Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    if let Some(tag) = version.and_then(etag) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

/// 201 for a create, 200 for a replace.
fn written(expect: Option<Precondition>) -> StatusCode {
    if expect == Some(Precondition::Absent) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// The version an `If-Match` names (a delete needs one).
fn delete_version(headers: &HeaderMap) -> Option<i64> {
    match precondition(headers) {
        Some(Precondition::Version(v)) => Some(v),
        Some(Precondition::Absent) | None => None,
    }
}

/// The provider id of a path: 404 when it cannot be one (a write: 400, saying why).
fn path_provider(text: &str, writing: bool) -> Result<ProviderId, AdminApiError> {
    provider_id(text).ok_or(if writing {
        AdminApiError::BadRequest(
            "id",
            "not a valid provider id: 1-64 characters of a-z, 0-9, '-' and '_', starting with \
             a letter"
                .to_owned(),
        )
    } else {
        AdminApiError::NoProvider
    })
}

/// The policy name of a path: 404 when it cannot be one (a write: 400, saying why).
fn path_policy(text: &str, writing: bool) -> Result<&str, AdminApiError> {
    if is_valid_role_name(text) {
        return Ok(text);
    }
    Err(if writing {
        AdminApiError::BadRequest(
            "name",
            "not a valid policy name: 1-64 characters of A-Z a-z 0-9 and +=,.@_-".to_owned(),
        )
    } else {
        AdminApiError::NoPolicy
    })
}

/// `GET /admin/api/v1/providers`: every provider (`lanyard:ListProviders` on `provider/*`).
#[utoipa::path(
    get,
    path = "/admin/api/v1/providers",
    responses(
        (status = 200, description = "Every provider: the file's, then the database's", body = ProviderList),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:ListProviders is not allowed", body = ErrorBody),
    )
)]
pub async fn list_providers(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
) -> Result<Json<ProviderList>, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let caller = allowed(&state, &claims, ip, Action::ListProviders, ALL_PROVIDERS).await?;
    let providers = state.admin.list_providers(&state.config, &caller).await?;
    Ok(Json(ProviderList {
        providers: providers.into_iter().map(ProviderView::from).collect(),
    }))
}

/// `GET /admin/api/v1/providers/{id}`: one provider, with its `ETag`.
#[utoipa::path(
    get,
    path = "/admin/api/v1/providers/{id}",
    params(("id" = String, Path, description = "The provider's id")),
    responses(
        (status = 200, description = "The provider; ETag is its version; secrets read as \"********\"", body = ProviderView),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:GetProvider is not allowed", body = ErrorBody),
        (status = 404, description = "No such provider", body = ErrorBody),
    )
)]
pub async fn get_provider(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let id = path_provider(&id, false)?;
    let resource = provider_resource(id.as_str());
    let caller = allowed(&state, &claims, ip, Action::GetProvider, &resource).await?;
    let entry = state.admin.provider(&state.config, &id, &caller).await?;
    Ok(tagged(
        StatusCode::OK,
        entry.version,
        ProviderView::from(entry),
    ))
}

/// `PUT /admin/api/v1/providers/{id}`: creates (`If-None-Match: *`) or replaces
/// (`If-Match`) a database provider. The body is the provider as JSON in the shape of a
/// `[[providers]]` entry; it answers once sign-ins through it work on this instance.
#[utoipa::path(
    put,
    path = "/admin/api/v1/providers/{id}",
    params(
        ("id" = String, Path, description = "The provider's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read, to replace"),
        ("If-None-Match" = Option<String>, Header, description = "`*`, to create"),
    ),
    request_body(content = Object, description = "The provider: kind (ldap, oidc, google, \
        microsoft, github, saml) and the keys of that kind as in lanyard.toml. Secrets are \
        given as themselves (no ${ENV} reference, no *_file path); \"********\" keeps the \
        stored one", content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced; ETag is the new version", body = ProviderView),
        (status = 201, description = "Created; ETag is its version", body = ProviderView),
        (status = 400, description = "The id is not a valid provider id", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:PutProvider is not allowed", body = ErrorBody),
        (status = 409, description = "The provider is managed in lanyard.toml", body = ErrorBody),
        (status = 412, description = "The ETag is stale; nothing changed", body = ErrorBody),
        (status = 422, description = "The provider is not valid; `path` names the field", body = ErrorBody),
        (status = 428, description = "Neither If-Match nor If-None-Match: *", body = ErrorBody),
    )
)]
pub async fn put_provider(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let id = path_provider(&id, true)?;
    let resource = provider_resource(id.as_str());
    let caller = allowed(&state, &claims, ip, Action::PutProvider, &resource).await?;
    // Read after the caller is allowed: a refused caller learns nothing of the body.
    let document = json_body(body)?;
    let expect = precondition(&headers);
    let entry = state
        .admin
        .put_provider(
            &state.config,
            &id,
            document,
            expect,
            &caller,
            state.clock.now_ms(),
        )
        .await?;
    Ok(tagged(
        written(expect),
        entry.version,
        ProviderView::from(entry),
    ))
}

/// `DELETE /admin/api/v1/providers/{id}`: deletes a database provider (`If-Match`
/// required). Not refused while trust policies name it (a provider is removed to cut it
/// off); the answer names those roles.
#[utoipa::path(
    delete,
    path = "/admin/api/v1/providers/{id}",
    params(
        ("id" = String, Path, description = "The provider's id"),
        ("If-Match" = String, Header, description = "The ETag read"),
    ),
    responses(
        (status = 200, description = "Deleted; `trusted_by` names the roles whose trust policies could admit it", body = ProviderDeletedView),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:DeleteProvider is not allowed", body = ErrorBody),
        (status = 404, description = "No such provider", body = ErrorBody),
        (status = 409, description = "The provider is managed in lanyard.toml", body = ErrorBody),
        (status = 412, description = "The ETag is stale; nothing changed", body = ErrorBody),
        (status = 428, description = "No If-Match", body = ErrorBody),
    )
)]
pub async fn delete_provider(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ProviderDeletedView>, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let id = path_provider(&id, false)?;
    let resource = provider_resource(id.as_str());
    let caller = allowed(&state, &claims, ip, Action::DeleteProvider, &resource).await?;
    let deleted = state
        .admin
        .delete_provider(
            (&*state.config, &*state.roles),
            &id,
            delete_version(&headers),
            &caller,
            state.clock.now_ms(),
        )
        .await?;
    Ok(Json(deleted.into()))
}

/// `GET /admin/api/v1/policies`: every managed policy (`lanyard:ListPolicies` on
/// `policy/*`).
#[utoipa::path(
    get,
    path = "/admin/api/v1/policies",
    responses(
        (status = 200, description = "Every managed policy: the file's, then the database's", body = PolicyList),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:ListPolicies is not allowed", body = ErrorBody),
    )
)]
pub async fn list_policies(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
) -> Result<Json<PolicyList>, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let caller = allowed(&state, &claims, ip, Action::ListPolicies, ALL_POLICIES).await?;
    let policies = state.admin.list_policies(&state.config, &caller).await?;
    Ok(Json(PolicyList {
        policies: policies.into_iter().map(PolicyView::from).collect(),
    }))
}

/// `GET /admin/api/v1/policies/{name}`: one managed policy, with its `ETag`.
#[utoipa::path(
    get,
    path = "/admin/api/v1/policies/{name}",
    params(("name" = String, Path, description = "The policy's name")),
    responses(
        (status = 200, description = "The policy; ETag is its version", body = PolicyView),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:GetPolicy is not allowed", body = ErrorBody),
        (status = 404, description = "No such policy", body = ErrorBody),
    )
)]
pub async fn get_policy(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let name = path_policy(&name, false)?;
    let resource = policy_resource(name);
    let caller = allowed(&state, &claims, ip, Action::GetPolicy, &resource).await?;
    let entry = state.admin.policy(&state.config, name, &caller).await?;
    Ok(tagged(
        StatusCode::OK,
        entry.version,
        PolicyView::from(entry),
    ))
}

/// `PUT /admin/api/v1/policies/{name}`: creates (`If-None-Match: *`) or replaces
/// (`If-Match`) a database policy: `{"document": {"Version": ..., "Statement": [...]}}`.
#[utoipa::path(
    put,
    path = "/admin/api/v1/policies/{name}",
    params(
        ("name" = String, Path, description = "The policy's name"),
        ("If-Match" = Option<String>, Header, description = "The ETag read, to replace"),
        ("If-None-Match" = Option<String>, Header, description = "`*`, to create"),
    ),
    request_body(content = Object, description = "The policy: document, an IAM identity \
        policy (no document_file)", content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced; ETag is the new version", body = PolicyView),
        (status = 201, description = "Created; ETag is its version", body = PolicyView),
        (status = 400, description = "The name is not a valid policy name", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:PutPolicy is not allowed", body = ErrorBody),
        (status = 409, description = "The policy is managed in lanyard.toml", body = ErrorBody),
        (status = 412, description = "The ETag is stale; nothing changed", body = ErrorBody),
        (status = 422, description = "The policy is not valid; `path` names the field", body = ErrorBody),
        (status = 428, description = "Neither If-Match nor If-None-Match: *", body = ErrorBody),
    )
)]
pub async fn put_policy(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let name = path_policy(&name, true)?;
    let resource = policy_resource(name);
    let caller = allowed(&state, &claims, ip, Action::PutPolicy, &resource).await?;
    let document = json_body(body)?;
    let expect = precondition(&headers);
    let entry = state
        .admin
        .put_policy(
            &state.config,
            name,
            document,
            expect,
            &caller,
            state.clock.now_ms(),
        )
        .await?;
    Ok(tagged(
        written(expect),
        entry.version,
        PolicyView::from(entry),
    ))
}

/// `DELETE /admin/api/v1/policies/{name}`: deletes a database policy (`If-Match`
/// required); 409 `in_use` while a role names it.
#[utoipa::path(
    delete,
    path = "/admin/api/v1/policies/{name}",
    params(
        ("name" = String, Path, description = "The policy's name"),
        ("If-Match" = String, Header, description = "The ETag read"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:DeletePolicy is not allowed", body = ErrorBody),
        (status = 404, description = "No such policy", body = ErrorBody),
        (status = 409, description = "The policy is managed in lanyard.toml (`managed_in_file`), or roles still name it (`in_use`, naming them)", body = ErrorBody),
        (status = 412, description = "The ETag is stale; nothing changed", body = ErrorBody),
        (status = 428, description = "No If-Match", body = ErrorBody),
    )
)]
pub async fn delete_policy(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, AdminApiError> {
    let claims = claims(&state, &headers)?;
    let name = path_policy(&name, false)?;
    let resource = policy_resource(name);
    let caller = allowed(&state, &claims, ip, Action::DeletePolicy, &resource).await?;
    state
        .admin
        .delete_policy(
            &state.config,
            name,
            delete_version(&headers),
            &caller,
            state.clock.now_ms(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
