//! A Seatline server under test: a release binary started on a fresh
//! database (or an external one given by `--url`), its process figures
//! from `/proc`, and its Prometheus metrics.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sea_orm::{Database, DatabaseConnection};
use tokio::process::{Child, Command};

/// Token secret of bench servers (every one on a database shares it).
const BENCH_TOKEN_SECRET: &str = "seatline-bench-token-secret-0123456789";

/// Where the database lives.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A fresh SQLite file per server.
    Sqlite,
    /// A fresh database per server on this PostgreSQL (admin URL).
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// A fresh, empty database that is removed on [`FreshDb::drop_db`].
pub struct FreshDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Database { admin: String, name: String },
}

impl FreshDb {
    pub async fn create(backend: &Backend) -> anyhow::Result<Self> {
        let unique = format!(
            "seatline_bench_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_micros()
        );
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{unique}.db"));
                Ok(Self {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    cleanup: Cleanup::File(path),
                })
            }
            Backend::Postgres(admin) => Ok(Self {
                url: seatline::db::create_database(admin, &unique).await?,
                cleanup: Cleanup::Database {
                    admin: admin.clone(),
                    name: unique,
                },
            }),
        }
    }

    /// A connection to inspect the database after a run.
    pub async fn connect(&self) -> anyhow::Result<DatabaseConnection> {
        Ok(Database::connect(self.url.as_str()).await?)
    }

    pub async fn drop_db(self) {
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm", ".lock"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Database { admin, name } => {
                let _ = seatline::db::drop_database(&admin, &name).await;
            }
        }
    }
}

/// A running server process.
pub struct Server {
    child: Option<Child>,
    pid: Option<u32>,
    pub addr: String,
    pub db: Option<FreshDb>,
    http: reqwest::Client,
}

/// The release binary next to this one (`target/release/seatline`).
pub fn default_binary() -> PathBuf {
    let here = std::env::current_exe().unwrap_or_default();
    here.parent()
        .map(|dir| dir.join("seatline"))
        .unwrap_or_else(|| PathBuf::from("target/release/seatline"))
}

impl Server {
    /// Starts `binary` on a fresh database of `backend` with these settings.
    pub async fn start(
        binary: &PathBuf,
        backend: &Backend,
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        Self::start_under(&[], binary, backend, env).await
    }

    /// [`Self::start`] under `wrapper`, a command and its arguments that
    /// run the binary in the same process (valgrind does: the process's
    /// figures and its pid are the server's).
    pub async fn start_under(
        wrapper: &[String],
        binary: &PathBuf,
        backend: &Backend,
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        ensure_built(binary)?;
        let db = FreshDb::create(backend).await?;
        let url = db.url.clone();
        Self::spawn(wrapper, binary, &url, Some(db), env).await
    }

    /// Starts `binary` on the database at `database_url`, which it does not
    /// own (several instances on one database: see [`Cluster`]).
    async fn spawn(
        wrapper: &[String],
        binary: &PathBuf,
        database_url: &str,
        db: Option<FreshDb>,
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let addr = format!("127.0.0.1:{port}");
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(binary);
                cmd
            }
            None => Command::new(binary),
        };
        cmd.arg("serve")
            .env("DATABASE_URL", database_url)
            .env("SEATLINE_TOKEN_SECRET", BENCH_TOKEN_SECRET)
            .env("SEATLINE_ADDR", &addr)
            .env("RUST_LOG", "warn")
            // Benchmarks drive many requests per token and address.
            .env("SEATLINE_RATE_LIMIT_PER_SEC", "0")
            .env("SEATLINE_ISSUE_RATE_LIMIT_PER_SEC", "0")
            .stdin(Stdio::null())
            .stdout(log_file(port))
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let server = Self {
            pid: child.id(),
            child: Some(child),
            addr,
            db,
            http: reqwest::Client::new(),
        };
        server.wait_healthy(Duration::from_secs(60)).await?;
        Ok(server)
    }

    /// A server someone else runs; process figures are unavailable.
    pub fn external(url: &str) -> Self {
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .trim_end_matches("/graphql")
            .to_owned();
        Self {
            child: None,
            pid: None,
            addr,
            db: None,
            http: reqwest::Client::new(),
        }
    }

    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql/ws", self.addr)
    }

    async fn wait_healthy(&self, limit: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        let url = format!("http://{}/health", self.addr);
        while started.elapsed() < limit {
            if let Ok(r) = self.http.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("server at {} not healthy within {limit:?}", self.addr)
    }

    /// Resident memory, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    }

    /// The server's process id, when this bench started it.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// User plus system CPU time used so far, seconds.
    pub fn cpu_secs(&self) -> Option<f64> {
        cpu_secs_of(self.pid?)
    }

    /// What the server's threads have used so far.
    pub fn usage(&self) -> Option<Usage> {
        usage_of(self.pid?)
    }

    /// The server's Prometheus metrics (names without labels).
    pub async fn metrics(&self) -> anyhow::Result<HashMap<String, f64>> {
        let text = self
            .http
            .get(format!("http://{}/metrics", self.addr))
            .send()
            .await?
            .text()
            .await?;
        Ok(text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.to_owned(), value.parse().ok()?))
            })
            .collect())
    }

    /// Stops the process (SIGTERM via kill, then wait) and drops its
    /// database.
    pub async fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .arg(pid.to_string())
                    .status();
            }
            if tokio::time::timeout(Duration::from_secs(15), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
        if let Some(db) = self.db.take() {
            db.drop_db().await;
        }
    }
}

/// Several instances on one fresh PostgreSQL database, dropped after.
pub struct Cluster {
    pub servers: Vec<Server>,
    pub db: FreshDb,
}

impl Cluster {
    /// `instances` servers with these settings on one fresh database of
    /// `backend` (PostgreSQL: SQLite refuses a second process). The first
    /// one migrates and seeds the database before the others start.
    pub async fn start(
        binary: &PathBuf,
        backend: &Backend,
        instances: usize,
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        ensure_built(binary)?;
        if !matches!(backend, Backend::Postgres(_)) {
            bail!("several instances on one database need PostgreSQL (--database-url)");
        }
        let db = FreshDb::create(backend).await?;
        let mut servers = Vec::with_capacity(instances);
        for _ in 0..instances {
            match Server::spawn(&[], binary, &db.url, None, env).await {
                Ok(server) => servers.push(server),
                Err(e) => {
                    Self { servers, db }.stop().await;
                    return Err(e);
                }
            }
        }
        Ok(Self { servers, db })
    }

    /// Stops every instance, then drops the database.
    pub async fn stop(self) {
        for server in self.servers {
            server.stop().await;
        }
        self.db.drop_db().await;
    }
}

/// The sum of several servers' metrics, name by name (counters and
/// histogram buckets add up across instances).
pub fn sum_metrics(scrapes: &[HashMap<String, f64>]) -> HashMap<String, f64> {
    let mut sum: HashMap<String, f64> = HashMap::new();
    for scrape in scrapes {
        for (name, value) in scrape {
            *sum.entry(name.clone()).or_default() += value;
        }
    }
    sum
}

/// CPU seconds (user + system) of a process, from `/proc/<pid>/stat`.
pub fn cpu_secs_of(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may contain spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on Linux.
    Some((utime + stime) / 100.0)
}

/// What a process's threads have used so far, from each one's
/// `/proc/<pid>/task/<tid>/schedstat` (nanoseconds, unlike `stat`'s
/// 10 ms ticks). Threads that have exited are no longer counted.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// Time on a CPU, seconds.
    pub cpu_secs: f64,
    /// Times a thread was put on a CPU: about one a wake-up, for threads
    /// that block between requests.
    pub runs: u64,
}

impl Usage {
    /// What was used between `before` and `self` (never negative: a
    /// thread that exited in between takes its counts with it).
    pub fn since(self, before: Self) -> Self {
        Self {
            cpu_secs: (self.cpu_secs - before.cpu_secs).max(0.0),
            runs: self.runs.saturating_sub(before.runs),
        }
    }

    /// What was used between two reads, when both could be made.
    pub fn between(before: Option<Self>, after: Option<Self>) -> Option<Self> {
        Some(after?.since(before?))
    }
}

/// [`Usage`] of process `pid`, summed over its threads.
pub fn usage_of(pid: u32) -> Option<Usage> {
    let mut usage = Usage::default();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(text) = std::fs::read_to_string(task.ok()?.path().join("schedstat")) else {
            continue;
        };
        let mut fields = text.split_whitespace().map(str::parse::<u64>);
        if let (Some(Ok(on_cpu_ns)), Some(Ok(_waiting_ns)), Some(Ok(runs))) =
            (fields.next(), fields.next(), fields.next())
        {
            usage.cpu_secs += on_cpu_ns as f64 / 1e9;
            usage.runs += runs;
        }
    }
    Some(usage)
}

fn ensure_built(binary: &Path) -> anyhow::Result<()> {
    if !binary.exists() {
        bail!(
            "{} not found: run `cargo build --release` first",
            binary.display()
        );
    }
    Ok(())
}

/// Where a server's log (stdout) goes: `$SEATLINE_BENCH_SERVER_LOGS/<port>.log`
/// when that directory is set, else nowhere.
fn log_file(port: u16) -> Stdio {
    std::env::var_os("SEATLINE_BENCH_SERVER_LOGS")
        .and_then(|dir| std::fs::File::create(PathBuf::from(dir).join(format!("{port}.log"))).ok())
        .map_or_else(Stdio::null, Stdio::from)
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The `q` quantile of what a Prometheus histogram `name` observed between
/// two scrapes, interpolated within its bucket (as PromQL's
/// `histogram_quantile` does); `None` when nothing was observed.
pub fn histogram_quantile(
    before: &HashMap<String, f64>,
    after: &HashMap<String, f64>,
    name: &str,
    q: f64,
) -> Option<f64> {
    let prefix = format!("{name}_bucket{{le=\"");
    let mut buckets: Vec<(f64, f64)> = after
        .iter()
        .filter_map(|(key, count)| {
            let le = key.strip_prefix(&prefix)?.strip_suffix("\"}")?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((bound, count - before.get(key).copied().unwrap_or(0.0)))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let (mut lower, mut below) = (0.0, 0.0);
    for (bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return Some(lower);
            }
            let share = if count > below {
                (rank - below) / (count - below)
            } else {
                1.0
            };
            return Some(lower + (bound - lower) * share);
        }
        (lower, below) = (bound, count);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_come_from_bucket_deltas() {
        let scrape = |counts: [f64; 4]| -> HashMap<String, f64> {
            ["0.001", "0.01", "0.1", "+Inf"]
                .iter()
                .zip(counts)
                .map(|(le, c)| (format!("h_bucket{{le=\"{le}\"}}"), c))
                .collect()
        };
        let before = scrape([5.0, 5.0, 5.0, 5.0]);
        // 100 new observations: 50 under 1 ms, 40 more under 10 ms, 10 under 100 ms.
        let after = scrape([55.0, 95.0, 105.0, 105.0]);
        let p50 = histogram_quantile(&before, &after, "h", 0.5).unwrap();
        assert!((p50 - 0.001).abs() < 1e-9, "{p50}");
        let p90 = histogram_quantile(&before, &after, "h", 0.9).unwrap();
        assert!((p90 - 0.01).abs() < 1e-9, "{p90}");
        let p99 = histogram_quantile(&before, &after, "h", 0.99).unwrap();
        assert!(p99 > 0.01 && p99 < 0.1, "{p99}");
        assert_eq!(histogram_quantile(&before, &before, "h", 0.5), None);
    }

    #[test]
    fn metrics_of_instances_add_up() {
        let a: HashMap<String, f64> = [("x".to_owned(), 1.0), ("y".to_owned(), 2.0)].into();
        let b: HashMap<String, f64> = [("x".to_owned(), 3.0)].into();
        let sum = sum_metrics(&[a, b]);
        assert_eq!(sum.get("x"), Some(&4.0));
        assert_eq!(sum.get("y"), Some(&2.0));
        assert_eq!(sum_metrics(&[]).len(), 0);
    }

    #[test]
    fn own_cpu_time_is_readable() {
        assert!(cpu_secs_of(std::process::id()).is_some());
        let before = usage_of(std::process::id()).expect("schedstat is readable");
        // Spin until the reading grows, not for a fixed time: on a busy
        // machine 20 ms of spinning may get less than 10 ms of a core.
        let give_up = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let spin = std::time::Instant::now();
            while spin.elapsed() < Duration::from_millis(1) {
                std::hint::black_box(0);
            }
            let used = usage_of(std::process::id()).unwrap().since(before);
            if used.cpu_secs >= 0.01 {
                break;
            }
            assert!(std::time::Instant::now() < give_up, "never grew: {used:?}");
        }
    }
}
