//! `seatline-bench`: measures Seatline's waiting room and purchase path on
//! this machine, against goals, the physical limit of its database, and the
//! designs it replaces. See BENCHMARKS.md for the latest full run.

mod client;
mod load;
mod peer;
mod report;
mod scenario;
mod server;
mod subscribers;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::scenario::Ctx;
use crate::server::Backend;

#[derive(Debug, Parser)]
#[command(name = "seatline-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
    /// Small sizes, one run each: every scenario in well under two minutes.
    #[arg(long, global = true)]
    quick: bool,
    /// Run on this PostgreSQL (a fresh database per server, dropped after)
    /// instead of a fresh SQLite file.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Target a running server instead of starting one (settings the
    /// scenario needs must then be set by hand; process figures are
    /// unavailable).
    #[arg(long, global = true)]
    url: Option<String>,
    /// The server binary (default: `seatline` beside this one).
    #[arg(long, global = true)]
    server: Option<PathBuf>,
    /// Seed for every random choice.
    #[arg(long, global = true, default_value_t = 42)]
    seed: u64,
    /// Repetitions per figure; the median is reported (default 1 with
    /// `--quick`, else 3).
    #[arg(long, global = true)]
    runs: Option<usize>,
    /// Where the JSON rows go.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    /// Seatline's push interval in `admit`, `peer` and `scale`, e.g. 1000
    /// to push as often as the Redis design polls.
    #[arg(long, global = true, default_value_t = scenario::PUSH_INTERVAL_MS)]
    push_interval_ms: u64,
}

#[derive(Debug, Clone, Subcommand)]
enum Scenario {
    /// Every scenario below, in order.
    All,
    /// Server memory per idle `queueUpdates` subscriber.
    SubsIdle,
    /// Admission push latency and position staleness while slots free.
    Admit {
        /// Admission rates to run, per second (default 10,100,1000; 100
        /// with `--quick`).
        #[arg(long, value_delimiter = ',')]
        rates: Vec<u64>,
    },
    /// `issueQueueToken` ramped until p99 passes 15 ms.
    Join,
    /// Admitted users racing for hot seats.
    HoldHot,
    /// Complete purchases, then the money and seat invariants.
    Flow,
    /// The server's own conditional UPDATE and INSERT, straight through the
    /// driver: the physical limit.
    RawLimit,
    /// What one request costs the server, kind by kind, requests coming
    /// alone: CPU and thread runs, and instructions under callgrind (when
    /// valgrind is installed), which a noisy machine does not change.
    Cost,
    /// The same waiters kept informed by Seatline's pushes, the seed's
    /// count-query polling (PostgreSQL) and a Redis sorted-set design
    /// polled every second, side by side.
    Peer {
        /// The Redis the sorted-set design uses (keys under a unique
        /// prefix, deleted after each run).
        #[arg(long, default_value = scenario::DEFAULT_REDIS)]
        redis_url: String,
        /// Waiter counts to run instead of the mode's ramp, e.g.
        /// `--waiters 19000` (the largest is the one the goal is read at).
        #[arg(long, value_delimiter = ',')]
        waiters: Vec<usize>,
    },
    /// Internal: serves one peer design for `peer`.
    #[command(hide = true)]
    PeerServer {
        #[arg(long, value_enum)]
        design: peer::Design,
        #[arg(long)]
        addr: String,
        /// PostgreSQL database or Redis URL.
        #[arg(long)]
        store_url: String,
        #[arg(long, default_value = "")]
        key_prefix: String,
        #[arg(long)]
        admit_per_sec: f64,
    },
    /// Issue 5's scale figure: subscribers ramped to 100,000 over several
    /// instances on one PostgreSQL (`--database-url` required).
    Scale,
    /// Internal: holds a slice of subscribers for the parent process.
    #[command(hide = true)]
    Worker {
        #[arg(long)]
        ws: String,
        #[arg(long)]
        tokens: PathBuf,
        #[arg(long)]
        from: usize,
        #[arg(long)]
        count: usize,
        #[arg(long)]
        out: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Scenario::Worker {
        ws,
        tokens,
        from,
        count,
        out,
    } = &cli.scenario
    {
        return subscribers::worker(ws, tokens, *from, *count, out).await;
    }
    if let Scenario::PeerServer {
        design,
        addr,
        store_url,
        key_prefix,
        admit_per_sec,
    } = &cli.scenario
    {
        return peer::serve(*design, addr, store_url, key_prefix, *admit_per_sec).await;
    }
    let backend = match &cli.database_url {
        Some(url) => Backend::Postgres(url.clone()),
        None => Backend::Sqlite,
    };
    let mut ctx = Ctx::new(
        backend,
        cli.server.clone().unwrap_or_else(server::default_binary),
        cli.url.clone(),
        cli.quick,
        cli.seed,
        cli.runs.unwrap_or(if cli.quick { 1 } else { 3 }),
        std::time::Duration::from_millis(cli.push_interval_ms),
    );
    let started = std::time::Instant::now();
    match cli.scenario {
        Scenario::All => {
            scenario::subs_idle(&mut ctx).await?;
            scenario::admit(&mut ctx, &[]).await?;
            scenario::join(&mut ctx).await?;
            scenario::hold_hot(&mut ctx).await?;
            scenario::flow(&mut ctx).await?;
            scenario::raw_limit(&mut ctx).await?;
            scenario::cost(&mut ctx).await?;
            scenario::peer(&mut ctx, scenario::DEFAULT_REDIS, &[]).await?;
        }
        Scenario::SubsIdle => scenario::subs_idle(&mut ctx).await?,
        Scenario::Admit { rates } => scenario::admit(&mut ctx, &rates).await?,
        Scenario::Join => scenario::join(&mut ctx).await?,
        Scenario::HoldHot => scenario::hold_hot(&mut ctx).await?,
        Scenario::Flow => scenario::flow(&mut ctx).await?,
        Scenario::RawLimit => scenario::raw_limit(&mut ctx).await?,
        Scenario::Cost => scenario::cost(&mut ctx).await?,
        Scenario::Peer { redis_url, waiters } => {
            scenario::peer(&mut ctx, &redis_url, &waiters).await?;
        }
        Scenario::Scale => scenario::scale(&mut ctx).await?,
        Scenario::Worker { .. } | Scenario::PeerServer { .. } => unreachable!("handled above"),
    }
    let json = cli.json.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench/latest.json")
    });
    ctx.report.write_json(&json)?;
    println!("{}", ctx.report.markdown());
    eprintln!(
        "{} rows in {:.0} s; JSON in {}",
        ctx.report.len(),
        started.elapsed().as_secs_f64(),
        json.display()
    );
    if !ctx.report.violations().is_empty() {
        for v in ctx.report.violations() {
            eprintln!("INVARIANT VIOLATED: {v}");
        }
        std::process::exit(1);
    }
    Ok(())
}
