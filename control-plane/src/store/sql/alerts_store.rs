//! [`AlertStore`] for [`SqlStore`]: each method is a short query here or a call into the query
//! module of its area.

use super::*;

#[async_trait]
impl AlertStore for SqlStore {
    async fn create_channel(&self, channel: &Channel) -> StoreResult<()> {
        notify::create_channel(self, channel).await
    }

    async fn list_channels(&self, owner: Option<Uuid>) -> StoreResult<Vec<Channel>> {
        notify::list_channels(self, owner).await
    }

    async fn delete_channel(&self, id: Uuid, owner: Option<Uuid>) -> StoreResult<bool> {
        notify::delete_channel(self, id, owner).await
    }

    async fn queue_notifications(&self, since: i64, now: i64) -> StoreResult<u64> {
        notify::queue_notifications(self, since, now).await
    }

    async fn due_deliveries(&self, now: i64, limit: u32) -> StoreResult<Vec<DueDelivery>> {
        notify::due_deliveries(self, now, limit).await
    }

    async fn record_delivery(
        &self,
        id: Uuid,
        outcome: &DeliveryOutcome,
        now: i64,
    ) -> StoreResult<()> {
        notify::record_delivery(self, id, outcome, now).await
    }

    async fn list_deliveries(
        &self,
        state: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRow>> {
        notify::list_deliveries(self, state, limit).await
    }

    async fn raise_alert(
        &self,
        finding: &crate::reconcile::Finding,
        now: i64,
    ) -> StoreResult<Option<Alert>> {
        Ok(
            alerts::raise_alerts(self, std::slice::from_ref(finding), now)
                .await?
                .pop(),
        )
    }

    async fn raise_alerts(
        &self,
        findings: &[crate::reconcile::Finding],
        now: i64,
    ) -> StoreResult<Vec<Alert>> {
        alerts::raise_alerts(self, findings, now).await
    }

    async fn raised_alert_keys(
        &self,
        keys: &[&str],
    ) -> StoreResult<std::collections::HashSet<String>> {
        alerts::raised_keys(self, keys).await
    }

    async fn issued_tokens(
        &self,
        router_id: Uuid,
        ids: &[Uuid],
        codes: &[String],
    ) -> StoreResult<Vec<crate::reconcile::IssuedToken>> {
        alerts::issued_tokens(self, router_id, ids, codes, true).await
    }

    async fn named_tokens(
        &self,
        router_id: Uuid,
        ids: &[Uuid],
        codes: &[String],
    ) -> StoreResult<Vec<crate::reconcile::IssuedToken>> {
        alerts::issued_tokens(self, router_id, ids, codes, false).await
    }

    async fn list_alerts(&self, filter: &AlertFilter) -> StoreResult<Vec<Alert>> {
        alerts::list_alerts(self, filter).await
    }

    async fn alert_counts(&self, filter: &AlertFilter) -> StoreResult<Vec<(Option<Uuid>, u64)>> {
        figures::alert_counts(self, filter).await
    }

    async fn alerts_after(
        &self,
        filter: &AlertFilter,
        cursor: Option<Cursor>,
        n: u32,
    ) -> StoreResult<Vec<Alert>> {
        figures::alerts_after(self, filter, cursor, n).await
    }

    async fn token_figures(&self, filter: &FigureFilter) -> StoreResult<Vec<TokenFigures>> {
        figures::token_figures(self, filter).await
    }

    async fn shift_figures(&self, filter: &FigureFilter) -> StoreResult<Vec<ShiftFigures>> {
        figures::shift_figures(self, filter).await
    }

    async fn tokens_after(
        &self,
        filter: &TokenFilter,
        cursor: Option<Cursor>,
        n: u32,
    ) -> StoreResult<Vec<Token>> {
        figures::tokens_after(self, filter, cursor, n).await
    }

    async fn set_alert_state(
        &self,
        id: Uuid,
        state: AlertState,
        note: &str,
        actor: &str,
        now: i64,
    ) -> StoreResult<Alert> {
        alerts::set_alert_state(self, id, state, note, actor, now).await
    }

    async fn usage_samples(
        &self,
        location_id: Uuid,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<crate::reconcile::UsageSample>> {
        reports::usage_samples(self, location_id, from, to).await
    }

    async fn day_token_ids(
        &self,
        location_id: Uuid,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(Uuid, Uuid)>> {
        reports::day_token_ids(self, location_id, from, to).await
    }

    async fn insert_daily_report(
        &self,
        report: &NewDailyReport,
        now: i64,
    ) -> StoreResult<DailyReport> {
        reports::insert_daily_report(self, report, now).await
    }

    async fn daily_reports(&self, filter: &ReportFilter) -> StoreResult<Vec<DailyReport>> {
        reports::daily_reports(self, filter).await
    }

    async fn sign_off_report(
        &self,
        id: Uuid,
        note: &str,
        actor: &str,
        now: i64,
    ) -> StoreResult<DailyReport> {
        reports::sign_off_report(self, id, note, actor, now).await
    }

    async fn shifts_overlapping(
        &self,
        location_id: Uuid,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<Shift>> {
        reconcile::shifts_overlapping(self, location_id, from, to).await
    }
}
