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
# $duration is a length of time: the credentials expire "in 1 hour".
credentials-expires-in = in { $duration }

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
