//! The attack suite: a real server on loopback, attacked as an outsider would (concurrent
//! guessing, lockout attempts, forged proxy headers) and as an insider whose rights were taken
//! away (sessions after a password or location change, absurd money). Each case failed on the
//! server before its defence was built. `docs/security.md` lists what is covered.

mod support;

use mtm_control_plane::store::{NewLocation, NewUser, Role, Store};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use support::{embedded_server, ROOT_PASSWORD};

/// An HTTP client whose connections come from `ip` (any 127.0.0.0/8 address is loopback).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn login_status(
    http: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> StatusCode {
    let mut req = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": username, "password": password}));
    if let Some(f) = forwarded_for {
        req = req.header("x-forwarded-for", f);
    }
    req.send().await.unwrap().status()
}

/// Resident memory of process `pid`, bytes.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// `mtm-server serve` as its own process on `data` (so its memory is its own), with the super
/// admin `root`; the process and its base URL.
async fn server_process(data: &std::path::Path) -> (tokio::process::Child, String) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let bin = env!("CARGO_BIN_EXE_mtm-server");
    let mut admin = tokio::process::Command::new(bin)
        .args(["create-admin", "--username", "root", "--password-stdin"])
        .env_remove("MTM_DATABASE_URL")
        .env("MTM_DATA_DIR", data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = admin.stdin.take().unwrap();
    stdin
        .write_all(format!("{ROOT_PASSWORD}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    assert!(admin.wait().await.unwrap().success());
    let mut server = tokio::process::Command::new(bin)
        .arg("serve")
        .env_remove("MTM_DATABASE_URL")
        .env_remove("MTM_MQTT_HOST")
        .env("MTM_DATA_DIR", data)
        .env("MTM_HTTP_BIND", "127.0.0.1:0")
        .env("MTM_MQTT_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = tokio::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let http = out.next_line().await.unwrap().unwrap();
    let base = http.strip_prefix("http on ").unwrap().to_owned();
    // Keep reading: the server prints more, and a closed pipe would fail its prints.
    tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
    (server, base)
}

async fn add_user(store: &Arc<dyn Store>, name: &str, role: Role, locations: Vec<uuid::Uuid>) {
    store
        .create_user(NewUser {
            username: name.into(),
            password: "a long password 1".into(),
            role,
            location_ids: locations,
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_passwords_is_evaluated_only_as_often_as_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, base) = server_process(dir.path()).await;
    let pid = server.id().unwrap();
    let http = client_from("127.0.0.1");
    // One real login first, so the baseline includes a hash's worth of warmed-up allocator.
    let ok = login_status(
        &client_from("127.0.0.9"),
        &base,
        "root",
        ROOT_PASSWORD,
        None,
    )
    .await;
    assert_eq!(ok, StatusCode::OK);
    let before = rss_bytes(pid);
    let burst: Vec<_> = (0..50)
        .map(|_| {
            let (http, base) = (http.clone(), base.clone());
            tokio::spawn(async move { login_status(&http, &base, "root", "wrong!", None).await })
        })
        .collect();
    let mut counts = std::collections::BTreeMap::new();
    for t in burst {
        *counts.entry(t.await.unwrap().as_u16()).or_insert(0) += 1;
    }
    let evaluated = counts.get(&401).copied().unwrap_or(0);
    assert!(
        evaluated <= 5,
        "at most the 5 free failures are evaluated: {counts:?}"
    );
    assert_eq!(
        evaluated + counts.get(&429).unwrap_or(&0) + counts.get(&503).unwrap_or(&0),
        50,
        "every other attempt is refused unevaluated: {counts:?}"
    );
    let grown = rss_bytes(pid).saturating_sub(before);
    println!(
        "burst of 50: {counts:?}, server RSS grew by {} KiB",
        grown >> 10
    );
    assert!(
        grown < 100 * 1024 * 1024,
        "memory grew by {} MiB",
        grown >> 20
    );
    server.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_from_one_address_lock_out_neither_the_account_nor_other_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _api, _root) = embedded_server(dir.path()).await;
    add_user(&server.store(), "boss", Role::Manager, vec![]).await;
    let base = format!("http://{}", server.http_addr());
    let attacker = client_from("127.0.0.1");
    let mut refused = 0;
    // 100 failures from one address: the admin's name (slowed to the free failures, then
    // refused unevaluated) and names sprayed across the board (each a real evaluation).
    for i in 0..100 {
        let name = if i % 2 == 0 {
            "root".to_owned()
        } else {
            format!("Root{i}")
        };
        let s = login_status(&attacker, &base, &name, "guess", None).await;
        assert!(matches!(s.as_u16(), 401 | 429), "{s}");
        refused += usize::from(s == StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(refused >= 45, "the attacker's pair is slowed: {refused}");
    let user = client_from("127.0.0.2");
    assert_eq!(
        login_status(&user, &base, "root", ROOT_PASSWORD, None).await,
        StatusCode::OK,
        "the account is not locked for its owner elsewhere"
    );
    assert_eq!(
        login_status(&user, &base, "boss", "a long password 1", None).await,
        StatusCode::OK,
        "another account from another address logs in"
    );
    assert_eq!(
        login_status(&attacker, &base, "ROOT", ROOT_PASSWORD, None).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker's own (account, address) pair stays slowed, whatever the case of the name"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn behind_a_trusted_proxy_clients_are_told_apart_and_forged_headers_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let server = mtm_control_plane::start(mtm_control_plane::ServerConfig {
        data_dir: dir.path().to_owned(),
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: mtm_control_plane::MqttConfig::Embedded {
            bind: "127.0.0.1:0".parse().unwrap(),
        },
        trusted_proxy: Some("127.0.0.1".parse().unwrap()),
        ..Default::default()
    })
    .await
    .unwrap();
    let _ = support::root_on(&server).await;
    let base = format!("http://{}", server.http_addr());
    let proxy = client_from("127.0.0.1");
    for _ in 0..100 {
        let s = login_status(&proxy, &base, "root", "guess", Some("203.0.113.66")).await;
        assert!(matches!(s.as_u16(), 401 | 429), "{s}");
    }
    assert_eq!(
        login_status(&proxy, &base, "root", ROOT_PASSWORD, Some("203.0.113.7")).await,
        StatusCode::OK,
        "another customer behind the same proxy logs in"
    );
    assert_eq!(
        login_status(&proxy, &base, "root", ROOT_PASSWORD, Some("203.0.113.66")).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the guesser behind the proxy is slowed"
    );
    // Not the proxy: a fresh X-Forwarded-For per request changes nothing.
    let forger = client_from("127.0.0.3");
    let mut statuses = vec![];
    for i in 0..8 {
        let fake = format!("198.51.100.{i}");
        statuses.push(login_status(&forger, &base, "root", "guess", Some(&fake)).await);
    }
    assert_eq!(
        statuses.iter().filter(|s| s.as_u16() == 401).count(),
        5,
        "{statuses:?}"
    );
    server.shutdown().await;
}

/// Log in over the API: (token, csrf).
async fn api_login(base: &str, username: &str, password: &str) -> (String, String) {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    (
        v["token"].as_str().unwrap().to_owned(),
        v["csrf_token"].as_str().unwrap().to_owned(),
    )
}

async fn me_status(base: &str, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{base}/api/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// An admin's form post on the users page, with the session cookie and its CSRF token.
async fn change_user(base: &str, admin: &(String, String), user: uuid::Uuid, form: &str) {
    let r = reqwest::Client::new()
        .post(format!("{base}/admin/users/{user}"))
        .header("cookie", format!("mtm_session={}", admin.0))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={}&{form}", admin.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn password_and_location_changes_end_sessions_and_an_empty_location_list_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _api, _root) = embedded_server(dir.path()).await;
    let store = server.store();
    let loc = store
        .create_location(NewLocation {
            name: "Cafe".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    add_user(&store, "staff", Role::Staff, vec![loc.id]).await;
    let staff_id = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "staff")
        .unwrap()
        .id;
    let base = format!("http://{}", server.http_addr());
    let admin = api_login(&base, "root", ROOT_PASSWORD).await;

    let (old, _) = api_login(&base, "staff", "a long password 1").await;
    assert_eq!(me_status(&base, &old).await, StatusCode::OK);
    change_user(
        &base,
        &admin,
        staff_id,
        "action=password&password=another+long+secret",
    )
    .await;
    assert_eq!(
        me_status(&base, &old).await,
        StatusCode::UNAUTHORIZED,
        "a password reset ends the sessions opened with the old one"
    );

    let (token, _) = api_login(&base, "staff", "another long secret").await;
    let http = reqwest::Client::new();
    let clock_in = http
        .post(format!("{base}/api/shifts/clock-in"))
        .bearer_auth(&token)
        .json(&json!({"opening_float_minor": 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(clock_in.status(), StatusCode::OK);
    let shift: Value = clock_in.json().await.unwrap();
    change_user(&base, &admin, staff_id, "action=location&location_id=").await;
    assert_eq!(
        me_status(&base, &token).await,
        StatusCode::UNAUTHORIZED,
        "a location change ends the sessions"
    );
    let alerts: Value = http
        .get(format!("{base}/api/alerts"))
        .bearer_auth(&admin.0)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let flagged = alerts
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["shift_id"] == shift["id"]);
    assert!(flagged, "the open shift is flagged: {alerts}");

    let (again, _) = api_login(&base, "staff", "another long secret").await;
    let dispense = http
        .post(format!("{base}/api/tokens/generate"))
        .bearer_auth(&again)
        .json(&json!({"package_id": uuid::Uuid::new_v4()}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        dispense.status(),
        StatusCode::BAD_REQUEST,
        "no location: no dispensing, even on the shift still open"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn absurd_money_is_refused_at_the_edge_and_manager_pages_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _api, _root) = embedded_server(dir.path()).await;
    let store = server.store();
    let loc = store
        .create_location(NewLocation {
            name: "Cafe".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    add_user(&store, "staff", Role::Staff, vec![loc.id]).await;
    let base = format!("http://{}", server.http_addr());
    let (token, _) = api_login(&base, "staff", "a long password 1").await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let r = post(
        "/api/shifts/clock-in",
        json!({"opening_float_minor": i64::MAX}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "an absurd float");
    let r = post("/api/shifts/clock-in", json!({"opening_float_minor": 100}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = post(
        "/api/shifts/clock-out",
        json!({"declared_cash_minor": i64::MAX}),
    )
    .await
    .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "an absurd declared cash"
    );
    let r = post("/api/shifts/clock-out", json!({"declared_cash_minor": 100}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the shift still closes");
    let (root, _) = api_login(&base, "root", ROOT_PASSWORD).await;
    for path in ["/manager", "/manager/live"] {
        let r = http
            .get(format!("{base}{path}"))
            .header("cookie", format!("mtm_session={root}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_form_posted_from_another_site_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _api, _root) = embedded_server(dir.path()).await;
    let addr = server.http_addr();
    let http = client_from("127.0.0.1");
    let post = |origin: Option<String>, site: Option<&'static str>| {
        let mut r = http
            .post(format!("http://{addr}/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("username=root&password={ROOT_PASSWORD}"));
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(s) = site {
            r = r.header("sec-fetch-site", s);
        }
        r.send()
    };
    let cases = [
        (Some("https://evil.example".to_owned()), Some("cross-site")),
        (Some("https://evil.example".to_owned()), None),
        (None, Some("cross-site")),
        (None, Some("same-site")),
        (Some("null".to_owned()), None),
    ];
    for (origin, site) in cases {
        let r = post(origin.clone(), site).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin:?} {site:?}");
        assert!(r.headers().get("set-cookie").is_none());
    }
    let own = post(Some(format!("http://{addr}")), Some("same-origin"))
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::SEE_OTHER, "the site's own form");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_trickled_header_is_cut_off_within_the_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let (server, _api, _root) = embedded_server(dir.path()).await;
    let mut conn = tokio::net::TcpStream::connect(server.http_addr())
        .await
        .unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let (mut rd, mut wr) = conn.into_split();
    // The attack itself: one more header byte a second, never the blank line that ends them.
    let trickle = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if wr.write_all(b"X").await.is_err() {
                break;
            }
        }
    });
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    trickle.abort();
    assert!(closed.is_ok(), "the connection was still open after 30 s");
    let took = started.elapsed();
    assert!(
        took < mtm_control_plane::server::HEADER_READ_TIMEOUT + std::time::Duration::from_secs(3),
        "closed after {took:?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_username_cannot_forge_a_log_line() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_mtm-server"))
        .arg("serve")
        .env_remove("MTM_DATABASE_URL")
        .env_remove("MTM_MQTT_HOST")
        .env("MTM_DATA_DIR", dir.path())
        .env("MTM_HTTP_BIND", "127.0.0.1:0")
        .env("MTM_MQTT_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = tokio::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let http = out.next_line().await.unwrap().unwrap();
    let base = http.strip_prefix("http on ").unwrap().to_owned();
    tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
    let forged = "eve\n2026-01-01T00:00:00Z  INFO login succeeded username=root\u{1b}[2K";
    let s = login_status(&reqwest::Client::new(), &base, forged, "x", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let mut err = tokio::io::BufReader::new(server.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            let l = err.next_line().await.unwrap().expect("the log ended");
            if l.contains("failed login") {
                return l;
            }
        }
    })
    .await
    .expect("the failed login is logged");
    assert!(line.contains(r"eve\n2026"), "{line}");
    assert!(!line.contains('\u{1b}'), "{line}");
    server.kill().await.unwrap();
}

/// A JWT signed with `alg` over `claims` (HS* with `key`), or unsigned for `none`.
fn forge(alg: &str, claims: &Value, key: &[u8]) -> String {
    use base64::Engine;
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    match alg {
        "none" => format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(claims.to_string())
        ),
        "HS512" => encode(
            &Header::new(Algorithm::HS512),
            claims,
            &EncodingKey::from_secret(key),
        )
        .unwrap(),
        _ => encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(key),
        )
        .unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forged_and_stale_jwts_are_refused() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let (server, _api, _root) = embedded_server(dir.path()).await;
    add_user(&server.store(), "boss", Role::Manager, vec![]).await;
    let base = format!("http://{}", server.http_addr());
    let secret = hex::decode(
        std::fs::read_to_string(dir.path().join("jwt.secret"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let (token, _) = api_login(&base, "root", ROOT_PASSWORD).await;
    let (boss, _) = api_login(&base, "boss", "a long password 1").await;
    let claims = |t: &str| -> Value {
        let part = t.split('.').nth(1).unwrap();
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&raw).unwrap()
    };
    let good = claims(&token);
    let boss_sub = claims(&boss)["sub"].clone();
    let now = good["iat"].as_i64().unwrap();
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let cases = [
        ("alg none", forge("none", &good, &secret)),
        ("other algorithm (HS512)", forge("HS512", &good, &secret)),
        (
            "wrong key",
            forge("HS256", &good, b"not the server's secret at all!!"),
        ),
        (
            "expired",
            forge("HS256", &with("exp", json!(now - 3600)), &secret),
        ),
        ("missing exp", forge("HS256", &no_exp, &secret)),
        (
            "swapped sub",
            forge("HS256", &with("sub", boss_sub), &secret),
        ),
        (
            "unknown session",
            forge("HS256", &with("sid", json!("f".repeat(64))), &secret),
        ),
        ("garbage", "a.b.c".to_owned()),
    ];
    for (what, jwt) in &cases {
        assert_eq!(
            me_status(&base, jwt).await,
            StatusCode::UNAUTHORIZED,
            "{what}"
        );
    }
    assert_eq!(
        me_status(&base, &forge("HS256", &good, &secret)).await,
        StatusCode::OK,
        "the control: the same claims, properly signed"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cookie_requests_without_their_sessions_csrf_token_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _api, _root) = embedded_server(dir.path()).await;
    add_user(&server.store(), "boss", Role::Manager, vec![]).await;
    let base = format!("http://{}", server.http_addr());
    let (cookie, csrf) = api_login(&base, "root", ROOT_PASSWORD).await;
    let (_, other_csrf) = api_login(&base, "boss", "a long password 1").await;
    let http = reqwest::Client::new();
    let attempt = |ctype: &'static str, body: String, header: Option<String>| {
        let mut r = http
            .post(format!("{base}/api/auth/logout"))
            .header("cookie", format!("mtm_session={cookie}"))
            .header("content-type", ctype)
            .body(body);
        if let Some(h) = header {
            r = r.header("x-csrf-token", h);
        }
        r.send()
    };
    let form = "application/x-www-form-urlencoded";
    let cases = [
        ("no token", form, String::new(), None),
        ("wrong token", form, "_csrf=0000".to_owned(), None),
        (
            "another session's token",
            form,
            format!("_csrf={other_csrf}"),
            None,
        ),
        ("wrong header", form, String::new(), Some("0000".to_owned())),
        (
            "another session's header",
            form,
            String::new(),
            Some(other_csrf.clone()),
        ),
        ("text/plain", "text/plain", format!("_csrf={csrf}"), None),
        (
            "multipart without the header",
            "multipart/form-data; boundary=x",
            format!(
                "--x\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n--x--\r\n"
            ),
            None,
        ),
    ];
    for (what, ctype, body, header) in cases {
        let r = attempt(ctype, body, header).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{what}");
    }
    assert_eq!(
        me_status_cookie(&base, &cookie).await,
        StatusCode::OK,
        "the session survived every forged request"
    );
    let r = attempt(form, format!("_csrf={csrf}"), None).await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NO_CONTENT,
        "the control: its own token"
    );
    server.shutdown().await;
}

async fn me_status_cookie(base: &str, jwt: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{base}/api/auth/me"))
        .header("cookie", format!("mtm_session={jwt}"))
        .send()
        .await
        .unwrap()
        .status()
}
