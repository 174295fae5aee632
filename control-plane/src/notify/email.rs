//! E-mail channels: the alert or daily report as a short plain-text message, sent through the
//! SMTP server the server is configured with (`smtp_url`, `smtp_from`). A channel holds only the
//! recipient, so a manager adding one never sees the SMTP login.

use crate::i18n::{tr, tr_args, Lang};
use crate::store::Alert;
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// The SMTP server and sender address alerts are mailed through.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    // The transport holds the SMTP password: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

/// Why the SMTP settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    /// `smtp_url` is not an SMTP URL lettre understands.
    #[error("smtp_url: {0}")]
    Url(String),
    /// `smtp_from` is not a mailbox.
    #[error("smtp_from {0:?} is not an e-mail address")]
    From(String),
}

impl Mailer {
    /// From `smtp://[user:pass@]host[:port][?tls=required]` (STARTTLS when asked) or
    /// `smtps://…` (TLS from the first byte), and the sender address.
    pub fn new(url: &str, from: &str) -> Result<Mailer, MailerError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            // lettre's message quotes the URL back, password included.
            .map_err(|_| MailerError::Url("not an smtp:// or smtps:// URL".into()))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from = from
            .parse()
            .map_err(|_| MailerError::From(from.to_owned()))?;
        Ok(Mailer { transport, from })
    }

    /// Mail `subject` and `body` to `to`; the error in words for the delivery row.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| format!("{to:?} is not an e-mail address"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("not delivered: {e}"))
    }
}

/// Is `s` an address a channel may mail to (one mailbox, no display name)?
pub fn valid_recipient(s: &str) -> bool {
    s.len() <= 254 && s.parse::<lettre::Address>().is_ok()
}

/// Subject and body of an alert's e-mail, in `lang`, with its `summary` already in `lang`.
pub fn alert_mail(alert: &Alert, summary: &str, lang: Lang) -> (String, String) {
    let severity = tr(lang, &format!("severity-{}", alert.severity.as_str()));
    let subject: String = format!("[mtm {severity}] {summary}")
        .chars()
        .filter(|c| !c.is_control())
        .take(150)
        .collect();
    let line = |key: &str, value: String| format!("{}: {value}\n", tr(lang, key));
    let location = alert
        .location_id
        .map(|l| l.to_string())
        .unwrap_or_else(|| "-".into());
    let body = [
        format!("{summary}\n\n"),
        line(
            "mail-kind",
            crate::i18n::alert_kind(lang, alert.kind.as_str()),
        ),
        line("mail-severity", severity.clone()),
        line("mail-location", location),
        line(
            "mail-router",
            alert.agent_id.clone().unwrap_or_else(|| "-".into()),
        ),
        line(
            "mail-raised-at",
            crate::i18n::datetime(lang, alert.created_at),
        ),
        line("mail-alert-id", alert.id.to_string()),
        format!("\n{}\n", tr(lang, "mail-alert-open")),
    ]
    .concat();
    (subject, body)
}

/// Subject and body of a daily report's e-mail, from its one-line `summary`, in `lang`.
pub fn report_mail(report_id: uuid::Uuid, summary: &str, lang: Lang) -> (String, String) {
    let subject: String = format!("[{}] {summary}", tr(lang, "mail-report-tag"))
        .chars()
        .filter(|c| !c.is_control())
        .take(150)
        .collect();
    let body = format!(
        "{summary}\n\n{}: {report_id}\n{}\n",
        tr(lang, "mail-report-id"),
        tr_args(
            lang,
            "mail-report-open",
            &[("path", format!("/manager/reports/{report_id}").into())]
        ),
    );
    (subject, body)
}
