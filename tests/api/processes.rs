//! Two `seatline` server processes on one PostgreSQL database: admissions
//! and holds are decided by the database, so neither process can race the
//! other past capacity or sell a seat twice. (SQLite is single-process.)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::helpers::{
    DATE, Server, TestDatabase, buy_seat, concurrently, gql, issue, token_of, waiting_subscriber,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_share_capacity_and_never_sell_a_seat_twice() {
    let (database, url) = TestDatabase::create().await;
    if !database.is_postgres() {
        // Several processes on one database is a PostgreSQL deployment.
        return;
    }
    // Migrate and seed once, so the two servers start on a ready schema.
    let first = Server::start(&url, &[("SEATLINE_QUEUE_CAPACITY", "10")]);
    let second = Server::start(&url, &[("SEATLINE_QUEUE_CAPACITY", "10")]);
    let urls = Arc::new([first.url.clone(), second.url.clone()]);
    let http = reqwest::Client::new();

    let tickets = concurrently(120, |i| {
        let (urls, http) = (urls.clone(), http.clone());
        async move { issue(&http, &urls[i % 2], &format!("p{i}")).await }
    })
    .await;
    let admitted: Vec<String> = tickets
        .iter()
        .filter(|t| t["status"] == "PROGRESS")
        .map(|t| t["token"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(admitted.len(), 10, "capacity holds across processes");

    let admitted = Arc::new(admitted);
    let results = concurrently(10, |i| {
        let (urls, http, admitted) = (urls.clone(), http.clone(), admitted.clone());
        async move {
            gql(
                &http,
                &urls[i % 2],
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
            .all(|b| b["errors"][0]["extensions"]["code"] == "SEAT_UNAVAILABLE")
    );

    // Each process learns of the other's queue changes within a few sweeps:
    // every waiter's position then agrees on both, and is 0..n-1.
    let waiting: Vec<String> = tickets
        .iter()
        .filter(|t| t["status"] == "WAITING")
        .map(|t| t["token"].as_str().unwrap().to_owned())
        .collect();
    let q = "{ queueTicket { position } }";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut seen = [Vec::new(), Vec::new()];
        for token in &waiting {
            for (i, url) in urls.iter().enumerate() {
                let body = gql(&http, url, Some(token), q, json!({})).await;
                seen[i].push(body["data"]["queueTicket"]["position"].as_i64().unwrap());
            }
        }
        let mut sorted = seen[0].clone();
        sorted.sort_unstable();
        if seen[0] == seen[1] && sorted == (0..waiting.len() as i64).collect::<Vec<_>>() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "positions never converged: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop((first, second));
    tokio::time::sleep(Duration::from_millis(100)).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_on_one_instance_is_pushed_an_admission_caused_on_another() {
    let (database, url) = TestDatabase::create().await;
    if !database.is_postgres() {
        return;
    }
    let a = Server::start(&url, &[("SEATLINE_QUEUE_CAPACITY", "1")]);
    let b = Server::start(&url, &[("SEATLINE_QUEUE_CAPACITY", "1")]);
    let http = reqwest::Client::new();
    let alice = token_of(&issue(&http, &a.url, "alice").await);
    let bob = issue(&http, &b.url, "bob").await;
    assert_eq!(bob["status"], "WAITING");
    let mut ws = waiting_subscriber(&b, &token_of(&bob)).await;

    buy_seat(&http, &a.url, &alice, 1).await;
    let paid_at = tokio::time::Instant::now();
    let pushed = ws.next_ticket().await;
    assert_eq!(pushed["status"], "PROGRESS");
    assert!(
        paid_at.elapsed() < Duration::from_secs(1),
        "pushed after {:?}",
        paid_at.elapsed()
    );
}

#[tokio::test]
async fn sigterm_stops_the_server_even_when_its_log_pipes_are_closed() {
    let (_database, url) = TestDatabase::create().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_seatline"))
        .env("DATABASE_URL", &url)
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
    buy_seat(&http, &a.url, &alice, 1).await;
    let paid_at = tokio::time::Instant::now();
    let pushed = ws.next_ticket().await;
    assert_eq!(pushed["status"], "PROGRESS");
    assert!(
        paid_at.elapsed() < Duration::from_secs(3),
        "pushed after {:?}",
        paid_at.elapsed()
    );
}
