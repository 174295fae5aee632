//! The agent's durable state in one redb file: the outbox of sealed up-messages, the inbox of
//! commands, the sequence counters, and the telemetry baselines.
//!
//! Every change that must be atomic with an outgoing message (a command's result, a usage
//! baseline) is made inside one [`Txn`], so a power cut leaves either both or neither.

mod checkpoints;
mod inbox;
mod issued;
mod mac_lock;
mod outbox;
mod telemetry;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard};

use ed25519_dalek::SigningKey;
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};
use tokio::sync::Notify;

pub use inbox::{InboxOutcome, InboxRecord};
pub use issued::KEEP_MS as ISSUED_KEEP_MS;
pub use mac_lock::MacLock;
pub use outbox::OUTBOX_CAP;
pub use telemetry::{Baseline, Validity};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "agent.redb";

/// redb page cache limit.
const CACHE_BYTES: usize = 4 << 20;

pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(crate) const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
pub(crate) const INBOX: TableDefinition<u128, &[u8]> = TableDefinition::new("inbox");
pub(crate) const PENDING: TableDefinition<u64, u128> = TableDefinition::new("pending");
pub(crate) const BASELINE: TableDefinition<&str, &[u8]> = TableDefinition::new("baseline");
pub(crate) const VALIDITY: TableDefinition<u128, &[u8]> = TableDefinition::new("validity");
pub(crate) const ISSUED: TableDefinition<u128, &[u8]> = TableDefinition::new("issued");
pub(crate) const MAC_LOCK: TableDefinition<u128, &[u8]> = TableDefinition::new("mac_lock");

pub(crate) const NEXT_SEQ: &str = "next_seq";
pub(crate) const LAST_ACKED: &str = "last_acked";
pub(crate) const LAST_CP_SEQ: &str = "last_cp_seq";
pub(crate) const CATALOG_VERSION: &str = "catalog_version";
pub(crate) const NEXT_ARRIVAL: &str = "next_arrival";
pub(crate) const COMMANDS_APPLIED: &str = "commands_applied";
/// Number of the newest router log line already reported (see `telemetry::logins_since`).
pub const LOG_CURSOR: &str = "log_cursor";

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb reported an error.
    #[error("redb: {0}")]
    Db(Box<redb::Error>),
    /// A record could not be encoded or decoded.
    #[error("record: {0}")]
    Codec(#[from] mtm_common::WireError),
    /// The lock around the database was poisoned by a panic elsewhere.
    #[error("store lock poisoned")]
    Poisoned,
    /// The database is closed after a failure and could not be reopened yet (the disk is
    /// still full, say); it is tried again at most once a second.
    #[error("database closed after an I/O error; reopening")]
    Closed,
}

impl StoreError {
    /// Whether redb needs the database closed and reopened before it works again: after an
    /// I/O error it refuses every operation (`PreviousIo`) until then.
    pub fn needs_reopen(&self) -> bool {
        match self {
            StoreError::Db(e) => matches!(
                **e,
                redb::Error::Io(_)
                    | redb::Error::PreviousIo
                    | redb::Error::Corrupted(_)
                    | redb::Error::LockPoisoned(_)
            ),
            StoreError::Poisoned | StoreError::Closed => true,
            StoreError::Codec(_) => false,
        }
    }
}

/// How the store has fared since the agent started, for the status endpoint and `Health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreHealth {
    /// The database is open and nothing failed for the last 10 s.
    pub ok: bool,
    /// Store operations that failed since the agent started.
    pub errors: u64,
    /// Times the database was closed and reopened after an I/O error.
    pub reopens: u64,
    /// The most recent failure, if any.
    pub last_error: Option<String>,
}

/// Store failures observed, and when a reopen was last tried.
#[derive(Default)]
struct Doctor {
    errors: AtomicU64,
    reopens: AtomicU64,
    last_failure: std::sync::Mutex<Option<std::time::Instant>>,
    last_error: std::sync::Mutex<Option<String>>,
    last_attempt: std::sync::Mutex<Option<std::time::Instant>>,
}

/// The store counts as healthy again only after this long without a failure: a reopened
/// database answers reads while writes still fail on a full disk.
const HEALTHY_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// Reopens are tried at most this often while the disk stays broken.
const REOPEN_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A read hold on the open database; `begin_*` fail with [`StoreError::Closed`] while it is
/// closed.
pub(crate) struct DbGuard<'a>(RwLockReadGuard<'a, Option<Database>>);

impl DbGuard<'_> {
    fn get(&self) -> Result<&Database, StoreError> {
        self.0.as_ref().ok_or(StoreError::Closed)
    }

    pub(crate) fn begin_read(&self) -> Result<redb::ReadTransaction, StoreError> {
        Ok(self.get()?.begin_read()?)
    }

    pub(crate) fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        Ok(self.get()?.begin_write()?)
    }
}

fn open_db(path: &Path) -> Result<Database, StoreError> {
    // redb's default cache may grow to 1 GiB; an edge box has a few hundred MB in all.
    let db = redb::Builder::new()
        .set_cache_size(CACHE_BYTES)
        .create(path)?;
    let tx = db.begin_write()?;
    {
        // Create every table up front so readers never meet a missing one.
        tx.open_table(META)?;
        tx.open_table(OUTBOX)?;
        tx.open_table(INBOX)?;
        tx.open_table(PENDING)?;
        tx.open_table(BASELINE)?;
        tx.open_table(VALIDITY)?;
        tx.open_table(ISSUED)?;
        tx.open_table(MAC_LOCK)?;
    }
    tx.commit()?;
    Ok(db)
}

macro_rules! redb_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(Box::new(e.into()))
            }
        }
    )*};
}
redb_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::CompactionError
);

/// The open database plus what is needed to seal messages into the outbox.
pub struct Store {
    /// `None` while closed after a failure, until a reopen succeeds.
    db: RwLock<Option<Database>>,
    key: SigningKey,
    agent_id: String,
    path: PathBuf,
    /// Woken after every commit that added to the outbox.
    pub(crate) outbox_changed: Notify,
    deleted_since_compact: AtomicU64,
    /// Highest `seq` handed to the broker client by this process (everything already in the
    /// outbox at start counts as possibly sent).
    published_high: AtomicU64,
    /// Held by the publisher while it reads and marks rows, and by every write transaction
    /// until it commits, so a merge never rewrites a row the publisher has taken.
    pub(crate) publish_gate: std::sync::Mutex<()>,
    doctor: Doctor,
}

/// One write transaction. Messages enqueued here get their `seq` inside it, so the counter and
/// the outbox can never disagree.
pub struct Txn<'s> {
    pub(crate) tx: WriteTransaction,
    pub(crate) store: &'s Store,
    pub(crate) now_ms: i64,
    enqueued: usize,
}

/// Added to the system clock by [`now_ms`]: 0, except in tests that play a wrong clock being
/// set right (`test_support::set_clock_error_ms`), which cannot step the host's real clock.
pub(crate) static CLOCK_ERROR_MS: AtomicI64 = AtomicI64::new(0);

/// Milliseconds since the unix epoch by the agent's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
        .saturating_add(CLOCK_ERROR_MS.load(Ordering::Relaxed))
}

impl Store {
    /// Open (or create) `data_dir/agent.redb` and compact it once.
    pub fn open(data_dir: &Path, key: SigningKey, agent_id: &str) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::from(redb::Error::Io(e)))?;
        let path = data_dir.join(DB_FILE);
        let mut db = open_db(&path)?;
        // Compaction needs free space: on a full disk the agent still starts (and heals once
        // there is room) rather than failing in a restart loop.
        if let Err(e) = db.compact() {
            tracing::warn!(error = %e, "compacting the store at start failed");
            drop(db);
            db = open_db(&path)?;
        }
        let next_seq = {
            let tx = db.begin_read()?;
            let t = tx.open_table(META)?;
            let v = t.get(NEXT_SEQ)?.map(|v| v.value()).unwrap_or(1);
            v
        };
        let store = Store {
            db: RwLock::new(Some(db)),
            key,
            agent_id: agent_id.to_owned(),
            path,
            outbox_changed: Notify::new(),
            deleted_since_compact: AtomicU64::new(0),
            published_high: AtomicU64::new(next_seq.saturating_sub(1)),
            publish_gate: std::sync::Mutex::new(()),
            doctor: Doctor::default(),
        };
        let resealed = store.reseal_old_outbox()?;
        if resealed > 0 {
            tracing::info!(
                resealed,
                "outbox rows re-sealed with the current envelope version"
            );
        }
        Ok(store)
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The agent id messages are sealed as.
    pub fn agent_id(&self) -> &str {
        &self.agent_id
    }

    /// The agent's public key.
    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    fn db(&self) -> Result<DbGuard<'_>, StoreError> {
        {
            let g = self.db.read().map_err(|_| StoreError::Poisoned)?;
            if g.is_some() {
                return Ok(DbGuard(g));
            }
        }
        self.reopen();
        Ok(DbGuard(self.db.read().map_err(|_| StoreError::Poisoned)?))
    }

    /// Run `f` in a read transaction, noting a failure.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let r = {
            let db = self.db();
            db.and_then(|db| f(&db.begin_read()?))
        };
        self.observe(r)
    }

    /// Count a failure; after an I/O error close the database and open it again, since redb
    /// refuses everything after one until then. Called with no hold on the database.
    fn observe<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &r {
            self.note_failure(e);
            if e.needs_reopen() {
                self.reopen();
            }
        }
        r
    }

    /// Close and reopen the database, at most once per [`REOPEN_EVERY`]; true if it is open
    /// afterwards.
    fn reopen(&self) -> bool {
        {
            let Ok(mut last) = self.doctor.last_attempt.lock() else {
                return false;
            };
            let now = std::time::Instant::now();
            if last.is_some_and(|t| now.duration_since(t) < REOPEN_EVERY) {
                return false;
            }
            *last = Some(now);
        }
        let Ok(mut db) = self.db.write() else {
            return false;
        };
        // The old handle must go first: redb locks the file against a second opener.
        *db = None;
        match open_db(&self.path) {
            Ok(fresh) => {
                *db = Some(fresh);
                self.doctor.reopens.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(path = %self.path.display(), "store reopened after an I/O error");
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "reopening the store failed; trying again");
                self.note_failure(&e);
                false
            }
        }
    }

    fn note_failure(&self, e: &StoreError) {
        self.doctor.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.doctor.last_error.lock() {
            *last = Some(e.to_string());
        }
        if let Ok(mut t) = self.doctor.last_failure.lock() {
            *t = Some(std::time::Instant::now());
        }
    }

    /// How the store is doing: open, and no failure for [`HEALTHY_AFTER`].
    pub fn health(&self) -> StoreHealth {
        let open = self.db.read().map(|g| g.is_some()).unwrap_or(false);
        let recent = self
            .doctor
            .last_failure
            .lock()
            .map(|t| t.is_some_and(|t| t.elapsed() < HEALTHY_AFTER))
            .unwrap_or(true);
        StoreHealth {
            ok: open && !recent,
            errors: self.doctor.errors.load(Ordering::Relaxed),
            reopens: self.doctor.reopens.load(Ordering::Relaxed),
            last_error: self.doctor.last_error.lock().ok().and_then(|l| l.clone()),
        }
    }

    /// Run `f` in one write transaction and commit it; the publisher is woken if `f` enqueued.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut Txn<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write_with(redb::Durability::Immediate, f)
    }

    /// Like [`Store::write`], without waiting for the disk: for changes that are safe to lose
    /// in a power cut (losing an ack only means a resend the control plane ignores), which
    /// spares the SD card an fsync per ack.
    pub(crate) fn write_lazy<T>(
        &self,
        f: impl FnOnce(&mut Txn<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write_with(redb::Durability::Eventual, f)
    }

    fn write_with<T>(
        &self,
        durability: redb::Durability,
        f: impl FnOnce(&mut Txn<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let r = (|| {
            let db = self.db()?;
            // Held through the commit: the publisher then reads either all of this transaction
            // or none of it, and a merge below never rewrites a row it has already taken.
            let _gate = self.publish_gate.lock().map_err(|_| StoreError::Poisoned)?;
            let mut tx = db.begin_write()?;
            tx.set_durability(durability);
            let mut txn = Txn {
                tx,
                store: self,
                now_ms: now_ms(),
                enqueued: 0,
            };
            let out = f(&mut txn)?;
            let enqueued = txn.enqueued;
            txn.tx.commit()?;
            if enqueued > 0 {
                self.outbox_changed.notify_one();
            }
            Ok(out)
        })();
        self.observe(r)
    }

    /// Read one counter from the meta table (0 when never written).
    pub fn meta(&self, name: &str) -> Result<u64, StoreError> {
        self.read(|tx| {
            let t = tx.open_table(META)?;
            Ok(t.get(name)?.map(|v| v.value()).unwrap_or(0))
        })
    }

    /// The package catalog version last applied to the router.
    pub fn catalog_version(&self) -> Result<Option<u64>, StoreError> {
        self.read(|tx| {
            let t = tx.open_table(META)?;
            Ok(t.get(CATALOG_VERSION)?.map(|v| v.value()))
        })
    }

    /// Messages waiting for an ack.
    pub fn outbox_len(&self) -> Result<u64, StoreError> {
        self.read(|tx| Ok(tx.open_table(OUTBOX)?.len()?))
    }

    /// The next `seq` to be used (1 for a fresh store).
    pub fn next_seq(&self) -> Result<u64, StoreError> {
        Ok(self.meta(NEXT_SEQ)?.max(1))
    }

    /// Compact the file if many rows were deleted since the last compaction.
    pub fn maybe_compact(&self, threshold: u64) -> Result<bool, StoreError> {
        if self.deleted_since_compact.load(Ordering::Relaxed) < threshold {
            return Ok(false);
        }
        let r = (|| {
            let mut db = self.db.write().map_err(|_| StoreError::Poisoned)?;
            db.as_mut().ok_or(StoreError::Closed)?.compact()?;
            Ok(())
        })();
        self.observe(r)?;
        self.deleted_since_compact.store(0, Ordering::Relaxed);
        Ok(true)
    }

    /// Record that `seq` was handed to the broker client.
    pub fn mark_published(&self, seq: u64) {
        self.published_high.fetch_max(seq, Ordering::Relaxed);
    }

    /// Up to `limit` rows from `from` on, marked as published before they are returned.
    pub fn take_for_publish(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let _gate = self.publish_gate.lock().map_err(|_| StoreError::Poisoned)?;
        let rows = self.outbox_from(from, limit)?;
        if let Some((last, _)) = rows.last() {
            self.mark_published(*last);
        }
        Ok(rows)
    }

    pub(crate) fn published_high(&self) -> u64 {
        self.published_high.load(Ordering::Relaxed)
    }

    pub(crate) fn note_deleted(&self, n: u64) {
        self.deleted_since_compact.fetch_add(n, Ordering::Relaxed);
    }
}

impl Txn<'_> {
    /// When this transaction began, by the agent clock.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    pub(crate) fn get_meta(&self, name: &str) -> Result<u64, StoreError> {
        let t = self.tx.open_table(META)?;
        let v = t.get(name)?.map(|v| v.value()).unwrap_or(0);
        Ok(v)
    }

    pub(crate) fn set_meta(&mut self, name: &str, value: u64) -> Result<(), StoreError> {
        self.tx.open_table(META)?.insert(name, value)?;
        Ok(())
    }

    /// Remember the catalog version now on the router.
    pub fn set_catalog_version(&mut self, version: u64) -> Result<(), StoreError> {
        self.set_meta(CATALOG_VERSION, version)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let key = mtm_common::keys::generate_signing_key();
        let store = Store::open(dir.path(), key, "agent-t").unwrap();
        (dir, store)
    }

    #[test]
    fn meta_defaults_and_persists_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let key = mtm_common::keys::generate_signing_key();
        {
            let s = Store::open(dir.path(), key.clone(), "a").unwrap();
            assert_eq!(s.next_seq().unwrap(), 1);
            assert_eq!(s.catalog_version().unwrap(), None);
            s.write(|t| t.set_catalog_version(7)).unwrap();
        }
        let s = Store::open(dir.path(), key, "a").unwrap();
        assert_eq!(s.catalog_version().unwrap(), Some(7));
    }
}
