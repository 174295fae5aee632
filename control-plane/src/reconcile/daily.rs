//! The daily reconciliation report of one location, per router, stored immutable.

use super::{AlertKind, DayWindow, Finding, IssuedToken, ReconcileError, Severity, TokenState};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// Version of [`ReportBody`]'s shape; part of the hashed content.
pub const REPORT_FORMAT: u32 = 1;

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
    /// Alerts raised in the day, counted by kind.
    pub alerts_by_kind: BTreeMap<AlertKind, u64>,
    /// Alerts raised in the day, oldest first.
    pub alerts: Vec<RecordedAlert>,
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
    /// maps sorted, lists sorted by [`daily_report`]).
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

/// Reconcile one location's day. The same inputs (in any order) give the same report and hash.
pub fn daily_report(inputs: &DailyInputs) -> Result<ReconciliationReport, ReconcileError> {
    let w = &inputs.window;
    let mut agents: BTreeSet<&str> = inputs.agent_ids.iter().map(String::as_str).collect();
    agents.extend(inputs.tokens.iter().map(|t| t.agent_id.as_str()));
    agents.extend(inputs.usage.iter().filter(|u| w.contains(u.at)).map(|u| u.agent_id.as_str()));
    let mut routers: BTreeMap<&str, RouterDay> = agents
        .into_iter()
        .map(|a| (a, RouterDay { agent_id: a.to_string(), ..RouterDay::default() }))
        .collect();
    let mut revenue = RevenueDay::default();

    // Each token once, whatever the store's over-selection repeated.
    let tokens: BTreeMap<Uuid, &IssuedToken> = inputs.tokens.iter().map(|t| (t.token_id, t)).collect();
    for t in tokens.values() {
        let issued_today = w.contains(t.issued_at);
        if issued_today && !t.currency.is_empty() && t.currency != inputs.currency {
            return Err(ReconcileError::MixedCurrency(inputs.currency.clone(), t.currency.clone()));
        }
        let Some(r) = routers.get_mut(t.agent_id.as_str()) else { continue };
        let c = &mut r.tokens;
        let before_end = |at: Option<i64>| at.is_some_and(|x| x < w.end_ms);
        if issued_today {
            c.issued += 1;
            c.unused += u64::from(!before_end(t.first_login_at));
            c.not_applied += u64::from(!before_end(t.applied_at));
            r.expected_revenue_minor += t.price_minor;
            revenue.expected_minor += t.price_minor;
            if t.shift_id.is_none() {
                revenue.unshifted_minor += t.price_minor;
            }
        }
        c.applied += u64::from(w.contains_opt(t.applied_at));
        c.first_used += u64::from(w.contains_opt(t.first_login_at));
        let used_up = match t.used_up_at {
            Some(at) => w.contains(at),
            None => t.state == TokenState::UsedUp && issued_today,
        };
        c.used_up += u64::from(used_up);
        c.expired += u64::from(w.contains_opt(t.expired_at));
    }

    let mut used: BTreeMap<&str, BTreeSet<Uuid>> = BTreeMap::new();
    for u in inputs.usage.iter().filter(|u| w.contains(u.at)) {
        let Some(r) = routers.get_mut(u.agent_id.as_str()) else { continue };
        r.usage.uptime_s += u.delta_uptime_s;
        r.usage.bytes_in += u.delta_bytes_in;
        r.usage.bytes_out += u.delta_bytes_out;
        match u.token_id {
            Some(id) => {
                used.entry(u.agent_id.as_str()).or_default().insert(id);
            }
            None => r.usage.unattributed_uptime_s += u.delta_uptime_s,
        }
    }
    for (agent, ids) in used {
        if let Some(r) = routers.get_mut(agent) {
            r.usage.tokens_used = ids.len() as u64;
        }
    }

    let unique_shifts: BTreeMap<Uuid, &ShiftSummary> =
        inputs.shifts.iter().map(|s| (s.shift_id, s)).collect();
    let mut shifts: Vec<ShiftLine> = Vec::new();
    for s in unique_shifts.into_values() {
        let expected_cash = s.opening_float_minor + s.expected_revenue_minor;
        let closed_today = w.contains_opt(s.closed_at);
        let open_at_end = s.opened_at < w.end_ms && !before(s.closed_at, w.end_ms);
        if !closed_today && !open_at_end {
            continue;
        }
        let variance = match (closed_today, s.declared_cash_minor) {
            (true, Some(declared)) => {
                revenue.closed_shifts_expected_minor += s.expected_revenue_minor;
                revenue.confirmed_minor += declared - s.opening_float_minor;
                Some(declared - expected_cash)
            }
            _ => {
                revenue.open_shifts += 1;
                revenue.open_shifts_expected_minor += s.expected_revenue_minor;
                None
            }
        };
        shifts.push(ShiftLine { shift: s.clone(), expected_cash_minor: expected_cash, variance_minor: variance });
    }
    revenue.variance_minor = revenue.confirmed_minor - revenue.closed_shifts_expected_minor;
    shifts.sort_by(|a, b| (a.shift.opened_at, a.shift.shift_id).cmp(&(b.shift.opened_at, b.shift.shift_id)));

    // One alert per dedup key (the earliest), oldest first.
    let mut by_key: BTreeMap<&str, &RecordedAlert> = BTreeMap::new();
    for a in inputs.alerts.iter().filter(|a| w.contains(a.raised_at)) {
        let keep = by_key.get(a.dedup_key.as_str()).is_none_or(|k| a.raised_at < k.raised_at);
        if keep {
            by_key.insert(a.dedup_key.as_str(), a);
        }
    }
    let mut alerts: Vec<RecordedAlert> = by_key.into_values().cloned().collect();
    alerts.sort_by(|a, b| (a.raised_at, &a.dedup_key).cmp(&(b.raised_at, &b.dedup_key)));
    let mut alerts_by_kind = BTreeMap::new();
    for a in &alerts {
        *alerts_by_kind.entry(a.kind).or_insert(0u64) += 1;
    }

    let routers: Vec<RouterDay> = routers.into_values().collect();
    let totals = sum_routers(&routers);
    let body = ReportBody {
        format: REPORT_FORMAT,
        location_id: inputs.location_id,
        location_name: inputs.location_name.clone(),
        currency: inputs.currency.clone(),
        window: w.clone(),
        totals,
        routers,
        revenue,
        shifts,
        alerts_by_kind,
        alerts,
    };
    let bytes = ReconciliationReport::canonical_json(&body)?;
    Ok(ReconciliationReport { content_sha256: hex::encode(Sha256::digest(&bytes)), body })
}

fn before(at: Option<i64>, end: i64) -> bool {
    at.is_some_and(|t| t < end)
}

/// The location line: every router's figures added (distinct tokens used add up because a
/// token lives on one router).
fn sum_routers(routers: &[RouterDay]) -> RouterDay {
    let mut t = RouterDay { agent_id: "*".to_string(), ..RouterDay::default() };
    for r in routers {
        let (a, b) = (&mut t.tokens, &r.tokens);
        a.issued += b.issued;
        a.applied += b.applied;
        a.first_used += b.first_used;
        a.used_up += b.used_up;
        a.expired += b.expired;
        a.unused += b.unused;
        a.not_applied += b.not_applied;
        let (a, b) = (&mut t.usage, &r.usage);
        a.uptime_s += b.uptime_s;
        a.bytes_in += b.bytes_in;
        a.bytes_out += b.bytes_out;
        a.tokens_used += b.tokens_used;
        a.unattributed_uptime_s += b.unattributed_uptime_s;
        t.expected_revenue_minor += r.expected_revenue_minor;
    }
    t
}
