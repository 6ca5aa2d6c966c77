//! `queueUpdates` over graphql-transport-ws (and legacy graphql-ws).

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{Value, json};

use crate::helpers::{
    DATE, WsClient, at, code, data, eventually, fragment_bomb, spawn_app, spawn_app_with,
};

/// SPEC 1: when an admission lapses, the earliest waiter is promoted at
/// once, not at the next timer tick, and a status change is pushed at once,
/// not coalesced. With sweeps and pushes a minute apart, the waiter hears
/// of its admission, and then of its own lapse, within moments.
#[tokio::test]
async fn a_lapse_promotes_the_next_waiter_and_each_status_is_pushed_at_once() {
    let app = spawn_app_with(|s| {
        s.queue_capacity = 1;
        // Room to subscribe before the first lapse, on a loaded machine.
        s.active_ttl_secs = 3;
        s.sweep_interval_ms = 60_000;
        s.push_interval_ms = 60_000;
    })
    .await;
    // Past the sweeper's first pass, which finds no admission to wait for.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alice = app.issue("alice").await;
    let bob = app.issue("bob").await;
    let mut ws = app.ws(json!({ "token": bob["token"] })).await;
    ws.subscribe("1", None).await;
    assert_eq!(ws.next_ticket().await["status"], "WAITING");

    let mut lapse = alice["expiresAt"].clone();
    for status in ["PROGRESS", "EXPIRED"] {
        let message = ws
            .recv_within(Duration::from_secs(5))
            .await
            .expect("pushed within seconds, not at the next sweep")
            .expect("socket open");
        let ticket = &message["payload"]["data"]["queueUpdates"];
        assert_eq!(ticket["status"], status, "{message}");
        let late = Utc::now() - at(&lapse);
        assert!(
            late < TimeDelta::milliseconds(1_500),
            "{status} pushed {late} after the lapse"
        );
        lapse = ticket["expiresAt"].clone();
    }
}

#[tokio::test]
async fn a_waiter_sees_its_state_first_then_its_position_then_its_admission() {
    let app = spawn_app_with(|s| s.queue_capacity = 1).await;
    let alice = app.admitted("alice").await;
    let bob = app.issue("bob").await;
    let carol = app.issue("carol").await;
    let carol_token = carol["token"].as_str().unwrap();
    let mut ws = app.ws(json!({ "token": carol_token })).await;
    ws.subscribe("1", None).await;
    let first = ws.next_ticket().await;
    assert_eq!(
        (first["status"].as_str(), first["position"].as_i64()),
        (Some("WAITING"), Some(1))
    );

    // Alice buys: Bob is admitted and Carol moves up.
    let held = app.hold(&alice, DATE, 1).await;
    let id = data(&held, "holdSeat")["id"].as_str().unwrap().to_owned();
    app.charge(&alice, 500_000).await;
    data(&app.pay(&alice, &id).await, "pay");
    let moved = ws.next_ticket().await;
    assert_eq!(
        (moved["status"].as_str(), moved["position"].as_i64()),
        (Some("WAITING"), Some(0))
    );

    // Bob buys: Carol is admitted, pushed at once.
    let bob_token = bob["token"].as_str().unwrap();
    let held = app.hold(bob_token, DATE, 2).await;
    let id = data(&held, "holdSeat")["id"].as_str().unwrap().to_owned();
    app.charge(bob_token, 500_000).await;
    let paid_at = tokio::time::Instant::now();
    data(&app.pay(bob_token, &id).await, "pay");
    let admitted = ws.next_ticket().await;
    assert_eq!(admitted["status"], "PROGRESS");
    assert!(admitted["position"].is_null());
    assert!(admitted["expiresAt"].is_string());
    assert!(paid_at.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn the_stream_completes_after_done() {
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    let mut ws = app
        .ws(json!({ "Authorization": format!("Bearer {alice}") }))
        .await;
    ws.subscribe("7", None).await;
    assert_eq!(ws.next_ticket().await["status"], "PROGRESS");
    let held = app.hold(&alice, DATE, 1).await;
    let id = data(&held, "holdSeat")["id"].as_str().unwrap().to_owned();
    app.charge(&alice, 500_000).await;
    data(&app.pay(&alice, &id).await, "pay");
    assert_eq!(ws.next_ticket().await["status"], "DONE");
    let complete = ws.recv().await.unwrap();
    assert_eq!(complete["type"], "complete");
    assert_eq!(complete["id"], "7");
}

#[tokio::test]
async fn a_lapsed_admission_is_pushed_as_expired_and_completes() {
    let app = spawn_app_with(|s| s.active_ttl_secs = 1).await;
    let alice = app.admitted("alice").await;
    let mut ws = app.ws(json!({})).await;
    ws.subscribe("1", Some(&alice)).await;
    assert_eq!(ws.next_ticket().await["status"], "PROGRESS");
    let expired = ws.next_ticket().await;
    assert_eq!(expired["status"], "EXPIRED");
    assert_eq!(ws.recv().await.unwrap()["type"], "complete");
}

/// SPEC 1: a ticket ends DONE or EXPIRED, and its stream says which. A
/// payment judged just before the admission lapses may commit just after
/// it (here, on PostgreSQL, its batch waits for the queue's gate across
/// the lapse): the subscriber hears DONE, not an EXPIRED told from the
/// clock while the payment was committing. On SQLite the batch waits for
/// the one writer connection before it judges, so it is refused, and the
/// subscriber hears EXPIRED; either way the stream agrees with the answer.
#[tokio::test]
async fn a_payment_committed_across_the_lapse_is_pushed_as_its_outcome() {
    let app = std::sync::Arc::new(
        spawn_app_with(|s| {
            s.active_ttl_secs = 3;
            s.sweep_interval_ms = 3_600_000;
        })
        .await,
    );
    let alice = app.admitted("alice").await;
    let held = app.hold(&alice, DATE, 1).await;
    let id = data(&held, "holdSeat")["id"].as_str().unwrap().to_owned();
    app.charge(&alice, 500_000).await;
    let mut ws = app.ws(json!({})).await;
    ws.subscribe("1", Some(&alice)).await;
    let progress = ws.next_ticket().await;
    assert_eq!(progress["status"], "PROGRESS");
    let lapse = at(&progress["expiresAt"]);

    let began = || async { app.metrics().await["seatline_db_transactions_total"] };
    let before = began().await;
    // On PostgreSQL the payment judges the admission once it holds the
    // ticket, and takes the queue's gate last: holding the gate holds it
    // up between its judgement and its commit.
    let other = if app.is_postgres() {
        let txn = app.db.begin().await.expect("begin");
        txn.execute_unprepared("SELECT 1 FROM queue_gate FOR UPDATE")
            .await
            .expect("lock the gate");
        txn
    } else {
        app.hold_up_writes_of("alice").await
    };
    let paid = tokio::spawn({
        let (app, alice) = (app.clone(), alice.clone());
        async move { app.pay(&alice, &id).await }
    });
    eventually("the payment's batch begins", || async {
        began().await > before
    })
    .await;
    assert!(Utc::now() < lapse, "the setup outlasted the admission");
    // Past the lapse, with the payment's batch still under way.
    let past = (lapse - Utc::now() + TimeDelta::milliseconds(300))
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(past).await;
    // A poll in the same moment (SPEC 1's polling fallback) agrees too.
    let polled = tokio::spawn({
        let (app, alice) = (app.clone(), alice.clone());
        async move { app.ticket(&alice).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    other.rollback().await.expect("rollback");
    let paid = paid.await.expect("pay");
    let polled = polled.await.expect("poll");

    let last = ws.next_ticket().await;
    if app.is_postgres() {
        assert!(paid["errors"].is_null(), "judged before the lapse: {paid}");
    }
    let outcome = if paid["errors"].is_null() {
        "DONE"
    } else {
        assert_eq!(code(&paid), Some("TOKEN_EXPIRED"), "{paid}");
        "EXPIRED"
    };
    assert_eq!(last["status"], outcome, "after {paid}");
    assert_eq!(polled["status"], outcome, "polled: {polled}");
    assert_eq!(ws.recv().await.unwrap()["type"], "complete");
}

#[tokio::test]
async fn an_unknown_token_gets_an_unauthenticated_error() {
    let app = spawn_app().await;
    // An execution error: one `next` carrying the error, then `complete`.
    for init in [
        json!({ "token": "nope" }),
        json!({}),
        json!({ "Authorization": "Basic x" }),
    ] {
        let mut ws = app.ws(init).await;
        ws.subscribe("1", None).await;
        let message = ws.recv().await.unwrap();
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(
            message["payload"]["errors"][0]["extensions"]["code"],
            "UNAUTHENTICATED"
        );
        assert_eq!(ws.recv().await.unwrap()["type"], "complete");
    }
}

/// SPEC: bad input gets the right `extensions.code` over WebSocket as over
/// HTTP: a document async-graphql itself refuses is `BAD_USER_INPUT`, and
/// so is one the expansion limit refuses (a fragment bomb, which unguarded
/// would take minutes).
#[tokio::test]
async fn a_subscription_refused_by_validation_is_coded_as_over_http() {
    let app = spawn_app().await;
    let token = app.issue("alice").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bomb = fragment_bomb(28);
    for query in [
        "subscription { queueUpdates { nope } }",
        "subscription { queueUpdates(token: 5) { status } }",
        "subscription {",
        bomb.as_str(),
    ] {
        let mut ws = app.ws(json!({ "token": token })).await;
        ws.send(json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }))
            .await;
        let message = ws.recv().await.expect("an answer");
        assert_eq!(message["type"], "next", "{query}: {message}");
        assert_eq!(
            message["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{query}: {message}"
        );
        assert_eq!(ws.recv().await.unwrap()["type"], "complete");
    }
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_works_too() {
    let app = spawn_app_with(|s| s.queue_capacity = 1).await;
    app.admitted("alice").await;
    let bob = app.issue("bob").await;
    let mut ws = WsClient::connect(app.addr, "graphql-ws", json!({ "token": bob["token"] })).await;
    ws.subscribe("1", None).await;
    let first = ws.next_ticket().await;
    assert_eq!(first["status"], "WAITING");
    assert_eq!(first["position"], 0);
}

#[tokio::test]
async fn position_changes_are_coalesced_to_the_push_interval() {
    let app = spawn_app_with(|s| {
        s.queue_capacity = 5;
        s.push_interval_ms = 1500;
    })
    .await;
    let mut buyers = Vec::new();
    for i in 0..5 {
        buyers.push(app.admitted(&format!("buyer{i}")).await);
    }
    for i in 0..5 {
        app.issue(&format!("early{i}")).await;
    }
    let late = app.issue("late").await;
    let mut ws = app.ws(json!({ "token": late["token"] })).await;
    ws.subscribe("1", None).await;
    assert_eq!(ws.next_ticket().await["position"], 5);
    let buy = |i: usize| {
        let (app, token) = (&app, &buyers[i]);
        async move {
            let held = app.hold(token, DATE, i as i32 + 1).await;
            let id = data(&held, "holdSeat")["id"].as_str().unwrap().to_owned();
            app.charge(token, 500_000).await;
            data(&app.pay(token, &id).await, "pay");
        }
    };
    let position = |message: &Value| message["payload"]["data"]["queueUpdates"]["position"].clone();
    // One change: pushed within an interval, and timed as it arrives.
    buy(0).await;
    let first = ws
        .recv_within(Duration::from_millis(2500))
        .await
        .expect("the first change is pushed")
        .expect("socket open");
    let pushed = std::time::Instant::now();
    assert_eq!(position(&first), 4, "{first}");
    // Four more at once: coalesced, each message a push interval after the
    // one before (less what the network may shave), the last one 0 (on a
    // fast machine, one message for all four).
    for i in 1..5 {
        buy(i).await;
    }
    let mut pushed = pushed;
    loop {
        let next = ws
            .recv_within(Duration::from_millis(2500))
            .await
            .expect("the rest are pushed")
            .expect("socket open");
        let gap = pushed.elapsed();
        pushed = std::time::Instant::now();
        assert!(
            gap >= Duration::from_millis(1400),
            "{gap:?} after the one before: {next}"
        );
        if position(&next) == 0 {
            break;
        }
    }
}

#[tokio::test]
async fn a_line_that_stood_still_is_pushed_as_soon_as_it_moves() {
    let app = spawn_app_with(|s| {
        s.queue_capacity = 1;
        s.push_interval_ms = 200;
    })
    .await;
    let mut ahead = vec![app.admitted("alice").await];
    for user in ["x1", "x2"] {
        ahead.push(app.issue(user).await["token"].as_str().unwrap().to_owned());
    }
    let bob = app.issue("bob").await;
    let mut ws = app.ws(json!({ "token": bob["token"] })).await;
    ws.subscribe("1", None).await;
    assert_eq!(ws.next_ticket().await["position"], 2);
    for (seat, token) in ahead.iter().take(2).enumerate() {
        // Nothing moves for three push intervals, then the head buys and
        // leaves: bob hears his new place within an interval or so.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let held = app.hold(token, DATE, seat as i32 + 1).await;
        let id = data(&held, "holdSeat")["id"].as_str().unwrap().to_owned();
        app.charge(token, 500_000).await;
        data(&app.pay(token, &id).await, "pay");
        let moved = ws
            .recv_within(Duration::from_millis(1_000))
            .await
            .expect("pushed within a second")
            .expect("socket open");
        assert_eq!(
            moved["payload"]["data"]["queueUpdates"]["position"],
            1 - seat
        );
    }
}

#[tokio::test]
async fn shutdown_closes_subscriptions_cleanly() {
    let app = spawn_app_with(|s| s.queue_capacity = 1).await;
    app.admitted("alice").await;
    let bob = app.issue("bob").await;
    let mut ws = app.ws(json!({ "token": bob["token"] })).await;
    // Several, so that a `complete` racing the close would show.
    for id in ["1", "2", "3", "4", "5"] {
        ws.subscribe(id, None).await;
        ws.next_ticket().await;
    }
    let addr = app.addr;
    app.stop().await;
    // The close, and no `complete` before it: a client told that its
    // subscription is complete would not subscribe again on reconnecting.
    let message = ws
        .recv_within(Duration::from_secs(5))
        .await
        .expect("a message in time")
        .expect("the close frame");
    assert_eq!(message["type"], "close", "{message}");
    assert_eq!(message["code"], 1001);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

mod protocol {
    //! graphql-transport-ws's own close codes.

    use std::time::Duration;

    use futures_util::{SinkExt, StreamExt};
    use serde_json::json;
    use tokio_tungstenite::tungstenite::Message;

    use crate::helpers::{WsClient, spawn_app, spawn_app_with};

    const SUBSCRIBE: &str = r#"{"id":"1","type":"subscribe","payload":{"query":"subscription { queueUpdates { status } }"}}"#;

    #[tokio::test]
    async fn no_connection_init_in_time_closes_4408() {
        // Pings flow (and are answered) meanwhile: they keep no
        // unauthenticated socket alive.
        let app = spawn_app_with(|s| {
            s.ws_init_timeout_ms = 600;
            s.ws_keepalive_ms = 100;
        })
        .await;
        let mut ws = WsClient::open(app.addr, "graphql-transport-ws").await;
        assert_eq!(ws.close_code().await, Some(4408));
        // The legacy protocol needs its `connection_init` in time too.
        let mut legacy = WsClient::open(app.addr, "graphql-ws").await;
        assert_eq!(legacy.close_code().await, Some(4408));
    }

    #[tokio::test]
    async fn a_peer_that_answers_pings_stays_and_a_silent_one_is_dropped() {
        let app = spawn_app_with(|s| s.ws_keepalive_ms = 200).await;
        let token = app.issue("alice").await["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut alive = app.ws(json!({ "token": token })).await;
        let mut silent = app.ws(json!({ "token": token })).await;
        for ws in [&mut alive, &mut silent] {
            ws.subscribe("1", None).await;
            ws.next_ticket().await;
        }
        // `alive` reads, so its client answers every ping; `silent` reads
        // nothing for five intervals, so it answers none.
        let quiet = tokio::time::timeout(Duration::from_secs(1), alive.recv()).await;
        assert!(quiet.is_err(), "nothing but pings for a second: {quiet:?}");
        // It may see the close frame, or just the end of the socket.
        let dropped = tokio::time::timeout(Duration::from_secs(3), silent.close_code()).await;
        assert!(matches!(dropped, Ok(None | Some(1001))), "{dropped:?}");
        alive.send(json!({ "type": "ping" })).await;
        assert_eq!(
            alive.recv_raw().await["type"],
            "pong",
            "the answering peer is still connected"
        );
    }

    #[tokio::test]
    async fn a_reader_that_takes_nothing_is_dropped_not_buffered() {
        let app = spawn_app_with(|s| s.ws_keepalive_ms = 500).await;
        let ws = WsClient::connect_with_receive_buffer(app.addr, 64 * 1024, json!({})).await;
        let (mut sink, mut stream) = ws.split();
        // Each subscribe to an unknown 30 KB field costs the server a 30 KB
        // error, and this client reads none of them. It keeps asking until
        // the server hangs up: once the answers fill the socket buffers
        // (the server's send buffer grows to 4 MiB here; this client's
        // receive buffer is fixed at 64 KiB, since autotuning could grow it
        // to 32 MiB), a write stalls, and the server must drop the
        // connection rather than buffer more. How soon that comes depends
        // on how fast the server answers, not on a fixed wait.
        let field = "x".repeat(30_000);
        let flood = tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            let mut sent = 0_usize;
            loop {
                let message = json!({
                    "id": sent.to_string(),
                    "type": "subscribe",
                    "payload": { "query": format!("subscription {{ {field} }}") },
                });
                let send = sink.send(Message::Text(message.to_string().into()));
                match tokio::time::timeout_at(deadline, send).await {
                    Ok(Ok(())) => sent += 1,
                    // The server reset the connection.
                    Ok(Err(_)) => return (sent, true),
                    Err(_) => return (sent, false),
                }
            }
        });
        let (sent, dropped) = flood.await.expect("the flood task");
        assert!(dropped, "the server dropped the stalled reader");
        let mut errors = 0;
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(message)) = stream.next().await {
                if let Message::Text(text) = message {
                    errors += usize::from(text.contains("\"error\""));
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "the connection is closed");
        assert!(
            errors < sent,
            "the server stopped writing to it ({errors} of {sent} answers arrived)"
        );
    }

    /// Past `SEATLINE_WS_MAX_CONNECTIONS` an upgrade is refused, so
    /// sockets cannot take the descriptors HTTP needs; a closed one frees
    /// its slot.
    #[tokio::test]
    async fn connections_past_the_limit_are_refused_until_one_closes() {
        use tokio_tungstenite::tungstenite::Error;

        let app = spawn_app_with(|s| s.ws_max_connections = 2).await;
        let first = app.ws(json!({})).await;
        let _second = app.ws(json!({})).await;
        match WsClient::try_open(app.addr, "graphql-transport-ws")
            .await
            .err()
        {
            Some(Error::Http(response)) => assert_eq!(response.status(), 503),
            other => panic!("a third connection: {other:?}"),
        }
        let body = app.gql(None, "{ concerts { id } }", json!({})).await;
        assert!(body["errors"].is_null(), "HTTP is still served: {body}");
        drop(first);
        crate::helpers::eventually("the closed connection's slot is free", || async {
            WsClient::try_open(app.addr, "graphql-transport-ws")
                .await
                .is_ok()
        })
        .await;
    }

    /// RFC 6455's 1009: a message over the 64 KiB limit closes the
    /// connection with a close frame that says why.
    #[tokio::test]
    async fn a_message_over_the_limit_closes_1009() {
        let app = spawn_app().await;
        let mut ws = app.ws(json!({})).await;
        ws.send_text(&format!(
            r#"{{"type":"ping","payload":"{}"}}"#,
            "x".repeat(70_000)
        ))
        .await;
        assert_eq!(ws.close_code().await, Some(1009));
    }

    #[tokio::test]
    async fn a_second_init_closes_4429() {
        let app = spawn_app().await;
        let mut ws = app.ws(json!({})).await;
        ws.send(json!({ "type": "connection_init" })).await;
        assert_eq!(ws.close_code().await, Some(4429));
    }

    #[tokio::test]
    async fn subscribing_before_the_ack_closes_4401() {
        let app = spawn_app().await;
        let mut ws = WsClient::open(app.addr, "graphql-transport-ws").await;
        ws.send_text(SUBSCRIBE).await;
        assert_eq!(ws.close_code().await, Some(4401));
    }

    #[tokio::test]
    async fn a_duplicate_subscription_id_closes_4409() {
        let app = spawn_app_with(|s| s.queue_capacity = 1).await;
        app.admitted("alice").await;
        let bob = app.issue("bob").await;
        let mut ws = app.ws(json!({ "token": bob["token"] })).await;
        ws.send_text(SUBSCRIBE).await;
        ws.next_ticket().await;
        ws.send_text(SUBSCRIBE).await;
        assert_eq!(ws.close_code().await, Some(4409));
    }

    #[tokio::test]
    async fn an_invalid_message_closes_4400() {
        let app = spawn_app().await;
        let mut ws = app.ws(json!({})).await;
        ws.send_text("{not json").await;
        assert_eq!(ws.close_code().await, Some(4400));
    }

    #[tokio::test]
    async fn subscriptions_per_connection_are_bounded() {
        let app = spawn_app_with(|s| s.queue_capacity = 1).await;
        app.admitted("alice").await;
        let bob = app.issue("bob").await;
        let mut ws = app.ws(json!({ "token": bob["token"] })).await;
        for i in 0..20 {
            ws.subscribe(&i.to_string(), None).await;
            ws.next_ticket().await;
        }
        ws.subscribe("20", None).await;
        let refused = ws.recv().await.unwrap();
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["id"], "20");
        assert_eq!(
            refused["payload"][0]["extensions"]["code"],
            "BAD_USER_INPUT"
        );
    }
}

/// Plain `queueUpdates` selections are answered without a GraphQL execution
/// per message (`graphql/subscription.rs`). Each document here is sent
/// twice: as it is, and with `@include(if: true)` on the root field, which
/// sends it through the schema's own execution. Both must say the same
/// thing, byte for byte, for a waiting and for an admitted ticket.
#[tokio::test]
async fn every_plain_selection_is_answered_as_the_schema_answers_it() {
    let clock = seatline::clock::ManualClock::new(chrono::Utc::now());
    let app = crate::helpers::spawn_app_with_clock(
        |s| s.queue_capacity = 1,
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    let alice = app.admitted("alice").await;
    app.issue("bob").await;
    let carol = app.issue("carol").await;
    let carol = carol["token"].as_str().unwrap().to_owned();
    // (fast path, schema path, variables)
    let documents = [
        (
            "subscription { queueUpdates { token userId status position enteredAt admittedAt expiresAt estimatedWaitSeconds __typename } }",
            "subscription { queueUpdates @include(if: true) { token userId status position enteredAt admittedAt expiresAt estimatedWaitSeconds __typename } }",
            json!({}),
        ),
        (
            "subscription Q { u: queueUpdates { ...F p: position ... on QueueTicket { token status } } } fragment F on QueueTicket { status enteredAt __typename expiresAt }",
            "subscription Q { u: queueUpdates @include(if: true) { ...F p: position ... on QueueTicket { token status } } } fragment F on QueueTicket { status enteredAt __typename expiresAt }",
            json!({}),
        ),
        (
            "subscription($t: String!) { queueUpdates(token: $t) { estimatedWaitSeconds position status userId } }",
            "subscription($t: String!) { queueUpdates(token: $t) @include(if: true) { estimatedWaitSeconds position status userId } }",
            json!({ "t": "TOKEN" }),
        ),
    ];
    for token in [&alice, &carol] {
        for (fast, schema, variables) in &documents {
            let variables: serde_json::Value =
                serde_json::from_str(&variables.to_string().replace("TOKEN", token)).unwrap();
            let mut answers = Vec::new();
            for query in [fast, schema] {
                let mut ws = app.ws(json!({ "token": token })).await;
                ws.send(json!({
                    "id": "1",
                    "type": "subscribe",
                    "payload": { "query": query, "variables": variables },
                }))
                .await;
                answers.push(ws.next_text().await);
            }
            assert!(answers[0].contains("\"next\""), "{}", answers[0]);
            assert!(!answers[0].contains("errors"), "{}", answers[0]);
            assert_eq!(answers[0], answers[1], "{fast}");
        }
    }
}

/// A subscription that cannot start answers as the schema does, with the
/// same code, on the fast path too.
#[tokio::test]
async fn a_plain_selection_with_a_bad_token_gets_the_schemas_error() {
    let app = spawn_app().await;
    for init in [json!({}), json!({ "token": "not-a-token" })] {
        let mut ws = app.ws(init).await;
        ws.send(json!({
            "id": "1",
            "type": "subscribe",
            "payload": { "query": "subscription { queueUpdates { status } }" },
        }))
        .await;
        let message = ws.recv().await.expect("an answer");
        let errors = if message["type"] == "error" {
            &message["payload"]
        } else {
            &message["payload"]["errors"]
        };
        assert_eq!(
            errors[0]["extensions"]["code"], "UNAUTHENTICATED",
            "{message}"
        );
    }
}
