# Access requests (elevation with approval, issue 17), in English: the role picker's
# "Request access" forms, /requests and /requests/{id}.
#
# Placeables: $role (a role's name), $who (a person's name), $until and $when (a time, UTC),
# $length (a length of time in words).

## The role picker (roles.html, role_rows.html)

requests-picker-heading = Roles that need approval
requests-picker-lead = Someone else approves these for a while: say how long you need one and why.
requests-picker-all = All your access requests
requests-picker-none-granted = No role is available to you right now without an approval.
requests-picker-unavailable = Your access requests cannot be read right now; try again in a moment.
requests-picker-approved-until = Approved: your session ends by { $until } at the latest.
requests-picker-approved = Approved until { $until }: choose it in the list above.
requests-waiting = Waiting for approval
requests-see-request = See your request for { $role }
requests-see-open = See the open request
requests-request-access = Request access
requests-break-glass-only = Break-glass role: you approve this request yourself, a reason is required, and everyone responsible is notified at once.
requests-approvals-needed =
    { $count ->
        [one] One person must approve it.
       *[other] { $count } different people must approve it.
    }
requests-field-duration = How long you need it
requests-field-reason = Why you need it
requests-field-reason-optional = Why you need it (optional)
requests-field-ticket = Ticket
requests-field-ticket-optional = Ticket (optional)
# $pattern is shown as code.
requests-ticket-hint = The whole reference must match { $pattern }.
requests-ticket-hint-any = A ticket or incident reference, if there is one.
requests-field-break-glass = Break-glass: approve it myself now (everyone responsible is notified, and the audit trail marks it)
requests-submit = Request access

## Problems with a request form

requests-error-form = The request could not be made. Check the fields and send it again.
requests-error-duration = Choose a length between { $min } and { $max }.
requests-error-reason-required = Say why you need this role.
requests-too-long = That text is too long: at most { $max } characters.
requests-error-ticket = The ticket must match { $pattern }.
requests-error-break-glass = This role does not allow break-glass access: ask for an approval instead.
requests-error-open = You have an open request for this role already.

## The list (requests.html, request_lines.html)

requests-title = Access requests
# $who is shown in bold.
requests-lead = Signed in as { $who }. Your own requests, and the requests you may decide on.
requests-to-picker = Back to your roles
requests-how-to-ask = To ask for a role, use its "Request access" form on the role picker.
requests-filter = Filter
requests-filter-clear = Show every request
requests-filter-any-state = Any state
requests-filter-any-role = Any role
requests-to-decide = Requests you may decide on
requests-none-to-decide = No request waits for you.
requests-mine = Your requests
requests-none-mine = You have made no access request.
requests-col-role = Role
requests-col-requester = Requested by
requests-col-reason = Reason
requests-col-length = Length
requests-col-state = State
requests-col-created = Requested at
requests-break-glass = break-glass
requests-state-pending = Waiting for approval
requests-state-approved = Approved
requests-state-used = Approved, in use
requests-state-denied = Denied
requests-state-expired = Expired
requests-state-revoked = Withdrawn or revoked

## One request (request.html)

request-title = Access request for { $role }
# $role is shown as code.
request-heading = Access request for { $role }
# $who is shown in bold, $role as code.
request-lead = { $who } asks for the role { $role } for { $length }.
request-break-glass = Break-glass: the requester approved this request themself. Check that it was needed.
request-none-given = none given
request-ticket = Ticket
request-decide-by = Expires unless decided by
request-window = Approved window
request-window-span = from { $from } until { $until }
request-closed-by = Closed by
requests-approvals-count = ({ $given } of { $needed } approvals)
request-decisions = Decisions
request-no-decisions = Nobody has decided yet.
# $who is shown in bold.
request-decision-approved = { $who } approved, { $when }
# $who is shown in bold.
request-decision-denied = { $who } denied, { $when }
request-allows = What the role allows
request-allows-nothing = The role has no permission policy: it allows nothing.
# $policy is shown as code.
request-policy = Policy { $policy }
# $policy is shown as code.
request-boundary = Permissions boundary { $policy } (an upper bound: it grants nothing by itself)
request-allow = Allows
request-deny = Denies
request-actions = the actions
request-every-action-but = every action except
request-resources = on
request-every-resource = on every resource
request-every-resource-but = on every resource except
request-when = only when
request-decide = Your decision
request-decide-step-up = You will be asked to confirm your second factor first.
request-comment = Comment (optional)
request-approve = Approve
request-deny-button = Deny
request-own-waiting = This is your own request: somebody else decides on it. You will be notified through your team's channel; this page shows the decision.
request-assume = Choose the role on the role picker
request-revoke-heading = Revoke the approval
request-revoke-reason = Why (optional)
request-revoke = Revoke
request-withdraw = Withdraw this request
requests-back = Back to the access requests
requests-done-requested = Your request was sent to the approvers.
requests-done-approved = You approved this request.
requests-done-denied = You denied this request.
requests-done-withdrawn = The request was withdrawn.
requests-done-revoked = The approval was revoked.
requests-done-confirmed = Your second factor is confirmed: you can decide now.

## Refusals

requests-not-found-title = No such access request
requests-not-found = There is no access request at this address. Your requests and the ones you may decide on are listed under Access requests.
requests-unavailable-title = Access requests are unavailable
requests-no-database = Access requests need Lanyard's database, which this installation does not use. Ask an administrator.
requests-unavailable = Access requests cannot be read or changed right now. Nothing was changed; try again in a moment.
requests-refused-title = Not possible
requests-own-request = You cannot approve or deny your own request: somebody else must decide on it.
requests-not-approver = You may not see or decide on requests for this role.
requests-not-requester = Only the person who made a request can withdraw it.
requests-already-decided = You have decided on this request already. Another approver must add theirs.
requests-closed-title = This request is closed
requests-closed = This request cannot be changed any more. Its state: { $state }.
requests-not-requestable = The role "{ $role }" cannot be requested by you.
requests-unknown-action = That form asked for nothing this page does. Go back to the request and use its buttons.

## Step-up for a decision (step_up_code.html, step_up_continue.html)

# $role and $who are shown in bold.
step-up-code-lead-request = Deciding on the access request for { $role } needs a recent second factor. Enter the current one-time code of { $who } from your authenticator app ({ $provider }).
# $role is shown in bold.
step-up-continue-lead-request = Deciding on the access request for { $role } needs a recent second factor. Your browser now takes you to { $provider } to sign in again with one; then you come back to the request.
step-up-cancel-request = Back to the request, without deciding
