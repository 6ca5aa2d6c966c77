//! Credentials: no one reaches another user's reservations or balance, and
//! bearer tokens never reach the logs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::json;

use crate::helpers::{DATE, Server, TEST_TOKEN_SECRET, TestDatabase, code, data, spawn_app};

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
        .env("SEATLINE_TOKEN_SECRET", TEST_TOKEN_SECRET)
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
    assert!(
        !log.iter().any(|l| l.contains(TEST_TOKEN_SECRET)) && !stderr.contains(TEST_TOKEN_SECRET),
        "the token secret reached the logs"
    );
}

/// Everything the database holds, as text: what a leaked copy would hand
/// out. SQLite: the database file and its WAL, byte for byte (freed pages
/// included). PostgreSQL: every row of every table.
async fn leaked_copy(app: &crate::helpers::TestApp) -> String {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    if app.db.get_database_backend() == DbBackend::Sqlite {
        let dir = app.sqlite_dir().expect("a SQLite file");
        let mut copy = String::new();
        for name in ["t.db", "t.db-wal"] {
            if let Ok(bytes) = std::fs::read(dir.join(name)) {
                copy.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
        return copy;
    }
    let tables = app
        .db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT table_name::text AS t FROM information_schema.tables \
             WHERE table_schema = 'public'",
        ))
        .await
        .unwrap();
    let mut copy = String::new();
    for table in tables {
        let table: String = table.try_get("", "t").unwrap();
        let rows = app
            .db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT row_to_json(r)::text AS j FROM \"{table}\" r"),
            ))
            .await
            .unwrap();
        for row in rows {
            copy.push_str(&row.try_get::<String>("", "j").unwrap());
        }
    }
    copy
}

#[tokio::test]
async fn the_database_keeps_token_hashes_never_tokens() {
    let app = spawn_app().await;
    let mut tokens = Vec::new();
    for user in ["alice", "bob", "carol"] {
        tokens.push(app.admitted(user).await);
    }
    app.charge(&tokens[0], 1_000).await;
    app.hold(&tokens[1], DATE, 3).await;
    for (user, token) in ["alice", "bob", "carol"].iter().zip(&tokens) {
        assert_eq!(
            app.issue(user).await["token"],
            token.as_str(),
            "re-issue returns the same token"
        );
    }
    let copy = leaked_copy(&app).await;
    assert!(copy.contains("alice"), "the copy holds the data");
    for token in &tokens {
        assert!(!copy.contains(token.as_str()), "the database holds a token");
        assert!(
            !copy.contains(&token.replace('-', "")),
            "the database holds a token"
        );
        assert!(
            copy.contains(&seatline::domain::queue::tokens::hash(token)),
            "tickets are found by the token's hash"
        );
    }
}

const ISSUE: &str = "mutation($u: ID!) { issueQueueToken(userId: $u) { token status position } }";

#[tokio::test]
async fn a_sqlite_file_keeps_its_token_secret_across_restarts() {
    use std::os::unix::fs::PermissionsExt;
    let (database, url) = TestDatabase::create().await;
    if database.is_postgres() {
        return;
    }
    let alice = json!({ "u": "alice" });
    let first = Server::start(&url, &[]);
    let issued = first.gql(None, ISSUE, alice.clone()).await;
    first.kill();
    let second = Server::start(&url, &[]);
    let again = second.gql(None, ISSUE, alice).await;
    assert_eq!(
        data(&again, "issueQueueToken")["token"],
        data(&issued, "issueQueueToken")["token"]
    );
    let TestDatabase::Sqlite(dir) = &database else {
        unreachable!()
    };
    let secret = dir.path().join("t.db.secret");
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "only the owner reads the secret");
}

#[tokio::test]
async fn tickets_from_before_hashing_get_a_new_token_and_keep_their_place() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let (_database, url) = TestDatabase::create().await;
    let capacity = [("SEATLINE_QUEUE_CAPACITY", "1")];
    let server = Server::start(&url, &capacity);
    server.gql(None, ISSUE, json!({ "u": "first" })).await;
    server.kill();
    // A ticket as an older Seatline stored it: the token in clear, no salt.
    let legacy = uuid::Uuid::new_v4().to_string();
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let backend = db.get_database_backend();
    let (now, param) = match backend {
        DbBackend::Postgres => ("now()", "$1"),
        _ => ("datetime('now')", "?"),
    };
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        format!(
            "INSERT INTO queue_tickets \
             (token_hash, user_id, status, entered_at, changed_version) \
             VALUES ({param}, 'legacy', 'WAITING', {now}, 0)"
        ),
        [legacy.clone().into()],
    ))
    .await
    .unwrap();
    db.close().await.unwrap();

    let server = Server::start(&url, &capacity);
    let old = server
        .gql(Some(&legacy), "{ queueTicket { status } }", json!({}))
        .await;
    assert_eq!(
        code(&old),
        Some("UNAUTHENTICATED"),
        "the clear token is gone"
    );
    let again = server.gql(None, ISSUE, json!({ "u": "legacy" })).await;
    let ticket = data(&again, "issueQueueToken");
    assert_eq!(ticket["status"], "WAITING");
    assert_eq!(ticket["position"], 0, "same place in line");
    let token = ticket["token"].as_str().unwrap();
    assert_ne!(token, legacy);
    let mine = server
        .gql(Some(token), "{ queueTicket { userId } }", json!({}))
        .await;
    assert_eq!(data(&mine, "queueTicket")["userId"], "legacy");
}

#[tokio::test]
async fn postgres_refuses_to_start_without_a_token_secret() {
    let (database, url) = TestDatabase::create().await;
    if !database.is_postgres() {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_seatline"))
        .env("DATABASE_URL", &url)
        .env("SEATLINE_ADDR", "127.0.0.1:0")
        .env_remove("SEATLINE_TOKEN_SECRET")
        .output()
        .expect("run seatline");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("set SEATLINE_TOKEN_SECRET"), "{said}");
}
