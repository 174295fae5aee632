use super::*;
use crate::ingest::{Ingest, Reject};
use crate::testutil::test_app;
use axum::http::StatusCode;
use mtm_common::{keys, Envelope, Health, UpMessage};
use serde_json::json;

fn health_from(agent: &str, key: &ed25519_dalek::SigningKey) -> Vec<u8> {
    let msg = UpMessage::Health(Health {
        router_reachable: true,
        cpu_load: None,
        free_memory: None,
        total_memory: None,
        uptime_s: None,
        routeros_version: None,
        board_name: None,
        outbox_len: 0,
        active_sessions: 0,
        ..Default::default()
    });
    Envelope::seal(key, agent, "cp", 1, crate::store::now_ms(), &msg)
        .unwrap()
        .to_bytes()
        .unwrap()
}

#[tokio::test]
async fn a_code_enrolls_a_pending_router_once_and_revocation_stops_it() {
    let app = test_app().await;
    let (admin, _) = app.login("admin").await;
    let (manager, _) = app.login("manager").await;
    let audit_before = audit_rows(&app).await;
    let r = app
        .json(
            "POST",
            "/api/routers",
            Some(&admin),
            Some(json!({"location_id": app.f.location.id, "name": "R2", "agent_id": "cafe-2"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let router = r.json();
    assert_eq!(
        router["mqtt_password"], "",
        "no MQTT login before enrollment"
    );
    assert_eq!(router["router"]["public_key_hex"], "");
    let id = router["router"]["id"].as_str().unwrap().to_owned();

    let path = format!("/api/routers/{id}/enrollment-code");
    let denied = app.json("POST", &path, Some(&manager), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let r = app.json("POST", &path, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let code = r.json()["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), CODE_LEN + 3, "{code}");
    assert_eq!(r.json()["agent_id"], "cafe-2");

    let key = keys::generate_signing_key();
    let body = json!({"code": code.to_lowercase(), "public_key_hex": keys::public_key_hex(&key.verifying_key()), "agent_version": "0.1.0"});
    let r = app
        .json("POST", "/api/enroll", None, Some(body.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let got: EnrollResponse = serde_json::from_str(&r.body).unwrap();
    assert_eq!(got.agent_id, "cafe-2");
    assert_eq!(got.mqtt_username, "cafe-2");
    assert_eq!((got.mqtt_host.as_str(), got.mqtt_port), ("127.0.0.1", 1884));
    assert_eq!(
        got.control_plane_public_key,
        keys::public_key_hex(&app.cp.verifying_key())
    );
    let store = &app.f.store;
    assert!(store
        .check_mqtt_password("cafe-2", &got.mqtt_password)
        .await
        .unwrap());
    let ingest = Ingest::new(
        store.clone(),
        app.state.dispatcher.clone(),
        app.state.metrics.clone(),
    );
    ingest
        .verify("cafe-2", &health_from("cafe-2", &key))
        .await
        .expect("the enrolled key verifies");

    let again = app.json("POST", "/api/enroll", None, Some(body)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.json()["reason"], "used");

    let state = app
        .json(
            "GET",
            &format!("/api/routers/{id}/enrollment"),
            Some(&manager),
            None,
        )
        .await;
    assert!(state.json()["enrolled_at"].is_i64(), "{}", state.body);

    let r = app
        .json(
            "POST",
            &format!("/api/routers/{id}/revoke"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!store
        .check_mqtt_password("cafe-2", &got.mqtt_password)
        .await
        .unwrap());
    let refused = ingest.verify("cafe-2", &health_from("cafe-2", &key)).await;
    assert!(matches!(refused, Err(Reject::BadKey)), "{refused:?}");
    // router.enroll (the record), enrollment_code, enrolled, revoke; logins are audited too.
    assert_eq!(audit_rows(&app).await, audit_before + 4);
}

/// Rows in the audit chain (which must be intact).
async fn audit_rows(app: &crate::testutil::TestApp) -> u64 {
    let reports = app.f.store.verify_chains().await.unwrap();
    assert!(
        reports.iter().all(|r| r.first_bad_row.is_none()),
        "{reports:?}"
    );
    reports
        .iter()
        .find(|r| r.table == "audit_log")
        .map(|r| r.rows)
        .unwrap()
}

#[tokio::test]
async fn bad_codes_are_refused_clearly_then_rate_limited() {
    let app = test_app().await;
    let key = keys::public_key_hex(&keys::generate_signing_key().verifying_key());
    let bad_key = app
        .json(
            "POST",
            "/api/enroll",
            None,
            Some(json!({"code": "X", "public_key_hex": "zz"})),
        )
        .await;
    assert_eq!(bad_key.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_key.json()["reason"], "bad_key");
    let mut statuses = vec![];
    // Enrollment's own bucket: 30 failures per address (the malformed one above included).
    for _ in 0..30 {
        let r = app
            .json(
                "POST",
                "/api/enroll",
                None,
                Some(json!({"code": "WRONG-CODE", "public_key_hex": key})),
            )
            .await;
        statuses.push((r.status, r.json()["reason"].as_str().unwrap().to_owned()));
    }
    assert_eq!(statuses[0], (StatusCode::NOT_FOUND, "unknown_code".into()));
    assert_eq!(statuses[28], (StatusCode::NOT_FOUND, "unknown_code".into()));
    assert_eq!(
        statuses[29],
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into())
    );
}

#[test]
fn host_port_parsing() {
    assert_eq!(
        split_host_port("mtm.example.com:8883"),
        Some(("mtm.example.com".into(), 8883))
    );
    assert_eq!(split_host_port("[::1]:1884"), Some(("::1".into(), 1884)));
    assert_eq!(split_host_port("nohost"), None);
    assert_eq!(split_host_port(":1"), None);
    assert_eq!(split_host_port("h:0"), None);
    assert_eq!(group("ABCDEFGHJKMN"), "ABCD-EFGH-JKMN");
}

/// Enrolling again with the same key, even after a revocation, keeps the router's replay state:
/// a message that key signed before is a duplicate when replayed. A new key starts afresh.
#[tokio::test]
async fn same_key_re_enrollment_keeps_replay_state() {
    use std::sync::atomic::Ordering;
    let app = test_app().await;
    let (admin, _) = app.login("admin").await;
    let r = app
        .json(
            "POST",
            "/api/routers",
            Some(&admin),
            Some(json!({"location_id": app.f.location.id, "name": "R3", "agent_id": "cafe-3"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["router"]["id"].as_str().unwrap().to_owned();
    let enroll = |key: &ed25519_dalek::SigningKey| {
        let hex = keys::public_key_hex(&key.verifying_key());
        let (app, admin, id) = (&app, &admin, &id);
        async move {
            let path = format!("/api/routers/{id}/enrollment-code");
            let r = app.json("POST", &path, Some(admin), None).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            let code = r.json()["code"].as_str().unwrap().to_owned();
            let body = json!({"code": code, "public_key_hex": hex, "agent_version": "0.1.0"});
            let r = app.json("POST", "/api/enroll", None, Some(body)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
    };
    let metrics = app.state.metrics.clone();
    let ingest = Ingest::new(
        app.f.store.clone(),
        app.state.dispatcher.clone(),
        metrics.clone(),
    );
    let send = |payload: Vec<u8>| {
        ingest.handle_batch(vec![crate::mqtt::Incoming {
            topic: mtm_common::topics::up("cafe-3"),
            payload,
            ack: None,
        }])
    };
    let applied = || metrics.ingest_applied.load(Ordering::Relaxed);
    let duplicates = || metrics.ingest_duplicates.load(Ordering::Relaxed);

    let key = keys::generate_signing_key();
    enroll(&key).await;
    let captured = health_from("cafe-3", &key);
    send(captured.clone()).await;
    assert_eq!((applied(), duplicates()), (1, 0));

    // Same key again, directly and after a revocation: the captured message stays a duplicate.
    enroll(&key).await;
    send(captured.clone()).await;
    assert_eq!((applied(), duplicates()), (1, 1));
    let r = app
        .json(
            "POST",
            &format!("/api/routers/{id}/revoke"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    enroll(&key).await;
    send(captured).await;
    assert_eq!((applied(), duplicates()), (1, 2));
    let router = app
        .f
        .store
        .router_by_agent("cafe-3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(router.last_seq, 1);

    // A new key is a new device: its seq 1 is new.
    let fresh = keys::generate_signing_key();
    enroll(&fresh).await;
    send(health_from("cafe-3", &fresh)).await;
    assert_eq!((applied(), duplicates()), (2, 2));
}
