//! Alert summaries and refusals of typed input in the reader's language, with real alerts:
//! a sale refused without a shift, a drawer short at a shift close, a silent router, and an
//! alert stored before summaries were kept as messages (it keeps its English line).

use super::tests::{busy_app, get, untranslated};
use super::*;
use crate::reconcile::{check_router_silent, check_shift_close, RouterRef, ShiftClose};
use crate::store::now_ms;
use crate::testutil::TestApp;
use axum::http::StatusCode;

/// The summary of an alert stored before summaries were kept as messages.
const OLD_SUMMARY: &str = "hotspot user x1 on router r1 was not issued by mtm (no mtm comment)";

/// Raise the alerts of the pages: a sale refused by the page (the staff member has no shift
/// yet), a drawer 30.00 short, a router silent for ten minutes, and an old-style alert.
pub(super) async fn raise_alerts(app: &TestApp, staff: &str, csrf: &str) {
    let r = app
        .page(
            "POST",
            "/dispense",
            Some(staff),
            Some(&format!("_csrf={csrf}&package_id={}", app.f.package.id)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let now = now_ms();
    let close = check_shift_close(&ShiftClose {
        shift_id: uuid::Uuid::new_v4(),
        staff_id: app.f.staff.id,
        location_id: app.f.location.id,
        opened_at: now - 3_600_000,
        closed_at: now,
        opening_float_minor: 1000,
        expected_revenue_minor: 3000,
        tokens_sold: 6,
        declared_cash_minor: 1000,
        threshold_minor: 0,
        currency: app.f.package.currency.clone(),
        closed_by: None,
    });
    let router = RouterRef {
        agent_id: app.f.router.agent_id.clone(),
        router_id: Some(app.f.router.id),
        location_id: Some(app.f.location.id),
    };
    let silent = check_router_silent(&router, now, Some(now - 600_000), 300_000, true);
    let mut old = silent.clone().unwrap();
    old.kind = crate::reconcile::AlertKind::RogueToken;
    old.dedup_key = "old-style".into();
    old.summary = OLD_SUMMARY.into();
    old.evidence = serde_json::json!({ "user": "x1", "reason": "no_mtm_comment" });
    for f in [close.finding.unwrap(), silent.unwrap(), old] {
        app.f.store.raise_alert(&f, now).await.unwrap();
    }
}

/// The summaries shown on a page (`<p class="summary">`).
fn summaries(html: &str) -> Vec<&str> {
    html.split("<p class=\"summary\">")
        .skip(1)
        .filter_map(|s| s.split("</p>").next())
        .collect()
}

#[tokio::test]
async fn alert_summaries_are_written_in_the_readers_language() {
    let (app, _) = busy_app().await;
    let (manager, _) = app.login("manager").await;
    let pseudo = get(&app, "/manager/alerts", Some(&manager), "qps").await;
    let shown = summaries(&pseudo.body);
    assert_eq!(shown.len(), 4, "{}", pseudo.body);
    for s in &shown {
        if s.contains("x1") {
            assert_eq!(*s, format!("⟪{OLD_SUMMARY}⟫"), "kept as stored");
        } else {
            assert!(
                s.starts_with("⟪⟦") && s.ends_with("⟧⟫"),
                "not a message: {s}"
            );
        }
    }
    assert!(untranslated(&pseudo.body).is_empty());

    let currency = app.f.package.currency.clone();
    let short = money(Lang::Fr, 3000, &currency);
    let fr = get(&app, "/manager/alerts", Some(&manager), "fr").await;
    for words in [
        format!("manque en caisse de {short} à la clôture du service"),
        "vente refusée : aucun service ouvert".to_string(),
        format!("le routeur {} est muet depuis 600 s", app.f.router.agent_id),
        OLD_SUMMARY.to_string(),
    ] {
        assert!(fr.body.contains(&words), "{words} in {}", fr.body);
    }
    assert!(!fr.body.contains("cash short by"), "{}", fr.body);

    // Resolving without a note: back to the page, which says why in French.
    let (manager_jwt, csrf) = app.login("manager").await;
    let alert = app.f.store.list_alerts(&Default::default()).await.unwrap()[0].id;
    let r = app
        .page(
            "POST",
            &format!("/manager/alerts/{alert}"),
            Some(&manager_jwt),
            Some(&format!("_csrf={csrf}&action=resolve&note=")),
        )
        .await;
    assert_eq!(r.headers["location"], "/manager/alerts?error=note");
    let again = get(&app, "/manager/alerts?error=note", Some(&manager_jwt), "fr").await;
    assert!(
        again.body.contains("Écrivez une note pour résoudre"),
        "{}",
        again.body
    );
    let still = app.f.store.list_alerts(&Default::default()).await.unwrap();
    assert!(still
        .iter()
        .all(|a| a.state != crate::store::AlertState::Resolved));
    let detail = format!("/manager/staff/{}", app.f.staff.id);
    let sw = get(&app, &detail, Some(&manager), "sw").await;
    let short_sw = money(Lang::Sw, 3000, &currency);
    assert!(
        sw.body
            .contains(&format!("upungufu wa fedha wa {short_sw}")),
        "{}",
        sw.body
    );

    // A notice and an e-mail in the channel's language; the API keeps the stored English.
    let alerts = app.f.store.list_alerts(&Default::default()).await.unwrap();
    let cash = alerts
        .iter()
        .find(|a| a.kind.as_str() == "cash_short")
        .unwrap();
    let notice = crate::notify::Notice::of_alert(cash, Lang::Fr);
    assert!(
        notice.summary.starts_with("manque en caisse de"),
        "{}",
        notice.summary
    );
    assert!(
        notice.mail.0.contains("manque en caisse"),
        "{}",
        notice.mail.0
    );
    assert_eq!(notice.json["summary"], notice.summary);
    let api = app
        .json("GET", "/api/alerts", Some(&manager), None)
        .await
        .json();
    assert!(api.to_string().contains("cash short by 30.00"), "{api}");
}

#[tokio::test]
async fn a_refused_amount_reads_in_the_readers_language_and_french_takes_a_comma() {
    let app = crate::testutil::test_app().await;
    let (staff, csrf) = app.login("staff").await;
    let loc = app.f.location.id;
    let clock_in = |float: &str, lang: &str| {
        let body = format!("_csrf={csrf}&location_id={loc}&opening_float={float}");
        axum::http::Request::builder()
            .method("POST")
            .uri("/shifts/clock-in")
            .header("cookie", format!("{}={staff}", crate::auth::COOKIE))
            .header("accept", "text/html")
            .header("accept-language", lang)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let pseudo = app.call(clock_in("douze", "qps")).await;
    assert_eq!(pseudo.status, StatusCode::OK, "{}", pseudo.body);
    assert!(
        pseudo.body.contains("role=\"alert\">⟪⟦⟦"),
        "the refusal is a message: {}",
        pseudo.body
    );
    assert!(untranslated(&pseudo.body).is_empty());
    let fr = app.call(clock_in("douze", "fr")).await;
    assert!(
        fr.body
            .contains("Fond de caisse : « douze » n&#x27;est pas un montant"),
        "{}",
        fr.body
    );
    let sw = app.call(clock_in("12.505", "sw")).await;
    assert!(sw.body.contains("ina nafasi 2 za desimali"), "{}", sw.body);
    // The API still answers in English.
    let api = app.sell_over_api(&staff).await;
    assert_eq!(api.status, StatusCode::BAD_REQUEST);
    assert!(api.body.contains("clock in first"), "{}", api.body);

    let ok = app.call(clock_in("12,50", "fr")).await;
    assert!(ok.status.is_redirection(), "{}", ok.body);
    let shift = app
        .f
        .store
        .open_shift_of(app.f.staff.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shift.opening_float_minor, 1250);
    let twice = app.call(clock_in("1", "fr")).await;
    assert!(
        twice.body.contains("votre service est déjà ouvert"),
        "{}",
        twice.body
    );
}

#[tokio::test]
async fn an_unknown_time_zone_is_refused_in_french_on_the_page_and_in_english_over_the_api() {
    let app = crate::testutil::test_app().await;
    let (admin, csrf) = app.login("admin").await;
    let loc = app.f.location.id;
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(format!("/admin/locations/{loc}/settings"))
        .header("cookie", format!("{}={admin}", crate::auth::COOKIE))
        .header("accept", "text/html")
        .header("accept-language", "fr")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(format!(
            "_csrf={csrf}&cash_threshold=0,01&close_time=03:30&timezone=Nowhere/Atlantis"
        )))
        .unwrap();
    let page = app.call(req).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("« Nowhere&#x2f;Atlantis » n&#x27;est pas dans la base des fuseaux"),
        "{}",
        page.body
    );
    let api = app
        .json(
            "PATCH",
            &format!("/api/locations/{loc}"),
            Some(&admin),
            Some(serde_json::json!({ "timezone": "Nowhere/Atlantis" })),
        )
        .await;
    assert_eq!(api.status, StatusCode::BAD_REQUEST, "{}", api.body);
    assert!(
        api.body.contains("is not in the zone database"),
        "{}",
        api.body
    );
}
