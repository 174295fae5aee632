//! Alert checks owed by applied evidence (`pending_checks`): recorded in the batch's own
//! transaction (with the writes it holds back, `super::deferred`), listed by whoever runs them
//! (the ingest after its commit, a sweeper for what a dead server left behind), deleted once the
//! alerts are stored.

use super::rows::*;
use crate::store::*;
use mtm_common::UpMessage;
use sqlx::Row;
use std::collections::BTreeMap;

/// The check evidence `item` owes, if it is evidence (a usage report with entries, an
/// inventory); `before` is what the vouchers a usage report names had counted before it.
pub(super) fn evidence(
    item: &UpItem,
    before: Option<BTreeMap<Uuid, (u64, u64)>>,
) -> Option<CheckEvidence> {
    match (&item.message, before) {
        (UpMessage::Usage(report), Some(before)) if !report.entries.is_empty() => {
            Some(CheckEvidence::Usage {
                report: report.clone(),
                before,
            })
        }
        (UpMessage::Inventory(inventory), _) => Some(CheckEvidence::Inventory {
            inventory: inventory.clone(),
        }),
        _ => None,
    }
}

/// `evidence` as stored.
pub(super) fn evidence_json(evidence: &CheckEvidence) -> StoreResult<String> {
    serde_json::to_string(evidence).map_err(|e| StoreError::Invalid(format!("check evidence: {e}")))
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
            s.dialect.value_rows(chunk.len(), 2)
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
