//! Test fixtures shared by every module's tests.

use crate::store::sql::SqlStore;
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
            lock_to_mac: false,
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

/// The PostgreSQL server the suite runs against (`MTM_TEST_POSTGRES_URL` overrides). The tests
/// fail, never skip, when it is unreachable.
pub fn postgres_url() -> String {
    std::env::var("MTM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh PostgreSQL store in its own schema, named `mtm_test_{unix seconds}_{random}` so that
/// schemas left by runs over an hour old can be dropped without touching a running one.
pub async fn postgres_store_raw() -> crate::store::sql::SqlStore {
    drop_stale_schemas().await;
    let secs = crate::store::now_ms() / 1000;
    let schema = format!("mtm_test_{secs}_{}", uuid::Uuid::new_v4().simple());
    postgres_store_in(&schema).await
}

/// The store in `schema` of the test PostgreSQL server (created and migrated if new).
async fn postgres_store_in(schema: &str) -> crate::store::sql::SqlStore {
    crate::store::sql::SqlStore::open_in_schema(&postgres_url(), schema)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {} is required: {e}", postgres_url()))
}

async fn drop_stale_schemas() {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let Ok(pool) = sqlx::PgPool::connect(&postgres_url()).await else {
            return;
        };
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT nspname::TEXT FROM pg_namespace WHERE nspname LIKE 'mtm\\_test\\_%'",
        )
        .fetch_all(&pool)
        .await
        .unwrap_or_default();
        let cutoff = crate::store::now_ms() / 1000 - 3600;
        for name in names {
            let stamp = name
                .strip_prefix("mtm_test_")
                .and_then(|r| r.split('_').next());
            if stamp
                .and_then(|t| t.parse::<i64>().ok())
                .is_some_and(|t| t < cutoff)
            {
                let _ = sqlx::query(&format!("DROP SCHEMA {name} CASCADE"))
                    .execute(&pool)
                    .await;
            }
        }
        pool.close().await;
    })
    .await;
}

/// A seeded fresh PostgreSQL store.
pub async fn postgres_fixture() -> Fixture {
    fixture(TestDb::Postgres).await
}

/// A seeded fresh SQLite store.
pub async fn sqlite_fixture() -> Fixture {
    fixture(TestDb::Sqlite).await
}

/// The databases the store runs on; store tests take each in turn.
#[derive(Debug, Clone, Copy)]
pub enum TestDb {
    /// A SQLite file in a temporary folder.
    Sqlite,
    /// A fresh schema on the PostgreSQL server of [`postgres_url`].
    Postgres,
}

/// A fresh, empty store in a database of this kind, with the folder holding it (SQLite), which
/// must outlive the store.
pub async fn sql_store(db: TestDb) -> (Arc<SqlStore>, Option<tempfile::TempDir>) {
    match db {
        TestDb::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/mtm.db", dir.path().display());
            (Arc::new(SqlStore::open(&url).await.unwrap()), Some(dir))
        }
        TestDb::Postgres => (Arc::new(postgres_store_raw().await), None),
    }
}

/// Two stores on one fresh database of this kind, as two replicas of the server have them:
/// each with its own pool and its own process-local state.
pub async fn sql_replicas(db: TestDb) -> (Arc<SqlStore>, Arc<SqlStore>, Option<tempfile::TempDir>) {
    match db {
        TestDb::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/mtm.db", dir.path().display());
            let one = Arc::new(SqlStore::open(&url).await.unwrap());
            let two = Arc::new(SqlStore::open(&url).await.unwrap());
            (one, two, Some(dir))
        }
        TestDb::Postgres => {
            let one = postgres_store_raw().await;
            let schema: String = sqlx::query_scalar("SELECT current_schema()::TEXT")
                .fetch_one(one.pool())
                .await
                .unwrap();
            let two = postgres_store_in(&schema).await;
            (Arc::new(one), Arc::new(two), None)
        }
    }
}

/// A seeded fresh store in a database of this kind.
pub async fn fixture(db: TestDb) -> Fixture {
    let (store, dir) = sql_store(db).await;
    let mut f = seed(store).await;
    f._dir = dir;
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
                sale_key: None,
            })
            .await
            .unwrap()
    }
}

/// An app over a seeded store, with a recording publisher and a fresh control-plane key.
pub struct TestApp {
    pub f: Fixture,
    pub state: crate::app::AppState,
    pub rec: Arc<crate::mqtt::testing::Recorder>,
    pub cp: SigningKey,
    /// The releases folder (`DATA/releases`).
    pub releases_dir: tempfile::TempDir,
}

/// Build a [`TestApp`].
pub async fn test_app() -> TestApp {
    test_app_on(sqlite_fixture().await).await
}

/// Build a [`TestApp`] over `f` (a fixture on either database).
pub async fn test_app_on(f: Fixture) -> TestApp {
    use crate::app::{AppState, Settings};
    let rec = Arc::new(crate::mqtt::testing::Recorder::default());
    let cp = mtm_common::keys::generate_signing_key();
    let metrics = Arc::new(crate::metrics::Metrics::default());
    let dispatcher = Arc::new(crate::commands::Dispatcher::new(
        f.store.clone(),
        rec.clone(),
        cp.clone(),
        metrics.clone(),
    ));
    let state = AppState {
        store: f.store.clone(),
        dispatcher,
        metrics,
        jwt: Arc::new(crate::auth::JwtKeys::new(&[7u8; 32])),
        limiter: Arc::new(crate::auth::RateLimiter::default()),
        settings: Arc::new(Settings {
            secure_cookies: true,
            token_code_len: 8,
            public_url: Some("http://hotspot.lan/login".into()),
            external_url: Some("https://mtm.example.com".into()),
            mqtt_addr: "127.0.0.1:1884".parse().unwrap(),
            control_plane_public_key: mtm_common::keys::public_key_hex(&cp.verifying_key()),
            enrollment: Default::default(),
        }),
    };
    TestApp {
        f,
        state,
        rec,
        cp,
        releases_dir: tempfile::tempdir().unwrap(),
    }
}

/// One HTTP exchange's result.
pub struct Reply {
    pub status: axum::http::StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

impl TestApp {
    /// Send a request through the whole app.
    pub async fn call(&self, req: axum::http::Request<axum::body::Body>) -> Reply {
        use tower::ServiceExt;
        let dir = self.releases_dir.path().to_path_buf();
        let resp = crate::app::full_app(self.state.clone(), dir)
            .oneshot(req)
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// A JSON request, with an optional bearer token.
    pub async fn json(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Reply {
        let mut b = axum::http::Request::builder().method(method).uri(path);
        if let Some(t) = bearer {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                axum::body::Body::from(v.to_string())
            }
            None => axum::body::Body::empty(),
        };
        self.call(b.body(body).unwrap()).await
    }

    /// A form POST or a GET with the session cookie.
    pub async fn page(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        form: Option<&str>,
    ) -> Reply {
        let mut b = axum::http::Request::builder().method(method).uri(path);
        if let Some(c) = cookie {
            b = b.header("cookie", format!("{}={c}", crate::auth::COOKIE));
        }
        let body = match form {
            Some(f) => {
                b = b.header("content-type", "application/x-www-form-urlencoded");
                axum::body::Body::from(f.to_owned())
            }
            None => axum::body::Body::empty(),
        };
        self.call(b.body(body).unwrap()).await
    }

    /// Log in over the API; returns (jwt, csrf).
    pub async fn login(&self, username: &str) -> (String, String) {
        let r = self
            .json(
                "POST",
                "/api/auth/login",
                None,
                Some(serde_json::json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        (
            v["token"].as_str().unwrap().to_owned(),
            v["csrf_token"].as_str().unwrap().to_owned(),
        )
    }

    /// Sell one voucher of the fixture's package over the API as `jwt`.
    pub async fn sell_over_api(&self, jwt: &str) -> Reply {
        self.json(
            "POST",
            "/api/tokens/generate",
            Some(jwt),
            Some(serde_json::json!({ "package_id": self.f.package.id })),
        )
        .await
    }

    /// Log the fixture's staff member in and clock them in over the API with a 10.00 float;
    /// returns their jwt.
    pub async fn staff_on_shift(&self) -> String {
        let (staff, _) = self.login("staff").await;
        let r = self
            .json(
                "POST",
                "/api/shifts/clock-in",
                Some(&staff),
                Some(serde_json::json!({"opening_float_minor": 1000})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        staff
    }
}

/// Poll `fut` up to `polls` times, pausing the thread for `pause` between polls so that a
/// database connection's own thread moves on meanwhile, then drop it if it has not finished:
/// what a request whose client disconnected, or a timeout, does to a store call.
pub async fn abandon_after(fut: impl std::future::Future, polls: u32, pause: std::time::Duration) {
    let mut fut = std::pin::pin!(fut);
    for _ in 0..polls {
        let ready =
            std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx).is_ready()))
                .await;
        if ready {
            return;
        }
        std::thread::sleep(pause);
    }
}

/// An audit entry for tests that only need some write.
pub fn test_audit_entry(i: u32) -> AuditEntry {
    AuditEntry {
        actor: "test".into(),
        action: "test.write".into(),
        target: i.to_string(),
        detail: serde_json::json!({}),
    }
}

/// Check `cond` every 50 ms until it holds; fails the test after `limit`.
pub async fn wait_until<F, Fut>(limit: std::time::Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not reached within {limit:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The audit rows of `action`, newest first.
pub async fn audited(app: &TestApp, action: &str) -> Vec<crate::store::LogRow> {
    let log = app
        .f
        .store
        .list_log(crate::store::LogTable::Audit, 200, 0)
        .await
        .unwrap();
    log.into_iter().filter(|r| r.action == action).collect()
}

/// `path` refuses a manager's and a staff member's form (403), and an admin's without CSRF.
pub async fn admin_only_with_csrf(app: &TestApp, path: &str, form: &str) {
    for who in ["staff", "manager"] {
        let (jwt, csrf) = app.login(who).await;
        let r = app
            .page(
                "POST",
                path,
                Some(&jwt),
                Some(&format!("_csrf={csrf}&{form}")),
            )
            .await;
        assert_eq!(
            r.status,
            axum::http::StatusCode::FORBIDDEN,
            "{who} on {path}"
        );
    }
    let (admin, _) = app.login("admin").await;
    let r = app.page("POST", path, Some(&admin), Some(form)).await;
    assert_eq!(
        r.status,
        axum::http::StatusCode::FORBIDDEN,
        "no CSRF on {path}"
    );
}
