//! Package catalog convergence per router: which routers carry the current signed
//! catalog, for the admin page to flag stragglers.

use crate::app::{AppResult, AppState};
use crate::auth::{Auth, ManagerUp};
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use uuid::Uuid;

/// `GET /api/catalog/convergence`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Convergence {
    /// Version of the catalog on sale now (0: no packages).
    pub catalog_version: u64,
    /// Routers whose reported version differs from it.
    pub stragglers: usize,
    /// Every router.
    pub routers: Vec<RouterCatalog>,
}

/// One router's catalog state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RouterCatalog {
    /// Router id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Agent id.
    pub agent_id: String,
    /// Connected now.
    pub online: bool,
    /// Version the agent last reported (`Hello.catalog_version`).
    pub catalog_version: Option<u64>,
    /// Carries the current catalog.
    pub converged: bool,
}

#[utoipa::path(
    get,
    path = "/api/catalog/convergence",
    summary = "Package catalog convergence",
    description = "The current catalog version and, per router, the version its agent reported; stragglers counted.",
    responses(
        (status = 200, description = "Which routers carry the current catalog", body = Convergence),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
pub(super) async fn convergence(
    State(state): State<AppState>,
    _: Auth<ManagerUp>,
) -> AppResult<Json<Convergence>> {
    let current = crate::catalog::current_catalog(&*state.store)
        .await?
        .version;
    let routers: Vec<RouterCatalog> = state
        .store
        .list_routers()
        .await?
        .into_iter()
        .map(|s| {
            let r = s.router;
            RouterCatalog {
                converged: r.catalog_version == Some(current),
                id: r.id,
                name: r.name,
                agent_id: r.agent_id,
                online: r.online,
                catalog_version: r.catalog_version,
            }
        })
        .collect();
    Ok(Json(Convergence {
        catalog_version: current,
        stragglers: routers.iter().filter(|r| !r.converged).count(),
        routers,
    }))
}
