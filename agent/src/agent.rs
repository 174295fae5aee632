//! Starting and stopping the agent, and its status.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::AgentConfig;
use crate::error::AgentError;
use crate::keyfile::load_or_create_key;
use crate::mqtt;
use crate::router::{client_config, RouterLink};
use crate::runtime::{self, Shared};
use crate::status::{self, AgentStatus};
use crate::store::Store;

/// The agent.
pub struct Agent;

/// A running agent.
pub struct AgentHandle {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    status_addr: Option<SocketAddr>,
}

fn status_of(shared: &Shared) -> AgentStatus {
    let s = &shared.store;
    AgentStatus {
        agent_id: shared.cfg.agent_id.clone(),
        mqtt_connected: shared.mqtt_connected.load(Ordering::Relaxed),
        router_reachable: runtime::router_reachable(shared),
        outbox_len: s.outbox_len().unwrap_or(0),
        last_acked_seq: s.last_acked().unwrap_or(0),
        next_seq: s.next_seq().unwrap_or(0),
        commands_applied: s.commands_applied().unwrap_or(0),
        catalog_version: s.catalog_version().unwrap_or(None),
        newest_checkpoint_at: s.newest_checkpoint_at().unwrap_or(None),
        // Read last, so it covers the reads above.
        store: s.health(),
        down_refused: shared.down_refused.load(Ordering::Relaxed),
    }
}

impl Agent {
    /// Validate `cfg`, open the key and the store, and spawn every task; returns at once.
    pub async fn start(cfg: AgentConfig) -> Result<AgentHandle, AgentError> {
        cfg.validate()?;
        let key = load_or_create_key(&cfg.data_dir)?;
        let cp_key = mtm_common::keys::parse_public_key(&cfg.control_plane_key)
            .map_err(|e| crate::ConfigError::Invalid(format!("control_plane_key: {e}")))?;
        let store = Arc::new(Store::open(&cfg.data_dir, key, &cfg.agent_id)?);
        let router_cfg = client_config(&cfg.router).map_err(crate::ConfigError::Invalid)?;
        let reachable = Arc::new(AtomicBool::new(false));
        let link = RouterLink::new(router_cfg, reachable.clone());
        let opts = mqtt::options(&cfg.mqtt, &cfg.agent_id)?;
        let status_listener = match cfg.status_listen {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
            None => None,
        };
        let trial = start_trial(&cfg)?;
        let shared = Arc::new(Shared::new(cfg, store, cp_key, link, reachable));
        let (tx, rx) = watch::channel(false);
        if let Some(rolled_back) = trial.rolled_back {
            tracing::warn!(from = %rolled_back.to_version, to = %rolled_back.from_version,
                "update did not prove healthy in time; rolled back, restarting");
            let _ = shared.restart.send_replace(true);
        }
        if let Some(p) = trial.on_trial {
            let deadline = p.deadline_ms;
            if let Ok(mut t) = shared.trial.lock() {
                *t = Some(p);
            }
            let sh = shared.clone();
            tokio::spawn(async move {
                let wait = (deadline - crate::store::now_ms()).max(0) as u64;
                tokio::time::sleep(Duration::from_millis(wait + 500)).await;
                if sh.trial.lock().map(|t| t.is_some()).unwrap_or(false) {
                    tracing::warn!("update not acknowledged in time; restarting to roll back");
                    let _ = sh.restart.send_replace(true);
                }
            });
        }
        let mut tasks = vec![
            tokio::spawn(mqtt::run(shared.clone(), opts, rx.clone())),
            tokio::spawn(runtime::command_runner(shared.clone(), rx.clone())),
            tokio::spawn(runtime::telemetry_loop(shared.clone(), rx.clone())),
        ];
        let mut status_addr = None;
        if let Some(l) = status_listener {
            status_addr = l.local_addr().ok();
            let sh = shared.clone();
            let f: status::StatusFn = Arc::new(move || status_of(&sh));
            tasks.push(tokio::spawn(status::serve(l, f, rx)));
        }
        tracing::info!(agent_id = %shared.cfg.agent_id, "agent started");
        Ok(AgentHandle {
            shared,
            shutdown: tx,
            tasks,
            status_addr,
        })
    }
}

struct TrialStart {
    on_trial: Option<crate::update::Pending>,
    rolled_back: Option<crate::update::Pending>,
}

// At start the trial marker decides: keep trying the new version, or put the old one back.
fn start_trial(cfg: &AgentConfig) -> Result<TrialStart, AgentError> {
    use crate::update::OnStart;
    let exe = crate::update::exe_path();
    let version = crate::version::running_version();
    let r = crate::update::on_start(&cfg.data_dir, exe, version, crate::store::now_ms())
        .map_err(|e| crate::ConfigError::Invalid(format!("update trial: {e}")))?;
    Ok(match r {
        OnStart::Normal => TrialStart {
            on_trial: None,
            rolled_back: None,
        },
        OnStart::Trial(p) => TrialStart {
            on_trial: Some(p),
            rolled_back: None,
        },
        OnStart::RolledBack(p) => TrialStart {
            on_trial: None,
            rolled_back: Some(p),
        },
    })
}

impl AgentHandle {
    /// Resolves once the agent installed an update (or rolled one back) and should be
    /// restarted into the binary now in place.
    pub async fn restart_requested(&self) {
        let mut rx = self.shared.restart.subscribe();
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// The version this agent reports.
    pub fn version(&self) -> &'static str {
        crate::version::running_version()
    }

    /// The agent's status now.
    pub fn status(&self) -> AgentStatus {
        status_of(&self.shared)
    }

    /// Where the status endpoint listens, if configured.
    pub fn status_addr(&self) -> Option<SocketAddr> {
        self.status_addr
    }

    /// The agent's public key, hex (what the control plane registers).
    pub fn public_key_hex(&self) -> String {
        mtm_common::keys::public_key_hex(&self.shared.store.verifying_key())
    }

    /// Stop every task (publishing `offline` first) and close the store.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for mut t in self.tasks {
            if tokio::time::timeout(Duration::from_secs(5), &mut t)
                .await
                .is_err()
            {
                t.abort();
                let _ = t.await;
            }
        }
        tracing::info!("agent stopped");
    }
}
