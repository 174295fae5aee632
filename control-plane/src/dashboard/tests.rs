//! The managers' dashboards through the whole app: who may open which page, the overview
//! and the location and staff days counted exactly, names shown inert, CSV, the home redirect.

use crate::testutil::test_app;
use axum::http::StatusCode;

const MANAGER_PAGES: &[&str] = &[
    "/manager",
    "/manager/live",
    "/manager/alerts",
    "/manager/reports",
];

const ADMIN_PAGES: &[&str] = &["/admin", "/admin/routers", "/admin/users", "/admin/log"];

#[tokio::test]
async fn every_page_names_its_roles() {
    let app = test_app().await;
    let (staff, _) = app.login("staff").await;
    let (manager, _) = app.login("manager").await;
    let (admin, _) = app.login("admin").await;
    for p in MANAGER_PAGES.iter().chain(ADMIN_PAGES) {
        let anon = app.page("GET", p, None, None).await;
        assert_eq!(anon.status, StatusCode::SEE_OTHER, "anonymous {p}");
        let r = app.page("GET", p, Some(&staff), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "staff {p}");
    }
    for p in MANAGER_PAGES {
        let r = app.page("GET", p, Some(&manager), None).await;
        assert_eq!(r.status, StatusCode::OK, "manager {p}: {}", r.body);
    }
    for p in ADMIN_PAGES {
        let r = app.page("GET", p, Some(&manager), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "manager {p}");
        let r = app.page("GET", p, Some(&admin), None).await;
        assert_eq!(r.status, StatusCode::OK, "admin {p}: {}", r.body);
    }
    let batch = app
        .page("GET", "/dispense/batch", Some(&manager), None)
        .await;
    assert_eq!(batch.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn overview_counts_today_and_exports_csv() {
    let app = test_app().await;
    app.f.issue().await;
    app.f.issue().await;
    let (manager, _) = app.login("manager").await;
    let live = app.page("GET", "/manager/live", Some(&manager), None).await;
    assert!(
        live.body.contains("hx-trigger=\"every 5s\""),
        "{}",
        live.body
    );
    assert!(live
        .body
        .contains("<span class=\"n\" id=\"issued-today\">2</span>"));
    let csv = app
        .page("GET", "/manager?format=csv", Some(&manager), None)
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let line = csv.body.lines().nth(1).unwrap();
    let price = app.f.package.price_minor * 2;
    assert!(line.starts_with("Cafe One,0,1,0,2,0,2,"), "{line}");
    assert!(line.contains(&format!(",{price},0,")), "{line}");

    let loc = format!("/manager/locations/{}", app.f.location.id);
    let page = app.page("GET", &loc, Some(&manager), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<svg"), "chart drawn");
    let csv = app
        .page("GET", &format!("{loc}?format=csv"), Some(&manager), None)
        .await;
    assert_eq!(csv.body.lines().count(), 3, "{}", csv.body);
    let staff = format!("/manager/staff/{}", app.f.staff.id);
    let page = app.page("GET", &staff, Some(&manager), None).await;
    assert!(page.body.contains("staff: today"), "{}", page.body);
}

/// More vouchers in a day than one list query returns (500): every figure and export is exact.
#[tokio::test]
async fn a_busy_day_is_counted_exactly_on_every_dashboard_and_export() {
    const SOLD: usize = 607;
    let app = test_app().await;
    for _ in 0..SOLD {
        app.f.issue().await;
    }
    let revenue = app.f.package.price_minor * SOLD as i64;
    let (manager, _) = app.login("manager").await;
    let live = app.page("GET", "/manager/live", Some(&manager), None).await;
    assert!(
        live.body.contains(&format!(
            "<span class=\"n\" id=\"issued-today\">{SOLD}</span>"
        )),
        "{}",
        live.body
    );
    let money = crate::money::format(revenue, &app.f.package.currency);
    assert!(live.body.contains(&money), "revenue {money}: {}", live.body);
    let csv = app
        .page("GET", "/manager?format=csv", Some(&manager), None)
        .await;
    let line = csv.body.lines().nth(1).unwrap();
    assert!(line.contains(&format!(",{SOLD},0,{SOLD},")), "{line}");
    assert!(line.contains(&format!(",{revenue},0,")), "{line}");

    let loc = format!("/manager/locations/{}", app.f.location.id);
    let csv = app
        .page("GET", &format!("{loc}?format=csv"), Some(&manager), None)
        .await;
    assert_eq!(csv.body.lines().count(), SOLD + 1, "every voucher exported");
    let staff = format!("/manager/staff/{}?format=csv", app.f.staff.id);
    let csv = app.page("GET", &staff, Some(&manager), None).await;
    assert_eq!(csv.body.lines().count(), SOLD + 1, "every voucher exported");
}

#[tokio::test]
async fn names_render_inert_everywhere() {
    let app = test_app().await;
    let (admin, csrf) = app.login("admin").await;
    let evil = "<script>alert(1)</script>\"'";
    let enc = "%3Cscript%3Ealert(1)%3C%2Fscript%3E%22%27";
    let form = format!("_csrf={csrf}&name={enc}&timezone=UTC");
    let r = app
        .page("POST", "/admin/locations", Some(&admin), Some(&form))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let form = format!(
        "_csrf={csrf}&name={enc}&slug=evil&price=1.00&currency=USD&limit_minutes=&limit_mb=&rate_limit="
    );
    let r = app
        .page("POST", "/admin/packages", Some(&admin), Some(&form))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for p in ["/admin/routers", "/manager", "/admin/users"] {
        let r = app.page("GET", p, Some(&admin), None).await;
        assert!(!r.body.contains(evil), "{p} carries the raw name");
        assert!(!r.body.contains("<script>alert"), "{p}");
        assert!(
            r.body
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{p}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn a_short_drawer_shows_as_variance_per_location_and_staff() {
    let app = test_app().await;
    let (token, _) = app.f.issue().await;
    let expected = 1000 + token.price_minor;
    app.f
        .store
        .close_shift(app.f.staff.id, expected - 250, "staff")
        .await
        .unwrap();
    let (manager, _) = app.login("manager").await;
    let csv = app
        .page("GET", "/manager?format=csv", Some(&manager), None)
        .await;
    let line = csv.body.lines().nth(1).unwrap();
    assert!(line.ends_with(",-250"), "{line}");
    for p in [
        format!("/manager/locations/{}", app.f.location.id),
        format!("/manager/staff/{}", app.f.staff.id),
    ] {
        let r = app.page("GET", &p, Some(&manager), None).await;
        assert!(r.body.contains("id=\"variance\">-2.50 "), "{p}: {}", r.body);
        assert!(r.body.contains("<table id=\"shifts\">"));
        let shifts = app
            .page(
                "GET",
                &format!("{p}?format=csv&table=shifts"),
                Some(&manager),
                None,
            )
            .await;
        let line = shifts.body.lines().nth(1).unwrap();
        assert!(
            line.starts_with("staff,") && line.ends_with(",-250"),
            "{line}"
        );
        let staff = app
            .page(
                "GET",
                &format!("{p}?format=csv&table=staff"),
                Some(&manager),
                None,
            )
            .await;
        assert_eq!(
            staff.body.lines().nth(1).unwrap(),
            format!("staff,1,0,{},{},-250", token.price_minor, token.price_minor)
        );
    }
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
