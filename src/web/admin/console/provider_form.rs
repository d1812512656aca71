//! The console's "Add an identity provider" (issue 15) and a provider's own page.
//!
//! Adding takes two steps, each a plain form. The first asks for the provider's id and
//! where to read it from: a SAML IdP's metadata URL, its metadata XML pasted or uploaded
//! as a file (the form is `multipart/form-data`, read by [`super::upload`]; the file's
//! text then goes where pasted text goes), an OpenID Connect issuer, or a preset (Google,
//! Microsoft, GitHub). The second shows what the inspection found — by
//! [`crate::web::admin::inspect::describe`], the code of
//! `POST /admin/api/v1/inspect-provider` (`lanyard:InspectProvider`) — with what to hand
//! to the IdP's admin, and a form for the rest (display name, attribute or claim mapping,
//! client id and secret) that becomes the `[[providers]]` document the admin API's
//! `PUT /admin/api/v1/providers/{id}` takes, written by [`crate::admin::Admin::put_provider`]
//! (`lanyard:PutProvider`, validated by `check-config`'s code). A pasted or uploaded
//! metadata document becomes the explicit `idp_entity_id`, `sso_url` and `certificates` it
//! names, read again by the same inspection when saved (the database holds no files).
//!
//! A provider's page shows its facts and what to hand to its admin; a database provider's
//! document is edited there (the version read kept in a hidden field, so that a stale
//! edit is shown, never written; secrets read as `********` and are kept unless replaced)
//! and deleted after a confirmation that names the roles trusting it
//! (`lanyard:DeleteProvider`). The file's providers are read-only: managed in lanyard.toml.
//!
//! May import: `admin`, `clock`, `connectors`, `identity`, `roles`, `web`.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::roles::Problem;
use super::upload::{FormWithFile, Upload, UploadError, WithFile};
use super::{Console, Nav, Posted, VersionForm, render, when_ms};
use crate::admin::entities::ProviderEntry;
use crate::admin::{
    ALL_PROVIDERS, Action, AdminError, Precondition, Source, provider_id, provider_resource,
};
use crate::clock::UnixTime;
use crate::connectors::inspect::{self as described, KeyUse};
use crate::connectors::saml::MAX_METADATA_BYTES;
use crate::identity::ProviderId;
use crate::roles::could_trust_provider;
use crate::web::admin::AdminApiError;
use crate::web::admin::inspect::{
    InspectApiError, InspectRequest, Inspection, OidcInspection, SamlHandover, SamlInspection,
    describe, saml_handover,
};
use crate::web::extract::{Browser, PageForm};
use crate::web::i18n::{Locale, Msg};
// The `rich` macro of `templates/i18n.html` matches on it in the generated code.
#[allow(unused_imports)]
use crate::web::i18n::Tag;

/// The largest form of the first and second step: a pasted metadata document of the
/// connector's largest size, form-encoded (which can triple some characters), or the
/// first step's multipart form with a pasted document and an uploaded file of that size.
pub const MAX_PROVIDER_FORM_BYTES: usize = 3 * MAX_METADATA_BYTES + 64 * 1024;

/// The presets of the first step: `kind` and the name the sign-in page shows.
const PRESETS: &[(&str, &str)] = &[
    ("google", "Google"),
    ("microsoft", "Microsoft"),
    ("github", "GitHub"),
];

/// Where a new provider is read from: the first step's button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    /// A SAML IdP's metadata URL.
    SamlUrl,
    /// A SAML IdP's metadata document, pasted.
    SamlXml,
    /// A SAML IdP's metadata document, uploaded as a file: read as if pasted.
    SamlFile,
    /// An OpenID Connect issuer.
    Oidc,
    /// Google, Microsoft or GitHub.
    Preset,
}

impl SourceKind {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "saml_url" => Some(Self::SamlUrl),
            "saml_xml" => Some(Self::SamlXml),
            "saml_file" => Some(Self::SamlFile),
            "oidc" => Some(Self::Oidc),
            "preset" => Some(Self::Preset),
            _ => None,
        }
    }

    fn is_saml(self) -> bool {
        matches!(self, Self::SamlUrl | Self::SamlXml | Self::SamlFile)
    }

    /// The first step's field that a problem reading this source is said beside.
    fn field(self) -> &'static str {
        match self {
            Self::SamlUrl => "metadata_url",
            Self::SamlXml => "metadata_xml",
            Self::SamlFile => "metadata_file",
            Self::Oidc => "issuer",
            Self::Preset => "preset",
        }
    }
}

/// The fields of both steps (the second carries the first's as hidden fields; the first,
/// posted as `multipart/form-data`, also the metadata file). A field neither page sends
/// is refused. Not `Debug`: it holds the client secret.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    /// `save` (the second step's button); the first step's buttons name a `source`.
    #[serde(default)]
    action: String,
    /// `saml_url`, `saml_xml`, `oidc` or `preset`.
    #[serde(default)]
    source: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    metadata_url: String,
    #[serde(default)]
    metadata_xml: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    preset: String,
    #[serde(default)]
    display_name: String,
    /// Attribute names (SAML, one or more, comma-separated) or the claim (OpenID
    /// Connect) of the username, email, groups and display name.
    #[serde(default)]
    map_username: String,
    #[serde(default)]
    map_email: String,
    #[serde(default)]
    map_groups: String,
    #[serde(default)]
    map_display_name: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    /// The uploaded metadata file's text (not a field: read from the file).
    #[serde(skip)]
    uploaded: Option<String>,
}

impl AddForm {
    /// The metadata document a SAML source names: the uploaded one or the pasted one.
    fn metadata_xml(&self, source: SourceKind) -> &str {
        match (source, &self.uploaded) {
            (SourceKind::SamlFile, Some(text)) => text,
            _ => &self.metadata_xml,
        }
    }
}

impl WithFile for AddForm {
    const FILE: &'static str = "metadata_file";
    const FILE_LIMIT: usize = MAX_METADATA_BYTES;
}

impl Posted for AddForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The form as a page shows it again: what was typed, never the secret.
pub struct Typed {
    /// The provider id.
    pub id: String,
    /// The first step's source (`saml_url`, …).
    pub source: String,
    /// The metadata URL.
    pub metadata_url: String,
    /// The pasted metadata.
    pub metadata_xml: String,
    /// The issuer.
    pub issuer: String,
    /// The preset.
    pub preset: String,
    /// The display name.
    pub display_name: String,
    /// The mapping's fields.
    pub map_username: String,
    /// The mapping's fields.
    pub map_email: String,
    /// The mapping's fields.
    pub map_groups: String,
    /// The mapping's fields.
    pub map_display_name: String,
    /// The client id.
    pub client_id: String,
}

impl From<&AddForm> for Typed {
    fn from(f: &AddForm) -> Self {
        Self {
            id: f.id.trim().to_owned(),
            source: f.source.clone(),
            metadata_url: f.metadata_url.trim().to_owned(),
            metadata_xml: f.metadata_xml.clone(),
            issuer: f.issuer.trim().to_owned(),
            preset: f.preset.clone(),
            display_name: f.display_name.clone(),
            map_username: f.map_username.clone(),
            map_email: f.map_email.clone(),
            map_groups: f.map_groups.clone(),
            map_display_name: f.map_display_name.clone(),
            client_id: f.client_id.clone(),
        }
    }
}

/// `GET /admin/providers/new`: the first step.
#[derive(Template)]
#[template(path = "admin_provider_new.html")]
struct NewPage {
    t: Locale,
    nav: Nav,
    csrf: String,
    typed: Typed,
    presets: Vec<(&'static str, &'static str)>,
    /// The largest metadata file taken, in KiB.
    file_limit_kib: usize,
    /// Why the last submission could not be inspected.
    problems: Vec<Problem>,
}

impl NewPage {
    /// The problem of `field`, if any.
    fn problem(&self, field: &str) -> Option<&str> {
        problem_of(&self.problems, field)
    }
}

/// The second step: the inspection and the form.
#[derive(Template)]
#[template(path = "admin_provider_inspected.html")]
struct InspectedPage {
    t: Locale,
    nav: Nav,
    csrf: String,
    typed: Typed,
    /// The SAML IdP described.
    saml: Option<SamlInspection>,
    /// The OpenID provider described.
    oidc: Option<OidcInspection>,
    /// What to hand to the provider's admin (for the id asked for).
    handover: Handover,
    /// The kind the document gets (`saml`, `oidc`, `google`, `microsoft`, `github`).
    kind: String,
    /// Why the last submission was not saved.
    problems: Vec<Problem>,
    /// A client secret was typed, and must be typed again (it is never shown).
    secret_again: bool,
}

impl InspectedPage {
    /// The problem of `field` (a JSON path of the document), if any.
    fn problem(&self, field: &str) -> Option<&str> {
        problem_of(&self.problems, field)
    }
}

fn problem_of<'a>(problems: &'a [Problem], field: &str) -> Option<&'a str> {
    problems
        .iter()
        .find(|p| p.path == field)
        .map(|p| p.message.as_str())
}

/// `GET /admin/providers/new`: the first step (`lanyard:InspectProvider` on `provider/*`).
pub async fn new_form(Browser(state, facts, headers): Browser, t: Locale) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts, t, "/admin/providers/new").await?;
            c.allow(Action::InspectProvider, ALL_PROVIDERS).await?;
            Ok(first_step(
                &c,
                &AddForm::default(),
                Vec::new(),
                StatusCode::OK,
            ))
        }
        .await,
    )
}

fn first_step(c: &Console, form: &AddForm, problems: Vec<Problem>, status: StatusCode) -> Response {
    render(
        status,
        &NewPage {
            t: c.t,
            nav: c.nav("providers"),
            csrf: c.csrf(),
            typed: Typed::from(form),
            presets: PRESETS.to_vec(),
            file_limit_kib: AddForm::FILE_LIMIT / 1024,
            problems,
        },
    )
}

/// The first step again, saying `message` beside `field` (422).
fn first_step_saying(c: &Console, form: &AddForm, field: &str, message: String) -> Response {
    let problem = Problem {
        path: field.to_owned(),
        message,
    };
    first_step(c, form, vec![problem], StatusCode::UNPROCESSABLE_ENTITY)
}

/// `POST /admin/providers/new`: the first step's inspection (`lanyard:InspectProvider`),
/// or the second step's save (`lanyard:PutProvider` on `provider/{id}` as well: the
/// second step shows the inspection again when the save is refused).
pub async fn submit(
    Browser(state, facts, headers): Browser,
    t: Locale,
    form: Result<FormWithFile<AddForm>, UploadError>,
) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts, t, "/admin/providers/new").await?;
            let (mut form, file) = c.uploaded(form)?;
            c.allow(Action::InspectProvider, ALL_PROVIDERS).await?;
            let Some(source) = SourceKind::parse(&form.source) else {
                return Ok(first_step_saying(
                    &c,
                    &form,
                    "source",
                    c.t.say(&Msg::new("admin-provider-pick-source")),
                ));
            };
            let Some(id) = provider_id(form.id.trim()) else {
                return Ok(first_step_saying(
                    &c,
                    &form,
                    "id",
                    c.t.say(&Msg::new("admin-provider-bad-id")),
                ));
            };
            if source == SourceKind::SamlFile {
                match file.as_ref().map(metadata_text) {
                    Some(Ok(text)) => form.uploaded = Some(text),
                    other => {
                        let message = match other {
                            Some(Err(msg)) => msg,
                            _ => Msg::new("admin-provider-no-file"),
                        };
                        return Ok(first_step_saying(
                            &c,
                            &form,
                            source.field(),
                            c.t.say(&message),
                        ));
                    }
                }
            }
            if form.action == "save" {
                save_new(&c, &id, source, &form).await
            } else {
                if let Some(problem) = taken(&c, &id) {
                    return Ok(first_step(&c, &form, vec![problem], StatusCode::CONFLICT));
                }
                second_step(&c, &id, source, &form, Vec::new(), StatusCode::OK).await
            }
        }
        .await,
    )
}

/// The text of an uploaded metadata file: UTF-8 (a byte-order mark dropped) and XML
/// (markup first), else what to say beside the file field. Whether it is metadata is the
/// inspection's to say, as for a pasted document.
fn metadata_text(file: &Upload) -> Result<String, Msg> {
    let named = |msg: Msg| msg.arg("file", file.name.as_str());
    let text = std::str::from_utf8(&file.bytes)
        .map_err(|_| named(Msg::new("admin-provider-file-not-text")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\0') {
        return Err(named(Msg::new("admin-provider-file-not-text")));
    }
    if !text.trim_start().starts_with('<') {
        return Err(named(Msg::new("admin-provider-file-not-xml")));
    }
    Ok(text.to_owned())
}

/// The problem of an id that a provider has already (the file's or a running one).
fn taken(c: &Console, id: &ProviderId) -> Option<Problem> {
    let exists = c.state.config.providers.iter().any(|p| p.id == *id)
        || c.state.connectors.get(id.as_str()).is_some();
    exists.then(|| Problem {
        path: "id".to_owned(),
        message: c
            .t
            .say(&Msg::new("admin-provider-id-taken").arg("provider", id.as_str())),
    })
}

/// Inspects what the first step names and shows the second step with `problems`; the
/// first step again, saying why, when it cannot be inspected.
async fn second_step(
    c: &Console,
    id: &ProviderId,
    source: SourceKind,
    form: &AddForm,
    problems: Vec<Problem>,
    status: StatusCode,
) -> Result<Response, Response> {
    let request = InspectRequest {
        kind: if source.is_saml() { "saml" } else { "oidc" }.to_owned(),
        id: Some(id.to_string()),
        metadata_url: (source == SourceKind::SamlUrl).then(|| form.metadata_url.trim().to_owned()),
        metadata_xml: matches!(source, SourceKind::SamlXml | SourceKind::SamlFile)
            .then(|| form.metadata_xml(source).to_owned()),
        issuer: (source == SourceKind::Oidc).then(|| form.issuer.trim().to_owned()),
        preset: (source == SourceKind::Preset).then(|| form.preset.clone()),
    };
    let field = source.field();
    let inspection = match describe(&c.state, &request).await {
        Ok(i) => i,
        Err(InspectApiError::Inspect(e)) => {
            return Ok(first_step_saying(c, form, field, e.to_string()));
        }
        Err(InspectApiError::Api(AdminApiError::BadRequest(path, why))) => {
            let path = if path.is_empty() { field } else { path };
            return Ok(first_step_saying(c, form, path, why));
        }
        Err(InspectApiError::Api(AdminApiError::Admin(e))) => return Err(c.error(e)),
        Err(InspectApiError::Api(other)) => {
            return Err(c.problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                Msg::new("admin-error-internal"),
                &format!("{other:?}"),
            ));
        }
    };
    let mut typed = Typed::from(form);
    typed.id = id.to_string();
    if source == SourceKind::SamlFile {
        // From here on the file's document goes where a pasted one goes.
        typed.source = "saml_xml".to_owned();
        typed.metadata_xml = form.metadata_xml(source).to_owned();
    }
    let (saml, oidc, handover) = match inspection {
        Inspection::Saml(mut s) => {
            let saml = s.lanyard.take();
            (
                Some(s),
                None,
                Handover {
                    saml,
                    redirect_uri: None,
                },
            )
        }
        Inspection::Oidc(mut o) => {
            let redirect_uri = o.lanyard.take().map(|h| h.redirect_uri);
            (
                None,
                Some(o),
                Handover {
                    saml: None,
                    redirect_uri,
                },
            )
        }
    };
    if typed.display_name.trim().is_empty() && problems.is_empty() {
        typed.display_name = suggested_name(source, form, saml.as_ref(), oidc.as_ref());
    }
    Ok(render(
        status,
        &InspectedPage {
            t: c.t,
            nav: c.nav("providers"),
            csrf: c.csrf(),
            kind: kind_of(source, &form.preset).to_owned(),
            handover,
            secret_again: !form.client_secret.is_empty() && !problems.is_empty(),
            typed,
            saml,
            oidc,
            problems,
        },
    ))
}

/// The `kind` of the document a source makes.
fn kind_of(source: SourceKind, preset: &str) -> &'static str {
    match source {
        SourceKind::SamlUrl | SourceKind::SamlXml | SourceKind::SamlFile => "saml",
        SourceKind::Oidc => "oidc",
        SourceKind::Preset => PRESETS
            .iter()
            .find(|(kind, _)| *kind == preset)
            .map_or("oidc", |(kind, _)| kind),
    }
}

/// The display name the second step suggests: the preset's name, else the host of the
/// IdP's entity id or the issuer.
fn suggested_name(
    source: SourceKind,
    form: &AddForm,
    saml: Option<&SamlInspection>,
    oidc: Option<&OidcInspection>,
) -> String {
    if source == SourceKind::Preset {
        return PRESETS
            .iter()
            .find(|(kind, _)| *kind == form.preset)
            .map(|(_, name)| (*name).to_owned())
            .unwrap_or_default();
    }
    let named = saml
        .map(|s| s.entity_id.clone())
        .or_else(|| oidc.and_then(|o| o.issuer.clone()))
        .unwrap_or_default();
    url::Url::parse(&named)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or(named)
}

/// The names of a mapping field: comma- or line-separated, blanks left out.
fn names(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The `[[providers]]` document of the second step's form (the shape the admin API's
/// `PUT` takes); `Err` with the problem of a pasted metadata document that no longer
/// reads (it is read again: what is saved is what it names).
fn document_of(source: SourceKind, form: &AddForm, now: UnixTime) -> Result<Value, Problem> {
    let mut d = Map::new();
    let text = |d: &mut Map<String, Value>, key: &str, value: &str| {
        let value = value.trim();
        if !value.is_empty() {
            d.insert(key.to_owned(), Value::from(value));
        }
    };
    text(&mut d, "kind", kind_of(source, &form.preset));
    text(&mut d, "display_name", &form.display_name);
    let fields = [
        ("username", &form.map_username),
        ("email", &form.map_email),
        ("groups", &form.map_groups),
        ("display_name", &form.map_display_name),
    ];
    match source {
        SourceKind::SamlUrl => text(&mut d, "metadata_url", &form.metadata_url),
        SourceKind::SamlXml | SourceKind::SamlFile => {
            let idp =
                described::describe_saml_metadata(form.metadata_xml(source), now).map_err(|e| {
                    Problem {
                        path: source.field().to_owned(),
                        message: e.to_string(),
                    }
                })?;
            let sso = idp
                .sso_endpoints
                .iter()
                .find(|e| e.binding == crate::connectors::saml::metadata::REDIRECT_BINDING)
                .map(|e| e.location.clone())
                .unwrap_or_default();
            text(&mut d, "idp_entity_id", &idp.entity_id);
            text(&mut d, "sso_url", &sso);
            let certificates: Vec<Value> = idp
                .certificates
                .into_iter()
                .filter(|c| c.key_use != KeyUse::Encryption)
                .map(|c| Value::from(c.pem))
                .collect();
            d.insert("certificates".to_owned(), Value::Array(certificates));
        }
        SourceKind::Oidc => text(&mut d, "issuer", &form.issuer),
        SourceKind::Preset => {}
    }
    if source.is_saml() {
        let mut attributes = Map::new();
        for (key, value) in fields {
            match names(value).as_slice() {
                [] => {}
                [one] => {
                    attributes.insert(key.to_owned(), Value::from(one.as_str()));
                }
                many => {
                    attributes.insert(key.to_owned(), Value::from(many.to_vec()));
                }
            }
        }
        if !attributes.is_empty() {
            d.insert("attributes".to_owned(), Value::Object(attributes));
        }
    } else {
        text(&mut d, "client_id", &form.client_id);
        if !form.client_secret.is_empty() {
            d.insert(
                "client_secret".to_owned(),
                Value::from(form.client_secret.as_str()),
            );
        }
        if source == SourceKind::Oidc {
            let mut claims = Map::new();
            for (key, value) in fields {
                text(&mut claims, key, value);
            }
            if !claims.is_empty() {
                d.insert("claims".to_owned(), Value::Object(claims));
            }
        }
    }
    Ok(Value::Object(d))
}

/// Saves the second step's provider: to its page, else the second step again saying why.
async fn save_new(
    c: &Console,
    id: &ProviderId,
    source: SourceKind,
    form: &AddForm,
) -> Result<Response, Response> {
    let document = match document_of(source, form, c.state.clock.now()) {
        Ok(d) => d,
        Err(problem) => {
            return Ok(first_step(
                c,
                form,
                vec![problem],
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    let caller = c
        .allow(Action::PutProvider, &provider_resource(id.as_str()))
        .await?;
    let written = c
        .state
        .admin
        .put_provider(
            &c.state.config,
            id,
            document,
            Some(Precondition::Absent),
            &caller,
            c.now_ms(),
        )
        .await;
    let problems = match written {
        Ok(_) => {
            let to = format!("/admin/providers/{}?added=1", id.as_str());
            return Ok(Redirect::to(&to).into_response());
        }
        Err(AdminError::Invalid(_, problems)) => problems
            .into_iter()
            .map(|p| Problem {
                path: p.path,
                message: p.message,
            })
            .collect(),
        Err(AdminError::ManagedInFile(_) | AdminError::Stale { .. }) => vec![Problem {
            path: "id".to_owned(),
            message: c
                .t
                .say(&Msg::new("admin-provider-id-taken").arg("provider", id.as_str())),
        }],
        Err(other) => return Err(c.error(other)),
    };
    second_step(
        c,
        id,
        source,
        form,
        problems,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// What to hand to a provider's admin: Lanyard's SP values (SAML) or the redirect URI.
pub struct Handover {
    /// SAML: the SP entity id, ACS and metadata URL.
    pub saml: Option<SamlHandover>,
    /// OpenID Connect, OAuth 2.0: the redirect URI to register.
    pub redirect_uri: Option<String>,
}

fn handover(c: &Console, id: &ProviderId, kind: &str) -> Handover {
    match kind {
        "saml" => Handover {
            saml: Some(saml_handover(&c.state, id)),
            redirect_uri: None,
        },
        "oidc" | "google" | "microsoft" | "github" => Handover {
            saml: None,
            redirect_uri: crate::connectors::callback_url(&c.state.config.server.issuer(), id)
                .ok()
                .map(|u| u.to_string()),
        },
        _ => Handover {
            saml: None,
            redirect_uri: None,
        },
    }
}

/// `GET /admin/providers/{id}`: one provider.
#[derive(Template)]
#[template(path = "admin_provider.html")]
struct ProviderPage {
    t: Locale,
    nav: Nav,
    csrf: String,
    id: String,
    name: String,
    kind: String,
    /// A provider of `lanyard.toml`: shown, not editable.
    in_file: bool,
    /// The document, pretty-printed, secrets `********` (the textarea).
    document: String,
    /// The version read (hidden field).
    version: String,
    /// Who changed it last, and when.
    updated: String,
    handover: Handover,
    /// Why the last submission was not saved.
    problems: Vec<Problem>,
    /// The provider changed since it was opened: its version now and its document.
    stale: Option<(String, String)>,
    /// Just saved.
    saved: bool,
    /// Just added.
    added: bool,
}

impl ProviderPage {
    fn of(c: &Console, entry: ProviderEntry) -> Self {
        Self {
            t: c.t,
            nav: c.nav("providers"),
            csrf: c.csrf(),
            handover: handover(c, &entry.id, &entry.kind),
            id: entry.id.to_string(),
            name: entry.display_name,
            kind: entry.kind,
            in_file: entry.source == Source::File,
            document: entry.document.as_ref().map(pretty).unwrap_or_default(),
            version: entry.version.map(|v| v.to_string()).unwrap_or_default(),
            updated: match (&entry.updated_by, entry.updated_at_ms) {
                (Some(by), Some(at)) => format!("{by}, {}", when_ms(at)),
                _ => String::new(),
            },
            problems: Vec::new(),
            stale: None,
            saved: false,
            added: false,
        }
    }
}

fn pretty(document: &Value) -> String {
    serde_json::to_string_pretty(document).unwrap_or_default()
}

/// The provider id of a path, or the page saying there is none.
// The error is the page answered, as every console step's is (`Page`): it is returned
// once, straight to the browser, so its size costs nothing.
#[allow(clippy::result_large_err)]
fn path_id(c: &Console, text: &str) -> Result<ProviderId, Response> {
    provider_id(text).ok_or_else(|| {
        c.problem(
            StatusCode::NOT_FOUND,
            Msg::new("admin-provider-none")
                .arg("provider", text.chars().take(64).collect::<String>()),
            "not a provider id",
        )
    })
}

/// The page of an error reading or writing provider `id`: "no such provider" said as
/// such, the others as [`Console::error`] says them.
fn provider_error(c: &Console, id: &ProviderId, e: AdminError) -> Response {
    match e {
        AdminError::NotFound(_) => c.problem(
            StatusCode::NOT_FOUND,
            Msg::new("admin-provider-none").arg("provider", id.as_str()),
            "no such provider",
        ),
        AdminError::ManagedInFile(_) => c.problem(
            StatusCode::CONFLICT,
            Msg::new("admin-provider-in-file").arg("provider", id.as_str()),
            "managed in lanyard.toml",
        ),
        other => c.error(other),
    }
}

/// Query of a provider's page.
#[derive(Debug, Deserialize)]
pub struct ViewQuery {
    saved: Option<String>,
    added: Option<String>,
}

/// `GET /admin/providers/{id}`: one provider (`lanyard:GetProvider` on it), with its edit
/// form when it is a database provider.
pub async fn view(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(id): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Response {
    super::answer(
        async {
            let here = format!("/admin/providers/{id}");
            let c = Console::of(&state, &headers, facts, t, &here).await?;
            let id = path_id(&c, &id)?;
            let caller = c
                .allow(Action::GetProvider, &provider_resource(id.as_str()))
                .await?;
            let entry = c
                .state
                .admin
                .provider(&c.state.config, &id, &caller)
                .await
                .map_err(|e| provider_error(&c, &id, e))?;
            let mut page = ProviderPage::of(&c, entry);
            page.saved = q.saved.is_some();
            page.added = q.added.is_some();
            Ok(render(StatusCode::OK, &page))
        }
        .await,
    )
}

/// The edit form's fields.
#[derive(Debug, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    document: String,
    /// The version read.
    #[serde(default)]
    version: String,
}

impl Posted for EditForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /admin/providers/{id}`: saves the edit of a database provider at the version
/// read (`lanyard:PutProvider` on it).
pub async fn save(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(id): Path<String>,
    form: Result<PageForm<EditForm>, crate::web::error::PageError>,
) -> Response {
    super::answer(
        async {
            let here = format!("/admin/providers/{id}");
            let c = Console::of(&state, &headers, facts, t, &here).await?;
            let form = c.posted(form)?;
            let id = path_id(&c, &id)?;
            let caller = c
                .allow(Action::PutProvider, &provider_resource(id.as_str()))
                .await?;
            // The page as it was, with what was typed.
            let read = c
                .try_allow(Action::GetProvider, &provider_resource(id.as_str()))
                .await;
            let entry = match &read {
                Some(reader) => c
                    .state
                    .admin
                    .provider(&c.state.config, &id, reader)
                    .await
                    .ok(),
                None => None,
            };
            let mut page = match entry {
                Some(entry) => ProviderPage::of(&c, entry),
                None => ProviderPage::of(
                    &c,
                    ProviderEntry {
                        id: id.clone(),
                        source: Source::Database,
                        kind: String::new(),
                        display_name: id.to_string(),
                        document: None,
                        version: None,
                        updated_at_ms: None,
                        updated_by: None,
                    },
                ),
            };
            if page.in_file {
                return Err(provider_error(
                    &c,
                    &id,
                    AdminError::ManagedInFile(entity(&id)),
                ));
            }
            page.document.clone_from(&form.document);
            page.version = form.version.trim().to_owned();
            let document = match serde_json::from_str::<Value>(&form.document) {
                Ok(Value::Object(o)) => Value::Object(o),
                Ok(_) => return Ok(not_json(&c, page, "the document must be a JSON object")),
                Err(e) => return Ok(not_json(&c, page, &e.to_string())),
            };
            let Ok(version) = form.version.trim().parse::<i64>() else {
                return Ok(not_json(
                    &c,
                    page,
                    "the form has no version; open the provider again",
                ));
            };
            let written = c
                .state
                .admin
                .put_provider(
                    &c.state.config,
                    &id,
                    document,
                    Some(Precondition::Version(version)),
                    &caller,
                    c.now_ms(),
                )
                .await;
            match written {
                Ok(_) => {
                    let to = format!("/admin/providers/{}?saved=1", id.as_str());
                    Ok(Redirect::to(&to).into_response())
                }
                Err(AdminError::Invalid(_, problems)) => {
                    page.problems = problems
                        .into_iter()
                        .map(|p| Problem {
                            path: p.path,
                            message: p.message,
                        })
                        .collect();
                    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
                }
                Err(AdminError::Stale { current, .. }) => {
                    // Shown with the version it is now, so that a second save is a
                    // decision made knowing it; nothing was written.
                    let now = match &read {
                        Some(reader) => c
                            .state
                            .admin
                            .provider(&c.state.config, &id, reader)
                            .await
                            .ok(),
                        None => None,
                    };
                    let current = current.map(|v| v.to_string()).unwrap_or_default();
                    let shown = now
                        .and_then(|e| e.document)
                        .map(|d| pretty(&d))
                        .unwrap_or_default();
                    page.version.clone_from(&current);
                    page.stale = Some((current, shown));
                    Ok(render(StatusCode::PRECONDITION_FAILED, &page))
                }
                Err(other) => Err(provider_error(&c, &id, other)),
            }
        }
        .await,
    )
}

fn entity(id: &ProviderId) -> crate::admin::Entity {
    crate::admin::Entity {
        kind: crate::admin::EntityKind::Provider,
        name: id.to_string(),
    }
}

/// The edit form again, saying its text is not a JSON object.
fn not_json(c: &Console, mut page: ProviderPage, why: &str) -> Response {
    page.problems.push(Problem {
        path: "document".to_owned(),
        message: c.t.say(&Msg::new("admin-role-not-json").arg("detail", why)),
    });
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// The confirmation of a deletion.
#[derive(Template)]
#[template(path = "admin_provider_delete.html")]
struct DeletePage {
    t: Locale,
    nav: Nav,
    csrf: String,
    id: String,
    name: String,
    version: String,
    /// The roles whose trust policies could admit identities of this provider.
    trusted_by: Vec<String>,
    /// The provider changed since the confirmation was shown.
    stale: bool,
}

/// `GET /admin/providers/{id}/delete`: asks to confirm the deletion, naming the roles it
/// cuts off.
pub async fn delete_confirm(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(id): Path<String>,
) -> Response {
    super::answer(
        async {
            let here = format!("/admin/providers/{id}/delete");
            let c = Console::of(&state, &headers, facts, t, &here).await?;
            let id = path_id(&c, &id)?;
            delete_page(&c, &id, false).await
        }
        .await,
    )
}

async fn delete_page(c: &Console, id: &ProviderId, stale: bool) -> Result<Response, Response> {
    let caller = c
        .allow(Action::GetProvider, &provider_resource(id.as_str()))
        .await?;
    let entry = c
        .state
        .admin
        .provider(&c.state.config, id, &caller)
        .await
        .map_err(|e| provider_error(c, id, e))?;
    if entry.source == Source::File {
        return Err(provider_error(c, id, AdminError::ManagedInFile(entity(id))));
    }
    let trusted_by = c
        .state
        .roles
        .all()
        .iter()
        .filter(|r| could_trust_provider(r, id.as_str()))
        .map(|r| r.name.to_string())
        .collect();
    let status = if stale {
        StatusCode::PRECONDITION_FAILED
    } else {
        StatusCode::OK
    };
    Ok(render(
        status,
        &DeletePage {
            t: c.t,
            nav: c.nav("providers"),
            csrf: c.csrf(),
            id: id.to_string(),
            name: entry.display_name,
            version: entry.version.map(|v| v.to_string()).unwrap_or_default(),
            trusted_by,
            stale,
        },
    ))
}

/// `POST /admin/providers/{id}/delete`: deletes the provider at the version confirmed
/// (`lanyard:DeleteProvider` on it).
pub async fn delete(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(id): Path<String>,
    form: Result<PageForm<VersionForm>, crate::web::error::PageError>,
) -> Response {
    super::answer(
        async {
            let here = format!("/admin/providers/{id}/delete");
            let c = Console::of(&state, &headers, facts, t, &here).await?;
            let form = c.posted(form)?;
            let id = path_id(&c, &id)?;
            let caller = c
                .allow(Action::DeleteProvider, &provider_resource(id.as_str()))
                .await?;
            let version = form.version();
            let deleted = c
                .state
                .admin
                .delete_provider(
                    (&c.state.config, &c.state.roles),
                    &id,
                    Some(version),
                    &caller,
                    c.now_ms(),
                )
                .await;
            match deleted {
                Ok(_) => {
                    let to = format!("/admin/providers?deleted={}", id.as_str());
                    Ok(Redirect::to(&to).into_response())
                }
                Err(AdminError::Stale {
                    current: Some(_), ..
                }) => delete_page(&c, &id, true).await,
                Err(e) => Err(provider_error(&c, &id, e)),
            }
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> AddForm {
        AddForm {
            id: "corp-idp".into(),
            metadata_url: " https://idp.example/metadata ".into(),
            issuer: "https://login.example".into(),
            display_name: "Corp IdP".into(),
            map_groups: "isMemberOf, memberOf\ngroups".into(),
            map_email: "mail".into(),
            client_id: "lanyard".into(),
            client_secret: "s3cret".into(),
            ..AddForm::default()
        }
    }

    #[test]
    fn the_saml_form_becomes_the_documented_provider_shape() {
        let d = document_of(SourceKind::SamlUrl, &form(), UnixTime::EPOCH)
            .ok()
            .unwrap();
        assert_eq!(
            d,
            serde_json::json!({
                "kind": "saml",
                "display_name": "Corp IdP",
                "metadata_url": "https://idp.example/metadata",
                "attributes": {"email": "mail", "groups": ["isMemberOf", "memberOf", "groups"]}
            })
        );
        let pasted = AddForm {
            metadata_xml: "<not-metadata/>".into(),
            ..form()
        };
        let Err(e) = document_of(SourceKind::SamlXml, &pasted, UnixTime::EPOCH) else {
            panic!("pasted text that is not metadata was read");
        };
        assert_eq!(e.path, "metadata_xml");
    }

    #[test]
    fn the_oidc_and_preset_forms_carry_the_client() {
        let d = document_of(SourceKind::Oidc, &form(), UnixTime::EPOCH)
            .ok()
            .unwrap();
        assert_eq!(d["kind"], "oidc");
        assert_eq!(d["issuer"], "https://login.example");
        assert_eq!(d["client_secret"], "s3cret");
        assert_eq!(
            d["claims"],
            serde_json::json!({"email": "mail", "groups": "isMemberOf, memberOf\ngroups"})
        );
        let github = AddForm {
            preset: "github".into(),
            client_secret: String::new(),
            ..form()
        };
        let d = document_of(SourceKind::Preset, &github, UnixTime::EPOCH)
            .ok()
            .unwrap();
        assert_eq!(d["kind"], "github");
        assert!(
            d.get("client_secret").is_none(),
            "an empty secret is left out"
        );
        assert!(d.get("claims").is_none() && d.get("issuer").is_none());
        assert_eq!(kind_of(SourceKind::Preset, "okta"), "oidc");
    }
}
