//! Chain heads witnessed outside the database. The hash chains (`store::sql::chain`) show an edited
//! row, but a tail cut off, or the whole database restored from an older backup, leaves a chain
//! that is intact as far as it goes. So every `checkpoint_every_s` and with every daily report
//! the control plane signs each chain's length and head hash ([`Checkpoint`]) and gives the
//! checkpoints to witnesses the database owner does not control: every agent keeps them and
//! returns them when asked (asked after each `Hello`), the daily report carries them, and an
//! optional directory (`checkpoint_dir`) gets them as JSON lines. [`verify`] compares.

pub mod verify;

use crate::commands::Dispatcher;
use crate::store::{now_ms, Store, StoreError};
use ed25519_dalek::SigningKey;
use mtm_common::checkpoint::CHAINS;
use mtm_common::{Checkpoint, Checkpoints, DownMessage};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Default time between two checkpoints, seconds.
pub const DEFAULT_EVERY_S: u64 = 600;

/// Why checkpoints could not be taken or read.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The checkpoint directory could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// Sign every chain's current length and head.
pub async fn sign_heads(
    store: &dyn Store,
    key: &SigningKey,
    now: i64,
) -> Result<Vec<Checkpoint>, StoreError> {
    let mut out = Vec::with_capacity(CHAINS.len());
    for chain in CHAINS {
        let head = store.chain_head(chain).await?;
        out.push(Checkpoint::sign(
            key,
            chain,
            head.rows,
            &head.head_hash,
            now,
        ));
    }
    Ok(out)
}

/// The export file for the day of `at`: `checkpoints-YYYY-MM-DD.jsonl` (UTC).
fn export_file(dir: &Path, at: i64) -> PathBuf {
    let day = time::OffsetDateTime::from_unix_timestamp(at.div_euclid(1000))
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| "undated".into());
    dir.join(format!("checkpoints-{day}.jsonl"))
}

/// Append `checkpoints` to the day's file in `dir`, one JSON object a line; returns the file.
pub fn export(dir: &Path, checkpoints: &[Checkpoint]) -> Result<PathBuf, WitnessError> {
    let at = checkpoints.first().map_or_else(now_ms, |c| c.at);
    let path = export_file(dir, at);
    let io = |source| WitnessError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut text = String::new();
    for c in checkpoints {
        // A Checkpoint has only strings and numbers; it always serialises.
        if let Ok(line) = serde_json::to_string(c) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_data().map_err(io)?;
    Ok(path)
}

/// Largest checkpoint file read back; a year of 10-minute checkpoints is ~30 MB.
const MAX_FILE_BYTES: u64 = 256 << 20;

/// Every checkpoint in the `*.jsonl` files of `path` (a directory) or in `path` itself (a file),
/// each named by the file it came from. Lines that are not checkpoints are counted, not fatal.
pub fn read_exported(path: &Path) -> Result<(Vec<(String, Checkpoint)>, u64), WitnessError> {
    let io = |p: &Path| {
        let p = p.to_owned();
        move |source| WitnessError::Io { path: p, source }
    };
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io(path))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_owned()]
    };
    let (mut out, mut unreadable) = (Vec::new(), 0);
    for file in files {
        let len = std::fs::metadata(&file).map_err(io(&file))?.len();
        if len > MAX_FILE_BYTES {
            unreadable += 1;
            continue;
        }
        let text = std::fs::read_to_string(&file).map_err(io(&file))?;
        let source = format!("file {}", file.display());
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<Checkpoint>(line) {
                Ok(c) => out.push((source.clone(), c)),
                Err(_) => unreadable += 1,
            }
        }
    }
    Ok((out, unreadable))
}

/// Sign the chains' heads now and hand them to every witness: the export directory, if any, and
/// every enrolled agent. Failing witnesses are logged; the checkpoints are returned either way.
pub async fn take(
    store: &dyn Store,
    key: &SigningKey,
    dir: Option<&Path>,
    dispatcher: Option<&Dispatcher>,
) -> Result<Vec<Checkpoint>, StoreError> {
    let checkpoints = sign_heads(store, key, now_ms()).await?;
    if let Some(dir) = dir {
        if let Err(e) = export(dir, &checkpoints) {
            tracing::error!(error = %e, "could not export the chain checkpoints");
        }
    }
    if let Some(dispatcher) = dispatcher {
        let msg = DownMessage::Checkpoints(Checkpoints {
            checkpoints: checkpoints.clone(),
        });
        for r in store.list_routers().await? {
            // Revoked or not yet enrolled: no key, nobody to witness.
            if r.router.public_key_hex.is_empty() {
                continue;
            }
            if let Err(e) = dispatcher.send_down(&r.router.agent_id, &msg).await {
                tracing::warn!(agent = %r.router.agent_id, error = %e, "could not send checkpoints");
            }
        }
    }
    Ok(checkpoints)
}

/// Compare the checkpoints `agent` just returned with the chains as they are now. Every
/// disagreement (rows missing, a forked history, a checkpoint not signed by this control plane)
/// is logged as an error naming the rows, so a database cut short or started from an older
/// backup shows in the server's log and metrics as soon as the agents answer, not only when
/// someone runs `audit verify`. Returns how many disagreements were found.
pub async fn check_returned(
    store: &dyn Store,
    cp_key: &ed25519_dalek::VerifyingKey,
    agent: &str,
    returned: &Checkpoints,
) -> Result<u64, StoreError> {
    let witnessed: Vec<verify::Witnessed> = returned
        .checkpoints
        .iter()
        .map(|c| verify::Witnessed {
            source: format!("agent {agent}"),
            checkpoint: c.clone(),
        })
        .collect();
    let report = verify::compare(store, cp_key, &witnessed).await?;
    for f in &report.findings {
        tracing::error!(agent, finding = %f.describe(), "the database disagrees with a witness");
        crate::checks::raise(store, &[alert_for(agent, f)], now_ms()).await?;
    }
    Ok(report.findings.len() as u64)
}

/// The alert for one disagreement. Critical, and it names no staff member: what it points at
/// is the database (cut short by its owner, or restored from an older backup), never a person
/// at the counter. Raised once per witnessed checkpoint however many agents return it and
/// however often, so a restore made on purpose is one alert per chain to resolve with a note,
/// and it still reaches the notification channels, which the database owner does not control.
fn alert_for(agent: &str, f: &verify::Finding) -> crate::reconcile::Finding {
    use crate::reconcile::{AlertKind, Severity};
    let dedup_key = match f {
        // Missing and then, once the database has grown past it, forked: the same checkpoint.
        verify::Finding::Missing {
            chain, witnessed, ..
        }
        | verify::Finding::Forked {
            chain, witnessed, ..
        } => format!(
            "witness:{chain}:{}:{}",
            witnessed.checkpoint.rows, witnessed.checkpoint.head_hash
        ),
        // Only an agent's own signed message carries these: one alert per agent, not one per
        // made-up checkpoint.
        verify::Finding::Unverified { .. } => format!("witness:unverified:{agent}"),
    };
    let (id, args) = f.message();
    crate::reconcile::Finding {
        kind: AlertKind::WitnessMismatch,
        severity: Severity::Critical,
        agent_id: Some(agent.to_owned()),
        router_id: None,
        location_id: None,
        staff_id: None,
        shift_id: None,
        token_id: None,
        dedup_key,
        summary: f.describe(),
        evidence: serde_json::json!({ "witness": agent }),
    }
    .with_message(id, args)
}

/// What [`witness_loop`] and the daily reports need to take checkpoints.
pub struct Witnessing {
    /// The control-plane key (the one agents pin).
    pub key: SigningKey,
    /// Where checkpoints are exported, if anywhere.
    pub dir: Option<PathBuf>,
    /// Sends them to the agents.
    pub dispatcher: Arc<Dispatcher>,
}

impl Witnessing {
    /// [`take`] with these witnesses.
    pub async fn take(&self, store: &dyn Store) -> Result<Vec<Checkpoint>, StoreError> {
        take(
            store,
            &self.key,
            self.dir.as_deref(),
            Some(&self.dispatcher),
        )
        .await
    }
}

/// Take checkpoints every `every`, forever (the first right away).
pub async fn witness_loop(store: Arc<dyn Store>, witnessing: Arc<Witnessing>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match witnessing.take(&*store).await {
            Ok(c) => tracing::debug!(count = c.len(), "chain checkpoints taken"),
            Err(e) => tracing::warn!(error = %e, "could not take chain checkpoints"),
        }
    }
}
