//! Page helpers shared by the browser tests: fill, click and read in ways that survive htmx
//! swaps and page loads, and log in or out through the forms.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::json;

use super::wait_for;

/// Fill a field; when the page it was found on is replaced meanwhile (a submit still
/// navigating), find it again on the new page.
pub async fn field(c: &Client, css: &str, value: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if e.clear().await.is_ok() && e.send_keys(value).await.is_ok() {
                let now = e.prop("value").await.ok().flatten();
                if now.as_deref() == Some(value) {
                    return;
                }
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "cannot fill {css}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Click something that loads a new page (every `click` here does), and wait for that page:
/// the old document carries a mark the new one lacks.
pub async fn click(c: &Client, css: &str) {
    c.execute("window.mtmOld = true", vec![]).await.unwrap();
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &format!("page after clicking {css}"),
        Duration::from_secs(15),
        || async {
            c.execute(
                "return window.mtmOld === undefined && document.readyState === 'complete'",
                vec![],
            )
            .await
            .map(|v| v == json!(true))
            .unwrap_or(false)
        },
    )
    .await;
}

/// The text of the first element matching `css`, waiting for it; an element that htmx swapped
/// out between finding and reading is simply found again.
pub async fn text(c: &Client, css: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if let Ok(t) = e.text().await {
                return t;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no text for {css} at {:?}",
            c.current_url().await.map(|u| u.to_string())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn login(c: &Client, base: &str, username: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    field(c, "input[name=username]", username).await;
    field(c, "input[name=password]", password).await;
    click(c, "form[action='/login'] button").await;
    let login_url = format!("{base}/login");
    wait_for("logged in", Duration::from_secs(10), || async {
        c.current_url()
            .await
            .map(|u| !u.as_str().starts_with(&login_url))
            .unwrap_or(false)
    })
    .await;
}

pub async fn logout(c: &Client) {
    click(c, "form[action='/logout'] button").await;
    c.wait()
        .for_element(Locator::Css("form[action='/login']"))
        .await
        .unwrap();
}
