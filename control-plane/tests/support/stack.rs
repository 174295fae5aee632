//! The real processes a delivery fault test runs, set up as an operator would: a private
//! Mosquitto (never the shared one), `mtm-server serve` from a config file, and `mtm-agent run`
//! beside a router simulated in the test, enrolled with a key made by `mtm-agent keygen`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::process::{Child, Command};

use super::faults::Voucher;
use super::{bin, wait_for, Api, Proc};

/// A number from the environment (a test's long form), or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A private Mosquitto on `port`, up once it accepts connections; killed on drop.
pub async fn mosquitto(port: u16) -> Child {
    let child = Command::new("mosquitto")
        .args(["-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("mosquitto is installed (scripts/tools.txt)");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_for("mosquitto listening", Duration::from_secs(10), || async {
        tokio::net::TcpStream::connect(addr).await.is_ok()
    })
    .await;
    child
}

/// Write `data/server.toml` for a server on `http` using the external broker on
/// `broker_port`, with `extra` lines at the top level (before `[mqtt]`) and `mqtt_extra` in
/// the `[mqtt]` table. Returns the file's path.
pub fn server_config(
    data: &Path,
    http: &str,
    broker_port: u16,
    extra: &str,
    mqtt_extra: &str,
) -> PathBuf {
    std::fs::create_dir_all(data).unwrap();
    let path = data.join("server.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = {:?}\nhttp_bind = {http:?}\n{extra}\n\
             [mqtt]\nmode = \"external\"\nhost = \"127.0.0.1\"\nport = {broker_port}\n{mqtt_extra}\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    path
}

/// `mtm-server create-admin` for `root` / `root-pass-123`.
pub fn create_admin(config: &Path) {
    let made = std::process::Command::new(bin("mtm-server"))
        .args(["create-admin", "--config"])
        .arg(config)
        .args(["--username", "root", "--password", "root-pass-123"])
        .status()
        .unwrap();
    assert!(made.success(), "create-admin failed");
}

/// `mtm-server serve` on `config`, once its HTTP listener is up.
pub async fn serve(config: &Path) -> Proc {
    let mut server = Proc::spawn(
        bin("mtm-server"),
        &["serve", "--config", config.to_str().unwrap()],
    )
    .await;
    server.line_after("http on ").await;
    server
}

/// `mtm-agent keygen` into `agent_dir`; the public key.
pub fn agent_keygen(agent_dir: &Path) -> String {
    std::fs::create_dir_all(agent_dir).unwrap();
    let out = std::process::Command::new(bin("mtm-agent"))
        .args(["keygen", "--data-dir", agent_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "keygen failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Write `agent_dir/agent.toml` for agent `r1` of [`super::one_cafe`] (`router` as the API
/// returned it) on the broker at `broker_port`, driving the RouterOS API at `router_addr`, with
/// its status endpoint on a free port. Usage is polled every second.
pub fn agent_config(
    agent_dir: &Path,
    control_plane_key: &str,
    broker_port: u16,
    router: &Value,
    router_addr: SocketAddr,
) -> PathBuf {
    let path = agent_dir.join("agent.toml");
    std::fs::write(
        &path,
        format!(
            r#"agent_id = "r1"
data_dir = {data:?}
control_plane_key = {control_plane_key:?}
status_listen = "127.0.0.1:0"
[mqtt]
host = "127.0.0.1"
port = {broker_port}
username = "r1"
password = {pw:?}
[router]
addr = {router_addr:?}
username = "api"
password = "routerpass"
[intervals]
usage_poll_s = 1
health_s = 2
inventory_s = 5
"#,
            data = agent_dir.display().to_string(),
            pw = router["mqtt_password"].as_str().unwrap(),
            router_addr = router_addr.to_string(),
        ),
    )
    .unwrap();
    path
}

/// `mtm-agent run` on `config`, and its status endpoint's address.
pub async fn run_agent(config: &Path) -> (Proc, String) {
    let mut agent = Proc::spawn(
        bin("mtm-agent"),
        &["run", "--config", config.to_str().unwrap()],
    )
    .await;
    let status = agent.line_after("status on ").await;
    (agent, status)
}

/// Wait until the API shows router `r1` online.
pub async fn router_online(api: &Api, admin: &str) {
    wait_for("router online", Duration::from_secs(30), || async {
        let routers: Value = api.get(admin, "/api/routers").await;
        routers.as_array().is_some_and(|rs| {
            rs.iter()
                .any(|r| r["agent_id"] == "r1" && r["online"] == true)
        })
    })
    .await;
}

/// Sell `n` vouchers of `package` (its id) as `staff`.
pub async fn dispense(api: &Api, staff: &str, package: &Value, n: usize) -> Vec<Voucher> {
    let mut out = Vec::new();
    for _ in 0..n {
        let t: Value = api
            .post(
                staff,
                "/api/tokens/generate",
                json!({"package_id": package}),
            )
            .await;
        out.push((
            t["id"].as_str().unwrap().to_owned(),
            t["code"].as_str().unwrap().to_owned(),
        ));
    }
    out
}

/// Whether process `pid` still runs (not gone, not a zombie): no process restarted by hand.
pub fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z ")
}
