//! A voucher's QR codes (SVG, made here: the hotspot login, the customer's self-check) and its
//! print view for 58 mm and 80 mm receipt printers and A4 sheets (batches print through the
//! same template with [`PrintedVoucher`], see `batch`).

use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AnyRole, Auth, CurrentUser};
use crate::store::{Role, Token};
use crate::web::render;
use crate::web::Page;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// The QR and print routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens/{id}/qr.svg", get(qr))
        .route("/tokens/{id}/check-qr.svg", get(check_qr))
        .route("/tokens/{id}/print", get(print))
}

/// A token the caller may see: staff only their own.
async fn visible(state: &AppState, cur: &CurrentUser, id: Uuid) -> AppResult<Token> {
    let token = state.store.token(id).await?.ok_or(AppError::NotFound)?;
    if cur.user.role == Role::Staff && token.staff_id != cur.user.id {
        return Err(AppError::NotFound);
    }
    Ok(token)
}

/// What the QR code holds: the hotspot login URL with the voucher filled in when the server
/// knows it, else the code alone (the customer types it on the login page).
pub fn qr_payload(public_url: Option<&str>, code: &str, password: Option<&str>) -> String {
    let Some(url) = public_url.filter(|u| !u.is_empty()) else {
        return code.to_owned();
    };
    // Codes and passwords come from an unambiguous alphanumeric alphabet; encode anyway so a
    // future alphabet cannot break the URL.
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let mut out = format!("{url}{sep}username={}", enc(code));
    if let Some(p) = password {
        out.push_str(&format!("&password={}", enc(p)));
    }
    out
}

/// The QR code of `payload` as an SVG document.
pub fn qr_svg(payload: &str) -> AppResult<String> {
    let code = qrcode::QrCode::with_error_correction_level(payload, qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(format!("qr: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(160, 160)
        .quiet_zone(true)
        .build())
}

async fn qr(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let t = visible(&state, &cur, id).await?;
    let payload = qr_payload(
        state.settings.public_url.as_deref(),
        &t.code,
        t.password.as_deref(),
    );
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], qr_svg(&payload)?).into_response())
}

/// The customer's self-check address for `code`, when the server knows its public URL.
pub fn check_url(external_url: Option<&str>, code: &str) -> Option<String> {
    let base = external_url.filter(|u| !u.is_empty())?;
    Some(format!("{}/check/{code}", base.trim_end_matches('/')))
}

async fn check_qr(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let t = visible(&state, &cur, id).await?;
    let url =
        check_url(state.settings.external_url.as_deref(), &t.code).ok_or(AppError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], qr_svg(&url)?).into_response())
}

/// `?size=58`, `80` or `a4`.
#[derive(Debug, Deserialize, Default)]
pub struct PrintQuery {
    /// Paper: `58` (default), `80` or `a4`.
    pub size: Option<String>,
}

/// The paper a print view is laid out for.
pub(crate) fn paper(size: Option<&str>) -> &'static str {
    match size {
        Some("80") => "80",
        Some("a4") => "a4",
        _ => "58",
    }
}

/// Package names by id, for print views.
pub(crate) async fn package_names(state: &AppState) -> AppResult<HashMap<Uuid, String>> {
    Ok(state
        .store
        .list_packages()
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}

/// One voucher as the print template takes it: the token and its package's name.
#[derive(Debug, Serialize)]
pub(crate) struct PrintedVoucher<'a> {
    token: &'a Token,
    package_name: String,
}

impl<'a> PrintedVoucher<'a> {
    /// `token`, its package named from `names` (its slug when the package is gone).
    pub(crate) fn of(token: &'a Token, names: &HashMap<Uuid, String>) -> Self {
        PrintedVoucher {
            token,
            package_name: names
                .get(&token.package_id)
                .cloned()
                .unwrap_or_else(|| token.package_slug.clone()),
        }
    }
}

/// One voucher's print view.
#[derive(Debug, Serialize)]
struct PrintView<'a> {
    vouchers: [PrintedVoucher<'a>; 1],
    size: &'static str,
    login_url: Option<&'a str>,
    single: bool,
    self_check: bool,
}

async fn print(
    State(state): State<AppState>,
    Auth(cur, _): Auth<AnyRole>,
    Path(id): Path<Uuid>,
    Query(q): Query<PrintQuery>,
) -> AppResult<Html<String>> {
    let t = visible(&state, &cur, id).await?;
    let names = package_names(&state).await?;
    let view = PrintView {
        vouchers: [PrintedVoucher::of(&t, &names)],
        size: paper(q.size.as_deref()),
        login_url: state.settings.public_url.as_deref(),
        single: true,
        self_check: state
            .settings
            .external_url
            .as_ref()
            .is_some_and(|u| !u.is_empty()),
    };
    render("print_voucher.html", &Page::of(&cur), view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_payload_fills_the_login_url() {
        assert_eq!(qr_payload(None, "ABCD", Some("x")), "ABCD");
        assert_eq!(
            qr_payload(Some("http://hs.lan/login"), "ABCD", Some("p2")),
            "http://hs.lan/login?username=ABCD&password=p2"
        );
        assert_eq!(
            qr_payload(Some("http://hs.lan/login?dst=x"), "A B", None),
            "http://hs.lan/login?dst=x&username=A%20B"
        );
        let svg = qr_svg("http://hs.lan/login?username=ABCD").unwrap();
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<path"));
    }
}
