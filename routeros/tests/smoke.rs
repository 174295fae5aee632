//! A first contract check of the client against the router simulator: log in, read and write
//! a hotspot user.

use mtm_routeros::*;

#[tokio::test]
async fn contract_smoke() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let c = Client::connect(&ClientConfig::plain(sim.addr().to_string(), "admin", ""))
        .await
        .unwrap();
    let id = c
        .add_hotspot_user(&NewHotspotUser {
            name: "V7K2Q9".into(),
            password: Some("4821".into()),
            comment: Some("mtm:x".into()),
            limit_uptime: Some(std::time::Duration::from_secs(3600)),
            ..Default::default()
        })
        .await
        .unwrap();
    let u = c.hotspot_user_by_comment("mtm:x").await.unwrap().unwrap();
    assert_eq!(u.id, id);
    assert_eq!(u.limit_uptime, Some(std::time::Duration::from_secs(3600)));
    let e = c
        .add_hotspot_user(&NewHotspotUser {
            name: "V7K2Q9".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        e.is_trap("failure: already have user with this name for this server"),
        "{e}"
    );
    sim.customer_login("V7K2Q9", "4821", "02:00:00:00:00:01")
        .unwrap();
    assert_eq!(c.active_sessions().await.unwrap().len(), 1);
    let r = c.system_resource().await.unwrap();
    assert_eq!(r.version, "7.15.3 (stable)");
    c.upsert_user_profile(&UserProfile {
        name: "mtm-1h".into(),
        rate_limit: Some("1M/2M".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    c.upsert_user_profile(&UserProfile {
        name: "mtm-1h".into(),
        shared_users: Some(2),
        ..Default::default()
    })
    .await
    .unwrap();
    let p = c.user_profiles().await.unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(p[1].shared_users, Some(2));
    c.remove_hotspot_user(&id).await.unwrap();
    c.close().await;
    sim.shutdown().await;
}
