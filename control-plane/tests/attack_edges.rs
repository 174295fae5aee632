//! The attack suite, at the edges: absurd numbers and sizes at every way in, a connection left
//! idle, the production cookie settings, an enrollment from an address that has been guessing
//! passwords, and weak or look-alike super admins made from the command line. A real server on
//! loopback each time; `docs/security.md` lists what is covered.

mod support;

use mtm_control_plane::store::{NewLocation, NewUser, Role};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{embedded_server, router_awaiting_enrollment, ROOT_PASSWORD};

/// Log in over the API: the session token.
async fn token(base: &str, username: &str, password: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `method path` with `body` as `token`: the status and the answer's text.
async fn call(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, String) {
    let mut r = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Refused as bad input, in words: 400 from the server's checks, 422 from the JSON reader when
/// the number does not even fit the field.
fn refused(status: StatusCode) -> bool {
    matches!(status.as_u16(), 400 | 422)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn numbers_and_sizes_from_outside_are_bounded_at_every_edge() {
    use reqwest::Method;
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
    store
        .create_user(NewUser {
            username: "staff".into(),
            password: "a long password 1".into(),
            role: Role::Staff,
            location_ids: vec![loc.id],
        })
        .await
        .unwrap();
    let base = format!("http://{}", server.http_addr());
    let root = token(&base, "root", ROOT_PASSWORD).await;
    let staff = token(&base, "staff", "a long password 1").await;
    let mut cases = 0;

    // Packages: price, durations, data, shared users, name and rate limit, on create and edit.
    let package = json!({"slug": "hour", "name": "Hour", "price_minor": 500, "currency": "USD",
                         "limit_uptime_s": 3600, "limit_bytes_total": null, "rate_limit": null,
                         "shared_users": 1, "validity_s": null, "uses_password": false});
    let with = |k: &str, v: Value| {
        let mut p = package.clone();
        p[k] = v;
        p
    };
    let absurd = [
        ("price_minor", json!(i64::MAX)),
        ("price_minor", json!(-1)),
        ("price_minor", json!(1e30)),
        ("limit_uptime_s", json!(u64::MAX)),
        ("validity_s", json!(u64::MAX)),
        ("limit_bytes_total", json!(u64::MAX)),
        ("limit_uptime_s", json!(-1)),
        ("shared_users", json!(1_000_000)),
        ("name", json!("n".repeat(101))),
        ("rate_limit", json!("9".repeat(65))),
    ];
    for (field, value) in &absurd {
        let (s, body) = call(
            &base,
            &root,
            Method::POST,
            "/api/packages",
            Some(with(field, value.clone())),
        )
        .await;
        assert!(refused(s), "new package {field} = {value}: {s} {body}");
        cases += 1;
    }
    let (s, made) = call(
        &base,
        &root,
        Method::POST,
        "/api/packages",
        Some(package.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let made: Value = serde_json::from_str(&made).unwrap();
    let path = format!("/api/packages/{}", made["id"].as_str().unwrap());
    let edit = json!({"name": "Hour", "price_minor": 500, "limit_uptime_s": 3600,
                      "limit_bytes_total": null, "rate_limit": null, "shared_users": 1,
                      "validity_s": null, "active": true});
    for (field, value) in &absurd {
        let mut e = edit.clone();
        e[*field] = value.clone();
        let (s, body) = call(&base, &root, Method::PUT, &path, Some(e)).await;
        assert!(refused(s), "package edit {field} = {value}: {s} {body}");
        cases += 1;
    }

    // A location's cash threshold.
    let location = format!("/api/locations/{}", loc.id);
    for t in [json!(i64::MAX), json!(-1)] {
        let body = json!({ "cash_threshold_minor": t });
        let (s, text) = call(&base, &root, Method::PATCH, &location, Some(body)).await;
        assert!(refused(s), "cash threshold {t}: {s} {text}");
        cases += 1;
    }

    // The drawer: a float and a declared cash just past the bound, negative, or past i64; the
    // manager's close of a shift left open too.
    for float in [json!(1_000_000_000_000_001_i64), json!(-1), json!(1e30)] {
        let body = json!({ "opening_float_minor": float });
        let (s, text) = call(
            &base,
            &staff,
            Method::POST,
            "/api/shifts/clock-in",
            Some(body),
        )
        .await;
        assert!(refused(s), "float {float}: {s} {text}");
        cases += 1;
    }
    let body = json!({"opening_float_minor": 1000});
    let (s, shift) = call(
        &base,
        &staff,
        Method::POST,
        "/api/shifts/clock-in",
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{shift}");
    let shift: Value = serde_json::from_str(&shift).unwrap();
    let close = format!("/api/shifts/{}/close", shift["id"].as_str().unwrap());
    for declared in [json!(i64::MAX), json!(-1)] {
        let body = json!({"declared_cash_minor": declared, "note": "left open"});
        let (s, text) = call(&base, &root, Method::POST, &close, Some(body)).await;
        assert!(refused(s), "manager close with {declared}: {s} {text}");
        cases += 1;
    }
    let body = json!({"declared_cash_minor": 1000, "note": "left open"});
    let (s, text) = call(&base, &root, Method::POST, &close, Some(body)).await;
    assert_eq!(s, StatusCode::OK, "the shift still closes: {text}");
    // A manager's close signs the staff member out; they log in again.
    let staff = token(&base, "staff", "a long password 1").await;

    // Page sizes and offsets: the largest a query can say is answered (capped), one past it is
    // refused, never a 500.
    for list in ["/api/tokens/all", "/api/alerts", "/api/tokens/my-tokens"] {
        let who = if list.contains("my-tokens") {
            &staff
        } else {
            &root
        };
        for q in ["limit=4294967295", "offset=4294967295", "limit=0"] {
            let (s, text) = call(&base, who, Method::GET, &format!("{list}?{q}"), None).await;
            assert_eq!(s, StatusCode::OK, "{list}?{q}: {text}");
            cases += 1;
        }
        for q in [
            "limit=4294967296",
            "limit=-1",
            "offset=99999999999999999999",
        ] {
            let (s, text) = call(&base, who, Method::GET, &format!("{list}?{q}"), None).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{list}?{q}: {text}");
            cases += 1;
        }
    }
    println!("edges: {cases} absurd numbers and sizes, every one refused or capped");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_keep_alive_connection_is_closed_within_the_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let (server, _api, _root) = embedded_server(dir.path()).await;
    let mut conn = tokio::net::TcpStream::connect(server.http_addr())
        .await
        .unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = conn.read(&mut buf).await.unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Then nothing: a client that keeps connections open for free.
    let idle_from = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the idle connection was still open after 30 s"
    );
    let took = idle_from.elapsed();
    assert!(
        took < mtm_control_plane::server::HEADER_READ_TIMEOUT + Duration::from_secs(3),
        "closed after {took:?}"
    );
    println!("idle keep-alive connection closed after {took:?}");
    server.shutdown().await;
}

/// A server with `external_url` and `public_url`; the login form's cookie and the HSTS header.
async fn cookie_and_hsts(
    external_url: Option<&str>,
    public_url: Option<&str>,
) -> (String, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let server = mtm_control_plane::start(mtm_control_plane::ServerConfig {
        data_dir: dir.path().to_owned(),
        http_bind: "127.0.0.1:0".parse().unwrap(),
        mqtt: mtm_control_plane::MqttConfig::Embedded {
            bind: "127.0.0.1:0".parse().unwrap(),
        },
        external_url: external_url.map(str::to_owned),
        public_url: public_url.map(str::to_owned),
        ..Default::default()
    })
    .await
    .unwrap();
    let _ = support::root_on(&server).await;
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("http://{}/login", server.http_addr()))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(format!("username=root&password={ROOT_PASSWORD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let header = |k: &str| r.headers().get(k).map(|v| v.to_str().unwrap().to_owned());
    let cookie = header("set-cookie").expect("a session cookie");
    let hsts = header("strict-transport-security");
    server.shutdown().await;
    (cookie, hsts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_https_external_url_gives_secure_cookies_and_hsts_and_the_hotspot_url_does_not() {
    let (cookie, hsts) = cookie_and_hsts(Some("https://mtm.example.com"), None).await;
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    assert!(hsts.is_some_and(|h| h.contains("max-age=")));
    // The hotspot login URL in voucher QR codes says nothing about this server.
    let (cookie, hsts) = cookie_and_hsts(None, Some("https://hotspot.example.com/login")).await;
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(hsts.is_none());
    // And the deployment files set this server's own address, required, apart from the hotspot.
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let compose = std::fs::read_to_string(deploy.join("compose.yaml")).unwrap();
    assert!(
        compose.contains("MTM_EXTERNAL_URL: \"${MTM_EXTERNAL_URL:?"),
        "compose requires MTM_EXTERNAL_URL"
    );
    let env = std::fs::read_to_string(deploy.join("env.example")).unwrap();
    assert!(
        env.lines()
            .any(|l| l.starts_with("MTM_EXTERNAL_URL=https://")),
        "env.example sets an https external URL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_failed_logins_do_not_stop_a_router_enrolling_from_the_same_address() {
    let dir = tempfile::tempdir().unwrap();
    let (server, api, root) = embedded_server(dir.path()).await;
    let loc = server
        .store()
        .create_location(NewLocation {
            name: "Cafe".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    let (_, code) = router_awaiting_enrollment(&api, &root, &json!(loc.id), "cafe-1").await;
    let base = format!("http://{}", server.http_addr());
    // The cafe's NAT address: someone there guesses passwords all morning.
    let nat = reqwest::Client::builder()
        .local_address("127.0.0.1".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let mut slowed = 0;
    for i in 0..100 {
        let body = json!({"username": format!("user{}", i % 7), "password": "guess"});
        let r = nat
            .post(format!("{base}/api/auth/login"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(matches!(r.status().as_u16(), 401 | 429), "{}", r.status());
        slowed += usize::from(r.status() == StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(slowed > 0, "the guesser is slowed");
    let key = mtm_common::keys::generate_signing_key();
    let body = json!({"code": code, "agent_version": "0.1.0",
                      "public_key_hex": mtm_common::keys::public_key_hex(&key.verifying_key())});
    let r = nat
        .post(format!("{base}/api/enroll"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    server.shutdown().await;
}

/// `mtm-server create-admin --username NAME --password-stdin` on `data`: did it succeed, and
/// what it said on standard error.
async fn create_admin(data: &std::path::Path, name: &str, password: &str) -> (bool, String) {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mtm-server"))
        .args(["create-admin", "--username", name, "--password-stdin"])
        .env_remove("MTM_DATABASE_URL")
        .env("MTM_DATA_DIR", data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = cmd.stdin.take().unwrap();
    stdin
        .write_all(format!("{password}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = cmd.wait_with_output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_refuses_weak_super_admin_passwords_and_look_alike_names() {
    let dir = tempfile::tempdir().unwrap();
    for weak in [
        "12345678",
        "        ",
        "aaaaaaaaaaaa",
        "qwertyuiop",
        "Password123!",
    ] {
        let (ok, said) = create_admin(dir.path(), "admin", weak).await;
        assert!(!ok, "{weak:?} was accepted");
        assert!(said.to_lowercase().contains("password"), "{weak:?}: {said}");
    }
    let (ok, said) = create_admin(dir.path(), "admin", "a long password 1").await;
    assert!(ok, "{said}");
    // Case twins and a Cyrillic а that looks like the Latin one.
    for twin in ["Admin", "ADMIN", "\u{430}dmin", "ａｄｍｉｎ"] {
        let (ok, said) = create_admin(dir.path(), twin, "another long password").await;
        assert!(!ok, "{twin:?} was made beside admin: {said}");
    }
}
