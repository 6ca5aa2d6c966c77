//! The scenarios. Each starts its own server(s) on fresh databases, drives
//! them, and adds rows (figures, goals, invariant checks) to the report.

mod admit;
mod cost;
mod flow;
mod hold;
mod join;
mod peer;
mod raw;
mod scale;
mod subs;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

pub use self::admit::admit;
pub use self::cost::cost;
pub use self::flow::flow;
pub use self::hold::hold_hot;
pub use self::join::join;
pub use self::peer::{DEFAULT_REDIS, peer};
pub use self::raw::raw_limit;
pub use self::scale::scale;
pub use self::subs::subs_idle;

/// Seatline's push interval unless `--push-interval-ms` says otherwise: the
/// SPEC's default.
pub const PUSH_INTERVAL_MS: u64 = 500;
use crate::client::Gql;
use crate::load::{Done, Step, Sustained, open_loop, ramp};
use crate::report::Report;
use crate::server::{Backend, Server};

pub struct Ctx {
    pub backend: Backend,
    binary: PathBuf,
    url: Option<String>,
    pub quick: bool,
    pub seed: u64,
    pub runs: usize,
    pub report: Report,
    /// Seatline's push interval in the scenarios that push (`admit`,
    /// `peer`, `scale`).
    pub push_interval: Duration,
    /// Throughputs measured in this run, for ratios (`join`, `hold`).
    pub measured: HashMap<&'static str, f64>,
}

impl Ctx {
    pub fn new(
        backend: Backend,
        binary: PathBuf,
        url: Option<String>,
        quick: bool,
        seed: u64,
        runs: usize,
        push_interval: Duration,
    ) -> Self {
        Self {
            backend,
            binary,
            url,
            quick,
            seed,
            runs: runs.max(1),
            report: Report::default(),
            push_interval,
            measured: HashMap::new(),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// A server with these settings on a fresh database (or the external
    /// one).
    pub async fn server(&self, env: &[(&str, String)]) -> anyhow::Result<Server> {
        match &self.url {
            Some(url) => {
                eprintln!("  (external server: make sure it runs with {env:?})");
                Ok(Server::external(url))
            }
            None => Server::start(&self.binary, &self.backend, env).await,
        }
    }

    /// Whether the scenarios run against a server someone else started
    /// (`--url`), whose process the bench cannot read or wrap.
    pub fn external(&self) -> bool {
        self.url.is_some()
    }

    /// A server on a fresh database under `wrapper` (see
    /// [`Server::start_under`]); `None` for an external one, which the
    /// bench cannot wrap.
    pub async fn server_under(
        &self,
        wrapper: &[String],
        env: &[(&str, String)],
    ) -> anyhow::Result<Option<Server>> {
        if self.external() {
            return Ok(None);
        }
        Server::start_under(wrapper, &self.binary, &self.backend, env)
            .await
            .map(Some)
    }

    /// Picks the size for this mode.
    pub fn size<T>(&self, quick: T, full: T) -> T {
        if self.quick { quick } else { full }
    }

    pub fn pick(&self, sqlite: f64, postgres: f64) -> f64 {
        match self.backend {
            Backend::Sqlite => sqlite,
            Backend::Postgres(_) => postgres,
        }
    }

    /// What an `op` cost at the sustained rate: the server's CPU and
    /// thread runs (see [`crate::load::Step::server_per_op`]), and the load
    /// generator's CPU beside them on the same cores.
    pub fn report_cost_per_op(&mut self, scenario: &str, op: &str, sustained: &Sustained) {
        let b = self.backend_name();
        self.report.figure(
            scenario,
            b,
            &format!("server CPU per {op} at that rate"),
            sustained.at_median_rate(|f| f.server_cpu_us),
            "µs",
        );
        self.report.figure(
            scenario,
            b,
            &format!("server thread runs per {op} at that rate (wake-ups)"),
            sustained.at_median_rate(|f| f.server_runs),
            "",
        );
        self.report.figure(
            scenario,
            b,
            &format!("load generator CPU per {op} at that rate"),
            sustained.at_median_rate(|f| f.client_cpu_us),
            "µs",
        );
    }
}

/// Starts lapse-driven admissions on servers running with capacity =
/// `rate` and a 1 s active TTL: `rate` users join spread over one second
/// (round-robin over `gqls`), are admitted at once, and from then on one
/// lapses, and the next waiter is admitted, every 1/`rate` s.
pub async fn pump(gqls: &[Gql], rate: f64) -> anyhow::Result<()> {
    anyhow::ensure!(!gqls.is_empty(), "no server to pump");
    let pump = open_loop(rate, Duration::from_secs(1), 1_024, |i| {
        let gql = gqls[i as usize % gqls.len()].clone();
        async move {
            match gql.issue(&format!("pump-{i}")).await {
                Ok(_) => Done::Ok,
                Err(e) => Done::Error(e.to_string()),
            }
        }
    })
    .await;
    anyhow::ensure!(pump.errors == 0, "pump: {:?}", pump.first_error);
    Ok(())
}

/// [`ramp`] on `server`, each step's [`Step::server`] read from it, with up
/// to 4,096 operations in flight.
pub async fn ramp_on<F, Fut>(
    server: &Server,
    rates: &[f64],
    duration: Duration,
    p99_ms: f64,
    op: F,
) -> (Vec<Step>, Option<usize>)
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Done> + Send + 'static,
{
    ramp(rates, duration, p99_ms, 4_096, || server.usage(), op).await
}

/// Every concert date id of the catalog.
pub async fn date_ids(gql: &Gql) -> anyhow::Result<Vec<String>> {
    let data = gql
        .call(None, "{ concerts { dates { id } } }", json!({}))
        .await
        .data()?;
    Ok(data["concerts"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["dates"].as_array().into_iter().flatten())
        .filter_map(|d| d["id"].as_str().map(str::to_owned))
        .collect())
}

/// The server's `seatline_<kind>_batch_size` histogram as (sum, count):
/// zeros before its first batch, or from a server that has none.
pub async fn batch_sizes(server: &Server, kind: &str) -> anyhow::Result<(f64, f64)> {
    let m = server.metrics().await?;
    let get = |part: &str| {
        m.get(&format!("seatline_{kind}_batch_size_{part}"))
            .copied()
            .unwrap_or(0.0)
    };
    Ok((get("sum"), get("count")))
}

/// A count from the database under test.
pub async fn scalar(server: &Server, sql: &str) -> anyhow::Result<i64> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = server
        .db
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no database to inspect (external server)"))?
        .connect()
        .await?;
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(backend, sql.to_owned()))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row: {sql}"))?;
    let value: i64 = row.try_get_by_index(0)?;
    db.close().await?;
    Ok(value)
}

/// The JSON value at `pointer` as a string.
pub fn text(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}
