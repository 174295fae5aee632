//! Vouchers an agent made under commands this control plane signed, which the ledger no longer
//! knows. Only the database can have lost them (restored from an older backup, or cut short by
//! its owner), so they are reported as the database's problem, never as a rogue user against
//! the staff on duty.

use super::{AlertKind, Finding, RouterRef, Severity};
use mtm_common::IssuedHere;
use serde_json::json;
use uuid::Uuid;

/// The voucher in `vouched` that the agent made as `code` (and `token_id`, when the router
/// still shows its comment).
pub(super) fn vouched<'a>(
    vouched: &'a [IssuedHere],
    token_id: Option<Uuid>,
    code: &str,
) -> Option<&'a IssuedHere> {
    vouched
        .iter()
        .find(|i| i.code == code && token_id.is_none_or(|t| t == i.token_id))
}

/// The finding for a voucher the agent vouches for and the ledger lacks. One alert per router
/// and day of issue however many such vouchers its reports show, so restoring yesterday's
/// backup is a handful of alerts to resolve with the restore's record, not one per sale.
pub(super) fn lost_from_ledger(router: &RouterRef, issued: &IssuedHere, seen_as: &str) -> Finding {
    let day = issued.issued_at.div_euclid(86_400_000);
    router.finding(
        AlertKind::WitnessMismatch,
        Severity::Critical,
        format!("witness:issued:{}:{day}", router.agent_id),
        format!(
            "voucher {} on router {} was issued by mtm (the agent made it under a signed \
             command) but the database does not know it: restored from an older backup, or cut \
             short",
            issued.code, router.agent_id
        ),
        json!({
            "token_id": issued.token_id,
            "code": issued.code,
            "issued_at": issued.issued_at,
            "seen_as": seen_as,
        }),
    )
}
