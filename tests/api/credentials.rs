//! Credentials: no one reaches another user's reservations or balance, and
//! bearer tokens never reach the logs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::json;

use crate::helpers::{DATE, TestDatabase, code, data, spawn_app};

#[tokio::test]
async fn a_thousand_id_probes_reach_nothing_of_another_user() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    let mallory = app.admitted("mallory").await;
    let mut alices = Vec::new();
    for seat in 1..=4 {
        let held = app.hold(&alice, DATE, seat).await;
        alices.push(
            data(&held, "holdSeat")["id"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap(),
        );
    }
    app.charge(&alice, 1_000).await;
    app.charge(&mallory, 5_000_000).await;

    // Alice's own ids, their neighbours and random ones, seeded.
    let mut state = 0x1D0Du64;
    let mut probes: Vec<String> = Vec::new();
    for i in 0..1000 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let probe = match i % 4 {
            0 => alices[(state >> 33) as usize % alices.len()],
            1 => (state >> 40) as i64 % 50,
            2 => -((state >> 40) as i64),
            _ => (state >> 1) as i64,
        };
        probes.push(probe.to_string());
    }
    for probe in &probes {
        let body = app.pay(&mallory, probe).await;
        assert_eq!(code(&body), Some("NOT_FOUND"), "probe {probe}: {body}");
    }
    // Nothing moved: Alice's holds and money, Mallory's money.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM reservations WHERE user_id = 'alice' AND status = 'HELD'")
            .await,
        4
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 0);
    assert_eq!(app.balance(&alice).await, 1_000);
    assert_eq!(app.balance(&mallory).await, 5_000_000);
    // Balance takes no id at all: the token decides whose it is.
    let body = app
        .gql(Some(&mallory), "{ balance { userId amount } }", json!({}))
        .await;
    assert_eq!(data(&body, "balance")["userId"], "mallory");
}

#[tokio::test]
async fn tokens_never_appear_in_the_logs() {
    let (_database, url) = TestDatabase::create().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_seatline"))
        .env("DATABASE_URL", &url)
        .env("SEATLINE_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn seatline");
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let base = loop {
        let line = lines_rx.recv().expect("server logs");
        log.push(line.clone());
        if let Some(at) = line.find("listening on http://") {
            break line[at + "listening on ".len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_owned();
        }
    };
    let http = reqwest::Client::new();
    let issued: serde_json::Value = http
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": "mutation { issueQueueToken(userId: \"alice\") { token } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = issued["data"]["issueQueueToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for query in [
        "{ balance { amount } }",
        "mutation { chargeBalance(amount: 1000, idempotencyKey: \"k\") { amount } }",
        "mutation { holdSeat(concertDateId: \"1\", seatNumber: 1) { id } }",
        "mutation { pay(reservationId: \"999\") { id } }",
    ] {
        http.post(format!("{base}/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap();
    }
    let addr = base.trim_start_matches("http://").parse().unwrap();
    let mut ws =
        crate::helpers::WsClient::connect(addr, "graphql-transport-ws", json!({ "token": token }))
            .await;
    ws.subscribe("1", Some(&token)).await;
    ws.next_ticket().await;
    drop(ws);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();
    while let Ok(line) = lines_rx.try_recv() {
        log.push(line);
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(log.len() > 10, "trace logging was on: {log:?}");
    let leaks: Vec<&String> = log.iter().filter(|l| l.contains(&token)).collect();
    assert!(leaks.is_empty(), "log lines contain the token: {leaks:#?}");
    assert!(!stderr.contains(&token));
}
