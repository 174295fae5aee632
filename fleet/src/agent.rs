//! One simulated agent: its own key, broker connection, outbox and inbox, following the real
//! agent's message flow (`agent/src/mqtt.rs`, docs/mqtt-api.md) so the control plane cannot tell
//! it from one: status `online` (retained, with an `offline` last will), a `Hello` after every
//! connect, every message sealed once when queued and kept until an `AckSeqs`/`Ack` names it,
//! published again after `resend_after` (doubling, up to eight times) and at once on `Resend`,
//! commands kept by id so a repeat is never applied twice, and down-envelopes refused unless
//! signed by the pinned control-plane key, addressed to this agent and inside the time window.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ed25519_dalek::{SigningKey, VerifyingKey};
use mtm_common::{
    topics, Command, CommandKind, DownMessage, Envelope, Hello, UpMessage, UsageReport,
    CONTROL_PLANE_ID, MAX_ENVELOPE_BYTES,
};
use mtm_routeros::CustomerProfile;
use rand::Rng;
use rumqttc::{
    AsyncClient, ConnectReturnCode, Event, EventLoop, LastWill, MqttOptions, Packet, QoS,
};
use tokio::sync::mpsc;
use tokio::time::{interval_at, sleep_until, Interval};

use crate::router::{Outcome, SimRouter};
use crate::stats::Stats;

/// What an enrolled agent holds (the enrollment reply plus its own key).
#[derive(Clone)]
pub struct Identity {
    /// Agent id, also its MQTT username.
    pub agent_id: String,
    /// Its ed25519 key; only the public half ever left the simulator.
    pub key: SigningKey,
    /// Broker host.
    pub mqtt_host: String,
    /// Broker port.
    pub mqtt_port: u16,
    /// MQTT password from the enrollment reply.
    pub mqtt_password: String,
    /// The pinned control-plane key.
    pub cp_key: VerifyingKey,
}

/// How an agent behaves; the defaults are the real agent's.
#[derive(Clone, Debug)]
pub struct AgentSettings {
    /// Usage report interval.
    pub usage_every: Duration,
    /// Health report interval.
    pub health_every: Duration,
    /// Inventory interval.
    pub inventory_every: Duration,
    /// How often simulated customers act (log in, move bytes).
    pub customers_every: Duration,
    /// What they do on each tick.
    pub customers: CustomerProfile,
    /// Hotspot users not made by mtm, logged in from the start (each a usage entry per report).
    pub extra_users: usize,
    /// Publish again when not acknowledged after this long.
    pub resend_after: Duration,
    /// Most messages published and unacknowledged at once.
    pub max_in_flight: usize,
    /// Down-envelopes whose time is further than this from our clock are refused.
    pub command_window: Duration,
    /// MQTT keep-alive.
    pub keep_alive: Duration,
    /// Start quiet (as after [`Fault::Quiet`]) until [`Fault::Speak`]: connected and answering
    /// commands, but making no reports, so a set-up step is not slowed by the load measured.
    pub start_quiet: bool,
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            usage_every: Duration::from_secs(30),
            health_every: Duration::from_secs(60),
            inventory_every: Duration::from_secs(300),
            customers_every: Duration::from_secs(1),
            customers: CustomerProfile::default(),
            extra_users: 0,
            resend_after: Duration::from_secs(20),
            max_in_flight: 100,
            command_window: Duration::from_secs(600),
            keep_alive: Duration::from_secs(30),
            start_quiet: false,
        }
    }
}

/// A fault to inject.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Drop the connection without a goodbye (the broker publishes the last will) and stay away
    /// this long.
    Disconnect(Duration),
    /// A process restart: the connection drops and comes back; the outbox and inbox survive, as
    /// they do on disk.
    Restart,
    /// Our clock runs this many milliseconds off (negative: behind).
    ClockSkew(i64),
    /// Stop making new reports (usage, health, inventory, customers) but stay connected, so
    /// what was sent can be compared with what the server stored once the outbox drains.
    Quiet,
    /// Make reports again after [`Fault::Quiet`] or [`AgentSettings::start_quiet`].
    Speak,
    /// Stop for good, saying `offline` first.
    Stop,
}

/// Usage sums of acknowledged entries, to compare with what the server stored.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UsageTotals {
    /// Entries.
    pub entries: u64,
    /// Sum of `delta_uptime_s`.
    pub uptime_s: u64,
    /// Sum of `delta_bytes_in`.
    pub bytes_in: u64,
    /// Sum of `delta_bytes_out`.
    pub bytes_out: u64,
}

impl UsageTotals {
    fn of(report: &UsageReport) -> UsageTotals {
        let mut t = UsageTotals::default();
        for u in &report.entries {
            t.entries += 1;
            t.uptime_s += u.delta_uptime_s;
            t.bytes_in += u.delta_bytes_in;
            t.bytes_out += u.delta_bytes_out;
        }
        t
    }

    fn add(&mut self, o: UsageTotals) {
        self.entries += o.entries;
        self.uptime_s += o.uptime_s;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
    }
}

/// What the runner and tests can see of a running agent.
pub struct AgentView {
    /// Its simulated router.
    pub router: Mutex<SimRouter>,
    /// Usage entries acknowledged by the control plane.
    pub acked_usage: Mutex<UsageTotals>,
    /// Messages in the outbox.
    pub outbox_len: AtomicU64,
    /// Connected to the broker (CONNACK seen) now.
    pub connected: AtomicBool,
    /// Our `Hello` of the current connection was acknowledged.
    pub hello_acked: AtomicBool,
}

impl AgentView {
    /// The router, even if a panicking holder poisoned it.
    pub fn router(&self) -> MutexGuard<'_, SimRouter> {
        self.router.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Acknowledged usage so far.
    pub fn acked_usage(&self) -> UsageTotals {
        *self.acked_usage.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running agent.
pub struct AgentHandle {
    /// Its id.
    pub agent_id: String,
    /// Inject faults here.
    pub faults: mpsc::UnboundedSender<Fault>,
    /// Its state.
    pub view: Arc<AgentView>,
    /// The task.
    pub task: tokio::task::JoinHandle<()>,
}

struct Pending {
    bytes: Vec<u8>,
    sealed: Instant,
    /// When it is due again; `None` while not published in this connection.
    due: Option<Instant>,
    tries: u32,
    usage: UsageTotals,
    hello: bool,
}

struct Agent {
    id: Identity,
    cfg: AgentSettings,
    stats: Arc<Stats>,
    view: Arc<AgentView>,
    up_topic: String,
    seq: u64,
    skew_ms: i64,
    last_cp_seq: u64,
    outbox: BTreeMap<u64, Pending>,
    inbox: HashSet<uuid::Uuid>,
    waiting: Vec<Command>,
    client: Option<AsyncClient>,
    connected: bool,
    quiet: bool,
}

/// Start an agent for `id`.
pub fn spawn(id: Identity, cfg: AgentSettings, stats: Arc<Stats>) -> AgentHandle {
    let view = Arc::new(AgentView {
        router: Mutex::new(SimRouter::new(&id.agent_id, cfg.extra_users)),
        acked_usage: Mutex::new(UsageTotals::default()),
        outbox_len: AtomicU64::new(0),
        connected: AtomicBool::new(false),
        hello_acked: AtomicBool::new(false),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let quiet = cfg.start_quiet;
    let agent = Agent {
        up_topic: topics::up(&id.agent_id),
        id,
        cfg,
        stats,
        view: view.clone(),
        seq: 0,
        skew_ms: 0,
        last_cp_seq: 0,
        outbox: BTreeMap::new(),
        inbox: HashSet::new(),
        waiting: Vec::new(),
        client: None,
        connected: false,
        quiet,
    };
    let agent_id = agent.id.agent_id.clone();
    let task = tokio::spawn(agent.run(rx));
    AgentHandle {
        agent_id,
        faults: tx,
        view,
        task,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// An interval whose first tick falls at a random point of its period, so a thousand agents
/// started together do not report in step.
fn staggered(period: Duration) -> Interval {
    let period = period.max(Duration::from_millis(10));
    let offset =
        rand::thread_rng().gen_range(0..u64::try_from(period.as_millis()).unwrap_or(u64::MAX));
    let mut i = interval_at(
        tokio::time::Instant::now() + Duration::from_millis(offset),
        period,
    );
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    i
}

/// An MQTT connection's event loop, polled on a task of its own. `EventLoop::poll` is not
/// cancel-safe: dropped half way through a connect (as a `select!` does whenever another branch
/// is ready first), it abandons the connection and the next poll opens another, so a broker slow
/// to answer would see a new connection with the same client id every time a timer fired.
struct Link {
    events: mpsc::Receiver<Result<Event, rumqttc::ConnectionError>>,
    task: tokio::task::JoinHandle<()>,
}

impl Link {
    /// Poll `el` until its first error, which is passed on and ends the task.
    fn drive(mut el: EventLoop) -> Link {
        let (tx, events) = mpsc::channel(256);
        let task = tokio::spawn(async move {
            loop {
                let ev = el.poll().await;
                let end = ev.is_err();
                if tx.send(ev).await.is_err() || end {
                    return;
                }
            }
        });
        Link { events, task }
    }

    /// The next event; an error once the connection has ended.
    async fn next(&mut self) -> Result<Event, rumqttc::ConnectionError> {
        match self.events.recv().await {
            Some(ev) => ev,
            None => Err(rumqttc::ConnectionError::RequestsDone),
        }
    }
}

impl Drop for Link {
    /// Dropping the event loop closes the connection, as a lost link does.
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn poll(link: &mut Option<Link>) -> Result<Event, rumqttc::ConnectionError> {
    match link {
        Some(link) => link.next().await,
        None => std::future::pending().await,
    }
}

impl Agent {
    fn options(&self) -> MqttOptions {
        let id = &self.id.agent_id;
        let mut o = MqttOptions::new(topics::client_id(id), &self.id.mqtt_host, self.id.mqtt_port);
        o.set_keep_alive(self.cfg.keep_alive);
        o.set_clean_session(false);
        let max = MAX_ENVELOPE_BYTES + 64 * 1024;
        o.set_max_packet_size(max, max);
        o.set_last_will(LastWill::new(
            topics::status(id),
            topics::OFFLINE.to_vec(),
            QoS::AtLeastOnce,
            true,
        ));
        o.set_credentials(id, &self.id.mqtt_password);
        o
    }

    async fn run(mut self, mut faults: mpsc::UnboundedReceiver<Fault>) {
        let mut el: Option<Link> = None;
        let mut reconnect_at = Some(tokio::time::Instant::now());
        let mut backoff = Duration::from_millis(500);
        let mut usage = staggered(self.cfg.usage_every);
        let mut health = staggered(self.cfg.health_every);
        let mut inventory = staggered(self.cfg.inventory_every);
        let mut customers = staggered(self.cfg.customers_every);
        let mut resend = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                ev = poll(&mut el), if el.is_some() => match ev {
                    Ok(ev) => self.on_event(ev, &mut backoff),
                    Err(e) => {
                        el = None;
                        let phase = if self.connected { "" } else { "connecting: " };
                        self.stats.disconnected_by(&format!("{phase}{e}"));
                        self.lost();
                        // Jittered so a whole fleet cut off at once does not return in step.
                        let jitter = rand::thread_rng().gen_range(0..=u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX));
                        reconnect_at = Some(tokio::time::Instant::now() + Duration::from_millis(jitter));
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                    }
                },
                _ = sleep_until(reconnect_at.unwrap_or_else(tokio::time::Instant::now)), if reconnect_at.is_some() => {
                    reconnect_at = None;
                    let (client, mut new_el) = AsyncClient::new(self.options(), 1024);
                    // As mtm-agent: each packet at once (`TCP_NODELAY`).
                    let mut network = new_el.network_options();
                    network.set_tcp_nodelay(true);
                    new_el.set_network_options(network);
                    self.client = Some(client);
                    el = Some(Link::drive(new_el));
                }
                _ = usage.tick(), if !self.quiet => self.report_usage(),
                _ = health.tick(), if !self.quiet => self.report_health(),
                _ = inventory.tick(), if !self.quiet => {
                    let inv = self.view.router().inventory();
                    self.enqueue(&UpMessage::Inventory(inv));
                }
                _ = customers.tick(), if !self.quiet => {
                    self.view.router().customers_tick(&self.cfg.customers);
                }
                _ = resend.tick() => self.resend_due(),
                f = faults.recv() => match f {
                    None | Some(Fault::Stop) => {
                        self.goodbye(el.take()).await;
                        return;
                    }
                    Some(Fault::Quiet) => self.quiet = true,
                    Some(Fault::Speak) => self.quiet = false,
                    Some(Fault::Disconnect(away)) => {
                        el = None;
                        self.lost();
                        reconnect_at = Some(tokio::time::Instant::now() + away);
                    }
                    Some(Fault::Restart) => {
                        el = None;
                        self.lost();
                        reconnect_at = Some(tokio::time::Instant::now() + Duration::from_millis(100));
                    }
                    Some(Fault::ClockSkew(ms)) => {
                        let jump = (ms - self.skew_ms).abs();
                        self.skew_ms = ms;
                        // The real agent says hello again when its wall clock jumps, so commands
                        // it refused as stale are sent again.
                        if jump > 60_000 {
                            self.hello();
                        }
                    }
                }
            }
        }
    }

    fn clock(&self) -> i64 {
        now_ms().saturating_add(self.skew_ms)
    }

    fn lost(&mut self) {
        if self.connected {
            Stats::inc(&self.stats.disconnects);
        }
        self.connected = false;
        self.client = None;
        self.view.connected.store(false, Ordering::Relaxed);
        for p in self.outbox.values_mut() {
            p.due = None;
        }
    }

    async fn goodbye(&mut self, el: Option<Link>) {
        if let (Some(client), Some(mut el)) = (self.client.take(), el) {
            let topic = topics::status(&self.id.agent_id);
            let _ = client.try_publish(topic, QoS::AtLeastOnce, true, topics::OFFLINE.to_vec());
            let _ = client.try_disconnect();
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while el.next().await.is_ok() {}
            })
            .await;
        }
        self.view.connected.store(false, Ordering::Relaxed);
    }

    fn on_event(&mut self, ev: Event, backoff: &mut Duration) {
        match ev {
            Event::Incoming(Packet::ConnAck(ack)) if ack.code == ConnectReturnCode::Success => {
                *backoff = Duration::from_millis(500);
                self.connected = true;
                self.view.connected.store(true, Ordering::Relaxed);
                self.view.hello_acked.store(false, Ordering::Relaxed);
                Stats::inc(&self.stats.connects);
                if let Some(c) = &self.client {
                    let id = &self.id.agent_id;
                    let _ = c.try_publish(
                        topics::status(id),
                        QoS::AtLeastOnce,
                        true,
                        topics::ONLINE.to_vec(),
                    );
                    let _ = c.try_subscribe(topics::down(id), QoS::AtLeastOnce);
                }
                self.hello();
            }
            Event::Incoming(Packet::Publish(p)) => self.on_down(&p.payload),
            _ => {}
        }
    }

    fn hello(&mut self) {
        let catalog_version = self.view.router().catalog_version;
        self.enqueue(&UpMessage::Hello(Hello {
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            last_cp_seq: self.last_cp_seq,
            catalog_version,
        }));
    }

    /// Seal `msg` with the next seq, keep it until acknowledged, publish it if there is room.
    fn enqueue(&mut self, msg: &UpMessage) {
        self.seq += 1;
        let env = match Envelope::seal(
            &self.id.key,
            &self.id.agent_id,
            CONTROL_PLANE_ID,
            self.seq,
            self.clock(),
            msg,
        ) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "sealing failed");
                return;
            }
        };
        let Ok(bytes) = env.to_bytes() else { return };
        let usage = match msg {
            UpMessage::Usage(r) => {
                Stats::add(&self.stats.usage_entries, r.entries.len() as u64);
                UsageTotals::of(r)
            }
            _ => UsageTotals::default(),
        };
        Stats::inc(&self.stats.enqueued);
        self.outbox.insert(
            self.seq,
            Pending {
                bytes,
                sealed: Instant::now(),
                due: None,
                tries: 0,
                usage,
                hello: matches!(msg, UpMessage::Hello(_)),
            },
        );
        self.view
            .outbox_len
            .store(self.outbox.len() as u64, Ordering::Relaxed);
        self.pump();
    }

    fn publish(&self, bytes: &[u8]) -> bool {
        let Some(c) = &self.client else { return false };
        let ok = c
            .try_publish(&self.up_topic, QoS::AtLeastOnce, false, bytes.to_vec())
            .is_ok();
        if ok {
            Stats::inc(&self.stats.published);
        }
        ok
    }

    /// Publish unsent messages, oldest first, while fewer than `max_in_flight` are out.
    fn pump(&mut self) {
        if !self.connected {
            return;
        }
        let mut in_flight = self.outbox.values().filter(|p| p.due.is_some()).count();
        let seqs: Vec<u64> = self
            .outbox
            .iter()
            .filter(|(_, p)| p.due.is_none())
            .map(|(s, _)| *s)
            .collect();
        for seq in seqs {
            if in_flight >= self.cfg.max_in_flight {
                break;
            }
            let Some(p) = self.outbox.get(&seq) else {
                continue;
            };
            if !self.publish(&p.bytes) {
                break;
            }
            let after = self.cfg.resend_after;
            if let Some(p) = self.outbox.get_mut(&seq) {
                p.due = Some(Instant::now() + after);
                p.tries = 1;
            }
            in_flight += 1;
        }
    }

    /// Publish again what was not acknowledged in time, each try waiting twice as long.
    fn resend_due(&mut self) {
        if !self.connected {
            return;
        }
        let now = Instant::now();
        let due: Vec<u64> = self
            .outbox
            .iter()
            .filter(|(_, p)| p.due.is_some_and(|d| d <= now))
            .map(|(s, _)| *s)
            .collect();
        for seq in due {
            self.republish(seq);
        }
        self.pump();
    }

    fn republish(&mut self, seq: u64) {
        let Some(p) = self.outbox.get(&seq) else {
            return;
        };
        if !self.publish(&p.bytes) {
            return;
        }
        let base = self.cfg.resend_after;
        if let Some(p) = self.outbox.get_mut(&seq) {
            p.tries = p.tries.saturating_add(1);
            let factor = 1u32 << p.tries.saturating_sub(1).min(3);
            p.due = Some(Instant::now() + base * factor);
        }
    }

    fn report_usage(&mut self) {
        let entries = self.view.router().usage(self.clock());
        // Large routers split their report so no envelope nears the size limit.
        for chunk in entries.chunks(1000) {
            self.enqueue(&UpMessage::Usage(UsageReport {
                entries: chunk.to_vec(),
                issued_here: Vec::new(),
            }));
        }
    }

    fn report_health(&mut self) {
        let next = self.seq + 1;
        let low = self.outbox.keys().next().copied().unwrap_or(next).min(next);
        let h = self.view.router().health(self.outbox.len() as u64, low);
        self.enqueue(&UpMessage::Health(h));
    }

    fn acked(&mut self, seq: u64) {
        let Some(p) = self.outbox.remove(&seq) else {
            return;
        };
        Stats::inc(&self.stats.acked);
        self.stats.ack_latency(p.sealed.elapsed());
        if p.usage.entries > 0 {
            Stats::add(&self.stats.usage_entries_acked, p.usage.entries);
            self.view
                .acked_usage
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .add(p.usage);
        }
        if p.hello {
            self.view.hello_acked.store(true, Ordering::Relaxed);
        }
    }

    fn on_down(&mut self, payload: &[u8]) {
        let opened = Envelope::from_bytes(payload).and_then(|env| {
            let msg: DownMessage = env.open(&self.id.cp_key, &self.id.agent_id)?;
            Ok((env, msg))
        });
        let (env, msg) = match opened {
            Ok(x) => x,
            Err(e) => {
                Stats::inc(&self.stats.down_refused);
                tracing::debug!(agent = %self.id.agent_id, error = %e, "down message refused");
                return;
            }
        };
        let window = i64::try_from(self.cfg.command_window.as_millis()).unwrap_or(i64::MAX);
        if (self.clock() - env.at).abs() > window {
            Stats::inc(&self.stats.down_refused);
            return;
        }
        self.last_cp_seq = self.last_cp_seq.max(env.seq);
        match msg {
            DownMessage::AckSeqs { seqs, highest_seen } => {
                for s in seqs {
                    self.acked(s);
                }
                // A wiped store would start again below what the control plane holds.
                self.seq = self.seq.max(highest_seen);
            }
            DownMessage::Ack { up_to_seq } => {
                let done: Vec<u64> = self.outbox.range(..=up_to_seq).map(|(s, _)| *s).collect();
                for s in done {
                    self.acked(s);
                }
            }
            DownMessage::Resend { from_seq } => {
                Stats::inc(&self.stats.resend_requests);
                let seqs: Vec<u64> = self
                    .outbox
                    .range(from_seq..)
                    .filter(|(_, p)| p.due.is_some())
                    .map(|(s, _)| *s)
                    .collect();
                for s in seqs {
                    self.republish(s);
                }
            }
            DownMessage::Command(cmd) => self.on_command(cmd),
            // Messages added after this simulator was written are ignored, as an older agent does.
            #[allow(unreachable_patterns)]
            _ => {}
        }
        self.view
            .outbox_len
            .store(self.outbox.len() as u64, Ordering::Relaxed);
        self.pump();
    }

    fn on_command(&mut self, cmd: Command) {
        if !self.inbox.insert(cmd.id) {
            // Already carried out; its result is in the outbox or was acknowledged.
            Stats::inc(&self.stats.commands_repeated);
            return;
        }
        Stats::inc(&self.stats.commands);
        let catalog = matches!(cmd.kind, CommandKind::ApplyCatalog(_));
        self.carry_out(cmd);
        if catalog {
            // Vouchers that waited for their package's profile.
            for c in std::mem::take(&mut self.waiting) {
                self.carry_out(c);
            }
        }
    }

    fn carry_out(&mut self, cmd: Command) {
        let now = self.clock();
        let outcome = self.view.router().apply(&cmd, now);
        match outcome {
            Outcome::Wait => self.waiting.push(cmd),
            Outcome::Done(msgs) => {
                for m in &msgs {
                    if let UpMessage::TokenApplied(t) = m {
                        self.stats.voucher_applied(t.token_id);
                    }
                    if let UpMessage::TokensApplied(b) = m {
                        for t in &b.applied {
                            self.stats.voucher_applied(t.token_id);
                        }
                    }
                    self.enqueue(m);
                }
            }
        }
    }
}
