//! Languages of everything people read: pages, error pages, printed vouchers, the customer
//! self-check page, e-mails and notices. Texts live in Fluent files under `locales/<lang>/`,
//! compiled into the binary; code and templates name a message by its key (`t("nav-alerts")`).
//!
//! The language of a request is the user's own choice when they made one, else the best match
//! of the browser's `Accept-Language`, else English. [`negotiate`] (the outermost layer) works it
//! out from the header; the session layer then puts the logged-in user's choice over it, so that
//! everything rendered for the request, error pages included, speaks one language.

mod format;
mod messages;
mod templates;

pub use format::{alert_kind, alert_summary, amount_field, datetime, money, parse_money};
pub use messages::{has_message, message_keys, tr, tr_args, FTL};
pub use templates::register;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use std::cell::Cell;

/// A language the product speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English: the default and the fallback of a missing message.
    #[default]
    En,
    /// French.
    Fr,
    /// Swahili.
    Sw,
    /// Tests only: every message wrapped in markers, to find text that skipped translation.
    #[cfg(test)]
    Qps,
}

impl Lang {
    /// The languages people can choose, in the order the language menus list them.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Fr, Lang::Sw];

    /// The BCP 47 code (`en`, `fr`, `sw`), as stored on the user and put in `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Sw => "sw",
            #[cfg(test)]
            Lang::Qps => "qps",
        }
    }

    /// The language's own name, as its speakers read it in a menu.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::Sw => "Kiswahili",
            #[cfg(test)]
            Lang::Qps => "Pseudo",
        }
    }

    /// The language of a code or tag (`fr`, `fr-CA`, `sw-KE`, `SW`); `None` for one we lack.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            "sw" => Some(Lang::Sw),
            #[cfg(test)]
            "qps" => Some(Lang::Qps),
            _ => None,
        }
    }
}

/// The best language for an `Accept-Language` header: the highest-weighted tag we speak
/// (ties go to the earlier tag), English when none. Malformed parts are skipped.
pub fn from_accept_language(header: &str) -> Lang {
    let mut best: Option<(u16, Lang)> = None;
    // A header longer than this is not a browser's; the first tags decide anyway.
    for part in header.split(',').take(32) {
        let mut fields = part.split(';');
        let Some(lang) = fields.next().and_then(Lang::parse) else {
            continue;
        };
        let q = fields
            .find_map(|f| f.trim().strip_prefix("q="))
            .map_or(Some(1000), parse_quality);
        let Some(q) = q else { continue };
        if q > 0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map_or(Lang::En, |(_, l)| l)
}

/// `0.8` → 800: a quality value in thousandths, `None` when it is not one.
fn parse_quality(q: &str) -> Option<u16> {
    let q = q.trim();
    let (whole, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value: u16 = format!("{frac:0<3}").parse().ok()?;
    match whole {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

tokio::task_local! {
    static REQUEST_LANG: Cell<Lang>;
}

/// The language of the request being served; English outside of one (background tasks).
pub fn current() -> Lang {
    REQUEST_LANG.try_with(Cell::get).unwrap_or_default()
}

/// Put `lang` over the browser's language for the rest of this request (the user's choice).
pub fn choose_for_request(lang: Lang) {
    let _ = REQUEST_LANG.try_with(|c| c.set(lang));
}

/// Middleware: serve the request in the browser's language until the session says otherwise.
pub async fn negotiate(req: Request, next: Next) -> Response {
    let lang = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Lang::En, from_accept_language);
    let (mut resp, lang) = REQUEST_LANG
        .scope(Cell::new(lang), async {
            let resp = next.run(req).await;
            (resp, current())
        })
        .await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.code()),
    );
    h.append(header::VARY, HeaderValue::from_static("accept-language"));
    resp
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_alerts;
#[cfg(test)]
mod tests_refusals;
