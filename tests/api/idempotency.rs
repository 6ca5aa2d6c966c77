//! SPEC section 7: `idempotencyKey` on holdSeat, chargeBalance and pay.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use seatline::clock::ManualClock;
use serde_json::{Value, json};

use crate::helpers::{
    DATE, TestApp, code, data, eventually, spawn_app, spawn_app_with, spawn_app_with_clock,
};

const HOLD: &str = "mutation($d: ID!, $s: Int!, $k: String) { holdSeat(concertDateId: $d, seatNumber: $s, idempotencyKey: $k) { id status expiresAt seat { number } } }";
const CHARGE: &str = "mutation($a: Int!, $k: String) { chargeBalance(amount: $a, idempotencyKey: $k) { userId amount } }";
const PAY: &str = "mutation($r: ID!, $k: String) { pay(reservationId: $r, idempotencyKey: $k) { id amount paidAt reservation { id status } } }";

async fn hold(app: &TestApp, token: &str, seat: i32, key: &str) -> Value {
    app.gql(
        Some(token),
        HOLD,
        json!({ "d": DATE.to_string(), "s": seat, "k": key }),
    )
    .await
}

#[tokio::test]
async fn a_retried_hold_returns_the_first_reservation() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    let first = hold(&app, &alice, 5, "k1").await;
    let again = hold(&app, &alice, 5, "k1").await;
    assert_eq!(data(&first, "holdSeat"), data(&again, "holdSeat"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM reservations").await, 1);
    // Without a key the seat is simply taken.
    assert_eq!(
        code(&app.hold(&alice, DATE, 5).await),
        Some("SEAT_UNAVAILABLE")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_hold_all_get_its_reservation() {
    let app = Arc::new(spawn_app().await);
    let alice = Arc::new(app.admitted("alice").await);
    // Retries that arrive after the first attempt took the seat see it
    // taken before they reach the key; they must still replay the hold.
    let answers = crate::helpers::concurrently(40, |_| {
        let (app, alice) = (Arc::clone(&app), Arc::clone(&alice));
        async move { hold(&app, &alice, 9, "burst").await }
    })
    .await;
    let first = data(&answers[0], "holdSeat");
    for answer in &answers {
        assert_eq!(data(answer, "holdSeat"), first, "{answer}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM reservations").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn holds_written_together_are_each_answered_and_replayed_as_if_alone() {
    // Holds that arrive together share a transaction. Whatever the
    // batches, each answer and each stored outcome must be the one a hold
    // written alone would get.
    let app = Arc::new(spawn_app_with(|s| s.max_holds_per_user = 1).await);
    let tokens = Arc::new(
        crate::helpers::concurrently(30, |i| {
            let app = Arc::clone(&app);
            async move { app.admitted(&format!("user{i}")).await }
        })
        .await,
    );
    // Users 0-9 are at the limit already.
    for (i, token) in tokens.iter().take(10).enumerate() {
        data(&app.hold(token, DATE, 41 + i as i32).await, "holdSeat");
    }
    // 10-19 race for seat 1; 20-29 each take a seat of their own.
    let seat = |i: usize| match i {
        0..10 => 31 + i as i32,
        10..20 => 1,
        _ => i as i32,
    };
    let burst = || {
        crate::helpers::concurrently(30, |i| {
            let (app, tokens) = (Arc::clone(&app), Arc::clone(&tokens));
            async move { hold(&app, &tokens[i], seat(i), &format!("k{i}")).await }
        })
    };
    let answers = burst().await;
    let codes: Vec<Option<&str>> = answers.iter().map(code).collect();
    assert!(
        codes[..10].iter().all(|c| *c == Some("HOLD_LIMIT")),
        "{codes:?}"
    );
    let racers = &codes[10..20];
    assert_eq!(
        racers.iter().filter(|c| c.is_none()).count(),
        1,
        "{codes:?}"
    );
    assert_eq!(
        racers
            .iter()
            .filter(|c| **c == Some("SEAT_UNAVAILABLE"))
            .count(),
        9
    );
    for (i, answer) in answers.iter().enumerate().skip(20) {
        assert_eq!(
            data(answer, "holdSeat")["seat"]["number"],
            seat(i),
            "{answer}"
        );
    }
    // Each of them holds its own seat, not another's.
    let own = format!(
        "SELECT COUNT(*) FROM reservations r JOIN seats s ON s.id = r.seat_id \
         WHERE s.concert_date_id = {DATE} AND s.number BETWEEN 20 AND 29 \
         AND r.user_id = 'user' || s.number"
    );
    assert_eq!(app.scalar(&own).await, 10);
    // The same keys again: every answer replays, even where the seat or
    // the limit would now refuse it differently.
    assert_eq!(burst().await, answers);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'HELD'")
            .await,
        21
    );
}

#[tokio::test]
async fn a_retried_charge_moves_money_once() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    let first = app
        .gql(Some(&alice), CHARGE, json!({ "a": 5000, "k": "c1" }))
        .await;
    let again = app
        .gql(Some(&alice), CHARGE, json!({ "a": 5000, "k": "c1" }))
        .await;
    assert_eq!(data(&first, "chargeBalance"), data(&again, "chargeBalance"));
    assert_eq!(app.balance(&alice).await, 5000);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM wallet_ledger").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_charge_and_one_payment_apply_once() {
    let app = Arc::new(spawn_app().await);
    let alice = Arc::new(app.admitted("alice").await);
    let charges = crate::helpers::concurrently(20, |_| {
        let (app, alice) = (Arc::clone(&app), Arc::clone(&alice));
        async move {
            app.gql(Some(&alice), CHARGE, json!({ "a": 500_000, "k": "c" }))
                .await
        }
    })
    .await;
    for answer in &charges {
        assert_eq!(data(answer, "chargeBalance")["amount"], 500_000, "{answer}");
    }
    let reservation = data(&app.hold(&alice, DATE, 4).await, "holdSeat")["id"].clone();
    let payments = crate::helpers::concurrently(20, |_| {
        let (app, alice, reservation) = (Arc::clone(&app), Arc::clone(&alice), reservation.clone());
        async move {
            app.gql(Some(&alice), PAY, json!({ "r": reservation, "k": "p" }))
                .await
        }
    })
    .await;
    let first = data(&payments[0], "pay");
    for answer in &payments {
        assert_eq!(data(answer, "pay"), first, "{answer}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM wallet_ledger").await, 2);
    let price = first["amount"].as_i64().unwrap();
    assert_eq!(
        app.scalar("SELECT balance_won FROM wallets").await,
        500_000 - price
    );
}

#[tokio::test]
async fn a_key_reused_with_other_arguments_is_refused() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    data(
        &app.gql(Some(&alice), CHARGE, json!({ "a": 5000, "k": "c1" }))
            .await,
        "chargeBalance",
    );
    let body = app
        .gql(Some(&alice), CHARGE, json!({ "a": 6000, "k": "c1" }))
        .await;
    assert_eq!(code(&body), Some("IDEMPOTENCY_KEY_REUSED"));
    let body = hold(&app, &alice, 5, "c1").await;
    assert_eq!(code(&body), Some("IDEMPOTENCY_KEY_REUSED"));
    assert_eq!(app.balance(&alice).await, 5000);
}

#[tokio::test]
async fn keys_are_scoped_to_the_caller() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    let bob = app.admitted("bob").await;
    data(
        &app.gql(Some(&alice), CHARGE, json!({ "a": 5000, "k": "same" }))
            .await,
        "chargeBalance",
    );
    let body = app
        .gql(Some(&bob), CHARGE, json!({ "a": 7000, "k": "same" }))
        .await;
    assert_eq!(data(&body, "chargeBalance")["amount"], 7000);
}

#[tokio::test]
async fn a_first_attempts_error_is_replayed() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    let first = app
        .gql(Some(&alice), CHARGE, json!({ "a": -5, "k": "bad" }))
        .await;
    assert_eq!(code(&first), Some("INVALID_AMOUNT"));
    let again = app
        .gql(Some(&alice), CHARGE, json!({ "a": -5, "k": "bad" }))
        .await;
    assert_eq!(first["errors"], again["errors"]);
}

#[tokio::test]
async fn a_replayed_payment_answers_even_after_the_ticket_is_done() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    let held = hold(&app, &alice, 5, "h").await;
    let id = data(&held, "holdSeat")["id"].as_str().unwrap().to_owned();
    app.charge(&alice, 500_000).await;
    let first = app
        .gql(Some(&alice), PAY, json!({ "r": id, "k": "p" }))
        .await;
    assert_eq!(app.ticket(&alice).await["status"], "DONE");
    let again = app
        .gql(Some(&alice), PAY, json!({ "r": id, "k": "p" }))
        .await;
    assert_eq!(data(&first, "pay"), data(&again, "pay"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 1);
    // A new payment attempt without the key meets the finished ticket.
    assert_eq!(code(&app.pay(&alice, &id).await), Some("TOKEN_EXPIRED"));
}

#[tokio::test]
async fn an_overlong_key_is_bad_input() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    // SPEC counts characters: 255 Hangul syllables are 765 bytes of UTF-8.
    for letter in ["k", "가"] {
        let body = app
            .gql(
                Some(&alice),
                CHARGE,
                json!({ "a": 10, "k": letter.repeat(256) }),
            )
            .await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{letter}: {body}");
        let key = letter.repeat(255);
        let first = app
            .gql(Some(&alice), CHARGE, json!({ "a": 10, "k": key }))
            .await;
        let replay = app
            .gql(Some(&alice), CHARGE, json!({ "a": 10, "k": key }))
            .await;
        assert_eq!(
            data(&first, "chargeBalance"),
            data(&replay, "chargeBalance")
        );
    }
    assert_eq!(app.balance(&alice).await, 20, "one charge per key");
}

/// SPEC: keys live at least 24 h. The sweeper keeps them 48 h, then
/// forgets them.
#[tokio::test]
async fn a_key_outlives_a_day_and_is_forgotten_after_two() {
    let clock = ManualClock::new(Utc::now());
    let app = spawn_app_with_clock(|s| s.sweep_interval_ms = 20, Arc::new(clock.clone())).await;
    let alice = app.admitted("alice").await;
    let charge = || app.gql(Some(&alice), CHARGE, json!({ "a": 5000, "k": "c1" }));
    let first = charge().await;
    data(&first, "chargeBalance");

    // A day and an hour on, many sweeps later, the admission long lapsed:
    // the retry still learns what its first attempt did.
    clock.advance(TimeDelta::hours(25));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM idempotency_keys").await, 1);
    assert_eq!(
        data(&charge().await, "chargeBalance"),
        data(&first, "chargeBalance")
    );

    // Past 48 hours the key is gone, and the same request is a new one,
    // refused at the gate.
    clock.advance(TimeDelta::hours(24));
    eventually("the sweeper forgets the key", || async {
        app.scalar("SELECT COUNT(*) FROM idempotency_keys").await == 0
    })
    .await;
    assert_eq!(code(&charge().await), Some("TOKEN_EXPIRED"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM wallet_ledger").await, 1);
}
