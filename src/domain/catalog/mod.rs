//! Concerts, their dates and seats, and the demo catalog.
//!
//! # Invariants
//! - A concert date has at most one seat per number (unique index).
//! - A seat is available when it is AVAILABLE, or HELD with `held_until`
//!   in the past: an expired hold stops blocking at that instant.

mod layouts;
pub mod seed;
mod store;

use serde::{Deserialize, Serialize};

pub use self::layouts::{Layout, Layouts};
pub use self::store::{SeatState, available_seat_counts, is_free_at as store_is_free_at};
use super::{Domain, Error, Result, queue};
use crate::clock::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Concert {
    pub id: i64,
    pub title: String,
    pub dates: Vec<ConcertDate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcertDate {
    pub id: i64,
    pub concert_id: i64,
    pub starts_at: Timestamp,
    pub available_seat_count: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeatStatus {
    Available,
    Held,
    Sold,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    pub id: i64,
    pub concert_date_id: i64,
    pub number: i32,
    pub price_won: i64,
    pub status: SeatStatus,
}

/// Every concert with all its dates; public.
///
/// # Errors
/// When the database fails.
pub async fn concerts(domain: &Domain) -> Result<Vec<Concert>> {
    store::concerts(domain.reader(), domain.now()).await
}

/// The concert's future dates that still have a free seat.
///
/// # Errors
/// The gate's errors; `NotFound` for an unknown concert.
pub async fn available_dates(
    domain: &Domain,
    token: &str,
    concert_id: i64,
) -> Result<Vec<ConcertDate>> {
    queue::admitted(domain, token).await?;
    let now = domain.now();
    if !store::concert_exists(domain.reader(), concert_id).await? {
        return Err(Error::not_found("concert"));
    }
    let dates = store::dates_of(domain.reader(), &[concert_id], now).await?;
    Ok(dates
        .into_iter()
        .filter(|d| d.starts_at > now && d.available_seat_count > 0)
        .collect())
}

/// The date's free seats, by number.
///
/// # Errors
/// The gate's errors; `NotFound` for an unknown date.
pub async fn available_seats(domain: &Domain, token: &str, date_id: i64) -> Result<Vec<Seat>> {
    queue::admitted(domain, token).await?;
    let seats = store::available_seats(domain.reader(), date_id, domain.now()).await?;
    // One read when the date has free seats; a second only when it has
    // none, to tell an unknown date from a started or sold-out one.
    if seats.is_empty() && store::date(domain.reader(), date_id).await?.is_none() {
        return Err(Error::not_found("concert date"));
    }
    Ok(seats)
}
