//! Runs the `reconcile` checks when their evidence arrives and stores what they find as alerts.
//! So far: every `Inventory` an agent sends (rogue, tampered and missing tokens) and every
//! `Usage` report (reused tokens, rogue users seen only in usage). A rogue alert names the
//! shifts on duty at the router's location when the user could have been sold.
//!
//! The store records what each check needs (`pending_checks`) in the transaction that applies
//! the evidence; the ingest runs them right after its commit, and [`sweep_loop`] runs whatever
//! a server that stopped in between left behind. So no alert depends on the process surviving
//! the moment after a commit.

use crate::reconcile::{
    attribute, check_inventory, check_missing, check_usage, inventory_before, needs_duty,
    sale_window, DutyShift, Finding, InventoryKeys, IssuedIndex, ReconcileConfig, RouterRef,
};
use crate::store::{now_ms, Alert, CheckEvidence, PendingCheck, Router, Store, StoreError};
use futures::stream::{self, StreamExt};
use mtm_common::{Inventory, UsageReport};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// How many pending checks one pass takes at most.
const PASS_LIMIT: u32 = 500;

/// How long a pending check may wait before the sweeper runs it: the replica that applied it
/// runs it right after its commit, so one still there after this was left by a server that
/// stopped in between (or whose checks failed).
pub const SWEEP_AFTER_MS: i64 = 30_000;

/// What one pass of checks did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Alerts that were new.
    pub raised: usize,
    /// Checks still pending after the pass: those that failed, and at least one more when
    /// the pass read as many as it takes (more may wait beyond them).
    pub left: usize,
}

/// Run the alert checks applied evidence still owes: `agents`' (every router's for none)
/// recorded before `created_before`, in seq order per router, each forgotten once its alerts
/// are stored. A check that fails stays pending and is tried again later. Running a check
/// twice (two replicas, a sweeper racing the ingest) raises nothing twice: alerts are unique on
/// their dedup key.
pub async fn run_pending(
    store: &dyn Store,
    agents: &[&str],
    created_before: i64,
) -> Result<Pass, StoreError> {
    let checks = store
        .pending_checks(agents, created_before, PASS_LIMIT)
        .await?;
    let full = checks.len() >= PASS_LIMIT as usize;
    let mut pass = run(store, checks).await?;
    if full {
        pass.left = pass.left.max(1);
    }
    Ok(pass)
}

/// Run `checks`, which applies recorded as pending (an ingest hands on those its batch
/// recorded, so they need not be read back), and forget each once its alerts are stored.
/// What fails stays pending for [`sweep_loop`].
pub async fn run(store: &dyn Store, mut checks: Vec<PendingCheck>) -> Result<Pass, StoreError> {
    if checks.is_empty() {
        return Ok(Pass::default());
    }
    let owed = checks.len();
    checks.sort_by_key(|c| (c.router_id, c.seq));
    // One router's checks in seq order (an inventory's findings before the next one's); the
    // routers side by side, since each check is a few reads the pass would otherwise wait on
    // one after another.
    let mut by_router: Vec<Vec<PendingCheck>> = Vec::new();
    for check in checks {
        match by_router.last_mut() {
            Some(g) if g.first().is_some_and(|c| c.router_id == check.router_id) => g.push(check),
            _ => by_router.push(vec![check]),
        }
    }
    let passes: Vec<(usize, Vec<(Uuid, u64)>)> = stream::iter(by_router)
        .map(|checks| run_router_checks(store, checks))
        .buffer_unordered(ROUTERS_AT_ONCE)
        .collect()
        .await;
    let raised = passes.iter().map(|(n, _)| n).sum();
    let finished: Vec<(Uuid, u64)> = passes.into_iter().flat_map(|(_, f)| f).collect();
    // Forgotten together once their alerts are stored; a pass cut short runs them again, which
    // raises nothing twice.
    store.finish_checks(&finished).await?;
    Ok(Pass {
        raised,
        left: owed.saturating_sub(finished.len()),
    })
}

/// Routers whose checks run at once: each holds a database connection while it reads, and
/// the pool (8) also serves the ingest and the pages.
const ROUTERS_AT_ONCE: usize = 4;

/// One router's pending checks, in order: how many alerts were new, and the checks done.
async fn run_router_checks(
    store: &dyn Store,
    checks: Vec<PendingCheck>,
) -> (usize, Vec<(Uuid, u64)>) {
    let mut raised = 0;
    let mut finished = Vec::with_capacity(checks.len());
    // The checks are grouped by router, so they share its agent: one lookup serves them all.
    let Some(first) = checks.first() else {
        return (0, finished);
    };
    let router = match store.router_by_agent(&first.agent_id).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(agent = %first.agent_id, error = %e,
                "alert checks could not find their router; they stay pending");
            return (0, finished);
        }
    };
    for check in checks {
        let done = match &router {
            // A router since deleted (or an agent re-enrolled elsewhere) has nothing to check.
            None => Ok(0),
            Some(router) => match &check.evidence {
                CheckEvidence::Inventory { inventory } => {
                    after_inventory(store, router, &check.agent_id, inventory, check.at).await
                }
                CheckEvidence::Usage { report, before } => {
                    after_usage(store, router, &check.agent_id, report, check.at, before).await
                }
            },
        };
        match done {
            Ok(n) => {
                raised += n;
                finished.push((check.router_id, check.seq));
            }
            Err(e) => {
                tracing::error!(agent = %check.agent_id, seq = check.seq, error = %e,
                    "alert check failed; it stays pending");
            }
        }
    }
    (raised, finished)
}

/// Every `every`, run the checks left pending for longer than [`SWEEP_AFTER_MS`] (at start
/// too: what a killed server owed is found on the next one).
pub async fn sweep_loop(store: std::sync::Arc<dyn Store>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let before = now_ms().saturating_sub(SWEEP_AFTER_MS);
        if let Err(e) = run_pending(&*store, &[], before).await {
            tracing::warn!(error = %e, "pending alert checks could not run");
        }
    }
}

/// Check one inventory taken at `taken_at` (the envelope's `at`) by `agent_id`'s router and
/// raise an alert per new finding. Returns how many alerts were new.
async fn after_inventory(
    store: &dyn Store,
    router: &Router,
    agent_id: &str,
    inventory: &Inventory,
    taken_at: i64,
) -> Result<usize, StoreError> {
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
    drop_raised(store, &mut findings).await?;
    attribute_rogues(store, router, taken_at, &mut findings).await?;
    Ok(raise(store, &findings, now_ms()).await?.len())
}

/// Check one usage report taken at `taken_at` by `agent_id`'s router and raise an alert per
/// new finding. Returns how many alerts were new.
///
/// `check_usage` wants each token's sums from before this report: `before` holds them as the
/// store had them when it applied the report, so the check judges the same figures whether
/// it runs at once or after a restart.
async fn after_usage(
    store: &dyn Store,
    router: &Router,
    agent_id: &str,
    report: &UsageReport,
    taken_at: i64,
    before: &BTreeMap<Uuid, (u64, u64)>,
) -> Result<usize, StoreError> {
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
        if let Some(&(uptime, bytes)) = before.get(&t.token_id) {
            t.used_uptime_s = uptime;
            t.used_bytes = bytes;
        }
    }
    let who = RouterRef {
        agent_id: agent_id.to_owned(),
        router_id: Some(router.id),
        location_id: Some(router.location_id),
    };
    let index = IssuedIndex::new(tokens);
    let mut findings = check_usage(&who, report, taken_at, &index, &ReconcileConfig::default());
    drop_raised(store, &mut findings).await?;
    attribute_rogues(store, router, taken_at, &mut findings).await?;
    Ok(raise(store, &findings, now_ms()).await?.len())
}

/// Drop the findings whose alert is raised already. Most of a check's findings repeat one
/// (a user mtm did not make shows in every report until someone acts), and attributing them
/// to shifts would cost reads for an alert that is never stored.
async fn drop_raised(store: &dyn Store, findings: &mut Vec<Finding>) -> Result<(), StoreError> {
    if findings.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = findings.iter().map(|f| f.dedup_key.as_str()).collect();
    let raised = store.raised_alert_keys(&keys).await?;
    findings.retain(|f| !raised.contains(&f.dedup_key));
    Ok(())
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

/// Store each finding as an alert unless its dedup key is known, and log the new ones; returns
/// them. Every check that raises an alert (evidence from agents here, a drawer at shift close, a
/// sale refused, a router gone silent, a witness that disagrees) raises it through this one
/// function, so the pure checks in `reconcile/` have one I/O shell.
pub async fn raise(
    store: &dyn Store,
    findings: &[Finding],
    now: i64,
) -> Result<Vec<Alert>, StoreError> {
    if findings.is_empty() {
        return Ok(Vec::new());
    }
    let raised = store.raise_alerts(findings, now).await?;
    for a in &raised {
        tracing::warn!(
            agent = a.agent_id.as_deref().unwrap_or("-"),
            kind = a.kind.as_str(),
            summary = %a.summary,
            "alert"
        );
    }
    Ok(raised)
}
