//! Building and running the application: the library form of `main`, so
//! tests and tools start the real thing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::ServiceExt;
use chrono::TimeDelta;
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::db::{self, StartupLock};
use crate::domain::catalog::seed;
use crate::domain::queue::tokens::TokenKey;
use crate::domain::queue::{self, tokens};
use crate::domain::{Domain, Rules};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimits;
use crate::state::AppState;
use crate::{graphql, http, jobs};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("loading state: {0}")]
    Domain(#[from] crate::domain::Error),
    #[error(transparent)]
    Claim(#[from] db::ClaimError),
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Serve(#[from] std::io::Error),
    #[error(
        "set SEATLINE_TOKEN_SECRET (at least 32 characters, e.g. `openssl rand -hex 32`; \
         the same on every instance): queue tokens are derived from it, and PostgreSQL \
         deployments must not keep it in the database"
    )]
    MissingTokenSecret,
    #[error("token secret: {0}")]
    TokenSecret(std::io::Error),
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// Held while serving: keeps a second process off a SQLite file.
    _sqlite_claim: Option<std::fs::File>,
}

impl Application {
    /// Connects, migrates, seeds the demo catalog if asked and binds.
    ///
    /// # Errors
    /// When the database or the address is unusable.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// [`build`](Self::build) with a chosen clock.
    ///
    /// # Errors
    /// When the database or the address is unusable.
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let sqlite_claim = db::claim_sqlite_file(&settings.database_url)?;
        let startup = StartupLock::acquire(&settings.database_url).await?;
        let mut db = connect_and_migrate(&settings).await?;
        let metrics = Arc::new(Metrics::default());
        let count_statements = |metrics: &Arc<Metrics>| {
            let counted = Arc::clone(metrics);
            move |_: &sea_orm::metric::Info<'_>| {
                counted.db_statements.inc();
            }
        };
        db.set_metric_callback(count_statements(&metrics));
        let reader = match db::connect_readers(&settings.database_url).await? {
            Some(mut reader) => {
                reader.set_metric_callback(count_statements(&metrics));
                reader
            }
            None => db.clone(),
        };
        let tokens = token_key(&settings)?;
        let domain = Domain::load(db, reader, clock, rules(&settings), tokens, metrics).await?;
        let salted = queue::salt_legacy_tickets(&domain).await?;
        if salted > 0 {
            tracing::info!("{salted} tickets issued before tokens were hashed got new tokens");
        }
        if settings.demo_data && seed::seed_if_empty(&domain, settings.demo_dates).await? {
            tracing::info!("seeded the demo catalog");
        }
        startup.release().await;
        let listener =
            TcpListener::bind(settings.addr)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: settings.addr,
                    source,
                })?;
        let state = AppState {
            domain,
            limits: Arc::new(RateLimits::new(
                settings.rate_limit_per_sec,
                settings.issue_rate_limit_per_sec,
            )),
            settings: Arc::new(settings),
            shutdown: CancellationToken::new(),
        };
        Ok(Self {
            listener,
            state,
            _sqlite_claim: sqlite_claim,
        })
    }

    /// The bound address (useful with port 0).
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    #[must_use]
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` is cancelled, then shuts down gracefully:
    /// in-flight requests finish, subscriptions end with a close frame,
    /// background jobs stop, batches already taken (some perhaps for
    /// clients that hung up) are written, and the database pool closes.
    ///
    /// # Errors
    /// When serving fails.
    pub async fn run_until_stopped(self, stop: CancellationToken) -> Result<(), StartupError> {
        let Self {
            listener,
            state,
            _sqlite_claim,
        } = self;
        let addr = listener.local_addr()?;
        tracing::info!(
            "Seatline listening on http://{addr} (playground: http://{addr}/graphql, database: {})",
            state.settings.redacted_database_url()
        );
        jobs::spawn_all(&state);
        let schema = graphql::build_schema(Some(state.clone()));
        let service = http::service(state.clone(), schema);
        let shutdown = state.shutdown.clone();
        let stopping = stop.clone();
        let server = axum::serve(
            listener,
            service.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            stopping.cancelled().await;
            // Ends subscription streams and WebSocket loops too.
            shutdown.cancel();
        });
        let result = server.await;
        state.shutdown.cancel();
        // Jobs stop on the cancel; batch writers finish what they took;
        // WebSocket connections send their close frames.
        let tasks = state.domain.tasks();
        tasks.close();
        let grace = Duration::from_secs(state.settings.shutdown_grace_secs);
        if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
            tracing::warn!("background tasks did not stop within {grace:?}");
        }
        // A connection still held by a task that outlived the grace would
        // keep `close` waiting for ever.
        let pools = async {
            let _ = state.domain.db().clone().close().await;
            let _ = state.domain.reader().clone().close().await;
        };
        if tokio::time::timeout(grace, pools).await.is_err() {
            tracing::warn!("the database did not close within {grace:?}");
        }
        tracing::info!("Seatline stopped");
        Ok(result?)
    }
}

/// Connects and applies pending migrations.
///
/// # Errors
/// When the database is unreachable or a migration fails.
pub async fn migrate(settings: &Settings) -> Result<DatabaseConnection, StartupError> {
    let startup = StartupLock::acquire(&settings.database_url).await?;
    let db = connect_and_migrate(settings).await?;
    startup.release().await;
    Ok(db)
}

/// [`migrate`] without the [`StartupLock`], which the caller holds.
async fn connect_and_migrate(settings: &Settings) -> Result<DatabaseConnection, StartupError> {
    let db = db::connect(&settings.database_url, settings.db_max_connections).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

/// The key queue tokens are derived with: the configured secret, else the
/// one kept beside a SQLite file, else (in-memory SQLite) a random one.
fn token_key(settings: &Settings) -> Result<TokenKey, StartupError> {
    if let Some(secret) = &settings.token_secret {
        return Ok(TokenKey::new(secret.expose().as_bytes()));
    }
    if !settings.database_url.starts_with("sqlite:") {
        return Err(StartupError::MissingTokenSecret);
    }
    match db::sqlite_secret(&settings.database_url, tokens::random_secret) {
        Ok(Some(secret)) => Ok(TokenKey::new(secret.as_bytes())),
        Ok(None) => Ok(TokenKey::random()),
        Err(err) => Err(StartupError::TokenSecret(err)),
    }
}

fn rules(settings: &Settings) -> Rules {
    let secs = |s: u64| TimeDelta::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000));
    Rules {
        queue_capacity: settings.queue_capacity,
        active_ttl: secs(settings.active_ttl_secs),
        hold_ttl: secs(settings.hold_ttl_secs),
        max_holds_per_user: settings.max_holds_per_user,
        max_charge_won: settings.max_charge_won,
    }
}

#[cfg(test)]
mod tests {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

    /// The tables named `name` (0 or 1).
    async fn tables(db: &DatabaseConnection, name: &str) -> i64 {
        let sql = if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
            format!(
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '{name}'"
            )
        } else {
            format!(
                "SELECT COUNT(*) AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename = '{name}'"
            )
        };
        let row = db.query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ));
        row.await
            .expect("count")
            .expect("a row")
            .try_get("", "n")
            .expect("n")
    }

    /// The queue's migration fails at its gate table, after it made the
    /// tickets' table; nothing of it stays, and once the obstacle is gone
    /// the next run applies it whole.
    async fn a_failed_migration_leaves_nothing(db: &DatabaseConnection) {
        Migrator::up(db, Some(1)).await.expect("the catalog");
        db.execute_unprepared("CREATE TABLE queue_gate (obstacle INTEGER)")
            .await
            .expect("obstacle");
        assert!(Migrator::up(db, None).await.is_err());
        assert_eq!(tables(db, "queue_tickets").await, 0, "half a migration");

        db.execute_unprepared("DROP TABLE queue_gate")
            .await
            .expect("drop");
        Migrator::up(db, None).await.expect("migrate");
        assert_eq!(tables(db, "queue_tickets").await, 1);
    }

    #[tokio::test]
    async fn a_migration_that_fails_midway_leaves_nothing_on_sqlite() {
        let db = Database::connect("sqlite::memory:").await.expect("connect");
        a_failed_migration_leaves_nothing(&db).await;
    }

    #[tokio::test]
    async fn a_migration_that_fails_midway_leaves_nothing_on_postgres() {
        let Some((url, _dropped)) = crate::db::fresh_postgres().await else {
            return;
        };
        let db = Database::connect(&url).await.expect("connect");
        a_failed_migration_leaves_nothing(&db).await;
    }

    /// The schema refuses a second ledger row for one payment, whatever
    /// wrote it; charges, which name no payment, are not limited.
    #[tokio::test]
    async fn a_payment_has_at_most_one_ledger_row() {
        use chrono::Utc;
        use entity::{wallet, wallet_ledger};
        use sea_orm::{ActiveValue::Set, EntityTrait};

        for (db, _postgres) in crate::db::test_databases().await {
            wallet::Entity::insert(wallet::ActiveModel {
                user_id: Set("alice".into()),
                balance_won: Set(0),
                updated_at: Set(Utc::now()),
            })
            .exec_without_returning(&db)
            .await
            .expect("wallet");
            let row = |kind, payment_id| wallet_ledger::ActiveModel {
                user_id: Set("alice".into()),
                amount_won: Set(1_000),
                kind: Set(kind),
                payment_id: Set(payment_id),
                created_at: Set(Utc::now()),
                ..Default::default()
            };
            for entry in [
                row(wallet_ledger::LedgerKind::Charge, None),
                row(wallet_ledger::LedgerKind::Charge, None),
                row(wallet_ledger::LedgerKind::Payment, Some(7)),
            ] {
                wallet_ledger::Entity::insert(entry)
                    .exec_without_returning(&db)
                    .await
                    .expect("a charge, a charge, a payment's row");
            }
            let second =
                wallet_ledger::Entity::insert(row(wallet_ledger::LedgerKind::Payment, Some(7)))
                    .exec_without_returning(&db)
                    .await;
            assert!(
                second.is_err(),
                "{:?}: a second row for payment 7",
                db.get_database_backend()
            );
        }
    }

    #[test]
    fn every_migration_runs_in_a_transaction() {
        for m in Migrator::migrations() {
            assert_eq!(m.use_transaction(), Some(true), "{}", m.name());
        }
    }
}
