//! The control plane's own MQTT client, built so that nothing can block it and it always comes
//! back: one task only polls the event loop; received messages go to ingest through a queue
//! that never makes the poll wait; publishes are refused at once (never awaited) when the link
//! is down or its queue is full, which is safe because every command is stored and resent after
//! the next subscription, and agents resend what was not acknowledged. Subscriptions are renewed
//! and retried after every (re)connect until the broker confirms them, and a watchdog replaces
//! the whole client when it stops making progress. With a persistent session a message is
//! acknowledged to the broker only once ingest is done with it (`link_acks`).

pub use crate::ingest_queue::{ingest_queue, IngestReceiver, IngestSender};
use crate::link_acks::AckBook;
use crate::metrics::Metrics;
use crate::mqtt::{Incoming, MqttError, Publisher};
pub use crate::mqtt::{LinkStatus, AGENT_RECONNECT_MAX_MS};
use crate::store::now_ms;
use async_trait::async_trait;
use rumqttc::{
    AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS, SubscribeFilter,
    SubscribeReasonCode,
};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Settings for the control plane's client connection.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Credentials, if any.
    pub credentials: Option<(String, String)>,
    /// Subscribe through `$share/mtm/...` so replicas split the load.
    pub shared: bool,
    /// MQTT keepalive.
    pub keep_alive: Duration,
    /// A subscription not confirmed within this long is sent again.
    pub subscribe_retry: Duration,
    /// The watchdog replaces the client after this long without progress.
    pub stall_after: Duration,
    /// Most payload bytes waiting for ingest; beyond it messages are dropped (not acked, so
    /// the agent sends them again) rather than making the event loop wait.
    pub ingest_budget_bytes: usize,
    /// Requests (publishes, acks, subscribes) the client may hold before refusing more.
    pub request_capacity: usize,
    /// A stable client id for a persistent session (clean session off), so the broker keeps
    /// this replica's subscriptions and queues its messages while it is away; `None` takes a
    /// random id and a clean session at every connection. With a persistent session messages
    /// are acknowledged to the broker only once ingest is done with them (manual acks): the
    /// broker then keeps its copy until the message is stored. A clean session loses the
    /// broker's copy with the connection anyway, so there the client acknowledges on receipt.
    pub client_id: Option<String>,
}

impl ClientSettings {
    /// Whether PUBACKs wait for ingest (see `client_id`).
    pub fn manual_acks(&self) -> bool {
        self.client_id.is_some()
    }
}

impl ClientSettings {
    /// Settings with the defaults for everything but where the broker is.
    pub fn new(
        host: String,
        port: u16,
        credentials: Option<(String, String)>,
        shared: bool,
    ) -> Self {
        ClientSettings {
            host,
            port,
            credentials,
            shared,
            keep_alive: Duration::from_secs(15),
            subscribe_retry: Duration::from_secs(5),
            stall_after: Duration::from_secs(60),
            ingest_budget_bytes: 64 * 1024 * 1024,
            request_capacity: 4096,
            client_id: None,
        }
    }
}

/// The running client: publish through it, read its status, stop it.
pub struct MqttLink {
    client: RwLock<AsyncClient>,
    acks: Arc<AckBook>,
    status: Arc<LinkStatus>,
    metrics: Arc<Metrics>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl MqttLink {
    /// Connect (in the background) and keep connected; messages on the subscribed topics go to
    /// `ingest`.
    pub fn start(
        settings: ClientSettings,
        ingest: IngestSender,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let status = Arc::new(LinkStatus::default());
        let (client, eventloop) = new_client(&settings);
        let acks = AckBook::new(metrics.clone(), settings.manual_acks());
        acks.set_client(Some(client.clone()));
        let poll = tokio::spawn(poll_loop(
            eventloop,
            client.clone(),
            settings.clone(),
            status.clone(),
            ingest.clone(),
            acks.clone(),
        ));
        let link = Arc::new(MqttLink {
            client: RwLock::new(client),
            acks,
            status,
            metrics,
            tasks: Mutex::new(Vec::new()),
        });
        let watchdog = tokio::spawn(watchdog(Arc::downgrade(&link), settings, ingest, poll));
        if let Ok(mut t) = link.tasks.lock() {
            t.push(watchdog);
        }
        link
    }

    /// The client's status.
    pub fn status(&self) -> Arc<LinkStatus> {
        self.status.clone()
    }

    fn client(&self) -> Option<AsyncClient> {
        self.client.read().ok().map(|c| c.clone())
    }

    /// Received messages not yet acknowledged to the broker (manual acks).
    pub fn acks_waiting(&self) -> usize {
        self.acks.waiting()
    }

    /// Disconnect and stop every task. Nothing received is acknowledged after this: what
    /// ingest had not stored stays with the broker.
    pub fn shutdown(&self) {
        self.acks.set_client(None);
        if let Some(c) = self.client() {
            let _ = c.try_disconnect();
        }
        if let Ok(mut tasks) = self.tasks.lock() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
        self.status.down();
    }
}

impl Drop for MqttLink {
    fn drop(&mut self) {
        if let Ok(mut tasks) = self.tasks.lock() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
    }
}

#[async_trait]
impl Publisher for MqttLink {
    async fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<(), MqttError> {
        if !self.status.connected() {
            self.metrics.inc(&self.metrics.publish_refused);
            return Err(MqttError::Publish("not connected to the broker".into()));
        }
        let client = self
            .client()
            .ok_or_else(|| MqttError::Publish("client unavailable".into()))?;
        match client.try_publish(topic, QoS::AtLeastOnce, false, payload) {
            Ok(()) => {
                self.status.last_queued.store(now_ms(), Ordering::SeqCst);
                Ok(())
            }
            Err(e) => {
                self.metrics.inc(&self.metrics.publish_refused);
                Err(MqttError::Publish(e.to_string()))
            }
        }
    }

    fn ready(&self) -> bool {
        self.status.subscribed()
    }

    fn link(&self) -> Option<Arc<LinkStatus>> {
        Some(self.status.clone())
    }
}

fn new_client(settings: &ClientSettings) -> (AsyncClient, EventLoop) {
    let (id, clean) = match &settings.client_id {
        Some(id) => (id.clone(), false),
        None => (format!("mtm-cp-{}", uuid::Uuid::new_v4().simple()), true),
    };
    let mut opts = MqttOptions::new(id, settings.host.clone(), settings.port);
    opts.set_keep_alive(settings.keep_alive);
    opts.set_clean_session(clean);
    opts.set_manual_acks(settings.manual_acks());
    let max = mtm_common::MAX_ENVELOPE_BYTES + 4096;
    opts.set_max_packet_size(max, max);
    if let Some((u, p)) = &settings.credentials {
        opts.set_credentials(u.clone(), p.clone());
    }
    let (client, mut eventloop) = AsyncClient::new(opts, settings.request_capacity.max(16));
    // Each packet at once: a command behind a publish the broker has not acknowledged yet
    // would otherwise wait for the broker's delayed ACK, about 40 ms (Nagle's algorithm).
    let mut network = eventloop.network_options();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    (client, eventloop)
}

fn filters(shared: bool) -> Vec<SubscribeFilter> {
    let up = if shared {
        mtm_common::topics::UP_SHARED
    } else {
        mtm_common::topics::UP_ALL
    };
    [up, mtm_common::topics::STATUS_ALL]
        .into_iter()
        .map(|t| SubscribeFilter::new(t.to_owned(), QoS::AtLeastOnce))
        .collect()
}

fn subscribe(client: &AsyncClient, settings: &ClientSettings, status: &LinkStatus) {
    status.subscribe_sent.store(now_ms(), Ordering::SeqCst);
    if let Err(e) = client.try_subscribe_many(filters(settings.shared)) {
        // Tried again by the watchdog's next tick.
        tracing::warn!(error = %e, "could not queue the subscription");
    }
}

/// Only polls: every event is handled without waiting on anything but the event loop itself.
async fn poll_loop(
    mut eventloop: EventLoop,
    client: AsyncClient,
    settings: ClientSettings,
    status: Arc<LinkStatus>,
    ingest: IngestSender,
    acks: Arc<AckBook>,
) {
    let mut failures = 0u32;
    loop {
        let event = eventloop.poll().await;
        let now = now_ms();
        status.last_poll.store(now, Ordering::SeqCst);
        match event {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let ack = acks.received(p.pkid, p.qos);
                // A message refused here (queue over budget) is acknowledged as its ticket
                // drops: holding it would only fill the broker's in-flight window, since the
                // broker sends it again only after a reconnect; the agent republishes it.
                ingest.offer(Incoming {
                    topic: p.topic,
                    payload: p.payload.to_vec(),
                    ack,
                });
            }
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                failures = 0;
                status.down();
                acks.new_connection();
                status.connected_at.store(now, Ordering::SeqCst);
                status.connected.store(true, Ordering::SeqCst);
                // Subscribed again even when the broker kept the session: a SUBACK is how this
                // client knows the subscription stands.
                tracing::info!(
                    session_present = ack.session_present,
                    "connected to MQTT broker"
                );
                subscribe(&client, &settings, &status);
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                let ok = ack
                    .return_codes
                    .iter()
                    .all(|c| matches!(c, SubscribeReasonCode::Success(_)));
                if !ok {
                    tracing::error!(codes = ?ack.return_codes, "broker refused a subscription; retrying");
                } else if status.mark_subscribed(now) {
                    status.generation.send_modify(|g| *g += 1);
                    tracing::info!("subscribed to agent topics");
                }
            }
            Ok(Event::Outgoing(Outgoing::Publish(_))) => {
                status.last_outgoing.store(now, Ordering::SeqCst);
            }
            Ok(_) => {}
            Err(e) => {
                status.down();
                acks.new_connection();
                failures = failures.saturating_add(1);
                if failures == 1 || failures.is_multiple_of(30) {
                    tracing::warn!(error = %e, failures, "MQTT connection error; retrying");
                }
                tokio::time::sleep(Duration::from_millis(250 * u64::from(failures.min(8)))).await;
                // The sleep is progress too: the loop is alive, only the broker is not.
                status.last_poll.store(now_ms(), Ordering::SeqCst);
            }
        }
    }
}

/// Retries unconfirmed subscriptions and replaces the client when it stops making progress.
async fn watchdog(
    link: std::sync::Weak<MqttLink>,
    settings: ClientSettings,
    ingest: IngestSender,
    mut poll: JoinHandle<()>,
) {
    let tick_every =
        (settings.subscribe_retry / 2).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut tick = tokio::time::interval(tick_every);
    let stall = i64::try_from(settings.stall_after.as_millis()).unwrap_or(i64::MAX);
    let retry = i64::try_from(settings.subscribe_retry.as_millis()).unwrap_or(i64::MAX);
    loop {
        tick.tick().await;
        let Some(link) = link.upgrade() else {
            poll.abort();
            return;
        };
        let status = &link.status;
        let now = now_ms();
        if let Some(why) = status.stalled(now, stall) {
            tracing::error!(why, "MQTT client made no progress; replacing it");
            poll.abort();
            status.down();
            let (client, eventloop) = new_client(&settings);
            link.acks.new_connection();
            link.acks.set_client(Some(client.clone()));
            if let Ok(mut c) = link.client.write() {
                *c = client.clone();
            }
            status.last_poll.store(now, Ordering::SeqCst);
            status.restarts.fetch_add(1, Ordering::SeqCst);
            link.metrics.inc(&link.metrics.mqtt_restarts);
            poll = tokio::spawn(poll_loop(
                eventloop,
                client,
                settings.clone(),
                link.status.clone(),
                ingest.clone(),
                link.acks.clone(),
            ));
            continue;
        }
        // PUBACKs the client's full queue refused go now.
        link.acks.flush();
        if status.connected()
            && !status.subscribed()
            && now - status.subscribe_sent.load(Ordering::SeqCst) > retry
        {
            tracing::warn!("subscription not confirmed; subscribing again");
            if let Some(c) = link.client() {
                subscribe(&c, &settings, status);
            }
        }
    }
}

#[cfg(test)]
mod tests;
