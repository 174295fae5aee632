//! `mtm-server`: the central control plane. It keeps every token, shift and router in one store
//! (SQLite or PostgreSQL), runs or joins the MQTT broker, verifies and ingests what agents send,
//! queues signed commands to them, and serves the staff pages and the JSON API.

pub mod reconcile;
pub mod store;
#[cfg(test)]
pub(crate) mod testutil;
