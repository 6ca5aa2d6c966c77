//! `GET /metrics`: what the server counts, in the Prometheus text format,
//! and the demo catalog's size setting the benchmarks use.

use serde_json::json;

use crate::helpers::{DATE, data, eventually, spawn_app_with};

#[tokio::test]
async fn metrics_count_what_the_server_did() {
    let app = spawn_app_with(|s| s.queue_capacity = 1).await;
    let alice = app.admitted("alice").await;
    let bob = app.issue("bob").await["token"].as_str().unwrap().to_owned();
    let mut ws = app.ws(json!({ "token": bob })).await;
    ws.subscribe("1", None).await;
    assert_eq!(ws.next_ticket().await["status"], "WAITING");

    let m = app.metrics().await;
    assert_eq!(m["seatline_queue_waiting"], 1.0);
    assert_eq!(m["seatline_queue_admitted"], 1.0);
    assert_eq!(m["seatline_queue_admissions_total"], 1.0);
    assert_eq!(m["seatline_subscribers"], 1.0);
    assert_eq!(m["seatline_pushes_total"], 1.0);
    assert_eq!(m["seatline_admission_push_seconds_count"], 0.0);
    assert_eq!(
        m["seatline_admission_commit_seconds_count"], 1.0,
        "alice's admission, committed"
    );
    assert_eq!(m["seatline_holds_total"], 0.0);
    assert_eq!(
        m["seatline_join_batch_size_count"], 2.0,
        "one join at a time"
    );
    assert_eq!(m["seatline_join_batch_size_sum"], 2.0);
    assert!(m["seatline_db_transactions_total"] >= 2.0, "{m:?}");
    assert!(m["seatline_db_statements_total"] > m["seatline_db_transactions_total"]);

    let reservation = data(&app.hold(&alice, DATE, 1).await, "holdSeat")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    data(&app.charge(&alice, 1_000_000).await, "chargeBalance");
    data(&app.pay(&alice, &reservation).await, "pay");
    assert_eq!(ws.next_ticket().await["status"], "PROGRESS");

    let m = app.metrics().await;
    assert_eq!(m["seatline_holds_total"], 1.0);
    assert_eq!(m["seatline_payments_total"], 1.0);
    assert_eq!(m["seatline_charge_batch_size_count"], 1.0);
    assert_eq!(m["seatline_payment_batch_size_count"], 1.0);
    assert_eq!(m["seatline_payment_batch_size_sum"], 1.0);
    assert_eq!(m["seatline_queue_admissions_total"], 2.0);
    assert_eq!(m["seatline_queue_waiting"], 0.0);
    assert_eq!(m["seatline_pushes_total"], 2.0);
    assert_eq!(
        m["seatline_admission_push_seconds_count"], 1.0,
        "bob's admission, pushed"
    );
    assert!(m["seatline_admission_push_seconds_sum"] < 5.0, "{m:?}");
    assert_eq!(m["seatline_admission_commit_seconds_count"], 2.0);
    assert_eq!(
        m["seatline_admission_notify_seconds_count"], 1.0,
        "bob's admission, pushed after its commit"
    );

    drop(ws);
    eventually("the subscriber is gone", || async {
        app.metrics().await["seatline_subscribers"] == 0.0
    })
    .await;
}

#[tokio::test]
async fn the_demo_catalog_takes_its_size_from_the_settings() {
    let app = spawn_app_with(|s| s.demo_dates = 5).await;
    let body = app
        .gql(None, "{ concerts { dates { id } } }", json!({}))
        .await;
    let concerts = data(&body, "concerts").as_array().unwrap().clone();
    assert_eq!(concerts.len(), 3);
    for c in concerts {
        assert_eq!(c["dates"].as_array().unwrap().len(), 5);
    }
}

#[tokio::test]
async fn a_replayed_payment_is_not_counted() {
    let app = spawn_app_with(|_| {}).await;
    let alice = app.admitted("alice").await;
    let reservation = data(&app.hold(&alice, DATE, 1).await, "holdSeat")["id"].clone();
    data(&app.charge(&alice, 1_000_000).await, "chargeBalance");
    let pay = "mutation($r: ID!) { pay(reservationId: $r, idempotencyKey: \"p1\") { id } }";
    let vars = json!({ "r": reservation });
    let first = data(&app.gql(Some(&alice), pay, vars.clone()).await, "pay").clone();
    let again = data(&app.gql(Some(&alice), pay, vars).await, "pay").clone();
    assert_eq!(first, again);
    let m = app.metrics().await;
    assert_eq!(m["seatline_payments_total"], 1.0);
    assert_eq!(m["seatline_payment_batch_size_count"], 1.0);
}

#[tokio::test]
async fn a_replayed_or_refused_hold_is_not_counted() {
    let app = spawn_app_with(|_| {}).await;
    let alice = app.admitted("alice").await;
    let bob = app.admitted("bob").await;
    let hold = "mutation($d: ID!, $k: String) { holdSeat(concertDateId: $d, seatNumber: 3, idempotencyKey: $k) { id } }";
    let vars = json!({ "d": DATE.to_string(), "k": "h1" });
    data(&app.gql(Some(&alice), hold, vars.clone()).await, "holdSeat");
    data(&app.gql(Some(&alice), hold, vars.clone()).await, "holdSeat");
    let taken = app.gql(Some(&bob), hold, vars).await;
    assert!(!taken["errors"].is_null(), "{taken}");
    let m = app.metrics().await;
    assert_eq!(m["seatline_holds_total"], 1.0);
    // The replay wrote nothing; the refusal was refused before the writer.
    assert_eq!(m["seatline_hold_batch_size_count"], 1.0);
    assert_eq!(m["seatline_hold_batch_size_sum"], 1.0);
}
