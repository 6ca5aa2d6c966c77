//! SPEC section 4: holds.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{DATE, TestApp, at, code, data, eventually, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_hold_lasts_the_hold_ttl() {
    let app = spawn_app().await;
    let token = app.admitted("alice").await;
    let body = app.hold(&token, DATE, 5).await;
    let r = data(&body, "holdSeat");
    assert_eq!(r["status"], "HELD");
    assert_eq!(r["seat"]["number"], 5);
    assert_eq!(r["seat"]["status"], "HELD");
    assert_eq!(r["price"], r["seat"]["price"]);
    assert_eq!((at(&r["expiresAt"]) - at(&r["heldAt"])).num_seconds(), 300);
}

#[tokio::test]
async fn a_held_seat_cannot_be_held_again() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    let bob = app.admitted("bob").await;
    data(&app.hold(&alice, DATE, 5).await, "holdSeat");
    assert_eq!(
        code(&app.hold(&bob, DATE, 5).await),
        Some("SEAT_UNAVAILABLE")
    );
    assert_eq!(
        code(&app.hold(&alice, DATE, 5).await),
        Some("SEAT_UNAVAILABLE")
    );
}

#[tokio::test]
async fn a_sold_seat_cannot_be_held() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    let bob = app.admitted("bob").await;
    let hold = app.hold(&alice, DATE, 5).await;
    let id = data(&hold, "holdSeat")["id"].as_str().unwrap().to_owned();
    app.charge(&alice, 500_000).await;
    data(&app.pay(&alice, &id).await, "pay");
    assert_eq!(
        code(&app.hold(&bob, DATE, 5).await),
        Some("SEAT_UNAVAILABLE")
    );
}

#[tokio::test]
async fn an_expired_hold_lets_another_user_win_the_seat_even_before_the_sweep() {
    let app = spawn_app_with(|s| {
        s.hold_ttl_secs = 1;
        s.sweep_interval_ms = 3_600_000;
    })
    .await;
    let alice = app.admitted("alice").await;
    let bob = app.admitted("bob").await;
    let first = app.hold(&alice, DATE, 5).await;
    let first_id = data(&first, "holdSeat")["id"].as_str().unwrap().to_owned();
    // Refused while the hold lasts: the server now knows the seat is
    // taken, but only until the hold lapses.
    assert_eq!(
        code(&app.hold(&bob, DATE, 5).await),
        Some("SEAT_UNAVAILABLE")
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = app.hold(&bob, DATE, 5).await;
    assert_eq!(data(&second, "holdSeat")["status"], "HELD");
    // The lapsed hold was closed by the winning one, not left live.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM reservations WHERE id = {first_id} AND status = 'EXPIRED'"
        ))
        .await,
        1
    );
    // Alice's payment for her lapsed hold fails.
    app.charge(&alice, 500_000).await;
    assert_eq!(
        code(&app.pay(&alice, &first_id).await),
        Some("HOLD_EXPIRED")
    );
}

/// A hold reads nothing before its batch once its date's layout was read:
/// the ticket touched with its holder's holds counted, the seat read, the
/// seat claimed and the hold inserted (a seat the read saw under a lapsed
/// hold adds the statement that ends it). On PostgreSQL the gate also
/// reads the ticket, and the count is a statement of its own.
#[tokio::test]
async fn the_statements_of_a_hold_on_a_date_already_read() {
    let app = spawn_app_with(|s| {
        s.max_holds_per_user = 100;
        s.sweep_interval_ms = 3_600_000;
    })
    .await;
    let alice = app.admitted("alice").await;
    let seat = std::sync::atomic::AtomicI32::new(1);
    let hold = || async {
        let n = seat.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        data(&app.hold(&alice, DATE, n).await, "holdSeat");
    };
    let expected = if app.is_postgres() { 6.0 } else { 4.0 };
    assert_eq!(app.statements_of(hold).await, expected);
}

#[tokio::test]
async fn the_sweeper_expires_unpaid_holds_and_frees_their_seats() {
    let app = spawn_app_with(|s| {
        s.hold_ttl_secs = 1;
        s.sweep_interval_ms = 100;
    })
    .await;
    let alice = app.admitted("alice").await;
    for seat in [1, 2] {
        data(&app.hold(&alice, DATE, seat).await, "holdSeat");
    }
    eventually("the sweeper expires both holds", || async {
        app.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'EXPIRED'")
            .await
            == 2
    })
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM seats WHERE status <> 'AVAILABLE'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_user_holds_at_most_the_hold_limit() {
    let app = spawn_app_with(|s| s.max_holds_per_user = 2).await;
    let alice = app.admitted("alice").await;
    let first = data(&app.hold(&alice, DATE, 1).await, "holdSeat")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    data(&app.hold(&alice, DATE, 2).await, "holdSeat");
    let body = app.hold(&alice, DATE, 3).await;
    assert_eq!(code(&body), Some("HOLD_LIMIT"));
    // Only unpaid seats count: paying one frees a place under the limit
    // (the ticket stays admitted, another hold being unpaid).
    app.charge(&alice, 1_000_000).await;
    data(&app.pay(&alice, &first).await, "pay");
    data(&app.hold(&alice, DATE, 3).await, "holdSeat");
    assert_eq!(code(&app.hold(&alice, DATE, 4).await), Some("HOLD_LIMIT"));
}

/// A seat that is taken is the answer before the hold limit, whether this
/// process knew it taken (held here) or only its batch found out (held by
/// another process).
#[tokio::test]
async fn a_taken_seat_is_refused_as_such_before_the_hold_limit() {
    let app = spawn_app_with(|s| s.max_holds_per_user = 1).await;
    let alice = app.admitted("alice").await;
    let bob = app.admitted("bob").await;
    data(&app.hold(&alice, DATE, 1).await, "holdSeat");
    data(&app.hold(&bob, DATE, 2).await, "holdSeat");
    held_by_another_process(&app, 3).await;
    for seat in [2, 3] {
        let body = app.hold(&alice, DATE, seat).await;
        assert_eq!(code(&body), Some("SEAT_UNAVAILABLE"), "seat {seat}");
    }
    assert_eq!(code(&app.hold(&alice, DATE, 4).await), Some("HOLD_LIMIT"));
}

#[tokio::test]
async fn a_date_that_has_started_has_no_seat_to_hold() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.db,
        &format!(
            "UPDATE concert_dates SET starts_at = '2020-01-01 10:00:00+00:00' WHERE id = {DATE}"
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        code(&app.hold(&alice, DATE, 1).await),
        Some("SEAT_UNAVAILABLE")
    );
    // Its seats are gone with it, numbered or not.
    assert_eq!(
        code(&app.hold(&alice, DATE, 51).await),
        Some("SEAT_UNAVAILABLE")
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM reservations").await, 0);
}

#[tokio::test]
async fn holding_an_unknown_seat_or_date_is_not_found() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    assert_eq!(code(&app.hold(&alice, DATE, 51).await), Some("NOT_FOUND"));
    assert_eq!(code(&app.hold(&alice, DATE, 0).await), Some("NOT_FOUND"));
    assert_eq!(code(&app.hold(&alice, 999, 1).await), Some("NOT_FOUND"));
    let body = app
        .gql(
            Some(&alice),
            "mutation { holdSeat(concertDateId: \"x\", seatNumber: 1) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"));
}

/// When a sale opens, most holds are on seats already taken. Once this
/// process has committed a hold on a seat, the next holds on it are
/// refused without a statement, until the hold lapses (no hold ends
/// sooner) or forever once sold.
#[tokio::test]
async fn a_seat_taken_here_is_refused_again_without_a_statement() {
    let app = spawn_app_with(|s| s.sweep_interval_ms = 3_600_000).await;
    let alice = app.admitted("alice").await;
    let bob = app.admitted("bob").await;
    let held = data(&app.hold(&alice, DATE, 7).await, "holdSeat")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    data(&app.hold(&alice, DATE, 8).await, "holdSeat");
    app.charge(&alice, 1_000_000).await;
    data(&app.pay(&alice, &held).await, "pay");
    for (seat, why) in [(7, "sold"), (8, "held")] {
        app.assert_refused_before_a_batch(&bob, seat, why).await;
    }
}

/// A seat another process holds is found taken, and until when, by the
/// batch of the first hold on it here: the next holds on it are refused
/// without a statement (on PostgreSQL the gate still reads the holder's
/// ticket).
#[tokio::test]
async fn a_seat_another_process_holds_is_refused_without_a_statement_after_one_batch() {
    let app = spawn_app_with(|s| s.sweep_interval_ms = 3_600_000).await;
    let bob = app.admitted("bob").await;
    held_by_another_process(&app, 9).await;
    assert_eq!(
        code(&app.hold(&bob, DATE, 9).await),
        Some("SEAT_UNAVAILABLE")
    );
    app.assert_refused_before_a_batch(&bob, 9, "held elsewhere")
        .await;
}

/// Leaves seat `number` of `DATE` as another instance's committed hold
/// does, unknown to this process.
async fn held_by_another_process(app: &TestApp, number: i32) {
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.db,
        &format!(
            "UPDATE seats SET status = 'HELD', held_until = '2999-01-01 00:00:00+00:00' \
             WHERE concert_date_id = {DATE} AND number = {number}"
        ),
    )
    .await
    .unwrap();
}
