//! The router and location forms through the whole app: overrides confirmed by the typed
//! agent id, location settings; allowed role, denied role, missing CSRF, and the audit row.

use crate::testutil::{admin_only_with_csrf, audited, test_app};
use axum::http::StatusCode;

#[tokio::test]
async fn override_needs_the_typed_name_and_is_audited() {
    let app = test_app().await;
    let (admin, csrf) = app.login("admin").await;
    let path = format!("/admin/routers/{}/override/disable-all", app.f.router.id);
    let confirm = app.page("GET", &path, Some(&admin), None).await;
    assert!(confirm.body.contains("name=\"confirm\""));
    let wrong = app
        .page(
            "POST",
            &path,
            Some(&admin),
            Some(&format!("_csrf={csrf}&confirm=nope")),
        )
        .await;
    assert!(wrong.body.contains("does not match"));
    assert_eq!(app.f.store.open_commands("agent-1").await.unwrap().len(), 0);
    let no_csrf = app
        .page("POST", &path, Some(&admin), Some("confirm=agent-1"))
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let ok = app
        .page(
            "POST",
            &path,
            Some(&admin),
            Some(&format!("_csrf={csrf}&confirm=agent-1")),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let open = app.f.store.open_commands("agent-1").await.unwrap();
    assert!(matches!(open[0].kind, mtm_common::CommandKind::DisableAll));
    let chains = app.f.store.verify_chains().await.unwrap();
    assert!(chains.iter().all(|c| c.first_bad_row.is_none()));
}

#[tokio::test]
async fn location_settings_form_changes_and_audits() {
    let app = test_app().await;
    let path = format!("/admin/locations/{}/settings", app.f.location.id);
    let form = "cash_threshold=3.00&close_time=03:30&timezone=UTC";
    admin_only_with_csrf(&app, &path, form).await;
    let (admin, csrf) = app.login("admin").await;
    let page = app.page("GET", &path, Some(&admin), None).await;
    assert!(page.body.contains("name=\"close_time\""), "{}", page.body);
    let bad = app
        .page(
            "POST",
            &path,
            Some(&admin),
            Some(&format!(
                "_csrf={csrf}&cash_threshold=0.01&close_time=03:30&timezone=Nowhere/Atlantis"
            )),
        )
        .await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad.body.contains("class=\"error\""), "{}", bad.body);
    let ok = app
        .page(
            "POST",
            &path,
            Some(&admin),
            Some(&format!("_csrf={csrf}&{form}")),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let s = app
        .f
        .store
        .location_settings(app.f.location.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.cash_threshold_minor, s.close_time.as_str()),
        (300, "03:30")
    );
    assert_eq!(audited(&app, "location.settings").await.len(), 1);
}
