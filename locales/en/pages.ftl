# Lanyard's pages, in English (complete; the fallback of every other language).
#
# Placeables: $who (the person's name), $provider (an identity provider's display name),
# $app (an application's name). A placeable a page shows in markup is marked so in the
# comment above its message; keep it as one placeable.

## Shared

sign-out = Sign out

## Sign-in page (signin.html)

signin-title = Sign in
# $section is shown as code: [[providers]]
signin-no-providers = No identity provider is configured. An administrator needs to add one to { $section }.
# $who is shown in bold.
signin-signed-in = Signed in as { $who } — continue, or use another account (this ends your current credentials).
signin-continue-as = Continue as { $who }
signin-use-another = Use another account:
signin-choose = Choose how to sign in.

## Password form (password.html)

password-title = Sign in with { $provider }
password-username = Username
password-password = Password
password-otp = One-time code
password-otp-hint = (if your account has one)
password-submit = Sign in
password-other-provider = Use another provider
password-form-expired = That form had expired; please sign in again.
password-refused = The username or password is incorrect.
password-directory-unavailable = The directory cannot be reached right now. Please try again in a moment.

## No role (no_roles.html, mfa_roles.html)

no-roles-title = No role available
no-roles-heading = No role is available to you
# $who and $provider are shown in bold, $subject as code.
no-roles-lead = You signed in as { $who } ({ $subject }) through { $provider }, but no role's trust policy allows this identity.
# $groups is shown as code.
no-roles-groups = Groups Lanyard received: { $groups }.
no-roles-no-groups = Groups Lanyard received: none.
no-roles-ask = Ask an administrator to grant you a role, quoting the identity above, or sign in with another provider.
# $roles is a list of role names, each shown as code; $count is how many.
mfa-roles =
    { $count ->
        [one] The role { $roles } needs a multi-factor sign-in (a one-time code), which this sign-in did not use. Sign out and sign in again with an account that has a second factor to get it.
       *[other] The roles { $roles } need a multi-factor sign-in (a one-time code), which this sign-in did not use. Sign out and sign in again with an account that has a second factor to get them.
    }

## Role picker (picker headings and notices made in Rust)

picker-last-used = Last used
picker-favourites = Favourites
picker-other-roles = Other roles
picker-roles = Roles
# $min and $max are lengths of time ("15 minutes").
picker-length-notice = The role { $role } grants sessions of { $min } to { $max }: choose a session length from its list.

## Credentials (sentences made in Rust)

# $length is a length of time ("1 hour").
credentials-shortened = The role { $role } grants sessions of at most { $length }, so these credentials last { $length }.
# $left is a length of time ("1 hour"), or the literal slot {left} the page script fills
# with a clock reading ("0:59:30").
credentials-countdown = expires in { $left }

## Role picker (roles.html, role_rows.html)

roles-title = Choose a role
# $who is shown in bold.
roles-lead = Signed in as { $who } through { $provider }.
# $app is shown in bold.
roles-for-app = Choose the role to use in { $app }.
roles-filter-label = Filter roles
roles-filter-placeholder = role or group
roles-filter = Filter
roles-filter-clear = Clear
# $shown may be the literal slot {shown} the page script fills as the filter changes.
roles-shown =
    { $total ->
        [one] Showing { $shown } of { $total } role.
       *[other] Showing { $shown } of { $total } roles.
    }
# $role is shown in bold (filled in by the page script).
roles-kept-choice = The role { $role } stays selected, though the filter hides it.
# $filter is what was typed (filled in by the page script).
roles-no-match = No role matches “{ $filter }”.
roles-show-all = Show all roles
roles-lengths-note = Each role offers the session lengths it grants.
roles-continue = Continue
roles-get-credentials = Get credentials
roles-length-for = Session length for { $role }
roles-star = Add { $role } to favourites
roles-unstar = Remove { $role } from favourites

## Credentials page (credentials.html)

credentials-title = Your credentials
# $role is shown as code.
credentials-heading = Credentials for { $role }
# $who is shown in bold.
credentials-signed-in = Signed in as { $who }.
# $time is the expiry (a date and time), $countdown the credentials-countdown sentence;
# the page shows both in markup of their own.
credentials-expiry = Valid until { $time } — { $countdown }.
# $again is a link to the role picker, worded by credentials-choose-again.
credentials-expired = These credentials have expired — { $again }.
credentials-choose-again = choose a role again
credentials-paste = Paste into a shell
credentials-shell = Shell
credentials-copy = Copy
# Said to screen readers after credentials-copy; $shell is a shell's name ("bash / zsh").
credentials-copy-lines = the { $shell } lines
credentials-copy-test = the { $shell } test
credentials-check = Then check that the token works: Lanyard answers with your role and its decision for a sample action (an error 401 means the token is not accepted).
credentials-token-only = Access token only
credentials-copy-token = Copy the access token
credentials-copied = Copied
credentials-copy-failed = Copying failed: the text is selected, copy it with Ctrl+C or ⌘C
credentials-treat = Treat this token like a password: anyone holding it acts as you in this role until it expires.
credentials-another-role = Choose another role

## Device sign-in (device.html, device_confirm.html, device_done.html, notices made in Rust)

device-title = Sign in on your device
# $who is shown in bold.
device-lead = Signed in as { $who } through { $provider }. Enter the code your terminal shows to sign it in as you.
device-code-label = Code from your terminal
device-code-help = 8 letters, such as BCDF-GHJK; lower case, spaces and a missing dash are fine.
device-continue = Continue
device-malformed = That is not a code Lanyard gives out: a code is 8 letters, such as BCDF-GHJK. Check the code your terminal shows and enter it again.
device-unknown = That code is not valid: it may be mistyped, expired (codes last 10 minutes) or already used. Check the code your terminal shows, or start the sign-in again there.
device-locked = Too many wrong codes were entered, so codes are not accepted for a while. Wait 10 minutes, then start the sign-in again in your terminal.
device-gone = That sign-in has expired or was answered in the meantime. Start the sign-in again in your terminal.
device-gone-step-up = The code expired while you confirmed your second factor, so the sign-in was not approved. Your second factor is confirmed now: start the sign-in again in your terminal and enter the new code it shows.
device-choose-role = Choose one of the roles to approve, or deny the sign-in.
device-confirm-title = Sign in to { $app }?
# $app and $who are shown in bold, $code (the user code) as code.
device-confirm-lead = { $app } asks to sign in as { $who } ({ $provider }) with the code { $code }.
device-confirm-warning = Only continue if you started this on your own device just now.
device-confirm-warning-more = If someone sent you this link or code, choose Deny: approving gives them your access.
device-confirm-no-role = No role that { $app } may receive is available to you, so this sign-in can only be denied.
device-confirm-choose = Choose the role { $app } gets, and how long its credentials last.
device-approve = Approve
device-deny = Deny
device-approved-title = Signed in
device-approved-heading = { $app } is signed in
device-approved-lead = Signed in. You can close this tab and return to your terminal.
# $role is shown as code; $length is a length of time ("1 hour").
device-approved-role = It has the role { $role }; its credentials last { $length }.
device-denied-title = Sign-in denied
device-denied-lead = You denied the sign-in of { $app }. The terminal that asked is told so, and gets no access.
device-denied-more = You can close this tab. If you did not start this sign-in, tell your administrator.

## Sign-out (logout.html, signed_out.html)

logout-title = Sign out?
logout-heading = Sign out of Lanyard?
logout-lead = An application asked to sign you out. Signing out ends your Lanyard session and every credential issued in it.
logout-stay = Stay signed in
signed-out-title = Signed out
signed-out-heading = You are signed out
signed-out-lead = Your Lanyard session and the credentials issued in it have ended.
signed-out-again = Sign in again

## Hand-over to an application (continue.html)

continue-title = Continue to { $app }
continue-lead = You are signed in. Your browser now returns you to { $app }.

## Lengths of time

duration-minutes =
    { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }
duration-hours =
    { $hours ->
        [one] { $hours } hour
       *[other] { $hours } hours
    }
duration-hours-minutes = { $hours } h { $minutes } min
password-test-sign-in = Test sign-in: what this provider answers is shown to you in the admin console. No session is created and you stay signed in as yourself.
password-test-back = Back to the identity providers

## Step-up MFA per role (issue 17)

picker-step-up = Needs a second factor: you will be asked to sign in again.
step-up-code-title = Confirm with your one-time code
# $role and $who are shown in bold.
step-up-code-lead = The role { $role } needs a second factor. Enter the current one-time code of { $who } from your authenticator app ({ $provider }).
step-up-code-submit = Confirm
step-up-cancel = Back to the roles, without this one
step-up-continue-title = Continue to { $provider }
# $role is shown in bold.
step-up-continue-lead = The role { $role } needs a second factor. Your browser now takes you to { $provider } to sign in again with one; then you come back here.
# $role is shown in bold.
step-up-continue-lead-device = Approving the sign-in of your terminal with the role { $role } needs a second factor. Your browser now takes you to { $provider } to sign in again with one; then you come back here and the sign-in is approved.
# $role and $who are shown in bold.
step-up-code-lead-device = Approving the sign-in of your terminal with the role { $role } needs a second factor. Enter the current one-time code of { $who } from your authenticator app ({ $provider }).
step-up-cancel-device = Back to the sign-in of your terminal, without this role

## Step-up for an application's authorization request (issue 17)

# $who is shown in bold.
op-step-up-code-lead = The application you are signing in to asks for a second factor. Enter the current one-time code of { $who } from your authenticator app ({ $provider }).
op-step-up-code-cancel = To cancel, close this page: the application gets no answer.
