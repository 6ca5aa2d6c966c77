//! The payment transaction.

use entity::payment;
use entity::reservation::{self, Entity as Reservations, ReservationStatus as Db};
use entity::seat::{self, SeatStatus as DbSeat};
use entity::wallet_ledger::LedgerKind;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};

use super::Payment;
use crate::clock::Timestamp;
use crate::domain::booking::{
    Reservation, ReservationStatus, live_hold_counts, reservation_by_id, touch_admission,
};
use crate::domain::catalog::SeatStatus;
use crate::domain::error::{Error, Result};
use crate::domain::idempotency::{Checked, Mutation};
use crate::domain::queue::{QueueChanges, Ticket, store as queue_store};
use crate::domain::wallet::{debit, record_ledger};
use crate::domain::{Domain, Rules};

/// `pay`: the reservation is checked on a read connection first; the
/// transaction's guarded updates check it again, with the balance.
pub(super) struct Pay {
    pub reservation_id: i64,
    pub now: Timestamp,
    pub rules: Rules,
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
        self.payable = Some(self.payable(domain.reader(), ticket).await?);
        Ok(())
    }
}

impl Mutation for Pay {
    async fn write(
        self,
        txn: &DatabaseTransaction,
        ticket: &Ticket,
    ) -> Result<(Payment, QueueChanges)> {
        let now = self.now;
        // Lock order: gate, ticket, reservation, seat, wallet.
        let gate = queue_store::lock_gate(txn).await?;
        touch_admission(txn, ticket, now).await?;
        // Its owner, seat and price never change; its state is re-checked
        // by the guarded confirm below.
        let mut reservation = self
            .payable
            .clone()
            .ok_or_else(|| Error::invariant("payment written before it was checked"))?;

        let confirmed = Reservations::update_many()
            .col_expr(reservation::Column::Status, Expr::value(Db::Confirmed))
            .col_expr(reservation::Column::ConfirmedAt, Expr::value(now))
            .filter(reservation::Column::Id.eq(reservation.id))
            .filter(reservation::Column::Status.eq(Db::Held))
            .filter(reservation::Column::ExpiresAt.gt(now))
            .exec(txn)
            .await?;
        if confirmed.rows_affected != 1 {
            // Paid or lapsed since the check: say which.
            self.payable(txn, ticket).await?;
            return Err(Error::HoldExpired);
        }
        let sold = seat::Entity::update_many()
            .col_expr(seat::Column::Status, Expr::value(DbSeat::Sold))
            .col_expr(
                seat::Column::HeldUntil,
                Expr::value(Option::<Timestamp>::None),
            )
            .filter(seat::Column::Id.eq(reservation.seat.id))
            .filter(seat::Column::Status.eq(DbSeat::Held))
            .exec(txn)
            .await?;
        if sold.rows_affected != 1 {
            return Err(Error::invariant("a held reservation's seat was not HELD"));
        }
        debit(txn, &ticket.user_id, reservation.price_won, now).await?;
        let payment = payment::Entity::insert(payment::ActiveModel {
            user_id: Set(ticket.user_id.clone()),
            reservation_id: Set(reservation.id),
            amount_won: Set(reservation.price_won),
            paid_at: Set(now),
            ..Default::default()
        })
        .exec_with_returning(txn)
        .await?;
        record_ledger(
            txn,
            &ticket.user_id,
            -reservation.price_won,
            LedgerKind::Payment,
            Some(payment.id),
            now,
        )
        .await?;

        let mut changes = QueueChanges {
            version: Some(gate.version()),
            tickets: Vec::new(),
        };
        // No row for the user: no other unexpired hold.
        let other_holds = live_hold_counts(txn, &[ticket.user_id.as_str()], now).await?;
        if other_holds.is_empty() {
            changes.tickets = queue_store::finish(txn, &gate, ticket.id, now).await?;
            let rules = &self.rules;
            let settled =
                queue_store::settle(txn, &gate, now, rules.queue_capacity, rules.active_ttl)
                    .await?;
            changes.tickets.extend(settled.changes.tickets);
        }

        // As the two guarded updates above left them.
        reservation.status = ReservationStatus::Confirmed;
        reservation.seat.status = SeatStatus::Sold;
        let payment = Payment {
            id: payment.id,
            amount_won: payment.amount_won,
            paid_at: payment.paid_at,
            reservation,
        };
        Ok((payment, changes))
    }
}

impl Pay {
    /// The caller's reservation if it can be paid at `now`: `NotFound` when
    /// it is someone else's (never reveal it), `AlreadyPaid`, `HoldExpired`.
    async fn payable<C: ConnectionTrait>(&self, db: &C, ticket: &Ticket) -> Result<Reservation> {
        let reservation = reservation_by_id(db, self.reservation_id, self.now)
            .await?
            .filter(|r| r.user_id == ticket.user_id)
            .ok_or_else(|| Error::not_found("reservation"))?;
        match reservation.status {
            ReservationStatus::Confirmed => Err(Error::AlreadyPaid),
            ReservationStatus::Expired => Err(Error::HoldExpired),
            ReservationStatus::Held => Ok(reservation),
        }
    }
}
