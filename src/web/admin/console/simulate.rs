//! The console's trust simulator: a recent sign-in (recorded claims), claims pasted as
//! JSON or a JWT, and every role's answer for that identity: offered or not, the deciding
//! statements, and for a refusal each statement's reason, a failed condition with the
//! value seen and the values wanted ([`crate::admin::Admin::simulate`], the picker's code).
//!
//! May import: `admin`, `identity`, `roles`, `web`.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use lanyard_policy::{Mismatch, StatementEffect, StatementRef};
use serde::Deserialize;

use super::{Console, Nav, Posted, render, when_ms};
use crate::admin::{
    ALL_ROLES, Action, AdminError, ClaimsSource, Entity, provider_resource, role_resource,
};
use crate::identity::RoleName;
use crate::roles::{RequestFacts, TrustExplanation, is_valid_role_name};
use crate::web::extract::{Browser, PageForm};
use crate::web::i18n::{Locale, Msg};
// The `rich` macro of `templates/i18n.html` matches on it in the generated code.
#[allow(unused_imports)]
use crate::web::i18n::Tag;

/// A recorded sign-in to pick.
pub struct RecordedOption {
    /// Its id.
    pub id: String,
    /// What the list says: who, through which provider, when.
    pub label: String,
    /// Chosen.
    pub selected: bool,
}

/// A provider to pick.
pub struct ProviderOption {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Chosen.
    pub selected: bool,
}

/// One statement of a role's trust policy, explained.
pub struct StatementRow {
    /// `Sid` or position.
    pub label: String,
    /// `Allow` or `Deny`.
    pub effect: &'static str,
    /// It applied.
    pub applies: bool,
    /// Why it did not, in words (empty when it applied).
    pub why: String,
    /// A failed condition: operator, key, the value(s) seen (`None`: the identity lacks
    /// the key) and the values wanted.
    pub condition: Option<ConditionRow>,
}

/// A condition that was not true.
pub struct ConditionRow {
    /// The operator.
    pub operator: String,
    /// The key.
    pub key: String,
    /// What the identity had; `None` when it lacks the key.
    pub seen: Option<String>,
    /// The identity has the key with no value (an empty list).
    pub empty: bool,
    /// What the condition wanted.
    pub wanted: String,
}

/// One role's answer.
pub struct RoleRow {
    /// The role.
    pub role: String,
    /// Offered by the picker.
    pub offered: bool,
    /// The engine's sentence.
    pub reason: String,
    /// The deciding statements.
    pub deciding: Vec<String>,
    /// Every statement, explained.
    pub statements: Vec<StatementRow>,
}

/// The identity simulated, as trust policies see it.
pub struct IdentityView {
    /// `{provider}:{subject}`.
    pub person: String,
    /// The username.
    pub username: String,
    /// The email address.
    pub email: String,
    /// The groups, comma-separated.
    pub groups: String,
    /// Each raw claim: name and value.
    pub claims: Vec<(String, String)>,
}

/// The simulator page: its form, and the answer of the last run.
#[derive(Template)]
#[template(path = "admin_simulate.html")]
struct SimulatePage {
    t: Locale,
    nav: Nav,
    csrf: String,
    recorded: Vec<RecordedOption>,
    providers: Vec<ProviderOption>,
    roles: Vec<(String, bool)>,
    claims: String,
    jwt: String,
    saml: String,
    /// Why the last run gave no answer.
    error: Option<String>,
    /// The warning about unverified claims (a JWT, a SAML response).
    warning: Option<String>,
    identity: Option<IdentityView>,
    results: Vec<RoleRow>,
}

/// The simulator's form.
#[derive(Debug, Default, Deserialize)]
pub struct SimulateForm {
    #[serde(default)]
    csrf: String,
    /// Which source the button pressed names: `recorded`, `claims`, `jwt` or `saml`.
    #[serde(default)]
    source: String,
    #[serde(default)]
    recorded_sign_in: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    claims: String,
    #[serde(default)]
    jwt: String,
    /// A pasted SAML response.
    #[serde(default)]
    saml: String,
    /// Only this role (empty: every role).
    #[serde(default)]
    role: String,
}

impl Posted for SimulateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `GET /admin/simulate`: the simulator's form.
pub async fn form(Browser(state, facts, headers): Browser, t: Locale) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts, t, "/admin/simulate").await?;
            // Any role the caller may simulate opens the form; none: the refusal of all.
            let mut any = false;
            for role in c.state.roles.all() {
                let resource = role_resource(&role.name);
                if c.try_allow(Action::SimulateTrust, &resource)
                    .await
                    .is_some()
                {
                    any = true;
                    break;
                }
            }
            if !any {
                c.allow(Action::SimulateTrust, ALL_ROLES).await?;
            }
            let page = page(&c, &SimulateForm::default()).await;
            Ok(render(StatusCode::OK, &page))
        }
        .await,
    )
}

/// The form, filled as `form` was, with the recorded sign-ins of every provider the
/// caller may list (`lanyard:ListRecentSignIns` on it).
async fn page(c: &Console, form: &SimulateForm) -> SimulatePage {
    let mut recorded = Vec::new();
    for p in c.state.connectors.providers() {
        let resource = provider_resource(p.id.as_str());
        let Some(caller) = c.try_allow(Action::ListRecentSignIns, &resource).await else {
            continue;
        };
        let list = c
            .state
            .admin
            .recent_sign_ins(&c.state.config, p.id.as_str(), &caller, c.now_ms())
            .await
            .unwrap_or_default();
        for r in list {
            recorded.push(RecordedOption {
                selected: r.id == form.recorded_sign_in,
                label: format!(
                    "{} ({}) — {}",
                    r.identity.username,
                    r.identity.qualified_subject(),
                    when_ms(r.time_ms)
                ),
                id: r.id,
            });
        }
    }
    let providers = c
        .state
        .connectors
        .providers()
        .iter()
        .map(|p| ProviderOption {
            selected: p.id.as_str() == form.provider,
            id: p.id.to_string(),
            name: p.display_name.clone(),
        })
        .collect();
    let roles = c
        .state
        .roles
        .all()
        .iter()
        .map(|r| (r.name.to_string(), r.name.as_str() == form.role))
        .collect();
    SimulatePage {
        t: c.t,
        nav: c.nav("simulate"),
        csrf: c.csrf(),
        recorded,
        providers,
        roles,
        claims: form.claims.clone(),
        jwt: form.jwt.clone(),
        saml: form.saml.clone(),
        error: None,
        warning: None,
        identity: None,
        results: Vec::new(),
    }
}

/// `POST /admin/simulate`: every role's answer for the identity of the source chosen
/// (`lanyard:SimulateTrust` on `role/*`, or on the one role chosen).
pub async fn run(
    Browser(state, facts, headers): Browser,
    t: Locale,
    form: Result<PageForm<SimulateForm>, crate::web::error::PageError>,
) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts.clone(), t, "/admin/simulate").await?;
            let form = c.posted(form)?;
            let only = match form.role.trim() {
                "" => None,
                r if is_valid_role_name(r) => Some(RoleName::new(r)),
                r => {
                    return Err(c.error(AdminError::NotFound(Entity::role(&RoleName::new(
                        r.chars().take(64).collect::<String>(),
                    )))));
                }
            };
            let resource = only
                .as_ref()
                .map_or_else(|| ALL_ROLES.to_owned(), |r| role_resource(r));
            let caller = c.allow(Action::SimulateTrust, &resource).await?;
            let mut page = page(&c, &form).await;
            let source = match source_of(&form) {
                Ok(s) => s,
                Err(why) => {
                    page.error = Some(c.t.say(&why));
                    return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
                }
            };
            let facts = RequestFacts {
                source_ip: None,
                user_agent: None,
                ..facts
            };
            let simulated = c
                .state
                .admin
                .simulate(
                    &c.state.config,
                    (&c.state.roles, &*c.state.connectors),
                    source,
                    only.as_ref(),
                    &caller,
                    &facts,
                )
                .await;
            let simulation = match simulated {
                Ok(s) => s,
                Err(e @ AdminError::Claims { .. }) => {
                    page.error =
                        Some(c.t.say(&Msg::new("admin-error-detail").arg("detail", e.to_string())));
                    return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
                }
                Err(e) => return Err(c.error(e)),
            };
            page.warning = simulation.warning.map(|w| {
                let message = if w == crate::admin::UNVERIFIED_SAML {
                    Msg::new("admin-simulate-unverified-saml")
                } else {
                    Msg::new("admin-simulate-unverified")
                };
                c.t.say(&message)
            });
            let identity = &simulation.identity;
            page.identity = Some(IdentityView {
                person: identity.qualified_subject(),
                username: identity.username.clone(),
                email: identity.email.clone().unwrap_or_default(),
                groups: identity.groups.join(", "),
                claims: identity
                    .claims
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::to_string(v).unwrap_or_default()))
                    .collect(),
            });
            page.results = simulation.roles.iter().map(|r| row(c.t, r)).collect();
            Ok(render(StatusCode::OK, &page))
        }
        .await,
    )
}

/// The claims source the pressed button names.
fn source_of(form: &SimulateForm) -> Result<ClaimsSource, Msg> {
    match form.source.as_str() {
        "recorded" if !form.recorded_sign_in.is_empty() => {
            Ok(ClaimsSource::Recorded(form.recorded_sign_in.clone()))
        }
        "recorded" => Err(Msg::new("admin-simulate-pick-recorded")),
        "claims" => {
            if form.provider.is_empty() {
                return Err(Msg::new("admin-simulate-pick-provider"));
            }
            match serde_json::from_str(&form.claims) {
                Ok(serde_json::Value::Object(claims)) => Ok(ClaimsSource::Claims {
                    provider: form.provider.clone(),
                    claims,
                }),
                _ => Err(Msg::new("admin-simulate-claims-not-json")),
            }
        }
        "jwt" if !form.jwt.trim().is_empty() => Ok(ClaimsSource::Jwt {
            provider: Some(form.provider.clone()).filter(|p| !p.is_empty()),
            token: form.jwt.trim().to_owned(),
        }),
        "saml" if !form.saml.trim().is_empty() => Ok(ClaimsSource::Saml {
            provider: Some(form.provider.clone()).filter(|p| !p.is_empty()),
            response: form.saml.trim().to_owned(),
        }),
        _ => Err(Msg::new("admin-simulate-no-source")),
    }
}

fn label(s: &StatementRef) -> String {
    match &s.sid {
        Some(sid) => format!("{} / {sid}", s.policy),
        None => format!("{} / #{}", s.policy, s.index),
    }
}

/// One role's answer as the page shows it.
fn row(t: Locale, r: &TrustExplanation) -> RoleRow {
    let e = &r.explanation;
    RoleRow {
        role: r.role.name.to_string(),
        offered: r.offered(),
        reason: e.decision.reason.clone(),
        deciding: e.decision.statements.iter().map(label).collect(),
        statements: e
            .statements
            .iter()
            .map(|s| {
                let (why, condition) = match &s.mismatch {
                    None => (String::new(), None),
                    Some(Mismatch::Action) => (t.say(&Msg::new("admin-simulate-no-action")), None),
                    Some(Mismatch::Principal) => {
                        (t.say(&Msg::new("admin-simulate-no-principal")), None)
                    }
                    Some(Mismatch::Resource) => {
                        (t.say(&Msg::new("admin-simulate-no-resource")), None)
                    }
                    Some(Mismatch::Condition(f)) => (
                        t.say(&Msg::new("admin-simulate-condition")),
                        Some(ConditionRow {
                            operator: f.operator.clone(),
                            key: f.key.clone(),
                            seen: f.seen.as_ref().map(|v| v.join(", ")),
                            empty: f.seen.as_ref().is_some_and(Vec::is_empty),
                            wanted: f.wanted.join(", "),
                        }),
                    ),
                };
                StatementRow {
                    label: label(&s.statement),
                    effect: match s.effect {
                        StatementEffect::Allow => "Allow",
                        StatementEffect::Deny => "Deny",
                    },
                    applies: s.applies,
                    why,
                    condition,
                }
            })
            .collect(),
    }
}
