//! Booking fields: `holdSeat` and the `Reservation` type.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};

use super::catalog::{Seat, parse_id};
use super::context::{state, token};
use super::error::GqlResult;
use crate::clock::Timestamp;
use crate::domain::booking::{self, ReservationStatus as DomainStatus};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReservationStatus {
    Held,
    Confirmed,
    Expired,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Reservation {
    id: ID,
    seat: Seat,
    status: ReservationStatus,
    /// Whole won.
    price: i64,
    held_at: Timestamp,
    /// When an unpaid hold lapses.
    expires_at: Timestamp,
}

impl From<booking::Reservation> for Reservation {
    fn from(r: booking::Reservation) -> Self {
        Self {
            id: r.id.into(),
            seat: r.seat.into(),
            status: match r.status {
                DomainStatus::Held => ReservationStatus::Held,
                DomainStatus::Confirmed => ReservationStatus::Confirmed,
                DomainStatus::Expired => ReservationStatus::Expired,
            },
            price: r.price_won,
            held_at: r.held_at,
            expires_at: r.expires_at,
        }
    }
}

#[derive(Default)]
pub struct BookingMutation;

#[Object]
impl BookingMutation {
    /// Holds a seat for the hold TTL (5 minutes by default).
    #[graphql(complexity = "super::DATABASE_COST + child_complexity")]
    async fn hold_seat(
        &self,
        ctx: &Context<'_>,
        concert_date_id: ID,
        seat_number: i32,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<Reservation> {
        let token = token(ctx)?;
        let state = state(ctx);
        state.limits.check_token(token).gql()?;
        let date_id = parse_id(&concert_date_id, "concertDateId")?;
        booking::hold_seat(
            &state.domain,
            token,
            date_id,
            seat_number,
            idempotency_key.as_deref(),
        )
        .await
        .gql()
        .map(Reservation::from)
    }
}
