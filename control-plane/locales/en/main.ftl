# mtm's texts in English: the reference every other language follows.
# A key names one text; keep keys the same in every language's file.

## Layout and navigation
nav-vouchers = Vouchers
nav-batch = Batch
nav-overview = Overview
nav-alerts = Alerts
nav-reports = Reports
nav-after-sales = After-sales
nav-notifications = Notifications
nav-admin = Admin
nav-routers = Routers
nav-releases = Releases
nav-users = Users
nav-log-out = Log out
role-staff = staff
role-manager = manager
role-super_admin = super admin
lang-label = Language
lang-browser = Browser's language
lang-set = Set

## Words used on many pages
back = Back
back-to-vouchers = Back to vouchers
cancel = Cancel
none-yet = None yet.
none = None.
nothing-yet = Nothing yet.
yes = yes
no = no
never = never
all = all
col-time = Time
col-code = Code
col-package = Package
col-price = Price
col-state = State
col-location = Location
col-router = Router
col-agent = Agent
col-online = Online
col-last-seen = Last seen
col-when = When
col-what = What
col-who = Who
col-by = By
col-reason = Reason
col-refund = Refund
col-voucher = Voucher
col-staff = Staff
col-name = Name
col-kind = Kind
col-issued = Issued
col-used = Used
col-unused = Unused
col-expected = Expected
col-confirmed = Confirmed
col-variance = Variance
col-alerts = Alerts
col-version = Version
col-attempts = Attempts
col-last-error = Last error
col-alert = Alert
col-channel = Channel
reason = Reason
note = Note
size-58 = 58 mm
size-80 = 80 mm
unit-days = { $n } d
unit-hours = { $n } h
unit-minutes = { $n } min
unit-under-a-minute = less than a minute

## Voucher states
state-issued = issued
state-applied = on the router
state-in_use = in use
state-used_up = used up
state-expired = expired
state-disabled = disabled
state-removed = removed
state-unused = unused
token-sent = sent to router
token-waiting = waiting for router
token-active = active on router
token-offline-note = The router is offline; the voucher will be created when it reconnects.

## Log in
login-title = Log in
login-username = Username
login-password = Password
login-ended = Your session has ended (it expired, you logged out, or an admin ended it). Log in again to go on.
login-wrong = Wrong username or password.
login-too-many = too many attempts; try again later
login-busy = the server is busy; try again in a moment
login-foreign = This login did not come from this site's own page.

## Error pages
error-back = Back to your start page
error-expired-title = This form has expired
error-expired-advice = The page was open too long or from an older login. Reload it and send the form again.
error-forbidden-title = Not allowed
error-forbidden-advice = Your account's role does not allow this page. Ask a manager or the administrator if you need it.
error-not-found-title = Not found
error-not-found-advice = There is nothing at this address, or it is not yours to see. The link may be old or mistyped.
error-internal-title = Something went wrong
error-internal-advice = The server could not finish this and has logged why. Try again; if it keeps happening, tell your administrator the time it happened.

## Counter: clock in, sell, clock out
clock-in = Clock in
clock-in-intro = Count the cash in the drawer and clock in to start selling vouchers.
opening-float = Opening float
sell-title = Sell a voucher
sell-shift-open = Shift open since { $since } UTC · today: { $count } vouchers, { $revenue }
sell-no-packages = No packages yet. Ask an admin to create one.
sell-my-vouchers = My vouchers today
clock-out = Clock out
clock-out-cash = Cash in the drawer now

## One voucher
voucher-title = Voucher { $code }
voucher-password = Password
voucher-mac-bound = Locked to device { $mac }
voucher-mac-unbound = Locks to the first device that logs in with it
voucher-qr-login = QR code to log in
voucher-log-in-at = Log in at { $url }
voucher-print-58 = Print 58 mm
voucher-after-sales = After-sales: void, replace, extend, reprint, disable

## Printed vouchers
print-title-one = Print voucher { $code }
print-title-many = Print { $n } vouchers
print-now = Print
print-made = { $n } of { $asked } vouchers made.
print-reprint = REPRINT { $n }
print-qr-check = QR code to check the time and data left
print-scan-check = Scan to see your time and data left
print-issued = Issued { $time } UTC

## Customer self-check
check-title = Your Wi-Fi voucher
check-time-left = Time left
check-data-left = Data left
check-valid-until = Valid until
check-unused = Not used yet: your time starts at your first login.
check-as-of = As of the router's last report; it may be a few minutes behind.
check-invalid = This code does not work: it may be mistyped, or used up or expired. Ask at the counter.
check-limited = Too many checks from this network. Try again in a few minutes.
check-code = Voucher code
check-submit = Check
check-from-first-login = { $duration } from your first login
check-no-end = no end date
check-no-limit = no limit

## Alerts and their words
severity-critical = critical
severity-warning = warning
severity-info = info
alert-state-open = open
alert-state-acknowledged = acknowledged
alert-state-resolved = resolved
al-open = Open
al-acknowledged = Acknowledged
al-resolved = Resolved
al-all = All
al-shown = Alerts { $first } to { $last } of { $total } are shown; the CSV has every one.
al-who-on_duty = on duty
al-who-staff = staff
al-nobody = nobody clocked in
al-evidence = Evidence
al-note-by = Note ({ $who })
al-note-required = Write a note to resolve an alert: what was found or done.
al-note-placeholder = Note (required to resolve)
al-acknowledge = Acknowledge
al-resolve = Resolve
al-none = No alerts here.

## Routers overview
col-sessions = Sessions
col-pending-commands = Pending commands
no-routers = No routers enrolled.
latest-vouchers = Latest vouchers
intact = intact

## After-sales
as-title = After-sales: voucher
as-sold = sold { $at }
as-now = now
as-printed-again = printed again { $n }×
as-reprint = Reprint
as-reprint-help = Same code, marked as a reprint on the ticket.
as-reprint-example = printer jammed
as-extend = Extend
as-minutes-to-add = Minutes to add
as-mb-to-add = Megabytes to add
as-extend-example = connection dropped for 20 minutes
as-disable = Disable
as-disable-help = Stops it on the router and logs its sessions out, until enabled again.
as-enable = Enable
as-replace = Replace
as-replace-help = Removes this voucher from the router and makes a new one of the same package; the sale moves to the new voucher.
as-replace-example = customer cannot log in
as-void = Void
as-void-help = Removes it from the router for good. Cash handed back is recorded as a refund against your till
as-void-help-staff = ; above the location's limit a manager must approve it first
as-void-example = customer changed their mind
as-history = History
as-new-voucher = new voucher
as-back = Back to the voucher
as-kind-void = void
as-kind-replace = replace
as-kind-extend = extend
as-kind-reprint = reprint
as-kind-disable = disable
as-kind-enable = enable
as-state-requested = requested
as-state-done = done
as-state-rejected = rejected
as-waiting = Refunds waiting for approval
as-asked = Asked
as-note-placeholder = note
as-approve = Approve
as-reject = Reject
as-recent = Recent
as-notice-requested = The refund is above what you may hand back alone: a manager has been asked to approve it.
as-notice-done = Done. The router gets the change at once (or when it is back online).
as-give-reason = Give a reason: it goes into the audit log.

## Notification channels
nt-intro = New alerts reach these channels within seconds, each once, retried when the receiver is down. Webhooks are signed:
nt-created = Channel “{ $name }” added. Its signing secret, shown only now:
nt-target = Target
nt-from-severity = From severity
nt-daily-report = Daily report
nt-remove = Remove
nt-no-channels = No channels yet.
nt-add-title = Add a channel
nt-kind-webhook = Webhook (signed JSON; Slack, WhatsApp gateways, your own)
nt-kind-telegram = Telegram bot
nt-kind-ntfy = ntfy topic
nt-kind-email = E-mail
nt-target-help = Target (webhook URL; Telegram: https://api.telegram.org/bot<token>; ntfy: https://ntfy.sh/<topic>; e-mail: the address)
nt-chat-id = Telegram chat id (Telegram only)
nt-dead-report = daily report { $date }
nt-also-daily = Also the daily report summary of the location(s)
nt-add = Add channel
nt-failed = Failed for good

## Manager overview
mg-all-today = All locations today
mg-daily-reports = Daily reports
mg-routers-online = routers online
mg-offline = { $n } offline
mg-users-online = users online now
mg-vouchers-today = vouchers today ({ $used } used, { $unused } unused)
mg-expected-confirmed = expected, { $confirmed } confirmed
mg-open-alerts = open alerts
mg-routers-on-off = Routers on/off
mg-users-now = Users now
mg-no-locations = No locations yet.
mg-updated = Updated { $time } UTC; refreshes every 5 s.

## One location or staff member today
md-today = { $title }: today
md-all-locations = All locations
md-vouchers = vouchers ({ $used } used, { $unused } unused)
md-expected = expected
md-confirmed = confirmed at clock-out
md-not-counted = not yet counted
md-variance = cash variance (closed shifts)
md-nobody-sold = Nobody has sold anything today.
md-raised = Raised
md-no-staff-alerts = No alerts point at this staff member.
md-open-shifts = Open shifts
md-opened = Opened
md-open-for = Open for
md-float = Float
md-forgotten = forgotten?
md-close-for-staff = Close for staff
md-no-open-shifts = No open shifts.
md-shifts = Shifts
md-closed = Closed
md-still-open = open
md-expected-cash = Expected cash
md-declared = Declared
md-no-shifts = No shifts today.
md-none-today = None today.
chart-issued-per-hour = Vouchers issued per hour
chart-traffic = Traffic of those vouchers (MB)
chart-max = max { $max }

## Daily reports
rp-title = Daily reconciliation reports
rp-show = Show
rp-day = Day
rp-check = Check
rp-signed-off = Signed off
rp-altered = altered
rp-not-yet = not yet
rp-none = No reports yet: a location's report is made after its day closes.
rp-report = Report { $date }
rp-all = All reports
rp-altered-warning = This report no longer matches its hash: it was altered after it was made.
rp-issued = issued ({ $applied } on routers, { $not_applied } never applied)
rp-used = used ({ $used_up } used up, { $expired } expired, { $unused } unused)
rp-variance = cash variance
rp-open-shifts = { $n } shift(s) still open
rp-alerts = alerts that day
rp-as-counts = { $voided } voided, { $replaced } replaced, { $extended } extended, { $reprinted } reprinted, { $disabled } disabled, { $enabled } enabled; { $refunded } refunded
rp-as-moved = { $moved } moved to replacements
rp-as-requested = { $n } refund(s) waiting for a manager
rp-as-rejected = { $n } refused
rp-signed-off-by = Signed off by { $who } at { $time } UTC
rp-what-checked = What you checked
rp-sign-off = Sign off
rp-whole = The whole report

## Closing a shift for staff
cs-title = Close shift
cs-heading = Close { $staff }'s shift
cs-opened = Opened at { $time } UTC with a float of { $float }
cs-closed-already = closed already
cs-help = Count the drawer and enter what is in it: the variance is computed as at a clock-out, a drawer off by more than the location's threshold raises an alert, and your note goes to the audit log.
cs-cash-counted = Cash counted
cs-note = Note (required)
cs-close = Close the shift

## Batch of vouchers
batch-title = Batch of vouchers
batch-heading = Batch for pre-printed stock
batch-clock-in-first = Clock in first on the
batch-vouchers-page = vouchers page
batch-help = Each voucher is issued and sent to the router like one sold at the counter, and counts toward this shift's cash.
batch-how-many = How many (1 to { $max })
batch-make = Make and print
batch-page-title = Batch of { $n } vouchers
batch-on-router = { $on } of { $total } on the router
batch-all-on-router = All { $total } vouchers are on the router.
batch-print = Print
batch-print-help = Each part prints as A4 sheets or as strips for a thermal receipt printer.
batch-part = Vouchers { $from } to { $to }
batch-print-a4 = A4 sheets
print-part = Vouchers { $from } to { $to } of { $total }

## Admin home
ad-routers-link = Routers, locations, packages
ad-database = Database
ad-size = Size
ad-connections = Connections
ad-agents-online = Agents online
ad-commands-open = Commands not yet confirmed
ad-rows = { $n } rows
ad-chains = Audit log and token ledger
ad-chain = Chain
ad-rows-col = Rows
ad-result = Result
ad-broken-at = broken at row { $row }
ad-verify = Verify the chains
ad-settings = System settings
ad-settings-help = Set in the server's configuration file or MTM_* variables (see control-plane/README.md); per-location settings are on each location's settings page.
ad-mqtt = MQTT for agents
ad-public-key = Control-plane public key
ad-code-length = Voucher code length
ad-login-url = Hotspot login URL on vouchers
ad-not-set = not set
ad-secure-cookies = Secure cookies and HSTS (behind TLS)
ad-on = on
ad-off = off
ad-dead-title = Notifications that failed for good
ad-dead-help = Deliveries whose receiver refused or could not be reached after every retry (newest 20). All of them:

## Routers, locations, packages
ar-title = Routers and agents
ar-enrolled = Router { $name } enrolled
ar-copy-password = Copy this now: the password is shown only once.
ar-mqtt-user = MQTT username (agent id)
ar-mqtt-password = MQTT password
ar-broker = Broker
ar-code-for = Enrollment code for { $router }
ar-copy-code = Copy this now: the code is shown only once.
ar-on-device = On the device:
ar-agent-id = Agent id
ar-expires = Expires
ar-catalog-now = Catalog version now:
ar-catalog = Catalog
ar-pending = Pending
ar-overrides = Overrides
ar-none = none
ar-behind = behind
ar-disable-all = Disable all
ar-logout-all = Log out all
ar-revoke = Revoke
ar-enrollment-code = Enrollment code
ar-enroll-title = Enroll a router
ar-public-key-help = Agent public key (hex); leave empty to enroll the device with a one-time code (the router's Enrollment code button)
ar-enroll = Enroll
ar-locations = Locations
ar-frozen-by = dispensing frozen by { $who }
ar-allow-dispensing = Allow dispensing
ar-freeze = Freeze dispensing
ar-settings = Settings
ar-time-zone = Time zone
ar-add-location = Add location
ar-packages = Packages
ar-slug = Slug
ar-data = Data
ar-rate = Rate
ar-shared = Shared
ar-valid = Valid
ar-on-sale = on sale
ar-retired = retired
ar-edit = Edit
ar-slug-help = Slug (letters, digits, dashes)
ar-price-help = Price (in currency units, e.g. 5.00)
ar-currency = Currency (ISO 4217)
ar-add-package = Add package and push to every router

## Audit log and event log
log-audit = Audit log
log-events = Event log
log-events-ledger = Event log (token ledger)
log-time = Time (UTC)
log-event = Event
log-action = Action
log-token = Token
log-target = Target
log-detail = Detail
log-nothing = Nothing recorded.
log-newer = Newer
log-older = Older

## One package
pk-title = Package { $name }
pk-profile = Profile
pk-help = prices in { $currency }. Saving pushes the catalog to every router;
pk-routers-page = the routers page
pk-help-end = shows which carry it. Vouchers already sold keep the price they were sold at.
pk-time-limit = Time limit (minutes)
pk-data-limit = Data limit (MB)
pk-rate-limit = Rate limit (e.g. 2M/5M)
pk-shared-users = Shared users
pk-valid-for = Valid for (hours after first login)
pk-lock-to-mac = Lock to first device (each voucher sold from now on works only on the device that first logs in with it)
pk-on-sale = On sale (untick to retire)
pk-save = Save and push to every router

## Location settings
lo-title = { $name } settings
lo-settings = settings
lo-cash-threshold = Cash variance that raises an alert
lo-cash-threshold-zero = 0: any difference
lo-refund-approval = Voucher refunds staff may hand back without a manager
lo-refund-approval-zero = 0: every refund needs one
lo-close-time = Daily close time (HH:MM, local)
lo-time-zone = Time zone (e.g. Africa/Lagos, or +03:00)
lo-save = Save

## Confirming a drastic action
cf-title = Confirm
cf-help = This takes effect at once and is recorded in the audit log under your name.
cf-type = Type
cf-to-confirm = to confirm
cf-router = Router
cf-location = Location
cf-disable-all = Disable every voucher on this router
cf-logout-all = Log out everyone on this router
cf-revoke = Revoke this router's agent
cf-freeze = Freeze dispensing at this location
cf-thaw = Allow dispensing again at this location
cf-name-mismatch = The typed name does not match; nothing was done.
cf-word-and-reason = Type the word shown and give a reason; nothing was done.

## Agent releases
rl-title = Agent releases
rl-roll-out = Roll out { $version }
rl-release = Release
rl-for = for
rl-goes-to = goes to
rl-percent-of = { $percent }% of routers:
rl-routers = router(s).
rl-confirm-help = Each is sent an update command at once, or when it reconnects. This is recorded in the audit log under your name.
rl-none-in-percent = No router falls in this percentage yet.
rl-signed-offline = Releases are signed offline with
rl-no-key-held = the server never holds the release key.
rl-checked = Uploads are checked against the release public key in
rl-unchecked = The server has no release public key
rl-unchecked-end = so it stores uploads unchecked; every agent checks the signature before installing.
rl-versions-only = Routers report their agent version but not their target, so the counts below compare versions only.
rl-bytes = { $n } bytes
rl-uploaded-col = Uploaded
rl-uploaded-by = { $when } by { $who }
rl-counts = { $current } run it · { $older } run an older version · { $unknown } unknown, of { $routers }
rl-behind = Behind
rl-version-unknown = version unknown
rl-offline = offline
rl-commands = Rollout commands
rl-not-rolled-out = Not rolled out yet.
rl-percent-label = Percent of routers (1–100)
rl-agents-label = or agent ids, separated by commas or spaces
rl-roll-out-button = Roll out…
rl-no-releases = No releases uploaded yet.
rl-upload-title = Upload a release
rl-binary = Agent binary
rl-version-label = Version (MAJOR.MINOR.PATCH)
rl-target = Target
rl-signature = Signature (hex,
rl-from = from
rl-upload = Upload
rl-uploaded = Release { $version } uploaded.
rl-rolling-out = Release { $version } is rolling out.
rl-version-mismatch = The typed version does not match; nothing was done.

## Users
us-user = User
us-role = Role
us-locations = Locations
us-change = Change
us-active = active
us-end-sessions = End sessions
us-new-password = New password
us-new-password-for = New password for { $name }
us-reset-password = Reset password
us-location-of = Location of { $name }
us-language-of = Language of { $name }
us-none = none
us-set-location = Set location
us-set-language = Set language
us-new-user = New user
us-password-help = Password (at least 8 characters)
us-create = Create
us-created = User { $name } created.
us-sessions-ended = Ended { $n } session(s) of { $name }.
us-updated = User { $name } updated.
us-not-yourself = You cannot disable your own account.

## Alert kinds
alert-kind-rogue_token = Rogue voucher
alert-kind-tampered_token = Altered voucher
alert-kind-reused_token = Reused voucher
alert-kind-cash_short = Cash short
alert-kind-cash_over = Cash over
alert-kind-dispense_outside_shift = Sold outside a shift
alert-kind-dispense_wrong_location = Sold at another location
alert-kind-router_silent = Router silent
alert-kind-witness_mismatch = Checkpoint witness disagrees

## Alert summaries (arguments as raised; $router is the router's agent id)
alert-msg-tampered = voucher { $code } on router { $router } differs from the ledger: { $fields }
alert-msg-rogue-user = hotspot user { $user } on router { $router } was not issued by mtm ({ $reason })
alert-msg-rogue-session = session of { $user } on router { $router } has no issued voucher ({ $reason })
alert-msg-rogue-logged = router { $router } logged a session of { $user }, which mtm did not issue ({ $reason })
alert-msg-rogue-in-use = hotspot user { $user } on router { $router } is in use but was not issued by mtm ({ $reason })
alert-msg-counters-reset = voucher { $code } had its counters reset on router { $router }
alert-msg-beyond-package = voucher { $code } was used beyond its package { $package }
alert-msg-beyond-validity = voucher { $code } was used after its validity window closed
alert-msg-after-end = voucher { $code } was used on router { $router } after it was { $state }
alert-msg-cash-short = cash short by { $amount } at shift close
alert-msg-cash-over = cash over by { $amount } at shift close
alert-msg-dispense-no_open_shift = sale refused: no open shift
alert-msg-dispense-shift_at_other_location = sale refused: the shift is at another location
alert-msg-dispense-not_a_location_of_staff = sale refused: the staff member does not work at this location
alert-msg-router-silent = router { $router } silent for { $seconds } s during an open shift
alert-msg-router-never-reported = router { $router } has never reported, during an open shift
alert-msg-witness-missing = { $chain }: rows { $from }–{ $to } missing: the database ends at row { $last }, but a checkpoint signed { $signed } ({ $source }) counts { $to } rows; cut short, or rolled back to an older backup
alert-msg-witness-missing-older = { $chain }: rows { $from }–{ $to } missing: the database ends at row { $last }, but a checkpoint signed { $signed } ({ $source }) counts { $to } rows; its head is the one witnessed at { $older }: restored from a backup of then?
alert-msg-witness-forked = { $chain }: history forked at or before row { $row }: the database's row hashes to { $found }…, but a checkpoint signed { $signed } ({ $source }) says { $said }…
alert-msg-witness-unverified = a checkpoint from { $source } is not believed: { $why }
alert-duty-nobody = with nobody clocked in
alert-duty-one = while { $name } was on shift
alert-duty-many = while { $names } were on shift
alert-reason-no_mtm_comment = no mtm comment
alert-reason-malformed_mtm_comment = malformed mtm comment
alert-reason-unknown_token = unknown voucher
alert-reason-code_mismatch = another voucher's code
alert-reason-token_for_another_router = voucher of another router
alert-reason-trial_session = trial login
alert-reason-session_without_user = session without a user
alert-reason-seen_in_router_log = seen in the router's log

## Refusals of typed input (shown over the form; the API answers the English)
err-in-field = { $field }: { $error }
err-no-location = you belong to no location
err-choose-location = choose a location
err-clock-in-first = clock in first: no open shift at your location
err-batch-count = count must be between 1 and { $max }
err-not-a-currency = "{ $code }" is not an ISO 4217 currency code (e.g. USD, KES, XOF)
err-whole-number = type a whole number
err-whole-number-up-to = type a whole number up to { $max }
err-shift-already-open = your shift is already open
err-zone-bad-name = time zone "{ $name }" is not UTC, a fixed offset like +01:00, or a name like Africa/Lagos
err-zone-unknown = time zone "{ $name }" is not in the zone database
money-empty = enter an amount
money-not-a-number = "{ $text }" is not an amount: type digits with a point for decimals, e.g. { $example }
money-too-many-decimals = { $currency } has { $max } decimal place(s); "{ $text }" has more
money-negative = the amount cannot be negative
money-too-large = the amount is too large

## Refusals of forms: releases, enrollment, reports, after-sales, channels, the store
err-username-length = a username has 1 to { $max } characters
err-username-characters = a username uses only letters a-z, digits and ASCII punctuation (no spaces)
err-password-length = a password has { $min } to { $max } characters
err-password-spaces = a password cannot be only spaces
err-password-run = a password cannot be one repeated character or a keyboard run
err-password-common = that password is one of the most common ones; choose another
err-password-username = a password cannot be the username
err-alert-note-required = a note is required to resolve
err-alert-resolved = alert is already resolved
err-unknown-action = unknown action
err-as-reason = give a reason
err-as-reason-long = the reason is longer than { $max } characters
err-as-refund-only-void = only a void hands money back
err-as-extension-too-large = that extension is too large
err-as-extend-nothing = add some time or data
err-as-replace-code = a replacement needs a new code
err-as-refund-above-price = the refund is more than the voucher was sold for
err-as-note-long = the note is longer than { $max } characters
err-as-decided = this request was already decided
err-as-no-time-limit = this voucher has no time limit to extend
err-as-no-data-limit = this voucher has no data limit to extend
err-as-router-not-enrolled = the voucher's router is not enrolled (enroll it, or replace the revoked one)
err-approve-or-reject = approve or reject
err-enroll-ttl = ttl_s must be between { $min } and { $max }
err-revoke-broker = revoked in mtm (its messages are refused), but the broker did not remove its login: { $reason }; revoke again once the broker answers
err-router-broker-login = router { $router } was created, but the MQTT broker did not take its login: { $reason }; enroll it with a one-time code once the broker answers
err-channel-name = give the channel a name of at most 100 characters
err-channel-kind = kind must be webhook, telegram, ntfy or email
err-channel-email = an e-mail channel needs one e-mail address
err-channel-url = the target must be a URL
err-channel-http-url = the target must be an http(s) URL of at most 2000 characters
err-channel-chat-id = a Telegram channel needs the chat id
err-channel-severity = the lowest severity must be info, warning or critical
err-channel-location = no such location
err-date = date out of range
err-form-too-large = form too large
err-unknown-language = unknown language "{ $code }"
err-frozen = dispensing is frozen at this location by an admin: { $reason }
err-release-key-file = { $file } in the releases folder does not hold a public key (hex)
err-release-empty = empty binary
err-release-version = version "{ $version }" is not MAJOR.MINOR.PATCH
err-release-target = target must be like aarch64-linux
err-release-signature-hex = signature_hex must be 64 bytes of hex
err-release-bad-signature = the signature does not verify against the release key: sign this binary with this version and target
err-release-no-agent = no router with agent id "{ $agent }"
err-release-percent-or-agents = give either percent (1-100) or a non-empty agent_ids
err-upload-unreadable = the upload could not be read: { $reason }
err-upload-choose-binary = choose the agent binary to upload
err-rollout-percent = the percentage must be a whole number from 1 to 100
err-rollout-either = give either a percentage or agent ids, not both or neither
err-close-time = close time must be HH:MM (00:00-23:59), got "{ $time }"
err-report-not-intact = this report does not match its hash
err-report-signed-off = the report is signed off already
err-not-your-location = you do not belong to this location
err-no-open-shift = no open shift
err-no-enrolled-router = this location has no enrolled router (enroll it, or replace the revoked one)
err-close-shift-why = say why the shift is closed for the staff member
err-shift-closed = the shift is closed already
err-user-exists = user already exists (as { $existing })
err-agent-id = agent id must be 1-64 ASCII letters, digits, - or _
err-key-format = a key must be 64 hex characters
err-key-invalid = not a valid ed25519 public key
err-package-fields = package needs a slug (a-z, 0-9, -), a name, a price >= 0 and a 3-letter currency
err-package-name = a package needs a name (up to { $max } characters)
err-shared-users-range = must be from 1 to { $max }
err-text-too-long = longer than { $max } characters
err-amount-range = must be between 0 and { $max } in minor units (cents)
err-duration-range = must be at most ten years
err-data-range = must be at most one petabyte (1,000,000,000 MB)
err-amounts-overflow = the amounts add up beyond what can be counted
err-location-fields = name and timezone required
err-exists-user = user already exists
err-exists-user-location = user location already exists
err-exists-router = router already exists
err-exists-package = package already exists
err-exists-location = location already exists
err-exists-enrollment-code = enrollment code already exists
noun-user = user
noun-user-location = user location
noun-router = router
noun-package = package
noun-location = location
noun-enrollment-code = enrollment code
err-refers-to-nothing = { $what } refers to something that does not exist
err-as-not-allowed = { $kind ->
        [void] a voucher that is { $state } cannot be voided
        [replace] a voucher that is { $state } cannot be replaced
        [extend] a voucher that is { $state } cannot be extended
        [reprint] a voucher that is { $state } cannot be reprinted
        [disable] a voucher that is { $state } cannot be disabled
       *[enable] a voucher that is { $state } cannot be enabled
    }

## E-mails and notices
mail-kind = kind
mail-severity = severity
mail-location = location
mail-router = router
mail-raised-at = raised at
mail-alert-id = alert id
mail-alert-open = Open /manager/alerts to acknowledge it.
mail-report-tag = mtm report
mail-report-id = report id
mail-report-open = Open { $path } to read and sign it off.
mail-report-summary = Daily report { $date }, { $location }: { $vouchers ->
        [one] { $vouchers } voucher
       *[other] { $vouchers } vouchers
    }, { $expected } expected, cash variance { $variance }, { $alerts ->
        [one] { $alerts } alert
       *[other] { $alerts } alerts
    }
mail-report-unreadable = Daily report { $date } (open it to read the figures)
mail-ntfy-report = mtm daily report
mail-ntfy-alert = mtm { $severity } alert

# Pages of a long list.
page-next = Next page
page-previous = Previous page
md-vouchers-shown = Vouchers { $first } to { $last } of { $total } are shown; the CSV has every one.
