//! SPEC section 3: concerts, available dates and seats.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    DATE, Server, TestApp, TestDatabase, at, code, data, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn concerts_list_every_concert_with_its_dates() {
    let app = spawn_app().await;
    let body = app
        .gql(
            None,
            "{ concerts { id title dates { id concertId startsAt availableSeatCount } } }",
            json!({}),
        )
        .await;
    let concerts = data(&body, "concerts").as_array().unwrap();
    assert_eq!(concerts.len(), 3);
    for c in concerts {
        let dates = c["dates"].as_array().unwrap();
        assert!(dates.len() >= 2);
        for d in dates {
            assert_eq!(d["concertId"], c["id"]);
            assert_eq!(d["availableSeatCount"], 50);
            let starts = d["startsAt"].as_str().unwrap();
            assert!(
                chrono::DateTime::parse_from_rfc3339(starts).is_ok(),
                "{starts}"
            );
        }
    }
}

#[tokio::test]
async fn available_seats_are_numbered_with_prices_and_exclude_held_ones() {
    let app = spawn_app().await;
    let token = app.admitted("alice").await;
    let query = "query($d: ID!) { availableSeats(concertDateId: $d) { id concertDateId number price status } }";
    let body = app
        .gql(Some(&token), query, json!({ "d": DATE.to_string() }))
        .await;
    let seats = data(&body, "availableSeats").as_array().unwrap().clone();
    let numbers: Vec<i64> = seats
        .iter()
        .map(|s| s["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=50).collect::<Vec<_>>());
    assert!(
        seats
            .iter()
            .all(|s| s["status"] == "AVAILABLE" && s["price"].as_i64().unwrap() > 0)
    );

    data(&app.hold(&token, DATE, 7).await, "holdSeat");
    let body = app
        .gql(Some(&token), query, json!({ "d": DATE.to_string() }))
        .await;
    let numbers: Vec<i64> = data(&body, "availableSeats")
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers.len(), 49);
    assert!(!numbers.contains(&7));
    assert_eq!(seat_counts(&app, &token).await, (49, 49));
}

/// The date's `availableSeatCount` as `concerts` and `availableDates` tell it.
async fn seat_counts(app: &TestApp, token: &str) -> (i64, i64) {
    let date = DATE.to_string();
    let count = |dates: &Value| {
        dates
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == date.as_str())
            .map(|d| d["availableSeatCount"].as_i64().unwrap())
            .expect("the date is listed")
    };
    let concerts = app
        .gql(
            None,
            "{ concerts { dates { id availableSeatCount } } }",
            json!({}),
        )
        .await;
    let listed = data(&concerts, "concerts")
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["dates"])
        .find(|dates| {
            dates
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["id"] == date.as_str())
        })
        .map(count)
        .expect("a concert has the date");
    let available = app
        .gql(
            Some(token),
            "query($c: ID!) { availableDates(concertId: $c) { id availableSeatCount } }",
            json!({ "c": "1" }),
        )
        .await;
    (listed, count(data(&available, "availableDates")))
}

#[tokio::test]
async fn an_expired_hold_frees_its_seat_before_the_sweeper_runs() {
    let app = spawn_app_with(|s| {
        s.hold_ttl_secs = 1;
        s.sweep_interval_ms = 3_600_000;
    })
    .await;
    let token = app.admitted("alice").await;
    data(&app.hold(&token, DATE, 9).await, "holdSeat");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let body = app
        .gql(
            Some(&token),
            "query($d: ID!) { availableSeats(concertDateId: $d) { number } }",
            json!({ "d": "1" }),
        )
        .await;
    assert_eq!(data(&body, "availableSeats").as_array().unwrap().len(), 50);
    assert_eq!(seat_counts(&app, &token).await, (50, 50));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM seats WHERE status = 'HELD'")
            .await,
        1,
        "the sweeper has not run, yet the seat is free"
    );
}

#[tokio::test]
async fn available_dates_are_future_dates_with_a_free_seat() {
    let app = spawn_app_with(|s| s.max_holds_per_user = 50).await;
    let token = app.admitted("alice").await;
    let query = "query($c: ID!) { availableDates(concertId: $c) { id concertId startsAt availableSeatCount } }";
    let body = app.gql(Some(&token), query, json!({ "c": "1" })).await;
    let dates = data(&body, "availableDates").as_array().unwrap().clone();
    assert_eq!(dates.len(), 3);
    let now = chrono::Utc::now();
    for d in &dates {
        assert!(at(&d["startsAt"]) > now);
    }
    for seat in 1..=50 {
        data(&app.hold(&token, DATE, seat).await, "holdSeat");
    }
    let body = app.gql(Some(&token), query, json!({ "c": "1" })).await;
    let ids: Vec<&str> = data(&body, "availableDates")
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(
        !ids.contains(&"1"),
        "a date with no free seat is not available"
    );

    // A date in the past is never available.
    app.scalar("SELECT COUNT(*) FROM concert_dates").await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.db,
        "UPDATE concert_dates SET starts_at = '2020-01-01 10:00:00+00:00' WHERE id = 2",
    )
    .await
    .unwrap();
    let body = app.gql(Some(&token), query, json!({ "c": "1" })).await;
    assert_eq!(data(&body, "availableDates").as_array().unwrap().len(), 1);

    // Their seats: none, from a date that exists (not NOT_FOUND).
    let seats = "query($d: ID!) { availableSeats(concertDateId: $d) { number } }";
    for (date, why) in [("1", "sold out"), ("2", "started")] {
        let body = app.gql(Some(&token), seats, json!({ "d": date })).await;
        assert_eq!(data(&body, "availableSeats"), &json!([]), "{why}: {body}");
    }
}

#[tokio::test]
async fn unknown_ids_are_not_found_and_malformed_ids_are_bad_input() {
    let app = spawn_app().await;
    let token = app.admitted("alice").await;
    for (query, expected) in [
        ("{ availableDates(concertId: \"999\") { id } }", "NOT_FOUND"),
        (
            "{ availableSeats(concertDateId: \"999\") { id } }",
            "NOT_FOUND",
        ),
        (
            "{ availableSeats(concertDateId: \"abc\") { id } }",
            "BAD_USER_INPUT",
        ),
    ] {
        let body = app.gql(Some(&token), query, json!({})).await;
        assert_eq!(code(&body), Some(expected), "{query}");
    }
}

/// SPEC 8: `SEATLINE_DEMO_DATA` seeds a demo catalog into an empty database,
/// and only there: off, the catalog stays empty; on, a restart adds nothing.
#[tokio::test]
async fn demo_data_is_seeded_into_an_empty_database_only() {
    const CATALOG: &str = "{ concerts { id dates { id availableSeatCount } } }";
    let (_database, url) = TestDatabase::create().await;
    let off = Server::start(&url, &[("SEATLINE_DEMO_DATA", "false")]);
    assert_eq!(
        data(&off.gql(None, CATALOG, json!({})).await, "concerts"),
        &json!([])
    );
    off.kill();

    let on = Server::start(&url, &[]);
    let seeded = data(&on.gql(None, CATALOG, json!({})).await, "concerts").clone();
    assert!(!seeded.as_array().unwrap().is_empty(), "{seeded}");
    on.kill();
    let again = Server::start(&url, &[]);
    assert_eq!(
        data(&again.gql(None, CATALOG, json!({})).await, "concerts"),
        &seeded,
        "seeded once"
    );
}
