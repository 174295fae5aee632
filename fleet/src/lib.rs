//! `mtm-fleet`: many simulated agents in one process, for soak tests and benchmarks.
//!
//! Each agent is enrolled through the real enrollment API with its own ed25519 key, keeps its
//! own MQTT connection to the real broker, seals real envelopes (wire version 2, addressed to
//! the control plane) and carries out commands on a simulated router (routeros-sim's hotspot
//! model, in process). The control plane cannot tell it from a real agent; the fleet counts
//! what it sent and what was acknowledged, and times vouchers from the staff click to the
//! router.

pub mod agent;
pub mod dispense;
pub mod fleet;
pub mod router;
pub mod setup;
pub mod stats;

pub use agent::{AgentSettings, Fault, Identity};
pub use fleet::Fleet;
pub use stats::{Percentiles, Stats, Summary};
