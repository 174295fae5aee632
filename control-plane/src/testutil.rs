//! Test fixtures shared by every module's tests.

use crate::store::*;
use ed25519_dalek::SigningKey;
use std::sync::Arc;

/// A seeded store: one location with one router, a staff member, a manager, an admin, a package.
pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub location: Location,
    pub router: Router,
    pub agent_key: SigningKey,
    pub mqtt_password: String,
    pub staff: User,
    pub manager: User,
    pub admin: User,
    pub package: Package,
    _dir: Option<tempfile::TempDir>,
}

/// Password of every fixture user.
pub const PASSWORD: &str = "correct horse battery";

/// A fresh SQLite store in a temporary directory.
pub async fn sqlite_store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/mtm.db", dir.path().display());
    (open(&url).await.unwrap(), dir)
}

/// Seed `store` with the fixture records.
pub async fn seed(store: Arc<dyn Store>) -> Fixture {
    let location = store
        .create_location(NewLocation {
            name: "Cafe One".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    let agent_key = mtm_common::keys::generate_signing_key();
    let mqtt_password = "agent-secret-password".to_string();
    let router = store
        .create_router(NewRouter {
            location_id: location.id,
            name: "Router One".into(),
            agent_id: "agent-1".into(),
            public_key_hex: mtm_common::keys::public_key_hex(&agent_key.verifying_key()),
            mqtt_password: mqtt_password.clone(),
        })
        .await
        .unwrap();
    let user = |name: &str, role| NewUser {
        username: name.into(),
        password: PASSWORD.into(),
        role,
        location_ids: vec![location.id],
    };
    let staff = store.create_user(user("staff", Role::Staff)).await.unwrap();
    let manager = store
        .create_user(user("manager", Role::Manager))
        .await
        .unwrap();
    let admin = store
        .create_user(user("admin", Role::SuperAdmin))
        .await
        .unwrap();
    let package = store
        .create_package(NewPackage {
            slug: "1h".into(),
            name: "One hour".into(),
            price_minor: 500,
            currency: "USD".into(),
            limit_uptime_s: Some(3600),
            limit_bytes_total: None,
            rate_limit: Some("2M/5M".into()),
            shared_users: 1,
            validity_s: Some(86400),
            uses_password: false,
        })
        .await
        .unwrap();
    Fixture {
        store,
        location,
        router,
        agent_key,
        mqtt_password,
        staff,
        manager,
        admin,
        package,
        _dir: None,
    }
}

/// A seeded fresh SQLite store.
pub async fn sqlite_fixture() -> Fixture {
    let (store, dir) = sqlite_store().await;
    let mut f = seed(store).await;
    f._dir = Some(dir);
    f
}

impl Fixture {
    /// Clock the staff member in and issue one token.
    pub async fn issue(&self) -> (Token, StoredCommand) {
        if self
            .store
            .open_shift_of(self.staff.id)
            .await
            .unwrap()
            .is_none()
        {
            self.store
                .open_shift(self.staff.id, self.location.id, 1000, "staff")
                .await
                .unwrap();
        }
        self.store
            .issue_token(IssueToken {
                id: uuid::Uuid::new_v4(),
                code: mtm_common::token_code::generate(8),
                password: None,
                package_id: self.package.id,
                staff_id: self.staff.id,
                staff_username: "staff".into(),
                command_id: uuid::Uuid::new_v4(),
            })
            .await
            .unwrap()
    }
}
