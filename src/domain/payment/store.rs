//! The payment transaction.

use entity::payment;
use entity::reservation::{self, Entity as Reservations, ReservationStatus as Db};
use entity::seat::{self, SeatStatus};
use entity::wallet_ledger::LedgerKind;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
};

use super::Payment;
use crate::clock::Timestamp;
use crate::domain::Rules;
use crate::domain::booking::{ReservationStatus, reservation_by_id, touch_admission};
use crate::domain::error::{Error, Result};
use crate::domain::queue::{QueueChanges, Ticket, store as queue_store};
use crate::domain::wallet::{debit, record_ledger};

pub(super) async fn pay(
    txn: &DatabaseTransaction,
    ticket: &Ticket,
    reservation_id: i64,
    now: Timestamp,
    rules: &Rules,
) -> Result<(Payment, QueueChanges)> {
    // Lock order: gate, ticket, reservation, seat, wallet.
    let gate = queue_store::lock_gate(txn).await?;
    touch_admission(txn, ticket, now).await?;
    let reservation = reservation_by_id(txn, reservation_id, now)
        .await?
        .filter(|r| r.user_id == ticket.user_id)
        .ok_or_else(|| Error::not_found("reservation"))?;
    match reservation.status {
        ReservationStatus::Confirmed => return Err(Error::AlreadyPaid),
        ReservationStatus::Expired => return Err(Error::HoldExpired),
        ReservationStatus::Held => {}
    }

    let confirmed = Reservations::update_many()
        .col_expr(reservation::Column::Status, Expr::value(Db::Confirmed))
        .col_expr(reservation::Column::ConfirmedAt, Expr::value(now))
        .filter(reservation::Column::Id.eq(reservation.id))
        .filter(reservation::Column::Status.eq(Db::Held))
        .filter(reservation::Column::ExpiresAt.gt(now))
        .exec(txn)
        .await?;
    if confirmed.rows_affected != 1 {
        return Err(Error::HoldExpired);
    }
    let sold = seat::Entity::update_many()
        .col_expr(seat::Column::Status, Expr::value(SeatStatus::Sold))
        .col_expr(
            seat::Column::HeldUntil,
            Expr::value(Option::<Timestamp>::None),
        )
        .filter(seat::Column::Id.eq(reservation.seat.id))
        .filter(seat::Column::Status.eq(SeatStatus::Held))
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
    let other_holds = Reservations::find()
        .filter(reservation::Column::UserId.eq(&ticket.user_id))
        .filter(reservation::Column::Status.eq(Db::Held))
        .filter(reservation::Column::ExpiresAt.gt(now))
        .count(txn)
        .await?;
    if other_holds == 0 {
        changes.tickets = queue_store::finish(txn, &gate, ticket.id, now).await?;
        let settled =
            queue_store::settle(txn, &gate, now, rules.queue_capacity, rules.active_ttl).await?;
        changes.tickets.extend(settled.tickets);
    }

    let reservation = reservation_by_id(txn, reservation.id, now)
        .await?
        .ok_or_else(|| Error::invariant("paid reservation vanished"))?;
    Ok((
        Payment {
            id: payment.id,
            amount_won: payment.amount_won,
            paid_at: payment.paid_at,
            reservation,
        },
        changes,
    ))
}
