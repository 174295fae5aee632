//! The store conformance suite: every test runs once on SQLite and once on PostgreSQL, each
//! time on a freshly seeded fixture, so both databases are held to the same assertions.

use crate::store::*;
use crate::testutil::{fixture, TestDb, PASSWORD};
use mtm_common::{CommandKind, Health, Hello, TokenApplied, UpMessage, Usage, UsageReport};
use rstest::rstest;

#[rstest]
#[tokio::test]
async fn users_and_passwords(#[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb) {
    let f = fixture(db).await;
    let s = &f.store;
    let u = s.check_password("staff", PASSWORD).await.unwrap().unwrap();
    assert_eq!(u.id, f.staff.id);
    assert_eq!(u.role, Role::Staff);
    assert_eq!(u.location_ids, vec![f.location.id]);
    assert!(s
        .check_password("staff", "wrong password")
        .await
        .unwrap()
        .is_none());
    assert!(s
        .check_password("nobody", PASSWORD)
        .await
        .unwrap()
        .is_none());
    let dup = s
        .create_user(NewUser {
            username: "staff".into(),
            password: PASSWORD.into(),
            role: Role::Manager,
            location_ids: vec![],
        })
        .await;
    assert!(
        matches!(dup, Err(StoreError::RefusedConflict(_))),
        "{dup:?}"
    );
    let short = s
        .create_user(NewUser {
            username: "x".into(),
            password: "short".into(),
            role: Role::Staff,
            location_ids: vec![],
        })
        .await;
    assert!(matches!(short, Err(StoreError::Refused(_))));
    assert_eq!(s.count_users().await.unwrap(), 3);
    assert_eq!(
        s.user(f.admin.id).await.unwrap().unwrap().role,
        Role::SuperAdmin
    );
}

#[rstest]
#[tokio::test]
async fn sessions_expire_and_end(#[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb) {
    let f = fixture(db).await;
    let s = &f.store;
    let now = now_ms();
    let mk = |id: &str, exp| Session {
        id: id.into(),
        user_id: f.staff.id,
        csrf: "c".into(),
        expires_at: exp,
    };
    s.create_session(&mk("a", now + 60_000)).await.unwrap();
    s.create_session(&mk("b", now + 60_000)).await.unwrap();
    s.create_session(&mk("old", now - 1)).await.unwrap();
    s.create_session(&mk("c", now + 60_000)).await.unwrap();
    assert_eq!(
        s.session("a", now).await.unwrap().unwrap().user_id,
        f.staff.id
    );
    assert!(s.session("old", now).await.unwrap().is_none());
    s.delete_session("a").await.unwrap();
    assert!(s.session("a", now).await.unwrap().is_none());
    assert!(s.session("b", now).await.unwrap().is_some());
    s.delete_user_sessions(f.staff.id).await.unwrap();
    assert!(s.session("b", now).await.unwrap().is_none());
}

#[rstest]
#[tokio::test]
async fn routers_and_mqtt_credentials(#[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb) {
    let f = fixture(db).await;
    let s = &f.store;
    assert!(s
        .check_mqtt_password("agent-1", &f.mqtt_password)
        .await
        .unwrap());
    assert!(!s.check_mqtt_password("agent-1", "nope").await.unwrap());
    assert!(!s
        .check_mqtt_password("agent-x", &f.mqtt_password)
        .await
        .unwrap());
    let bad = s
        .create_router(NewRouter {
            location_id: f.location.id,
            name: "r".into(),
            agent_id: "bad/id".into(),
            public_key_hex: f.router.public_key_hex.clone(),
            mqtt_password: "p".into(),
        })
        .await;
    assert!(matches!(bad, Err(StoreError::Refused(_))));
    let dup = s
        .create_router(NewRouter {
            location_id: f.location.id,
            name: "r".into(),
            agent_id: "agent-1".into(),
            public_key_hex: f.router.public_key_hex.clone(),
            mqtt_password: "p".into(),
        })
        .await;
    assert!(matches!(dup, Err(StoreError::RefusedConflict(_))));
    s.set_router_online("agent-1", true).await.unwrap();
    let r = s.router_by_agent("agent-1").await.unwrap().unwrap();
    assert!(r.online);
    assert_eq!(
        r.last_seen, None,
        "an unsigned status is a hint, not a sign of life"
    );
    assert_eq!(s.counts().await.unwrap().agents_online, 1);
    s.set_router_online("agent-1", false).await.unwrap();
    assert!(!s.router_by_agent("agent-1").await.unwrap().unwrap().online);
}

#[rstest]
#[tokio::test]
async fn shifts_gate_issuing_and_compute_variance(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let req = |code: &str| IssueToken {
        id: uuid::Uuid::new_v4(),
        code: code.into(),
        password: None,
        package_id: f.package.id,
        staff_id: f.staff.id,
        staff_username: "staff".into(),
        command_id: uuid::Uuid::new_v4(),
        sale_key: None,
    };
    let no_shift = s.issue_token(req("AAAA2222")).await;
    assert!(
        matches!(no_shift, Err(StoreError::Refused(_))),
        "{no_shift:?}"
    );
    assert!(s.open_shift_locations().await.unwrap().is_empty());
    s.open_shift(f.staff.id, f.location.id, 1000, "staff")
        .await
        .unwrap();
    assert_eq!(s.open_shift_locations().await.unwrap(), vec![f.location.id]);
    let again = s.open_shift(f.staff.id, f.location.id, 0, "staff").await;
    assert!(matches!(again, Err(StoreError::Conflict(_))));
    let (t1, cmd) = s.issue_token(req("AAAA2222")).await.unwrap();
    assert_eq!(t1.state, TokenState::Issued);
    assert_eq!(t1.price_minor, 500);
    assert!(
        matches!(&cmd.kind, CommandKind::CreateToken(c) if c.token_id == t1.id && c.package_slug == "1h")
    );
    let dup = s.issue_token(req("AAAA2222")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    s.issue_token(req("BBBB3333")).await.unwrap();
    let open = s.open_commands("agent-1").await.unwrap();
    assert_eq!(open.len(), 2);
    assert_eq!(open[0].id, cmd.id);
    s.mark_command_sent(cmd.id, 1).await.unwrap();
    let open = s.open_commands("agent-1").await.unwrap();
    assert_eq!((open[0].state.as_str(), open[0].attempts), ("sent", 1));
    s.create_session(&Session {
        id: "sess".into(),
        user_id: f.staff.id,
        csrf: "c".into(),
        expires_at: now_ms() + 60_000,
    })
    .await
    .unwrap();
    let shift = s.close_shift(f.staff.id, 1800, "staff").await.unwrap();
    assert_eq!(shift.expected_cash_minor, Some(2000));
    assert_eq!(shift.variance_minor, Some(-200));
    assert!(
        s.session("sess", now_ms()).await.unwrap().is_none(),
        "clock-out ends sessions"
    );
    assert!(s.open_shift_of(f.staff.id).await.unwrap().is_none());
    let after = s.issue_token(req("CCCC4444")).await;
    assert!(matches!(after, Err(StoreError::Refused(_))));
    // The manager does not belong to another location, so cannot open a shift there.
    let other = s
        .create_location(NewLocation {
            name: "Elsewhere".into(),
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    let wrong = s.open_shift(f.staff.id, other.id, 0, "staff").await;
    assert!(matches!(wrong, Err(StoreError::Refused(_))));
}

/// `message` sealed with `seq`, at a time that grows with it.
pub(crate) fn item(seq: u64, message: UpMessage) -> UpItem {
    UpItem {
        seq,
        at: 1_000 + seq as i64,
        message,
    }
}

#[rstest]
#[tokio::test]
async fn ingest_applies_once_and_moves_token_state(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let (token, cmd) = f.issue().await;
    let hello = UpMessage::Hello(Hello {
        agent_version: "0.1.0".into(),
        last_cp_seq: 0,
        catalog_version: Some(2),
    });
    let applied = UpMessage::TokenApplied(TokenApplied {
        command_id: cmd.id,
        token_id: token.id,
        router_user_id: "*1".into(),
        already_present: false,
    });
    let out = s
        .apply_up("agent-1", &[item(1, hello), item(2, applied.clone())], 50)
        .await
        .unwrap();
    assert_eq!(
        out,
        ApplyOutcome {
            last_seq: 2,
            applied: 2,
            duplicates: 0,
            saw_hello: true,
            checks: Vec::new(),
        }
    );
    let t = s.token(token.id).await.unwrap().unwrap();
    assert_eq!(t.state, TokenState::Applied);
    assert!(s.open_commands("agent-1").await.unwrap().is_empty());
    let r = s.router_by_agent("agent-1").await.unwrap().unwrap();
    assert_eq!(
        (r.last_seq, r.catalog_version, r.last_seen),
        (2, Some(2), Some(50))
    );
    // A replay is skipped, not applied twice.
    let out = s
        .apply_up("agent-1", &[item(2, applied)], 60)
        .await
        .unwrap();
    assert_eq!((out.last_seq, out.applied, out.duplicates), (2, 0, 1));
    let usage = |uptime, active| {
        UpMessage::Usage(UsageReport {
            entries: vec![Usage {
                token_id: Some(token.id),
                username: token.code.clone(),
                active,
                uptime_s: uptime,
                bytes_in: 10,
                bytes_out: 20,
                delta_uptime_s: 60,
                ..Default::default()
            }],
            issued_here: Vec::new(),
        })
    };
    s.apply_up("agent-1", &[item(3, usage(60, true))], 70)
        .await
        .unwrap();
    let t = s.token(token.id).await.unwrap().unwrap();
    assert_eq!(
        (t.state, t.uptime_s, t.bytes_out),
        (TokenState::InUse, 60, 20)
    );
    assert!(t.first_login_at.is_some());
    s.apply_up("agent-1", &[item(4, usage(3600, false))], 80)
        .await
        .unwrap();
    assert_eq!(
        s.token(token.id).await.unwrap().unwrap().state,
        TokenState::UsedUp
    );
    let health = UpMessage::Health(Health {
        router_reachable: true,
        active_sessions: 3,
        ..Default::default()
    });
    s.apply_up("agent-1", &[item(5, health)], 90).await.unwrap();
    let routers = s.list_routers().await.unwrap();
    assert_eq!(routers[0].active_sessions, Some(3));
    assert_eq!(routers[0].last_usage_at, Some(1_004));
    // Inventories: the latest one's time and the one before it are kept.
    assert_eq!(s.inventory_times(f.router.id).await.unwrap(), None);
    let inventory = || UpMessage::Inventory(Default::default());
    s.apply_up("agent-1", &[item(6, inventory())], 95)
        .await
        .unwrap();
    assert_eq!(
        s.inventory_times(f.router.id).await.unwrap(),
        Some((1_006, None))
    );
    s.apply_up("agent-1", &[item(7, inventory()), item(8, inventory())], 99)
        .await
        .unwrap();
    assert_eq!(
        s.inventory_times(f.router.id).await.unwrap(),
        Some((1_008, Some(1_007)))
    );
    let unknown = s.apply_up("agent-zz", &[], 1).await;
    assert!(matches!(unknown, Err(StoreError::NotFound(_))));

    // A whole hotspot in one report (more rows than one INSERT takes), the voucher named twice:
    // every row stored once; the voucher's counters move once per report (its first entry),
    // as a later report moves them and an equal one does not.
    let samples = || s.usage_samples(f.location.id, 0, i64::MAX);
    let before = samples().await.unwrap().len();
    let mut entries: Vec<Usage> = (0..599u64)
        .map(|i| Usage {
            username: format!("GUEST{i:03}"),
            delta_bytes_in: i,
            ..Default::default()
        })
        .collect();
    for uptime_s in [100, 200] {
        entries.push(Usage {
            token_id: Some(token.id),
            username: token.code.clone(),
            uptime_s,
            ..Default::default()
        });
    }
    let report = UpMessage::Usage(UsageReport {
        entries,
        issued_here: Vec::new(),
    });
    s.apply_up("agent-1", &[item(9, report)], 100)
        .await
        .unwrap();
    let after = samples().await.unwrap();
    assert_eq!(after.len() - before, 601);
    let guests: u64 = after
        .iter()
        .filter(|u| u.token_id.is_none())
        .map(|u| u.delta_bytes_in)
        .sum();
    assert_eq!(guests, (0..599).sum::<u64>());
    assert_eq!(s.token(token.id).await.unwrap().unwrap().uptime_s, 100);
}

#[rstest]
#[tokio::test]
async fn late_messages_however_late_apply_once(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let health = |n| {
        UpMessage::Health(Health {
            active_sessions: n,
            ..Default::default()
        })
    };
    // Another replica applied seq 5 first; seq 4 arrives late and still counts, once.
    let out = s
        .apply_up("agent-1", &[item(5, health(5))], 1)
        .await
        .unwrap();
    assert_eq!((out.last_seq, out.applied), (5, 1));
    let out = s
        .apply_up("agent-1", &[item(4, health(4))], 2)
        .await
        .unwrap();
    assert_eq!((out.last_seq, out.applied, out.duplicates), (5, 1, 0));
    let out = s
        .apply_up(
            "agent-1",
            &[
                item(4, health(4)),
                item(5, health(5)),
                item(6, health(6)),
                item(6, health(6)),
            ],
            3,
        )
        .await
        .unwrap();
    assert_eq!((out.last_seq, out.applied, out.duplicates), (6, 1, 3));
    // There is no window: a message thousands of seqs late is still applied, exactly once.
    s.apply_up("agent-1", &[item(5000, health(1))], 4)
        .await
        .unwrap();
    let out = s
        .apply_up("agent-1", &[item(7, health(7))], 5)
        .await
        .unwrap();
    assert_eq!((out.last_seq, out.applied, out.duplicates), (5000, 1, 0));
    let out = s
        .apply_up("agent-1", &[item(7, health(7)), item(8, health(8))], 6)
        .await
        .unwrap();
    assert_eq!((out.last_seq, out.applied, out.duplicates), (5000, 1, 1));
    let out = s
        .apply_up("agent-1", &[item(4999, health(9))], 7)
        .await
        .unwrap();
    assert_eq!((out.last_seq, out.applied, out.duplicates), (5000, 1, 0));
}

#[rstest]
#[tokio::test]
async fn queued_commands_supersede_their_kind(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let cat = |v| {
        CommandKind::ApplyCatalog(mtm_common::Catalog {
            version: v,
            packages: vec![],
        })
    };
    s.enqueue_command("agent-1", cat(1), true).await.unwrap();
    s.enqueue_command("agent-1", CommandKind::Resync, false)
        .await
        .unwrap();
    let newest = s.enqueue_command("agent-1", cat(2), true).await.unwrap();
    let open = s.open_commands("agent-1").await.unwrap();
    assert_eq!(open.len(), 2);
    assert!(open.iter().any(|c| c.id == newest.id && c.kind == cat(2)));
    assert!(open.iter().any(|c| c.kind == CommandKind::Resync));
    let cats = s.commands_of_kind("apply_catalog", 10).await.unwrap();
    assert_eq!(cats.len(), 2, "open and superseded");
    let (open_cat, old_cat) = match cats[0].command.id == newest.id {
        true => (&cats[0], &cats[1]),
        false => (&cats[1], &cats[0]),
    };
    assert_eq!(open_cat.command.id, newest.id);
    assert_eq!(
        (open_cat.result.as_deref(), open_cat.closed_at),
        (None, None)
    );
    assert_eq!(old_cat.command.state, "failed");
    assert_eq!(old_cat.result.as_deref(), Some("superseded"));
    assert!(old_cat.closed_at.is_some());
    assert_eq!(
        s.commands_of_kind("apply_catalog", 1).await.unwrap().len(),
        1
    );
    let missing = s
        .enqueue_command("nobody", CommandKind::Resync, false)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
}

#[rstest]
#[tokio::test]
async fn alerts_raise_once_and_resolve_with_a_note(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    use crate::reconcile::{AlertKind, Finding, Severity};
    let s = &f.store;
    let finding = Finding {
        kind: AlertKind::RogueToken,
        severity: Severity::Critical,
        agent_id: Some("agent-1".into()),
        router_id: Some(f.router.id),
        location_id: Some(f.location.id),
        staff_id: None,
        shift_id: None,
        token_id: None,
        dedup_key: "rogue:agent-1:XYZ".into(),
        summary: "user XYZ on the router was not issued".into(),
        evidence: serde_json::json!({"user": "XYZ"}),
    };
    let a = s.raise_alert(&finding, 10).await.unwrap().unwrap();
    assert_eq!(
        (a.kind.as_str(), a.state),
        ("rogue_token", AlertState::Open)
    );
    assert_eq!(a.evidence["user"], "XYZ");
    assert!(
        s.raise_alert(&finding, 11).await.unwrap().is_none(),
        "same evidence, no new alert"
    );
    // A check's findings at once: the one raised before and a repeat of a new one give one
    // new alert.
    let other = Finding {
        dedup_key: "rogue:agent-1:ABC".into(),
        summary: "user ABC on the router was not issued".into(),
        evidence: serde_json::json!({"user": "ABC"}),
        ..finding.clone()
    };
    let batch = [finding.clone(), other.clone(), other.clone()];
    let new = s.raise_alerts(&batch, 12).await.unwrap();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(
        (new[0].evidence["user"].as_str(), new[0].created_at),
        (Some("ABC"), 12)
    );
    assert!(s.raise_alerts(&batch, 13).await.unwrap().is_empty());
    assert!(s.raise_alerts(&[], 13).await.unwrap().is_empty());
    let open = s
        .list_alerts(&AlertFilter {
            state: Some(AlertState::Open),
            location_id: Some(f.location.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 2);
    s.set_alert_state(
        new[0].id,
        AlertState::Resolved,
        "known guest",
        "manager",
        14,
    )
    .await
    .unwrap();
    let done = s
        .set_alert_state(
            a.id,
            AlertState::Resolved,
            "staff member warned",
            "manager",
            20,
        )
        .await
        .unwrap();
    assert_eq!(
        (done.state, done.note.as_deref()),
        (AlertState::Resolved, Some("staff member warned"))
    );
    assert_eq!(done.resolved_by.as_deref(), Some("manager"));
    let again = s
        .set_alert_state(a.id, AlertState::Acknowledged, "x", "manager", 30)
        .await;
    assert!(matches!(again, Err(StoreError::RefusedConflict(_))));
    let missing = s
        .set_alert_state(uuid::Uuid::new_v4(), AlertState::Resolved, "x", "m", 1)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
    let open = s
        .list_alerts(&AlertFilter {
            state: Some(AlertState::Open),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(open.is_empty());
    assert_eq!(
        s.list_alerts(&AlertFilter::default()).await.unwrap().len(),
        2
    );
    // A resolved alert is not raised again by the same evidence.
    assert!(s.raise_alerts(&batch, 40).await.unwrap().is_empty());
    for r in s.verify_chains().await.unwrap() {
        assert_eq!(r.first_bad_row, None);
    }
}

#[rstest]
#[tokio::test]
async fn issued_tokens_for_the_router_checks(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let (t1, cmd) = f.issue().await;
    let (t2, _) = f.issue().await;
    let applied = UpMessage::TokenApplied(TokenApplied {
        command_id: cmd.id,
        token_id: t1.id,
        router_user_id: "*1".into(),
        already_present: false,
    });
    let usage = UpMessage::Usage(UsageReport {
        entries: vec![Usage {
            token_id: Some(t1.id),
            username: t1.code.clone(),
            active: true,
            uptime_s: 90,
            bytes_in: 100,
            bytes_out: 200,
            delta_uptime_s: 90,
            delta_bytes_in: 100,
            delta_bytes_out: 200,
            ..Default::default()
        }],
        issued_here: Vec::new(),
    });
    s.apply_up("agent-1", &[item(1, applied), item(2, usage)], 5)
        .await
        .unwrap();
    // Without keys: only what should be on the router now (t1; t2 is still in flight).
    let on_router = s.issued_tokens(f.router.id, &[], &[]).await.unwrap();
    assert_eq!(on_router.len(), 1);
    let t = &on_router[0];
    assert_eq!(
        (t.token_id, t.agent_id.as_str(), t.package_slug.as_str()),
        (t1.id, "agent-1", "1h")
    );
    assert_eq!(t.state, crate::reconcile::TokenState::InUse);
    assert_eq!(
        (t.used_uptime_s, t.used_bytes, t.limit_uptime_s),
        (90, 300, Some(3600))
    );
    assert!(t.applied_at.is_some() && t.first_login_at.is_some());
    // By id and by code the in-flight one is found too.
    let by_id = s.issued_tokens(f.router.id, &[t2.id], &[]).await.unwrap();
    assert_eq!(by_id.len(), 2);
    let by_code = s
        .issued_tokens(f.router.id, &[], &[t2.code.clone(), "NOPE".into()])
        .await
        .unwrap();
    assert!(by_code
        .iter()
        .any(|t| t.token_id == t2.id && t.state == crate::reconcile::TokenState::Issued));
}

#[rstest]
#[tokio::test]
async fn token_listing_filters_and_pages(#[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb) {
    let f = fixture(db).await;
    let s = &f.store;
    for _ in 0..3 {
        f.issue().await;
    }
    let all = s.list_tokens(&TokenFilter::default()).await.unwrap();
    assert_eq!((all.total, all.items.len()), (3, 3));
    let page = s
        .list_tokens(&TokenFilter {
            limit: Some(2),
            offset: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (3, 1));
    let mine = s
        .list_tokens(&TokenFilter {
            staff_id: Some(f.staff.id),
            state: Some(TokenState::Issued),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.total, 3);
    let none = s
        .list_tokens(&TokenFilter {
            staff_id: Some(f.manager.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(none.total, 0);
    let future = s
        .list_tokens(&TokenFilter {
            from: Some(now_ms() + 10_000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(future.total, 0);
}

#[rstest]
#[tokio::test]
async fn chains_verify_and_cp_seq_grows(#[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb) {
    let f = fixture(db).await;
    let s = &f.store;
    f.issue().await;
    f.issue().await;
    s.audit(
        AuditEntry {
            actor: "admin".into(),
            action: "test".into(),
            target: "x".into(),
            detail: serde_json::json!({"a": "b|c"}),
        },
        now_ms(),
    )
    .await
    .unwrap();
    for r in s.verify_chains().await.unwrap() {
        assert!(r.rows >= 2, "{r:?}");
        assert_eq!(r.first_bad_row, None, "{r:?}");
    }
    let a = s.next_cp_seq().await.unwrap();
    let b = s.next_cp_seq().await.unwrap();
    assert_eq!(b, a + 1);
    s.ping().await.unwrap();
}

#[rstest]
#[tokio::test]
async fn enrollment_codes_are_single_use_and_revocation_is_immediate(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &f.store;
    let now = now_ms();
    let rid = f.router.id;
    let key = |k: &ed25519_dalek::SigningKey| mtm_common::keys::public_key_hex(&k.verifying_key());
    let (k1, k2) = (
        mtm_common::keys::generate_signing_key(),
        mtm_common::keys::generate_signing_key(),
    );
    let h = enrollment_code_hash;
    s.create_enrollment_code(rid, &h("AAAA-BBBB"), now + 60_000, "admin", now)
        .await
        .unwrap();
    assert_eq!(
        s.redeem_enrollment_code(&h("ZZZZ"), &key(&k1), "pw-1", "0.1.0", now)
            .await
            .unwrap(),
        Redeemed::Unknown
    );
    let Redeemed::Enrolled(r) = s
        .redeem_enrollment_code(&h("aaaabbbb"), &key(&k1), "pw-1", "0.1.0", now)
        .await
        .unwrap()
    else {
        panic!("the code (typed without dash, lower case) enrolls");
    };
    assert_eq!(r.id, rid);
    assert_eq!(r.public_key_hex, key(&k1));
    assert_eq!(r.last_seq, 0);
    assert!(!s
        .check_mqtt_password("agent-1", &f.mqtt_password)
        .await
        .unwrap());
    assert!(s.check_mqtt_password("agent-1", "pw-1").await.unwrap());
    assert_eq!(
        s.redeem_enrollment_code(&h("AAAABBBB"), &key(&k2), "pw-2", "0.1.0", now)
            .await
            .unwrap(),
        Redeemed::Used
    );
    // A second code replaces an unused first; an expired one is refused.
    s.create_enrollment_code(rid, &h("CCCC"), now + 60_000, "admin", now)
        .await
        .unwrap();
    s.create_enrollment_code(rid, &h("DDDD"), now + 60_000, "admin", now)
        .await
        .unwrap();
    assert_eq!(
        s.redeem_enrollment_code(&h("CCCC"), &key(&k2), "pw-2", "0.1.0", now)
            .await
            .unwrap(),
        Redeemed::Replaced
    );
    assert_eq!(
        s.redeem_enrollment_code(&h("DDDD"), &key(&k2), "pw-2", "0.1.0", now + 60_000)
            .await
            .unwrap(),
        Redeemed::Expired
    );
    let st = s.enrollment_state(rid).await.unwrap().unwrap();
    assert_eq!(st.open_code_expires_at, Some(now + 60_000));
    assert!(st.enrolled_at.is_some() && st.revoked_at.is_none());

    // Revocation: key and password stop working, the open code with them.
    let r = s.revoke_router(rid, "admin", now).await.unwrap();
    assert_eq!(r.public_key_hex, "");
    assert!(!r.online);
    assert!(!s.check_mqtt_password("agent-1", "pw-1").await.unwrap());
    assert!(!s.check_mqtt_password("agent-1", "").await.unwrap());
    assert_eq!(
        s.redeem_enrollment_code(&h("DDDD"), &key(&k2), "pw-2", "0.1.0", now)
            .await
            .unwrap(),
        Redeemed::Replaced
    );
    let st = s.enrollment_state(rid).await.unwrap().unwrap();
    assert_eq!(st.revoked_at, Some(now));
    // No voucher is queued for a revoked router.
    s.open_shift(f.staff.id, f.location.id, 0, "staff")
        .await
        .unwrap();
    let refused = s
        .issue_token(IssueToken {
            id: Uuid::new_v4(),
            code: mtm_common::token_code::generate(8),
            password: None,
            package_id: f.package.id,
            staff_id: f.staff.id,
            staff_username: "staff".into(),
            command_id: Uuid::new_v4(),
            sale_key: None,
        })
        .await;
    assert!(
        matches!(refused, Err(StoreError::Refused(_))),
        "{refused:?}"
    );
    assert_eq!(st.open_code_expires_at, None);
    assert!(matches!(
        s.revoke_router(Uuid::new_v4(), "admin", now).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.create_enrollment_code(Uuid::new_v4(), &h("EEEE"), now, "admin", now)
            .await,
        Err(StoreError::NotFound(_))
    ));

    // A replacement device enrolls with a new code.
    s.create_enrollment_code(rid, &h("FFFF"), now + 60_000, "admin", now)
        .await
        .unwrap();
    let Redeemed::Enrolled(r) = s
        .redeem_enrollment_code(&h("FFFF"), &key(&k2), "pw-2", "0.1.0", now)
        .await
        .unwrap()
    else {
        panic!("re-enrollment after revocation");
    };
    assert_eq!(r.public_key_hex, key(&k2));
    assert!(s.check_mqtt_password("agent-1", "pw-2").await.unwrap());
    assert!(s
        .enrollment_state(rid)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
    let (token, _) = f.issue().await;
    assert_eq!(
        token.router_id, rid,
        "the re-enrolled router takes vouchers again"
    );
    for report in s.verify_chains().await.unwrap() {
        assert_eq!(report.first_bad_row, None, "{report:?}");
    }
}

/// Users listed, changed (audited; disabling ends sessions), logs read newest first, figures.
#[rstest]
#[tokio::test]
async fn admin_console_users_logs_and_stats(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &*f.store;
    let names: Vec<String> = s
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["admin", "manager", "staff"]);
    let session = Session {
        id: "sess-1".into(),
        user_id: f.staff.id,
        csrf: "c".into(),
        expires_at: i64::MAX / 2,
    };
    s.create_session(&session).await.unwrap();
    let change = UserChange {
        disabled: Some(true),
        password: Some("a brand new password".into()),
        location_ids: Some(vec![]),
        language: Some(Some("sw".into())),
    };
    let u = s.update_user(f.staff.id, change, "admin", 5).await.unwrap();
    assert!(u.disabled && u.location_ids.is_empty());
    assert_eq!(u.language.as_deref(), Some("sw"));
    assert!(
        s.session("sess-1", 1).await.unwrap().is_none(),
        "sessions ended"
    );
    assert!(
        s.check_password("staff", "a brand new password")
            .await
            .unwrap()
            .is_none(),
        "disabled"
    );
    let back = UserChange {
        disabled: Some(false),
        location_ids: Some(vec![f.location.id]),
        language: Some(None),
        ..Default::default()
    };
    let u = s.update_user(f.staff.id, back, "admin", 6).await.unwrap();
    assert_eq!(u.language, None, "follows the browser again");
    assert!(s
        .check_password("staff", "a brand new password")
        .await
        .unwrap()
        .is_some());
    assert!(s.check_password("staff", PASSWORD).await.unwrap().is_none());
    let short = UserChange {
        password: Some("short".into()),
        ..Default::default()
    };
    assert!(matches!(
        s.update_user(f.staff.id, short, "admin", 7).await,
        Err(StoreError::Refused(_))
    ));
    assert!(matches!(
        s.update_user(Uuid::new_v4(), UserChange::default(), "admin", 7)
            .await,
        Err(StoreError::NotFound(_))
    ));

    let audit = s.list_log(LogTable::Audit, 2, 0).await.unwrap();
    assert_eq!(audit.len(), 2);
    assert!(audit[0].id > audit[1].id, "newest first");
    assert_eq!(audit[0].action, "user.update");
    assert!(
        !audit[0].detail.contains("brand new"),
        "no password in the audit log"
    );
    f.issue().await;
    let ledger = s.list_log(LogTable::Ledger, 10, 0).await.unwrap();
    assert!(
        !ledger.is_empty() && ledger[0].target.len() == 36,
        "{ledger:?}"
    );

    let stats = s.table_stats().await.unwrap();
    assert!(stats.size_bytes > 0);
    let users = stats.tables.iter().find(|t| t.name == "users").unwrap();
    assert_eq!(users.rows, 3);
    let tokens = stats.tables.iter().find(|t| t.name == "tokens").unwrap();
    assert_eq!(tokens.rows, 1);
}

/// Shifts listed by filter, newest first; a location frozen and thawed (audited).
#[rstest]
#[tokio::test]
async fn shifts_listed_and_locations_frozen(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    let s = &*f.store;
    f.issue().await;
    s.close_shift(f.staff.id, 0, "staff").await.unwrap();
    let all = s.list_shifts(&ShiftFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert!(all[0].variance_minor.is_some());
    let here = ShiftFilter {
        location_id: Some(f.location.id),
        staff_id: Some(f.staff.id),
        from: Some(all[0].opened_at),
        limit: Some(5),
        offset: None,
    };
    assert_eq!(s.list_shifts(&here).await.unwrap().len(), 1);
    let elsewhere = ShiftFilter {
        staff_id: Some(f.manager.id),
        ..Default::default()
    };
    assert!(s.list_shifts(&elsewhere).await.unwrap().is_empty());

    assert!(s.frozen_locations().await.unwrap().is_empty());
    s.set_location_frozen(f.location.id, true, "till missing", "admin", 10)
        .await
        .unwrap();
    // Freezing twice keeps the first record.
    s.set_location_frozen(f.location.id, true, "again", "admin", 11)
        .await
        .unwrap();
    let frozen = s.frozen_locations().await.unwrap();
    assert_eq!(frozen.len(), 1);
    assert_eq!(
        (
            frozen[0].location_id,
            frozen[0].reason.as_str(),
            frozen[0].frozen_by.as_str()
        ),
        (f.location.id, "till missing", "admin")
    );
    s.set_location_frozen(f.location.id, false, "found", "admin", 12)
        .await
        .unwrap();
    assert!(s.frozen_locations().await.unwrap().is_empty());
    assert!(matches!(
        s.set_location_frozen(Uuid::new_v4(), true, "x", "admin", 13)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let audit = s.list_log(LogTable::Audit, 3, 0).await.unwrap();
    assert_eq!(audit[0].action, "location.thaw");
    assert_eq!(audit[1].action, "location.freeze");
}

#[rstest]
#[tokio::test]
async fn notifications_queue_once_per_channel_and_end_sent_or_dead(
    #[values(TestDb::Sqlite, TestDb::Postgres)] db: TestDb,
) {
    let f = fixture(db).await;
    use crate::reconcile::{AlertKind, Finding, Severity};
    let s = &f.store;
    let channel = |name: &str, min_rank, location_id, created_at| Channel {
        id: Uuid::new_v4(),
        owner_id: f.staff.id,
        name: name.into(),
        kind: "webhook".into(),
        target: "https://example.invalid/hook".into(),
        chat_id: String::new(),
        secret: "00".repeat(32),
        min_rank,
        location_id,
        created_at,
        daily_reports: false,
    };
    let all_critical = channel("all", 3, None, 100);
    let here_warning = channel("here", 2, Some(f.location.id), 100);
    let elsewhere = channel("elsewhere", 1, Some(Uuid::new_v4()), 100);
    let later = channel("later", 1, None, 10_000);
    for c in [&all_critical, &here_warning, &elsewhere, &later] {
        s.create_channel(c).await.unwrap();
    }
    assert_eq!(s.list_channels(Some(f.staff.id)).await.unwrap().len(), 4);
    assert!(s
        .list_channels(Some(Uuid::new_v4()))
        .await
        .unwrap()
        .is_empty());
    let raise = |key: &str, severity| Finding {
        kind: AlertKind::CashShort,
        severity,
        agent_id: None,
        router_id: None,
        location_id: Some(f.location.id),
        staff_id: None,
        shift_id: None,
        token_id: None,
        dedup_key: key.into(),
        summary: key.into(),
        evidence: serde_json::json!({}),
    };
    s.raise_alert(&raise("crit", Severity::Critical), 200)
        .await
        .unwrap();
    s.raise_alert(&raise("warn", Severity::Warning), 201)
        .await
        .unwrap();
    // crit: all + here; warn: here; nothing for elsewhere, nothing older than `later`.
    assert_eq!(s.queue_notifications(0, 300).await.unwrap(), 3);
    assert_eq!(
        s.queue_notifications(0, 301).await.unwrap(),
        0,
        "queued once"
    );
    let due = s.due_deliveries(300, 10).await.unwrap();
    assert_eq!(due.len(), 3);
    assert!(s.due_deliveries(299, 10).await.unwrap().is_empty());
    let retry = DeliveryOutcome::Retry {
        error: "down".into(),
        next_at: 400,
    };
    s.record_delivery(due[0].id, &DeliveryOutcome::Sent, 300)
        .await
        .unwrap();
    s.record_delivery(due[1].id, &retry, 300).await.unwrap();
    let dead = DeliveryOutcome::Dead {
        error: "gone".into(),
    };
    s.record_delivery(due[2].id, &dead, 300).await.unwrap();
    // An end is final: a late second record changes nothing.
    s.record_delivery(due[0].id, &dead, 301).await.unwrap();
    assert_eq!(s.list_deliveries(Some("sent"), 10).await.unwrap().len(), 1);
    assert_eq!(
        s.list_deliveries(Some("dead"), 10).await.unwrap()[0]
            .last_error
            .as_deref(),
        Some("gone")
    );
    let pending = s.due_deliveries(400, 10).await.unwrap();
    assert_eq!((pending.len(), pending[0].attempts), (1, 1));
    assert!(s.delete_channel(later.id, Some(f.staff.id)).await.unwrap());
    assert!(!s.delete_channel(later.id, None).await.unwrap());

    // A channel that takes daily reports gets each new one of its location, once, beside the
    // alerts it asked for; the others get none.
    let reports = Channel {
        daily_reports: true,
        ..channel("reports", 3, Some(f.location.id), 100)
    };
    s.create_channel(&reports).await.unwrap();
    let new = NewDailyReport {
        location_id: f.location.id,
        business_date: "2026-01-01".into(),
        window_start_ms: 0,
        window_end_ms: 1,
        body_json: "{}".into(),
        content_sha256: "x".into(),
    };
    let report = s.insert_daily_report(&new, 500).await.unwrap();
    assert_eq!(
        s.queue_notifications(0, 500).await.unwrap(),
        2,
        "crit + report"
    );
    assert_eq!(s.queue_notifications(0, 501).await.unwrap(), 0);
    let due = s.due_deliveries(500, 10).await.unwrap();
    let carried: Vec<_> = due
        .iter()
        .filter(|d| d.channel.id == reports.id)
        .map(|d| match &d.subject {
            Subject::Report(r) => r.id,
            Subject::Alert(a) => a.id,
        })
        .collect();
    assert!(carried.contains(&report.id), "{due:?}");
    let for_report = due
        .iter()
        .find(|d| matches!(&d.subject, Subject::Report(_)))
        .unwrap();
    let dead = DeliveryOutcome::Dead {
        error: "no mail server".into(),
    };
    s.record_delivery(for_report.id, &dead, 501).await.unwrap();
    let listed = s.list_deliveries(Some("dead"), 10).await.unwrap();
    assert!(
        listed
            .iter()
            .any(|d| d.summary == "daily report 2026-01-01"),
        "{listed:?}"
    );
}
