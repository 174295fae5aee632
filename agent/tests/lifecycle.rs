//! Validity windows, the package catalog, and usage baselines across a restart.

mod common;

use common::*;
use mtm_common::{Catalog, Command, CommandKind, PackageSpec, UpMessage};
use uuid::Uuid;

fn usage_in(cp: &Cp, user: &str) -> u64 {
    cp.collect(|m| match m {
        UpMessage::Usage(r) => Some(r.entries.clone()),
        _ => None,
    })
    .into_iter()
    .flatten()
    .filter(|e| e.username == user)
    .map(|e| e.delta_bytes_in)
    .sum()
}

fn usage_out(cp: &Cp, user: &str) -> u64 {
    cp.collect(|m| match m {
        UpMessage::Usage(r) => Some(r.entries.clone()),
        _ => None,
    })
    .into_iter()
    .flatten()
    .filter(|e| e.username == user)
    .map(|e| e.delta_bytes_out)
    .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validity_window_expires_a_used_token() {
    let rig = rig("validity", MOSQUITTO, true).await;
    let (router, cp) = (&rig.router, &rig.cp);
    let mut cmd = create_token("VALID222");
    let CommandKind::CreateToken(ct) = &mut cmd.kind else {
        unreachable!()
    };
    ct.validity_s = Some(2);
    let token_id = ct.token_id;
    cp.command(&cmd).await;
    wait_until(20, "applied", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;
    router
        .customer_login("VALID222", "1234", "AA:BB:CC:DD:EE:02")
        .unwrap();
    wait_until(20, "expired", || {
        cp.count(|m| matches!(m, UpMessage::TokenExpired(t) if t.token_id == token_id)) == 1
    })
    .await;
    let u = router
        .users()
        .into_iter()
        .find(|u| u.name == "VALID222")
        .unwrap();
    assert!(u.disabled);
    assert!(router.sessions().iter().all(|s| s.user != "VALID222"));
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_sets_profiles_and_tokens_use_them() {
    let rig = rig("catalog", MOSQUITTO, true).await;
    let (router, cp, agent) = (&rig.router, &rig.cp, &rig.agent);
    let catalog = |version, slugs: &[&str]| Command {
        id: Uuid::new_v4(),
        issued_at: now_ms(),
        kind: CommandKind::ApplyCatalog(Catalog {
            version,
            packages: slugs
                .iter()
                .map(|s| PackageSpec {
                    slug: s.to_string(),
                    name: s.to_string(),
                    rate_limit: Some("2M/5M".into()),
                    shared_users: 1,
                    session_timeout_s: Some(3600),
                    lock_to_mac: false,
                })
                .collect(),
        }),
    };
    cp.command(&catalog(1, &["1h", "old"])).await;
    cp.command(&catalog(2, &["1h"])).await;
    cp.command(&create_token("PROFILE2")).await;
    wait_until(20, "applied", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;
    assert_eq!(agent.status().catalog_version, Some(2));
    assert_eq!(cp.count(|m| matches!(m, UpMessage::CommandDone(_))), 2);
    let u = &router.users()[0];
    assert_eq!(u.profile.as_deref(), Some("mtm-1h"));
    let profiles: Vec<String> = router.with_state(|st| {
        st.profiles
            .iter()
            .filter_map(|p| p.props.get("name").cloned())
            .collect()
    });
    assert!(profiles.contains(&"mtm-1h".to_string()), "{profiles:?}");
    assert!(!profiles.contains(&"mtm-old".to_string()), "{profiles:?}");

    // Retiring `1h` while a voucher uses it keeps the profile until a later catalog.
    cp.command(&catalog(3, &["2h"])).await;
    wait_until(20, "catalog v3", || {
        agent.status().catalog_version == Some(3)
    })
    .await;
    let profiles: Vec<String> = router.with_state(|st| {
        st.profiles
            .iter()
            .filter_map(|p| p.props.get("name").cloned())
            .collect()
    });
    assert!(profiles.contains(&"mtm-1h".to_string()), "{profiles:?}");
    assert!(profiles.contains(&"mtm-2h".to_string()), "{profiles:?}");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_baseline_survives_a_restart() {
    let Rig {
        router,
        dir,
        id,
        cp,
        agent,
        ..
    } = rig("restart", MOSQUITTO, true).await;
    cp.command(&create_token("RESTART2")).await;
    wait_until(20, "applied", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;
    router
        .customer_login("RESTART2", "1234", "AA:BB:CC:DD:EE:03")
        .unwrap();
    router.use_traffic("RESTART2", 500, 0);
    wait_until(20, "usage", || usage_in(&cp, "RESTART2") == 500).await;
    agent.shutdown().await;
    router.use_traffic("RESTART2", 70, 0);
    let cfg = agent_config(&id, dir.path(), &cp.public_hex(), MOSQUITTO, router.addr());
    let agent = mtm_agent::Agent::start(cfg).await.unwrap();
    wait_until(20, "usage after restart", || {
        usage_in(&cp, "RESTART2") >= 570
    })
    .await;
    // A later change is reported; the earlier delta is not repeated with it.
    router.use_traffic("RESTART2", 0, 5);
    wait_until(20, "later usage", || usage_out(&cp, "RESTART2") == 5).await;
    assert_eq!(usage_in(&cp, "RESTART2"), 570);
    agent.shutdown().await;
    router.shutdown().await;
    forget_session(MOSQUITTO, &id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_controls_and_resync() {
    let rig = rig("controls", MOSQUITTO, true).await;
    let (router, cp) = (&rig.router, &rig.cp);
    let mk = create_token("CTRL2222");
    let CommandKind::CreateToken(ct) = &mk.kind else {
        unreachable!()
    };
    let token_id = ct.token_id;
    let cmd = |kind| Command {
        id: Uuid::new_v4(),
        issued_at: now_ms(),
        kind,
    };
    let done = |cp: &Cp| cp.count(|m| matches!(m, UpMessage::CommandDone(_)));
    let user = || router.users().into_iter().find(|u| u.name == "CTRL2222");
    cp.command(&mk).await;
    wait_until(20, "applied", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;
    router
        .customer_login("CTRL2222", "1234", "AA:BB:CC:DD:EE:04")
        .unwrap();

    cp.command(&cmd(CommandKind::LogoutToken { token_id }))
        .await;
    wait_until(20, "logout", || done(cp) == 1).await;
    assert!(router.sessions().is_empty());

    cp.command(&cmd(CommandKind::DisableToken { token_id }))
        .await;
    wait_until(20, "disable", || done(cp) == 2).await;
    assert!(user().unwrap().disabled);

    cp.command(&cmd(CommandKind::EnableToken { token_id }))
        .await;
    wait_until(20, "enable", || done(cp) == 3).await;
    assert!(!user().unwrap().disabled);

    let resync = cmd(CommandKind::Resync);
    cp.command(&resync).await;
    wait_until(20, "inventory", || {
        cp.seen_after(
            |m| matches!(m, UpMessage::CommandDone(d) if d.command_id == resync.id),
            |m| matches!(m, UpMessage::Inventory(_)),
        )
    })
    .await;
    assert_eq!(done(cp), 4);
    let inv = cp.collect(|m| match m {
        UpMessage::Inventory(i) => Some(i.clone()),
        _ => None,
    });
    let last = inv.last().unwrap();
    let u = last.users.iter().find(|u| u.name == "CTRL2222").unwrap();
    // sha256("1234")
    assert_eq!(
        u.password_sha256.as_deref(),
        Some("03ac674216f3e15c761ee1a5e255f067953623c8b388b4459e13f978d7c846f4")
    );

    router
        .customer_login("CTRL2222", "1234", "AA:BB:CC:DD:EE:04")
        .unwrap();
    cp.command(&cmd(CommandKind::DisableAll)).await;
    wait_until(20, "disable all", || done(cp) == 5).await;
    assert!(user().unwrap().disabled);
    assert!(router.sessions().is_empty());

    cp.command(&cmd(CommandKind::RemoveToken { token_id }))
        .await;
    wait_until(20, "remove", || done(cp) == 6).await;
    assert!(user().is_none());
    // Removing again is not an error: the token is already gone.
    cp.command(&cmd(CommandKind::RemoveToken { token_id }))
        .await;
    wait_until(20, "remove again", || done(cp) == 7).await;

    cp.command(&cmd(CommandKind::DisableToken { token_id }))
        .await;
    wait_until(20, "failure reported", || {
        cp.count(|m| matches!(m, UpMessage::CommandFailed(f) if !f.retryable)) == 1
    })
    .await;
    rig.stop().await;
}

/// A replaced device knows nothing of the vouchers sold before it came; the windows the server
/// sends it are enforced like its own: one that ended is closed at once, one still running is
/// left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_enforces_windows_it_is_sent() {
    let rig = rig("windows", MOSQUITTO, true).await;
    let (router, cp) = (&rig.router, &rig.cp);
    let mut ids = Vec::new();
    for code in ["OLDSALE1", "OLDSALE2"] {
        // Sold before the swap: on the router, but no window in this device's store.
        let cmd = create_token(code);
        let CommandKind::CreateToken(ct) = &cmd.kind else {
            unreachable!()
        };
        ids.push(ct.token_id);
        cp.command(&cmd).await;
    }
    wait_until(20, "applied", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 2
    })
    .await;
    let now = now_ms();
    let window = |i: usize, first_login_at: i64| mtm_common::ValidityWindow {
        token_id: ids[i],
        code: format!("OLDSALE{}", i + 1),
        validity_s: 3600,
        first_login_at: Some(first_login_at),
    };
    let track = Command {
        id: Uuid::new_v4(),
        issued_at: now,
        kind: CommandKind::TrackValidity(mtm_common::TrackValidity {
            // The first was first used two hours ago, the second a minute ago.
            windows: vec![window(0, now - 7_200_000), window(1, now - 60_000)],
        }),
    };
    cp.command(&track).await;
    wait_until(20, "the ended window closed", || {
        cp.count(|m| matches!(m, UpMessage::TokenExpired(t) if t.token_id == ids[0])) == 1
    })
    .await;
    let disabled = |name: &str| {
        router
            .users()
            .into_iter()
            .find(|u| u.name == name)
            .is_some_and(|u| u.disabled)
    };
    assert!(disabled("OLDSALE1"));
    assert!(
        !disabled("OLDSALE2"),
        "a window still running is left alone"
    );
    assert_eq!(
        cp.count(|m| matches!(m, UpMessage::TokenExpired(t) if t.token_id == ids[1])),
        0
    );
    rig.stop().await;
}
