//! Queue persistence. Every function that changes who is admitted runs
//! inside a write transaction that called [`lock_gate`] first.

use std::collections::HashMap;

use chrono::TimeDelta;
use entity::queue_gate;
use entity::queue_ticket::{self, Column, Entity as Tickets, QueueStatus};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend,
    EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Select, Statement, UpdateMany,
};

use super::hub::SettlePlan;
use super::model::{Ticket, TicketStatus};
use crate::clock::Timestamp;
use crate::domain::error::{Error, Result};

/// Ticket changes a committed transaction made, for the in-process index.
#[derive(Debug, Default, Clone)]
pub struct QueueChanges {
    /// The queue version the transaction locked the gate at, if it did.
    pub version: Option<i64>,
    /// Tickets whose status changed or that were created.
    pub tickets: Vec<Ticket>,
}

impl QueueChanges {
    pub fn extend(&mut self, models: Vec<queue_ticket::Model>) {
        self.tickets.extend(models.into_iter().map(Ticket::from));
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.version.is_none() && self.tickets.is_empty()
    }
}

/// The PostgreSQL channel every committed queue version is announced on.
pub const QUEUE_CHANNEL: &str = "seatline_queue";

/// A committed queue version as announced on [`QUEUE_CHANNEL`] by
/// [`lock_gate`]: the version and the instance that committed it, as
/// "<version> <instance>". The instance's own announcements tell it nothing
/// its publish does not bring (after a commit whose outcome it could not
/// tell, it catches up by itself: `Domain::commit_queue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcement {
    pub version: i64,
    /// `None` from an instance that does not name itself (before this
    /// field existed).
    pub from: Option<u64>,
}

impl Announcement {
    /// Reads a payload; `None` for one this build does not understand.
    #[must_use]
    pub fn parse(payload: &str) -> Option<Self> {
        let mut words = payload.split(' ');
        let version = words.next()?.parse().ok()?;
        let from = words.next().map(str::parse).transpose().ok()?;
        words.next().is_none().then_some(Self { version, from })
    }
}

/// Proof that the transaction holds the gate, and the queue version it
/// will commit. Every ticket change needs one.
#[derive(Debug)]
pub struct GateLock {
    version: i64,
}

impl GateLock {
    #[must_use]
    pub fn version(&self) -> i64 {
        self.version
    }
}

/// Locks the gate row until the transaction ends. On PostgreSQL this is a
/// row lock every admission decision queues behind, so "count admitted,
/// then admit" cannot interleave across processes (write skew); on SQLite
/// the `BEGIN IMMEDIATE` write lock already serializes. On PostgreSQL the
/// new queue version is announced with `NOTIFY` as committed by instance
/// `from`, in the same statement; PostgreSQL delivers it only if and when
/// the transaction commits.
pub async fn lock_gate(txn: &DatabaseTransaction, from: u64) -> Result<GateLock> {
    let version = if txn.get_database_backend() == DbBackend::Postgres {
        // The payload is an `Announcement`: "<version> <instance>".
        let announced = txn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE queue_gate SET version = version + 1 WHERE id = 1 \
                 RETURNING version, pg_notify($1, version::text || ' ' || $2)",
                [QUEUE_CHANNEL.into(), from.to_string().into()],
            ))
            .await?;
        announced
            .map(|row| row.try_get::<i64>("", "version"))
            .transpose()?
    } else {
        queue_gate::Entity::update_many()
            .col_expr(
                queue_gate::Column::Version,
                Expr::col(queue_gate::Column::Version).add(1),
            )
            .filter(queue_gate::Column::Id.eq(1))
            .exec_with_returning(txn)
            .await?
            .first()
            .map(|gate| gate.version)
    };
    let version = version.ok_or_else(|| Error::invariant("queue_gate row is missing"))?;
    Ok(GateLock { version })
}

/// The queue version as committed: how many gate-locking transactions ever
/// committed.
pub async fn gate_version<C: ConnectionTrait>(db: &C) -> Result<i64> {
    queue_gate::Entity::find_by_id(1)
        .one(db)
        .await?
        .map(|gate| gate.version)
        .ok_or_else(|| Error::invariant("queue_gate row is missing"))
}

/// What a settle left: its changes, and how many tickets are admitted.
#[derive(Debug)]
pub struct Settled {
    pub changes: QueueChanges,
    /// Admitted after the settle. Below the capacity, nobody waits: the
    /// settle admitted every waiter there was.
    pub admitted: u64,
}

/// Marks admissions past their `expires_at` EXPIRED, then admits the
/// earliest waiters into every free slot. Call with the gate locked.
///
/// With a `plan` from the queue hub, which knows what this transaction
/// sees, it reads nothing: the lapsed admissions are expired only if there
/// are any, and the waiters to admit are known. Without one, or if the
/// expiry finds other than the plan said, it reads the count and the line.
pub async fn settle(
    txn: &DatabaseTransaction,
    gate: &GateLock,
    now: Timestamp,
    capacity: u32,
    active_ttl: TimeDelta,
    plan: Option<SettlePlan>,
) -> Result<Settled> {
    let mut changes = QueueChanges {
        version: Some(gate.version),
        tickets: Vec::new(),
    };
    let lapsed = if plan.as_ref().is_none_or(|plan| plan.lapsed > 0) {
        expiry(txn.get_database_backend(), gate, now)
            .exec_with_returning(txn)
            .await?
    } else {
        Vec::new()
    };
    let expired = lapsed.len() as u64;
    changes.extend(lapsed);

    let (mut admitted, next) = match plan {
        Some(plan) if plan.lapsed == expired => (plan.admitted - expired, plan.next),
        _ => {
            let admitted = count_status(txn, QueueStatus::Progress).await?;
            let free = u64::from(capacity).saturating_sub(admitted);
            let next = if free > 0 {
                Tickets::find()
                    .select_only()
                    .column(Column::Id)
                    .filter(Column::Status.eq(QueueStatus::Waiting))
                    .order_by_asc(Column::Id)
                    .limit(free)
                    .into_tuple()
                    .all(txn)
                    .await?
            } else {
                Vec::new()
            };
            (admitted, next)
        }
    };
    if !next.is_empty() {
        let promoted = Tickets::update_many()
            .col_expr(Column::ChangedVersion, Expr::value(gate.version))
            .col_expr(Column::Status, Expr::value(QueueStatus::Progress))
            .col_expr(Column::AdmittedAt, Expr::value(now))
            .col_expr(Column::ExpiresAt, Expr::value(now + active_ttl))
            .filter(Column::Id.is_in(next))
            .filter(Column::Status.eq(QueueStatus::Waiting))
            .exec_with_returning(txn)
            .await?;
        admitted += promoted.len() as u64;
        changes.extend(promoted);
    }
    Ok(Settled { changes, admitted })
}

/// Marks the admissions lapsed at `now` EXPIRED.
///
/// On PostgreSQL it passes over a ticket another transaction has locked: a
/// payment locks its buyers' tickets before it takes the gate, and a settle
/// that holds the gate and waited for such a ticket would wait for a
/// transaction that waits for it. The ticket passed over still counts as
/// admitted, so the settle admits nobody into its slot; a later settle
/// expires it if it is still lapsed then.
fn expiry(backend: DbBackend, gate: &GateLock, now: Timestamp) -> UpdateMany<Tickets> {
    let expire = Tickets::update_many()
        .col_expr(Column::ChangedVersion, Expr::value(gate.version))
        .col_expr(Column::Status, Expr::value(QueueStatus::Expired))
        .col_expr(Column::FinishedAt, Expr::value(now));
    let lapsed = Condition::all()
        .add(Column::Status.eq(QueueStatus::Progress))
        .add(Column::ExpiresAt.lte(now));
    if backend != DbBackend::Postgres {
        return expire.filter(lapsed);
    }
    let unlocked = Tickets::find()
        .select_only()
        .column(Column::Id)
        .filter(lapsed.clone())
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_query();
    expire
        .filter(Column::Id.in_subquery(unlocked))
        .filter(lapsed)
}

/// Whether settling would change anything now: an admission has lapsed, or
/// a slot is free while someone waits. Read without the gate (the settle
/// that follows re-checks everything under it), so an idle queue costs
/// reads, not a write, a version and a notification to every instance.
pub async fn needs_settling<C: ConnectionTrait>(
    db: &C,
    now: Timestamp,
    capacity: u32,
) -> Result<bool> {
    let lapsed: Option<i64> = with_status(QueueStatus::Progress)
        .filter(Column::ExpiresAt.lte(now))
        .into_tuple()
        .one(db)
        .await?;
    if lapsed.is_some() {
        return Ok(true);
    }
    if count_status(db, QueueStatus::Progress).await? >= u64::from(capacity) {
        return Ok(false);
    }
    any_with_status(db, QueueStatus::Waiting).await
}

pub async fn count_status<C: ConnectionTrait>(db: &C, status: QueueStatus) -> Result<u64> {
    // A plain `COUNT(id)`, which `(status, id)` answers alone; the
    // paginator's `count` wraps a select of every column in a subquery.
    let n: Option<i64> = Tickets::find()
        .select_only()
        .column_as(Column::Id.count(), "n")
        .filter(Column::Status.eq(status))
        .into_tuple()
        .one(db)
        .await?;
    Ok(n.map_or(0, i64::unsigned_abs))
}

/// Whether any ticket is in `status`: one index seek, however many are.
async fn any_with_status<C: ConnectionTrait>(db: &C, status: QueueStatus) -> Result<bool> {
    let any: Option<i64> = with_status(status).into_tuple().one(db).await?;
    Ok(any.is_some())
}

/// The first ticket id in `status`, as a query to refine.
fn with_status(status: QueueStatus) -> Select<Tickets> {
    Tickets::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Status.eq(status))
        .limit(1)
}

/// The WAITING or PROGRESS tickets of these users (at most one each).
pub async fn live_tickets_of<C: ConnectionTrait>(db: &C, user_ids: &[&str]) -> Result<Vec<Ticket>> {
    let Some(query) = live_tickets(db.get_database_backend(), user_ids) else {
        return Ok(Vec::new());
    };
    read_tickets(db, query).await
}

/// The tickets a statement written out selects (`*` of `queue_tickets`).
/// Read as models by the statement alone: `Tickets::find().from_raw_sql`
/// would first compose a select of every column, then drop it.
async fn read_tickets<C: ConnectionTrait>(db: &C, statement: Statement) -> Result<Vec<Ticket>> {
    Ok(queue_ticket::Model::find_by_statement(statement)
        .all(db)
        .await?
        .into_iter()
        .map(Ticket::from)
        .collect())
}

/// Searched by user, not among every live ticket; `None` for no users.
///
/// In the partial unique index on live tickets, which says that a user
/// matches at most one row; a planner may search it only when the
/// statement repeats its predicate ([`LIVE_TICKET`]). SQLite, which keeps
/// no statistics, is told to. PostgreSQL's planner, without statistics
/// that know the line, prefers one pass over the index led by `status` to
/// one search per listed user, or else reads the whole table. So there
/// the users are a `VALUES` list, each searched on its own (a `LATERAL`
/// subquery). `LIMIT 1`, no limit given that index, keeps the subquery
/// from being flattened into a join, which could again be planned as one
/// pass. (A `UNION ALL` of one query per user plans well too, but planning
/// 256 of them took 45-90 ms.)
fn live_tickets(backend: DbBackend, user_ids: &[&str]) -> Option<Statement> {
    if user_ids.is_empty() {
        return None;
    }
    // Each user once: a user listed twice in `VALUES` would be found twice.
    let mut unique = user_ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let markers = crate::db::markers(backend, unique.len());
    // Written out, as the token lookup is (see `token_lookup`).
    let sql = if backend == DbBackend::Sqlite {
        format!(
            "SELECT * FROM queue_tickets INDEXED BY uq_queue_tickets_live_user \
             WHERE user_id IN ({}) AND {LIVE_TICKET}",
            markers.join(", ")
        )
    } else {
        let users: Vec<String> = markers.iter().map(|m| format!("({m})")).collect();
        format!(
            "SELECT t.* FROM (VALUES {}) AS u (user_id) CROSS JOIN LATERAL \
             (SELECT * FROM queue_tickets q WHERE q.user_id = u.user_id \
             AND q.{LIVE_TICKET} LIMIT 1) AS t",
            users.join(", ")
        )
    };
    let values = unique.iter().map(|&u| u.into());
    Some(Statement::from_sql_and_values(backend, sql, values))
}

/// The predicate of `uq_queue_tickets_live_user`, word for word.
const LIVE_TICKET: &str = "status IN ('WAITING', 'PROGRESS')";

/// A ticket about to enter the line: admitted until `admit_until`, or
/// waiting when `None`.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub user_id: String,
    pub token_salt: String,
    pub token_hash: String,
    pub admit_until: Option<Timestamp>,
}

/// Inserts `tickets` in one statement; their ids follow the given order,
/// which is their order in line. The statement returns each row's id and
/// user alone: the rest is what was written (timestamps are whole
/// milliseconds, which both databases keep exactly), and reading whole
/// rows back cost more than writing them.
pub async fn insert_tickets(
    txn: &DatabaseTransaction,
    gate: &GateLock,
    tickets: Vec<NewTicket>,
    now: Timestamp,
) -> Result<Vec<Ticket>> {
    let mut inserted: Vec<Ticket> = tickets
        .into_iter()
        .map(|t| Ticket {
            id: 0, // the database's, below
            token_salt: t.token_salt,
            token_hash: t.token_hash,
            user_id: t.user_id,
            status: if t.admit_until.is_some() {
                TicketStatus::Progress
            } else {
                TicketStatus::Waiting
            },
            entered_at: now,
            admitted_at: t.admit_until.map(|_| now),
            expires_at: t.admit_until,
        })
        .collect();
    let models = inserted.iter().map(|t| queue_ticket::ActiveModel {
        token_hash: Set(t.token_hash.clone()),
        token_salt: Set(Some(t.token_salt.clone())),
        user_id: Set(t.user_id.clone()),
        status: Set(if t.status == TicketStatus::Progress {
            QueueStatus::Progress
        } else {
            QueueStatus::Waiting
        }),
        entered_at: Set(t.entered_at),
        admitted_at: Set(t.admitted_at),
        expires_at: Set(t.expires_at),
        finished_at: Set(None),
        changed_version: Set(gate.version),
        ..Default::default()
    });
    let backend = txn.get_database_backend();
    let mut insert = Tickets::insert_many(models).into_query();
    insert.returning(Query::returning().columns([Column::Id, Column::UserId]));
    // In no promised order: matched by user, whom a batch lists once.
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(inserted.len());
    for row in txn.query_all_raw(backend.build(&insert)).await? {
        ids.insert(row.try_get_by_index(1)?, row.try_get_by_index(0)?);
    }
    for ticket in &mut inserted {
        ticket.id = *ids
            .get(&ticket.user_id)
            .ok_or_else(|| Error::invariant("an inserted ticket was not returned"))?;
    }
    Ok(inserted)
}

/// Marks those of the admitted tickets `ids` that meet `complete` DONE
/// (their purchases are complete), and returns them.
pub async fn finish(
    txn: &DatabaseTransaction,
    gate: &GateLock,
    ids: &[i64],
    complete: Expr,
    now: Timestamp,
) -> Result<Vec<Ticket>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Tickets::update_many()
        .col_expr(Column::ChangedVersion, Expr::value(gate.version))
        .col_expr(Column::Status, Expr::value(QueueStatus::Done))
        .col_expr(Column::FinishedAt, Expr::value(now))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::Status.eq(QueueStatus::Progress))
        .filter(complete)
        .exec_with_returning(txn)
        .await?
        .into_iter()
        .map(Ticket::from)
        .collect())
}

pub async fn by_token_hash<C: ConnectionTrait>(db: &C, hash: &str) -> Result<Option<Ticket>> {
    Ok(by_token_hashes(db, &[hash]).await?.pop())
}

/// The tickets whose tokens hash to `hashes` (each is unique), in no order.
pub async fn by_token_hashes<C: ConnectionTrait>(db: &C, hashes: &[&str]) -> Result<Vec<Ticket>> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    read_tickets(db, token_lookup(db.get_database_backend(), hashes)).await
}

/// The statement every request that names a ticket the hub cannot answer
/// for runs (on PostgreSQL, every authenticated request), written out:
/// composing it with sea-query, every column of the entity named and
/// quoted, cost about 20,000 instructions a request, more than the
/// server's share of running it.
fn token_lookup(backend: DbBackend, hashes: &[&str]) -> Statement {
    let sql = format!(
        "SELECT * FROM queue_tickets WHERE token_hash IN ({})",
        crate::db::markers(backend, hashes.len()).join(", ")
    );
    Statement::from_sql_and_values(backend, sql, hashes.iter().map(|&h| h.into()))
}

pub async fn by_id<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<Ticket>> {
    Ok(Tickets::find_by_id(id).one(db).await?.map(Ticket::from))
}

pub async fn by_ids<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<Vec<Ticket>> {
    Ok(Tickets::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(Ticket::from)
        .collect())
}

/// Tickets issued before tokens were hashed: no salt yet.
pub async fn unsalted_ids<C: ConnectionTrait>(db: &C) -> Result<Vec<i64>> {
    Ok(Tickets::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::TokenSalt.is_null())
        .into_tuple()
        .all(db)
        .await?)
}

/// Gives an unsalted ticket its salt and token hash; a no-op if another
/// instance did first.
pub async fn salt_ticket<C: ConnectionTrait>(
    db: &C,
    id: i64,
    token_salt: String,
    token_hash: String,
) -> Result<()> {
    Tickets::update_many()
        .col_expr(Column::TokenSalt, Expr::value(token_salt))
        .col_expr(Column::TokenHash, Expr::value(token_hash))
        .filter(Column::Id.eq(id))
        .filter(Column::TokenSalt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The line as it stood at one gate version, which the hub is built or
/// rebuilt from.
pub struct Line {
    pub version: i64,
    /// Waiting ticket ids in FIFO order.
    pub waiting: Vec<i64>,
    /// The admitted tickets, with when each lapses.
    pub admitted: Vec<(i64, Option<Timestamp>)>,
}

/// Reads the [`Line`]. Three statements: `snapshot` (see
/// [`crate::db::begin_snapshot`]) makes them agree while other instances
/// commit.
pub async fn line(snapshot: &DatabaseTransaction) -> Result<Line> {
    Ok(Line {
        version: gate_version(snapshot).await?,
        waiting: waiting_ids(snapshot).await?,
        admitted: admitted_lapses(snapshot).await?,
    })
}

/// Waiting ticket ids in FIFO order: the source the in-process line is
/// rebuilt from.
async fn waiting_ids<C: ConnectionTrait>(db: &C) -> Result<Vec<i64>> {
    Ok(Tickets::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Status.eq(QueueStatus::Waiting))
        .order_by_asc(Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// The admitted tickets, with when each lapses.
async fn admitted_lapses<C: ConnectionTrait>(db: &C) -> Result<Vec<(i64, Option<Timestamp>)>> {
    Ok(Tickets::find()
        .select_only()
        .column(Column::Id)
        .column(Column::ExpiresAt)
        .filter(Column::Status.eq(QueueStatus::Progress))
        .into_tuple()
        .all(db)
        .await?)
}

/// Tickets changed by queue versions after `version`, oldest change
/// first, at most `limit`.
pub async fn changed_since<C: ConnectionTrait>(
    db: &C,
    version: i64,
    limit: u64,
) -> Result<Vec<(i64, Ticket)>> {
    Ok(Tickets::find()
        .filter(Column::ChangedVersion.gt(version))
        .order_by_asc(Column::ChangedVersion)
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.changed_version, Ticket::from(m)))
        .collect())
}

/// The database's answer to "how many waiters entered before `id`", used
/// when the in-process line does not know the ticket.
pub async fn count_waiting_before<C: ConnectionTrait>(db: &C, id: i64) -> Result<u64> {
    Ok(Tickets::find()
        .filter(Column::Status.eq(QueueStatus::Waiting))
        .filter(Column::Id.lt(id))
        .count(db)
        .await?)
}

/// The earliest `expires_at` among admitted tickets: when the next slot
/// frees by itself.
pub async fn next_lapse<C: ConnectionTrait>(db: &C) -> Result<Option<Timestamp>> {
    let next: Option<Option<Timestamp>> = Tickets::find()
        .select_only()
        .column_as(Expr::col(Column::ExpiresAt).min(), "next")
        .filter(Column::Status.eq(QueueStatus::Progress))
        .into_tuple()
        .one(db)
        .await?;
    Ok(next.flatten())
}

impl From<queue_ticket::Model> for Ticket {
    fn from(m: queue_ticket::Model) -> Self {
        Self {
            id: m.id,
            token_salt: m.token_salt.unwrap_or_default(),
            token_hash: m.token_hash,
            user_id: m.user_id,
            status: match m.status {
                QueueStatus::Waiting => TicketStatus::Waiting,
                QueueStatus::Progress => TicketStatus::Progress,
                QueueStatus::Done => TicketStatus::Done,
                QueueStatus::Expired => TicketStatus::Expired,
            },
            entered_at: m.entered_at,
            admitted_at: m.admitted_at,
            expires_at: m.expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{postgres_generic_plan, sqlite_plan};

    #[tokio::test]
    async fn a_batch_of_token_lookups_searches_the_token_index_on_postgres() {
        let Some(postgres) = crate::db::migrated_postgres().await else {
            return;
        };
        // A line that grew since its statistics were gathered (never, here).
        postgres
            .db
            .execute_unprepared(
                "INSERT INTO queue_tickets (id, token_hash, user_id, status, entered_at) \
                 SELECT n, 'hash-' || n, 'waiter-' || n, 'WAITING', now() \
                 FROM generate_series(1, 20000) n",
            )
            .await
            .expect("insert the line");
        let hashes: Vec<String> = (1..=256).map(|n| format!("hash-{n}")).collect();
        let hashes: Vec<&str> = hashes.iter().map(String::as_str).collect();
        let query = token_lookup(DbBackend::Postgres, &hashes);
        let plan = postgres_generic_plan(&postgres.db, query).await;
        // The tokens' unique index (by bitmap for a long list), never the
        // whole line.
        assert!(
            plan.contains("on queue_tickets_token_key") && !plan.contains("Seq Scan"),
            "{plan}"
        );
        let found = by_token_hashes(&postgres.db, &hashes).await.expect("read");
        assert_eq!(found.len(), 256);
    }

    #[tokio::test]
    async fn a_batch_insert_answers_each_ticket_as_the_database_keeps_it() {
        for (db, _postgres) in crate::db::test_databases().await {
            // Whole milliseconds, as the clock gives.
            let now: Timestamp = "2026-12-01T10:00:00.123Z".parse().expect("time");
            let ticket = |user: &str, admit: bool| NewTicket {
                user_id: user.to_owned(),
                token_salt: format!("salt-{user}"),
                token_hash: format!("hash-{user}"),
                admit_until: admit.then(|| now + TimeDelta::minutes(10)),
            };
            let txn = crate::db::begin_write(&db).await.expect("begin");
            let gate = lock_gate(&txn, 0).await.expect("gate");
            let rows = vec![
                ticket("cy", false),
                ticket("ann", true),
                ticket("bob", false),
            ];
            let inserted = insert_tickets(&txn, &gate, rows, now)
                .await
                .expect("insert");
            txn.commit().await.expect("commit");

            let users: Vec<&str> = inserted.iter().map(|t| t.user_id.as_str()).collect();
            assert_eq!(users, ["cy", "ann", "bob"], "in the order given");
            assert!(
                inserted.windows(2).all(|w| w[0].id < w[1].id),
                "ids follow the order given: {inserted:?}"
            );
            for answered in &inserted {
                let kept = by_id(&db, answered.id).await.expect("read").expect("row");
                assert_eq!(&kept, answered, "what the insert answered is the row");
            }
        }
    }

    #[tokio::test]
    async fn a_join_batch_finds_its_users_live_tickets_by_user() {
        for (db, _postgres) in crate::db::test_databases().await {
            let backend = db.get_database_backend();
            for (id, user, status) in [
                (1, "ann", "DONE"),
                (2, "ann", "WAITING"),
                (3, "bob", "PROGRESS"),
                (4, "cy", "EXPIRED"),
                (5, "zed", "WAITING"),
            ] {
                db.execute_unprepared(&format!(
                    "INSERT INTO queue_tickets (id, token_hash, user_id, status, entered_at) \
                     VALUES ({id}, 'hash-{id}', '{user}', '{status}', '2026-12-01T00:00:00Z')"
                ))
                .await
                .expect("insert");
            }
            if backend == DbBackend::Postgres {
                // A line that grew since its statistics were gathered
                // (never, here).
                db.execute_unprepared(
                    "INSERT INTO queue_tickets (id, token_hash, user_id, status, entered_at) \
                     SELECT n, 'hash-' || n, 'waiter-' || n, 'WAITING', now() \
                     FROM generate_series(1001, 6000) n",
                )
                .await
                .expect("insert the line");
            }
            let users = ["ann", "bob", "cy", "dee", "eve", "flo", "gus", "hal", "ann"];
            let mut found: Vec<i64> = live_tickets_of(&db, &users)
                .await
                .expect("live tickets")
                .iter()
                .map(|t| t.id)
                .collect();
            found.sort_unstable();
            assert_eq!(found, [2, 3]);
            let query = live_tickets(backend, &users).expect("users");
            if backend == DbBackend::Sqlite {
                assert!(query.sql.contains("INDEXED BY"), "{}", query.sql);
                let plan = sqlite_plan(&db, query).await;
                assert_eq!(
                    plan,
                    ["SEARCH queue_tickets USING INDEX uq_queue_tickets_live_user (user_id=?)"],
                    "{plan:?}"
                );
            } else {
                // One search per user, in the live tickets' unique index.
                let plan = postgres_generic_plan(&db, query).await;
                assert!(
                    plan.contains("Nested Loop")
                        && plan.contains("Index Scan using uq_queue_tickets_live_user")
                        && plan.contains(r#"Index Cond: ((user_id)::text = "*VALUES*".column1)"#)
                        && !plan.contains("idx_queue_tickets_status")
                        && !plan.contains("Seq Scan on queue_tickets")
                        && !plan.contains("Bitmap"),
                    "{plan}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_settle_passes_over_a_lapsed_ticket_a_payment_has_locked_on_postgres() {
        let Some(postgres) = crate::db::migrated_postgres().await else {
            return;
        };
        let db = &postgres.db;
        // Ann's and Bob's admissions have lapsed; Cy waits.
        db.execute_unprepared(
            "INSERT INTO queue_tickets \
             (id, token_hash, user_id, status, entered_at, admitted_at, expires_at) VALUES \
             (1, 'h1', 'ann', 'PROGRESS', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z', '2026-12-01T00:10:00Z'), \
             (2, 'h2', 'bob', 'PROGRESS', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z', '2026-12-01T00:10:00Z'), \
             (3, 'h3', 'cy', 'WAITING', '2026-12-01T00:00:00Z', NULL, NULL)",
        )
        .await
        .expect("insert tickets");
        let now: Timestamp = "2026-12-01T00:11:00Z".parse().expect("time");

        // A payment batch has locked Ann's ticket and has not yet taken
        // the gate, which it takes last.
        let payment = crate::db::begin_write(db).await.expect("begin");
        crate::domain::booking::touch_tickets(&payment, &[1])
            .await
            .expect("touch");

        // A settle holding the gate must not wait for it: the payment
        // would then wait for the settle's gate, and the settle for it.
        let settle_txn = crate::db::begin_write(db).await.expect("begin");
        let gate = lock_gate(&settle_txn, 0).await.expect("gate");
        let settled = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            settle(&settle_txn, &gate, now, 2, TimeDelta::minutes(10), None),
        )
        .await
        .expect("the settle waited for the payment's lock")
        .expect("settle");
        settle_txn.commit().await.expect("commit");
        payment.rollback().await.expect("rollback");

        // Bob's lapse is expired and frees the slot Cy takes; Ann's ticket
        // is passed over and still counts as admitted.
        let mut changed: Vec<(i64, TicketStatus)> = settled
            .changes
            .tickets
            .iter()
            .map(|t| (t.id, t.status))
            .collect();
        changed.sort_unstable_by_key(|&(id, _)| id);
        assert_eq!(
            changed,
            [(2, TicketStatus::Expired), (3, TicketStatus::Progress)]
        );
        assert_eq!(settled.admitted, 2);

        // Once the payment is gone, the next settle expires it.
        let txn = crate::db::begin_write(db).await.expect("begin");
        let gate = lock_gate(&txn, 0).await.expect("gate");
        let settled = settle(&txn, &gate, now, 2, TimeDelta::minutes(10), None)
            .await
            .expect("settle");
        txn.commit().await.expect("commit");
        let changed: Vec<(i64, TicketStatus)> = settled
            .changes
            .tickets
            .iter()
            .map(|t| (t.id, t.status))
            .collect();
        assert_eq!(changed, [(1, TicketStatus::Expired)]);
    }

    #[test]
    fn an_announcement_names_its_instance() {
        assert_eq!(
            Announcement::parse(&format!("42 {}", u64::MAX)),
            Some(Announcement {
                version: 42,
                from: Some(u64::MAX)
            })
        );
        // As instances announced before they named themselves.
        assert_eq!(
            Announcement::parse("7"),
            Some(Announcement {
                version: 7,
                from: None
            })
        );
        for garbage in ["", "x", "7 x", "7 1 2", "7  1"] {
            assert_eq!(Announcement::parse(garbage), None, "{garbage:?}");
        }
    }
}
