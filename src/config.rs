//! Settings: parsed once in `main` from CLI flags and environment
//! variables (SPEC section 8's, and the operational ones it leaves open),
//! then passed by value.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

/// Seatline: a concert-ticketing GraphQL API with a live virtual waiting room.
#[derive(Debug, Parser)]
#[command(name = "seatline", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Apply migrations, then serve the API (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL) and exit.
    Schema,
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database URL: `sqlite://…` (embedded) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://seatline.db?mode=rwc"
    )]
    pub database_url: String,

    /// Secret that queue tokens are derived from (at least 32 characters;
    /// `openssl rand -hex 32`). Every instance on one database needs the
    /// same one. Unset, a SQLite file keeps a generated one beside it in
    /// `<database>.secret`; PostgreSQL requires it.
    #[arg(long, env = "SEATLINE_TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: Option<Secret>,

    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "SEATLINE_ADDR", default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,

    /// Tickets admitted (PROGRESS) at once.
    #[arg(long, env = "SEATLINE_QUEUE_CAPACITY", default_value_t = 100)]
    pub queue_capacity: u32,

    /// How long an admitted ticket stays admitted.
    #[arg(long, env = "SEATLINE_ACTIVE_TTL_SECS", default_value_t = 600)]
    pub active_ttl_secs: u64,

    /// How long a seat hold lasts unpaid.
    #[arg(long, env = "SEATLINE_HOLD_TTL_SECS", default_value_t = 300)]
    pub hold_ttl_secs: u64,

    /// Unpaid holds one user may have at once.
    #[arg(long, env = "SEATLINE_MAX_HOLDS_PER_USER", default_value_t = 4)]
    pub max_holds_per_user: u32,

    /// Seed a demo catalog into an empty database.
    #[arg(long, env = "SEATLINE_DEMO_DATA", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo_data: bool,

    /// Dates per concert in the demo catalog (three concerts; 50 seats a
    /// date). Benchmarks raise it for a catalog with many dates.
    #[arg(long, env = "SEATLINE_DEMO_DATES", default_value_t = 3)]
    pub demo_dates: u32,

    /// Largest single `chargeBalance` amount, in won.
    #[arg(long, env = "SEATLINE_MAX_CHARGE_WON", default_value_t = 10_000_000)]
    pub max_charge_won: i64,

    /// At most one position-only push per subscriber per interval.
    #[arg(long, env = "SEATLINE_PUSH_INTERVAL_MS", default_value_t = 500)]
    pub push_interval_ms: u64,

    /// Mutations per second per token (burst twice that); 0 turns it off.
    #[arg(long, env = "SEATLINE_RATE_LIMIT_PER_SEC", default_value_t = 50)]
    pub rate_limit_per_sec: u32,

    /// `issueQueueToken` calls per second per client address (burst twice
    /// that); 0 turns it off.
    #[arg(long, env = "SEATLINE_ISSUE_RATE_LIMIT_PER_SEC", default_value_t = 0)]
    pub issue_rate_limit_per_sec: u32,

    /// How often the background sweeper expires holds and lapsed admissions
    /// (it also wakes at each admission's lapse, and sleeps at most one
    /// active TTL).
    #[arg(long, env = "SEATLINE_SWEEP_INTERVAL_MS", default_value_t = 1000)]
    pub sweep_interval_ms: u64,

    /// Database connections (PostgreSQL; SQLite always uses one writer).
    #[arg(long, env = "SEATLINE_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Serve introspection and the GraphiQL playground; turn off in
    /// production if the schema should not be discoverable.
    #[arg(long, env = "SEATLINE_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,

    /// WebSocket connections served at once; past it an upgrade is
    /// answered 503, so sockets never take the descriptors HTTP requests
    /// and the database need. 0: the open-file limit less 512, or less a
    /// quarter of it if that is smaller.
    #[arg(long, env = "SEATLINE_WS_MAX_CONNECTIONS", default_value_t = 0)]
    pub ws_max_connections: usize,

    /// How long a WebSocket client has to send `connection_init` (closed
    /// with 4408 after).
    #[arg(long, env = "SEATLINE_WS_INIT_TIMEOUT_MS", default_value_t = 10_000)]
    pub ws_init_timeout_ms: u64,

    /// How often the server pings a WebSocket. A peer heard nothing from
    /// (not even a pong) for two intervals, or that accepts no write for
    /// one, is disconnected.
    #[arg(long, env = "SEATLINE_WS_KEEPALIVE_MS", default_value_t = 30_000)]
    pub ws_keepalive_ms: u64,

    /// How long an HTTP request may run before it is answered with an
    /// `INTERNAL` error saying so (0: no limit). A write it started may
    /// still commit; a retry with the same `idempotencyKey` learns its
    /// outcome.
    #[arg(long, env = "SEATLINE_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,

    /// How long shutdown waits for background work to stop, and then for
    /// the database to close (each). Requests in flight finish first,
    /// each within the request timeout.
    #[arg(long, env = "SEATLINE_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
}

/// A secret setting: at least 32 characters, never shown by `Debug`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Shortest accepted secret.
    pub const MIN_LEN: usize = 32;

    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() < Self::MIN_LEN {
            return Err(format!("must be at least {} characters", Self::MIN_LEN));
        }
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Settings {
    /// Defaults for every setting, as if no flag or variable was given:
    /// the environment is not read, so an exported `DATABASE_URL` or
    /// `SEATLINE_*` does not leak into what starts from these.
    #[must_use]
    pub fn defaults() -> Self {
        use clap::{CommandFactory, FromArgMatches};

        let command = Cli::command().mut_args(|arg| arg.env(None::<&str>));
        // Parsing an empty command line cannot fail: every field has a default.
        #[allow(clippy::expect_used)]
        command
            .try_get_matches_from(["seatline"])
            .and_then(|matches| Cli::from_arg_matches(&matches))
            .expect("every setting has a default")
            .settings
    }

    /// The settings as the server reads them with no flags: defaults
    /// overridden by the environment.
    ///
    /// # Errors
    /// When a variable holds a value its setting does not accept.
    pub fn from_env() -> Result<Self, clap::Error> {
        Cli::try_parse_from(["seatline"]).map(|cli| cli.settings)
    }

    /// The database URL with any password replaced, safe to log.
    #[must_use]
    pub fn redacted_database_url(&self) -> String {
        redact_password(&self.database_url)
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let s = Settings::defaults();
        assert_eq!(s.database_url, "sqlite://seatline.db?mode=rwc");
        assert_eq!(s.addr.to_string(), "127.0.0.1:8000");
        assert_eq!(s.queue_capacity, 100);
        assert_eq!(s.active_ttl_secs, 600);
        assert_eq!(s.hold_ttl_secs, 300);
        assert_eq!(s.max_holds_per_user, 4);
        assert!(s.demo_data);
        assert_eq!(s.max_charge_won, 10_000_000);
        assert_eq!(s.push_interval_ms, 500);
        assert_eq!(s.rate_limit_per_sec, 50);
        assert_eq!(s.issue_rate_limit_per_sec, 0);
    }

    #[test]
    fn defaults_ignore_the_environment() {
        // The test above, in a process of its own with settings exported.
        let run = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args(["config::tests::defaults_match_the_spec", "--exact"])
            .env("DATABASE_URL", "postgres://elsewhere/db")
            .env("SEATLINE_QUEUE_CAPACITY", "7")
            .env("SEATLINE_DEMO_DATA", "false")
            .output()
            .expect("run the test binary");
        let out = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{out}");
        assert!(out.contains("1 passed"), "{out}");
    }

    /// SPEC 8: each setting is an environment variable and a CLI flag.
    #[test]
    fn every_spec_setting_is_an_env_var_and_a_flag() {
        use clap::CommandFactory;
        let command = Cli::command();
        for env in [
            "DATABASE_URL",
            "SEATLINE_ADDR",
            "SEATLINE_QUEUE_CAPACITY",
            "SEATLINE_ACTIVE_TTL_SECS",
            "SEATLINE_HOLD_TTL_SECS",
            "SEATLINE_MAX_HOLDS_PER_USER",
            "SEATLINE_DEMO_DATA",
            "SEATLINE_MAX_CHARGE_WON",
            "SEATLINE_PUSH_INTERVAL_MS",
            "SEATLINE_RATE_LIMIT_PER_SEC",
            "SEATLINE_ISSUE_RATE_LIMIT_PER_SEC",
        ] {
            let arg = command
                .get_arguments()
                .find(|a| a.get_env() == Some(std::ffi::OsStr::new(env)))
                .unwrap_or_else(|| panic!("{env} is not read"));
            let flag = env
                .trim_start_matches("SEATLINE_")
                .to_lowercase()
                .replace('_', "-");
            assert_eq!(arg.get_long(), Some(flag.as_str()), "{env}");
        }

        let cli = Cli::try_parse_from([
            "seatline",
            "--addr=127.0.0.1:9",
            "--queue-capacity=7",
            "--active-ttl-secs=8",
            "--hold-ttl-secs=9",
            "--max-holds-per-user=2",
            "--demo-data=false",
            "--max-charge-won=11",
            "--push-interval-ms=12",
            "--rate-limit-per-sec=13",
            "--issue-rate-limit-per-sec=14",
        ])
        .expect("the flags parse");
        let s = cli.settings;
        assert_eq!(s.addr.to_string(), "127.0.0.1:9");
        assert_eq!(
            (s.queue_capacity, s.active_ttl_secs, s.hold_ttl_secs),
            (7, 8, 9)
        );
        assert_eq!((s.max_holds_per_user, s.demo_data), (2, false));
        assert_eq!((s.max_charge_won, s.push_interval_ms), (11, 12));
        assert_eq!((s.rate_limit_per_sec, s.issue_rate_limit_per_sec), (13, 14));
    }

    #[test]
    fn secrets_are_long_and_never_shown() {
        assert!("too short".parse::<Secret>().is_err());
        let secret: Secret = "0123456789abcdef0123456789abcdef".parse().unwrap();
        assert_eq!(format!("{secret:?}"), "Secret(..)");
        let mut s = Settings::defaults();
        s.token_secret = Some(secret);
        assert!(!format!("{s:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(
            redact_password("postgres://app:s3cret@db:5432/seatline"),
            "postgres://app:***@db:5432/seatline"
        );
        assert_eq!(
            redact_password("sqlite://seatline.db?mode=rwc"),
            "sqlite://seatline.db?mode=rwc"
        );
    }
}
