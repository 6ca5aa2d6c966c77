//! Catalog queries.

use std::collections::HashMap;

use entity::seat::{self, SeatStatus as Db};
use entity::{concert, concert_date};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{Concert, ConcertDate, Seat, SeatStatus};
use crate::clock::Timestamp;
use crate::domain::Result;

/// A seat row as of an instant: a hold past `held_until` no longer counts.
pub trait SeatState {
    fn into_seat(self, now: Timestamp) -> Seat;
}

impl SeatState for seat::Model {
    fn into_seat(self, now: Timestamp) -> Seat {
        let status = match (self.status, self.held_until) {
            (Db::Held, Some(until)) if until > now => SeatStatus::Held,
            (Db::Sold, _) => SeatStatus::Sold,
            _ => SeatStatus::Available,
        };
        Seat {
            id: self.id,
            concert_date_id: self.concert_date_id,
            number: self.number,
            price_won: self.price_won,
            status,
        }
    }
}

/// Seats free at `now`: AVAILABLE, or HELD by a hold that has lapsed.
pub fn is_free_at(now: Timestamp) -> Condition {
    Condition::any()
        .add(seat::Column::Status.eq(Db::Available))
        .add(
            Condition::all()
                .add(seat::Column::Status.eq(Db::Held))
                .add(seat::Column::HeldUntil.lte(now)),
        )
}

pub async fn concerts<C: ConnectionTrait>(db: &C, now: Timestamp) -> Result<Vec<Concert>> {
    let concerts = concert::Entity::find()
        .order_by_asc(concert::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = concerts.iter().map(|c| c.id).collect();
    let mut dates = dates_of(db, &ids, now).await?;
    Ok(concerts
        .into_iter()
        .map(|c| {
            let (mine, rest): (Vec<_>, Vec<_>) =
                dates.drain(..).partition(|d| d.concert_id == c.id);
            dates = rest;
            Concert {
                id: c.id,
                title: c.title,
                dates: mine,
            }
        })
        .collect())
}

pub async fn concert_exists<C: ConnectionTrait>(db: &C, id: i64) -> Result<bool> {
    Ok(concert::Entity::find_by_id(id).count(db).await? > 0)
}

/// All dates of the given concerts, by start time, with their free seats.
pub async fn dates_of<C: ConnectionTrait>(
    db: &C,
    concert_ids: &[i64],
    now: Timestamp,
) -> Result<Vec<ConcertDate>> {
    let dates = concert_date::Entity::find()
        .filter(concert_date::Column::ConcertId.is_in(concert_ids.iter().copied()))
        .order_by_asc(concert_date::Column::StartsAt)
        .order_by_asc(concert_date::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = dates.iter().map(|d| d.id).collect();
    let counts = available_seat_counts(db, &ids, now).await?;
    Ok(dates
        .into_iter()
        .map(|d| ConcertDate {
            id: d.id,
            concert_id: d.concert_id,
            starts_at: d.starts_at,
            available_seat_count: counts.get(&d.id).copied().unwrap_or(0),
        })
        .collect())
}

/// Free seats per concert date.
pub async fn available_seat_counts<C: ConnectionTrait>(
    db: &C,
    date_ids: &[i64],
    now: Timestamp,
) -> Result<HashMap<i64, u64>> {
    if date_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64)> = seat::Entity::find()
        .select_only()
        .column(seat::Column::ConcertDateId)
        .column_as(Expr::col(seat::Column::Id).count(), "free")
        .filter(seat::Column::ConcertDateId.is_in(date_ids.iter().copied()))
        .filter(is_free_at(now))
        .group_by(seat::Column::ConcertDateId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
        .collect())
}

pub async fn date<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<concert_date::Model>> {
    Ok(concert_date::Entity::find_by_id(id).one(db).await?)
}

/// The date's seats free at `now`, by number; none once the performance
/// has started, since it sells nothing more.
///
/// Every seat listed is free, so only the columns that tell them apart are
/// read, by position: a whole row by name cost a list of 50 seats a fifth
/// of its instructions (each column found by name, each NULL `held_until`
/// formatted into an error that is then dropped).
pub async fn available_seats<C: ConnectionTrait>(
    db: &C,
    date_id: i64,
    now: Timestamp,
) -> Result<Vec<Seat>> {
    let rows: Vec<(i64, i32, i64)> = seat::Entity::find()
        .select_only()
        .columns([
            seat::Column::Id,
            seat::Column::Number,
            seat::Column::PriceWon,
        ])
        .inner_join(concert_date::Entity)
        .filter(seat::Column::ConcertDateId.eq(date_id))
        .filter(concert_date::Column::StartsAt.gt(now))
        .filter(is_free_at(now))
        .order_by_asc(seat::Column::Number)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, number, price_won)| Seat {
            id,
            concert_date_id: date_id,
            number,
            price_won,
            status: SeatStatus::Available,
        })
        .collect())
}
