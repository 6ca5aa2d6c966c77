//! The payment transaction.

use std::collections::{HashMap, HashSet};

use entity::payment;
use entity::reservation::{self, Entity as Reservations, ReservationStatus as Db};
use entity::seat::{self, SeatStatus as DbSeat};
use entity::wallet_ledger::LedgerKind;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, UpdateMany,
};

use super::Payment;
use crate::clock::Timestamp;
use crate::domain::Domain;
use crate::domain::batch::Pending;
use crate::domain::batched::{Batched, Request};
use crate::domain::booking::{
    Reservation, ReservationStatus, admitted_at, holds_nothing, reservation_by_id, touch_tickets,
};
use crate::domain::catalog::SeatStatus;
use crate::domain::error::{Error, Result};
use crate::domain::idempotency::Checked;
use crate::domain::queue::{QueueChanges, Ticket, settle_locked, store as queue_store};
use crate::domain::wallet::{balances, debit, record_ledger};
use crate::metrics::{Counter, Histogram, Metrics};

/// `pay`: the reservation is checked first, on a read connection unless
/// this process answered its hold ([`RecentHolds`]); the transaction's
/// guarded updates check it again, with the balance.
///
/// [`RecentHolds`]: crate::domain::booking::RecentHolds
pub(crate) struct Pay {
    pub reservation_id: i64,
    pub now: Timestamp,
    /// The reservation as [`Checked::check`] found it, payable then.
    pub payable: Option<Reservation>,
}

impl Checked for Pay {
    type Output = Payment;

    fn request(&self) -> String {
        format!("pay({})", self.reservation_id)
    }

    async fn check(&mut self, domain: &Domain, ticket: &Ticket) -> Result<()> {
        // The balance is left to the transaction: read here too, in a
        // second statement, it could come from after a concurrent `pay` of
        // this very reservation, and answer INSUFFICIENT_BALANCE where the
        // truth is ALREADY_PAID.
        let found = match domain
            .recent_holds()
            .unexpired(self.reservation_id, self.now)
        {
            Some(held) => Some(held),
            None => reservation_by_id(domain.reader(), self.reservation_id, self.now).await?,
        };
        self.payable = Some(Self::judge(found, ticket)?);
        Ok(())
    }
}

/// Payments waiting for the next batch.
#[derive(Default)]
pub struct Payments(Pending<Request<Pay>>);

/// A payment batch confirms every reservation in one guarded update, debits
/// every wallet in another, marks the seats SOLD, inserts the payments and
/// their ledger rows, then locks the gate once, finishes the tickets of
/// buyers who hold nothing else, and settles the queue once.
impl Batched for Pay {
    type Output = Payment;

    fn pending(domain: &Domain) -> &Pending<Request<Self>> {
        &domain.payments().0
    }

    fn metrics(metrics: &Metrics) -> (&Histogram, Option<&Counter>) {
        (&metrics.payment_batch, Some(&metrics.payments))
    }

    async fn write(
        domain: &Domain,
        txn: &DatabaseTransaction,
        now: Timestamp,
        batch: &[&Request<Self>],
    ) -> Result<(Vec<Result<Payment>>, QueueChanges)> {
        let mut outcomes: Vec<Option<Result<Payment>>> = batch.iter().map(|_| None).collect();
        // Lock order on PostgreSQL: ticket, reservation, wallet, seat,
        // gate. The gate is the queue's one lock, which every join and
        // settle waits for, so it is taken last: held for the finish, the
        // settle, the stored outcomes and the commit, not for the payment
        // itself. On SQLite, whose one writer runs every transaction in
        // turn, the order costs nothing, and the gate comes first for its
        // version: a hub that has applied every version before it knows
        // which tickets are admitted.
        let sqlite = txn.get_database_backend() == DbBackend::Sqlite;
        let early_gate = if sqlite {
            Some(queue_store::lock_gate(txn, domain.hub().instance()).await?)
        } else {
            None
        };
        let tickets: Vec<i64> = batch.iter().map(|r| r.ticket.id).collect();
        // On PostgreSQL the touch re-checks admission and locks the
        // tickets: a hold batch running meanwhile (here or elsewhere) must
        // wait for this payment, or the finish, whose `NOT EXISTS` reads
        // the snapshot its statement started with, could miss its hold.
        let known = early_gate
            .as_ref()
            .and_then(|gate| domain.hub().admitted_among(gate.version(), &tickets, now));
        let (admitted, now) = match known {
            Some(admitted) => (admitted, now),
            None => {
                let touched = touch_tickets(txn, &tickets).await?;
                // The touch may have waited for another transaction's
                // ticket lock: an admission or a hold that lapsed meanwhile
                // is not paid for, and the payment is dated when written.
                let now = domain.now();
                (admitted_at(&touched, now), now)
            }
        };
        // Its owner, seat and price never change; its state is re-checked
        // by the guarded confirm below.
        let mut open: Vec<(usize, &Reservation)> = Vec::new();
        for (i, request) in batch.iter().enumerate() {
            if !admitted.contains(&request.ticket.id) {
                outcomes[i] = Some(Err(Error::TokenExpired));
                continue;
            }
            let payable = request.mutation.payable.as_ref();
            open.push((
                i,
                payable.ok_or_else(|| Error::invariant("payment written before it was checked"))?,
            ));
        }

        let ids: Vec<i64> = open.iter().map(|(_, r)| r.id).collect();
        let confirmed = confirm(txn, &ids, now).await?;
        let mut debits = Vec::new();
        for &(i, reservation) in &open {
            if confirmed.contains(&reservation.id) {
                debits.push((reservation.user_id.as_str(), reservation.price_won));
            } else {
                // Paid or lapsed since the check: say which.
                let refusal = batch[i].mutation.payable(txn, &batch[i].ticket).await.err();
                outcomes[i] = Some(Err(refusal.unwrap_or(Error::HoldExpired)));
            }
        }
        let debited = debit(txn, &debits, now).await?;
        let (paid, short): (Vec<_>, Vec<_>) = open
            .into_iter()
            .filter(|(_, r)| confirmed.contains(&r.id))
            .partition(|(_, r)| debited.contains_key(&r.user_id));
        if !short.is_empty() {
            let users: Vec<&str> = short.iter().map(|(_, r)| r.user_id.as_str()).collect();
            let balances = balances(txn, &users).await?;
            let ids: Vec<i64> = short.iter().map(|(_, r)| r.id).collect();
            unconfirm(txn, &ids).await?;
            for (i, r) in short {
                outcomes[i] = Some(Err(Error::InsufficientBalance {
                    balance_won: balances.get(&r.user_id).copied().unwrap_or(0),
                    price_won: r.price_won,
                }));
            }
        }

        let seats: Vec<i64> = paid.iter().map(|(_, r)| r.seat.id).collect();
        sell(txn, &seats).await?;
        let payments = insert_payments(txn, &paid, now).await?;
        record_ledger(
            txn,
            paid.iter().map(|(_, r)| {
                let payment = payments.get(&r.id).map(|p| p.id);
                (
                    r.user_id.as_str(),
                    -r.price_won,
                    LedgerKind::Payment,
                    payment,
                )
            }),
            now,
        )
        .await?;

        // A buyer with no other unexpired hold has completed the purchase.
        // A batch that paid nothing changes nothing in the queue: on
        // PostgreSQL it takes no gate.
        let tickets: Vec<i64> = paid.iter().map(|&(i, _)| batch[i].ticket.id).collect();
        let gate = match early_gate {
            Some(gate) => Some(gate),
            None if !tickets.is_empty() => {
                Some(queue_store::lock_gate(txn, domain.hub().instance()).await?)
            }
            None => None,
        };
        let mut changes = QueueChanges::default();
        if let Some(gate) = gate {
            changes.version = Some(gate.version());
            changes.tickets =
                queue_store::finish(txn, &gate, &tickets, holds_nothing(now), now).await?;
            if !changes.tickets.is_empty() {
                let settled = settle_locked(domain, txn, &gate, now, &changes.tickets).await?;
                changes.tickets.extend(settled.changes.tickets);
            }
        }

        for (i, reservation) in paid {
            let payment = payments
                .get(&reservation.id)
                .ok_or_else(|| Error::invariant("a confirmed reservation has no payment"))?;
            // As the guarded updates left them.
            let mut reservation = reservation.clone();
            reservation.status = ReservationStatus::Confirmed;
            reservation.seat.status = SeatStatus::Sold;
            outcomes[i] = Some(Ok(Payment {
                id: payment.id,
                amount_won: payment.amount_won,
                paid_at: payment.paid_at,
                reservation,
            }));
        }
        let outcomes = outcomes
            .into_iter()
            .map(|outcome| {
                outcome.unwrap_or_else(|| Err(Error::invariant("a payment went unanswered")))
            })
            .collect();
        Ok((outcomes, changes))
    }
}

/// Confirms those of the reservations `ids` that are held and unexpired at
/// `now`; returns their ids.
async fn confirm(txn: &DatabaseTransaction, ids: &[i64], now: Timestamp) -> Result<HashSet<i64>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(confirmation(txn.get_database_backend(), ids, now)
        .exec_with_returning(txn)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect())
}

/// Searched by id, not among every live hold: see
/// [`crate::db::unindexed`].
fn confirmation(backend: DbBackend, ids: &[i64], now: Timestamp) -> UpdateMany<Reservations> {
    Reservations::update_many()
        .col_expr(reservation::Column::Status, Expr::value(Db::Confirmed))
        .col_expr(reservation::Column::ConfirmedAt, Expr::value(now))
        .filter(reservation::Column::Id.is_in(ids.iter().copied()))
        .filter(crate::db::unindexed(backend, reservation::Column::Status).eq(Db::Held))
        .filter(reservation::Column::ExpiresAt.gt(now))
}

/// Undoes [`confirm`] for payments the balance did not cover.
async fn unconfirm(txn: &DatabaseTransaction, ids: &[i64]) -> Result<()> {
    Reservations::update_many()
        .col_expr(reservation::Column::Status, Expr::value(Db::Held))
        .col_expr(
            reservation::Column::ConfirmedAt,
            Expr::value(Option::<Timestamp>::None),
        )
        .filter(reservation::Column::Id.is_in(ids.iter().copied()))
        .exec(txn)
        .await?;
    Ok(())
}

/// Marks the held `seats` of confirmed reservations SOLD.
async fn sell(txn: &DatabaseTransaction, seats: &[i64]) -> Result<()> {
    if seats.is_empty() {
        return Ok(());
    }
    let sold = seat::Entity::update_many()
        .col_expr(seat::Column::Status, Expr::value(DbSeat::Sold))
        .col_expr(
            seat::Column::HeldUntil,
            Expr::value(Option::<Timestamp>::None),
        )
        .filter(seat::Column::Id.is_in(seats.iter().copied()))
        .filter(seat::Column::Status.eq(DbSeat::Held))
        .exec(txn)
        .await?;
    if sold.rows_affected != seats.len() as u64 {
        return Err(Error::invariant("a held reservation's seat was not HELD"));
    }
    Ok(())
}

/// Inserts a payment for each paid reservation; the payments by
/// reservation id.
async fn insert_payments(
    txn: &DatabaseTransaction,
    paid: &[(usize, &Reservation)],
    now: Timestamp,
) -> Result<HashMap<i64, payment::Model>> {
    let rows = paid.iter().map(|(_, r)| payment::ActiveModel {
        user_id: Set(r.user_id.clone()),
        reservation_id: Set(r.id),
        amount_won: Set(r.price_won),
        paid_at: Set(now),
        ..Default::default()
    });
    // Matched by reservation: RETURNING promises no order.
    Ok(payment::Entity::insert_many(rows)
        .exec_with_returning(txn)
        .await?
        .into_iter()
        .map(|p| (p.reservation_id, p))
        .collect())
}

impl Pay {
    /// The caller's reservation if it can be paid at `now`: `NotFound` when
    /// it is someone else's (never reveal it), `AlreadyPaid`, `HoldExpired`.
    async fn payable<C: ConnectionTrait>(&self, db: &C, ticket: &Ticket) -> Result<Reservation> {
        Self::judge(
            reservation_by_id(db, self.reservation_id, self.now).await?,
            ticket,
        )
    }

    /// [`Self::payable`] of the reservation as `found`.
    fn judge(found: Option<Reservation>, ticket: &Ticket) -> Result<Reservation> {
        let reservation = found
            .filter(|r| r.user_id == ticket.user_id)
            .ok_or_else(|| Error::not_found("reservation"))?;
        match reservation.status {
            ReservationStatus::Confirmed => Err(Error::AlreadyPaid),
            ReservationStatus::Expired => Err(Error::HoldExpired),
            ReservationStatus::Held => Ok(reservation),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::booking::fixture::{self, LATER, NOW, PAST};

    #[tokio::test]
    async fn a_payment_batch_confirms_its_holds_by_id() {
        for (db, _postgres) in crate::db::test_databases().await {
            let rows = [
                (1, "HELD", LATER),
                (2, "HELD", PAST),
                (3, "HELD", LATER),
                (4, "CONFIRMED", LATER),
            ];
            fixture::reservations(&db, &rows).await;
            let now = NOW.parse().expect("time");
            // 1 is held and live, 2 has lapsed, 4 is paid, 5 does not
            // exist; 3 is not asked for. 6 to 9 only make a list long
            // enough for the planner's guess to go wrong.
            let ids = [1, 2, 4, 5, 6, 7, 8, 9];
            let update = confirmation(db.get_database_backend(), &ids, now);
            fixture::updates_by_id(&db, update, &[1]).await;
        }
    }
}
