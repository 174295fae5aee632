//! The after-sales JSON API.

use super::{decide, list, perform, token_for, Ask};
use crate::app::{AppResult, AppState};
use crate::auth::{AnyRole, Auth, ManagerUp};
use crate::store::{AfterSale, AfterSaleFilter, AfterSaleOutcome};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/tokens/{id}/after-sales", get(of_token).post(create))
        .route("/api/after-sales", get(all))
        .route("/api/after-sales/{id}/approve", post(approve))
        .route("/api/after-sales/{id}/reject", post(reject))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(of_token, create, all, approve, reject))]
pub(crate) struct Doc;

/// An after-sale and the ids of the router commands it queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AfterSaleReply {
    /// The record (`state` is `requested` when it waits for a manager).
    #[serde(flatten)]
    pub sale: AfterSale,
    /// Commands sent to the router.
    pub command_ids: Vec<Uuid>,
}

impl From<AfterSaleOutcome> for AfterSaleReply {
    fn from(o: AfterSaleOutcome) -> Self {
        AfterSaleReply {
            sale: o.sale,
            command_ids: o.commands.iter().map(|c| c.id).collect(),
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/tokens/{id}/after-sales",
    summary = "Void (with a refund), replace, extend, reprint, disable or enable a sold voucher",
    description = "With a reason; audited, sent to the router as signed commands. A staff member's refund above the location's refund_approval_minor is only recorded (state requested) until a manager approves it. Staff: vouchers they sold.",
    params(("id" = Uuid, Path, description = "Voucher id")),
    request_body = Ask,
    responses(
        (status = 200, description = "Done, or waiting for a manager", body = AfterSaleReply),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AnyRole>()))),
)]
async fn create(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
    Json(ask): Json<Ask>,
) -> AppResult<Json<AfterSaleReply>> {
    Ok(Json(perform(&state, &cur, id, &ask).await?.into()))
}

#[utoipa::path(
    get,
    path = "/api/tokens/{id}/after-sales",
    summary = "After-sales of one voucher, newest first (staff: vouchers they sold)",
    params(("id" = Uuid, Path, description = "Voucher id")),
    responses(
        (status = 200, description = "The voucher's after-sales", body = Vec<AfterSale>),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AnyRole>()))),
)]
async fn of_token(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Vec<AfterSale>>> {
    token_for(&state, &cur, id).await?;
    let filter = AfterSaleFilter {
        token_id: Some(id),
        ..Default::default()
    };
    Ok(Json(list(&state, &cur, &filter).await?))
}

#[utoipa::path(
    get,
    path = "/api/after-sales",
    summary = "After-sales of every location, newest first",
    params(AfterSaleFilter),
    responses(
        (status = 200, description = "After-sales", body = Vec<AfterSale>),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn all(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Query(filter): Query<AfterSaleFilter>,
) -> AppResult<Json<Vec<AfterSale>>> {
    Ok(Json(list(&state, &cur, &filter).await?))
}

/// Body of approve and reject.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct DecisionBody {
    /// Why (optional).
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/api/after-sales/{id}/approve",
    summary = "Approve a requested refund",
    description = "It is carried out now (refund against the requester's open shift).",
    params(("id" = Uuid, Path, description = "After-sale id")),
    request_body = Option<DecisionBody>,
    responses(
        (status = 200, description = "The after-sale now", body = AfterSaleReply),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn approve(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    body: Option<Json<DecisionBody>>,
) -> AppResult<Json<AfterSaleReply>> {
    let note = body.map(|b| b.0.note).unwrap_or_default();
    Ok(Json(decide(&state, &cur, id, true, &note).await?.into()))
}

#[utoipa::path(
    post,
    path = "/api/after-sales/{id}/reject",
    summary = "Refuse a requested refund: nothing is done",
    params(("id" = Uuid, Path, description = "After-sale id")),
    request_body = Option<DecisionBody>,
    responses(
        (status = 200, description = "The after-sale now", body = AfterSaleReply),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn reject(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    body: Option<Json<DecisionBody>>,
) -> AppResult<Json<AfterSaleReply>> {
    let note = body.map(|b| b.0.note).unwrap_or_default();
    Ok(Json(decide(&state, &cur, id, false, &note).await?.into()))
}
