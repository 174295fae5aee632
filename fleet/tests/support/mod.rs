//! What the bounded fleet runs need around the simulator: a real server on either database, a
//! private Mosquitto with Dynamic Security, and the database read back to compare with what the
//! agents were told was stored.
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use mtm_control_plane::store::{NewUser, Role};
use mtm_control_plane::ServerHandle;

/// Password of the `root` account every run makes.
pub const ROOT_PASSWORD: &str = "root-pass-123";

/// The MQTT account the server administers Mosquitto with.
pub const SERVER_USER: &str = "mtm-server";

/// Show the server's and the fleet's warnings in the test output (`RUST_LOG` overrides).
pub fn logs() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// Make the `root` super-admin on `server`.
pub async fn root(server: &ServerHandle) {
    server
        .store()
        .create_user(NewUser {
            username: "root".into(),
            password: ROOT_PASSWORD.into(),
            role: Role::SuperAdmin,
            location_ids: vec![],
        })
        .await
        .expect("root account");
}

/// Poll `cond` every 50 ms until it holds; panics naming `what` after `limit`.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !cond().await {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The PostgreSQL the suite runs against (`MTM_TEST_POSTGRES_URL` overrides); the test fails,
/// never skips, when it is unreachable.
pub fn postgres_url() -> String {
    std::env::var("MTM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh, migrated schema named like the store suite's (`mtm_test_{secs}_{random}`, so its
/// cleanup of old ones removes it too) and the database URL that selects it.
pub async fn postgres_schema() -> (String, String) {
    let secs = mtm_control_plane::store::now_ms() / 1000;
    let schema = format!("mtm_test_{secs}_{}", uuid::Uuid::new_v4().simple());
    drop(
        mtm_control_plane::store::sql::SqlStore::open_in_schema(&postgres_url(), &schema)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {} is required: {e}", postgres_url())),
    );
    let sep = if postgres_url().contains('?') {
        '&'
    } else {
        '?'
    };
    let url = format!("{}{sep}options[search_path]={schema}", postgres_url());
    (schema, url)
}

/// Drop a schema made by [`postgres_schema`].
pub async fn drop_schema(schema: &str) {
    if let Ok(pool) = sqlx::PgPool::connect(&postgres_url()).await {
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .execute(&pool)
            .await;
    }
}

/// The server's database, read directly.
pub enum Db {
    /// SQLite file.
    Sqlite(sqlx::SqlitePool),
    /// PostgreSQL schema.
    Postgres(sqlx::PgPool),
}

impl Db {
    /// Connect to `url` (`sqlite://` or `postgres://`).
    pub async fn connect(url: &str) -> Db {
        if url.starts_with("postgres") {
            Db::Postgres(sqlx::PgPool::connect(url).await.expect("postgres"))
        } else {
            Db::Sqlite(sqlx::SqlitePool::connect(url).await.expect("sqlite"))
        }
    }

    /// One integer from `sql` with text parameters `args` (`$1`, `$2`, ...).
    pub async fn int(&self, sql: &str, args: &[&str]) -> i64 {
        match self {
            Db::Sqlite(p) => {
                let mut q = sqlx::query_scalar::<_, i64>(sql);
                for a in args {
                    q = q.bind(*a);
                }
                q.fetch_one(p).await
            }
            Db::Postgres(p) => {
                let mut q = sqlx::query_scalar::<_, i64>(sql);
                for a in args {
                    q = q.bind(*a);
                }
                q.fetch_one(p).await
            }
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

/// `name` on PATH or in the sbin folders (Debian puts `mosquitto` in /usr/sbin).
fn program(name: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists());
    found.unwrap_or_else(|| panic!("{name} not found: install the mosquitto package"))
}

/// The dynsec plugin in the usual library folders.
fn dynsec_plugin() -> PathBuf {
    let multiarch = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
    [
        multiarch.as_str(),
        "/usr/lib/mosquitto",
        "/usr/lib",
        "/usr/local/lib",
    ]
    .iter()
    .map(|d| Path::new(d).join("mosquitto_dynamic_security.so"))
    .find(|p| p.exists())
    .unwrap_or_else(|| panic!("mosquitto_dynamic_security.so not found: install mosquitto"))
}

/// A private Mosquitto with Dynamic Security on a free loopback port, the server's account its
/// admin; killed on drop. Never the machine's shared broker: another suite's replicas there
/// would take this run's messages from the shared subscription.
pub struct Mosquitto {
    _child: tokio::process::Child,
    /// Where it listens.
    pub port: u16,
}

/// Start a [`Mosquitto`] in `dir` whose admin is [`SERVER_USER`] with `server_password`.
pub async fn start_mosquitto(dir: &Path, server_password: &str) -> Mosquitto {
    let dynsec = dir.join("dynamic-security.json");
    let out = std::process::Command::new(program("mosquitto_ctrl"))
        .args(["dynsec", "init"])
        .arg(&dynsec)
        .args([SERVER_USER, server_password])
        .output()
        .expect("running mosquitto_ctrl");
    assert!(
        out.status.success(),
        "mosquitto_ctrl dynsec init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let conf = dir.join("mosquitto.conf");
    // `user root` keeps a broker started by root from dropping to `mosquitto`, which could not
    // write the dynsec file in this private folder.
    std::fs::write(
        &conf,
        format!(
            "user root\nlistener {port} 127.0.0.1\nallow_anonymous false\nplugin {}\n\
             plugin_opt_config_file {}\npersistence false\nmax_queued_messages 100000\n\
             log_dest stderr\nlog_type error\n",
            dynsec_plugin().display(),
            dynsec.display()
        ),
    )
    .expect("mosquitto.conf");
    let child = tokio::process::Command::new(program("mosquitto"))
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawning mosquitto");
    wait_for(
        "mosquitto listening",
        Duration::from_secs(20),
        || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        },
    )
    .await;
    Mosquitto {
        _child: child,
        port,
    }
}
