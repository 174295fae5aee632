//! The writes an ingest transaction holds back until just before its commit: usage rows,
//! voucher counters, check evidence, each router's progress and the ledger entries usage owes
//! (a voucher's first use, its using up, a counter reset). A run of a hundred agents then
//! costs one statement of each per few hundred rows rather than four per report; on PostgreSQL
//! every statement is a round trip the writer waits for.
//!
//! Holding them back changes nothing the transaction reads: usage rows and check evidence are
//! never read back in it, a router's progress is read only when its agent comes again (the run
//! is written out first, see [`Deferred::agent_again`]), and a voucher's counters are written
//! out before anything else of its router's touches vouchers ([`Deferred::before_item`]). The
//! usage totals a report's checks judge against add what is held back
//! ([`Deferred::held_totals`]), so they read as if written at once.
//!
//! Ledger entries are appended last, all at once, and also before any message that may append
//! its own ([`Deferred::before_item`]), so the chain keeps the order the messages were applied
//! in. On PostgreSQL the chain's lock is held to commit: taken at the end, it keeps the other
//! writers waiting for one commit rather than for the whole transaction.
//!
//! Only statements of the full size are kept prepared: the last of each kind has a size of its
//! own every run, and preparing each would push the ones that recur out of the statement cache.

use super::chain::{append_ledger_many, LedgerEntry};
use super::token_usage::CounterUpdates;
use super::usage_rows::{insert_usage_rows, UsageRow};
use super::Dialect;
use crate::store::*;
use mtm_common::{UpMessage, Usage};
use std::collections::{BTreeMap, HashSet};

/// Held-back writes of one ingest transaction, borrowing the usage entries of the batches it
/// applies.
pub(super) struct Deferred<'a> {
    dialect: Dialect,
    /// Each usage report's entries, by router id, report time and seq.
    usage: Vec<(String, i64, i64, &'a [Usage])>,
    counters: CounterUpdates,
    /// Whether `counters` holds updates made by the agent being applied.
    agent_counters: bool,
    /// Check evidence by router id and seq: its time, JSON and when it was recorded. Keyed, as
    /// the table is, so a re-enrolled device's seq takes the slot.
    checks: BTreeMap<(String, i64), (i64, String, i64)>,
    /// Each applied router's new `last_seq`, `up_floor` and `last_seen`, by router id.
    progress: BTreeMap<String, (i64, i64, i64)>,
    /// The agents applied since the last write-out.
    agents: HashSet<String>,
    /// Ledger entries in the order they were owed.
    ledger: Vec<LedgerEntry>,
}

impl<'a> Deferred<'a> {
    /// Nothing held yet.
    pub(super) fn new(dialect: Dialect) -> Self {
        Deferred {
            dialect,
            usage: Vec::new(),
            counters: CounterUpdates::default(),
            agent_counters: false,
            checks: BTreeMap::new(),
            progress: BTreeMap::new(),
            agents: HashSet::new(),
            ledger: Vec::new(),
        }
    }

    /// `agent_id` is about to be applied. If it was already applied in this transaction (a
    /// second share of one agent, under another key), everything is written out first, and
    /// true says its router must be read again.
    pub(super) async fn agent_again(
        &mut self,
        tx: &mut sqlx::AnyConnection,
        agent_id: &str,
    ) -> StoreResult<bool> {
        self.agent_counters = false;
        if self.agents.insert(agent_id.to_owned()) {
            return Ok(false);
        }
        self.write(tx).await?;
        self.agents.insert(agent_id.to_owned());
        Ok(true)
    }

    /// The database's dialect.
    pub(super) fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Called before each message of the agent being applied: a message that reads or moves
    /// vouchers after one of the agent's usage reports finds their counters written, and one
    /// that may append to the ledger finds the entries owed before it appended.
    pub(super) async fn before_item(
        &mut self,
        tx: &mut sqlx::AnyConnection,
        message: &UpMessage,
    ) -> StoreResult<()> {
        let leaves_vouchers = matches!(
            message,
            UpMessage::Hello(_) | UpMessage::Health(_) | UpMessage::Checkpoints(_)
        );
        if self.agent_counters && !leaves_vouchers {
            self.write_counters(tx).await?;
        }
        // A usage report holds its own entries, in order after these.
        if !leaves_vouchers && !matches!(message, UpMessage::Usage(_)) {
            self.write_ledger(tx).await?;
        }
        Ok(())
    }

    /// Hold a ledger entry, owed now, to be appended after those held before it.
    pub(super) fn ledger(&mut self, entry: LedgerEntry) {
        self.ledger.push(entry);
    }

    /// The voucher counter updates the agent's usage report adds to.
    pub(super) fn counters(&mut self) -> &mut CounterUpdates {
        self.agent_counters = true;
        &mut self.counters
    }

    /// The usage deltas held back for `token_id`: (uptime seconds, bytes).
    pub(super) fn held_totals(&self, token_id: &Uuid) -> (i64, i64) {
        self.counters.held_totals(token_id)
    }

    /// Hold the rows of the usage report `seq` of `router_id`, taken at `at`.
    pub(super) fn usage(&mut self, router_id: &str, at: i64, seq: i64, entries: &'a [Usage]) {
        if !entries.is_empty() {
            self.usage.push((router_id.to_owned(), at, seq, entries));
        }
    }

    /// Hold the check evidence of the message `seq` of `router_id`.
    pub(super) fn check(&mut self, router_id: &str, seq: i64, at: i64, evidence: String, now: i64) {
        self.checks
            .insert((router_id.to_owned(), seq), (at, evidence, now));
    }

    /// Hold a router's progress after its agent's messages.
    pub(super) fn progress(&mut self, router_id: &str, last_seq: i64, floor: i64, seen: i64) {
        self.progress
            .insert(router_id.to_owned(), (last_seq, floor, seen));
    }

    /// Write everything held, leaving nothing.
    pub(super) async fn write(&mut self, tx: &mut sqlx::AnyConnection) -> StoreResult<()> {
        self.write_usage(tx).await?;
        self.write_counters(tx).await?;
        self.write_checks(tx).await?;
        self.write_progress(tx).await?;
        self.write_ledger(tx).await?;
        self.agents.clear();
        Ok(())
    }

    async fn write_ledger(&mut self, tx: &mut sqlx::AnyConnection) -> StoreResult<()> {
        append_ledger_many(tx, std::mem::take(&mut self.ledger)).await
    }

    async fn write_counters(&mut self, tx: &mut sqlx::AnyConnection) -> StoreResult<()> {
        self.agent_counters = false;
        std::mem::take(&mut self.counters)
            .write(tx, self.dialect)
            .await
    }

    async fn write_usage(&mut self, tx: &mut sqlx::AnyConnection) -> StoreResult<()> {
        let rows: Vec<UsageRow<'_>> = self
            .usage
            .iter()
            .flat_map(|(rid, at, seq, entries)| {
                entries.iter().map(move |u| (rid.as_str(), *at, *seq, u))
            })
            .collect();
        let per = self.dialect.usage_rows_per_insert().max(1);
        for chunk in rows.chunks(per) {
            insert_usage_rows(tx, self.dialect, chunk, chunk.len() == per).await?;
        }
        self.usage.clear();
        Ok(())
    }

    async fn write_checks(&mut self, tx: &mut sqlx::AnyConnection) -> StoreResult<()> {
        let checks: Vec<_> = std::mem::take(&mut self.checks).into_iter().collect();
        let per = self.dialect.usage_rows_per_insert().max(1);
        for chunk in checks.chunks(per) {
            let sql = format!(
                "INSERT INTO pending_checks (router_id, seq, at, evidence, created_at)
                 VALUES {}
                 ON CONFLICT (router_id, seq) DO UPDATE
                 SET at = excluded.at, evidence = excluded.evidence, created_at = excluded.created_at",
                self.dialect.value_rows(chunk.len(), 5)
            );
            let mut q = sqlx::query(&sql).persistent(chunk.len() == per);
            for ((router_id, seq), (at, evidence, now)) in chunk {
                q = q
                    .bind(router_id.as_str())
                    .bind(*seq)
                    .bind(*at)
                    .bind(evidence.as_str())
                    .bind(*now);
            }
            q.execute(&mut *tx).await?;
        }
        Ok(())
    }

    async fn write_progress(&mut self, tx: &mut sqlx::AnyConnection) -> StoreResult<()> {
        let progress: Vec<_> = std::mem::take(&mut self.progress).into_iter().collect();
        let per = self.dialect.usage_rows_per_insert().max(1);
        for chunk in progress.chunks(per) {
            let sql = format!(
                "UPDATE routers SET last_seq = v.column2, up_floor = v.column3,
                   last_seen = v.column4, online = 1
                 FROM (VALUES {}) AS v WHERE routers.id = v.column1",
                self.dialect.value_rows(chunk.len(), 4)
            );
            let mut q = sqlx::query(&sql).persistent(chunk.len() == per);
            for (router_id, (last_seq, floor, seen)) in chunk {
                q = q
                    .bind(router_id.as_str())
                    .bind(*last_seq)
                    .bind(*floor)
                    .bind(*seen);
            }
            q.execute(&mut *tx).await?;
        }
        Ok(())
    }
}
