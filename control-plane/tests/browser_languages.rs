//! Languages in a real browser (headless Chromium through chromedriver) against the in-process
//! demo site: a browser that asks for French gets the login page, the counter and the customer
//! self-check in French; a staff member who picks Swahili in the menu gets Swahili from then on,
//! whatever the browser asks, also after logging in again; logged out, the browser's French is
//! back.
//!
//! A manager reading French sees the alert of a short drawer, typed with a decimal comma, in
//! French with a French amount.
//!
//! `MTM_SCREENSHOTS=docs/screenshots` saves a page in French and one in Swahili, and the
//! French alerts page.

mod support;

use fantoccini::Locator;
use mtm_control_plane::demo::{MANAGER_PASSWORD, STAFF_PASSWORD};
use support::browser::Browser;
use support::pages::{click, field, login, logout, text};

async fn html_lang(c: &fantoccini::Client) -> String {
    c.find(Locator::Css("html"))
        .await
        .unwrap()
        .attr("lang")
        .await
        .unwrap()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_french_browser_reads_french_and_a_user_who_chose_swahili_reads_swahili() {
    let dir = tempfile::tempdir().unwrap();
    let site = support::demo_site(dir.path()).await;
    let url = site.url();
    let browser = Browser::start_in(Some("fr-FR,fr")).await;
    let c = &browser.client;

    // Nobody logged in: the browser's language.
    c.goto(&format!("{url}/login")).await.unwrap();
    assert_eq!(text(c, "h1").await, "Connexion");
    assert_eq!(html_lang(c).await, "fr");

    // The counter in French, money with a decimal comma.
    login(c, &url, "staff", STAFF_PASSWORD).await;
    assert_eq!(text(c, "h1").await, "Prendre son service");
    field(c, "input[name=opening_float]", "10.00").await;
    click(c, "form[action='/shifts/clock-in'] button").await;
    assert_eq!(text(c, "h1").await, "Vendre un ticket");
    let price = text(c, "button.package .price").await;
    assert!(price.contains(','), "a French price: {price}");
    click(c, "button.package").await;
    let code = text(c, ".voucher .code").await;
    c.goto(&format!("{url}/dispense")).await.unwrap();
    browser.shot("language-french").await;

    // The customer's self-check follows their own browser too.
    c.goto(&format!("{url}/check/{code}")).await.unwrap();
    assert_eq!(text(c, "h1").await, "Votre ticket Wi-Fi");
    assert!(text(c, "#left").await.contains("Temps restant"));

    // The staff member picks Swahili in the menu: every page after speaks it.
    c.goto(&format!("{url}/dispense")).await.unwrap();
    c.find(Locator::Css("#language select option[value=sw]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(c, "#language button").await;
    assert_eq!(text(c, "h1").await, "Uza vocha");
    assert_eq!(html_lang(c).await, "sw");
    assert!(text(c, "table").await.contains("Msimbo"));
    browser.shot("language-swahili").await;

    // Logged out, the browser's French again; logged back in, the user's Swahili.
    logout(c).await;
    assert_eq!(text(c, "h1").await, "Connexion");
    login(c, &url, "staff", STAFF_PASSWORD).await;
    assert_eq!(text(c, "h1").await, "Uza vocha");
    c.goto(&format!("{url}/no/such/page")).await.unwrap();
    assert_eq!(text(c, "h1").await, "Haikupatikana");

    browser.close().await;
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_drawer_reads_as_a_french_alert_with_a_french_amount() {
    let dir = tempfile::tempdir().unwrap();
    let site = support::demo_site(dir.path()).await;
    let url = site.url();
    let browser = Browser::start_in(Some("fr-FR,fr")).await;
    let c = &browser.client;

    // Amounts typed the French way: a decimal comma.
    login(c, &url, "staff", STAFF_PASSWORD).await;
    field(c, "input[name=opening_float]", "10,50").await;
    click(c, "form[action='/shifts/clock-in'] button").await;
    assert_eq!(text(c, "h1").await, "Vendre un ticket");
    field(c, "input[name=declared_cash]", "douze").await;
    click(c, "form[action='/shifts/clock-out'] button").await;
    let refusal = text(c, ".error").await;
    assert!(
        refusal.contains("« douze » n'est pas un montant"),
        "a French refusal: {refusal}"
    );
    field(c, "input[name=declared_cash]", "0,50").await;
    click(c, "form[action='/shifts/clock-out'] button").await;

    // The manager reads the alert in French, the amount written the French way.
    login(c, &url, "manager", MANAGER_PASSWORD).await;
    c.goto(&format!("{url}/manager/alerts")).await.unwrap();
    let page = text(c, "main").await;
    let line = page
        .lines()
        .find(|l| l.contains("manque en caisse de"))
        .unwrap_or_else(|| panic!("no French cash alert in {page}"));
    assert!(
        line.contains("10,00") && line.contains("à la clôture du service"),
        "{line}"
    );
    assert!(!page.contains("cash short by"), "{page}");
    browser.shot("language-french-alert").await;

    browser.close().await;
    site.stop().await;
}
