//! [`SalesStore`] for [`SqlStore`]: each method is a short query here or a call into the query
//! module of its area.

use super::*;

#[async_trait]
impl SalesStore for SqlStore {
    async fn open_shift(
        &self,
        staff_id: Uuid,
        location_id: Uuid,
        opening_float_minor: i64,
        actor: &str,
    ) -> StoreResult<Shift> {
        tokens::open_shift(self, staff_id, location_id, opening_float_minor, actor).await
    }

    async fn close_shift(&self, staff_id: Uuid, declared: i64, actor: &str) -> StoreResult<Shift> {
        tokens::close_shift(self, staff_id, declared, actor).await
    }

    async fn open_shift_locations(&self) -> StoreResult<Vec<Uuid>> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT location_id FROM shifts WHERE closed_at IS NULL")
                .fetch_all(&self.pool)
                .await?;
        ids.iter()
            .map(|s| Uuid::parse_str(s).map_err(|_| StoreError::Corrupt("location id".into())))
            .collect()
    }

    async fn open_shift_of(&self, staff_id: Uuid) -> StoreResult<Option<Shift>> {
        let row = sqlx::query("SELECT * FROM shifts WHERE staff_id = $1 AND closed_at IS NULL")
            .bind(staff_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(shift_from_row).transpose()
    }

    async fn issue_token(&self, req: IssueToken) -> StoreResult<(Token, StoredCommand)> {
        tokens::issue_token(self, req).await
    }

    async fn issue_batch(&self, req: IssueBatch) -> StoreResult<IssuedBatch> {
        batch::issue_batch(self, req).await
    }

    async fn batch_progress(&self, batch_id: Uuid) -> StoreResult<Option<BatchProgress>> {
        batch::batch_progress(self, batch_id).await
    }

    async fn batch_tokens(
        &self,
        batch_id: Uuid,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<Token>> {
        batch::batch_tokens(self, batch_id, offset, limit).await
    }

    async fn token(&self, id: Uuid) -> StoreResult<Option<Token>> {
        let row = sqlx::query(&format!("{TOKEN_SELECT} WHERE t.id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn token_by_sale_key(
        &self,
        staff_id: Uuid,
        sale_key: &str,
    ) -> StoreResult<Option<Token>> {
        let row = sqlx::query(&format!(
            "{TOKEN_SELECT} WHERE t.staff_id = $1 AND t.sale_key = $2"
        ))
        .bind(staff_id.to_string())
        .bind(sale_key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn list_tokens(&self, f: &TokenFilter) -> StoreResult<TokenPage> {
        tokens::list_tokens(self, f).await
    }

    async fn token_by_code(&self, code: &str) -> StoreResult<Option<Token>> {
        let row = sqlx::query(&format!("{TOKEN_SELECT} WHERE t.code = $1"))
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn after_sale(&self, req: AfterSaleRequest) -> StoreResult<AfterSaleOutcome> {
        aftersales::after_sale(self, req).await
    }

    async fn decide_after_sale(&self, d: AfterSaleDecision) -> StoreResult<AfterSaleOutcome> {
        aftersales::decide(self, d).await
    }

    async fn list_after_sales(&self, f: &AfterSaleFilter) -> StoreResult<Vec<AfterSale>> {
        aftersales::list(self, f).await
    }

    async fn close_shift_by_id(
        &self,
        shift_id: Uuid,
        declared_cash_minor: i64,
        note: &str,
        actor: &str,
        now: i64,
    ) -> StoreResult<Shift> {
        reconcile::close_shift_by_id(self, shift_id, declared_cash_minor, note, actor, now).await
    }

    async fn list_shifts(&self, filter: &ShiftFilter) -> StoreResult<Vec<Shift>> {
        pages::list_shifts(self, filter).await
    }

    async fn shift(&self, id: Uuid) -> StoreResult<Option<Shift>> {
        packages::shift(self, id).await
    }
}
