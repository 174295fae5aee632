//! Shifts and vouchers: clocking in and out, selling one voucher or a batch, after-sales.

use crate::store::*;
use async_trait::async_trait;
use uuid::Uuid;

/// Shifts and vouchers: clocking in and out, selling one voucher or a batch, after-sales.
#[async_trait]
pub trait SalesStore: Send + Sync {
    /// Clock in at a location (one open shift per staff member).
    async fn open_shift(
        &self,
        staff_id: Uuid,
        location_id: Uuid,
        opening_float_minor: i64,
        actor: &str,
    ) -> StoreResult<Shift>;
    /// Clock out: computes expected cash and variance, confirms the shift's revenue, ends the
    /// staff member's sessions.
    async fn close_shift(
        &self,
        staff_id: Uuid,
        declared_cash_minor: i64,
        actor: &str,
    ) -> StoreResult<Shift>;
    /// Locations where some shift is open now.
    async fn open_shift_locations(&self) -> StoreResult<Vec<Uuid>>;
    /// The staff member's open shift.
    async fn open_shift_of(&self, staff_id: Uuid) -> StoreResult<Option<Shift>>;
    /// Issue a token at the staff member's open shift: token, ledger, revenue, audit and the
    /// `CreateToken` command, in one transaction. Returns the token and the command.
    async fn issue_token(&self, req: IssueToken) -> StoreResult<(Token, StoredCommand)>;
    /// Issue a batch at the staff member's open shift: every voucher with its ledger entry,
    /// revenue record and audit row, and the `CreateTokens` commands that carry them, in one
    /// transaction.
    async fn issue_batch(&self, req: IssueBatch) -> StoreResult<IssuedBatch>;
    /// How many of a batch's vouchers the router has confirmed; `None` for no such batch.
    async fn batch_progress(&self, batch_id: Uuid) -> StoreResult<Option<BatchProgress>>;
    /// Up to `limit` of a batch's vouchers from `offset`, in the order they are printed (so a
    /// sheet of 500 out of 5,000 reads 500 rows, not the whole batch).
    async fn batch_tokens(
        &self,
        batch_id: Uuid,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<Token>>;
    /// A token by id.
    async fn token(&self, id: Uuid) -> StoreResult<Option<Token>>;
    /// The voucher a staff member sold under a sale key (a till's retry of a sale whose answer
    /// was lost), if any.
    async fn token_by_sale_key(&self, staff_id: Uuid, sale_key: &str)
        -> StoreResult<Option<Token>>;
    /// Tokens matching a filter, newest first.
    async fn list_tokens(&self, filter: &TokenFilter) -> StoreResult<TokenPage>;
    /// A token by its code (the hotspot user name), exactly as stored.
    async fn token_by_code(&self, code: &str) -> StoreResult<Option<Token>>;
    /// Record an after-sale and, unless it is a refund above the location's threshold asked
    /// by someone who cannot approve it, carry it out in the same transaction: token state,
    /// limits or reprint count, refund and moved revenue, ledger, audit log and the router
    /// commands (returned, to send at once).
    async fn after_sale(&self, req: AfterSaleRequest) -> StoreResult<AfterSaleOutcome>;
    /// Approve (carry out) or refuse a requested after-sale.
    async fn decide_after_sale(&self, d: AfterSaleDecision) -> StoreResult<AfterSaleOutcome>;
    /// After-sales matching a filter, newest first.
    async fn list_after_sales(&self, filter: &AfterSaleFilter) -> StoreResult<Vec<AfterSale>>;
    /// A manager closes a shift the staff member left open: like clock-out (expected cash,
    /// variance, revenue confirmed, the staff member's sessions ended) plus a required note,
    /// audited as `shift.close_for_staff`.
    async fn close_shift_by_id(
        &self,
        shift_id: Uuid,
        declared_cash_minor: i64,
        note: &str,
        actor: &str,
        now: i64,
    ) -> StoreResult<Shift>;
    /// Shifts matching a filter, newest first.
    async fn list_shifts(&self, filter: &ShiftFilter) -> StoreResult<Vec<Shift>>;
    /// One shift by id, open or closed.
    async fn shift(&self, id: Uuid) -> StoreResult<Option<Shift>>;
}
