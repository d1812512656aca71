//! The admin API's provider inspection (`POST /admin/api/v1/inspect-provider`, issue 15's
//! "Add an identity provider"): a SAML IdP's metadata (from a URL or pasted) or an OpenID
//! Connect provider's discovery (from its issuer, or a preset) described before anyone
//! trusts it, with what to hand to the IdP's admin for a provider of a given id
//! ([`crate::connectors::inspect`] does the fetching and checking).
//!
//! May import: `admin`, `clock`, `config`, `connectors`, `identity`, `web`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::{AdminApiError, ErrorBody, allowed, bad, claims, typed_body};
use crate::admin::{ALL_PROVIDERS, Action, provider_id};
use crate::clock::UnixTime;
use crate::config::{GITHUB_API_URL, GITHUB_URL, GOOGLE_ISSUER, MICROSOFT_AUTHORITY};
use crate::connectors::inspect::{
    self, CertificateFacts, InspectError, KeyUse, OidcDescription, SamlDescription, ServiceEndpoint,
};
use crate::connectors::oauth2::{AUTHORIZE_PATH, TOKEN_PATH, USER_PATH};
use crate::connectors::oidc::discovery_url;
use crate::connectors::settings::SpEndpoints;
use crate::identity::ProviderId;
use crate::web::error::request_id;
use crate::web::{AppState, ClientIp};

/// The largest request body: a pasted metadata document of the connector's largest size,
/// as a JSON string (escaping can double some characters).
pub const MAX_INSPECT_BODY_BYTES: usize = 2 * crate::connectors::saml::MAX_METADATA_BYTES + 4096;

/// The OpenAPI path of the inspection, merged into the admin API's document.
#[derive(OpenApi)]
#[openapi(
    paths(inspect_provider),
    components(schemas(
        InspectRequest,
        Inspection,
        SamlInspection,
        OidcInspection,
        EndpointView,
        CertificateView,
        KeyView,
        SamlHandover,
        OidcHandover
    ))
)]
pub struct InspectApi;

/// The route of the inspection (with a body limit that fits a pasted metadata document).
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/admin/api/v1/inspect-provider",
        post(inspect_provider).layer(axum::extract::DefaultBodyLimit::max(MAX_INSPECT_BODY_BYTES)),
    )
}

/// What to inspect: `kind` `saml` with `metadata_url` or `metadata_xml`, or `kind` `oidc`
/// with `issuer` or `preset`; `id` is the provider id it would get.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectRequest {
    /// `saml` or `oidc`.
    pub(crate) kind: String,
    /// The id the provider would get: the `lanyard` part of the answer is for it.
    #[serde(default)]
    pub(crate) id: Option<String>,
    /// SAML: the IdP's metadata URL (http or https), fetched now.
    #[serde(default)]
    pub(crate) metadata_url: Option<String>,
    /// SAML: the IdP's metadata document itself.
    #[serde(default)]
    pub(crate) metadata_xml: Option<String>,
    /// OpenID Connect: the issuer (https, or http on a loopback host); its discovery
    /// document and keys are fetched and checked now.
    #[serde(default)]
    pub(crate) issuer: Option<String>,
    /// OpenID Connect: `google`, `microsoft` or `github`; nothing is fetched.
    #[serde(default)]
    pub(crate) preset: Option<String>,
}

/// A SAML endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointView {
    /// The binding URI.
    pub(crate) binding: String,
    /// The URL.
    pub(crate) location: String,
}

impl From<ServiceEndpoint> for EndpointView {
    fn from(e: ServiceEndpoint) -> Self {
        Self {
            binding: e.binding,
            location: e.location,
        }
    }
}

/// A certificate of the IdP's metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    /// `signing`, `encryption` or `both` (a `KeyDescriptor` without `use`).
    #[serde(rename = "use")]
    pub(crate) key_use: &'static str,
    /// Its subject.
    pub(crate) subject: String,
    /// The SHA-256 fingerprint of its DER, colon-separated hex.
    pub(crate) sha256: String,
    /// When it expires (RFC 3339), if that can be read.
    pub(crate) not_after: Option<String>,
    /// Whole days until then, negative once expired.
    pub(crate) days_left: Option<i64>,
    /// Expired, or expires within 30 days.
    pub(crate) warning: bool,
}

impl From<CertificateFacts> for CertificateView {
    fn from(c: CertificateFacts) -> Self {
        Self {
            key_use: match c.key_use {
                KeyUse::Signing => "signing",
                KeyUse::Encryption => "encryption",
                KeyUse::Both => "both",
            },
            subject: c.subject,
            sha256: c.sha256,
            not_after: c.not_after.map(rfc3339),
            days_left: c.days_left,
            warning: c.warning,
        }
    }
}

/// What to hand to the IdP's admin for a SAML provider with the id asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct SamlHandover {
    /// Lanyard's SP entity id (the `Audience` of the IdP's assertions).
    pub(crate) sp_entity_id: String,
    /// The Assertion Consumer Service URL (HTTP-POST binding).
    pub(crate) acs_url: String,
    /// Lanyard's SP metadata URL, for IdPs that read it.
    pub(crate) sp_metadata_url: String,
}

/// A SAML IdP, described.
#[derive(Debug, Serialize, ToSchema)]
pub struct SamlInspection {
    /// `saml`.
    pub(crate) kind: &'static str,
    /// The IdP's entity id.
    pub(crate) entity_id: String,
    /// Its single sign-on endpoints.
    pub(crate) sso_endpoints: Vec<EndpointView>,
    /// Its single logout endpoints.
    pub(crate) slo_endpoints: Vec<EndpointView>,
    /// The NameID formats it offers.
    pub(crate) name_id_formats: Vec<String>,
    /// Whether it wants signed AuthnRequests.
    pub(crate) want_authn_requests_signed: bool,
    /// Every certificate of its `KeyDescriptor`s.
    pub(crate) certificates: Vec<CertificateView>,
    /// What Lanyard would refuse or warns about (no HTTP-Redirect SSO endpoint, no signing
    /// certificate, an expired or expiring certificate, an aggregate), one sentence each.
    pub(crate) problems: Vec<String>,
    /// Whether Lanyard's SAML provider accepts the document as it is.
    pub(crate) accepted: bool,
    /// For the IdP's admin, when `id` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) lanyard: Option<SamlHandover>,
}

/// A key of the provider's JWKS.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// `kid`.
    pub(crate) kid: Option<String>,
    /// `kty`.
    pub(crate) kty: Option<String>,
    /// `alg`.
    pub(crate) alg: Option<String>,
}

/// What to register at the provider for an OpenID Connect provider with the id asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct OidcHandover {
    /// The redirect URI to register.
    pub(crate) redirect_uri: String,
}

/// An OpenID Connect provider, described.
#[derive(Debug, Serialize, ToSchema)]
pub struct OidcInspection {
    /// `oidc`.
    pub(crate) kind: &'static str,
    /// The preset asked for, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) preset: Option<&'static str>,
    /// Whether the discovery document and keys were fetched and checked now (not for a
    /// preset).
    pub(crate) checked: bool,
    /// The issuer (none for GitHub, which is OAuth 2.0 only).
    pub(crate) issuer: Option<String>,
    /// The discovery document's URL.
    pub(crate) discovery_url: Option<String>,
    /// `authorization_endpoint`.
    pub(crate) authorization_endpoint: Option<String>,
    /// `token_endpoint`.
    pub(crate) token_endpoint: Option<String>,
    /// `userinfo_endpoint` (GitHub: its user API).
    pub(crate) userinfo_endpoint: Option<String>,
    /// `jwks_uri`.
    pub(crate) jwks_uri: Option<String>,
    /// `id_token_signing_alg_values_supported`, as advertised.
    pub(crate) id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// The ID token algorithms Lanyard would accept.
    pub(crate) accepted_algorithms: Vec<String>,
    /// The keys of its JWKS.
    pub(crate) keys: Vec<KeyView>,
    /// What Lanyard would refuse or warns about, one sentence each.
    pub(crate) problems: Vec<String>,
    /// For the provider's admin, when `id` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) lanyard: Option<OidcHandover>,
}

impl OidcInspection {
    fn from_description(d: OidcDescription, discovery: String) -> Self {
        Self {
            kind: "oidc",
            preset: None,
            checked: true,
            issuer: Some(d.issuer),
            discovery_url: Some(discovery),
            authorization_endpoint: Some(d.authorization_endpoint),
            token_endpoint: Some(d.token_endpoint),
            userinfo_endpoint: d.userinfo_endpoint,
            jwks_uri: Some(d.jwks_uri),
            id_token_signing_alg_values_supported: d.id_token_signing_alg_values_supported,
            accepted_algorithms: d.accepted_algorithms,
            keys: d
                .keys
                .into_iter()
                .map(|k| KeyView {
                    kid: k.kid,
                    kty: k.kty,
                    alg: k.alg,
                })
                .collect(),
            problems: d.problems,
            lanyard: None,
        }
    }
}

/// The answer: a SAML IdP or an OpenID Connect provider, by `kind`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Inspection {
    /// `kind` `saml`.
    Saml(SamlInspection),
    /// `kind` `oidc`.
    Oidc(OidcInspection),
}

/// An inspection that did not succeed: an admin API error, or the provider could not be
/// described (422 with the [`InspectError::code`]).
#[derive(Debug)]
pub enum InspectApiError {
    /// Authentication, authorization or the request itself.
    Api(AdminApiError),
    /// The provider could not be described.
    Inspect(InspectError),
}

impl From<AdminApiError> for InspectApiError {
    fn from(e: AdminApiError) -> Self {
        InspectApiError::Api(e)
    }
}

impl From<crate::admin::AdminError> for InspectApiError {
    fn from(e: crate::admin::AdminError) -> Self {
        InspectApiError::Api(AdminApiError::Admin(e))
    }
}

impl IntoResponse for InspectApiError {
    fn into_response(self) -> Response {
        match self {
            InspectApiError::Api(e) => e.into_response(),
            InspectApiError::Inspect(e) => {
                let request_id = request_id();
                tracing::info!(request_id, code = e.code(), reason = %e, "provider inspection refused");
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(ErrorBody {
                        error: e.code(),
                        error_description: e.to_string(),
                        path: None,
                        errors: vec![],
                        in_use_by: vec![],
                        request_id,
                    }),
                )
                    .into_response()
            }
        }
    }
}

/// `POST /admin/api/v1/inspect-provider`: an identity provider described before it is
/// trusted (`lanyard:InspectProvider` on `arn:lanyard:iam:::provider/*`).
#[utoipa::path(
    post,
    path = "/admin/api/v1/inspect-provider",
    request_body = InspectRequest,
    responses(
        (status = 200, description = "The provider described, with its problems and what to hand to its admin", body = Inspection),
        (status = 400, description = "Not JSON, or not one of the accepted shapes; `path` names the field", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "lanyard:InspectProvider is not allowed", body = ErrorBody),
        (status = 422, description = "The provider could not be described: invalid_url, \
            metadata_unreachable, metadata_invalid, discovery_unreachable, discovery_invalid, \
            issuer_mismatch", body = ErrorBody),
    )
)]
pub async fn inspect_provider(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Inspection>, InspectApiError> {
    let claims = claims(&state, &headers)?;
    allowed(&state, &claims, ip, Action::InspectProvider, ALL_PROVIDERS).await?;
    // Read after the caller is allowed: a refused caller has nothing fetched.
    let request: InspectRequest = typed_body(body)?;
    Ok(Json(describe(&state, &request).await?))
}

/// Describes the provider `request` names, with what to hand to its admin when it names
/// an id: the one inspection of the API and the console's "Add an identity provider".
/// The caller is allowed `lanyard:InspectProvider` already.
pub(crate) async fn describe(
    state: &AppState,
    request: &InspectRequest,
) -> Result<Inspection, InspectApiError> {
    let id = match request.id.as_deref() {
        None => None,
        Some(text) => Some(provider_id(text).ok_or_else(|| {
            bad(
                "id",
                "a provider id is 1–64 characters of a-z, 0-9, - and _, starting with a letter",
            )
        })?),
    };
    let now = state.clock.now();
    Ok(match request.kind.as_str() {
        "saml" => Inspection::Saml(saml(state, request, id.as_ref(), now).await?),
        "oidc" => Inspection::Oidc(oidc(state, request, id.as_ref()).await?),
        _ => return Err(bad("kind", "must be saml or oidc").into()),
    })
}

async fn saml(
    state: &AppState,
    request: &InspectRequest,
    id: Option<&ProviderId>,
    now: UnixTime,
) -> Result<SamlInspection, InspectApiError> {
    if request.issuer.is_some() || request.preset.is_some() {
        return Err(bad("", "issuer and preset are for kind oidc").into());
    }
    let description: SamlDescription = match (&request.metadata_url, &request.metadata_xml) {
        (Some(url), None) => {
            let url = inspect::metadata_url(url).map_err(InspectApiError::Inspect)?;
            inspect::fetch_saml_metadata(&url, now).await
        }
        (None, Some(xml)) => inspect::describe_saml_metadata(xml, now),
        _ => {
            return Err(bad("", "give exactly one of metadata_url and metadata_xml").into());
        }
    }
    .map_err(InspectApiError::Inspect)?;
    Ok(SamlInspection {
        kind: "saml",
        entity_id: description.entity_id,
        sso_endpoints: description
            .sso_endpoints
            .into_iter()
            .map(Into::into)
            .collect(),
        slo_endpoints: description
            .slo_endpoints
            .into_iter()
            .map(Into::into)
            .collect(),
        name_id_formats: description.name_id_formats,
        want_authn_requests_signed: description.want_authn_requests_signed,
        certificates: description
            .certificates
            .into_iter()
            .map(Into::into)
            .collect(),
        problems: description.problems,
        accepted: description.accepted,
        lanyard: id.map(|id| saml_handover(state, id)),
    })
}

/// The SP's URLs for provider `id`: a configured SAML provider's own (its `sp_entity_id`
/// may be set), else those the SAML settings derive from the public URL.
pub(crate) fn saml_handover(state: &AppState, id: &ProviderId) -> SamlHandover {
    match state.connectors.saml(id.as_str()) {
        Some(c) => {
            let s = c.settings();
            SamlHandover {
                sp_entity_id: s.sp_entity_id.clone(),
                acs_url: s.acs_url.clone(),
                sp_metadata_url: s.metadata_url.clone(),
            }
        }
        None => {
            let sp = SpEndpoints::of(Some(&state.config.server.public_url), id);
            SamlHandover {
                sp_entity_id: sp.entity_id,
                acs_url: sp.acs_url,
                sp_metadata_url: sp.metadata_url,
            }
        }
    }
}

async fn oidc(
    state: &AppState,
    request: &InspectRequest,
    id: Option<&ProviderId>,
) -> Result<OidcInspection, InspectApiError> {
    if request.metadata_url.is_some() || request.metadata_xml.is_some() {
        return Err(bad("", "metadata_url and metadata_xml are for kind saml").into());
    }
    let mut answer = match (&request.issuer, request.preset.as_deref()) {
        (Some(issuer), None) => {
            let description = inspect::inspect_oidc(issuer)
                .await
                .map_err(InspectApiError::Inspect)?;
            let discovery = url::Url::parse(&description.issuer)
                .map(|u| discovery_url(&u).to_string())
                .unwrap_or_default();
            OidcInspection::from_description(description, discovery)
        }
        (None, Some(preset)) => preset_answer(preset)?,
        _ => return Err(bad("", "give exactly one of issuer and preset").into()),
    };
    if let Some(id) = id {
        let redirect_uri = crate::connectors::callback_url(&state.config.server.issuer(), id)
            .map_err(|e| InspectApiError::Api(AdminApiError::BadRequest("id", e.to_string())))?;
        answer.lanyard = Some(OidcHandover {
            redirect_uri: redirect_uri.to_string(),
        });
    }
    Ok(answer)
}

/// A preset's known issuer (Google; Microsoft Entra ID's multi-tenant `organizations`)
/// or endpoints (GitHub), as `kind = "google" | "microsoft" | "github"` use them; nothing
/// fetched.
fn preset_answer(preset: &str) -> Result<OidcInspection, InspectApiError> {
    let known = |name: &'static str, issuer: Option<String>| OidcInspection {
        kind: "oidc",
        preset: Some(name),
        checked: false,
        discovery_url: issuer
            .as_deref()
            .and_then(|i| url::Url::parse(i).ok())
            .map(|u| discovery_url(&u).to_string()),
        issuer,
        authorization_endpoint: None,
        token_endpoint: None,
        userinfo_endpoint: None,
        jwks_uri: None,
        id_token_signing_alg_values_supported: None,
        accepted_algorithms: vec![],
        keys: vec![],
        problems: vec![],
        lanyard: None,
    };
    Ok(match preset {
        "google" => known("google", Some(GOOGLE_ISSUER.to_owned())),
        "microsoft" => known(
            "microsoft",
            Some(format!("{MICROSOFT_AUTHORITY}/organizations/v2.0")),
        ),
        "github" => OidcInspection {
            authorization_endpoint: Some(format!("{GITHUB_URL}/{AUTHORIZE_PATH}")),
            token_endpoint: Some(format!("{GITHUB_URL}/{TOKEN_PATH}")),
            userinfo_endpoint: Some(format!("{GITHUB_API_URL}/{USER_PATH}")),
            ..known("github", None)
        },
        _ => return Err(bad("preset", "must be google, microsoft or github").into()),
    })
}

/// A time as RFC 3339 (as SAML writes it).
fn rfc3339(t: UnixTime) -> String {
    crate::connectors::saml::xml::format_time(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_has_the_inspection() {
        let doc: serde_json::Value =
            serde_json::from_str(&super::super::document().to_json().unwrap()).unwrap();
        let op = &doc["paths"]["/admin/api/v1/inspect-provider"]["post"];
        assert!(op.is_object());
        assert!(op["responses"]["422"].is_object());
    }

    #[test]
    fn presets_name_their_known_endpoints() {
        let g = preset_answer("github").unwrap();
        assert_eq!(
            g.authorization_endpoint.as_deref(),
            Some("https://github.com/login/oauth/authorize")
        );
        assert!(g.issuer.is_none() && !g.checked);
        let google = preset_answer("google").unwrap();
        assert_eq!(
            google.discovery_url.as_deref(),
            Some("https://accounts.google.com/.well-known/openid-configuration")
        );
        assert!(preset_answer("okta").is_err());
    }
}
