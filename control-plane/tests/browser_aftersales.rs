//! Voucher after-sales and the customer self-check in a real browser (headless Chromium through
//! chromedriver) against the in-process demo site: staff on a phone extend a voucher, reprint
//! it and ask for a refund, which a manager approves at a laptop; the customer's self-check page
//! shows the time left of a live code and one and the same answer for a wrong and a voided one.
//!
//! `MTM_SCREENSHOTS=docs/screenshots` saves the pages visited.

mod support;

use fantoccini::Locator;
use mtm_control_plane::demo::{MANAGER_PASSWORD, STAFF_PASSWORD};
use support::browser::Browser;
use support::pages::{click, field, login, logout, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_extend_reprint_and_ask_a_refund_a_manager_approves() {
    let dir = tempfile::tempdir().unwrap();
    let site = support::demo_site(dir.path()).await;
    let url = site.url();
    let browser = Browser::start().await;
    let c = &browser.client;

    // Staff, on a phone.
    login(c, &url, "staff", STAFF_PASSWORD).await;
    field(c, "input[name=opening_float]", "10.00").await;
    click(c, "form[action='/shifts/clock-in'] button").await;
    click(c, "button.package").await;
    let code = text(c, ".voucher .code").await;
    click(c, "#after-sales").await;
    let page = c.current_url().await.unwrap().to_string();
    assert!(page.ends_with("/after-sales"), "{page}");

    // A reason is asked for by the page itself; the server refuses one of spaces.
    field(c, "#form-extend input[name=extra_minutes]", "30").await;
    field(c, "#form-extend input[name=reason]", "   ").await;
    click(c, "#form-extend button").await;
    assert!(text(c, "#error").await.contains("reason"));
    field(c, "#form-extend input[name=extra_minutes]", "30").await;
    field(c, "#form-extend input[name=reason]", "the link dropped").await;
    click(c, "#form-extend button").await;
    assert!(text(c, "#notice").await.starts_with("Done"));
    assert!(text(c, "h1 + p").await.contains("+30 min"));

    // The customer scans the self-check QR: the time left includes the extension.
    c.goto(&format!("{url}/check/{code}")).await.unwrap();
    let left = text(c, "#time-left").await;
    assert!(left.contains('h') || left.contains("min"), "{left}");
    browser.shot("selfcheck-phone").await;
    c.goto(&format!("{url}/check/ZZZZ2345")).await.unwrap();
    let wrong = text(c, "#not-valid").await;
    c.goto(&page).await.unwrap();

    // Reprint: the same code, marked as a reprint.
    field(c, "#form-reprint input[name=reason]", "printer jammed").await;
    click(c, "#form-reprint button").await;
    assert_eq!(text(c, ".ticket .code").await, code);
    assert_eq!(text(c, ".ticket .reprint").await, "REPRINT 1");
    c.goto(&page).await.unwrap();

    // Void with the full price back: the demo location lets no refund through without a
    // manager, so it is asked for.
    field(
        c,
        "#form-void input[name=reason]",
        "customer changed their mind",
    )
    .await;
    click(c, "#form-void button").await;
    assert!(text(c, "#notice").await.contains("manager"));
    assert!(text(c, "#history").await.contains("requested"));
    browser.shot("aftersales-staff").await;
    logout(c).await;

    // The manager, at a laptop, approves it.
    c.set_window_size(1280, 800).await.unwrap();
    login(c, &url, "manager", MANAGER_PASSWORD).await;
    c.goto(&format!("{url}/manager/after-sales")).await.unwrap();
    let waiting = text(c, "#waiting").await;
    assert!(waiting.contains(&code), "{waiting}");
    browser.shot("aftersales-manager").await;
    field(c, "#waiting input[name=note]", "ok, cash handed back").await;
    click(c, "#waiting button[value=approve]").await;
    assert!(c.find(Locator::Css("#none-waiting")).await.is_ok());
    let recent = text(c, "#recent").await;
    assert!(
        recent.contains("void") && recent.contains("manager"),
        "{recent}"
    );
    c.goto(&page).await.unwrap();
    assert_eq!(text(c, "#token-state").await, "removed");

    // A voided code answers exactly as a wrong one.
    c.goto(&format!("{url}/check/{code}")).await.unwrap();
    assert_eq!(text(c, "#not-valid").await, wrong);

    browser.close().await;
    site.stop().await;
    drop(dir);
}
