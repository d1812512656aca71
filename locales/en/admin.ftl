# The admin console (/admin), in English.
#
# Placeables: $role (a role's name), $who (a person's username), $action (an IAM action
# such as lanyard:PutRole), $resource (an ARN). A placeable a page shows in markup is
# marked so in the comment above its message.

## Navigation and layout (admin_nav.html)

admin-nav-label = Administration
admin-nav-home = Overview
admin-nav-roles = Roles
admin-nav-simulate = Trust simulator
admin-nav-sessions = Sessions
admin-nav-audit = Audit trail
admin-acting-as = Signed in as { $who }, acting with the role { $role }.
admin-change-role = Change role
admin-choose-role = Choose another role
admin-back-home = Back to the administration overview
admin-cancel = Cancel
admin-person-hint = A person is written provider:subject, such as corp:alice.
admin-filter = Filter
admin-next-page = Next page

## Overview (admin_home.html)

admin-home-title = Administration
# $role is shown as code.
admin-home-lead = What your role { $role } may do here:
admin-home-roles = see the roles, create and edit the database's roles.
admin-home-simulate = see which roles an identity gets, and why.
admin-home-sessions = see who is signed in, and end sessions.
admin-home-audit = read and export the audit trail.
admin-home-policies = see the managed policies roles use, create and edit the database's.
admin-home-clients = see the applications that sign people in through Lanyard, register them and rotate their secrets.
# $action is shown as code.
admin-home-not-allowed = Your role does not allow { $action }.

## Refusals (admin_refused.html, admin_no_role.html)

admin-refused-title = Your role does not allow this
# $role, $action and $resource are shown as code.
admin-refused-lead = Your current role { $role } is not allowed { $action } on { $resource }.
admin-refused-reason = The policy engine said: { $reason }
admin-refused-how = To do this, choose a role whose policies allow it on the role picker, then come back. If none of your roles does, ask an administrator for one.
admin-no-role-title = Choose a role first
# $who is shown in bold.
admin-no-role-lead = You are signed in as { $who }, but the administration acts with the role you chose last on the role picker, and you have none now (or its session has ended). Choose a role that may administer Lanyard, then come back.

## Errors

admin-error-title = That did not work
admin-error-title-failed = Something went wrong
admin-error-detail = { $detail }
admin-error-internal = The request could not be completed. The reference below helps an administrator find out why in the log.
admin-error-no-database = The administration needs a database ([audit] database in lanyard.toml), and none is configured.
admin-error-unavailable = The database or the session store did not answer. Please try again in a moment.
admin-error-no-role = There is no role named { $role }.
admin-error-no-session = There is no live session with that id; it may have ended already.
admin-error-managed-in-file = The role { $role } is managed in lanyard.toml and cannot be changed here.

## Roles (admin_roles.html, admin_role.html, admin_role_confirm.html, admin_role_delete.html)

admin-roles-title = Roles
admin-col-role = Role
admin-col-description = Description
admin-col-source = Where it is defined
admin-managed-in-file = managed in lanyard.toml
admin-in-database = in the database, version { $version }
admin-role-new = New role
admin-role-title = Role { $role }
# $role is shown as code.
admin-role-heading = Role { $role }
admin-role-saved = Saved. Every Lanyard instance uses it within two seconds.
admin-role-deleted = The role { $role } was deleted.
admin-role-file-lead = This role is defined in lanyard.toml: change it there (and reload), not here.
admin-role-max-session = Longest session
admin-role-updated = Version { $version }, last changed by { $updated }.
admin-role-name = Name
admin-role-name-hint = Letters, digits and + = , . @ _ - (at most 64).
admin-role-bad-name = A role's name is 1 to 64 letters, digits or + = , . @ _ -.
admin-role-document = Role document (JSON)
admin-role-document-hint = The shape of a [[roles]] entry of lanyard.toml as JSON: trust_policy (required), permission_policies, inline_policy, permissions_boundary, max_session_duration, group. The description is the field above.
admin-role-not-json = The document is not a JSON object: { $detail }
admin-role-not-saved = Nothing was saved:
admin-role-save = Save
admin-role-delete = Delete this role…
admin-role-stale = Someone changed this role since you opened it.
admin-role-stale-how = Your changes were not saved. The role is now at version { $version }, shown below. Your text is still in the form: compare, then save again to replace that version.
admin-impact-preview = Preview impact
admin-impact-title = Impact of this change
admin-impact-none = Nobody seen recently gains or loses this role.
admin-impact-gains = gains the role
admin-impact-loses = loses the role
admin-impact-note = Measured on the identities of recently recorded sign-ins ([admin] record_claims).
admin-col-person = Person
admin-col-change = Change
admin-col-seen = Signed in
admin-confirm-title = Confirm the change
# $role is shown as code; $count is how many people lose it.
admin-confirm-losing =
    { $count ->
        [one] After this change, one person seen recently loses the role { $role }:
       *[other] After this change, { $count } people seen recently lose the role { $role }:
    }
# $role is shown as code.
admin-confirm-unknown = Your role may not simulate trust, so Lanyard cannot tell whether this change takes the role { $role } from anyone. Save it only if you are sure.
admin-confirm-save = Save the change
admin-delete-title = Delete the role { $role }
# $role is shown as code.
admin-delete-heading = Delete the role { $role }?
admin-delete-lead = Nobody can choose this role any more once it is deleted. Credentials already issued for it last until they expire; revoke them on the sessions page to end them now.
admin-delete-stale = The confirmation now shows its current version.
admin-delete-confirm = Delete the role

## Trust simulator (admin_simulate.html)

admin-simulate-title = Trust simulator
admin-simulate-lead = See which roles an identity would be offered, and why: pick a recent sign-in, or paste claims.
admin-simulate-role = Roles to simulate
admin-simulate-every-role = Every role
admin-simulate-recorded = A recent sign-in
admin-simulate-none-recorded = No sign-in is recorded that your role may see ([admin] record_claims).
admin-simulate-sign-in = Sign-in
admin-simulate-run-recorded = Simulate this sign-in
admin-simulate-pasted = Claims of your own
admin-simulate-provider = Provider
admin-simulate-provider-by-issuer = Found by the JWT's issuer
admin-simulate-claims = Claims (JSON object)
admin-simulate-run-claims = Simulate these claims
admin-simulate-jwt = Or a JWT (its signature is not checked)
admin-simulate-run-jwt = Simulate this JWT
admin-simulate-pick-recorded = Choose a recorded sign-in.
admin-simulate-pick-provider = Choose the provider the claims come from.
admin-simulate-claims-not-json = The claims must be a JSON object, such as {"{"}"sub": "alice"{"}"}.
admin-simulate-no-source = Give claims or a JWT, then press the button beside them.
admin-simulate-unverified = The JWT was decoded without checking its signature, issuer, audience or expiry: its claims only feed this simulation and prove nothing.
admin-simulate-result = Result
admin-simulate-email = Email
admin-simulate-groups = Groups
admin-simulate-raw-claims = Every claim received
admin-simulate-offered = offered
admin-simulate-not-offered = not offered
admin-simulate-deciding = Decided by:
admin-simulate-applies = applies
admin-simulate-no-action = its Action does not cover this provider's kind of sign-in
admin-simulate-no-principal = its Principal does not name this provider
admin-simulate-no-resource = its Resource does not cover this role
admin-simulate-condition = a condition was not true
# $seen and $wanted are shown as code.
admin-simulate-seen = saw { $seen }, wanted { $wanted }
# $wanted is shown as code.
admin-simulate-missing = the identity has no such key; wanted { $wanted }
# $wanted is shown as code.
admin-simulate-empty = the identity has none; wanted { $wanted }

## Sessions (admin_sessions.html, admin_revoke.html)

admin-sessions-title = Sessions
admin-col-provider = Provider
admin-col-since = Signed in
admin-col-role-sessions = Role sessions
admin-col-actions = Revoke
admin-sessions-none = No live session matches.
admin-sessions-ends = ends { $when }
admin-sessions-revoked =
    { $count ->
        [one] Revoked: one session ended.
       *[other] Revoked: { $count } sessions ended.
    }
admin-revoke-session-link = This session of { $who }…
admin-revoke-person-link = Every session of { $who }…
admin-revoke-role-link = Every session of { $role }…
admin-revoke-title = Revoke sessions
# $id is shown as code.
admin-revoke-session = End the session { $id } and every role session issued in it?
# $person is shown as code.
admin-revoke-person = End every session of { $person }, on every Lanyard instance?
# $role is shown as code.
admin-revoke-role = End every role session of the role { $role }, on every Lanyard instance? This is the kill switch: every token issued for it is refused from now on.
admin-revoke-effect = Their tokens are refused at once by /v1/authorize, introspection and userinfo. People can sign in again afterwards.
admin-revoke-reason = Reason (kept in the audit trail)
admin-revoke-confirm = Revoke

## Audit trail (admin_audit.html)

admin-audit-title = Audit trail
admin-col-event = Event
admin-col-time = Time (UTC)
admin-col-detail = Detail
admin-audit-every-event = Every event
admin-audit-from = From
admin-audit-to = Until
admin-audit-time-hint = Times are UTC: a day (2026-11-28) or a minute (2026-11-28T18:00).
admin-audit-export = Export these events (at most 1000):
admin-audit-none = No event matches.
admin-audit-bad-event = No audit event has that name.
admin-audit-bad-time = A time is a day (2026-11-28) or a minute (2026-11-28T18:00), in UTC.
admin-audit-bad-cursor = That page link is not one Lanyard made; start again from the first page.
admin-nav-providers = Identity providers
admin-home-providers = Each identity provider's health (keys, certificates, last sign-ins) and a test sign-in that shows what it sends.
admin-providers-title = Identity providers
admin-providers-lead = Every provider Lanyard trusts now, how fresh its keys are, when its certificates expire and how its last sign-ins went.
admin-providers-no-trail = The audit trail cannot be read here, so the last sign-ins are not shown.
admin-providers-keys-age = Keys fetched or read
admin-providers-keys-none = not yet
admin-providers-last-ok = Last successful sign-in
admin-providers-last-failed = Last failed sign-in
admin-providers-never = none recorded
admin-providers-certificates = Signing certificates
admin-providers-expires-soon = expires in { $days } days
admin-providers-days-left = { $days } days left
admin-providers-test = Test sign-in with { $provider }
admin-providers-test-hint = Runs a real sign-in in this browser and shows what came back. It creates no session; you stay signed in as yourself.
admin-col-subject = Subject
admin-col-expires = Expires
admin-col-fingerprint = SHA-256 fingerprint
admin-col-key = Condition key
admin-col-values = Values
admin-col-name = Name
admin-yes = yes
admin-no = no
admin-test-title = Test sign-in with { $provider }
admin-test-lead = This is what came back at { $when }. No session was created.
admin-test-identity = The identity Lanyard made of it
admin-test-subject = Subject
admin-test-username = Username
admin-test-email = Email
admin-test-groups = Groups
admin-test-mfa = second factor
admin-test-auth-time = Authenticated at
admin-test-name-id = NameID
admin-test-name-id-format = NameID format
admin-test-authn-context = AuthnContextClassRef
admin-test-authn-instant = AuthnInstant
admin-test-valid-until = Assertion valid until
admin-test-response-signed = Response signed
admin-test-assertion-signed = Assertion signed
admin-test-encrypted = Assertion encrypted
admin-test-alg = ID token algorithm
admin-test-kid = ID token key id
admin-test-signer = The certificate that signed it
admin-test-condition-keys = What trust policies see
admin-test-sent-saml = SAML attributes as sent
admin-test-sent-oidc = ID token claims as sent
admin-test-sent-identity = As sent
admin-test-userinfo = Userinfo claims as sent
admin-test-gone = This test sign-in's answer is gone: it is kept for 15 minutes, and only for the session that ran it. Run the test again from the identity providers page.
admin-test-continue = Test sign-in with { $provider }
admin-test-continue-lead = Your browser now goes to { $provider } to sign in. What it answers is shown to you here; no session is created.
admin-simulate-saml = Or a SAML response, base64 as posted or its XML (its signature is not checked)
admin-simulate-run-saml = Simulate this SAML response
admin-simulate-unverified-saml = The SAML response was read without verifying its signature, issuer, audience, times or replay: its attributes only feed this simulation and prove nothing.

## Adding and editing identity providers (admin_provider_new.html, admin_provider_inspected.html,
## admin_provider.html, admin_provider_delete.html, admin_provider_handover.html)

admin-provider-add = Add an identity provider
admin-provider-deleted = The identity provider { $provider } was deleted.
admin-provider-not-running = not running
admin-provider-edit = Edit
admin-provider-details = Details
admin-provider-step-one = Step 1 of 2: give the provider an id and say where Lanyard should read it from. Nothing is saved until step 2.
admin-provider-not-inspected-lead = Lanyard could not inspect it:
admin-provider-id = Provider id
admin-provider-id-hint = Used in URLs, in trust policies (Principal Federated) and in condition keys such as id:attribute. 1 to 64 characters of a-z, 0-9, - and _, starting with a letter.
admin-provider-saml = A SAML 2.0 identity provider
admin-provider-metadata-url = Its metadata URL
admin-provider-inspect-url = Inspect the metadata URL
admin-provider-metadata-xml = Or its metadata XML, pasted
admin-provider-inspect-xml = Inspect the pasted metadata
admin-provider-metadata-file = Or its metadata file, uploaded
admin-provider-metadata-file-hint = The XML file the IdP's admin gives you (at most { $kib } KiB).
admin-provider-inspect-file = Inspect the uploaded file
admin-provider-no-file = Choose the metadata file first, then press the button beside it.
admin-provider-file-not-text = { $file } is not a text file in UTF-8: upload the IdP's metadata XML.
admin-provider-file-not-xml = { $file } is not XML: upload the IdP's metadata XML.
admin-upload-too-large = The form is too large: a file may be at most { $kib } KiB. Nothing was read or saved.
admin-upload-unreadable = The form could not be read: it has a field or a file this page does not send. Nothing was read or saved.
admin-provider-oidc = An OpenID Connect provider
admin-provider-issuer = Issuer
admin-provider-issuer-hint = https:// (http:// only on a loopback address). Its discovery document and keys are fetched and checked now.
admin-provider-inspect-issuer = Check the discovery document
admin-provider-preset = A preset
admin-provider-preset-name = Provider
admin-provider-use-preset = Use this preset
admin-provider-pick-source = Press the button beside what Lanyard should inspect.
admin-provider-bad-id = A provider id is 1 to 64 characters of a-z, 0-9, - and _, starting with a letter.
admin-provider-id-taken = A provider with the id { $provider } exists already: choose another id, or edit that provider.
admin-provider-step-two = Step 2 of 2: check what Lanyard found, hand Lanyard's values to the provider's admin, then complete and save the provider.
admin-provider-found-saml = What the metadata says
admin-provider-accepted = Lanyard's SAML provider accepts this metadata.
admin-provider-refused = Lanyard's SAML provider would refuse this metadata as it is: see the problems below.
admin-provider-entity-id = Entity id
admin-provider-name-id-formats = NameID formats offered
admin-provider-wants-signed = Wants signed AuthnRequests
admin-provider-sso-endpoints = Single sign-on endpoints
admin-provider-binding = Binding
admin-provider-location = Location
admin-provider-certificates = Certificates
admin-provider-use = Use
admin-provider-found-oidc = What the provider says
admin-provider-discovery-checked = The discovery document and signing keys were fetched and checked just now.
admin-provider-preset-known = A preset: Lanyard knows its endpoints, so nothing was fetched.
admin-provider-discovery = Discovery document
admin-provider-algorithms = ID token algorithms Lanyard accepts from it
admin-provider-keys = Signing keys
admin-provider-handover = For the provider's admin
admin-provider-handover-saml = Give these to the IdP's admin (or just the SP metadata URL, to an IdP that reads it):
admin-provider-handover-oidc = Register this redirect URI for Lanyard's client at the provider:
admin-provider-sp-entity-id = Lanyard's SP entity id (the Audience)
admin-provider-acs = Assertion Consumer Service (HTTP-POST)
admin-provider-sp-metadata = Lanyard's SP metadata
admin-provider-redirect-uri = Redirect URI
admin-provider-form = The provider
admin-provider-id-changes = Lanyard's values above are for this id: they change with it.
admin-provider-display-name = Display name
admin-provider-client-id = Client id
admin-provider-client-secret = Client secret
admin-provider-secret-hint = Kept in the database and never shown again.
admin-provider-secret-again = Secrets are never shown: type the client secret again.
admin-provider-attributes = Attribute mapping
admin-provider-attributes-hint = The attribute names of each, several separated by commas and tried in order. Empty: Lanyard's defaults (the usual names of ADFS, Entra ID, eduPerson and LDAP).
admin-provider-claims = Claim mapping
admin-provider-claims-hint = The claim of each. Empty: preferred_username, email, groups and name.
admin-provider-save-new = Add the provider
admin-provider-start-again = Start again
admin-provider-title = Identity provider { $provider }
admin-provider-added = Added. Every Lanyard instance uses it within two seconds. Hand Lanyard's values below to the provider's admin, then run a test sign-in from the identity providers page.
admin-provider-saved = Saved. Every Lanyard instance uses it within two seconds.
admin-provider-stale = Someone changed this provider since you opened it.
admin-provider-kind = Kind
admin-provider-file-lead = This provider is defined in lanyard.toml: change it there (and reload), not here.
admin-provider-document = Provider document (JSON)
admin-provider-document-hint = The shape of a [[providers]] entry of lanyard.toml as JSON, without its id. Secrets read as ********: leave them so to keep the stored secret, or type a new one.
admin-provider-delete = Delete this provider…
admin-provider-back = Back to the identity providers
admin-provider-delete-title = Delete the identity provider { $provider }
# $provider is shown as code.
admin-provider-delete-heading = Delete the identity provider { $provider } ({ $name })?
admin-provider-delete-lead = Once it is deleted, nobody can sign in through it any more, on every Lanyard instance within two seconds. Sessions already begun last until they end: revoke them on the sessions page to end them now.
admin-provider-trusted-by-none = No role's trust policy admits identities of this provider.
admin-provider-trusted-by =
    { $count ->
        [one] This role trusts it, and admits nobody through it any more:
       *[other] These { $count } roles trust it, and admit nobody through it any more:
    }
admin-provider-delete-confirm = Delete the provider
admin-provider-none = There is no identity provider with the id { $provider }.
admin-provider-in-file = The identity provider { $provider } is managed in lanyard.toml and cannot be changed here.
admin-provider-stale-how = Your changes were not saved. The provider is now at version { $version }, shown below. Your text is still in the form: compare, then save again to replace that version.
admin-provider-delete-stale = The confirmation now shows its current version.

## Managed policies and OpenID clients (admin_policies.html, admin_policy*.html,
## admin_clients.html, admin_client*.html)
# $policy is a managed policy's name; $client an OpenID client's id; $roles a list of role
# names.

admin-nav-policies = Policies
admin-nav-clients = OpenID clients
admin-col-policy = Policy
admin-col-used-by = Used by
admin-policies-title = Managed policies
admin-policies-lead = The permission policies roles name (permission_policies, permissions_boundary). A change takes effect for every role that names the policy.
admin-policy-new = New policy
admin-policy-title = Policy { $policy }
# $policy is shown as code.
admin-policy-heading = Policy { $policy }
admin-policy-unused = no role
admin-policy-saved = Saved. Every Lanyard instance uses it within two seconds.
admin-policy-deleted = The policy { $policy } was deleted.
admin-policy-file-lead = This policy is defined in lanyard.toml: change it there (and reload), not here.
admin-policy-statements = Statements
# $roles is shown as code.
admin-policy-used-by = Used by the roles { $roles }.
admin-policy-used-by-none = No role uses this policy.
admin-policy-name = Name
admin-policy-bad-name = A policy's name is 1 to 64 letters, digits or + = , . @ _ -.
admin-policy-document = Policy document (IAM JSON)
admin-policy-document-hint = An IAM identity policy: Version and Statement, each statement with Effect, Action or NotAction, Resource or NotResource and an optional Condition. Problems are shown with their path, such as document.Statement[0].Effect.
admin-policy-not-json = The policy is not a JSON object: { $detail }
admin-policy-stale = Someone changed this policy since you opened it.
admin-policy-stale-how = Your changes were not saved. The policy is now at version { $version }, shown below. Your text is still in the form: compare, then save again to replace that version.
admin-policy-managed-in-file = The policy { $policy } is managed in lanyard.toml and cannot be changed here.
admin-policy-not-found = There is no policy named { $policy }.
# $policy and $roles are shown as code.
admin-policy-confirm-lead = The roles { $roles } use the policy { $policy }: whatever it no longer allows, people holding those roles lose at once, on every Lanyard instance.
admin-policy-delete = Delete this policy…
admin-policy-delete-title = Delete the policy { $policy }
# $policy is shown as code.
admin-policy-delete-heading = Delete the policy { $policy }?
admin-policy-delete-lead = No role uses it, so deleting it takes nothing from anyone. It cannot be undone; a policy of the same name can be created again.
admin-policy-delete-confirm = Delete the policy
# $policy is shown as code.
admin-policy-in-use-heading = The policy { $policy } is still in use
# $policy and $roles are shown as code.
admin-policy-in-use = The policy { $policy } cannot be deleted while roles name it: { $roles }. Remove it from their permission_policies or permissions_boundary first, then delete it. Nothing was deleted.
admin-policy-edit-role = Edit the role { $role }
admin-policy-back = Back to the policy { $policy }
admin-col-client = Client
admin-col-grant-types = Grant types
admin-col-secrets = Secrets
admin-col-created = Made
admin-col-works-until = Works until (UTC)
admin-clients-title = OpenID clients
admin-clients-lead = The applications that sign their users in through Lanyard, or get credentials of their own (client_credentials).
admin-client-new = New client
admin-client-title = Client { $client }
# $client is shown as code.
admin-client-heading = Client { $client }
admin-client-public = public, no secret
admin-client-confidential = confidential
admin-client-secrets-count =
    { $count ->
        [one] one secret in use
       *[other] { $count } secrets in use
    }
admin-client-saved = Saved. Every Lanyard instance uses it within two seconds.
admin-client-deleted = The client { $client } was deleted; its secrets no longer work.
admin-client-file-lead = This client is defined in lanyard.toml: change it there (and reload), not here.
admin-client-id = Client id
admin-client-id-hint = The client_id the application sends: 1 to 128 letters, digits or - _ . : (it cannot be changed later).
admin-client-bad-id = A client id is 1 to 128 letters, digits or - _ . :
admin-client-name = Name shown to people
admin-client-kind = Kind
admin-client-public-box = Public client (no secret; a browser or native app using PKCE)
admin-client-public-hint = A confidential client gets a secret generated by Lanyard, shown once after saving.
admin-client-redirect-uris = Redirect URIs
admin-client-post-logout-uris = Redirect URIs after sign-out
admin-client-lines-hint = One URI per line: https, http on a loopback address, or a reverse-domain scheme of a native app.
admin-client-allowed-roles = Allowed roles
admin-client-allowed-roles-hint = One role per line: the roles people may get for this application.
admin-client-machine-role = Machine role
admin-client-machine-role-hint = With client_credentials: the role the client itself gets. Its trust policy must allow the client's ARN.
admin-client-audience = Audience
admin-client-audience-hint = The aud of access tokens issued to it; its id when empty.
admin-client-access-lifetime = Access token lifetime
admin-client-refresh-lifetime = Refresh token lifetime
admin-client-lifetime-hint = A duration such as 15m, 1h or 8h; empty for the default.
admin-client-introspect = Tokens it may introspect
admin-client-introspect-own = its own (issued to it, or for its audience)
admin-client-introspect-any = any token Lanyard issued (a shared resource server)
admin-client-source-ip = Source address
admin-client-source-ip-box = Trust the client to report the address of the person it serves (aws:SourceIp in /v1/authorize)
admin-client-create = Create the client
admin-client-stale = Someone changed this client since you opened it.
admin-client-stale-how = Nothing was saved. The client is now at version { $version }. Your entries are still in the form: check the client's page in a new tab, then save again to replace that version.
admin-client-managed-in-file = The client { $client } is managed in lanyard.toml and cannot be changed here.
admin-client-not-found = There is no client with the id { $client }.
admin-client-public-no-secret = The client { $client } is public: it has no secret to replace.
admin-client-too-many-secrets = This client already has five secrets in use. Make a new one with no overlap to end the others now, or wait until their overlap ends.
admin-client-bad-overlap = The overlap is a number of seconds, at most 30 days (2592000).
# $client is shown as code.
admin-client-confirm-lead = This change to the client { $client } takes away:
admin-client-removes-secrets = it becomes public and its secrets stop working
admin-client-secrets-title = Secrets
admin-client-secrets-lead = The secrets that work now, by when they were made. Secrets are never shown again after they are made; only their hashes are kept.
admin-client-until-rotation = until the next new secret
admin-client-public-no-secrets = A public client has no secret.
admin-client-overlap = When a new secret is made, the previous ones keep working for
admin-client-overlap-hour = 1 hour
admin-client-overlap-day = 24 hours (the default)
admin-client-overlap-week = 7 days
admin-client-overlap-month = 30 days (the longest)
admin-client-overlap-none = no time: end the previous secrets now
admin-client-overlap-hint = The overlap lets the application switch to the new secret without an outage.
admin-client-rotate = Make a new secret
admin-client-rotate-confirm-title = End the previous secrets now?
# $client is shown as code.
admin-client-rotate-confirm-lead = The client { $client } gets a new secret, and every previous secret stops working at once: the application fails until it uses the new one.
admin-client-rotate-confirm = Make a new secret and end the others
admin-client-secret-title = The new secret of { $client }
# $client is shown as code.
admin-client-secret-heading = The new secret of the client { $client }
admin-client-secret-once = Copy it now: it will not be shown again. Lanyard keeps only its hash.
admin-client-secret-label = Client secret
admin-client-previous-until = The previous secrets keep working until { $when }.
admin-client-previous-ended = The previous secrets no longer work.
admin-client-secret-done = I have copied it: back to the client
admin-client-delete = Delete this client…
admin-client-delete-title = Delete the client { $client }
# $client is shown as code.
admin-client-delete-heading = Delete the client { $client }?
admin-client-delete-lead = The application can no longer sign people in or get tokens: its secrets stop working at once. Tokens already issued to it last until they expire.
admin-client-delete-confirm = Delete the client
