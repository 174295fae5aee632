//! Every page template, compiled into the binary, in one environment built once: the layout,
//! its filters (`money_step`, `hm`) and the language functions (`t`, `money`, `datetime`).
//! Templates are named `*.html`, so everything is escaped.

use super::Page;
use crate::app::{AppError, AppResult};
use axum::response::Html;
use minijinja::Environment;
use std::sync::OnceLock;

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("error.html", include_str!("../../templates/error.html")),
    (
        "dispense.html",
        include_str!("../../templates/dispense.html"),
    ),
    ("voucher.html", include_str!("../../templates/voucher.html")),
    (
        "token_status.html",
        include_str!("../../templates/token_status.html"),
    ),
    (
        "overview.html",
        include_str!("../../templates/overview.html"),
    ),
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

/// Build a template environment of every page (the server builds it once, see [`env`]).
pub fn build() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    for (name, src) in TEMPLATES {
        env.add_template(name, src)?;
    }
    env.add_filter("money_step", money_step);
    env.add_filter("hm", hm);
    // `t`, and `money` and `datetime` in the page's language.
    crate::i18n::register(&mut env);
    Ok(env)
}

/// The environment, built on first use. The templates are compiled into the binary, so a
/// failure here is a bug the tests catch; it is still an error page, never a panic.
pub fn env() -> AppResult<&'static Environment<'static>> {
    static ENV: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(|| build().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| AppError::Internal(format!("templates: {e}")))
}

/// Render `name` with `ctx` plus the page context under `page`.
pub fn render<C: serde::Serialize>(name: &str, page: &Page, ctx: C) -> AppResult<Html<String>> {
    let tmpl = env()?.get_template(name)?;
    let ctx = minijinja::context! { page => page, ..minijinja::Value::from_serialize(&ctx) };
    Ok(Html(tmpl.render(ctx)?))
}

/// `"USD"|money_step` → `0.01`: the step of a number field for that currency.
fn money_step(currency: String) -> String {
    crate::money::input_step(&currency)
}

/// Unix ms → `HH:MM` (UTC).
fn hm(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!("[hour]:[minute]"))
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn money_and_time_filters() {
        assert_eq!(super::hm(3_600_000 + 5 * 60_000), "01:05");
    }
}
