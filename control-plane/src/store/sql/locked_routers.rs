//! The routers an ingest run applies messages of, locked and read with the seqs already
//! applied for each: one statement of each kind per few hundred agents, rather than two per
//! agent.

use super::rows::*;
use super::Dialect;
use crate::store::*;
use sqlx::Row;
use std::collections::HashMap;

/// A router locked for the rest of the transaction, with what it has applied: every seq up to
/// `floor`, and the `up_seen` ranges (`seq` to `hi`) above it.
pub(super) struct LockedRouter {
    pub(super) router: Router,
    pub(super) floor: i64,
    pub(super) ranges: Vec<(u64, u64)>,
}

/// Lock the routers of `agents` and read them, by agent id; an agent with no router is
/// missing from the answer. On PostgreSQL the rows are locked in agent order (bytewise, as
/// the ingest sorts its agents), so two replicas never wait on each other in a cycle.
pub(super) async fn lock_routers(
    tx: &mut sqlx::AnyConnection,
    dialect: Dialect,
    agents: &[&str],
) -> StoreResult<HashMap<String, LockedRouter>> {
    let mut sorted: Vec<&str> = agents.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut locked = HashMap::with_capacity(sorted.len());
    let per = dialect.usage_rows_per_insert().max(1);
    for chunk in sorted.chunks(per) {
        let sql = format!(
            "SELECT * FROM routers WHERE agent_id IN {}{}",
            dialect.value_rows(1, chunk.len()),
            match dialect {
                Dialect::Sqlite => "",
                Dialect::Postgres => " ORDER BY agent_id COLLATE \"C\" FOR UPDATE",
            }
        );
        let mut q = sqlx::query(&sql).persistent(chunk.len() == per || chunk.len() == 1);
        for agent in chunk {
            q = q.bind(*agent);
        }
        for row in q.fetch_all(&mut *tx).await? {
            let floor: i64 = row.try_get("up_floor")?;
            let router = router_from_row(&row)?;
            let locked_router = LockedRouter {
                router,
                floor,
                ranges: Vec::new(),
            };
            locked.insert(locked_router.router.agent_id.clone(), locked_router);
        }
    }
    // Read in a statement of its own, after the lock: on PostgreSQL a statement that waited
    // for a row lock sees the row as the other replica committed it, but anything it joined
    // as it was before, so ranges read with the row could miss seqs the other just applied.
    let by_id: HashMap<String, String> = locked
        .values()
        .map(|l| (l.router.id.to_string(), l.router.agent_id.clone()))
        .collect();
    let ids: Vec<&String> = by_id.keys().collect();
    for chunk in ids.chunks(per) {
        let sql = format!(
            "SELECT router_id, seq, hi FROM up_seen WHERE router_id IN {}",
            dialect.value_rows(1, chunk.len())
        );
        let mut q = sqlx::query(&sql).persistent(chunk.len() == per || chunk.len() == 1);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for row in q.fetch_all(&mut *tx).await? {
            let router_id: String = row.try_get("router_id")?;
            let lo: i64 = row.try_get("seq")?;
            let hi: i64 = row.try_get("hi")?;
            if let Some(l) = by_id.get(&router_id).and_then(|a| locked.get_mut(a)) {
                l.ranges.push((lo.max(0) as u64, hi.max(0) as u64));
            }
        }
    }
    Ok(locked)
}
