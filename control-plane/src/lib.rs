//! `mtm-server`: the central control plane. It keeps every token, shift and router in one store
//! (SQLite, PostgreSQL to come), runs or joins the MQTT broker, verifies and ingests what agents
//! send, queues signed commands to them, and serves the staff pages and the JSON API.

pub mod admin;
pub mod aftersales;
pub mod alerts;
pub mod api_doc;
pub mod app;
pub mod auth;
pub mod batch;
pub mod bounds;
pub mod broker;
pub mod catalog;
pub mod checks;
pub mod commands;
pub mod config;
pub mod dashboard;
#[cfg(feature = "demo")]
pub mod demo;
pub mod enrollment;
pub mod freeze;
pub mod i18n;
pub mod ingest;
pub mod ingest_queue;
pub mod link;
pub mod link_acks;
pub mod log_lines;
pub mod login;
pub mod metrics;
pub mod money;
pub mod mqtt;
pub mod notify;
pub mod packages;
pub mod reconcile;
pub mod refusal;
pub mod releases;
pub mod reports;
pub mod routers;
pub mod selfcheck;
pub mod server;
pub mod shifts;
pub mod silence;
pub mod store;
pub mod system;
pub mod tokens;
pub mod users;
pub mod web;
pub mod witness;
pub mod zones;

pub use app::{app, AppState};
pub use config::ServerConfig;
pub use mqtt::MqttConfig;
pub use server::{start, ServerHandle};
pub use store::Store;

#[cfg(test)]
pub(crate) mod testutil;
