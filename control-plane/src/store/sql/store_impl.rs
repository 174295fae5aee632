//! [`Store`] for [`SqlStore`]: each method is a short query here or a call into the query
//! module of its area.

use super::*;

#[async_trait]
impl Store for SqlStore {
    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        entities::create_user(self, user).await
    }

    async fn user(&self, id: Uuid) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(Some(self.user_from_row(&r).await?)),
            None => Ok(None),
        }
    }

    async fn check_password(&self, username: &str, password: &str) -> StoreResult<Option<User>> {
        entities::check_password(self, username, password).await
    }

    async fn count_users(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        stored_u64("user count", n)
    }

    async fn create_session(&self, s: &Session) -> StoreResult<()> {
        let _w = self.write.lock().await;
        // Expired sessions are dead anyway; clearing them here keeps the table small.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&s.id)
        .bind(s.user_id.to_string())
        .bind(&s.csrf)
        .bind(now_ms())
        .bind(s.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, id: &str, now: i64) -> StoreResult<Option<Session>> {
        let row = sqlx::query(
            "SELECT s.* FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Session {
                id: r.try_get("id")?,
                user_id: uuid_col(&r, "user_id")?,
                csrf: r.try_get("csrf")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, id: &str) -> StoreResult<()> {
        let _w = self.write.lock().await;
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_user_sessions(&self, user_id: Uuid) -> StoreResult<u64> {
        let _w = self.write.lock().await;
        let r = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    async fn create_location(&self, loc: NewLocation) -> StoreResult<Location> {
        if loc.name.trim().is_empty() || loc.timezone.trim().is_empty() {
            return Err(StoreError::Refused(crate::refusal::Refusal::new(
                "err-location-fields",
            )));
        }
        let l = Location {
            id: Uuid::new_v4(),
            name: loc.name.trim().to_owned(),
            timezone: loc.timezone.trim().to_owned(),
            created_at: now_ms(),
        };
        let _w = self.write.lock().await;
        sqlx::query(
            "INSERT INTO locations (id, name, timezone, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(l.id.to_string())
        .bind(&l.name)
        .bind(&l.timezone)
        .bind(l.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict_on_unique(e, "location"))?;
        Ok(l)
    }

    async fn list_locations(&self) -> StoreResult<Vec<Location>> {
        let rows = sqlx::query("SELECT * FROM locations ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Location {
                    id: uuid_col(r, "id")?,
                    name: r.try_get("name")?,
                    timezone: r.try_get("timezone")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn create_router(&self, r: NewRouter) -> StoreResult<Router> {
        entities::create_router(self, r).await
    }

    async fn router(&self, id: Uuid) -> StoreResult<Option<Router>> {
        let row = sqlx::query("SELECT * FROM routers WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(router_from_row).transpose()
    }

    async fn router_by_agent(&self, agent_id: &str) -> StoreResult<Option<Router>> {
        let row = sqlx::query("SELECT * FROM routers WHERE agent_id = $1")
            .bind(agent_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(router_from_row).transpose()
    }

    async fn check_mqtt_password(&self, agent_id: &str, password: &str) -> StoreResult<bool> {
        let hash: Option<String> =
            sqlx::query_scalar("SELECT mqtt_password_hash FROM routers WHERE agent_id = $1")
                .bind(agent_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(hash.is_some_and(|h| {
            subtle::ConstantTimeEq::ct_eq(h.as_bytes(), mqtt_password_hash(password).as_bytes())
                .into()
        }))
    }

    async fn list_routers(&self) -> StoreResult<Vec<RouterStatus>> {
        entities::list_routers(self).await
    }

    async fn set_router_online(&self, agent_id: &str, online: bool) -> StoreResult<()> {
        let _w = self.write.lock().await;
        sqlx::query("UPDATE routers SET online = $1 WHERE agent_id = $2")
            .bind(online as i64)
            .bind(agent_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_package(&self, p: NewPackage) -> StoreResult<Package> {
        entities::create_package(self, p).await
    }

    async fn shift(&self, id: Uuid) -> StoreResult<Option<Shift>> {
        packages::shift(self, id).await
    }

    async fn list_all_packages(&self) -> StoreResult<Vec<Package>> {
        packages::list_all_packages(self).await
    }

    async fn update_package(
        &self,
        id: Uuid,
        change: &PackageChange,
        actor: &str,
        now: i64,
    ) -> StoreResult<Package> {
        packages::update_package(self, id, change, actor, now).await
    }

    async fn list_packages(&self) -> StoreResult<Vec<Package>> {
        let rows =
            sqlx::query("SELECT * FROM packages WHERE active = 1 ORDER BY price_minor, slug")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(package_from_row).collect()
    }

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

    async fn token(&self, id: Uuid) -> StoreResult<Option<Token>> {
        let row = sqlx::query(&format!("{TOKEN_SELECT} WHERE t.id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn list_tokens(&self, f: &TokenFilter) -> StoreResult<TokenPage> {
        tokens::list_tokens(self, f).await
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

    async fn token_by_code(&self, code: &str) -> StoreResult<Option<Token>> {
        let row = sqlx::query(&format!("{TOKEN_SELECT} WHERE t.code = $1"))
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

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
        let _w = self.write.lock().await;
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

    async fn next_cp_seq(&self) -> StoreResult<u64> {
        self.next_cp_seqs(1).await
    }

    async fn next_cp_seqs(&self, n: u64) -> StoreResult<u64> {
        let n = i64::try_from(n.max(1))
            .map_err(|_| StoreError::Invalid("too many seqs at once".into()))?;
        let _w = self.write.lock().await;
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

    async fn apply_up_signed(
        &self,
        agent_id: &str,
        signed_by: &str,
        items: &[UpItem],
        now: i64,
    ) -> StoreResult<ApplyOutcome> {
        ingest::apply_up(self, agent_id, Some(signed_by), items, now).await
    }

    async fn pending_checks(
        &self,
        agent_id: Option<&str>,
        created_before: i64,
        limit: u32,
    ) -> StoreResult<Vec<PendingCheck>> {
        pending_checks::pending_checks(self, agent_id, created_before, limit).await
    }

    async fn finish_check(&self, router_id: Uuid, seq: u64) -> StoreResult<()> {
        pending_checks::finish_check(self, router_id, seq).await
    }

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

    async fn user_names(&self) -> StoreResult<Vec<(Uuid, String)>> {
        figures::user_names(self).await
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

    async fn location_settings(&self, location_id: Uuid) -> StoreResult<Option<LocationSettings>> {
        reconcile::location_settings(self, location_id).await
    }

    async fn update_location_settings(
        &self,
        location_id: Uuid,
        change: &LocationSettingsChange,
        actor: &str,
        now: i64,
    ) -> StoreResult<LocationSettings> {
        reconcile::update_location_settings(self, location_id, change, actor, now).await
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

    async fn create_enrollment_code(
        &self,
        router_id: Uuid,
        code_hash: &str,
        expires_at: i64,
        actor: &str,
        now: i64,
    ) -> StoreResult<()> {
        enrollment::create_code(self, router_id, code_hash, expires_at, actor, now).await
    }

    async fn redeem_enrollment_code(
        &self,
        code_hash: &str,
        public_key_hex: &str,
        mqtt_password: &str,
        agent_version: &str,
        now: i64,
    ) -> StoreResult<Redeemed> {
        enrollment::redeem(
            self,
            code_hash,
            public_key_hex,
            mqtt_password,
            agent_version,
            now,
        )
        .await
    }

    async fn revoke_router(&self, router_id: Uuid, actor: &str, now: i64) -> StoreResult<Router> {
        enrollment::revoke(self, router_id, actor, now).await
    }

    async fn enrollment_state(&self, router_id: Uuid) -> StoreResult<Option<EnrollmentState>> {
        enrollment::state(self, router_id).await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        pages::list_users(self).await
    }

    async fn update_user(
        &self,
        id: Uuid,
        change: UserChange,
        actor: &str,
        now: i64,
    ) -> StoreResult<User> {
        pages::update_user(self, id, change, actor, now).await
    }

    async fn list_log(&self, table: LogTable, limit: u32, offset: u32) -> StoreResult<Vec<LogRow>> {
        pages::list_log(self, table, limit, offset).await
    }

    async fn table_stats(&self) -> StoreResult<TableStats> {
        self.database_figures().await
    }

    async fn list_shifts(&self, filter: &ShiftFilter) -> StoreResult<Vec<Shift>> {
        pages::list_shifts(self, filter).await
    }

    async fn shifts_overlapping(
        &self,
        location_id: Uuid,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<Shift>> {
        reconcile::shifts_overlapping(self, location_id, from, to).await
    }

    async fn inventory_times(&self, router_id: Uuid) -> StoreResult<Option<(i64, Option<i64>)>> {
        reconcile::inventory_times(self, router_id).await
    }

    async fn set_location_frozen(
        &self,
        location_id: Uuid,
        frozen: bool,
        reason: &str,
        actor: &str,
        now: i64,
    ) -> StoreResult<()> {
        pages::set_location_frozen(self, location_id, frozen, reason, actor, now).await
    }

    async fn frozen_locations(&self) -> StoreResult<Vec<LocationFreeze>> {
        pages::frozen_locations(self).await
    }

    async fn record_login_failure(&self, keys: &[&str], at: i64) -> StoreResult<()> {
        login_limits::record(self, keys, at).await
    }

    async fn login_failures(&self, key: &str, since: i64) -> StoreResult<u64> {
        login_limits::count(self, key, since).await
    }

    async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        login_limits::clear(self, key).await
    }

    async fn prune_login_failures(&self, before: i64) -> StoreResult<u64> {
        login_limits::prune(self, before).await
    }

    async fn reserve_login_attempt(
        &self,
        keys: &[(&str, i64)],
        attempt: &str,
        now: i64,
        decide: &(dyn for<'s> Fn(&'s [AttemptStats]) -> bool + Send + Sync),
    ) -> StoreResult<bool> {
        login_limits::reserve(self, keys, attempt, now, decide).await
    }

    async fn release_login_attempt(&self, attempt: &str, clear: &[&str]) -> StoreResult<()> {
        login_limits::release(self, attempt, clear).await
    }
}
