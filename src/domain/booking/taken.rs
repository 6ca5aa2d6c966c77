//! Seats known to be taken, and until when: the answer to most holds on a
//! contested seat without a write.
//!
//! Nothing frees a seat early. A hold lapses at its `held_until` or a
//! payment sells the seat, and a sold seat stays sold (SPEC sections 4 and
//! 6; the sweeper frees only holds already past `held_until`). So once this
//! process has committed a hold or a sale of a seat, or a hold batch read
//! one that another committed, the seat stays taken, in every process,
//! until that instant, and only then does a hold on it go to a batch again.
//! When a sale opens, thousands of holds on the same front rows are
//! refused here. (With
//! several instances, "that instant" is by this process's clock; a
//! sweeper on a clock ahead of it frees the seat that much sooner, the
//! skew every instance's reading of `held_until` already has.)

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::make_room;
use crate::clock::Timestamp;

/// Most seats remembered. When full, lapsed holds are dropped, and if
/// that leaves it more than half full, everything is: forgetting a seat
/// only costs its next hold a claim in a batch.
const MAX_SEATS: usize = 1 << 18;

/// Seats by (concert date, number), each with the end of the hold that
/// took it, or `None` once sold.
#[derive(Debug, Default)]
pub struct Taken(Mutex<HashMap<(i64, i32), Option<Timestamp>>>);

impl Taken {
    /// Whether the seat is known to be taken at `now`.
    pub(super) fn at(&self, date_id: i64, number: i32, now: Timestamp) -> bool {
        self.lock()
            .get(&(date_id, number))
            .is_some_and(|until| until.is_none_or(|until| until > now))
    }

    /// Remembers that the seat is held until `until` (`None`: sold), as a
    /// committed hold or sale says.
    pub(crate) fn remember(
        &self,
        date_id: i64,
        number: i32,
        until: Option<Timestamp>,
        now: Timestamp,
    ) {
        let mut seats = self.lock();
        make_room(&mut seats, MAX_SEATS, |until| {
            until.is_none_or(|until| until > now)
        });
        // A sale is for good, and a seat's holds only end later and later:
        // an older view arriving late changes nothing.
        seats
            .entry((date_id, number))
            .and_modify(|known| *known = known.zip(until).map(|(a, b)| a.max(b)))
            .or_insert(until);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(i64, i32), Option<Timestamp>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};

    use super::*;

    #[test]
    fn a_held_seat_is_taken_until_its_hold_lapses_and_a_sold_one_for_good() {
        let now = Utc::now();
        let taken = Taken::default();
        assert!(!taken.at(1, 5, now), "never seen");
        taken.remember(1, 5, Some(now + TimeDelta::seconds(1)), now);
        taken.remember(1, 6, None, now);
        assert!(taken.at(1, 5, now));
        assert!(!taken.at(2, 5, now), "another date's seat 5");
        let later = now + TimeDelta::seconds(1);
        assert!(!taken.at(1, 5, later), "free the instant the hold lapses");
        assert!(taken.at(1, 6, later + TimeDelta::days(365)));
    }

    #[test]
    fn an_older_view_arriving_late_changes_nothing() {
        let now = Utc::now();
        let (soon, later) = (now + TimeDelta::seconds(1), now + TimeDelta::seconds(9));
        let taken = Taken::default();
        taken.remember(1, 1, None, now);
        taken.remember(1, 1, Some(soon), now);
        assert!(taken.at(1, 1, later), "sold for good");
        taken.remember(1, 2, Some(later), now);
        taken.remember(1, 2, Some(soon), now);
        assert!(taken.at(1, 2, soon), "held until the later end");
    }

    #[test]
    fn a_full_memory_of_seats_still_taken_starts_over() {
        let now = Utc::now();
        let taken = Taken::default();
        for n in 0..MAX_SEATS {
            taken.remember(1, i32::try_from(n).unwrap(), None, now);
        }
        taken.remember(2, 1, None, now);
        assert!(taken.at(2, 1, now), "the newest is remembered");
        assert!(!taken.at(1, 0, now), "the others are forgotten");
        assert_eq!(taken.lock().len(), 1);
    }

    #[test]
    fn a_full_memory_drops_lapsed_holds_first() {
        let now = Utc::now();
        let taken = Taken::default();
        let lapsed = Some(now + TimeDelta::seconds(1));
        for n in 0..MAX_SEATS {
            let number = i32::try_from(n).unwrap();
            taken.remember(1, number, if n == 0 { None } else { lapsed }, now);
        }
        let later = now + TimeDelta::seconds(2);
        taken.remember(2, 1, Some(later + TimeDelta::seconds(1)), later);
        assert!(taken.at(2, 1, later));
        assert!(taken.at(1, 0, later), "the sold seat stays");
        assert_eq!(taken.lock().len(), 2);
    }
}
