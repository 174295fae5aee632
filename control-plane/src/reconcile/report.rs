//! The daily report's inputs and content: what the store hands over and what it keeps.

use super::{AlertKind, DayWindow, Finding, IssuedToken, ReconcileError, Severity};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Version of [`ReportBody`]'s shape; part of the hashed content.
pub const REPORT_FORMAT: u32 = 2;

/// Usage the store ingested: one row per usage entry (or any pre-summed slice of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageSample {
    /// Router's agent.
    pub agent_id: String,
    /// Token, `None` for a user mtm did not make.
    pub token_id: Option<Uuid>,
    /// When it was reported (envelope `at` or ingest time), unix ms.
    pub at: i64,
    /// Uptime added.
    pub delta_uptime_s: u64,
    /// Upload added.
    pub delta_bytes_in: u64,
    /// Download added.
    pub delta_bytes_out: u64,
}

/// A shift as the store holds it. Money minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftSummary {
    /// Shift.
    pub shift_id: Uuid,
    /// Staff member.
    pub staff_id: Uuid,
    /// Clock-in.
    pub opened_at: i64,
    /// Clock-out, `None` while open.
    pub closed_at: Option<i64>,
    /// Float at clock-in.
    pub opening_float_minor: i64,
    /// Expected revenue of the shift's tokens.
    pub expected_revenue_minor: i64,
    /// Tokens sold in the shift.
    pub tokens_sold: u64,
    /// Cash declared at clock-out.
    pub declared_cash_minor: Option<i64>,
}

/// An alert as stored, reduced to what a report lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedAlert {
    /// When it was raised, unix ms.
    pub raised_at: i64,
    /// Kind.
    pub kind: AlertKind,
    /// Severity.
    pub severity: Severity,
    /// Router's agent.
    pub agent_id: Option<String>,
    /// Token.
    pub token_id: Option<Uuid>,
    /// Staff member.
    pub staff_id: Option<Uuid>,
    /// Dedup key.
    pub dedup_key: String,
    /// Summary line.
    pub summary: String,
}

impl RecordedAlert {
    /// The record of a finding raised at `raised_at`.
    pub fn from_finding(f: &Finding, raised_at: i64) -> RecordedAlert {
        RecordedAlert {
            raised_at,
            kind: f.kind,
            severity: f.severity,
            agent_id: f.agent_id.clone(),
            token_id: f.token_id,
            staff_id: f.staff_id,
            dedup_key: f.dedup_key.clone(),
            summary: f.summary.clone(),
        }
    }
}

/// Everything one location's day is reconciled from. Entries outside the window are ignored,
/// so the store may over-select.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyInputs {
    /// Location.
    pub location_id: Uuid,
    /// Location name, for people.
    pub location_name: String,
    /// The location's currency; every token price must be in it.
    pub currency: String,
    /// The business day.
    pub window: DayWindow,
    /// Agents of the location's routers (a router with nothing that day still gets a line).
    pub agent_ids: Vec<String>,
    /// The location's tokens issued in the window, or applied, first used, used up or expired
    /// in it.
    pub tokens: Vec<IssuedToken>,
    /// Usage of the location's routers reported in the window.
    pub usage: Vec<UsageSample>,
    /// The location's shifts closed in the window or open at its end.
    pub shifts: Vec<ShiftSummary>,
    /// Alerts raised for the location in the window.
    pub alerts: Vec<RecordedAlert>,
    /// After-sales asked for at the location (the window's and earlier ones are both fine).
    #[serde(default)]
    pub after_sales: Vec<AfterSaleLine>,
}

/// One after-sale as a report lists it. Money minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterSaleLine {
    /// Asked at, unix ms.
    pub at: i64,
    /// `void`, `replace`, `extend`, `reprint`, `disable` or `enable`.
    pub kind: String,
    /// `requested`, `done` or `rejected`.
    pub state: String,
    /// The voucher.
    pub token_id: Uuid,
    /// Its code.
    pub code: String,
    /// Cash handed back.
    pub refund_minor: i64,
    /// Revenue moved to a replacement (the replaced voucher's price).
    pub moved_minor: i64,
    /// Who asked.
    pub by: String,
    /// Why.
    pub reason: String,
}

/// After-sales in the day: counts of those carried out, money, and every line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterSalesDay {
    /// Voided.
    pub voided: u64,
    /// Replaced.
    pub replaced: u64,
    /// Extended.
    pub extended: u64,
    /// Printed again.
    pub reprinted: u64,
    /// Disabled.
    pub disabled: u64,
    /// Enabled again.
    pub enabled: u64,
    /// Refunds waiting for a manager.
    pub requested: u64,
    /// Refunds a manager refused.
    pub rejected: u64,
    /// Cash handed back.
    pub refunds_minor: i64,
    /// Revenue moved from replaced vouchers to their replacements (counted again there).
    pub moved_minor: i64,
    /// Every after-sale of the day, oldest first.
    pub lines: Vec<AfterSaleLine>,
}

impl AfterSalesDay {
    /// Nothing happened: the report then serialises exactly as before after-sales existed,
    /// so stored reports keep their hashes.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// How many tokens did what in the day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCounts {
    /// Issued in the day.
    pub issued: u64,
    /// Confirmed on the router in the day.
    pub applied: u64,
    /// First logged in with in the day.
    pub first_used: u64,
    /// Reached their limit in the day.
    pub used_up: u64,
    /// Validity ran out in the day.
    pub expired: u64,
    /// Issued in the day and not logged in with by its end.
    pub unused: u64,
    /// Issued in the day and not confirmed on the router by its end.
    pub not_applied: u64,
}

/// Usage in the day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageTotals {
    /// Uptime, seconds.
    pub uptime_s: u64,
    /// Upload, bytes.
    pub bytes_in: u64,
    /// Download, bytes.
    pub bytes_out: u64,
    /// Distinct tokens with usage.
    pub tokens_used: u64,
    /// Uptime of users mtm did not make (should be 0).
    pub unattributed_uptime_s: u64,
}

/// One router's day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterDay {
    /// The router's agent.
    pub agent_id: String,
    /// Tokens.
    pub tokens: TokenCounts,
    /// Usage.
    pub usage: UsageTotals,
    /// Price of the tokens issued for it in the day.
    pub expected_revenue_minor: i64,
}

/// Money in the day, minor units of the report's currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenueDay {
    /// Price of every token issued in the day.
    pub expected_minor: i64,
    /// Expected revenue of the shifts closed in the day.
    pub closed_shifts_expected_minor: i64,
    /// Revenue the closed shifts' declared cash confirms (declared minus float).
    pub confirmed_minor: i64,
    /// Confirmed minus closed shifts' expected (negative: short).
    pub variance_minor: i64,
    /// Shifts still open at the day's end.
    pub open_shifts: u64,
    /// Their expected revenue so far (not yet confirmed).
    pub open_shifts_expected_minor: i64,
    /// Price of tokens issued in the day outside any shift (should be 0).
    pub unshifted_minor: i64,
    /// Cash handed back for voided vouchers in the day (absent when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refunded_minor: i64,
    /// Price of vouchers replaced in the day: their sale moved to a replacement, whose price
    /// `expected_minor` counts again (absent when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub moved_minor: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// One shift in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftLine {
    /// The shift as stored.
    #[serde(flatten)]
    pub shift: ShiftSummary,
    /// Float plus expected revenue.
    pub expected_cash_minor: i64,
    /// Declared minus expected cash, once closed.
    pub variance_minor: Option<i64>,
}

/// One staff member's money in the day: their shift lines added up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffDay {
    /// Staff member.
    pub staff_id: Uuid,
    /// Their shifts in the report.
    pub shifts: u64,
    /// Tokens sold in those shifts.
    pub tokens_sold: u64,
    /// Expected revenue of their shifts closed in the day.
    pub closed_expected_minor: i64,
    /// Revenue their declared cash confirms (declared minus float).
    pub confirmed_minor: i64,
    /// Confirmed minus expected (negative: short).
    pub variance_minor: i64,
    /// Expected revenue of their shifts still open at the day's end.
    pub open_expected_minor: i64,
}

/// The content of a report; its JSON is what the hash covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportBody {
    /// [`REPORT_FORMAT`].
    pub format: u32,
    /// Location.
    pub location_id: Uuid,
    /// Location name.
    pub location_name: String,
    /// Currency of every amount.
    pub currency: String,
    /// The day.
    pub window: DayWindow,
    /// The whole location.
    pub totals: RouterDay,
    /// Per router, by agent id.
    pub routers: Vec<RouterDay>,
    /// Money.
    pub revenue: RevenueDay,
    /// Shifts, by clock-in.
    pub shifts: Vec<ShiftLine>,
    /// Expected vs confirmed revenue per staff member, by staff id (format 2).
    pub staff: Vec<StaffDay>,
    /// Alerts raised in the day, counted by kind.
    pub alerts_by_kind: BTreeMap<AlertKind, u64>,
    /// Alerts raised in the day, oldest first.
    pub alerts: Vec<RecordedAlert>,
    /// After-sales in the day; absent when there were none.
    #[serde(default, skip_serializing_if = "AfterSalesDay::is_empty")]
    pub after_sales: AfterSalesDay,
    /// The chain checkpoints signed when the report was stored (`crate::witness`): whoever
    /// keeps the report witnesses how long the ledger and audit log were then. Absent from
    /// reports made before checkpoints existed, and when none could be taken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkpoints: Vec<mtm_common::Checkpoint>,
}

/// A daily reconciliation report with the SHA-256 of its content: store both, never update
/// them, and check [`ReconciliationReport::verify`] when showing or signing off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationReport {
    /// The content.
    pub body: ReportBody,
    /// SHA-256 hex of [`ReconciliationReport::canonical_json`] of the body.
    pub content_sha256: String,
}

impl ReconciliationReport {
    /// The exact bytes the hash covers: the body as compact JSON (fields in declaration order,
    /// maps sorted, lists sorted by [`super::daily_report`]).
    pub fn canonical_json(body: &ReportBody) -> Result<Vec<u8>, ReconcileError> {
        serde_json::to_vec(body).map_err(|e| ReconcileError::Serialise(e.to_string()))
    }

    /// Whether the stored hash still matches the content.
    pub fn verify(&self) -> bool {
        ReconciliationReport::canonical_json(&self.body)
            .map(|b| hex::encode(Sha256::digest(&b)) == self.content_sha256)
            .unwrap_or(false)
    }
}
