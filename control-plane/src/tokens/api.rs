//! The token API: dispense (`POST /api/tokens/generate`), one token, and the caller's or every
//! token, paged.

use super::{dispense, start_of_today, view, visible_token, TokenView};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AnyRole, Auth, ManagerUp, StaffOnly};
use crate::store::{TokenFilter, TokenPage};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

/// The token API's routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/tokens/generate", post(generate_json))
        .route("/api/tokens/my-tokens", get(my_tokens))
        .route("/api/tokens/all", get(all_tokens))
        .route("/api/tokens/{id}", get(token_json))
}

/// The operations above in the API document (merged by `api_doc::document`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(generate_json, my_tokens, all_tokens, token_json))]
pub(crate) struct Doc;

/// The header a till sends its sale key in (the IETF `Idempotency-Key` draft's name).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Body of `POST /api/tokens/generate`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct GenerateRequest {
    /// Package to sell.
    pub package_id: Uuid,
}

#[utoipa::path(
    post,
    path = "/api/tokens/generate",
    summary = "Dispense a token (open shift required)",
    description = "Queued to the location's router. A till that may retry sends an \
        `Idempotency-Key` header (1 to 64 printable ASCII characters, its own for each sale): a \
        repeat with the same key answers the voucher already sold under it instead of selling \
        another; the same key with another package is refused (409).",
    params(("Idempotency-Key" = Option<String>, Header,
        description = "The till's key for this sale")),
    request_body = GenerateRequest,
    responses(
        (status = 200, description = "The voucher", body = TokenView),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<StaffOnly>()))),
)]
async fn generate_json(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    headers: axum::http::HeaderMap,
    Json(req): Json<GenerateRequest>,
) -> AppResult<Json<TokenView>> {
    let key = match headers.get(IDEMPOTENCY_KEY) {
        Some(v) => Some(v.to_str().map_err(|_| {
            AppError::BadRequest("the Idempotency-Key header is not printable ASCII".into())
        })?),
        None => None,
    };
    let token = dispense(&state, &cur, req.package_id, key).await?;
    Ok(Json(view(&state, token).await?))
}

#[utoipa::path(
    get,
    path = "/api/tokens/{id}",
    summary = "One token with state and usage totals (staff: own only)",
    params(("id" = Uuid, Path, description = "Voucher id")),
    responses(
        (status = 200, description = "The voucher", body = TokenView),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<AnyRole>()))),
)]
async fn token_json(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
) -> AppResult<Json<TokenView>> {
    let token = visible_token(&state, &cur, id).await?;
    Ok(Json(view(&state, token).await?))
}

/// Query of `GET /api/tokens/my-tokens`: a time window, paged.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyTokensQuery {
    /// From (unix ms); default: start of today (UTC).
    pub from: Option<i64>,
    /// To (unix ms).
    pub to: Option<i64>,
    /// Page size.
    pub limit: Option<u32>,
    /// Offset.
    pub offset: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/tokens/my-tokens",
    summary = "The caller's tokens (default: today)",
    params(MyTokensQuery),
    responses(
        (status = 200, description = "A page of vouchers", body = TokenPage),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<StaffOnly>()))),
)]
async fn my_tokens(
    State(state): State<AppState>,
    Auth(cur, _): Auth<StaffOnly>,
    Query(q): Query<MyTokensQuery>,
) -> AppResult<Json<TokenPage>> {
    let filter = TokenFilter {
        staff_id: Some(cur.user.id),
        from: Some(q.from.unwrap_or_else(start_of_today)),
        to: q.to,
        limit: q.limit,
        offset: q.offset,
        ..Default::default()
    };
    Ok(Json(state.store.list_tokens(&filter).await?))
}

#[utoipa::path(
    get,
    path = "/api/tokens/all",
    summary = "All tokens, paged and filtered",
    params(TokenFilter),
    responses(
        (status = 200, description = "A page of vouchers", body = TokenPage),
    ),
    extensions(("x-roles" = json!(crate::auth::roles::<ManagerUp>()))),
)]
async fn all_tokens(
    State(state): State<AppState>,
    _: Auth<ManagerUp>,
    Query(filter): Query<TokenFilter>,
) -> AppResult<Json<TokenPage>> {
    Ok(Json(state.store.list_tokens(&filter).await?))
}
