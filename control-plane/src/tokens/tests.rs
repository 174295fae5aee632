use crate::store::UpItem;
use crate::testutil::test_app;
use axum::http::StatusCode;
use mtm_common::{CommandKind, DownMessage, TokenApplied, UpMessage};
use serde_json::json;

#[tokio::test]
async fn dispense_over_the_api_from_clock_in_to_active_on_router_to_clock_out() {
    let app = test_app().await;
    let (staff, _) = app.login("staff").await;
    let pkg = app.f.package.id;
    let early = app
        .json(
            "POST",
            "/api/tokens/generate",
            Some(&staff),
            Some(json!({"package_id": pkg})),
        )
        .await;
    assert_eq!(
        early.status,
        StatusCode::BAD_REQUEST,
        "no dispensing without a shift"
    );
    let shift = app
        .json(
            "POST",
            "/api/shifts/clock-in",
            Some(&staff),
            Some(json!({"opening_float_minor": 1000})),
        )
        .await;
    assert_eq!(shift.status, StatusCode::OK, "{}", shift.body);
    let packages = app
        .json("GET", "/api/packages", Some(&staff), None)
        .await
        .json();
    assert_eq!(packages[0]["slug"], "1h");
    let r = app
        .json(
            "POST",
            "/api/tokens/generate",
            Some(&staff),
            Some(json!({"package_id": pkg})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t = r.json();
    let id: uuid::Uuid = t["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(t["state"], "issued");
    assert_eq!(t["state_label"], "waiting for router", "router is offline");
    assert_eq!(t["waiting_offline"], true);
    assert!(mtm_common::token_code::is_valid(
        t["code"].as_str().unwrap()
    ));
    // The command went out at once, signed by the control plane.
    let sent = app.rec.down_to("agent-1", &app.cp.verifying_key());
    let cmd = match &sent[..] {
        [(_, DownMessage::Command(c))] => c.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(&cmd.kind, CommandKind::CreateToken(c) if c.token_id == id && c.code == t["code"])
    );
    // The agent confirms: the token is active on the router.
    let applied = UpMessage::TokenApplied(TokenApplied {
        command_id: cmd.id,
        token_id: id,
        router_user_id: "*1".into(),
        already_present: false,
    });
    let item = UpItem {
        seq: 1,
        at: 1,
        message: applied,
    };
    app.f.store.apply_up("agent-1", &[item], 1).await.unwrap();
    let t = app
        .json("GET", &format!("/api/tokens/{id}"), Some(&staff), None)
        .await
        .json();
    assert_eq!(t["state"], "applied");
    assert_eq!(t["state_label"], "active on router");
    let mine = app
        .json("GET", "/api/tokens/my-tokens", Some(&staff), None)
        .await
        .json();
    assert_eq!(mine["total"], 1);
    let (manager, _) = app.login("manager").await;
    let all = app
        .json(
            "GET",
            &format!(
                "/api/tokens/all?location_id={}&state=applied&limit=10",
                app.f.location.id
            ),
            Some(&manager),
            None,
        )
        .await;
    assert_eq!(all.json()["total"], 1, "{}", all.body);
    let bad_filter = app
        .json(
            "GET",
            "/api/tokens/all?state=nonsense",
            Some(&manager),
            None,
        )
        .await;
    assert_eq!(bad_filter.status, StatusCode::BAD_REQUEST);
    // Another staff member cannot see it.
    let admin = app.login("admin").await.0;
    let other = app
        .json("POST", "/api/auth/register", Some(&admin), Some(json!({"username": "staff2", "password": crate::testutil::PASSWORD, "role": "staff", "location_ids": [app.f.location.id]})))
        .await;
    assert_eq!(other.status, StatusCode::CREATED);
    let (staff2, _) = app.login("staff2").await;
    let hidden = app
        .json("GET", &format!("/api/tokens/{id}"), Some(&staff2), None)
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let out = app
        .json(
            "POST",
            "/api/shifts/clock-out",
            Some(&staff),
            Some(json!({"declared_cash_minor": 1500})),
        )
        .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.json()["variance_minor"], 0);
    let after = app.json("GET", "/api/auth/me", Some(&staff), None).await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "clock-out ends the session"
    );
}

#[tokio::test]
async fn dispense_page_shows_the_voucher_at_once_and_polls_until_active() {
    let app = test_app().await;
    let (jwt, csrf) = app.login("staff").await;
    let loc = app.f.location.id;
    let r = app
        .page(
            "POST",
            "/shifts/clock-in",
            Some(&jwt),
            Some(&format!("_csrf={csrf}&location_id={loc}&opening_float=0")),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = app.page("GET", "/dispense", Some(&jwt), None).await;
    assert!(
        page.body.contains("One hour") && page.body.contains("5.00 USD"),
        "{}",
        page.body
    );
    let r = app
        .page(
            "POST",
            "/dispense",
            Some(&jwt),
            Some(&format!("_csrf={csrf}&package_id={}", app.f.package.id)),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let location = r.headers["location"].to_str().unwrap().to_owned();
    let id: uuid::Uuid = location.trim_start_matches("/tokens/").parse().unwrap();
    let token = app.f.store.token(id).await.unwrap().unwrap();
    let voucher = app.page("GET", &location, Some(&jwt), None).await;
    assert_eq!(voucher.status, StatusCode::OK);
    assert!(voucher.body.contains(&token.code));
    assert!(voucher.body.contains("router is offline"));
    assert!(voucher
        .body
        .contains(&format!("hx-get=\"/tokens/{id}/status\"")));
    app.f
        .store
        .set_router_online("agent-1", true)
        .await
        .unwrap();
    let frag = app
        .page("GET", &format!("{location}/status"), Some(&jwt), None)
        .await;
    assert!(frag.body.contains("sent to router"), "{}", frag.body);
    let cmd = app
        .f
        .store
        .open_commands("agent-1")
        .await
        .unwrap()
        .remove(0);
    let applied = UpMessage::TokenApplied(TokenApplied {
        command_id: cmd.id,
        token_id: id,
        router_user_id: "*1".into(),
        already_present: false,
    });
    let item = UpItem {
        seq: 1,
        at: 1,
        message: applied,
    };
    app.f.store.apply_up("agent-1", &[item], 1).await.unwrap();
    let frag = app
        .page("GET", &format!("{location}/status"), Some(&jwt), None)
        .await;
    assert!(frag.body.contains("active on router"), "{}", frag.body);
    assert!(
        !frag.body.contains("hx-trigger"),
        "polling stops once active"
    );
    let counter = app.page("GET", "/dispense", Some(&jwt), None).await;
    assert!(
        counter.body.contains(&token.code),
        "today's vouchers list it"
    );
}

#[tokio::test]
async fn a_locked_voucher_shows_the_device_it_is_bound_to_in_the_readers_language() {
    let app = test_app().await;
    let p = &app.f.package;
    let change = crate::store::PackageChange {
        name: p.name.clone(),
        price_minor: p.price_minor,
        limit_uptime_s: p.limit_uptime_s,
        limit_bytes_total: p.limit_bytes_total,
        rate_limit: p.rate_limit.clone(),
        shared_users: p.shared_users,
        validity_s: p.validity_s,
        active: true,
        lock_to_mac: true,
    };
    let store = &app.f.store;
    store
        .update_package(p.id, &change, "admin", crate::store::now_ms())
        .await
        .unwrap();
    let (staff, _) = app.login("staff").await;
    app.json(
        "POST",
        "/api/shifts/clock-in",
        Some(&staff),
        Some(json!({"opening_float_minor": 0})),
    )
    .await;
    let sold = app
        .json(
            "POST",
            "/api/tokens/generate",
            Some(&staff),
            Some(json!({"package_id": p.id})),
        )
        .await
        .json();
    let id: uuid::Uuid = sold["id"].as_str().unwrap().parse().unwrap();
    let (manager, _) = app.login("manager").await;
    let read = |who: String, path: String, lang: &'static str| {
        let app = &app;
        async move {
            let req = axum::http::Request::builder()
                .uri(path)
                .header("cookie", format!("{}={who}", crate::auth::COOKIE))
                .header("accept", "text/html")
                .header("accept-language", lang)
                .body(axum::body::Body::empty())
                .unwrap();
            app.call(req).await.body
        }
    };
    let page = read(staff.clone(), format!("/tokens/{id}"), "fr").await;
    assert!(
        page.contains("Se lie au premier appareil qui s&#x27;y connecte"),
        "{page}"
    );
    let token = store.token(id).await.unwrap().unwrap();
    let item = UpItem {
        seq: 1,
        at: 6_000,
        message: UpMessage::MacBound(mtm_common::MacBound {
            token_id: id,
            username: token.code.clone(),
            mac_address: "02:00:00:00:00:0b".into(),
            bound_at: 6_000,
        }),
    };
    store
        .apply_up(&app.f.router.agent_id, &[item], crate::store::now_ms())
        .await
        .unwrap();
    let page = read(staff.clone(), format!("/tokens/{id}"), "fr").await;
    assert!(
        page.contains("Lié à l&#x27;appareil 02:00:00:00:00:0B"),
        "{page}"
    );
    let after = read(manager, format!("/tokens/{id}/after-sales"), "sw").await;
    assert!(
        after.contains("Imefungwa kwa kifaa 02:00:00:00:00:0B"),
        "{after}"
    );
    let english = read(staff, format!("/tokens/{id}/after-sales"), "en").await;
    assert!(
        english.contains("Locked to device 02:00:00:00:00:0B"),
        "{english}"
    );
}

/// A till that never got the answer to a sale sends it again with the same `Idempotency-Key`:
/// it gets the voucher already sold, not a second one, however the repeats race. The same key
/// for another package is refused, and a new key sells a new voucher.
#[tokio::test]
async fn a_sale_repeated_with_its_key_sells_one_voucher() {
    let app = test_app().await;
    let staff = app.staff_on_shift().await;
    let other = app
        .f
        .store
        .create_package(crate::store::NewPackage {
            slug: "2h".into(),
            name: "Two hours".into(),
            price_minor: 900,
            currency: "USD".into(),
            limit_uptime_s: Some(7200),
            limit_bytes_total: None,
            rate_limit: None,
            shared_users: 1,
            validity_s: None,
            uses_password: false,
            lock_to_mac: false,
        })
        .await
        .unwrap();
    let sell = |package_id: uuid::Uuid, key: &'static str| {
        let req = axum::http::Request::post("/api/tokens/generate")
            .header("authorization", format!("Bearer {staff}"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(axum::body::Body::from(
                json!({ "package_id": package_id }).to_string(),
            ))
            .unwrap();
        app.call(req)
    };
    let pkg = app.f.package.id;
    let (a, b, c) = tokio::join!(
        sell(pkg, "till-7-sale-1"),
        sell(pkg, "till-7-sale-1"),
        sell(pkg, "till-7-sale-1")
    );
    let ids: Vec<String> = [a, b, c]
        .iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.json()["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    let again = sell(pkg, "till-7-sale-1").await;
    assert_eq!(again.json()["id"], ids[0].as_str());

    let wrong = sell(other.id, "till-7-sale-1").await;
    assert_eq!(wrong.status, StatusCode::CONFLICT, "{}", wrong.body);
    let bad = sell(pkg, "").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let next = sell(pkg, "till-7-sale-2").await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.body);
    assert_ne!(next.json()["id"], ids[0].as_str());

    // Sold twice in all: two vouchers, two revenue records, two commands.
    let mine = app
        .json("GET", "/api/tokens/my-tokens", Some(&staff), None)
        .await
        .json();
    assert_eq!(mine["total"], 2, "{mine}");
    assert_eq!(app.f.store.open_commands("agent-1").await.unwrap().len(), 2);
}

/// The counter page gives each package's button a fresh sale key: the same form sent twice (a
/// double click, a reload after a lost answer) sells one voucher; the page drawn again sells
/// a new one.
#[tokio::test]
async fn the_counter_form_sent_twice_sells_one_voucher() {
    let app = test_app().await;
    let (jwt, csrf) = app.login("staff").await;
    let loc = app.f.location.id;
    let form = format!("_csrf={csrf}&location_id={loc}&opening_float=0");
    let r = app
        .page("POST", "/shifts/clock-in", Some(&jwt), Some(&form))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let key_on = |body: &str| {
        let at = body.find("name=\"sale_key\" value=\"").expect("a sale key") + 23;
        body[at..].split('"').next().unwrap().to_owned()
    };
    let counter = app.page("GET", "/dispense", Some(&jwt), None).await;
    let key = key_on(&counter.body);
    let (app, jwt) = (&app, &jwt);
    let sell = |key: String| {
        let body = format!(
            "_csrf={csrf}&package_id={}&sale_key={key}",
            app.f.package.id
        );
        async move {
            let r = app.page("POST", "/dispense", Some(jwt), Some(&body)).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
            r.headers["location"].to_str().unwrap().to_owned()
        }
    };
    let first = sell(key.clone()).await;
    assert_eq!(
        sell(key.clone()).await,
        first,
        "the same form, the same voucher"
    );
    let redrawn = app.page("GET", "/dispense", Some(jwt), None).await;
    let fresh = key_on(&redrawn.body);
    assert_ne!(fresh, key);
    assert_ne!(sell(fresh).await, first);
}
