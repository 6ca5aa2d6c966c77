//! Three instances on one PostgreSQL, one of them killed with SIGKILL in
//! the middle of a storm of joins, holds, charges and payments: the other
//! two keep serving, nothing acknowledged is lost, and the dead instance's
//! subscribers, reconnecting elsewhere with the same token, keep their place
//! in line. (SQLite is single-process: skipped there.)
//!
//! Clients talk through a [`Balancer`] that spreads requests round-robin
//! and, like a load balancer, retries a request the dead instance dropped on
//! the next one. Mutations carry idempotency keys, so a retry never applies
//! twice and every operation the storm attempts is eventually acknowledged.
//! `SEED` replays a run (it is printed when the test fails).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::helpers::{
    DATE, Rng, Server, TestDatabase, WsClient, assert_books_balance, buy_seat, code, column, data,
    eventually, issue, positions_agree, rows, subscriber, token_hash, token_of, try_gql,
    waiting_line, waiting_subscriber,
};

const CAPACITY: usize = 6;
/// Admitted before the storm; each buys two seats during it (and so frees
/// its slot).
const SHOPPERS: usize = 4;
/// Admitted before the storm; they top up again and again during it.
const CHARGERS: usize = 2;
/// Waiters subscribed on the instance that is killed.
const STRANDED: usize = 8;
/// Tasks that keep joining new users during the storm.
const JOINERS: usize = 3;
/// Users who join at once just before the kill.
const RUSH: usize = 90;
/// The instance that is killed (the last one).
const VICTIM: usize = 2;
/// The shoppers fight over seats 1..=`CONTESTED_SEATS` of this date (not
/// [`DATE`], where the purchase after the storm is made).
const STORM_DATE: i64 = 2;
const CONTESTED_SEATS: u64 = 12;
/// Two of the dearest seats (165,000 won each).
const SHOPPER_TOP_UP: i64 = 400_000;
const STORM: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_instance_loses_nothing_and_its_subscribers_keep_their_place_elsewhere() {
    let seed = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xFA11_0FE2_u64);
    let (database, url) = TestDatabase::create().await;
    if !database.is_postgres() {
        return;
    }
    // Shown only if the test fails.
    println!("SEED={seed}");
    let context = format!("SEED={seed}");
    let mut rng = Rng(seed);
    let capacity = CAPACITY.to_string();
    let env = [
        ("SEATLINE_QUEUE_CAPACITY", capacity.as_str()),
        ("SEATLINE_PUSH_INTERVAL_MS", "200"),
    ];
    let mut servers: Vec<Server> = (0..3).map(|_| Server::start(&url, &env)).collect();
    let lb = Arc::new(Balancer::new(
        servers.iter().map(|s| s.url.clone()).collect(),
    ));
    let db = seatline::db::connect(&url, 2).await.expect("connect");

    // Arrange: the line is full, and the victim has waiters subscribed.
    let shoppers = admit(&lb, "shopper", SHOPPERS).await;
    let chargers = admit(&lb, "charger", CHARGERS).await;
    let mut stranded = Vec::new();
    for i in 0..STRANDED {
        let ticket = issue(&lb.http, &servers[VICTIM].url, &format!("stranded{i}")).await;
        assert_eq!(ticket["position"], i, "{ticket}");
        let token = token_of(&ticket);
        let ws = waiting_subscriber(&servers[VICTIM], &token).await;
        stranded.push(Stranded { token, ws });
    }

    // Act: the storm, and the victim killed in its middle.
    let victim = servers.pop().expect("the victim");
    let acked = storm(&lb, victim, &shoppers, &chargers, &mut rng).await;

    // Assert: nothing acknowledged is lost; the stranded waiters keep
    // their place, on every survivor.
    for (i, waiter) in stranded.iter_mut().enumerate() {
        assert!(
            disconnected(&mut waiter.ws).await,
            "stranded{i} still connected to the killed instance"
        );
    }
    assert_nothing_lost(&db, &acked, &context).await;
    let line = assert_place_kept(&db, &stranded, &acked, &context).await;
    let survivors: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();
    eventually("the survivors agree on every position", || {
        positions_agree(&lb.http, &survivors, &line)
    })
    .await;

    // Each stranded waiter reconnects to a survivor with its token and
    // finds the same ticket in the same place.
    let mut resumed = Vec::new();
    for (i, waiter) in stranded.iter().enumerate() {
        let server = &servers[i % servers.len()];
        let (ws, ticket) = subscriber(server.addr(), &waiter.token).await;
        assert_eq!(ticket["token"], waiter.token.as_str());
        assert_eq!(ticket["userId"], format!("stranded{i}"));
        if i < SHOPPERS {
            assert_eq!(ticket["status"], "PROGRESS", "{context}: {ticket}");
        } else {
            assert_eq!(
                (ticket["status"].as_str(), ticket["position"].as_u64()),
                (Some("WAITING"), Some((i - SHOPPERS) as u64)),
                "{context}: stranded{i}"
            );
        }
        resumed.push(ws);
    }

    // Admissions go on: a purchase frees a slot, and the first stranded
    // waiter hears of its admission from whichever survivor it is on.
    buy_seat(&lb.http, &servers[0].url, &stranded[0].token, DATE, 1).await;
    let paid_at = tokio::time::Instant::now();
    let admitted = resumed[SHOPPERS].next_ticket().await;
    assert_eq!(admitted["status"], "PROGRESS", "{context}");
    assert!(
        paid_at.elapsed() < Duration::from_secs(1),
        "{context}: admission pushed after {:?}",
        paid_at.elapsed()
    );
    for (i, ws) in resumed.iter_mut().enumerate().skip(SHOPPERS + 1) {
        let moved = ws.next_ticket().await;
        assert_eq!(
            moved["position"].as_u64(),
            Some((i - SHOPPERS - 1) as u64),
            "{context}: stranded{i}"
        );
    }
    db.close().await.ok();
}

/// A waiter subscribed on the victim.
struct Stranded {
    token: String,
    ws: WsClient,
}

/// Runs the storm through `lb` and kills `victim` in its middle; returns
/// what the servers acknowledged, by then everything the storm attempted.
async fn storm(
    lb: &Arc<Balancer>,
    victim: Server,
    shoppers: &[(String, String)],
    chargers: &[(String, String)],
    rng: &mut Rng,
) -> Acked {
    let acked = Arc::new(Mutex::new(Acked::default()));
    let stop = CancellationToken::new();
    let started = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for (user, token) in shoppers {
        tasks.push(tokio::spawn(shop(
            lb.clone(),
            user.clone(),
            token.clone(),
            Rng(rng.next()),
            acked.clone(),
        )));
    }
    for (user, token) in chargers {
        tasks.push(tokio::spawn(charge_until(
            lb.clone(),
            user.clone(),
            token.clone(),
            Rng(rng.next()),
            acked.clone(),
            stop.clone(),
        )));
    }
    for j in 0..JOINERS {
        tasks.push(tokio::spawn(join_until(
            lb.clone(),
            j,
            Rng(rng.next()),
            acked.clone(),
            stop.clone(),
        )));
    }
    let survivors: Vec<String> = lb
        .urls
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != VICTIM)
        .map(|(_, url)| url.clone())
        .collect();
    let prober = tokio::spawn(probe_until(lb.http.clone(), survivors, stop.clone()));

    tokio::time::sleep(Duration::from_millis(150 + rng.below(300))).await;
    // A rush of joins, a third of them to the victim: kill it with work in
    // flight, a join batch among it most of the time.
    for n in 0..RUSH {
        tasks.push(tokio::spawn(join(
            lb.clone(),
            format!("rush{n}"),
            acked.clone(),
        )));
    }
    let busy_until = tokio::time::Instant::now() + Duration::from_millis(200);
    while lb.on_victim.load(Ordering::SeqCst) == 0 && tokio::time::Instant::now() < busy_until {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(rng.below(20))).await;
    let kill_after = started.elapsed();
    lb.killed.store(true, Ordering::SeqCst);
    victim.kill();

    tokio::time::sleep(STORM.saturating_sub(kill_after)).await;
    stop.cancel();
    for task in tasks {
        task.await.expect("storm task");
    }
    let probes = prober.await.expect("prober");
    let answered_after_kill = lb.answered_after_kill.load(Ordering::Relaxed);
    println!(
        "killed after {kill_after:?}: {} requests dropped and retried, {answered_after_kill} answered after, {probes} probes",
        lb.dropped.load(Ordering::Relaxed)
    );
    assert!(probes > 0, "the survivors were never probed");
    assert!(
        answered_after_kill > 0,
        "the storm did not go on after the kill"
    );
    std::mem::take(&mut *acked.lock().expect("acked"))
}

/// The books balance, and the charges, payments and joins in the database
/// are exactly the acknowledged ones.
async fn assert_nothing_lost(db: &DatabaseConnection, acked: &Acked, context: &str) {
    assert_books_balance(db, context).await;
    let charged: HashMap<String, i64> = rows(
        db,
        "SELECT user_id, CAST(SUM(amount_won) AS BIGINT) FROM wallet_ledger \
         WHERE kind = 'CHARGE' GROUP BY user_id",
    )
    .await
    .into_iter()
    .collect();
    assert_eq!(charged, acked.charges, "{context}: charges");
    let paid: HashMap<i64, String> = rows(db, "SELECT reservation_id, user_id FROM payments")
        .await
        .into_iter()
        .collect();
    assert_eq!(paid, acked.payments, "{context}: payments");
    assert_eq!(paid.len(), 2 * SHOPPERS, "{context}");
    println!(
        "acknowledged: {} payments, {} users charged, {} joins",
        paid.len(),
        charged.len(),
        acked.joins.len()
    );
    let tickets: HashSet<String> = column(db, "SELECT token_hash FROM queue_tickets")
        .await
        .into_iter()
        .collect();
    assert!(acked.joins.len() >= RUSH, "{context}: too few joins");
    for token in &acked.joins {
        assert!(
            tickets.contains(&token_hash(token)),
            "{context}: a join was lost"
        );
    }
}

/// The shoppers' slots went to the earliest stranded waiters; the rest
/// head the line in their old order, ahead of everyone who joined later.
/// Returns the line.
async fn assert_place_kept(
    db: &DatabaseConnection,
    stranded: &[Stranded],
    acked: &Acked,
    context: &str,
) -> Vec<String> {
    let statuses: HashMap<String, String> =
        rows(db, "SELECT token_hash, status FROM queue_tickets")
            .await
            .into_iter()
            .collect();
    for (i, waiter) in stranded.iter().enumerate() {
        let expected = if i < SHOPPERS { "PROGRESS" } else { "WAITING" };
        assert_eq!(
            statuses[&token_hash(&waiter.token)],
            expected,
            "{context}: stranded{i}"
        );
    }
    let line = waiting_line(db, stranded.iter().map(|w| &w.token).chain(&acked.joins)).await;
    let still_waiting: Vec<&String> = stranded[SHOPPERS..].iter().map(|w| &w.token).collect();
    assert_eq!(
        line.iter().take(still_waiting.len()).collect::<Vec<_>>(),
        still_waiting,
        "{context}: someone overtook a stranded waiter"
    );
    assert_eq!(
        line.len(),
        still_waiting.len() + acked.joins.len(),
        "{context}"
    );
    line
}

/// What the servers acknowledged: all of it must be in the database.
#[derive(Default)]
struct Acked {
    /// user → total charged.
    charges: HashMap<String, i64>,
    /// reservation id → the user who paid for it.
    payments: HashMap<i64, String>,
    /// Tokens of the users who joined during the storm.
    joins: Vec<String>,
}

/// A load balancer in front of the instances: round-robin, and a request
/// the killed instance dropped goes to the next one. Any other failure
/// (a survivor not answering, an `INTERNAL` error) fails the test.
struct Balancer {
    http: reqwest::Client,
    urls: Vec<String>,
    next: AtomicUsize,
    /// Set just before the victim is killed: only then may it fail.
    killed: AtomicBool,
    /// Requests on their way to or from the victim.
    on_victim: AtomicUsize,
    /// Requests the victim dropped (retried elsewhere).
    dropped: AtomicUsize,
    /// Requests answered after the kill.
    answered_after_kill: AtomicUsize,
}

impl Balancer {
    /// `issueQueueToken` for `user`: the whole response body.
    async fn issue(&self, user: &str) -> Value {
        self.send(
            None,
            "mutation($u: ID!) { issueQueueToken(userId: $u) { token status } }",
            json!({ "u": user }),
        )
        .await
    }

    fn new(urls: Vec<String>) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("http client"),
            urls,
            next: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            on_victim: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            answered_after_kill: AtomicUsize::new(0),
        }
    }

    async fn send(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed) % self.urls.len();
            let victim_down = i == VICTIM && self.killed.load(Ordering::SeqCst);
            if victim_down {
                continue;
            }
            if i == VICTIM {
                self.on_victim.fetch_add(1, Ordering::SeqCst);
            }
            let answer = try_gql(&self.http, &self.urls[i], token, query, variables.clone()).await;
            if i == VICTIM {
                self.on_victim.fetch_sub(1, Ordering::SeqCst);
            }
            match answer {
                Ok(body) => {
                    assert_ne!(code(&body), Some("INTERNAL"), "{}: {body}", self.urls[i]);
                    if self.killed.load(Ordering::SeqCst) {
                        self.answered_after_kill.fetch_add(1, Ordering::Relaxed);
                    }
                    return body;
                }
                Err(err) => {
                    assert!(
                        i == VICTIM && self.killed.load(Ordering::SeqCst),
                        "{} failed: {err}",
                        self.urls[i]
                    );
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// `n` users admitted at once; (user, token) each.
async fn admit(lb: &Balancer, prefix: &str, n: usize) -> Vec<(String, String)> {
    let mut admitted = Vec::new();
    for i in 0..n {
        let user = format!("{prefix}{i}");
        let body = lb.issue(&user).await;
        let ticket = data(&body, "issueQueueToken");
        assert_eq!(ticket["status"], "PROGRESS", "{user}: {ticket}");
        admitted.push((user, token_of(ticket)));
    }
    admitted
}

/// Tops up once, holds two contested seats (another seat when one is
/// taken) and pays for both, which finishes the ticket.
async fn shop(
    lb: Arc<Balancer>,
    user: String,
    token: String,
    mut rng: Rng,
    acked: Arc<Mutex<Acked>>,
) {
    pause(&mut rng).await;
    let body = lb
        .send(
            Some(&token),
            "mutation($a: Int!, $k: String) { chargeBalance(amount: $a, idempotencyKey: $k) { amount } }",
            json!({ "a": SHOPPER_TOP_UP, "k": format!("{user}-charge") }),
        )
        .await;
    data(&body, "chargeBalance");
    acked
        .lock()
        .expect("acked")
        .charges
        .insert(user.clone(), SHOPPER_TOP_UP);
    let mut held = Vec::new();
    for attempt in 0.. {
        if held.len() == 2 {
            break;
        }
        assert!(attempt < 100, "{user} never got two seats");
        pause(&mut rng).await;
        let body = lb
            .send(
                Some(&token),
                "mutation($d: ID!, $s: Int!, $k: String) { holdSeat(concertDateId: $d, seatNumber: $s, idempotencyKey: $k) { id } }",
                json!({
                    "d": STORM_DATE.to_string(),
                    "s": rng.below(CONTESTED_SEATS) + 1,
                    "k": format!("{user}-hold-{attempt}"),
                }),
            )
            .await;
        if code(&body) == Some("SEAT_UNAVAILABLE") {
            continue;
        }
        let id = data(&body, "holdSeat")["id"].as_str().expect("an id");
        held.push(id.parse::<i64>().expect("a numeric id"));
    }
    for reservation in held {
        pause(&mut rng).await;
        let body = lb
            .send(
                Some(&token),
                "mutation($r: ID!, $k: String) { pay(reservationId: $r, idempotencyKey: $k) { id } }",
                json!({ "r": reservation.to_string(), "k": format!("{user}-pay-{reservation}") }),
            )
            .await;
        data(&body, "pay");
        acked
            .lock()
            .expect("acked")
            .payments
            .insert(reservation, user.clone());
    }
}

/// Charges small amounts, each under its own key, until `stop`.
async fn charge_until(
    lb: Arc<Balancer>,
    user: String,
    token: String,
    mut rng: Rng,
    acked: Arc<Mutex<Acked>>,
    stop: CancellationToken,
) {
    for n in 0.. {
        if stop.is_cancelled() {
            break;
        }
        let amount = i64::try_from(rng.below(50_000)).expect("small") + 1;
        let body = lb
            .send(
                Some(&token),
                "mutation($a: Int!, $k: String) { chargeBalance(amount: $a, idempotencyKey: $k) { amount } }",
                json!({ "a": amount, "k": format!("{user}-{n}") }),
            )
            .await;
        data(&body, "chargeBalance");
        *acked
            .lock()
            .expect("acked")
            .charges
            .entry(user.clone())
            .or_default() += amount;
        pause(&mut rng).await;
    }
}

/// Joins new users, one after another, until `stop`.
async fn join_until(
    lb: Arc<Balancer>,
    joiner: usize,
    mut rng: Rng,
    acked: Arc<Mutex<Acked>>,
    stop: CancellationToken,
) {
    for n in 0.. {
        if stop.is_cancelled() {
            break;
        }
        join(lb.clone(), format!("late{joiner}-{n}"), acked.clone()).await;
        pause(&mut rng).await;
    }
}

/// Joins `user` at the back of the line, behind the stranded waiters.
async fn join(lb: Arc<Balancer>, user: String, acked: Arc<Mutex<Acked>>) {
    let body = lb.issue(&user).await;
    let ticket = data(&body, "issueQueueToken");
    assert_eq!(ticket["status"], "WAITING", "{user} overtook: {ticket}");
    acked.lock().expect("acked").joins.push(token_of(ticket));
}

/// Asks each survivor for the catalog until `stop`; every probe must be
/// answered. Returns how many were.
async fn probe_until(http: reqwest::Client, urls: Vec<String>, stop: CancellationToken) -> usize {
    let mut probes = 0;
    while !stop.is_cancelled() {
        for url in &urls {
            let body = try_gql(&http, url, None, "{ concerts { id } }", json!({}))
                .await
                .unwrap_or_else(|err| panic!("{url} stopped answering: {err}"));
            data(&body, "concerts");
            probes += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    probes
}

/// A client's think time between two requests: 10 to 120 ms.
async fn pause(rng: &mut Rng) {
    tokio::time::sleep(Duration::from_millis(10 + rng.below(110))).await;
}

/// Whether the socket ends (after any messages already in flight) within
/// a few seconds.
async fn disconnected(ws: &mut WsClient) -> bool {
    loop {
        match ws.recv_within(Duration::from_secs(5)).await {
            Ok(None) => return true,
            Ok(Some(message)) if message["type"] == "close" => return true,
            Ok(Some(_)) => {}
            Err(()) => return false,
        }
    }
}
