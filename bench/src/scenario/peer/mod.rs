//! `peer`: the same waiters, at the same admission rate, kept informed by
//! three designs side by side on this machine:
//!
//! - Seatline: every waiter subscribed to `queueUpdates` over WebSocket,
//!   positions pushed (coalesced every 500 ms);
//! - the seed's design: each waiter polls every 10 s, and each poll reads
//!   its ticket and runs `SELECT count(*) … WHERE status = 'WAITING' AND
//!   entered_at < mine` on PostgreSQL;
//! - the hhplus design: each waiter polls every second, and each poll runs
//!   `ZRANK` on a Redis sorted set.
//!
//! The peers run as `seatline-bench peer-server` processes on the same
//! axum and tokio stack (see `crate::peer`). Slots free the same way for
//! all: Seatline by lapses (capacity = rate, active TTL 1 s, as `admit`
//! does), the peers by a scheduler admitting the head of the line at the
//! same rate.
//!
//! Figures per design and waiter count: server CPU-seconds per minute (the
//! server process, plus `redis-server` for the Redis design and the
//! PostgreSQL backends of the run's database for the seed's and for
//! Seatline on PostgreSQL), store operations per second, position
//! staleness (defined in `analysis`), admission notice, and whether the
//! design kept its schedule: for pollers, every poll answered with p99
//! latency within the poll interval and at least 90% of the scheduled poll
//! rate achieved; for Seatline, staleness p99 within 1 s (goal G-fresh)
//! with every subscriber connected. Waiter counts ramp up; the first count
//! not kept is the design's saturation point.

mod analysis;
mod poll;
mod process;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use self::analysis::{
    Saturation, Schedule, Seen, Staleness, Waiter, Window, saturation, staleness,
};
use self::process::{
    PeerProcess, busy_share, children_of, cpu_delta, cpu_of, machine_ticks, pg_backends, pids_named,
};
use super::Ctx;
use crate::client::{Gql, now_unix_us};
use crate::peer::Design;
use crate::report::Goal;
use crate::server::{Backend, FreshDb, Server};
use crate::subscribers::{Record, Status, Subscribers};

/// The default Redis, when `--redis-url` is not given.
pub const DEFAULT_REDIS: &str = "redis://127.0.0.1:6379/";
/// The PostgreSQL the seed's design uses unless `--database-url` names one.
const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Admissions per second, for every design.
const ADMIT_PER_SEC: f64 = 10.0;
/// Staleness samples per run, at most.
const SAMPLES: usize = 2_000_000;
/// Outstanding polls at most: beyond this many the server is not keeping
/// up (Little's law at these rates), and sockets would run out.
const MAX_IN_FLIGHT: usize = 4_096;
/// One Seatline process holds at most about 19,500 sockets (the fd cap).
const SEATLINE_MAX: usize = 19_000;

/// How a design keeps waiters informed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Seatline,
    Polled(Design),
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::Seatline => "Seatline push",
            Self::Polled(Design::Redis) => "Redis ZSET poll 1 s",
            Self::Polled(Design::Seed) => "seed count query poll 10 s",
        }
    }
}

/// How often a polled design's waiters poll.
fn poll_interval(design: Design) -> Duration {
    match design {
        Design::Redis => Duration::from_secs(1),
        Design::Seed => Duration::from_secs(10),
    }
}

/// How long after the last sampled admission a run goes on, so that every
/// waiter can be refreshed: one refresh `interval` and a margin.
fn horizon(interval: Duration) -> Duration {
    interval + Duration::from_millis(500)
}

/// One design at one waiter count.
struct Run {
    kind: Kind,
    store: String,
    waiters: usize,
    window_s: f64,
    /// CPU seconds in the window: the server process, and its store's.
    app_cpu: Option<f64>,
    store_cpu: Option<f64>,
    /// Store statements or commands in the window, as the server counts
    /// them.
    ops: f64,
    /// Commands in the window as Redis counts them (`INFO stats`), every
    /// client included.
    store_commands: Option<f64>,
    staleness: Staleness,
    /// Pollers only.
    schedule: Option<Schedule>,
    /// Seatline only: messages pushed in the window.
    pushes: Option<f64>,
    kept: bool,
    /// CPU seconds of the load generator in the window: the subscriber
    /// workers for Seatline, this process for the pollers.
    client_cpu: f64,
    /// Share of all cores busy in the window, every process counted
    /// (other users of the machine included).
    machine_busy: Option<f64>,
}

impl Run {
    fn cpu_per_min(&self) -> Option<f64> {
        self.app_cpu
            .map(|app| (app + self.store_cpu.unwrap_or(0.0)) / self.window_s * 60.0)
    }
}

/// Runs every design at every waiter count of this mode (or at `waiters`,
/// when given), then reports.
pub async fn peer(ctx: &mut Ctx, redis_url: &str, waiters: &[usize]) -> anyhow::Result<()> {
    let (sizes, beyond): (Vec<usize>, Vec<usize>) = if waiters.is_empty() {
        (
            ctx.size(vec![1_000], vec![2_000, 5_000, 10_000, 14_000, 19_000]),
            // Pollers go on past 19,000 while they keep their schedule.
            ctx.size(vec![], vec![30_000, 40_000, 80_000]),
        )
    } else {
        (waiters.to_vec(), Vec::new())
    };
    let headline = sizes
        .iter()
        .copied()
        .filter(|&n| n <= SEATLINE_MAX)
        .max()
        .unwrap_or(SEATLINE_MAX);
    let measure = Duration::from_secs(ctx.size(1, 15));
    let pg_admin = match &ctx.backend {
        Backend::Postgres(url) => url.clone(),
        Backend::Sqlite => DEFAULT_PG.to_owned(),
    };
    let mut runs = Vec::new();
    for &n in sizes.iter().filter(|&&n| n <= SEATLINE_MAX) {
        runs.push(seatline(ctx, n, measure).await?);
    }
    for design in [Design::Redis, Design::Seed] {
        let store_url = match design {
            Design::Redis => redis_url,
            Design::Seed => pg_admin.as_str(),
        };
        if let Err(e) = reachable(design, store_url).await {
            eprintln!("peer: skipping the {} design: {e:#}", design.name());
            continue;
        }
        let mut kept = true;
        for &n in sizes.iter().chain(&beyond) {
            if n > sizes.iter().copied().max().unwrap_or(0) && !kept {
                break;
            }
            let run = polled(design, n, measure, store_url).await?;
            kept = run.kept;
            runs.push(run);
        }
    }
    if runs.iter().any(|r| r.kind == Kind::Seatline) {
        let backend = ctx.backend_name();
        ctx.report.figure(
            "peer",
            backend,
            &format!("{}: push interval", Kind::Seatline.label()),
            ctx.push_interval.as_secs_f64() * 1000.0,
            "ms",
        );
    }
    report(ctx, &runs, headline);
    Ok(())
}

async fn reachable(design: Design, url: &str) -> anyhow::Result<()> {
    match design {
        Design::Redis => {
            let client = redis::Client::open(url)?;
            let mut conn = tokio::time::timeout(
                Duration::from_secs(3),
                client.get_multiplexed_async_connection(),
            )
            .await??;
            let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        }
        Design::Seed => {
            FreshDb::create(&Backend::Postgres(url.to_owned()))
                .await?
                .drop_db()
                .await;
        }
    }
    Ok(())
}

async fn seatline(ctx: &Ctx, n: usize, measure: Duration) -> anyhow::Result<Run> {
    eprintln!(
        "peer: Seatline, {n} waiters subscribed, {ADMIT_PER_SEC} admissions/s, \
         pushes every {} ms",
        ctx.push_interval.as_millis()
    );
    let server = ctx
        .server(&[
            ("SEATLINE_QUEUE_CAPACITY", format!("{ADMIT_PER_SEC}")),
            ("SEATLINE_ACTIVE_TTL_SECS", "1".into()),
            (
                "SEATLINE_PUSH_INTERVAL_MS",
                ctx.push_interval.as_millis().to_string(),
            ),
        ])
        .await?;
    let run = seatline_measure(ctx, &server, n, measure).await;
    server.stop().await;
    run
}

async fn seatline_measure(
    ctx: &Ctx,
    server: &Server,
    n: usize,
    measure: Duration,
) -> anyhow::Result<Run> {
    let gql = Gql::new(&server.graphql_url());
    // Admissions by lapses, as in `admit`.
    super::pump(std::slice::from_ref(&gql), ADMIT_PER_SEC).await?;
    let users: Vec<String> = (0..n).map(|i| format!("peer-{i}")).collect();
    let tokens = gql.issue_many(&users, 64).await?;
    let subs = Subscribers::connect(&server.ws_url(), &tokens).await?;
    eprintln!("  {} subscribed ({} failed)", subs.connected, subs.failed);
    let pg_url = match (&ctx.backend, &server.db) {
        (Backend::Postgres(_), Some(db)) => Some(db.url.clone()),
        _ => None,
    };
    let store0 = match &pg_url {
        Some(url) => Some(cpu_of(&pg_backends(url).await?)),
        None => None,
    };
    // The subscriber workers: this process's children but the server.
    let workers = || {
        let mut pids = children_of(std::process::id());
        pids.retain(|&p| Some(p) != server.pid());
        cpu_of(&pids)
    };
    let m0 = server.metrics().await?;
    let cpu0 = server.cpu_secs();
    let (client0, ticks0) = (workers(), machine_ticks());
    let start = now_unix_us();
    tokio::time::sleep(measure + horizon(ctx.push_interval)).await;
    let end = now_unix_us();
    let (client1, ticks1) = (workers(), machine_ticks());
    let m1 = server.metrics().await?;
    let cpu1 = server.cpu_secs();
    let store_cpu = match (&pg_url, store0) {
        (Some(url), Some(before)) => Some(cpu_delta(&before, &cpu_of(&pg_backends(url).await?))),
        _ => None,
    };
    let failed = subs.failed;
    let records = subs.finish().await?;
    let delta =
        |name: &str| m1.get(name).copied().unwrap_or(0.0) - m0.get(name).copied().unwrap_or(0.0);

    let waiters = seatline_waiters(&records, n);
    let mut admissions: Vec<i64> = waiters.iter().filter_map(|w| w.admitted_us).collect();
    admissions.sort_unstable();
    let window = Window {
        start_us: start,
        cutoff_us: start + measure.as_micros() as i64,
        end_us: end,
    };
    let staleness = staleness(&admissions, &waiters, window, SAMPLES);
    let kept = failed == 0 && staleness.ms(0.99) <= 1_000.0;
    Ok(Run {
        kind: Kind::Seatline,
        store: ctx.backend_name().to_owned(),
        waiters: n,
        window_s: (end - start) as f64 / 1e6,
        app_cpu: cpu0.zip(cpu1).map(|(a, b)| b - a),
        store_cpu,
        ops: delta("seatline_db_statements_total"),
        store_commands: None,
        staleness,
        schedule: None,
        pushes: Some(delta("seatline_pushes_total")),
        kept,
        client_cpu: cpu_delta(&client0, &client1),
        machine_busy: ticks0.zip(ticks1).map(|(a, b)| busy_share(a, b)),
    })
}

/// Each subscriber's messages as what it saw, and its admission time.
fn seatline_waiters(records: &[Record], n: usize) -> Vec<Waiter> {
    let mut waiters = vec![Waiter::default(); n];
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by_key(|r| r.received_us);
    for r in sorted {
        let Some(w) = waiters.get_mut(r.index) else {
            continue;
        };
        match r.status {
            Status::Waiting => w.seen.push(Seen {
                at_us: r.received_us,
                position: r.position,
            }),
            Status::Progress | Status::Done | Status::Expired => {
                if w.admitted_us.is_none() {
                    w.admitted_us = r.admitted_us;
                }
                w.seen.push(Seen {
                    at_us: r.received_us,
                    position: None,
                });
            }
            Status::Complete | Status::Error => {}
        }
    }
    waiters
}

async fn polled(
    design: Design,
    n: usize,
    measure: Duration,
    store_url: &str,
) -> anyhow::Result<Run> {
    let kind = Kind::Polled(design);
    eprintln!(
        "peer: {}, {n} waiters, {ADMIT_PER_SEC} admissions/s",
        kind.label()
    );
    let fresh = match design {
        Design::Seed => Some(FreshDb::create(&Backend::Postgres(store_url.to_owned())).await?),
        Design::Redis => None,
    };
    let url = fresh.as_ref().map_or(store_url, |db| db.url.as_str());
    let prefix = format!(
        "seatline-bench:peer:{}:{}:",
        std::process::id(),
        now_unix_us()
    );
    let run = match PeerProcess::start(design, url, &prefix, ADMIT_PER_SEC).await {
        Ok(peer) => {
            let run = polled_measure(&peer, design, n, measure, fresh.as_ref()).await;
            peer.stop().await;
            run
        }
        Err(e) => Err(e),
    };
    if let Some(db) = fresh {
        db.drop_db().await;
    }
    run
}

async fn polled_measure(
    peer: &PeerProcess,
    design: Design,
    n: usize,
    measure: Duration,
    fresh: Option<&FreshDb>,
) -> anyhow::Result<Run> {
    let kind = Kind::Polled(design);
    let tickets = join(&peer.base, n).await?;
    if let Some(db) = fresh {
        // The table as autovacuum would leave it in a steady state: the
        // seed's best case.
        use sea_orm::ConnectionTrait;
        let conn = db.connect().await?;
        conn.execute_unprepared("VACUUM ANALYZE queue_ticket")
            .await?;
        conn.close().await?;
    }
    let index: HashMap<String, usize> = tickets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i))
        .collect();
    // Every waiter polls once before the window opens: samples are only
    // taken for waiters that have seen a position, and without this lead
    // they would come from early pollers only, whose next poll is
    // furthest away.
    let interval = poll_interval(design);
    let lead = interval + Duration::from_millis(200);
    let polls = tokio::spawn({
        let (base, tickets) = (peer.base.clone(), Arc::new(tickets));
        let duration = lead + measure + horizon(interval);
        async move { poll::poll(&base, tickets, interval, duration, MAX_IN_FLIGHT).await }
    });
    tokio::time::sleep(lead).await;
    let store_pids = || async {
        match fresh {
            Some(db) => pg_backends(&db.url).await,
            None => Ok(pids_named("redis-server")),
        }
    };
    let me = || cpu_of(&[std::process::id()]);
    let s0 = peer.stats().await?;
    let cpu0 = peer.cpu_secs();
    let store0 = cpu_of(&store_pids().await?);
    let (client0, ticks0) = (me(), machine_ticks());
    let start = now_unix_us();
    tokio::time::sleep(measure + horizon(interval)).await;
    let end = now_unix_us();
    let (client1, ticks1) = (me(), machine_ticks());
    let s1 = peer.stats().await?;
    let cpu1 = peer.cpu_secs();
    let store1 = cpu_of(&store_pids().await?);
    let polls = polls.await?;
    eprintln!(
        "  {} admitted in the window; {} store operations",
        s1.admitted - s0.admitted,
        s1.ops - s0.ops
    );
    eprintln!(
        "  {} polls due, {} answered, {} shed, {} errors{}; p50 {:.1} ms, p99 {:.1} ms",
        polls.due,
        polls.answered,
        polls.shed,
        polls.errors,
        polls
            .first_error
            .as_deref()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default(),
        polls.latency.value_at_quantile(0.5) as f64 / 1000.0,
        polls.latency.value_at_quantile(0.99) as f64 / 1000.0,
    );

    let mut waiters: Vec<Waiter> = polls
        .seen
        .iter()
        .map(|seen| Waiter {
            seen: seen.clone(),
            admitted_us: None,
        })
        .collect();
    let mut admissions = Vec::new();
    for (ticket, at) in peer.admissions().await? {
        admissions.push(at);
        if let Some(&i) = index.get(&ticket) {
            waiters[i].admitted_us = Some(at);
        }
    }
    admissions.sort_unstable();
    let window = Window {
        start_us: start,
        cutoff_us: start + measure.as_micros() as i64,
        end_us: end,
    };
    let schedule = Schedule {
        due: polls.due,
        answered: polls.answered,
        errors: polls.errors,
        duration_s: polls.duration.as_secs_f64(),
        elapsed_s: polls.elapsed.as_secs_f64(),
        p99_ms: polls.latency.value_at_quantile(0.99) as f64 / 1000.0,
        interval_ms: interval.as_secs_f64() * 1000.0,
    };
    Ok(Run {
        kind,
        store: match design {
            Design::Seed => "postgres".into(),
            Design::Redis => "redis".into(),
        },
        waiters: n,
        window_s: (end - start) as f64 / 1e6,
        app_cpu: cpu0.zip(cpu1).map(|(a, b)| b - a),
        store_cpu: Some(cpu_delta(&store0, &store1)),
        ops: (s1.ops - s0.ops) as f64,
        store_commands: s0
            .store_commands
            .zip(s1.store_commands)
            .map(|(a, b)| b.saturating_sub(a) as f64),
        staleness: staleness(&admissions, &waiters, window, SAMPLES),
        kept: schedule.kept(),
        schedule: Some(schedule),
        pushes: None,
        client_cpu: cpu_delta(&client0, &client1),
        machine_busy: ticks0.zip(ticks1).map(|(a, b)| busy_share(a, b)),
    })
}

/// Joins `n` users, 64 at a time; their tickets in order.
async fn join(base: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let http = reqwest::Client::new();
    futures_util::stream::iter(0..n)
        .map(|i| {
            let http = http.clone();
            async move {
                let body: Value = http
                    .post(format!("{base}/join"))
                    .json(&json!({ "user": format!("peer-{i}") }))
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                body["ticket"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow::anyhow!("no ticket in {body}"))
            }
        })
        .buffered(64)
        .try_collect()
        .await
}

fn report(ctx: &mut Ctx, runs: &[Run], headline: usize) {
    let s = "peer";
    for run in runs {
        let b = run.store.as_str();
        let at = |what: &str| format!("{}: {what} ({} waiters)", run.kind.label(), run.waiters);
        if let Some(cpu) = run.cpu_per_min() {
            ctx.report
                .figure(s, b, &at("server CPU, store included"), cpu, "CPU-s/min");
        }
        if let Some(store) = run.store_cpu {
            let what = match run.kind {
                Kind::Polled(Design::Redis) => "of which redis-server",
                _ => "of which PostgreSQL backends",
            };
            ctx.report
                .figure(s, b, &at(what), store / run.window_s * 60.0, "CPU-s/min");
        }
        let unit = match run.kind {
            Kind::Polled(Design::Redis) => "commands/s",
            _ => "statements/s",
        };
        ctx.report
            .figure(s, b, &at("store operations"), run.ops / run.window_s, unit);
        if let Some(commands) = run.store_commands {
            ctx.report.figure(
                s,
                b,
                &at("commands processed by redis-server (INFO stats, every client)"),
                commands / run.window_s,
                "/s",
            );
        }
        if let Some(pushes) = run.pushes {
            ctx.report
                .figure(s, b, &at("messages pushed"), pushes / run.window_s, "/s");
        }
        let st = &run.staleness;
        ctx.report
            .figure(s, b, &at("admissions sampled"), st.admissions as f64, "");
        ctx.report
            .figure(s, b, &at("position staleness p50"), st.ms(0.5), "ms");
        ctx.report
            .figure(s, b, &at("position staleness p99"), st.ms(0.99), "ms");
        ctx.report.figure(
            s,
            b,
            &at("staleness samples never refreshed"),
            st.censored as f64,
            "",
        );
        ctx.report
            .figure(s, b, &at("admission notice p99"), st.notice_ms(0.99), "ms");
        if let Some(sch) = run.schedule {
            ctx.report.figure(s, b, &at("poll p99"), sch.p99_ms, "ms");
            ctx.report.figure(
                s,
                b,
                &at("poll rate achieved"),
                100.0 * sch.achieved(),
                "% of scheduled",
            );
        }
        ctx.report.figure(
            s,
            b,
            &at("load generator CPU"),
            run.client_cpu / run.window_s * 60.0,
            "CPU-s/min",
        );
        if let Some(busy) = run.machine_busy {
            ctx.report.figure(
                s,
                b,
                &at("machine CPU busy, every process"),
                100.0 * busy,
                "% of all cores",
            );
        }
        ctx.report.figure(
            s,
            b,
            &at("kept its schedule"),
            if run.kept { 1.0 } else { 0.0 },
            "1 = yes",
        );
    }
    for kind in [
        Kind::Seatline,
        Kind::Polled(Design::Redis),
        Kind::Polled(Design::Seed),
    ] {
        let steps: Vec<(usize, bool)> = runs
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| (r.waiters, r.kept))
            .collect();
        let Some(store) = runs
            .iter()
            .find(|r| r.kind == kind)
            .map(|r| r.store.clone())
        else {
            continue;
        };
        let largest = steps.iter().map(|s| s.0).max().unwrap_or(0);
        match saturation(&steps) {
            Saturation {
                failed_at: Some(failed),
                kept_up_to,
            } => {
                ctx.report.figure(
                    s,
                    &store,
                    &format!(
                        "{}: saturates at (first waiter count not kept)",
                        kind.label()
                    ),
                    failed as f64,
                    "waiters",
                );
                if let Some(kept) = kept_up_to {
                    ctx.report.figure(
                        s,
                        &store,
                        &format!("{}: largest waiter count kept", kind.label()),
                        kept as f64,
                        "waiters",
                    );
                }
            }
            Saturation {
                failed_at: None, ..
            } => ctx.report.figure(
                s,
                &store,
                &format!(
                    "{}: kept its schedule at every count run (saturates above)",
                    kind.label()
                ),
                largest as f64,
                "waiters",
            ),
        }
    }
    let cpu_at = |kind: Kind| {
        runs.iter()
            .find(|r| r.kind == kind && r.waiters == headline)
            .and_then(Run::cpu_per_min)
    };
    let seatline = cpu_at(Kind::Seatline);
    if let (Some(ours), Some(redis)) = (seatline, cpu_at(Kind::Polled(Design::Redis))) {
        ctx.report.goal(
            s,
            ctx.backend_name(),
            &format!("Seatline CPU / Redis ZSET peer CPU ({headline} waiters)"),
            ours / redis,
            "ratio",
            Goal::AtMost(0.25),
        );
    }
    if let (Some(ours), Some(seed)) = (seatline, cpu_at(Kind::Polled(Design::Seed))) {
        ctx.report.figure(
            s,
            ctx.backend_name(),
            &format!("Seatline CPU / seed peer CPU ({headline} waiters)"),
            ours / seed,
            "ratio",
        );
    }
}
