//! The admin console's view of the store: the audit log, the tamper-evident chains, table sizes and health.

use crate::store::*;
use async_trait::async_trait;

/// The admin console's view of the store: the audit log, the tamper-evident chains, table sizes and health.
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// Append to the audit log.
    async fn audit(&self, entry: AuditEntry, now: i64) -> StoreResult<()>;
    /// Check the token ledger and audit log chains.
    async fn verify_chains(&self) -> StoreResult<Vec<ChainReport>>;
    /// The newest row of a chain (`token_ledger` or `audit_log`).
    async fn chain_head(&self, chain: &str) -> StoreResult<ChainHead>;
    /// The stored hash of row `id` of a chain, if it exists.
    async fn chain_hash_at(&self, chain: &str, id: u64) -> StoreResult<Option<String>>;
    /// Every chain checkpoint agents returned, with the agent id that kept it.
    async fn witnessed_checkpoints(&self) -> StoreResult<Vec<(String, mtm_common::Checkpoint)>>;
    /// Counts for metrics.
    async fn counts(&self) -> StoreResult<StoreCounts>;
    /// Whether the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Rows of the audit log or token ledger, newest first.
    async fn list_log(&self, table: LogTable, limit: u32, offset: u32) -> StoreResult<Vec<LogRow>>;
    /// Database size, connections and rows per table.
    async fn table_stats(&self) -> StoreResult<TableStats>;
}
