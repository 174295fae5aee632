//! Client against the simulator and against scripted misbehaving routers.

mod common;
use std::time::{Duration, Instant};

use common::*;
use mtm_routeros::proto::{encode_sentence, Decoder};
use mtm_routeros::{Client, ClientConfig, Error, NewHotspotUser, SimConfig, Tls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::test]
async fn wrong_credentials_are_a_login_error() {
    let sim = sim().await;
    let e = Client::connect(&ClientConfig::plain(
        sim.addr().to_string(),
        "admin",
        "nope",
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(&e, Error::Login(m) if m == "invalid user name or password (6)"),
        "{e:?}"
    );
    assert!(!e.is_connection());
}

#[tokio::test]
async fn falls_back_to_the_md5_challenge() {
    let cfg = |version: &str, legacy| SimConfig {
        version: version.into(),
        legacy_auth: legacy,
        logins: vec![("admin".into(), "pw".into())],
        ..Default::default()
    };
    // Before 6.43 the challenge is the only login, and RouterOS checks it: no switch needed.
    for legacy in [false, true] {
        let sim = sim_with(cfg("6.42.12 (long-term)", legacy)).await;
        let c = Client::connect(&ClientConfig::plain(sim.addr().to_string(), "admin", "pw"))
            .await
            .unwrap();
        assert_eq!(c.identity().await.unwrap(), "MikroTik");
        let bad =
            Client::connect(&ClientConfig::plain(sim.addr().to_string(), "admin", "px")).await;
        assert!(matches!(bad, Err(Error::Login(m)) if m == "cannot log in"));
    }
}

#[tokio::test]
async fn queries_proplist_and_count_only() {
    let sim = sim().await;
    let c = client(&sim).await;
    for (name, profile, comment) in [
        ("Q1", "default", "a"),
        ("Q2", "default", ""),
        ("Q3", "default", "b"),
    ] {
        let mut words = vec![
            "/ip/hotspot/user/add".to_string(),
            format!("=name={name}"),
            format!("=profile={profile}"),
        ];
        if !comment.is_empty() {
            words.push(format!("=comment={comment}"));
        }
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        c.command(&w).await.unwrap();
    }
    let names =
        |r: mtm_routeros::Reply| r.rows.iter().map(|r| r["name"].clone()).collect::<Vec<_>>();
    let or = c
        .command(&[
            "/ip/hotspot/user/print",
            "?name=Q1",
            "?name=Q3",
            "?#|",
            "=.proplist=name",
        ])
        .await
        .unwrap();
    assert_eq!(names(or.clone()), ["Q1", "Q3"]);
    assert_eq!(or.rows[0].len(), 1, "proplist limits the properties");
    let not = c
        .command(&[
            "/ip/hotspot/user/print",
            "?=name=Q1",
            "?#!",
            "?>comment=",
            "=.proplist=name",
        ])
        .await
        .unwrap();
    assert_eq!(names(not), ["default-trial", "Q3"]);
    let lacks = c
        .command(&["/ip/hotspot/user/print", "?-comment"])
        .await
        .unwrap();
    assert_eq!(names(lacks), ["Q2"]);
    let count = c
        .command(&["/ip/hotspot/user/print", "=count-only=", "?profile=default"])
        .await
        .unwrap();
    assert_eq!(count.ret(), Some("4"));
    assert!(count.rows.is_empty());
    let getall = c
        .command(&["/ip/hotspot/user/getall", "?name=Q2", "=.proplist=.id"])
        .await
        .unwrap();
    assert_eq!(getall.rows[0][".id"], "*2");
}

#[tokio::test]
async fn many_pipelined_commands_on_one_connection() {
    let sim = sim().await;
    let c = client(&sim).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..400 {
        let c = c.clone();
        set.spawn(async move {
            if i % 2 == 0 {
                c.add_hotspot_user(&NewHotspotUser {
                    name: format!("P{i}"),
                    ..Default::default()
                })
                .await
                .map(Some)
            } else {
                c.command(&["/system/identity/print"]).await.map(|r| {
                    assert_eq!(r.rows[0]["name"], "MikroTik");
                    None
                })
            }
        });
    }
    let mut ids = std::collections::HashSet::new();
    while let Some(r) = set.join_next().await {
        if let Some(id) = r.unwrap().unwrap() {
            assert!(ids.insert(id));
        }
    }
    assert_eq!(ids.len(), 200);
    assert_eq!(sim.users().len(), 200);
}

#[tokio::test]
async fn traps_carry_the_first_message_and_category() {
    let sim = sim().await;
    let c = client(&sim).await;
    let e = c.command(&["/ip/nothere/print"]).await.unwrap_err();
    assert!(
        matches!(&e, Error::Trap { message, category: Some(0) } if message == "no such command or directory (nothere)"),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "no such command or directory (nothere)");
    assert!(!e.is_connection());
    // the session is still fine
    assert!(c.system_resource().await.is_ok());
}

#[tokio::test]
async fn stream_follow_listen_and_cancel() {
    let sim = sim().await;
    let c = client(&sim).await;
    c.add_hotspot_user(&NewHotspotUser {
        name: "S0".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut follow = c
        .stream(&[
            "/ip/hotspot/user/print",
            "=follow=",
            "?name=S0",
            "=.proplist=name",
        ])
        .await
        .unwrap();
    assert_eq!(follow.next().await.unwrap().unwrap()["name"], "S0");
    let mut listen = c.stream(&["/ip/hotspot/active/listen"]).await.unwrap();
    c.add_hotspot_user(&NewHotspotUser {
        name: "S1".into(),
        password: Some("x".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    sim.customer_login("S1", "x", "02:00:00:00:00:09").unwrap();
    let row = listen.next().await.unwrap().unwrap();
    assert_eq!(row["user"], "S1");
    sim.customer_logout("S1");
    let dead = listen.next().await.unwrap().unwrap();
    assert_eq!(dead[".dead"], "true");
    listen.cancel().await.unwrap();
    follow.cancel().await.unwrap();
    // dropping a stream cancels it too; the session keeps working
    let s = c.stream(&["/ip/hotspot/user/listen"]).await.unwrap();
    drop(s);
    assert_eq!(c.identity().await.unwrap(), "MikroTik");
}

#[tokio::test]
async fn stream_that_traps_reports_the_trap_once_then_ends() {
    let sim = sim().await;
    let c = client(&sim).await;
    let mut s = c.stream(&["/ip/hotspot/user/frobnicate"]).await.unwrap();
    let e = s.next().await.unwrap().unwrap_err();
    assert!(e.is_trap("no such command"), "{e:?}");
    assert!(s.next().await.is_none());
    assert!(
        c.command(&[]).await.is_err(),
        "an empty command is refused locally"
    );
    assert_eq!(c.identity().await.unwrap(), "MikroTik");
}

#[tokio::test]
async fn close_quits_and_later_commands_fail_as_connection_errors() {
    let sim = sim().await;
    let c = client(&sim).await;
    let c2 = c.clone();
    c.close().await;
    assert!(c2.is_closed());
    let e = c2.identity().await.unwrap_err();
    assert!(e.is_connection(), "{e:?}");
}

/// A scripted router: answers the login, then hands every later sentence to `on_command`,
/// which returns raw bytes to send (or None to close).
async fn scripted(
    on_command: impl Fn(Vec<Vec<u8>>) -> Option<Vec<u8>> + Send + 'static,
) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut d = Decoder::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            d.extend(&buf[..n]);
            while let Ok(Some(sent)) = d.next_sentence() {
                let tag = sent.tag().map(|t| [b".tag=".as_slice(), t].concat());
                let reply = if sent.first() == b"/login" {
                    let mut b = Vec::new();
                    let mut w: Vec<Vec<u8>> = vec![b"!done".to_vec()];
                    w.extend(tag);
                    encode_sentence(&w, &mut b);
                    Some(b)
                } else {
                    on_command(sent.words)
                };
                match reply {
                    Some(b) => {
                        if !b.is_empty() {
                            s.write_all(&b).await.unwrap();
                        }
                    }
                    None => return,
                }
            }
        }
    });
    addr
}

/// Generous limits, so that only the timeout tests depend on timing.
fn cfg(addr: std::net::SocketAddr) -> ClientConfig {
    ClientConfig::plain(addr.to_string(), "admin", "")
}

#[tokio::test]
async fn command_timeout() {
    let addr = scripted(|_| Some(Vec::new())).await;
    let mut quick = cfg(addr);
    quick.command_timeout = Duration::from_millis(300);
    let c = Client::connect(&quick).await.unwrap();
    let t = Instant::now();
    let e = c.identity().await.unwrap_err();
    assert!(matches!(e, Error::Timeout("command")), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(e.is_connection());
}

#[tokio::test]
async fn connect_timeout_when_the_router_never_answers() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let _keep = tokio::spawn(async move {
        let (_s, _) = l.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
    });
    let mut quick = cfg(addr);
    quick.connect_timeout = Duration::from_millis(500);
    let t = Instant::now();
    let e = Client::connect(&quick).await.unwrap_err();
    assert!(matches!(e, Error::Timeout("connect")), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn dropped_connection_fails_every_command_in_flight() {
    let addr = scripted(|w| (w[0] != b"/die").then(Vec::new)).await;
    let c = Client::connect(&cfg(addr)).await.unwrap();
    let pending: Vec<_> = (0..5)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.identity().await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t = Instant::now();
    let e = c.command(&["/die"]).await.unwrap_err();
    assert!(matches!(e, Error::Closed), "{e:?}");
    for p in pending {
        let e = p.await.unwrap().unwrap_err();
        assert!(e.is_connection(), "{e:?}");
    }
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(c.is_closed());
}

#[tokio::test]
async fn fatal_mid_session_is_reported_to_waiters() {
    let addr = scripted(|_| {
        let mut b = Vec::new();
        encode_sentence(&[b"!fatal".as_slice(), b"out of memory"], &mut b);
        Some(b)
    })
    .await;
    let c = Client::connect(&cfg(addr)).await.unwrap();
    let e = c.identity().await.unwrap_err();
    assert!(
        matches!(&e, Error::Fatal(m) if m == "out of memory"),
        "{e:?}"
    );
}

#[tokio::test]
async fn reserved_control_byte_from_router_is_a_protocol_error() {
    let addr = scripted(|_| Some(vec![0xF8, 1, 2, 3])).await;
    let c = Client::connect(&cfg(addr)).await.unwrap();
    let e = c.identity().await.unwrap_err();
    assert!(
        matches!(&e, Error::Protocol(m) if m.contains("0xF8")),
        "{e:?}"
    );
}

#[tokio::test]
async fn unreachable_router_drops_sessions_and_refuses_until_back() {
    let sim = sim().await;
    let c = client(&sim).await;
    let mut s = c.stream(&["/ip/hotspot/user/listen"]).await.unwrap();
    sim.set_reachable(false);
    let e = s.next().await.unwrap().unwrap_err();
    assert!(e.is_connection(), "{e:?}");
    wait_for(|| c.is_closed(), "client to notice").await;
    let mut quick = ClientConfig::plain(sim.addr().to_string(), "admin", "");
    quick.connect_timeout = Duration::from_millis(500);
    assert!(Client::connect(&quick).await.unwrap_err().is_connection());
    sim.set_reachable(true);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match Client::connect(&quick).await {
            Ok(c) => {
                assert_eq!(c.identity().await.unwrap(), "MikroTik");
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "not back: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn non_utf8_values_round_trip_as_bytes() {
    let sim = sim().await;
    let c = client(&sim).await;
    c.command_bytes(&[b"/ip/hotspot/user/add", b"=name=\xE9t\xE9"])
        .await
        .unwrap();
    let r = c
        .command_bytes(&[
            b"/ip/hotspot/user/print",
            b"?name=\xE9t\xE9",
            b"=.proplist=name",
        ])
        .await
        .unwrap();
    assert_eq!(
        r.rows[0]["name"], "\u{FFFD}t\u{FFFD}",
        "Row text is lossy UTF-8 at the edge"
    );
}

async fn tls_sim() -> mtm_routeros::SimHandle {
    sim_with(SimConfig {
        tls_bind: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn api_ssl_verified_against_the_ca() {
    let sim = tls_sim().await;
    let ca = sim.tls_ca_pem().unwrap().into_bytes();
    for name in ["localhost", "127.0.0.1"] {
        let mut cfg = ClientConfig::plain(sim.tls_addr().unwrap().to_string(), "admin", "");
        cfg.tls = Tls::Verified {
            ca_pem: Some(ca.clone()),
            server_name: name.into(),
        };
        let c = Client::connect(&cfg).await.unwrap();
        assert_eq!(c.identity().await.unwrap(), "MikroTik");
        c.close().await;
    }
    // wrong name and untrusted CA both fail the handshake
    let mut cfg = ClientConfig::plain(sim.tls_addr().unwrap().to_string(), "admin", "");
    cfg.tls = Tls::Verified {
        ca_pem: Some(ca),
        server_name: "router.example".into(),
    };
    assert!(matches!(Client::connect(&cfg).await, Err(Error::Tls(_))));
    let other = tls_sim().await;
    cfg.tls = Tls::Verified {
        ca_pem: other.tls_ca_pem().map(String::into_bytes),
        server_name: "localhost".into(),
    };
    assert!(matches!(Client::connect(&cfg).await, Err(Error::Tls(_))));
}

#[tokio::test]
async fn api_ssl_self_signed_needs_the_explicit_opt_in() {
    let sim = tls_sim().await;
    let mut cfg = ClientConfig::plain(sim.tls_addr().unwrap().to_string(), "admin", "");
    cfg.tls = Tls::InsecureSelfSigned;
    let c = Client::connect(&cfg).await.unwrap();
    assert_eq!(c.system_resource().await.unwrap().board_name, "hAP ax^3");
    cfg.tls = Tls::Verified {
        ca_pem: None,
        server_name: "localhost".into(),
    };
    assert!(
        matches!(Client::connect(&cfg).await, Err(Error::Tls(_))),
        "system roots do not trust the sim"
    );
}
