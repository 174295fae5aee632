//! Alert checks owed by applied evidence (`pending_checks`): recorded in the batch's own
//! transaction, listed by whoever runs them (the ingest after its commit, a sweeper for what a
//! dead server left behind), deleted once the alerts are stored.

use super::rows::*;
use crate::store::*;
use mtm_common::{UpMessage, UsageReport};
use sqlx::Row;
use std::collections::BTreeMap;

/// The usage the store has counted per token named by id in `report` (its running totals),
/// before the report is applied: what its checks must judge against whenever they run. An id no
/// voucher has counts as no usage.
pub(super) async fn usage_before(
    tx: &mut sqlx::AnyConnection,
    report: &UsageReport,
) -> StoreResult<BTreeMap<Uuid, (u64, u64)>> {
    let mut before: BTreeMap<Uuid, (u64, u64)> = report
        .entries
        .iter()
        .filter_map(|u| u.token_id)
        .map(|id| (id, (0, 0)))
        .collect();
    if before.is_empty() {
        return Ok(before);
    }
    let marks: Vec<String> = (1..=before.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, total_uptime_s, total_bytes FROM tokens WHERE id IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for id in before.keys() {
        q = q.bind(id.to_string());
    }
    for r in q.fetch_all(&mut *tx).await? {
        let id = uuid_col(&r, "id")?;
        let up: i64 = r.try_get("total_uptime_s")?;
        let bytes: i64 = r.try_get("total_bytes")?;
        before.insert(id, (up.max(0) as u64, bytes.max(0) as u64));
    }
    Ok(before)
}

/// Record the checks `item` owes, if it is evidence (a usage report with entries, an
/// inventory); `before` is [`usage_before`] for a usage report.
pub(super) async fn record(
    tx: &mut sqlx::AnyConnection,
    router_id: &str,
    item: &UpItem,
    before: Option<BTreeMap<Uuid, (u64, u64)>>,
    now: i64,
) -> StoreResult<()> {
    let evidence = match (&item.message, before) {
        (UpMessage::Usage(report), Some(before)) if !report.entries.is_empty() => {
            CheckEvidence::Usage {
                report: report.clone(),
                before,
            }
        }
        (UpMessage::Inventory(inventory), _) => CheckEvidence::Inventory {
            inventory: inventory.clone(),
        },
        _ => return Ok(()),
    };
    let json = serde_json::to_string(&evidence)
        .map_err(|e| StoreError::Invalid(format!("check evidence: {e}")))?;
    // A re-enrolled device starts its seqs again: the newer evidence takes the slot.
    sqlx::query(
        "INSERT INTO pending_checks (router_id, seq, at, evidence, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (router_id, seq) DO UPDATE
         SET at = excluded.at, evidence = excluded.evidence, created_at = excluded.created_at",
    )
    .bind(router_id)
    .bind(item.seq as i64)
    .bind(item.at)
    .bind(json)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(super) async fn pending_checks(
    s: &super::SqlStore,
    agents: &[&str],
    created_before: i64,
    limit: u32,
) -> StoreResult<Vec<PendingCheck>> {
    // An ingest batch names at most a few hundred agents; beyond the page limit, every router's.
    let agents = if agents.len() > crate::bounds::MAX_PAGE as usize {
        &[][..]
    } else {
        agents
    };
    let of_agents = if agents.is_empty() {
        String::new()
    } else {
        let marks: Vec<String> = (3..agents.len() + 3).map(|i| format!("${i}")).collect();
        format!(" AND r.agent_id IN ({})", marks.join(", "))
    };
    let sql = format!(
        "SELECT p.router_id, p.seq, p.at, p.evidence, r.agent_id
         FROM pending_checks p JOIN routers r ON r.id = p.router_id
         WHERE p.created_at < $1{of_agents}
         ORDER BY p.router_id, p.seq LIMIT $2"
    );
    let mut q = sqlx::query(&sql)
        .bind(created_before)
        .bind(i64::from(limit.clamp(1, 10_000)));
    for a in agents {
        q = q.bind(*a);
    }
    let rows = q.fetch_all(&s.pool).await?;
    rows.iter()
        .map(|r| {
            let evidence: String = r.try_get("evidence")?;
            Ok(PendingCheck {
                agent_id: r.try_get("agent_id")?,
                router_id: uuid_col(r, "router_id")?,
                seq: r.try_get::<i64, _>("seq")?.max(0) as u64,
                at: r.try_get("at")?,
                evidence: serde_json::from_str(&evidence)
                    .map_err(|e| StoreError::Corrupt(format!("check evidence: {e}")))?,
            })
        })
        .collect()
}

pub(super) async fn finish_checks(s: &super::SqlStore, done: &[(Uuid, u64)]) -> StoreResult<()> {
    if done.is_empty() {
        return Ok(());
    }
    // A pass's checks in one statement per chunk, each its own commit: a chunk forgotten
    // before a failure stays forgotten, and the rest run again, which raises nothing twice.
    // On PostgreSQL a delete by key needs no read before it and row locks order it against
    // the ingest, so it need not wait for the process's writer, which the ingest holds for a
    // whole batch; SQLite has one writer anyway, and waiting for the mutex beats waiting out
    // its busy timeout.
    let _w = s.sqlite_writer().await;
    for chunk in done.chunks(FINISHED_PER_STATEMENT) {
        let sql = format!(
            "DELETE FROM pending_checks WHERE (router_id, seq) IN (VALUES {})",
            super::value_rows(chunk.len(), 2)
        );
        let mut q = sqlx::query(&sql);
        for (router_id, seq) in chunk {
            q = q
                .bind(router_id.to_string())
                .bind(i64::try_from(*seq).unwrap_or(i64::MAX));
        }
        q.execute(&s.pool).await?;
    }
    Ok(())
}

/// Checks one DELETE forgets: two parameters each, well under SQLite's limit.
const FINISHED_PER_STATEMENT: usize = 500;
