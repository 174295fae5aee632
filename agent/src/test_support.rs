//! Helpers for tests (here and in the control plane) that inspect an agent's store after it
//! stopped.

use std::path::Path;

use crate::error::AgentError;
use crate::keyfile::load_or_create_key;
use crate::store::Store;

/// Counts of what a stopped agent left in its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreCounts {
    /// Unacknowledged up-messages.
    pub outbox: u64,
    /// Inbox entries (finished or not).
    pub inbox: u64,
    /// Commands not yet finished.
    pub pending: u64,
}

/// Open the store in `data_dir` (the agent must have stopped: redb allows one opener).
pub fn open_store(data_dir: &Path, agent_id: &str) -> Result<Store, AgentError> {
    let key = load_or_create_key(data_dir)?;
    Ok(Store::open(data_dir, key, agent_id)?)
}

/// Count outbox, inbox and pending entries of a stopped agent.
pub fn store_counts(data_dir: &Path, agent_id: &str) -> Result<StoreCounts, AgentError> {
    let s = open_store(data_dir, agent_id)?;
    Ok(StoreCounts {
        outbox: s.outbox_len()?,
        inbox: s.inbox_len()?,
        pending: s.pending_len()?,
    })
}

/// Make the agent's clock (in this process) run `error_ms` off the system clock, as a Raspberry
/// Pi without RTC is before NTP answers; 0 sets it right again, which the agent sees as a jump.
pub fn set_clock_error_ms(error_ms: i64) {
    crate::store::CLOCK_ERROR_MS.store(error_ms, std::sync::atomic::Ordering::Relaxed);
}
