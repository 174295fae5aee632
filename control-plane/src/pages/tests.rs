//! The pages through the whole app: who may open what, what they show, CSV, overrides.

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
async fn voucher_qr_and_print_views() {
    let app = test_app().await;
    let (token, _) = app.f.issue().await;
    let (staff, _) = app.login("staff").await;
    let qr = app
        .page(
            "GET",
            &format!("/tokens/{}/qr.svg", token.id),
            Some(&staff),
            None,
        )
        .await;
    assert_eq!(qr.status, StatusCode::OK);
    assert_eq!(qr.headers["content-type"], "image/svg+xml");
    assert!(qr.body.contains("<svg"));
    for size in ["58", "80", "a4"] {
        let p = format!("/tokens/{}/print?size={size}", token.id);
        let r = app.page("GET", &p, Some(&staff), None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(&format!("print-{size}")));
        assert!(r.body.contains(&token.code));
    }
    // Another staff member's voucher is not there for them.
    let (admin, _) = app.login("admin").await;
    let r = app
        .page(
            "GET",
            &format!("/tokens/{}/print", token.id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn a_batch_is_one_transaction_followed_on_its_page_and_printed() {
    let app = test_app().await;
    app.f
        .store
        .open_shift(app.f.staff.id, app.f.location.id, 0, "staff")
        .await
        .unwrap();
    let (staff, csrf) = app.login("staff").await;
    let form = format!("_csrf={csrf}&package_id={}&count=501", app.f.package.id);
    let r = app
        .page("POST", "/dispense/batch", Some(&staff), Some(&form))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.headers[axum::http::header::LOCATION].to_str().unwrap();
    let batch_id: uuid::Uuid = to.trim_start_matches("/dispense/batch/").parse().unwrap();
    let page = app
        .f
        .store
        .list_tokens(&crate::store::TokenFilter::default())
        .await
        .unwrap();
    assert_eq!(page.total, 501);
    let commands: Vec<usize> = app
        .rec
        .down_to("agent-1", &app.cp.verifying_key())
        .into_iter()
        .filter_map(|(_, m)| match m {
            mtm_common::DownMessage::Command(c) => match c.kind {
                mtm_common::CommandKind::CreateTokens(b) => Some(b.tokens.len()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(
        commands,
        vec![500, 1],
        "two commands carry the 501 vouchers"
    );

    // The batch page polls a fragment that says how many are on the router.
    let r = app.page("GET", to, Some(&staff), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("hx-get=\"/dispense/batch/"), "{}", r.body);
    let frag = format!("{to}/progress");
    let r = app.page("GET", &frag, Some(&staff), None).await;
    assert!(
        r.body.contains("data-on-router=\"0\" data-total=\"501\""),
        "{}",
        r.body
    );
    // The router confirms every voucher in one answer: the fragment stops polling.
    let tokens = app.f.store.batch_tokens(batch_id, 0, 1000).await.unwrap();
    assert_eq!(tokens.len(), 501);
    for (seq, c) in (1..).zip(app.f.store.open_commands("agent-1").await.unwrap()) {
        let mtm_common::CommandKind::CreateTokens(b) = &c.kind else {
            continue;
        };
        let applied = mtm_common::TokensApplied {
            command_id: c.id,
            applied: b
                .tokens
                .iter()
                .map(|t| mtm_common::AppliedToken {
                    token_id: t.token_id,
                    router_user_id: format!("*{}", t.code),
                    already_present: false,
                })
                .collect(),
            failed: vec![],
        };
        let item = crate::store::UpItem {
            seq,
            at: crate::store::now_ms(),
            message: mtm_common::UpMessage::TokensApplied(applied),
        };
        app.f
            .store
            .apply_up("agent-1", &[item], crate::store::now_ms())
            .await
            .unwrap();
    }
    let r = app.page("GET", &frag, Some(&staff), None).await;
    assert!(r.body.contains("data-on-router=\"501\""), "{}", r.body);
    assert!(!r.body.contains("hx-get"), "{}", r.body);

    // Printed in parts: A4 sheets and thermal strips.
    let r = app
        .page(
            "GET",
            &format!("{to}/print?size=a4&part=2"),
            Some(&staff),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("print-a4"));
    assert_eq!(r.body.matches("class=\"ticket\"").count(), 1);
    let r = app
        .page("GET", &format!("{to}/print?size=58"), Some(&staff), None)
        .await;
    assert!(r.body.contains("print-58"));
    assert_eq!(r.body.matches("class=\"ticket\"").count(), 500);
    assert!(r.body.contains(&tokens[0].code));
    let r = app
        .page("GET", &format!("{to}/print?part=3"), Some(&staff), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let too_many = format!("_csrf={csrf}&package_id={}&count=5001", app.f.package.id);
    let r = app
        .page("POST", "/dispense/batch", Some(&staff), Some(&too_many))
        .await;
    assert!(r.body.contains("count must be between"));
}

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
async fn admin_changes_users_and_reads_the_logs() {
    let app = test_app().await;
    let (admin, csrf) = app.login("admin").await;
    let (staff, _) = app.login("staff").await;
    let path = format!("/admin/users/{}", app.f.staff.id);
    let r = app
        .page(
            "POST",
            &path,
            Some(&admin),
            Some(&format!("_csrf={csrf}&action=disable")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("User staff updated."));
    let gone = app.page("GET", "/dispense", Some(&staff), None).await;
    assert_eq!(
        gone.status,
        StatusCode::SEE_OTHER,
        "disabled: session ended"
    );
    let me = format!("/admin/users/{}", app.f.admin.id);
    let r = app
        .page(
            "POST",
            &me,
            Some(&admin),
            Some(&format!("_csrf={csrf}&action=disable")),
        )
        .await;
    assert!(r.body.contains("cannot disable your own"));
    let form = format!("_csrf={csrf}&action=password&password=another+long+one");
    app.page("POST", &path, Some(&admin), Some(&form)).await;
    app.page(
        "POST",
        &path,
        Some(&admin),
        Some(&format!("_csrf={csrf}&action=enable")),
    )
    .await;
    assert!(app
        .f
        .store
        .check_password("staff", "another long one")
        .await
        .unwrap()
        .is_some());

    let log = app.page("GET", "/admin/log", Some(&admin), None).await;
    assert!(log.body.contains("user.update"), "{}", log.body);
    assert!(!log.body.contains("another long one"));
    let csv = app
        .page("GET", "/admin/log?format=csv", Some(&admin), None)
        .await;
    assert!(csv
        .body
        .starts_with("id,at_ms,actor,action,target,detail\r\n"));
    app.f.issue().await;
    let events = app
        .page("GET", "/admin/log?table=events", Some(&admin), None)
        .await;
    assert!(events.body.contains("Event log"));
    let home = app.page("GET", "/admin", Some(&admin), None).await;
    assert!(home.body.contains("token_ledger"), "{}", home.body);
    let users_csv = app
        .page("GET", "/admin/users?format=csv", Some(&admin), None)
        .await;
    assert_eq!(users_csv.body.lines().count(), 4, "{}", users_csv.body);
}

#[tokio::test]
async fn a_frozen_location_refuses_dispensing_until_thawed() {
    let app = test_app().await;
    let (admin, csrf) = app.login("admin").await;
    let path = format!("/admin/locations/{}/freeze", app.f.location.id);
    let confirm = app.page("GET", &path, Some(&admin), None).await;
    assert!(confirm.body.contains("name=\"reason\""), "{}", confirm.body);
    let wrong = format!("_csrf={csrf}&confirm=nope&reason=till");
    let r = app.page("POST", &path, Some(&admin), Some(&wrong)).await;
    assert!(r.body.contains("nothing was done"));
    let ok = format!("_csrf={csrf}&confirm=freeze&reason=till+missing");
    let r = app.page("POST", &path, Some(&admin), Some(&ok)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let routers = app.page("GET", "/admin/routers", Some(&admin), None).await;
    assert!(routers
        .body
        .contains("dispensing frozen by admin: till missing"));

    app.f
        .store
        .open_shift(app.f.staff.id, app.f.location.id, 0, "staff")
        .await
        .unwrap();
    let (staff, scsrf) = app.login("staff").await;
    let form = format!("_csrf={scsrf}&package_id={}", app.f.package.id);
    let r = app
        .page("POST", "/dispense", Some(&staff), Some(&form))
        .await;
    assert!(r.body.contains("dispensing is frozen"), "{}", r.body);
    let none = app.f.store.list_tokens(&Default::default()).await.unwrap();
    assert_eq!(none.total, 0);

    let thaw = format!("/admin/locations/{}/thaw", app.f.location.id);
    let ok = format!("_csrf={csrf}&confirm=thaw&reason=found+it");
    app.page("POST", &thaw, Some(&admin), Some(&ok)).await;
    let r = app
        .page("POST", "/dispense", Some(&staff), Some(&form))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
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
async fn daily_reports_list_show_and_sign_off_once() {
    let app = test_app().await;
    let stored = crate::reports::run_due(&*app.f.store, crate::store::now_ms())
        .await
        .unwrap();
    assert_eq!(stored, 1, "yesterday's report of the one location");
    let (manager, csrf) = app.login("manager").await;
    let list = app
        .page("GET", "/manager/reports", Some(&manager), None)
        .await;
    assert!(
        list.body.contains("Cafe One") && list.body.contains("intact"),
        "{}",
        list.body
    );
    let id = app
        .f
        .store
        .daily_reports(&Default::default())
        .await
        .unwrap()[0]
        .id;
    let page = format!("/manager/reports/{id}");
    let one = app.page("GET", &page, Some(&manager), None).await;
    assert!(one.body.contains("Sign off"), "{}", one.body);
    let form = format!("_csrf={csrf}&note=counted+and+checked");
    let r = app
        .page(
            "POST",
            &format!("{page}/sign-off"),
            Some(&manager),
            Some(&form),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let one = app.page("GET", &page, Some(&manager), None).await;
    assert!(one.body.contains("Signed off by manager"), "{}", one.body);
    let again = app
        .page(
            "POST",
            &format!("{page}/sign-off"),
            Some(&manager),
            Some(&form),
        )
        .await;
    // Signed off already (another tab): the report's page says so.
    assert_eq!(again.status, StatusCode::OK);
    assert!(
        again.body.contains("the report is signed off already"),
        "{}",
        again.body
    );
    let csv = app
        .page("GET", "/manager/reports?format=csv", Some(&manager), None)
        .await;
    let line = csv.body.lines().nth(1).unwrap();
    assert!(
        line.contains(",Cafe One,") && line.ends_with(",manager,counted and checked"),
        "{line}"
    );
}
