//! A small disk for one agent: its data directory on a tmpfs of its own, which the day fills to
//! the last byte with ballast and frees again, as a Pi's SD card fills with logs. Mounting needs
//! root (CAP_SYS_ADMIN); without it the day says so and runs without this fault.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted tmpfs, unmounted (lazily) on drop.
pub struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// Mount a tmpfs of `size` (e.g. `32m`) on `dir` (created if missing); `None` when this
    /// process may not mount.
    pub fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk {
            dir: dir.to_owned(),
        })
    }

    fn ballast(&self) -> PathBuf {
        self.dir.join("ballast")
    }

    /// Fill the disk until the filesystem refuses another byte; returns the bytes written.
    pub fn fill(&self) -> u64 {
        let Ok(mut f) = std::fs::File::create(self.ballast()) else {
            return 0;
        };
        let chunk = vec![0u8; 64 * 1024];
        let mut n = 0u64;
        while f.write_all(&chunk).is_ok() {
            n += chunk.len() as u64;
        }
        while f.write_all(&[0u8]).is_ok() {
            n += 1;
        }
        let _ = f.sync_all();
        n
    }

    /// Free what [`SmallDisk::fill`] took.
    pub fn free(&self) {
        let _ = std::fs::remove_file(self.ballast());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: the agent may still hold files open when the day ends.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}
