//! Group commit for `holdSeat` (see [`crate::domain::batch`]).
//!
//! A batch is one transaction, and each of its steps is one statement for
//! the whole batch: the holders' tickets touched, their holds counted,
//! lapsed holds on the seats ended, the seats claimed, the reservations
//! inserted. A lone hold is seven statements, `BEGIN` and `COMMIT`
//! included; an idempotency key adds two, to claim the key and to store
//! the outcome. If a batch fails, its holds are written again one by one.
//!
//! The rules stay those of a hold written alone:
//! - a user has at most one hold in a batch, so each counts against the
//!   hold limit as it would alone;
//! - holds on one seat may share a batch: the first in arrival order whose
//!   holder may hold it claims the seat, and the others are refused as
//!   they would be right after it.

use std::collections::HashMap;

use tokio::sync::oneshot;

use super::{Reservation, store};
use crate::domain::batch::Pending;
use crate::domain::queue::Ticket;
use crate::domain::{Domain, Error, Result, idempotency};

/// Most holds in one transaction (far below SQLite's bound-parameter limit).
const MAX_BATCH: usize = 128;

/// Holds waiting for the next batch.
#[derive(Debug, Default)]
pub struct Holds(Pending<Request>);

#[derive(Debug)]
struct Request {
    ticket: Ticket,
    seat_id: i64,
    /// The idempotency key and the request stored beside it.
    key: Option<(String, String)>,
    reply: oneshot::Sender<Answer>,
}

#[derive(Debug)]
enum Answer {
    Done(Result<Reservation>),
    /// Another request holds the key: its outcome is the answer.
    KeyTaken,
}

/// Holds `seat_id` for the holder of `ticket`, who passed the gate and
/// the checks, in the next batch; `key` is claimed in the same transaction.
pub(super) async fn hold(
    domain: &Domain,
    ticket: Ticket,
    seat_id: i64,
    key: Option<&str>,
    request: String,
) -> Result<Reservation> {
    let (reply, answer) = oneshot::channel();
    let user_id = ticket.user_id.clone();
    let queued = Request {
        ticket,
        seat_id,
        key: key.map(|key| (key.to_owned(), request.clone())),
        reply,
    };
    if domain.holds().0.push(queued) {
        start_writer(domain.clone());
    }
    match (answer.await, key) {
        (Ok(Answer::Done(result)), _) => result,
        (Ok(Answer::KeyTaken), Some(key)) => {
            idempotency::replay(domain, &user_id, key, &request).await
        }
        (Ok(Answer::KeyTaken), None) => Err(Error::invariant("a keyless hold lost its key")),
        (Err(_), _) => Err(Error::invariant("the hold batch was dropped")),
    }
}

fn start_writer(domain: Domain) {
    tokio::spawn(write_batches(domain));
}

async fn write_batches(domain: Domain) {
    let pending = &domain.holds().0;
    let _writer = pending.writer(|| start_writer(domain.clone()));
    let one_per_user =
        |batch: &[Request], r: &Request| batch.iter().all(|b| b.ticket.id != r.ticket.id);
    while let Some(batch) = pending.next_batch(MAX_BATCH, one_per_user) {
        domain.metrics().hold_batch.observe(batch.len() as f64);
        match commit(&domain, &batch).await {
            Ok(answers) => reply(&domain, batch, answers),
            Err(err) if batch.len() > 1 => {
                // A deadlock with another instance, or one request the
                // database refuses: the others must not pay for it.
                tracing::warn!(error = ?err, holds = batch.len(), "a hold batch failed; writing its holds one by one");
                for request in batch {
                    let alone = std::slice::from_ref(&request);
                    let answers = commit(&domain, alone).await.unwrap_or_else(failed);
                    reply(&domain, vec![request], answers);
                }
            }
            Err(err) => reply(&domain, batch, failed(err)),
        }
    }
}

fn reply(domain: &Domain, batch: Vec<Request>, answers: Vec<Answer>) {
    for (request, answer) in batch.into_iter().zip(answers) {
        // Counted as committed, replies or no: a replay is not a hold, and
        // a client that hung up still holds.
        if matches!(answer, Answer::Done(Ok(_))) {
            domain.metrics().holds.inc();
        }
        let _ = request.reply.send(answer);
    }
}

/// The answer of a hold written alone whose transaction failed.
fn failed(err: Error) -> Vec<Answer> {
    tracing::error!(error = ?err, "a hold failed");
    vec![Answer::Done(Err(Error::invariant(
        "the hold could not be written",
    )))]
}

/// One transaction for `batch` (at most one request per ticket). Returns
/// each request's answer, in order.
async fn commit(domain: &Domain, batch: &[Request]) -> Result<Vec<Answer>> {
    let txn = domain.begin_write().await?;
    let now = domain.now();
    let mut answers: Vec<Option<Answer>> = batch.iter().map(|_| None).collect();
    // Locks in the order every writer takes them: keys, tickets,
    // reservations, seats. Keys are claimed sorted, whatever the arrival
    // order, so two instances' batches never wait for each other's keys
    // in a cycle. (A deadlock PostgreSQL breaks anyway fails the batch,
    // and its holds are then written one by one.)
    let mut keyed: Vec<(&str, &str, &str, usize)> = batch
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let (key, stored) = r.key.as_ref()?;
            Some((r.ticket.user_id.as_str(), key.as_str(), stored.as_str(), i))
        })
        .collect();
    keyed.sort_unstable();
    for (user_id, key, stored, i) in keyed {
        if !idempotency::claim(&txn, user_id, key, stored, now).await? {
            answers[i] = Some(Answer::KeyTaken);
        }
    }
    let open: Vec<usize> = (0..batch.len()).filter(|&i| answers[i].is_none()).collect();
    let tickets: Vec<i64> = open.iter().map(|&i| batch[i].ticket.id).collect();
    let admitted = store::touch_admissions(&txn, &tickets, now).await?;
    let users: Vec<&str> = open
        .iter()
        .map(|&i| &batch[i].ticket)
        .filter(|t| admitted.contains(&t.id))
        .map(|t| t.user_id.as_str())
        .collect();
    let held = store::live_hold_counts(&txn, &users, now).await?;
    let max = domain.rules().max_holds_per_user;

    // The first request on each seat whose holder may hold it claims it.
    let mut claimants: HashMap<i64, usize> = HashMap::new();
    for &i in &open {
        let Request {
            ticket, seat_id, ..
        } = &batch[i];
        let refusal = if !admitted.contains(&ticket.id) {
            Error::TokenExpired
        } else if held.get(&ticket.user_id).copied().unwrap_or(0) >= u64::from(max) {
            Error::HoldLimit { max }
        } else if claimants.contains_key(seat_id) {
            Error::SeatUnavailable
        } else {
            claimants.insert(*seat_id, i);
            continue;
        };
        answers[i] = Some(Answer::Done(Err(refusal)));
    }
    let seats: Vec<i64> = claimants.keys().copied().collect();
    let expires_at = now + domain.rules().hold_ttl;
    store::end_lapsed_holds(&txn, &seats, now).await?;
    let claimed = store::claim_seats(&txn, &seats, now, expires_at).await?;
    let holds = claimed
        .into_iter()
        .map(|seat| (batch[claimants[&seat.id]].ticket.user_id.clone(), seat))
        .collect();
    for reservation in store::insert_holds(&txn, holds, now, expires_at).await? {
        let i = claimants[&reservation.seat.id];
        answers[i] = Some(Answer::Done(Ok(reservation)));
    }
    // Taken since the check.
    for &i in claimants.values() {
        answers[i].get_or_insert(Answer::Done(Err(Error::SeatUnavailable)));
    }

    for (request, answer) in batch.iter().zip(&answers) {
        if let (Some((key, _)), Some(Answer::Done(result))) = (&request.key, answer) {
            idempotency::save_outcome(&txn, &request.ticket.user_id, key, result.as_ref()).await?;
        }
    }
    txn.commit().await?;
    Ok(answers
        .into_iter()
        .map(|answer| {
            answer.unwrap_or_else(|| Answer::Done(Err(Error::invariant("a hold went unanswered"))))
        })
        .collect())
}
