//! Time rules at their real, minute-scale defaults, driven by an injected
//! clock instead of sleeps.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};
use seatline::clock::ManualClock;
use seatline::config::Settings;

use crate::helpers::{DATE, TestApp, at, code, data, eventually, spawn_app_with_clock};

/// An app whose time is `clock`'s, with `configure`d settings and no
/// sweeper to speak of: it sleeps one active TTL of real time (ten
/// minutes) while the clock jumps, so what happens at an instant is what
/// reads and writes do by themselves.
async fn unswept(clock: &ManualClock, configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_clock(
        |s| {
            s.sweep_interval_ms = 3_600_000;
            configure(s);
        },
        Arc::new(clock.clone()),
    )
    .await
}

#[tokio::test]
async fn a_five_minute_hold_blocks_until_its_last_millisecond() {
    let clock = ManualClock::new(Utc::now());
    let app = unswept(&clock, |_| {}).await;
    let alice = app.admitted("alice").await;
    let bob = app.admitted("bob").await;
    let held = app.hold(&alice, DATE, 4).await;
    let id = data(&held, "holdSeat")["id"].as_str().unwrap().to_owned();
    app.charge(&alice, 500_000).await;

    clock.advance(TimeDelta::seconds(300) - TimeDelta::milliseconds(1));
    assert_eq!(
        code(&app.hold(&bob, DATE, 4).await),
        Some("SEAT_UNAVAILABLE")
    );

    clock.advance(TimeDelta::milliseconds(1));
    assert_eq!(code(&app.pay(&alice, &id).await), Some("HOLD_EXPIRED"));
    assert_eq!(
        data(&app.hold(&bob, DATE, 4).await, "holdSeat")["status"],
        "HELD"
    );
}

/// SPEC 4: the hold limit counts unpaid holds at once; a lapsed one stops
/// counting at its `expiresAt`, swept or not.
#[tokio::test]
async fn a_lapsed_hold_no_longer_counts_against_the_limit() {
    let clock = ManualClock::new(Utc::now());
    let app = unswept(&clock, |s| s.max_holds_per_user = 2).await;
    let alice = app.admitted("alice").await;
    data(&app.hold(&alice, DATE, 1).await, "holdSeat");
    clock.advance(TimeDelta::seconds(60));
    data(&app.hold(&alice, DATE, 2).await, "holdSeat");
    assert_eq!(code(&app.hold(&alice, DATE, 3).await), Some("HOLD_LIMIT"));

    clock.advance(TimeDelta::seconds(240) - TimeDelta::milliseconds(1));
    assert_eq!(code(&app.hold(&alice, DATE, 3).await), Some("HOLD_LIMIT"));
    clock.advance(TimeDelta::milliseconds(1));
    data(&app.hold(&alice, DATE, 3).await, "holdSeat");
    assert_eq!(code(&app.hold(&alice, DATE, 4).await), Some("HOLD_LIMIT"));
}

#[tokio::test]
async fn a_ten_minute_admission_lapses_and_frees_its_slot() {
    let clock = ManualClock::new(Utc::now());
    let app = unswept(&clock, |s| s.queue_capacity = 1).await;
    let alice = app.admitted("alice").await;
    let bob = app.issue("bob").await;
    clock.advance(TimeDelta::seconds(599));
    assert_eq!(app.ticket(&alice).await["status"], "PROGRESS");
    clock.advance(TimeDelta::seconds(1));
    let lapsed = app.ticket(&alice).await;
    assert_eq!(lapsed["status"], "EXPIRED");
    assert!(lapsed["position"].is_null(), "{lapsed}");
    // The next queue transaction expires the lapsed admission and promotes
    // the waiter; a newcomer still queues behind nobody but takes no slot
    // from Bob.
    let carol = app.issue("carol").await;
    assert_eq!(carol["status"], "WAITING");
    assert_eq!(carol["position"], 0);
    assert_eq!(
        app.ticket(bob["token"].as_str().unwrap()).await["status"],
        "PROGRESS"
    );
}

#[tokio::test]
async fn a_rejoin_waits_for_a_lapsed_ticket_another_transaction_holds() {
    // On PostgreSQL a payment locks its buyer's ticket before it takes the
    // gate, and a settle passes over a locked ticket. A re-join meanwhile
    // must neither get the lapsed ticket back nor a second live one.
    let clock = ManualClock::new(Utc::now());
    let app = unswept(&clock, |_| {}).await;
    if !app.is_postgres() {
        return;
    }
    let old = app.admitted("alice").await;
    clock.advance(TimeDelta::seconds(600));

    let payment = app.db.begin().await.expect("begin");
    payment
        .execute_unprepared("UPDATE queue_tickets SET status = status WHERE user_id = 'alice'")
        .await
        .expect("lock alice's ticket");
    let app = Arc::new(app);
    let rejoin = tokio::spawn({
        let app = app.clone();
        async move { app.issue("alice").await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!rejoin.is_finished(), "answered while the ticket was held");
    payment.rollback().await.expect("rollback");

    let ticket = rejoin.await.expect("rejoin");
    assert_eq!(ticket["status"], "PROGRESS", "{ticket}");
    assert_ne!(ticket["token"], old.as_str(), "{ticket}");
    assert_eq!(app.ticket(&old).await["status"], "EXPIRED");
}

/// SPEC 6: a payment confirms only a hold unexpired when it is written.
/// On PostgreSQL the payment waits for its buyer's ticket while another
/// transaction holds it; a hold that lapses meanwhile is not paid.
#[tokio::test]
async fn a_hold_that_lapses_while_its_payment_waits_for_a_lock_is_not_paid() {
    let clock = ManualClock::new(Utc::now());
    let app = unswept(&clock, |_| {}).await;
    if !app.is_postgres() {
        return;
    }
    let paid = pay_while_the_ticket_is_locked(app, &clock, TimeDelta::seconds(300)).await;
    assert_eq!(code(&paid), Some("HOLD_EXPIRED"), "{paid}");
}

/// SPEC 2: paying needs a live admission; one that lapses while the
/// payment waits for the ticket's lock is not paid on.
#[tokio::test]
async fn an_admission_that_lapses_while_its_payment_waits_for_a_lock_pays_nothing() {
    let clock = ManualClock::new(Utc::now());
    let app = unswept(&clock, |s| s.active_ttl_secs = 120).await;
    if !app.is_postgres() {
        return;
    }
    let paid = pay_while_the_ticket_is_locked(app, &clock, TimeDelta::seconds(120)).await;
    assert_eq!(code(&paid), Some("TOKEN_EXPIRED"), "{paid}");
}

/// Alice holds a seat and charges enough; her payment then waits for her
/// ticket, which another transaction locks, while `lapse` passes. What the
/// payment answers, once it is checked that it took no money.
async fn pay_while_the_ticket_is_locked(
    app: TestApp,
    clock: &ManualClock,
    lapse: TimeDelta,
) -> serde_json::Value {
    let alice = app.admitted("alice").await;
    let held = app.hold(&alice, DATE, 4).await;
    let id = data(&held, "holdSeat")["id"].as_str().unwrap().to_owned();
    app.charge(&alice, 500_000).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let app = Arc::new(app);
    let paid = lapse_while_alice_waits(&app, clock, lapse, {
        let app = app.clone();
        async move { app.pay(&alice, &id).await }
    })
    .await;
    assert_eq!(
        app.scalar("SELECT COALESCE(SUM(balance_won), 0) FROM wallets")
            .await,
        500_000,
        "{paid}"
    );
    paid
}

/// Sends Alice's `request` while her writes are held up at the database
/// (see [`TestApp::hold_up_writes_of`]), lets `lapse` pass once its batch
/// has begun, then lets it through. Its answer.
async fn lapse_while_alice_waits(
    app: &TestApp,
    clock: &ManualClock,
    lapse: TimeDelta,
    request: impl Future<Output = serde_json::Value> + Send + 'static,
) -> serde_json::Value {
    let began = || async { app.metrics().await["seatline_db_transactions_total"] };
    let before = began().await;

    let other = app.hold_up_writes_of("alice").await;
    let answer = tokio::spawn(request);
    eventually("the request's batch begins", || async {
        began().await > before
    })
    .await;
    clock.advance(lapse);
    other.rollback().await.expect("rollback");
    answer.await.expect("request")
}

/// SPEC 2: charging needs a live admission; one that lapses while the
/// charge waits for the database charges nothing.
#[tokio::test]
async fn an_admission_that_lapses_while_its_charge_waits_charges_nothing() {
    let clock = ManualClock::new(Utc::now());
    let app = Arc::new(unswept(&clock, |s| s.active_ttl_secs = 120).await);
    let alice = app.admitted("alice").await;
    let charged = lapse_while_alice_waits(&app, &clock, TimeDelta::seconds(120), {
        let app = app.clone();
        async move { app.charge(&alice, 1_000).await }
    })
    .await;
    assert_eq!(code(&charged), Some("TOKEN_EXPIRED"), "{charged}");
    for table in ["wallets", "wallet_ledger"] {
        let rows = app.scalar(&format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(rows, 0, "{table}: {charged}");
    }
}

/// SPEC 1: after EXPIRED, a new ticket goes to the back of the line, with
/// a new token; the lapse hands its slot to the earliest waiter.
#[tokio::test]
async fn a_lapsed_user_who_joins_again_goes_to_the_back_of_the_line() {
    let clock = ManualClock::new(Utc::now());
    let app = unswept(&clock, |s| s.queue_capacity = 1).await;
    let old = app.admitted("alice").await;
    let bob = app.issue("bob").await;
    let carol = app.issue("carol").await;
    clock.advance(TimeDelta::seconds(600));

    let again = app.issue("alice").await;
    assert_eq!(
        (again["status"].as_str(), again["position"].as_i64()),
        (Some("WAITING"), Some(1)),
        "behind Carol: {again}"
    );
    assert_ne!(again["token"], old.as_str());
    assert_eq!(app.ticket(&old).await["status"], "EXPIRED");
    let bob = app.ticket(bob["token"].as_str().unwrap()).await;
    assert_eq!(bob["status"], "PROGRESS", "{bob}");
    let carol = app.ticket(carol["token"].as_str().unwrap()).await;
    assert_eq!(carol["position"], 0, "{carol}");
}

/// SPEC 1: a promoted waiter's admission lasts one active TTL from its
/// promotion, not from its join.
#[tokio::test]
async fn a_promoted_waiter_is_admitted_for_a_ttl_from_its_promotion() {
    let clock = ManualClock::new(Utc::now());
    let app = unswept(&clock, |s| s.queue_capacity = 1).await;
    let alice = app.admitted("alice").await;
    let bob = app.issue("bob").await;
    let bob = bob["token"].as_str().unwrap();
    clock.advance(TimeDelta::seconds(300));
    let held = app.hold(&alice, DATE, 2).await;
    let id = data(&held, "holdSeat")["id"].as_str().unwrap().to_owned();
    app.charge(&alice, 500_000).await;
    data(&app.pay(&alice, &id).await, "pay");

    let ticket = app.ticket(bob).await;
    assert_eq!(ticket["status"], "PROGRESS", "{ticket}");
    let time = |field: &str| at(&ticket[field]);
    assert_eq!(
        time("admittedAt") - time("enteredAt"),
        TimeDelta::seconds(300)
    );
    assert_eq!(
        time("expiresAt") - time("admittedAt"),
        TimeDelta::seconds(600)
    );
}

/// A seat sold here stays taken for good: long after the hold that was
/// paid would have lapsed, a hold on it is still refused before its batch
/// (on PostgreSQL the gate still reads the holder's ticket).
#[tokio::test]
async fn a_seat_sold_here_is_refused_without_a_statement_after_its_hold_would_lapse() {
    let clock = ManualClock::new(Utc::now());
    let app = unswept(&clock, |_| {}).await;
    let alice = app.admitted("alice").await;
    let bob = app.admitted("bob").await;
    let held = app.hold(&alice, DATE, 6).await;
    let id = data(&held, "holdSeat")["id"].as_str().unwrap().to_owned();
    app.charge(&alice, 500_000).await;
    data(&app.pay(&alice, &id).await, "pay");

    clock.advance(TimeDelta::seconds(301));
    app.assert_refused_before_a_batch(&bob, 6, "sold").await;
}
