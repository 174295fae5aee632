//! What is sold and where: locations and their settings, routers and their enrollment, packages, and frozen counters.

use crate::store::*;
use async_trait::async_trait;
use uuid::Uuid;

/// What is sold and where: locations and their settings, routers and their enrollment, packages, and frozen counters.
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Create a location.
    async fn create_location(&self, location: NewLocation) -> StoreResult<Location>;
    /// All locations.
    async fn list_locations(&self) -> StoreResult<Vec<Location>>;
    /// A location by id.
    async fn location(&self, id: Uuid) -> StoreResult<Option<Location>>;
    /// Enroll a router; the MQTT password is stored as a SHA-256 hash.
    async fn create_router(&self, router: NewRouter) -> StoreResult<Router>;
    /// A router by id.
    async fn router(&self, id: Uuid) -> StoreResult<Option<Router>>;
    /// A router by its agent id.
    async fn router_by_agent(&self, agent_id: &str) -> StoreResult<Option<Router>>;
    /// Check an agent's MQTT credentials.
    async fn check_mqtt_password(&self, agent_id: &str, password: &str) -> StoreResult<bool>;
    /// All routers with their latest health.
    async fn list_routers(&self) -> StoreResult<Vec<RouterStatus>>;
    /// The routers at one location, without their health: what a location's own figures
    /// need, one index range rather than the whole fleet.
    async fn routers_at(&self, location_id: Uuid) -> StoreResult<Vec<Router>>;
    /// Record an agent's retained status. Unsigned, so a hint only: it never moves `last_seen`,
    /// which only verified messages refresh (in [`Store::apply_up`]).
    async fn set_router_online(&self, agent_id: &str, online: bool) -> StoreResult<()>;
    /// Create a package.
    async fn create_package(&self, package: NewPackage) -> StoreResult<Package>;
    /// All active packages.
    async fn list_packages(&self) -> StoreResult<Vec<Package>>;
    /// Every package, on sale first, then retired ones.
    async fn list_all_packages(&self) -> StoreResult<Vec<Package>>;
    /// Change a package's editable fields (a retired one stops being sold), audited as
    /// `package.update` in the same transaction; its `updated_at` becomes newer than every
    /// other package's, so the catalog version changes.
    async fn update_package(
        &self,
        id: Uuid,
        change: &PackageChange,
        actor: &str,
        now: i64,
    ) -> StoreResult<Package>;
    /// A location's reconciliation settings (defaults until changed); `None` if there is no
    /// such location.
    async fn location_settings(&self, location_id: Uuid) -> StoreResult<Option<LocationSettings>>;
    /// Change a location's time zone, cash threshold or close time, audited in the same
    /// transaction.
    async fn update_location_settings(
        &self,
        location_id: Uuid,
        change: &LocationSettingsChange,
        actor: &str,
        now: i64,
    ) -> StoreResult<LocationSettings>;
    /// Store a one-time enrollment code (its SHA-256 hex, see [`enrollment_code_hash`]) for a
    /// router, replacing the router's unused codes; audited in the same transaction.
    async fn create_enrollment_code(
        &self,
        router_id: Uuid,
        code_hash: &str,
        expires_at: i64,
        actor: &str,
        now: i64,
    ) -> StoreResult<()>;
    /// Redeem a code: if it is known, unused, not replaced and unexpired, mark it used, give its
    /// router `public_key_hex` and `mqtt_password` (stored hashed; the old key and password stop
    /// working) and reset the router's seq state for the new device; audited.
    async fn redeem_enrollment_code(
        &self,
        code_hash: &str,
        public_key_hex: &str,
        mqtt_password: &str,
        agent_version: &str,
        now: i64,
    ) -> StoreResult<Redeemed>;
    /// Revoke a router's agent: its key and MQTT password stop working at once and its unused
    /// codes are replaced; audited.
    async fn revoke_router(&self, router_id: Uuid, actor: &str, now: i64) -> StoreResult<Router>;
    /// Enrollment facts of a router, `None` if there is no such router.
    async fn enrollment_state(&self, router_id: Uuid) -> StoreResult<Option<EnrollmentState>>;
    /// Freeze (or thaw) dispensing at a location, audited in the same transaction.
    async fn set_location_frozen(
        &self,
        location_id: Uuid,
        frozen: bool,
        reason: &str,
        actor: &str,
        now: i64,
    ) -> StoreResult<()>;
    /// Locations where dispensing is frozen.
    async fn frozen_locations(&self) -> StoreResult<Vec<LocationFreeze>>;
}
