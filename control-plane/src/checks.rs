//! Runs the `reconcile` checks when their evidence arrives and stores what they find as alerts.
//! So far: every `Inventory` an agent sends (rogue, tampered and missing tokens) and every
//! `Usage` report (reused tokens, rogue users seen only in usage). A rogue alert names the
//! shifts on duty at the router's location when the user could have been sold.

use crate::reconcile::{
    attribute, check_inventory, check_missing, check_usage, inventory_before, needs_duty,
    sale_window, DutyShift, Finding, InventoryKeys, IssuedIndex, ReconcileConfig, RouterRef,
};
use crate::store::{now_ms, Store, StoreError};
use mtm_common::{Inventory, UsageReport};
use std::collections::HashMap;
use uuid::Uuid;

/// Check one inventory taken at `taken_at` (the envelope's `at`) by `agent_id`'s router and
/// raise an alert per new finding. Returns how many alerts were new.
pub async fn after_inventory(
    store: &dyn Store,
    agent_id: &str,
    inventory: &Inventory,
    taken_at: i64,
) -> Result<usize, StoreError> {
    let Some(router) = store.router_by_agent(agent_id).await? else {
        return Ok(0);
    };
    let keys = InventoryKeys::of(inventory);
    let tokens = store
        .issued_tokens(router.id, &keys.token_ids, &keys.codes)
        .await?;
    let who = RouterRef {
        agent_id: agent_id.to_owned(),
        router_id: Some(router.id),
        location_id: Some(router.location_id),
    };
    let expected: Vec<_> = tokens
        .iter()
        .filter(|t| t.agent_id == agent_id)
        .cloned()
        .collect();
    let index = IssuedIndex::new(tokens);
    let config = ReconcileConfig::default();
    let mut findings = check_inventory(&who, inventory, taken_at, &index, &config);
    findings.extend(check_missing(&who, inventory, taken_at, &expected));
    attribute_rogues(store, &router, taken_at, &mut findings).await?;
    raise_all(store, agent_id, &findings).await
}

/// Usage deltas (uptime seconds, bytes in + out) per token that the store already holds but
/// that were not ingested before the report being checked: the report's own and those of
/// later reports committed in the same batch.
pub type PendingUsage = HashMap<Uuid, (u64, u64)>;

/// The deltas one usage report adds, per token.
pub fn usage_deltas(report: &UsageReport) -> PendingUsage {
    let mut out = PendingUsage::new();
    for u in &report.entries {
        if let Some(id) = u.token_id {
            let e = out.entry(id).or_default();
            e.0 = e.0.saturating_add(u.delta_uptime_s);
            e.1 =
                e.1.saturating_add(u.delta_bytes_in.saturating_add(u.delta_bytes_out));
        }
    }
    out
}

/// Check one usage report taken at `taken_at` by `agent_id`'s router, after the batch holding
/// it committed, and raise an alert per new finding. Returns how many alerts were new.
///
/// `check_usage` wants the sums *before* this report, so `pending` (see [`PendingUsage`]) is
/// taken off what the store sums now. Subtracting errs towards leniency: a duplicate the store
/// skipped would make the sum look smaller, never larger, so it cannot raise a false alarm.
pub async fn after_usage(
    store: &dyn Store,
    agent_id: &str,
    report: &UsageReport,
    taken_at: i64,
    pending: &PendingUsage,
) -> Result<usize, StoreError> {
    let Some(router) = store.router_by_agent(agent_id).await? else {
        return Ok(0);
    };
    let ids: Vec<Uuid> = report.entries.iter().filter_map(|u| u.token_id).collect();
    let codes: Vec<String> = report
        .entries
        .iter()
        .filter(|u| u.token_id.is_none())
        .map(|u| u.username.clone())
        .collect();
    // Only the tokens the report names: a usage report comes every poll, and the router's other
    // tokens are the inventory check's business.
    let mut tokens = store.named_tokens(router.id, &ids, &codes).await?;
    for t in &mut tokens {
        if let Some(&(uptime, bytes)) = pending.get(&t.token_id) {
            t.used_uptime_s = t.used_uptime_s.saturating_sub(uptime);
            t.used_bytes = t.used_bytes.saturating_sub(bytes);
        }
    }
    let who = RouterRef {
        agent_id: agent_id.to_owned(),
        router_id: Some(router.id),
        location_id: Some(router.location_id),
    };
    let index = IssuedIndex::new(tokens);
    let mut findings = check_usage(&who, report, taken_at, &index, &ReconcileConfig::default());
    attribute_rogues(store, &router, taken_at, &mut findings).await?;
    raise_all(store, agent_id, &findings).await
}

/// Attribute each rogue finding of a report taken at `taken_at` by `router` to the shifts open
/// at its location in the finding's sale window (see `reconcile::attribute`), which starts at
/// the router's inventory before the report. One query covers every rogue finding of the
/// report; reports without one cost nothing.
async fn attribute_rogues(
    store: &dyn Store,
    router: &crate::store::Router,
    taken_at: i64,
    findings: &mut [Finding],
) -> Result<(), StoreError> {
    if !findings.iter().any(needs_duty) {
        return Ok(());
    }
    let since = store
        .inventory_times(router.id)
        .await?
        .and_then(|(at, prev)| inventory_before(at, prev, taken_at));
    let windows: Vec<(usize, (i64, i64))> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| needs_duty(f))
        .map(|(i, f)| (i, sale_window(f, taken_at, since)))
        .collect();
    let from = windows.iter().map(|(_, w)| w.0).min().unwrap_or(taken_at);
    let to = windows.iter().map(|(_, w)| w.1).max().unwrap_or(taken_at);
    let shifts = store
        .shifts_overlapping(router.location_id, from, to)
        .await?;
    let mut names: HashMap<Uuid, String> = HashMap::new();
    let mut duty = Vec::with_capacity(shifts.len());
    for s in shifts {
        let staff = match names.get(&s.staff_id) {
            Some(n) => n.clone(),
            None => {
                // A deleted user still has an id worth showing.
                let n = store
                    .user(s.staff_id)
                    .await?
                    .map_or_else(|| s.staff_id.to_string(), |u| u.username);
                names.insert(s.staff_id, n.clone());
                n
            }
        };
        duty.push(DutyShift {
            shift_id: s.id,
            staff_id: s.staff_id,
            staff,
            opened_at: s.opened_at,
            closed_at: s.closed_at,
        });
    }
    for (i, (from, to)) in windows {
        if let Some(f) = findings.get_mut(i) {
            attribute(f, &duty, from, to);
        }
    }
    Ok(())
}

/// Store each finding as an alert unless its dedup key is known; how many were new.
async fn raise_all(
    store: &dyn Store,
    agent_id: &str,
    findings: &[Finding],
) -> Result<usize, StoreError> {
    let mut raised = 0;
    for f in findings {
        if store.raise_alert(f, now_ms()).await?.is_some() {
            tracing::warn!(agent = agent_id, kind = f.kind.as_str(), summary = %f.summary, "alert");
            raised += 1;
        }
    }
    Ok(raised)
}
