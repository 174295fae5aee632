//! Adding a token package from the routers page, and editing one (name, price, limits, rate,
//! shared users, validity, lock to first device, on sale or retired); the new catalog goes to
//! every router ([`super::create_package`], [`super::edit_package`], as the JSON routes do), and
//! /admin/routers shows which routers carry it.

use super::create_package;
use crate::admin::{routers_page, Shown};
use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth, CurrentUser};
use crate::store::{NewPackage, Package, PackageChange};
use crate::web::opt_u64;
use crate::web::render;
use crate::web::{Format, Page};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Package form routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/packages", post(new_package))
        .route("/admin/packages/{id}", get(edit_page).post(save))
}

/// Package `id`, on sale or retired.
async fn package(state: &AppState, id: Uuid) -> AppResult<Package> {
    state
        .store
        .list_all_packages()
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or(AppError::NotFound)
}

/// The edit form of one package, its limits in the units people type.
#[derive(Debug, Serialize)]
struct PackageView {
    package: Package,
    minutes: Option<u64>,
    mb: Option<u64>,
    validity_hours: Option<u64>,
    error: Option<String>,
}

async fn edit_with(
    state: &AppState,
    cur: &CurrentUser,
    id: Uuid,
    error: Option<String>,
) -> AppResult<Response> {
    let package = package(state, id).await?;
    let view = PackageView {
        minutes: package.limit_uptime_s.map(|s| s / 60),
        mb: package.limit_bytes_total.map(|b| b / 1_000_000),
        validity_hours: package.validity_s.map(|s| s / 3600),
        package,
        error,
    };
    Ok(render("admin_package.html", &Page::of(cur), view)?.into_response())
}

async fn edit_page(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    edit_with(&state, &cur, id, None).await
}

/// Form of `POST /admin/packages/{id}` (limits in minutes, megabytes and hours).
#[derive(Debug, Deserialize)]
pub struct PackageEditForm {
    /// Display name.
    pub name: String,
    /// Price as typed, in the package's currency units (`5.00`).
    pub price: String,
    /// Uptime limit in minutes; empty for none.
    #[serde(default)]
    pub limit_minutes: String,
    /// Data limit in MB; empty for none.
    #[serde(default)]
    pub limit_mb: String,
    /// RouterOS rate limit; empty for none.
    #[serde(default)]
    pub rate_limit: String,
    /// Simultaneous logins.
    pub shared_users: u32,
    /// Valid this many hours after first login; empty for no limit.
    #[serde(default)]
    pub validity_hours: String,
    /// `on` while the package is on sale (a checkbox: absent means retired).
    #[serde(default)]
    pub active: Option<String>,
    /// `on` to bind each voucher sold from now on to the first device that uses it.
    #[serde(default)]
    pub lock_to_mac: Option<String>,
}

impl PackageEditForm {
    fn change(&self, currency: &str) -> AppResult<PackageChange> {
        Ok(PackageChange {
            name: self.name.trim().to_owned(),
            price_minor: crate::i18n::parse_money(crate::i18n::current(), &self.price, currency)
                .map_err(|e| AppError::Refused(e.refusal().in_field("col-price")))?,
            limit_uptime_s: opt_u64(&self.limit_minutes, "pk-time-limit")?
                .map(|m| m.saturating_mul(60)),
            limit_bytes_total: opt_u64(&self.limit_mb, "pk-data-limit")?
                .map(|m| m.saturating_mul(1_000_000)),
            rate_limit: Some(self.rate_limit.trim().to_owned()).filter(|r| !r.is_empty()),
            shared_users: self.shared_users,
            validity_s: opt_u64(&self.validity_hours, "pk-valid-for")?
                .map(|h| h.saturating_mul(3600)),
            active: self.active.is_some(),
            lock_to_mac: self.lock_to_mac.is_some(),
        })
    }
}

async fn save(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
    Form(f): Form<PackageEditForm>,
) -> AppResult<Response> {
    let currency = package(&state, id).await?.currency;
    let saved = match f.change(&currency) {
        Ok(change) => super::edit_package(&state, &cur, id, &change).await,
        Err(e) => Err(e),
    };
    if let Err(e) = saved {
        let m = e.page_message()?;
        return edit_with(&state, &cur, id, Some(m)).await;
    }
    Ok(Redirect::to("/admin/routers#routers").into_response())
}

/// Form of `POST /admin/packages` (limits in minutes and megabytes, as people think of them).
#[derive(Debug, Deserialize)]
pub struct PackageForm {
    /// Short name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Price as typed, in currency units (`5.00`).
    pub price: String,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Uptime limit in minutes; empty for none.
    #[serde(default)]
    pub limit_minutes: String,
    /// Data limit in MB; empty for none.
    #[serde(default)]
    pub limit_mb: String,
    /// RouterOS rate limit.
    #[serde(default)]
    pub rate_limit: String,
    /// `on` to bind each voucher to the first device that uses it (a checkbox).
    #[serde(default)]
    pub lock_to_mac: Option<String>,
}

async fn new_package(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AdminOnly>,
    Form(f): Form<PackageForm>,
) -> AppResult<Response> {
    let made = async {
        let currency = f.currency.trim().to_ascii_uppercase();
        if !crate::money::is_known_currency(&currency) {
            return Err(AppError::Refused(
                crate::refusal::Refusal::new("err-not-a-currency").arg("code", &currency),
            ));
        }
        let price_minor = crate::i18n::parse_money(crate::i18n::current(), &f.price, &currency)
            .map_err(|e| AppError::Refused(e.refusal().in_field("col-price")))?;
        let p = NewPackage {
            slug: f.slug,
            name: f.name,
            price_minor,
            currency,
            limit_uptime_s: crate::web::opt_u64(&f.limit_minutes, "pk-time-limit")?
                .map(|m| m.saturating_mul(60)),
            limit_bytes_total: crate::web::opt_u64(&f.limit_mb, "pk-data-limit")?
                .map(|m| m.saturating_mul(1_000_000)),
            rate_limit: Some(f.rate_limit.trim().to_owned()).filter(|r| !r.is_empty()),
            shared_users: 1,
            validity_s: None,
            uses_password: true,
            lock_to_mac: f.lock_to_mac.is_some(),
        };
        create_package(&state, &cur, p).await
    }
    .await;
    if let Err(e) = made {
        let m = e.page_message()?;
        return routers_page(&state, &cur, &Format::default(), Shown::error(m)).await;
    }
    Ok(Redirect::to("/admin/routers").into_response())
}
