//! Catalog fields: `concerts`, `availableDates`, `availableSeats`.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};

use super::context::{state, token};
use super::error::GqlResult;
use crate::clock::Timestamp;
use crate::domain::Error;
use crate::domain::catalog::{self, SeatStatus as DomainSeatStatus};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum SeatStatus {
    Available,
    Held,
    Sold,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Concert {
    id: ID,
    title: String,
    dates: Vec<ConcertDate>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ConcertDate {
    id: ID,
    concert_id: ID,
    starts_at: Timestamp,
    available_seat_count: i64,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Seat {
    id: ID,
    concert_date_id: ID,
    number: i32,
    /// Whole won.
    price: i64,
    status: SeatStatus,
}

impl From<catalog::Concert> for Concert {
    fn from(c: catalog::Concert) -> Self {
        Self {
            id: c.id.into(),
            title: c.title,
            dates: c.dates.into_iter().map(ConcertDate::from).collect(),
        }
    }
}

impl From<catalog::ConcertDate> for ConcertDate {
    fn from(d: catalog::ConcertDate) -> Self {
        Self {
            id: d.id.into(),
            concert_id: d.concert_id.into(),
            starts_at: d.starts_at,
            available_seat_count: i64::try_from(d.available_seat_count).unwrap_or(i64::MAX),
        }
    }
}

impl From<catalog::Seat> for Seat {
    fn from(s: catalog::Seat) -> Self {
        Self {
            id: s.id.into(),
            concert_date_id: s.concert_date_id.into(),
            number: s.number,
            price: s.price_won,
            status: match s.status {
                DomainSeatStatus::Available => SeatStatus::Available,
                DomainSeatStatus::Held => SeatStatus::Held,
                DomainSeatStatus::Sold => SeatStatus::Sold,
            },
        }
    }
}

/// Parses a numeric `ID`.
///
/// # Errors
/// `BAD_USER_INPUT` when it is not one.
pub fn parse_id(id: &ID, what: &str) -> async_graphql::Result<i64> {
    id.parse::<i64>()
        .map_err(|_| Error::bad_input(format!("{what} is not a valid ID")))
        .gql()
}

#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// Every concert with its dates; no token needed.
    #[graphql(complexity = "super::DATABASE_COST + child_complexity")]
    async fn concerts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Concert>> {
        let concerts = catalog::concerts(&state(ctx).domain).await.gql()?;
        Ok(concerts.into_iter().map(Concert::from).collect())
    }

    /// The concert's future dates with at least one free seat.
    #[graphql(complexity = "super::DATABASE_COST + child_complexity")]
    async fn available_dates(
        &self,
        ctx: &Context<'_>,
        concert_id: ID,
    ) -> async_graphql::Result<Vec<ConcertDate>> {
        let token = token(ctx)?;
        let id = parse_id(&concert_id, "concertId")?;
        let dates = catalog::available_dates(&state(ctx).domain, token, id)
            .await
            .gql()?;
        Ok(dates.into_iter().map(ConcertDate::from).collect())
    }

    /// The date's free seats, by number.
    #[graphql(complexity = "super::DATABASE_COST + child_complexity")]
    async fn available_seats(
        &self,
        ctx: &Context<'_>,
        concert_date_id: ID,
    ) -> async_graphql::Result<Vec<Seat>> {
        let token = token(ctx)?;
        let id = parse_id(&concert_date_id, "concertDateId")?;
        let seats = catalog::available_seats(&state(ctx).domain, token, id)
            .await
            .gql()?;
        Ok(seats.into_iter().map(Seat::from).collect())
    }
}
