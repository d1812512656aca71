//! The console's identity providers: every provider with its health — how old its copy of
//! the provider's keys is (SAML metadata, OIDC JWKS), each signing certificate with the
//! days until it expires (a warning under [`WARN_DAYS`]), and the last successful and
//! failed sign-in with its reason — a link to its page ([`super::provider_form`]: adding,
//! editing, deleting), and the button that runs a test sign-in through it
//! ([`crate::web::admin::test_signin`]), whose answer has a page of its own.
//!
//! May import: `admin`, `connectors` (the warning threshold), `identity`, `signin`, `sso`,
//! `web`.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Console, Nav, Posted, render, when, when_ms};
use crate::admin::{ALL_PROVIDERS, Action, Source, provider_id, provider_resource};
use crate::connectors::inspect::WARN_DAYS;
use crate::identity::{CertificateFacts, ClaimValue, Evidence};
use crate::signin::Start;
use crate::sso::Sso;
use crate::web::admin::test_signin::{self, TestResult};
use crate::web::cookies;
use crate::web::extract::{Browser, PageForm};
use crate::web::i18n::{Locale, Msg};
// The `rich` macro of `templates/i18n.html` matches on it in the generated code.
#[allow(unused_imports)]
use crate::web::i18n::Tag;

/// A signing certificate on the page.
pub struct CertRow {
    /// Its subject.
    pub subject: String,
    /// Its SHA-256 fingerprint.
    pub sha256: String,
    /// When it expires (empty when unknown).
    pub expires: String,
    /// Days until then (negative: expired).
    pub days_left: i64,
    /// Whether it expires within [`WARN_DAYS`].
    pub warn: bool,
}

/// A provider on the page.
pub struct ProviderRow {
    /// Its id.
    pub id: String,
    /// Its kind (`saml`, `oidc`, …).
    pub kind: String,
    /// Its name.
    pub name: String,
    /// How long ago its keys were fetched or read ("" when it has none, or not yet).
    pub keys_age: String,
    /// Whether it has upstream keys at all.
    pub has_keys: bool,
    /// Its signing certificates.
    pub certificates: Vec<CertRow>,
    /// The last successful sign-in: when, who.
    pub last_ok: Option<(String, String)>,
    /// The last failed sign-in: when, why.
    pub last_failed: Option<(String, String)>,
    /// Whether the caller may run a test sign-in through it.
    pub can_test: bool,
    /// Where it is defined, when the database could be read: `lanyard.toml` (read-only)
    /// or the database (editable on its page).
    pub source: Option<Source>,
    /// Whether it runs now (a database provider that does not is listed to be fixed).
    pub running: bool,
}

impl ProviderRow {
    /// Whether it is defined in `lanyard.toml`.
    pub fn in_file(&self) -> bool {
        self.source == Some(Source::File)
    }

    /// Whether it is kept in the database.
    pub fn in_database(&self) -> bool {
        self.source == Some(Source::Database)
    }
}

/// `GET /admin/providers`.
#[derive(Template)]
#[template(path = "admin_providers.html")]
struct ListPage {
    t: Locale,
    nav: Nav,
    csrf: String,
    providers: Vec<ProviderRow>,
    /// Whether the trail could be read (no database: no last sign-ins).
    trail: bool,
    /// Whether the caller may add a provider (`lanyard:InspectProvider`).
    can_add: bool,
    /// The provider just deleted, if any.
    deleted: Option<String>,
}

/// Query of the list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    deleted: Option<String>,
}

fn certificate_row(c: CertificateFacts, now_secs: i64) -> CertRow {
    let days_left = c
        .not_after
        .map_or(0, |at| (at.secs() - now_secs).div_euclid(86_400));
    CertRow {
        subject: c.subject,
        sha256: c.sha256,
        expires: c.not_after.map(when).unwrap_or_default(),
        days_left,
        warn: c.not_after.is_some() && days_left < WARN_DAYS,
    }
}

fn age(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

/// `GET /admin/providers`: every provider's health (`lanyard:ListProviders` on
/// `provider/*`), with a test sign-in button where `lanyard:TestSignIn` allows.
pub async fn list(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Query(q): Query<ListQuery>,
) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts, t, "/admin/providers").await?;
            let caller = c.allow(Action::ListProviders, ALL_PROVIDERS).await?;
            // Where each is defined; none known without a database.
            let entries = match c.state.admin.list_providers(&c.state.config, &caller).await {
                Ok(entries) => entries,
                Err(e) => {
                    tracing::info!(error = %e, "providers page: where providers are defined is unknown");
                    Vec::new()
                }
            };
            let mut sources: BTreeMap<String, Source> = entries
                .iter()
                .map(|e| (e.id.to_string(), e.source))
                .collect();
            let now = c.state.clock.now();
            let key_facts = c.state.connectors.key_facts(now).await;
            let mut providers = Vec::new();
            let mut trail = true;
            for info in c.state.connectors.providers() {
                let id = info.id.as_str();
                let keys = key_facts.iter().find(|k| k.provider == info.id);
                let (last_ok, last_failed) = if trail {
                    match c
                        .state
                        .admin
                        .last_sign_ins(id, &caller, (Action::ListProviders, ALL_PROVIDERS))
                        .await
                    {
                        Ok((ok, failed)) => (
                            ok.map(|e| (when_ms(e.time_ms), e.subject.unwrap_or_default())),
                            failed.map(|e| (when_ms(e.time_ms), e.reason.unwrap_or_default())),
                        ),
                        Err(e) => {
                            tracing::info!(error = %e, "providers page: no sign-in history");
                            trail = false;
                            (None, None)
                        }
                    }
                } else {
                    (None, None)
                };
                providers.push(ProviderRow {
                    id: id.to_owned(),
                    kind: info.kind.as_str().to_owned(),
                    name: info.display_name.clone(),
                    keys_age: keys.and_then(|k| k.age).map(age).unwrap_or_default(),
                    has_keys: keys.is_some(),
                    certificates: c
                        .state
                        .connectors
                        .signing_certificates(id)
                        .into_iter()
                        .map(|cert| certificate_row(cert, now.secs()))
                        .collect(),
                    last_ok,
                    last_failed,
                    can_test: c.state.connectors.offers_browser_sign_in(&info.id)
                        && c.try_allow(Action::TestSignIn, &provider_resource(id))
                            .await
                            .is_some(),
                    source: sources.remove(id),
                    running: true,
                });
            }
            // Database providers that do not run (yet): listed, so that they can be fixed.
            for e in entries {
                if sources.remove(e.id.as_str()).is_some() {
                    providers.push(ProviderRow {
                        id: e.id.to_string(),
                        kind: e.kind,
                        name: e.display_name,
                        keys_age: String::new(),
                        has_keys: false,
                        certificates: Vec::new(),
                        last_ok: None,
                        last_failed: None,
                        can_test: false,
                        source: Some(e.source),
                        running: false,
                    });
                }
            }
            let can_add = c
                .try_allow(Action::InspectProvider, ALL_PROVIDERS)
                .await
                .is_some();
            let deleted = q.deleted.filter(|d| provider_id(d).is_some());
            Ok(render(
                StatusCode::OK,
                &ListPage {
                    t,
                    nav: c.nav("providers"),
                    csrf: c.csrf(),
                    providers,
                    trail,
                    can_add,
                    deleted,
                },
            ))
        }
        .await,
    )
}

/// The page that sends the browser on to the provider of a test sign-in.
#[derive(Template)]
#[template(path = "admin_test_continue.html")]
struct OnToProvider {
    t: Locale,
    provider: String,
    url: String,
}

/// The test sign-in button's form.
#[derive(Debug, Default, Deserialize)]
pub struct TestForm {
    #[serde(default)]
    csrf: String,
}

impl Posted for TestForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /admin/providers/{id}/test-sign-in`: starts a test sign-in through the provider
/// (`lanyard:TestSignIn` on `provider/{id}`): upstream for a redirect or SAML provider,
/// the password form for a directory. Its answer comes back to the admin's page, never
/// as a session.
pub async fn start_test(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(id): Path<String>,
    PageForm(form): PageForm<TestForm>,
) -> Response {
    super::answer(
        async {
            let c = Console::of(&state, &headers, facts.clone(), t, "/admin/providers").await?;
            c.checked(form)?;
            c.allow(Action::TestSignIn, &provider_resource(&id)).await?;
            let secure = c.state.config.server.secure_cookies;
            let cookie = cookies::read(&headers, cookies::SESSION, secure)
                .ok_or_else(|| crate::web::pages::to_signin("/admin/providers"))?;
            let start = Start {
                test_for: Some(Sso::session_ref(cookie.expose_secret())),
                ..Start::default()
            };
            let name = c
                .state
                .connectors
                .get(&id)
                .map(|(info, _)| info.display_name.clone())
                .unwrap_or_else(|| id.clone());
            // Upstream through a page: a `303` off-site that ends a form POST's redirect
            // chain is blocked by the page CSP's `form-action 'self'`.
            let upstream = |url: &str| {
                render(
                    StatusCode::OK,
                    &OnToProvider {
                        t,
                        provider: name,
                        url: url.to_owned(),
                    },
                )
            };
            crate::web::pages::begin_in_browser(
                (&c.state, t),
                &headers,
                &id,
                start,
                String::new(),
                upstream,
            )
            .await
            .map_err(|e| e.page(crate::web::error::Back::Roles))
        }
        .await,
    )
}

/// One claim or attribute on the result page.
pub struct ClaimRow {
    /// Its name.
    pub name: String,
    /// Its values, one per line.
    pub values: Vec<String>,
}

/// `GET /admin/test-sign-in/{id}`.
#[derive(Template)]
#[template(path = "admin_test_result.html")]
struct ResultPage {
    t: Locale,
    nav: Nav,
    provider: String,
    at: String,
    subject: String,
    username: String,
    email: String,
    groups: Vec<String>,
    amr: String,
    mfa: bool,
    auth_time: String,
    /// What trust policies see: `{provider}:{claim}` keys.
    claims: Vec<ClaimRow>,
    /// Protocol facts (NameID format, AuthnContext, times, signatures, key), in order.
    facts: Vec<(Msg, String)>,
    /// SAML attributes as sent, or the OIDC ID token's and userinfo's claims as sent.
    sent: Vec<ClaimRow>,
    sent_title: Msg,
    userinfo: Vec<ClaimRow>,
    signer: Option<CertRow>,
}

fn json_rows(map: &serde_json::Map<String, serde_json::Value>) -> Vec<ClaimRow> {
    map.iter()
        .map(|(k, v)| ClaimRow {
            name: k.clone(),
            values: match v {
                serde_json::Value::String(s) => vec![s.clone()],
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                    .collect(),
                other => vec![other.to_string()],
            },
        })
        .collect()
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// `GET /admin/test-sign-in/{id}`: what a test sign-in brought back, for the admin
/// session that ran it (`lanyard:TestSignIn` on the provider, checked again).
pub async fn result(
    Browser(state, facts, headers): Browser,
    t: Locale,
    Path(id): Path<String>,
) -> Response {
    super::answer(
        async {
            let here = test_signin::result_path(&id);
            let c = Console::of(&state, &headers, facts, t, &here).await?;
            let secure = c.state.config.server.secure_cookies;
            let session_ref = cookies::read(&headers, cookies::SESSION, secure)
                .map(|cookie| Sso::session_ref(cookie.expose_secret()))
                .unwrap_or_default();
            let found = test_signin::result(&c.state, &id, &session_ref)
                .await
                .map_err(|e| e.page(crate::web::error::Back::Roles))?;
            let Some(r) = found else {
                return Err(c.problem(
                    StatusCode::NOT_FOUND,
                    Msg::new("admin-test-gone"),
                    "no test sign-in of this session with this id",
                ));
            };
            c.allow(
                Action::TestSignIn,
                &provider_resource(r.identity.provider.as_str()),
            )
            .await?;
            Ok(render(StatusCode::OK, &result_page(&c, t, r)))
        }
        .await,
    )
}

fn result_page(c: &Console, t: Locale, r: TestResult) -> ResultPage {
    let i = r.identity;
    let claims = i
        .claims
        .iter()
        .map(|(k, v)| ClaimRow {
            name: format!("{}:{k}", i.provider),
            values: match v {
                ClaimValue::One(s) => vec![s.clone()],
                ClaimValue::Many(m) => m.clone(),
            },
        })
        .collect();
    let mut facts = Vec::new();
    let (mut sent, mut userinfo, mut signer) = (Vec::new(), Vec::new(), None);
    let mut sent_title = Msg::new("admin-test-sent-identity");
    match r.evidence {
        Evidence::Saml(s) => {
            facts.push((Msg::new("admin-test-name-id"), s.name_id));
            facts.push((
                Msg::new("admin-test-name-id-format"),
                s.name_id_format.unwrap_or_default(),
            ));
            facts.push((
                Msg::new("admin-test-authn-context"),
                s.authn_context.unwrap_or_default(),
            ));
            facts.push((
                Msg::new("admin-test-authn-instant"),
                s.authn_instant.map(when).unwrap_or_default(),
            ));
            facts.push((Msg::new("admin-test-valid-until"), when(s.valid_until)));
            facts.push((
                Msg::new("admin-test-response-signed"),
                yes_no(s.response_signed),
            ));
            facts.push((
                Msg::new("admin-test-assertion-signed"),
                yes_no(s.assertion_signed),
            ));
            facts.push((Msg::new("admin-test-encrypted"), yes_no(s.encrypted)));
            sent_title = Msg::new("admin-test-sent-saml");
            sent = s
                .attributes
                .into_iter()
                .map(|(name, friendly, values)| ClaimRow {
                    name: match friendly {
                        Some(f) => format!("{name} ({f})"),
                        None => name,
                    },
                    values,
                })
                .collect();
            signer = s
                .signer
                .map(|cert| certificate_row(cert, c.state.clock.now().secs()));
        }
        Evidence::Oidc(o) => {
            facts.push((Msg::new("admin-test-alg"), o.alg));
            facts.push((Msg::new("admin-test-kid"), o.kid.unwrap_or_default()));
            sent_title = Msg::new("admin-test-sent-oidc");
            sent = json_rows(&o.id_token);
            userinfo = o.userinfo.as_ref().map(json_rows).unwrap_or_default();
        }
        Evidence::Identity => {}
    }
    ResultPage {
        t,
        nav: c.nav("providers"),
        provider: c
            .state
            .connectors
            .get(i.provider.as_str())
            .map_or_else(|| i.provider.to_string(), |(p, _)| p.display_name.clone()),
        at: when(r.at),
        subject: i.subject,
        username: i.username,
        email: i.email.unwrap_or_default(),
        groups: i.groups,
        amr: i.amr.join(" "),
        mfa: i.mfa,
        auth_time: when(i.auth_time),
        claims,
        facts,
        sent,
        sent_title,
        userinfo,
        signer,
    }
}
