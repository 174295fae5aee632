//! Manager dashboards, the admin console and the staff extras (QR codes, print views, batch
//! dispensing): server-rendered pages with htmx polling, CSV export of every table, and charts
//! drawn as inline SVG in the templates (no scripts of our own, no chart library).

mod admin;
mod admin_logs;
mod manager;
mod manager_detail;
mod manager_shifts;
mod stats;
mod voucher;

pub use stats::{hourly, Chart, LocationSummary};
pub use voucher::check_url;
pub(crate) use voucher::{package_names, paper, voucher_json};

use crate::app::AppState;
use axum::Router;

/// Every route of the pages here; each names its roles through an `Auth<..>` extractor.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(manager::router())
        .merge(manager_detail::router())
        .merge(manager_shifts::router())
        .merge(voucher::router())
        .merge(admin::router())
        .merge(admin_logs::router())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_admin;
#[cfg(test)]
mod tests_exact;
