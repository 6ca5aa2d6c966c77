//! Seat holds (임시 예약): an admitted user holds a seat for `hold_ttl`.
//!
//! # Invariants
//! - A seat has at most one live hold or booking: the claim is one guarded
//!   `UPDATE seats … WHERE status = 'AVAILABLE' OR held_until <= now`
//!   (one statement, one winner, also across processes), paired with a
//!   partial unique index on HELD/CONFIRMED reservations per seat.
//! - A hold stops blocking at `expires_at`, whether or not the sweeper ran.
//! - A user has at most `max_holds_per_user` unexpired holds; the count and
//!   the claim run while the user's ticket row is locked.

mod store;

use serde::{Deserialize, Serialize};

pub use self::store::expire_lapsed_holds;
pub(crate) use self::store::{reservation_by_id, touch_admission};
use super::catalog::Seat;
use super::idempotency;
use super::{Domain, Result};
use crate::clock::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReservationStatus {
    Held,
    Confirmed,
    Expired,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: i64,
    pub user_id: String,
    pub seat: Seat,
    pub status: ReservationStatus,
    pub price_won: i64,
    pub held_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Holds seat `seat_number` of `date_id` for the caller until
/// `now + hold_ttl`.
///
/// # Errors
/// The gate's errors, `NotFound` (date or seat), `SeatUnavailable`,
/// `HoldLimit`, `IdempotencyKeyReused`.
pub async fn hold_seat(
    domain: &Domain,
    token: &str,
    date_id: i64,
    seat_number: i32,
    key: Option<&str>,
) -> Result<Reservation> {
    let hold = store::Hold {
        date_id,
        seat_number,
        now: domain.now(),
        rules: domain.rules().clone(),
        seat_id: None,
    };
    idempotency::run(domain, token, key, hold)
        .await
        .inspect(|_| {
            domain.metrics().holds.inc();
        })
}
