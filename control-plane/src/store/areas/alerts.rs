//! What reconciliation reads and raises: alerts and their notifications, the figures of the dashboards, and the daily reports.

use crate::store::*;
use async_trait::async_trait;
use uuid::Uuid;

/// What reconciliation reads and raises: alerts and their notifications, the figures of the dashboards, and the daily reports.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Store a new notification channel.
    async fn create_channel(&self, channel: &Channel) -> StoreResult<()>;
    /// Channels of `owner`, or every channel for `None`, oldest first.
    async fn list_channels(&self, owner: Option<Uuid>) -> StoreResult<Vec<Channel>>;
    /// Delete channel `id` (only if `owner` made it, when given); whether it existed.
    async fn delete_channel(&self, id: Uuid, owner: Option<Uuid>) -> StoreResult<bool>;
    /// Queue a delivery for every (channel, alert) pair that matches and has none yet, over
    /// alerts raised since `since`; how many were queued.
    async fn queue_notifications(&self, since: i64, now: i64) -> StoreResult<u64>;
    /// Pending deliveries due at `now`, oldest first.
    async fn due_deliveries(&self, now: i64, limit: u32) -> StoreResult<Vec<DueDelivery>>;
    /// Record an attempt; a delivery sent or dead is audited.
    async fn record_delivery(
        &self,
        id: Uuid,
        outcome: &DeliveryOutcome,
        now: i64,
    ) -> StoreResult<()>;
    /// Deliveries newest first, only those in `state` when given (the dead-letter view).
    async fn list_deliveries(
        &self,
        state: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRow>>;
    /// Store a finding as an open alert; `None` if one with its dedup key exists already.
    async fn raise_alert(
        &self,
        finding: &crate::reconcile::Finding,
        now: i64,
    ) -> StoreResult<Option<Alert>>;
    /// Store each finding as an open alert unless one with its dedup key exists already (one
    /// read for all of them, a write only for new ones); returns the new alerts.
    async fn raise_alerts(
        &self,
        findings: &[crate::reconcile::Finding],
        now: i64,
    ) -> StoreResult<Vec<Alert>>;
    /// The keys among `keys` that an alert was raised under (alerts are never deleted, so a
    /// key once raised stays raised).
    async fn raised_alert_keys(
        &self,
        keys: &[&str],
    ) -> StoreResult<std::collections::HashSet<String>>;
    /// Tokens as the ledger issued them, for the router-side checks: those with one of `ids`,
    /// those on `router_id` with one of `codes`, and every token of `router_id` that should be on
    /// the router now (applied through disabled).
    async fn issued_tokens(
        &self,
        router_id: Uuid,
        ids: &[Uuid],
        codes: &[String],
    ) -> StoreResult<Vec<crate::reconcile::IssuedToken>>;
    /// Like [`Store::issued_tokens`] without the router's other live tokens: only those with
    /// one of `ids`, or on `router_id` with one of `codes` (what a usage check needs).
    async fn named_tokens(
        &self,
        router_id: Uuid,
        ids: &[Uuid],
        codes: &[String],
    ) -> StoreResult<Vec<crate::reconcile::IssuedToken>>;
    /// Alerts matching a filter, newest first.
    async fn list_alerts(&self, filter: &AlertFilter) -> StoreResult<Vec<Alert>>;
    /// How many alerts match `filter` (its `limit` and `offset` are ignored), per location.
    async fn alert_counts(&self, filter: &AlertFilter) -> StoreResult<Vec<(Option<Uuid>, u64)>>;
    /// Up to `n` alerts matching `filter` (its `limit` and `offset` are ignored) that come after
    /// `cursor` newest first: an export pages through every alert with these.
    async fn alerts_after(
        &self,
        filter: &AlertFilter,
        cursor: Option<Cursor>,
        n: u32,
    ) -> StoreResult<Vec<Alert>>;
    /// The vouchers issued matching `filter`, counted and summed by the database per location
    /// and staff member (a sum past `i64` is an error, never a wrapped figure).
    async fn token_figures(&self, filter: &FigureFilter) -> StoreResult<Vec<TokenFigures>>;
    /// The shifts opened matching `filter`, with their cash variance summed per location and
    /// staff member.
    async fn shift_figures(&self, filter: &FigureFilter) -> StoreResult<Vec<ShiftFigures>>;
    /// Up to `n` tokens matching `filter` (its `limit` and `offset` are ignored) that come after
    /// `cursor` newest first: an export pages through every voucher with these.
    async fn tokens_after(
        &self,
        filter: &TokenFilter,
        cursor: Option<Cursor>,
        n: u32,
    ) -> StoreResult<Vec<Token>>;
    /// Acknowledge or resolve an alert with a note, audited in the same transaction.
    async fn set_alert_state(
        &self,
        id: Uuid,
        state: AlertState,
        note: &str,
        actor: &str,
        now: i64,
    ) -> StoreResult<Alert>;
    /// Usage reported by a location's routers in `[from, to)`, for its daily report.
    async fn usage_samples(
        &self,
        location_id: Uuid,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<crate::reconcile::UsageSample>>;
    /// `(router_id, token_id)` of a location's tokens a daily report for `[from, to)` may count
    /// (over-selected; the report keeps what falls in the window).
    async fn day_token_ids(
        &self,
        location_id: Uuid,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(Uuid, Uuid)>>;
    /// Store a daily report; `Conflict` if the location's day has one. Never updated.
    async fn insert_daily_report(
        &self,
        report: &NewDailyReport,
        now: i64,
    ) -> StoreResult<DailyReport>;
    /// Stored daily reports, newest day first.
    async fn daily_reports(&self, filter: &ReportFilter) -> StoreResult<Vec<DailyReport>>;
    /// Sign a report off (once; `Conflict` after), audited in the same transaction.
    async fn sign_off_report(
        &self,
        id: Uuid,
        note: &str,
        actor: &str,
        now: i64,
    ) -> StoreResult<DailyReport>;
    /// Shifts at a location that were open at some instant of `[from, to]` (clocked in by `to`
    /// and not clocked out before `from`), earliest first: who was on duty when a rogue voucher
    /// could have been sold.
    async fn shifts_overlapping(
        &self,
        location_id: Uuid,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<Shift>>;
}
