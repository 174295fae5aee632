//! Every language complete, and no page text that skipped translation.
//!
//! The page test renders every page in a pseudo-language that wraps each message in `⟦…⟧` and
//! each value a template prints in `⟪…⟫`; whatever visible text is left outside both was typed
//! into a template (or a handler) as a literal, and fails the test with the page and the text.

use super::*;
use crate::testutil::{test_app, TestApp};
use axum::http::StatusCode;

#[test]
fn every_language_has_exactly_the_english_keys_and_parses() {
    for (lang, src) in FTL {
        if let Err((_, errors)) = fluent_bundle::FluentResource::try_new(src.to_string()) {
            panic!("{} does not parse: {errors:?}", lang.code());
        }
    }
    let english = message_keys(Lang::En);
    assert!(english.len() > 100, "{} English messages", english.len());
    for lang in [Lang::Fr, Lang::Sw] {
        let keys = message_keys(lang);
        let missing: Vec<_> = english.difference(&keys).collect();
        let extra: Vec<_> = keys.difference(&english).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{}: missing {missing:?}, not in English {extra:?}",
            lang.code()
        );
    }
}

#[test]
fn the_browser_language_is_matched_by_weight() {
    assert_eq!(from_accept_language("fr-FR,fr;q=0.9,en;q=0.8"), Lang::Fr);
    assert_eq!(
        from_accept_language("de-DE, sw-KE;q=0.7, en;q=0.5"),
        Lang::Sw
    );
    assert_eq!(from_accept_language("en;q=0.4, fr;q=0.6"), Lang::Fr);
    assert_eq!(from_accept_language("de, it"), Lang::En);
    assert_eq!(from_accept_language("fr;q=0, sw;q=0.1"), Lang::Sw);
    assert_eq!(from_accept_language("fr;q=2, sw;q=x, en"), Lang::En);
    assert_eq!(from_accept_language(""), Lang::En);
    assert_eq!(Lang::parse("SW_tz"), Some(Lang::Sw));
}

#[test]
fn messages_take_their_arguments_and_plurals() {
    let args = |n: i64| [("n", n.into()), ("asked", 5.into())];
    assert_eq!(
        tr_args(Lang::En, "print-made", &args(3)),
        "3 of 5 vouchers made."
    );
    assert_eq!(tr_args(Lang::Sw, "unit-days", &[("n", 2.into())]), "siku 2");
    let fr = |n: i64| {
        tr_args(
            Lang::Fr,
            "sell-shift-open",
            &[
                ("since", "08:00".into()),
                ("count", n.into()),
                ("revenue", "5,00 USD".into()),
            ],
        )
    };
    assert!(fr(1).contains(": 1 ticket,"), "{}", fr(1));
    assert!(fr(4).contains(": 4 tickets,"), "{}", fr(4));
}

/// Text that may stand in a template untranslated: the product's name and codes every
/// language writes the same.
const SAME_IN_EVERY_LANGUAGE: &[&str] = &["mtm", "A4", "CSV", "HTTP", "UTC", "SHA-256", "MB"];

/// The visible text of `html` (text between tags and the attributes people read) that is
/// neither a message nor a printed value. Empty for a fully translated page.
pub(super) fn untranslated(html: &str) -> Vec<String> {
    let mut texts = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        texts.push(rest[..open].to_string());
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open..open + close];
        for attr in ["placeholder=\"", "title=\"", "alt=\"", "aria-label=\""] {
            if let Some(at) = tag.find(attr) {
                let value = &tag[at + attr.len()..];
                texts.push(value[..value.find('"').unwrap_or(value.len())].to_string());
            }
        }
        rest = &rest[open + close + 1..];
    }
    texts.push(rest.to_string());
    let mut left = Vec::new();
    for text in texts {
        let text = strip_marked(&strip_marked(&text, '⟦', '⟧'), '⟪', '⟫');
        let text = text.replace("&amp;", "&").replace("&nbsp;", " ");
        for word in text.split_whitespace() {
            let word = word.trim_matches(|c: char| !c.is_alphanumeric());
            let letters = word.chars().any(char::is_alphabetic);
            if letters && !SAME_IN_EVERY_LANGUAGE.contains(&word) {
                left.push(word.to_string());
            }
        }
    }
    left
}

/// `text` without the parts between `open` and `close`.
fn strip_marked(text: &str, open: char, close: char) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth = depth.saturating_sub(1);
        } else if depth == 0 {
            out.push(c);
        }
    }
    out
}

#[test]
fn the_checker_finds_a_forgotten_literal() {
    assert!(untranslated("<p>⟪⟦Voucher⟧⟫ 12 · ⟪5.00 USD⟫</p>").is_empty());
    assert_eq!(untranslated("<h1>⟦Alerts⟧ today</h1>"), vec!["today"]);
    assert_eq!(
        untranslated("<input placeholder=\"note\" aria-label=\"⟪⟦Note⟧⟫\">"),
        vec!["note"]
    );
    assert!(untranslated("<title>⟦Log in⟧ · mtm</title>").is_empty());
}

/// One request as a browser in `lang` sends it.
pub(super) async fn get(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
    lang: &str,
) -> crate::testutil::Reply {
    let mut b = axum::http::Request::builder()
        .uri(path)
        .header("accept", "text/html")
        .header("accept-language", lang);
    if let Some(c) = cookie {
        b = b.header("cookie", format!("{}={c}", crate::auth::COOKIE));
    }
    app.call(b.body(axum::body::Body::empty()).unwrap()).await
}

/// A day with something on every page: an open shift, a voucher sold, a report, and alerts
/// (see `tests_alerts::raise_alerts`).
pub(super) async fn busy_app() -> (TestApp, Vec<(Option<String>, String)>) {
    let app = test_app().await;
    let (staff, csrf) = app.login("staff").await;
    let loc = app.f.location.id;
    super::tests_alerts::raise_alerts(&app, &staff, &csrf).await;
    let r = app
        .page(
            "POST",
            "/shifts/clock-in",
            Some(&staff),
            Some(&format!(
                "_csrf={csrf}&location_id={loc}&opening_float=10.00"
            )),
        )
        .await;
    assert!(r.status.is_redirection(), "{}", r.body);
    let r = app
        .page(
            "POST",
            "/dispense",
            Some(&staff),
            Some(&format!("_csrf={csrf}&package_id={}", app.f.package.id)),
        )
        .await;
    let token = r.headers["location"].to_str().unwrap().to_string();
    let r = app
        .page(
            "POST",
            "/dispense/batch",
            Some(&staff),
            Some(&format!(
                "_csrf={csrf}&package_id={}&count=2",
                app.f.package.id
            )),
        )
        .await;
    let batch = r.headers["location"].to_str().unwrap().to_string();
    crate::reports::run_due(&*app.f.store, crate::store::now_ms())
        .await
        .unwrap();
    let report = app
        .f
        .store
        .daily_reports(&Default::default())
        .await
        .unwrap()[0]
        .id;
    let shift = app
        .f
        .store
        .open_shift_of(app.f.staff.id)
        .await
        .unwrap()
        .unwrap()
        .id;
    let code = app
        .f
        .store
        .list_tokens(&Default::default())
        .await
        .unwrap()
        .items[0]
        .code
        .clone();
    let (manager, _) = app.login("manager").await;
    let (admin, _) = app.login("admin").await;
    let (router, pkg, staff_id) = (app.f.router.id, app.f.package.id, app.f.staff.id);
    let mut pages: Vec<(Option<String>, String)> = Vec::new();
    let mut add = |who: Option<&String>, paths: Vec<String>| {
        for p in paths {
            pages.push((who.cloned(), p));
        }
    };
    add(
        None,
        vec![
            "/login".into(),
            "/check?code=NOSUCHCODE".into(),
            format!("/check/{code}"),
            "/no/such/page".into(),
        ],
    );
    add(
        Some(&staff),
        vec![
            "/dispense".into(),
            "/dispense/batch".into(),
            token.clone(),
            format!("{token}/after-sales"),
            format!("{token}/print?size=58"),
            format!("{token}/print?size=a4"),
            batch.clone(),
            format!("{batch}/progress"),
            format!("{batch}/print?size=58"),
        ],
    );
    add(
        Some(&manager),
        vec![
            "/manager".into(),
            "/manager/live".into(),
            "/manager/alerts".into(),
            "/manager/alerts?error=note".into(),
            "/manager/reports".into(),
            format!("/manager/reports/{report}"),
            format!("/manager/locations/{loc}"),
            format!("/manager/staff/{staff_id}"),
            format!("/manager/shifts/{shift}/close"),
            "/manager/after-sales".into(),
            "/settings/notifications".into(),
        ],
    );
    add(
        Some(&admin),
        vec![
            "/admin".into(),
            "/admin?verify=1".into(),
            "/admin/routers".into(),
            "/admin/users".into(),
            "/admin/log".into(),
            "/admin/log?table=events".into(),
            format!("/admin/packages/{pkg}"),
            format!("/admin/locations/{loc}/settings"),
            format!("/admin/locations/{loc}/freeze"),
            format!("/admin/routers/{router}/override/disable-all"),
            format!("/admin/routers/{router}/revoke"),
            "/admin/releases".into(),
            "/settings/notifications".into(),
        ],
    );
    (app, pages)
}

#[tokio::test]
async fn no_page_shows_text_that_skipped_translation() {
    let (app, pages) = busy_app().await;
    let mut failures = Vec::new();
    for (cookie, path) in &pages {
        let r = get(&app, path, cookie.as_deref(), "qps").await;
        let expected = if path == "/no/such/page" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        assert_eq!(r.status, expected, "{path}: {}", r.body);
        assert!(
            r.body.contains('⟦'),
            "{path} shows no message at all: {}",
            r.body
        );
        let left = untranslated(&r.body);
        if !left.is_empty() {
            failures.push(format!("{path}: {left:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "untranslated text:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_page_renders_in_french_and_swahili() {
    let (app, pages) = busy_app().await;
    for lang in ["fr", "sw"] {
        for (cookie, path) in &pages {
            let r = get(&app, path, cookie.as_deref(), lang).await;
            assert!(
                r.status == StatusCode::OK
                    || r.status == StatusCode::NOT_FOUND
                    || r.status == StatusCode::FORBIDDEN,
                "{lang} {path}: {}",
                r.status
            );
            assert_eq!(r.headers["content-language"], lang, "{path}");
            if r.body.starts_with("<!doctype html>") {
                assert!(
                    r.body.contains(&format!("<html lang=\"{lang}\">")),
                    "{lang} {path}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_user_choice_wins_over_the_browser_and_can_be_undone() {
    let app = test_app().await;
    let (staff, csrf) = app.login("staff").await;
    let r = get(&app, "/dispense", Some(&staff), "fr").await;
    assert!(r.body.contains("Prendre son service"), "{}", r.body);
    let r = app
        .page(
            "POST",
            "/settings/language",
            Some(&staff),
            Some(&format!("_csrf={csrf}&language=sw")),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = get(&app, "/dispense", Some(&staff), "fr").await;
    assert!(r.body.contains("Anza zamu"), "{}", r.body);
    assert!(
        r.body.contains("<option value=\"sw\" selected>"),
        "{}",
        r.body
    );
    // An error page for this user speaks their language too.
    let r = get(&app, "/no/such/page", Some(&staff), "fr").await;
    assert!(r.body.contains("Haikupatikana"), "{}", r.body);
    let bad = app
        .page(
            "POST",
            "/settings/language",
            Some(&staff),
            Some(&format!("_csrf={csrf}&language=xx")),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    app.page(
        "POST",
        "/settings/language",
        Some(&staff),
        Some(&format!("_csrf={csrf}&language=")),
    )
    .await;
    let r = get(&app, "/dispense", Some(&staff), "fr").await;
    assert!(r.body.contains("Prendre son service"), "{}", r.body);
    let audit = app.f.store.user(app.f.staff.id).await.unwrap().unwrap();
    assert_eq!(audit.language, None);
}
