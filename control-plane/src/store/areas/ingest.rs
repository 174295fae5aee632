//! The agents' traffic: commands queued for them and the signed reports they send back.

use crate::store::*;
use async_trait::async_trait;
use uuid::Uuid;

/// The agents' traffic: commands queued for them and the signed reports they send back.
#[async_trait]
pub trait IngestStore: Send + Sync {
    /// Commands for an agent that are not closed yet, oldest first.
    async fn open_commands(&self, agent_id: &str) -> StoreResult<Vec<StoredCommand>>;
    /// Store a command for an agent, closing open commands of the same kind it supersedes
    /// (e.g. an older catalog) when `supersede` is set.
    async fn enqueue_command(
        &self,
        agent_id: &str,
        kind: mtm_common::CommandKind,
        supersede: bool,
    ) -> StoreResult<StoredCommand>;
    /// Store several commands in one transaction (one write however many routers), each
    /// closing the open commands of its kind for its agent when `supersede` is set. Fails as a
    /// whole if one agent is unknown.
    async fn enqueue_commands(
        &self,
        commands: &[(String, mtm_common::CommandKind)],
        supersede: bool,
    ) -> StoreResult<Vec<StoredCommand>>;
    /// Commands of one kind (`command_kind_name`), open or closed, newest first, at most
    /// `limit`: the releases page shows each rollout's commands with their outcome.
    async fn commands_of_kind(&self, kind: &str, limit: u32) -> StoreResult<Vec<CommandRecord>>;
    /// Mark a command as sent once more.
    async fn mark_command_sent(&self, id: Uuid, now: i64) -> StoreResult<()>;
    /// Mark several commands as sent once more, in one transaction.
    async fn mark_commands_sent(&self, ids: &[Uuid], now: i64) -> StoreResult<()>;
    /// The next control-plane envelope seq (persisted before use).
    async fn next_cp_seq(&self) -> StoreResult<u64>;
    /// Reserve `n` (at least 1) consecutive control-plane envelope seqs in one write; returns
    /// the first.
    async fn next_cp_seqs(&self, n: u64) -> StoreResult<u64>;
    /// Apply a batch of verified messages from one agent in one transaction, skipping any with
    /// `seq` at or below the last committed one.
    async fn apply_up(
        &self,
        agent_id: &str,
        items: &[UpItem],
        now: i64,
    ) -> StoreResult<ApplyOutcome>;
    /// [`Store::apply_up`] for several agents' messages, each verified with its `signed_by` key,
    /// in one transaction, so a batch costs one commit however many routers it carries. One
    /// result per entry of `batches`, in order; an agent whose router holds another key by the
    /// time the batch holds its row (the device was replaced while the batch waited) gets
    /// [`StoreError::KeyReplaced`] with nothing of its own
    /// applied while the others are. Any other failure fails the whole call, nothing applied.
    async fn apply_up_many(
        &self,
        batches: &[SignedBatch<'_>],
        now: i64,
    ) -> StoreResult<Vec<StoreResult<ApplyOutcome>>>;
    /// How many [`Store::apply_up_many`] calls with different agents may run at once: 1 where
    /// the database has one writer (SQLite); more on PostgreSQL, where the router row locks and
    /// chain locks that keep replicas apart keep them apart too.
    fn ingest_writers(&self) -> usize {
        1
    }
    /// Alert checks applied evidence still owes (see [`PendingCheck`]): those of `agents`' routers,
    /// or every router's for none, recorded before `created_before`, in seq order per router,
    /// at most `limit`.
    async fn pending_checks(
        &self,
        agents: &[&str],
        created_before: i64,
        limit: u32,
    ) -> StoreResult<Vec<PendingCheck>>;
    /// Forget pending checks (router, seq) whose alerts are stored, in one transaction.
    async fn finish_checks(&self, done: &[(Uuid, u64)]) -> StoreResult<()>;
    /// When `router_id`'s latest inventory and the one before it were taken (unix ms), if it
    /// sent any: a rogue user the latest one first shows was made after the one before.
    async fn inventory_times(&self, router_id: Uuid) -> StoreResult<Option<(i64, Option<i64>)>>;
}
