//! Payment (결제): turns a hold into a booking, paid from the balance.
//!
//! # Invariants
//! - All or nothing, in one transaction: the debit, its ledger row, the
//!   reservation CONFIRMED, the seat SOLD, the payment row, and, when the
//!   caller holds nothing else, the ticket DONE and the next waiter
//!   admitted.
//! - A reservation is paid at most once (unique payment per reservation,
//!   and the confirm is guarded on HELD).

mod store;

pub(crate) use self::store::Pay;
pub use self::store::Payments;

use serde::{Deserialize, Serialize};

use super::batched;
use super::booking::Reservation;
use super::idempotency::{self, Gate};
use super::{Domain, Error, Result};
use crate::clock::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: i64,
    pub amount_won: i64,
    pub paid_at: Timestamp,
    pub reservation: Reservation,
}

/// Pays the caller's held reservation from their balance. Payments
/// arriving together are written together (see `crate::domain::batched`).
///
/// # Errors
/// The gate's errors, `NotFound` (not the caller's, or unknown),
/// `AlreadyPaid`, `HoldExpired`, `InsufficientBalance`,
/// `IdempotencyKeyReused`.
pub async fn pay(
    domain: &Domain,
    token: &str,
    reservation_id: i64,
    key: Option<&str>,
) -> Result<Payment> {
    let mut pay = store::Pay {
        reservation_id,
        now: domain.now(),
        payable: None,
    };
    match idempotency::gate(domain, token, key, &mut pay).await? {
        Gate::Answered(answer) => answer,
        Gate::Passed { ticket, request } => {
            let payment = batched::submit(domain, ticket, pay, key, request).await;
            if let Ok(paid) = &payment {
                // Sold for good: its next holds are refused before a batch.
                let seat = &paid.reservation.seat;
                let (date, number) = (seat.concert_date_id, seat.number);
                domain.taken().remember(date, number, None, domain.now());
            }
            if matches!(
                payment,
                Ok(_) | Err(Error::AlreadyPaid | Error::HoldExpired | Error::NotFound { .. })
            ) {
                // Never to be paid again: its next `pay` reads the row and
                // is refused before the writer.
                domain.recent_holds().forget(reservation_id);
            }
            payment
        }
    }
}
