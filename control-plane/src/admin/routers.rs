//! The console's routers page: every router with its agent (version, last seen, catalog
//! convergence, overrides), the locations, and the packages, each with the form that makes
//! one. The forms post to their features (`routers`, `packages`, `enrollment`), which answer
//! with this page when they have something to show once or to refuse.

use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, Auth, CurrentUser};
use crate::store::{Location, LocationFreeze, Package, RouterStatus};
use crate::web::{csv_response, render, Format, Page};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use uuid::Uuid;

/// The routers page's route (its forms post elsewhere).
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/admin/routers", get(routers))
}

/// A new router's MQTT login, shown once on top of the page (only its hash is stored).
#[derive(Debug, Serialize)]
pub(crate) struct NewLogin {
    /// The router's name.
    pub name: String,
    /// Its agent id, the MQTT username.
    pub agent_id: String,
    /// The MQTT password.
    pub mqtt_password: String,
    /// The control plane's public key, hex, for the agent to pin.
    pub control_plane_public_key: String,
    /// Where the agent reaches the broker.
    pub mqtt_addr: String,
}

/// A new enrollment code, shown once on top of the page (only its hash is stored).
#[derive(Debug, Serialize)]
pub(crate) struct NewCode {
    /// The router's name.
    pub router: String,
    /// The agent id the code enrolls.
    pub agent_id: String,
    /// The code.
    pub code: String,
    /// When it stops working, as text.
    pub expires: String,
}

/// What the routers page shows on top: a new login, a new code, or why a form was refused.
#[derive(Debug, Default)]
pub(crate) struct Shown {
    /// A router just made with a key.
    pub login: Option<NewLogin>,
    /// An enrollment code just issued.
    pub code: Option<NewCode>,
    /// Why the last form was refused.
    pub error: Option<String>,
}

impl Shown {
    /// Only the refusal `message`.
    pub fn error(message: String) -> Self {
        Shown {
            error: Some(message),
            ..Shown::default()
        }
    }
}

/// One router of the table.
#[derive(Debug, Serialize)]
struct RouterLine<'a> {
    router: &'a RouterStatus,
    location: String,
    converged: bool,
}

/// One location of the list, with its freeze if dispensing is stopped there.
#[derive(Debug, Serialize)]
struct LocationLine<'a> {
    location: &'a Location,
    frozen: Option<&'a LocationFreeze>,
}

/// The whole page.
#[derive(Debug, Serialize)]
struct RoutersView<'a> {
    routers: Vec<RouterLine<'a>>,
    locations: &'a [Location],
    location_rows: Vec<LocationLine<'a>>,
    packages: &'a [Package],
    catalog_version: u64,
    enrolled: Option<NewLogin>,
    error: Option<String>,
    code: Option<NewCode>,
}

const ROUTER_HEAD: &[&str] = &[
    "router",
    "location",
    "agent_id",
    "agent_version",
    "online",
    "last_seen_ms",
    "catalog_version",
    "pending_commands",
];

/// The routers page (or, with `?format=csv`, its router table) with `shown` on top.
pub(crate) async fn routers_page(
    state: &AppState,
    cur: &CurrentUser,
    f: &Format,
    shown: Shown,
) -> AppResult<Response> {
    let routers = state.store.list_routers().await?;
    let locations = state.store.list_locations().await?;
    let packages = state.store.list_all_packages().await?;
    let catalog_version = crate::catalog::catalog(&packages).version;
    let frozen = state.store.frozen_locations().await?;
    let loc_name = |id: Uuid| {
        locations
            .iter()
            .find(|l| l.id == id)
            .map(|l| l.name.clone())
            .unwrap_or_default()
    };
    if f.csv() {
        let body: Vec<Vec<String>> = routers
            .iter()
            .map(|r| {
                let x = &r.router;
                vec![
                    x.name.clone(),
                    loc_name(x.location_id),
                    x.agent_id.clone(),
                    x.agent_version.clone().unwrap_or_default(),
                    x.online.to_string(),
                    x.last_seen.map(|v| v.to_string()).unwrap_or_default(),
                    x.catalog_version.map(|v| v.to_string()).unwrap_or_default(),
                    r.pending_commands.to_string(),
                ]
            })
            .collect();
        return Ok(csv_response("routers", ROUTER_HEAD, &body));
    }
    let view = RoutersView {
        routers: routers
            .iter()
            .map(|r| RouterLine {
                router: r,
                location: loc_name(r.router.location_id),
                converged: packages.is_empty() || r.router.catalog_version == Some(catalog_version),
            })
            .collect(),
        locations: &locations,
        location_rows: locations
            .iter()
            .map(|l| LocationLine {
                location: l,
                frozen: frozen.iter().find(|f| f.location_id == l.id),
            })
            .collect(),
        packages: &packages,
        catalog_version,
        enrolled: shown.login,
        error: shown.error,
        code: shown.code,
    };
    Ok(render("admin_routers.html", &Page::of(cur), view)?.into_response())
}

async fn routers(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Query(f): Query<Format>,
) -> AppResult<Response> {
    routers_page(&state, &cur, &f, Shown::default()).await
}
