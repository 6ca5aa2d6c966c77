//! Group commit for `issueQueueToken` (see [`crate::domain::batch`]).
//!
//! Every join locks the one gate row, so joins serialize in the database
//! whatever we do; with a durable commit (an fsync on SQLite) each costs a
//! whole transaction. A batch is one transaction: one gate lock, one
//! settle, one lookup of the users' live tickets, one multi-row insert,
//! one commit.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::oneshot;

use super::tokens::Issued;
use super::{Ticket, TicketStatus, catch_up, settle_locked, store};
use crate::domain::batch::Pending;
use crate::domain::{Domain, Error, Result};

/// Most joins in one transaction (a multi-row insert of this many rows
/// stays far below SQLite's bound-parameter limit).
const MAX_BATCH: usize = 256;

/// Joins waiting for the next batch.
#[derive(Debug, Default)]
pub struct Joins(Pending<Request>);

#[derive(Debug)]
struct Request {
    user_id: String,
    /// The token of the user's new ticket, if the user has no live one.
    issued: Issued,
    reply: oneshot::Sender<Result<(Ticket, Option<String>)>>,
    /// Batches that deferred it (see [`commit`]).
    deferred: u32,
}

/// The user's live ticket, or a new one at the back of the line, committed
/// in the next batch; with its token when the ticket is new.
pub(super) async fn join(domain: &Domain, user_id: &str) -> Result<(Ticket, Option<String>)> {
    let (reply, answer) = oneshot::channel();
    let request = Request {
        user_id: user_id.to_owned(),
        // Here, not in the batch: the writer's turn is everyone's wait. A
        // user who already has a live ticket discards it (a re-join pays
        // this derivation in vain; a new user is spared two).
        issued: domain.tokens().issue(),
        reply,
        deferred: 0,
    };
    if domain.joins().0.push(request) {
        start_writer(domain);
    }
    answer
        .await
        .unwrap_or_else(|_| Err(Error::invariant("the join batch was dropped")))
}

fn start_writer(domain: &Domain) {
    domain.spawn(write_batches(domain.clone()));
}

async fn write_batches(domain: Domain) {
    let pending = &domain.joins().0;
    let _writer = pending.writer(|| start_writer(&domain));
    while let Some(batch) = pending.next_batch(MAX_BATCH, |_, _| true) {
        domain.metrics().join_batch.observe(batch.len() as f64);
        match commit(&domain, &batch).await {
            Ok(tickets) => {
                let mut deferred = false;
                for (mut request, (ticket, lapsed)) in batch.into_iter().zip(tickets) {
                    if lapsed && request.deferred < MAX_DEFERRALS {
                        request.deferred += 1;
                        deferred = true;
                        pending.push(request);
                    } else {
                        let issued = request.issued;
                        let token = (ticket.token_salt == issued.salt).then_some(issued.token);
                        let _ = request.reply.send(Ok((ticket, token)));
                    }
                }
                if deferred {
                    // Until the transaction holding the lapsed ticket ends.
                    tokio::time::sleep(DEFER).await;
                }
            }
            Err(err) => {
                tracing::error!(error = ?err, joins = batch.len(), "a join batch failed");
                for request in batch {
                    let _ = request
                        .reply
                        .send(Err(Error::invariant("the join batch failed")));
                }
            }
        }
    }
}

/// How long a join whose lapsed ticket another transaction holds waits
/// before it asks again, and how many times at most; after that it gets
/// the ticket as it is, expired, as before the settle passed over it.
const DEFER: Duration = Duration::from_millis(2);
const MAX_DEFERRALS: u32 = 500;

/// One transaction for the users of `batch` (in arrival order; a user may
/// appear twice, and a new ticket takes the first one's token). Returns
/// each one's live ticket, in the same order, and whether it has lapsed.
/// A lapsed one is a user to ask again for: the settle passed over the
/// ticket because another transaction (a payment or a hold, on
/// PostgreSQL) holds it, and the user should get neither it back nor a
/// second ticket while it counts as live.
async fn commit(domain: &Domain, batch: &[Request]) -> Result<Vec<(Ticket, bool)>> {
    let rules = domain.rules();
    let txn = domain.begin_write().await?;
    let gate = store::lock_gate(&txn, domain.hub().instance()).await?;
    // Stamped once the gate is held, like every other queue change: a wait
    // for the connection or the lock must not date entries and admissions
    // early (or behind the settle that ran before this one).
    let now = domain.now();
    let settled = settle_locked(domain, &txn, &gate, now, &[]).await?;
    let mut changes = settled.changes;
    let mut unique: Vec<&Request> = Vec::with_capacity(batch.len());
    for request in batch {
        if !unique.iter().any(|r| r.user_id == request.user_id) {
            unique.push(request);
        }
    }
    let users: Vec<&str> = unique.iter().map(|r| r.user_id.as_str()).collect();
    let mut live: HashMap<String, Ticket> = store::live_tickets_of(&txn, &users)
        .await?
        .into_iter()
        .map(|t| (t.user_id.clone(), t))
        .collect();
    let newcomers: Vec<&Request> = unique
        .into_iter()
        .filter(|r| !live.contains_key(&r.user_id))
        .collect();
    if !newcomers.is_empty() {
        // The settle admitted every waiter a free slot could take, so a
        // slot still free means nobody waits. Newcomers take the free
        // slots in arrival order and wait once they are gone: strict FIFO,
        // with no read to ask whether anyone waits.
        let mut admitted = settled.admitted;
        let rows: Vec<store::NewTicket> = newcomers
            .iter()
            .map(|request| {
                let admit = admitted < u64::from(rules.queue_capacity);
                admitted += u64::from(admit);
                store::NewTicket {
                    user_id: request.user_id.clone(),
                    token_salt: request.issued.salt.clone(),
                    token_hash: request.issued.hash.clone(),
                    admit_until: admit.then(|| now + rules.active_ttl),
                }
            })
            .collect();
        for ticket in store::insert_tickets(&txn, &gate, rows, now).await? {
            changes.tickets.push(ticket.clone());
            live.insert(ticket.user_id.clone(), ticket);
        }
    }
    domain.commit_queue(txn, &changes).await?;
    if domain.hub().applied_version() < gate.version() {
        // Another instance committed queue changes this one has not applied
        // yet: catch up so the positions we report count them. The joins
        // are committed either way; a failed catch-up only means positions
        // come from the database until the next one.
        if let Err(err) = catch_up(domain).await {
            tracing::warn!(error = ?err, "catch-up after a join batch failed");
        }
    }
    batch
        .iter()
        .map(|r| {
            let ticket = live
                .get(&r.user_id)
                .ok_or_else(|| Error::invariant("a joined user has no live ticket"))?;
            let lapsed = ticket.status_at(now) == TicketStatus::Expired;
            Ok((ticket.clone(), lapsed))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;
    use crate::db::test_databases;

    #[tokio::test]
    async fn a_join_whose_client_left_is_committed_before_shutdown_closes_the_database() {
        for (db, _postgres) in test_databases().await {
            let domain =
                crate::domain::at(&db, "2026-12-01T00:00:00Z".parse().expect("time")).await;
            let version = domain.hub().applied_version();

            // Polled once: queued, with its writer started. Then dropped, as
            // when the client hangs up, and the server shuts down.
            assert!(join(&domain, "ann").now_or_never().is_none());
            domain.tasks().close();
            domain.tasks().wait().await;

            assert!(
                domain.hub().applied_version() > version,
                "the join's batch was still unwritten when the tasks were done"
            );
            let live = store::live_tickets_of(domain.db(), &["ann"])
                .await
                .expect("read ann's ticket");
            assert_eq!(live.len(), 1, "{live:?}");
        }
    }
}
