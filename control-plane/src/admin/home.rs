//! The admin console's home: the server's settings, database counts and table sizes, dead
//! notification deliveries, and on request the audit and ledger chain check.

use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, Auth};
use crate::web::render;
use crate::web::Page;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

/// The console home's route.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/admin", get(home))
}

/// Database counts and, on request, the audit and ledger chain check.
async fn home(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Query(q): Query<HomeQuery>,
) -> AppResult<Html<String>> {
    let counts = state.store.counts().await?;
    let stats = state.store.table_stats().await?;
    let mut dead = state.store.list_deliveries(Some("dead"), 20).await?;
    crate::notify::localize_deliveries(&mut dead, crate::i18n::current());
    let chains = if q.verify.is_some() {
        Some(state.store.verify_chains().await?)
    } else {
        None
    };
    render(
        "admin_home.html",
        &Page::of(&cur),
        serde_json::json!({
            "counts": counts, "stats": stats, "chains": chains, "version": env!("CARGO_PKG_VERSION"),
            "public_key": state.settings.control_plane_public_key,
            "mqtt_addr": state.settings.mqtt_addr.to_string(),
            "token_code_len": state.settings.token_code_len,
            "secure_cookies": state.settings.secure_cookies,
            "public_url": state.settings.public_url, "dead": dead,
        }),
    )
}

/// `?verify=1` runs the chain check.
#[derive(Debug, Deserialize, Default)]
pub struct HomeQuery {
    /// Present: verify the chains.
    pub verify: Option<String>,
}
