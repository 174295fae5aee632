//! The attack suite's markup and formula cases: every name a user (or a router) can set carries
//! markup and opens like a spreadsheet formula; every page that shows it must show it escaped,
//! and every CSV export must hand it to a spreadsheet as text. Each field is named by a marker
//! word, so a page that stops showing a field, or shows it raw, fails by name.

mod support;

use mtm_common::{Inventory, RouterUser};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use support::{embedded_server, ROOT_PASSWORD};

/// Closes an attribute and opens two elements that would run script if left raw.
const XSS: &str = "\"><img/src/onerror=alert(1)><script>alert(1)</script>";
/// The same as a page shows it once escaped (the start is enough to recognise it).
const XSS_ESCAPED: &str = "&quot;&gt;&lt;img";

/// The value of the field named `marker`: a formula prefix, the marker, the markup.
fn hostile(prefix: &str, marker: &str) -> String {
    format!("{prefix}{marker}{XSS}")
}

/// Where each field must be shown (escaped), by page: ids as `{loc}`, `{staff}`, `{pkg}`,
/// `{router}`, `{token}`, `{shift}`. A page may show more; one that stops showing a field listed
/// here fails, so each (page, field) pair below is a case that can fail.
const SHOWN_ON: &[(&str, &[&str])] = &[
    ("AckNote", &["/admin/log", "/manager/alerts"]),
    ("ChanName", &["/admin/log", "/settings/notifications"]),
    ("CloseNote", &["/admin/log"]),
    ("FrzReason", &["/admin/log", "/admin/routers"]),
    (
        "LocName",
        &[
            "/admin/locations/{loc}/settings",
            "/admin/locations/{loc}/thaw",
            "/admin/log",
            "/admin/routers",
            "/admin/users",
            "/manager",
            "/manager/alerts",
            "/manager/live",
            "/manager/locations/{loc}",
            "/manager/reports",
            "/settings/notifications",
        ],
    ),
    (
        "MgrName",
        &[
            "/admin/log",
            "/admin/users",
            "/manager",
            "/manager/alerts",
            "/manager/locations/{loc}",
            "/manager/reports",
            "/manager/shifts/{shift}/close",
            "/manager/staff/{staff}",
            "/overview",
            "/settings/notifications",
        ],
    ),
    (
        "PkgName",
        &[
            "/admin/packages/{pkg}",
            "/admin/routers",
            "/dispense",
            "/dispense/batch",
            "/tokens/{token}",
            "/tokens/{token}/print",
        ],
    ),
    ("RogueUser", &["/manager/alerts"]),
    (
        "RtrName",
        &[
            "/admin/routers",
            "/admin/routers/{router}/override/logout-all",
            "/admin/routers/{router}/revoke",
            "/overview",
        ],
    ),
    (
        "StfName",
        &[
            "/admin/log",
            "/admin/log?table=events",
            "/admin/users",
            "/dispense",
            "/dispense/batch",
            "/manager/alerts",
            "/manager/locations/{loc}",
            "/manager/shifts/{shift}/close",
            "/manager/staff/{staff}",
            "/tokens/{token}",
        ],
    ),
];

/// Where each field must appear in a CSV export (as text, defused), ids as in [`SHOWN_ON`].
const IN_CSV: &[(&str, &[&str])] = &[
    (
        "AckNote",
        &["/admin/log?format=csv", "/manager/alerts?format=csv"],
    ),
    ("ChanName", &["/admin/log?format=csv"]),
    ("CloseNote", &["/admin/log?format=csv"]),
    ("FrzReason", &["/admin/log?format=csv"]),
    (
        "LocName",
        &[
            "/admin/routers?format=csv",
            "/admin/users?format=csv",
            "/manager/alerts?format=csv",
            "/manager?format=csv",
        ],
    ),
    (
        "MgrName",
        &["/admin/log?format=csv", "/admin/users?format=csv"],
    ),
    ("RogueUser", &["/manager/alerts?format=csv"]),
    ("RtrName", &["/admin/routers?format=csv"]),
    (
        "StfName",
        &[
            "/admin/log?table=events&format=csv",
            "/admin/users?format=csv",
            "/manager/alerts?format=csv",
            "/manager/locations/{loc}?format=csv",
            "/manager/locations/{loc}?format=csv&table=shifts",
            "/manager/locations/{loc}?format=csv&table=staff",
            "/manager/staff/{staff}?format=csv",
            "/manager/staff/{staff}?format=csv&table=shifts",
        ],
    ),
];

/// Pairs of `table` missing from `found` (paths with ids replaced by `ids`' placeholders).
fn missing(
    table: &[(&str, &[&str])],
    found: &BTreeMap<&str, BTreeSet<String>>,
    ids: &[(&str, &str)],
) -> Vec<String> {
    let normal = |p: &str| {
        ids.iter()
            .fold(p.to_owned(), |p, (id, name)| p.replace(id, name))
    };
    let mut out = Vec::new();
    for (marker, pages) in table {
        let seen: BTreeSet<String> = found
            .get(marker)
            .map(|s| s.iter().map(|p| normal(p)).collect())
            .unwrap_or_default();
        for p in *pages {
            if !seen.contains(*p) {
                out.push(format!("{marker} on {p}"));
            }
        }
    }
    out
}

const PASSWORD: &str = "a long password 1";

/// A browser-like session: cookie plus the CSRF token for forms.
struct Browser {
    http: reqwest::Client,
    base: String,
    jwt: String,
    csrf: String,
}

impl Browser {
    async fn login(base: &str, username: &str, password: &str) -> Browser {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r: Value = http
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Browser {
            http,
            base: base.to_owned(),
            jwt: r["token"].as_str().expect("token").to_owned(),
            csrf: r["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn get(&self, path: &str) -> String {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("mtm_session={}", self.jwt))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        r.text().await.unwrap()
    }

    async fn form(&self, path: &str, fields: &[(&str, &str)]) -> StatusCode {
        self.http
            .post(format!("{}{path}", self.base))
            .header("cookie", format!("mtm_session={}", self.jwt))
            .form(&[fields, &[("_csrf", self.csrf.as_str())]].concat())
            .send()
            .await
            .unwrap()
            .status()
    }
}

/// RFC 4180 cells of a CSV document.
fn csv_cells(body: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') | (false, '\n') => cells.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, c) => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

/// A cell a spreadsheet would evaluate: opening with `=`, `+`, `-`, `@`, tab or CR, and not a
/// plain number.
fn runs_as_formula(cell: &str) -> bool {
    let plain_number = {
        let digits = cell.strip_prefix(['-', '+']).unwrap_or(cell);
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
    };
    cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && !plain_number
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_are_escaped_on_every_page_and_defused_in_every_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (server, api, root) = embedded_server(dir.path()).await;
    let base = format!("http://{}", server.http_addr());

    // Everything an admin names.
    let loc: Value = api
        .post(
            &root,
            "/api/locations",
            json!({"name": hostile("=", "LocName"), "timezone": "UTC"}),
        )
        .await;
    let loc_id = loc["id"].as_str().unwrap().to_owned();
    let pkg: Value = api
        .post(
            &root,
            "/api/packages",
            json!({"slug": "evil", "name": hostile("+", "PkgName"), "price_minor": 500,
                   "currency": "USD", "limit_uptime_s": 3600}),
        )
        .await;
    let router: Value = api
        .post(
            &root,
            "/api/routers",
            json!({"location_id": loc_id, "name": hostile("-", "RtrName"),
                   "agent_id": "evil-agent"}),
        )
        .await;
    let router_id = router["router"]["id"].as_str().unwrap().to_owned();
    // Enrolled, so dispensing has a router to send vouchers to.
    let code: Value = api
        .post(
            &root,
            &format!("/api/routers/{router_id}/enrollment-code"),
            json!({}),
        )
        .await;
    let key = mtm_common::keys::generate_signing_key();
    let enrolled = reqwest::Client::new()
        .post(format!("{base}/api/enroll"))
        .json(&json!({"code": code["code"], "agent_version": "test",
                      "public_key_hex": mtm_common::keys::public_key_hex(&key.verifying_key())}))
        .send()
        .await
        .unwrap();
    assert!(enrolled.status().is_success(), "{}", enrolled.status());
    let staff_name = hostile("@", "StfName");
    let manager_name = hostile("=", "MgrName");
    let mut staff_id = String::new();
    for (name, role, locs) in [
        (&staff_name, "staff", json!([loc_id])),
        (&manager_name, "manager", json!([])),
    ] {
        let made: Value = api
            .post(
                &root,
                "/api/auth/register",
                json!({"username": name, "password": PASSWORD, "role": role,
                       "location_ids": locs}),
            )
            .await;
        if role == "staff" {
            staff_id = made["id"].as_str().unwrap().to_owned();
        }
    }
    let manager = api.login(&manager_name, PASSWORD).await;
    let _: Value = api
        .post(
            &manager,
            "/api/notifications/channels",
            json!({"name": hostile("@", "ChanName"), "kind": "webhook",
                   "target": "http://127.0.0.1:9/hook", "min_severity": "info"}),
        )
        .await;

    // A shift that sells a voucher and closes short (a cash alert), acknowledged with a note.
    let staff = api.login(&staff_name, PASSWORD).await;
    let _: Value = api
        .post(
            &staff,
            "/api/shifts/clock-in",
            json!({"opening_float_minor": 1000, "location_id": loc_id}),
        )
        .await;
    let token: Value = api
        .post(
            &staff,
            "/api/tokens/generate",
            json!({"package_id": pkg["id"]}),
        )
        .await;
    let token_id = token["id"].as_str().unwrap().to_owned();
    let _: Value = api
        .post(
            &staff,
            "/api/shifts/clock-out",
            json!({"declared_cash_minor": 0}),
        )
        .await;
    let alerts: Vec<Value> = api.get(&manager, "/api/alerts").await;
    assert!(!alerts.is_empty(), "closing short raised an alert");
    let _: Value = api
        .post(
            &manager,
            &format!(
                "/api/alerts/{}/acknowledge",
                alerts[0]["id"].as_str().unwrap()
            ),
            json!({"note": hostile("\t", "AckNote")}),
        )
        .await;
    // A forgotten shift a manager closes with a note, and one left open for its close page.
    for close in [true, false] {
        let staff = api.login(&staff_name, PASSWORD).await;
        let shift: Value = api
            .post(
                &staff,
                "/api/shifts/clock-in",
                json!({"opening_float_minor": 0, "location_id": loc_id}),
            )
            .await;
        if close {
            let _: Value = api
                .post(
                    &manager,
                    &format!("/api/shifts/{}/close", shift["id"].as_str().unwrap()),
                    json!({"declared_cash_minor": 0, "note": hostile("\r", "CloseNote")}),
                )
                .await;
        }
    }
    let open_shift = {
        let staff = api.login(&staff_name, PASSWORD).await;
        let s: Value = api.get(&staff, "/api/shifts/current").await;
        s["id"].as_str().expect("an open shift").to_owned()
    };

    // A name a router reports: a hotspot user made behind mtm's back, named with markup.
    let inventory = Inventory {
        users: vec![RouterUser {
            router_id: "*1".into(),
            name: hostile("=", "RogueUser"),
            ..Default::default()
        }],
        ..Default::default()
    };
    let router_ref = mtm_control_plane::reconcile::RouterRef {
        agent_id: "evil-agent".into(),
        router_id: Some(router_id.parse().unwrap()),
        location_id: Some(loc_id.parse().unwrap()),
    };
    let findings = mtm_control_plane::reconcile::check_inventory(
        &router_ref,
        &inventory,
        mtm_control_plane::store::now_ms(),
        &mtm_control_plane::reconcile::IssuedIndex::new([]),
        &Default::default(),
    );
    assert_eq!(findings.len(), 1, "{findings:?}");
    server
        .store()
        .raise_alert(&findings[0], mtm_control_plane::store::now_ms())
        .await
        .unwrap();

    // An admin freezes the location, giving a reason.
    let admin = Browser::login(&base, "root", ROOT_PASSWORD).await;
    let frozen = admin
        .form(
            &format!("/admin/locations/{loc_id}/freeze"),
            &[
                ("confirm", "freeze"),
                ("reason", &hostile("=", "FrzReason")),
            ],
        )
        .await;
    assert_eq!(frozen, StatusCode::SEE_OTHER, "the freeze form is accepted");

    let boss = Browser::login(&base, &manager_name, PASSWORD).await;
    let clerk = Browser::login(&base, &staff_name, PASSWORD).await;
    let manager_pages = [
        "/manager".to_owned(),
        "/manager/live".into(),
        "/manager/alerts".into(),
        "/manager/reports".into(),
        format!("/manager/locations/{loc_id}"),
        format!("/manager/staff/{staff_id}"),
        format!("/manager/shifts/{open_shift}/close"),
        "/overview".into(),
        "/settings/notifications".into(),
    ];
    let mut pages: Vec<(&Browser, String)> = Vec::new();
    for p in &manager_pages {
        pages.push((&boss, p.clone()));
        pages.push((&admin, p.clone()));
    }
    for p in [
        "/admin".to_owned(),
        "/admin/routers".into(),
        "/admin/users".into(),
        "/admin/log".into(),
        "/admin/log?table=events".into(),
        "/admin/releases".into(),
        format!("/admin/packages/{}", pkg["id"].as_str().unwrap()),
        format!("/admin/routers/{router_id}/revoke"),
        format!("/admin/routers/{router_id}/override/logout-all"),
        format!("/admin/locations/{loc_id}/settings"),
        format!("/admin/locations/{loc_id}/thaw"),
    ] {
        pages.push((&admin, p));
    }
    for p in [
        "/dispense".to_owned(),
        "/dispense/batch".into(),
        format!("/tokens/{token_id}"),
        format!("/tokens/{token_id}/status"),
        format!("/tokens/{token_id}/print"),
        format!("/tokens/{token_id}/qr.svg"),
    ] {
        pages.push((&clerk, p));
    }
    let markers = [
        "LocName",
        "PkgName",
        "RtrName",
        "StfName",
        "MgrName",
        "ChanName",
        "AckNote",
        "CloseNote",
        "RogueUser",
        "FrzReason",
    ];
    let mut shown: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut raw = Vec::new();
    for (who, path) in &pages {
        let body = who.get(path).await;
        if body.contains("<img/src/onerror") || body.contains("<script>alert(1)") {
            raw.push(path.clone());
        }
        for m in markers {
            // As text, or inside JSON shown as text (the audit log's detail): `\"` there.
            if body.contains(&format!("{m}{XSS_ESCAPED}"))
                || body.contains(&format!("{m}\\{XSS_ESCAPED}"))
            {
                shown.entry(m).or_default().insert(path.clone());
            }
        }
    }
    assert!(raw.is_empty(), "markup left raw on {raw:?}");
    let pkg_id = pkg["id"].as_str().unwrap();
    let ids = [
        (loc_id.as_str(), "{loc}"),
        (staff_id.as_str(), "{staff}"),
        (pkg_id, "{pkg}"),
        (router_id.as_str(), "{router}"),
        (token_id.as_str(), "{token}"),
        (open_shift.as_str(), "{shift}"),
    ];
    let unseen = missing(SHOWN_ON, &shown, &ids);
    assert!(
        unseen.is_empty(),
        "not shown escaped: {unseen:#?}\nshown: {shown:#?}"
    );

    // Every CSV export.
    let csvs = [
        "/manager?format=csv".to_owned(),
        "/manager/alerts?format=csv".into(),
        "/manager/reports?format=csv".into(),
        format!("/manager/locations/{loc_id}?format=csv"),
        format!("/manager/locations/{loc_id}?format=csv&table=shifts"),
        format!("/manager/locations/{loc_id}?format=csv&table=staff"),
        format!("/manager/staff/{staff_id}?format=csv"),
        format!("/manager/staff/{staff_id}?format=csv&table=shifts"),
        "/admin/users?format=csv".into(),
        "/admin/routers?format=csv".into(),
        "/admin/log?format=csv".into(),
        "/admin/log?table=events&format=csv".into(),
    ];
    let mut in_csv: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut formulas = Vec::new();
    let mut cells_checked = 0;
    for path in &csvs {
        let body = admin.get(path).await;
        for cell in csv_cells(&body) {
            cells_checked += 1;
            if runs_as_formula(&cell) {
                formulas.push(format!("{path}: {cell:?}"));
            }
            for m in markers {
                if cell.contains(m) {
                    in_csv.entry(m).or_default().insert(path.clone());
                }
            }
        }
    }
    assert!(
        formulas.is_empty(),
        "cells a spreadsheet would run: {formulas:#?}"
    );
    let absent = missing(IN_CSV, &in_csv, &ids);
    assert!(
        absent.is_empty(),
        "not in the CSV: {absent:#?}\nfound: {in_csv:#?}"
    );
    let pairs = |t: &[(&str, &[&str])]| t.iter().map(|(_, p)| p.len()).sum::<usize>();
    println!(
        "markup: {} pages read, {} (field, page) pairs shown escaped, none raw; CSV: {} exports, \
         {cells_checked} cells, {} (field, export) pairs defused, no formula",
        pages.len(),
        pairs(SHOWN_ON),
        csvs.len(),
        pairs(IN_CSV)
    );
    server.shutdown().await;
}

#[test]
fn the_csv_reader_and_formula_check_are_themselves_right() {
    assert_eq!(
        csv_cells("a,\"b,\"\"c\"\"\"\r\n\"'=1\",-5"),
        ["a", "b,\"c\"", "'=1", "-5"]
    );
    for risky in [
        "=1+1", "+cmd", "-x", "@SUM(A1)", "\tx", "\rx", "-inf", "-1e5",
    ] {
        assert!(runs_as_formula(risky), "{risky:?}");
    }
    for fine in ["'=1", "-5", "12.50", "+3", "name"] {
        assert!(!runs_as_formula(fine), "{fine:?}");
    }
}
