//! The demo catalog seeded into an empty database, so a first run has
//! something to sell.

use chrono::{Datelike, TimeDelta, TimeZone, Utc};
use entity::seat::SeatStatus;
use entity::{concert, concert_date, seat};
use sea_orm::{ActiveValue::Set, EntityTrait, PaginatorTrait};

use crate::clock::Timestamp;
use crate::domain::{Domain, Result};

/// Seats per concert date in the demo catalog.
pub const SEATS_PER_DATE: i32 = 50;

/// Each concert with the days ahead of its first three dates; further
/// dates follow weekly after the last.
const CONCERTS: [(&str, [i64; 3]); 3] = [
    ("IU: The Golden Hour", [7, 8, 14]),
    ("BTS: Yet To Come", [10, 11, 21]),
    ("NewJeans: Bunnies Camp", [30, 31, 45]),
];

/// Seeds the demo catalog, `dates_per_concert` dates for each concert, if
/// there are no concerts yet. Returns whether it did.
///
/// # Errors
/// When the database fails.
pub async fn seed_if_empty(domain: &Domain, dates_per_concert: u32) -> Result<bool> {
    let txn = domain.begin_write().await?;
    if concert::Entity::find().count(&txn).await? > 0 {
        return Ok(false);
    }
    let today = domain.now();
    for (title, days_ahead) in CONCERTS {
        let c = concert::Entity::insert(concert::ActiveModel {
            title: Set(title.to_owned()),
            ..Default::default()
        })
        .exec_with_returning(&txn)
        .await?;
        for days in days_ahead_of(days_ahead, dates_per_concert) {
            let d = concert_date::Entity::insert(concert_date::ActiveModel {
                concert_id: Set(c.id),
                starts_at: Set(evening_of(today + TimeDelta::days(days))),
                ..Default::default()
            })
            .exec_with_returning(&txn)
            .await?;
            let seats = (1..=SEATS_PER_DATE).map(|number| seat::ActiveModel {
                concert_date_id: Set(d.id),
                number: Set(number),
                price_won: Set(price_of(number)),
                status: Set(SeatStatus::Available),
                held_until: Set(None),
                ..Default::default()
            });
            seat::Entity::insert_many(seats).exec(&txn).await?;
        }
    }
    txn.commit().await?;
    Ok(true)
}

fn days_ahead_of(first: [i64; 3], count: u32) -> impl Iterator<Item = i64> {
    let last = first[2];
    first
        .into_iter()
        .chain((1..).map(move |week| last + 7 * week))
        .take(count as usize)
}

/// Front rows cost more: 1-10 VIP, 11-30 R, 31-50 S.
fn price_of(number: i32) -> i64 {
    match number {
        1..=10 => 165_000,
        11..=30 => 132_000,
        _ => 99_000,
    }
}

/// 19:00 KST (10:00 UTC) on the given day.
fn evening_of(day: Timestamp) -> Timestamp {
    Utc.with_ymd_and_hms(day.year(), day.month(), day.day(), 10, 0, 0)
        .single()
        .unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_dates_follow_weekly() {
        let days: Vec<i64> = days_ahead_of([7, 8, 14], 5).collect();
        assert_eq!(days, [7, 8, 14, 21, 28]);
        assert_eq!(days_ahead_of([7, 8, 14], 1).count(), 1);
    }

    #[test]
    fn prices_fall_towards_the_back() {
        assert!(price_of(1) > price_of(20));
        assert!(price_of(20) > price_of(50));
    }
}
