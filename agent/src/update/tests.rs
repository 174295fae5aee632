use super::*;
use ed25519_dalek::SigningKey;

fn release_key() -> SigningKey {
    mtm_common::keys::generate_signing_key()
}

#[test]
fn a_signed_release_verifies_and_any_tampering_is_refused() {
    let key = release_key();
    let binary = b"new agent binary".to_vec();
    let r = Release::describe("0.2.0", &this_target(), &binary);
    let sig = r.sign(&key);
    let pk = key.verifying_key();
    verify(&r, &sig, &pk, "0.1.0", &binary).unwrap();

    let mut tampered = binary.clone();
    tampered[0] ^= 1;
    assert_eq!(
        verify(&r, &sig, &pk, "0.1.0", &tampered),
        Err(UpdateError::Hash)
    );
    assert!(matches!(
        verify(&r, &sig, &pk, "0.1.0", &binary[1..]),
        Err(UpdateError::Size { .. })
    ));
    // A manifest describing the tampered binary, but not signed by the release key.
    let forged = Release::describe("0.2.0", &this_target(), &tampered);
    assert_eq!(
        verify(&forged, &sig, &pk, "0.1.0", &tampered),
        Err(UpdateError::Signature)
    );
    let other = release_key();
    assert_eq!(
        verify(&forged, &forged.sign(&other), &pk, "0.1.0", &tampered),
        Err(UpdateError::Signature),
        "the control-plane key or any other key is not the release key"
    );
    assert_eq!(
        verify(&r, "zz", &pk, "0.1.0", &binary),
        Err(UpdateError::Signature)
    );
    assert!(matches!(
        verify(&r, &sig, &pk, "0.2.0", &binary),
        Err(UpdateError::NotNewer(..))
    ));
    let wrong = Release::describe("0.2.0", "mips-linux", &binary);
    assert!(matches!(
        verify(&wrong, &wrong.sign(&key), &pk, "0.1.0", &binary),
        Err(UpdateError::Target(..))
    ));
}

#[test]
fn versions_compare_numerically() {
    assert!(is_newer("0.10.0", "0.9.9").unwrap());
    assert!(is_newer("1.0.0", "0.99.99").unwrap());
    assert!(!is_newer("0.1.0", "0.1.0").unwrap());
    assert!(!is_newer("0.1.0-rc1", "0.1.0").unwrap());
    assert!(is_newer("x", "0.1.0").is_err());
}

#[test]
fn install_swaps_and_rollback_restores() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("mtm-agent");
    std::fs::write(&exe, b"old").unwrap();
    install(&exe, b"new").unwrap();
    assert_eq!(std::fs::read(&exe).unwrap(), b"new");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&exe).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
    }
    assert!(rollback(&exe).unwrap());
    assert_eq!(std::fs::read(&exe).unwrap(), b"old");
    assert!(!rollback(&exe).unwrap(), "nothing left to roll back to");

    install(&exe, b"newer").unwrap();
    commit(&exe).unwrap();
    assert!(!rollback(&exe).unwrap(), "committed: no backup kept");
    assert_eq!(std::fs::read(&exe).unwrap(), b"newer");
}

#[test]
fn a_trial_that_misses_its_deadline_rolls_back_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("mtm-agent");
    std::fs::write(&exe, b"old").unwrap();
    assert_eq!(
        on_start(dir.path(), &exe, "0.1.0", 0).unwrap(),
        OnStart::Normal
    );
    install(&exe, b"new").unwrap();
    let p = Pending {
        from_version: "0.1.0".into(),
        to_version: "0.2.0".into(),
        deadline_ms: 1_000,
    };
    write_pending(dir.path(), &p).unwrap();
    assert_eq!(
        on_start(dir.path(), &exe, "0.2.0", 500).unwrap(),
        OnStart::Trial(p.clone())
    );
    // Restarted after the deadline without having proved healthy.
    assert_eq!(
        on_start(dir.path(), &exe, "0.2.0", 1_500).unwrap(),
        OnStart::RolledBack(p.clone())
    );
    assert_eq!(std::fs::read(&exe).unwrap(), b"old");
    assert_eq!(
        on_start(dir.path(), &exe, "0.1.0", 2_000).unwrap(),
        OnStart::Normal
    );

    // A healthy trial keeps the new binary.
    install(&exe, b"new").unwrap();
    write_pending(dir.path(), &p).unwrap();
    assert!(matches!(
        on_start(dir.path(), &exe, "0.2.0", 500).unwrap(),
        OnStart::Trial(_)
    ));
    healthy(dir.path(), &exe).unwrap();
    assert_eq!(
        on_start(dir.path(), &exe, "0.2.0", 5_000).unwrap(),
        OnStart::Normal
    );
    assert_eq!(std::fs::read(&exe).unwrap(), b"new");
}

fn exit(result: &str, code: &str, status: &str) -> ServiceExit {
    ServiceExit {
        result: result.into(),
        code: code.into(),
        status: status.into(),
    }
}

#[test]
fn the_supervisor_puts_back_a_binary_that_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("mtm-agent");
    std::fs::write(&exe, b"old").unwrap();
    let p = Pending {
        from_version: "0.1.0".into(),
        to_version: "0.2.0".into(),
        deadline_ms: 1_000,
    };

    // The old binary exits 75 after installing: that is the restart into the new one.
    install(&exe, b"new").unwrap();
    write_pending(dir.path(), &p).unwrap();
    let restart = exit("exit-code", "exited", "75");
    assert!(!rollback_if_failed(dir.path(), &exe, &restart).unwrap());
    assert_eq!(std::fs::read(&exe).unwrap(), b"new");
    // A clean stop (systemctl stop) is not a failure either.
    let stopped = exit("success", "killed", "TERM");
    assert!(!rollback_if_failed(dir.path(), &exe, &stopped).unwrap());

    // The new binary cannot be executed (wrong architecture): systemd says 203/EXEC.
    let cannot_exec = exit("exit-code", "exited", "203");
    assert!(rollback_if_failed(dir.path(), &exe, &cannot_exec).unwrap());
    assert_eq!(std::fs::read(&exe).unwrap(), b"old");
    // The marker stays for the old binary, which then carries on normally.
    assert_eq!(
        on_start(dir.path(), &exe, "0.1.0", 500).unwrap(),
        OnStart::Normal
    );

    // A crash (abort) on trial also rolls back; with nothing on trial, nothing happens.
    install(&exe, b"new").unwrap();
    write_pending(dir.path(), &p).unwrap();
    assert!(rollback_if_failed(dir.path(), &exe, &exit("core-dump", "dumped", "ABRT")).unwrap());
    assert_eq!(std::fs::read(&exe).unwrap(), b"old");
    std::fs::remove_file(dir.path().join(PENDING_FILE)).unwrap();
    install(&exe, b"newer").unwrap();
    assert!(!rollback_if_failed(dir.path(), &exe, &exit("signal", "killed", "SEGV")).unwrap());
    assert_eq!(std::fs::read(&exe).unwrap(), b"newer");
}
