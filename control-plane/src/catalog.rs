//! The package catalog on the routers: what it is now, and bringing every router to it: one
//! agent when it says hello (ingest), all of them after a package edit, and a sweep that catches
//! whatever a push missed.

use crate::commands::Dispatcher;
use crate::store::{Package, Store, StoreError};
use mtm_common::{Catalog, CommandKind};
use std::sync::Arc;
use std::time::Duration;

/// Queue the current catalog, in one transaction, for every router (every online one with
/// `online_only`) whose router reports another version and that has no open command for this
/// one, then send those commands with [`Dispatcher::send_many`]. Returns how many were queued.
pub async fn sync_catalogs(
    store: &dyn Store,
    dispatcher: &Dispatcher,
    online_only: bool,
) -> Result<usize, crate::commands::SendError> {
    let cat = current_catalog(store).await?;
    // Version 0: no package was ever made, so there is nothing to put on a router.
    if cat.version == 0 {
        return Ok(0);
    }
    let mut behind = Vec::new();
    for r in store.list_routers().await? {
        let router = &r.router;
        if (online_only && !router.online) || router.catalog_version == Some(cat.version) {
            continue;
        }
        if catalog_queued(store, &router.agent_id, cat.version).await? {
            continue;
        }
        behind.push((
            router.agent_id.clone(),
            CommandKind::ApplyCatalog(cat.clone()),
        ));
    }
    if behind.is_empty() {
        return Ok(0);
    }
    let cmds = store.enqueue_commands(&behind, true).await?;
    dispatcher.send_many(&cmds).await?;
    Ok(cmds.len())
}

/// Whether `agent_id` has an open command for catalog `version` already.
async fn catalog_queued(
    store: &dyn Store,
    agent_id: &str,
    version: u64,
) -> Result<bool, StoreError> {
    Ok(store
        .open_commands(agent_id)
        .await?
        .iter()
        .any(|c| matches!(&c.kind, CommandKind::ApplyCatalog(q) if q.version == version)))
}

/// The catalog now: [`catalog`] of every package, retired ones included.
pub async fn current_catalog(store: &dyn Store) -> Result<Catalog, StoreError> {
    Ok(catalog(&store.list_all_packages().await?))
}

/// The catalog of the packages on sale among `packages`. Its version is the newest
/// `updated_at` of all of them, so pass retired ones too (see [`current_catalog`]): retiring a
/// package then changes the version as any other edit does.
pub fn catalog(packages: &[Package]) -> Catalog {
    Catalog {
        version: packages
            .iter()
            .map(|p| p.updated_at.max(p.created_at).max(0) as u64)
            .max()
            .unwrap_or(0),
        packages: packages
            .iter()
            .filter(|p| p.active)
            .map(Package::spec)
            .collect(),
    }
}

/// Queue and send the current catalog to an agent whose router reports another version.
/// Returns whether a command was queued.
pub async fn sync_catalog(
    store: &dyn Store,
    dispatcher: &Dispatcher,
    agent_id: &str,
) -> Result<bool, crate::commands::SendError> {
    let router = store
        .router_by_agent(agent_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(agent_id.into()))?;
    let cat = current_catalog(store).await?;
    // Version 0: no package was ever made, so there is nothing to put on a router.
    if cat.version == 0 || router.catalog_version == Some(cat.version) {
        return Ok(false);
    }
    if catalog_queued(store, agent_id, cat.version).await? {
        return Ok(false);
    }
    let cmd = store
        .enqueue_command(agent_id, CommandKind::ApplyCatalog(cat), true)
        .await?;
    dispatcher.send(&cmd).await?;
    Ok(true)
}

/// Every `every`, bring online routers whose catalog is behind up to date (covers packages
/// written straight to the store, routers that missed a push, and pushes that failed).
pub async fn catalog_loop(store: Arc<dyn Store>, dispatcher: Arc<Dispatcher>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match sync_catalogs(&*store, &dispatcher, true).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(routers = n, "catalog queued by the sweep"),
            Err(e) => tracing::warn!(error = %e, "catalog sweep failed; trying again"),
        }
    }
}
