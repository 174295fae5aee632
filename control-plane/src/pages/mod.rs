//! Manager dashboards, the admin console and the staff extras (QR codes, print views, batch
//! dispensing): server-rendered pages with htmx polling, CSV export of every table, and charts
//! drawn as inline SVG in the templates (no scripts of our own, no chart library).

mod admin;
pub(crate) use admin::user_error;
mod admin_enroll;
mod admin_location;
mod admin_logs;
mod admin_override;
mod admin_packages;
/// Merged by `releases::router`, which holds the releases folder and body limit.
pub(crate) mod admin_releases;
mod admin_users;
mod csv;
mod freeze;
mod manager;
mod manager_detail;
mod manager_reports;
mod manager_shifts;
mod stats;
mod voucher;

pub use csv::{csv_body, csv_response};
pub use freeze::refuse_frozen;
pub use stats::{hourly, Chart, LocationSummary};
pub use voucher::check_url;
pub(crate) use voucher::{package_names, paper, voucher_json};

use crate::app::{AppError, AppResult, AppState};
use crate::web::Page;
use axum::response::Html;
use axum::Router;
use minijinja::Environment;
use serde::Deserialize;
use std::sync::OnceLock;

/// Every route of the pages here; each names its roles through an `Auth<..>` extractor.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(manager::router())
        .merge(manager_detail::router())
        .merge(manager_reports::router())
        .merge(manager_shifts::router())
        .merge(voucher::router())
        .merge(admin::router())
        .merge(admin_users::router())
        .merge(admin_logs::router())
        .merge(admin_override::router())
        .merge(admin_packages::router())
        .merge(admin_enroll::router())
        .merge(admin_location::router())
        .merge(freeze::router())
        .route("/static/print.js", axum::routing::get(print_js))
}

const PRINT_JS: &str = include_str!("../../static/print.js");

async fn print_js() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        PRINT_JS,
    )
        .into_response()
}

const TEMPLATES: &[(&str, &str)] = &[
    ("check.html", include_str!("../../templates/check.html")),
    (
        "aftersales.html",
        include_str!("../../templates/aftersales.html"),
    ),
    (
        "manager_aftersales.html",
        include_str!("../../templates/manager_aftersales.html"),
    ),
    (
        "notifications.html",
        include_str!("../../templates/notifications.html"),
    ),
    (
        "manager_overview.html",
        include_str!("../../templates/manager_overview.html"),
    ),
    (
        "manager_live.html",
        include_str!("../../templates/manager_live.html"),
    ),
    (
        "manager_detail.html",
        include_str!("../../templates/manager_detail.html"),
    ),
    (
        "manager_chart.html",
        include_str!("../../templates/manager_chart.html"),
    ),
    ("pager.html", include_str!("../../templates/pager.html")),
    (
        "manager_reports.html",
        include_str!("../../templates/manager_reports.html"),
    ),
    (
        "manager_report.html",
        include_str!("../../templates/manager_report.html"),
    ),
    (
        "manager_close_shift.html",
        include_str!("../../templates/manager_close_shift.html"),
    ),
    (
        "manager_alerts.html",
        include_str!("../../templates/manager_alerts.html"),
    ),
    (
        "print_voucher.html",
        include_str!("../../templates/print_voucher.html"),
    ),
    (
        "print_batch_form.html",
        include_str!("../../templates/print_batch_form.html"),
    ),
    ("batch.html", include_str!("../../templates/batch.html")),
    (
        "batch_progress.html",
        include_str!("../../templates/batch_progress.html"),
    ),
    (
        "admin_home.html",
        include_str!("../../templates/admin_home.html"),
    ),
    (
        "admin_routers.html",
        include_str!("../../templates/admin_routers.html"),
    ),
    (
        "admin_users.html",
        include_str!("../../templates/admin_users.html"),
    ),
    (
        "admin_log.html",
        include_str!("../../templates/admin_log.html"),
    ),
    (
        "admin_package.html",
        include_str!("../../templates/admin_package.html"),
    ),
    (
        "admin_location.html",
        include_str!("../../templates/admin_location.html"),
    ),
    (
        "admin_confirm.html",
        include_str!("../../templates/admin_confirm.html"),
    ),
    (
        "admin_releases.html",
        include_str!("../../templates/admin_releases.html"),
    ),
];

/// The shared environment (layout, filters) plus these pages' templates, built once. The
/// templates are compiled into the binary, so a failure here is a bug caught by the tests.
fn env() -> AppResult<&'static Environment<'static>> {
    static ENV: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = crate::web::templates().map_err(|e| e.to_string())?;
        for (name, src) in TEMPLATES {
            env.add_template(name, src).map_err(|e| e.to_string())?;
        }
        Ok(env)
    })
    .as_ref()
    .map_err(|e| AppError::Internal(format!("templates: {e}")))
}

/// Render one of these pages with the layout's page context.
pub(crate) fn render(name: &str, page: &Page, ctx: serde_json::Value) -> AppResult<Html<String>> {
    let tmpl = env()?.get_template(name)?;
    let ctx = minijinja::context! { page => page, ..minijinja::Value::from_serialize(&ctx) };
    Ok(Html(tmpl.render(ctx)?))
}

/// `?format=csv` on any table view.
#[derive(Debug, Deserialize, Default)]
pub struct Format {
    /// `csv` for a download of the page's table; anything else (or nothing) for HTML.
    pub format: Option<String>,
}

impl Format {
    fn csv(&self) -> bool {
        self.format.as_deref() == Some("csv")
    }
}

/// Midnight UTC of today, unix ms.
pub(crate) fn start_of_today(now: i64) -> i64 {
    now - now.rem_euclid(86_400_000)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_admin;
#[cfg(test)]
mod tests_exact;
