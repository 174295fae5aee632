//! [`CatalogStore`] for [`SqlStore`]: each method is a short query here or a call into the query
//! module of its area.

use super::*;

#[async_trait]
impl CatalogStore for SqlStore {
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
        rows.iter().map(location_from_row).collect()
    }

    async fn location(&self, id: Uuid) -> StoreResult<Option<Location>> {
        let row = sqlx::query("SELECT * FROM locations WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(location_from_row).transpose()
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

    async fn routers_at(&self, location_id: Uuid) -> StoreResult<Vec<Router>> {
        let rows = sqlx::query("SELECT * FROM routers WHERE location_id = $1 ORDER BY name, id")
            .bind(location_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(router_from_row).collect()
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

    async fn list_packages(&self) -> StoreResult<Vec<Package>> {
        let rows =
            sqlx::query("SELECT * FROM packages WHERE active = 1 ORDER BY price_minor, slug")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(package_from_row).collect()
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
}
