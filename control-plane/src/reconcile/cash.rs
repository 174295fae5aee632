//! Checks at the till: cash declared at shift close, and who may dispense where.

use super::{AlertKind, Finding, Severity};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// A shift being closed, with what the ledger expects. Money in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftClose {
    /// The shift.
    pub shift_id: Uuid,
    /// Whose shift it is.
    pub staff_id: Uuid,
    /// Where.
    pub location_id: Uuid,
    /// Clock-in time (unix ms).
    pub opened_at: i64,
    /// Clock-out time (unix ms).
    pub closed_at: i64,
    /// Cash in the drawer at clock-in.
    pub opening_float_minor: i64,
    /// Sum of the expected revenue records (package price at issue) of the shift's tokens.
    pub expected_revenue_minor: i64,
    /// Number of tokens those records cover, for the evidence.
    pub tokens_sold: u64,
    /// Cash declared at clock-out.
    pub declared_cash_minor: i64,
    /// The location's threshold: a variance of at most this much, either way, raises nothing.
    pub threshold_minor: i64,
    /// Currency code.
    pub currency: String,
    /// The manager who closed a forgotten shift, if it was not the staff member.
    pub closed_by: Option<Uuid>,
}

/// What a shift close comes to; store the figures on the shift and the finding as an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftCloseOutcome {
    /// Opening float plus expected revenue.
    pub expected_cash_minor: i64,
    /// Declared minus expected (negative: short).
    pub variance_minor: i64,
    /// Revenue the declared cash confirms: declared minus float.
    pub confirmed_revenue_minor: i64,
    /// Cash short or over beyond the threshold.
    pub finding: Option<Finding>,
}

/// Compare declared with expected cash at clock-out (or when a manager closes a forgotten
/// shift, with the cash counted then).
pub fn check_shift_close(shift: &ShiftClose) -> ShiftCloseOutcome {
    let expected = shift
        .opening_float_minor
        .saturating_add(shift.expected_revenue_minor);
    let variance = shift.declared_cash_minor.saturating_sub(expected);
    let confirmed = shift
        .declared_cash_minor
        .saturating_sub(shift.opening_float_minor);
    let threshold = shift.threshold_minor.max(0);
    let finding = (variance.unsigned_abs() > threshold.unsigned_abs()).then(|| {
        let (kind, severity, word) = if variance < 0 {
            (AlertKind::CashShort, Severity::Critical, "short")
        } else {
            (AlertKind::CashOver, Severity::Warning, "over")
        };
        let message = json!({
            "amount": { "minor": variance.saturating_abs(), "currency": shift.currency },
        });
        Finding {
            kind,
            severity,
            agent_id: None,
            router_id: None,
            location_id: Some(shift.location_id),
            staff_id: Some(shift.staff_id),
            shift_id: Some(shift.shift_id),
            token_id: None,
            dedup_key: format!("{}:{}", kind.as_str(), shift.shift_id),
            summary: format!(
                "cash {word} by {} at shift close",
                crate::money::format(variance.saturating_abs(), &shift.currency)
            ),
            evidence: json!({
                "opening_float_minor": shift.opening_float_minor,
                "expected_revenue_minor": shift.expected_revenue_minor,
                "tokens_sold": shift.tokens_sold,
                "expected_cash_minor": expected,
                "declared_cash_minor": shift.declared_cash_minor,
                "variance_minor": variance,
                "threshold_minor": threshold,
                "currency": shift.currency,
                "opened_at": shift.opened_at,
                "closed_at": shift.closed_at,
                "closed_by": shift.closed_by,
            }),
        }
        .with_message(&format!("alert-msg-cash-{word}"), message)
    });
    ShiftCloseOutcome {
        expected_cash_minor: expected,
        variance_minor: variance,
        confirmed_revenue_minor: confirmed,
        finding,
    }
}

/// The shift a staff member has open now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenShift {
    /// The shift.
    pub shift_id: Uuid,
    /// Where it was opened.
    pub location_id: Uuid,
}

/// Someone pressing a package on the dispense page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispenseAttempt {
    /// Who.
    pub staff_id: Uuid,
    /// At which location they are dispensing.
    pub location_id: Uuid,
    /// When (unix ms).
    pub at: i64,
    /// Which package.
    pub package_slug: String,
    /// Their open shift, if any.
    pub open_shift: Option<OpenShift>,
    /// Locations they belong to; empty means "not checked here".
    pub staff_location_ids: Vec<Uuid>,
}

/// Allow a dispense (returning the shift to sell it in) or refuse it with the alert to raise
/// (boxed: a finding is large and the refusal is the rare path).
///
/// Every dispense needs an open shift at the same location, so every voucher lands in some
/// shift's expected cash.
pub fn check_dispense(attempt: &DispenseAttempt) -> Result<Uuid, Box<Finding>> {
    let refuse = |kind: AlertKind, reason: &str| {
        let summary = match kind {
            AlertKind::DispenseOutsideShift => "dispense refused: no open shift".to_string(),
            _ => "dispense refused: shift is at another location".to_string(),
        };
        Box::new(
            Finding {
                kind,
                severity: Severity::Warning,
                agent_id: None,
                router_id: None,
                location_id: Some(attempt.location_id),
                staff_id: Some(attempt.staff_id),
                shift_id: attempt.open_shift.map(|s| s.shift_id),
                token_id: None,
                // Repeated presses within a minute are one attempt.
                dedup_key: format!(
                    "{}:{}:{}:{}",
                    kind.as_str(),
                    attempt.staff_id,
                    attempt.location_id,
                    attempt.at.div_euclid(60_000)
                ),
                summary,
                evidence: json!({
                    "reason": reason,
                    "package_slug": attempt.package_slug,
                    "at": attempt.at,
                    "location_id": attempt.location_id,
                    "shift_location_id": attempt.open_shift.map(|s| s.location_id),
                    "staff_location_ids": attempt.staff_location_ids,
                }),
            }
            .with_message(&format!("alert-msg-dispense-{reason}"), json!({})),
        )
    };
    let Some(shift) = attempt.open_shift else {
        return Err(refuse(AlertKind::DispenseOutsideShift, "no_open_shift"));
    };
    if shift.location_id != attempt.location_id {
        return Err(refuse(
            AlertKind::DispenseWrongLocation,
            "shift_at_other_location",
        ));
    }
    // An empty list is no location at all, never "unchecked".
    if !attempt.staff_location_ids.contains(&attempt.location_id) {
        return Err(refuse(
            AlertKind::DispenseWrongLocation,
            "not_a_location_of_staff",
        ));
    }
    Ok(shift.shift_id)
}
