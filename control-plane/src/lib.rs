//! `mtm-server`: the central control plane. It keeps every token, shift and router in one store
//! (SQLite, PostgreSQL to come), runs or joins the MQTT broker, verifies and ingests what agents
//! send, queues signed commands to them, and serves the staff pages and the JSON API.

pub mod commands;
pub mod ingest;
pub mod metrics;
pub mod mqtt;
pub mod reconcile;
pub mod store;

#[cfg(test)]
pub(crate) mod testutil;
