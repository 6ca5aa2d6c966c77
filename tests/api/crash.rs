//! Crash consistency: a storm of charges, holds and payments while the
//! server is killed with SIGKILL at random instants, then restarted on the
//! same database. After every kill the database must show that no won was
//! created or lost, no seat was sold twice, no payment was half applied and
//! every acknowledged operation survived.
//!
//! `SEED` replays a run (it is printed on failure); `SEATLINE_CRASH_KILLS`
//! sets the number of kills (20 by default; 1000 for a soak).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::DbBackend;
use serde_json::{Value, json};

use crate::helpers::{Rng, Server, TestDatabase, assert_books_balance, column, rows, scalar};

/// What the server acknowledged: it must survive any crash.
#[derive(Default)]
struct Acked {
    /// user → charged amount (each user charges once, with a key).
    charges: HashMap<String, i64>,
    /// reservation id → user.
    payments: HashMap<i64, String>,
}

const USERS_PER_ROUND: usize = 8;
const CHARGE_WON: i64 = 200_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_at_random_instants_loses_nothing_acknowledged() {
    let seed = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EA7_11AE_u64);
    let kills: usize = std::env::var("SEATLINE_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let (_database, url) = TestDatabase::create().await;
    let mut rng = Rng(seed);
    let acked = Arc::new(Mutex::new(Acked::default()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();

    for round in 0..kills {
        let server = Server::start(&url, &[("SEATLINE_QUEUE_CAPACITY", "100000")]);
        let storm: Vec<_> = (0..USERS_PER_ROUND)
            .map(|i| {
                let user = format!("r{round}u{i}");
                let seat = (rng.below(9) + 1, rng.below(50) + 1);
                tokio::spawn(shop(
                    http.clone(),
                    server.url.clone(),
                    user,
                    seat,
                    acked.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.below(400) + 10)).await;
        server.kill();
        for task in storm {
            let _ = task.await;
        }
        let context = format!("SEED={seed} round {round}");
        check(&url, &acked, &context).await;
    }
    let acked = acked.lock().unwrap();
    eprintln!(
        "crash: {kills} kills (SEED={seed}): {} acknowledged charges and {} acknowledged payments all survived",
        acked.charges.len(),
        acked.payments.len()
    );
}

/// One user's purchase; records each step the server acknowledged.
async fn shop(
    http: reqwest::Client,
    url: String,
    user: String,
    (date, seat): (u64, u64),
    acked: Arc<Mutex<Acked>>,
) -> Option<()> {
    let issued = post(
        &http,
        &url,
        None,
        "mutation($u: ID!) { issueQueueToken(userId: $u) { token } }",
        json!({ "u": user }),
    )
    .await?;
    let token = issued["data"]["issueQueueToken"]["token"]
        .as_str()?
        .to_owned();
    let charged = post(
        &http,
        &url,
        Some(&token),
        "mutation($a: Int!, $k: String) { chargeBalance(amount: $a, idempotencyKey: $k) { amount } }",
        json!({ "a": CHARGE_WON, "k": format!("charge-{user}") }),
    )
    .await?;
    charged["data"]["chargeBalance"]["amount"].as_i64()?;
    acked
        .lock()
        .unwrap()
        .charges
        .insert(user.clone(), CHARGE_WON);
    let held = post(
        &http,
        &url,
        Some(&token),
        "mutation($d: ID!, $s: Int!) { holdSeat(concertDateId: $d, seatNumber: $s) { id } }",
        json!({ "d": date.to_string(), "s": seat }),
    )
    .await?;
    let reservation = held["data"]["holdSeat"]["id"].as_str()?.to_owned();
    let paid = post(
        &http,
        &url,
        Some(&token),
        "mutation($r: ID!, $k: String) { pay(reservationId: $r, idempotencyKey: $k) { id } }",
        json!({ "r": reservation, "k": format!("pay-{user}") }),
    )
    .await?;
    paid["data"]["pay"]["id"].as_str()?;
    acked
        .lock()
        .unwrap()
        .payments
        .insert(reservation.parse().ok()?, user);
    Some(())
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Option<Value> {
    let mut request = http
        .post(format!("{url}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.ok()?;
    assert!(
        !response.status().is_server_error(),
        "HTTP {}",
        response.status()
    );
    response.json().await.ok()
}

/// The invariants, read straight from the database while no server runs.
async fn check(url: &str, acked: &Mutex<Acked>, context: &str) {
    let db = seatline::db::connect(url, 2).await.expect("connect");
    assert_books_balance(&db, context).await;
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM (SELECT user_id FROM wallet_ledger WHERE kind = 'CHARGE' GROUP BY user_id HAVING COUNT(*) > 1) AS twice").await,
        0,
        "{context}: a keyed charge applied twice"
    );
    let charged: HashMap<String, i64> = rows(
        &db,
        "SELECT user_id, amount_won FROM wallet_ledger WHERE kind = 'CHARGE'",
    )
    .await
    .into_iter()
    .collect();
    let paid: HashMap<i64, String> = rows(&db, "SELECT reservation_id, user_id FROM payments")
        .await
        .into_iter()
        .collect();
    {
        let acked = acked.lock().unwrap();
        for (user, amount) in &acked.charges {
            assert_eq!(
                charged.get(user),
                Some(amount),
                "{context}: acknowledged charge of {user} lost"
            );
        }
        for (reservation, user) in &acked.payments {
            assert_eq!(
                paid.get(reservation),
                Some(user),
                "{context}: acknowledged payment {reservation} lost"
            );
        }
    }
    if db.get_database_backend() == DbBackend::Sqlite {
        let integrity: Vec<String> = column(&db, "PRAGMA integrity_check").await;
        assert_eq!(integrity, ["ok"], "{context}");
    }
    db.close().await.ok();
}
