//! Open-loop load: requests start on a fixed schedule whatever the server's
//! speed, and latency counts from the scheduled start, so a slow server
//! cannot hide its queueing (no coordinated omission).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::server::{Usage, usage_of};

/// How one operation ended.
#[derive(Debug)]
pub enum Done {
    Ok,
    /// An error the scenario expects (`SEAT_UNAVAILABLE` for a loser).
    Expected(String),
    /// Anything else: counted as an error.
    Error(String),
}

/// The figures of one open-loop step.
#[derive(Debug)]
pub struct Step {
    pub rate: f64,
    pub elapsed: Duration,
    /// Latency of every finished operation, microseconds.
    pub all: Histogram<u64>,
    /// Latency of operations that ended in an expected error.
    pub expected: Histogram<u64>,
    pub ok: u64,
    pub errors: u64,
    /// Not started because too many were in flight: the server fell behind.
    pub shed: u64,
    pub codes: BTreeMap<String, u64>,
    pub first_error: Option<String>,
    /// What the server used from the step's start until its last
    /// operation finished, when it is known.
    pub server: Option<Usage>,
    /// What this process, the load generator, used in the same time.
    pub client: Option<Usage>,
}

impl Step {
    pub fn completed(&self) -> u64 {
        self.all.len()
    }

    /// Finished operations per second.
    pub fn throughput(&self) -> f64 {
        self.completed() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn p(&self, q: f64) -> f64 {
        self.all.value_at_quantile(q) as f64 / 1000.0
    }

    /// Kept up: no errors, nothing shed, p99 within `p99_ms`.
    pub fn sustained(&self, p99_ms: f64) -> bool {
        self.errors == 0 && self.shed == 0 && self.completed() > 0 && self.p(0.99) <= p99_ms
    }

    /// The server's CPU time per finished operation, microseconds, and
    /// the times its threads were put on a CPU per operation (NaN when
    /// unknown). The runs move less with the machine's stalls than a p99
    /// or the CPU time (which, in a guest, includes the time the host took
    /// a running thread's vCPU away): the figure to compare two builds on
    /// across noisy runs.
    pub fn server_per_op(&self) -> (f64, f64) {
        self.per_op(self.server)
    }

    /// The load generator's CPU time per finished operation, µs: what
    /// the two cores the server shares with it give to sending requests.
    pub fn client_cpu_per_op(&self) -> f64 {
        self.per_op(self.client).0
    }

    /// `usage`'s CPU µs and thread runs per finished operation.
    fn per_op(&self, usage: Option<Usage>) -> (f64, f64) {
        let ops = self.completed().max(1) as f64;
        usage.map_or((f64::NAN, f64::NAN), |u| {
            (u.cpu_secs * 1e6 / ops, u.runs as f64 / ops)
        })
    }
}

/// A latency histogram in microseconds, 1 µs to 10 min.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// Runs `op(i)` for i = 0, 1, … at `rate` per second for `duration`, with
/// at most `max_in_flight` unfinished; waits for all to finish.
pub async fn open_loop<F, Fut>(
    rate: f64,
    duration: Duration,
    max_in_flight: usize,
    mut op: F,
) -> Step
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Done> + Send + 'static,
{
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel::<(u64, Done)>();
    let start = Instant::now();
    let mut shed = 0;
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        if in_flight.load(Ordering::Relaxed) >= max_in_flight {
            shed += 1;
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let fut = op(i);
        let tx = tx.clone();
        let in_flight = Arc::clone(&in_flight);
        tokio::spawn(async move {
            let done = fut.await;
            let micros = due.elapsed().as_micros() as u64;
            in_flight.fetch_sub(1, Ordering::Relaxed);
            let _ = tx.send((micros.max(1), done));
        });
    }
    drop(tx);
    let mut step = Step {
        rate,
        elapsed: Duration::ZERO,
        all: histogram(),
        expected: histogram(),
        ok: 0,
        errors: 0,
        shed,
        codes: BTreeMap::new(),
        first_error: None,
        server: None,
        client: None,
    };
    while let Some((micros, done)) = rx.recv().await {
        let _ = step.all.record(micros);
        match done {
            Done::Ok => step.ok += 1,
            Done::Expected(code) => {
                let _ = step.expected.record(micros);
                *step.codes.entry(code).or_default() += 1;
            }
            Done::Error(e) => {
                step.errors += 1;
                step.first_error.get_or_insert(e);
            }
        }
    }
    step.elapsed = start.elapsed();
    step
}

/// Raises the rate through `rates` until a step is not sustained
/// (`p99_ms`); returns every step run, the last sustained one marked by
/// index. `server` reads the server's [`Usage`] (None for a server this
/// bench did not start).
pub async fn ramp<F, Fut>(
    rates: &[f64],
    duration: Duration,
    p99_ms: f64,
    max_in_flight: usize,
    server: impl Fn() -> Option<Usage>,
    mut op: F,
) -> (Vec<Step>, Option<usize>)
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Done> + Send + 'static,
{
    let mut steps = Vec::new();
    let mut best = None;
    let mut offset = 0;
    for &rate in rates {
        let base = offset;
        let client = || usage_of(std::process::id());
        let (server_before, client_before) = (server(), client());
        let mut step = open_loop(rate, duration, max_in_flight, |i| op(base + i)).await;
        step.server = Usage::between(server_before, server());
        step.client = Usage::between(client_before, client());
        offset += (rate * duration.as_secs_f64()).round() as u64;
        let (cpu_us, runs) = step.server_per_op();
        eprintln!(
            "    {rate:>7.0}/s: {:>7.0}/s done, p50 {:.2} ms, p99 {:.2} ms, p999 {:.2} ms, errors {}, shed {}, server {cpu_us:.0} µs CPU and {runs:.1} thread runs an op, load generator {:.0} µs CPU an op{}",
            step.throughput(),
            step.p(0.5),
            step.p(0.99),
            step.p(0.999),
            step.errors,
            step.shed,
            step.client_cpu_per_op(),
            step.first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        let sustained = step.sustained(p99_ms);
        steps.push(step);
        if !sustained {
            break;
        }
        best = Some(steps.len() - 1);
        // Let the server drain between steps.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (steps, best)
}

/// The figures of one ramp's highest sustained step.
#[derive(Clone, Copy, Debug)]
pub struct Figures {
    pub rate: f64,
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    /// p99 of the operations that ended in an expected error (losers).
    pub expected_p99: f64,
    /// Operations that succeeded, per second.
    pub ok_rate: f64,
    /// The server's CPU per operation, µs, and its threads' runs per
    /// operation ([`Step::server_per_op`]).
    pub server_cpu_us: f64,
    pub server_runs: f64,
    /// The load generator's CPU per operation, µs.
    pub client_cpu_us: f64,
}

/// The sustained step of each of several ramps, for medians.
#[derive(Debug, Default)]
pub struct Sustained {
    runs: Vec<Option<Figures>>,
}

impl Sustained {
    /// Records a ramp's result, as [`ramp`] returns it.
    pub fn add(&mut self, steps: &[Step], best: Option<usize>) {
        self.runs.push(best.map(|i| {
            let s = &steps[i];
            let (server_cpu_us, server_runs) = s.server_per_op();
            Figures {
                rate: s.rate,
                p50: s.p(0.5),
                p99: s.p(0.99),
                p999: s.p(0.999),
                expected_p99: s.expected.value_at_quantile(0.99) as f64 / 1000.0,
                ok_rate: s.ok as f64 / s.elapsed.as_secs_f64().max(1e-9),
                server_cpu_us,
                server_runs,
                client_cpu_us: s.client_cpu_per_op(),
            }
        }));
    }

    /// The ramp whose sustained rate is the median (as [`median`] picks
    /// it); a ramp that sustained nothing counts 0 and has no figures.
    fn median_run(&self) -> Option<&Figures> {
        let mut runs: Vec<Option<&Figures>> = self.runs.iter().map(Option::as_ref).collect();
        runs.sort_by(|a, b| rate_of(*a).total_cmp(&rate_of(*b)));
        runs.get(runs.len() / 2).copied().flatten()
    }

    /// The median sustained rate.
    pub fn rate(&self) -> f64 {
        rate_of(self.median_run())
    }

    /// A figure of the ramp whose sustained rate is the median: the
    /// latencies reported beside a rate are that rate's (NaN if it is 0).
    pub fn at_median_rate(&self, figure: impl Fn(&Figures) -> f64) -> f64 {
        self.median_run().map_or(f64::NAN, figure)
    }
}

fn rate_of(run: Option<&Figures>) -> f64 {
    run.map_or(0.0, |f| f.rate)
}

/// The median of `values` (NaN for none).
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A small seeded generator (SplitMix64): the same seed, the same run.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// The generator of operation `i` of a run seeded with `seed`: each
    /// operation's choices depend on neither the order nor the timing of
    /// the others.
    pub fn for_op(seed: u64, i: u64) -> Self {
        Self(seed ^ i.wrapping_mul(0x9E37_79B9))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_loop_runs_every_scheduled_operation() {
        let step = open_loop(1000.0, Duration::from_millis(100), 1000, |i| async move {
            if i % 10 == 0 {
                Done::Expected("LOSER".into())
            } else {
                Done::Ok
            }
        })
        .await;
        assert_eq!(step.completed(), 100);
        assert_eq!(step.ok, 90);
        assert_eq!(step.codes["LOSER"], 10);
        assert!(step.sustained(50.0));
    }

    #[tokio::test]
    async fn a_server_that_falls_behind_is_not_sustained() {
        let step = open_loop(1000.0, Duration::from_millis(50), 2, |_| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Done::Ok
        })
        .await;
        assert!(step.shed > 0);
        assert!(!step.sustained(1000.0));
    }

    #[test]
    fn latencies_are_those_of_the_median_rate() {
        let figures = |rate, p99| Figures {
            rate,
            p50: 1.0,
            p99,
            p999: p99,
            expected_p99: p99,
            ok_rate: rate,
            server_cpu_us: f64::NAN,
            server_runs: f64::NAN,
            client_cpu_us: f64::NAN,
        };
        let mut s = Sustained {
            runs: vec![
                Some(figures(6_000.0, 2.0)),
                Some(figures(8_000.0, 14.0)),
                Some(figures(500.0, 9.0)),
            ],
        };
        assert_eq!(s.rate(), 6_000.0);
        assert_eq!(s.at_median_rate(|f| f.p99), 2.0, "not the median of p99s");
        s.runs = vec![None, None, Some(figures(500.0, 9.0))];
        assert_eq!(s.rate(), 0.0);
        assert!(s.at_median_rate(|f| f.p99).is_nan());
    }

    #[tokio::test]
    async fn each_step_has_what_the_server_used_during_it() {
        let calls = std::cell::Cell::new(0_u64);
        // Every read is 2 ms and 5 runs after the one before.
        let server = || {
            calls.set(calls.get() + 1);
            Some(Usage {
                cpu_secs: 0.002 * calls.get() as f64,
                runs: 5 * calls.get(),
            })
        };
        let (steps, best) = ramp(
            &[100.0, 200.0],
            Duration::from_millis(100),
            50.0,
            100,
            server,
            |_| async { Done::Ok },
        )
        .await;
        assert_eq!(best, Some(1));
        let (cpu_us, runs) = steps[1].server_per_op();
        // 20 operations in the second step.
        assert!((cpu_us - 100.0).abs() < 1e-6, "{cpu_us}");
        assert!((runs - 0.25).abs() < 1e-9, "{runs}");
        assert!(
            steps[1].client_cpu_per_op() >= 0.0,
            "this process is readable"
        );
        let (unknown, _) = ramp(
            &[100.0],
            Duration::from_millis(10),
            50.0,
            100,
            || None,
            |_| async { Done::Ok },
        )
        .await;
        assert!(unknown[0].server_per_op().0.is_nan());
    }

    #[test]
    fn the_median_is_the_middle() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert!(median(vec![]).is_nan());
    }

    #[test]
    fn the_generator_is_seeded() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::for_op(7, 0);
                move |_| r.below(100)
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::for_op(7, 0);
                move |_| r.below(100)
            })
            .collect();
        assert_eq!(a, b);
    }
}
