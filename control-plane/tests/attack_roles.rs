//! The attack suite's role matrix: every documented API operation (the document the server
//! generates from its handlers and serves at `/api/openapi.json`, with the roles in each
//! operation's `x-roles`) and every page path ([`PAGES`]), GET and POST, tried with no session
//! and with a session of each role against a real server. The expected answer of each case comes
//! from the documented guard, never from what the server answers; and every route the router
//! serves must be in one of the two lists, so a new route cannot slip in unguarded and untested.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use support::embedded_server;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Guard {
    /// Anyone, logged in or not.
    Public,
    /// Any logged-in user.
    Any,
    Staff,
    /// Managers and super admins.
    Manager,
    /// Super admins only.
    Admin,
    /// Agents with their MQTT credentials (HTTP basic auth); no session of any role.
    Agent,
}

impl Guard {
    fn from_roles(roles: &[&str]) -> Guard {
        let mut r: Vec<&str> = roles.to_vec();
        r.sort_unstable();
        match r.as_slice() {
            [] => Guard::Public,
            ["agent"] => Guard::Agent,
            ["manager", "staff", "super_admin"] => Guard::Any,
            ["staff"] => Guard::Staff,
            ["manager", "super_admin"] => Guard::Manager,
            ["super_admin"] => Guard::Admin,
            other => panic!("no guard for the roles {other:?}"),
        }
    }

    fn allows(self, role: &str) -> bool {
        match self {
            Guard::Public => true,
            Guard::Any => true,
            Guard::Staff => role == "staff",
            Guard::Manager => role == "manager" || role == "super_admin",
            Guard::Admin => role == "super_admin",
            Guard::Agent => false,
        }
    }
}

use Guard::{Admin, Any, Manager, Public, Staff};

/// Every page path with the guard of its GET and of its POST (`None`: the method is not served,
/// which must answer 405 whoever asks). `{id}` is any id; `{action}` a valid action word.
const PAGES: &[(&str, Option<Guard>, Option<Guard>)] = &[
    ("/", Some(Public), None),
    ("/login", Some(Public), Some(Public)),
    ("/logout", None, Some(Any)),
    ("/settings/language", None, Some(Any)),
    ("/static/htmx.min.js", Some(Public), None),
    ("/static/mtm.css", Some(Public), None),
    ("/static/print.js", Some(Public), None),
    ("/shifts/clock-in", None, Some(Staff)),
    ("/shifts/clock-out", None, Some(Staff)),
    ("/dispense", Some(Staff), Some(Staff)),
    ("/dispense/batch", Some(Staff), Some(Staff)),
    ("/dispense/batch/{id}", Some(Any), None),
    ("/dispense/batch/{id}/progress", Some(Any), None),
    ("/dispense/batch/{id}/print", Some(Any), None),
    ("/tokens/{id}", Some(Any), None),
    ("/tokens/{id}/status", Some(Any), None),
    ("/tokens/{id}/qr.svg", Some(Any), None),
    ("/tokens/{id}/print", Some(Any), None),
    ("/tokens/{id}/check-qr.svg", Some(Any), None),
    ("/tokens/{id}/after-sales", Some(Any), Some(Any)),
    ("/check", Some(Public), None),
    ("/check/{code}", Some(Public), None),
    ("/overview", Some(Manager), None),
    ("/settings/notifications", Some(Manager), Some(Manager)),
    ("/settings/notifications/{id}/remove", None, Some(Manager)),
    ("/manager", Some(Manager), None),
    ("/manager/live", Some(Manager), None),
    ("/manager/alerts", Some(Manager), None),
    ("/manager/alerts/{id}", None, Some(Manager)),
    ("/manager/reports", Some(Manager), None),
    ("/manager/reports/{id}", Some(Manager), None),
    ("/manager/reports/{id}/sign-off", None, Some(Manager)),
    ("/manager/shifts/{id}/close", Some(Manager), Some(Manager)),
    ("/manager/locations/{id}", Some(Manager), None),
    ("/manager/staff/{id}", Some(Manager), None),
    ("/manager/after-sales", Some(Manager), None),
    ("/manager/after-sales/{id}/decide", None, Some(Manager)),
    ("/admin", Some(Admin), None),
    ("/admin/routers", Some(Admin), Some(Admin)),
    ("/admin/locations", None, Some(Admin)),
    ("/admin/packages", None, Some(Admin)),
    ("/admin/packages/{id}", Some(Admin), Some(Admin)),
    ("/admin/users", Some(Admin), Some(Admin)),
    ("/admin/users/{id}", None, Some(Admin)),
    ("/admin/log", Some(Admin), None),
    (
        "/admin/routers/{id}/override/{action}",
        Some(Admin),
        Some(Admin),
    ),
    ("/admin/routers/{id}/enrollment-code", None, Some(Admin)),
    ("/admin/routers/{id}/revoke", Some(Admin), Some(Admin)),
    ("/admin/locations/{id}/{action}", Some(Admin), Some(Admin)),
    ("/admin/locations/{id}/settings", Some(Admin), Some(Admin)),
    ("/admin/releases", Some(Admin), Some(Admin)),
    ("/admin/releases/{id}/rollout", Some(Admin), Some(Admin)),
];

/// A concrete path for a route template: a fresh id, and for `{action}` a word the route knows
/// (an unknown one would be refused as not found before any guard could be seen).
fn concrete(template: &str) -> String {
    let action = if template.contains("/override/") {
        "logout-all"
    } else {
        "freeze"
    };
    template
        .replace("{id}", &uuid::Uuid::new_v4().to_string())
        .replace("{action}", action)
}

/// The API document as the server serves it.
fn document() -> Value {
    serde_json::to_value(mtm_control_plane::api_doc::document()).expect("the document serialises")
}

/// One documented API operation: method, path template, guard.
fn documented_operations() -> Vec<(Method, String, Guard)> {
    let doc = document();
    let mut out = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            let Ok(m) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let roles: Vec<&str> = op["x-roles"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let security = op["security"]
                .as_array()
                .expect("every operation says its security");
            let public = security.is_empty();
            assert!(
                public || !roles.is_empty(),
                "{method} {path}: neither public (`security: []`) nor any `x-roles`"
            );
            // The security requirements carry the same roles as scopes (an agent's login has
            // none: it is no user's role).
            for requirement in security {
                for (scheme, scopes) in requirement.as_object().expect("a requirement") {
                    let scopes: Vec<&str> = scopes
                        .as_array()
                        .expect("scopes")
                        .iter()
                        .filter_map(Value::as_str)
                        .collect();
                    let want: Vec<&str> = if scheme == "agentBasic" {
                        vec![]
                    } else {
                        roles.clone()
                    };
                    assert_eq!(scopes, want, "{method} {path}: {scheme} scopes");
                }
            }
            out.push((m, path.clone(), Guard::from_roles(&roles)));
        }
    }
    out
}

/// Every (method, path) the router's source registers with `.route(PATH, get(..).post(..))`,
/// read from `src/` (test modules skipped).
fn served_routes() -> BTreeSet<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "tests") {
                    walk(&p, out);
                }
            } else if p.extension().is_some_and(|x| x == "rs")
                && !p.file_name().unwrap().to_string_lossy().contains("test")
            {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut routes = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (at, _) in text.match_indices(".route(") {
            let rest = &text[at + ".route(".len()..];
            let start = rest.find('"').expect("route path literal") + 1;
            let len = rest[start..].find('"').unwrap();
            let path = &rest[start..start + len];
            // The method routers up to the call's closing parenthesis.
            let mut depth = 1;
            let mut end = 0;
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            let handlers = &rest[start + len..end];
            let mut found = false;
            for m in ["get", "post", "put", "patch", "delete"] {
                let called = handlers
                    .match_indices(&format!("{m}("))
                    .any(|(i, _)| i == 0 || !handlers.as_bytes()[i - 1].is_ascii_alphanumeric());
                if called {
                    routes.insert((m.to_uppercase(), path.to_owned()));
                    found = true;
                }
            }
            assert!(found, "{}: no method router for {path}", f.display());
        }
    }
    routes
}

#[test]
fn every_served_route_is_documented_or_a_listed_page() {
    let served = served_routes();
    assert!(served.len() > 60, "the parser found the routes: {served:?}");
    let mut known = BTreeSet::new();
    for (m, p, _) in documented_operations() {
        known.insert((m.to_string(), p));
    }
    for (p, get, post) in PAGES {
        if get.is_some() {
            known.insert(("GET".into(), (*p).to_owned()));
        }
        if post.is_some() {
            known.insert(("POST".into(), (*p).to_owned()));
        }
    }
    let undocumented: Vec<_> = served.difference(&known).collect();
    assert!(
        undocumented.is_empty(),
        "served but neither in the API document nor in PAGES: {undocumented:?}"
    );
    let stale: Vec<_> = known.difference(&served).collect();
    assert!(stale.is_empty(), "listed but not served: {stale:?}");
}

/// Every `$ref` in a JSON value, with where it was found.
fn refs<'a>(v: &'a Value, at: &str, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    if let Some(r) = x.as_str() {
                        out.push((at.to_owned(), r));
                    }
                } else {
                    refs(x, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                refs(x, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_document_is_whole_every_reference_resolves_and_every_operation_answers() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut found = Vec::new();
    refs(&doc, "", &mut found);
    assert!(found.len() > 50, "references found: {}", found.len());
    for (at, r) in found {
        let target = r
            .strip_prefix("#/")
            .unwrap_or_else(|| panic!("{at}: {r} is not local"))
            .split('/')
            .fold(&doc, |v, part| &v[part]);
        assert!(!target.is_null(), "{at}: {r} names nothing");
    }
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            let ok = op["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .any(|s| s.starts_with('2'));
            assert!(ok, "{method} {path} documents no success answer");
            if method != "get" && method != "delete" && !path.ends_with("/revoke") {
                let body_or_none = op.get("requestBody").is_some()
                    || path.contains("/logout")
                    || path.contains("end-sessions");
                assert!(body_or_none, "{method} {path} documents no request body");
            }
        }
    }
}

/// A logged-in role: its bearer token and the CSRF token of the same session.
struct Session {
    role: &'static str,
    jwt: String,
    csrf: String,
}

async fn session(base: &str, role: &'static str, username: &str, password: &str) -> Session {
    let r: Value = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Session {
        role,
        jwt: r["token"].as_str().expect("token").to_owned(),
        csrf: r["csrf_token"].as_str().expect("csrf token").to_owned(),
    }
}

/// How a case went: its description, the expectation, and what came back.
struct Outcome {
    case: String,
    want: String,
    got: StatusCode,
    location: Option<String>,
    ok: bool,
}

/// What a guard lets `who` (`None`: no session) get: refused exactly as documented, or past the
/// guard (any answer but 401, 403, 405, a redirect to the login page or a server error).
fn judge(
    guard: Option<Guard>,
    page: bool,
    who: Option<&str>,
    got: StatusCode,
    location: Option<&str>,
) -> (String, bool) {
    let to_login = got == StatusCode::SEE_OTHER && location == Some("/login");
    let Some(guard) = guard else {
        return ("405".into(), got == StatusCode::METHOD_NOT_ALLOWED);
    };
    match (guard, who) {
        (Guard::Agent, _) => ("401".into(), got == StatusCode::UNAUTHORIZED),
        (Guard::Public, _) => (
            "past the guard".into(),
            !matches!(got.as_u16(), 401 | 403 | 405) && !got.is_server_error(),
        ),
        (_, None) if page => ("303 to /login".into(), to_login),
        (_, None) => ("401".into(), got == StatusCode::UNAUTHORIZED),
        (g, Some(role)) if !g.allows(role) => ("403".into(), got == StatusCode::FORBIDDEN),
        (_, Some(_)) => (
            "past the guard".into(),
            !matches!(got.as_u16(), 401 | 403 | 405) && !to_login && !got.is_server_error(),
        ),
    }
}

/// Send one case: the API by bearer token with a JSON body, pages by cookie with the session's
/// CSRF token and a form body (so the CSRF check passes and the role guard decides).
async fn try_case(
    http: &reqwest::Client,
    base: &str,
    method: &Method,
    path: &str,
    page: bool,
    who: Option<&Session>,
) -> (StatusCode, Option<String>) {
    let mut req = http.request(method.clone(), format!("{base}{path}"));
    if let Some(s) = who {
        req = if page {
            req.header("cookie", format!("mtm_session={}", s.jwt))
                .header("x-csrf-token", &s.csrf)
        } else {
            req.bearer_auth(&s.jwt)
        };
    }
    if *method != Method::GET {
        req = if page {
            req.header("content-type", "application/x-www-form-urlencoded")
                .body("")
        } else {
            req.json(&json!({}))
        };
    }
    let r = req.send().await.unwrap();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (r.status(), location)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_and_page_refuses_exactly_the_roles_its_guard_names() {
    let dir = tempfile::tempdir().unwrap();
    let (server, api, root) = embedded_server(dir.path()).await;
    let base = format!("http://{}", server.http_addr());
    let loc: Value = api
        .post(
            &root,
            "/api/locations",
            json!({"name": "Cafe", "timezone": "UTC"}),
        )
        .await;
    for (name, role, locs) in [
        ("boss", "manager", json!([])),
        ("clerk", "staff", json!([loc["id"]])),
    ] {
        let _: Value = api
            .post(
                &root,
                "/api/auth/register",
                json!({"username": name, "password": "a long password 1",
                       "role": role, "location_ids": locs}),
            )
            .await;
    }
    let sessions = [
        session(&base, "staff", "clerk", "a long password 1").await,
        session(&base, "manager", "boss", "a long password 1").await,
        session(&base, "super_admin", "root", support::ROOT_PASSWORD).await,
    ];
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Logging out ends the session the other cases use: those go last, each with its own.
    let ends_session = |p: &str| p == "/logout" || p == "/api/auth/logout";
    let mut cases: Vec<(Method, String, bool, Option<Guard>)> = Vec::new();
    for (m, p, g) in documented_operations() {
        cases.push((m, p, false, Some(g)));
    }
    for (p, get, post) in PAGES {
        cases.push((Method::GET, (*p).to_owned(), true, *get));
        cases.push((Method::POST, (*p).to_owned(), true, *post));
    }
    cases.sort_by_key(|c| ends_session(&c.1));

    let mut outcomes = Vec::new();
    for (method, template, page, guard) in &cases {
        let path = concrete(template);
        let mut whos: Vec<Option<&Session>> = vec![None];
        whos.extend(sessions.iter().map(Some));
        for who in whos {
            let fresh;
            let who = match who {
                Some(s) if ends_session(template) && *method == Method::POST => {
                    let (user, pass) = match s.role {
                        "staff" => ("clerk", "a long password 1"),
                        "manager" => ("boss", "a long password 1"),
                        _ => ("root", support::ROOT_PASSWORD),
                    };
                    fresh = session(&base, s.role, user, pass).await;
                    Some(&fresh)
                }
                other => other,
            };
            let (got, location) = try_case(&http, &base, method, &path, *page, who).await;
            let role = who.map(|s| s.role);
            let (mut want, mut ok) = judge(*guard, *page, role, got, location.as_deref());
            if let (Some(s), true) = (who, ends_session(template) && *method == Method::POST) {
                // Logging out answers like a refusal (to the login page); it must end the session.
                want = "logged out".into();
                let me = http
                    .get(format!("{base}/api/auth/me"))
                    .bearer_auth(&s.jwt)
                    .send()
                    .await
                    .unwrap()
                    .status();
                ok = matches!(got.as_u16(), 200 | 204 | 303) && me == StatusCode::UNAUTHORIZED;
            }
            outcomes.push(Outcome {
                case: format!("{method} {path} as {}", role.unwrap_or("nobody")),
                want,
                got,
                location,
                ok,
            });
        }
    }
    let refused = outcomes
        .iter()
        .filter(|o| o.ok && !matches!(o.want.as_str(), "past the guard" | "logged out"))
        .count();
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.ok)
        .map(|o| {
            format!(
                "{}: want {}, got {} {:?}",
                o.case, o.want, o.got, o.location
            )
        })
        .collect();
    println!(
        "role matrix: {} routes, {} cases, {} refused as documented, {} past their guard as \
         documented, {} wrong",
        cases.len(),
        outcomes.len(),
        refused,
        outcomes.len() - refused - failed.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    server.shutdown().await;
}
