//! The embedded broker holds each agent to its own topics and client id: the real rumqttd with
//! its filter in front (`broker::filter`), agents' logins in a real SQLite store, and real
//! rumqttc clients over loopback. With agent A's login nothing of agent B's is delivered, A's
//! publishes on B's topics are dropped, and a connect with B's client id is refused while B
//! stays connected.

mod support;

use mtm_common::topics;
use rumqttc::{AsyncClient, ConnectReturnCode, Event, LastWill, MqttOptions, Packet, QoS};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;

const LIMIT: Duration = Duration::from_secs(20);

/// What a test connection saw.
#[derive(Debug)]
enum Seen {
    Connected,
    SubAck(Vec<bool>),
    Message(String, Vec<u8>),
    PubAck,
    /// The connection ended; `code` is the CONNACK refusal, if that was why.
    Down(Option<ConnectReturnCode>),
}

/// Connect with `opts` and forward what happens; reconnects after a pause like an agent.
fn connect(opts: MqttOptions) -> (AsyncClient, mpsc::UnboundedReceiver<Seen>) {
    let (client, mut el) = AsyncClient::new(opts, 64);
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let seen = match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => Seen::Connected,
                Ok(Event::Incoming(Packet::SubAck(a))) => Seen::SubAck(
                    a.return_codes
                        .iter()
                        .map(|c| matches!(c, rumqttc::SubscribeReasonCode::Success(_)))
                        .collect(),
                ),
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    Seen::Message(p.topic.clone(), p.payload.to_vec())
                }
                Ok(Event::Incoming(Packet::PubAck(_))) => Seen::PubAck,
                Ok(_) => continue,
                Err(e) => {
                    let code = match e {
                        rumqttc::ConnectionError::ConnectionRefused(c) => Some(c),
                        _ => None,
                    };
                    if tx.send(Seen::Down(code)).is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            if tx.send(seen).is_err() {
                return;
            }
        }
    });
    (client, rx)
}

/// The next event that `pick` accepts (others are skipped), failing after [`LIMIT`].
async fn next<T>(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    what: &str,
    mut pick: impl FnMut(Seen) -> Option<T>,
) -> T {
    let found = tokio::time::timeout(LIMIT, async {
        while let Some(s) = rx.recv().await {
            if let Some(t) = pick(s) {
                return Some(t);
            }
        }
        None
    })
    .await;
    found
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("timed out waiting for {what}"))
}

async fn connected(rx: &mut mpsc::UnboundedReceiver<Seen>, who: &str) {
    next(rx, &format!("{who} connected"), |s| match s {
        Seen::Connected => Some(()),
        Seen::Down(Some(code)) => panic!("{who} refused: {code:?}"),
        _ => None,
    })
    .await;
}

async fn suback(rx: &mut mpsc::UnboundedReceiver<Seen>, what: &str) -> Vec<bool> {
    next(rx, what, |s| match s {
        Seen::SubAck(c) => Some(c),
        _ => None,
    })
    .await
}

/// An agent's options as mtm-agent sets them, with `client_id` and `will_topic` overridable.
fn agent_opts(addr: SocketAddr, user: &str, password: &str, client_id: &str) -> MqttOptions {
    let mut o = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
    o.set_credentials(user, password);
    o.set_keep_alive(Duration::from_secs(5));
    o.set_last_will(LastWill::new(
        topics::status(user),
        topics::OFFLINE.to_vec(),
        QoS::AtLeastOnce,
        true,
    ));
    o
}

/// One connect attempt on a fresh connection: the CONNACK code, or `None` if the connection
/// failed otherwise.
async fn connect_once(opts: MqttOptions) -> Option<ConnectReturnCode> {
    let (client, mut el) = AsyncClient::new(opts, 4);
    let code = tokio::time::timeout(LIMIT, async {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(a))) => return Some(a.code),
                Ok(_) => {}
                Err(rumqttc::ConnectionError::ConnectionRefused(c)) => return Some(c),
                Err(_) => return None,
            }
        }
    })
    .await
    .expect("the broker answers a connect");
    let _ = client.try_disconnect();
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_login_reaches_nothing_of_another_agent() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = ("cafe-a", "cafe-b");
    let (pass_a, pass_b) = ("password-of-a", "password-of-b");
    let logins = [(a, pass_a), (b, pass_b)].map(|(id, pw)| (id.to_owned(), pw.to_owned()));
    let (_store, addr, internal) = support::embedded_broker_with(dir.path(), &logins).await;

    // A watcher with the server's own login sees everything that reaches rumqttd, in one filter
    // (rumqttd keeps one log per filter, so the order of arrival is kept).
    let mut wo = MqttOptions::new("test-watcher", addr.ip().to_string(), addr.port());
    wo.set_credentials(internal.username.as_str(), internal.password.as_str());
    let (watcher, mut watched) = connect(wo);
    connected(&mut watched, "the watcher").await;
    watcher
        .subscribe("mtm/v1/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    assert_eq!(suback(&mut watched, "watcher suback").await, [true]);

    // B: a well-behaved agent reading its commands and the catalog.
    let (agent_b, mut seen_b) = connect(agent_opts(addr, b, pass_b, &topics::client_id(b)));
    connected(&mut seen_b, "agent B").await;
    agent_b
        .subscribe(topics::down(b), QoS::AtLeastOnce)
        .await
        .unwrap();
    assert_eq!(suback(&mut seen_b, "B's own down topic").await, [true]);
    agent_b
        .subscribe(topics::PACKAGES, QoS::AtLeastOnce)
        .await
        .unwrap();
    assert_eq!(suback(&mut seen_b, "the catalog").await, [true]);

    // A's login: its own client id only, a last will only on its own status topic.
    let wrong_id = agent_opts(addr, a, pass_a, &topics::client_id(b));
    assert_eq!(
        connect_once(wrong_id).await,
        Some(ConnectReturnCode::BadClientId),
        "A's login with B's client id"
    );
    let random_id = agent_opts(addr, a, pass_a, "whatever-1");
    assert_eq!(
        connect_once(random_id).await,
        Some(ConnectReturnCode::BadClientId)
    );
    let mut foreign_will = agent_opts(addr, a, pass_a, &topics::client_id(a));
    foreign_will.set_last_will(LastWill::new(
        topics::status(b),
        topics::OFFLINE.to_vec(),
        QoS::AtLeastOnce,
        true,
    ));
    assert_eq!(
        connect_once(foreign_will).await,
        Some(ConnectReturnCode::NotAuthorized),
        "a last will on B's status topic"
    );
    let wrong_password = agent_opts(addr, a, "guess", &topics::client_id(a));
    assert_eq!(
        connect_once(wrong_password).await,
        Some(ConnectReturnCode::BadUserNamePassword)
    );

    let (agent_a, mut seen_a) = connect(agent_opts(addr, a, pass_a, &topics::client_id(a)));
    connected(&mut seen_a, "agent A").await;
    for filter in [
        "mtm/v1/#".to_owned(),
        "#".to_owned(),
        "mtm/v1/down/+".to_owned(),
        "mtm/v1/status/+".to_owned(),
        topics::down(b),
        topics::up(b),
    ] {
        agent_a.subscribe(&filter, QoS::AtLeastOnce).await.unwrap();
        assert_eq!(
            suback(&mut seen_a, &filter).await,
            [false],
            "A may not subscribe to {filter}"
        );
    }
    agent_a
        .subscribe(topics::down(a), QoS::AtLeastOnce)
        .await
        .unwrap();
    assert_eq!(suback(&mut seen_a, "A's own down topic").await, [true]);

    // A publishes on B's topics and the catalog: each is acknowledged but dropped; then on its
    // own up topic, which arrives. Nothing forged reaches the watcher before it.
    for topic in [
        topics::down(b),
        topics::up(b),
        topics::status(b),
        topics::PACKAGES.to_owned(),
    ] {
        agent_a
            .publish(&topic, QoS::AtLeastOnce, true, b"forged".to_vec())
            .await
            .unwrap();
        next(
            &mut seen_a,
            "the puback for a forged publish",
            |s| match s {
                Seen::PubAck => Some(()),
                Seen::Down(_) => panic!("A's connection ended"),
                _ => None,
            },
        )
        .await;
    }
    agent_a
        .publish(topics::up(a), QoS::AtLeastOnce, false, b"own".to_vec())
        .await
        .unwrap();
    next(
        &mut watched,
        "A's own message at the watcher",
        |s| match s {
            Seen::Message(t, p) => {
                assert_ne!(p, b"forged", "the broker let A publish on {t}");
                (t == topics::up(a) && p == b"own").then_some(())
            }
            _ => None,
        },
    )
    .await;

    // Another try at B's client id, then the server sends B a command: B gets it on the same
    // connection, and nothing forged before it.
    assert_eq!(
        connect_once(agent_opts(addr, a, pass_a, &topics::client_id(b))).await,
        Some(ConnectReturnCode::BadClientId)
    );
    watcher
        .publish(
            topics::down(b),
            QoS::AtLeastOnce,
            false,
            b"command".to_vec(),
        )
        .await
        .unwrap();
    next(&mut seen_b, "the server's command at B", |s| match s {
        Seen::Message(t, p) if t == topics::down(b) => {
            assert_eq!(p, b"command", "B got something else on its down topic");
            Some(())
        }
        Seen::Message(t, p) => panic!("B got {t}: {p:?}"),
        Seen::Down(_) | Seen::Connected => panic!("B's session was interrupted"),
        _ => None,
    })
    .await;
}
