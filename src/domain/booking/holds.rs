//! Group commit for `holdSeat` (see [`crate::domain::batched`]).
//!
//! Each step of a hold batch is one statement for the whole batch: the
//! holders' tickets touched and their holds counted (two statements on
//! PostgreSQL), the seats read, lapsed holds on them ended (only if the
//! read saw one), the free ones claimed, the reservations inserted. A lone
//! hold on a free seat is six statements on SQLite, `BEGIN` and `COMMIT`
//! included; an idempotency key adds two, to claim the key and to store
//! the outcome. The checks before the batch read nothing but the date's
//! layout, once (see [`crate::domain::catalog::Layouts`]); the taken seats
//! the batch's read finds are remembered, so the next holds on them are
//! refused before a batch (see [`super::Taken`]).
//!
//! The rules stay those of a hold written alone:
//! - a user has at most one hold in a batch, so each counts against the
//!   hold limit as it would alone;
//! - holds on one seat may share a batch: the first in arrival order whose
//!   holder may hold it claims the seat, and the others are refused as
//!   they would be right after it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use sea_orm::DatabaseTransaction;

use super::{Reservation, store};
use crate::clock::Timestamp;
use crate::domain::batch::Pending;
use crate::domain::batched::{Batched, Request};
use crate::domain::queue::{QueueChanges, Ticket};
use crate::domain::{Domain, Error, Result};
use crate::metrics::{Counter, Histogram, Metrics};

/// Holds waiting for the next batch.
#[derive(Default)]
pub struct Holds(Pending<Request<Claim>>);

/// A hold on the seat the checks found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claim {
    pub seat_id: i64,
}

impl Batched for Claim {
    type Output = Reservation;

    fn pending(domain: &Domain) -> &Pending<Request<Self>> {
        &domain.holds().0
    }

    fn metrics(metrics: &Metrics) -> (&Histogram, Option<&Counter>) {
        (&metrics.hold_batch, Some(&metrics.holds))
    }

    async fn write(
        domain: &Domain,
        txn: &DatabaseTransaction,
        now: Timestamp,
        batch: &[&Request<Self>],
    ) -> Result<(Vec<Result<Reservation>>, QueueChanges)> {
        let mut outcomes: Vec<Option<Result<Reservation>>> = batch.iter().map(|_| None).collect();
        // On PostgreSQL, locks in the order every writer takes them:
        // tickets, reservations, seats.
        let tickets: Vec<&Ticket> = batch.iter().map(|r| &r.ticket).collect();
        // Admitted tickets, with their holders' unexpired holds.
        let holders = store::touch_holders(txn, &tickets, now).await?;
        let max = domain.rules().max_holds_per_user;

        // The first request on each seat whose holder may hold it claims it.
        let mut claimants: HashMap<i64, usize> = HashMap::new();
        let mut at_limit: Vec<usize> = Vec::new();
        for (i, request) in batch.iter().enumerate() {
            let (ticket, seat_id) = (&request.ticket, request.mutation.seat_id);
            match holders.get(&ticket.id) {
                None => outcomes[i] = Some(Err(Error::TokenExpired)),
                Some(&held) if held >= u64::from(max) => at_limit.push(i),
                Some(_) => match claimants.entry(seat_id) {
                    Entry::Vacant(claim) => {
                        claim.insert(i);
                    }
                    Entry::Occupied(_) => outcomes[i] = Some(Err(Error::SeatUnavailable)),
                },
            }
        }
        let mut wanted: Vec<i64> = claimants.keys().copied().collect();
        wanted.extend(at_limit.iter().map(|&i| batch[i].mutation.seat_id));
        let seats = store::read_seats(domain, txn, &wanted, now).await?;
        // A taken seat is the answer before the hold limit, as it would
        // have been for a seat known taken before the batch; so is one an
        // earlier request of the batch claims.
        for i in at_limit {
            let seat = batch[i].mutation.seat_id;
            let claimed_before = claimants.get(&seat).is_some_and(|&first| first < i);
            outcomes[i] = Some(Err(if seats.is_free(seat) && !claimed_before {
                Error::HoldLimit { max }
            } else {
                Error::SeatUnavailable
            }));
        }
        claimants.retain(|&seat, _| seats.is_free(seat));
        let claim: Vec<i64> = claimants.keys().copied().collect();
        let expires_at = now + domain.rules().hold_ttl;
        // A lapsed hold blocks a new one on its seat until it is ended.
        store::end_lapsed_holds(txn, &seats.lapsed_among(&claim), now).await?;
        let claimed = store::claim_seats(txn, &seats, &claim, now, expires_at).await?;
        let holds = claimed
            .into_iter()
            .map(|seat| (batch[claimants[&seat.id]].ticket.user_id.clone(), seat))
            .collect();
        for reservation in store::insert_holds(txn, holds, now, expires_at).await? {
            let i = claimants[&reservation.seat.id];
            outcomes[i] = Some(Ok(reservation));
        }
        let outcomes = outcomes
            .into_iter()
            // Not free.
            .map(|outcome| outcome.unwrap_or(Err(Error::SeatUnavailable)))
            .collect();
        Ok((outcomes, QueueChanges::default()))
    }
}
