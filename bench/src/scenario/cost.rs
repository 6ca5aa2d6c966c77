//! `cost`: what one request costs the server when requests come alone, one
//! after another, kind by kind (a join, a hold won and one refused, a
//! payment, ...): its CPU and thread runs per request, and the
//! instructions it executes under callgrind. One kind comes in a crowd:
//! joins [`CROWD`] at a time, which the server commits in batches, for
//! what a join costs under load.
//!
//! Timings on a shared or nested virtual machine wander by a factor of
//! three from one session to the next (BENCHMARKS.md, twenty-fifth
//! session). Callgrind counts the instructions the server's own code
//! executes, the same for the same build and requests whatever else the
//! machine does: the figure to compare two builds by. It counts user space
//! only: the kernel's share (system calls, wake-ups, the fsync) is in the
//! CPU and thread-run figures of the native pass.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::{Ctx, date_ids, text};
use crate::client::{CHARGE, Gql, HOLD, JOIN, Outcome, PAY, SEATS};
use crate::load::median;
use crate::server::{Server, Usage};

/// The kinds of request measured, in the order they run (each needs the
/// ones before it: a hold needs a ticket, a payment a hold and a balance).
const KINDS: [&str; 8] = [
    "{ __typename }",
    "join",
    "join in a crowd",
    "seat list",
    "hold won",
    "hold refused",
    "charge",
    "payment",
];

/// Users that run every kind once before the measured ones: connections,
/// caches and (under callgrind) translated code are warm.
const WARM_UP: usize = 20;

/// Requests in flight at once for "join in a crowd".
const CROWD: usize = 16;

pub async fn cost(ctx: &mut Ctx) -> anyhow::Result<()> {
    eprintln!("cost: lone requests, kind by kind");
    if ctx.external() {
        // Every figure here is read from the server's process.
        eprintln!("  (skipped: an external server's process cannot be read)");
        return Ok(());
    }
    let n = ctx.size(30, 200);
    // Every user holds one seat of its own, 50 to a date.
    let dates = (WARM_UP + n) / 50 + 2;
    let env = [
        // Everyone admitted at once: the kinds after `join` need it.
        ("SEATLINE_QUEUE_CAPACITY", "1000000".to_owned()),
        ("SEATLINE_DEMO_DATES", dates.to_string()),
        // No sweeper pass but the first: its ticks would land in whichever
        // block runs then (under callgrind, several a block).
        ("SEATLINE_SWEEP_INTERVAL_MS", "3600000".to_owned()),
    ];
    let b = ctx.backend_name();

    let mut native: Vec<Vec<Usage>> = vec![Vec::new(); KINDS.len()];
    for run in 0..ctx.runs {
        let server = ctx.server(&env).await?;
        let mut meter = Native {
            server: &server,
            before: None,
        };
        let usages = run_kinds(&server, n, &format!("cost-{run}"), &mut meter).await;
        server.stop().await;
        for (kind, usage) in usages?.into_iter().enumerate() {
            native[kind].push(usage);
        }
    }
    let instructions = match callgrind(ctx, &env, n).await {
        Ok(counts) => Some(counts),
        Err(e) => {
            eprintln!("  (no instruction counts: {e:#})");
            None
        }
    };
    for (k, kind) in KINDS.iter().enumerate() {
        let per =
            |f: fn(&Usage) -> f64| median(native[k].iter().map(|u| f(u) / n as f64).collect());
        ctx.report.figure(
            "cost",
            b,
            &format!("{kind}: server CPU a request"),
            per(|u| u.cpu_secs * 1e6),
            "µs",
        );
        ctx.report.figure(
            "cost",
            b,
            &format!("{kind}: server thread runs a request"),
            per(|u| u.runs as f64),
            "",
        );
        if let Some(counts) = &instructions {
            ctx.report.figure(
                "cost",
                b,
                &format!("{kind}: server instructions a request (callgrind)"),
                counts[k] / n as f64,
                "",
            );
        }
    }
    Ok(())
}

/// Reads what the server spent on each block of requests.
trait Meter {
    type Reading;
    async fn start(&mut self) -> anyhow::Result<()>;
    async fn stop(&mut self, kind: &str) -> anyhow::Result<Self::Reading>;
}

/// The server's threads' CPU and runs, from `/proc`.
struct Native<'a> {
    server: &'a Server,
    before: Option<Usage>,
}

impl Meter for Native<'_> {
    type Reading = Usage;

    async fn start(&mut self) -> anyhow::Result<()> {
        self.before = self.server.usage();
        Ok(())
    }

    async fn stop(&mut self, _kind: &str) -> anyhow::Result<Usage> {
        Usage::between(self.before, self.server.usage())
            .context("the server's /proc figures are unreadable")
    }
}

/// The instructions callgrind counted, from a dump per block.
struct Callgrind {
    pid: u32,
    /// Where the dumps go (`callgrind.out.<n>`).
    dir: PathBuf,
}

impl Meter for Callgrind {
    type Reading = f64;

    async fn start(&mut self) -> anyhow::Result<()> {
        control(self.pid, &["--zero"]).await
    }

    async fn stop(&mut self, kind: &str) -> anyhow::Result<f64> {
        let before = newest_dump(&self.dir)?;
        let hint: String = kind.chars().filter(char::is_ascii_alphanumeric).collect();
        control(self.pid, &[&format!("--dump={hint}")]).await?;
        // The dump is written when the server's threads next run
        // callgrind's loop; `callgrind_control` usually waits for it.
        for _ in 0..100 {
            let newest = newest_dump(&self.dir)?;
            if newest.as_ref().map(|d| d.0) > before.as_ref().map(|d| d.0)
                && let Some((_, path)) = newest
                && let Ok(text) = std::fs::read_to_string(&path)
                && let Some(total) = instructions_in(&text)
            {
                return Ok(total);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("no callgrind dump for {kind} in {}", self.dir.display())
    }
}

/// The same requests on a server under `valgrind --tool=callgrind`, its
/// instrumentation on from the warm-up: the instructions of each kind.
async fn callgrind(ctx: &Ctx, env: &[(&str, String)], n: usize) -> anyhow::Result<Vec<f64>> {
    let found = tokio::process::Command::new("valgrind")
        .arg("--version")
        .output()
        .await;
    ensure!(
        found.is_ok_and(|o| o.status.success()),
        "valgrind is not installed"
    );
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench/callgrind");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let wrapper = [
        "valgrind".to_owned(),
        "--tool=callgrind".to_owned(),
        // Start-up and migrations run at native speed, uncounted.
        "--instr-atstart=no".to_owned(),
        format!("--log-file={}", dir.join("valgrind.log").display()),
        format!(
            "--callgrind-out-file={}",
            dir.join("callgrind.out").display()
        ),
    ];
    let Some(server) = ctx.server_under(&wrapper, env).await? else {
        bail!("an external server cannot be started under valgrind");
    };
    let pid = server.pid().context("no pid")?;
    control(pid, &["--instr=on"]).await?;
    let mut meter = Callgrind {
        pid,
        dir: dir.clone(),
    };
    let counts = run_kinds(&server, n, "cost-callgrind", &mut meter).await;
    server.stop().await;
    eprintln!(
        "  callgrind dumps in {} (callgrind_annotate <file>)",
        dir.display()
    );
    counts
}

async fn control(pid: u32, args: &[&str]) -> anyhow::Result<()> {
    let out = tokio::process::Command::new("callgrind_control")
        .args(args)
        .arg(pid.to_string())
        .output()
        .await
        .context("running callgrind_control")?;
    ensure!(
        out.status.success(),
        "callgrind_control {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// The dump with the highest part number in `dir`, if any.
fn newest_dump(dir: &Path) -> anyhow::Result<Option<(u32, PathBuf)>> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let part = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(|e| e.parse::<u32>().ok());
        if let Some(part) = part
            && newest.as_ref().is_none_or(|(p, _)| part > *p)
        {
            newest = Some((part, path));
        }
    }
    Ok(newest)
}

/// The instruction total of a callgrind dump (its `summary:` or
/// `totals:` line; the first event is `Ir`).
fn instructions_in(dump: &str) -> Option<f64> {
    dump.lines().find_map(|line| {
        let rest = line
            .strip_prefix("summary:")
            .or_else(|| line.strip_prefix("totals:"))?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Runs every kind: `n` lone requests each, measured by `meter`, after
/// [`WARM_UP`] users ran them all unmeasured. Every answer is checked.
async fn run_kinds<M: Meter>(
    server: &Server,
    n: usize,
    tag: &str,
    meter: &mut M,
) -> anyhow::Result<Vec<M::Reading>> {
    let gql = Gql::new(&server.graphql_url());
    let dates = date_ids(&gql).await?;
    let mut warm = Users::new(&gql, &format!("{tag}-warm"), WARM_UP);
    let seats = warm.free_seats(&dates).await?;
    ensure!(seats.len() >= WARM_UP + n, "{} free seats", seats.len());
    let mut readings = Vec::with_capacity(KINDS.len());
    let mut users = Users::new(&gql, tag, n);
    for kind in KINDS {
        warm.run(kind, &seats[..WARM_UP]).await?;
        meter.start().await?;
        users.run(kind, &seats[WARM_UP..]).await?;
        readings.push(meter.stop(kind).await?);
    }
    Ok(readings)
}

/// `n` users taking each step of a purchase in turn.
struct Users<'a> {
    gql: &'a Gql,
    tag: String,
    n: usize,
    tokens: Vec<String>,
    /// Each user's held reservation and its price.
    holds: Vec<(String, i64)>,
}

impl<'a> Users<'a> {
    fn new(gql: &'a Gql, tag: &str, n: usize) -> Self {
        Self {
            gql,
            tag: tag.to_owned(),
            n,
            tokens: Vec::new(),
            holds: Vec::new(),
        }
    }

    /// Every free seat as (date, number), date by date.
    async fn free_seats(&mut self, dates: &[String]) -> anyhow::Result<Vec<(String, i64)>> {
        self.run("join", &[]).await?;
        let token = self.tokens.first().context("no user")?;
        let mut seats = Vec::new();
        for date in dates {
            let data = self
                .gql
                .call(Some(token), SEATS, json!({ "d": date }))
                .await
                .data()?;
            for seat in data["availableSeats"].as_array().into_iter().flatten() {
                seats.push((date.clone(), seat["number"].as_i64().unwrap_or_default()));
            }
        }
        Ok(seats)
    }

    /// One request of `kind` for each user, one after another; user `i`
    /// holds `seats[i]`.
    async fn run(&mut self, kind: &str, seats: &[(String, i64)]) -> anyhow::Result<()> {
        if kind == "join" && !self.tokens.is_empty() {
            return Ok(()); // joined already, to list the seats
        }
        if kind == "join in a crowd" {
            return self.crowd_joins().await;
        }
        for i in 0..self.n {
            let token = self.tokens.get(i).map(String::as_str);
            let seat = |j: usize| json!({ "d": seats[j].0, "n": seats[j].1 });
            let outcome = match kind {
                "{ __typename }" => self.gql.call(None, kind, json!({})).await,
                "join" => {
                    let user = format!("{}-{i}", self.tag);
                    self.gql.call(None, JOIN, json!({ "u": user })).await
                }
                "seat list" => {
                    self.gql
                        .call(token, SEATS, json!({ "d": seats[i].0 }))
                        .await
                }
                "hold won" => self.gql.call(token, HOLD, seat(i)).await,
                // The seat the next user holds: refused.
                "hold refused" => self.gql.call(token, HOLD, seat((i + 1) % self.n)).await,
                "charge" => {
                    let amount = self.holds.get(i).map_or(0, |h| h.1);
                    self.gql.call(token, CHARGE, json!({ "a": amount })).await
                }
                "payment" => {
                    let id = self.holds.get(i).map(|h| h.0.clone());
                    self.gql.call(token, PAY, json!({ "r": id })).await
                }
                _ => bail!("unknown kind {kind}"),
            };
            self.check(kind, outcome)?;
        }
        Ok(())
    }

    /// A join for each of `n` more users, [`CROWD`] in flight at once.
    async fn crowd_joins(&self) -> anyhow::Result<()> {
        let joins = (0..self.n).map(|i| {
            let user = format!("{}-crowd-{i}", self.tag);
            async move { self.gql.call(None, JOIN, json!({ "u": user })).await }
        });
        let mut answers = futures_util::stream::iter(joins).buffer_unordered(CROWD);
        while let Some(outcome) = answers.next().await {
            let data = outcome.data().context("join in a crowd")?;
            ensure!(
                text(&data, "/issueQueueToken/status") == "PROGRESS",
                "join in a crowd: not admitted at once: {data}"
            );
        }
        Ok(())
    }

    /// Fails unless `outcome` is what `kind` answers; keeps what later
    /// kinds need.
    fn check(&mut self, kind: &str, outcome: Outcome) -> anyhow::Result<()> {
        if kind == "hold refused" {
            return match outcome {
                Outcome::Code(code) if code == "SEAT_UNAVAILABLE" => Ok(()),
                other => bail!("hold refused: expected SEAT_UNAVAILABLE, got {other:?}"),
            };
        }
        let data: Value = outcome.data().with_context(|| kind.to_owned())?;
        match kind {
            "join" => {
                ensure!(
                    text(&data, "/issueQueueToken/status") == "PROGRESS",
                    "join: not admitted at once: {data}"
                );
                self.tokens.push(text(&data, "/issueQueueToken/token"));
            }
            "hold won" => self.holds.push((
                text(&data, "/holdSeat/id"),
                data.pointer("/holdSeat/price")
                    .and_then(Value::as_i64)
                    .unwrap_or_default(),
            )),
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_gives_its_instruction_total() {
        let dump = "# callgrind format\nversion: 1\npositions: line\nevents: Ir\nsummary: 52797474\n\nfn=(1) main\n";
        assert_eq!(instructions_in(dump), Some(52_797_474.0));
        let newer = "events: Ir\nfn=(1) main\n0 5\ntotals: 1234\n";
        assert_eq!(instructions_in(newer), Some(1_234.0));
        assert_eq!(instructions_in("events: Ir\n"), None);
    }
}
