//! `CreateTokens` end to end: simulator router, system Mosquitto, fake control plane. A batch
//! resumed after the agent died part way (its first vouchers already on the router) makes
//! each voucher exactly once, a name taken by another user fails that voucher alone, a
//! redelivered command is answered from the inbox, the same vouchers under a new command add
//! nothing, and every voucher made is vouched for and (when locked) bound at first login.

mod common;

use std::collections::HashMap;

use common::*;
use mtm_common::{
    router_comment, Command, CommandKind, CreateToken, CreateTokens, DownMessage, UpMessage,
    MAX_TOKENS_PER_COMMAND,
};
use mtm_routeros::{Client, ClientConfig, NewHotspotUser};
use uuid::Uuid;

fn voucher(i: usize) -> CreateToken {
    CreateToken {
        token_id: Uuid::new_v4(),
        code: format!("BATCH{i:04}"),
        password: Some("1234".into()),
        package_slug: "1h".into(),
        limit_uptime_s: Some(3600),
        limit_bytes_total: None,
        validity_s: None,
        // As the server sends it: the first voucher describes the profile.
        profile: (i == 0).then(|| Box::new(spec_1h())),
        lock_to_mac: i.is_multiple_of(5),
    }
}

fn command(tokens: Vec<CreateToken>) -> Command {
    Command {
        id: Uuid::new_v4(),
        issued_at: now_ms(),
        kind: CommandKind::CreateTokens(CreateTokens { tokens }),
    }
}

fn answers(cp: &Cp, id: Uuid) -> Vec<mtm_common::TokensApplied> {
    cp.collect(|m| match m {
        UpMessage::TokensApplied(t) if t.command_id == id => Some(t.clone()),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_batch_makes_each_voucher_once() {
    let rig = rig("batch", MOSQUITTO, true).await;
    let (router, cp) = (&rig.router, &rig.cp);
    let n = MAX_TOKENS_PER_COMMAND;
    let vouchers: Vec<CreateToken> = (0..n).map(voucher).collect();

    // An earlier run got 200 vouchers onto the router before it died; someone else holds the
    // name of the last one.
    let ros = Client::connect(&ClientConfig::plain(
        router.addr().to_string(),
        "admin",
        "pw",
    ))
    .await
    .unwrap();
    let profile = mtm_routeros::UserProfile {
        id: String::new(),
        name: "mtm-1h".into(),
        rate_limit: Some("2M/5M".into()),
        shared_users: Some(1),
        session_timeout: None,
    };
    ros.upsert_user_profile(&profile).await.unwrap();
    for ct in &vouchers[..200] {
        ros.add_hotspot_user(&NewHotspotUser {
            name: ct.code.clone(),
            password: ct.password.clone(),
            profile: Some("mtm-1h".into()),
            comment: Some(router_comment(ct.token_id)),
            limit_uptime: Some(std::time::Duration::from_secs(3600)),
            limit_bytes_total: None,
        })
        .await
        .unwrap();
    }
    let taken = &vouchers[n - 1];
    ros.add_hotspot_user(&NewHotspotUser {
        name: taken.code.clone(),
        comment: Some("walk-in".into()),
        ..Default::default()
    })
    .await
    .unwrap();

    let cmd = command(vouchers.clone());
    cp.command(&cmd).await;
    wait_until(30, "TokensApplied", || !answers(cp, cmd.id).is_empty()).await;
    let a = answers(cp, cmd.id).remove(0);
    assert_eq!(a.applied.len(), n - 1);
    assert_eq!(a.applied.iter().filter(|t| t.already_present).count(), 200);
    assert_eq!(a.failed.len(), 1);
    assert_eq!(a.failed[0].token_id, taken.token_id);

    // Exactly one user per voucher, with its package's profile.
    let users = router.users();
    assert_eq!(
        users.len(),
        n,
        "199+1 made here, 200 from before, the walk-in"
    );
    let by_comment: HashMap<String, usize> =
        users
            .iter()
            .filter_map(|u| u.comment.clone())
            .fold(HashMap::new(), |mut m, c| {
                *m.entry(c).or_default() += 1;
                m
            });
    for ct in &vouchers[..n - 1] {
        assert_eq!(by_comment.get(&router_comment(ct.token_id)), Some(&1));
    }
    assert!(users
        .iter()
        .filter(|u| u.name != taken.code)
        .all(|u| u.profile.as_deref() == Some("mtm-1h")));

    // Redelivered: answered from the inbox, nothing done again.
    cp.command(&cmd).await;
    wait_until(20, "second answer", || answers(cp, cmd.id).len() == 2).await;
    let both = answers(cp, cmd.id);
    assert_eq!(both[0], both[1]);
    // The same vouchers under a new command (a store that lost its inbox): nothing added.
    let again = command(vouchers.clone());
    cp.command(&again).await;
    wait_until(30, "the repeat answered", || {
        !answers(cp, again.id).is_empty()
    })
    .await;
    let r = answers(cp, again.id).remove(0);
    assert_eq!(r.applied.len(), n - 1);
    assert!(r.applied.iter().all(|t| t.already_present));
    assert_eq!(router.users().len(), n);

    // Every voucher made is vouched for in the next inventory.
    let resync = Command {
        id: Uuid::new_v4(),
        issued_at: now_ms(),
        kind: CommandKind::Resync,
    };
    let resync_id = resync.id;
    cp.send(&DownMessage::Command(resync)).await;
    wait_until(20, "the resync's inventory", || {
        cp.seen_after(
            |m| matches!(m, UpMessage::CommandDone(d) if d.command_id == resync_id),
            |m| matches!(m, UpMessage::Inventory(_)),
        )
    })
    .await;
    let vouched = cp.collect(|m| match m {
        UpMessage::Inventory(i) => Some(i.issued_here.len()),
        _ => None,
    });
    assert_eq!(vouched.last(), Some(&(n - 1)));

    // A locked voucher of the batch binds to its first device.
    let locked = &vouchers[5];
    router
        .customer_login(&locked.code, "1234", "02:00:00:00:0A:01")
        .unwrap();
    wait_until(20, "MacBound", || {
        cp.count(|m| matches!(m, UpMessage::MacBound(b) if b.token_id == locked.token_id)) == 1
    })
    .await;
    rig.stop().await;
}
