//! SPEC section 2: every shopping operation needs a PROGRESS ticket.

use serde_json::json;

use crate::helpers::{DATE, code, data, spawn_app, spawn_app_with};

const GATED: [&str; 6] = [
    "{ availableDates(concertId: \"1\") { id } }",
    "{ availableSeats(concertDateId: \"1\") { id } }",
    "{ balance { amount } }",
    "mutation { holdSeat(concertDateId: \"1\", seatNumber: 1) { id } }",
    "mutation { chargeBalance(amount: 1000) { amount } }",
    "mutation { pay(reservationId: \"1\") { id } }",
];

#[tokio::test]
async fn a_missing_malformed_or_unknown_token_is_unauthenticated() {
    let app = spawn_app().await;
    for query in GATED.iter().chain(["{ queueTicket { status } }"].iter()) {
        let body = app.gql(None, query, json!({})).await;
        assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{query}: {body}");
        let body = app.gql(Some("not-a-real-token"), query, json!({})).await;
        assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{query}: {body}");
        let response = app
            .http
            .post(app.url("/graphql"))
            .header("Authorization", "Basic abc")
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{query}: {body}");
    }
}

#[tokio::test]
async fn a_waiting_ticket_is_not_admitted_and_learns_its_position() {
    let app = spawn_app_with(|s| s.queue_capacity = 1).await;
    app.admitted("alice").await;
    app.issue("bob").await;
    let carol = app.issue("carol").await;
    let token = carol["token"].as_str().unwrap();
    for query in GATED {
        let body = app.gql(Some(token), query, json!({})).await;
        assert_eq!(code(&body), Some("NOT_ADMITTED"), "{query}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["position"], 1, "{body}");
    }
    // queueTicket needs a token in any state.
    assert_eq!(app.ticket(token).await["status"], "WAITING");
}

#[tokio::test]
async fn a_done_ticket_is_expired_for_shopping() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    let hold = app.hold(&alice, DATE, 1).await;
    let id = data(&hold, "holdSeat")["id"].as_str().unwrap().to_owned();
    app.charge(&alice, 200_000).await;
    data(&app.pay(&alice, &id).await, "pay");
    for query in GATED {
        let body = app.gql(Some(&alice), query, json!({})).await;
        assert_eq!(code(&body), Some("TOKEN_EXPIRED"), "{query}: {body}");
    }
    assert_eq!(app.ticket(&alice).await["status"], "DONE");
}

#[tokio::test]
async fn public_operations_need_no_token() {
    let app = spawn_app().await;
    let body = app.gql(None, "{ concerts { id title } }", json!({})).await;
    assert!(data(&body, "concerts").as_array().unwrap().len() >= 3);
}

/// One process owns a SQLite file, so it sees every admission and finish
/// first: it answers the gate for the tickets it admitted without a read.
/// Several may share PostgreSQL, so there each request reads its ticket.
#[tokio::test]
async fn a_single_process_answers_the_gate_for_its_admitted_tickets_without_a_read() {
    let app = spawn_app_with(|s| s.sweep_interval_ms = 3_600_000).await;
    let alice = app.admitted("alice").await;
    let fewest = app.statements_of(|| app.balance(&alice)).await;
    let ticket_read = if app.is_postgres() { 1.0 } else { 0.0 };
    assert_eq!(
        fewest,
        1.0 + ticket_read,
        "the wallet read, and the ticket's"
    );
}
