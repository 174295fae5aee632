//! Token packages: what a voucher is sold as, and the catalog that turns them into router
//! profiles (`mtm-{slug}`) on every router.

use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, AnyRole, Auth};
use crate::commands::Dispatcher;
use crate::store::{now_ms, AuditEntry, NewPackage, Package, PackageChange, Store, StoreError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use mtm_common::{Catalog, CommandKind};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Package routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/packages", get(list).post(create))
        .route("/api/packages/{id}", put(update))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, update))]
pub(crate) struct Doc;

#[utoipa::path(
    put,
    path = "/api/packages/{id}",
    summary = "Edit a package (audited) and push the new catalog to every router",
    params(("id" = Uuid, Path, description = "Package id")),
    request_body = PackageChange,
    responses(
        (status = 200, description = "The package now", body = Package),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AdminOnly>()))),
)]
async fn update(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
    Json(change): Json<PackageChange>,
) -> AppResult<Json<Package>> {
    Ok(Json(edit_package(&state, &cur, id, &change).await?))
}

/// Change package `id` as admin `cur` (audited by the store) and push the new catalog to every
/// router; `PUT /api/packages/{id}` and the admin page both come here.
pub(crate) async fn edit_package(
    state: &AppState,
    cur: &crate::auth::CurrentUser,
    id: Uuid,
    change: &PackageChange,
) -> AppResult<Package> {
    let p = state
        .store
        .update_package(id, change, &cur.user.username, now_ms())
        .await?;
    push_catalog(state).await?;
    Ok(p)
}

#[utoipa::path(
    get,
    path = "/api/packages",
    summary = "Packages on sale",
    responses(
        (status = 200, description = "Every package", body = Vec<Package>),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AnyRole>()))),
)]
async fn list(State(state): State<AppState>, _: Auth<AnyRole>) -> AppResult<Json<Vec<Package>>> {
    Ok(Json(state.store.list_packages().await?))
}

#[utoipa::path(
    post,
    path = "/api/packages",
    summary = "Create a package",
    request_body = NewPackage,
    responses(
        (status = 201, description = "Created", body = Package),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AdminOnly>()))),
)]
async fn create(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Json(req): Json<NewPackage>,
) -> AppResult<(StatusCode, Json<Package>)> {
    let p = state.store.create_package(req).await?;
    let entry = AuditEntry {
        actor: cur.user.username.clone(),
        action: "package.create".into(),
        target: p.id.to_string(),
        detail: serde_json::json!({"slug": p.slug, "price_minor": p.price_minor,
            "currency": p.currency, "lock_to_mac": p.lock_to_mac}),
    };
    state.store.audit(entry, now_ms()).await?;
    push_catalog(&state).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Queue the current catalog for every router that does not carry it (after a package is
/// created or edited); a router that cannot be reached now gets it when it reconnects.
pub async fn push_catalog(state: &AppState) -> AppResult<()> {
    for r in state.store.list_routers().await? {
        if let Err(e) = sync_catalog(&*state.store, &state.dispatcher, &r.router.agent_id).await {
            tracing::warn!(agent = %r.router.agent_id, error = %e, "catalog not queued");
        }
    }
    Ok(())
}

/// The catalog now: [`catalog`] of every package, retired ones included.
pub async fn current_catalog(store: &dyn Store) -> Result<Catalog, StoreError> {
    Ok(catalog(&store.list_all_packages().await?))
}

/// The catalog of the packages on sale among `packages`. Its version is the newest
/// `updated_at` of all of them, so pass retired ones too (see [`current_catalog`]): retiring a
/// package then changes the version as any other edit does.
pub fn catalog(packages: &[Package]) -> Catalog {
    Catalog {
        version: packages
            .iter()
            .map(|p| p.updated_at.max(p.created_at).max(0) as u64)
            .max()
            .unwrap_or(0),
        packages: packages
            .iter()
            .filter(|p| p.active)
            .map(Package::spec)
            .collect(),
    }
}

/// Queue and send the current catalog to an agent whose router reports another version.
/// Returns whether a command was queued.
pub async fn sync_catalog(
    store: &dyn Store,
    dispatcher: &Dispatcher,
    agent_id: &str,
) -> Result<bool, crate::commands::SendError> {
    let router = store
        .router_by_agent(agent_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(agent_id.into()))?;
    let cat = current_catalog(store).await?;
    // Version 0: no package was ever made, so there is nothing to put on a router.
    if cat.version == 0 || router.catalog_version == Some(cat.version) {
        return Ok(false);
    }
    let already_queued = store
        .open_commands(agent_id)
        .await?
        .iter()
        .any(|c| matches!(&c.kind, CommandKind::ApplyCatalog(q) if q.version == cat.version));
    if already_queued {
        return Ok(false);
    }
    let cmd = store
        .enqueue_command(agent_id, CommandKind::ApplyCatalog(cat), true)
        .await?;
    dispatcher.send(&cmd).await?;
    Ok(true)
}

/// Every `every`, bring online routers whose catalog is behind up to date (covers packages
/// written straight to the store, and routers that missed a push).
pub async fn catalog_loop(store: Arc<dyn Store>, dispatcher: Arc<Dispatcher>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let routers = match store.list_routers().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "catalog check: cannot list routers");
                continue;
            }
        };
        for r in routers.iter().filter(|r| r.router.online) {
            if let Err(e) = sync_catalog(&*store, &dispatcher, &r.router.agent_id).await {
                tracing::warn!(agent = %r.router.agent_id, error = %e, "catalog not queued");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::test_app;
    use axum::http::StatusCode;
    use serde_json::json;

    #[tokio::test]
    async fn admins_edit_a_package_over_json_and_the_catalog_is_queued() {
        let app = test_app().await;
        let path = format!("/api/packages/{}", app.f.package.id);
        let body = json!({"name": "Hour", "price_minor": 650, "limit_uptime_s": 3600,
            "limit_bytes_total": null, "rate_limit": null, "shared_users": 1,
            "validity_s": null, "active": true});
        let (manager, _) = app.login("manager").await;
        let r = app
            .json("PUT", &path, Some(&manager), Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let (admin, _) = app.login("admin").await;
        let r = app.json("PUT", &path, Some(&admin), Some(body)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.json()["price_minor"], 650);
        let open = app.f.store.open_commands("agent-1").await.unwrap();
        assert!(open
            .iter()
            .any(|c| matches!(c.kind, mtm_common::CommandKind::ApplyCatalog(_))));
    }
}
