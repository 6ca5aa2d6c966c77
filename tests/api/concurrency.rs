//! Real concurrent requests against each invariant that a race could break.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{DATE, TestApp, code, concurrently, data, spawn_app, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_one_of_a_hundred_concurrent_holds_wins_a_seat() {
    let app = Arc::new(spawn_app_with(|s| s.queue_capacity = 100).await);
    let tokens = Arc::new(
        concurrently(100, |i| {
            let app = app.clone();
            async move { app.admitted(&format!("user{i}")).await }
        })
        .await,
    );
    let results = concurrently(100, |i| {
        let (app, tokens) = (app.clone(), tokens.clone());
        async move { app.hold(&tokens[i], DATE, 25).await }
    })
    .await;
    let wins = results.iter().filter(|b| b["errors"].is_null()).count();
    let losses = results
        .iter()
        .filter(|b| code(b) == Some("SEAT_UNAVAILABLE"))
        .count();
    assert_eq!((wins, losses), (1, 99), "{results:?}");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'HELD'")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_charges_lose_no_update() {
    let app = Arc::new(spawn_app().await);
    let alice = Arc::new(app.admitted("alice").await);
    let results = concurrently(100, |i| {
        let (app, alice) = (app.clone(), alice.clone());
        async move { app.charge(&alice, 1_000 + i as i64).await }
    })
    .await;
    assert!(results.iter().all(|b| b["errors"].is_null()), "{results:?}");
    let expected: i64 = (0..100).map(|i| 1_000 + i).sum();
    assert_eq!(app.balance(&alice).await, expected);
    assert_eq!(
        app.scalar("SELECT SUM(amount_won) FROM wallet_ledger WHERE user_id = 'alice'")
            .await,
        expected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_payments_of_one_reservation_charge_once() {
    let app = Arc::new(spawn_app().await);
    let alice = Arc::new(app.admitted("alice").await);
    let held = app.hold(&alice, DATE, 1).await;
    let r = data(&held, "holdSeat");
    let (id, price) = (
        Arc::new(r["id"].as_str().unwrap().to_owned()),
        r["price"].as_i64().unwrap(),
    );
    app.charge(&alice, price + price / 2).await;
    let results = concurrently(20, |_| {
        let (app, alice, id) = (app.clone(), alice.clone(), id.clone());
        async move { app.pay(&alice, &id).await }
    })
    .await;
    let paid = results.iter().filter(|b| b["errors"].is_null()).count();
    assert_eq!(paid, 1, "{results:?}");
    for loser in results.iter().filter(|b| !b["errors"].is_null()) {
        let c = code(loser);
        assert!(
            matches!(c, Some("ALREADY_PAID" | "TOKEN_EXPIRED")),
            "{loser}"
        );
    }
    assert_eq!(
        app.scalar("SELECT balance_won FROM wallets WHERE user_id = 'alice'")
            .await,
        price / 2
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'PAYMENT'")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_users_never_exceed_capacity_and_get_distinct_positions() {
    let app = Arc::new(spawn_app_with(|s| s.queue_capacity = 10).await);
    let tickets = concurrently(150, |i| {
        let app = app.clone();
        async move { app.issue(&format!("racer{i}")).await }
    })
    .await;
    let admitted = tickets.iter().filter(|t| t["status"] == "PROGRESS").count();
    assert_eq!(admitted, 10);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM queue_tickets WHERE status = 'PROGRESS'")
            .await,
        10
    );
    // Positions read now form exactly 0..n-1, in entry order.
    let mut positions = Vec::new();
    for t in tickets.iter().filter(|t| t["status"] == "WAITING") {
        let now = app.ticket(t["token"].as_str().unwrap()).await;
        positions.push(now["position"].as_i64().unwrap());
    }
    let unique: HashSet<_> = positions.iter().copied().collect();
    assert_eq!(unique.len(), 140);
    assert_eq!(unique, (0..140).collect::<HashSet<i64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_holds_by_one_user_stop_at_the_hold_limit() {
    let app = Arc::new(spawn_app_with(|s| s.max_holds_per_user = 4).await);
    let alice = Arc::new(app.admitted("alice").await);
    let results = concurrently(20, |i| {
        let (app, alice) = (app.clone(), alice.clone());
        async move { app.hold(&alice, DATE, i as i32 + 1).await }
    })
    .await;
    let won = results.iter().filter(|b| b["errors"].is_null()).count();
    assert_eq!(won, 4, "{results:?}");
    assert!(
        results
            .iter()
            .filter(|b| !b["errors"].is_null())
            .all(|b| code(b) == Some("HOLD_LIMIT"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purchases_under_contention_conserve_money_and_sell_each_seat_once() {
    let app = Arc::new(spawn_app_with(|s| s.queue_capacity = 40).await);
    let results = concurrently(40, |i| {
        let app = app.clone();
        async move {
            let token = app.admitted(&format!("buyer{i}")).await;
            app.charge(&token, 200_000).await;
            // Everyone wants one of five seats.
            let held = app.hold(&token, DATE, (i % 5) as i32 + 1).await;
            if held["errors"].is_null() {
                let id = held["data"]["holdSeat"]["id"].as_str().unwrap().to_owned();
                let paid = app.pay(&token, &id).await;
                assert!(paid["errors"].is_null(), "{paid}");
                1
            } else {
                assert_eq!(code(&held), Some("SEAT_UNAVAILABLE"));
                0
            }
        }
    })
    .await;
    assert_eq!(results.iter().sum::<i32>(), 5);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 5);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM (SELECT seat_id FROM reservations WHERE status = 'CONFIRMED' GROUP BY seat_id HAVING COUNT(*) > 1) AS dup"
        )
        .await,
        0
    );
    let deposits = 40 * 200_000;
    let spent = app.scalar("SELECT SUM(amount_won) FROM payments").await;
    assert_eq!(
        app.scalar("SELECT SUM(balance_won) FROM wallets").await,
        deposits - spent
    );
    assert_eq!(wallets_off_their_ledger(&app).await, 0);
    let _ = json!({});
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_user_joining_many_times_at_once_gets_one_ticket() {
    // Joins that arrive together are committed in one batch; the same user
    // twice in a batch must still get one ticket.
    let app = Arc::new(spawn_app_with(|s| s.queue_capacity = 1).await);
    let tickets = concurrently(100, |i| {
        let app = app.clone();
        async move {
            let user = if i % 2 == 0 {
                "twin".to_owned()
            } else {
                format!("other{i}")
            };
            (user.clone(), app.issue(&user).await)
        }
    })
    .await;
    let twin: HashSet<&str> = tickets
        .iter()
        .filter(|(user, _)| user == "twin")
        .map(|(_, t)| t["token"].as_str().unwrap())
        .collect();
    assert_eq!(twin.len(), 1, "{twin:?}");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM queue_tickets WHERE user_id = 'twin'")
            .await,
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM queue_tickets").await, 51);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payments_and_charges_written_together_are_each_answered_as_if_alone() {
    // Thirty buyers charge, then pay, at once, so their requests share
    // batches: every third buyer is one won short and must be refused with
    // nothing changed, while the others' payments go through.
    let app = Arc::new(spawn_app_with(|s| s.queue_capacity = 30).await);
    let buyers = Arc::new(
        concurrently(30, |i| {
            let app = app.clone();
            async move {
                let token = app.admitted(&format!("buyer{i}")).await;
                let held = data(&app.hold(&token, DATE, i as i32 + 1).await, "holdSeat").clone();
                let id = held["id"].as_str().unwrap().to_owned();
                (token, id, held["price"].as_i64().unwrap(), i % 3 == 0)
            }
        })
        .await,
    );
    let charged = concurrently(30, |i| {
        let (app, buyers) = (app.clone(), buyers.clone());
        async move {
            let (token, _, price, short) = &buyers[i];
            app.charge(token, if *short { price - 1 } else { *price })
                .await
        }
    })
    .await;
    for ((_, _, price, short), body) in buyers.iter().zip(&charged) {
        let expected = if *short { price - 1 } else { *price };
        assert_eq!(data(body, "chargeBalance")["amount"], expected, "{body}");
    }
    let paid = concurrently(30, |i| {
        let (app, buyers) = (app.clone(), buyers.clone());
        async move { app.pay(&buyers[i].0, &buyers[i].1).await }
    })
    .await;
    for ((token, id, price, short), body) in buyers.iter().zip(&paid) {
        if *short {
            assert_eq!(code(body), Some("INSUFFICIENT_BALANCE"), "{body}");
            assert_eq!(app.balance(token).await, price - 1);
            assert_eq!(app.ticket(token).await["status"], "PROGRESS");
        } else {
            let payment = data(body, "pay");
            assert_eq!(payment["amount"], *price, "{body}");
            assert_eq!(payment["reservation"]["id"], *id);
            assert_eq!(payment["reservation"]["status"], "CONFIRMED");
            assert_eq!(payment["reservation"]["seat"]["status"], "SOLD");
        }
    }
    let held =
        |status: &str| format!("SELECT COUNT(*) FROM reservations WHERE status = '{status}'");
    assert_eq!(app.scalar(&held("CONFIRMED")).await, 20);
    assert_eq!(app.scalar(&held("HELD")).await, 10);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM seats WHERE status = 'SOLD'")
            .await,
        20
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM seats WHERE status = 'HELD'")
            .await,
        10
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 20);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM queue_tickets WHERE status = 'DONE'")
            .await,
        20
    );
    assert_eq!(wallets_off_their_ledger(&app).await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'PAYMENT'")
            .await,
        20
    );
    // Thirty requests sent at once queue behind the first batch: measured
    // 7-15 to a transaction on SQLite and PostgreSQL. At least one batch
    // of each kind must have held two, or this test proved nothing.
    let metrics = app.metrics().await;
    for kind in ["charge", "payment"] {
        let value = |part: &str| metrics[&format!("seatline_{kind}_batch_size_{part}")];
        assert_eq!(value("sum"), 30.0, "{kind}");
        assert!(value("count") < 30.0, "no two {kind}s shared a batch");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn charges_holds_and_payments_sent_together_share_transactions_on_sqlite() {
    // Twenty payers with a covered hold, twenty holders and twenty
    // chargers, all at once. On SQLite, whose one connection writes every
    // transaction in turn, what waits of the three kinds is written in one
    // transaction; on PostgreSQL each batch has its own.
    let app = Arc::new(spawn_app_with(|s| s.queue_capacity = 60).await);
    let payers = Arc::new(
        concurrently(20, |i| {
            let app = app.clone();
            async move {
                let token = app.admitted(&format!("payer{i}")).await;
                let held = data(&app.hold(&token, DATE, i as i32 + 1).await, "holdSeat").clone();
                app.charge(&token, held["price"].as_i64().unwrap()).await;
                (token, held["id"].as_str().unwrap().to_owned())
            }
        })
        .await,
    );
    let others = Arc::new(
        concurrently(40, |i| {
            let app = app.clone();
            async move { app.admitted(&format!("other{i}")).await }
        })
        .await,
    );
    let before = app.metrics().await;
    let answers = concurrently(60, |i| {
        let (app, payers, others) = (app.clone(), payers.clone(), others.clone());
        async move {
            let n = i / 3;
            match i % 3 {
                0 => data(&app.pay(&payers[n].0, &payers[n].1).await, "pay").clone(),
                1 => data(&app.hold(&others[n], DATE, 21 + n as i32).await, "holdSeat").clone(),
                _ => data(&app.charge(&others[20 + n], 1_000).await, "chargeBalance").clone(),
            }
        }
    })
    .await;
    assert_eq!(answers.len(), 60, "every request answered without an error");
    let after = app.metrics().await;
    let delta = |name: &str| after[name] - before[name];
    let batches: f64 = ["charge", "hold", "payment"]
        .iter()
        .map(|kind| delta(&format!("seatline_{kind}_batch_size_count")))
        .sum();
    let transactions = delta("seatline_db_transactions_total");
    if app.is_postgres() {
        assert!(transactions >= batches, "{transactions} < {batches}");
    } else {
        assert!(transactions < batches, "no two kinds shared a transaction");
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM seats WHERE status = 'SOLD'")
            .await,
        20
    );
    assert_eq!(wallets_off_their_ledger(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_payment_the_database_refuses_fails_alone_among_charges_and_holds() {
    // A held seat made AVAILABLE behind the server's back: selling it
    // fails the payment's statements, and with them the transaction it
    // shares with whatever was sent beside it. Those are written again
    // without it, and only the payment fails.
    let app = Arc::new(spawn_app_with(|s| s.queue_capacity = 30).await);
    let payer = app.admitted("payer").await;
    let held = data(&app.hold(&payer, DATE, 1).await, "holdSeat").clone();
    let (id, price) = (
        held["id"].as_str().unwrap().to_owned(),
        held["price"].as_i64().unwrap(),
    );
    app.charge(&payer, price).await;
    app.db
        .execute_unprepared(&format!(
            "UPDATE seats SET status = 'AVAILABLE', held_until = NULL \
             WHERE id = (SELECT seat_id FROM reservations WHERE id = {id})"
        ))
        .await
        .unwrap();
    let others = Arc::new(
        concurrently(20, |i| {
            let app = app.clone();
            async move { app.admitted(&format!("other{i}")).await }
        })
        .await,
    );
    let answers = concurrently(21, |i| {
        let (app, others, payer, id) = (app.clone(), others.clone(), payer.clone(), id.clone());
        async move {
            match i {
                0 => app.pay(&payer, &id).await,
                i if i % 2 == 0 => app.charge(&others[i - 1], 1_000).await,
                i => app.hold(&others[i - 1], DATE, 1 + i as i32).await,
            }
        }
    })
    .await;
    assert_eq!(code(&answers[0]), Some("INTERNAL"), "{}", answers[0]);
    for (i, body) in answers.iter().enumerate().skip(1) {
        let field = if i % 2 == 0 {
            "chargeBalance"
        } else {
            "holdSeat"
        };
        data(body, field);
    }
    assert_eq!(
        app.balance(&payer).await,
        price,
        "nothing of the payment stays"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'HELD'")
            .await,
        11
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'CHARGE'")
            .await,
        11
    );
}

/// Wallets whose balance is not the sum of their ledger rows.
async fn wallets_off_their_ledger(app: &TestApp) -> i64 {
    app.scalar(
        "SELECT COUNT(*) FROM wallets w WHERE w.balance_won <> \
         (SELECT SUM(l.amount_won) FROM wallet_ledger l WHERE l.user_id = w.user_id)",
    )
    .await
}

/// Holds sharing one batch are answered as each would be alone, in
/// arrival order: the first on a seat claims it; a holder at the limit
/// is refused the seat an earlier request claims as unavailable, and
/// any other seat (even one a later request claims) as over the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn holds_in_one_batch_are_answered_in_arrival_order() {
    let app = Arc::new(spawn_app_with(|s| s.max_holds_per_user = 1).await);
    let blocker = app.admitted("blocker").await;
    let mut tokens = Vec::new();
    for i in 1..=7 {
        tokens.push(app.admitted(&format!("u{i}")).await);
    }
    // u2, u3 and u6 reach the hold limit first.
    for (user, seat) in [(2, 10), (3, 11), (6, 12)] {
        data(&app.hold(&tokens[user - 1], DATE, seat).await, "holdSeat");
    }
    let before = app.metrics().await;

    // The blocker's hold is its batch alone, stopped at the database (on
    // SQLite behind the one writer connection this transaction takes, on
    // PostgreSQL at the blocker's ticket, locked here), so the holds sent
    // after it queue for one batch together.
    let txn = app.hold_up_writes_of("blocker").await;
    let first = {
        let app = app.clone();
        tokio::spawn(async move { app.hold(&blocker, DATE, 1).await })
    };
    let mut batch = Vec::new();
    for (user, seat) in [(1, 5), (2, 5), (3, 7), (4, 6), (5, 6), (6, 8), (7, 8)] {
        // Apart enough to arrive in this order.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (app, token) = (app.clone(), tokens[user - 1].clone());
        batch.push(tokio::spawn(
            async move { app.hold(&token, DATE, seat).await },
        ));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    txn.rollback().await.expect("rollback");

    data(&first.await.unwrap(), "holdSeat");
    let mut answers = Vec::new();
    for answer in batch {
        let body = answer.await.unwrap();
        answers.push(code(&body).map_or_else(
            || format!("seat {}", data(&body, "holdSeat")["seat"]["number"]),
            str::to_owned,
        ));
    }
    assert_eq!(
        answers,
        [
            "seat 5",           // u1, first on seat 5
            "SEAT_UNAVAILABLE", // u2, at the limit, on the seat u1 claims
            "HOLD_LIMIT",       // u3, at the limit, on a free seat
            "seat 6",           // u4, first on seat 6
            "SEAT_UNAVAILABLE", // u5, second on seat 6
            "HOLD_LIMIT",       // u6, at the limit, on the seat u7 claims after it
            "seat 8",           // u7
        ]
    );
    // Proof that the seven shared a batch: two batches of eight holds,
    // one of them a single hold (the blocker's).
    let after = app.metrics().await;
    let delta = |name: &str| after[name] - before[name];
    assert_eq!(delta("seatline_hold_batch_size_count"), 2.0);
    assert_eq!(delta("seatline_hold_batch_size_sum"), 8.0);
    assert_eq!(delta(r#"seatline_hold_batch_size_bucket{le="1.0"}"#), 1.0);
}
