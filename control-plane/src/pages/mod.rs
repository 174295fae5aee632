//! Manager dashboards, the admin console and the staff extras (QR codes, print views, batch
//! dispensing): server-rendered pages with htmx polling, CSV export of every table, and charts
//! drawn as inline SVG in the templates (no scripts of our own, no chart library).

mod admin;
mod admin_enroll;
mod admin_location;
mod admin_logs;
mod admin_override;
mod admin_users;
mod csv;
mod manager;
mod manager_detail;
mod manager_reports;
mod manager_shifts;
mod stats;
mod voucher;

pub use csv::{csv_body, csv_response};
pub use stats::{hourly, Chart, LocationSummary};
pub use voucher::check_url;
pub(crate) use voucher::{package_names, paper, voucher_json};

use crate::app::AppState;
use axum::Router;
use serde::Deserialize;

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
        .merge(admin_enroll::router())
        .merge(admin_location::router())
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
