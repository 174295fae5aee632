//! The admin console's home: the server's settings, database counts and table sizes, dead
//! notification deliveries, and on request the audit and ledger chain check.

use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, Auth};
use crate::store::{ChainReport, DeliveryRow, StoreCounts, TableStats};
use crate::web::render;
use crate::web::Page;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

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
    let settings = &state.settings;
    let view = HomeView {
        counts,
        stats,
        chains,
        version: env!("CARGO_PKG_VERSION"),
        public_key: &settings.control_plane_public_key,
        mqtt_addr: settings.mqtt_addr.to_string(),
        token_code_len: settings.token_code_len,
        secure_cookies: settings.secure_cookies,
        public_url: settings.public_url.as_deref(),
        dead,
    };
    render("admin_home.html", &Page::of(&cur), view)
}

/// The console home: the server's settings, what the database holds, dead notification
/// deliveries, and the chain check when asked for.
#[derive(Debug, Serialize)]
struct HomeView<'a> {
    counts: StoreCounts,
    stats: TableStats,
    chains: Option<Vec<ChainReport>>,
    version: &'static str,
    public_key: &'a str,
    mqtt_addr: String,
    token_code_len: usize,
    secure_cookies: bool,
    public_url: Option<&'a str>,
    dead: Vec<DeliveryRow>,
}

/// `?verify=1` runs the chain check.
#[derive(Debug, Deserialize, Default)]
pub struct HomeQuery {
    /// Present: verify the chains.
    pub verify: Option<String>,
}
