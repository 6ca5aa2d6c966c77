//! Hostile and malformed GraphQL documents against the live server: deep
//! nesting, alias and fragment bombs, fragment cycles, huge strings and
//! numbers, invalid UTF-8, wrong types, unknown fields, directive floods
//! and plain garbage. Every one must be answered with a 4xx or a GraphQL
//! error (never a 5xx, a panic or a dropped connection), the server must
//! keep serving, and its memory must come back to where it started.
//!
//! `HOSTILE_DOCS` sets how many (2,000 by default, so `cargo test` stays
//! quick; CI sends 20,000); `SEED` replays.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::helpers::{Rng, Server, TestDatabase, fragment_bomb};

/// One hostile request body (JSON or not).
fn document(rng: &mut Rng) -> Vec<u8> {
    let query = match rng.pick(14) {
        0 => {
            let depth = 10 + rng.pick(1000);
            format!(
                "{{ __schema {{ types {{ fields {{ type {}name{} }} }} }} }}",
                "{ ofType ".repeat(depth),
                " }".repeat(depth)
            )
        }
        1 => {
            let n = 10 + rng.pick(1_200);
            let aliases: String = (0..n)
                .map(|i| format!("a{i}: concerts {{ id }} "))
                .collect();
            format!("{{ {aliases} }}")
        }
        2 => "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }".to_owned(),
        3 => fragment_bomb(5 + rng.pick(30)),
        4 => format!(
            "mutation {{ issueQueueToken(userId: \"{}\") {{ token }} }}",
            "x".repeat(rng.pick(200_000))
        ),
        5 => format!(
            "{{ availableSeats(concertDateId: {}) {{ id }} }}",
            [
                "1e400",
                "-0",
                "99999999999999999999999999",
                "4e444",
                "NaN",
                "0x10"
            ][rng.pick(6)]
        ),
        6 => format!(
            "mutation {{ chargeBalance(amount: {}) {{ amount }} }}",
            [
                "99999999999999999999",
                "-9223372036854775809",
                "1.5",
                "\"100\"",
                "null",
                "[1]"
            ][rng.pick(6)]
        ),
        7 => "mutation { holdSeat(concertDateId: true, seatNumber: \"x\") { id } }".to_owned(),
        8 => format!("{{ nope{} {{ x }} }}", rng.pick(100)),
        9 => {
            let n = 1 + rng.pick(500);
            format!("{{ concerts {} {{ id }} }}", "@skip(if: false) ".repeat(n))
        }
        10 => {
            "{ __type(name: \"Query\") { fields { name args { name type { name } } } } }".to_owned()
        }
        11 => {
            // Raw bytes: invalid UTF-8, truncated JSON, garbage.
            let mut bytes = b"{\"query\":\"{ concerts { id } }\",\"x\":\"".to_vec();
            for _ in 0..rng.pick(64) {
                bytes.push(u8::try_from(rng.pick(256)).unwrap());
            }
            return bytes;
        }
        12 => {
            let vars = json!({ "d": [1, {"a": null}], "s": "seven" });
            return json!({ "query": "mutation($d: ID!, $s: Int!) { holdSeat(concertDateId: $d, seatNumber: $s) { id } }", "variables": vars })
                .to_string()
                .into_bytes();
        }
        _ => {
            const ALPHABET: &[u8] = b"{}[]():@$!\"\\ .abcQM...0123456789\n";
            let len = rng.pick(300);
            (0..len)
                .map(|_| char::from(ALPHABET[rng.pick(ALPHABET.len())]))
                .collect()
        }
    };
    json!({ "query": query }).to_string().into_bytes()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_documents_get_client_errors_and_leave_no_trace() {
    let seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let total: usize = std::env::var("HOSTILE_DOCS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    let (database, url) = TestDatabase::create().await;
    if database.is_postgres() {
        // Documents are refused before any query: the SQLite run covers it.
        return;
    }
    let server = Server::start(&url, &[]);
    let pid = server.child.id();
    let http = reqwest::Client::new();
    let oneshot = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let endpoint = Arc::new(format!("{}/graphql", server.url));

    // Measure the baseline once the allocator has seen every kind of
    // document at its largest: growth after that would be a leak.
    let warm_up = (total / 2).min(2_000);
    let baseline = Arc::new(AtomicUsize::new(0));
    let rejected = Arc::new(AtomicUsize::new(0));
    let workers = 16;
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let (http, oneshot, endpoint, rejected, baseline) = (
            http.clone(),
            oneshot.clone(),
            endpoint.clone(),
            rejected.clone(),
            baseline.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ (worker as u64) << 32);
            for i in (worker..total).step_by(workers) {
                if i == warm_up {
                    baseline.store(usize::try_from(rss_kib(pid)).unwrap(), Ordering::SeqCst);
                }
                let body = document(&mut rng);
                // An oversized body is refused before it is read, and the
                // connection closed: send those on their own connections.
                let client = if body.len() > 64 * 1024 {
                    &oneshot
                } else {
                    &http
                };
                let sent = client
                    .post(endpoint.as_str())
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let response = match sent {
                    Ok(response) => response,
                    // A body over the limit is refused before it is read;
                    // the client may see the connection close mid-upload.
                    Err(_) if body.len() > 64 * 1024 => {
                        rejected.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    Err(e) => panic!("SEED={seed}: connection failed on document {i}: {e}"),
                };
                let status = response.status();
                let text = response.text().await.unwrap();
                assert!(
                    !status.is_server_error(),
                    "SEED={seed}: HTTP {status} for {}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                );
                let parsed: Option<Value> = serde_json::from_str(&text).ok();
                let answered =
                    parsed.is_some_and(|v| v["errors"].is_array() || v["data"].is_object());
                assert!(
                    answered || status.is_client_error(),
                    "SEED={seed}: {status} {text:.300}"
                );
                if status.is_client_error() || text.contains("\"errors\"") {
                    rejected.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let end = rss_kib(pid);
    let baseline = baseline.load(Ordering::SeqCst) as u64;
    // Still serving, and correctly.
    let health = http
        .get(format!("{}/health", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ok: Value = http
        .post(endpoint.as_str())
        .json(&json!({ "query": "{ concerts { id } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ok["data"]["concerts"].is_array());
    assert!(
        end < baseline + 50 * 1024,
        "RSS grew from {baseline} KiB to {end} KiB"
    );
    eprintln!(
        "hostile: {total} documents (SEED={seed}), {} rejected, 0 server errors; RSS {baseline} KiB after warm-up, {end} KiB at the end",
        rejected.load(Ordering::Relaxed)
    );
}
