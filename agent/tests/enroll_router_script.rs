//! `mtm-agent router-script`: the firmware-config scripts filled in, passing the same check as
//! the templates (`firmware-config/check_rsc.py`), with hostile values quoted safely.

use std::process::Command;

use mtm_agent::router_script::{fill, quote_value, render, RouterOs, SiteValues};

fn values(container: bool, routeros: RouterOs) -> SiteValues {
    SiteValues {
        site: "Cafe \"One\"\u{e9}".into(),
        agent_address: "172.17.0.2".into(),
        api_user: "hs-agent".into(),
        api_password: r#"pa$$"w\ord [/system/reboot]"#.into(),
        rate_limit: "2M/5M".into(),
        container,
        routeros,
        disk: "usb1".into(),
        registry_url: "https://ghcr.io".into(),
        image: "example/mtm-agent:0.1.0".into(),
        server_url: "https://mtm.example.com".into(),
        enroll_code: "ABCD-EFGH-JKMN-PQRS".into(),
    }
}

fn checker() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware-config/check_rsc.py")
}

#[test]
fn filled_scripts_pass_the_firmware_config_check() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (container, ros)) in [
        (false, RouterOs::V7_19),
        (true, RouterOs::V7_19),
        (true, RouterOs::V7_20),
    ]
    .into_iter()
    .enumerate()
    {
        let out = render(&values(container, ros)).unwrap();
        let commands: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(
            commands.iter().all(|l| !l.contains("{{")),
            "a placeholder is left"
        );
        assert!(out.contains(r#"password="pa\$\$\"w\\ord [/system/reboot]""#));
        assert!(!out.contains(r#"pa$$"w"#), "raw password");
        assert_eq!(out.contains("/container/add"), container);
        assert_eq!(
            out.contains("envlists="),
            ros == RouterOs::V7_20 && container
        );
        assert!(out.contains(r#"address="172.17.0.2/32""#));
        let file = dir.path().join(format!("site-{i}.rsc"));
        std::fs::write(&file, &out).unwrap();
        let Ok(o) = Command::new("python3").arg(checker()).arg(&file).output() else {
            panic!("python3 is needed to run firmware-config/check_rsc.py");
        };
        assert!(
            o.status.success(),
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn values_that_could_break_out_are_refused_or_escaped() {
    assert_eq!(quote_value("x", r#"a"b\c$d"#).unwrap(), r#"a\"b\\c\$d"#);
    assert!(quote_value("x", "a\nb").is_err());
    assert!(quote_value("x", "a\rb").is_err());
    let mut v = values(false, RouterOs::V7_19);
    v.api_password = "line\n/system/reset-configuration".into();
    assert!(render(&v).is_err());
    let mut v = values(false, RouterOs::V7_19);
    v.agent_address = "10.0.0.1/8".into();
    assert!(render(&v)
        .unwrap_err()
        .to_string()
        .contains("agent-address"));
    let mut v = values(false, RouterOs::V7_19);
    v.api_user = "a b".into();
    assert!(render(&v).is_err());
    let mut v = values(true, RouterOs::V7_19);
    v.enroll_code.clear();
    assert!(render(&v).unwrap_err().to_string().contains("--code"));
    // Comments keep their placeholders; only commands are filled.
    let t = "# {{api_password}} here\n/user/set x password=\"{{api_password}}\"\n";
    let filled = fill(t, &values(false, RouterOs::V7_19)).unwrap();
    assert!(filled.starts_with("# {{api_password}} here\n"));
    assert!(fill("/x a=\"{{nope}}\"", &values(false, RouterOs::V7_19)).is_err());
}

#[test]
fn routeros_versions_parse() {
    for (s, v) in [
        ("7.19", RouterOs::V7_19),
        ("7.4", RouterOs::V7_19),
        ("7.16.2", RouterOs::V7_19),
        ("7.20", RouterOs::V7_20),
        ("7.21.1", RouterOs::V7_20),
    ] {
        assert_eq!(s.parse::<RouterOs>().unwrap(), v, "{s}");
    }
    assert!("6.49".parse::<RouterOs>().is_err());
}

#[test]
fn the_cli_prints_the_scripts_with_a_fresh_password() {
    let run = || {
        let o = Command::new(env!("CARGO_BIN_EXE_mtm-agent"))
            .args([
                "router-script",
                "--site",
                "cafe-1",
                "--agent-address",
                "192.168.88.10",
            ])
            .env_remove("MTM_ROUTER_PASSWORD")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let (a, b) = (run(), run());
    let pw = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("/user/set"))
            .and_then(|l| l.split("password=\"").nth(1))
            .map(|r| r.split('"').next().unwrap_or_default().to_owned())
            .unwrap()
    };
    assert_eq!(pw(&a).len(), 24);
    assert_ne!(pw(&a), pw(&b), "a new random password each time");
    assert!(a.contains("# ===== hotspot-profiles.rsc ====="));
    assert!(!a.contains("/container/"));
}
