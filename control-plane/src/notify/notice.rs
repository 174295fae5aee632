//! What a delivery says: an alert or a location's daily report, shaped once for every kind of
//! channel (the signed webhook JSON, one line for Telegram and ntfy, an e-mail).

use super::email;
use crate::i18n::{tr_args, Lang};
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
    /// An alert's notice, its words in `lang` (the channel owner's language), the summary
    /// included (the stored English line for an alert raised before its words were kept).
    pub fn of_alert(alert: &Alert, lang: Lang) -> Notice {
        let summary = alert_summary(alert, lang);
        let mut json = webhook_body(alert);
        json["summary"] = summary.clone().into();
        Notice {
            id: alert.id,
            severity: alert.severity.as_str().to_owned(),
            kind: alert.kind.as_str().to_owned(),
            mail: email::alert_mail(alert, &summary, lang),
            summary,
            json,
        }
    }

    /// A daily report's notice: its day's figures in one line, in `lang`.
    pub fn of_report(report: &DailyReport, lang: Lang) -> Notice {
        let summary = report_summary(report, lang);
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
            mail: email::report_mail(report.id, &summary, lang),
            summary,
            json,
        }
    }
}

/// An alert's one-line summary in `lang`, on one line (names in it were typed by people).
pub fn alert_summary(alert: &Alert, lang: Lang) -> String {
    crate::i18n::alert_summary(lang, &alert.summary, &alert.evidence)
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

/// The dead-letter rows' summaries in `lang`: an alert's from its message, a report's as
/// "daily report <date>" in words.
pub fn localize_deliveries(rows: &mut [crate::store::DeliveryRow], lang: Lang) {
    for d in rows {
        if let Some(date) = &d.report_date {
            d.summary = tr_args(lang, "nt-dead-report", &[("date", date.clone().into())]);
        } else if let Some(evidence) = &d.evidence {
            d.summary = crate::i18n::alert_summary(lang, &d.summary, evidence);
        }
    }
}

/// The alert as a webhook receives it (the summary as stored, in English; a channel's notice
/// puts it in the channel's language).
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
/// -2.00 USD, 1 alert" in `lang`. A body this server cannot read (a newer format) still gives
/// the date.
pub fn report_summary(report: &DailyReport, lang: Lang) -> String {
    let date = report.business_date.clone();
    let Ok(b) = serde_json::from_value::<ReportBody>(report.body.clone()) else {
        return tr_args(lang, "mail-report-unreadable", &[("date", date.into())]);
    };
    let money = |minor: i64| crate::i18n::money(lang, minor, &b.currency);
    let line = tr_args(
        lang,
        "mail-report-summary",
        &[
            ("date", date.into()),
            ("location", b.location_name.clone().into()),
            ("vouchers", b.totals.tokens.issued.into()),
            ("expected", money(b.revenue.expected_minor).into()),
            ("variance", money(b.revenue.variance_minor).into()),
            ("alerts", b.alerts.len().into()),
        ],
    );
    // A location name is typed by people: no control characters in a one-line notice.
    line.chars().filter(|c| !c.is_control()).collect()
}
