//! The store: one trait, one implementation over SQL for SQLite and PostgreSQL (`sql/`), one
//! conformance suite run on both.

mod aftersales_model;
pub mod applied;
mod batch_model;
mod check_model;
pub mod credentials;
mod every;
mod figures_model;
mod model;
mod notify_model;
mod package_model;
mod pages_model;
mod reconcile_model;
pub mod sql;
#[cfg(test)]
pub(crate) mod suite;
#[cfg(test)]
pub(crate) mod suite_aftersales;
#[cfg(test)]
pub(crate) mod suite_batch;
#[cfg(test)]
pub(crate) mod suite_expiry;
#[cfg(test)]
pub(crate) mod suite_login_limits;
#[cfg(test)]
pub(crate) mod suite_mac_lock;
#[cfg(test)]
pub(crate) mod suite_reconcile;

pub use aftersales_model::*;
pub use batch_model::*;
pub use check_model::*;
pub use every::{every_after_sale, every_alert, every_shift, every_token};
pub use figures_model::*;
pub use model::*;
pub use notify_model::*;
pub use package_model::*;
pub use pages_model::*;
pub use reconcile_model::*;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use uuid::Uuid;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The change conflicts with what is stored (duplicate name, shift already open, ...).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is not allowed in the current state (no open shift, no router, ...).
    #[error("{0}")]
    Invalid(String),
    /// Like [`StoreError::Invalid`], named as a message of the locales so that a page shows
    /// it in its reader's language (English in logs and over the API).
    #[error("{0}")]
    Refused(crate::refusal::Refusal),
    /// Like [`StoreError::Conflict`], named as a message of the locales.
    #[error("conflict: {0}")]
    RefusedConflict(crate::refusal::Refusal),
    /// Messages signed with a key the router no longer has: their seqs are the old device's.
    #[error("signed with a key the router no longer has")]
    KeyReplaced,
    /// A stored value could not be read back (corrupt or foreign data).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Password hashing failed.
    #[error("password hash: {0}")]
    Hash(String),
}

/// Short form of store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the control plane keeps. Implementations must make each method atomic.
#[async_trait]
pub trait Store: Send + Sync {
    // --- users and sessions
    /// Create a user (argon2id hash).
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    /// A user by id.
    async fn user(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// Check a username and password; `None` if wrong or disabled.
    async fn check_password(&self, username: &str, password: &str) -> StoreResult<Option<User>>;
    /// Number of users (to know whether an admin exists).
    async fn count_users(&self) -> StoreResult<u64>;
    /// Store a new session.
    async fn create_session(&self, session: &Session) -> StoreResult<()>;
    /// A live (unexpired) session.
    async fn session(&self, id: &str, now: i64) -> StoreResult<Option<Session>>;
    /// End one session.
    async fn delete_session(&self, id: &str) -> StoreResult<()>;
    /// End every session of a user.
    async fn delete_user_sessions(&self, user_id: Uuid) -> StoreResult<u64>;
    /// Record one failed login or enrollment attempt at `at` (unix ms) under each of `keys`
    /// (`account:<name>`, `address:<ip>`), in one transaction.
    async fn record_login_failure(&self, keys: &[&str], at: i64) -> StoreResult<()>;
    /// Failed attempts under `key` at or after `since` (unix ms).
    async fn login_failures(&self, key: &str, since: i64) -> StoreResult<u64>;
    /// Forget every failed attempt under `key` (a successful login clears its account).
    async fn clear_login_failures(&self, key: &str) -> StoreResult<()>;
    /// Delete failed attempts older than `before` (unix ms); returns how many went.
    async fn prune_login_failures(&self, before: i64) -> StoreResult<u64>;
    /// Atomically (one write transaction, serialised across replicas): read each key's
    /// failures since its window start (`keys`: key, window start in unix ms), ask `decide`,
    /// and if it allows, record the attempt under every key at `now`, tagged `attempt`, before
    /// any password is checked. Returns what `decide` said.
    async fn reserve_login_attempt(
        &self,
        keys: &[(&str, i64)],
        attempt: &str,
        now: i64,
        decide: &(dyn for<'s> Fn(&'s [AttemptStats]) -> bool + Send + Sync),
    ) -> StoreResult<bool>;
    /// Take back the rows of `attempt` (it succeeded, or was never evaluated) and forget every
    /// failure under each of `clear`, in one transaction.
    async fn release_login_attempt(&self, attempt: &str, clear: &[&str]) -> StoreResult<()>;

    // --- locations, routers, packages
    /// Create a location.
    async fn create_location(&self, location: NewLocation) -> StoreResult<Location>;
    /// All locations.
    async fn list_locations(&self) -> StoreResult<Vec<Location>>;
    /// Enroll a router; the MQTT password is stored as a SHA-256 hash.
    async fn create_router(&self, router: NewRouter) -> StoreResult<Router>;
    /// A router by id.
    async fn router(&self, id: Uuid) -> StoreResult<Option<Router>>;
    /// A router by its agent id.
    async fn router_by_agent(&self, agent_id: &str) -> StoreResult<Option<Router>>;
    /// Check an agent's MQTT credentials.
    async fn check_mqtt_password(&self, agent_id: &str, password: &str) -> StoreResult<bool>;
    /// All routers with their latest health.
    async fn list_routers(&self) -> StoreResult<Vec<RouterStatus>>;
    /// Record an agent's retained status. Unsigned, so a hint only: it never moves `last_seen`,
    /// which only verified messages refresh (in [`Store::apply_up`]).
    async fn set_router_online(&self, agent_id: &str, online: bool) -> StoreResult<()>;
    /// Create a package.
    async fn create_package(&self, package: NewPackage) -> StoreResult<Package>;
    /// All active packages.
    async fn list_packages(&self) -> StoreResult<Vec<Package>>;
    /// Every package, on sale first, then retired ones.
    async fn list_all_packages(&self) -> StoreResult<Vec<Package>>;
    /// Change a package's editable fields (a retired one stops being sold), audited as
    /// `package.update` in the same transaction; its `updated_at` becomes newer than every
    /// other package's, so the catalog version changes.
    async fn update_package(
        &self,
        id: Uuid,
        change: &PackageChange,
        actor: &str,
        now: i64,
    ) -> StoreResult<Package>;

    // --- shifts and tokens
    /// Clock in at a location (one open shift per staff member).
    async fn open_shift(
        &self,
        staff_id: Uuid,
        location_id: Uuid,
        opening_float_minor: i64,
        actor: &str,
    ) -> StoreResult<Shift>;
    /// Clock out: computes expected cash and variance, confirms the shift's revenue, ends the
    /// staff member's sessions.
    async fn close_shift(
        &self,
        staff_id: Uuid,
        declared_cash_minor: i64,
        actor: &str,
    ) -> StoreResult<Shift>;
    /// Locations where some shift is open now.
    async fn open_shift_locations(&self) -> StoreResult<Vec<Uuid>>;
    /// The staff member's open shift.
    async fn open_shift_of(&self, staff_id: Uuid) -> StoreResult<Option<Shift>>;
    /// Issue a token at the staff member's open shift: token, ledger, revenue, audit and the
    /// `CreateToken` command, in one transaction. Returns the token and the command.
    async fn issue_token(&self, req: IssueToken) -> StoreResult<(Token, StoredCommand)>;
    /// Issue a batch at the staff member's open shift: every voucher with its ledger entry,
    /// revenue record and audit row, and the `CreateTokens` commands that carry them, in one
    /// transaction.
    async fn issue_batch(&self, req: IssueBatch) -> StoreResult<IssuedBatch>;
    /// How many of a batch's vouchers the router has confirmed; `None` for no such batch.
    async fn batch_progress(&self, batch_id: Uuid) -> StoreResult<Option<BatchProgress>>;
    /// Up to `limit` of a batch's vouchers from `offset`, in the order they are printed (so a
    /// sheet of 500 out of 5,000 reads 500 rows, not the whole batch).
    async fn batch_tokens(
        &self,
        batch_id: Uuid,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<Token>>;
    /// A token by id.
    async fn token(&self, id: Uuid) -> StoreResult<Option<Token>>;
    /// The voucher a staff member sold under a sale key (a till's retry of a sale whose answer
    /// was lost), if any.
    async fn token_by_sale_key(&self, staff_id: Uuid, sale_key: &str)
        -> StoreResult<Option<Token>>;
    /// Tokens matching a filter, newest first.
    async fn list_tokens(&self, filter: &TokenFilter) -> StoreResult<TokenPage>;
    /// A token by its code (the hotspot user name), exactly as stored.
    async fn token_by_code(&self, code: &str) -> StoreResult<Option<Token>>;
    /// Record an after-sale and, unless it is a refund above the location's threshold asked
    /// by someone who cannot approve it, carry it out in the same transaction: token state,
    /// limits or reprint count, refund and moved revenue, ledger, audit log and the router
    /// commands (returned, to send at once).
    async fn after_sale(&self, req: AfterSaleRequest) -> StoreResult<AfterSaleOutcome>;
    /// Approve (carry out) or refuse a requested after-sale.
    async fn decide_after_sale(&self, d: AfterSaleDecision) -> StoreResult<AfterSaleOutcome>;
    /// After-sales matching a filter, newest first.
    async fn list_after_sales(&self, filter: &AfterSaleFilter) -> StoreResult<Vec<AfterSale>>;

    // --- commands and ingest
    /// Commands for an agent that are not closed yet, oldest first.
    async fn open_commands(&self, agent_id: &str) -> StoreResult<Vec<StoredCommand>>;
    /// Store a command for an agent, closing open commands of the same kind it supersedes
    /// (e.g. an older catalog) when `supersede` is set.
    async fn enqueue_command(
        &self,
        agent_id: &str,
        kind: mtm_common::CommandKind,
        supersede: bool,
    ) -> StoreResult<StoredCommand>;
    /// Store several commands in one transaction (one write however many routers), each
    /// closing the open commands of its kind for its agent when `supersede` is set. Fails as a
    /// whole if one agent is unknown.
    async fn enqueue_commands(
        &self,
        commands: &[(String, mtm_common::CommandKind)],
        supersede: bool,
    ) -> StoreResult<Vec<StoredCommand>>;
    /// Commands of one kind (`command_kind_name`), open or closed, newest first, at most
    /// `limit`: the releases page shows each rollout's commands with their outcome.
    async fn commands_of_kind(&self, kind: &str, limit: u32) -> StoreResult<Vec<CommandRecord>>;
    /// Mark a command as sent once more.
    async fn mark_command_sent(&self, id: Uuid, now: i64) -> StoreResult<()>;
    /// Mark several commands as sent once more, in one transaction.
    async fn mark_commands_sent(&self, ids: &[Uuid], now: i64) -> StoreResult<()>;
    /// The next control-plane envelope seq (persisted before use).
    async fn next_cp_seq(&self) -> StoreResult<u64>;
    /// Reserve `n` (at least 1) consecutive control-plane envelope seqs in one write; returns
    /// the first.
    async fn next_cp_seqs(&self, n: u64) -> StoreResult<u64>;
    /// Apply a batch of verified messages from one agent in one transaction, skipping any with
    /// `seq` at or below the last committed one.
    async fn apply_up(
        &self,
        agent_id: &str,
        items: &[UpItem],
        now: i64,
    ) -> StoreResult<ApplyOutcome>;
    /// [`Store::apply_up`] for messages verified with `signed_by` (hex public key): refused with
    /// [`StoreError::KeyReplaced`], nothing applied, if the router's key is another by the time
    /// the batch holds its row (the device was replaced while the batch waited).
    async fn apply_up_signed(
        &self,
        agent_id: &str,
        signed_by: &str,
        items: &[UpItem],
        now: i64,
    ) -> StoreResult<ApplyOutcome>;
    /// Alert checks applied evidence still owes (see [`PendingCheck`]): `agent_id`'s, or every
    /// router's for `None`, recorded before `created_before`, in seq order per router, at
    /// most `limit`.
    async fn pending_checks(
        &self,
        agent_id: Option<&str>,
        created_before: i64,
        limit: u32,
    ) -> StoreResult<Vec<PendingCheck>>;
    /// Forget a pending check whose alerts are stored.
    async fn finish_check(&self, router_id: Uuid, seq: u64) -> StoreResult<()>;

    // --- notifications
    /// Store a new notification channel.
    async fn create_channel(&self, channel: &Channel) -> StoreResult<()>;
    /// Channels of `owner`, or every channel for `None`, oldest first.
    async fn list_channels(&self, owner: Option<Uuid>) -> StoreResult<Vec<Channel>>;
    /// Delete channel `id` (only if `owner` made it, when given); whether it existed.
    async fn delete_channel(&self, id: Uuid, owner: Option<Uuid>) -> StoreResult<bool>;
    /// Queue a delivery for every (channel, alert) pair that matches and has none yet, over
    /// alerts raised since `since`; how many were queued.
    async fn queue_notifications(&self, since: i64, now: i64) -> StoreResult<u64>;
    /// Pending deliveries due at `now`, oldest first.
    async fn due_deliveries(&self, now: i64, limit: u32) -> StoreResult<Vec<DueDelivery>>;
    /// Record an attempt; a delivery sent or dead is audited.
    async fn record_delivery(
        &self,
        id: Uuid,
        outcome: &DeliveryOutcome,
        now: i64,
    ) -> StoreResult<()>;
    /// Deliveries newest first, only those in `state` when given (the dead-letter view).
    async fn list_deliveries(
        &self,
        state: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRow>>;

    // --- alerts
    /// Store a finding as an open alert; `None` if one with its dedup key exists already.
    async fn raise_alert(
        &self,
        finding: &crate::reconcile::Finding,
        now: i64,
    ) -> StoreResult<Option<Alert>>;
    /// Store each finding as an open alert unless one with its dedup key exists already (one
    /// read for all of them, a write only for new ones); returns the new alerts.
    async fn raise_alerts(
        &self,
        findings: &[crate::reconcile::Finding],
        now: i64,
    ) -> StoreResult<Vec<Alert>>;
    /// Tokens as the ledger issued them, for the router-side checks: those with one of `ids`,
    /// those on `router_id` with one of `codes`, and every token of `router_id` that should be on
    /// the router now (applied through disabled).
    async fn issued_tokens(
        &self,
        router_id: Uuid,
        ids: &[Uuid],
        codes: &[String],
    ) -> StoreResult<Vec<crate::reconcile::IssuedToken>>;
    /// Like [`Store::issued_tokens`] without the router's other live tokens: only those with
    /// one of `ids`, or on `router_id` with one of `codes` (what a usage check needs).
    async fn named_tokens(
        &self,
        router_id: Uuid,
        ids: &[Uuid],
        codes: &[String],
    ) -> StoreResult<Vec<crate::reconcile::IssuedToken>>;
    /// Alerts matching a filter, newest first.
    async fn list_alerts(&self, filter: &AlertFilter) -> StoreResult<Vec<Alert>>;
    /// How many alerts match `filter` (its `limit` and `offset` are ignored), per location.
    async fn alert_counts(&self, filter: &AlertFilter) -> StoreResult<Vec<(Option<Uuid>, u64)>>;
    /// Up to `n` alerts matching `filter` (its `limit` and `offset` are ignored) that come after
    /// `cursor` newest first: an export pages through every alert with these.
    async fn alerts_after(
        &self,
        filter: &AlertFilter,
        cursor: Option<Cursor>,
        n: u32,
    ) -> StoreResult<Vec<Alert>>;
    /// Every user's id and username, in one query (pages that name staff read all of them).
    async fn user_names(&self) -> StoreResult<Vec<(Uuid, String)>>;
    /// The vouchers issued matching `filter`, counted and summed by the database per location
    /// and staff member (a sum past `i64` is an error, never a wrapped figure).
    async fn token_figures(&self, filter: &FigureFilter) -> StoreResult<Vec<TokenFigures>>;
    /// The shifts opened matching `filter`, with their cash variance summed per location and
    /// staff member.
    async fn shift_figures(&self, filter: &FigureFilter) -> StoreResult<Vec<ShiftFigures>>;
    /// Up to `n` tokens matching `filter` (its `limit` and `offset` are ignored) that come after
    /// `cursor` newest first: an export pages through every voucher with these.
    async fn tokens_after(
        &self,
        filter: &TokenFilter,
        cursor: Option<Cursor>,
        n: u32,
    ) -> StoreResult<Vec<Token>>;
    /// Acknowledge or resolve an alert with a note, audited in the same transaction.
    async fn set_alert_state(
        &self,
        id: Uuid,
        state: AlertState,
        note: &str,
        actor: &str,
        now: i64,
    ) -> StoreResult<Alert>;

    // --- audit and chains
    /// Append to the audit log.
    async fn audit(&self, entry: AuditEntry, now: i64) -> StoreResult<()>;
    /// Check the token ledger and audit log chains.
    async fn verify_chains(&self) -> StoreResult<Vec<ChainReport>>;
    /// The newest row of a chain (`token_ledger` or `audit_log`).
    async fn chain_head(&self, chain: &str) -> StoreResult<ChainHead>;
    /// The stored hash of row `id` of a chain, if it exists.
    async fn chain_hash_at(&self, chain: &str, id: u64) -> StoreResult<Option<String>>;
    /// Every chain checkpoint agents returned, with the agent id that kept it.
    async fn witnessed_checkpoints(&self) -> StoreResult<Vec<(String, mtm_common::Checkpoint)>>;
    /// Counts for metrics.
    async fn counts(&self) -> StoreResult<StoreCounts>;
    /// Whether the database answers.
    async fn ping(&self) -> StoreResult<()>;

    // --- reconciliation
    /// A location's reconciliation settings (defaults until changed); `None` if there is no
    /// such location.
    async fn location_settings(&self, location_id: Uuid) -> StoreResult<Option<LocationSettings>>;
    /// Change a location's time zone, cash threshold or close time, audited in the same
    /// transaction.
    async fn update_location_settings(
        &self,
        location_id: Uuid,
        change: &LocationSettingsChange,
        actor: &str,
        now: i64,
    ) -> StoreResult<LocationSettings>;
    /// A manager closes a shift the staff member left open: like clock-out (expected cash,
    /// variance, revenue confirmed, the staff member's sessions ended) plus a required note,
    /// audited as `shift.close_for_staff`.
    async fn close_shift_by_id(
        &self,
        shift_id: Uuid,
        declared_cash_minor: i64,
        note: &str,
        actor: &str,
        now: i64,
    ) -> StoreResult<Shift>;

    /// Usage reported by a location's routers in `[from, to)`, for its daily report.
    async fn usage_samples(
        &self,
        location_id: Uuid,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<crate::reconcile::UsageSample>>;
    /// `(router_id, token_id)` of a location's tokens a daily report for `[from, to)` may count
    /// (over-selected; the report keeps what falls in the window).
    async fn day_token_ids(
        &self,
        location_id: Uuid,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(Uuid, Uuid)>>;
    /// Store a daily report; `Conflict` if the location's day has one. Never updated.
    async fn insert_daily_report(
        &self,
        report: &NewDailyReport,
        now: i64,
    ) -> StoreResult<DailyReport>;
    /// Stored daily reports, newest day first.
    async fn daily_reports(&self, filter: &ReportFilter) -> StoreResult<Vec<DailyReport>>;
    /// Sign a report off (once; `Conflict` after), audited in the same transaction.
    async fn sign_off_report(
        &self,
        id: Uuid,
        note: &str,
        actor: &str,
        now: i64,
    ) -> StoreResult<DailyReport>;

    // --- enrollment
    /// Store a one-time enrollment code (its SHA-256 hex, see [`enrollment_code_hash`]) for a
    /// router, replacing the router's unused codes; audited in the same transaction.
    async fn create_enrollment_code(
        &self,
        router_id: Uuid,
        code_hash: &str,
        expires_at: i64,
        actor: &str,
        now: i64,
    ) -> StoreResult<()>;
    /// Redeem a code: if it is known, unused, not replaced and unexpired, mark it used, give its
    /// router `public_key_hex` and `mqtt_password` (stored hashed; the old key and password stop
    /// working) and reset the router's seq state for the new device; audited.
    async fn redeem_enrollment_code(
        &self,
        code_hash: &str,
        public_key_hex: &str,
        mqtt_password: &str,
        agent_version: &str,
        now: i64,
    ) -> StoreResult<Redeemed>;
    /// Revoke a router's agent: its key and MQTT password stop working at once and its unused
    /// codes are replaced; audited.
    async fn revoke_router(&self, router_id: Uuid, actor: &str, now: i64) -> StoreResult<Router>;
    /// Enrollment facts of a router, `None` if there is no such router.
    async fn enrollment_state(&self, router_id: Uuid) -> StoreResult<Option<EnrollmentState>>;

    // --- admin console (pages)
    /// Every user, by username.
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Change an account (disable/enable, new password, locations), audited in the same
    /// transaction; disabling also ends the user's sessions.
    async fn update_user(
        &self,
        id: Uuid,
        change: UserChange,
        actor: &str,
        now: i64,
    ) -> StoreResult<User>;
    /// Rows of the audit log or token ledger, newest first.
    async fn list_log(&self, table: LogTable, limit: u32, offset: u32) -> StoreResult<Vec<LogRow>>;
    /// Database size, connections and rows per table.
    async fn table_stats(&self) -> StoreResult<TableStats>;
    /// Shifts matching a filter, newest first.
    async fn list_shifts(&self, filter: &ShiftFilter) -> StoreResult<Vec<Shift>>;
    /// One shift by id, open or closed.
    async fn shift(&self, id: Uuid) -> StoreResult<Option<Shift>>;
    /// Shifts at a location that were open at some instant of `[from, to]` (clocked in by `to`
    /// and not clocked out before `from`), earliest first: who was on duty when a rogue voucher
    /// could have been sold.
    async fn shifts_overlapping(
        &self,
        location_id: Uuid,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<Shift>>;
    /// When `router_id`'s latest inventory and the one before it were taken (unix ms), if it
    /// sent any: a rogue user the latest one first shows was made after the one before.
    async fn inventory_times(&self, router_id: Uuid) -> StoreResult<Option<(i64, Option<i64>)>>;
    /// Freeze (or thaw) dispensing at a location, audited in the same transaction.
    async fn set_location_frozen(
        &self,
        location_id: Uuid,
        frozen: bool,
        reason: &str,
        actor: &str,
        now: i64,
    ) -> StoreResult<()>;
    /// Locations where dispensing is frozen.
    async fn frozen_locations(&self) -> StoreResult<Vec<LocationFreeze>>;
}

/// Open the store a database URL names (`sqlite://...` or `postgres://...`), running migrations.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    Ok(Arc::new(sql::SqlStore::open(url).await?))
}

/// The hash chained into the next row: sha256(prev_hash || canonical content), hex.
pub fn chain_hash(prev_hash: &str, content: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(content.as_bytes());
    hex::encode(h.finalize())
}

/// The hash before the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Canonical content of a ledger row (JSON array: unambiguous for any field values).
pub fn ledger_content(
    id: i64,
    token_id: &str,
    event: &str,
    detail: &str,
    actor: &str,
    at: i64,
) -> String {
    serde_json::json!([id, token_id, event, detail, actor, at]).to_string()
}

/// Canonical content of an audit row.
pub fn audit_content(
    id: i64,
    at: i64,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> String {
    serde_json::json!([id, at, actor, action, target, detail]).to_string()
}

/// SHA-256 hex of an MQTT password. Agent passwords are 32 random bytes, so a fast hash is
/// enough (no dictionary to guard against) and keeps every broker connect cheap.
pub fn mqtt_password_hash(password: &str) -> String {
    hex::encode(Sha256::digest(password.as_bytes()))
}

/// argon2id hash of a user password.
pub fn hash_password(password: &str) -> StoreResult<String> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Hash(e.to_string()))
}

/// Check a password against an argon2 hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Map unique and foreign-key violations to clear errors; anything else stays a database error.
/// `what` names the row (`user`, `router`, ...); the refusal names it in the reader's language.
pub(crate) fn conflict_on_unique(e: sqlx::Error, what: &str) -> StoreError {
    use crate::refusal::Refusal;
    // Each thing has its own sentence: the words around it change with it in French.
    let (exists, noun) = match what {
        "user" => ("err-exists-user", "noun-user"),
        "user location" => ("err-exists-user-location", "noun-user-location"),
        "router" => ("err-exists-router", "noun-router"),
        "package" => ("err-exists-package", "noun-package"),
        "location" => ("err-exists-location", "noun-location"),
        "enrollment code" => ("err-exists-enrollment-code", "noun-enrollment-code"),
        _ => ("", ""),
    };
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            if exists.is_empty() {
                StoreError::Conflict(format!("{what} already exists"))
            } else {
                StoreError::RefusedConflict(Refusal::new(exists))
            }
        }
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
            if noun.is_empty() {
                StoreError::Invalid(format!("{what} refers to something that does not exist"))
            } else {
                StoreError::Refused(
                    Refusal::new("err-refers-to-nothing").arg_message("what", Refusal::new(noun)),
                )
            }
        }
        _ => StoreError::Db(e),
    }
}

/// The stored name of a command's kind.
pub fn command_kind_name(kind: &mtm_common::CommandKind) -> &'static str {
    use mtm_common::CommandKind as K;
    match kind {
        K::CreateToken(_) => "create_token",
        K::DisableToken { .. } => "disable_token",
        K::EnableToken { .. } => "enable_token",
        K::RemoveToken { .. } => "remove_token",
        K::LogoutToken { .. } => "logout_token",
        K::LogoutAll => "logout_all",
        K::DisableAll => "disable_all",
        K::ApplyCatalog(_) => "apply_catalog",
        K::Resync => "resync",
        K::UpdateAgent(_) => "update_agent",
        K::ExtendToken(_) => "extend_token",
        K::CreateTokens(_) => "create_tokens",
        K::TrackValidity(_) => "track_validity",
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// What redeeming an enrollment code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// Enrolled: the router now carries the new key and MQTT password.
    Enrolled(Router),
    /// No such code.
    Unknown,
    /// The code was used before.
    Used,
    /// A newer code for the same router (or a revocation) replaced it.
    Replaced,
    /// The code expired.
    Expired,
}

/// Enrollment facts of one router.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct EnrollmentState {
    /// Last enrollment with a code.
    pub enrolled_at: Option<i64>,
    /// Revoked at (cleared by the next enrollment).
    pub revoked_at: Option<i64>,
    /// Expiry of the router's live (unused) code, if it has one.
    pub open_code_expires_at: Option<i64>,
}

/// SHA-256 hex of an enrollment code, as stored. Codes are random and expire within hours, so a
/// fast hash is enough; the code is upper-cased first, since technicians type it.
pub fn enrollment_code_hash(code: &str) -> String {
    let normal: String = code
        .trim()
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .collect::<String>()
        .to_uppercase();
    hex::encode(Sha256::digest(format!("mtm-enroll:{normal}").as_bytes()))
}
