//! Several `seatline` server processes on one PostgreSQL database:
//! admissions and holds are decided by the database, so no process can race
//! another past capacity or sell a seat twice, and queue changes reach every
//! process's subscribers. (SQLite is single-process.)

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::helpers::{
    DATE, Server, TEST_TOKEN_SECRET, TestDatabase, addr_of, buy_seat, code, concurrently,
    eventually, gql, issue, positions_agree, scalar, subscriber, ticket_on, token_of, waiting_line,
    waiting_subscriber,
};

/// Users joining at once; requests go round-robin over the instances.
const JOINS: usize = 500;
const CAPACITY: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_processes_share_capacity_keep_fifo_and_never_sell_a_seat_twice() {
    let (database, url) = TestDatabase::create().await;
    if !database.is_postgres() {
        // Several processes on one database is a PostgreSQL deployment.
        return;
    }
    let capacity = CAPACITY.to_string();
    let servers: Vec<Server> = (0..3)
        .map(|_| Server::start(&url, &[("SEATLINE_QUEUE_CAPACITY", &capacity)]))
        .collect();
    let urls: Arc<Vec<String>> = Arc::new(servers.iter().map(|s| s.url.clone()).collect());
    let http = reqwest::Client::new();
    let db = seatline::db::connect(&url, 2).await.expect("connect");

    // Sample the database while everyone joins: admissions never exceed
    // capacity at any instant, not just at the end.
    let joined = CancellationToken::new();
    let sampler = tokio::spawn(most_admitted_until(db.clone(), joined.clone()));
    let tickets = concurrently(JOINS, |i| {
        let (urls, http) = (urls.clone(), http.clone());
        async move { issue(&http, &urls[i % urls.len()], &format!("p{i}")).await }
    })
    .await;
    joined.cancel();
    let most_admitted = sampler.await.expect("sampler");

    let admitted: Vec<String> = tickets
        .iter()
        .filter(|t| t["status"] == "PROGRESS")
        .map(token_of)
        .collect();
    assert_eq!(admitted.len(), CAPACITY, "capacity holds across processes");
    assert!(
        most_admitted <= CAPACITY as i64,
        "{most_admitted} admitted at once"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM queue_tickets WHERE status = 'PROGRESS'"
        )
        .await,
        CAPACITY as i64
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM queue_tickets WHERE status = 'PROGRESS' AND id > \
             (SELECT MIN(id) FROM queue_tickets WHERE status = 'WAITING')"
        )
        .await,
        0,
        "a newcomer was admitted ahead of a waiter"
    );

    // Nobody leaves the line, so the position each join was answered with
    // is final: its place in FIFO (ticket id) order, whichever instance
    // answered and whatever the others committed meanwhile.
    let issued: Vec<String> = tickets.iter().map(token_of).collect();
    let line = waiting_line(&db, &issued).await;
    assert_eq!(line.len(), JOINS - CAPACITY);
    let place: HashMap<&str, usize> = line
        .iter()
        .enumerate()
        .map(|(i, token)| (token.as_str(), i))
        .collect();
    for ticket in tickets.iter().filter(|t| t["status"] == "WAITING") {
        let token = token_of(ticket);
        assert_eq!(
            ticket["position"].as_u64(),
            place.get(token.as_str()).map(|&i| i as u64),
            "{ticket}"
        );
    }
    // Every instance learns of the others' joins: each then reports the
    // same positions, 0..n-1 in FIFO order.
    eventually("every instance reports the FIFO positions", || {
        positions_agree(&http, &urls, &line)
    })
    .await;

    let admitted = Arc::new(admitted);
    let results = concurrently(CAPACITY, |i| {
        let (urls, http, admitted) = (urls.clone(), http.clone(), admitted.clone());
        async move {
            gql(
                &http,
                &urls[i % urls.len()],
                Some(&admitted[i]),
                "mutation($d: ID!) { holdSeat(concertDateId: $d, seatNumber: 10) { id } }",
                json!({ "d": DATE.to_string() }),
            )
            .await
        }
    })
    .await;
    let wins = results.iter().filter(|b| b["errors"].is_null()).count();
    assert_eq!(wins, 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter(|b| !b["errors"].is_null())
            .all(|b| code(b) == Some("SEAT_UNAVAILABLE"))
    );
    db.close().await.ok();
    drop(servers);
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// The most PROGRESS tickets seen in the database until `stop`.
async fn most_admitted_until(db: DatabaseConnection, stop: CancellationToken) -> i64 {
    let mut most = 0;
    while !stop.is_cancelled() {
        let admitted = scalar(
            &db,
            "SELECT COUNT(*) FROM queue_tickets WHERE status = 'PROGRESS'",
        )
        .await;
        most = most.max(admitted);
    }
    most
}

#[tokio::test]
async fn a_second_process_refuses_a_sqlite_file_in_use() {
    let (database, url) = TestDatabase::create().await;
    if database.is_postgres() {
        return;
    }
    let _first = Server::start(&url, &[]);
    let second = Command::new(env!("CARGO_BIN_EXE_seatline"))
        .env("DATABASE_URL", &url)
        .env("SEATLINE_ADDR", "127.0.0.1:0")
        .output()
        .expect("run a second seatline");
    assert!(!second.status.success());
    let out = String::from_utf8_lossy(&second.stdout);
    assert!(out.contains("another Seatline process"), "{out}");
}

/// The README starts its instances side by side on a new database: they
/// migrate and seed it one at a time, so every one starts, and the demo
/// catalog is seeded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_started_together_on_a_new_database_migrate_and_seed_it_once() {
    let (database, url) = TestDatabase::create().await;
    if !database.is_postgres() {
        return;
    }
    // An instance waits for another's migration however strict the
    // database's lock timeout.
    let db = seatline::db::connect(&url, 2).await.expect("connect");
    db.execute_unprepared(
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET lock_timeout = ''20ms''', \
         current_database()); END $$",
    )
    .await
    .expect("a strict lock timeout");
    let starting: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || Server::start(&url, &[]))
        })
        .collect();
    let servers: Vec<Server> = starting
        .into_iter()
        .map(|s| s.join().expect("every instance starts"))
        .collect();
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM concerts").await, 3);
    let seats = scalar(&db, "SELECT COUNT(*) FROM seats").await;
    let dates = scalar(&db, "SELECT COUNT(*) FROM concert_dates").await;
    assert_eq!(seats, dates * 50, "one seat map per date");
    for server in &servers {
        let body = server.gql(None, "{ concerts { id } }", json!({})).await;
        assert_eq!(body["data"]["concerts"].as_array().map(Vec::len), Some(3));
    }
}

/// Position-only pushes go out at most this often (`SEATLINE_PUSH_INTERVAL_MS`).
const PUSH_INTERVAL: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_on_one_instance_are_pushed_an_admission_caused_on_another() {
    let (database, url) = TestDatabase::create().await;
    if !database.is_postgres() {
        return;
    }
    let push_ms = PUSH_INTERVAL.as_millis().to_string();
    let env = [
        ("SEATLINE_QUEUE_CAPACITY", "1"),
        ("SEATLINE_PUSH_INTERVAL_MS", push_ms.as_str()),
    ];
    let a = Server::start(&url, &env);
    let b = Server::start(&url, &env);
    let http = reqwest::Client::new();
    let alice = token_of(&issue(&http, &a.url, "alice").await);
    let mut waiters = Vec::new();
    for (i, user) in ["bob", "carol", "dave", "erin"].into_iter().enumerate() {
        // Joined on either instance, all subscribed on B.
        let ticket = issue(&http, [&a.url, &b.url][i % 2], user).await;
        assert_eq!(ticket["position"], i, "{ticket}");
        waiters.push(waiting_subscriber(&b, &token_of(&ticket)).await);
    }

    buy_seat(&http, &a.url, &alice, DATE, 1).await;
    let paid_at = tokio::time::Instant::now();
    let pushed = waiters[0].next_ticket().await;
    assert_eq!(pushed["status"], "PROGRESS");
    assert!(
        paid_at.elapsed() < Duration::from_secs(1),
        "pushed after {:?}",
        paid_at.elapsed()
    );
    for (i, ws) in waiters.iter_mut().enumerate().skip(1) {
        let moved = ws.next_ticket().await;
        assert_eq!(
            (moved["status"].as_str(), moved["position"].as_u64()),
            (Some("WAITING"), Some(i as u64 - 1))
        );
        assert!(
            paid_at.elapsed() < PUSH_INTERVAL,
            "waiter {i} told its new position after {:?}",
            paid_at.elapsed()
        );
    }
}

#[tokio::test]
async fn sigterm_stops_the_server_even_when_its_log_pipes_are_closed() {
    let (_database, url) = TestDatabase::create().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_seatline"))
        .env("DATABASE_URL", &url)
        .env("SEATLINE_TOKEN_SECRET", TEST_TOKEN_SECRET)
        .env("SEATLINE_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn seatline");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    while !lines
        .next()
        .expect("server logs")
        .expect("line")
        .contains("listening on")
    {}
    // Close our end of both log pipes: every later log write fails.
    drop(lines);
    drop(child.stderr.take());
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "{status}");
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running 10 s after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_listener_connection_is_noticed_and_nothing_stays_stale() {
    let (database, url) = TestDatabase::create().await;
    let TestDatabase::Postgres { admin_url, name } = &database else {
        return;
    };
    let a = Server::start(&url, &[("SEATLINE_QUEUE_CAPACITY", "1")]);
    let b = Server::start(&url, &[("SEATLINE_QUEUE_CAPACITY", "1")]);
    let http = reqwest::Client::new();
    let alice = token_of(&issue(&http, &a.url, "alice").await);
    let bob = token_of(&issue(&http, &b.url, "bob").await);
    let mut ws = waiting_subscriber(&b, &bob).await;

    // Cut every LISTEN connection on this database, then admit Bob while
    // the listeners are down: the NOTIFY is lost to them.
    let admin = sea_orm::Database::connect(admin_url.as_str())
        .await
        .unwrap();
    let terminated = sea_orm::ConnectionTrait::execute_unprepared(
        &admin,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND query ILIKE 'LISTEN%'"
        ),
    )
    .await
    .unwrap();
    assert!(
        terminated.rows_affected() >= 1,
        "no listener connection found"
    );
    admin.close().await.ok();
    buy_seat(&http, &a.url, &alice, DATE, 1).await;
    let paid_at = tokio::time::Instant::now();
    let pushed = ws.next_ticket().await;
    assert_eq!(pushed["status"], "PROGRESS");
    assert!(
        paid_at.elapsed() < Duration::from_secs(3),
        "pushed after {:?}",
        paid_at.elapsed()
    );
}

/// Users in the cascade: three dates of seats.
const CASCADE: usize = 150;
const SEATS_PER_DATE: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admissions_cascade_through_three_processes_and_no_position_moves_back() {
    let (database, url) = TestDatabase::create().await;
    if !database.is_postgres() {
        return;
    }
    let env = [
        ("SEATLINE_QUEUE_CAPACITY", "10"),
        ("SEATLINE_PUSH_INTERVAL_MS", "100"),
    ];
    let servers: Vec<Server> = (0..3).map(|_| Server::start(&url, &env)).collect();
    let urls: Arc<Vec<String>> = Arc::new(servers.iter().map(|s| s.url.clone()).collect());
    let http = reqwest::Client::new();

    // Everyone joins at once on one instance, follows the ticket on the
    // next and buys on the third when admitted, which admits the next
    // waiter: the line drains only if every admission reaches its
    // subscriber, whichever instance caused it.
    let histories = concurrently(CASCADE, |i| {
        let (http, urls) = (http.clone(), urls.clone());
        async move { live_through_the_line(&http, &urls, i).await }
    })
    .await;
    for (i, history) in histories.iter().enumerate() {
        assert_moves_forward(&format!("c{i}"), history);
    }
}

/// User `i`'s life in the line: joins, follows its ticket until admitted,
/// buys a seat. Returns every state it was told, from the join's answer to
/// DONE.
async fn live_through_the_line(http: &reqwest::Client, urls: &[String], i: usize) -> Vec<Value> {
    let ticket = issue(http, &urls[i % 3], &format!("c{i}")).await;
    let token = token_of(&ticket);
    let (mut ws, first) = subscriber(addr_of(&urls[(i + 1) % 3]), &token).await;
    let mut history = vec![ticket, first];
    while history.last().is_some_and(|t| t["status"] == "WAITING") {
        history.push(ws.next_ticket().await);
    }
    let date = i64::try_from(i / SEATS_PER_DATE).expect("small") + DATE;
    let seat = i32::try_from(i % SEATS_PER_DATE).expect("small") + 1;
    buy_seat(http, &urls[(i + 2) % 3], &token, date, seat).await;
    while history.last().is_some_and(|t| t["status"] == "PROGRESS") {
        history.push(ws.next_ticket().await);
    }
    history
}

/// WAITING (its position never growing), then PROGRESS, then DONE.
fn assert_moves_forward(user: &str, history: &[Value]) {
    let rank = |t: &Value| match t["status"].as_str() {
        Some("WAITING") => 0,
        Some("PROGRESS") => 1,
        Some("DONE") => 2,
        _ => panic!("{user} was told {t}"),
    };
    for pair in history.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        assert!(rank(before) <= rank(after), "{user} went back: {history:?}");
        if rank(before) == 0 && rank(after) == 0 {
            assert!(
                after["position"].as_u64() <= before["position"].as_u64(),
                "{user}'s position grew: {history:?}"
            );
        }
    }
    assert_eq!(history.last().map(rank), Some(2), "{user}: {history:?}");
}

/// Pollers in the line: they follow their ticket with `queueTicket`.
const POLLERS: usize = 45;
const POLL_INTERVAL: Duration = Duration::from_millis(25);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poller_sent_to_any_instance_never_sees_its_position_grow() {
    let (database, url) = TestDatabase::create().await;
    if !database.is_postgres() {
        return;
    }
    let env = [("SEATLINE_QUEUE_CAPACITY", "10")];
    let servers: Vec<Server> = (0..3).map(|_| Server::start(&url, &env)).collect();
    let urls: Arc<Vec<String>> = Arc::new(servers.iter().map(|s| s.url.clone()).collect());
    let http = reqwest::Client::new();

    // A client without WebSockets behind a round-robin balancer: each poll
    // goes to the next instance while admissions churn the line. Each
    // instance may be a moment behind the others; the answers must still
    // never move the poller back.
    let histories = concurrently(POLLERS, |i| {
        let (http, urls) = (http.clone(), urls.clone());
        async move { poll_through_the_line(&http, &urls, i).await }
    })
    .await;
    for (i, history) in histories.iter().enumerate() {
        assert_moves_forward(&format!("p{i}"), history);
    }
}

/// User `i` joins, polls its ticket on one instance after another until
/// admitted, buys a seat, and polls once more. Returns every answer, from
/// the join's to DONE.
async fn poll_through_the_line(http: &reqwest::Client, urls: &[String], i: usize) -> Vec<Value> {
    let ticket = issue(http, &urls[i % 3], &format!("p{i}")).await;
    let token = token_of(&ticket);
    let mut history = vec![ticket];
    let mut polls = urls.iter().cycle().skip(i + 1);
    while history.last().is_some_and(|t| t["status"] == "WAITING") {
        tokio::time::sleep(POLL_INTERVAL).await;
        let url = polls.next().expect("endless");
        history.push(ticket_on(http, url, &token).await);
    }
    let date = i64::try_from(i / SEATS_PER_DATE).expect("small") + DATE;
    let seat = i32::try_from(i % SEATS_PER_DATE).expect("small") + 1;
    buy_seat(http, &urls[(i + 2) % 3], &token, date, seat).await;
    let url = polls.next().expect("endless");
    history.push(ticket_on(http, url, &token).await);
    history
}
