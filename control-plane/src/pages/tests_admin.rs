//! The admin and manager forms (package edit, enrollment code, revoke, location
//! settings, a manager closing a forgotten shift, the home redirect): allowed role, denied
//! role, missing CSRF, and the audit row each writes.

use crate::store::LogTable;
use crate::testutil::{test_app, TestApp};
use axum::http::StatusCode;
use mtm_common::CommandKind;

async fn audited(app: &TestApp, action: &str) -> Vec<crate::store::LogRow> {
    let log = app.f.store.list_log(LogTable::Audit, 200, 0).await.unwrap();
    log.into_iter().filter(|r| r.action == action).collect()
}

/// `path` refuses a manager's and a staff member's form (403), and an admin's without CSRF.
async fn admin_only_with_csrf(app: &TestApp, path: &str, form: &str) {
    for who in ["staff", "manager"] {
        let (jwt, csrf) = app.login(who).await;
        let r = app
            .page(
                "POST",
                path,
                Some(&jwt),
                Some(&format!("_csrf={csrf}&{form}")),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who} on {path}");
    }
    let (admin, _) = app.login("admin").await;
    let r = app.page("POST", path, Some(&admin), Some(form)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF on {path}");
}

#[tokio::test]
async fn editing_a_package_changes_the_price_and_pushes_the_catalog() {
    let app = test_app().await;
    let path = format!("/admin/packages/{}", app.f.package.id);
    let form = "name=Hour+plus&price=7.50&limit_minutes=90&limit_mb=&rate_limit=3M%2F6M\
                &shared_users=2&validity_hours=24&active=on";
    admin_only_with_csrf(&app, &path, form).await;
    assert!(audited(&app, "package.update").await.is_empty());

    let (admin, csrf) = app.login("admin").await;
    let page = app.page("GET", &path, Some(&admin), None).await;
    assert_eq!(page.status, StatusCode::OK);
    // The price is shown and typed in currency units, not cents.
    assert!(
        page.body
            .contains("name=\"price\" type=\"text\" inputmode=\"decimal\" value=\"5.00\""),
        "{}",
        page.body
    );
    for (typed, says) in [
        ("7.505", "USD has 2 decimal place(s)"),
        ("9223372036854775807", "too large"),
        ("-1", "cannot be negative"),
        ("7,50", "is not an amount"),
    ] {
        let r = app
            .page(
                "POST",
                &path,
                Some(&admin),
                Some(&format!("_csrf={csrf}&name=X&price={typed}&shared_users=1")),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{typed}");
        assert!(r.body.contains(says), "{typed}: {}", r.body);
    }
    let bad = app
        .page(
            "POST",
            &path,
            Some(&admin),
            Some(&format!("_csrf={csrf}&name=&price=0.01&shared_users=1")),
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
    let p = &app.f.store.list_packages().await.unwrap()[0];
    assert_eq!((p.name.as_str(), p.price_minor), ("Hour plus", 750));
    assert_eq!((p.limit_uptime_s, p.shared_users), (Some(5400), 2));
    assert_eq!(p.validity_s, Some(86_400));
    let rows = audited(&app, "package.update").await;
    assert_eq!((rows.len(), rows[0].actor.as_str()), (1, "admin"));

    let current = crate::catalog::current_catalog(&*app.f.store)
        .await
        .unwrap();
    let open = app.f.store.open_commands("agent-1").await.unwrap();
    let pushed = open.iter().any(
        |c| matches!(&c.kind, CommandKind::ApplyCatalog(cat) if cat.version == current.version),
    );
    assert!(
        pushed,
        "the edited catalog is queued for the router: {open:?}"
    );
    let routers = app.page("GET", "/admin/routers", Some(&admin), None).await;
    assert!(routers.body.contains("(behind)"), "convergence shown");
    assert!(routers.body.contains("Hour plus"));
    // The catalog version reads as the date of the change, not a raw millisecond count.
    let when =
        time::OffsetDateTime::from_unix_timestamp(i64::try_from(current.version / 1000).unwrap())
            .unwrap()
            .format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .unwrap();
    assert!(
        routers.body.contains(&format!(
            "<span id=\"catalog-version\" title=\"{}\">{when}</span>",
            current.version
        )),
        "{}",
        routers.body
    );

    // Retiring takes it off the staff page's buttons but keeps it on the admin list.
    let retire = form.replace("&active=on", "");
    app.page(
        "POST",
        &path,
        Some(&admin),
        Some(&format!("_csrf={csrf}&{retire}")),
    )
    .await;
    assert!(app.f.store.list_packages().await.unwrap().is_empty());
    let routers = app.page("GET", "/admin/routers", Some(&admin), None).await;
    assert!(routers.body.contains("retired"));
}

#[tokio::test]
async fn an_enrollment_code_is_shown_once_with_its_expiry() {
    let app = test_app().await;
    let path = format!("/admin/routers/{}/enrollment-code", app.f.router.id);
    admin_only_with_csrf(&app, &path, "").await;
    let (admin, csrf) = app.login("admin").await;
    let r = app
        .page("POST", &path, Some(&admin), Some(&format!("_csrf={csrf}")))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"code\""), "{}", r.body);
    assert!(r.body.contains(" UTC</td>"), "expiry shown");
    let st = app
        .f
        .store
        .enrollment_state(app.f.router.id)
        .await
        .unwrap()
        .unwrap();
    assert!(st.open_code_expires_at.is_some());
    assert_eq!(audited(&app, "router.enrollment_code").await.len(), 1);
    let again = app.page("GET", "/admin/routers", Some(&admin), None).await;
    assert!(!again.body.contains("id=\"code\""), "shown only once");
}

#[tokio::test]
async fn revoking_needs_the_typed_agent_id_and_is_audited() {
    let app = test_app().await;
    let path = format!("/admin/routers/{}/revoke", app.f.router.id);
    admin_only_with_csrf(&app, &path, "confirm=agent-1").await;
    let (admin, csrf) = app.login("admin").await;
    let confirm = app.page("GET", &path, Some(&admin), None).await;
    assert!(confirm.body.contains("name=\"confirm\""));
    let wrong = app
        .page(
            "POST",
            &path,
            Some(&admin),
            Some(&format!("_csrf={csrf}&confirm=x")),
        )
        .await;
    assert!(wrong.body.contains("does not match"));
    assert!(audited(&app, "router.revoke").await.is_empty());
    let ok = app
        .page(
            "POST",
            &path,
            Some(&admin),
            Some(&format!("_csrf={csrf}&confirm=agent-1")),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let st = app.f.store.enrollment_state(app.f.router.id).await.unwrap();
    assert!(st.unwrap().revoked_at.is_some());
    assert_eq!(audited(&app, "router.revoke").await.len(), 1);
    let pw = app.f.mqtt_password.clone();
    assert!(!app
        .f
        .store
        .check_mqtt_password("agent-1", &pw)
        .await
        .unwrap());
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

#[tokio::test]
async fn a_manager_closes_a_forgotten_shift_with_a_note() {
    let app = test_app().await;
    let shift = app
        .f
        .store
        .open_shift(app.f.staff.id, app.f.location.id, 1000, "staff")
        .await
        .unwrap();
    let (manager, csrf) = app.login("manager").await;
    let loc = format!("/manager/locations/{}", app.f.location.id);
    let page = app.page("GET", &loc, Some(&manager), None).await;
    let path = format!("/manager/shifts/{}/close", shift.id);
    assert!(page.body.contains(&path), "{}", page.body);

    let (staff, staff_csrf) = app.login("staff").await;
    let form = "declared_cash=9.00&note=left+without+clocking+out";
    let r = app
        .page(
            "POST",
            &path,
            Some(&staff),
            Some(&format!("_csrf={staff_csrf}&{form}")),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.page("POST", &path, Some(&manager), Some(form)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF");
    let no_note = app
        .page(
            "POST",
            &path,
            Some(&manager),
            Some(&format!("_csrf={csrf}&declared_cash=9.00&note=")),
        )
        .await;
    assert!(
        no_note.body.contains("note is required"),
        "{}",
        no_note.body
    );
    assert!(app
        .f
        .store
        .open_shift_of(app.f.staff.id)
        .await
        .unwrap()
        .is_some());

    let ok = app
        .page(
            "POST",
            &path,
            Some(&manager),
            Some(&format!("_csrf={csrf}&{form}")),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert!(app
        .f
        .store
        .open_shift_of(app.f.staff.id)
        .await
        .unwrap()
        .is_none());
    let rows = audited(&app, "shift.close_for_staff").await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].detail.contains("left without clocking out"));
    let alerts = app.json("GET", "/api/alerts", Some(&manager), None).await;
    assert!(alerts.body.contains("cash_short"), "short drawer alerted");
    let twice = app
        .page(
            "POST",
            &path,
            Some(&manager),
            Some(&format!("_csrf={csrf}&{form}")),
        )
        .await;
    assert!(twice.body.contains("class=\"error\""), "{}", twice.body);
}

#[tokio::test]
async fn home_sends_managers_and_admins_to_the_dashboard() {
    let app = test_app().await;
    for (who, to) in [
        ("staff", "/dispense"),
        ("manager", "/manager"),
        ("admin", "/manager"),
    ] {
        let (jwt, _) = app.login(who).await;
        let r = app.page("GET", "/", Some(&jwt), None).await;
        assert_eq!(r.headers["location"], to, "{who}");
    }
}

#[tokio::test]
async fn the_new_forms_render_names_inert() {
    let app = test_app().await;
    let evil = "<script>alert(1)</script>\"'";
    let (admin, csrf) = app.login("admin").await;
    let path = format!("/admin/packages/{}", app.f.package.id);
    let form = format!(
        "_csrf={csrf}&name={}&price=0.01&shared_users=1&active=on",
        urlencoding(evil)
    );
    let r = app.page("POST", &path, Some(&admin), Some(&form)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for p in [path.as_str(), "/admin/routers"] {
        let page = app.page("GET", p, Some(&admin), None).await;
        assert!(!page.body.contains(evil), "{p}");
        assert!(page.body.contains("&lt;script&gt;"), "{p}");
    }
}

/// Percent-encode every byte that is not alphanumeric (enough for a form body in a test).
fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
