//! The package forms through the whole app: an edit changes the price and pushes the
//! catalog; names render inert.

use crate::testutil::{admin_only_with_csrf, audited, test_app};
use axum::http::StatusCode;
use mtm_common::CommandKind;

#[tokio::test]
async fn editing_a_package_changes_the_price_and_pushes_the_catalog() {
    let app = test_app().await;
    let path = format!("/admin/packages/{}", app.f.package.id);
    let form = "name=Hour+plus&price=7.50&limit_minutes=90&limit_mb=&rate_limit=3M%2F6M\
                &shared_users=2&validity_hours=24&active=on";
    admin_only_with_csrf(&app, &path, form).await;
    assert!(audited(&app, "package.update").await.is_empty());

    let (admin, csrf) = app.login("admin").await;
    let page = app.page("GET", &path, Some(&admin), None).await;
    assert_eq!(page.status, StatusCode::OK);
    // The price is shown and typed in currency units, not cents.
    assert!(
        page.body
            .contains("name=\"price\" type=\"text\" inputmode=\"decimal\" value=\"5.00\""),
        "{}",
        page.body
    );
    for (typed, says) in [
        ("7.505", "USD has 2 decimal place(s)"),
        ("9223372036854775807", "too large"),
        ("-1", "cannot be negative"),
        ("7,50", "is not an amount"),
    ] {
        let r = app
            .page(
                "POST",
                &path,
                Some(&admin),
                Some(&format!("_csrf={csrf}&name=X&price={typed}&shared_users=1")),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{typed}");
        assert!(r.body.contains(says), "{typed}: {}", r.body);
    }
    let bad = app
        .page(
            "POST",
            &path,
            Some(&admin),
            Some(&format!("_csrf={csrf}&name=&price=0.01&shared_users=1")),
        )
        .await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad.body.contains("class=\"error\""), "{}", bad.body);

    let ok = app
        .page(
            "POST",
            &path,
            Some(&admin),
            Some(&format!("_csrf={csrf}&{form}")),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let p = &app.f.store.list_packages().await.unwrap()[0];
    assert_eq!((p.name.as_str(), p.price_minor), ("Hour plus", 750));
    assert_eq!((p.limit_uptime_s, p.shared_users), (Some(5400), 2));
    assert_eq!(p.validity_s, Some(86_400));
    let rows = audited(&app, "package.update").await;
    assert_eq!((rows.len(), rows[0].actor.as_str()), (1, "admin"));

    let current = crate::catalog::current_catalog(&*app.f.store)
        .await
        .unwrap();
    let open = app.f.store.open_commands("agent-1").await.unwrap();
    let pushed = open.iter().any(
        |c| matches!(&c.kind, CommandKind::ApplyCatalog(cat) if cat.version == current.version),
    );
    assert!(
        pushed,
        "the edited catalog is queued for the router: {open:?}"
    );
    let routers = app.page("GET", "/admin/routers", Some(&admin), None).await;
    assert!(routers.body.contains("(behind)"), "convergence shown");
    assert!(routers.body.contains("Hour plus"));
    // The catalog version reads as the date of the change, not a raw millisecond count.
    let when =
        time::OffsetDateTime::from_unix_timestamp(i64::try_from(current.version / 1000).unwrap())
            .unwrap()
            .format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .unwrap();
    assert!(
        routers.body.contains(&format!(
            "<span id=\"catalog-version\" title=\"{}\">{when}</span>",
            current.version
        )),
        "{}",
        routers.body
    );

    // Retiring takes it off the staff page's buttons but keeps it on the admin list.
    let retire = form.replace("&active=on", "");
    app.page(
        "POST",
        &path,
        Some(&admin),
        Some(&format!("_csrf={csrf}&{retire}")),
    )
    .await;
    assert!(app.f.store.list_packages().await.unwrap().is_empty());
    let routers = app.page("GET", "/admin/routers", Some(&admin), None).await;
    assert!(routers.body.contains("retired"));
}

#[tokio::test]
async fn the_new_forms_render_names_inert() {
    let app = test_app().await;
    let evil = "<script>alert(1)</script>\"'";
    let (admin, csrf) = app.login("admin").await;
    let path = format!("/admin/packages/{}", app.f.package.id);
    let form = format!(
        "_csrf={csrf}&name={}&price=0.01&shared_users=1&active=on",
        urlencoding(evil)
    );
    let r = app.page("POST", &path, Some(&admin), Some(&form)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for p in [path.as_str(), "/admin/routers"] {
        let page = app.page("GET", p, Some(&admin), None).await;
        assert!(!page.body.contains(evil), "{p}");
        assert!(page.body.contains("&lt;script&gt;"), "{p}");
    }
}

/// Percent-encode every byte that is not alphanumeric (enough for a form body in a test).
fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
