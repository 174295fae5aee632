//! The package API: the packages on sale, and an admin creating or editing one.

use super::{convergence, create_package, edit_package};
use crate::app::{AppResult, AppState};
use crate::auth::{AdminOnly, AnyRole, Auth};
use crate::store::{NewPackage, Package, PackageChange};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use uuid::Uuid;

/// The package API's routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/packages", get(list).post(create))
        .route("/api/packages/{id}", put(update))
        .route("/api/catalog/convergence", get(convergence::convergence))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, update, convergence::convergence))]
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
    let p = create_package(&state, &cur, req).await?;
    Ok((StatusCode::CREATED, Json(p)))
}
