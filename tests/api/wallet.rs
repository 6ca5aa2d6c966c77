//! SPEC section 5: the prepaid balance and its ledger.

use serde_json::json;

use crate::helpers::{code, data, spawn_app, spawn_app_with};

#[tokio::test]
async fn charges_add_up_and_the_ledger_matches() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    assert_eq!(app.balance(&alice).await, 0);
    let body = app.charge(&alice, 10_000).await;
    assert_eq!(data(&body, "chargeBalance")["amount"], 10_000);
    assert_eq!(data(&body, "chargeBalance")["userId"], "alice");
    app.charge(&alice, 2_500).await;
    assert_eq!(app.balance(&alice).await, 12_500);
    assert_eq!(
        app.scalar(
            "SELECT COALESCE(SUM(amount_won), 0) FROM wallet_ledger WHERE user_id = 'alice'"
        )
        .await,
        12_500
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM wallet_ledger").await, 2);
}

#[tokio::test]
async fn an_amount_must_be_positive_and_within_the_single_charge_limit() {
    let app = spawn_app_with(|s| s.max_charge_won = 1_000_000).await;
    let alice = app.admitted("alice").await;
    for bad in [0, -1, -1_000, 1_000_001] {
        let body = app.charge(&alice, bad).await;
        assert_eq!(code(&body), Some("INVALID_AMOUNT"), "{bad}: {body}");
    }
    data(&app.charge(&alice, 1_000_000).await, "chargeBalance");
    assert_eq!(app.balance(&alice).await, 1_000_000);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM wallet_ledger").await, 1);
}

#[tokio::test]
async fn the_balance_never_leaves_graphqls_int_range() {
    let app = spawn_app_with(|s| s.max_charge_won = i64::MAX).await;
    let alice = app.admitted("alice").await;
    let max = i64::from(i32::MAX);
    data(&app.charge(&alice, max - 10).await, "chargeBalance");
    let body = app.charge(&alice, 11).await;
    assert_eq!(code(&body), Some("INVALID_AMOUNT"), "{body}");
    data(&app.charge(&alice, 10).await, "chargeBalance");
    assert_eq!(app.balance(&alice).await, max);
    let body = app.charge(&alice, i64::MAX).await;
    assert_eq!(code(&body), Some("INVALID_AMOUNT"), "{body}");
    let ledger = "SELECT COALESCE(SUM(amount_won), 0) FROM wallet_ledger WHERE user_id = 'alice'";
    assert_eq!(
        app.scalar(ledger).await,
        max,
        "refused charges leave no row"
    );
}

#[tokio::test]
async fn a_non_integer_amount_is_bad_input() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    let body = app
        .gql(
            Some(&alice),
            "mutation { chargeBalance(amount: \"lots\") { amount } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    let body = app
        .gql(
            Some(&alice),
            "mutation { chargeBalance(amount: 1e400) { amount } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_array(), "{body}");
}
