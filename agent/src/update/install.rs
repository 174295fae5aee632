//! Swapping the agent's binary: the new one written beside it, the running one kept as
//! `.prev`, one rename between them.

use std::path::{Path, PathBuf};

use super::{io, UpdateError};

fn sibling(exe: &Path, suffix: &str) -> PathBuf {
    let mut name = exe.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    exe.with_file_name(name)
}

/// Install a verified `binary` in place of `exe`: written beside it (mode 0755, synced), the
/// running one kept as `exe.prev`, then renamed over `exe` in one step, so a power cut leaves the
/// old binary or the new one, never half of either.
pub fn install(exe: &Path, binary: &[u8]) -> Result<(), UpdateError> {
    use std::io::Write;
    let new = sibling(exe, ".new");
    let prev = sibling(exe, ".prev");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o755);
    }
    let mut f = opts.open(&new).map_err(io)?;
    f.write_all(binary).and_then(|_| f.sync_all()).map_err(io)?;
    drop(f);
    let _ = std::fs::remove_file(&prev);
    std::fs::hard_link(exe, &prev)
        .or_else(|_| std::fs::copy(exe, &prev).map(|_| ()))
        .map_err(io)?;
    std::fs::rename(&new, exe).map_err(io)?;
    sync_dir(exe);
    Ok(())
}

/// Put `exe.prev` back; `false` if there is none.
pub fn rollback(exe: &Path) -> Result<bool, UpdateError> {
    let prev = sibling(exe, ".prev");
    if !prev.exists() {
        return Ok(false);
    }
    std::fs::rename(&prev, exe).map_err(io)?;
    sync_dir(exe);
    Ok(true)
}

/// The new binary proved healthy: drop the backup.
pub fn commit(exe: &Path) -> Result<(), UpdateError> {
    match std::fs::remove_file(sibling(exe, ".prev")) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
    }
}

pub(super) fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}
