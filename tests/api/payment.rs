//! SPEC section 6: payment.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    DATE, Server, TestApp, TestDatabase, code, data, issue, spawn_app, spawn_app_with, token_of,
};

async fn held(app: &TestApp, token: &str, seat: i32) -> (String, i64) {
    let body = app.hold(token, DATE, seat).await;
    let r = data(&body, "holdSeat");
    (
        r["id"].as_str().unwrap().to_owned(),
        r["price"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn paying_confirms_the_seat_debits_the_balance_and_finishes_the_ticket() {
    let app = spawn_app_with(|s| s.queue_capacity = 1).await;
    let alice = app.admitted("alice").await;
    let bob = app.issue("bob").await;
    let (id, price) = held(&app, &alice, 3).await;
    app.charge(&alice, price + 1_000).await;
    let body = app.pay(&alice, &id).await;
    let payment = data(&body, "pay");
    assert_eq!(payment["amount"], price);
    assert_eq!(payment["reservation"]["id"], Value::from(id.clone()));
    assert_eq!(payment["reservation"]["status"], "CONFIRMED");
    assert_eq!(payment["reservation"]["seat"]["status"], "SOLD");
    assert_eq!(app.ticket(&alice).await["status"], "DONE");
    assert_eq!(
        app.ticket(bob["token"].as_str().unwrap()).await["status"],
        "PROGRESS"
    );
    assert_eq!(
        app.scalar("SELECT balance_won FROM wallets WHERE user_id = 'alice'")
            .await,
        1_000
    );
    assert_eq!(
        app.scalar("SELECT SUM(amount_won) FROM wallet_ledger WHERE user_id = 'alice'")
            .await,
        1_000
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM seats WHERE status = 'SOLD'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_insufficient_balance_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    let (id, price) = held(&app, &alice, 3).await;
    app.charge(&alice, price - 1).await;
    let body = app.pay(&alice, &id).await;
    assert_eq!(code(&body), Some("INSUFFICIENT_BALANCE"), "{body}");
    // What the client needs to offer the top-up, without another query.
    let extensions = &body["errors"][0]["extensions"];
    assert_eq!(extensions["balance"], price - 1, "{body}");
    assert_eq!(extensions["price"], price, "{body}");
    assert_eq!(app.balance(&alice).await, price - 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'HELD'")
            .await,
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 0);
    assert_eq!(app.ticket(&alice).await["status"], "PROGRESS");
    // Topping up lets the same reservation be paid.
    app.charge(&alice, 1).await;
    data(&app.pay(&alice, &id).await, "pay");
    assert_eq!(app.balance_after_done(&alice).await, 0);
}

#[tokio::test]
async fn another_users_reservation_is_not_found() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    let bob = app.admitted("bob").await;
    let (id, price) = held(&app, &alice, 3).await;
    app.charge(&bob, 1_000_000).await;
    assert_eq!(code(&app.pay(&bob, &id).await), Some("NOT_FOUND"));
    assert_eq!(code(&app.pay(&bob, "424242").await), Some("NOT_FOUND"));
    assert_eq!(code(&app.pay(&bob, "nope").await), Some("BAD_USER_INPUT"));
    // Paid, it is still not Bob's to learn about: never ALREADY_PAID.
    app.charge(&alice, price).await;
    data(&app.pay(&alice, &id).await, "pay");
    assert_eq!(code(&app.pay(&bob, &id).await), Some("NOT_FOUND"));
    assert_eq!(app.balance(&bob).await, 1_000_000);
}

#[tokio::test]
async fn an_expired_hold_cannot_be_paid() {
    let app = spawn_app_with(|s| s.hold_ttl_secs = 1).await;
    let alice = app.admitted("alice").await;
    let (id, price) = held(&app, &alice, 3).await;
    app.charge(&alice, price).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(code(&app.pay(&alice, &id).await), Some("HOLD_EXPIRED"));
    assert_eq!(app.balance(&alice).await, price);
}

#[tokio::test]
async fn paying_twice_is_already_paid_and_the_ticket_waits_for_other_holds() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    let (first, p1) = held(&app, &alice, 3).await;
    let (second, p2) = held(&app, &alice, 4).await;
    app.charge(&alice, p1 + p2).await;
    data(&app.pay(&alice, &first).await, "pay");
    assert_eq!(
        app.ticket(&alice).await["status"],
        "PROGRESS",
        "a hold remains"
    );
    assert_eq!(code(&app.pay(&alice, &first).await), Some("ALREADY_PAID"));
    assert_eq!(app.balance(&alice).await, p2);
    data(&app.pay(&alice, &second).await, "pay");
    assert_eq!(app.ticket(&alice).await["status"], "DONE");
}

/// "No other HELD reservation" means no unexpired one: a hold past its
/// `expiresAt` no longer keeps the ticket open, swept or not.
#[tokio::test]
async fn a_lapsed_hold_does_not_keep_the_ticket_open() {
    let app = spawn_app_with(|s| {
        s.hold_ttl_secs = 2;
        s.sweep_interval_ms = 3_600_000;
    })
    .await;
    let alice = app.admitted("alice").await;
    let (_, p1) = held(&app, &alice, 4).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let (second, p2) = held(&app, &alice, 3).await;
    app.charge(&alice, p1 + p2).await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    // The first hold has lapsed (still HELD in the table); the second has not.
    data(&app.pay(&alice, &second).await, "pay");
    assert_eq!(app.ticket(&alice).await["status"], "DONE");
}

/// A payment's checks read the reservation; its batch locks the gate,
/// confirms, debits, sells, inserts the payment and its ledger row, and
/// finishes the ticket. On SQLite the queue hub knows the ticket is still
/// admitted; on PostgreSQL the gate reads the ticket, and the batch locks
/// it too.
#[tokio::test]
async fn the_statements_of_a_payment() {
    let app = spawn_app_with(|s| s.sweep_interval_ms = 3_600_000).await;
    let mut ready = Vec::new();
    for seat in 1..=5 {
        let user = app.admitted(&format!("buyer-{seat}")).await;
        let (id, price) = held(&app, &user, seat).await;
        app.charge(&user, price).await;
        ready.push((user, id));
    }
    let ready = std::sync::Mutex::new(ready);
    let pay = || async {
        let (user, id) = ready.lock().unwrap().pop().unwrap();
        data(&app.pay(&user, &id).await, "pay");
    };
    // The hold was committed here: its reservation is known, not read.
    let expected = if app.is_postgres() { 9.0 } else { 7.0 };
    assert_eq!(app.statements_of(pay).await, expected);
}

/// A hold this process did not commit (another instance's, or, here, one
/// from before a restart) is read before it is paid, and checked.
#[tokio::test]
async fn a_hold_from_before_a_restart_is_read_checked_and_paid() {
    const HOLD: &str =
        "mutation($d: ID!, $s: Int!) { holdSeat(concertDateId: $d, seatNumber: $s) { id price } }";
    const CHARGE: &str = "mutation($a: Int!) { chargeBalance(amount: $a) { amount } }";
    const PAY: &str = "mutation($r: ID!) { pay(reservationId: $r) { amount reservation { status seat { status } } } }";
    let (_database, url) = TestDatabase::create().await;
    let first = Server::start(&url, &[]);
    let mut holds = Vec::new();
    for (user, seat) in [("alice", 1), ("bob", 2)] {
        let issued = issue(&reqwest::Client::new(), &first.url, user).await;
        let token = token_of(&issued);
        let held = first
            .gql(
                Some(&token),
                HOLD,
                json!({ "d": DATE.to_string(), "s": seat }),
            )
            .await;
        let held = data(&held, "holdSeat").clone();
        first
            .gql(Some(&token), CHARGE, json!({ "a": held["price"] }))
            .await;
        holds.push((token, held["id"].clone(), held["price"].clone()));
    }
    first.kill();

    let second = Server::start(&url, &[]);
    let [(alice, alices, price), (_, bobs, _)] = &holds[..] else {
        unreachable!()
    };
    let theirs = second.gql(Some(alice), PAY, json!({ "r": bobs })).await;
    assert_eq!(code(&theirs), Some("NOT_FOUND"), "{theirs}");
    let paid = second.gql(Some(alice), PAY, json!({ "r": alices })).await;
    let paid = data(&paid, "pay");
    assert_eq!(&paid["amount"], price);
    assert_eq!(paid["reservation"]["status"], "CONFIRMED");
    assert_eq!(paid["reservation"]["seat"]["status"], "SOLD");
}

impl TestApp {
    /// The balance read from the database (the ticket may be DONE).
    async fn balance_after_done(&self, _token: &str) -> i64 {
        self.scalar("SELECT balance_won FROM wallets WHERE user_id = 'alice'")
            .await
    }
}
