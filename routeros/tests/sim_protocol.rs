//! The simulator on the wire: tag rules, login state machine, trap-then-done, `=ret=`,
//! `!empty`, `/cancel`, `/quit`, unknown commands, bytes kept as bytes.

mod common;
use common::*;
use mtm_routeros::{SimConfig, SimHandle};

#[tokio::test]
async fn untagged_commands_get_untagged_replies_and_tags_come_right_after_the_reply_word() {
    let sim = sim().await;
    let mut r = Raw::login(sim.addr()).await;
    r.send(&["/ip/hotspot/user/add", "=name=A1", "=password=p"])
        .await;
    assert_eq!(r.recv().await, vec!["!done", "=ret=*1"]);
    r.send(&[
        "/ip/hotspot/user/print",
        "?name=A1",
        "=.proplist=name",
        ".tag=abc",
    ])
    .await;
    assert_eq!(r.recv().await, vec!["!re", ".tag=abc", "=name=A1"]);
    assert_eq!(r.recv().await, vec!["!done", ".tag=abc"]);
    // an empty tag counts as no tag
    r.send(&["/system/identity/print", ".tag="]).await;
    assert_eq!(r.recv().await, vec!["!re", "=name=MikroTik"]);
    assert_eq!(r.recv().await, vec!["!done"]);
}

#[tokio::test]
async fn login_state_machine() {
    let sim = sim_with(SimConfig {
        logins: vec![("api".into(), "pw".into())],
        ..Default::default()
    })
    .await;
    let mut r = Raw::connect(sim.addr()).await;
    r.send(&["/ip/hotspot/user/print", ".tag=1"]).await;
    assert_eq!(
        r.recv().await,
        vec!["!trap", ".tag=1", "=message=not logged in"]
    );
    assert_eq!(r.recv().await, vec!["!done", ".tag=1"]);
    r.send(&["/login", "=name=api", "=password=wrong"]).await;
    assert_eq!(
        r.recv().await,
        vec!["!trap", "=message=invalid user name or password (6)"]
    );
    assert_eq!(r.recv().await, vec!["!done"]);
    // the connection stays open and login may be retried
    r.send(&["/login", "=name=api", "=password=pw", ".tag=x"])
        .await;
    assert_eq!(
        r.recv().await,
        vec!["!done", ".tag=x"],
        "plain success is a bare !done"
    );
    // a bare /login gets a challenge; with legacy auth off the response is refused
    r.send(&["/login"]).await;
    let ch = r.recv().await;
    assert_eq!(ch[0], "!done");
    assert!(
        ch[1].starts_with("=ret=") && ch[1].len() == 5 + 32,
        "{ch:?}"
    );
    r.send(&[
        "/login",
        "=name=api",
        "=response=00aabbccddeeff00112233445566778899",
    ])
    .await;
    assert_eq!(
        r.recv().await[1],
        "=message=invalid user name or password (6)"
    );
}

#[tokio::test]
async fn too_many_sentences_before_login_is_fatal() {
    let sim = sim().await;
    let mut r = Raw::connect(sim.addr()).await;
    for _ in 0..16 {
        r.send(&["/system/resource/print"]).await;
        r.recv_until_done(None).await;
    }
    r.send(&["/system/resource/print"]).await;
    assert_eq!(
        r.recv().await,
        vec!["!fatal", "too many commands before login"]
    );
    r.expect_eof().await;
}

#[tokio::test]
async fn quit_sends_untagged_fatal_with_bare_reason_and_closes() {
    let sim = sim().await;
    let mut r = Raw::login(sim.addr()).await;
    r.send(&["/quit", ".tag=9"]).await;
    assert_eq!(
        r.recv().await,
        vec!["!fatal", "session terminated on request"]
    );
    r.expect_eof().await;
}

#[tokio::test]
async fn closes_when_the_client_closes() {
    let sim = sim().await;
    let mut r = Raw::login(sim.addr()).await;
    use tokio::io::AsyncWriteExt;
    r.stream.shutdown().await.unwrap();
    r.expect_eof().await;
}

#[tokio::test]
async fn traps_are_followed_by_done_and_unknown_paths_trap_twice() {
    let sim = sim().await;
    let mut r = Raw::login(sim.addr()).await;
    r.send(&["/ip/hotspot/user/frobnicate", ".tag=1"]).await;
    assert_eq!(
        r.recv_until_done(Some("1")).await,
        vec![
            vec!["!trap", ".tag=1", "=message=no such command"],
            vec!["!done", ".tag=1"]
        ]
    );
    r.send(&["/ip/hotspt/user/print"]).await;
    assert_eq!(
        r.recv_until_done(None).await,
        vec![
            vec![
                "!trap",
                "=category=0",
                "=message=no such command or directory (hotspt)"
            ],
            vec!["!trap", "=message=no such command prefix"],
            vec!["!done"],
        ]
    );
    // node-routeros' keep-alive
    r.send(&["#", ".tag=k"]).await;
    let got = r.recv_until_done(Some("k")).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0][0], "!trap");
    r.send(&["/ip/hotspot/user/add", "=name=X", "=bogus=1"])
        .await;
    assert_eq!(
        r.recv().await,
        vec!["!trap", "=message=unknown parameter bogus"]
    );
    assert_eq!(r.recv().await, vec!["!done"]);
    r.send(&["/ip/hotspot/user/add", "=name=X", "=limit-uptime=forever"])
        .await;
    assert_eq!(
        r.recv().await,
        vec![
            "!trap",
            "=category=1",
            "=message=invalid time value for argument limit-uptime"
        ]
    );
    r.recv().await;
    r.send(&["/ip/hotspot/user/add", "=name=X", "=profile=nope"])
        .await;
    assert_eq!(
        r.recv().await[2],
        "=message=input does not match any value of profile"
    );
    r.recv().await;
    r.send(&["/ip/hotspot/user/remove", "=.id=*99"]).await;
    assert_eq!(r.recv().await, vec!["!trap", "=message=no such item"]);
    r.recv().await;
    r.send(&["/ip/hotspot/user/remove", "=.id=*zz"]).await;
    assert_eq!(
        r.recv().await,
        vec!["!trap", "=message=invalid internal item number"]
    );
    r.recv().await;
    r.send(&["/ip/hotspot/user/remove", "=numbers=default-trial"])
        .await;
    assert_eq!(
        r.recv().await,
        vec!["!trap", "=message=default trial user can not be removed"]
    );
}

#[tokio::test]
async fn empty_is_sent_only_when_emulating_7_18_or_later() {
    let old = sim().await;
    let mut r = Raw::login(old.addr()).await;
    r.send(&["/ip/hotspot/active/print", ".tag=8"]).await;
    assert_eq!(r.recv().await, vec!["!done", ".tag=8"]);

    let new = sim_with(SimConfig {
        version: "7.18.2 (stable)".into(),
        ..Default::default()
    })
    .await;
    let mut r = Raw::login(new.addr()).await;
    r.send(&["/ip/hotspot/active/print", ".tag=8"]).await;
    assert_eq!(r.recv().await, vec!["!empty", ".tag=8"]);
    assert_eq!(r.recv().await, vec!["!done", ".tag=8"]);
    r.send(&["/ip/hotspot/active/print", "=count-only="]).await;
    assert_eq!(r.recv().await, vec!["!done", "=ret=0"]);
}

#[tokio::test]
async fn attribute_forms_and_unset_properties() {
    let sim = sim().await;
    let mut r = Raw::login(sim.addr()).await;
    // "=password" without a second '=' is an empty value (RouterOS-api sends that)
    r.send(&[
        "/ip/hotspot/user/add",
        "=name=N1",
        "=password",
        "=comment=a=b",
    ])
    .await;
    assert_eq!(r.recv().await[0], "!done");
    r.send(&["/ip/hotspot/user/print", "?name=N1"]).await;
    let row = r.recv().await;
    assert!(row.contains(&"=comment=a=b".to_string()), "{row:?}");
    assert!(
        !row.iter().any(|w| w.starts_with("=password=")),
        "unset password omitted: {row:?}"
    );
    assert!(
        !row.iter().any(|w| w.starts_with("=limit-uptime=")),
        "{row:?}"
    );
    assert!(row.contains(&"=uptime=0s".to_string()));
}

#[tokio::test]
async fn bytes_are_stored_and_echoed_unchanged() {
    let sim = sim().await;
    let mut r = Raw::login(sim.addr()).await;
    r.send_bytes(&[
        b"/ip/hotspot/user/add",
        b"=name=caf\xE9",
        b"=comment=\xFF\x00\x80",
    ])
    .await;
    assert_eq!(r.recv().await[0], "!done");
    r.send_bytes(&[
        b"/ip/hotspot/user/print",
        b"?name=caf\xE9",
        b"=.proplist=name,comment",
    ])
    .await;
    let row = r.recv_raw().await.unwrap();
    assert!(row.contains(&b"=name=caf\xE9".to_vec()), "{row:?}");
    assert!(row.contains(&b"=comment=\xFF\x00\x80".to_vec()), "{row:?}");
}

#[tokio::test]
async fn cancel_interrupts_a_follow_in_the_observed_order() {
    let sim = sim().await;
    let mut r = Raw::login(sim.addr()).await;
    r.send(&["/ip/hotspot/user/add", "=name=F1"]).await;
    r.recv().await;
    r.send(&[
        "/ip/hotspot/user/print",
        "=follow=",
        "?name=F1",
        "=.proplist=name",
        ".tag=f",
    ])
    .await;
    assert_eq!(r.recv().await, vec!["!re", ".tag=f", "=name=F1"]);
    r.send(&[
        "/ip/hotspot/user/set",
        "=numbers=F1",
        "=comment=c",
        ".tag=s",
    ])
    .await;
    let mut seen = vec![r.recv().await, r.recv().await];
    seen.sort();
    assert_eq!(
        seen,
        vec![vec!["!done", ".tag=s"], vec!["!re", ".tag=f", "=name=F1"]]
    );
    r.send(&["/cancel", "=tag=f", ".tag=c"]).await;
    assert_eq!(
        r.recv().await,
        vec!["!trap", ".tag=f", "=category=2", "=message=interrupted"]
    );
    assert_eq!(r.recv().await, vec!["!done", ".tag=c"]);
    assert_eq!(r.recv().await, vec!["!done", ".tag=f"]);
    // cancelling an unknown tag just completes (simulator's choice)
    r.send(&["/cancel", "=tag=nope", ".tag=c2"]).await;
    assert_eq!(r.recv().await, vec!["!done", ".tag=c2"]);
}

#[tokio::test]
async fn listen_reports_changes_and_removals() {
    let sim = sim().await;
    let mut r = Raw::login(sim.addr()).await;
    r.send(&["/ip/hotspot/user/listen", ".tag=l"]).await;
    let mut c = Raw::login(sim.addr()).await;
    c.send(&["/ip/hotspot/user/add", "=name=L1"]).await;
    assert_eq!(c.recv().await, vec!["!done", "=ret=*1"]);
    let re = r.recv().await;
    assert_eq!(&re[..2], &["!re", ".tag=l"]);
    assert!(re.contains(&"=name=L1".to_string()) && re.contains(&"=.id=*1".to_string()));
    c.send(&["/ip/hotspot/user/remove", "=.id=*1"]).await;
    c.recv().await;
    assert_eq!(
        r.recv().await,
        vec!["!re", ".tag=l", "=.dead=true", "=.id=*1"]
    );
    r.send(&["/cancel"]).await;
    assert_eq!(r.recv().await[..2], ["!trap", ".tag=l"]);
    assert_eq!(r.recv().await, vec!["!done"]);
    assert_eq!(r.recv().await, vec!["!done", ".tag=l"]);
}

/// The response to a challenge, as every client computes it (API-NOTES §3.2).
fn challenge_response(password: &[u8], challenge_hex: &str) -> String {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    h.update([0u8]);
    h.update(password);
    h.update(hex::decode(challenge_hex).unwrap());
    format!("=response=00{}", hex::encode(h.finalize()).to_uppercase())
}

/// A bare `/login`, then the response to its challenge; returns the reply to the response.
async fn challenge_login(sim: &SimHandle, password: &[u8]) -> Vec<String> {
    let mut r = Raw::connect(sim.addr()).await;
    r.send(&["/login", ".tag=1"]).await;
    let ch = r.recv().await;
    let hexch = ch
        .iter()
        .find_map(|w| w.strip_prefix("=ret="))
        .unwrap()
        .to_string();
    let resp = challenge_response(password, &hexch);
    r.send(&["/login", "=name=admin", &resp, ".tag=2"]).await;
    r.recv().await
}

#[tokio::test]
async fn legacy_challenge_login_when_enabled() {
    let sim = sim_with(SimConfig {
        legacy_auth: true,
        logins: vec![("admin".into(), "s3".into())],
        ..Default::default()
    })
    .await;
    assert_eq!(challenge_login(&sim, b"s3").await, vec!["!done", ".tag=2"]);
}

/// RouterOS before 6.43 knows only the challenge login and checks the response; 6.43 added the
/// plain login and still checked it; 6.45.1 stopped storing passwords in a form that can check
/// it, so from there on the response is refused (unless `legacy_auth`).
#[tokio::test]
async fn challenge_response_is_checked_by_version_without_legacy_auth() {
    for (version, accepted) in [
        ("6.40.9 (bugfix)", true),
        ("6.42.12 (long-term)", true),
        ("6.44.6 (long-term)", true),
        ("6.45.1 (stable)", false),
        ("6.49.10 (long-term)", false),
        ("7.15.3 (stable)", false),
    ] {
        let sim = sim_with(SimConfig {
            version: version.into(),
            logins: vec![("admin".into(), "s3".into())],
            ..Default::default()
        })
        .await;
        let reply = challenge_login(&sim, b"s3").await;
        if accepted {
            assert_eq!(reply, vec!["!done", ".tag=2"], "{version}");
            let wrong = challenge_login(&sim, b"s4").await;
            assert_eq!(wrong[0], "!trap", "{version}");
        } else {
            assert_eq!(
                reply,
                vec![
                    "!trap",
                    ".tag=2",
                    "=message=invalid user name or password (6)"
                ],
                "{version}"
            );
        }
    }
}

#[tokio::test]
async fn pre_6_43_answers_named_login_with_challenge_and_old_failure_text() {
    let sim = sim_with(SimConfig {
        version: "6.42.12 (long-term)".into(),
        ..Default::default()
    })
    .await;
    let mut r = Raw::connect(sim.addr()).await;
    r.send(&["/login", "=name=admin", "=password="]).await;
    assert!(r.recv().await[1].starts_with("=ret="));
    r.send(&["/login", "=name=admin", "=response=00ff"]).await;
    assert_eq!(r.recv().await, vec!["!trap", "=message=cannot log in"]);
}
