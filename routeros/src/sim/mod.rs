//! `routeros-sim`: a hotspot router that speaks the RouterOS API, for tests and the demo.
//!
//! Start it on port 0, point clients at [`SimHandle::addr`], and drive customers directly from
//! the test through the handle (log in, use traffic, advance simulated time).

pub mod customers;
pub mod generic;
pub mod items;
pub mod log;
mod login;
pub mod menus;
pub mod query;
pub mod server;
pub mod state;
mod system;
pub mod tls;
pub mod users;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::hotspot::{ActiveSession, HotspotUser};
use crate::values::parse_duration;
pub use crate::Row;
use server::{lock, Ctx};
use state::RouterState;

/// Simulator settings.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Plain API listener (use `127.0.0.1:0` in tests).
    pub bind: SocketAddr,
    /// API-SSL listener, if wanted.
    pub tls_bind: Option<SocketAddr>,
    /// API accounts as (user, password). Default: `admin` with an empty password.
    pub logins: Vec<(String, String)>,
    /// Emulated RouterOS version, e.g. `7.15.3 (stable)`; 7.18+ emits `!empty`, below 6.43
    /// only the challenge login exists.
    pub version: String,
    /// Accept the MD5 challenge response on versions from 6.45.1 on, which really reject it
    /// (older versions always accept it, as RouterOS did).
    pub legacy_auth: bool,
    /// `/system/resource` board name.
    pub board_name: String,
    /// `/system/identity` name.
    pub identity: String,
    /// Simulated customers, if any.
    pub customers: Option<CustomerProfile>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls_bind: None,
            logins: vec![("admin".into(), String::new())],
            version: "7.15.3 (stable)".into(),
            legacy_auth: false,
            board_name: "hAP ax^3".into(),
            identity: "MikroTik".into(),
            customers: None,
        }
    }
}

/// How simulated customers behave.
#[derive(Clone, Debug)]
pub struct CustomerProfile {
    /// How often simulated time advances (by this amount).
    pub tick: Duration,
    /// Chance per tick that an unused voucher gets used.
    pub login_chance: f64,
    /// Bytes (in, out) each session moves per tick.
    pub bytes_per_tick: (u64, u64),
}

impl Default for CustomerProfile {
    fn default() -> Self {
        CustomerProfile {
            tick: Duration::from_secs(1),
            login_chance: 0.05,
            bytes_per_tick: (20_000, 200_000),
        }
    }
}

/// Whether the router is reachable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Power {
    /// Serving.
    Up,
    /// Port closed, connections dropped.
    Unreachable,
    /// Stopped for good.
    Shutdown,
}

/// Starts simulators.
pub struct Simulator;

impl Simulator {
    /// Binds the listeners and starts serving.
    pub async fn start(cfg: SimConfig) -> std::io::Result<SimHandle> {
        let listener = TcpListener::bind(cfg.bind).await?;
        let addr = listener.local_addr()?;
        let (tls_listener, tls) = match cfg.tls_bind {
            Some(b) => {
                let l = TcpListener::bind(b).await?;
                (Some(l), Some(tls::make_tls(&cfg.identity)?))
            }
            None => (None, None),
        };
        let tls_addr = match &tls_listener {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };
        let state = Arc::new(Mutex::new(RouterState::new(
            cfg.identity.clone(),
            cfg.version.clone(),
            cfg.board_name.clone(),
        )));
        let (power, _) = watch::channel(Power::Up);
        let ctx = Arc::new(Ctx {
            state: state.clone(),
            emit_empty: server::version_at_least(&cfg.version, 7, 18),
            pre_643: !server::version_at_least(&cfg.version, 6, 43),
            challenge_login: cfg.legacy_auth || server::version_below(&cfg.version, 6, 45, 1),
            cfg: cfg.clone(),
            power,
        });
        let mut tasks = vec![tokio::spawn(server::accept_loop(
            listener,
            None,
            ctx.clone(),
        ))];
        let mut ca_pem = None;
        if let (Some(l), Some(t)) = (tls_listener, tls) {
            ca_pem = Some(t.ca_pem.clone());
            tasks.push(tokio::spawn(server::accept_loop(
                l,
                Some(t.acceptor),
                ctx.clone(),
            )));
        }
        if let Some(profile) = cfg.customers.clone() {
            tasks.push(tokio::spawn(customer_loop(ctx.clone(), profile)));
        }
        Ok(SimHandle {
            inner: Arc::new(Inner {
                ctx,
                addr,
                tls_addr,
                ca_pem,
                tasks: Mutex::new(tasks),
            }),
        })
    }
}

async fn customer_loop(ctx: Arc<Ctx>, profile: CustomerProfile) {
    let mut power = ctx.power.subscribe();
    let mut every = tokio::time::interval(profile.tick.max(Duration::from_millis(1)));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            _ = every.tick() => customers::tick(&mut lock(&ctx.state), &profile),
            r = power.changed() => {
                if r.is_err() || *power.borrow() == Power::Shutdown {
                    return;
                }
            }
        }
    }
}

struct Inner {
    ctx: Arc<Ctx>,
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    ca_pem: Option<String>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Control and inspection of a running simulator. Clones share it.
#[derive(Clone)]
pub struct SimHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.inner.addr)
            .finish()
    }
}

fn text(s: &str) -> String {
    String::from_utf8_lossy(&server::l1b(s)).into_owned()
}

impl SimHandle {
    /// Plain API address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// API-SSL address, if enabled.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.inner.tls_addr
    }

    /// PEM of the CA that signed the API-SSL certificate (for `Tls::Verified`).
    pub fn tls_ca_pem(&self) -> Option<String> {
        self.inner.ca_pem.clone()
    }

    /// Runs `f` on the router state (for tests that need more than the helpers).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut RouterState) -> R) -> R {
        f(&mut lock(&self.inner.ctx.state))
    }

    /// Hotspot users (without the built-in `default-trial`).
    pub fn users(&self) -> Vec<HotspotUser> {
        let st = lock(&self.inner.ctx.state);
        st.users
            .iter()
            .filter(|u| !u.builtin)
            .map(|u| {
                let p = |k: &str| u.props.get(k).filter(|v| !v.is_empty()).map(|v| text(v));
                HotspotUser {
                    id: state::fmt_id(u.id),
                    name: p("name").unwrap_or_default(),
                    password: p("password"),
                    profile: p("profile"),
                    comment: p("comment"),
                    limit_uptime: p("limit-uptime")
                        .and_then(|v| parse_duration(&v).ok())
                        .filter(|d| !d.is_zero()),
                    limit_bytes_total: p("limit-bytes-total")
                        .and_then(|v| v.parse().ok())
                        .filter(|&n| n > 0),
                    uptime: u.uptime,
                    bytes_in: u.bytes_in,
                    bytes_out: u.bytes_out,
                    disabled: u.props.get("disabled").is_some_and(|d| d == "true"),
                    mac_address: p("mac-address").filter(|m| m != crate::hotspot::ANY_MAC),
                }
            })
            .collect()
    }

    /// Active sessions.
    pub fn sessions(&self) -> Vec<ActiveSession> {
        let st = lock(&self.inner.ctx.state);
        st.sessions
            .iter()
            .map(|s| ActiveSession {
                id: state::fmt_id(s.id),
                user: text(&s.user),
                address: Some(s.address.clone()),
                mac_address: Some(s.mac.clone()),
                uptime: s.uptime,
                bytes_in: s.bytes_in,
                bytes_out: s.bytes_out,
                session_time_left: st.time_left(s),
            })
            .collect()
    }

    /// A customer logs in at the hotspot page with a voucher.
    pub fn customer_login(&self, user: &str, password: &str, mac: &str) -> Result<(), String> {
        let mut st = lock(&self.inner.ctx.state);
        let user = server::l1(user.as_bytes());
        let password = server::l1(password.as_bytes());
        customers::login(&mut st, &user, &password, mac, None, "http-chap").map(|_| ())
    }

    /// A customer logs out (all sessions of the user end).
    pub fn customer_logout(&self, user: &str) {
        let mut st = lock(&self.inner.ctx.state);
        customers::logout_user(&mut st, &server::l1(user.as_bytes()), "user request");
    }

    /// Adds traffic to the user's session and totals; byte limits may log the user out.
    pub fn use_traffic(&self, user: &str, bytes_in: u64, bytes_out: u64) {
        let mut st = lock(&self.inner.ctx.state);
        customers::use_traffic(&mut st, &server::l1(user.as_bytes()), bytes_in, bytes_out);
    }

    /// Moves simulated time; sessions reaching a time limit are logged out.
    pub fn advance(&self, d: Duration) {
        customers::advance(&mut lock(&self.inner.ctx.state), d);
    }

    /// `false`: close the port and drop open connections; `true`: serve again.
    pub fn set_reachable(&self, up: bool) {
        let p = if up { Power::Up } else { Power::Unreachable };
        self.inner.ctx.power.send_if_modified(|cur| {
            if *cur == Power::Shutdown || *cur == p {
                false
            } else {
                *cur = p;
                true
            }
        });
    }

    /// Stops listeners, connections and customers.
    pub async fn shutdown(self) {
        self.inner.ctx.power.send_replace(Power::Shutdown);
        let tasks: Vec<_> = std::mem::take(&mut *lock_tasks(&self.inner.tasks));
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
    }
}

fn lock_tasks(m: &Mutex<Vec<JoinHandle<()>>>) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
