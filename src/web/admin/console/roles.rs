//! The console's roles: the list (the file's marked "managed in lanyard.toml"), one role,
//! creating and editing a database role (its JSON document and description, the version
//! read kept in a hidden field so that a stale edit is shown, never written), the impact
//! preview of an edit, a confirmation before saving an edit that takes the role from
//! someone, and deleting a role after a confirmation.
//!
//! May import: `admin`, `identity`, `roles`, `web`.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Console, Nav, Posted, VersionForm, render, when_ms};
use crate::admin::{
    ALL_ROLES, Action, AdminError, Change, Entity, ImpactEntry, Precondition, RoleEntry, Source,
    role_resource,
};
use crate::identity::RoleName;
use crate::roles::{RequestFacts, is_valid_role_name};
use crate::web::extract::{Browser, PageForm};
use crate::web::i18n::{Locale, Msg};
// The `rich` macro of `templates/i18n.html` matches on it in the generated code.
#[allow(unused_imports)]
use crate::web::i18n::Tag;

/// A role on the list.
pub struct RoleRow {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Defined in `lanyard.toml` (read-only here).
    pub in_file: bool,
    /// Its version (database roles).
    pub version: String,
    /// Who changed it last, and when (database roles).
    pub updated: String,
}

/// `GET /admin/roles`.
#[derive(Template)]
#[template(path = "admin_roles.html")]
struct ListPage {
    t: Locale,
    nav: Nav,
    roles: Vec<RoleRow>,
    /// The role just deleted, if any.
    deleted: Option<String>,
}

/// Query of the list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    deleted: Option<String>,
}

/// `GET /admin/roles`: every role (`lanyard:ListRoles` on `role/*`).
pub async fn list(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Query(q): Query<ListQuery>,
) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts, t, "/admin/roles").await?;
            let caller = c.allow(Action::ListRoles, ALL_ROLES).await?;
            let roles = c
                .state
                .admin
                .list_roles(&c.state.config, &caller)
                .await
                .map_err(|e| c.error(e))?;
            let roles = roles
                .into_iter()
                .map(|r| RoleRow {
                    in_file: r.source == Source::File,
                    version: r.version.map(|v| v.to_string()).unwrap_or_default(),
                    updated: match (&r.updated_by, r.updated_at_ms) {
                        (Some(by), Some(at)) => format!("{by}, {}", when_ms(at)),
                        _ => String::new(),
                    },
                    name: r.name.into_string(),
                    description: r.description,
                })
                .collect();
            let deleted = q.deleted.filter(|d| is_valid_role_name(d));
            Ok(render(
                StatusCode::OK,
                &ListPage {
                    t,
                    nav: c.nav("roles"),
                    roles,
                    deleted,
                },
            ))
        }
        .await,
    )
}

/// One recorded identity an edit changes.
pub struct ImpactRow {
    /// `{provider}:{subject}`.
    pub person: String,
    /// The username.
    pub username: String,
    /// When they signed in.
    pub seen: String,
    /// Gains the role (else loses it).
    pub gains: bool,
}

impl From<ImpactEntry> for ImpactRow {
    fn from(e: ImpactEntry) -> Self {
        Self {
            person: e.recorded.identity.qualified_subject(),
            username: e.recorded.identity.username,
            seen: when_ms(e.recorded.time_ms),
            gains: e.change == Change::Gains,
        }
    }
}

/// A problem of the document, with its path.
pub struct Problem {
    /// The JSON path (`trust_policy.Statement[0]`), or the field.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The role page: a file role's facts, or the form of a database role (or a new one).
#[derive(Template)]
#[template(path = "admin_role.html")]
struct RolePage {
    t: Locale,
    nav: Nav,
    csrf: String,
    /// The role's name (empty on a new role's form until typed).
    name: String,
    /// A new role: the form asks for its name and posts to `/admin/roles`.
    is_new: bool,
    /// A role of `lanyard.toml`: shown, not editable.
    in_file: bool,
    description: String,
    /// The document without its description, pretty-printed (the textarea).
    document: String,
    /// The version read (hidden field; empty for a new role).
    version: String,
    /// Who changed it last, and when.
    updated: String,
    /// The longest session, in words (file roles).
    max_session: String,
    /// Why the last submission was not saved.
    problems: Vec<Problem>,
    /// The role changed since it was opened: its version now and its document.
    stale: Option<(String, String)>,
    /// The preview of the impact of the document in the form.
    impact: Option<Vec<ImpactRow>>,
    /// Just saved.
    saved: bool,
}

impl RolePage {
    fn new(c: &Console, name: &str) -> Self {
        Self {
            t: c.t,
            nav: c.nav("roles"),
            csrf: c.csrf(),
            name: name.to_owned(),
            is_new: false,
            in_file: false,
            description: String::new(),
            document: String::new(),
            version: String::new(),
            updated: String::new(),
            max_session: String::new(),
            problems: Vec::new(),
            stale: None,
            impact: None,
            saved: false,
        }
    }

    /// The page showing `entry`.
    fn of(c: &Console, entry: RoleEntry) -> Self {
        let mut page = Self::new(c, entry.name.as_str());
        page.in_file = entry.source == Source::File;
        page.description = entry.description;
        page.version = entry.version.map(|v| v.to_string()).unwrap_or_default();
        if let (Some(by), Some(at)) = (&entry.updated_by, entry.updated_at_ms) {
            page.updated = format!("{by}, {}", when_ms(at));
        }
        page.max_session = entry
            .max_session_duration_secs
            .map(|s| c.t.duration(s))
            .unwrap_or_default();
        page.document = entry.document.map(|d| shown(&d)).unwrap_or_default();
        page
    }
}

/// A document as the textarea shows it: pretty JSON without `name` and `description`
/// (the form has a field of its own for the description).
fn shown(document: &Value) -> String {
    let mut d = document.clone();
    if let Some(o) = d.as_object_mut() {
        o.remove("description");
        o.remove("name");
    }
    serde_json::to_string_pretty(&d).unwrap_or_default()
}

/// What a new role's textarea starts with: a trust policy to fill in.
fn template_document(c: &Console) -> String {
    let provider = c
        .state
        .connectors
        .providers()
        .first()
        .map(|p| p.id.to_string())
        .unwrap_or_else(|| "corp".to_owned());
    shown(&serde_json::json!({
        "max_session_duration": "1h",
        "permission_policies": [],
        "trust_policy": {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRole",
                "Condition": {"ForAnyValue:StringEquals": {"idp:groups": ["GROUP"]}}
            }]
        }
    }))
}

/// The role name of a path, if it is one.
fn role_name(name: &str) -> Option<RoleName> {
    is_valid_role_name(name).then(|| RoleName::new(name))
}

/// The page saying no role has the name `name` (a path's).
fn no_such_role(c: &Console, name: &str) -> Response {
    c.error(AdminError::NotFound(Entity::role(&RoleName::new(
        name.chars().take(64).collect::<String>(),
    ))))
}

/// Query of the role page.
#[derive(Debug, Deserialize)]
pub struct ViewQuery {
    saved: Option<String>,
}

/// `GET /admin/roles/{name}`: one role (`lanyard:GetRole` on it), with its edit form when
/// it is a database role.
pub async fn view(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(name): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Response {
    super::answer(
        async {
            let here = format!("/admin/roles/{name}");
            let c = Console::of(&state, &headers, facts, t, &here).await?;
            let name = role_name(&name).ok_or_else(|| no_such_role(&c, &name))?;
            let caller = c.allow(Action::GetRole, &role_resource(&name)).await?;
            let entry = c
                .state
                .admin
                .role(&c.state.config, &name, &caller)
                .await
                .map_err(|e| c.error(e))?;
            let mut page = RolePage::of(&c, entry);
            page.saved = q.saved.is_some();
            Ok(render(StatusCode::OK, &page))
        }
        .await,
    )
}

/// `GET /admin/roles/new`: the form of a new database role.
pub async fn new_form(Browser(state, facts, headers): Browser, t: Locale) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts, t, "/admin/roles/new").await?;
            let mut page = RolePage::new(&c, "");
            page.is_new = true;
            page.document = template_document(&c);
            Ok(render(StatusCode::OK, &page))
        }
        .await,
    )
}

/// The role form's fields.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    /// The name (a new role's form only).
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    document: String,
    /// The version read; empty to create.
    #[serde(default)]
    version: String,
    /// `preview`, `save` or `confirm` (the confirmation page's button).
    #[serde(default)]
    action: String,
}

impl Posted for RoleForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /admin/roles`: creates a database role from the new role's form.
pub async fn create(
    Browser(state, facts, headers): Browser,
    t: Locale,
    form: Result<PageForm<RoleForm>, crate::web::error::PageError>,
) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts.clone(), t, "/admin/roles/new").await?;
            let form = c.posted(form)?;
            let name = form.name.trim().to_owned();
            submitted(&c, &facts, name, form, true).await
        }
        .await,
    )
}

/// `POST /admin/roles/{name}`: previews, saves (after a confirmation when it takes the
/// role from someone) or confirms an edit of a database role.
pub async fn save(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(name): Path<String>,
    form: Result<PageForm<RoleForm>, crate::web::error::PageError>,
) -> Response {
    super::answer(
        async {
            let here = format!("/admin/roles/{name}");
            let c = Console::of(&state, &headers, facts.clone(), t, &here).await?;
            let form = c.posted(form)?;
            submitted(&c, &facts, name, form, false).await
        }
        .await,
    )
}

/// The confirmation of an edit that takes the role from someone.
#[derive(Template)]
#[template(path = "admin_role_confirm.html")]
struct ConfirmPage {
    t: Locale,
    nav: Nav,
    csrf: String,
    name: String,
    description: String,
    document: String,
    version: String,
    /// Who loses the role; `None` when it could not be told (no `lanyard:SimulateTrust`).
    losing: Option<Vec<ImpactRow>>,
}

async fn submitted(
    c: &Console,
    facts: &RequestFacts,
    name: String,
    form: RoleForm,
    is_new: bool,
) -> Result<Response, Response> {
    let mut page = RolePage::new(c, &name);
    page.is_new = is_new;
    page.description = form.description.clone();
    page.document = form.document.clone();
    page.version = form.version.clone();
    if !is_valid_role_name(&name) {
        page.problems.push(Problem {
            path: "name".to_owned(),
            message: c.t.say(&Msg::new("admin-role-bad-name")),
        });
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let role = RoleName::new(&name);
    let document = match document_of(&form) {
        Ok(d) => d,
        Err(why) => {
            page.problems.push(Problem {
                path: "document".to_owned(),
                message: c.t.say(&Msg::new("admin-role-not-json").arg("detail", why)),
            });
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let expect = match form.version.trim() {
        "" => Precondition::Absent,
        v => Precondition::Version(v.parse().unwrap_or(0)),
    };
    let facts = RequestFacts {
        source_ip: None,
        user_agent: None,
        ..facts.clone()
    };
    match form.action.as_str() {
        "preview" => {
            let caller = c
                .allow(Action::SimulateTrust, &role_resource(&role))
                .await?;
            let impact = c
                .state
                .admin
                .impact(
                    &c.state.config,
                    &c.state.roles,
                    (&role, document),
                    &caller,
                    &facts,
                )
                .await;
            match impact {
                Ok(list) => page.impact = Some(list.into_iter().map(ImpactRow::from).collect()),
                Err(e) => return unsaved(c, page, e, &role).await,
            }
            Ok(render(StatusCode::OK, &page))
        }
        "confirm" => put(c, page, &role, document, expect).await,
        _ if expect == Precondition::Absent => put(c, page, &role, document, expect).await,
        _ => {
            // An edit: saved at once only when nobody recently seen loses the role.
            let simulate = c
                .try_allow(Action::SimulateTrust, &role_resource(&role))
                .await;
            let losing = if let Some(caller) = simulate {
                let impact = c
                    .state
                    .admin
                    .impact(
                        &c.state.config,
                        &c.state.roles,
                        (&role, document.clone()),
                        &caller,
                        &facts,
                    )
                    .await;
                match impact {
                    Ok(list) => Some(
                        list.into_iter()
                            .filter(|e| e.change == Change::Loses)
                            .map(ImpactRow::from)
                            .collect::<Vec<_>>(),
                    ),
                    Err(e) => return unsaved(c, page, e, &role).await,
                }
            } else {
                None
            };
            if losing.as_ref().is_some_and(Vec::is_empty) {
                return put(c, page, &role, document, expect).await;
            }
            Ok(render(
                StatusCode::OK,
                &ConfirmPage {
                    t: c.t,
                    nav: c.nav("roles"),
                    csrf: c.csrf(),
                    name,
                    description: form.description,
                    document: form.document,
                    version: form.version,
                    losing,
                },
            ))
        }
    }
}

/// The document of a submission: the textarea's JSON object with the description field
/// set in it (removed when empty).
fn document_of(form: &RoleForm) -> Result<Value, String> {
    let mut object: Map<String, Value> = match serde_json::from_str(&form.document) {
        Ok(Value::Object(o)) => o,
        Ok(_) => return Err("the document must be a JSON object".to_owned()),
        Err(e) => return Err(e.to_string()),
    };
    let description = form.description.trim();
    if description.is_empty() {
        object.remove("description");
    } else {
        object.insert("description".to_owned(), Value::from(description));
    }
    object.remove("name");
    Ok(Value::Object(object))
}

/// Writes the role (`lanyard:PutRole` on it): to its page on success, else the form again
/// saying why.
async fn put(
    c: &Console,
    page: RolePage,
    role: &RoleName,
    document: Value,
    expect: Precondition,
) -> Result<Response, Response> {
    let caller = c.allow(Action::PutRole, &role_resource(role)).await?;
    let written = c
        .state
        .admin
        .put_role(
            &c.state.config,
            role,
            document,
            Some(expect),
            &caller,
            c.now_ms(),
        )
        .await;
    match written {
        Ok(_) => {
            let to = format!("/admin/roles/{}?saved=1", role.as_str());
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => unsaved(c, page, e, role).await,
    }
}

/// The form again after `e`: the problems of an invalid document, the current version
/// after a stale write; other errors are pages of their own.
async fn unsaved(
    c: &Console,
    mut page: RolePage,
    e: AdminError,
    role: &RoleName,
) -> Result<Response, Response> {
    match e {
        AdminError::Invalid(_, problems) => {
            page.problems = problems
                .into_iter()
                .map(|p| Problem {
                    path: p.path.clone(),
                    message: p.message.clone(),
                })
                .collect();
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        AdminError::ManagedInFile(_) => {
            page.problems.push(Problem {
                path: "name".to_owned(),
                message: c
                    .t
                    .say(&Msg::new("admin-error-managed-in-file").arg("role", role.as_str())),
            });
            Ok(render(StatusCode::CONFLICT, &page))
        }
        AdminError::Stale { current, .. } => {
            // Shown with the version it is now (when the caller may read it), so that a
            // second save is a decision made knowing it.
            let now = if let Some(caller) = c.try_allow(Action::GetRole, &role_resource(role)).await
            {
                c.state
                    .admin
                    .role(&c.state.config, role, &caller)
                    .await
                    .ok()
            } else {
                None
            };
            let version = current.map(|v| v.to_string()).unwrap_or_default();
            let document = now
                .and_then(|entry| entry.document)
                .map(|d| serde_json::to_string_pretty(&d).unwrap_or_default())
                .unwrap_or_default();
            page.version.clone_from(&version);
            page.stale = Some((version, document));
            Ok(render(StatusCode::PRECONDITION_FAILED, &page))
        }
        other => Err(c.error(other)),
    }
}

/// The confirmation of a deletion.
#[derive(Template)]
#[template(path = "admin_role_delete.html")]
struct DeletePage {
    t: Locale,
    nav: Nav,
    csrf: String,
    name: String,
    version: String,
    /// The role changed since the confirmation was shown.
    stale: bool,
}

/// `GET /admin/roles/{name}/delete`: asks to confirm the deletion.
pub async fn delete_confirm(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(name): Path<String>,
) -> Response {
    super::answer(
        async {
            let here = format!("/admin/roles/{name}/delete");
            let c = Console::of(&state, &headers, facts, t, &here).await?;
            let name = role_name(&name).ok_or_else(|| no_such_role(&c, &name))?;
            delete_page(&c, &name, false).await
        }
        .await,
    )
}

async fn delete_page(c: &Console, name: &RoleName, stale: bool) -> Result<Response, Response> {
    let caller = c.allow(Action::GetRole, &role_resource(name)).await?;
    let entry = c
        .state
        .admin
        .role(&c.state.config, name, &caller)
        .await
        .map_err(|e| c.error(e))?;
    if entry.source == Source::File {
        return Err(c.error(AdminError::ManagedInFile(Entity::role(name))));
    }
    let status = if stale {
        StatusCode::PRECONDITION_FAILED
    } else {
        StatusCode::OK
    };
    Ok(render(
        status,
        &DeletePage {
            t: c.t,
            nav: c.nav("roles"),
            csrf: c.csrf(),
            name: name.to_string(),
            version: entry.version.map(|v| v.to_string()).unwrap_or_default(),
            stale,
        },
    ))
}

/// `POST /admin/roles/{name}/delete`: deletes the role at the version confirmed
/// (`lanyard:DeleteRole` on it).
pub async fn delete(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(name): Path<String>,
    form: Result<PageForm<VersionForm>, crate::web::error::PageError>,
) -> Response {
    super::answer(
        async {
            let here = format!("/admin/roles/{name}/delete");
            let c = Console::of(&state, &headers, facts, t, &here).await?;
            let form = c.posted(form)?;
            let name = role_name(&name).ok_or_else(|| no_such_role(&c, &name))?;
            let caller = c.allow(Action::DeleteRole, &role_resource(&name)).await?;
            let version = form.version();
            let deleted = c
                .state
                .admin
                .delete_role(&c.state.config, &name, Some(version), &caller, c.now_ms())
                .await;
            match deleted {
                Ok(()) => {
                    let to = format!("/admin/roles?deleted={}", name.as_str());
                    Ok(Redirect::to(&to).into_response())
                }
                Err(AdminError::Stale {
                    current: Some(_), ..
                }) => delete_page(&c, &name, true).await,
                Err(e) => Err(c.error(e)),
            }
        }
        .await,
    )
}
