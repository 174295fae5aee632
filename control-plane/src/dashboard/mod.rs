//! The managers' dashboards, which span features: the live overview of every location today
//! (`pages`), one location's or one staff member's day in detail (`detail`: vouchers, revenue,
//! charts, shifts, alerts), and the figures both show (`stats`). Server-rendered with htmx
//! polling, every table exportable as CSV, charts drawn as inline SVG in the templates (no
//! scripts of our own, no chart library).

mod detail;
mod pages;
mod stats;

pub use stats::{hourly, Chart, LocationSummary};

use crate::app::{AppResult, AppState};
use axum::Router;
use std::collections::HashMap;
use uuid::Uuid;

/// The dashboards' routes; each names its roles through an `Auth<..>` extractor.
pub fn router() -> Router<AppState> {
    pages::router().merge(detail::router())
}

/// Every user's username by id, to name the staff a row points at.
async fn usernames(state: &AppState) -> AppResult<HashMap<Uuid, String>> {
    Ok(state.store.user_names().await?.into_iter().collect())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_exact;
