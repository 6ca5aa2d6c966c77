//! SPEC section 8 and the error contract: routes, limits, codes, schema.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{DATE, code, data, eventually, fragment_bomb, gql, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_is_ok_and_the_playground_is_served() {
    let app = spawn_app().await;
    let health = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let page = app.http.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.to_lowercase().contains("graphiql"));
}

#[test]
fn schema_graphql_is_the_generated_sdl() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql at the repo root");
    assert_eq!(
        committed,
        seatline::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}

/// SPEC section 7's SDL, as written there.
const SPEC_SDL: &str = r"
enum QueueStatus { WAITING PROGRESS DONE EXPIRED }
enum SeatStatus { AVAILABLE HELD SOLD }
enum ReservationStatus { HELD CONFIRMED EXPIRED }

type QueueTicket { token: String! userId: ID! status: QueueStatus! position: Int
  enteredAt: DateTime! admittedAt: DateTime expiresAt: DateTime estimatedWaitSeconds: Int }
type Concert { id: ID! title: String! dates: [ConcertDate!]! }
type ConcertDate { id: ID! concertId: ID! startsAt: DateTime! availableSeatCount: Int! }
type Seat { id: ID! concertDateId: ID! number: Int! price: Int! status: SeatStatus! }
type Reservation { id: ID! seat: Seat! status: ReservationStatus! price: Int!
  heldAt: DateTime! expiresAt: DateTime! }
type Balance { userId: ID! amount: Int! }
type Payment { id: ID! amount: Int! paidAt: DateTime! reservation: Reservation! }

type Query {
  concerts: [Concert!]!
  queueTicket: QueueTicket!
  availableDates(concertId: ID!): [ConcertDate!]!
  availableSeats(concertDateId: ID!): [Seat!]!
  balance: Balance!
}
type Mutation {
  issueQueueToken(userId: ID!): QueueTicket!
  holdSeat(concertDateId: ID!, seatNumber: Int!, idempotencyKey: String): Reservation!
  chargeBalance(amount: Int!, idempotencyKey: String): Balance!
  pay(reservationId: ID!, idempotencyKey: String): Payment!
}
type Subscription { queueUpdates(token: String): QueueTicket! }
";

/// Every field (with its arguments and type) and enum value of an SDL
/// document, one line each: `Type.field(arg: T): R`, `Enum.VALUE`.
fn signatures(sdl: &str) -> std::collections::BTreeSet<String> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let document = async_graphql::parser::parse_schema(sdl).expect("valid SDL");
    let mut all = std::collections::BTreeSet::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let ty = ty.node;
        match ty.kind {
            TypeKind::Object(object) => {
                for field in object.fields {
                    let field = field.node;
                    let args: Vec<String> = field
                        .arguments
                        .iter()
                        .map(|a| format!("{}: {}", a.node.name.node, a.node.ty.node))
                        .collect();
                    all.insert(format!(
                        "{}.{}({}): {}",
                        ty.name.node,
                        field.name.node,
                        args.join(", "),
                        field.ty.node
                    ));
                }
            }
            TypeKind::Enum(enumeration) => {
                for value in enumeration.values {
                    all.insert(format!("{}.{}", ty.name.node, value.node.value.node));
                }
            }
            TypeKind::Scalar => {
                all.insert(format!("scalar {}", ty.name.node));
            }
            _ => {}
        }
    }
    all
}

/// SPEC 7: field and argument names are fixed, types may gain fields.
/// Every field of SPEC's SDL, with its arguments, their types and its own,
/// and every enum value, is in the schema served.
#[test]
fn the_schema_keeps_every_name_and_type_of_the_spec() {
    let served = signatures(&seatline::graphql::sdl());
    let missing: Vec<String> = signatures(SPEC_SDL)
        .into_iter()
        .filter(|s| !served.contains(s))
        .collect();
    assert!(
        missing.is_empty(),
        "not served as SPEC.md says: {missing:#?}"
    );
    assert!(served.contains("scalar DateTime"), "{served:#?}");
}

#[test]
fn the_schema_command_prints_the_sdl() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_seatline"))
        .arg("schema")
        .output()
        .expect("run seatline schema");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        seatline::graphql::sdl()
    );
}

#[tokio::test]
async fn introspection_works_for_the_playground() {
    let app = spawn_app().await;
    let body = app
        .gql(None, "{ __schema { queryType { name } types { name fields { name type { name kind ofType { name kind ofType { name kind ofType { name } } } } } } } }", json!({}))
        .await;
    assert_eq!(data(&body, "__schema")["queryType"]["name"], "Query");
    // What GraphiQL and code generators send (graphql-js's
    // `getIntrospectionQuery`) fits every limit on documents.
    let body = app.gql(None, INTROSPECTION_QUERY, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(data(&body, "__schema")["queryType"]["name"], "Query");
}

const INTROSPECTION_QUERY: &str = r"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}
";

#[tokio::test]
async fn overly_deep_queries_are_refused_with_a_code() {
    let app = spawn_app().await;
    let mut query = String::from("{ concerts { id } }");
    for _ in 0..20 {
        query = format!(
            "{{ __schema {{ types {{ fields {{ type {{ ofType {}  }} }} }} }} }}",
            "{ name }"
        );
    }
    let deep = format!(
        "{{ a: concerts {{ dates {{ id }} }} {} }}",
        "b: __typename ".repeat(3)
    );
    let body = app.gql(None, &deep, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    let nested = format!(
        "{}{}",
        "{ __schema { types { fields { type { ".to_owned() + &"ofType { ".repeat(20),
        "name".to_owned() + &" }".repeat(25)
    );
    let body = app.gql(None, &nested, json!({})).await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    let _ = query;
}

#[tokio::test]
async fn malformed_requests_are_client_errors_never_server_errors() {
    let app = spawn_app().await;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"{not json".to_vec()),
        ("application/json", b"[]".to_vec()),
        (
            "application/json",
            br#"[{"query":"{ concerts { id } }"},{"query":"{ concerts { id } }"}]"#.to_vec(),
        ),
        ("application/json", vec![0xff, 0xfe, 0x00]),
        (
            "application/json",
            format!(
                r#"{{"query":"{{ concerts {{ id }} }}","x":"{}"}}"#,
                "a".repeat(100 * 1024)
            )
            .into_bytes(),
        ),
    ];
    for (content_type, body) in cases {
        let response = app
            .http
            .post(app.url("/graphql"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(status.is_client_error() || status.is_success(), "{status}");
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{status}: {body}");
    }
}

#[tokio::test]
async fn control_characters_are_bad_input_not_internal_errors() {
    let app = spawn_app().await;
    let body = app
        .gql(
            None,
            "mutation($u: ID!) { issueQueueToken(userId: $u) { token } }",
            json!({ "u": "a\u{0}b" }),
        )
        .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    let alice = app.admitted("alice").await;
    let body = app
        .gql(
            Some(&alice),
            "mutation($k: String) { chargeBalance(amount: 5, idempotencyKey: $k) { amount } }",
            json!({ "k": "k\u{0}" }),
        )
        .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    let response = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth("abc\u{1}def")
        .json(&json!({ "query": "{ queueTicket { status } }" }))
        .send()
        .await;
    if let Ok(response) = response {
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");
    }
}

#[tokio::test]
async fn syntax_and_type_errors_carry_bad_user_input() {
    let app = spawn_app().await;
    for query in [
        "{ concerts { id ",
        "{ nope }",
        "mutation { issueQueueToken { token } }",
    ] {
        let body = app.gql(None, query, json!({})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{query}: {body}");
    }
}

#[tokio::test]
async fn mutations_over_the_rate_limit_get_a_retry_hint() {
    let app = spawn_app_with(|s| s.rate_limit_per_sec = 1).await;
    let alice = app.admitted("alice").await;
    assert!(app.charge(&alice, 1).await["errors"].is_null());
    assert!(app.charge(&alice, 1).await["errors"].is_null());
    let body = app.charge(&alice, 1).await;
    assert_eq!(code(&body), Some("RATE_LIMITED"), "{body}");
    assert!(
        body["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert_eq!(
        app.balance(&alice).await,
        2,
        "the limited call changed nothing"
    );
    // Another user is not affected.
    let bob = app.admitted("bob").await;
    assert!(app.charge(&bob, 1).await["errors"].is_null());
}

/// SPEC 8: the limit counts every mutation of a token. It is checked
/// before the token is looked up, so a refused request costs no read: an
/// unknown token is `UNAUTHENTICATED` until it passes the limit too.
#[tokio::test]
async fn every_mutation_is_limited_before_its_token_is_read() {
    let app = spawn_app_with(|s| s.rate_limit_per_sec = 1).await;
    let alice = app.admitted("alice").await;
    // A burst of two: from the third call within a second, each is refused.
    // Three calls in a row, so a refill between two cannot fail the test.
    let limited = |bodies: &[Value]| {
        bodies.iter().any(|b| {
            code(b) == Some("RATE_LIMITED")
                && b["errors"][0]["extensions"]["retryAfterSeconds"].as_u64() >= Some(1)
        })
    };
    let mut holds = Vec::new();
    for seat in 1..=3 {
        holds.push(app.hold(&alice, DATE, seat).await);
    }
    assert!(limited(&holds), "holdSeat: {holds:?}");
    let mut payments = Vec::new();
    for _ in 0..3 {
        payments.push(app.pay(&alice, "999999").await);
    }
    assert!(limited(&payments), "pay: {payments:?}");
    let mut charges = Vec::new();
    for _ in 0..3 {
        charges.push(app.charge(&alice, 1).await);
    }
    assert!(limited(&charges), "chargeBalance: {charges:?}");

    let unknown = "00000000-0000-4000-8000-000000000000";
    assert_eq!(code(&app.charge(unknown, 1).await), Some("UNAUTHENTICATED"));
    let mut floods = Vec::new();
    for _ in 0..3 {
        floods.push(app.charge(unknown, 1).await);
    }
    assert!(limited(&floods), "an unknown token's flood: {floods:?}");
}

#[tokio::test]
async fn token_issuing_can_be_limited_per_address() {
    let app = spawn_app_with(|s| s.issue_rate_limit_per_sec = 1).await;
    app.issue("a").await;
    app.issue("b").await;
    let body = app
        .gql(
            None,
            "mutation { issueQueueToken(userId: \"c\") { token } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), Some("RATE_LIMITED"), "{body}");
}

#[tokio::test]
async fn only_json_bodies_are_accepted() {
    let app = spawn_app().await;
    for content_type in [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
    ] {
        let response = app
            .http
            .post(app.url("/graphql"))
            .header("content-type", content_type)
            .body("{\"query\":\"{ concerts { id } }\"}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), Some("BAD_USER_INPUT"));
    }
}

#[tokio::test]
async fn batches_are_refused() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/graphql"))
        .json(&json!([{ "query": "{ concerts { id } }" }, { "query": "{ concerts { id } }" }]))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_client_error(), "{status}: {text}");
}

#[tokio::test]
async fn introspection_and_the_playground_can_be_turned_off() {
    let app = spawn_app_with(|s| s.introspection = false).await;
    let body = app
        .gql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(body["data"]["__schema"].is_null(), "{body}");
    let page = app.http.get(app.url("/graphql")).send().await.unwrap();
    assert!(page.status().is_client_error());
    // The API itself still works.
    let body = app.gql(None, "{ concerts { id } }", json!({})).await;
    assert!(data(&body, "concerts").is_array());
}

#[tokio::test]
async fn a_fragment_bomb_is_refused_quickly() {
    // Unguarded, 2^28 spread visits take minutes.
    refused_within_2_s(&fragment_bomb(28)).await;
}

/// Sends `doc` to a new app and checks it is refused as the client's
/// input, well before async-graphql's own checks would have finished.
async fn refused_within_2_s(doc: &str) {
    let app = spawn_app().await;
    let started = std::time::Instant::now();
    let body = app.gql(None, doc, json!({})).await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// A body over the limit sent without a length (chunked) is refused as too
/// large, as one whose Content-Length says so is, not as malformed.
#[tokio::test]
async fn a_chunked_body_over_the_limit_is_refused_as_too_large() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app().await;
    let mut socket = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let chunk = format!(
        "{{\"query\": \"{{ concerts {{ id }} }}\", \"pad\": \"{}\"}}",
        "x".repeat(70_000)
    );
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    // The server may answer and close before it has read all of it.
    let _ = socket.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    let _ = socket.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("BAD_USER_INPUT"), "{response}");
}

/// A request that outruns the request timeout is answered in GraphQL's
/// shape, with a code, and the write it started is not lost: a retry with
/// the same key learns that it committed.
#[tokio::test]
async fn a_request_past_the_timeout_gets_a_coded_error_and_a_retry_learns_its_outcome() {
    const HOLD: &str = "mutation($k: String) { holdSeat(concertDateId: \"1\", seatNumber: 5, idempotencyKey: $k) { id status } }";
    let app = spawn_app_with(|s| {
        // Long enough for every other request this test makes, on a
        // loaded machine; the hold waits on the lock until it passes.
        s.request_timeout_ms = 2_000;
        s.sweep_interval_ms = 3_600_000;
    })
    .await;
    let alice = app.admitted("alice").await;
    // The hold waits at the database.
    let txn = app.hold_up_writes_of("alice").await;
    let response = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&alice)
        .json(&json!({ "query": HOLD, "variables": { "k": "k1" } }))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(code(&body), Some("INTERNAL"), "{body}");

    txn.rollback().await.expect("rollback");
    eventually("the abandoned hold commits", || async {
        app.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'HELD'")
            .await
            == 1
    })
    .await;
    let again = app.gql(Some(&alice), HOLD, json!({ "k": "k1" })).await;
    assert_eq!(data(&again, "holdSeat")["status"], "HELD", "{again}");
}

/// A variable of the wrong type, or missing, is refused with
/// BAD_USER_INPUT, whether its document was sent before or not, and moves
/// nothing.
#[tokio::test]
async fn a_bad_variable_value_is_refused_and_moves_nothing() {
    const CHARGE: &str = "mutation($a: Int!) { chargeBalance(amount: $a) { amount } }";
    let app = spawn_app().await;
    let alice = app.admitted("alice").await;
    for _ in 0..2 {
        let body = app.gql(Some(&alice), CHARGE, json!({ "a": 100 })).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    for bad in [
        json!("abc"),
        json!(1.5),
        json!(null),
        json!(1e30),
        json!([1]),
    ] {
        let body = app.gql(Some(&alice), CHARGE, json!({ "a": bad })).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{bad}: {body}");
    }
    let body = app.gql(Some(&alice), CHARGE, json!({})).await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "no variable: {body}");
    assert_eq!(app.balance(&alice).await, 200);
}

/// Aliases cannot multiply a request's database work past a bound: a
/// root field that reads the database costs 25 points of the 1,000.
#[tokio::test]
async fn aliased_root_fields_are_bounded_by_their_cost() {
    let app = spawn_app().await;
    let aliased = |n: usize| {
        let fields: String = (0..n)
            .map(|i| format!("a{i}: concerts {{ id }} "))
            .collect();
        format!("{{ {fields} }}")
    };
    // 38 * (25 + 1 for the field's selection) = 988.
    let body = app.gql(None, &aliased(38), json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["a37"].as_array().map(Vec::len), Some(3));
    let body = app.gql(None, &aliased(39), json!({})).await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
}

/// Each operation under the limits, thousands of them in one document:
/// validation walks them all, so the limits count them together.
#[tokio::test]
async fn a_document_of_many_operations_is_refused_quickly() {
    let mut doc = format!(
        "fragment F0 on Query {{ {} __typename {} }} ",
        "... { ".repeat(20),
        "}".repeat(20)
    );
    for i in 1..10 {
        doc.push_str(&format!(
            "fragment F{i} on Query {{ ...F{0} ...F{0} }} ",
            i - 1
        ));
    }
    // Within the 64 KiB a request may carry.
    for i in 0..2_500 {
        doc.push_str(&format!("query q{i} {{ ...F9 }} "));
    }
    refused_within_2_s(&doc).await;
}

/// Documents are kept once they pass the parse-time limits; one refused by
/// a limit is refused again, the same way, every time it comes back.
#[tokio::test]
async fn a_refused_document_is_refused_every_time_it_is_sent() {
    let app = spawn_app().await;
    let mut bomb = String::from("query { ...F0 } ");
    for i in 0..12 {
        bomb.push_str(&format!(
            "fragment F{i} on Query {{ ...F{0} ...F{0} }} ",
            i + 1
        ));
    }
    bomb.push_str("fragment F12 on Query { concerts { id } }");
    let refused = [
        format!("{{ concerts {} {{ id }} }}", "@skip(if: false) ".repeat(9)),
        format!("{}{}", "{ concerts ".repeat(40), "}".repeat(40)),
        bomb,
    ];
    for query in &refused {
        let first = app.gql(None, query, json!({})).await;
        assert!(first["data"].is_null(), "{query}: {first}");
        assert!(code(&first).is_some(), "{query}: {first}");
        let again = app.gql(None, query, json!({})).await;
        assert_eq!(again, first, "{query}");
    }
}

/// SPEC 8: a graceful stop lets a request in flight finish: its write is
/// committed and answered, not cut off.
#[tokio::test]
async fn a_graceful_stop_lets_an_in_flight_mutation_finish() {
    // No sweeper passes but the first, so each write transaction counted
    // below is the hold's.
    let app = spawn_app_with(|s| s.sweep_interval_ms = 3_600_000).await;
    let alice = app.admitted("alice").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let began = || async { app.metrics().await["seatline_db_transactions_total"] };
    let before = began().await;
    // The hold waits at the database.
    let txn = app.hold_up_writes_of("alice").await;
    let (http, url) = (app.http.clone(), app.url(""));
    let hold = tokio::spawn(async move {
        gql(
            &http,
            &url,
            Some(&alice),
            "mutation { holdSeat(concertDateId: \"1\", seatNumber: 5) { status } }",
            json!({}),
        )
        .await
    });
    eventually("the hold's batch begins", || async {
        began().await > before
    })
    .await;
    assert!(!hold.is_finished(), "the hold waits for the lock");
    let stopping = tokio::spawn(app.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!stopping.is_finished(), "the stop waits for the request");

    txn.rollback().await.expect("rollback");
    let body = hold.await.expect("hold");
    assert_eq!(data(&body, "holdSeat")["status"], "HELD", "{body}");
    stopping.await.expect("stopped");
}
