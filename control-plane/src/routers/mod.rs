//! Locations and routers: admins create locations and change their reconciliation settings,
//! make a router (and its agent) at a location and get the agent's MQTT credentials once, and
//! send a router an emergency override. The JSON API (`api`) and the admin pages (`pages`: the
//! location settings form, the router forms, and the confirmed overrides in `override_pages`)
//! all come to the operations here.

mod api;
mod override_pages;
mod pages;

pub(crate) use api::Doc;

use crate::app::{AppResult, AppState};
use crate::auth::CurrentUser;
use crate::store::{
    now_ms, AuditEntry, Location, LocationSettings, LocationSettingsChange, NewLocation, NewRouter,
    Router as RouterRow,
};
use axum::Router;
use mtm_common::CommandKind;
use serde::Deserialize;
use uuid::Uuid;

/// Location and router routes: the JSON API and the admin pages.
pub fn router() -> Router<AppState> {
    api::router()
        .merge(pages::router())
        .merge(override_pages::router())
}

/// Create a location as `actor`, audited; `POST /api/locations` and the admin page both come
/// here.
pub(crate) async fn create_location(
    state: &AppState,
    actor: &str,
    new: NewLocation,
) -> AppResult<Location> {
    let l = state.store.create_location(new).await?;
    let entry = AuditEntry {
        actor: actor.to_owned(),
        action: "location.create".into(),
        target: l.id.to_string(),
        detail: serde_json::json!({"name": l.name, "timezone": l.timezone}),
    };
    state.store.audit(entry, now_ms()).await?;
    Ok(l)
}

/// Apply a change to a location's settings as `cur` (audited by the store); the JSON route and
/// the admin page both come here.
pub(crate) async fn change_location_settings(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
    change: &LocationSettingsChange,
) -> AppResult<LocationSettings> {
    if let Some(z) = &change.timezone {
        crate::zones::load_zone(z).map_err(|e| crate::app::AppError::Refused(e.refusal()))?;
    }
    // Checked here too (the store checks it again) so that a page says it in its language.
    if let Some(c) = &change.close_time {
        crate::reconcile::parse_close_time(c).map_err(|_| {
            crate::app::AppError::Refused(
                crate::refusal::Refusal::new("err-close-time").arg("time", c),
            )
        })?;
    }
    Ok(state
        .store
        .update_location_settings(id, change, &cur.user.username, now_ms())
        .await?)
}

/// Body of `POST /api/routers`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct EnrollRouter {
    /// Location.
    pub location_id: Uuid,
    /// Display name.
    pub name: String,
    /// Agent id (its MQTT username).
    pub agent_id: String,
    /// The agent's ed25519 public key, hex. Leave it out to enroll the agent on the device with
    /// a one-time code instead (`POST /api/routers/{id}/enrollment-code`); until then the router
    /// has no MQTT login.
    #[serde(default)]
    pub public_key_hex: String,
}

/// Make the router `req` describes as `actor`, audited. With a public key the agent gets an
/// MQTT password, returned (shown this once; stored only hashed) and issued on the broker;
/// without one the password is empty and the router waits for an enrollment code, which issues
/// the login then. `POST /api/routers` and the admin page both come here.
pub(crate) async fn create_router(
    state: &AppState,
    actor: &str,
    req: EnrollRouter,
) -> AppResult<(RouterRow, String)> {
    let password = if req.public_key_hex.trim().is_empty() {
        String::new()
    } else {
        hex::encode(rand::random::<[u8; 24]>())
    };
    let router = state
        .store
        .create_router(NewRouter {
            location_id: req.location_id,
            name: req.name,
            agent_id: req.agent_id,
            public_key_hex: req.public_key_hex,
            mqtt_password: password.clone(),
        })
        .await?;
    let entry = AuditEntry {
        actor: actor.to_owned(),
        action: "router.enroll".into(),
        target: router.id.to_string(),
        detail: serde_json::json!({"agent_id": router.agent_id, "location_id": router.location_id, "public_key_hex": router.public_key_hex}),
    };
    state.store.audit(entry, now_ms()).await?;
    if !password.is_empty() {
        issue_broker_login(state, actor, &router, &password).await?;
    }
    Ok((router, password))
}

/// Give a router made with a public key its MQTT `password` on the broker too (dynsec); a
/// failure is audited and explained: the router exists, its login does not yet. Every
/// router made with credentials goes through [`create_router`], which comes here.
async fn issue_broker_login(
    state: &AppState,
    actor: &str,
    router: &RouterRow,
    password: &str,
) -> AppResult<()> {
    let Err(e) = state
        .settings
        .enrollment
        .broker
        .issue(&router.agent_id, password)
        .await
    else {
        return Ok(());
    };
    crate::enrollment::broker_failed(state, actor, router, "issue", &e).await;
    Err(crate::app::AppError::RefusedConflict(
        crate::refusal::Refusal::new("err-router-broker-login")
            .arg("router", router.id)
            .arg("reason", &e),
    ))
}

/// Send router `router` the emergency override `kind` as `actor`, audited as
/// `router.{slug}`; the command is stored first, so an agent offline now gets it when it
/// reconnects.
pub(crate) async fn send_override(
    state: &AppState,
    actor: &str,
    router: &RouterRow,
    kind: CommandKind,
    slug: &str,
) -> AppResult<()> {
    let cmd = state
        .store
        .enqueue_command(&router.agent_id, kind, false)
        .await?;
    let entry = AuditEntry {
        actor: actor.to_owned(),
        action: format!("router.{slug}"),
        target: router.id.to_string(),
        detail: serde_json::json!({"agent_id": router.agent_id, "command_id": cmd.id}),
    };
    state.store.audit(entry, now_ms()).await?;
    if let Err(e) = state.dispatcher.send(&cmd).await {
        tracing::warn!(error = %e, agent = %router.agent_id, "override stored; send failed, will resend");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
