//! The agent's disk fills up and is freed again, for real: its data directory is a 4 MiB tmpfs
//! filled to the last byte. The agent must say its store is failing (status and `/healthz`),
//! heal by itself once there is room (reopening redb, which refuses everything after an I/O
//! error until then), and carry out every command sent meanwhile exactly once.
//!
//! Mounting needs root (CAP_SYS_ADMIN); without it the test says so and passes vacuously.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::*;
use mtm_common::UpMessage;

struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs(dir))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a failed test may still hold files open.
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

/// Write zeros to `path` until the filesystem refuses; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 4096];
    let mut n = 0u64;
    while f.write_all(&chunk).is_ok() {
        n += chunk.len() as u64;
    }
    // Whatever is left below one chunk.
    while f.write_all(&[0u8]).is_ok() {
        n += 1;
    }
    let _ = f.sync_all();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_reported_and_healed_without_a_restart() {
    let Some(fs) = Tmpfs::mount("4m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); disk-full test not run");
        return;
    };
    let data = fs.path().join("agent");
    std::fs::create_dir_all(&data).unwrap();
    let rig = rig_in(&data, "diskfull", MOSQUITTO, |c| {
        c.intervals.health_s = 2;
        c.status_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let (router, cp, agent) = (&rig.router, &rig.cp, &rig.agent);
    let addr = agent.status_addr().unwrap().to_string();
    assert_eq!(
        mtm_agent::status::get(&addr, "/healthz").await.unwrap().0,
        200
    );

    let ballast = fs.path().join("ballast");
    let filled = fill(&ballast);
    eprintln!("disk full after {filled} bytes of ballast");
    let codes: Vec<String> = (0..20).map(|i| format!("DISKF{i:03}")).collect();
    for code in &codes {
        cp.command(&create_token(code)).await;
    }
    wait_until(30, "store reported failing", || !agent.status().store.ok).await;
    let (code, body) = mtm_agent::status::get(&addr, "/healthz").await.unwrap();
    assert_eq!(code, 503, "{body}");
    assert!(body.starts_with("store:"), "{body}");
    let errors_while_full = agent.status().store.errors;
    assert!(errors_while_full > 0);

    std::fs::remove_file(&ballast).unwrap();
    let freed = std::time::Instant::now();
    wait_until(90, "every voucher on the router", || {
        router.users().len() == codes.len()
    })
    .await;
    eprintln!(
        "every voucher on the router {:.1} s after the disk was freed",
        freed.elapsed().as_secs_f64()
    );
    wait_until(
        60,
        "every result acknowledged and the store healthy",
        || {
            let s = agent.status();
            s.store.ok && s.outbox_len == 0 && s.commands_applied == codes.len() as u64
        },
    )
    .await;
    eprintln!(
        "healed {:.1} s after the disk was freed; store {:?}",
        freed.elapsed().as_secs_f64(),
        agent.status().store
    );
    assert_eq!(
        mtm_agent::status::get(&addr, "/healthz").await.unwrap().0,
        200
    );
    // Exactly once: one user per code, one result per command.
    let mut names: Vec<String> = router.users().into_iter().map(|u| u.name).collect();
    names.sort();
    assert_eq!(names, codes);
    // A voucher added just before its result failed to commit is found on the retry
    // (`already_present`), never added twice: one answer per command either way.
    let answered: std::collections::HashSet<uuid::Uuid> = cp
        .collect(|m| match m {
            UpMessage::TokenApplied(a) => Some(a.command_id),
            _ => None,
        })
        .into_iter()
        .collect();
    assert_eq!(answered.len(), codes.len());
    // The control plane hears about the trouble in a later health report.
    wait_until(30, "health report with store errors", || {
        cp.count(|m| matches!(m, UpMessage::Health(h) if h.store_errors > 0)) > 0
    })
    .await;
    rig.stop().await;
    drop(fs);
}
