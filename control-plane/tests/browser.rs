//! Pages in a real browser: Debian's headless Chromium driven through chromedriver (WebDriver).
//! The server, a simulated router and its agent run in this process as libraries; the browser
//! is a separate process that only talks to loopback.
//!
//! Set `MTM_SCREENSHOTS=DIR` to save screenshots of the pages visited (docs/screenshots/ holds
//! the ones referenced from the README).

mod support;

use std::time::Duration;

use fantoccini::{Client, Locator};
use mtm_control_plane::demo::STAFF_PASSWORD;
use support::{browser::Browser, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_dispenses_a_voucher_and_sees_it_go_active() {
    let dir = tempfile::tempdir().unwrap();
    let site = support::demo_site(dir.path()).await;
    let url = site.url();
    let browser = Browser::start().await;
    let c = &browser.client;

    // Staff log in.
    login(c, &url, "staff", STAFF_PASSWORD).await;
    browser.shot("login-done").await;

    // No dispensing without a shift: the page offers only the clock-in form.
    assert!(c.find(Locator::Css("button.package")).await.is_err());
    // The float is typed in currency units, as counted.
    let float = c
        .find(Locator::Css("input[name=opening_float]"))
        .await
        .unwrap();
    float.clear().await.unwrap();
    float.send_keys("15.00").await.unwrap();
    c.find(Locator::Css("form[action='/shifts/clock-in'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.shot("dispense").await;

    // One button per package, with its price (waiting for the page the clock-in led to).
    c.wait()
        .for_element(Locator::Css("button.package"))
        .await
        .unwrap();
    let buttons = c.find_all(Locator::Css("button.package")).await.unwrap();
    assert_eq!(buttons.len(), site.packages.len());
    let first_text = buttons[0].text().await.unwrap();
    let first = &site.packages[0];
    let price = mtm_control_plane::money::format(first.price_minor, &first.currency);
    assert!(
        first_text.contains(&first.name) && first_text.contains(&price),
        "{first_text:?}"
    );
    buttons[0].click().await.unwrap();

    // The voucher shows at once, and its status turns "active on router" without a reload.
    let code = c
        .wait()
        .for_element(Locator::Css(".voucher .code"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(mtm_common::token_code::is_valid(&code), "code {code:?}");
    wait_for(
        "status active on router",
        Duration::from_secs(30),
        || async {
            match c.find(Locator::Css("#token-status .state")).await {
                Ok(e) => e.text().await.unwrap_or_default() == "active on router",
                Err(_) => false,
            }
        },
    )
    .await;
    browser.shot("voucher").await;

    // The router really holds it.
    assert!(
        site.routers[0].users().iter().any(|u| u.name == code),
        "voucher {code} on the router"
    );

    // A staff session cannot open manager pages.
    c.goto(&format!("{url}/overview")).await.unwrap();
    let body = c
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !body.contains("Routers") || body.to_lowercase().contains("not allowed"),
        "staff saw the overview: {body}"
    );
    let status = reqwest_status(&url, "/overview", browser.cookie(c).await).await;
    assert_eq!(status, 403, "staff GET /overview");

    browser.close().await;
    site.stop().await;
    drop(dir);
}

async fn login(c: &Client, base: &str, username: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys(username)
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_url(&format!("{base}/dispense").parse().unwrap())
        .await
        .unwrap();
}

/// GET `path` with the browser's session cookie, without following redirects.
async fn reqwest_status(base: &str, path: &str, cookie: String) -> u16 {
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
