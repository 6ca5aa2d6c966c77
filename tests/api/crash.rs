//! Crash consistency: a storm of charges, holds and payments while the
//! server is killed with SIGKILL at random instants, then restarted on the
//! same database. After every kill the database must show that no won was
//! created or lost, no seat was sold twice, no payment was half applied and
//! every acknowledged operation survived.
//!
//! Like a real client, a user whose charge or payment got no answer retries
//! it with the same idempotency key on the restarted server: it must then
//! be applied exactly once.
//!
//! `SEED` replays a run (it is printed on failure); `SEATLINE_CRASH_KILLS`
//! sets the number of kills (20 by default). The soak mode runs 1,000:
//! `cargo test --test api soak -- --ignored --nocapture`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend};
use serde_json::{Value, json};

use crate::helpers::{
    Rng, Server, TestDatabase, assert_books_balance_in, column, rows, scalar, snapshot,
};

/// What the server acknowledged: it must survive any crash.
#[derive(Default)]
struct Acked {
    /// user → charged amount (each user charges once, with a key).
    charges: HashMap<String, i64>,
    /// reservation id → user.
    payments: HashMap<i64, String>,
    /// Keyed operations sent but never answered, retried after the restart.
    unanswered: Vec<Retry>,
    /// Retries the server answered.
    retried: usize,
}

/// A keyed operation whose answer was lost in a crash.
#[derive(Clone, Debug)]
enum Retry {
    Charge {
        user: String,
        token: String,
    },
    Pay {
        user: String,
        token: String,
        reservation: String,
    },
}

const USERS_PER_ROUND: usize = 8;
const CHARGE_WON: i64 = 200_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_at_random_instants_loses_nothing_acknowledged() {
    let kills = std::env::var("SEATLINE_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    storm(kills).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "soak: 1,000 kills, several minutes"]
async fn soak_a_thousand_kills() {
    storm(1000).await;
}

async fn storm(kills: usize) {
    let seed = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EA7_11AE_u64);
    let (_database, url) = TestDatabase::create().await;
    let mut rng = Rng(seed);
    let acked = Arc::new(Mutex::new(Acked::default()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();

    let settings = [("SEATLINE_QUEUE_CAPACITY", "100000")];
    for round in 0..kills {
        let server = Server::start(&url, &settings);
        retry_unanswered(&http, &server.url, &acked).await;
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
    // The last round's unanswered operations, retried on a last restart.
    let server = Server::start(&url, &settings);
    retry_unanswered(&http, &server.url, &acked).await;
    server.kill();
    check(&url, &acked, &format!("SEED={seed} after the last retries")).await;
    let acked = acked.lock().unwrap();
    eprintln!(
        "crash: {kills} kills (SEED={seed}): {} acknowledged charges and {} acknowledged payments all survived; {} unanswered operations retried, each applied once",
        acked.charges.len(),
        acked.payments.len(),
        acked.retried,
    );
}

const CHARGE: &str =
    "mutation($a: Int!, $k: String) { chargeBalance(amount: $a, idempotencyKey: $k) { amount } }";
const PAY: &str =
    "mutation($r: ID!, $k: String) { pay(reservationId: $r, idempotencyKey: $k) { id } }";

/// Sends every unanswered keyed operation again, with its key, and records
/// the ones now answered as acknowledged.
async fn retry_unanswered(http: &reqwest::Client, url: &str, acked: &Mutex<Acked>) {
    let unanswered = std::mem::take(&mut acked.lock().unwrap().unanswered);
    for retry in unanswered {
        match &retry {
            Retry::Charge { user, token } => {
                let body = post(http, url, Some(token), CHARGE, charge_vars(user)).await;
                if let Some(amount) = body
                    .as_ref()
                    .and_then(|b| b["data"]["chargeBalance"]["amount"].as_i64())
                {
                    let mut acked = acked.lock().unwrap();
                    acked.charges.insert(user.clone(), amount);
                    acked.retried += 1;
                }
            }
            Retry::Pay {
                user,
                token,
                reservation,
            } => {
                let body = post(http, url, Some(token), PAY, pay_vars(user, reservation)).await;
                if body
                    .as_ref()
                    .and_then(|b| b["data"]["pay"]["id"].as_str())
                    .is_some()
                {
                    let mut acked = acked.lock().unwrap();
                    acked
                        .payments
                        .insert(reservation.parse().unwrap(), user.clone());
                    acked.retried += 1;
                }
            }
        }
    }
}

fn charge_vars(user: &str) -> Value {
    json!({ "a": CHARGE_WON, "k": format!("charge-{user}") })
}

fn pay_vars(user: &str, reservation: &str) -> Value {
    json!({ "r": reservation, "k": format!("pay-{user}") })
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
    let unanswered = |retry: Retry| acked.lock().unwrap().unanswered.push(retry);
    let Some(charged) = post(&http, &url, Some(&token), CHARGE, charge_vars(&user)).await else {
        unanswered(Retry::Charge { user, token });
        return None;
    };
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
    let Some(paid) = post(
        &http,
        &url,
        Some(&token),
        PAY,
        pay_vars(&user, &reservation),
    )
    .await
    else {
        unanswered(Retry::Pay {
            user,
            token,
            reservation,
        });
        return None;
    };
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
    let conn = seatline::db::connect(url, 2).await.expect("connect");
    // Every check reads one snapshot (see `snapshot`).
    let db = snapshot(&conn).await;
    assert_books_balance_in(&db, context).await;
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM (SELECT user_id FROM wallet_ledger WHERE kind = 'CHARGE' GROUP BY user_id HAVING COUNT(*) > 1) AS twice").await,
        0,
        "{context}: a keyed charge applied twice"
    );
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM (SELECT user_id FROM wallet_ledger WHERE kind = 'PAYMENT' GROUP BY user_id HAVING COUNT(*) > 1) AS twice").await,
        0,
        "{context}: a keyed payment applied twice"
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
    db.commit().await.ok();
    conn.close().await.ok();
}
