//! The batch JSON API: issue a batch, follow it onto the router.

use super::{dispense_batch, progress};
use crate::app::{AppResult, AppState};
use crate::auth::{AnyRole, Auth, StaffOnly};
use crate::store::{BatchProgress, Token};
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/tokens/batch", post(create))
        .route("/api/tokens/batch/{id}", get(status))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, status))]
pub(crate) struct Doc;

/// Body of `POST /api/tokens/batch`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BatchRequest {
    /// Package of every voucher.
    pub package_id: Uuid,
    /// How many, 1 to [`crate::bounds::MAX_BATCH`].
    pub count: u32,
}

/// A batch just issued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchReply {
    /// Follow it with `GET /api/tokens/batch/{batch_id}`; print it at
    /// `/dispense/batch/{batch_id}/print`.
    pub batch_id: Uuid,
    /// The vouchers (state `issued` until the router confirms each).
    pub tokens: Vec<Token>,
    /// The router commands carrying them.
    pub command_ids: Vec<Uuid>,
}

#[utoipa::path(
    post,
    path = "/api/tokens/batch",
    summary = "Dispense a batch of vouchers of one package (open shift required)",
    description = "Up to 5,000 vouchers, stored in one transaction, each with its own ledger entry and revenue record like a single sale, and sent to the location's router in commands of at most 500 vouchers.",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "The batch", body = BatchReply),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<StaffOnly>()))),
)]
async fn create(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    Json(req): Json<BatchRequest>,
) -> AppResult<Json<BatchReply>> {
    let batch = dispense_batch(&state, &cur, req.package_id, req.count).await?;
    Ok(Json(BatchReply {
        batch_id: batch.batch_id,
        command_ids: batch.commands.iter().map(|c| c.id).collect(),
        tokens: batch.tokens,
    }))
}

#[utoipa::path(
    get,
    path = "/api/tokens/batch/{id}",
    summary = "How many of a batch's vouchers are on the router (staff: their own batches)",
    params(("id" = Uuid, Path, description = "Batch id")),
    responses(
        (status = 200, description = "The batch's progress", body = BatchProgress),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AnyRole>()))),
)]
async fn status(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
) -> AppResult<Json<BatchProgress>> {
    Ok(Json(progress(&state, &cur, id).await?))
}
