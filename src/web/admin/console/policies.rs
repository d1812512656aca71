//! The console's managed policies (`/admin/policies`, issue 15): the list (the file's
//! marked "managed in lanyard.toml", each with the roles that name it), one policy, creating
//! and editing a database policy (its IAM document and description; the version read kept
//! in a hidden field so that a stale edit is shown, never written), a confirmation before an
//! edit of a policy that roles name (whatever it stops allowing, they lose at once), and
//! deleting a policy after a confirmation naming the roles that use it (refused, with a page
//! saying which roles to change first, while a role names it).
//!
//! Each page and form is the admin API's IAM action: `lanyard:ListPolicies` on
//! `policy/*`, `lanyard:GetPolicy`, `lanyard:PutPolicy` and `lanyard:DeletePolicy` on
//! `arn:lanyard:iam:::policy/{name}`.
//!
//! May import: `admin`, `roles`, `web`.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::roles::Problem;
use super::{Console, Nav, Posted, VersionForm, render, when_ms};
use crate::admin::entities::PolicyEntry;
use crate::admin::{
    ALL_POLICIES, Action, AdminError, Entity, EntityKind, Precondition, Source, policy_resource,
};
use crate::roles::{RoleCatalog, is_valid_role_name};
use crate::web::extract::{Browser, PageForm};
use crate::web::i18n::{Locale, Msg};
// The `rich` macro of `templates/i18n.html` matches on it in the generated code.
#[allow(unused_imports)]
use crate::web::i18n::Tag;

/// A policy on the list.
pub struct PolicyRow {
    /// Its name.
    pub name: String,
    /// What it is for (database policies).
    pub description: String,
    /// The roles of the running catalog that name it.
    pub used_by: Vec<String>,
    /// Defined in `lanyard.toml` (read-only here).
    pub in_file: bool,
    /// Its version (database policies).
    pub version: String,
    /// Who changed it last, and when (database policies).
    pub updated: String,
}

/// `GET /admin/policies`.
#[derive(Template)]
#[template(path = "admin_policies.html")]
struct ListPage {
    t: Locale,
    nav: Nav,
    policies: Vec<PolicyRow>,
    /// The policy just deleted, if any.
    deleted: Option<String>,
}

/// Query of the list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    deleted: Option<String>,
}

/// The roles of `roles` that name the policy `name`, as a permission policy or as their
/// permissions boundary.
fn used_by(roles: &RoleCatalog, name: &str) -> Vec<String> {
    roles
        .all()
        .iter()
        .filter(|r| {
            r.permission_policies.iter().any(|p| p.name() == name)
                || r.permissions_boundary
                    .as_ref()
                    .is_some_and(|p| p.name() == name)
        })
        .map(|r| r.name.to_string())
        .collect()
}

/// The description of a stored policy document.
fn description_of(document: Option<&Value>) -> String {
    document
        .and_then(|d| d.get("description"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `GET /admin/policies`: every managed policy (`lanyard:ListPolicies` on `policy/*`).
pub async fn list(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Query(q): Query<ListQuery>,
) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts, t, "/admin/policies").await?;
            let caller = c.allow(Action::ListPolicies, ALL_POLICIES).await?;
            let entries = c
                .state
                .admin
                .list_policies(&c.state.config, &caller)
                .await
                .map_err(|e| c.error(e))?;
            let policies = entries
                .into_iter()
                .map(|p| PolicyRow {
                    used_by: used_by(&c.state.roles, &p.name),
                    description: description_of(p.document.as_ref()),
                    in_file: p.source == Source::File,
                    version: p.version.map(|v| v.to_string()).unwrap_or_default(),
                    updated: updated(&p),
                    name: p.name,
                })
                .collect();
            let deleted = q.deleted.filter(|d| is_valid_role_name(d));
            Ok(render(
                StatusCode::OK,
                &ListPage {
                    t,
                    nav: c.nav("policies"),
                    policies,
                    deleted,
                },
            ))
        }
        .await,
    )
}

/// Who changed a database policy last, and when.
fn updated(p: &PolicyEntry) -> String {
    match (&p.updated_by, p.updated_at_ms) {
        (Some(by), Some(at)) => format!("{by}, {}", when_ms(at)),
        _ => String::new(),
    }
}

/// The policy page: a file policy's facts, or the form of a database policy (or a new
/// one).
#[derive(Template)]
#[template(path = "admin_policy.html")]
struct PolicyPage {
    t: Locale,
    nav: Nav,
    csrf: String,
    /// The policy's name (empty on a new policy's form until typed).
    name: String,
    /// A new policy: the form asks for its name and posts to `/admin/policies`.
    is_new: bool,
    /// A policy of `lanyard.toml`: shown, not editable.
    in_file: bool,
    /// How many statements it has (file policies).
    statements: String,
    description: String,
    /// The IAM policy document, pretty-printed (the textarea).
    document: String,
    /// The version read (hidden field; empty for a new policy).
    version: String,
    /// Who changed it last, and when.
    updated: String,
    /// The roles of the running catalog that name it.
    used_by: Vec<String>,
    /// Why the last submission was not saved.
    problems: Vec<Problem>,
    /// The policy changed since it was opened: its version now and its document.
    stale: Option<(String, String)>,
    /// Just saved.
    saved: bool,
}

impl PolicyPage {
    fn new(c: &Console, name: &str) -> Self {
        Self {
            t: c.t,
            nav: c.nav("policies"),
            csrf: c.csrf(),
            name: name.to_owned(),
            is_new: false,
            in_file: false,
            statements: String::new(),
            description: String::new(),
            document: String::new(),
            version: String::new(),
            updated: String::new(),
            used_by: used_by(&c.state.roles, name),
            problems: Vec::new(),
            stale: None,
            saved: false,
        }
    }

    /// The page showing `entry`.
    fn of(c: &Console, entry: PolicyEntry) -> Self {
        let mut page = Self::new(c, &entry.name);
        page.in_file = entry.source == Source::File;
        page.statements = entry.statements.map(|n| n.to_string()).unwrap_or_default();
        page.description = description_of(entry.document.as_ref());
        page.version = entry.version.map(|v| v.to_string()).unwrap_or_default();
        page.updated = updated(&entry);
        page.document = entry.document.as_ref().map(shown).unwrap_or_default();
        page
    }
}

/// The IAM document of a stored policy (`{"document": {...}}`) as the textarea shows it.
fn shown(stored: &Value) -> String {
    stored
        .get("document")
        .map(|d| serde_json::to_string_pretty(d).unwrap_or_default())
        .unwrap_or_default()
}

/// What a new policy's textarea starts with.
fn template_document() -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "Read",
            "Effect": "Allow",
            "Action": ["logs:Get*", "logs:List*"],
            "Resource": "*"
        }]
    }))
    .unwrap_or_default()
}

/// The policy name of a path, if it is one.
fn policy_name(name: &str) -> Option<String> {
    is_valid_role_name(name).then(|| name.to_owned())
}

/// The page saying no policy has the name `name` (a path's).
fn no_such_policy(c: &Console, name: &str) -> Response {
    let name: String = name.chars().take(64).collect();
    c.problem(
        StatusCode::NOT_FOUND,
        Msg::new("admin-policy-not-found").arg("policy", name.as_str()),
        "no such policy",
    )
}

/// The page of an admin error on the policy `name`: [`Console::error`], with the policy's
/// own sentences where it has them.
fn policy_error(c: &Console, name: &str, e: AdminError) -> Response {
    match e {
        AdminError::NotFound(_) => no_such_policy(c, name),
        AdminError::ManagedInFile(_) => c.problem(
            StatusCode::CONFLICT,
            Msg::new("admin-policy-managed-in-file").arg("policy", name),
            "managed in lanyard.toml",
        ),
        other => c.error(other),
    }
}

/// Query of the policy page.
#[derive(Debug, Deserialize)]
pub struct ViewQuery {
    saved: Option<String>,
}

/// `GET /admin/policies/{name}`: one policy (`lanyard:GetPolicy` on it), with its edit
/// form when it is a database policy.
pub async fn view(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(name): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Response {
    super::answer(
        async {
            let here = format!("/admin/policies/{name}");
            let c = Console::of(&state, &headers, facts, t, &here).await?;
            let name = policy_name(&name).ok_or_else(|| no_such_policy(&c, &name))?;
            let caller = c.allow(Action::GetPolicy, &policy_resource(&name)).await?;
            let entry = c
                .state
                .admin
                .policy(&c.state.config, &name, &caller)
                .await
                .map_err(|e| policy_error(&c, &name, e))?;
            let mut page = PolicyPage::of(&c, entry);
            page.saved = q.saved.is_some();
            Ok(render(StatusCode::OK, &page))
        }
        .await,
    )
}

/// `GET /admin/policies/new`: the form of a new database policy.
pub async fn new_form(Browser(state, facts, headers): Browser, t: Locale) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts, t, "/admin/policies/new").await?;
            let mut page = PolicyPage::new(&c, "");
            page.is_new = true;
            page.document = template_document();
            Ok(render(StatusCode::OK, &page))
        }
        .await,
    )
}

/// The policy form's fields.
#[derive(Debug, Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    csrf: String,
    /// The name (a new policy's form only).
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    /// The IAM policy document.
    #[serde(default)]
    document: String,
    /// The version read; empty to create.
    #[serde(default)]
    version: String,
    /// `save`, or `confirm` (the confirmation page's button).
    #[serde(default)]
    action: String,
}

impl Posted for PolicyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /admin/policies`: creates a database policy from the new policy's form.
pub async fn create(
    Browser(state, facts, headers): Browser,
    t: Locale,
    form: Result<PageForm<PolicyForm>, crate::web::error::PageError>,
) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts, t, "/admin/policies/new").await?;
            let form = c.posted(form)?;
            let name = form.name.trim().to_owned();
            submitted(&c, name, form, true).await
        }
        .await,
    )
}

/// `POST /admin/policies/{name}`: saves an edit of a database policy (after a confirmation
/// when roles name it).
pub async fn save(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(name): Path<String>,
    form: Result<PageForm<PolicyForm>, crate::web::error::PageError>,
) -> Response {
    super::answer(
        async {
            let here = format!("/admin/policies/{name}");
            let c = Console::of(&state, &headers, facts, t, &here).await?;
            let form = c.posted(form)?;
            let name = policy_name(&name).ok_or_else(|| no_such_policy(&c, &name))?;
            submitted(&c, name, form, false).await
        }
        .await,
    )
}

/// The confirmation of an edit of a policy that roles name.
#[derive(Template)]
#[template(path = "admin_policy_confirm.html")]
struct ConfirmPage {
    t: Locale,
    nav: Nav,
    csrf: String,
    name: String,
    description: String,
    document: String,
    version: String,
    used_by: Vec<String>,
}

async fn submitted(
    c: &Console,
    name: String,
    form: PolicyForm,
    is_new: bool,
) -> Result<Response, Response> {
    let mut page = PolicyPage::new(c, &name);
    page.is_new = is_new;
    page.description = form.description.clone();
    page.document = form.document.clone();
    page.version = form.version.clone();
    if !is_valid_role_name(&name) {
        page.problems.push(Problem {
            path: "name".to_owned(),
            message: c.t.say(&Msg::new("admin-policy-bad-name")),
        });
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let document = match document_of(&form) {
        Ok(d) => d,
        Err(why) => {
            page.problems.push(Problem {
                path: "document".to_owned(),
                message: c
                    .t
                    .say(&Msg::new("admin-policy-not-json").arg("detail", why)),
            });
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let expect = match (is_new, form.version.trim().parse::<i64>()) {
        (true, _) => Precondition::Absent,
        (false, Ok(v)) => Precondition::Version(v),
        // An edit whose version is not one: stale by any measure.
        (false, Err(_)) => Precondition::Version(0),
    };
    if let Precondition::Version(read) = expect
        && form.action != "confirm"
        && !page.used_by.is_empty()
    {
        // Roles name it: what it stops allowing, they lose. Asked first, unless the edit is
        // stale anyway (then the stale page says so at once).
        let caller = c.allow(Action::GetPolicy, &policy_resource(&name)).await?;
        let now = c.state.admin.policy(&c.state.config, &name, &caller).await;
        if let Ok(entry) = &now
            && entry.version == Some(read)
        {
            return Ok(render(
                StatusCode::OK,
                &ConfirmPage {
                    t: c.t,
                    nav: c.nav("policies"),
                    csrf: c.csrf(),
                    used_by: page.used_by.clone(),
                    name,
                    description: form.description,
                    document: form.document,
                    version: form.version,
                },
            ));
        }
    }
    put(c, page, &name, document, expect).await
}

/// The stored document of a submission: the textarea's IAM policy as `document`, with the
/// description beside it (left out when empty).
fn document_of(form: &PolicyForm) -> Result<Value, String> {
    let policy = match serde_json::from_str(&form.document) {
        Ok(Value::Object(o)) => Value::Object(o),
        Ok(_) => return Err("the policy must be a JSON object".to_owned()),
        Err(e) => return Err(e.to_string()),
    };
    let mut object = Map::new();
    object.insert("document".to_owned(), policy);
    let description = form.description.trim();
    if !description.is_empty() {
        object.insert("description".to_owned(), Value::from(description));
    }
    Ok(Value::Object(object))
}

/// Writes the policy (`lanyard:PutPolicy` on it): to its page on success, else the form
/// again saying why.
async fn put(
    c: &Console,
    mut page: PolicyPage,
    name: &str,
    document: Value,
    expect: Precondition,
) -> Result<Response, Response> {
    let caller = c.allow(Action::PutPolicy, &policy_resource(name)).await?;
    let written = c
        .state
        .admin
        .put_policy(
            &c.state.config,
            name,
            document,
            Some(expect),
            &caller,
            c.now_ms(),
        )
        .await;
    match written {
        Ok(_) => {
            let to = format!("/admin/policies/{name}?saved=1");
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
        Err(AdminError::ManagedInFile(_)) => {
            page.problems.push(Problem {
                path: "name".to_owned(),
                message: c
                    .t
                    .say(&Msg::new("admin-policy-managed-in-file").arg("policy", name)),
            });
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(AdminError::Stale { current, .. }) => {
            // Shown with the version it is now (when the caller may read it), so that a
            // second save is a decision made knowing it.
            let now = if let Some(caller) =
                c.try_allow(Action::GetPolicy, &policy_resource(name)).await
            {
                c.state
                    .admin
                    .policy(&c.state.config, name, &caller)
                    .await
                    .ok()
            } else {
                None
            };
            let version = current.map(|v| v.to_string()).unwrap_or_default();
            let current = now
                .and_then(|entry| entry.document)
                .map(|d| {
                    let description = description_of(Some(&d));
                    match description.is_empty() {
                        true => shown(&d),
                        false => format!("{description}\n\n{}", shown(&d)),
                    }
                })
                .unwrap_or_default();
            page.version.clone_from(&version);
            page.stale = Some((version, current));
            Ok(render(StatusCode::PRECONDITION_FAILED, &page))
        }
        Err(other) => Err(policy_error(c, name, other)),
    }
}

/// The confirmation of a deletion, or the page saying roles still name the policy.
#[derive(Template)]
#[template(path = "admin_policy_delete.html")]
struct DeletePage {
    t: Locale,
    nav: Nav,
    csrf: String,
    name: String,
    version: String,
    /// The roles that name it: while there are any, it cannot be deleted.
    used_by: Vec<String>,
    /// The policy changed since the confirmation was shown.
    stale: bool,
}

/// `GET /admin/policies/{name}/delete`: asks to confirm the deletion, or says which roles
/// to change first.
pub async fn delete_confirm(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(name): Path<String>,
) -> Response {
    super::answer(
        async {
            let here = format!("/admin/policies/{name}/delete");
            let c = Console::of(&state, &headers, facts, t, &here).await?;
            let name = policy_name(&name).ok_or_else(|| no_such_policy(&c, &name))?;
            let used = used_by(&c.state.roles, &name);
            delete_page(&c, &name, used, false).await
        }
        .await,
    )
}

async fn delete_page(
    c: &Console,
    name: &str,
    used_by: Vec<String>,
    stale: bool,
) -> Result<Response, Response> {
    let caller = c.allow(Action::GetPolicy, &policy_resource(name)).await?;
    let entry = c
        .state
        .admin
        .policy(&c.state.config, name, &caller)
        .await
        .map_err(|e| policy_error(c, name, e))?;
    if entry.source == Source::File {
        return Err(policy_error(
            c,
            name,
            AdminError::ManagedInFile(Entity {
                kind: EntityKind::Policy,
                name: name.to_owned(),
            }),
        ));
    }
    // Roles still naming it is said on the page itself, not as an error: the confirmation
    // answers 200 (412 when the policy changed since it was shown).
    let status = if stale {
        StatusCode::PRECONDITION_FAILED
    } else {
        StatusCode::OK
    };
    Ok(render(
        status,
        &DeletePage {
            t: c.t,
            nav: c.nav("policies"),
            csrf: c.csrf(),
            name: name.to_owned(),
            version: entry.version.map(|v| v.to_string()).unwrap_or_default(),
            used_by,
            stale,
        },
    ))
}

/// `POST /admin/policies/{name}/delete`: deletes the policy at the version confirmed
/// (`lanyard:DeletePolicy` on it); refused with the names of the roles that still name it.
pub async fn delete(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(name): Path<String>,
    form: Result<PageForm<VersionForm>, crate::web::error::PageError>,
) -> Response {
    super::answer(
        async {
            let here = format!("/admin/policies/{name}/delete");
            let c = Console::of(&state, &headers, facts, t, &here).await?;
            let form = c.posted(form)?;
            let name = policy_name(&name).ok_or_else(|| no_such_policy(&c, &name))?;
            let caller = c
                .allow(Action::DeletePolicy, &policy_resource(&name))
                .await?;
            let version = form.version();
            let deleted = c
                .state
                .admin
                .delete_policy(&c.state.config, &name, Some(version), &caller, c.now_ms())
                .await;
            match deleted {
                Ok(()) => {
                    let to = format!("/admin/policies?deleted={name}");
                    Ok(Redirect::to(&to).into_response())
                }
                Err(AdminError::InUse { by, .. }) => {
                    let mut page = delete_page(&c, &name, by, false).await?;
                    *page.status_mut() = StatusCode::CONFLICT;
                    Ok(page)
                }
                Err(AdminError::Stale {
                    current: Some(_), ..
                }) => {
                    let used = used_by(&c.state.roles, &name);
                    delete_page(&c, &name, used, true).await
                }
                Err(e) => Err(policy_error(&c, &name, e)),
            }
        }
        .await,
    )
}
