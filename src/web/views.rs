//! The HTML pages (askama templates in `templates/`). Every form carries a hidden `csrf`
//! field; nothing needs JavaScript.

use askama::Template;

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
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
    pub provider_id: String,
    pub provider_name: String,
    pub csrf: String,
    pub username: String,
    pub error: Option<String>,
    /// A soft notice (the form answered had expired or was used).
    pub notice: Option<String>,
    /// Show the one-time code field (the provider has users with TOTP).
    pub ask_otp: bool,
}

/// One role on the picker: a row with its radio button, its own session lengths (only
/// those the role grants) and its star.
pub struct RoleChoice {
    /// The row's element id (`role-<n>`), which its label points at.
    pub id: String,
    pub name: String,
    pub description: String,
    pub selected: bool,
    /// Starred by the person: listed under "Favourites", its star filled.
    pub favourite: bool,
    /// The lengths this role grants; the select is named `duration.<role>`.
    pub durations: Vec<DurationChoice>,
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
    /// Roles not offered because they need a multi-factor sign-in.
    pub mfa_roles: Vec<crate::identity::RoleName>,
}

/// No role fits.
#[derive(Template)]
#[template(path = "no_roles.html")]
pub struct NoRolesPage {
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
    pub who: String,
    pub role: String,
    pub expires_at: String,
    pub expires_in: String,
    pub token: String,
    pub exports: String,
    pub csrf: String,
    pub multiple_roles: bool,
    /// Said when the length chosen was longer than the role allows.
    pub shortened: Option<String>,
}

/// An application asked for sign-out without proving which session it meant.
#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutConfirmPage {
    pub csrf: String,
}

/// The last hop to an application: a page of Lanyard's that sends the browser on with a
/// meta refresh (and a link, should the browser not follow it). A `303` straight to the
/// application is blocked by Chromium when it ends a form POST's redirect chain, because
/// the page CSP says `form-action 'self'`; a navigation started by a page is not.
#[derive(Template)]
#[template(path = "continue.html")]
pub struct ContinuePage {
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
    /// The application's name.
    pub app: String,
    pub who: String,
    pub provider: String,
    pub csrf: String,
    /// The user code, `XXXX-XXXX`.
    pub user_code: String,
    pub groups: Vec<RoleGroup>,
    /// Roles not offered because they need a multi-factor sign-in.
    pub mfa_roles: Vec<crate::identity::RoleName>,
    /// Why the last answer was not taken (a length the role does not grant, no role chosen).
    pub notice: Option<String>,
}

/// The end of a device sign-in: approved (the terminal gets its tokens) or denied.
#[derive(Template)]
#[template(path = "device_done.html")]
pub struct DeviceDonePage {
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
pub struct SignedOutPage;

/// `900` → `15 minutes`, `3600` → `1 hour`, `5400` → `1 h 30 min`.
pub fn human_duration(secs: u64) -> String {
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    match (h, m) {
        (0, m) => format!("{m} minute{}", if m == 1 { "" } else { "s" }),
        (h, 0) => format!("{h} hour{}", if h == 1 { "" } else { "s" }),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(900), "15 minutes");
        assert_eq!(human_duration(3600), "1 hour");
        assert_eq!(human_duration(43200), "12 hours");
        assert_eq!(human_duration(5400), "1 h 30 min");
    }

    #[test]
    fn the_hand_over_page_refreshes_to_the_application_and_escapes_it() {
        let html = ContinuePage {
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
        assert!(!html.contains("<script"), "no script on the page");
    }

    #[test]
    fn pages_escape_what_they_show() {
        let html = ErrorPage {
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
}
