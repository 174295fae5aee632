//! The agent's long-running tasks besides the broker link: the command runner (one command at
//! a time, in arrival order, retried while the router is unreachable) and the telemetry clock.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use mtm_common::{CommandFailed, CommandKind, Hello, UpMessage};
use tokio::sync::{watch, Notify};
use tokio::time::MissedTickBehavior;

use crate::backoff::Backoff;
use crate::clock::ClockWatch;
use crate::commands;
use crate::config::AgentConfig;
use crate::downlink::Refusal;
use crate::router::{is_retryable, RouterLink};
use crate::store::{now_ms, Store, OUTBOX_CAP};
use crate::telemetry;

/// Compact the redb file once this many rows were deleted since the last compaction.
const COMPACT_AFTER_DELETES: u64 = 20_000;

/// How long a finished command stays in the inbox, at least.
const INBOX_KEEP_MS: i64 = 86_400_000;

/// State every task shares.
pub struct Shared {
    /// The configuration the agent started with.
    pub cfg: AgentConfig,
    /// The durable store.
    pub store: Arc<Store>,
    /// The pinned control-plane key.
    pub cp_key: VerifyingKey,
    /// Whether the broker connection is up.
    pub mqtt_connected: AtomicBool,
    /// Whether the router answered last time.
    pub router_reachable: Arc<AtomicBool>,
    /// Woken when a new command is queued.
    pub commands: Notify,
    /// The router session.
    pub router: tokio::sync::Mutex<RouterLink>,
    /// Set once an update is installed: the process should restart into the new binary.
    pub restart: watch::Sender<bool>,
    /// An update on trial, committed once the Hello at `hello_seq` is acknowledged.
    pub trial: Mutex<Option<crate::update::Pending>>,
    /// Outbox `seq` of the last Hello sent.
    pub hello_seq: AtomicU64,
    /// Lowest `seq` the control plane asked to have published again (`u64::MAX`: none asked).
    pub resend_from: AtomicU64,
    /// Woken by acknowledgements and resend requests, so the publisher prunes what is
    /// acknowledged, fills the room that made, and answers a request at once.
    pub publisher_wake: Notify,
    /// Down-messages refused since start (bad signature, wrong recipient, stale, version...).
    pub down_refused: AtomicU64,
    refused: Mutex<HashSet<[u8; 32]>>,
    /// When this process started watching, on the monotonic clock.
    pub started: std::time::Instant,
}

impl Shared {
    /// Bundle the shared state.
    pub fn new(
        cfg: AgentConfig,
        store: Arc<Store>,
        cp_key: VerifyingKey,
        router: RouterLink,
        router_reachable: Arc<AtomicBool>,
    ) -> Self {
        Shared {
            cfg,
            store,
            cp_key,
            mqtt_connected: AtomicBool::new(false),
            router_reachable,
            commands: Notify::new(),
            router: tokio::sync::Mutex::new(router),
            restart: watch::channel(false).0,
            trial: Mutex::new(None),
            hello_seq: AtomicU64::new(u64::MAX),
            resend_from: AtomicU64::new(u64::MAX),
            publisher_wake: Notify::new(),
            down_refused: AtomicU64::new(0),
            refused: Mutex::new(HashSet::new()),
            started: std::time::Instant::now(),
        }
    }

    /// Queue a `Hello`: after every connect, and when the clock jumped. The control plane
    /// resends every open command on it. Without one the outbox still goes out; the control
    /// plane learns of us from it.
    pub fn announce(&self) {
        let store = &self.store;
        let hello = UpMessage::Hello(Hello {
            agent_version: crate::version::running_version().to_owned(),
            last_cp_seq: store.last_cp_seq().unwrap_or(0),
            catalog_version: store.catalog_version().unwrap_or(None),
        });
        match store.enqueue(&hello) {
            Ok(seq) => self.hello_seq.store(seq, Ordering::Relaxed),
            Err(e) => tracing::error!(error = %e, "enqueueing hello failed"),
        }
    }

    /// Count a refused down-message and log it once: a replayed or resent copy of the same
    /// payload is dropped silently. A control plane speaking another protocol version is an
    /// error (nothing it sends will ever be believed until one side is updated).
    pub fn refuse_once(&self, payload: &[u8], r: &Refusal) {
        use sha2::{Digest, Sha256};
        self.down_refused.fetch_add(1, Ordering::Relaxed);
        let digest: [u8; 32] = Sha256::digest(payload).into();
        let Ok(mut seen) = self.refused.lock() else {
            return;
        };
        if seen.len() > 10_000 {
            seen.clear();
        }
        if seen.insert(digest) {
            match r {
                Refusal::Wire(mtm_common::WireError::Version(v)) => tracing::error!(
                    version = v,
                    ours = mtm_common::PROTOCOL_VERSION,
                    "down message refused: the control plane speaks another protocol version; \
                     update the agent or the control plane"
                ),
                _ => tracing::warn!(reason = %r, "down message refused"),
            }
        }
    }
}

async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// Run queued commands in arrival order until shutdown.
pub async fn command_runner(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut backoff = Backoff::new(Duration::from_millis(300), Duration::from_secs(15));
    // Commands moved to the back of the queue since the last one finished: meeting one of them
    // again means every other command had its turn, so wait before retrying.
    let mut deferred: HashSet<uuid::Uuid> = HashSet::new();
    let mut defer_backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        if *shutdown.borrow() {
            return;
        }
        let next = match shared.store.next_pending() {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "reading the inbox failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = stopped(&mut shutdown) => return,
                }
            }
        };
        let Some(cmd) = next else {
            tokio::select! {
                _ = shared.commands.notified() => continue,
                _ = stopped(&mut shutdown) => return,
            }
        };
        // The outbox bound: results are never dropped, so at the cap no new ones are made.
        // The command stays recorded in the inbox and runs once acknowledgements make room.
        if shared.store.outbox_len().unwrap_or(0) >= OUTBOX_CAP {
            tracing::warn!(command_id = %cmd.id, cap = OUTBOX_CAP, "outbox full; command waits");
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => continue,
                _ = stopped(&mut shutdown) => return,
            }
        }
        if deferred.remove(&cmd.id) {
            let wait = defer_backoff.next_delay();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                // A newly arrived command (the catalog, say): trying again now moves this one
                // behind it.
                _ = shared.commands.notified() => {}
                _ = stopped(&mut shutdown) => return,
            }
        }
        if let CommandKind::UpdateAgent(u) = &cmd.kind {
            // Not a router action: the result is recorded before the restart, so the new
            // binary sends it.
            let (msg, installed) = match crate::update::apply(&shared.cfg, &cmd, u).await {
                Ok(m) => (m, true),
                Err(m) => (m, false),
            };
            if let Err(e) = shared.store.write(|t| t.finish_command(cmd.id, &msg)) {
                tracing::error!(command_id = %cmd.id, error = %e, "recording an update result failed");
            }
            if installed {
                // The binary's main restarts on this; an embedding that does not keeps running
                // the old code, still serving commands.
                let _ = shared.restart.send_replace(true);
            }
            continue;
        }
        let mut link = shared.router.lock().await;
        let res = match link.client().await {
            Ok(c) => commands::apply(c, &cmd).await,
            Err(e) => Err(e),
        };
        link.observe(&res);
        let write = match res {
            Ok(commands::Outcome::Wait(why)) => {
                tracing::info!(command_id = %cmd.id, reason = %why, "command waits");
                deferred.insert(cmd.id);
                if let Err(e) = shared.store.defer_command(cmd.id) {
                    tracing::error!(command_id = %cmd.id, error = %e, "deferring a command failed");
                }
                continue;
            }
            Ok(commands::Outcome::Done(msg, fx)) => {
                backoff.reset();
                deferred.clear();
                defer_backoff.reset();
                tracing::info!(command_id = %cmd.id, "command applied");
                // Recorded before the router is free again, so a usage poll never sees a
                // removed user's baseline between the removal and its final report.
                let w = shared.store.write(|t| {
                    fx.before_result(t)?;
                    t.finish_command(cmd.id, &msg)?;
                    fx.apply(t)
                });
                drop(link);
                w
            }
            Err(e) if is_retryable(&e) => {
                drop(link);
                let wait = backoff.next_delay();
                tracing::debug!(command_id = %cmd.id, error = %e, "router unreachable; command waits");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => continue,
                    _ = stopped(&mut shutdown) => return,
                }
            }
            Err(e) => {
                drop(link);
                tracing::warn!(command_id = %cmd.id, error = %e, "command failed on the router");
                let failed = UpMessage::CommandFailed(CommandFailed {
                    command_id: cmd.id,
                    reason: e.to_string(),
                    retryable: false,
                });
                shared.store.write(|t| t.finish_command(cmd.id, &failed))
            }
        };
        if let Err(e) = write {
            tracing::error!(command_id = %cmd.id, error = %e, "recording a command result failed");
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stopped(&mut shutdown) => return,
            }
        }
    }
}

fn ticker(secs: u64) -> tokio::time::Interval {
    let mut i = tokio::time::interval(Duration::from_secs(secs.max(1)));
    i.set_missed_tick_behavior(MissedTickBehavior::Delay);
    i
}

/// Usage polls, health reports, inventories and housekeeping until shutdown.
pub async fn telemetry_loop(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let iv = shared.cfg.intervals.clone();
    let mut usage = ticker(iv.usage_poll_s);
    let mut health = ticker(iv.health_s);
    let mut inventory = ticker(iv.inventory_s);
    let mut housekeeping = ticker(60);
    let mut clock = ticker(5);
    let mut watch = ClockWatch::new(now_ms(), std::time::Instant::now());
    // Finished commands are remembered for a day, well past the command window: a command the
    // control plane resends (freshly sealed) after a long outage is answered from the inbox,
    // not carried out again.
    let keep_ms = (shared.cfg.command_window_s as i64)
        .saturating_mul(1000)
        .max(INBOX_KEEP_MS);
    loop {
        tokio::select! {
            _ = clock.tick() => {
                if let Some(jump) = watch.check(now_ms(), std::time::Instant::now()) {
                    tracing::warn!(jump_s = jump / 1000, "the clock jumped; saying hello again");
                    shared.announce();
                    // Acks sealed by the right clock were refused as stale while ours was
                    // wrong: what is still in flight goes out again now, not after backoff.
                    shared.resend_from.fetch_min(1, Ordering::Relaxed);
                    shared.publisher_wake.notify_one();
                }
            }
            _ = usage.tick() => usage_once(&shared).await,
            _ = health.tick() => health_once(&shared).await,
            _ = inventory.tick() => inventory_once(&shared).await,
            _ = housekeeping.tick() => {
                let store = &shared.store;
                if let Err(e) = store.compact_inbox(now_ms(), keep_ms) {
                    tracing::error!(error = %e, "inbox compaction failed");
                }
                match store.maybe_compact(COMPACT_AFTER_DELETES) {
                    Ok(true) => tracing::info!("store compacted"),
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "store compaction failed"),
                }
            }
            _ = stopped(&mut shutdown) => return,
        }
    }
}

async fn usage_once(shared: &Shared) {
    let mut link = shared.router.lock().await;
    let r = match link.client().await {
        Ok(c) => telemetry::usage_cycle(c, &shared.store).await,
        Err(e) => Err(e.into()),
    };
    match &r {
        Err(telemetry::TelemetryError::Router(e)) => {
            if !is_retryable(e) {
                tracing::warn!(error = %e, "usage poll refused by the router");
            }
            link.note(Some(e));
        }
        Err(e) => tracing::error!(error = %e, "usage poll failed"),
        Ok(_) => link.note(None),
    }
}

async fn health_once(shared: &Shared) {
    let outbox_len = shared.store.outbox_len().unwrap_or(0);
    let h = {
        let mut link = shared.router.lock().await;
        let h = telemetry::health(link.client().await, outbox_len).await;
        if !h.router_reachable {
            link.note(Some(&mtm_routeros::Error::Closed));
        }
        h
    };
    let watched_ms = i64::try_from(shared.started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let h = mtm_common::Health {
        store_errors: shared.store.health().errors,
        watching_since: Some(now_ms().saturating_sub(watched_ms)),
        ..h
    };
    if let Err(e) = shared.store.enqueue(&UpMessage::Health(h)) {
        tracing::error!(error = %e, "enqueueing health failed");
    }
}

async fn inventory_once(shared: &Shared) {
    let cursor = shared
        .store
        .meta(crate::store::LOG_CURSOR)
        .unwrap_or_default();
    let inv = {
        let mut link = shared.router.lock().await;
        let r = match link.client().await {
            Ok(c) => match crate::hotspot::inventory(c).await {
                Ok(mut inv) => match telemetry::logins_since(c, cursor).await {
                    Ok((logins, newest)) => {
                        inv.logins = logins;
                        Ok((inv, newest))
                    }
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        link.observe(&r);
        r
    };
    match inv {
        Ok((mut inv, newest)) => {
            // The cursor moves with the inventory that carries the lines, so lines are never
            // skipped: a crash before this commit reports them again.
            let r = shared.store.write(|t| {
                t.vouch_inventory(&mut inv)?;
                t.enqueue(&UpMessage::Inventory(inv))?;
                t.set_meta(crate::store::LOG_CURSOR, newest)
            });
            if let Err(e) = r {
                tracing::error!(error = %e, "enqueueing inventory failed");
            }
        }
        Err(e) => tracing::debug!(error = %e, "inventory skipped: router unreachable"),
    }
}

/// Whether the router is reachable right now, as far as the agent knows.
pub fn router_reachable(shared: &Shared) -> bool {
    shared.router_reachable.load(Ordering::Relaxed)
}
