//! `mtm-routeros`: the RouterOS API spoken from both ends.
//!
//! * [`Client`]: async client (plain TCP or API-SSL via rustls) with tagged, pipelined commands,
//!   streaming commands with `/cancel`, and typed helpers for the hotspot menus ([`hotspot`]).
//! * [`sim`]: `routeros-sim`, a hotspot router simulator faithful to the wire protocol, used by
//!   every test and the demo in place of real routers.
//! * [`proto`] (framing) and [`values`] (durations, booleans, bytes, dates) are shared by both.

pub mod client;
mod error;
pub mod hotspot;
pub mod proto;
pub mod sim;
pub mod values;

/// Attribute words of one reply sentence, without the leading `=`
/// (`"name" -> "V7K2Q9"`, `".id" -> "*1A"`).
pub type Row = std::collections::BTreeMap<String, String>;

pub use client::{Client, ClientConfig, Reply, Stream, Tls};
pub use error::Error;
pub use hotspot::*;
pub use sim::{CustomerProfile, SimConfig, SimHandle, Simulator};
