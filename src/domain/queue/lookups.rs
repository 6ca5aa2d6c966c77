//! Token lookups read in batches (see [`crate::domain::batch`]).
//!
//! Every request but a join names its ticket by bearer token. Where the
//! hub cannot answer from memory (on PostgreSQL, whose tickets other
//! instances change, every request; on SQLite, a ticket not admitted),
//! the ticket is read: a statement a request, on PostgreSQL four of a
//! purchase's thirteen and one of a hold's 2.2 (16 at a time, BENCHMARKS.md,
//! nineteenth session). Lookups that arrive while a read is under way wait
//! for the next, which reads all of them in one statement; a lone lookup
//! is read at once. A subscription's start reads its own (see `follow`).

use std::collections::HashMap;

use tokio::sync::oneshot;

use super::{Ticket, store};
use crate::domain::batch::Pending;
use crate::domain::{Domain, Error, Result};

/// Most tokens in one read.
const MAX_BATCH: usize = 256;

/// Lookups waiting for the next read.
#[derive(Debug, Default)]
pub struct Lookups(Pending<Request>);

#[derive(Debug)]
struct Request {
    token_hash: String,
    reply: oneshot::Sender<Result<Option<Ticket>>>,
}

/// The ticket whose token hashes to `token_hash`, in any state, read with
/// the lookups waiting beside it.
pub(super) async fn by_token_hash(domain: &Domain, token_hash: String) -> Result<Option<Ticket>> {
    let (reply, answer) = oneshot::channel();
    if domain.lookups().0.push(Request { token_hash, reply }) {
        start_reader(domain);
    }
    answer
        .await
        .unwrap_or_else(|_| Err(Error::invariant("the token lookup was dropped")))
}

fn start_reader(domain: &Domain) {
    domain.spawn(read_batches(domain.clone()));
}

async fn read_batches(domain: Domain) {
    let pending = &domain.lookups().0;
    let _reader = pending.writer(|| start_reader(&domain));
    while let Some(batch) = pending.next_batch(MAX_BATCH, |_, _| true) {
        let mut hashes: Vec<&str> = batch.iter().map(|r| r.token_hash.as_str()).collect();
        hashes.sort_unstable();
        hashes.dedup();
        match store::by_token_hashes(domain.reader(), &hashes).await {
            Ok(tickets) => {
                let tickets: HashMap<String, Ticket> = tickets
                    .into_iter()
                    .map(|t| (t.token_hash.clone(), t))
                    .collect();
                for request in batch {
                    // One holder's requests at once may name one ticket twice.
                    let ticket = tickets.get(&request.token_hash).cloned();
                    let _ = request.reply.send(Ok(ticket));
                }
            }
            Err(err) => {
                tracing::error!(error = ?err, lookups = batch.len(), "a token lookup failed");
                for request in batch {
                    let _ = request
                        .reply
                        .send(Err(Error::invariant("the token lookup failed")));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use sea_orm::{ConnectionTrait, TransactionTrait};

    use super::*;
    use crate::db::test_databases;

    #[tokio::test]
    async fn lookups_waiting_together_are_one_read_and_each_gets_its_ticket() {
        for (mut db, _postgres) in test_databases().await {
            db.execute_unprepared(
                "INSERT INTO queue_tickets \
                 (id, token_hash, user_id, status, entered_at, admitted_at, expires_at) VALUES \
                 (1, 'h1', 'ann', 'PROGRESS', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z', \
                 '2026-12-01T00:10:00Z'), \
                 (2, 'h2', 'bob', 'WAITING', '2026-12-01T00:00:00Z', NULL, NULL)",
            )
            .await
            .expect("insert tickets");
            let statements = Arc::new(AtomicU64::new(0));
            let counted = Arc::clone(&statements);
            db.set_metric_callback(move |_: &sea_orm::metric::Info<'_>| {
                counted.fetch_add(1, Ordering::Relaxed);
            });
            let domain =
                crate::domain::at(&db, "2026-12-01T00:01:00Z".parse().expect("time")).await;
            let before = statements.load(Ordering::Relaxed);

            // All four queue before the reader starts (one thread).
            let found = futures_util::future::join_all(
                ["h1", "h2", "h1", "unknown"].map(|hash| by_token_hash(&domain, hash.to_owned())),
            )
            .await;
            let ids: Vec<Option<i64>> = found
                .into_iter()
                .map(|ticket| ticket.expect("lookup").map(|t| t.id))
                .collect();
            assert_eq!(ids, [Some(1), Some(2), Some(1), None]);
            assert_eq!(statements.load(Ordering::Relaxed) - before, 1);

            // A lone lookup is a read of its own.
            let bob = by_token_hash(&domain, "h2".to_owned())
                .await
                .expect("lookup");
            assert_eq!(bob.map(|t| t.user_id), Some("bob".to_owned()));
            assert_eq!(statements.load(Ordering::Relaxed) - before, 2);
        }
    }

    #[tokio::test]
    async fn a_lookup_queued_during_a_read_waits_for_the_next_one() {
        // SQLite in memory: one connection, which this transaction holds.
        let db = crate::db::migrated_sqlite().await;
        let domain = crate::domain::at(&db, "2026-12-01T00:01:00Z".parse().expect("time")).await;
        let txn = db.begin().await.expect("begin");
        // The first lookup queues; the reader takes it and waits for the
        // connection.
        let mut first = Box::pin(by_token_hash(&domain, "h1".to_owned()));
        assert!(futures_util::poll!(first.as_mut()).is_pending());
        while domain.lookups().0.is_waiting() {
            tokio::task::yield_now().await;
        }
        let mut second = Box::pin(by_token_hash(&domain, "h9".to_owned()));
        assert!(futures_util::poll!(second.as_mut()).is_pending());
        // Ticket 9 commits after the second lookup queued, before it is read.
        txn.execute_unprepared(
            "INSERT INTO queue_tickets (id, token_hash, user_id, status, entered_at) \
             VALUES (9, 'h9', 'ivy', 'WAITING', '2026-12-01T00:00:00Z')",
        )
        .await
        .expect("insert");
        txn.commit().await.expect("commit");
        assert!(first.await.expect("lookup").is_none());
        let ivy = second.await.expect("lookup");
        assert_eq!(ivy.map(|t| t.id), Some(9));
    }
}
