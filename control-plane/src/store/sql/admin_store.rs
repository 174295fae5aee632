//! [`AdminStore`] for [`SqlStore`]: each method is a short query here or a call into the query
//! module of its area.

use super::*;

#[async_trait]
impl AdminStore for SqlStore {
    async fn audit(&self, entry: AuditEntry, now: i64) -> StoreResult<()> {
        let _w = self.write.lock().await;
        let mut tx = self.begin_write().await?;
        chain::append_audit(&mut tx, &entry, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn verify_chains(&self) -> StoreResult<Vec<ChainReport>> {
        Ok(vec![
            chain::verify_ledger(&self.pool).await?,
            chain::verify_audit(&self.pool).await?,
        ])
    }

    async fn chain_head(&self, chain: &str) -> StoreResult<ChainHead> {
        chain::chain_head(&self.pool, chain).await
    }

    async fn chain_hash_at(&self, chain: &str, id: u64) -> StoreResult<Option<String>> {
        chain::chain_hash_at(&self.pool, chain, id).await
    }

    async fn witnessed_checkpoints(&self) -> StoreResult<Vec<(String, mtm_common::Checkpoint)>> {
        chain::witnessed(&self.pool).await
    }

    async fn counts(&self) -> StoreResult<StoreCounts> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM agent_commands WHERE state IN ('pending','sent')) AS c,
                    (SELECT COUNT(*) FROM routers WHERE online = 1) AS o,
                    (SELECT COUNT(*) FROM routers) AS r",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(StoreCounts {
            commands_open: u64_col(&row, "c")?,
            agents_online: u64_col(&row, "o")?,
            routers: u64_col(&row, "r")?,
        })
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn list_log(&self, table: LogTable, limit: u32, offset: u32) -> StoreResult<Vec<LogRow>> {
        pages::list_log(self, table, limit, offset).await
    }

    async fn table_stats(&self) -> StoreResult<TableStats> {
        self.database_figures().await
    }
}
