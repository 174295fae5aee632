//! The notifications page: a manager's or admin's channels, a form to add one (its signing
//! secret shown once), and for admins the deliveries that failed for good.

use super::{add_channel, channels_of, remove_channel, CreatedChannel, NewChannel};
use crate::app::{AppResult, AppState};
use crate::auth::{Auth, CurrentUser, ManagerUp};
use crate::store::{Channel, DeliveryRow, Location, Role};
use crate::web::render;
use crate::web::Page;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/notifications", get(page).post(create))
        .route("/settings/notifications/{id}/remove", post(remove))
}

async fn page_with(
    state: &AppState,
    cur: &CurrentUser,
    created: Option<CreatedChannel>,
    error: Option<String>,
) -> AppResult<Response> {
    let channels = channels_of(state, cur).await?;
    let locations = state.store.list_locations().await?;
    let mut dead = if cur.user.role == Role::SuperAdmin {
        state.store.list_deliveries(Some("dead"), 200).await?
    } else {
        Vec::new()
    };
    super::localize_deliveries(&mut dead, crate::i18n::current());
    let view = ChannelsView {
        channels,
        locations,
        dead,
        created,
        error,
        admin: cur.user.role == Role::SuperAdmin,
    };
    Ok(render("notifications.html", &Page::of(cur), view)?.into_response())
}

/// The notification channels page: the caller's channels, the form to add one (its secret
/// shown once), and for an admin the deliveries that gave up.
#[derive(Debug, Serialize)]
struct ChannelsView {
    channels: Vec<Channel>,
    locations: Vec<Location>,
    dead: Vec<DeliveryRow>,
    created: Option<CreatedChannel>,
    error: Option<String>,
    admin: bool,
}

async fn page(State(state): State<AppState>, Auth(cur, _): Auth<ManagerUp>) -> AppResult<Response> {
    page_with(&state, &cur, None, None).await
}

/// The add form: like [`NewChannel`], with "all locations" as an empty value.
#[derive(Debug, Deserialize)]
pub struct ChannelForm {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// URL.
    pub target: String,
    /// Telegram chat id.
    #[serde(default)]
    pub chat_id: String,
    /// Lowest severity.
    pub min_severity: String,
    /// A location id, or empty for all.
    #[serde(default)]
    pub location_id: String,
    /// The checkbox: present when ticked.
    #[serde(default)]
    pub daily_reports: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Form(f): Form<ChannelForm>,
) -> AppResult<Response> {
    let location_id = match f.location_id.trim() {
        "" => None,
        l => match Uuid::parse_str(l) {
            Ok(id) => Some(id),
            Err(_) => {
                let m = crate::refusal::Refusal::new("err-channel-location");
                return page_with(&state, &cur, None, Some(m.text(crate::i18n::current()))).await;
            }
        },
    };
    let req = NewChannel {
        name: f.name,
        kind: f.kind,
        target: f.target,
        chat_id: f.chat_id,
        min_severity: f.min_severity,
        location_id,
        daily_reports: f.daily_reports.is_some(),
    };
    match add_channel(&state, &cur, &req).await {
        Ok(created) => page_with(&state, &cur, Some(created), None).await,
        Err(e) => {
            let m = e.page_message()?;
            page_with(&state, &cur, None, Some(m)).await
        }
    }
}

async fn remove(
    State(state): State<AppState>,
    Auth(cur, _): Auth<ManagerUp>,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    remove_channel(&state, &cur, id).await?;
    Ok(Redirect::to("/settings/notifications").into_response())
}
