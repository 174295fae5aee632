//! Batch dispensing through the whole app: one transaction, followed on its page, printed.

use crate::testutil::test_app;
use axum::http::StatusCode;

#[tokio::test]
async fn a_batch_is_one_transaction_followed_on_its_page_and_printed() {
    let app = test_app().await;
    app.f
        .store
        .open_shift(app.f.staff.id, app.f.location.id, 0, "staff")
        .await
        .unwrap();
    let (staff, csrf) = app.login("staff").await;
    let form = format!("_csrf={csrf}&package_id={}&count=501", app.f.package.id);
    let r = app
        .page("POST", "/dispense/batch", Some(&staff), Some(&form))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.headers[axum::http::header::LOCATION].to_str().unwrap();
    let batch_id: uuid::Uuid = to.trim_start_matches("/dispense/batch/").parse().unwrap();
    let page = app
        .f
        .store
        .list_tokens(&crate::store::TokenFilter::default())
        .await
        .unwrap();
    assert_eq!(page.total, 501);
    let commands: Vec<usize> = app
        .rec
        .down_to("agent-1", &app.cp.verifying_key())
        .into_iter()
        .filter_map(|(_, m)| match m {
            mtm_common::DownMessage::Command(c) => match c.kind {
                mtm_common::CommandKind::CreateTokens(b) => Some(b.tokens.len()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(
        commands,
        vec![500, 1],
        "two commands carry the 501 vouchers"
    );

    // The batch page polls a fragment that says how many are on the router.
    let r = app.page("GET", to, Some(&staff), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("hx-get=\"/dispense/batch/"), "{}", r.body);
    let frag = format!("{to}/progress");
    let r = app.page("GET", &frag, Some(&staff), None).await;
    assert!(
        r.body.contains("data-on-router=\"0\" data-total=\"501\""),
        "{}",
        r.body
    );
    // The router confirms every voucher in one answer: the fragment stops polling.
    let tokens = app.f.store.batch_tokens(batch_id, 0, 1000).await.unwrap();
    assert_eq!(tokens.len(), 501);
    for (seq, c) in (1..).zip(app.f.store.open_commands("agent-1").await.unwrap()) {
        let mtm_common::CommandKind::CreateTokens(b) = &c.kind else {
            continue;
        };
        let applied = mtm_common::TokensApplied {
            command_id: c.id,
            applied: b
                .tokens
                .iter()
                .map(|t| mtm_common::AppliedToken {
                    token_id: t.token_id,
                    router_user_id: format!("*{}", t.code),
                    already_present: false,
                })
                .collect(),
            failed: vec![],
        };
        let item = crate::store::UpItem {
            seq,
            at: crate::store::now_ms(),
            message: mtm_common::UpMessage::TokensApplied(applied),
        };
        app.f
            .store
            .apply_up("agent-1", &[item], crate::store::now_ms())
            .await
            .unwrap();
    }
    let r = app.page("GET", &frag, Some(&staff), None).await;
    assert!(r.body.contains("data-on-router=\"501\""), "{}", r.body);
    assert!(!r.body.contains("hx-get"), "{}", r.body);

    // Printed in parts: A4 sheets and thermal strips.
    let r = app
        .page(
            "GET",
            &format!("{to}/print?size=a4&part=2"),
            Some(&staff),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("print-a4"));
    assert_eq!(r.body.matches("class=\"ticket\"").count(), 1);
    let r = app
        .page("GET", &format!("{to}/print?size=58"), Some(&staff), None)
        .await;
    assert!(r.body.contains("print-58"));
    assert_eq!(r.body.matches("class=\"ticket\"").count(), 500);
    assert!(r.body.contains(&tokens[0].code));
    let r = app
        .page("GET", &format!("{to}/print?part=3"), Some(&staff), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let too_many = format!("_csrf={csrf}&package_id={}&count=5001", app.f.package.id);
    let r = app
        .page("POST", "/dispense/batch", Some(&staff), Some(&too_many))
        .await;
    assert!(r.body.contains("count must be between"));
}
