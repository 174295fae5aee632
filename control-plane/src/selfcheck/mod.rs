//! The customer's self-check: the QR on a printed voucher opens `/check/{code}` on the server's
//! public URL, which shows that voucher's time and data left and when it stops being valid, to
//! whoever holds the code and to nobody else.
//!
//! Codes are unguessable, so the page must not help anyone guess: every check counts against
//! the client's budget (the login limiter's store-backed buckets, so replicas share it), and a
//! wrong, malformed, expired, used-up, disabled or voided code all get one and the same answer.
//! Nothing of the chain shows: no location, staff, price or package name.

use crate::app::{AppResult, AppState};
use crate::auth::ClientAddr;
use crate::i18n::{tr, tr_args, Lang};
use crate::store::{Token, TokenState};
use crate::web::Page;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

/// Self-check routes; public (no login).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/check", get(check_query))
        .route("/check/{code}", get(check_path))
}

/// The longest code looked up; longer input is answered as a wrong code without a lookup.
const MAX_CODE_LEN: usize = 32;

/// What the page shows about a live voucher.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Remaining {
    /// The code, as the customer holds it.
    pub code: String,
    /// Seconds of connection time left; `None` when the voucher has no time limit.
    pub uptime_left_s: Option<u64>,
    /// Bytes left; `None` when the voucher has no data limit.
    pub bytes_left: Option<u64>,
    /// When the voucher stops being valid (unix ms), once it has been used.
    pub valid_until: Option<i64>,
    /// Valid this long from first login, when that has not happened yet.
    pub validity_s: Option<u64>,
    /// Not used yet.
    pub unused: bool,
}

/// Limits a voucher was sold (or extended) with.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// `limit-uptime`, seconds.
    pub uptime_s: Option<u64>,
    /// `limit-bytes-total`.
    pub bytes_total: Option<u64>,
    /// Valid this long after first login.
    pub validity_s: Option<u64>,
}

/// What is left of `token`, or `None` when it no longer works (the answer a wrong code gets).
pub fn remaining(token: &Token, limits: Limits, now: i64) -> Option<Remaining> {
    let live = matches!(
        token.state,
        TokenState::Issued | TokenState::Applied | TokenState::InUse
    );
    if !live {
        return None;
    }
    let valid_until = match (token.first_login_at, limits.validity_s) {
        (Some(first), Some(v)) => {
            Some(first.saturating_add(i64::try_from(v.saturating_mul(1000)).unwrap_or(i64::MAX)))
        }
        _ => None,
    };
    if valid_until.is_some_and(|end| end <= now) {
        return None;
    }
    let uptime_left_s = limits
        .uptime_s
        .filter(|&l| l > 0)
        .map(|l| l.saturating_sub(token.uptime_s));
    let used = token.bytes_in.saturating_add(token.bytes_out);
    let bytes_left = limits
        .bytes_total
        .filter(|&l| l > 0)
        .map(|l| l.saturating_sub(used));
    if uptime_left_s == Some(0) || bytes_left == Some(0) {
        return None;
    }
    Some(Remaining {
        code: token.code.clone(),
        uptime_left_s,
        bytes_left,
        valid_until,
        validity_s: limits.validity_s.filter(|_| token.first_login_at.is_none()),
        unused: token.first_login_at.is_none(),
    })
}

/// `?code=` from the page's own form.
#[derive(Debug, Deserialize, Default)]
pub struct CheckQuery {
    /// The voucher code typed in.
    pub code: Option<String>,
}

async fn check_query(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Query(q): Query<CheckQuery>,
) -> AppResult<Response> {
    match q.code.filter(|c| !c.trim().is_empty()) {
        Some(code) => answer(&state, &client, &code).await,
        None => page(
            StatusCode::OK,
            CheckView {
                ask: true,
                ..CheckView::default()
            },
        ),
    }
}

async fn check_path(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path(code): Path<String>,
) -> AppResult<Response> {
    answer(&state, &client, &code).await
}

async fn answer(state: &AppState, client: &str, code: &str) -> AppResult<Response> {
    let limiter = state.limiter.as_ref();
    let attempt = match limiter.reserve_check(state.store.as_ref(), client).await {
        Ok(a) => a,
        Err(_) => {
            return page(
                StatusCode::TOO_MANY_REQUESTS,
                CheckView {
                    limited: true,
                    ..CheckView::default()
                },
            )
        }
    };
    // Every check stays counted: a lookup is what a guesser spends, right or wrong.
    attempt.failed(state.store.as_ref(), limiter).await;
    let code = code.trim().to_ascii_uppercase();
    let found = if code.len() <= MAX_CODE_LEN && mtm_common::token_code::is_valid(&code) {
        lookup(state, &code).await?
    } else {
        None
    };
    match found {
        Some(r) => page(
            StatusCode::OK,
            CheckView {
                text: Some(words(crate::i18n::current(), &r)),
                remaining: Some(r),
                ..CheckView::default()
            },
        ),
        // One answer for every code that does not work, so none can be told from a wrong one.
        None => page(
            StatusCode::OK,
            CheckView {
                invalid: true,
                ..CheckView::default()
            },
        ),
    }
}

async fn lookup(state: &AppState, code: &str) -> AppResult<Option<Remaining>> {
    let Some(token) = state.store.token_by_code(code).await? else {
        return Ok(None);
    };
    let Some(pkg) = state
        .store
        .list_all_packages()
        .await?
        .into_iter()
        .find(|p| p.id == token.package_id)
    else {
        return Ok(None);
    };
    let limits = Limits {
        uptime_s: pkg
            .limit_uptime_s
            .map(|l| l.saturating_add(token.extra_uptime_s)),
        bytes_total: pkg
            .limit_bytes_total
            .map(|l| l.saturating_add(token.extra_bytes_total)),
        validity_s: pkg.validity_s,
    };
    Ok(remaining(&token, limits, crate::store::now_ms()))
}

/// What is left of a voucher, in words.
#[derive(Debug, Serialize)]
struct RemainingWords {
    time: String,
    data: String,
    valid: String,
}

/// The self-check page: the form alone, a voucher's figures, or one of the refusals.
#[derive(Debug, Serialize, Default)]
struct CheckView {
    ask: bool,
    remaining: Option<Remaining>,
    text: Option<RemainingWords>,
    invalid: bool,
    limited: bool,
}

/// The figures as a customer reads them, in `lang`.
fn words(lang: Lang, r: &Remaining) -> RemainingWords {
    let valid = match (r.valid_until, r.validity_s) {
        (Some(end), _) => crate::i18n::datetime(lang, end),
        (None, Some(v)) => tr_args(
            lang,
            "check-from-first-login",
            &[("duration", duration_words(lang, v).into())],
        ),
        (None, None) => tr(lang, "check-no-end"),
    };
    let no_limit = || tr(lang, "check-no-limit");
    RemainingWords {
        time: r
            .uptime_left_s
            .map_or_else(no_limit, |s| duration_words(lang, s)),
        data: r.bytes_left.map_or_else(no_limit, bytes_words),
        valid,
    }
}

/// `5400` → `1 h 30 min` (in `lang`); under a minute shows as `less than a minute`.
pub fn duration_words(lang: Lang, s: u64) -> String {
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    let mut parts = Vec::new();
    for (n, key) in [(d, "unit-days"), (h, "unit-hours"), (m, "unit-minutes")] {
        if n > 0 {
            parts.push(tr_args(lang, key, &[("n", n.into())]));
        }
    }
    if parts.is_empty() {
        tr(lang, "unit-under-a-minute")
    } else {
        parts.join(" ")
    }
}

/// Decimal units, as packages are sold: `1_500_000` → `1.5 MB`.
pub fn bytes_words(b: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GB", 1_000_000_000), ("MB", 1_000_000), ("kB", 1_000)];
    for (unit, size) in UNITS {
        if b >= size {
            let tenths = b / (size / 10);
            let (whole, frac) = (tenths / 10, tenths % 10);
            return if frac == 0 {
                format!("{whole} {unit}")
            } else {
                format!("{whole}.{frac} {unit}")
            };
        }
    }
    format!("{b} bytes")
}

fn page(status: StatusCode, view: CheckView) -> AppResult<Response> {
    let html = crate::web::render("check.html", &Page::anonymous(), view)?;
    Ok((status, html).into_response())
}

#[cfg(test)]
mod tests;
