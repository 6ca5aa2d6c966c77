//! Waiters polling a peer server, open-loop: waiter `w` of `n` polls at
//! `w/n·interval + k·interval`, whatever the server's speed, and latency
//! counts from that scheduled time. A waiter stops polling once an answer
//! says it was admitted. At most `max_in_flight` polls are outstanding;
//! past that, a due poll is shed (counted as missed).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::analysis::Seen;
use crate::client::now_unix_us;
use crate::load::histogram;
use crate::peer::PositionBody;

/// What the waiters saw, and how the schedule went.
pub struct PollRun {
    /// Per waiter, in order of receipt.
    pub seen: Vec<Vec<Seen>>,
    /// From the scheduled start, µs.
    pub latency: Histogram<u64>,
    /// Polls due for waiters still waiting, shed ones included.
    pub due: u64,
    pub answered: u64,
    pub errors: u64,
    pub shed: u64,
    pub first_error: Option<String>,
    pub duration: Duration,
    pub elapsed: Duration,
}

struct Answer {
    waiter: usize,
    micros: u64,
    result: Result<Seen, String>,
}

pub async fn poll(
    base: &str,
    tickets: Arc<Vec<String>>,
    interval: Duration,
    duration: Duration,
    max_in_flight: usize,
) -> PollRun {
    let n = tickets.len().max(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(max_in_flight)
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .build()
        .unwrap_or_default();
    let rate = n as f64 / interval.as_secs_f64();
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let admitted: Arc<Vec<AtomicBool>> = Arc::new((0..n).map(|_| AtomicBool::new(false)).collect());
    let in_flight = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel::<Answer>();
    let collector = tokio::spawn(async move {
        let mut answers = Vec::new();
        while let Some(a) = rx.recv().await {
            answers.push(a);
        }
        answers
    });
    let start = Instant::now();
    let (mut due_count, mut shed) = (0, 0);
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due).await;
        let waiter = (i % n as u64) as usize;
        if admitted[waiter].load(Ordering::Relaxed) {
            continue;
        }
        due_count += 1;
        if in_flight.load(Ordering::Relaxed) >= max_in_flight {
            shed += 1;
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let url = format!("{base}/position/{}", tickets[waiter]);
        let (http, tx, in_flight, admitted) = (
            http.clone(),
            tx.clone(),
            Arc::clone(&in_flight),
            Arc::clone(&admitted),
        );
        tokio::spawn(async move {
            let result = ask(&http, &url).await;
            let micros = due.elapsed().as_micros() as u64;
            in_flight.fetch_sub(1, Ordering::Relaxed);
            if let Ok(Seen { position: None, .. }) = result {
                admitted[waiter].store(true, Ordering::Relaxed);
            }
            let _ = tx.send(Answer {
                waiter,
                micros: micros.max(1),
                result,
            });
        });
    }
    drop(tx);
    let answers = collector.await.unwrap_or_default();
    let mut run = PollRun {
        seen: vec![Vec::new(); n],
        latency: histogram(),
        due: due_count,
        answered: 0,
        errors: 0,
        shed,
        first_error: None,
        duration,
        elapsed: start.elapsed(),
    };
    for a in answers {
        match a.result {
            Ok(seen) => {
                run.answered += 1;
                let _ = run.latency.record(a.micros);
                run.seen[a.waiter].push(seen);
            }
            Err(e) => {
                run.errors += 1;
                run.first_error.get_or_insert(e);
            }
        }
    }
    for seen in &mut run.seen {
        seen.sort_by_key(|s| s.at_us);
    }
    run
}

async fn ask(http: &reqwest::Client, url: &str) -> Result<Seen, String> {
    let resp = http.get(url).send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!(
            "{status}: {}",
            resp.text().await.unwrap_or_default()
        ));
    }
    let body: PositionBody = resp.json().await.map_err(|e| e.to_string())?;
    let at_us = now_unix_us();
    match (body.status.as_str(), body.position) {
        ("WAITING", Some(p)) => Ok(Seen {
            at_us,
            position: Some(p),
        }),
        ("PROGRESS", _) => Ok(Seen {
            at_us,
            position: None,
        }),
        (other, _) => Err(format!("unexpected answer: {other}")),
    }
}
