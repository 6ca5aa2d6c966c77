//! Each concert date's layout: when it starts and which seat each number
//! is. A date is created with all its seats in one transaction, and
//! neither is changed, renumbered or deleted afterwards, so a layout read
//! once stays true in every process for good, and a hold finds its seat
//! without a read (its claim says whether the seat is free).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use entity::{concert_date, seat};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::clock::Timestamp;
use crate::domain::Result;

/// Most seats kept over all layouts; past it, every layout is forgotten,
/// which only costs each date one read again.
const MAX_SEATS: usize = 1 << 20;

#[derive(Debug, PartialEq, Eq)]
pub struct Layout {
    pub starts_at: Timestamp,
    /// Seat ids by number.
    seats: HashMap<i32, i64>,
}

impl Layout {
    /// The id of the seat numbered `number`, if the date has one.
    #[must_use]
    pub fn seat(&self, number: i32) -> Option<i64> {
        self.seats.get(&number).copied()
    }
}

/// The layouts read so far, by concert date.
#[derive(Debug, Default)]
pub struct Layouts(Mutex<Known>);

#[derive(Debug, Default)]
struct Known {
    dates: HashMap<i64, Arc<Layout>>,
    seats: usize,
}

impl Layouts {
    /// The layout of date `date_id`, read from `db` the first time;
    /// `None` for an unknown date (not remembered: it may be created).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn of<C: ConnectionTrait>(
        &self,
        db: &C,
        date_id: i64,
    ) -> Result<Option<Arc<Layout>>> {
        if let Some(layout) = self.lock().dates.get(&date_id) {
            return Ok(Some(Arc::clone(layout)));
        }
        let Some(date) = concert_date::Entity::find_by_id(date_id).one(db).await? else {
            return Ok(None);
        };
        let seats: Vec<(i32, i64)> = seat::Entity::find()
            .select_only()
            .column(seat::Column::Number)
            .column(seat::Column::Id)
            .filter(seat::Column::ConcertDateId.eq(date_id))
            .into_tuple()
            .all(db)
            .await?;
        let layout = Arc::new(Layout {
            starts_at: date.starts_at,
            seats: seats.into_iter().collect(),
        });
        let mut known = self.lock();
        if known.seats + layout.seats.len() > MAX_SEATS {
            *known = Known::default();
        }
        known.seats += layout.seats.len();
        if let Some(earlier) = known.dates.insert(date_id, Arc::clone(&layout)) {
            known.seats -= earlier.seats.len();
        }
        Ok(Some(layout))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
