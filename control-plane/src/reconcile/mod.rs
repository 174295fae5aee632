//! Fraud detection and daily reconciliation, as pure logic.
//!
//! Nothing here touches the database, MQTT or HTTP. The control plane loads what a check needs
//! from its store into the plain input types below, calls a check at the moment the evidence
//! arrives (an `Inventory`, a `Usage` report, a shift close, a dispense attempt, a periodic
//! timer), and persists the [`Finding`]s it gets back as alerts, keyed by
//! [`Finding::dedup_key`] so the same evidence seen again raises no second alert.
//!
//! The rules that keep normal operation free of false alarms:
//! - A hotspot user whose `mtm:` comment names a token the ledger issued for this router, with
//!   the token's code as user name, is never rogue, whatever the token's state: a
//!   `TokenApplied` still in flight does not matter, because the token is stored before its
//!   `CreateToken` is queued. Only users without a valid comment, with an unknown token id, with
//!   another token's code, or with a token issued for another router are rogue.
//! - The router's built-in `default-trial` user (it exists on every router and cannot be
//!   removed) is not rogue; a session logged in as it, or a trial session (`T-<mac>`), is,
//!   unless the location allows trial logins ([`ReconcileConfig::allow_trial_sessions`]).
//! - Counters that stay equal between polls raise nothing; limits are compared after RouterOS's
//!   own normalisation (an absent limit and `0` both mean unlimited), and usage beyond a package
//!   is judged with a tolerance of one poll interval ([`ReconcileConfig`]).
//! - Router observations are judged by when they were taken (the envelope's `at`), so a batch
//!   the store applied before checking (a `TokenApplied` or `TokenExpired` behind the
//!   `Inventory`) cannot make an earlier picture look wrong. An ended token without an end time
//!   raises nothing.
//!
//! Wiring, per verified up-message of agent `a` (router `r`, location `l`, envelope `at`):
//! - `Inventory`: load the tokens [`InventoryKeys::of`] names (by id, and by code on `r`) plus
//!   `r`'s tokens in states applied..disabled, into an [`IssuedIndex`]; call
//!   [`check_inventory`] and [`check_missing`] with `taken_at = at`.
//! - `Usage`: load the entries' tokens with `used_*` as summed *before* this report; call
//!   [`check_usage`].
//! - Shift close: [`check_shift_close`]; store its figures on the shift. Dispense:
//!   [`check_dispense`] before issuing. Every minute: [`check_router_silent`] per router.
//! - At each location's close time: [`daily_report`] for the day [`DayWindow::containing`]
//!   the close instant minus one millisecond; store body and hash, never update them.
//! - Before storing a rogue finding ([`needs_duty`]): load the shifts at `l` open during its
//!   [`sale_window`] (from the router's inventory before the report, [`inventory_before`], to
//!   the report time less the longest uptime) and [`attribute`] it to them.
//! - Insert each [`Finding`] as an alert unless one with its `dedup_key` exists.

mod cash;
mod daily;
mod inventory;
mod lost;
mod on_duty;
mod report;
mod silent;
mod tokens;
mod tzif;
mod usage;
mod window;

#[cfg(test)]
mod tests;

pub use cash::{
    check_dispense, check_shift_close, DispenseAttempt, OpenShift, ShiftClose, ShiftCloseOutcome,
};
pub use daily::daily_report;
pub use inventory::{check_inventory, check_missing, InventoryKeys};
pub use on_duty::{
    attribute, inventory_before, needs_duty, on_duty, sale_window, DutyShift, FIRST_LOOKBACK_MS,
};
pub use report::{
    AfterSaleLine, AfterSalesDay, DailyInputs, ReconciliationReport, RecordedAlert, ReportBody,
    RevenueDay, RouterDay, ShiftLine, ShiftSummary, StaffDay, TokenCounts, UsageSample,
    UsageTotals, REPORT_FORMAT,
};
pub use silent::check_router_silent;
pub use tokens::{password_sha256, IssuedIndex, IssuedToken, TokenLookup, TokenState};
pub use tzif::TzifZone;
pub use usage::check_usage;
pub use window::{parse_close_time, parse_date, parse_fixed_zone, DayWindow, ZoneOffset};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What kind of wrongdoing (or failure) an alert is evidence of.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A hotspot user on a router that the ledger did not issue.
    RogueToken,
    /// An issued token whose profile, limits, password or state on the router differ.
    TamperedToken,
    /// Counters went backwards, or a token was used beyond its package or after it ended.
    ReusedToken,
    /// Declared cash below expected by more than the location's threshold.
    CashShort,
    /// Declared cash above expected by more than the location's threshold.
    CashOver,
    /// Someone tried to dispense without an open shift (refused).
    DispenseOutsideShift,
    /// Someone tried to dispense at a location other than their shift's (refused).
    DispenseWrongLocation,
    /// No telemetry from a router for too long while its location has an open shift.
    RouterSilent,
    /// The ledger or audit log is shorter than, or differs from, a checkpoint an agent
    /// witnessed: rows were cut, or the database was restored from an older backup.
    WitnessMismatch,
}

impl AlertKind {
    /// The stored and serialized name, e.g. `rogue_token`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::RogueToken => "rogue_token",
            AlertKind::TamperedToken => "tampered_token",
            AlertKind::ReusedToken => "reused_token",
            AlertKind::CashShort => "cash_short",
            AlertKind::CashOver => "cash_over",
            AlertKind::DispenseOutsideShift => "dispense_outside_shift",
            AlertKind::DispenseWrongLocation => "dispense_wrong_location",
            AlertKind::RouterSilent => "router_silent",
            AlertKind::WitnessMismatch => "witness_mismatch",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<AlertKind> {
        ALL_KINDS.into_iter().find(|k| k.as_str() == s)
    }
}

const ALL_KINDS: [AlertKind; 9] = [
    AlertKind::RogueToken,
    AlertKind::TamperedToken,
    AlertKind::ReusedToken,
    AlertKind::CashShort,
    AlertKind::CashOver,
    AlertKind::DispenseOutsideShift,
    AlertKind::DispenseWrongLocation,
    AlertKind::RouterSilent,
    AlertKind::WitnessMismatch,
];

/// How urgently a person should look.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Look today.
    Warning,
    /// Money is probably being lost now.
    Critical,
}

impl Severity {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One piece of evidence that something is off, ready to be stored as an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// What it is evidence of.
    pub kind: AlertKind,
    /// How urgent.
    pub severity: Severity,
    /// The router's agent, when a router is involved.
    pub agent_id: Option<String>,
    /// The router, when known.
    pub router_id: Option<Uuid>,
    /// The location.
    pub location_id: Option<Uuid>,
    /// The staff member involved (who issued the token, closed the shift, tried to dispense).
    pub staff_id: Option<Uuid>,
    /// The shift involved.
    pub shift_id: Option<Uuid>,
    /// The token involved, when it is one the ledger knows.
    pub token_id: Option<Uuid>,
    /// Equal for the same evidence: store alerts unique on it, so a finding repeated by every
    /// later inventory or report is recognised and not raised again.
    pub dedup_key: String,
    /// One line for people.
    pub summary: String,
    /// The facts (which user, which field, expected and found), as JSON.
    pub evidence: serde_json::Value,
}

impl Finding {
    /// The summary as a message of the locales: its id and arguments go into the evidence
    /// (`message`), so pages, e-mails and notices write it in each reader's language
    /// (`i18n::alert_summary`); `summary` stays the English line, for logs and older readers.
    /// Arguments are strings and numbers, `{"minor": n, "currency": "USD"}` for money and
    /// `{"at": ms}` for a time.
    pub fn with_message(mut self, id: &str, args: serde_json::Value) -> Self {
        self.evidence["message"] = serde_json::json!({ "id": id, "args": args });
        self
    }
}

/// The router a report came from, as the control plane knows it from the envelope's sender.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RouterRef {
    /// The agent id (envelope `from`).
    pub agent_id: String,
    /// The router's id in the store.
    pub router_id: Option<Uuid>,
    /// The router's location.
    pub location_id: Option<Uuid>,
}

impl RouterRef {
    /// A finding about this router, with the router's ids filled in.
    fn finding(
        &self,
        kind: AlertKind,
        severity: Severity,
        dedup_key: String,
        summary: String,
        evidence: serde_json::Value,
    ) -> Finding {
        Finding {
            kind,
            severity,
            agent_id: Some(self.agent_id.clone()),
            router_id: self.router_id,
            location_id: self.location_id,
            staff_id: None,
            shift_id: None,
            token_id: None,
            dedup_key,
            summary,
            evidence,
        }
    }
}

/// Tolerances and rules; [`Default`] suits a router polled every 60 s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileConfig {
    /// Uptime a token may show beyond its package (or after it ended) before it counts as
    /// reused: one poll interval, because the router stops a session only at its next check.
    pub uptime_tolerance_s: u64,
    /// Bytes a token may use beyond its data limit, in thousandths of the limit.
    pub bytes_tolerance_permille: u64,
    /// ... and at least this many bytes (the router counts the packet that crossed the limit).
    pub bytes_tolerance_min: u64,
    /// Hotspot user names the router has built in, never rogue by their existence.
    pub builtin_users: Vec<String>,
    /// Whether the location's hotspot allows trial logins (`T-<mac>` sessions).
    pub allow_trial_sessions: bool,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        ReconcileConfig {
            uptime_tolerance_s: 120,
            bytes_tolerance_permille: 10,
            bytes_tolerance_min: 1024 * 1024,
            builtin_users: vec![DEFAULT_TRIAL_USER.to_string()],
            allow_trial_sessions: false,
        }
    }
}

impl ReconcileConfig {
    /// One poll interval in milliseconds: how long after a token ends the router may still
    /// show it in use.
    pub(crate) fn grace_ms(&self) -> i64 {
        i64::try_from(self.uptime_tolerance_s.saturating_mul(1000)).unwrap_or(i64::MAX)
    }
}

/// The hotspot user RouterOS creates on every router and refuses to remove.
pub const DEFAULT_TRIAL_USER: &str = "default-trial";

/// Why a reconciliation input could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReconcileError {
    /// A close time that is not `HH:MM`.
    #[error("close time must be HH:MM (00:00-23:59), got {0:?}")]
    BadCloseTime(String),
    /// A time zone that is not `UTC` or `±HH:MM`.
    #[error("time zone must be UTC or a fixed offset like +01:00, got {0:?}")]
    BadZone(String),
    /// A date outside what the calendar can represent.
    #[error("date out of range")]
    DateOutOfRange,
    /// Amounts in more than one currency in one report.
    #[error("one report cannot mix currencies: {0} and {1}")]
    MixedCurrency(String, String),
    /// A money sum past 64 bits: the report is refused rather than wrong.
    #[error("a money sum does not fit 64 bits")]
    Overflow,
    /// The report could not be serialised for hashing (does not happen with these types).
    #[error("report could not be serialised: {0}")]
    Serialise(String),
}
