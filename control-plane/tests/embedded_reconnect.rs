//! An agent that reconnects at once, while the embedded broker may not yet have noticed its old
//! connection end, keeps the new connection: the real rumqttd behind its filter, real rumqttc
//! clients, agents' logins in a real SQLite store. Many agents doing this at once is a reconnect
//! storm after a network blip.
//!
//! rumqttd numbers connections by reusable slot; the end of an old connection reported after a
//! new one took its slot would end the new one. Each client here keeps one connection attempt at
//! a time (as mtm-agent does), and then no connection is cut.

mod support;

use mtm_common::topics;
use rumqttc::{AsyncClient, Event, EventLoop, LastWill, MqttOptions, Packet, QoS};
use std::net::SocketAddr;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);
/// Agents reconnecting at once, and how many times each.
const AGENTS: usize = 32;
const ROUNDS: usize = 15;

fn agent_opts(addr: SocketAddr, agent_id: &str, password: &str) -> MqttOptions {
    let mut o = MqttOptions::new(
        topics::client_id(agent_id),
        addr.ip().to_string(),
        addr.port(),
    );
    o.set_credentials(agent_id, password);
    o.set_keep_alive(Duration::from_secs(5));
    o.set_clean_session(false);
    o.set_last_will(LastWill::new(
        topics::status(agent_id),
        topics::OFFLINE.to_vec(),
        QoS::AtLeastOnce,
        true,
    ));
    o
}

/// Poll `el` until `want` accepts an incoming packet; any connection error fails the test,
/// since nothing here should end a connection.
async fn until(el: &mut EventLoop, what: &str, mut want: impl FnMut(&Packet) -> bool) {
    let seen = tokio::time::timeout(LIMIT, async {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(p)) if want(&p) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    })
    .await;
    match seen {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{what}: the connection ended: {e}"),
        Err(_) => panic!("{what}: timed out"),
    }
}

/// Poll a new connection until its CONNACK, handing the event loop back.
fn connecting(
    addr: SocketAddr,
    agent_id: &str,
    pw: &str,
    what: String,
) -> tokio::task::JoinHandle<(AsyncClient, EventLoop)> {
    let (client, mut el) = AsyncClient::new(agent_opts(addr, agent_id, pw), 16);
    tokio::spawn(async move {
        until(&mut el, &what, |p| matches!(p, Packet::ConnAck(_))).await;
        (client, el)
    })
}

/// One agent, again and again: a new connection comes while the live one is dropped without a
/// DISCONNECT (a router losing its link and coming back); the new one must then receive a
/// command sent to it after it subscribed. How far apart the two are varies from round to
/// round, since which of them the broker hears of first is the point.
async fn reconnecting_agent(addr: SocketAddr, server: AsyncClient, agent_id: String, pw: String) {
    let down = topics::down(&agent_id);
    let mut live = connecting(addr, &agent_id, &pw, format!("{agent_id} first"))
        .await
        .unwrap();
    for round in 0..ROUNDS {
        let what = format!("{agent_id} round {round}");
        let next = connecting(addr, &agent_id, &pw, what.clone());
        // Not waiting for anything: the gap itself is what varies.
        tokio::time::sleep(Duration::from_micros((round as u64 % 5) * 700)).await;
        drop(live);
        let (client, mut el) = next.await.unwrap();
        client.subscribe(&down, QoS::AtLeastOnce).await.unwrap();
        until(&mut el, &what, |p| matches!(p, Packet::SubAck(_))).await;
        let body = format!("command {round}");
        server
            .publish(&down, QoS::AtLeastOnce, false, body.clone().into_bytes())
            .await
            .unwrap();
        until(
            &mut el,
            &what,
            |p| matches!(p, Packet::Publish(m) if m.payload[..] == *body.as_bytes()),
        )
        .await;
        live = (client, el);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_reconnecting_at_once_keep_their_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let agents: Vec<(String, String)> = (0..AGENTS)
        .map(|i| (format!("cafe-{i}"), format!("password-{i}")))
        .collect();
    let (_store, addr, internal) = support::embedded_broker_with(dir.path(), &agents).await;

    // The server's side, sending the commands.
    let mut so = MqttOptions::new("test-server", addr.ip().to_string(), addr.port());
    so.set_credentials(internal.username.as_str(), internal.password.as_str());
    let (server, mut server_el) = AsyncClient::new(so, 1024);
    until(&mut server_el, "the server", |p| {
        matches!(p, Packet::ConnAck(_))
    })
    .await;
    tokio::spawn(async move { while server_el.poll().await.is_ok() {} });

    let runs: Vec<_> = agents
        .into_iter()
        .map(|(id, pw)| tokio::spawn(reconnecting_agent(addr, server.clone(), id, pw)))
        .collect();
    for run in runs {
        run.await.expect("every agent kept every new connection");
    }
}
