//! What the day's server stands on, chosen per day: SQLite or a private PostgreSQL cluster, the
//! embedded broker or a private Mosquitto. The private ones are this test's own processes (never
//! the shared PostgreSQL on 5432 or Mosquitto on 1883), so the day can kill and restart them.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::support::private_pg::PrivatePg;

/// Which database the server uses (`MTM_SOAK_DB`: `sqlite` or `postgres`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    /// A file in the day's folder.
    Sqlite,
    /// A private cluster started by the test with `initdb`/`pg_ctl`.
    Postgres,
}

/// Which broker agents and server meet on (`MTM_SOAK_BROKER`: `embedded` or `mosquitto`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broker {
    /// The server's own rumqttd: it dies and comes back with the server.
    Embedded,
    /// A private `mosquitto -p PORT` the test kills and starts again on the same port.
    Mosquitto,
}

impl Db {
    /// `MTM_SOAK_DB` if set, else `default`.
    pub fn from_env(default: Db) -> Db {
        match std::env::var("MTM_SOAK_DB").as_deref() {
            Ok("postgres") => Db::Postgres,
            Ok("sqlite") => Db::Sqlite,
            _ => default,
        }
    }
}

impl Broker {
    /// `MTM_SOAK_BROKER` if set, else `default`.
    pub fn from_env(default: Broker) -> Broker {
        match std::env::var("MTM_SOAK_BROKER").as_deref() {
            Ok("mosquitto") => Broker::Mosquitto,
            Ok("embedded") => Broker::Embedded,
            _ => default,
        }
    }
}

/// The database the day's server writes to.
pub enum Database {
    /// SQLite at this URL.
    Sqlite(String),
    /// The private cluster (stopped when dropped).
    Postgres(PrivatePg),
}

impl Database {
    /// Create it: a SQLite URL in `dir`, or a fresh private cluster. PostgreSQL's server binaries
    /// must be installed (scripts/test.sh does); the test fails, never skips, without them.
    pub fn open(db: Db, dir: &Path) -> Database {
        match db {
            Db::Sqlite => Database::Sqlite(format!("sqlite://{}", dir.join("mtm.db").display())),
            Db::Postgres => Database::Postgres(PrivatePg::start().expect(
                "PostgreSQL's server binaries (/usr/lib/postgresql/*/bin/initdb) are missing",
            )),
        }
    }

    /// The URL the server and the checks use.
    pub fn url(&self) -> String {
        match self {
            Database::Sqlite(url) => url.clone(),
            Database::Postgres(pg) => pg.url(),
        }
    }

    /// Restart PostgreSQL while everything runs: fast shutdown by the postmaster's PID (sessions
    /// cut, connections refused), down for `down`, then started again on the same port. Nothing
    /// to do on SQLite (returns false).
    pub async fn restart(&self, down: Duration) -> bool {
        let Database::Postgres(pg) = self else {
            return false;
        };
        // pg_ctl and the wait for the postmaster block; keep them off the runtime's workers.
        tokio::task::block_in_place(|| pg.stop());
        tokio::time::sleep(down).await;
        tokio::task::block_in_place(|| pg.run());
        true
    }

    /// How many usage rows the server stored.
    pub async fn usage_rows(&self) -> i64 {
        let q = "SELECT COUNT(*) FROM usage";
        match self {
            Database::Sqlite(url) => {
                let pool = sqlx::SqlitePool::connect(url).await.unwrap();
                let n = sqlx::query_scalar(q).fetch_one(&pool).await.unwrap();
                pool.close().await;
                n
            }
            Database::Postgres(pg) => {
                let pool = sqlx::PgPool::connect(&pg.url()).await.unwrap();
                let n = sqlx::query_scalar(q).fetch_one(&pool).await.unwrap();
                pool.close().await;
                n
            }
        }
    }
}

/// A private Mosquitto on a fixed port, which the day can kill and start again.
pub struct Mosquitto {
    addr: SocketAddr,
    child: Mutex<Option<Child>>,
}

impl Mosquitto {
    /// Start it on `addr`'s port.
    pub async fn start(addr: SocketAddr) -> Mosquitto {
        let m = Mosquitto {
            addr,
            child: Mutex::new(None),
        };
        m.run().await;
        m
    }

    async fn run(&self) {
        let child = Command::new("mosquitto")
            .args(["-p", &self.addr.port().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("mosquitto is installed (scripts/tools.txt)");
        *self.child.lock().unwrap() = Some(child);
        let addr = self.addr;
        crate::support::wait_for("mosquitto listening", Duration::from_secs(20), || async {
            tokio::net::TcpStream::connect(addr).await.is_ok()
        })
        .await;
    }

    /// SIGKILL it (by its own PID), leave it down for `down`, start it again on the same port.
    pub async fn restart(&self, down: Duration) {
        let child = self.child.lock().unwrap().take();
        if let Some(mut c) = child {
            let _ = c.kill().await;
        }
        tokio::time::sleep(down).await;
        self.run().await;
    }

    /// Stop it for good.
    pub async fn stop(&self) {
        let child = self.child.lock().unwrap().take();
        if let Some(mut c) = child {
            let _ = c.kill().await;
        }
    }
}
