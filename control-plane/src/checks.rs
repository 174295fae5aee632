//! Runs the `reconcile` checks when their evidence arrives and stores what they find as alerts.
//! So far: every `Inventory` an agent sends (rogue, tampered and missing tokens).

use crate::reconcile::{
    check_inventory, check_missing, InventoryKeys, IssuedIndex, ReconcileConfig, RouterRef,
};
use crate::store::{now_ms, Store, StoreError};
use mtm_common::Inventory;

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
    let mut raised = 0;
    for f in &findings {
        if store.raise_alert(f, now_ms()).await?.is_some() {
            tracing::warn!(agent = agent_id, kind = f.kind.as_str(), summary = %f.summary, "alert");
            raised += 1;
        }
    }
    Ok(raised)
}
