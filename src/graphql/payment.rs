//! Payment fields: `pay` and the `Payment` type.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::booking::Reservation;
use super::catalog::parse_id;
use super::context::{state, token};
use super::error::GqlResult;
use crate::clock::Timestamp;
use crate::domain::payment;

#[derive(SimpleObject, Clone, Debug)]
pub struct Payment {
    id: ID,
    /// Whole won.
    amount: i64,
    paid_at: Timestamp,
    reservation: Reservation,
}

impl From<payment::Payment> for Payment {
    fn from(p: payment::Payment) -> Self {
        Self {
            id: p.id.into(),
            amount: p.amount_won,
            paid_at: p.paid_at,
            reservation: p.reservation.into(),
        }
    }
}

#[derive(Default)]
pub struct PaymentMutation;

#[Object]
impl PaymentMutation {
    /// Pays a held reservation from the balance. When the caller holds
    /// nothing else, this finishes their ticket and admits the next waiter.
    #[graphql(complexity = "super::DATABASE_COST + child_complexity")]
    async fn pay(
        &self,
        ctx: &Context<'_>,
        reservation_id: ID,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<Payment> {
        let token = token(ctx)?;
        let state = state(ctx);
        state.limits.check_token(token).gql()?;
        let id = parse_id(&reservation_id, "reservationId")?;
        payment::pay(&state.domain, token, id, idempotency_key.as_deref())
            .await
            .gql()
            .map(Payment::from)
    }
}
