//! The broker link. Each connection is a fresh rumqttc client, so nothing queued for a dead
//! connection is replayed by the library: after every connect the agent announces itself,
//! sends a `Hello`, and publishes the outbox from the lowest unacknowledged `seq` upwards, at
//! most `max_in_flight` unacknowledged at a time. Within a session, a message not acknowledged
//! after `resend_after_s` (or named by a `Resend`) is published again ([`crate::inflight`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use mtm_common::{topics, DownMessage, MAX_ENVELOPE_BYTES};
use rumqttc::{
    AsyncClient, ConnectReturnCode, Event, EventLoop, LastWill, MqttOptions, Packet, QoS,
    TlsConfiguration, Transport,
};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::config::MqttConfig;
use crate::downlink;
use crate::error::AgentError;
use crate::inflight::InFlight;
use crate::runtime::Shared;
use crate::store::{now_ms, InboxOutcome};
use crate::tls::{self, Trust};

/// Build the rumqttc options: last will, credentials, TLS, packet limits.
pub fn options(cfg: &MqttConfig, agent_id: &str) -> Result<MqttOptions, AgentError> {
    let mut o = MqttOptions::new(topics::client_id(agent_id), &cfg.host, cfg.port);
    o.set_keep_alive(Duration::from_secs(cfg.keep_alive_s.max(5)));
    // The broker keeps our subscription and queues commands while we are away; our own outbox
    // covers the other direction.
    o.set_clean_session(false);
    // A command is acknowledged to the broker only after it is in the inbox, so a crash in
    // between makes the broker deliver it again.
    o.set_manual_acks(true);
    let max = MAX_ENVELOPE_BYTES + 64 * 1024;
    o.set_max_packet_size(max, max);
    o.set_last_will(LastWill::new(
        topics::status(agent_id),
        topics::OFFLINE.to_vec(),
        QoS::AtLeastOnce,
        true,
    ));
    if let Some(user) = &cfg.username {
        o.set_credentials(user, cfg.password.clone().unwrap_or_default());
    }
    let trust = if let Some(pin) = &cfg.tls_pin_sha256 {
        let pin = tls::parse_pin(pin)
            .map_err(|e| AgentError::Mqtt(format!("mqtt.tls_pin_sha256: {e}")))?;
        Some(Trust::Pinned(pin))
    } else {
        cfg.tls.as_ref().map(|t| Trust::CaFile(&t.ca_file))
    };
    if let Some(trust) = trust {
        let config =
            tls::client_config(trust).map_err(|e| AgentError::Mqtt(format!("mqtt.tls: {e}")))?;
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(config)));
    }
    Ok(o)
}

/// Keep a broker connection up until `shutdown` turns true.
pub async fn run(shared: Arc<Shared>, opts: MqttOptions, mut shutdown: watch::Receiver<bool>) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
    // Sessions dropped because our own store failed: the broker is fine, so reconnecting at
    // once only spins. This one grows until the store works again.
    let mut local = Backoff::new(Duration::from_secs(1), Duration::from_secs(20));
    loop {
        if *shutdown.borrow() {
            return;
        }
        let (client, mut el) = AsyncClient::new(opts.clone(), 256);
        // Each packet at once, not held for the broker's delayed ACK (Nagle's algorithm).
        let mut network = el.network_options();
        network.set_tcp_nodelay(true);
        el.set_network_options(network);
        let mut backoffs = Backoffs {
            link: &mut backoff,
            local: &mut local,
        };
        let outcome = session(&shared, &client, &mut el, &mut shutdown, &mut backoffs).await;
        shared.mqtt_connected.store(false, Ordering::Relaxed);
        match outcome {
            Ok(()) => {
                say_goodbye(&shared, &client, &mut el).await;
                return;
            }
            Err(end) => {
                let (wait, e) = match end {
                    End::Link(e) => (backoff.next_delay(), e),
                    End::Local(e) => (local.next_delay(), e),
                };
                tracing::warn!(error = %e, retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "mqtt disconnected");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    }
}

/// A graceful stop: `offline` now rather than when the broker notices.
async fn say_goodbye(shared: &Shared, client: &AsyncClient, el: &mut EventLoop) {
    let topic = topics::status(&shared.cfg.agent_id);
    let _ = client.try_publish(topic, QoS::AtLeastOnce, true, topics::OFFLINE.to_vec());
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while el.poll().await.is_ok() {}
    })
    .await;
}

/// One task per session that acknowledges received publishes in the order they arrived.
fn spawn_acker(client: AsyncClient) -> mpsc::UnboundedSender<rumqttc::Publish> {
    let (tx, mut rx) = mpsc::unbounded_channel::<rumqttc::Publish>();
    tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            if client.ack(&p).await.is_err() {
                break;
            }
        }
    });
    tx
}

/// Why a session ended.
enum End {
    /// The broker or the network.
    Link(String),
    /// The agent itself (its store failed).
    Local(String),
}

struct Backoffs<'a> {
    link: &'a mut Backoff,
    local: &'a mut Backoff,
}

async fn session(
    shared: &Arc<Shared>,
    client: &AsyncClient,
    el: &mut EventLoop,
    shutdown: &mut watch::Receiver<bool>,
    backoff: &mut Backoffs<'_>,
) -> Result<(), End> {
    let mut publisher: Option<tokio::task::JoinHandle<()>> = None;
    let mut acker: Option<mpsc::UnboundedSender<rumqttc::Publish>> = None;
    let result = loop {
        tokio::select! {
            ev = el.poll() => match ev {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    if ack.code != ConnectReturnCode::Success {
                        break Err(End::Link(format!("broker refused: {:?}", ack.code)));
                    }
                    tracing::info!(host = %shared.cfg.mqtt.host, "mqtt connected");
                    shared.mqtt_connected.store(true, Ordering::Relaxed);
                    backoff.link.reset();
                    if shared.store.health().ok {
                        backoff.local.reset();
                    }
                    if let Some(p) = publisher.take() {
                        p.abort();
                        let _ = p.await;
                    }
                    publisher = Some(tokio::spawn(publish_loop(shared.clone(), client.clone())));
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if !on_down(shared, &p.payload) {
                        // Not recorded: drop the session so the broker redelivers it. Skipping
                        // its ack would make every later ack out of order, which brokers refuse.
                        break Err(End::Local(
                            "could not record a message from the control plane".into(),
                        ));
                    }
                    // Acked from one task, in arrival order (brokers such as rumqttd drop a
                    // client that acks out of order), not from this loop: the request channel
                    // may be full of our own publishes, and only this loop drains it.
                    let acker = acker.get_or_insert_with(|| spawn_acker(client.clone()));
                    let _ = acker.send(p);
                }
                Ok(_) => {}
                Err(e) => break Err(End::Link(e.to_string())),
            },
            _ = shutdown.changed() => break Ok(()),
        }
    };
    // Awaited so the task (and its hold on the store) is gone when the session ends.
    if let Some(p) = publisher.take() {
        p.abort();
        let _ = p.await;
    }
    result
}

/// Announce, subscribe, say hello, then publish the outbox in `seq` order forever.
async fn publish_loop(shared: Arc<Shared>, client: AsyncClient) {
    if let Err(e) = publish_inner(&shared, &client).await {
        tracing::debug!(error = %e, "publisher stopped");
    }
}

async fn publish_inner(shared: &Shared, client: &AsyncClient) -> Result<(), String> {
    let id = &shared.cfg.agent_id;
    client
        .publish(
            topics::status(id),
            QoS::AtLeastOnce,
            true,
            topics::ONLINE.to_vec(),
        )
        .await
        .map_err(|e| e.to_string())?;
    client
        .subscribe(topics::down(id), QoS::AtLeastOnce)
        .await
        .map_err(|e| e.to_string())?;
    let store = &shared.store;
    shared.announce();
    let up = topics::up(id);
    let mut cursor = 0u64;
    let cfg = &shared.cfg.mqtt;
    let mut inflight = InFlight::new(
        Duration::from_secs(cfg.resend_after_s),
        cfg.max_in_flight as usize,
    );
    loop {
        match publish_round(shared, client, &up, &mut cursor, &mut inflight).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(Failure::Client(e)) => return Err(e),
            Err(Failure::Store(e)) => {
                tracing::error!(error = %e, "reading the outbox failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        }
        let deadline = inflight
            .next_due()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            _ = store.outbox_changed.notified() => {}
            _ = shared.publisher_wake.notified() => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

enum Failure {
    Client(String),
    Store(crate::store::StoreError),
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::Store(e)
    }
}

/// One pass: answer a resend request, forget what was acknowledged, publish again what is
/// overdue (oldest first), then new rows while there is room. Returns true when more new rows
/// may be waiting right away.
async fn publish_round(
    shared: &Shared,
    client: &AsyncClient,
    up: &str,
    cursor: &mut u64,
    inflight: &mut InFlight,
) -> Result<bool, Failure> {
    let store = &shared.store;
    let publish = |bytes: Vec<u8>| async move {
        client
            .publish(up, QoS::AtLeastOnce, false, bytes)
            .await
            .map_err(|e| Failure::Client(e.to_string()))
    };
    let asked = shared.resend_from.swap(u64::MAX, Ordering::Relaxed);
    if asked != u64::MAX {
        let n = inflight.resend_from(asked, Instant::now());
        tracing::info!(
            from_seq = asked,
            messages = n,
            "control plane asked for a resend"
        );
    }
    if let Some(span) = inflight.span() {
        inflight.retain_present(&store.outbox_seqs(span)?);
    }
    let due = inflight.due(Instant::now());
    if !due.is_empty() {
        let rows = store.outbox_rows(&due)?;
        // Acknowledged between the two reads.
        for seq in &due {
            if !rows.iter().any(|(s, _)| s == seq) {
                inflight.forget(*seq);
            }
        }
        if let Some((first, _)) = rows.first() {
            tracing::info!(
                first_seq = first,
                messages = rows.len(),
                "publishing unacknowledged messages again"
            );
        }
        for (seq, bytes) in rows {
            publish(bytes).await?;
            inflight.sent(seq, Instant::now());
        }
    }
    let room = inflight.room().min(64);
    if room == 0 {
        return Ok(false);
    }
    let rows = store.take_for_publish(*cursor, room)?;
    let more = rows.len() == room;
    for (seq, bytes) in rows {
        publish(bytes).await?;
        inflight.sent(seq, Instant::now());
        *cursor = seq + 1;
    }
    Ok(more)
}

/// The control plane acknowledged this version's Hello: an update on trial is kept.
fn trial_passed(shared: &Shared) {
    let Ok(mut trial) = shared.trial.lock() else {
        return;
    };
    if let Some(p) = trial.take() {
        match crate::update::healthy(&shared.cfg.data_dir, crate::update::exe_path()) {
            Ok(()) => tracing::info!(version = %p.to_version, "update healthy; committed"),
            Err(e) => tracing::error!(error = %e, "committing the update failed"),
        }
    }
}

/// Handle one payload from the down topic. Refusals are logged once per distinct reason text.
/// Returns false when the store failed, so the message is not acknowledged to the broker.
fn on_down(shared: &Shared, payload: &[u8]) -> bool {
    let window_ms = (shared.cfg.command_window_s as i64).saturating_mul(1000);
    let me = shared.cfg.agent_id.as_str();
    let v = match downlink::verify(payload, &shared.cp_key, me, now_ms(), window_ms) {
        Ok(v) => v,
        Err(r) => {
            shared.refuse_once(payload, &r);
            return true;
        }
    };
    let store = &shared.store;
    let res = match &v.message {
        DownMessage::Ack { up_to_seq } => {
            let r = store.ack(*up_to_seq).map(|n| {
                tracing::debug!(up_to_seq, removed = n, "ack");
            });
            shared.publisher_wake.notify_one();
            let _ = store.note_cp_seq(v.seq);
            if *up_to_seq >= shared.hello_seq.load(Ordering::Relaxed) {
                trial_passed(shared);
            }
            r
        }
        DownMessage::AckSeqs { seqs, highest_seen } => {
            let r = store.ack_seqs(seqs, *highest_seen).map(|n| {
                tracing::debug!(acked = seqs.len(), removed = n, "ack");
            });
            shared.publisher_wake.notify_one();
            let _ = store.note_cp_seq(v.seq);
            let hello = shared.hello_seq.load(Ordering::Relaxed);
            if seqs.iter().any(|s| *s >= hello) {
                trial_passed(shared);
            }
            r
        }
        DownMessage::Resend { from_seq } => {
            // Answered by the publisher, which knows what this session has published.
            shared.resend_from.fetch_min(*from_seq, Ordering::Relaxed);
            shared.publisher_wake.notify_one();
            let _ = store.note_cp_seq(v.seq);
            Ok(())
        }
        DownMessage::Checkpoints(c) => {
            store
                .keep_verified(&c.checkpoints, &shared.cp_key)
                .map(|n| {
                    tracing::debug!(kept = n, "checkpoints witnessed");
                    let _ = store.note_cp_seq(v.seq);
                })
        }
        DownMessage::SendCheckpoints => store.checkpoints().and_then(|checkpoints| {
            let _ = store.note_cp_seq(v.seq);
            let answer =
                mtm_common::UpMessage::Checkpoints(mtm_common::Checkpoints { checkpoints });
            store.enqueue(&answer).map(|_| ())
        }),
        DownMessage::Command(cmd) => store.receive_command(cmd, v.seq).map(|o| {
            tracing::info!(command_id = %cmd.id, outcome = ?o, "command received");
            if o == InboxOutcome::Queued {
                shared.commands.notify_one();
            }
        }),
    };
    match res {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "store failed while handling a down message");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsConfig;

    #[test]
    fn tls_options_need_a_readable_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ca = rcgen::generate_simple_self_signed(vec!["broker".into()]).unwrap();
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, ca.cert.pem()).unwrap();
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "not a certificate").unwrap();
        let mut cfg = MqttConfig {
            tls: Some(TlsConfig { ca_file: good }),
            ..Default::default()
        };
        let o = options(&cfg, "a1").unwrap();
        assert!(matches!(o.transport(), Transport::Tls(_)));
        cfg.tls = Some(TlsConfig { ca_file: bad });
        let e = options(&cfg, "a1").unwrap_err().to_string();
        assert!(e.contains("bad.pem"), "{e}");
    }
}
