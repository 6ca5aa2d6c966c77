//! `scale`: issue 5's scale figure. K instances on one fresh PostgreSQL
//! database, the line's head subscribed round-robin over them, while slots
//! free at 100 per second (the `admit` setup: capacity = rate, an active
//! TTL of 1 s, the first admissions spread over a second).
//!
//! The subscriber count ramps (20k, 50k, 100k); each step connects a fresh
//! slice of the line from its head, measures one window and disconnects.
//! Figures per step, beside `admit`'s (push latency from `admittedAt`,
//! the servers' share summed over instances, lost and duplicated pushes,
//! staleness, messages, server CPU, statements): per-instance RSS,
//! PostgreSQL's own count of transactions on the database and the CPU of
//! its backends, the load generator's CPU (it shares the two cores) and
//! the share of admissions committed by another instance than the
//! subscriber's.
//!
//! Which instance committed a given admission is not recorded anywhere;
//! each instance counts the admissions it commits, so the cross-instance
//! share is the expectation `1 - Σ a_i s_i` over instances (`a_i` its share
//! of admissions, `s_i` of subscribers): `(K-1)/K` with subscribers spread
//! evenly.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::bail;
use futures_util::{StreamExt, TryStreamExt};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

use super::Ctx;
use super::admit::{LOST_AFTER, Run, analyse, by_subscriber, lost, report_run};
use crate::client::{Gql, now_unix_us};
use crate::report::Goal;
use crate::server::{Backend, Cluster, cpu_secs_of, histogram_quantile, sum_metrics};
use crate::subscribers::{Status, Subscribers};

const SCENARIO: &str = "scale";
/// Sockets one instance may hold: the 20,000 open-files cap per process,
/// less the database connections, listener, log and slack.
const MAX_SOCKETS_PER_INSTANCE: usize = 18_500;
/// PostgreSQL's `max_connections` budget for the instances' pools (the
/// default is 100, and other users of the server need some).
const CONNECTION_BUDGET: u32 = 54;
/// Subscribers taken from before the head of the line (issued
/// concurrently, tokens are only roughly in line order), so that no
/// unsubscribed waiter stands ahead of a subscriber.
const HEAD_MARGIN: usize = 256;
/// Subscriber handshakes in flight over all workers: each costs an
/// instance a few reads on its small pool (see `Subscribers::connect_spread`).
const HANDSHAKES: usize = 128;
/// Subscriber connections per second assumed before the first step has
/// measured it.
const FIRST_CONNECT_RATE: f64 = 1_000.0;

pub async fn scale(ctx: &mut Ctx) -> anyhow::Result<()> {
    if !matches!(ctx.backend, Backend::Postgres(_)) {
        bail!(
            "scale runs several instances on one PostgreSQL: pass --database-url \
             postgres://postgres@127.0.0.1:5432/postgres (a fresh database is created and dropped)"
        );
    }
    if ctx.url.is_some() {
        bail!("scale starts its own instances: --url is not supported");
    }
    let instances: usize = ctx.size(2, 6);
    let plan = Plan {
        instances,
        rate: 100,
        steps: ctx.size(vec![2_000], vec![20_000, 50_000, 100_000]),
        window: Duration::from_secs(ctx.size(5, 20)),
    };
    let pool = pool_size(instances);
    eprintln!(
        "scale: {instances} instances on one PostgreSQL database (pool {pool} each), \
         {} admissions/s, steps {:?}",
        plan.rate, plan.steps
    );
    let cluster = Cluster::start(
        &ctx.binary,
        &ctx.backend,
        instances,
        &[
            ("SEATLINE_QUEUE_CAPACITY", plan.rate.to_string()),
            ("SEATLINE_ACTIVE_TTL_SECS", "1".into()),
            (
                "SEATLINE_PUSH_INTERVAL_MS",
                ctx.push_interval.as_millis().to_string(),
            ),
            ("SEATLINE_DB_MAX_CONNECTIONS", pool.to_string()),
        ],
    )
    .await?;
    let result = ramp(ctx, &cluster, &plan).await;
    cluster.stop().await;
    result
}

struct Plan {
    instances: usize,
    rate: u64,
    steps: Vec<usize>,
    window: Duration,
}

/// Each instance's pool, so that all of them fit the connection budget
/// (each instance also holds one `LISTEN` connection).
fn pool_size(instances: usize) -> u32 {
    let instances = u32::try_from(instances.max(1)).unwrap_or(u32::MAX);
    (CONNECTION_BUDGET / instances)
        .saturating_sub(1)
        .clamp(2, 8)
}

/// How many to subscribe for `live` subscribers still waiting when the
/// window opens: the line moves on by `rate` per second while they
/// connect, capped by the sockets the instances can hold.
fn to_subscribe(live: usize, rate: u64, connect_rate: f64, instances: usize) -> usize {
    let connect_secs = live as f64 / connect_rate.max(1.0);
    let drained = (rate as f64 * connect_secs).ceil() as usize;
    (live + drained + HEAD_MARGIN).min(MAX_SOCKETS_PER_INSTANCE * instances)
}

/// The expected share of admissions pushed by an instance other than the
/// one that committed them: `1 - Σ a_i s_i`, with `a_i` instance i's share
/// of committed admissions and `s_i` its share of subscribers.
fn cross_instance_share(admissions: &[f64], subscribers: &[f64]) -> Option<f64> {
    let a: f64 = admissions.iter().sum();
    let s: f64 = subscribers.iter().sum();
    if a <= 0.0 || s <= 0.0 {
        return None;
    }
    let same: f64 = admissions
        .iter()
        .zip(subscribers)
        .map(|(ai, si)| (ai / a) * (si / s))
        .sum();
    Some(1.0 - same)
}

/// Subscribers per instance when `count` spread round-robin over
/// `instances`.
fn round_robin(count: usize, instances: usize) -> Vec<f64> {
    (0..instances)
        .map(|i| count.saturating_sub(i).div_ceil(instances) as f64)
        .collect()
}

/// Admissions per admitting transaction (those sharing one `admittedAt`):
/// mean and largest. 1 when slots free one by one; `rate` when they all
/// lapse together once a second.
fn batches(mut admitted_at: Vec<i64>) -> Option<(f64, usize)> {
    if admitted_at.is_empty() {
        return None;
    }
    admitted_at.sort_unstable();
    let total = admitted_at.len();
    let sizes: Vec<usize> = admitted_at
        .chunk_by(|a, b| a == b)
        .map(<[i64]>::len)
        .collect();
    let largest = sizes.iter().copied().max().unwrap_or(0);
    Some((total as f64 / sizes.len() as f64, largest))
}

/// Statements per second of the largest step over the smallest: 1 when
/// independent of the number of subscribers.
fn growth(per_step: &[(usize, f64)]) -> Option<f64> {
    let smallest = per_step.iter().min_by_key(|(n, _)| *n)?;
    let largest = per_step.iter().max_by_key(|(n, _)| *n)?;
    (smallest.0 != largest.0 && smallest.1 > 0.0).then(|| largest.1 / smallest.1)
}

async fn ramp(ctx: &mut Ctx, cluster: &Cluster, plan: &Plan) -> anyhow::Result<()> {
    let gqls: Vec<Gql> = cluster
        .servers
        .iter()
        .map(|s| Gql::new(&s.graphql_url()))
        .collect();
    let ws_urls: Vec<String> = cluster.servers.iter().map(|s| s.ws_url()).collect();
    let pg = Database::connect(cluster.db.url.as_str()).await?;
    super::pump(&gqls, plan.rate as f64).await?;
    let mut tokens: Vec<String> = Vec::new();
    let mut connect_rate = FIRST_CONNECT_RATE;
    let mut statements: Vec<(usize, f64)> = Vec::new();
    let mut pg_xacts: Vec<(usize, f64)> = Vec::new();
    for &live in &plan.steps {
        let subscribed = to_subscribe(live, plan.rate, connect_rate, plan.instances);
        let step = Step {
            live,
            subscribed,
            at: format!(
                "{live} subscribers, {} instances, {} admissions/s",
                plan.instances, plan.rate
            ),
        };
        eprintln!(
            "scale: step {live}: subscribing {subscribed} from the head of the line \
             (assuming {connect_rate:.0} connections/s)"
        );
        match measure(cluster, &gqls, &ws_urls, &pg, &mut tokens, plan, &step).await {
            Ok(m) => {
                connect_rate = m.connect_rate;
                statements.push((live, m.run.statements / m.run.window_secs));
                if let Some(x) = m.pg_xacts {
                    pg_xacts.push((live, x));
                }
                report(ctx, &step, &m);
                let limited = m.run.cpu.is_some_and(|c| c + m.load_cpu > 1.9);
                if limited {
                    eprintln!("  the two cores are saturated at this step");
                }
            }
            Err(e) => {
                eprintln!("scale: step {live} did not complete: {e:#}");
                ctx.report.figure(
                    SCENARIO,
                    ctx.backend_name(),
                    &format!("step did not complete ({}): {e:#}", step.at),
                    0.0,
                    "",
                );
                break;
            }
        }
    }
    let b = ctx.backend_name();
    if let Some(g) = growth(&statements) {
        ctx.report.goal(
            SCENARIO,
            b,
            "statements/s (instances' count), largest step / smallest step",
            g,
            "ratio",
            Goal::AtMost(1.25),
        );
    }
    if let Some(g) = growth(&pg_xacts) {
        ctx.report.figure(
            SCENARIO,
            b,
            "PostgreSQL transactions/s (pg_stat_database), largest step / smallest step",
            g,
            "ratio",
        );
    }
    pg.close().await?;
    Ok(())
}

struct Step {
    /// Subscribers meant to be live (waiting) when the window opens.
    live: usize,
    subscribed: usize,
    /// The label of the step's figures.
    at: String,
}

struct Measured {
    run: Run,
    connect_rate: f64,
    connected: usize,
    failed: usize,
    /// Subscribers still waiting when the window opened.
    live_at_start: usize,
    /// Tickets waiting in the line when the window opened.
    line: f64,
    rss_mib: Vec<f64>,
    /// The load generator's CPU (this process and its workers), cores.
    load_cpu: f64,
    /// PostgreSQL's transactions on the database, per second.
    pg_xacts: Option<f64>,
    /// CPU of the database's PostgreSQL backends, cores.
    pg_cpu: Option<f64>,
    cross_instance: Option<f64>,
    admissions_per_instance: Vec<f64>,
    /// Admissions per admitting transaction: mean and largest.
    batches: Option<(f64, usize)>,
}

/// Issues tokens (round-robin over instances, returned in order) until
/// `needed` tokens lie beyond the line's head.
async fn top_up(
    cluster: &Cluster,
    gqls: &[Gql],
    tokens: &mut Vec<String>,
    rate: u64,
    needed: usize,
) -> anyhow::Result<()> {
    loop {
        let head = head(cluster, rate).await?;
        let have = tokens.len().saturating_sub(head);
        if have >= needed {
            return Ok(());
        }
        // The line drains while this batch is issued: ask for a little more.
        let batch = (needed - have + 2_000).min(50_000);
        let first = tokens.len();
        eprintln!("  issuing {batch} tokens ({first} so far, head at {head})");
        let started = Instant::now();
        let issued: Vec<String> = futures_util::stream::iter(first..first + batch)
            .map(|i| {
                let gql = gqls[i % gqls.len()].clone();
                async move {
                    gql.issue(&format!("wait-{i}"))
                        .await
                        .map(|(token, _)| token)
                }
            })
            .buffered(128)
            .try_collect()
            .await?;
        tokens.extend(issued);
        eprintln!(
            "  {:.0} tokens/s",
            batch as f64 / started.elapsed().as_secs_f64()
        );
    }
}

/// The index in the token list of the line's head: every admission so far
/// (summed over instances) less the pump's.
async fn head(cluster: &Cluster, rate: u64) -> anyhow::Result<usize> {
    let mut admitted = 0.0;
    for s in &cluster.servers {
        admitted += s
            .metrics()
            .await?
            .get("seatline_queue_admissions_total")
            .copied()
            .unwrap_or(0.0);
    }
    Ok((admitted as usize).saturating_sub(rate as usize))
}

async fn scrape(cluster: &Cluster) -> anyhow::Result<Vec<HashMap<String, f64>>> {
    let mut all = Vec::with_capacity(cluster.servers.len());
    for s in &cluster.servers {
        all.push(s.metrics().await?);
    }
    Ok(all)
}

async fn pg_scalar(pg: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = pg
        .query_one_raw(Statement::from_string(
            pg.get_database_backend(),
            sql.to_owned(),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row: {sql}"))?;
    Ok(row.try_get_by_index(0)?)
}

/// Transactions committed or rolled back on this database, by
/// PostgreSQL's own statistics (flushed by each backend at most once a
/// second, so a window of many seconds is needed).
async fn pg_transactions(pg: &DatabaseConnection) -> anyhow::Result<i64> {
    pg_scalar(
        pg,
        "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database \
         WHERE datname = current_database()",
    )
    .await
}

/// CPU seconds of every PostgreSQL backend on this database (the same box:
/// `/proc/<pid>/stat`), by pid.
async fn pg_backend_cpu(pg: &DatabaseConnection) -> anyhow::Result<HashMap<u32, f64>> {
    let rows = pg
        .query_all_raw(Statement::from_string(
            pg.get_database_backend(),
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid()"
                .to_owned(),
        ))
        .await?;
    let mut cpu = HashMap::new();
    for row in rows {
        let pid: i32 = row.try_get_by_index(0)?;
        if let Ok(pid) = u32::try_from(pid)
            && let Some(secs) = cpu_secs_of(pid)
        {
            cpu.insert(pid, secs);
        }
    }
    Ok(cpu)
}

async fn measure(
    cluster: &Cluster,
    gqls: &[Gql],
    ws_urls: &[String],
    pg: &DatabaseConnection,
    tokens: &mut Vec<String>,
    plan: &Plan,
    step: &Step,
) -> anyhow::Result<Measured> {
    top_up(cluster, gqls, tokens, plan.rate, step.subscribed + 1_000).await?;
    let start = head(cluster, plan.rate)
        .await?
        .saturating_sub(HEAD_MARGIN)
        .min(tokens.len().saturating_sub(step.subscribed));
    let slice = &tokens[start..(start + step.subscribed).min(tokens.len())];
    let connect_started = Instant::now();
    let limit = Duration::from_secs_f64((slice.len() as f64 / 100.0).max(120.0));
    let subs = tokio::time::timeout(
        limit,
        Subscribers::connect_spread(ws_urls, slice, Some(HANDSHAKES)),
    )
    .await
    .map_err(|_| anyhow::anyhow!("{} subscribers not connected within {limit:?}", slice.len()))??;
    let connect_rate = subs.connected as f64 / connect_started.elapsed().as_secs_f64();
    eprintln!(
        "  {} subscribed ({} failed) in {:.0} s: {connect_rate:.0}/s",
        subs.connected,
        subs.failed,
        connect_started.elapsed().as_secs_f64()
    );
    let (connected, failed) = (subs.connected, subs.failed);

    let m0 = scrape(cluster).await?;
    let cpu0: Vec<Option<f64>> = cluster.servers.iter().map(|s| s.cpu_secs()).collect();
    let load0 = subs.cpu_secs() + cpu_secs_of(std::process::id()).unwrap_or(0.0);
    let pg0 = pg_transactions(pg).await.ok();
    let pg_cpu0 = pg_backend_cpu(pg).await.ok();
    let window_start = now_unix_us();
    tokio::time::sleep(plan.window).await;
    let window_end = now_unix_us();
    let m1 = scrape(cluster).await?;
    let cpu1: Vec<Option<f64>> = cluster.servers.iter().map(|s| s.cpu_secs()).collect();
    let load1 = subs.cpu_secs() + cpu_secs_of(std::process::id()).unwrap_or(0.0);
    let pg1 = pg_transactions(pg).await.ok();
    let pg_cpu1 = pg_backend_cpu(pg).await.ok();
    let rss_mib: Vec<f64> = cluster
        .servers
        .iter()
        .filter_map(|s| s.rss_kib())
        .map(|k| k as f64 / 1024.0)
        .collect();
    // Pushes in flight at the end of the window still arrive: a push later
    // than this is lost, not slow.
    tokio::time::sleep(LOST_AFTER).await;
    let records = subs.finish().await?;

    let window_secs = (window_end - window_start) as f64 / 1e6;
    let (before, after) = (sum_metrics(&m0), sum_metrics(&m1));
    let delta = |name: &str| {
        after.get(name).copied().unwrap_or(0.0) - before.get(name).copied().unwrap_or(0.0)
    };
    let subs = by_subscriber(&records);
    let live_at_start = subs
        .values()
        .filter(|msgs| msgs.first().map(|r| r.status) == Some(Status::Waiting))
        .filter(|msgs| {
            msgs.iter()
                .find(|r| r.status != Status::Waiting)
                .and_then(|r| r.admitted_us.or(Some(r.received_us)))
                .is_none_or(|at| at > window_start)
        })
        .count();
    eprintln!(
        "  analysing {} messages of {} subscribers",
        records.len(),
        subs.len()
    );
    let admitted_at: Vec<i64> = subs
        .values()
        .filter(|msgs| msgs.first().map(|r| r.status) == Some(Status::Waiting))
        .filter_map(|msgs| {
            msgs.iter()
                .find(|r| r.status == Status::Progress)?
                .admitted_us
        })
        .filter(|at| (window_start..=window_end).contains(at))
        .collect();
    let batches = batches(admitted_at);
    let mut run = analyse(&subs, window_start, window_end);
    run.lost = lost(gqls, slice, &subs, window_end).await?;
    run.window_secs = window_secs;
    run.pushes = delta("seatline_pushes_total");
    run.statements = delta("seatline_db_statements_total");
    run.admissions = delta("seatline_queue_admissions_total");
    run.cpu = cpu0
        .iter()
        .zip(&cpu1)
        .map(|(a, b)| a.zip(*b).map(|(a, b)| (b - a) / window_secs))
        .sum();
    let share = |q| histogram_quantile(&before, &after, "seatline_admission_push_seconds", q);
    run.server_share = share(0.5).zip(share(0.99)).map(|(a, b)| (a * 1e3, b * 1e3));
    let admissions_per_instance: Vec<f64> = m0
        .iter()
        .zip(&m1)
        .map(|(a, b)| {
            let n = |m: &HashMap<String, f64>| {
                m.get("seatline_queue_admissions_total")
                    .copied()
                    .unwrap_or(0.0)
            };
            n(b) - n(a)
        })
        .collect();
    let cross_instance = cross_instance_share(
        &admissions_per_instance,
        &round_robin(slice.len(), cluster.servers.len()),
    );
    let line = m0
        .iter()
        .filter_map(|m| m.get("seatline_queue_waiting").copied())
        .fold(0.0, f64::max);
    let pg_cpu = pg_cpu0.zip(pg_cpu1).map(|(a, b)| {
        b.iter()
            .filter_map(|(pid, secs)| a.get(pid).map(|before| secs - before))
            .sum::<f64>()
            / window_secs
    });
    Ok(Measured {
        run,
        connect_rate,
        connected,
        failed,
        live_at_start,
        line,
        rss_mib,
        load_cpu: (load1 - load0) / window_secs,
        pg_xacts: pg0.zip(pg1).map(|(a, b)| (b - a) as f64 / window_secs),
        pg_cpu,
        cross_instance,
        admissions_per_instance,
        batches,
    })
}

fn report(ctx: &mut Ctx, step: &Step, m: &Measured) {
    let b = ctx.backend_name();
    let at = |what: &str| format!("{what} ({})", step.at);
    let s = SCENARIO;
    ctx.report
        .figure(s, b, &at("subscribers connected"), m.connected as f64, "");
    ctx.report.figure(
        s,
        b,
        &at("subscribers failed to connect"),
        m.failed as f64,
        "",
    );
    ctx.report.goal(
        s,
        b,
        &at("subscribers still waiting when the window opened"),
        m.live_at_start as f64,
        "",
        Goal::AtLeast(step.live as f64 * 0.95),
    );
    ctx.report
        .figure(s, b, &at("tickets waiting in the line"), m.line, "");
    report_run(ctx, s, &at, &m.run, 50.0);
    if let Some(x) = m.cross_instance {
        ctx.report.figure(
            s,
            b,
            &at("admissions pushed by another instance than the committing one (expected)"),
            100.0 * x,
            "%",
        );
    }
    if let Some((mean, largest)) = m.batches {
        ctx.report.figure(
            s,
            b,
            &at("admissions per admitting transaction (one admittedAt), mean"),
            mean,
            "",
        );
        ctx.report.figure(
            s,
            b,
            &at("admissions per admitting transaction, largest"),
            largest as f64,
            "",
        );
    }
    let committed: Vec<String> = m
        .admissions_per_instance
        .iter()
        .map(|a| format!("{a:.0}"))
        .collect();
    eprintln!(
        "  admissions committed per instance: {}",
        committed.join(" / ")
    );
    if !m.rss_mib.is_empty() {
        let max = m.rss_mib.iter().copied().fold(0.0, f64::max);
        let mean = m.rss_mib.iter().sum::<f64>() / m.rss_mib.len() as f64;
        ctx.report
            .figure(s, b, &at("server RSS per instance, max"), max, "MiB");
        ctx.report
            .figure(s, b, &at("server RSS per instance, mean"), mean, "MiB");
    }
    ctx.report.figure(
        s,
        b,
        &at("load generator CPU (bench and workers)"),
        100.0 * m.load_cpu,
        "% of a core",
    );
    if let Some(x) = m.pg_xacts {
        ctx.report.figure(
            s,
            b,
            &at("PostgreSQL transactions on the database (pg_stat_database)"),
            x,
            "/s",
        );
    }
    if let Some(cpu) = m.pg_cpu {
        ctx.report.figure(
            s,
            b,
            &at("PostgreSQL backends' CPU"),
            100.0 * cpu,
            "% of a core",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_fit_the_connection_budget() {
        assert_eq!(pool_size(6), 8);
        assert!(6 * (pool_size(6) + 1) <= CONNECTION_BUDGET);
        assert_eq!(pool_size(2), 8);
        assert_eq!(pool_size(40), 2);
        assert_eq!(pool_size(12), 3);
    }

    #[test]
    fn subscribers_cover_the_line_drained_while_connecting() {
        // 20,000 at 1,000/s take 20 s, while 2,000 are admitted.
        assert_eq!(to_subscribe(20_000, 100, 1_000.0, 6), 22_000 + HEAD_MARGIN);
        // Never more than the instances can hold.
        assert_eq!(
            to_subscribe(100_000, 100, 100.0, 6),
            6 * MAX_SOCKETS_PER_INSTANCE
        );
    }

    #[test]
    fn cross_instance_share_is_the_expected_mismatch() {
        let even = round_robin(600, 6);
        assert_eq!(even, vec![100.0; 6]);
        let x = cross_instance_share(&[10.0, 20.0, 30.0, 0.0, 0.0, 40.0], &even).unwrap();
        assert!((x - 5.0 / 6.0).abs() < 1e-9, "{x}");
        // All subscribers and all admissions on one instance: none cross.
        let x = cross_instance_share(&[5.0, 0.0], &[10.0, 0.0]).unwrap();
        assert!(x.abs() < 1e-9, "{x}");
        assert_eq!(cross_instance_share(&[0.0, 0.0], &even), None);
        assert_eq!(round_robin(7, 3), vec![3.0, 2.0, 2.0]);
    }

    #[test]
    fn batches_group_one_admitted_at() {
        assert_eq!(batches(vec![]), None);
        assert_eq!(batches(vec![3, 1, 2]), Some((1.0, 1)));
        assert_eq!(batches(vec![5, 1, 5, 5, 1, 9]), Some((2.0, 3)));
    }

    #[test]
    fn statement_growth_compares_the_extreme_steps() {
        let steps = [(20_000, 100.0), (50_000, 110.0), (100_000, 120.0)];
        let g = growth(&steps).unwrap();
        assert!((g - 1.2).abs() < 1e-9, "{g}");
        assert_eq!(growth(&[(2_000, 50.0)]), None);
        assert_eq!(growth(&[]), None);
    }
}
