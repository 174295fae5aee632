//! The after-sales JSON API (documented in `openapi.json`).

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

/// An after-sale and the ids of the router commands it queued.
#[derive(Debug, Serialize)]
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

async fn create(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
    Json(ask): Json<Ask>,
) -> AppResult<Json<AfterSaleReply>> {
    Ok(Json(perform(&state, &cur, id, &ask).await?.into()))
}

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

async fn all(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Query(filter): Query<AfterSaleFilter>,
) -> AppResult<Json<Vec<AfterSale>>> {
    Ok(Json(list(&state, &cur, &filter).await?))
}

/// Body of approve and reject.
#[derive(Debug, Deserialize, Default)]
pub struct DecisionBody {
    /// Why (optional).
    #[serde(default)]
    pub note: String,
}

async fn approve(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    body: Option<Json<DecisionBody>>,
) -> AppResult<Json<AfterSaleReply>> {
    let note = body.map(|b| b.0.note).unwrap_or_default();
    Ok(Json(decide(&state, &cur, id, true, &note).await?.into()))
}

async fn reject(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
    body: Option<Json<DecisionBody>>,
) -> AppResult<Json<AfterSaleReply>> {
    let note = body.map(|b| b.0.note).unwrap_or_default();
    Ok(Json(decide(&state, &cur, id, false, &note).await?.into()))
}
