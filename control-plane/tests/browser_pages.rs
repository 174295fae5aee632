//! The manager, admin and print pages in a real browser (headless Chromium through
//! chromedriver), against the in-process demo site: each role logs in; staff dispense, print and
//! make a batch; the manager watches the overview update live and finds the cash-short alert
//! of a staff clock-out; roles are kept out of pages not theirs; names full of markup stay text.
//!
//! `MTM_SCREENSHOTS=docs/screenshots` saves the pages visited.

mod support;

use std::time::Duration;

use fantoccini::{Client, Locator};
use mtm_control_plane::demo::{Demo, ADMIN_PASSWORD, MANAGER_PASSWORD, STAFF_PASSWORD};
use serde_json::{json, Value};
use support::pages::{click, field, login, logout, text};
use support::{browser::Browser, wait_for, Api};

const EVIL: &str = "<script>alert(1)</script>\"'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_in_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let site = support::demo_site(dir.path()).await;
    let url = site.url();
    let browser = Browser::start().await;
    let c = &browser.client;

    staff_prints_and_batches(&browser, &url).await;
    let api = Api::new(&url);
    let staff_api = api.login("staff", STAFF_PASSWORD).await;
    logout(c).await;

    // Managers and admins sit at a laptop.
    c.set_window_size(1280, 800).await.unwrap();
    manager_watches_live_and_sees_the_cash_alert(&browser, &url, &api, &staff_api, &site).await;
    logout(c).await;

    admin_console_and_inert_names(&browser, &url).await;

    browser.close().await;
    site.stop().await;
    drop(dir);
}

async fn staff_prints_and_batches(browser: &Browser, url: &str) {
    let c = &browser.client;
    login(c, url, "staff", STAFF_PASSWORD).await;
    field(c, "input[name=opening_float]", "10.00").await;
    click(c, "form[action='/shifts/clock-in'] button").await;
    click(c, "button.package").await;
    let code = text(c, ".voucher .code").await;
    // The QR code is an image the browser could load and decode.
    wait_for("QR image loaded", Duration::from_secs(10), || async {
        let v = c
            .execute(
                "return document.querySelector('img.qr').naturalWidth",
                vec![],
            )
            .await
            .unwrap_or(Value::Null);
        v.as_u64().unwrap_or(0) > 0
    })
    .await;
    browser.shot("voucher-qr").await;

    click(c, "a.print-link").await;
    assert_eq!(text(c, ".ticket .code").await, code);
    assert!(c.find(Locator::Css("body.print-58")).await.is_ok());
    browser.shot("print-58mm").await;
    c.find(Locator::LinkText("A4"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("body.print-a4"))
        .await
        .unwrap();

    c.goto(&format!("{url}/dispense/batch")).await.unwrap();
    let count = c.find(Locator::Css("input[name=count]")).await.unwrap();
    count.clear().await.unwrap();
    count.send_keys("3").await.unwrap();
    click(c, "form[action='/dispense/batch'] button").await;
    // The batch page follows the vouchers onto the router (htmx polls its progress fragment)
    // and offers the printing once they are there.
    c.wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css("#batch-progress.status-applied"))
        .await
        .unwrap();
    let state = c
        .find(Locator::Css("#batch-progress .state"))
        .await
        .unwrap();
    assert_eq!(
        state.attr("data-on-router").await.unwrap().as_deref(),
        Some("3")
    );
    browser.shot("batch-progress").await;
    click(c, "a[href*='size=a4']").await;
    c.wait()
        .for_element(Locator::Css("body.print-a4"))
        .await
        .unwrap();
    assert_eq!(c.find_all(Locator::Css(".ticket")).await.unwrap().len(), 3);
    browser.shot("batch-a4").await;

    let cookie = browser.cookie(c).await;
    for p in [
        "/manager",
        "/manager/alerts",
        "/admin",
        "/admin/routers",
        "/admin/users",
    ] {
        assert_eq!(status(url, p, &cookie).await, 403, "staff GET {p}");
    }
    c.goto(&format!("{url}/dispense")).await.unwrap();
}

async fn manager_watches_live_and_sees_the_cash_alert(
    browser: &Browser,
    url: &str,
    api: &Api,
    staff_api: &str,
    site: &Demo,
) {
    let c = &browser.client;
    login(c, url, "manager", MANAGER_PASSWORD).await;
    c.goto(&format!("{url}/manager")).await.unwrap();
    assert_eq!(text(c, "#issued-today").await, "4");

    // A sale elsewhere shows up without a reload (htmx polls the fragment).
    let package = site.packages[0].id;
    let _: Value = api
        .post(
            staff_api,
            "/api/tokens/generate",
            json!({"package_id": package}),
        )
        .await;
    wait_live(c, "#issued-today", "5").await;
    browser.shot("manager-overview").await;

    // The staff member clocks out 5.00 short; the alert reaches the open overview, then the list.
    let shift: Value = api.get(staff_api, "/api/shifts/current").await;
    let expected = 1000 + 5 * site.packages[0].price_minor;
    assert!(shift.is_object(), "{shift}");
    let _: Value = api
        .post(
            staff_api,
            "/api/shifts/clock-out",
            json!({"declared_cash_minor": expected - 500}),
        )
        .await;
    wait_live(c, "#open-alerts", "1").await;
    c.goto(&format!("{url}/manager/alerts?state=open"))
        .await
        .unwrap();
    assert_eq!(text(c, "article.alert .kind").await, "Cash short");
    let said = text(c, "article.alert").await;
    let short = mtm_control_plane::money::format(500, &site.packages[0].currency);
    assert!(
        said.contains(&format!("cash short by {short} at shift close")),
        "the alert reads in currency units: {said}"
    );
    browser.shot("manager-alerts").await;
    field(
        c,
        "article.alert input[name=note]",
        "counted again: 5.00 short",
    )
    .await;
    click(c, "article.alert button[value=acknowledge]").await;
    c.wait()
        .for_element(Locator::Css("article.alert.state-acknowledged"))
        .await
        .unwrap();

    c.goto(&format!("{url}/manager")).await.unwrap();
    c.find(Locator::Css("#locations a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("figure.chart svg"))
        .await
        .unwrap();
    let variance = text(c, "#variance").await;
    assert!(variance.starts_with("-5.00"), "variance {variance}");
    browser.shot("manager-location").await;

    // Yesterday's reconciliation report, made as the daily job does, signed off in the page.
    let store = site.server.store();
    let made = mtm_control_plane::reports::run_due(&*store, mtm_control_plane::store::now_ms())
        .await
        .unwrap();
    // The server's own minute job may have made it first; either way the page must list it.
    assert!(made <= 1, "made {made} reports for one location");
    c.goto(&format!("{url}/manager/reports")).await.unwrap();
    assert!(text(c, "#reports").await.contains("intact"));
    browser.shot("manager-reports").await;
    click(c, "#reports a").await;
    field(c, "input[name=note]", "checked against the till roll").await;
    click(c, "form[action$='/sign-off'] button").await;
    let signed = text(c, "#signed-off").await;
    assert!(
        signed.contains("manager") && signed.contains("till roll"),
        "{signed}"
    );

    let cookie = browser.cookie(c).await;
    for p in ["/admin", "/admin/routers", "/admin/users", "/dispense"] {
        assert_eq!(status(url, p, &cookie).await, 403, "manager GET {p}");
    }
}

async fn admin_console_and_inert_names(browser: &Browser, url: &str) {
    let c = &browser.client;
    login(c, url, "admin", ADMIN_PASSWORD).await;
    c.goto(&format!("{url}/admin")).await.unwrap();
    c.find(Locator::LinkText("Verify the chains"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let chains = text(c, "#chains").await;
    assert!(
        chains.contains("intact") && !chains.contains("broken"),
        "{chains}"
    );
    browser.shot("admin-home").await;

    // Markup and quotes in every name field, through the forms.
    c.goto(&format!("{url}/admin/routers")).await.unwrap();
    field(c, "form[action='/admin/locations'] input[name=name]", EVIL).await;
    click(c, "form[action='/admin/locations'] button").await;
    c.wait()
        .for_element(Locator::Css("#location-list"))
        .await
        .unwrap();
    field(c, "form[action='/admin/packages'] input[name=name]", EVIL).await;
    field(c, "form[action='/admin/packages'] input[name=slug]", "evil").await;
    field(
        c,
        "form[action='/admin/packages'] input[name=price]",
        "1.00",
    )
    .await;
    click(c, "form[action='/admin/packages'] button").await;
    c.wait()
        .for_element(Locator::Css("#packages"))
        .await
        .unwrap();
    let key = mtm_common::keys::generate_signing_key();
    field(c, "form[action='/admin/routers'] input[name=name]", EVIL).await;
    field(
        c,
        "form[action='/admin/routers'] input[name=agent_id]",
        "agent-evil",
    )
    .await;
    let hex = mtm_common::keys::public_key_hex(&key.verifying_key());
    field(
        c,
        "form[action='/admin/routers'] input[name=public_key_hex]",
        &hex,
    )
    .await;
    click(c, "form[action='/admin/routers'] button").await;
    let password = text(c, "#mqtt-password").await;
    assert_eq!(password.len(), 48, "the MQTT password is shown once");
    browser.shot("admin-routers").await;
    c.goto(&format!("{url}/admin/users")).await.unwrap();
    field(c, "form[action='/admin/users'] input[name=username]", EVIL).await;
    field(
        c,
        "form[action='/admin/users'] input[name=password]",
        "long enough pw",
    )
    .await;
    click(c, "form[action='/admin/users'] button").await;
    c.wait().for_element(Locator::Css("p.good")).await.unwrap();
    assert_inert(c, 2).await;
    browser.shot("admin-users").await;
    c.goto(&format!("{url}/admin/log")).await.unwrap();
    assert!(text(c, "#log").await.contains("user.create"));
    assert_inert_text(c, "<script>alert(1)</script>", 2).await;
    browser.shot("admin-log").await;

    for p in ["/admin/routers", "/manager", "/manager/alerts"] {
        c.goto(&format!("{url}{p}")).await.unwrap();
        let seen = if p == "/admin/routers" { 3 } else { 1 };
        if p != "/manager/alerts" {
            assert_inert(c, seen).await;
        }
    }
    // The override asks twice: a page, then the typed agent id.
    c.goto(&format!("{url}/admin/routers")).await.unwrap();
    c.find(Locator::LinkText("Log out all"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("input[name=confirm]"))
        .await
        .unwrap();
    field(c, "input[name=confirm]", "wrong").await;
    click(c, "button.danger").await;
    c.wait().for_element(Locator::Css("p.error")).await.unwrap();
    browser.shot("admin-confirm").await;

    // Freezing a location: a page, then the typed word and a reason; the list shows it.
    c.goto(&format!("{url}/admin/routers")).await.unwrap();
    c.find(Locator::LinkText("Freeze dispensing"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    field(c, "input[name=reason]", "cash count pending").await;
    field(c, "input[name=confirm]", "freeze").await;
    click(c, "button.danger").await;
    let frozen = text(c, "#location-list .frozen").await;
    assert!(frozen.contains("cash count pending"), "{frozen}");
}

/// The page holds `EVIL` as text at least `times` times, and no script or element came of it.
async fn assert_inert(c: &Client, times: usize) {
    assert_inert_text(c, EVIL, times).await
}

/// As [`assert_inert`], for `needle` (the log shows names inside JSON, quotes escaped).
async fn assert_inert_text(c: &Client, needle: &str, times: usize) {
    let scripts = c
        .execute("return document.querySelectorAll('script').length", vec![])
        .await
        .unwrap();
    assert_eq!(scripts, json!(1), "only the page's own htmx script");
    assert!(c.get_alert_text().await.is_err(), "no alert dialog opened");
    let body = text(c, "body").await;
    assert!(body.matches(needle).count() >= times, "{body}");
}

async fn wait_live(c: &Client, css: &str, want: &str) {
    wait_for(
        &format!("{css} = {want}"),
        Duration::from_secs(20),
        || async {
            match c.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default() == want,
                Err(_) => false,
            }
        },
    )
    .await;
}

/// GET `path` with the browser's session cookie, without following redirects.
async fn status(base: &str, path: &str, cookie: &str) -> u16 {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    http.get(format!("{base}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
