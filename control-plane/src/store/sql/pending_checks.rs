//! Alert checks owed by applied evidence (`pending_checks`): recorded in the batch's own
//! transaction (with the writes it holds back, `super::deferred`), listed by whoever runs them
//! (the ingest after its commit, a sweeper for what a dead server left behind), deleted once the
//! alerts are stored.
//!
//! A usage report's check does not copy the report: its entries are the usage rows written in
//! the same transaction (`super::usage_rows`), and the check names them by the report's router,
//! time and seq. The copy was tens of kilobytes of JSON a report, compressed and deleted again
//! a moment later, and most of what the database spent on a pending check.

use super::rows::*;
use super::usage_rows::report_entries;
use crate::store::*;
use mtm_common::{Inventory, IssuedHere, UpMessage, UsageReport};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::borrow::Cow;
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

/// A pending check's evidence as stored (JSON). Borrowed when written, so storing copies
/// nothing; owned when read back.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Stored<'a> {
    /// A usage report whose entries are its usage rows (same router, time and seq).
    UsageRows {
        /// How many rows the report wrote: fewer read back means rows went missing.
        entries: usize,
        /// The report's word on vouchers its agent made.
        #[serde(default, skip_serializing_if = "<[IssuedHere]>::is_empty")]
        issued_here: Cow<'a, [IssuedHere]>,
        /// Token id to (uptime seconds, bytes) before the report.
        before: Cow<'a, BTreeMap<Uuid, (u64, u64)>>,
    },
    /// A whole usage report, as servers stored it before usage rows named their report.
    Usage {
        report: UsageReport,
        before: BTreeMap<Uuid, (u64, u64)>,
    },
    /// An inventory.
    Inventory { inventory: Cow<'a, Inventory> },
}

/// `evidence` as stored: a usage report by the rows its entries were written as (the caller
/// writes them in the same transaction), an inventory whole.
pub(super) fn stored_json(evidence: &CheckEvidence) -> StoreResult<String> {
    let stored = match evidence {
        CheckEvidence::Usage { report, before } => Stored::UsageRows {
            entries: report.entries.len(),
            issued_here: Cow::Borrowed(&report.issued_here),
            before: Cow::Borrowed(before),
        },
        CheckEvidence::Inventory { inventory } => Stored::Inventory {
            inventory: Cow::Borrowed(inventory),
        },
    };
    serde_json::to_string(&stored).map_err(|e| StoreError::Invalid(format!("check evidence: {e}")))
}

/// The evidence stored for the check of message `seq` of `router_id`, taken at `at`, with a
/// usage report's entries read back from its rows.
async fn stored_evidence(
    s: &super::SqlStore,
    router_id: &str,
    seq: i64,
    at: i64,
    json: &str,
) -> StoreResult<CheckEvidence> {
    let stored: Stored = serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("check evidence: {e}")))?;
    Ok(match stored {
        Stored::UsageRows {
            entries,
            issued_here,
            before,
        } => {
            let rows = report_entries(s, router_id, at, seq).await?;
            if rows.len() != entries {
                return Err(StoreError::Corrupt(format!(
                    "usage report {seq} of router {router_id}: {} of its {entries} rows stored",
                    rows.len()
                )));
            }
            CheckEvidence::Usage {
                report: UsageReport {
                    entries: rows,
                    issued_here: issued_here.into_owned(),
                },
                before: before.into_owned(),
            }
        }
        Stored::Usage { report, before } => CheckEvidence::Usage { report, before },
        Stored::Inventory { inventory } => CheckEvidence::Inventory {
            inventory: inventory.into_owned(),
        },
    })
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
    let mut checks = Vec::with_capacity(rows.len());
    for r in &rows {
        let router_id: String = r.try_get("router_id")?;
        let seq: i64 = r.try_get("seq")?;
        let at: i64 = r.try_get("at")?;
        let json: String = r.try_get("evidence")?;
        checks.push(PendingCheck {
            agent_id: r.try_get("agent_id")?,
            router_id: id("pending check router_id", router_id.clone())?,
            seq: seq.max(0) as u64,
            at,
            evidence: stored_evidence(s, &router_id, seq, at, &json).await?,
        });
    }
    Ok(checks)
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
