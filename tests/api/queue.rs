//! SPEC section 1: tickets, idempotency, capacity, FIFO, lapses, positions.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{DATE, at, code, data, eventually, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_ticket_carries_an_unguessable_token_and_is_admitted_when_a_slot_is_free() {
    let app = spawn_app().await;
    let ticket = app.issue("alice").await;
    assert_eq!(ticket["status"], "PROGRESS");
    assert_eq!(ticket["userId"], "alice");
    assert!(ticket["position"].is_null());
    assert!(ticket["admittedAt"].is_string());
    assert!(ticket["expiresAt"].is_string());
    let token = ticket["token"].as_str().unwrap();
    let uuid = uuid::Uuid::parse_str(token).expect("a UUID");
    assert_eq!(uuid.get_version_num(), 4, "random, 122 bits");
}

#[tokio::test]
async fn issuing_again_returns_the_same_ticket_while_it_is_live() {
    let app = spawn_app_with(|s| s.queue_capacity = 1).await;
    let first = app.issue("alice").await;
    let again = app.issue("alice").await;
    assert_eq!(first["token"], again["token"]);
    let bob = app.issue("bob").await;
    let bob_again = app.issue("bob").await;
    assert_eq!(bob["status"], "WAITING");
    assert_eq!(bob["token"], bob_again["token"]);
    assert_eq!(bob_again["position"], 0);
}

#[tokio::test]
async fn after_done_a_new_ticket_goes_to_the_back_of_the_line() {
    let app = spawn_app_with(|s| s.queue_capacity = 1).await;
    let alice = app.admitted("alice").await;
    let bob = app.issue("bob").await;
    let carol = app.issue("carol").await;
    assert_eq!(carol["position"], 1);
    // Alice buys a seat: DONE, and Bob is admitted.
    let hold = app.hold(&alice, DATE, 1).await;
    let reservation = data(&hold, "holdSeat")["id"].as_str().unwrap().to_owned();
    app.charge(&alice, 200_000).await;
    data(&app.pay(&alice, &reservation).await, "pay");
    assert_eq!(app.ticket(&alice).await["status"], "DONE");
    let again = app.issue("alice").await;
    assert_ne!(again["token"], json!(alice));
    assert_eq!(again["status"], "WAITING");
    assert_eq!(again["position"], 1, "behind Carol");
    assert_eq!(
        app.ticket(bob["token"].as_str().unwrap()).await["status"],
        "PROGRESS"
    );
}

#[tokio::test]
async fn at_capacity_newcomers_wait_in_entry_order() {
    let app = spawn_app_with(|s| s.queue_capacity = 2).await;
    app.admitted("a").await;
    app.admitted("b").await;
    for (i, user) in ["c", "d", "e"].iter().enumerate() {
        let t = app.issue(user).await;
        assert_eq!(t["status"], "WAITING");
        assert_eq!(t["position"], i);
        assert!(t["admittedAt"].is_null());
        assert!(t["expiresAt"].is_null());
    }
}

#[tokio::test]
async fn a_finished_purchase_admits_the_earliest_waiter_at_once() {
    let app = spawn_app_with(|s| {
        s.queue_capacity = 1;
        s.sweep_interval_ms = 3_600_000; // the sweeper must not be what admits
    })
    .await;
    let alice = app.admitted("alice").await;
    let bob = app.issue("bob").await;
    let carol = app.issue("carol").await;
    let hold = app.hold(&alice, DATE, 7).await;
    let id = data(&hold, "holdSeat")["id"].as_str().unwrap().to_owned();
    app.charge(&alice, 500_000).await;
    data(&app.pay(&alice, &id).await, "pay");
    let bob = app.ticket(bob["token"].as_str().unwrap()).await;
    assert_eq!(bob["status"], "PROGRESS");
    assert!(bob["position"].is_null());
    let carol = app.ticket(carol["token"].as_str().unwrap()).await;
    assert_eq!(carol["status"], "WAITING");
    assert_eq!(carol["position"], 0);
}

/// Whichever promotes Bob into Alice's lapsed slot, the sweeper (which
/// wakes at the lapse) or Carol's own join, Carol queues behind him. The
/// join's part alone, with no sweeper: `clock::a_ten_minute_admission_lapses_and_frees_its_slot`.
#[tokio::test]
async fn a_newcomer_never_overtakes_a_waiter() {
    let app = spawn_app_with(|s| {
        s.queue_capacity = 1;
        s.active_ttl_secs = 1;
    })
    .await;
    app.admitted("alice").await;
    let bob = app.issue("bob").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let carol = app.issue("carol").await;
    assert_eq!(carol["status"], "WAITING");
    assert_eq!(carol["position"], 0);
    assert_eq!(
        app.ticket(bob["token"].as_str().unwrap()).await["status"],
        "PROGRESS"
    );
}

#[tokio::test]
async fn an_admission_lapses_after_the_active_ttl_and_the_next_waiter_is_promoted() {
    let app = spawn_app_with(|s| {
        s.queue_capacity = 1;
        s.active_ttl_secs = 1;
    })
    .await;
    let alice = app.issue("alice").await;
    let bob = app.issue("bob").await;
    assert_eq!(
        (at(&alice["expiresAt"]) - at(&alice["admittedAt"])).num_milliseconds(),
        1000
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let alice_token = alice["token"].as_str().unwrap();
    assert_eq!(app.ticket(alice_token).await["status"], "EXPIRED");
    let body = app
        .gql(Some(alice_token), "{ balance { amount } }", json!({}))
        .await;
    assert_eq!(code(&body), Some("TOKEN_EXPIRED"));
    // The sweeper promotes Bob without anyone else acting.
    let bob = bob["token"].as_str().unwrap();
    eventually("the sweeper admits Bob", || async {
        app.ticket(bob).await["status"] == "PROGRESS"
    })
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM queue_tickets WHERE status = 'EXPIRED'")
            .await,
        1
    );
}

#[tokio::test]
async fn positions_are_null_unless_waiting() {
    let app = spawn_app_with(|s| s.queue_capacity = 1).await;
    let alice = app.issue("alice").await;
    assert!(alice["position"].is_null());
    assert!(alice["estimatedWaitSeconds"].is_null());
    let bob = app.issue("bob").await;
    assert_eq!(bob["position"], 0);
    // DONE, and Bob admitted: neither has a place in line.
    let alice = alice["token"].as_str().unwrap();
    let id = data(&app.hold(alice, DATE, 3).await, "holdSeat")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.charge(alice, 500_000).await;
    data(&app.pay(alice, &id).await, "pay");
    for (token, status) in [
        (alice, "DONE"),
        (bob["token"].as_str().unwrap(), "PROGRESS"),
    ] {
        let ticket = app.ticket(token).await;
        assert_eq!(ticket["status"], status, "{ticket}");
        assert!(ticket["position"].is_null(), "{ticket}");
    }
}

#[tokio::test]
async fn the_wait_estimate_follows_the_admission_rate() {
    let app = spawn_app_with(|s| s.queue_capacity = 1).await;
    // Nobody admitted yet from a waiting line: the first admission gives a basis.
    let alice = app.admitted("alice").await;
    let bob = app.issue("bob").await;
    assert_eq!(bob["status"], "WAITING");
    let hold = app.hold(&alice, DATE, 3).await;
    let id = data(&hold, "holdSeat")["id"].as_str().unwrap().to_owned();
    app.charge(&alice, 500_000).await;
    data(&app.pay(&alice, &id).await, "pay");
    let carol = app.issue("carol").await;
    assert_eq!(carol["status"], "WAITING");
    let estimate = carol["estimatedWaitSeconds"]
        .as_i64()
        .expect("an estimate once admissions happened");
    assert!(estimate >= 1, "{estimate}");
}

#[tokio::test]
async fn user_ids_are_validated() {
    let app = spawn_app().await;
    let issue = |user: String| {
        let app = &app;
        async move {
            app.gql(
                None,
                "mutation($u: ID!) { issueQueueToken(userId: $u) { userId } }",
                json!({ "u": user }),
            )
            .await
        }
    };
    for bad in ["", "   ", &"x".repeat(129), &"가".repeat(129)] {
        let body = issue(bad.to_owned()).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{bad:?}: {body}");
    }
    // 128 characters, in whatever script: 384 bytes of Hangul.
    let longest = "가".repeat(128);
    let body = issue(longest.clone()).await;
    assert_eq!(data(&body, "issueQueueToken")["userId"], longest.as_str());
}

#[tokio::test]
async fn an_idle_queue_is_left_alone_by_the_sweeper() {
    // Sweeps every 200 ms: with nothing lapsed and nobody waiting for a
    // free slot, none of them takes the gate, so the queue version (and,
    // on PostgreSQL, every other instance) is not disturbed.
    let app = spawn_app().await;
    app.admitted("alice").await;
    let version = "SELECT version FROM queue_gate WHERE id = 1";
    let before = app.scalar(version).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(app.scalar(version).await, before);
}

/// The hub has applied every queue version before the one a join batch
/// locks, so it knows the admitted tickets and the line as the batch sees
/// them: the settle reads neither. What is left is the gate, the users'
/// live tickets and the insert (before, 5 and 6). On PostgreSQL the gate's
/// update also announces the version, and the instance's own listener
/// reads nothing for it: the batch's publish brings the same changes.
#[tokio::test]
async fn a_join_settles_the_queue_without_reading_it() {
    let app = spawn_app_with(|s| {
        s.queue_capacity = 2;
        s.sweep_interval_ms = 3_600_000;
    })
    .await;
    let joined = std::sync::atomic::AtomicU32::new(0);
    let join = || {
        let n = joined.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let app = &app;
        async move { app.issue(&format!("user-{n}")).await }
    };
    let (admitted_at_once, waiting) =
        (app.statements_of(join).await, app.statements_of(join).await);
    assert_eq!(admitted_at_once, 3.0, "admitted at once");
    assert_eq!(waiting, 3.0, "waiting");
    let tickets = app.scalar("SELECT COUNT(*) FROM queue_tickets").await;
    let admitted = "SELECT COUNT(*) FROM queue_tickets WHERE status = 'PROGRESS'";
    assert_eq!(app.scalar(admitted).await, 2, "of {tickets}");

    // Summed over many joins, not the fewest of a few: an instance that
    // read for its own announcements (PostgreSQL) would add statements to
    // some of them, a moment after each commit.
    let statements = || async { app.metrics().await["seatline_db_statements_total"] };
    let (a, b) = (statements().await, statements().await);
    for _ in 0..100 {
        join().await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let c = statements().await;
    assert_eq!((c - b) - (b - a), 3.0 * 100.0, "100 joins");
}
