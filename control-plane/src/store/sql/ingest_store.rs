//! [`IngestStore`] for [`SqlStore`]: each method is a short query here or a call into the query
//! module of its area.

use super::*;

#[async_trait]
impl IngestStore for SqlStore {
    async fn open_commands(&self, agent_id: &str) -> StoreResult<Vec<StoredCommand>> {
        let rows = sqlx::query(
            "SELECT * FROM agent_commands WHERE agent_id = $1 AND state IN ('pending','sent') ORDER BY issued_at, id",
        )
        .bind(agent_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(command_from_row).collect()
    }

    async fn enqueue_command(
        &self,
        agent_id: &str,
        kind: mtm_common::CommandKind,
        supersede: bool,
    ) -> StoreResult<StoredCommand> {
        entities::enqueue_command(self, agent_id, kind, supersede).await
    }

    async fn enqueue_commands(
        &self,
        commands: &[(String, mtm_common::CommandKind)],
        supersede: bool,
    ) -> StoreResult<Vec<StoredCommand>> {
        entities::enqueue_commands(self, commands, supersede).await
    }

    async fn commands_of_kind(&self, kind: &str, limit: u32) -> StoreResult<Vec<CommandRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM agent_commands WHERE kind = $1 ORDER BY issued_at DESC, id LIMIT $2",
        )
        .bind(kind)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CommandRecord {
                    command: command_from_row(r)?,
                    result: r.try_get("result")?,
                    closed_at: r.try_get("closed_at")?,
                })
            })
            .collect()
    }

    async fn mark_command_sent(&self, id: Uuid, now: i64) -> StoreResult<()> {
        // One statement, which PostgreSQL orders against the command's other writers itself.
        let _w = self.sqlite_writer().await;
        sqlx::query(
            "UPDATE agent_commands SET state = CASE WHEN state = 'pending' THEN 'sent' ELSE state END,
               attempts = attempts + 1, sent_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_commands_sent(&self, ids: &[Uuid], now: i64) -> StoreResult<()> {
        entities::mark_commands_sent(self, ids, now).await
    }

    fn ingest_writers(&self) -> usize {
        match self.dialect {
            super::Dialect::Sqlite => 1,
            super::Dialect::Postgres => INGEST_WRITERS_POSTGRES,
        }
    }

    async fn next_cp_seq(&self) -> StoreResult<u64> {
        self.next_cp_seqs(1).await
    }

    async fn next_cp_seqs(&self, n: u64) -> StoreResult<u64> {
        let n = i64::try_from(n.max(1))
            .map_err(|_| StoreError::Invalid("too many seqs at once".into()))?;
        let _w = self.sqlite_writer().await;
        let last: i64 =
            sqlx::query_scalar("UPDATE cp_seq SET seq = seq + $1 WHERE id = 1 RETURNING seq")
                .bind(n)
                .fetch_one(&self.pool)
                .await?;
        stored_u64("control plane seq", last - n + 1)
    }

    async fn apply_up(
        &self,
        agent_id: &str,
        items: &[UpItem],
        now: i64,
    ) -> StoreResult<ApplyOutcome> {
        ingest::apply_up(self, agent_id, None, items, now).await
    }

    async fn apply_up_many(
        &self,
        batches: &[SignedBatch<'_>],
        now: i64,
    ) -> StoreResult<Vec<StoreResult<ApplyOutcome>>> {
        ingest::apply_up_many(self, batches, now).await
    }

    async fn pending_checks(
        &self,
        agents: &[&str],
        created_before: i64,
        limit: u32,
    ) -> StoreResult<Vec<PendingCheck>> {
        pending_checks::pending_checks(self, agents, created_before, limit).await
    }

    async fn finish_checks(&self, done: &[(Uuid, u64)]) -> StoreResult<()> {
        pending_checks::finish_checks(self, done).await
    }

    async fn inventory_times(&self, router_id: Uuid) -> StoreResult<Option<(i64, Option<i64>)>> {
        reconcile::inventory_times(self, router_id).await
    }
}

/// Ingest transactions at once on PostgreSQL: each is a chain of round trips the database
/// answers in well under the time the server waits between them, so a second one fills the
/// gaps; more would take connections the alert checks and the pages need (the pool has 8).
const INGEST_WRITERS_POSTGRES: usize = 2;
