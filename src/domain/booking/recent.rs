//! Holds this process answered, by reservation id: what `pay` needs to
//! know of a reservation, without reading it.
//!
//! Once a hold commits, its reservation's owner, seat, price and
//! `expires_at` never change; only its status does, and the payment's
//! guarded confirm checks that under the lock (reading the row to say why
//! when it refuses). So until the hold lapses, paying it needs no read
//! before the write. A hold is remembered when `holdSeat` answers with it:
//! committed by this process, or replayed from an idempotency key, and
//! then perhaps committed by another instance or paid since (the confirm
//! still decides). Any other hold (another instance's, or one from before
//! a restart) is read as before.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Reservation, ReservationStatus, make_room};
use crate::clock::Timestamp;

/// Most holds remembered. When full, lapsed ones are dropped, and if that
/// leaves it more than half full, everything is: forgetting a hold only
/// costs its payment a read.
const MAX_HOLDS: usize = 1 << 16;

#[derive(Debug, Default)]
pub struct RecentHolds(Mutex<HashMap<i64, Reservation>>);

impl RecentHolds {
    /// Remembers a hold this process committed (or replayed).
    pub(super) fn remember(&self, reservation: &Reservation, now: Timestamp) {
        if reservation.status != ReservationStatus::Held || reservation.expires_at <= now {
            return;
        }
        let mut holds = self.lock();
        make_room(&mut holds, MAX_HOLDS, |held| held.expires_at > now);
        holds.insert(reservation.id, reservation.clone());
    }

    /// Reservation `id` as its hold committed it, if this process
    /// committed it and it has not lapsed at `now`. Its status then may
    /// have changed since (paid, or expired by a clock ahead of ours).
    pub(crate) fn unexpired(&self, id: i64, now: Timestamp) -> Option<Reservation> {
        self.lock()
            .get(&id)
            .filter(|held| held.expires_at > now)
            .cloned()
    }

    /// Forgets a hold once paid, or refused for good.
    pub(crate) fn forget(&self, id: i64) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<i64, Reservation>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};

    use super::*;
    use crate::domain::catalog::{Seat, SeatStatus};

    fn held(id: i64, expires_at: Timestamp) -> Reservation {
        Reservation {
            id,
            user_id: format!("user-{id}"),
            seat: Seat {
                id,
                concert_date_id: 1,
                number: 1,
                price_won: 50_000,
                status: SeatStatus::Held,
            },
            status: ReservationStatus::Held,
            price_won: 50_000,
            held_at: expires_at - TimeDelta::minutes(5),
            expires_at,
        }
    }

    #[test]
    fn a_hold_is_known_until_it_lapses_or_is_paid() {
        let now = Utc::now();
        let holds = RecentHolds::default();
        let until = now + TimeDelta::seconds(1);
        holds.remember(&held(1, until), now);
        holds.remember(&held(2, until), now);
        assert_eq!(holds.unexpired(1, now), Some(held(1, until)));
        assert_eq!(holds.unexpired(3, now), None, "never committed here");
        assert_eq!(
            holds.unexpired(1, until),
            None,
            "lapsed the instant it ends"
        );
        holds.forget(2);
        assert_eq!(holds.unexpired(2, now), None, "paid");
    }

    #[test]
    fn only_live_holds_are_remembered() {
        let now = Utc::now();
        let holds = RecentHolds::default();
        holds.remember(&held(1, now), now);
        let mut paid = held(2, now + TimeDelta::seconds(1));
        paid.status = ReservationStatus::Confirmed;
        holds.remember(&paid, now);
        assert!(holds.lock().is_empty());
    }

    #[test]
    fn a_full_memory_drops_lapsed_holds_then_starts_over() {
        let now = Utc::now();
        let holds = RecentHolds::default();
        let (soon, later) = (now + TimeDelta::seconds(1), now + TimeDelta::seconds(9));
        for id in 0..MAX_HOLDS {
            let id = i64::try_from(id).unwrap();
            holds.remember(&held(id, if id == 0 { later } else { soon }), now);
        }
        let after = now + TimeDelta::seconds(2);
        holds.remember(&held(-1, later), after);
        assert_eq!(holds.lock().len(), 2, "the lapsed ones went");
        assert!(holds.unexpired(0, after).is_some());

        for id in 1..MAX_HOLDS - 1 {
            holds.remember(&held(i64::try_from(id).unwrap(), later), after);
        }
        assert_eq!(holds.lock().len(), MAX_HOLDS, "full, none lapsed");
        holds.remember(&held(-2, later), after);
        assert_eq!(holds.lock().len(), 1, "none had lapsed: all went");
        assert!(holds.unexpired(-2, after).is_some(), "the newest is kept");
    }
}
