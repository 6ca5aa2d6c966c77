//! Connecting to the database and opening write transactions.
//!
//! SQLite is the embedded default and gets the settings that make it safe
//! under concurrency: WAL, a busy timeout, `synchronous=FULL` (money must
//! survive power loss, not only a crash), foreign keys, temporary data in
//! memory, one pooled
//! connection (SeaORM's SQLite default, which serializes writers in-process)
//! and `BEGIN IMMEDIATE` for every write transaction, so no transaction ever
//! upgrades from reader to writer and meets `SQLITE_BUSY`, which the busy
//! handler does not retry. Reads outside transactions go to a few read-only
//! connections beside it ([`connect_readers`]).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    AccessMode, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, IsolationLevel, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
};

/// Opens a pool for `url` (`sqlite:…` or `postgres:…`).
///
/// # Errors
/// When the URL is invalid or the database cannot be reached.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = options(url);
    if url.starts_with("sqlite:") {
        options.max_connections(1).map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(TIMEOUT)
                .foreign_keys(true)
                // A statement's journal, which undoes one statement of a
                // transaction alone, past 64 KiB spills into a temporary
                // file created and deleted each time. A join batch's insert
                // touches an index page per ticket (random token hashes), so
                // most did. In memory it writes no file, and stays small:
                // every write is a bounded batch (at most 256 joins, 128
                // holds, charges or payments, 500 swept holds). A migration
                // that builds an index sorts in memory as well.
                .pragma("temp_store", "memory")
                // The checkpointer copies the WAL into the database beside
                // the writer ([`connect_checkpointer`]); the writer does it
                // itself only if that falls far behind.
                .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES.to_string())
                .row_buffer_size(ROW_BUFFER)
        });
    } else {
        options
            .max_connections(max_connections.max(2))
            // Every guarded statement relies on READ COMMITTED: after a
            // lock wait it sees what the holder committed. Set on each new
            // connection, so a database or role whose default is stricter
            // cannot change it, at no cost per transaction. (Not in the
            // startup packet: connection poolers refuse options there.)
            .map_sqlx_postgres_pool_opts(|pool| {
                pool.after_connect(|connection, _| {
                    Box::pin(async move {
                        use sea_orm::sqlx::Executor;
                        connection
                            .execute(
                                "SET SESSION CHARACTERISTICS AS TRANSACTION \
                                 ISOLATION LEVEL READ COMMITTED",
                            )
                            .await
                            .map(drop)
                    })
                })
            });
    }
    Database::connect(options).await
}

/// Held while an instance migrates the database and seeds it: instances
/// started together on a new PostgreSQL database take turns, so none
/// meets another's half-made tables and the demo catalog is seeded once.
/// A session-level advisory lock on a connection of its own, released when
/// that connection closes, so an instance that dies mid-migration frees it.
/// SQLite needs none: [`claim_sqlite_file`] keeps its file to one process.
pub struct StartupLock(Option<DatabaseConnection>);

/// The advisory lock's key: "seatline" in ASCII.
const STARTUP_LOCK_KEY: i64 = 0x7365_6174_6c69_6e65;

impl StartupLock {
    /// Waits for the lock on `url`'s database.
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn acquire(url: &str) -> Result<Self, DbErr> {
        if url.starts_with("sqlite:") {
            return Ok(Self(None));
        }
        let mut options = options(url);
        // The lock lives as long as this one connection: the pool must
        // never close it for idling or age, however long a migration runs.
        options
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
        let db = Database::connect(options).await?;
        // Waiting for another instance's migration is not a slow statement.
        db.execute_unprepared("SET lock_timeout = 0; SET statement_timeout = 0")
            .await?;
        let lock = |function: &str| {
            Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT {function}({STARTUP_LOCK_KEY})"),
            )
        };
        let taken = db
            .query_one_raw(lock("pg_try_advisory_lock"))
            .await?
            .map(|row| row.try_get_by_index::<bool>(0))
            .transpose()?;
        if taken != Some(true) {
            tracing::info!("waiting for another instance to finish migrating");
            db.execute_raw(lock("pg_advisory_lock")).await?;
        }
        Ok(Self(Some(db)))
    }

    /// Lets the next instance in.
    pub async fn release(self) {
        if let Some(db) = self.0 {
            let _ = db.close().await;
        }
    }
}

/// Read connections beside SQLite's one writer.
const SQLITE_READERS: u32 = 4;

/// Opens the pool that reads outside write transactions go to, when it is
/// not the writer's own. On a SQLite file: read-only connections, which WAL
/// lets read committed data while the one writer writes, so an
/// authentication or a seat list never waits for someone else's
/// transaction. `None` otherwise: PostgreSQL's pool already reads in
/// parallel, and an in-memory SQLite database exists only on its own
/// connection.
///
/// # Errors
/// When the database cannot be reached.
pub async fn connect_readers(url: &str) -> Result<Option<DatabaseConnection>, DbErr> {
    if !url.starts_with("sqlite:") || sqlite_path(url).is_none() {
        return Ok(None);
    }
    let mut options = options(url);
    options
        .max_connections(SQLITE_READERS)
        .min_connections(0)
        .map_sqlx_sqlite_opts(|o| {
            o.read_only(true)
                .busy_timeout(TIMEOUT)
                .row_buffer_size(ROW_BUFFER)
        });
    Database::connect(options).await.map(Some)
}

/// WAL pages (4 KiB each) past which SQLite's one writer copies the WAL
/// into the database itself, after a commit and before its next
/// transaction: 64 MiB, where SQLite's default is 4 MiB. Copying 4 MiB and
/// syncing the database file stalled the writer, and every request queued
/// behind it, for tens of milliseconds several times a second under load
/// (`hold-hot`'s p99); the checkpointer does it on a connection of its own.
const WRITER_CHECKPOINT_PAGES: u32 = 16_384;

/// Opens the connection that checkpoints a SQLite file's WAL
/// (`PRAGMA wal_checkpoint(PASSIVE)`), beside the writer, which appends to
/// the WAL meanwhile. `None` when `url` is not a SQLite file.
///
/// # Errors
/// When the database cannot be opened.
pub async fn connect_checkpointer(url: &str) -> Result<Option<DatabaseConnection>, DbErr> {
    if !url.starts_with("sqlite:") || sqlite_path(url).is_none() {
        return Ok(None);
    }
    let mut options = options(url);
    options
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .map_sqlx_sqlite_opts(|o| {
            // A checkpoint syncs the WAL before it copies and the database
            // file after, unless the connection's `synchronous` is OFF:
            // FULL, as the writer's.
            o.synchronous(SqliteSynchronous::Full).busy_timeout(TIMEOUT)
        });
    Database::connect(options).await.map(Some)
}

/// Copies what the WAL holds into the database file without waiting for
/// the writer or readers (a passive checkpoint: it stops at a frame a
/// reader still needs, and the next one goes on from there). Returns the
/// frames in the WAL and the frames copied so far.
///
/// # Errors
/// When the database fails.
pub async fn checkpoint(db: &DatabaseConnection) -> Result<(i64, i64), DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA wal_checkpoint(PASSIVE)",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("wal_checkpoint returned no row".into()))?;
    Ok((row.try_get_by_index(1)?, row.try_get_by_index(2)?))
}

/// Rows a SQLite connection's thread may send ahead of the task reading
/// them. Past sqlx's default of 50 the thread stops until the task has
/// read, and each stop costs two more thread wake-ups: a date's seat list,
/// 50 rows and its result, stopped once per read. Room for the longest
/// list a request or a batch reads at once (a sweep's 500 lapsed holds).
pub(crate) const ROW_BUFFER: usize = 512;

/// How long to wait for a connection, a pooled one, or SQLite's lock.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A pooled connection idle this long is pinged before it is handed out.
const STALE_AFTER: Duration = Duration::from_secs(30);

/// What every pool shares: its timeouts, no statement logging, and a ping
/// only for a connection idle long enough that the server or a firewall
/// may have dropped it. sqlx's default pings on every checkout: a second
/// round trip for every read outside a transaction and for every
/// transaction (on SQLite a second hand-off to the connection's thread).
fn options(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .acquire_timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .test_before_acquire_if_idle_for(STALE_AFTER)
        .sqlx_logging(false);
    options
}

/// Begins a transaction that will write: `BEGIN IMMEDIATE` on SQLite, READ
/// COMMITTED on PostgreSQL, which [`connect`] makes every session's default
/// (every contended write is a single guarded statement, which re-checks
/// its condition after a lock wait).
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

/// Begins a read-only transaction whose statements all read one snapshot:
/// REPEATABLE READ on PostgreSQL; on SQLite (WAL) every read transaction
/// does, from its first statement.
///
/// # Errors
/// When the database is unavailable.
pub async fn begin_snapshot(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => db.begin().await,
        _ => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await
        }
    }
}

/// `column` (table-qualified), for a filter term the planner must not
/// search an index by.
///
/// A list of a few ids or users is the narrow side of every filter that
/// pairs it with a status, but neither planner can be trusted to know it.
/// SQLite keeps no statistics unless `ANALYZE` ran, and guesses that
/// `status = ?` or `status IN (…)` narrows more. PostgreSQL's generic plan
/// for a prepared statement (which it uses after five runs when it looks
/// no costlier than theirs) knows no parameter values, and statistics
/// gathered before a sale opened know none of the rows the sale wrote.
/// Both then search an index led by `status` and read every row in that
/// status, all of a long line or every live hold, to find a few. A unary
/// `+` is SQLite's documented way to keep a term out of index choice; on
/// PostgreSQL, whose text has no unary `+`, the usual way is an expression
/// no index is built on, `|| ''`. The term still filters.
///
/// Build the statement for `backend`: each form is a template whose
/// marker only that backend's query builder fills in.
pub fn unindexed(backend: DbBackend, column: impl ColumnTrait) -> Expr {
    let column = Expr::col(column.as_column_ref());
    match backend {
        DbBackend::Sqlite => Expr::cust_with_expr("+?", column),
        DbBackend::Postgres => Expr::cust_with_expr("$1 || ''", column),
        // Not a backend of ours; `||` is OR there.
        _ => column,
    }
}

/// Bind markers for `n` values in a statement written out for `backend`:
/// `$1`, `$2`, ... on PostgreSQL, `?` elsewhere.
#[must_use]
pub fn markers(backend: DbBackend, n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| match backend {
            DbBackend::Postgres => format!("${i}"),
            _ => "?".to_owned(),
        })
        .collect()
}

/// `statement`, built for SQLite, told to search `index` for `table`, the
/// statement's target (`UPDATE "table"` or `FROM "table"`). For a partial
/// index, which SQLite, keeping no statistics, passes over for one led by
/// `status`: the statement must also repeat the index's predicate word for
/// word, or SQLite refuses it ("no query solution"); plan tests check both.
#[must_use]
pub fn sqlite_indexed_by(mut statement: Statement, table: &str, index: &str) -> Statement {
    for verb in ["UPDATE", "FROM"] {
        let target = format!("{verb} \"{table}\"");
        if statement.sql.contains(&target) {
            statement.sql =
                statement
                    .sql
                    .replacen(&target, &format!("{target} INDEXED BY {index}"), 1);
            return statement;
        }
    }
    debug_assert!(false, "{table} is not the target of {}", statement.sql);
    statement
}

/// The URL of database `name` on the server that `url` names (its own
/// database, if any, replaced; its query kept).
#[must_use]
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Creates the empty database `name` (a plain identifier) on the
/// PostgreSQL server that `admin_url` names; returns its URL. For tools
/// and tests that need a database of their own.
///
/// # Errors
/// When the server cannot be reached or refuses.
pub async fn create_database(admin_url: &str, name: &str) -> Result<String, DbErr> {
    let admin = Database::connect(admin_url).await?;
    let created = admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await;
    admin.close().await.ok();
    created?;
    Ok(with_database(admin_url, name))
}

/// Drops the database `name` made by [`create_database`], ending its
/// connections.
///
/// # Errors
/// When the server cannot be reached or refuses.
pub async fn drop_database(admin_url: &str, name: &str) -> Result<(), DbErr> {
    let admin = Database::connect(admin_url).await?;
    let dropped = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    admin.close().await.ok();
    dropped.map(drop)
}

/// Why a SQLite database could not be claimed for this process.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error(
        "another Seatline process is already serving {0}: SQLite is single-process \
         (its in-process queue index would silently diverge); run several instances \
         on PostgreSQL instead"
    )]
    InUse(PathBuf),
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// For a file-backed SQLite URL, takes an exclusive lock on
/// `<database>.lock` for as long as the returned file lives, so a second
/// Seatline process on the same file refuses to start. `None` for
/// PostgreSQL and in-memory SQLite.
///
/// # Errors
/// `InUse` when another process holds the lock.
pub fn claim_sqlite_file(url: &str) -> Result<Option<File>, ClaimError> {
    let Some(path) = sqlite_path(url) else {
        return Ok(None);
    };
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    let io = |source| ClaimError::Io {
        path: lock_path.clone(),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Err(ClaimError::InUse(path)),
        Err(TryLockError::Error(source)) => Err(io(source)),
    }
}

/// The secret kept beside a file-backed SQLite database in
/// `<database>.secret` (owner-only), created on first use. `None` for
/// PostgreSQL and in-memory SQLite.
///
/// # Errors
/// When the file cannot be read or created, or holds too short a secret.
pub fn sqlite_secret(
    url: &str,
    generate: impl FnOnce() -> String,
) -> std::io::Result<Option<String>> {
    use std::io::{Error, ErrorKind, Write};
    use std::os::unix::fs::OpenOptionsExt;

    let Some(path) = sqlite_path(url) else {
        return Ok(None);
    };
    let path = PathBuf::from(format!("{}.secret", path.display()));
    let secret = match std::fs::read_to_string(&path) {
        Ok(secret) => secret.trim().to_owned(),
        Err(err) if err.kind() == ErrorKind::NotFound => {
            let secret = generate();
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?;
            writeln!(file, "{secret}")?;
            file.sync_all()?;
            secret
        }
        Err(err) => return Err(err),
    };
    if secret.len() < crate::config::Secret::MIN_LEN {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("{} holds too short a secret", path.display()),
        ));
    }
    Ok(Some(secret))
}

/// The file behind a SQLite URL; `None` for memory databases and other
/// backends.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// A migrated, empty SQLite database in memory (no statistics, as on a
/// fresh install).
#[cfg(test)]
pub(crate) async fn migrated_sqlite() -> DatabaseConnection {
    use migration::{Migrator, MigratorTrait};

    let db = Database::connect("sqlite::memory:").await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    db
}

/// A migrated, empty database of its own on the PostgreSQL server that
/// `SEATLINE_TEST_DATABASE_URL` names, dropped with the returned guard;
/// `None` when it is unset. Never analyzed, as on a fresh install, and
/// autovacuum keeps off its tables, so it stays so.
#[cfg(test)]
pub(crate) async fn migrated_postgres() -> Option<TestPostgres> {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::ConnectionTrait;

    let (url, dropped) = fresh_postgres().await?;
    let db = Database::connect(&url).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    for table in ["queue_tickets", "reservations", "seats"] {
        db.execute_unprepared(&format!(
            "ALTER TABLE {table} SET (autovacuum_enabled = false)"
        ))
        .await
        .expect("autovacuum off");
    }
    Some(TestPostgres {
        db,
        _dropped: dropped,
    })
}

/// An empty database of its own on the PostgreSQL server that
/// `SEATLINE_TEST_DATABASE_URL` names: its URL, and the guard that drops
/// it. `None` when that is unset.
#[cfg(test)]
pub(crate) async fn fresh_postgres() -> Option<(String, DropDatabase)> {
    let admin_url = std::env::var("SEATLINE_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let name = format!("seatline_u_{}", uuid::Uuid::new_v4().simple());
    let url = create_database(&admin_url, &name)
        .await
        .expect("create database");
    Some((url, DropDatabase { admin_url, name }))
}

/// A test's PostgreSQL database; dropped with it.
#[cfg(test)]
pub(crate) struct TestPostgres {
    pub db: DatabaseConnection,
    _dropped: DropDatabase,
}

/// Drops a test's database when dropped.
#[cfg(test)]
pub(crate) struct DropDatabase {
    admin_url: String,
    name: String,
}

#[cfg(test)]
impl Drop for DropDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside async: a runtime of its own, on its own thread.
        // `WITH (FORCE)` ends the test's own connections, whose pool lives
        // on the test's runtime, which this waits in.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let _ = runtime.block_on(drop_database(&url, &name));
        })
        .join();
    }
}

/// The generic plan of `statement` as a prepared statement on `db`: the
/// plan that knows no parameter values, which PostgreSQL uses after five
/// runs when it looks no costlier than theirs. Parameters get the types
/// sqlx binds their values as.
#[cfg(test)]
pub(crate) async fn postgres_generic_plan(
    db: &DatabaseConnection,
    statement: sea_orm::Statement,
) -> String {
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder, Value};

    fn sql_type(value: &Value) -> &'static str {
        match value {
            Value::Bool(_) => "bool",
            Value::Int(_) => "int4",
            Value::BigInt(_) => "int8",
            Value::String(_) => "text",
            Value::ChronoDateTimeUtc(_) => "timestamptz",
            other => panic!("no SQL type for {other:?} in a plan test"),
        }
    }

    let values = statement.values.map(|v| v.0).unwrap_or_default();
    let list = |items: Vec<String>| {
        if items.is_empty() {
            String::new()
        } else {
            format!("({})", items.join(", "))
        }
    };
    // Prepared statements outlive transactions: a name of its own, so that
    // a test failing before the DEALLOCATE leaves no clash behind.
    let name = format!("generic_plan_{}", uuid::Uuid::new_v4().simple());
    let types = list(values.iter().map(|v| sql_type(v).to_owned()).collect());
    let arguments = list(
        values
            .iter()
            .map(|v| PostgresQueryBuilder.value_to_string(v))
            .collect(),
    );
    let txn = db.begin().await.expect("begin");
    txn.execute_unprepared("SET LOCAL plan_cache_mode = force_generic_plan")
        .await
        .expect("set");
    txn.execute_unprepared(&format!("PREPARE {name}{types} AS {}", statement.sql))
        .await
        .expect("prepare");
    let explain = format!("EXPLAIN EXECUTE {name}{arguments}");
    let plan = txn
        .query_all_raw(sea_orm::Statement::from_string(
            DbBackend::Postgres,
            explain,
        ))
        .await
        .expect("explain")
        .iter()
        .map(|row| row.try_get::<String>("", "QUERY PLAN").expect("plan"))
        .collect::<Vec<_>>()
        .join("\n");
    txn.execute_unprepared(&format!("DEALLOCATE {name}"))
        .await
        .expect("deallocate");
    txn.rollback().await.expect("rollback");
    plan
}

/// The databases a test of plans runs on: SQLite in memory, and
/// PostgreSQL when `SEATLINE_TEST_DATABASE_URL` names a server (with the
/// guard that drops it).
#[cfg(test)]
pub(crate) async fn test_databases() -> Vec<(DatabaseConnection, Option<TestPostgres>)> {
    let mut databases = vec![(migrated_sqlite().await, None)];
    if let Some(postgres) = migrated_postgres().await {
        databases.push((postgres.db.clone(), Some(postgres)));
    }
    databases
}

/// The steps of the plan SQLite chooses for `statement` on `db`.
#[cfg(test)]
pub(crate) async fn sqlite_plan(
    db: &DatabaseConnection,
    statement: sea_orm::Statement,
) -> Vec<String> {
    use sea_orm::ConnectionTrait;

    let explain = sea_orm::Statement::from_sql_and_values(
        DbBackend::Sqlite,
        format!("EXPLAIN QUERY PLAN {}", statement.sql),
        statement.values.map(|v| v.0).unwrap_or_default(),
    );
    db.query_all_raw(explain)
        .await
        .expect("explain")
        .iter()
        .map(|row| row.try_get::<String>("", "detail").expect("detail"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unindexed_term_is_kept_out_of_index_choice_on_both_backends() {
        use entity::queue_ticket::{Column, Entity};
        use sea_orm::sea_query::ExprTrait;
        use sea_orm::{EntityTrait, QueryFilter, QueryTrait};

        let sql = |backend| {
            Entity::find()
                .filter(unindexed(backend, Column::Status).eq("WAITING"))
                .build(backend)
                .sql
        };
        assert!(
            sql(DbBackend::Sqlite).ends_with(r#"WHERE (+"queue_tickets"."status") = ?"#),
            "{}",
            sql(DbBackend::Sqlite)
        );
        assert!(
            sql(DbBackend::Postgres).ends_with(r#"WHERE ("queue_tickets"."status" || '') = $1"#),
            "{}",
            sql(DbBackend::Postgres)
        );
    }

    #[tokio::test]
    async fn the_sqlite_writer_is_durable_and_keeps_temporary_data_in_memory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = connect(&url, 8).await.expect("connect");
        let pragma = |name: &'static str| {
            let db = db.clone();
            async move {
                let row = db
                    .query_one_raw(sea_orm::Statement::from_string(
                        DbBackend::Sqlite,
                        format!("PRAGMA {name}"),
                    ))
                    .await
                    .expect("pragma")
                    .expect("a row");
                row.try_get_by_index::<String>(0)
                    .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
                    .expect("a value")
            }
        };
        assert_eq!(pragma("journal_mode").await, "wal");
        assert_eq!(pragma("synchronous").await, "2", "FULL");
        assert_eq!(pragma("foreign_keys").await, "1");
        assert_eq!(pragma("temp_store").await, "2", "MEMORY");
        assert_eq!(
            pragma("wal_autocheckpoint").await,
            WRITER_CHECKPOINT_PAGES.to_string(),
            "the checkpointer copies the WAL, not the writer"
        );
    }

    #[tokio::test]
    async fn the_checkpointer_copies_the_writers_wal_into_the_database() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = connect(&url, 1).await.expect("connect");
        db.execute_unprepared("CREATE TABLE t (n INTEGER)")
            .await
            .expect("create");
        for n in 0..20 {
            db.execute_unprepared(&format!("INSERT INTO t VALUES ({n})"))
                .await
                .expect("insert");
        }
        let checkpointer = connect_checkpointer(&url)
            .await
            .expect("connect")
            .expect("a SQLite file has a checkpointer");
        let (frames, copied) = checkpoint(&checkpointer).await.expect("checkpoint");
        assert!(frames >= 20, "every commit appended to the WAL: {frames}");
        assert_eq!(copied, frames, "no reader held the copy back");
        assert!(
            connect_checkpointer("sqlite::memory:")
                .await
                .expect("no connection")
                .is_none()
        );
    }

    #[tokio::test]
    async fn postgres_writes_read_committed_whatever_the_database_default() {
        let Some((url, dropped)) = fresh_postgres().await else {
            return;
        };
        let admin = Database::connect(&dropped.admin_url).await.expect("admin");
        admin
            .execute_unprepared(&format!(
                "ALTER DATABASE {} SET default_transaction_isolation = 'serializable'",
                dropped.name
            ))
            .await
            .expect("a stricter default");
        admin.close().await.ok();
        let db = connect(&url, 2).await.expect("connect");
        // Both of the pool's connections at once, each its own session.
        let txns = [
            begin_write(&db).await.expect("begin"),
            begin_write(&db).await.expect("begin"),
        ];
        for txn in &txns {
            let level = txn
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SHOW transaction_isolation",
                ))
                .await
                .expect("show")
                .expect("a row")
                .try_get_by_index::<String>(0)
                .expect("a level");
            assert_eq!(level, "read committed");
        }
    }

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "b1"),
            "postgres://postgres@127.0.0.1:5432/b1"
        );
        assert_eq!(
            with_database("postgres://u@h/x?sslmode=disable", "b2"),
            "postgres://u@h/b2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "b3"), "postgres://u@h/b3");
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_path("sqlite://seatline.db?mode=rwc"),
            Some(PathBuf::from("seatline.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/x.db"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://u@h/db"), None);
    }

    #[test]
    fn a_second_claim_on_one_file_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
        let first = claim_sqlite_file(&url).expect("first claim");
        assert!(first.is_some());
        assert!(matches!(claim_sqlite_file(&url), Err(ClaimError::InUse(_))));
        drop(first);
        assert!(
            claim_sqlite_file(&url)
                .expect("claim after release")
                .is_some()
        );
    }
}
