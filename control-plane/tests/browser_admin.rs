//! The admin's package edit and enrollment code in a real browser (headless Chromium through
//! chromedriver) against the in-process demo site: an admin changes a package's price and the
//! staff's dispense page shows the new price; an admin makes an enrollment code for a router
//! and sees it once with its expiry.
//!
//! `MTM_SCREENSHOTS=docs/screenshots` saves the pages visited.

mod support;

use fantoccini::Locator;
use mtm_control_plane::demo::{ADMIN_PASSWORD, STAFF_PASSWORD};
use support::browser::Browser;
use support::pages::{click, field, login, logout, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_edits_a_price_and_makes_an_enrollment_code() {
    let dir = tempfile::tempdir().unwrap();
    let site = support::demo_site(dir.path()).await;
    let url = site.url();
    let browser = Browser::start().await;
    let c = &browser.client;
    c.set_window_size(1280, 800).await.unwrap();

    login(c, &url, "admin", ADMIN_PASSWORD).await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/manager"),
        "admins land on the dashboard"
    );
    c.goto(&format!("{url}/admin/routers")).await.unwrap();
    click(c, "a.edit-package").await;
    field(c, "input[name=price]", "12.34").await;
    browser.shot("admin-package-edit").await;
    click(c, "#package-edit button[type=submit]").await;
    let packages = text(c, "#packages").await;
    assert!(packages.contains("12.34"), "{packages}");

    click(c, "button.new-code").await;
    let code = text(c, "#code").await;
    assert_eq!(code.len(), 19, "four groups of four: {code}");
    assert!(text(c, "#code-expires").await.ends_with("UTC"));
    browser.shot("admin-enrollment-code").await;
    c.goto(&format!("{url}/admin/routers")).await.unwrap();
    assert!(
        c.find(Locator::Css("#code")).await.is_err(),
        "the code is shown once"
    );
    logout(c).await;

    login(c, &url, "staff", STAFF_PASSWORD).await;
    if c.find(Locator::Css("form[action='/shifts/clock-in']"))
        .await
        .is_ok()
    {
        field(c, "input[name=opening_float]", "0").await;
        click(c, "form[action='/shifts/clock-in'] button").await;
    }
    let buttons = text(c, ".packages").await;
    assert!(
        buttons.contains("12.34"),
        "staff see the new price: {buttons}"
    );

    browser.close().await;
    site.stop().await;
    drop(dir);
}
