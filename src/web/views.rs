//! The HTML pages (askama templates in `templates/`). Every form carries a hidden `csrf`
//! field; nothing needs JavaScript. `static/lanyard.js` enhances two pages where it runs
//! (the credentials page's shell tabs, copy buttons and countdown; the role picker's filter
//! as you type), reading its words from the page, so that they stay in the templates.
//! `base.html` takes the organisation's name, logo and theme from [`crate::web::ui`]. Every
//! page has `t`, its language: templates take their words from it
//! (`{{ t.msg("sign-out") }}`, see `web::i18n`), and `base.html` its `lang`.
//!
//! May import: `identity`, `web::i18n`, `web::ui`.

use askama::Template;

pub use crate::web::i18n::Locale;
// The `rich` macro of `templates/i18n.html` matches on it in the generated code.
#[allow(unused_imports)]
use crate::web::i18n::Tag;

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The page's language.
    pub t: Locale,
    pub title: String,
    pub message: String,
    pub request_id: String,
    /// "Try again" link (a failed upstream sign-in).
    pub retry: Option<String>,
    /// Where the person was: the sign-in page, or the role picker when signed in.
    pub back_href: String,
    /// The words of that link.
    pub back_label: String,
}

/// One provider on the sign-in page.
pub struct ProviderLink {
    pub display_name: String,
    pub kind: String,
    pub href: String,
}

/// `GET /signin`.
#[derive(Template)]
#[template(path = "signin.html")]
pub struct SigninPage {
    /// The page's language.
    pub t: Locale,
    pub providers: Vec<ProviderLink>,
    pub notice: Option<String>,
    /// Who is signed in in this browser already, if anyone.
    pub signed_in: Option<String>,
    /// Where "Continue" leads when signed in.
    pub continue_to: String,
}

/// The password form of a local or LDAP provider.
#[derive(Template)]
#[template(path = "password.html")]
pub struct PasswordPage {
    /// The page's language.
    pub t: Locale,
    pub provider_id: String,
    pub provider_name: String,
    pub csrf: String,
    pub username: String,
    pub error: Option<String>,
    /// A soft notice (the form answered had expired or was used).
    pub notice: Option<String>,
    /// Show the one-time code field (the provider has users with TOTP).
    pub ask_otp: bool,
    /// An admin's test sign-in: says so, and that no session will be created.
    pub test: bool,
}

/// One role on the picker: a row with its radio button, its own session lengths (only
/// those the role grants) and its star.
pub struct RoleChoice {
    /// The row's element id (`role-<n>`), which its label points at.
    pub id: String,
    pub name: String,
    pub description: String,
    /// The role's configured group (empty when none), which the filter also matches:
    /// the heading it is listed under may be "Last used" or "Favourites" instead.
    pub group: String,
    pub selected: bool,
    /// Starred by the person: listed under "Favourites", its star filled.
    pub favourite: bool,
    /// The lengths this role grants; the select is named `duration.<role>`.
    pub durations: Vec<DurationChoice>,
    /// The role needs a (fresh) second factor this session lacks: choosing it asks for a
    /// fresh sign-in first (a step-up), which the row says.
    pub step_up: bool,
    /// The role is held through an approved access request whose window closes then
    /// (`HH:MM UTC`): its session ends by then, whatever length is chosen.
    pub approved_until: Option<String>,
}

/// A heading of roles on the picker.
pub struct RoleGroup {
    pub name: String,
    pub roles: Vec<RoleChoice>,
}

/// One duration option.
pub struct DurationChoice {
    pub seconds: u64,
    pub label: String,
    pub selected: bool,
}

/// `GET /roles`.
#[derive(Template)]
#[template(path = "roles.html")]
pub struct RolesPage {
    /// The page's language.
    pub t: Locale,
    pub who: String,
    pub provider: String,
    pub csrf: String,
    pub groups: Vec<RoleGroup>,
    pub show_filter: bool,
    pub filter: String,
    pub total: usize,
    pub shown: usize,
    /// The role chosen now (empty when none is shown), carried by the star form.
    pub selected: String,
    /// The picker without the filter, the chosen role kept ("Clear").
    pub clear_href: String,
    /// Said above the list (a length the role does not grant was sent).
    pub notice: Option<String>,
    /// A pending OpenID Connect authorization this choice completes (empty when none).
    pub authz: String,
    /// The application the person is signing in to, when there is one.
    pub client: Option<String>,
    /// Roles that need approval which the person may request, each with its request form
    /// or its pending request (empty for an application's visit).
    pub requestable: Vec<RequestableRole>,
    /// The person's access requests could not be read (the database): said once.
    pub requests_unavailable: bool,
}

/// A role that needs approval, on the picker: its pending request, or its request form.
pub struct RequestableRole {
    /// The element ids' stem (`req-<n>`).
    pub id: String,
    pub name: String,
    pub description: String,
    /// The page of the person's pending request for it, when there is one.
    pub waiting: Option<String>,
    /// Its approved window is open until then: it is chosen above, in the list.
    pub approved_until: Option<String>,
    /// The request form, when the role can be requested now.
    pub form: Option<RequestFormView>,
}

/// The "Request access" form of one role, with what was sent and what was wrong with it
/// when it comes back with a problem.
pub struct RequestFormView {
    /// The lengths the approval rule allows (its `max_duration` at most).
    pub durations: Vec<DurationChoice>,
    /// The rule asks for a reason.
    pub reason_required: bool,
    /// The ticket pattern (then a ticket is required).
    pub ticket_pattern: Option<String>,
    /// The requester may approve it themself (break-glass) by ticking a box.
    pub break_glass_optional: bool,
    /// Only break-glass: nobody approves it but the requester.
    pub break_glass_only: bool,
    /// How many people must approve.
    pub approvals: u32,
    /// Shown unfolded (it came back with a problem).
    pub open: bool,
    pub reason: String,
    pub ticket: String,
    pub break_glass: bool,
    /// A problem with the request as a whole (an open request exists already).
    pub error: Option<String>,
    /// Where the open request it names is, for the form-level problem.
    pub error_href: Option<String>,
    pub duration_error: Option<String>,
    pub reason_error: Option<String>,
    pub ticket_error: Option<String>,
    pub break_glass_error: Option<String>,
}

/// One access request in a list.
pub struct RequestLine {
    /// Its page.
    pub href: String,
    pub role: String,
    /// Who asks.
    pub requester: String,
    /// Why, shortened.
    pub reason: String,
    /// Its state (the stable name, for the badge's class) and in words.
    pub state: String,
    pub state_label: String,
    /// Break-glass: the requester approved it.
    pub break_glass: bool,
    /// When it was made (UTC).
    pub created: String,
    /// How long it asks for, in words.
    pub length: String,
}

/// One choice of a filter's select.
pub struct FilterOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// `GET /requests`: the person's own access requests, and those they may decide on.
#[derive(Template)]
#[template(path = "requests.html")]
pub struct RequestsPage {
    /// The page's language.
    pub t: Locale,
    pub who: String,
    pub csrf: String,
    /// The state filter's choices (the first: any state).
    pub states: Vec<FilterOption>,
    /// The role filter's choices (the first: any role).
    pub roles: Vec<FilterOption>,
    /// Whether a filter is set (a link clears it).
    pub filtered: bool,
    pub mine: Vec<RequestLine>,
    pub to_decide: Vec<RequestLine>,
    /// The person may request roles that need approval (the picker has the forms).
    pub may_request: bool,
}

/// One decision on a request.
pub struct DecisionLine {
    pub who: String,
    pub approved: bool,
    pub comment: String,
    pub when: String,
}

/// One statement of a permission policy, in words.
pub struct StatementView {
    pub sid: String,
    /// `Allow` (else `Deny`).
    pub allow: bool,
    /// `NotAction`: every action but these.
    pub not_action: bool,
    pub actions: Vec<String>,
    /// `NotResource`: every resource but these.
    pub not_resource: bool,
    /// Empty: every resource.
    pub resources: Vec<String>,
    /// Each condition as `operator key: values`.
    pub conditions: Vec<String>,
}

/// A permission policy (or the boundary) of the role asked for.
pub struct PolicyView {
    pub name: String,
    /// The permissions boundary: an upper bound, not a grant.
    pub boundary: bool,
    pub statements: Vec<StatementView>,
}

/// `GET /requests/{id}`: one access request, what it would allow, and what this person
/// may do with it.
#[derive(Template)]
#[template(path = "request.html")]
pub struct RequestPage {
    /// The page's language.
    pub t: Locale,
    pub csrf: String,
    /// The request's page.
    pub href: String,
    pub role: String,
    pub role_description: String,
    /// Who asks: their name and `provider:subject`.
    pub requester: String,
    pub requester_subject: String,
    pub reason: String,
    pub ticket: String,
    /// The window asked for, in words.
    pub length: String,
    pub state: String,
    pub state_label: String,
    pub break_glass: bool,
    pub created: String,
    /// Until when it waits for its decision (pending requests).
    pub decide_by: Option<String>,
    /// The approved window, from and until (UTC).
    pub window: Option<(String, String)>,
    /// `1 of 2` approvals.
    pub approvals: String,
    pub decisions: Vec<DecisionLine>,
    /// Who withdrew or revoked it, and why.
    pub closed_by: Option<String>,
    pub close_reason: Option<String>,
    pub policies: Vec<PolicyView>,
    /// This person made the request.
    pub own: bool,
    /// Approve / Deny.
    pub can_decide: bool,
    /// Deciding will ask for a fresh second factor first.
    pub decide_needs_step_up: bool,
    /// Withdraw (the requester, while open).
    pub can_withdraw: bool,
    /// Revoke (an approver, once approved).
    pub can_revoke: bool,
    /// The requester's window is open: the role is on the picker.
    pub assumable: bool,
    /// Said above the page (the second factor was just confirmed, a decision was taken).
    pub notice: Option<String>,
    /// The decision's comment given back to the form (typed before a step-up).
    pub comment: String,
}

/// A local user's one-time code for a step-up (`POST /step-up/code`).
#[derive(Template)]
#[template(path = "step_up_code.html")]
pub struct StepUpCodePage {
    /// The page's language.
    pub t: Locale,
    pub provider_name: String,
    /// Who is asked for their code.
    pub username: String,
    /// The role the code is for.
    pub role: String,
    /// The lead's message id: what the code is for (a role, a decision, a device).
    pub lead: &'static str,
    /// Where cancelling goes back to (a local path built from the step-up's own data).
    pub cancel_href: String,
    /// The cancel link's message id.
    pub cancel: &'static str,
    /// The form's transaction id.
    pub csrf: String,
    /// The last code was refused.
    pub error: Option<String>,
}

/// On the way to the provider for a step-up: a page that continues there (a redirect
/// off-site after the picker's POST would be blocked by `form-action 'self'`; see
/// `ContinuePage`).
#[derive(Template)]
#[template(path = "step_up_continue.html")]
pub struct StepUpContinuePage {
    /// The page's language.
    pub t: Locale,
    /// The provider's display name.
    pub provider: String,
    /// The role chosen.
    pub role: String,
    /// The provider's authorization or SSO URL.
    pub url: String,
    /// The lead's message id: what the step-up is for (a role, a decision, a device).
    pub lead: &'static str,
    /// Where cancelling goes back to (a local path built from the step-up's own data).
    pub cancel_href: String,
    /// The cancel link's message id.
    pub cancel: &'static str,
}

/// No role fits.
#[derive(Template)]
#[template(path = "no_roles.html")]
pub struct NoRolesPage {
    /// The page's language.
    pub t: Locale,
    pub who: String,
    pub subject: String,
    pub provider: String,
    pub groups: String,
    pub csrf: String,
    /// Roles not offered because they need a multi-factor sign-in.
    pub mfa_roles: Vec<crate::identity::RoleName>,
}

/// `GET /credentials`.
#[derive(Template)]
#[template(path = "credentials.html")]
pub struct CredentialsPage {
    /// The page's language.
    pub t: Locale,
    pub who: String,
    /// The role's name and description, as the picker shows them.
    pub role: String,
    pub description: String,
    /// RFC 3339, for `<time datetime>` (the script shows it in the browser's time zone).
    pub expires_at: String,
    /// The same instant in words, in UTC (`2026-11-28 01:00:00 UTC`).
    pub expires_at_utc: String,
    /// The countdown in the page's language: `expires in 59 minutes` (`läuft in 59 Minuten ab`).
    pub expires_in: String,
    /// Seconds left by Lanyard's clock when the page was made: the script's countdown
    /// starts from it, so that a browser whose clock is off still counts right.
    pub seconds_left: u64,
    pub token: String,
    /// The lines for each shell, the first shown first.
    pub shells: Vec<ShellLines>,
    pub csrf: String,
    pub multiple_roles: bool,
    /// Said when the length chosen was longer than the role allows.
    pub shortened: Option<String>,
}

/// What the credentials page gives one shell.
pub struct ShellLines {
    /// `bash`, `fish`, `powershell`: element ids and the remembered choice.
    pub id: &'static str,
    /// The shell's name.
    pub label: &'static str,
    /// The lines setting every variable.
    pub exports: String,
    /// The call proving the token works against this Lanyard.
    pub test: String,
}

/// An application asked for sign-out without proving which session it meant.
#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutConfirmPage {
    /// The page's language.
    pub t: Locale,
    pub csrf: String,
}

/// The last hop to an application: a page of Lanyard's that sends the browser on with a
/// meta refresh (and a link, should the browser not follow it). A `303` straight to the
/// application is blocked by Chromium when it ends a form POST's redirect chain, because
/// the page CSP says `form-action 'self'`; a navigation started by a page is not.
#[derive(Template)]
#[template(path = "continue.html")]
pub struct ContinuePage {
    /// The page's language.
    pub t: Locale,
    /// The application's name.
    pub app: String,
    /// Where the browser goes: the client's redirect URI with `code` and `state` (or
    /// `error`).
    pub url: String,
}

/// `GET /device`, and `POST /device` with a code that is not pending: the form to enter
/// the user code a command-line tool shows (RFC 8628 §3.3).
#[derive(Template)]
#[template(path = "device.html")]
pub struct DeviceEntryPage {
    /// The request's language.
    pub t: Locale,
    pub who: String,
    pub provider: String,
    pub csrf: String,
    /// The code in the field: from the link (`?user_code=`) or as typed.
    pub user_code: String,
    /// Why the code entered was not taken (unknown, expired, used, too many tries).
    pub error: Option<String>,
}

/// The confirmation of a pending device sign-in: the application, the warning, the roles
/// it may receive (the role picker's rows, without stars), Approve and Deny.
#[derive(Template)]
#[template(path = "device_confirm.html")]
pub struct DeviceConfirmPage {
    /// The request's language.
    pub t: Locale,
    /// The application's name.
    pub app: String,
    pub who: String,
    pub provider: String,
    pub csrf: String,
    /// The user code, `XXXX-XXXX`.
    pub user_code: String,
    /// The roles offered, those that need a (fresh) second factor marked (Approve with one
    /// asks for a step-up first).
    pub groups: Vec<RoleGroup>,
    /// Why the last answer was not taken (a length the role does not grant, no role chosen).
    pub notice: Option<String>,
}

/// The end of a device sign-in: approved (the terminal gets its tokens) or denied.
#[derive(Template)]
#[template(path = "device_done.html")]
pub struct DeviceDonePage {
    /// The request's language.
    pub t: Locale,
    /// The application's name.
    pub app: String,
    /// Whether the person approved.
    pub approved: bool,
    /// The role granted, when approved.
    pub role: String,
    /// How long its credentials last, in words.
    pub length: String,
}

/// After sign-out.
#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage {
    /// The page's language.
    pub t: Locale,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hand_over_page_refreshes_to_the_application_and_escapes_it() {
        let html = ContinuePage {
            t: Locale::En,
            app: "Grafana".into(),
            url: "https://app.example/cb?code=c&state=\"><script>".into(),
        }
        .render()
        .unwrap();
        assert!(html.contains(
            "<meta http-equiv=\"refresh\" content=\"0;url=https://app.example/cb?code=c&#38;state="
        ));
        assert!(html.contains("Continue to Grafana"));
        assert!(!html.contains("\"><script>"));
        assert_eq!(
            html.matches("<script").count(),
            1,
            "no script on the page but Lanyard's own file"
        );
        assert!(html.contains("<script src=\"/static/lanyard.js\" defer></script>"));
    }

    #[test]
    fn pages_escape_what_they_show() {
        let html = ErrorPage {
            t: Locale::En,
            title: "Bad".into(),
            message: "<script>alert(1)</script>".into(),
            request_id: "r1".into(),
            retry: None,
            back_href: "/signin".into(),
            back_label: "Back to sign-in".into(),
        }
        .render()
        .unwrap();
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
    }

    #[test]
    fn translated_pages_escape_their_placeables_and_keep_the_markup_of_the_template() {
        let html = NoRolesPage {
            t: Locale::De,
            who: "<script>alert(1)</script>".into(),
            subject: "corp:\"x\"".into(),
            provider: "Corp & Co".into(),
            groups: String::new(),
            csrf: "c".into(),
            mfa_roles: vec![
                crate::identity::RoleName::new("a<b"),
                crate::identity::RoleName::new("c"),
            ],
        }
        .render()
        .unwrap();
        assert!(html.contains("<html lang=\"de\">"), "{html}");
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(
            html.contains("Sie haben sich als <strong>&#60;script&#62;alert(1)&#60;/script&#62;</strong> (<code>corp:&#34;x&#34;</code>) über <strong>Corp &#38; Co</strong> angemeldet"),
            "{html}"
        );
        assert!(
            html.contains("Die Rollen <code>a&#60;b</code>, <code>c</code> erfordern"),
            "{html}"
        );
    }
}
