//! Connecting to the database and opening write transactions.
//!
//! SQLite is the embedded default and gets the settings that make it safe
//! under concurrency: WAL, a busy timeout, `synchronous=FULL` (money must
//! survive power loss, not only a crash), foreign keys, one pooled
//! connection (SeaORM's SQLite default, which serializes writers in-process)
//! and `BEGIN IMMEDIATE` for every write transaction, so no transaction ever
//! upgrades from reader to writer and meets `SQLITE_BUSY`, which the busy
//! handler does not retry.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Opens a pool for `url` (`sqlite:…` or `postgres:…`).
///
/// # Errors
/// When the URL is invalid or the database cannot be reached.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .acquire_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        options.max_connections(1).map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    } else {
        options.max_connections(max_connections.max(2));
    }
    Database::connect(options).await
}

/// Begins a transaction that will write: `BEGIN IMMEDIATE` on SQLite, the
/// default READ COMMITTED on PostgreSQL (every contended write is a single
/// guarded statement, which re-checks its condition after a lock wait).
///
/// # Errors
/// When the database is unavailable.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let options = match db.get_database_backend() {
        DbBackend::Sqlite => TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        },
        _ => TransactionOptions::default(),
    };
    db.begin_with_options(options).await
}
