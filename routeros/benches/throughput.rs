//! Vouchers added per second and queries per second: this client against routeros-sim, beside
//! librouteros and node-routeros against the same simulator in the same run.
//!
//! `routeros/tests/third_party/setup.sh && cargo bench -p mtm-routeros --bench throughput`
//! (env `BENCH_N` sets the operations per client, default 5000; the Python client does N/5).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use mtm_routeros::{Client, ClientConfig, NewHotspotUser, SimConfig, Simulator};

#[derive(Debug, Clone, Copy)]
struct Rates {
    adds: f64,
    queries: f64,
}

async fn ours(addr: String, n: usize, in_flight: usize, prefix: &str) -> Rates {
    use futures::stream::{self, StreamExt, TryStreamExt};
    let c = Client::connect(&ClientConfig::plain(addr, "admin", ""))
        .await
        .expect("connect");
    // All commands are driven from one task, at most `in_flight` outstanding at a time.
    let t = Instant::now();
    stream::iter(0..n)
        .map(|i| {
            let name = format!("{prefix}{i}");
            let c = &c;
            async move {
                c.add_hotspot_user(&NewHotspotUser {
                    comment: Some(format!("mtm:{name}")),
                    name,
                    password: Some("4821".into()),
                    limit_uptime: Some(std::time::Duration::from_secs(3600)),
                    ..Default::default()
                })
                .await
            }
        })
        .buffer_unordered(in_flight)
        .try_for_each(|_| async { Ok(()) })
        .await
        .expect("add");
    let adds = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    stream::iter(0..n)
        .map(|i| {
            let q = format!("?name={prefix}{i}");
            let c = &c;
            async move {
                let r = c
                    .command(&["/ip/hotspot/user/print", &q, "=.proplist=.id,name"])
                    .await?;
                assert_eq!(r.rows.len(), 1);
                Ok::<_, mtm_routeros::Error>(())
            }
        })
        .buffer_unordered(in_flight)
        .try_for_each(|_| async { Ok(()) })
        .await
        .expect("query");
    let queries = n as f64 / t.elapsed().as_secs_f64();
    c.close().await;
    Rates { adds, queries }
}

fn script(cmd: &mut Command, what: &str) -> Rates {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e} (run tests/third_party/setup.sh)"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let num = |key: &str| -> f64 {
        let at = text
            .find(key)
            .unwrap_or_else(|| panic!("{what}: no {key} in {text}"))
            + key.len()
            + 2;
        text[at..]
            .split([',', '}'])
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    Rates {
        adds: num("\"adds_per_sec\""),
        queries: num("\"queries_per_sec\""),
    }
}

fn main() {
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    // The simulator gets its own thread and single-threaded runtime, like a separate router;
    // the client runs on a single-threaded runtime of its own (one connection, one core).
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let sim_thread = std::thread::spawn(move || {
        // BENCH_SIM_THREADS=N runs the simulator on a multi-threaded runtime instead.
        let rt = match std::env::var("BENCH_SIM_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            Some(n) => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(n)
                .enable_all()
                .build(),
            None => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
        }
        .expect("sim runtime");
        rt.block_on(async {
            let sim = Simulator::start(SimConfig::default()).await.expect("sim");
            addr_tx.send(sim.addr()).expect("send addr");
            let _ = stop_rx.await;
            sim.shutdown().await;
        });
    });
    let addr = addr_rx.recv().expect("sim address");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/third_party");
    let venv = std::env::var("MTM_PY_VENV").unwrap_or_else(|_| "/var/tmp/mtm-py".into());
    let port = addr.port().to_string();

    let mut rows: Vec<(String, usize, Rates)> = Vec::new();
    let depth: usize = std::env::var("BENCH_DEPTH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let pipelined = rt.block_on(ours(addr.to_string(), n, depth, "RP"));
    rows.push((format!("mtm-routeros, {depth} in flight"), n, pipelined));
    if std::env::var_os("BENCH_ONLY_OURS").is_some() {
        println!("mtm-routeros, 256 in flight: {pipelined:?}");
        let _ = stop_tx.send(());
        let _ = sim_thread.join();
        return;
    }
    let seq = rt.block_on(ours(addr.to_string(), n / 5, 1, "RS"));
    rows.push(("mtm-routeros, 1 in flight".into(), n / 5, seq));
    let py_n = (n / 5).max(1);
    let lr = script(
        Command::new(Path::new(&venv).join("bin/python"))
            .current_dir(&dir)
            .args([
                "librouteros_bench.py",
                "127.0.0.1",
                &port,
                &py_n.to_string(),
            ]),
        "librouteros",
    );
    rows.push(("librouteros 4.2.2 (sync)".into(), py_n, lr));
    let node = |conc: usize, n: usize, nodelay: bool| {
        let mut args = vec![
            "node_routeros_bench.js".to_string(),
            "127.0.0.1".into(),
            port.clone(),
            n.to_string(),
            conc.to_string(),
        ];
        if nodelay {
            args.push("nodelay".into());
        }
        script(
            Command::new("node").current_dir(&dir).args(&args),
            "node-routeros",
        )
    };
    let node_default = node(256, n / 5, false);
    rows.push((
        "node-routeros 1.6.9, 256 in flight".into(),
        n / 5,
        node_default,
    ));
    let node_best = node(256, n, true);
    rows.push((
        "node-routeros 1.6.9, 256 in flight, TCP_NODELAY".into(),
        n,
        node_best,
    ));
    // One command at a time: with Nagle on (the library default) each command waits for
    // delayed ACKs, so a small sample is enough.
    let few = (n / 100).max(10);
    rows.push((
        "node-routeros 1.6.9, 1 in flight".into(),
        few,
        node(1, few, false),
    ));
    rows.push((
        "node-routeros 1.6.9, 1 in flight, TCP_NODELAY".into(),
        n / 5,
        node(1, n / 5, true),
    ));

    println!("| client | ops | adds/s | queries/s |");
    println!("|---|---:|---:|---:|");
    for (name, ops, r) in &rows {
        println!("| {name} | {ops} | {:.0} | {:.0} |", r.adds, r.queries);
    }
    println!();
    println!(
        "mtm-routeros vs librouteros: {:.1}x adds, {:.1}x queries (target 10x)",
        pipelined.adds / lr.adds,
        pipelined.queries / lr.queries
    );
    println!(
        "mtm-routeros vs node-routeros (both 256 in flight, node with TCP_NODELAY): {:.1}x adds, {:.1}x queries (target 3x)",
        pipelined.adds / node_best.adds,
        pipelined.queries / node_best.queries
    );
    let _ = stop_tx.send(());
    let _ = sim_thread.join();
}
