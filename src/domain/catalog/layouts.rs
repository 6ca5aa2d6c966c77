//! Each concert date's layout: when it starts and which seat each number
//! is. A date is created with all its seats in one transaction, and
//! neither is changed, renumbered or deleted afterwards, so a layout read
//! once stays true in every process for good, and a hold finds its seat
//! without a read (its batch reads the seat and claims it if free).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use entity::{concert_date, seat};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use tokio::sync::OnceCell;

use crate::clock::Timestamp;
use crate::domain::{Error, Result};

/// Most seats kept over all layouts; past it, every layout but the newest
/// is forgotten, which only costs each date one read again.
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

/// The layouts read so far, by concert date. Each is read once: holds on
/// a date nobody held yet, arriving together when a sale opens, wait for
/// the first one's read instead of each reading every seat.
#[derive(Debug, Default)]
pub struct Layouts(Mutex<Known>);

#[derive(Debug, Default)]
struct Known {
    dates: HashMap<i64, Arc<OnceCell<Arc<Layout>>>>,
    seats: usize,
}

impl Layouts {
    /// The layout of date `date_id`, read from `db` the first time.
    ///
    /// # Errors
    /// `NotFound` for an unknown date (not remembered: it may be created),
    /// or when the database fails.
    pub async fn of<C: ConnectionTrait>(&self, db: &C, date_id: i64) -> Result<Arc<Layout>> {
        let cell = Arc::clone(self.lock().dates.entry(date_id).or_default());
        let mut read_here = false;
        let layout = cell
            .get_or_try_init(|| {
                read_here = true;
                read(db, date_id)
            })
            .await
            .cloned();
        let mut known = self.lock();
        let kept = known
            .dates
            .get(&date_id)
            .is_some_and(|c| Arc::ptr_eq(c, &cell));
        match &layout {
            Err(_) if kept => {
                known.dates.remove(&date_id);
            }
            Ok(layout) if kept && read_here => {
                known.seats += layout.seats.len();
                if known.seats > MAX_SEATS {
                    // Every other layout is forgotten; this one stays.
                    known.dates.clear();
                    known.dates.insert(date_id, cell);
                    known.seats = layout.seats.len();
                }
            }
            _ => {}
        }
        layout
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn read<C: ConnectionTrait>(db: &C, date_id: i64) -> Result<Arc<Layout>> {
    let date = concert_date::Entity::find_by_id(date_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("concert date"))?;
    let seats: HashMap<i32, i64> = seat::Entity::find()
        .select_only()
        .column(seat::Column::Number)
        .column(seat::Column::Id)
        .filter(seat::Column::ConcertDateId.eq(date_id))
        .into_tuple::<(i32, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(Arc::new(Layout {
        starts_at: date.starts_at,
        seats,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_databases;

    #[tokio::test]
    async fn a_date_is_read_once_and_an_unknown_one_every_time() {
        for (db, _postgres) in test_databases().await {
            db.execute_unprepared(
                "INSERT INTO concerts (id, title) VALUES (1, 'c'); \
                 INSERT INTO concert_dates (id, concert_id, starts_at) \
                 VALUES (1, 1, '2999-01-01T00:00:00Z'); \
                 INSERT INTO seats (id, concert_date_id, number, price_won, status) \
                 VALUES (10, 1, 1, 5, 'AVAILABLE'), (11, 1, 2, 5, 'AVAILABLE');",
            )
            .await
            .expect("insert");
            let layouts = Layouts::default();
            let (a, b) = tokio::join!(layouts.of(&db, 1), layouts.of(&db, 1));
            let (a, b) = (a.expect("layout"), b.expect("layout"));
            assert!(Arc::ptr_eq(&a, &b), "read once for both");
            assert_eq!(
                (a.seat(1), a.seat(2), a.seat(3)),
                (Some(10), Some(11), None)
            );
            assert_eq!(layouts.lock().seats, 2);
            assert!(matches!(
                layouts.of(&db, 2).await,
                Err(Error::NotFound { .. })
            ));
            assert_eq!(layouts.lock().dates.len(), 1, "an unknown date is not kept");
            db.execute_unprepared(
                "INSERT INTO concert_dates (id, concert_id, starts_at) \
                 VALUES (2, 1, '2999-01-01T00:00:00Z')",
            )
            .await
            .expect("insert");
            assert!(layouts.of(&db, 2).await.is_ok(), "created since");
            assert_eq!(layouts.lock().dates.len(), 2);
        }
    }
}
