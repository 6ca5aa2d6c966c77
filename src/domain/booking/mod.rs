//! Seat holds (임시 예약): an admitted user holds a seat for `hold_ttl`.
//!
//! # Invariants
//! - A seat has at most one live hold or booking: the claim is one guarded
//!   `UPDATE seats … WHERE status = 'AVAILABLE' OR (status = 'HELD' AND
//!   held_until <= now)`
//!   (one statement, one winner, also across processes), paired with a
//!   partial unique index on HELD/CONFIRMED reservations per seat.
//! - A hold stops blocking at `expires_at`, whether or not the sweeper ran.
//! - A user has at most `max_holds_per_user` unexpired holds; the count and
//!   the claim run while the user's ticket row is locked (on SQLite, inside
//!   the one writer's transaction).
//! - Nothing frees a seat before its hold lapses, so a seat this process
//!   saw held is refused without a write until then (`taken`).
//! - A committed hold's owner, seat, price and expiry never change, so
//!   `pay` finds a hold this process committed without a read (`recent`).

mod holds;
mod recent;
mod store;
mod taken;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

pub(crate) use self::holds::Claim;
pub use self::holds::Holds;
pub use self::recent::RecentHolds;
#[cfg(test)]
pub(crate) use self::store::fixture;
pub use self::store::{Swept, expire_lapsed_holds};
pub(crate) use self::store::{admitted_at, holds_nothing, reservation_by_id, touch_tickets};
pub use self::taken::Taken;
use super::batched;
use super::catalog::Seat;
use super::idempotency::{self, Gate};
use super::{Domain, Error, Result};
use crate::clock::Timestamp;

/// Makes room in a bounded memory of holds (`taken`, `recent`) before an
/// insert: when it holds `max` entries, those no longer `live` are
/// dropped, and if that leaves it more than half full, everything is.
/// Forgetting only costs a read, or for `taken` a hold a batch refuses.
fn make_room<K, V>(memory: &mut HashMap<K, V>, max: usize, mut live: impl FnMut(&V) -> bool) {
    if memory.len() >= max {
        memory.retain(|_, value| live(value));
        if memory.len() > max / 2 {
            memory.clear();
        }
    }
}

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
/// `now + hold_ttl`. Holds arriving together are written together (see
/// `holds`).
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
    let mut hold = store::Hold {
        date_id,
        seat_number,
        now: domain.now(),
        claim: None,
    };
    let (ticket, request) = match idempotency::gate(domain, token, key, &mut hold).await? {
        Gate::Answered(answer) => return answer,
        Gate::Passed { ticket, request } => (ticket, request),
    };
    let claim = hold
        .claim
        .ok_or_else(|| Error::invariant("a hold passed its checks without a seat"))?;
    let reservation = batched::submit(domain, ticket, claim, key, request).await?;
    let now = domain.now();
    domain.recent_holds().remember(&reservation, now);
    // The seat's next holds are refused without a batch until this lapses.
    let until = Some(reservation.expires_at);
    domain.taken().remember(date_id, seat_number, until, now);
    Ok(reservation)
}
