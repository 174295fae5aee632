//! The wire contract between `mtm-agent` and `mtm-server`: the signed CBOR envelope, the typed
//! messages it carries, MQTT topic names and token (voucher) code generation.
//!
//! This crate does no I/O and depends on nothing else of ours, so both sides (and tests) agree on
//! one definition of every byte that crosses the broker.

pub mod batch;
pub mod checkpoint;
pub mod enrollment;
pub mod envelope;
pub mod keys;
pub mod messages;
pub mod release;
pub mod token_code;
pub mod token_state;
pub mod topics;

pub use batch::{
    AppliedToken, CreateTokens, FailedToken, TokensApplied, TrackValidity, ValidityWindow,
    MAX_TOKENS_PER_COMMAND,
};
pub use checkpoint::Checkpoint;
pub use envelope::{Envelope, WireError, MAX_ENVELOPE_BYTES, PROTOCOL_VERSION};
pub use messages::*;
pub use token_state::TokenState;

/// The sender id the control plane signs with.
pub const CONTROL_PLANE_ID: &str = "cp";
