//! Refusals of forms named as messages: every key of the refusals that pages show (release
//! uploads, enrollment, reports, after-sales, channels, refusals of the store) is in every
//! language, differs between them and takes its arguments; a few pages show one in French or
//! Swahili while the JSON API keeps English.

use super::tests::untranslated;
use super::*;
use crate::refusal::Refusal;
use axum::http::StatusCode;

/// The refusals turned into messages for the pages (see `docs/languages.md`).
const REFUSAL_KEYS: &[&str] = &[
    "err-username-length",
    "err-username-characters",
    "err-password-length",
    "err-password-spaces",
    "err-password-run",
    "err-password-common",
    "err-password-username",
    "err-alert-note-required",
    "err-alert-resolved",
    "err-unknown-action",
    "err-as-reason",
    "err-as-reason-long",
    "err-as-refund-only-void",
    "err-as-extension-too-large",
    "err-as-extend-nothing",
    "err-as-replace-code",
    "err-as-refund-above-price",
    "err-as-note-long",
    "err-as-decided",
    "err-as-no-time-limit",
    "err-as-no-data-limit",
    "err-as-router-not-enrolled",
    "err-approve-or-reject",
    "err-enroll-ttl",
    "err-revoke-broker",
    "err-router-broker-login",
    "err-channel-name",
    "err-channel-kind",
    "err-channel-email",
    "err-channel-url",
    "err-channel-http-url",
    "err-channel-chat-id",
    "err-channel-severity",
    "err-channel-location",
    "err-date",
    "err-form-too-large",
    "err-unknown-language",
    "err-frozen",
    "err-release-key-file",
    "err-release-empty",
    "err-release-version",
    "err-release-target",
    "err-release-signature-hex",
    "err-release-bad-signature",
    "err-release-no-agent",
    "err-release-percent-or-agents",
    "err-upload-unreadable",
    "err-upload-choose-binary",
    "err-rollout-percent",
    "err-rollout-either",
    "err-close-time",
    "err-report-not-intact",
    "err-report-signed-off",
    "err-not-your-location",
    "err-no-open-shift",
    "err-no-enrolled-router",
    "err-close-shift-why",
    "err-shift-closed",
    "err-user-exists",
    "err-agent-id",
    "err-key-format",
    "err-key-invalid",
    "err-package-fields",
    "err-package-name",
    "err-shared-users-range",
    "err-text-too-long",
    "err-amount-range",
    "err-duration-range",
    "err-data-range",
    "err-amounts-overflow",
    "err-location-fields",
    "err-exists-user",
    "err-exists-user-location",
    "err-exists-router",
    "err-exists-package",
    "err-exists-location",
    "err-exists-enrollment-code",
    "noun-user",
    "noun-user-location",
    "noun-router",
    "noun-package",
    "noun-location",
    "noun-enrollment-code",
    "err-refers-to-nothing",
    "err-as-not-allowed",
];

/// `key` with a value for every argument any refusal takes (extra ones are ignored).
fn with_every_argument(key: &'static str) -> Refusal {
    let mut r = Refusal::new(key);
    for name in [
        "file", "version", "agent", "reason", "min", "max", "router", "time", "existing", "code",
        "date",
    ] {
        r = r.arg(name, format!("<{name}>"));
    }
    r.arg("kind", "void")
        .arg_message("state", Refusal::new("state-in_use"))
        .arg_message("what", Refusal::new("noun-router"))
}

#[test]
fn every_refusal_is_in_every_language_differs_and_takes_its_arguments() {
    for key in REFUSAL_KEYS {
        let texts: Vec<String> = [Lang::En, Lang::Fr, Lang::Sw]
            .into_iter()
            .map(|lang| {
                assert!(has_message(lang, key), "{} lacks {key}", lang.code());
                with_every_argument(key).text(lang)
            })
            .collect();
        for t in &texts {
            assert!(
                !t.contains('{') && !t.contains('$') && !t.contains(key),
                "{key} left something unformatted: {t}"
            );
        }
        assert!(
            texts[0] != texts[1] && texts[0] != texts[2] && texts[1] != texts[2],
            "{key} reads the same in two languages: {texts:?}"
        );
    }
}

#[test]
fn refusals_write_their_arguments_and_keep_english_for_the_api() {
    let frozen = Refusal::new("err-frozen").arg("reason", "till missing");
    assert_eq!(
        frozen.to_string(),
        "dispensing is frozen at this location by an admin: till missing"
    );
    assert_eq!(
        frozen.text(Lang::Fr),
        "la vente est gelée sur ce site par un administrateur : till missing"
    );
    let not_allowed = Refusal::new("err-as-not-allowed")
        .arg("kind", "extend")
        .arg_message("state", Refusal::new("state-expired"));
    assert_eq!(
        not_allowed.to_string(),
        "a voucher that is expired cannot be extended"
    );
    assert_eq!(
        not_allowed.text(Lang::Fr),
        "un ticket expiré ne peut pas être prolongé"
    );
    assert!(not_allowed.text(Lang::Sw).contains("muda umeisha"));
    let missing =
        Refusal::new("err-refers-to-nothing").arg_message("what", Refusal::new("noun-package"));
    assert_eq!(
        missing.to_string(),
        "package refers to something that does not exist"
    );
    assert!(missing.text(Lang::Sw).ends_with("(kifurushi)"));
    let version = Refusal::new("err-release-version").arg("version", "1.2");
    assert_eq!(
        version.to_string(),
        "version \"1.2\" is not MAJOR.MINOR.PATCH"
    );
    assert!(version.text(Lang::Fr).contains("« 1.2 »"));
}

/// POST a form as the browser of `lang` would.
async fn post_form(
    app: &crate::testutil::TestApp,
    path: &str,
    cookie: &str,
    lang: &str,
    form: &str,
) -> crate::testutil::Reply {
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("cookie", format!("{}={cookie}", crate::auth::COOKIE))
        .header("accept", "text/html")
        .header("accept-language", lang)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(form.to_owned()))
        .unwrap();
    app.call(req).await
}

#[tokio::test]
async fn a_frozen_counter_says_so_in_french_and_the_api_in_english() {
    let app = crate::testutil::test_app().await;
    let loc = app.f.location.id;
    app.f
        .store
        .set_location_frozen(loc, true, "till missing", "admin", crate::store::now_ms())
        .await
        .unwrap();
    app.f
        .store
        .open_shift(app.f.staff.id, loc, 0, "staff")
        .await
        .unwrap();
    let (staff, csrf) = app.login("staff").await;
    let form = format!("_csrf={csrf}&package_id={}", app.f.package.id);
    let fr = post_form(&app, "/dispense", &staff, "fr", &form).await;
    assert_eq!(fr.status, StatusCode::OK, "{}", fr.body);
    assert!(
        fr.body
            .contains("la vente est gelée sur ce site par un administrateur : till missing"),
        "{}",
        fr.body
    );
    let pseudo = post_form(&app, "/dispense", &staff, "qps", &form).await;
    assert!(untranslated(&pseudo.body).is_empty(), "{}", pseudo.body);
    let api = app.sell_over_api(&staff).await;
    assert_eq!(api.status, StatusCode::BAD_REQUEST);
    assert!(api.body.contains("dispensing is frozen"), "{}", api.body);
}

#[tokio::test]
async fn a_refused_channel_reads_in_french_and_stays_english_over_the_api() {
    let app = crate::testutil::test_app().await;
    let (manager, csrf) = app.login("manager").await;
    let form = format!(
        "_csrf={csrf}&name=x&kind=sms&target=https%3A%2F%2Fa.example&chat_id=&min_severity=critical&location_id="
    );
    let fr = post_form(&app, "/settings/notifications", &manager, "fr", &form).await;
    assert_eq!(fr.status, StatusCode::OK, "{}", fr.body);
    assert!(
        fr.body
            .contains("le type doit être webhook, telegram, ntfy ou email"),
        "{}",
        fr.body
    );
    let api = app
        .json(
            "POST",
            "/api/notifications/channels",
            Some(&manager),
            Some(serde_json::json!({"name": "x", "kind": "sms",
                "target": "https://a.example", "min_severity": "critical"})),
        )
        .await;
    assert_eq!(api.status, StatusCode::BAD_REQUEST, "{}", api.body);
    assert!(
        api.body
            .contains("kind must be webhook, telegram, ntfy or email"),
        "{}",
        api.body
    );
}

#[tokio::test]
async fn a_report_signed_off_twice_is_refused_in_swahili_on_its_page() {
    let app = crate::testutil::test_app().await;
    crate::reports::run_due(&*app.f.store, crate::store::now_ms())
        .await
        .unwrap();
    let (manager, csrf) = app.login("manager").await;
    let id = app
        .f
        .store
        .daily_reports(&Default::default())
        .await
        .unwrap()[0]
        .id;
    let path = format!("/manager/reports/{id}/sign-off");
    let form = format!("_csrf={csrf}&note=counted");
    let first = post_form(&app, &path, &manager, "sw", &form).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let again = post_form(&app, &path, &manager, "sw", &form).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert!(
        again.body.contains("ripoti tayari imeidhinishwa"),
        "{}",
        again.body
    );
    let fr = post_form(&app, &path, &manager, "fr", &form).await;
    assert!(
        fr.body.contains("le rapport est déjà validé"),
        "{}",
        fr.body
    );
    // Over the API the same refusal keeps its 409 and its English.
    let api = app
        .json(
            "POST",
            &format!("/api/reports/{id}/sign-off"),
            Some(&manager),
            Some(serde_json::json!({ "note": "again" })),
        )
        .await;
    assert_eq!(api.status, StatusCode::CONFLICT, "{}", api.body);
    assert!(api.body.contains("signed off already"), "{}", api.body);
}

#[tokio::test]
async fn a_package_out_of_bounds_is_refused_in_swahili_on_its_page_and_english_over_the_api() {
    let app = crate::testutil::test_app().await;
    let (admin, csrf) = app.login("admin").await;
    let id = app.f.package.id;
    let path = format!("/admin/packages/{id}");
    // 100,000 days: beyond the ten years any duration may have.
    let form = format!(
        "_csrf={csrf}&name=Hour&price=1.00&limit_minutes=&limit_mb=&rate_limit=\
         &shared_users=1&validity_hours=2400000&active=on"
    );
    let sw = post_form(&app, &path, &admin, "sw", &form).await;
    assert_eq!(sw.status, StatusCode::OK, "{}", sw.body);
    let expected = format!(
        "{}: {}",
        tr(Lang::Sw, "pk-valid-for"),
        tr(Lang::Sw, "err-duration-range")
    );
    assert!(sw.body.contains(&expected), "{expected} in {}", sw.body);
    let pseudo = post_form(&app, &path, &admin, "qps", &form).await;
    assert!(untranslated(&pseudo.body).is_empty(), "{}", pseudo.body);
    let unchanged = app.f.store.list_all_packages().await.unwrap();
    assert!(unchanged
        .iter()
        .all(|p| p.id != id || p.validity_s == app.f.package.validity_s));
    // The API names the same bound in English and keeps its 400.
    let api = app
        .json(
            "PUT",
            &format!("/api/packages/{id}"),
            Some(&admin),
            Some(serde_json::json!({"name": "Hour", "price_minor": 100,
                "shared_users": 0, "active": true})),
        )
        .await;
    assert_eq!(api.status, StatusCode::BAD_REQUEST, "{}", api.body);
    assert!(
        api.body.contains("Shared users: must be from 1 to 1000"),
        "{}",
        api.body
    );
}

#[test]
fn a_location_setting_out_of_bounds_reads_in_english_for_the_api_and_in_french() {
    let change = crate::store::LocationSettingsChange {
        cash_threshold_minor: Some(-1),
        ..Default::default()
    };
    let refused = change.validate().unwrap_err();
    assert_eq!(
        refused.to_string(),
        "Cash variance that raises an alert: must be between 0 and 1000000000000000 in minor units (cents)"
    );
    let fr = refused.text(Lang::Fr);
    assert!(fr.starts_with(&tr(Lang::Fr, "lo-cash-threshold")), "{fr}");
    assert!(fr.contains("sous-unités"), "{fr}");
}
