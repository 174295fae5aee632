//! Releases through the JSON API and the console page, against the whole app: uploads good and
//! bad by both doors, the server-side signature check, role denial, CSRF, and a rollout
//! confirmed on the page.

use super::api::basic_auth;
use super::*;
use crate::store::LogTable;
use crate::testutil::{test_app, TestApp};
use axum::http::{header, HeaderMap, StatusCode};
use base64::Engine as _;
use ed25519_dalek::SigningKey;

const BINARY: &[u8] = b"\x7fELF pretend agent binary";

#[test]
fn percent_rollout_is_stable_and_grows() {
    let release = Uuid::new_v4();
    let agents: Vec<String> = (0..400).map(|i| format!("agent-{i}")).collect();
    let pick = |p: u8| -> Vec<&String> {
        agents
            .iter()
            .filter(|a| in_percent(release, a, p))
            .collect()
    };
    let (ten, fifty, all) = (pick(10), pick(50), pick(100));
    assert_eq!(all.len(), agents.len());
    assert!(ten.iter().all(|a| fifty.contains(a)), "10% is within 50%");
    assert!((10..=80).contains(&ten.len()), "about 10%: {}", ten.len());
    assert_eq!(pick(10), ten, "same routers every time");
}

#[test]
fn basic_auth_is_parsed_and_garbage_is_none() {
    let mut h = HeaderMap::new();
    let v = base64::engine::general_purpose::STANDARD.encode("r1:pa:ss");
    h.insert(header::AUTHORIZATION, format!("Basic {v}").parse().unwrap());
    assert_eq!(basic_auth(&h), Some(("r1".into(), "pa:ss".into())));
    h.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
    assert_eq!(basic_auth(&h), None);
    h.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
    assert_eq!(basic_auth(&h), None);
}

/// A release key whose public half the server holds in `release.pub`.
fn server_knows_key(app: &TestApp) -> SigningKey {
    let key = mtm_common::keys::generate_signing_key();
    let public = mtm_common::keys::public_key_hex(&key.verifying_key());
    std::fs::write(app.releases_dir.path().join(RELEASE_KEY_FILE), public).unwrap();
    key
}

fn sign(key: &SigningKey, version: &str, target: &str, binary: &[u8]) -> String {
    Release::describe(version, target, binary).sign(key)
}

/// A multipart body of the page's upload form; `binary: None` leaves the file field empty, as a
/// browser does when no file was chosen.
fn multipart(version: &str, target: &str, sig: &str, binary: Option<&[u8]>) -> Vec<u8> {
    let mut b = Vec::new();
    for (name, value) in [
        ("version", version),
        ("target", target),
        ("signature_hex", sig),
    ] {
        b.extend_from_slice(
            format!(
                "--XBOUND\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    let file = if binary.is_some() { "mtm-agent" } else { "" };
    b.extend_from_slice(
        format!(
            "--XBOUND\r\nContent-Disposition: form-data; name=\"binary\"; filename=\"{file}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(binary.unwrap_or_default());
    b.extend_from_slice(b"\r\n--XBOUND--\r\n");
    b
}

/// Send the upload form as htmx does: session cookie, CSRF header, multipart body.
async fn upload_form(
    app: &TestApp,
    who: &str,
    csrf: Option<&str>,
    body: Vec<u8>,
) -> crate::testutil::Reply {
    let (jwt, session_csrf) = app.login(who).await;
    let mut b = axum::http::Request::builder()
        .method("POST")
        .uri("/admin/releases")
        .header("cookie", format!("{}={jwt}", crate::auth::COOKIE))
        .header("content-type", "multipart/form-data; boundary=XBOUND")
        .header("hx-request", "true");
    if let Some(c) = csrf {
        b = b.header(
            crate::auth::CSRF_HEADER,
            if c == "session" { &session_csrf } else { c },
        );
    }
    app.call(b.body(axum::body::Body::from(body)).unwrap())
        .await
}

async fn audited(app: &TestApp, action: &str) -> usize {
    let log = app.f.store.list_log(LogTable::Audit, 200, 0).await.unwrap();
    log.iter().filter(|r| r.action == action).count()
}

#[tokio::test]
async fn the_form_uploads_a_signed_release_and_refuses_bad_ones_with_a_message() {
    let app = test_app().await;
    let key = server_knows_key(&app);
    let good_sig = sign(&key, "1.4.0", "aarch64-linux", BINARY);

    let cases = [
        (
            multipart("1.4.0", "aarch64-linux", &good_sig, None),
            "choose the agent binary",
        ),
        (
            multipart("1.4", "aarch64-linux", &good_sig, Some(BINARY)),
            "is not MAJOR.MINOR.PATCH",
        ),
        (
            multipart("1.4.0", "aarch64 linux", &good_sig, Some(BINARY)),
            "target must be like",
        ),
        (
            multipart("1.4.0", "aarch64-linux", "abc", Some(BINARY)),
            "64 bytes of hex",
        ),
        (
            multipart("1.4.1", "aarch64-linux", &good_sig, Some(BINARY)),
            "does not verify against the release key",
        ),
        (b"--XBOUND\r\ngarbage".to_vec(), "could not be read"),
    ];
    for (body, message) in cases {
        let r = upload_form(&app, "admin", Some("session"), body).await;
        assert_eq!(r.status, StatusCode::OK, "{message}: {}", r.body);
        assert!(
            r.body.contains("id=\"release-error\""),
            "{message}: {}",
            r.body
        );
        assert!(r.body.contains(message), "{message}: {}", r.body);
    }
    assert!(list(app.releases_dir.path()).unwrap().is_empty());
    assert_eq!(audited(&app, "release.upload").await, 0);

    let body = multipart("1.4.0", "aarch64-linux", &good_sig, Some(BINARY));
    let r = upload_form(&app, "admin", Some("session"), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let stored = list(app.releases_dir.path()).unwrap();
    assert_eq!(stored.len(), 1);
    let to = r.headers["hx-redirect"].to_str().unwrap();
    let id = stored[0].id;
    assert_eq!(to, format!("/admin/releases?uploaded={id}#release-{id}"));
    assert_eq!(stored[0].size, BINARY.len() as u64);
    assert_eq!(stored[0].uploaded_by, "admin");
    assert_eq!(audited(&app, "release.upload").await, 1);

    let (admin, _) = app.login("admin").await;
    let path = to.split('#').next().unwrap();
    let page = app.page("GET", path, Some(&admin), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Release 1.4.0 uploaded."),
        "{}",
        page.body
    );
    for want in [
        "1.4.0",
        "aarch64-linux",
        &stored[0].sha256_hex[..12],
        "Not rolled out yet",
        "checked against",
    ] {
        assert!(page.body.contains(want), "{want}: {}", page.body);
    }
    assert!(
        page.body.contains("agent-1"),
        "the fixture router is behind: {}",
        page.body
    );
}

#[tokio::test]
async fn the_api_goes_through_the_same_checks() {
    let app = test_app().await;
    let (admin, _) = app.login("admin").await;
    let body = |sig: &str| {
        Some(
            serde_json::json!({"version": "2.0.0", "target": "x86_64-linux", "signature_hex": sig,
            "binary_base64": base64::engine::general_purpose::STANDARD.encode(BINARY)}),
        )
    };
    // Without release.pub the server stores any well-formed signature; agents check it.
    let stranger = mtm_common::keys::generate_signing_key();
    let other_sig = sign(&stranger, "2.0.0", "x86_64-linux", BINARY);
    let r = app
        .json("POST", "/api/releases", Some(&admin), body(&other_sig))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let key = server_knows_key(&app);
    let r = app
        .json("POST", "/api/releases", Some(&admin), body(&other_sig))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("does not verify"), "{}", r.body);
    let good = sign(&key, "2.0.0", "x86_64-linux", BINARY);
    let r = app
        .json("POST", "/api/releases", Some(&admin), body(&good))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let listed = app
        .json("GET", "/api/releases", Some(&admin), None)
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 2);

    std::fs::write(app.releases_dir.path().join(RELEASE_KEY_FILE), "not a key").unwrap();
    let r = app
        .json("POST", "/api/releases", Some(&admin), body(&good))
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "a broken key file is never skipped: {}",
        r.body
    );
    let page = app.page("GET", "/admin/releases", Some(&admin), None).await;
    assert!(
        page.body.contains("does not hold a public key"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn staff_and_managers_are_refused_and_the_form_needs_csrf() {
    let app = test_app().await;
    let key = server_knows_key(&app);
    let sig = sign(&key, "1.0.0", "aarch64-linux", BINARY);
    let id = Uuid::new_v4();
    for who in ["staff", "manager"] {
        let (jwt, csrf) = app.login(who).await;
        let page = app.page("GET", "/admin/releases", Some(&jwt), None).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{who}");
        let body = multipart("1.0.0", "aarch64-linux", &sig, Some(BINARY));
        let r = upload_form(&app, who, Some("session"), body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}");
        let path = format!("/admin/releases/{id}/rollout");
        let form = format!("_csrf={csrf}&percent=100&confirm=1.0.0");
        let r = app.page("POST", &path, Some(&jwt), Some(&form)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}");
        let api = app.json("GET", "/api/releases", Some(&jwt), None).await;
        assert_eq!(api.status, StatusCode::FORBIDDEN, "{who}");
    }
    for csrf in [None, Some("wrong")] {
        let body = multipart("1.0.0", "aarch64-linux", &sig, Some(BINARY));
        let r = upload_form(&app, "admin", csrf, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{csrf:?}");
    }
    assert!(list(app.releases_dir.path()).unwrap().is_empty());
}

#[tokio::test]
async fn a_rollout_is_confirmed_with_the_version_and_listed_with_its_commands() {
    let app = test_app().await;
    let key = server_knows_key(&app);
    let sig = sign(&key, "1.5.0", "aarch64-linux", BINARY);
    let body = multipart("1.5.0", "aarch64-linux", &sig, Some(BINARY));
    assert_eq!(
        upload_form(&app, "admin", Some("session"), body)
            .await
            .status,
        StatusCode::OK
    );
    let id = list(app.releases_dir.path()).unwrap()[0].id;
    let (admin, csrf) = app.login("admin").await;
    let path = format!("/admin/releases/{id}/rollout");

    let confirm = app
        .page(
            "GET",
            &format!("{path}?percent=&agent_ids=agent-1"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm.body.contains("id=\"rollout-confirm\""),
        "{}",
        confirm.body
    );
    assert!(
        confirm.body.contains("<li class=\"mono\">agent-1</li>"),
        "{}",
        confirm.body
    );
    let bad = app
        .page(
            "GET",
            &format!("{path}?percent=&agent_ids=nobody"),
            Some(&admin),
            None,
        )
        .await;
    assert!(bad.body.contains("no router with agent id"), "{}", bad.body);
    let both = app
        .page(
            "GET",
            &format!("{path}?percent=5&agent_ids=agent-1"),
            Some(&admin),
            None,
        )
        .await;
    assert!(both.body.contains("not both or neither"), "{}", both.body);

    let wrong = format!("_csrf={csrf}&percent=&agent_ids=agent-1&confirm=1.4.0");
    let r = app.page("POST", &path, Some(&admin), Some(&wrong)).await;
    assert!(
        r.body.contains("does not match; nothing was done"),
        "{}",
        r.body
    );
    assert!(app
        .f
        .store
        .open_commands("agent-1")
        .await
        .unwrap()
        .is_empty());

    let right = format!("_csrf={csrf}&percent=&agent_ids=agent-1&confirm=1.5.0");
    let r = app.page("POST", &path, Some(&admin), Some(&right)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let open = app.f.store.open_commands("agent-1").await.unwrap();
    assert!(
        matches!(&open[..], [c] if matches!(&c.kind, CommandKind::UpdateAgent(u) if u.url_path == download_path(id))),
        "{open:?}"
    );
    assert_eq!(
        app.rec.down_to("agent-1", &app.cp.verifying_key()).len(),
        1,
        "sent at once"
    );
    assert_eq!(audited(&app, "release.rollout").await, 1);

    let page = app.page("GET", "/admin/releases", Some(&admin), None).await;
    assert!(page.body.contains("Router One"), "{}", page.body);
    assert!(!page.body.contains("Not rolled out yet"), "{}", page.body);

    // The API rollout is the same call: a percentage of 100 reaches the one router and
    // supersedes the unanswered command.
    let r = app
        .json(
            "POST",
            &format!("/api/releases/{id}/rollout"),
            Some(&admin),
            Some(serde_json::json!({"percent": 100})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["commands"][0]["agent_id"], "agent-1");
    let cmds = app
        .f
        .store
        .commands_of_kind("update_agent", 10)
        .await
        .unwrap();
    assert_eq!(
        cmds.iter()
            .filter(|c| c.result.as_deref() == Some("superseded"))
            .count(),
        1
    );
}
