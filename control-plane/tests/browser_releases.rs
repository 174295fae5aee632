//! The agent releases page in a real browser (headless Chromium through chromedriver) against
//! the in-process demo site: an admin uploads a release signed with a release key whose public
//! half the server holds, is told when the signature does not match, sees the release listed,
//! and rolls it out to one router with a typed confirmation, after which its update command is
//! listed.
//!
//! `MTM_SCREENSHOTS=docs/screenshots` saves the pages visited.

mod support;

use fantoccini::{Client, Locator};
use mtm_common::release::Release;
use mtm_control_plane::demo::ADMIN_PASSWORD;
use mtm_control_plane::releases::RELEASE_KEY_FILE;
use support::browser::Browser;
use support::pages::{click, field, login, text};

/// Fill the upload form; the file input takes the file's path.
async fn fill_upload(c: &Client, binary: &std::path::Path, version: &str, sig: &str) {
    c.find(Locator::Css("#upload input[name=binary]"))
        .await
        .unwrap()
        .send_keys(&binary.display().to_string())
        .await
        .unwrap();
    field(c, "#upload input[name=version]", version).await;
    field(c, "#upload input[name=target]", "x86_64-linux").await;
    field(c, "#upload input[name=signature_hex]", sig).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_uploads_a_signed_release_and_rolls_it_out_to_a_router() {
    let dir = tempfile::tempdir().unwrap();
    let site = support::demo_site(dir.path()).await;
    let url = site.url();
    let releases = site.data_dir.join("releases");
    std::fs::create_dir_all(&releases).unwrap();
    let key = mtm_common::keys::generate_signing_key();
    let public = mtm_common::keys::public_key_hex(&key.verifying_key());
    std::fs::write(releases.join(RELEASE_KEY_FILE), public).unwrap();
    let bytes = b"\x7fELF a pretend agent build".repeat(1000);
    let binary = dir.path().join("mtm-agent");
    std::fs::write(&binary, &bytes).unwrap();
    let sig = Release::describe("9.9.9", "x86_64-linux", &bytes).sign(&key);
    let routers = site.server.store().list_routers().await.unwrap();
    let agent_id = routers[0].router.agent_id.clone();

    let browser = Browser::start().await;
    let c = &browser.client;
    c.set_window_size(1280, 900).await.unwrap();
    login(c, &url, "admin", ADMIN_PASSWORD).await;
    c.goto(&format!("{url}/admin")).await.unwrap();
    click(c, "nav a[href='/admin/releases']").await;
    assert!(text(c, "#no-releases").await.contains("No releases"));

    // Signed as another version: refused on the page, the form swapped in with the message.
    let other = Release::describe("9.9.8", "x86_64-linux", &bytes).sign(&key);
    fill_upload(c, &binary, "9.9.9", &other).await;
    c.find(Locator::Css("#upload button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let error = text(c, "#release-error").await;
    assert!(error.contains("does not verify"), "{error}");

    fill_upload(c, &binary, "9.9.9", &sig).await;
    click(c, "#upload button[type=submit]").await;
    assert_eq!(text(c, "#release-notice").await, "Release 9.9.9 uploaded.");
    let section = text(c, "section.release").await;
    assert!(section.contains("9.9.9"), "{section}");
    assert!(
        section.contains(&format!("{} bytes", bytes.len())),
        "{section}"
    );
    assert!(section.contains("Not rolled out yet"), "{section}");
    browser.shot("admin-releases-uploaded").await;

    field(c, "section.release input[name=agent_ids]", &agent_id).await;
    click(c, "section.release form.rollout button").await;
    assert_eq!(text(c, "#rollout-agents").await, agent_id);
    field(c, "#rollout-confirm input[name=confirm]", "9.9.9").await;
    browser.shot("admin-releases-confirm").await;
    click(c, "#rollout-confirm button[type=submit]").await;
    assert_eq!(
        text(c, "#release-notice").await,
        "Release 9.9.9 is rolling out."
    );
    let commands = text(c, "section.release table.commands tbody").await;
    assert!(commands.contains(&agent_id), "{commands}");
    assert!(!commands.contains("Not rolled out yet"), "{commands}");
    browser.shot("admin-releases").await;

    browser.close().await;
    site.stop().await;
    drop(dir);
}
