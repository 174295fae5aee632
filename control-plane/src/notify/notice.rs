//! What a delivery says: an alert or a location's daily report, shaped once for every kind of
//! channel (the signed webhook JSON, one line for Telegram and ntfy, an e-mail).

use super::email;
use crate::reconcile::ReportBody;
use crate::store::{Alert, DailyReport};
use uuid::Uuid;

/// What one delivery says, whatever it carries.
pub struct Notice {
    /// The alert's or report's id.
    pub id: Uuid,
    /// `info`, `warning` or `critical` (a report is `info`).
    pub severity: String,
    /// The alert kind, or `daily_report`.
    pub kind: String,
    /// One line for people.
    pub summary: String,
    /// The signed webhook body.
    pub json: serde_json::Value,
    /// E-mail subject and body.
    pub mail: (String, String),
}

impl Notice {
    /// An alert's notice.
    pub fn of_alert(alert: &Alert) -> Notice {
        Notice {
            id: alert.id,
            severity: alert.severity.clone(),
            kind: alert.kind.clone(),
            summary: alert.summary.clone(),
            json: webhook_body(alert),
            mail: email::alert_mail(alert),
        }
    }

    /// A daily report's notice: its day's figures in one line.
    pub fn of_report(report: &DailyReport) -> Notice {
        let summary = report_summary(report);
        let json = serde_json::json!({
            "event": "daily_report",
            "id": report.id,
            "location_id": report.location_id,
            "business_date": report.business_date,
            "summary": summary,
            "created_at": report.created_at,
        });
        Notice {
            id: report.id,
            severity: "info".into(),
            kind: "daily_report".into(),
            mail: email::report_mail(report.id, &summary),
            summary,
            json,
        }
    }
}

/// The alert as a webhook receives it.
pub fn webhook_body(alert: &Alert) -> serde_json::Value {
    serde_json::json!({
        "event": "alert",
        "id": alert.id,
        "kind": alert.kind,
        "severity": alert.severity,
        "summary": alert.summary,
        "location_id": alert.location_id,
        "router_id": alert.router_id,
        "agent_id": alert.agent_id,
        "staff_id": alert.staff_id,
        "created_at": alert.created_at,
        "state": alert.state,
    })
}

/// "Daily report 2026-12-02, Cafe One: 14 vouchers, 70.00 USD expected, cash variance
/// -2.00 USD, 1 alert". A body this server cannot read (a newer format) still gives the date.
pub fn report_summary(report: &DailyReport) -> String {
    let Ok(b) = serde_json::from_value::<ReportBody>(report.body.clone()) else {
        return format!(
            "Daily report {} (open it to read the figures)",
            report.business_date
        );
    };
    let money = |minor: i64| crate::money::format(minor, &b.currency);
    let alerts = b.alerts.len();
    let line = format!(
        "Daily report {}, {}: {} voucher{}, {} expected, cash variance {}, {} alert{}",
        report.business_date,
        b.location_name,
        b.totals.tokens.issued,
        if b.totals.tokens.issued == 1 { "" } else { "s" },
        money(b.revenue.expected_minor),
        money(b.revenue.variance_minor),
        alerts,
        if alerts == 1 { "" } else { "s" },
    );
    // A location name is typed by people: no control characters in a one-line notice.
    line.chars().filter(|c| !c.is_control()).collect()
}
