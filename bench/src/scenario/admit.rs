//! `admit`: a long line, the head of it subscribed, while slots free at a
//! steady rate and newcomers join behind.
//!
//! Slots free by lapses: capacity = rate and an active TTL of 1 s, with the
//! first `rate` admissions spread over one second, so from then on one
//! admission lapses (and the next waiter is promoted) every 1/rate s.
//!
//! Figures:
//! - admission push: `admittedAt` (stamped in the admitting transaction)
//!   to receipt by the admitted subscriber; lost and duplicated pushes;
//! - staleness: for every admission and every subscriber still waiting
//!   behind it, the time until that subscriber received a position that
//!   counts it;
//! - messages, server CPU and database statements per second.

use std::collections::HashMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::json;

use super::{Ctx, pump, text};
use crate::client::{Gql, Outcome, now_unix_us, unix_us};
use crate::load::{Done, histogram, open_loop};
use crate::report::Goal;
use crate::server::{Server, histogram_quantile};
use crate::subscribers::{Record, Status, Subscribers};

/// An admission push not received this long after the window is lost.
pub(super) const LOST_AFTER: Duration = Duration::from_secs(3);
/// Staleness samples per rate, at most.
const SAMPLES: usize = 2_000_000;

/// Runs at each of `rates` admissions per second (empty: 10, 100 and
/// 1,000; 100 with `--quick`).
pub async fn admit(ctx: &mut Ctx, rates: &[u64]) -> anyhow::Result<()> {
    let rates: Vec<u64> = if rates.is_empty() {
        ctx.size(vec![100], vec![10, 100, 1_000])
    } else {
        rates.to_vec()
    };
    let waiting = ctx.size(2_000, 100_000);
    let subscribed = ctx.size(1_000, 19_000);
    let window = Duration::from_secs(ctx.size(3, 10));
    let backend = ctx.backend_name();
    ctx.report.figure(
        "admit",
        backend,
        "push interval",
        ctx.push_interval.as_secs_f64() * 1000.0,
        "ms",
    );
    for rate in rates {
        eprintln!("admit: {waiting} waiting, {subscribed} subscribed, {rate} admissions/s");
        let server = ctx
            .server(&[
                ("SEATLINE_QUEUE_CAPACITY", rate.to_string()),
                ("SEATLINE_ACTIVE_TTL_SECS", "1".into()),
                (
                    "SEATLINE_PUSH_INTERVAL_MS",
                    ctx.push_interval.as_millis().to_string(),
                ),
            ])
            .await?;
        let run = measure(&server, rate, waiting, subscribed, window).await;
        server.stop().await;
        report(ctx, rate, subscribed, &run?);
    }
    Ok(())
}

/// What one window of admissions came to (shared with `scale`).
pub(super) struct Run {
    pub latency: Histogram<u64>,
    /// Admissions whose push came after the admission had lapsed (the
    /// subscriber heard EXPIRED first): late, not lost.
    pub lapsed_unpushed: usize,
    /// The most subscribed admissions in the window that share one
    /// `admittedAt`: admitted by one transaction, pushed together.
    pub largest_clump: usize,
    /// The server's share (admission → PROGRESS leaves its stream), from
    /// its own histogram: p50 and p99 in ms.
    pub server_share: Option<(f64, f64)>,
    /// The database's part of it: p50 and p99 ms to the commit's publish.
    pub commit_share: Option<(f64, f64)>,
    /// The rest, from the commit's publish to the connection: the push
    /// latency as the goal counts it (from the commit).
    pub from_commit: Option<(f64, f64)>,
    /// Subscribers that did not get their first state.
    pub failed: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub staleness: Histogram<u64>,
    pub censored: usize,
    pub admitted_in_window: usize,
    /// Messages a subscriber got after its first that were errors or a
    /// lost socket.
    pub stream_errors: usize,
    /// Position pushes received in the window, and the seconds the
    /// subscribers spent waiting in it, summed: the mean push rate of a
    /// waiter, whom admissions take out of the audience.
    pub position_pushes: usize,
    pub waiting_secs: f64,
    /// The most position pushes one subscriber received within one second.
    pub busiest_second: usize,
    pub window_secs: f64,
    pub pushes: f64,
    pub statements: f64,
    pub admissions: f64,
    /// Server CPU, cores (summed over instances).
    pub cpu: Option<f64>,
}

async fn measure(
    server: &Server,
    rate: u64,
    waiting: usize,
    subscribed: usize,
    window: Duration,
) -> anyhow::Result<Run> {
    let gql = Gql::new(&server.graphql_url());
    pump(std::slice::from_ref(&gql), rate as f64).await?;
    let users: Vec<String> = (0..waiting).map(|i| format!("wait-{i}")).collect();
    let tokens = gql.issue_many(&users, 64).await?;
    // Subscribe from just before the head of the line, so no unsubscribed
    // waiter stands ahead of a subscriber.
    let drained = server
        .metrics()
        .await?
        .get("seatline_queue_admissions_total")
        .copied()
        .unwrap_or(0.0) as usize;
    let start = drained
        .saturating_sub(rate as usize + 256)
        .min(tokens.len().saturating_sub(subscribed));
    let slice = &tokens[start..(start + subscribed).min(tokens.len())];
    let subs = Subscribers::connect(&server.ws_url(), slice).await?;
    eprintln!("  {} subscribed ({} failed)", subs.connected, subs.failed);
    let failed = subs.failed;

    let m0 = server.metrics().await?;
    let cpu0 = server.cpu_secs();
    let window_start = now_unix_us();
    let joiners = {
        let gql = gql.clone();
        tokio::spawn(open_loop(50.0, window, 256, move |i| {
            let gql = gql.clone();
            async move {
                match gql.issue(&format!("late-{i}")).await {
                    Ok(_) => Done::Ok,
                    Err(e) => Done::Error(e.to_string()),
                }
            }
        }))
    };
    tokio::time::sleep(window).await;
    let window_end = now_unix_us();
    let m1 = server.metrics().await?;
    let cpu1 = server.cpu_secs();
    let late = joiners.await?;
    anyhow::ensure!(late.errors == 0, "late joiners: {:?}", late.first_error);
    // Pushes in flight at the end of the window still arrive: a push later
    // than this is lost, not slow.
    tokio::time::sleep(LOST_AFTER).await;
    let records = subs.finish().await?;

    let delta =
        |name: &str| m1.get(name).copied().unwrap_or(0.0) - m0.get(name).copied().unwrap_or(0.0);
    let window_secs = (window_end - window_start) as f64 / 1e6;
    let subs = by_subscriber(&records);
    let mut run = analyse(&subs, window_start, window_end);
    run.failed = failed;
    run.lost = lost(std::slice::from_ref(&gql), slice, &subs, window_end).await?;
    run.window_secs = window_secs;
    run.pushes = delta("seatline_pushes_total");
    run.statements = delta("seatline_db_statements_total");
    run.admissions = delta("seatline_queue_admissions_total");
    run.cpu = cpu0.zip(cpu1).map(|(a, b)| (b - a) / window_secs);
    // p50 and p99 of one of the server's histograms, in ms.
    let ms = |name: &str| {
        let q = |q| histogram_quantile(&m0, &m1, name, q);
        q(0.5).zip(q(0.99)).map(|(a, b)| (a * 1e3, b * 1e3))
    };
    run.server_share = ms("seatline_admission_push_seconds");
    run.commit_share = ms("seatline_admission_commit_seconds");
    run.from_commit = ms("seatline_admission_notify_seconds");
    Ok(run)
}

/// Per subscriber: messages in order of receipt.
pub(super) fn by_subscriber(records: &[Record]) -> HashMap<usize, Vec<Record>> {
    let mut subs: HashMap<usize, Vec<Record>> = HashMap::new();
    for r in records {
        subs.entry(r.index).or_default().push(*r);
    }
    for msgs in subs.values_mut() {
        msgs.sort_by_key(|r| r.received_us);
    }
    subs
}

pub(super) fn analyse(
    subs: &HashMap<usize, Vec<Record>>,
    window_start: i64,
    window_end: i64,
) -> Run {
    let mut latency = histogram();
    let mut duplicated = 0;
    let mut lapsed_unpushed = 0;
    // Every admission of a subscriber that was waiting when it subscribed.
    let mut admissions: Vec<i64> = Vec::new();
    for msgs in subs.values() {
        if msgs.first().map(|r| r.status) != Some(Status::Waiting) {
            continue;
        }
        let progress: Vec<&Record> = msgs
            .iter()
            .filter(|r| r.status == Status::Progress)
            .collect();
        // The user learns of the admission from PROGRESS, or, when the push
        // came later than the admission's whole TTL, from EXPIRED.
        let news = msgs
            .iter()
            .find(|r| r.admitted_us.is_some() && r.status != Status::Waiting);
        if let Some(first) = news
            && let Some(at) = first.admitted_us
        {
            admissions.push(at);
            if (window_start..=window_end).contains(&at) {
                let _ = latency.record((first.received_us - at).max(1) as u64);
                lapsed_unpushed += usize::from(first.status != Status::Progress);
            }
            duplicated += progress.len().saturating_sub(1);
        }
    }
    admissions.sort_unstable();
    let in_window: Vec<usize> = (0..admissions.len())
        .filter(|&k| (window_start..=window_end).contains(&admissions[k]))
        .collect();
    let waiters = subs
        .values()
        .filter(|m| m.first().map(|r| r.status) == Some(Status::Waiting))
        .count();
    let largest_clump = in_window
        .chunk_by(|&a, &b| admissions[a] == admissions[b])
        .map(<[usize]>::len)
        .max()
        .unwrap_or(0);
    let stride = (waiters * in_window.len() / SAMPLES).max(1);
    let mut staleness = histogram();
    let mut censored = 0;
    for msgs in subs.values() {
        let Some(first) = msgs.first().filter(|r| r.status == Status::Waiting) else {
            continue;
        };
        let Some(p0) = first.position else { continue };
        let own = msgs
            .iter()
            .find(|r| r.status != Status::Waiting)
            .map(|r| (r.admitted_us.unwrap_or(r.received_us), r.received_us));
        let before = admissions.partition_point(|&t| t <= first.received_us);
        for &k in in_window.iter().step_by(stride) {
            let at = admissions[k];
            if at <= first.received_us || own.is_some_and(|(admitted, _)| at >= admitted) {
                continue;
            }
            let expected = p0 - (k + 1 - before) as i64;
            let seen = msgs
                .iter()
                .find(|r| r.received_us >= at && r.position.is_some_and(|p| p <= expected))
                .map(|r| r.received_us)
                .or_else(|| own.map(|(_, received)| received));
            let until = match seen {
                Some(t) => t,
                None => {
                    censored += 1;
                    window_end
                }
            };
            let _ = staleness.record((until - at).max(1) as u64);
        }
    }
    let rates = push_rates(subs, window_start, window_end);
    Run {
        latency,
        lapsed_unpushed,
        largest_clump,
        server_share: None,
        commit_share: None,
        from_commit: None,
        failed: 0,
        lost: 0,
        duplicated,
        staleness,
        censored,
        admitted_in_window: in_window.len(),
        stream_errors: subs
            .values()
            .flatten()
            .filter(|r| r.status == Status::Error)
            .count(),
        position_pushes: rates.pushes,
        waiting_secs: rates.waiting_secs,
        busiest_second: rates.busiest_second,
        window_secs: 0.0,
        pushes: 0.0,
        statements: 0.0,
        admissions: 0.0,
        cpu: None,
    }
}

/// What waiting subscribers received in the window: see [`Run`].
struct PushRates {
    pushes: usize,
    waiting_secs: f64,
    busiest_second: usize,
}

/// Counts, for each subscriber waiting when it subscribed, the position
/// pushes (WAITING messages after the first) received in the window, and
/// the time it spent waiting in the window: until the message that told
/// it otherwise, or the window's end.
fn push_rates(subs: &HashMap<usize, Vec<Record>>, window_start: i64, window_end: i64) -> PushRates {
    let mut rates = PushRates {
        pushes: 0,
        waiting_secs: 0.0,
        busiest_second: 0,
    };
    for msgs in subs.values() {
        let Some(first) = msgs.first().filter(|r| r.status == Status::Waiting) else {
            continue;
        };
        let from = first.received_us.max(window_start);
        let until = msgs
            .iter()
            .find(|r| r.status != Status::Waiting)
            .map_or(window_end, |r| r.received_us)
            .min(window_end);
        if until <= from {
            continue;
        }
        rates.waiting_secs += (until - from) as f64 / 1e6;
        let pushes: Vec<i64> = msgs[1..]
            .iter()
            .filter(|r| r.status == Status::Waiting && (from..until).contains(&r.received_us))
            .map(|r| r.received_us)
            .collect();
        rates.pushes += pushes.len();
        // The most pushes within any one second: `pushes[i..=j]` spans
        // less than a second.
        let mut i = 0;
        for j in 0..pushes.len() {
            while pushes[j] - pushes[i] >= 1_000_000 {
                i += 1;
            }
            rates.busiest_second = rates.busiest_second.max(j + 1 - i);
        }
    }
    rates
}

/// Subscribers admitted (by the database's account) within the window
/// that never received PROGRESS, and of those, the ones that received
/// EXPIRED instead. Each is asked on its own instance
/// (`gqls[index % gqls.len()]`, as it subscribed), 64 at a time.
pub(super) async fn lost(
    gqls: &[Gql],
    tokens: &[String],
    subs: &HashMap<usize, Vec<Record>>,
    window_end: i64,
) -> anyhow::Result<usize> {
    use futures_util::{StreamExt, TryStreamExt};
    anyhow::ensure!(!gqls.is_empty(), "no server to ask");
    // Told of the admission by PROGRESS, or by EXPIRED when the push came
    // after the whole admission (late, counted in `lapsed_unpushed`).
    let unpushed: Vec<(usize, i64)> = (0..tokens.len())
        .filter_map(|index| {
            let msgs = subs.get(&index)?;
            let first = msgs.first().filter(|r| r.status == Status::Waiting)?;
            let told = msgs
                .iter()
                .any(|r| r.status != Status::Waiting && r.admitted_us.is_some());
            (!told).then_some((index, first.received_us))
        })
        .collect();
    let lost: Vec<bool> = futures_util::stream::iter(unpushed)
        .map(|(index, subscribed)| {
            let gql = gqls[index % gqls.len()].clone();
            let token = tokens[index].clone();
            async move {
                let data = match gql
                    .call(
                        Some(&token),
                        "{ queueTicket { status admittedAt } }",
                        json!({}),
                    )
                    .await
                {
                    Outcome::Data(d) => d,
                    other => anyhow::bail!("queueTicket: {other:?}"),
                };
                let admitted = unix_us(&text(&data, "/queueTicket/admittedAt"));
                Ok(admitted.is_some_and(|at| at > subscribed && at < window_end))
            }
        })
        .buffer_unordered(64)
        .try_collect()
        .await?;
    Ok(lost.into_iter().filter(|lost| *lost).count())
}

fn report(ctx: &mut Ctx, rate: u64, subscribed: usize, run: &Run) {
    let at = |what: &str| format!("{what} ({rate} admissions/s, {subscribed} subscribed)");
    ctx.report.check(
        "admit",
        ctx.backend_name(),
        &at("every subscriber got its first state"),
        run.failed == 0,
        &format!("{} of {subscribed} did not", run.failed),
    );
    report_run(ctx, "admit", &at, run, 10.0);
}

/// The rows of one window (shared with `scale`): push latency against
/// `push_goal_ms` at p99, lost and duplicated pushes and failed streams
/// (invariants),
/// staleness, messages, server CPU and statements; `at` labels a figure.
pub(super) fn report_run(
    ctx: &mut Ctx,
    s: &str,
    at: &dyn Fn(&str) -> String,
    run: &Run,
    push_goal_ms: f64,
) {
    let b = ctx.backend_name();
    ctx.report.figure(
        s,
        b,
        &at("admissions measured"),
        run.admitted_in_window as f64,
        "",
    );
    ctx.report.figure(
        s,
        b,
        &at("admission pushes received as PROGRESS"),
        run.latency.len() as f64,
        "",
    );
    if run.latency.is_empty() {
        eprintln!("  no admission of the window was pushed as PROGRESS: no latency figures");
    } else {
        push_latency(ctx, s, at, run, push_goal_ms);
    }
    report_rest(ctx, s, at, run);
}

fn push_latency(ctx: &mut Ctx, s: &str, at: &dyn Fn(&str) -> String, run: &Run, push_goal_ms: f64) {
    let b = ctx.backend_name();
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    ctx.report
        .figure(s, b, &at("admission push p50"), ms(&run.latency, 0.5), "ms");
    ctx.report.goal(
        s,
        b,
        &at("admission push p99"),
        ms(&run.latency, 0.99),
        "ms",
        Goal::AtMost(push_goal_ms),
    );
    ctx.report.figure(
        s,
        b,
        &at("admission push max"),
        run.latency.max() as f64 / 1000.0,
        "ms",
    );
    if let Some((p50, p99)) = run.server_share {
        ctx.report.figure(
            s,
            b,
            &at("admission push p50, server share (to the connection)"),
            p50,
            "ms",
        );
        // A part of the push's path, not the goal's whole: a figure.
        ctx.report.figure(
            s,
            b,
            &at("admission push p99, server share (to the connection)"),
            p99,
            "ms",
        );
    }
    if let Some((p50, p99)) = run.commit_share {
        for (q, ms) in [("p50", p50), ("p99", p99)] {
            let figure = format!("admission push {q}, of which to the commit's publish");
            ctx.report.figure(s, b, &at(&figure), ms, "ms");
        }
    }
    if let Some((p50, p99)) = run.from_commit {
        let figure = "admission push p50 from the commit, server (to the connection)";
        ctx.report.figure(s, b, &at(figure), p50, "ms");
        let figure = "admission push p99 from the commit, server (to the connection)";
        ctx.report.figure(s, b, &at(figure), p99, "ms");
    }
}

fn report_rest(ctx: &mut Ctx, s: &str, at: &dyn Fn(&str) -> String, run: &Run) {
    let b = ctx.backend_name();
    ctx.report.check(
        s,
        b,
        &at("no subscription failed after its first state"),
        run.stream_errors == 0,
        &format!(
            "{} errors, unexpected messages or lost sockets",
            run.stream_errors
        ),
    );
    ctx.report.check(
        s,
        b,
        &at("no admission push lost"),
        run.lost == 0,
        &format!(
            "{} subscribers admitted in the window got no PROGRESS within {LOST_AFTER:?} after it",
            run.lost
        ),
    );
    ctx.report.figure(
        s,
        b,
        &at("admissions pushed only after they lapsed (EXPIRED first)"),
        run.lapsed_unpushed as f64,
        "",
    );
    // Slots freed by lapses stay in step: a settle stamps every waiter it
    // admits with one `admittedAt`, so they lapse together again, and a
    // late settle merges two groups for good.
    ctx.report.figure(
        s,
        b,
        &at("subscribed admissions sharing one admittedAt, largest group"),
        run.largest_clump as f64,
        "",
    );
    ctx.report.check(
        s,
        b,
        &at("no admission push duplicated"),
        run.duplicated == 0,
        &format!("{} duplicate PROGRESS messages", run.duplicated),
    );
    if run.staleness.is_empty() {
        eprintln!("  no admission known in the window: no staleness figures");
    } else {
        staleness(ctx, s, at, run);
    }
    report_load(ctx, s, at, run);
}

fn staleness(ctx: &mut Ctx, s: &str, at: &dyn Fn(&str) -> String, run: &Run) {
    let b = ctx.backend_name();
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    ctx.report.figure(
        s,
        b,
        &at("position staleness p50"),
        ms(&run.staleness, 0.5),
        "ms",
    );
    ctx.report.goal(
        s,
        b,
        &at("position staleness p99"),
        ms(&run.staleness, 0.99),
        "ms",
        Goal::AtMost(1_000.0),
    );
    ctx.report.figure(
        s,
        b,
        &at("staleness samples never refreshed in the window"),
        run.censored as f64,
        "",
    );
}

fn report_load(ctx: &mut Ctx, s: &str, at: &dyn Fn(&str) -> String, run: &Run) {
    let b = ctx.backend_name();
    // Over the time each subscriber spent waiting in the window: the
    // admitted leave the audience (at 1,000 a second, half of it).
    let per_sub = run.position_pushes as f64 / run.waiting_secs.max(1e-9);
    ctx.report.goal(
        s,
        b,
        &at("position pushes per waiting subscriber per second"),
        per_sub,
        "/s",
        // Issue 3's goal. At the SPEC's default interval (500 ms) a line
        // that moves more often than once a second brings up to two
        // position pushes a second, and this says so.
        Goal::AtMost(1.0),
    );
    ctx.report.figure(
        s,
        b,
        &at("most position pushes one subscriber received within a second"),
        run.busiest_second as f64,
        "",
    );
    ctx.report.figure(
        s,
        b,
        &at("messages pushed"),
        run.pushes / run.window_secs,
        "/s",
    );
    if let Some(cpu) = run.cpu {
        ctx.report
            .figure(s, b, &at("server CPU"), 100.0 * cpu, "% of a core");
    }
    ctx.report.figure(
        s,
        b,
        &at("database statements"),
        run.statements / run.window_secs,
        "/s",
    );
    if run.admissions > 0.0 {
        ctx.report.figure(
            s,
            b,
            &at("database statements per admission (joins included)"),
            run.statements / run.admissions,
            "",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: usize, received_us: i64, status: Status, admitted_us: Option<i64>) -> Record {
        Record {
            index,
            received_us,
            status,
            position: (status == Status::Waiting).then_some(index as i64),
            admitted_us,
        }
    }

    #[test]
    fn push_rates_count_waiting_time_alone() {
        // Subscriber 0 waits the whole 3 s window, pushed at 0.5, 1.0, 1.4
        // and 2.6 s; subscriber 1 is admitted at 1 s, pushed once before.
        let mut records = vec![record(0, 0, Status::Waiting, None)];
        for at in [500_000, 1_000_000, 1_400_000, 2_600_000] {
            records.push(record(0, at, Status::Waiting, None));
        }
        records.push(record(1, 0, Status::Waiting, None));
        records.push(record(1, 600_000, Status::Waiting, None));
        records.push(record(1, 1_000_000, Status::Progress, Some(990_000)));
        records.push(record(1, 2_000_000, Status::Error, None));
        let run = analyse(&by_subscriber(&records), 0, 3_000_000);
        assert_eq!(run.position_pushes, 5);
        assert!(
            (run.waiting_secs - 4.0).abs() < 1e-9,
            "{}",
            run.waiting_secs
        );
        assert_eq!(run.busiest_second, 3, "0.5, 1.0 and 1.4 s");
        assert_eq!(run.stream_errors, 1);
    }

    #[test]
    fn admissions_of_one_transaction_count_as_one_clump() {
        // Subscribers 0 and 1 are admitted by one settle, 2 by a later one.
        let mut records = Vec::new();
        for (index, admitted) in [(0, 1_000), (1, 1_000), (2, 2_000)] {
            records.push(record(index, 0, Status::Waiting, None));
            records.push(record(
                index,
                admitted + 5,
                Status::Progress,
                Some(admitted),
            ));
        }
        let run = analyse(&by_subscriber(&records), 0, 10_000);
        assert_eq!(run.largest_clump, 2);
        assert_eq!(run.latency.len(), 3);
        assert_eq!(run.duplicated, 0);
    }
}
