//! The daily reconciliation of one location, per router: counting, summing and hashing.
//! Counts saturate; money sums are checked: an amount past 64 bits makes the report fail with
//! `ReconcileError::Overflow`, never a wrapped or clamped figure that looks right.

use super::report::{
    AfterSalesDay, DailyInputs, ReconciliationReport, RecordedAlert, ReportBody, RevenueDay,
    RouterDay, ShiftLine, ShiftSummary, StaffDay, REPORT_FORMAT,
};
use super::{IssuedToken, ReconcileError, TokenState};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// Reconcile one location's day. The same inputs (in any order) give the same report and hash.
pub fn daily_report(inputs: &DailyInputs) -> Result<ReconciliationReport, ReconcileError> {
    let w = &inputs.window;
    let mut agents: BTreeSet<&str> = inputs.agent_ids.iter().map(String::as_str).collect();
    agents.extend(inputs.tokens.iter().map(|t| t.agent_id.as_str()));
    agents.extend(
        inputs
            .usage
            .iter()
            .filter(|u| w.contains(u.at))
            .map(|u| u.agent_id.as_str()),
    );
    let mut routers: BTreeMap<&str, RouterDay> = agents
        .into_iter()
        .map(|a| {
            (
                a,
                RouterDay {
                    agent_id: a.to_string(),
                    ..RouterDay::default()
                },
            )
        })
        .collect();
    let mut revenue = RevenueDay::default();

    // Each token once, whatever the store's over-selection repeated.
    let tokens: BTreeMap<Uuid, &IssuedToken> =
        inputs.tokens.iter().map(|t| (t.token_id, t)).collect();
    for t in tokens.values() {
        let issued_today = w.contains(t.issued_at);
        if issued_today && !t.currency.is_empty() && t.currency != inputs.currency {
            return Err(ReconcileError::MixedCurrency(
                inputs.currency.clone(),
                t.currency.clone(),
            ));
        }
        let Some(r) = routers.get_mut(t.agent_id.as_str()) else {
            continue;
        };
        let c = &mut r.tokens;
        let before_end = |at: Option<i64>| at.is_some_and(|x| x < w.end_ms);
        if issued_today {
            c.issued = c.issued.saturating_add(1);
            c.unused = c
                .unused
                .saturating_add(u64::from(!before_end(t.first_login_at)));
            c.not_applied = c
                .not_applied
                .saturating_add(u64::from(!before_end(t.applied_at)));
            r.expected_revenue_minor = add(r.expected_revenue_minor, t.price_minor)?;
            revenue.expected_minor = add(revenue.expected_minor, t.price_minor)?;
            if t.shift_id.is_none() {
                revenue.unshifted_minor = add(revenue.unshifted_minor, t.price_minor)?;
            }
        }
        c.applied = c
            .applied
            .saturating_add(u64::from(w.contains_opt(t.applied_at)));
        c.first_used = c
            .first_used
            .saturating_add(u64::from(w.contains_opt(t.first_login_at)));
        let used_up = match t.used_up_at {
            Some(at) => w.contains(at),
            None => t.state == TokenState::UsedUp && issued_today,
        };
        c.used_up = c.used_up.saturating_add(u64::from(used_up));
        c.expired = c
            .expired
            .saturating_add(u64::from(w.contains_opt(t.expired_at)));
    }

    let mut used: BTreeMap<&str, BTreeSet<Uuid>> = BTreeMap::new();
    for u in inputs.usage.iter().filter(|u| w.contains(u.at)) {
        let Some(r) = routers.get_mut(u.agent_id.as_str()) else {
            continue;
        };
        r.usage.uptime_s = r.usage.uptime_s.saturating_add(u.delta_uptime_s);
        r.usage.bytes_in = r.usage.bytes_in.saturating_add(u.delta_bytes_in);
        r.usage.bytes_out = r.usage.bytes_out.saturating_add(u.delta_bytes_out);
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
        let expected_cash = add(s.opening_float_minor, s.expected_revenue_minor)?;
        let closed_today = w.contains_opt(s.closed_at);
        let open_at_end = s.opened_at < w.end_ms && !before(s.closed_at, w.end_ms);
        if !closed_today && !open_at_end {
            continue;
        }
        let variance = match (closed_today, s.declared_cash_minor) {
            (true, Some(declared)) => {
                revenue.closed_shifts_expected_minor = add(
                    revenue.closed_shifts_expected_minor,
                    s.expected_revenue_minor,
                )?;
                revenue.confirmed_minor = add(
                    revenue.confirmed_minor,
                    sub(declared, s.opening_float_minor)?,
                )?;
                Some(sub(declared, expected_cash)?)
            }
            _ => {
                revenue.open_shifts = revenue.open_shifts.saturating_add(1);
                revenue.open_shifts_expected_minor =
                    add(revenue.open_shifts_expected_minor, s.expected_revenue_minor)?;
                None
            }
        };
        shifts.push(ShiftLine {
            shift: s.clone(),
            expected_cash_minor: expected_cash,
            variance_minor: variance,
        });
    }
    let after_sales = after_sales_day(inputs)?;
    revenue.refunded_minor = after_sales.refunds_minor;
    revenue.moved_minor = after_sales.moved_minor;
    revenue.variance_minor = sub(
        revenue.confirmed_minor,
        revenue.closed_shifts_expected_minor,
    )?;
    shifts.sort_by(|a, b| {
        (a.shift.opened_at, a.shift.shift_id).cmp(&(b.shift.opened_at, b.shift.shift_id))
    });

    let staff = staff_days(&shifts)?;

    // One alert per dedup key (the earliest), oldest first.
    let mut by_key: BTreeMap<&str, &RecordedAlert> = BTreeMap::new();
    for a in inputs.alerts.iter().filter(|a| w.contains(a.raised_at)) {
        let keep = by_key
            .get(a.dedup_key.as_str())
            .is_none_or(|k| a.raised_at < k.raised_at);
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
    let totals = sum_routers(&routers)?;
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
        staff,
        after_sales,
        alerts_by_kind,
        alerts,
        checkpoints: Vec::new(),
    };
    let bytes = ReconciliationReport::canonical_json(&body)?;
    Ok(ReconciliationReport {
        content_sha256: hex::encode(Sha256::digest(&bytes)),
        body,
    })
}

/// Each staff member's shift lines added up, by staff id.
fn staff_days(shifts: &[ShiftLine]) -> Result<Vec<StaffDay>, ReconcileError> {
    let mut by_staff: BTreeMap<Uuid, StaffDay> = BTreeMap::new();
    for line in shifts {
        let s = &line.shift;
        let d = by_staff.entry(s.staff_id).or_insert_with(|| StaffDay {
            staff_id: s.staff_id,
            ..StaffDay::default()
        });
        d.shifts = d.shifts.saturating_add(1);
        d.tokens_sold = d.tokens_sold.saturating_add(s.tokens_sold);
        match (line.variance_minor, s.declared_cash_minor) {
            (Some(_), Some(declared)) => {
                d.closed_expected_minor = add(d.closed_expected_minor, s.expected_revenue_minor)?;
                d.confirmed_minor = add(d.confirmed_minor, sub(declared, s.opening_float_minor)?)?;
            }
            _ => d.open_expected_minor = add(d.open_expected_minor, s.expected_revenue_minor)?,
        }
        d.variance_minor = sub(d.confirmed_minor, d.closed_expected_minor)?;
    }
    Ok(by_staff.into_values().collect())
}

/// `a + b` in minor units, or the report fails.
fn add(a: i64, b: i64) -> Result<i64, ReconcileError> {
    a.checked_add(b).ok_or(ReconcileError::Overflow)
}

/// `a - b` in minor units, or the report fails.
fn sub(a: i64, b: i64) -> Result<i64, ReconcileError> {
    a.checked_sub(b).ok_or(ReconcileError::Overflow)
}

fn before(at: Option<i64>, end: i64) -> bool {
    at.is_some_and(|t| t < end)
}

/// The location line: every router's figures added (distinct tokens used add up because a
/// token lives on one router).
fn sum_routers(routers: &[RouterDay]) -> Result<RouterDay, ReconcileError> {
    let mut t = RouterDay {
        agent_id: "*".to_string(),
        ..RouterDay::default()
    };
    for r in routers {
        let (a, b) = (&mut t.tokens, &r.tokens);
        a.issued = a.issued.saturating_add(b.issued);
        a.applied = a.applied.saturating_add(b.applied);
        a.first_used = a.first_used.saturating_add(b.first_used);
        a.used_up = a.used_up.saturating_add(b.used_up);
        a.expired = a.expired.saturating_add(b.expired);
        a.unused = a.unused.saturating_add(b.unused);
        a.not_applied = a.not_applied.saturating_add(b.not_applied);
        let (a, b) = (&mut t.usage, &r.usage);
        a.uptime_s = a.uptime_s.saturating_add(b.uptime_s);
        a.bytes_in = a.bytes_in.saturating_add(b.bytes_in);
        a.bytes_out = a.bytes_out.saturating_add(b.bytes_out);
        a.tokens_used = a.tokens_used.saturating_add(b.tokens_used);
        a.unattributed_uptime_s = a
            .unattributed_uptime_s
            .saturating_add(b.unattributed_uptime_s);
        t.expected_revenue_minor = add(t.expected_revenue_minor, r.expected_revenue_minor)?;
    }
    Ok(t)
}

/// The day's after-sales: counts of those carried out, their money, and every line.
fn after_sales_day(inputs: &DailyInputs) -> Result<AfterSalesDay, ReconcileError> {
    let mut day = AfterSalesDay::default();
    let mut lines: Vec<_> = inputs
        .after_sales
        .iter()
        .filter(|l| inputs.window.contains(l.at))
        .cloned()
        .collect();
    lines.sort_by(|a, b| (a.at, a.token_id, &a.kind).cmp(&(b.at, b.token_id, &b.kind)));
    lines.dedup();
    for l in &lines {
        match l.state.as_str() {
            "requested" => day.requested = day.requested.saturating_add(1),
            "rejected" => day.rejected = day.rejected.saturating_add(1),
            _ => {
                let n = match l.kind.as_str() {
                    "void" => &mut day.voided,
                    "replace" => &mut day.replaced,
                    "extend" => &mut day.extended,
                    "reprint" => &mut day.reprinted,
                    "disable" => &mut day.disabled,
                    _ => &mut day.enabled,
                };
                *n = n.saturating_add(1);
                day.refunds_minor = add(day.refunds_minor, l.refund_minor)?;
                day.moved_minor = add(day.moved_minor, l.moved_minor)?;
            }
        }
    }
    day.lines = lines;
    Ok(day)
}
