# Error pages, in English (complete; the fallback of every other language).
#
# A title says what happened in plain words, never an HTTP reason phrase. A message is one
# or two full sentences for the person; it never carries internal detail. JSON APIs answer
# with the English text of the same messages.

## Titles

error-title-not-found = That page does not exist
error-title-bad-request = Lanyard could not use that request
error-title-csrf = That form has expired
error-title-too-large = That was more than Lanyard accepts
error-title-forbidden = Not available to you
error-title-unauthorized = You need to sign in
error-title-too-busy = Too many sign-ins in progress
error-title-store = Lanyard is briefly unavailable
error-title-internal = Something went wrong
error-title-upstream = Sign-in with { $provider } failed
error-title-provider-unavailable = { $provider } is not available

## What every error page has

error-try-again = Try again
# $id is shown as code: the correlation id of the request, for the log.
error-reference = Reference: { $id }
error-back-signin = Back to sign-in
error-back-roles = Back to your roles
error-back-device = Back to the device sign-in

## Messages

error-store = Lanyard cannot reach its session store right now. Please try again in a moment.
error-internal = Something went wrong on our side.
error-csrf = This form has expired or was not sent from Lanyard's own page. Go back, reload the page and try again.
error-too-large = The request body is too large.
error-too-busy = Too many sign-ins are in progress from your network right now; please wait a few minutes and try again.
error-no-such-page = There is no such page.
error-method-not-allowed = This method is not allowed here.
error-form-unreadable = The form could not be read; please go back, reload the page and try again.
error-address-unreadable = The address could not be read; please start again from the sign-in page.
# $detail is the protocol's own English description of what is wrong with the request.
error-application-request = The application's sign-in request cannot be used: { $detail }.
error-authz-expired = This sign-in request has expired or was already used; go back to the application and start again.

## Sign-in

error-unknown-provider = There is no identity provider "{ $provider }".
error-no-saml-provider = There is no SAML identity provider "{ $provider }".
error-no-password-form = { $provider } signs people in on its own page; there is no password form here.
error-saml-post-only = This address receives the SAML identity provider's answer by HTTP POST; start at the sign-in page.
# $reason is one of the reason-… messages below.
error-provider-unavailable = Signing in with { $provider } is not possible right now: { $reason }.
# $state is one of the idp-… messages below.
reason-saml-not-ready = Lanyard does not know this identity provider yet: { $state }. It tries again within a minute
reason-directory-unavailable = the directory cannot be reached right now
idp-ready = its metadata is loaded
idp-loading = its metadata has not been loaded yet
# $detail is the technical cause, as logged.
idp-failed = its metadata could not be loaded ({ $detail })
# $reason is one of the saml-… messages below.
error-saml-refused = Sign-in through { $provider } was refused: the identity provider's answer did not pass Lanyard's checks ({ $reason }).
saml-expired = it is outside its validity period
saml-other-browser = it answers a sign-in started in another browser; start again here
saml-replay = it was already used or answers no pending sign-in; start again
saml-unsolicited = sign-ins started at the identity provider are not accepted
saml-status = the identity provider did not authenticate you
saml-invalid = it is not valid
# $reason is one of the upstream-… messages below.
error-upstream = Signing in with { $provider } failed: { $reason }.
# $error is the provider's OAuth error code (access_denied), $description its own words.
upstream-denied = the provider refused the sign-in ({ $error })
upstream-denied-described = the provider refused the sign-in ({ $error }): { $description }
upstream-unknown-transaction = this sign-in link expired, was already used or was started in another browser
upstream-state-mismatch = the sign-in answer did not match the sign-in that was started (state mismatch)
upstream-missing-code = the provider's answer carries no authorization code
# $endpoint is one of the endpoint-… messages below.
upstream-unreachable = the provider could not be reached ({ $endpoint })
upstream-tls = a secure (TLS) connection to the provider could not be established ({ $endpoint })
upstream-timeout = the provider did not answer in time ({ $endpoint }, { $seconds }s)
upstream-status = the provider's { $endpoint } answered with HTTP { $status }
upstream-malformed = the provider's { $endpoint } sent an answer Lanyard cannot read
upstream-invalid-id-token = the provider's ID token was not valid
upstream-userinfo-mismatch = the provider's userinfo does not describe the signed-in person
upstream-config = the provider is misconfigured in Lanyard
# $organizations is a list of GitHub organization names; $count is how many.
upstream-not-in-organization =
    { $count ->
        [one] only members of the GitHub organization { $organizations } may sign in here
       *[other] only members of the GitHub organizations { $organizations } may sign in here
    }
upstream-email-unverified = the provider has not verified the email address of this account
upstream-domain-not-allowed = accounts of the domain "{ $domain }" may not sign in here
upstream-no-allowed-domain = only accounts with a verified email address of an allowed domain may sign in here
upstream-tenant-not-allowed = accounts of this Microsoft Entra tenant may not sign in here
endpoint-discovery = discovery document
endpoint-jwks = signing keys (JWKS)
endpoint-token = token endpoint
endpoint-userinfo = userinfo endpoint
endpoint-api = API

## Roles

error-no-role-chosen = No role was chosen; choose one of the roles on the list.
error-role-not-listed = That role is not on the list; choose one of the roles shown.
# $min, $max and $asked are lengths of time ("15 minutes").
error-length-out-of-range = A session lasts { $min } to { $max }; { $asked } is outside that range.
error-length-not-seconds = The session length must be a whole number of seconds.
error-role-not-available = The role "{ $role }" is not available to you.
error-fresh-sign-in = The application asks for a fresh sign-in.
error-no-role-for-app = No role this application may receive is available to this person.
error-role-session-cap = This sign-in session has been issued { $count } sets of credentials, the most allowed; sign out and sign in again to get new credentials.
error-duration-for-role = The duration must be between { $min } and { $max } seconds for this role.

## Step-up MFA per role (issue 17)

error-role-needs-step-up = The role "{ $role }" needs a fresh second factor. Choose it on the role picker, where you will be asked to sign in again with one.
step-up-unavailable = { $provider } cannot ask you for a second factor here, so roles that need one are not available through it. Ask an administrator to set up a one-time code for your account, or sign in with a provider that uses a second factor.
step-up-other-session = That sign-in was started in another session, or this browser signed out since. Nothing was changed: choose the role again.
step-up-other-person = You signed in again as somebody else. Lanyard never switches the person of a session: nothing was changed and you are still signed in as before. Choose the role again and sign in with your own account.
step-up-no-factor = The fresh sign-in did not use a second factor, so the role was not issued. Choose the role again and confirm with your second factor when your provider asks for it.
step-up-not-fresh = Your provider answered with an earlier sign-in instead of a fresh one, so the role was not issued. Choose the role again; if this happens again, ask an administrator to check the provider's settings.
step-up-expired = That confirmation has expired or was already used. Choose the role again on the role picker.
step-up-no-session = Your session has ended, so this confirmation cannot be used. Sign in again and choose the role.
step-up-not-enough = Even with the fresh second factor, the role "{ $role }" is not available to you.
step-up-code-refused = That code is incorrect or was already used. Enter the current code from your authenticator app.
