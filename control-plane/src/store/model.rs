//! The records the store reads and writes. Times are unix milliseconds (UTC), money minor units.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a user may do; every route names the roles it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users, routers and packages.
    SuperAdmin,
    /// Dashboards and reports for all locations.
    Manager,
    /// Dispensing at their own locations only.
    Staff,
}

impl Role {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SuperAdmin => "super_admin",
            Role::Manager => "manager",
            Role::Staff => "staff",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "super_admin" => Some(Role::SuperAdmin),
            "manager" => Some(Role::Manager),
            "staff" => Some(Role::Staff),
            _ => None,
        }
    }
}

/// A user to create; the password is hashed with argon2id by the store.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    /// Login name, unique.
    pub username: String,
    /// Plain password (hashed before storing, never logged).
    pub password: String,
    /// Role.
    pub role: Role,
    /// Locations the user belongs to (staff dispense only there).
    #[serde(default)]
    pub location_ids: Vec<Uuid>,
}

/// A user as the rest of the system sees it (no password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    /// Id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// A disabled user cannot log in and loses all sessions.
    pub disabled: bool,
    /// Locations the user belongs to.
    pub location_ids: Vec<Uuid>,
    /// The language they chose (`en`, `fr`, `sw`); `None` follows their browser.
    pub language: Option<String>,
    /// Created at.
    pub created_at: i64,
}

/// A location to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewLocation {
    /// Display name, unique.
    pub name: String,
    /// IANA time zone name, e.g. `Africa/Lagos`.
    pub timezone: String,
}

/// A cafe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Location {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// IANA time zone name.
    pub timezone: String,
    /// Created at.
    pub created_at: i64,
}

/// A router (and its agent) to enroll.
#[derive(Debug, Clone)]
pub struct NewRouter {
    /// Where it stands.
    pub location_id: Uuid,
    /// Display name.
    pub name: String,
    /// The agent's id: its MQTT username and envelope `from`.
    pub agent_id: String,
    /// The agent's ed25519 public key, hex.
    pub public_key_hex: String,
    /// The agent's MQTT password (stored hashed).
    pub mqtt_password: String,
}

/// A router and what the control plane knows of its agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Router {
    /// Id.
    pub id: Uuid,
    /// Location.
    pub location_id: Uuid,
    /// Display name.
    pub name: String,
    /// Agent id.
    pub agent_id: String,
    /// Agent public key, hex.
    pub public_key_hex: String,
    /// Created at.
    pub created_at: i64,
    /// Last message from the agent.
    pub last_seen: Option<i64>,
    /// The agent's retained status (or a recent hello) says it is connected.
    pub online: bool,
    /// Highest committed envelope `seq` from the agent.
    pub last_seq: u64,
    /// Package catalog version the router reported.
    pub catalog_version: Option<u64>,
    /// The agent's version string.
    pub agent_version: Option<String>,
}

/// A package to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewPackage {
    /// Short name; router profile `mtm-{slug}`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Price in minor units.
    pub price_minor: i64,
    /// ISO currency code.
    pub currency: String,
    /// Uptime limit, seconds.
    pub limit_uptime_s: Option<u64>,
    /// Data limit, bytes.
    pub limit_bytes_total: Option<u64>,
    /// RouterOS rate limit, e.g. `2M/5M`.
    pub rate_limit: Option<String>,
    /// Simultaneous logins allowed.
    #[serde(default = "one")]
    pub shared_users: u32,
    /// Valid this long after first login.
    pub validity_s: Option<u64>,
    /// Whether tokens get a password besides the code.
    #[serde(default)]
    pub uses_password: bool,
    /// Bind each voucher to the first device that logs in with it.
    #[serde(default)]
    pub lock_to_mac: bool,
}

fn one() -> u32 {
    1
}

/// What a token is sold as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Package {
    /// Id.
    pub id: Uuid,
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Price, minor units.
    pub price_minor: i64,
    /// Currency.
    pub currency: String,
    /// Uptime limit.
    pub limit_uptime_s: Option<u64>,
    /// Data limit.
    pub limit_bytes_total: Option<u64>,
    /// Rate limit.
    pub rate_limit: Option<String>,
    /// Shared users.
    pub shared_users: u32,
    /// Validity after first login.
    pub validity_s: Option<u64>,
    /// Tokens carry a password.
    pub uses_password: bool,
    /// Each voucher is bound to the first device that logs in with it.
    pub lock_to_mac: bool,
    /// Offered for sale.
    pub active: bool,
    /// Created at.
    pub created_at: i64,
    /// Last changed (creation counts); the catalog version is the newest of these.
    pub updated_at: i64,
}

impl Package {
    /// The package as a router profile sees it (catalog entry and `CreateToken.profile`).
    pub fn spec(&self) -> mtm_common::PackageSpec {
        mtm_common::PackageSpec {
            slug: self.slug.clone(),
            name: self.name.clone(),
            rate_limit: self.rate_limit.clone(),
            shared_users: self.shared_users,
            session_timeout_s: None,
            lock_to_mac: self.lock_to_mac,
        }
    }
}

/// One staff member's time at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Shift {
    /// Id.
    pub id: Uuid,
    /// Staff member.
    pub staff_id: Uuid,
    /// Location.
    pub location_id: Uuid,
    /// Clock-in time.
    pub opened_at: i64,
    /// Cash in the drawer at clock-in.
    pub opening_float_minor: i64,
    /// Clock-out time.
    pub closed_at: Option<i64>,
    /// Cash declared at clock-out.
    pub declared_cash_minor: Option<i64>,
    /// Float plus the expected revenue of the shift's tokens.
    pub expected_cash_minor: Option<i64>,
    /// Declared minus expected.
    pub variance_minor: Option<i64>,
}

pub use mtm_common::TokenState;

/// A token to issue. The store makes the ledger entry, revenue record, audit row and the
/// `CreateToken` command in the same transaction.
#[derive(Debug, Clone)]
pub struct IssueToken {
    /// Fresh id.
    pub id: Uuid,
    /// Voucher code.
    pub code: String,
    /// Password, if the package uses one.
    pub password: Option<String>,
    /// Package.
    pub package_id: Uuid,
    /// Staff member issuing it (must have an open shift).
    pub staff_id: Uuid,
    /// Staff member's username, for the ledger and audit.
    pub staff_username: String,
    /// Command id for the `CreateToken`.
    pub command_id: Uuid,
    /// The till's key for this sale: a second sale with the same key by the same staff member
    /// is refused by the database (see [`crate::store::Store::token_by_sale_key`]).
    pub sale_key: Option<String>,
}

/// A token and its current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Token {
    /// Id.
    pub id: Uuid,
    /// Voucher code (hotspot user name).
    pub code: String,
    /// Hotspot password.
    pub password: Option<String>,
    /// Package.
    pub package_id: Uuid,
    /// Package slug.
    pub package_slug: String,
    /// Staff member who issued it.
    pub staff_id: Uuid,
    /// Location.
    pub location_id: Uuid,
    /// Router that carries it.
    pub router_id: Uuid,
    /// Shift it was sold in.
    pub shift_id: Option<Uuid>,
    /// Price at issue.
    pub price_minor: i64,
    /// Currency.
    pub currency: String,
    /// State.
    pub state: TokenState,
    /// Issued at.
    pub created_at: i64,
    /// Confirmed on the router at.
    pub applied_at: Option<i64>,
    /// First customer login.
    pub first_login_at: Option<i64>,
    /// Expired at.
    pub expired_at: Option<i64>,
    /// Cumulative uptime on the router.
    pub uptime_s: u64,
    /// Cumulative upload.
    pub bytes_in: u64,
    /// Cumulative download.
    pub bytes_out: u64,
    /// Connection time added after the sale (on top of the package's), seconds.
    pub extra_uptime_s: u64,
    /// Data added after the sale, bytes.
    pub extra_bytes_total: u64,
    /// Times printed again.
    pub reprints: u32,
    /// The token this one replaced.
    pub replaces: Option<Uuid>,
    /// Sold bound to the first device that logs in with it.
    pub lock_to_mac: bool,
    /// The device it is bound to, once its agent has bound it.
    pub bound_mac: Option<String>,
    /// When its agent bound it (agent clock).
    pub mac_bound_at: Option<i64>,
}

/// Filters for listing tokens; all optional.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenFilter {
    /// Only this location.
    pub location_id: Option<Uuid>,
    /// Only this staff member.
    pub staff_id: Option<Uuid>,
    /// Only this state.
    pub state: Option<TokenState>,
    /// Issued at or after (unix ms).
    pub from: Option<i64>,
    /// Issued before (unix ms).
    pub to: Option<i64>,
    /// Page size (default 50, at most 500).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

/// One page of tokens.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenPage {
    /// The tokens, newest first.
    pub items: Vec<Token>,
    /// How many match the filter in all.
    pub total: u64,
}

/// A command stored for an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCommand {
    /// Stable id.
    pub id: Uuid,
    /// The agent it is for.
    pub agent_id: String,
    /// When first issued.
    pub issued_at: i64,
    /// The command itself.
    pub kind: mtm_common::CommandKind,
    /// `pending`, `sent`, `done` or `failed`.
    pub state: String,
    /// Times sent.
    pub attempts: u32,
}

/// A command with its outcome, as kept for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRecord {
    /// The command.
    pub command: StoredCommand,
    /// What the agent answered: the done detail, or the failure reason (also while a retryable
    /// failure is being retried).
    pub result: Option<String>,
    /// When it was closed, unix ms.
    pub closed_at: Option<i64>,
}

/// A browser or API session, named by the JWT's `sid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// Whose.
    pub user_id: Uuid,
    /// CSRF token for this session's forms.
    pub csrf: String,
    /// Expiry.
    pub expires_at: i64,
}

/// One verified message from an agent, ready to apply.
#[derive(Debug, Clone)]
pub struct UpItem {
    /// Envelope seq.
    pub seq: u64,
    /// Envelope `at`.
    pub at: i64,
    /// The message.
    pub message: mtm_common::UpMessage,
}

/// One agent's share of an ingest batch: its verified messages and the enrolled key (hex) that
/// verified them.
#[derive(Debug, Clone, Copy)]
pub struct SignedBatch<'a> {
    /// The sending agent.
    pub agent_id: &'a str,
    /// The public key (hex) its messages were verified with.
    pub signed_by: &'a str,
    /// The messages, in any order.
    pub items: &'a [UpItem],
}

/// What applying a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// Highest committed seq for the agent after the batch (ack this).
    pub last_seq: u64,
    /// Messages applied.
    pub applied: usize,
    /// Messages skipped as duplicates.
    pub duplicates: usize,
    /// A Hello was among the applied messages.
    pub saw_hello: bool,
    /// The alert checks the applied messages owe, as recorded pending in the same
    /// transaction: the ingest runs them from here rather than reading them back.
    pub checks: Vec<super::PendingCheck>,
}

/// A router with its latest health and usage, for the routers API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RouterStatus {
    /// The router.
    #[serde(flatten)]
    pub router: Router,
    /// Active sessions in the latest health report.
    pub active_sessions: Option<u32>,
    /// Router reachable in the latest health report.
    pub router_reachable: Option<bool>,
    /// When the latest health report was made, on the agent's clock.
    pub last_health_at: Option<i64>,
    /// Time of the latest usage report.
    pub last_usage_at: Option<i64>,
    /// Commands not yet closed.
    pub pending_commands: u64,
}

/// An audit row to append.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// Who (username, `system` or an agent id).
    pub actor: String,
    /// What, e.g. `token.issue`.
    pub action: String,
    /// On what, e.g. a token id.
    pub target: String,
    /// Details as JSON.
    pub detail: serde_json::Value,
}

/// Result of checking a hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Table checked.
    pub table: String,
    /// Rows checked.
    pub rows: u64,
    /// Id of the first row whose hash or link does not hold.
    pub first_bad_row: Option<i64>,
}

/// A chain's newest row, for checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainHead {
    /// The newest row's id: the number of rows of an intact chain (ids start at 1, no gaps).
    pub rows: u64,
    /// Its hash ([`crate::store::GENESIS_HASH`] for an empty chain).
    pub head_hash: String,
    /// Its time, unix ms.
    pub head_at: Option<i64>,
}

/// Counts for /metrics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreCounts {
    /// Commands pending or sent, not closed.
    pub commands_open: u64,
    /// Agents whose status is online.
    pub agents_online: u64,
    /// Routers enrolled.
    pub routers: u64,
}

/// Where an alert is in its handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Nobody has looked yet.
    Open,
    /// Someone is on it.
    Acknowledged,
    /// Closed, with a note.
    Resolved,
}

impl AlertState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<AlertState> {
        [
            AlertState::Open,
            AlertState::Acknowledged,
            AlertState::Resolved,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// Evidence that something is off, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Alert {
    /// Id.
    pub id: Uuid,
    /// What it is evidence of (`rogue_token`, `cash_short`, ...).
    pub kind: crate::reconcile::AlertKind,
    /// How urgent (`info`, `warning` or `critical`).
    pub severity: crate::reconcile::Severity,
    /// Location.
    pub location_id: Option<Uuid>,
    /// Router.
    pub router_id: Option<Uuid>,
    /// Agent.
    pub agent_id: Option<String>,
    /// Staff member involved.
    pub staff_id: Option<Uuid>,
    /// Shift involved.
    pub shift_id: Option<Uuid>,
    /// Token involved.
    pub token_id: Option<Uuid>,
    /// Same evidence, same key.
    pub dedup_key: String,
    /// One line for people.
    pub summary: String,
    /// The facts.
    pub evidence: serde_json::Value,
    /// Raised at.
    pub created_at: i64,
    /// Handling state.
    pub state: AlertState,
    /// Note from whoever acknowledged or resolved it.
    pub note: Option<String>,
    /// Who last changed its state.
    pub resolved_by: Option<String>,
    /// When its state last changed.
    pub updated_at: Option<i64>,
}

/// Filters for listing alerts, newest first.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertFilter {
    /// Only this state.
    pub state: Option<AlertState>,
    /// Only this location.
    pub location_id: Option<Uuid>,
    /// Only alerts raised at or after this time (unix ms).
    pub from: Option<i64>,
    /// Only alerts raised before this time (unix ms).
    pub to: Option<i64>,
    /// Page size (default 50, at most 500).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

/// What the login limits know about one key within its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttemptStats {
    /// Failed (or still pending) attempts under the key in the window.
    pub count: u64,
    /// When the latest of them was made (unix ms).
    pub last_at: Option<i64>,
}
