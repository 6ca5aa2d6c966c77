//! Hold persistence.

use std::collections::{HashMap, HashSet};

use entity::queue_ticket::{self, QueueStatus};
use entity::reservation::{self, Entity as Reservations, ReservationStatus as Db};
use entity::seat::{self, SeatStatus as DbSeat};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend,
    EntityTrait, QueryFilter, QuerySelect, QueryTrait, Select, Statement, UpdateMany,
};

use super::holds::Claim;
use super::{Reservation, ReservationStatus};
use crate::clock::Timestamp;
use crate::domain::Domain;
use crate::domain::catalog::{SeatState, SeatStatus};
use crate::domain::error::{Error, Result};
use crate::domain::idempotency::Checked;
use crate::domain::queue::Ticket;

/// Re-checks, inside the transaction, that the tickets are still
/// admitted, and on PostgreSQL locks their rows: each user's writes
/// serialize here (its lock order: key, ticket, reservation, wallet, seat,
/// gate). On SQLite the transaction already holds the one write lock, and
/// this is a plain read. Returns the ids of those still admitted.
///
/// A transaction that holds the gate locks no admitted ticket but its own
/// and lapsed ones it can take at once (a settle passes over the others),
/// so a touched ticket never waits for the gate's holder while the holder
/// waits for it.
///
/// It selects the rows by id alone and checks admission on what it read:
/// given `status` and `expires_at` as well, SQLite's planner prefers their
/// index to the ids and walks every admitted ticket.
pub(crate) async fn touch_admissions(
    txn: &DatabaseTransaction,
    tickets: &[i64],
    now: Timestamp,
) -> Result<HashSet<i64>> {
    Ok(admitted_at(&touch_tickets(txn, tickets).await?, now))
}

/// The read (and on PostgreSQL the lock) of [`touch_admissions`] alone,
/// for a caller that judges admission at a time read after it.
pub(crate) async fn touch_tickets(
    txn: &DatabaseTransaction,
    tickets: &[i64],
) -> Result<Vec<queue_ticket::Model>> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    Ok(touch(tickets.iter().copied()).all(txn).await?)
}

/// Which of the `touched` tickets are admitted at `now`.
pub(crate) fn admitted_at(touched: &[queue_ticket::Model], now: Timestamp) -> HashSet<i64> {
    touched
        .iter()
        .filter(|t| t.status == QueueStatus::Progress && t.expires_at.is_some_and(|at| at > now))
        .map(|t| t.id)
        .collect()
}

/// The read that re-checks the tickets `ids` (selected by id alone, see
/// [`touch_admissions`]). `FOR NO KEY UPDATE` on PostgreSQL: the lock a
/// no-op update would take, without its new row version. SQLite's builder
/// writes no lock clause: its write transaction excludes every other
/// writer, and an update there would only write the tickets' pages again.
fn touch(ids: impl IntoIterator<Item = i64>) -> Select<queue_ticket::Entity> {
    queue_ticket::Entity::find()
        .filter(queue_ticket::Column::Id.is_in(ids))
        .lock(LockType::NoKeyUpdate)
}

/// `holdSeat`'s checks, from memory but for a date's first layout read;
/// the seat is read and claimed in a batch (`holds`).
pub(super) struct Hold {
    pub date_id: i64,
    pub seat_number: i32,
    pub now: Timestamp,
    /// What to claim, once [`Checked::check`] found the seat.
    pub claim: Option<Claim>,
}

impl Checked for Hold {
    type Output = Reservation;

    fn request(&self) -> String {
        format!("holdSeat({},{})", self.date_id, self.seat_number)
    }

    async fn check(&mut self, domain: &Domain, _: &Ticket) -> Result<()> {
        if domain.taken().at(self.date_id, self.seat_number, self.now) {
            return Err(Error::SeatUnavailable);
        }
        let layout = domain.layouts().of(domain.reader(), self.date_id).await?;
        if layout.starts_at <= self.now {
            return Err(Error::SeatUnavailable);
        }
        let seat_id = layout
            .seat(self.seat_number)
            .ok_or_else(|| Error::not_found("seat"))?;
        self.claim = Some(Claim { seat_id });
        Ok(())
    }
}

/// [`touch_admissions`] for a hold batch, which also needs each holder's
/// count of unexpired holds (the hold limit's). Returns, for each of
/// `tickets` still admitted, the unexpired holds of its user.
///
/// On SQLite, in the same read: a correlated count beside each ticket.
/// On PostgreSQL a statement's subqueries read the snapshot it
/// started with, from before any wait for a ticket's lock, so they would
/// miss a hold another instance committed meanwhile: the count is a
/// statement of its own there, after the lock.
pub(super) async fn touch_holders(
    txn: &DatabaseTransaction,
    tickets: &[&Ticket],
    now: Timestamp,
) -> Result<HashMap<i64, u64>> {
    if tickets.is_empty() {
        return Ok(HashMap::new());
    }
    let ids = tickets.iter().map(|t| t.id);
    if txn.get_database_backend() != DbBackend::Sqlite {
        let admitted = touch_admissions(txn, &ids.collect::<Vec<_>>(), now).await?;
        return live_hold_counts(txn, admitted, now).await;
    }
    let live_holds = holders_live_holds(
        Expr::col((Reservations, reservation::Column::Id)).count(),
        now,
    );
    let admitted = queue_ticket::Column::Status
        .eq(QueueStatus::Progress)
        .and(queue_ticket::Column::ExpiresAt.gt(now));
    let read = touch(ids)
        .select_only()
        .column(queue_ticket::Column::Id)
        .expr(admitted)
        .expr(Expr::SubQuery(None, Box::new(live_holds.into())))
        .build(DbBackend::Sqlite);
    let mut holders = HashMap::new();
    for row in txn.query_all_raw(read).await? {
        // NULL for a PROGRESS ticket without `expires_at`: not admitted.
        if row.try_get_by_index::<Option<bool>>(1)?.unwrap_or(false) {
            let held: i64 = row.try_get_by_index(2)?;
            holders.insert(row.try_get_by_index(0)?, u64::try_from(held).unwrap_or(0));
        }
    }
    Ok(holders)
}

/// How many unexpired holds the holder of each of the tickets `ids` has.
/// The hold limit's count, on PostgreSQL.
async fn live_hold_counts(
    txn: &DatabaseTransaction,
    ids: HashSet<i64>,
    now: Timestamp,
) -> Result<HashMap<i64, u64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64)> = hold_counts(ids, now).into_tuple().all(txn).await?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// The tickets by id, and each holder's holds by user, one user at a
/// time. A list of users paired with `status = 'HELD'` lets PostgreSQL's
/// generic plan search the index led by `status` (every live hold) or read
/// the whole table, as long as no statistics know the sale's rows (see
/// [`crate::db::unindexed`]). One user at a time, all three columns of the
/// user's index match, against two of the status index's, and the planner
/// took the user's index both without statistics and with statistics
/// from before a sale.
fn hold_counts(ids: HashSet<i64>, now: Timestamp) -> Select<queue_ticket::Entity> {
    let count = holders_live_holds(
        Expr::col((Reservations, reservation::Column::Id)).count(),
        now,
    );
    queue_ticket::Entity::find()
        .select_only()
        .column(queue_ticket::Column::Id)
        .expr(Expr::SubQuery(None, Box::new(count.into())))
        .filter(queue_ticket::Column::Id.is_in(ids))
}

/// A condition on queue tickets: their holder has no unexpired hold (a
/// `NOT EXISTS` over reservations, correlated by user). A payment
/// finishes the tickets of buyers for whom it holds.
pub(crate) fn holds_nothing(now: Timestamp) -> Expr {
    Expr::exists(holders_live_holds(Expr::val(1), now)).not()
}

/// `SELECT what` over the unexpired holds of a queue ticket's holder: a
/// subquery correlated with `queue_tickets` by user.
fn holders_live_holds(what: Expr, now: Timestamp) -> SelectStatement {
    Query::select()
        .expr(what)
        .from(Reservations)
        .and_where(
            Expr::col((Reservations, reservation::Column::UserId))
                .equals((queue_ticket::Entity, queue_ticket::Column::UserId)),
        )
        .and_where(Expr::col((Reservations, reservation::Column::Status)).eq(Db::Held))
        .and_where(Expr::col((Reservations, reservation::Column::ExpiresAt)).gt(now))
        .to_owned()
}

/// The predicate of `uq_reservations_live_seat`, word for word.
const LIVE_SEAT: &str = "status IN ('HELD', 'CONFIRMED')";

/// Ends the lapsed holds on `seats`, so the partial unique index on live
/// reservations admits new ones. Before the seats are claimed: the
/// reservation's lock comes before its seat's, as in a payment or a sweep.
pub(super) async fn end_lapsed_holds(
    txn: &DatabaseTransaction,
    seats: &[i64],
    now: Timestamp,
) -> Result<()> {
    if seats.is_empty() {
        return Ok(());
    }
    txn.execute_raw(lapsed_on(txn.get_database_backend(), seats, now))
        .await?;
    Ok(())
}

/// [`end_lapsed_holds`]'s statement. A lapsed hold is still in
/// `uq_reservations_live_seat`, the one index led by `seat_id`, which a
/// planner may search only when the statement repeats its predicate
/// ([`LIVE_SEAT`]). SQLite, without statistics, still prefers the status
/// index for more than a couple of seats, and would read every lapsed hold
/// not yet swept, so it is told which index to use. PostgreSQL, given the
/// predicate, searches the status index for every live and paid
/// reservation instead, so there the statement keeps the status and
/// expiry terms that search only the lapsed holds not yet swept (the
/// sweeper's backlog; a batch only ends holds after its read saw one).
fn lapsed_on(backend: DbBackend, seats: &[i64], now: Timestamp) -> Statement {
    let update = Reservations::update_many()
        .col_expr(reservation::Column::Status, Expr::value(Db::Expired))
        .filter(reservation::Column::SeatId.is_in(seats.iter().copied()));
    if backend != DbBackend::Sqlite {
        return update
            .filter(reservation::Column::Status.eq(Db::Held))
            .filter(reservation::Column::ExpiresAt.lte(now))
            .build(backend);
    }
    let statement = update
        .filter(Expr::cust(LIVE_SEAT))
        .filter(crate::db::unindexed(backend, reservation::Column::Status).eq(Db::Held))
        .filter(reservation::Column::ExpiresAt.lte(now))
        .build(backend);
    crate::db::sqlite_indexed_by(statement, "reservations", "uq_reservations_live_seat")
}

/// Claims those of `claim` still free at `now` as `seats` read them (an
/// AVAILABLE one still AVAILABLE; one whose lapsed hold the batch ended
/// still free) until `expires_at`, and returns them.
pub(super) async fn claim_seats(
    txn: &DatabaseTransaction,
    seats: &SeatsNow,
    claim: &[i64],
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<Vec<seat::Model>> {
    if claim.is_empty() {
        return Ok(Vec::new());
    }
    let (lapsed, available): (Vec<i64>, Vec<i64>) =
        claim.iter().partition(|seat| seats.lapsed.contains(seat));
    let mut free = Condition::any();
    if !available.is_empty() {
        free = free.add(
            Condition::all()
                .add(seat::Column::Id.is_in(available))
                .add(seat::Column::Status.eq(DbSeat::Available)),
        );
    }
    if !lapsed.is_empty() {
        free = free.add(
            Condition::all()
                .add(seat::Column::Id.is_in(lapsed))
                .add(crate::domain::catalog::store_is_free_at(now)),
        );
    }
    Ok(seat::Entity::update_many()
        .col_expr(seat::Column::Status, Expr::value(DbSeat::Held))
        .col_expr(seat::Column::HeldUntil, Expr::value(expires_at))
        .filter(free)
        .exec_with_returning(txn)
        .await?)
}

/// The seats a hold batch asked for, free at its `now` as committed:
/// AVAILABLE, or HELD by a hold that has lapsed (and must be ended first).
#[derive(Debug, Default)]
pub(super) struct SeatsNow {
    available: HashSet<i64>,
    lapsed: HashSet<i64>,
}

impl SeatsNow {
    pub(super) fn is_free(&self, seat: i64) -> bool {
        self.available.contains(&seat) || self.lapsed.contains(&seat)
    }

    pub(super) fn lapsed_among(&self, seats: &[i64]) -> Vec<i64> {
        seats
            .iter()
            .copied()
            .filter(|seat| self.lapsed.contains(seat))
            .collect()
    }
}

/// Reads `seats` as committed at `now`, without a lock, and tells
/// [`super::Taken`] until when those taken stay so: nothing frees a seat
/// before its hold lapses, so what a committed row says holds in every
/// process until then. A seat read free may be taken before the claim;
/// the claim re-checks it.
pub(super) async fn read_seats(
    domain: &Domain,
    txn: &DatabaseTransaction,
    seats: &[i64],
    now: Timestamp,
) -> Result<SeatsNow> {
    let mut read = SeatsNow::default();
    if seats.is_empty() {
        return Ok(read);
    }
    let rows = seat::Entity::find()
        .filter(seat::Column::Id.is_in(seats.iter().copied()))
        .all(txn)
        .await?;
    for row in rows {
        let (id, date_id, number) = (row.id, row.concert_date_id, row.number);
        let (status, held_until) = (row.status.clone(), row.held_until);
        match row.into_seat(now).status {
            SeatStatus::Sold => domain.taken().remember(date_id, number, None, now),
            SeatStatus::Held => domain.taken().remember(date_id, number, held_until, now),
            SeatStatus::Available if status == DbSeat::Available => {
                read.available.insert(id);
            }
            SeatStatus::Available => {
                read.lapsed.insert(id);
            }
        }
    }
    Ok(read)
}

/// Inserts a hold until `expires_at` for each (user, claimed seat).
pub(super) async fn insert_holds(
    txn: &DatabaseTransaction,
    holds: Vec<(String, seat::Model)>,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<Vec<Reservation>> {
    let rows = holds
        .iter()
        .map(|(user_id, seat)| reservation::ActiveModel {
            user_id: Set(user_id.clone()),
            seat_id: Set(seat.id),
            price_won: Set(seat.price_won),
            status: Set(Db::Held),
            held_at: Set(now),
            expires_at: Set(expires_at),
            confirmed_at: Set(None),
            ..Default::default()
        });
    let inserted = Reservations::insert_many(rows)
        .exec_with_returning(txn)
        .await?;
    // Matched by seat: RETURNING promises no order.
    let mut seats: HashMap<i64, seat::Model> =
        holds.into_iter().map(|(_, seat)| (seat.id, seat)).collect();
    inserted
        .into_iter()
        .map(|row| {
            let seat = seats
                .remove(&row.seat_id)
                .ok_or_else(|| Error::invariant("a hold on a seat that was not claimed"))?;
            Ok(to_reservation(row, seat, now))
        })
        .collect()
}

/// The reservation with its seat, as of `now`.
pub(crate) async fn reservation_by_id<C: ConnectionTrait>(
    db: &C,
    id: i64,
    now: Timestamp,
) -> Result<Option<Reservation>> {
    let found = Reservations::find_by_id(id)
        .find_also_related(seat::Entity)
        .one(db)
        .await?;
    match found {
        Some((row, Some(seat))) => Ok(Some(to_reservation(row, seat, now))),
        Some((_, None)) => Err(Error::invariant("reservation without seat")),
        None => Ok(None),
    }
}

pub(crate) fn to_reservation(
    row: reservation::Model,
    seat: seat::Model,
    now: Timestamp,
) -> Reservation {
    let status = match row.status {
        Db::Held if row.expires_at <= now => ReservationStatus::Expired,
        Db::Held => ReservationStatus::Held,
        Db::Confirmed => ReservationStatus::Confirmed,
        Db::Expired => ReservationStatus::Expired,
    };
    Reservation {
        id: row.id,
        user_id: row.user_id,
        seat: seat.into_seat(now),
        status,
        price_won: row.price_won,
        held_at: row.held_at,
        expires_at: row.expires_at,
    }
}

/// Batch size of one sweep; bounds the transaction.
const SWEEP_BATCH: u64 = 500;

// A sweep's read fits what a SQLite connection's thread sends ahead.
const _: () = assert!(SWEEP_BATCH < crate::db::ROW_BUFFER as u64);

/// Most batches one sweep writes, while each finds a full batch. Holds
/// lapse as fast as they were taken, five minutes after a sale, and one
/// batch a pass (one pass a second) would leave a backlog that every hold
/// batch ending a lapsed hold then searches (see [`lapsed_on`]); a sweep
/// that leaves holds says so, and the sweeper comes back 5 ms later. Each
/// batch is its own transaction, so writers queued meanwhile go between.
const SWEEP_BATCHES: u32 = 4;

/// What a sweep of lapsed holds did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub expired: u64,
    /// Its last batch came full: more holds may have lapsed.
    pub more: bool,
}

/// Marks holds past `expires_at` EXPIRED and frees their seats, a batch at
/// a time while batches come full, up to [`SWEEP_BATCHES`]. Safe to run in
/// several processes at once: every update re-checks its condition. With
/// nothing to expire it takes no write lock (on SQLite that lock would
/// hold up every other writer).
///
/// # Errors
/// When the database fails; batches already written stay written.
pub async fn expire_lapsed_holds(domain: &Domain) -> Result<Swept> {
    let now = domain.now();
    let mut swept = Swept::default();
    for _ in 0..SWEEP_BATCHES {
        let (expired, more) = expire_batch(domain, now).await?;
        swept = Swept {
            expired: swept.expired + expired,
            more,
        };
        if !more {
            break;
        }
    }
    Ok(swept)
}

/// One batch of [`expire_lapsed_holds`]: how many holds it expired, and
/// whether it found a full batch (so more may be waiting).
async fn expire_batch(domain: &Domain, now: Timestamp) -> Result<(u64, bool)> {
    if lapsed_holds(domain.reader(), now).await?.is_empty() {
        return Ok((0, false));
    }
    let txn = domain.begin_write().await?;
    let lapsed = lock_lapsed_holds(&txn, now).await?;
    let full = lapsed.len() as u64 == SWEEP_BATCH;
    if lapsed.is_empty() {
        return Ok((0, false));
    }
    // Only the seats of the holds this update ends: another instance may
    // have ended one of the holds read above and held its seat again.
    let seat_ids: Vec<i64> = expiry(txn.get_database_backend(), lapsed, now)
        .exec_with_returning(&txn)
        .await?
        .into_iter()
        .map(|r| r.seat_id)
        .collect();
    if seat_ids.is_empty() {
        // Nothing this transaction read was still to end: no reason to
        // think more is waiting, and no reason for the sweeper to hurry.
        return Ok((0, false));
    }
    seat::Entity::update_many()
        .col_expr(seat::Column::Status, Expr::value(DbSeat::Available))
        .col_expr(
            seat::Column::HeldUntil,
            Expr::value(Option::<Timestamp>::None),
        )
        .filter(seat::Column::Id.is_in(seat_ids.iter().copied()))
        .filter(seat::Column::Status.eq(DbSeat::Held))
        .filter(seat::Column::HeldUntil.lte(now))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok((seat_ids.len() as u64, full))
}

/// Ends the holds `ids` that lapsed by `now`. Searched by id, not among
/// every lapsed hold: after an outage the backlog outgrows a sweep's
/// batch many times over (see [`crate::db::unindexed`]).
fn expiry(backend: DbBackend, ids: Vec<i64>, now: Timestamp) -> UpdateMany<Reservations> {
    Reservations::update_many()
        .col_expr(reservation::Column::Status, Expr::value(Db::Expired))
        .filter(reservation::Column::Id.is_in(ids))
        .filter(crate::db::unindexed(backend, reservation::Column::Status).eq(Db::Held))
        .filter(reservation::Column::ExpiresAt.lte(now))
}

/// Up to a sweep's batch of holds past `expires_at`: their ids.
async fn lapsed_holds<C: ConnectionTrait>(db: &C, now: Timestamp) -> Result<Vec<i64>> {
    Ok(lapsed(now).into_tuple().all(db).await?)
}

/// [`lapsed_holds`] in the sweep's transaction. On PostgreSQL, locked,
/// passing over holds another transaction has locked: a payment confirming
/// one, or another instance's sweep, which then ends the next batch instead
/// of waiting for this one's.
async fn lock_lapsed_holds(txn: &DatabaseTransaction, now: Timestamp) -> Result<Vec<i64>> {
    let mut select = lapsed(now);
    if txn.get_database_backend() == DbBackend::Postgres {
        select = select.lock_with_behavior(LockType::NoKeyUpdate, LockBehavior::SkipLocked);
    }
    Ok(select.into_tuple().all(txn).await?)
}

fn lapsed(now: Timestamp) -> Select<Reservations> {
    Reservations::find()
        .select_only()
        .column(reservation::Column::Id)
        .filter(reservation::Column::Status.eq(Db::Held))
        .filter(reservation::Column::ExpiresAt.lte(now))
        .limit(SWEEP_BATCH)
}

#[cfg(test)]
pub(crate) mod fixture {
    use entity::reservation::Entity as Reservations;
    use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryTrait, UpdateMany};

    use crate::db::{postgres_generic_plan, sqlite_plan};

    /// Lapsed by the tests' `NOW`.
    pub const PAST: &str = "2026-01-01T00:05:00Z";
    /// Unexpired at the tests' `NOW`.
    pub const LATER: &str = "2999-01-01T00:00:00Z";
    pub const NOW: &str = "2026-06-01T00:00:00Z";

    /// Inserts reservations `(id, status, expires_at)`, each of its own
    /// user and on its own seat of one concert date. On PostgreSQL, also
    /// 3,000 live holds of other users, ids from 10,001: a table that grew
    /// since its statistics were gathered (never, here).
    pub async fn reservations(db: &DatabaseConnection, rows: &[(i64, &str, &str)]) {
        let mut sql = format!(
            "INSERT INTO concerts (id, title) VALUES (1, 'c'); \
             INSERT INTO concert_dates (id, concert_id, starts_at) VALUES (1, 1, '{LATER}');"
        );
        for (id, status, expires_at) in rows {
            sql.push_str(&format!(
                "INSERT INTO seats (id, concert_date_id, number, price_won, status) \
                 VALUES ({id}, 1, {id}, 10, 'HELD'); \
                 INSERT INTO reservations \
                 (id, user_id, seat_id, price_won, status, held_at, expires_at) \
                 VALUES ({id}, 'user-{id}', {id}, 10, '{status}', '2026-01-01T00:00:00Z', \
                 '{expires_at}');"
            ));
        }
        if db.get_database_backend() == DbBackend::Postgres {
            sql.push_str(&format!(
                "INSERT INTO seats (id, concert_date_id, number, price_won, status) \
                 SELECT n, 1, n, 10, 'HELD' FROM generate_series(10001, 13000) n; \
                 INSERT INTO reservations \
                 (id, user_id, seat_id, price_won, status, held_at, expires_at) \
                 SELECT n, 'crowd-' || n, n, 10, 'HELD', '2026-01-01T00:00:00Z', '{LATER}' \
                 FROM generate_series(10001, 13000) n;"
            ));
        }
        db.execute_unprepared(&sql)
            .await
            .expect("insert reservations");
    }

    /// Checks that `db` runs `update` by primary key (on PostgreSQL in the
    /// generic plan of a prepared statement), and that it changes exactly
    /// the reservations `changed`.
    pub async fn updates_by_id(
        db: &DatabaseConnection,
        update: UpdateMany<Reservations>,
        changed: &[i64],
    ) {
        let backend = db.get_database_backend();
        let statement = update.clone().build(backend);
        if backend == DbBackend::Sqlite {
            let plan = sqlite_plan(db, statement).await;
            assert_eq!(
                plan,
                ["SEARCH reservations USING INTEGER PRIMARY KEY (rowid=?)"],
                "{plan:?}"
            );
        } else {
            let plan = postgres_generic_plan(db, statement).await;
            assert!(
                plan.contains("reservations_pkey") && !plan.contains("idx_reservations_status"),
                "{plan}"
            );
        }
        let mut ids: Vec<i64> = update
            .exec_with_returning(db)
            .await
            .expect("update")
            .iter()
            .map(|r| r.id)
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, changed);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sea_orm::{DatabaseConnection, TransactionTrait};

    use super::fixture::{self, LATER, NOW, PAST};
    use super::*;
    use crate::db::{migrated_postgres, postgres_generic_plan, test_databases};
    use crate::domain::queue::TicketStatus;
    use crate::domain::queue::model::test_ticket;

    /// 1 has lapsed, 2 is live, 3 was paid, 4 has lapsed.
    const LAPSED_LIVE_PAID_LAPSED: [(i64, &str, &str); 4] = [
        (1, "HELD", PAST),
        (2, "HELD", LATER),
        (3, "CONFIRMED", PAST),
        (4, "HELD", PAST),
    ];

    #[tokio::test]
    async fn a_sweep_ends_its_lapsed_holds_by_id() {
        for (db, _postgres) in test_databases().await {
            fixture::reservations(&db, &LAPSED_LIVE_PAID_LAPSED).await;
            let now = NOW.parse().expect("time");
            // 1 has lapsed, 2 is live, 3 was paid, 5 does not exist; 4
            // lapsed but is not asked for. 6 to 9 only make a list long
            // enough for the planner's guess to go wrong.
            let ids = vec![1, 2, 3, 5, 6, 7, 8, 9];
            let update = expiry(db.get_database_backend(), ids, now);
            fixture::updates_by_id(&db, update, &[1]).await;
        }
    }

    /// A domain over `db` whose clock stands at the fixture's `NOW`.
    async fn domain_at_now(db: &DatabaseConnection) -> Domain {
        crate::domain::at(db, NOW.parse().expect("time")).await
    }

    #[tokio::test]
    async fn a_sweep_ends_batches_while_they_come_full_and_says_when_holds_are_left() {
        let most = u64::from(SWEEP_BATCHES) * SWEEP_BATCH;
        let backlog = (most + SWEEP_BATCH + 1) as i64;
        for (db, _postgres) in test_databases().await {
            let mut rows: Vec<(i64, &str, &str)> =
                (1..=backlog).map(|id| (id, "HELD", PAST)).collect();
            rows.push((backlog + 1, "HELD", LATER));
            fixture::reservations(&db, &rows).await;
            db.execute_unprepared(&format!(
                "UPDATE seats SET held_until = '{PAST}' WHERE id <= {backlog}; \
                 UPDATE seats SET held_until = '{LATER}' WHERE id > {backlog}"
            ))
            .await
            .expect("hold the seats");
            let domain = domain_at_now(&db).await;

            let sweep = || async { expire_lapsed_holds(&domain).await.expect("sweep") };
            let first = Swept {
                expired: most,
                more: true,
            };
            assert_eq!(sweep().await, first, "as many batches as a sweep writes");
            let rest = Swept {
                expired: SWEEP_BATCH + 1,
                more: false,
            };
            assert_eq!(sweep().await, rest, "a full batch, then the last hold");
            assert_eq!(sweep().await, Swept::default());
            let count = |sql: &str| {
                let db = db.clone();
                let sql = sql.to_owned();
                async move {
                    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                        .await
                        .expect("count")
                        .expect("a row")
                        .try_get_by_index::<i64>(0)
                        .expect("an integer")
                }
            };
            let still_held = count(&format!(
                "SELECT count(*) FROM reservations WHERE status = 'HELD' AND id <= {}",
                backlog + 1
            ))
            .await;
            assert_eq!(still_held, 1, "the live hold stays");
            let freed = count("SELECT count(*) FROM seats WHERE status = 'AVAILABLE'").await;
            assert_eq!(freed, backlog, "every lapsed hold's seat is free");
        }
    }

    #[tokio::test]
    async fn a_sweep_on_postgres_passes_over_a_lapsed_hold_another_transaction_locked() {
        let Some(postgres) = migrated_postgres().await else {
            return;
        };
        let db = &postgres.db;
        fixture::reservations(db, &LAPSED_LIVE_PAID_LAPSED).await;
        let domain = domain_at_now(db).await;
        // A payment confirming hold 1, say.
        let payment = db.begin().await.expect("begin");
        payment
            .execute_unprepared("SELECT id FROM reservations WHERE id = 1 FOR UPDATE")
            .await
            .expect("lock");
        let sweep = tokio::time::timeout(Duration::from_secs(5), expire_lapsed_holds(&domain));
        let swept = sweep.await.expect("the sweep waited for the lock");
        assert_eq!(swept.expect("sweep").expired, 1, "hold 4 only");
        payment.rollback().await.expect("rollback");
        let swept = expire_lapsed_holds(&domain).await.expect("sweep");
        assert_eq!(swept.expired, 1, "hold 1");
    }

    #[tokio::test]
    async fn a_hold_batch_ends_the_lapsed_holds_on_its_seats_and_on_sqlite_by_seat() {
        for (db, _postgres) in test_databases().await {
            fixture::reservations(&db, &LAPSED_LIVE_PAID_LAPSED).await;
            let now = NOW.parse().expect("time");
            // Seat 1's hold has lapsed, 2's is live, 3's was paid, 5 has
            // none; 4's lapsed but is not asked for. 6 to 9 only make a
            // list long enough for the planner's guess to go wrong.
            let backend = db.get_database_backend();
            let statement = lapsed_on(backend, &[1, 2, 3, 5, 6, 7, 8, 9], now);
            if backend == DbBackend::Sqlite {
                assert!(statement.sql.contains("INDEXED BY"), "{}", statement.sql);
                let plan = crate::db::sqlite_plan(&db, statement.clone()).await;
                assert_eq!(
                    plan,
                    ["SEARCH reservations USING INDEX uq_reservations_live_seat (seat_id=?)"],
                    "{plan:?}"
                );
            }
            db.execute_raw(statement).await.expect("update");
            let expired: Vec<i64> = Reservations::find()
                .select_only()
                .column(reservation::Column::Id)
                .filter(reservation::Column::Status.eq(Db::Expired))
                .into_tuple()
                .all(&db)
                .await
                .expect("read");
            assert_eq!(expired, [1]);
        }
    }

    #[tokio::test]
    async fn a_hold_batch_rechecks_its_holders_without_writing_their_tickets() {
        for (db, _postgres) in test_databases().await {
            // User 1 holds seat 1 until later; 2's hold has lapsed.
            fixture::reservations(&db, &[(1, "HELD", LATER), (2, "HELD", PAST)]).await;
            // Ticket 1 and 2 admitted until later, 3's admission has
            // lapsed, 4 waits.
            db.execute_unprepared(&format!(
                "INSERT INTO queue_tickets \
                 (id, token_hash, user_id, status, entered_at, admitted_at, expires_at) VALUES \
                 (1, 'h1', 'user-1', 'PROGRESS', '{PAST}', '{PAST}', '{LATER}'), \
                 (2, 'h2', 'user-2', 'PROGRESS', '{PAST}', '{PAST}', '{LATER}'), \
                 (3, 'h3', 'user-3', 'PROGRESS', '{PAST}', '{PAST}', '{PAST}'), \
                 (4, 'h4', 'user-4', 'WAITING', '{PAST}', NULL, NULL)"
            ))
            .await
            .expect("insert tickets");
            let now = NOW.parse().expect("time");
            let tickets: Vec<Ticket> = (1..=4)
                .map(|id| test_ticket(id, TicketStatus::Progress))
                .collect();
            let txn = crate::db::begin_write(&db).await.expect("begin");
            let before = ticket_writes(&txn).await;
            let holders = touch_holders(&txn, &tickets.iter().collect::<Vec<_>>(), now)
                .await
                .expect("touch");
            assert_eq!(holders, [(1, 1), (2, 0)].into());
            assert_eq!(ticket_writes(&txn).await, before);
            txn.rollback().await.expect("rollback");
        }
    }

    /// What shows that `txn` wrote queue tickets: SQLite's count of rows
    /// its connection changed, PostgreSQL's row versions (a no-op update
    /// writes a new one, with the transaction's id; the row lock the
    /// re-check takes there only marks the row).
    async fn ticket_writes(txn: &DatabaseTransaction) -> String {
        let sql = match txn.get_database_backend() {
            DbBackend::Sqlite => "SELECT CAST(total_changes() AS TEXT) AS w",
            _ => "SELECT string_agg(xmin::text, ',' ORDER BY id) AS w FROM queue_tickets",
        };
        let row = txn
            .query_one_raw(Statement::from_string(txn.get_database_backend(), sql))
            .await
            .expect("read")
            .expect("a row");
        row.try_get("", "w").expect("w")
    }

    #[tokio::test]
    async fn a_hold_batch_counts_each_holders_holds_by_user_on_postgres() {
        let Some(postgres) = migrated_postgres().await else {
            return;
        };
        let db = &postgres.db;
        let rows = [
            (1, "HELD", LATER),
            (2, "HELD", PAST),
            (3, "CONFIRMED", LATER),
            (4, "HELD", LATER),
        ];
        fixture::reservations(db, &rows).await;
        // Tickets 1 to 4 of the users of reservations 1 to 4, 5 of a user
        // holding nothing, and the crowd's.
        db.execute_unprepared(
            "INSERT INTO queue_tickets (id, token_hash, user_id, status, entered_at) \
             SELECT n, 'hash-' || n, 'user-' || n, 'PROGRESS', now() \
             FROM generate_series(1, 5) n; \
             INSERT INTO queue_tickets (id, token_hash, user_id, status, entered_at) \
             SELECT n, 'hash-' || n, 'crowd-' || n, 'PROGRESS', now() \
             FROM generate_series(10001, 13000) n",
        )
        .await
        .expect("insert tickets");
        let now = NOW.parse().expect("time");
        let ids: HashSet<i64> = [1, 2, 3, 5].into();
        let plan =
            postgres_generic_plan(db, hold_counts(ids.clone(), now).build(DbBackend::Postgres))
                .await;
        // The tickets by id; each holder's holds by user.
        assert!(
            plan.contains("queue_tickets_pkey")
                && plan.contains("Index Scan using idx_reservations_user_status_expires")
                && plan.contains("(user_id)::text = (queue_tickets.user_id)::text")
                && !plan.contains("idx_reservations_status")
                && !plan.contains("Seq Scan"),
            "{plan}"
        );
        let txn = db.begin().await.expect("begin");
        let counts = live_hold_counts(&txn, ids, now).await.expect("counts");
        assert_eq!(counts, [(1, 1), (2, 0), (3, 0), (5, 0)].into());
    }
}
