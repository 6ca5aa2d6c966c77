//! Mutations behind the gate written in group commits (see
//! [`crate::domain::batch`]): `holdSeat`, `chargeBalance` and `pay`.
//!
//! A request that passed [`idempotency::gate`] queues here. In a batch,
//! the batch's idempotency keys are claimed, the mutation's steps run once
//! for the whole batch, each request's outcome is stored under its key,
//! and everything commits together. If a statement fails, the batch is
//! written again one request at a time, so one request the database
//! refuses does not fail the others; if the COMMIT fails, which may have
//! committed, its requests fail instead.
//!
//! A user has at most one request in a batch: each is then written as it
//! would be alone, after the user's earlier requests.
//!
//! On PostgreSQL each mutation has its own writer task, and each batch its
//! own transaction; they run side by side on the pool. On SQLite, whose
//! one connection writes every transaction in turn, the three mutations
//! share one writer task (the lane, [`super::batch::Lane`]): the charges,
//! holds and payments waiting when it takes its turn are written in one
//! transaction, one `BEGIN`/`COMMIT` and one fsync where there were up to
//! three, charges first. The requests of a turn were all waiting at once,
//! so any order is one they could have had. If a statement fails, each
//! batch of the turn is written again on its own, as above. A mutation
//! added here must be added to the lane's [`Turn`] as well, or on SQLite
//! its requests would wait forever.

use sea_orm::DatabaseTransaction;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use super::batch::Pending;
use super::booking::Claim;
use super::payment::Pay;
use super::queue::{QueueChanges, Ticket};
use super::wallet::Charge;
use super::{Domain, Error, Result, idempotency};
use crate::clock::Timestamp;
use crate::metrics::{Counter, Histogram, Metrics};

/// Most requests in one transaction (far below SQLite's bound-parameter
/// limit).
const MAX_BATCH: usize = 128;

/// A mutation whose requests are written in batches.
pub(crate) trait Batched: Send + Sync + Sized + 'static {
    type Output: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Where this mutation's requests wait.
    fn pending(domain: &Domain) -> &Pending<Request<Self>>;

    /// The histogram of its batch sizes, and the counter of its committed
    /// successes if it has one.
    fn metrics(metrics: &Metrics) -> (&Histogram, Option<&Counter>);

    /// Writes `batch` (never empty) in `txn`, after its keys were claimed:
    /// an outcome per request, in order, and the queue changes to publish
    /// once committed. Refusals must be replayable client errors; anything
    /// else fails the transaction.
    fn write(
        domain: &Domain,
        txn: &DatabaseTransaction,
        now: Timestamp,
        batch: &[&Request<Self>],
    ) -> impl Future<Output = Result<(Vec<Result<Self::Output>>, QueueChanges)>> + Send;
}

/// A request waiting for its batch.
pub(crate) struct Request<B: Batched> {
    /// The holder's ticket, admitted when the gate checked it.
    pub ticket: Ticket,
    pub mutation: B,
    /// The idempotency key and the request stored beside it.
    key: Option<(String, String)>,
    reply: oneshot::Sender<Answer<B::Output>>,
}

enum Answer<T> {
    Done(Result<T>),
    /// Another request holds the key: its outcome is the answer.
    KeyTaken,
}

/// Writes `mutation` for the holder of `ticket`, who passed the gate, in
/// the next batch; `key` (stored beside `request`) is claimed in the same
/// transaction.
pub(crate) async fn submit<B: Batched>(
    domain: &Domain,
    ticket: Ticket,
    mutation: B,
    key: Option<&str>,
    request: String,
) -> Result<B::Output> {
    let (reply, answer) = oneshot::channel();
    let user_id = ticket.user_id.clone();
    let queued = Request {
        ticket,
        mutation,
        key: key.map(|key| (key.to_owned(), request.clone())),
        reply,
    };
    let first = B::pending(domain).push(queued);
    match domain.lane() {
        // Asked after every request: the lane's writer may be on its way
        // out, having looked at this queue before the push.
        Some(lane) if lane.start() => start_lane(domain),
        Some(_) => {}
        None if first => start_writer::<B>(domain),
        None => {}
    }
    match (answer.await, key) {
        (Ok(Answer::Done(result)), _) => result,
        (Ok(Answer::KeyTaken), Some(key)) => {
            idempotency::replay(domain, &user_id, key, &request).await
        }
        (Ok(Answer::KeyTaken), None) => Err(Error::invariant("a keyless request lost its key")),
        (Err(_), _) => Err(Error::invariant("the batch was dropped")),
    }
}

fn start_writer<B: Batched>(domain: &Domain) {
    domain.spawn(write_batches::<B>(domain.clone()));
}

async fn write_batches<B: Batched>(domain: Domain) {
    let _writer = B::pending(&domain).writer(|| start_writer::<B>(&domain));
    loop {
        let batch = next_batch::<B>(&domain);
        if batch.is_empty() {
            // The queue was found empty, and the writer marked stopped.
            return;
        }
        write_alone(&domain, batch).await;
    }
}

fn one_per_user<B: Batched>(batch: &[Request<B>], request: &Request<B>) -> bool {
    batch
        .iter()
        .all(|b| b.ticket.user_id != request.ticket.user_id)
}

/// Writes `batch` in a transaction of its own and answers its requests.
async fn write_alone<B: Batched>(domain: &Domain, batch: Vec<Request<B>>) {
    if batch.is_empty() {
        return;
    }
    match commit(domain, &batch).await {
        Ok(answers) => reply(domain, batch, answers),
        Err(Failure::BeforeCommit(err)) if batch.len() > 1 => {
            // A deadlock with another instance, or one request the
            // database refuses: nothing was written, and the others
            // must not pay for it.
            tracing::warn!(error = ?err, requests = batch.len(), "a batch failed; writing its requests one by one");
            for request in batch {
                let answers = commit(domain, std::slice::from_ref(&request))
                    .await
                    .unwrap_or_else(|failure| failed(&failure, 1));
                reply(domain, vec![request], answers);
            }
        }
        Err(failure) => fail(domain, batch, &failure),
    }
}

/// Answers every request of `batch`, whose transaction failed, with an
/// internal error.
fn fail<B: Batched>(domain: &Domain, batch: Vec<Request<B>>, failure: &Failure) {
    if !batch.is_empty() {
        let n = batch.len();
        reply(domain, batch, failed(failure, n));
    }
}

fn start_lane(domain: &Domain) {
    domain.spawn(write_lane(domain.clone()));
}

/// The lane's writer: a turn at a time, until a look at every queue finds
/// nothing.
async fn write_lane(domain: Domain) {
    let Some(lane) = domain.lane() else {
        return;
    };
    let _writer = lane.writer(|| Turn::waiting(&domain), || start_lane(&domain));
    loop {
        let turn = Turn::take(&domain);
        if turn.is_empty() {
            if lane.stop(|| Turn::waiting(&domain)) {
                return;
            }
            continue;
        }
        turn.write(&domain).await;
    }
}

/// A batch's answers, in order.
type Answers<B> = Vec<Answer<<B as Batched>::Output>>;

/// What the lane writes in one transaction: a batch of each mutation (any
/// of them may be empty). Charges come first, so a payment in the same
/// turn sees the balance they credit.
struct Turn {
    charges: Vec<Request<Charge>>,
    holds: Vec<Request<Claim>>,
    payments: Vec<Request<Pay>>,
}

impl Turn {
    fn take(domain: &Domain) -> Self {
        Self {
            charges: next_batch(domain),
            holds: next_batch(domain),
            payments: next_batch(domain),
        }
    }

    fn waiting(domain: &Domain) -> bool {
        Charge::pending(domain).is_waiting()
            || Claim::pending(domain).is_waiting()
            || Pay::pending(domain).is_waiting()
    }

    fn is_empty(&self) -> bool {
        self.charges.is_empty() && self.holds.is_empty() && self.payments.is_empty()
    }

    async fn write(self, domain: &Domain) {
        let batches = [
            !self.charges.is_empty(),
            !self.holds.is_empty(),
            !self.payments.is_empty(),
        ];
        if batches.into_iter().filter(|&batch| batch).count() == 1 {
            // One batch: written as it would be without the lane.
            write_alone(domain, self.charges).await;
            write_alone(domain, self.holds).await;
            write_alone(domain, self.payments).await;
            return;
        }
        match self.commit(domain).await {
            Ok((charges, holds, payments)) => {
                reply(domain, self.charges, charges);
                reply(domain, self.holds, holds);
                reply(domain, self.payments, payments);
            }
            Err(Failure::BeforeCommit(err)) => {
                // Nothing was written. Each batch is written again on its
                // own, and request by request if it fails again, so the
                // one request the database refuses fails alone.
                tracing::warn!(error = ?err, "a turn failed; writing its batches one by one");
                write_alone(domain, self.charges).await;
                write_alone(domain, self.holds).await;
                write_alone(domain, self.payments).await;
            }
            Err(failure) => {
                fail(domain, self.charges, &failure);
                fail(domain, self.holds, &failure);
                fail(domain, self.payments, &failure);
            }
        }
    }

    /// One transaction for the turn: each batch's answers, in order.
    async fn commit(
        &self,
        domain: &Domain,
    ) -> Result<(Answers<Charge>, Answers<Claim>, Answers<Pay>), Failure> {
        in_transaction(domain, async |txn| {
            let (charges, charged) = write(domain, txn, &self.charges).await?;
            let (holds, held) = write(domain, txn, &self.holds).await?;
            let (payments, paid) = write(domain, txn, &self.payments).await?;
            Ok(((charges, holds, payments), only_one([charged, held, paid])?))
        })
        .await
    }
}

/// The next batch of `B`, counted; empty when none waits, which marks the
/// writer of `B`'s own queue stopped (see [`Pending::next_batch`]).
fn next_batch<B: Batched>(domain: &Domain) -> Vec<Request<B>> {
    let batch = B::pending(domain)
        .next_batch(MAX_BATCH, one_per_user)
        .unwrap_or_default();
    if !batch.is_empty() {
        B::metrics(domain.metrics()).0.observe(batch.len() as f64);
    }
    batch
}

/// The queue changes of a turn, made by one of its batches at most (only
/// payments change the queue).
fn only_one<const N: usize>(changes: [QueueChanges; N]) -> Result<QueueChanges> {
    let mut made = changes
        .into_iter()
        .filter(|c| c.version.is_some() || !c.tickets.is_empty());
    let first = made.next().unwrap_or_default();
    match made.next() {
        None => Ok(first),
        Some(_) => Err(Error::invariant(
            "two batches of one transaction changed the queue",
        )),
    }
}

/// Why a batch has no answers of its own.
enum Failure {
    /// A statement failed: the transaction rolls back, nothing was written.
    BeforeCommit(Error),
    /// No transaction could begin (the database is unreachable), or its
    /// COMMIT failed, which on PostgreSQL may still have committed: written
    /// again, a charge without a key would be credited twice. Its requests
    /// fail; a client retries with its idempotency key.
    Uncertain(Error),
}

fn reply<B: Batched>(domain: &Domain, batch: Vec<Request<B>>, answers: Answers<B>) {
    let committed = B::metrics(domain.metrics()).1;
    for (request, answer) in batch.into_iter().zip(answers) {
        // Counted as committed, replies or no: a replay is not a new
        // effect, and a client that hung up still got one.
        if let (Some(counter), Answer::Done(Ok(_))) = (committed, &answer) {
            counter.inc();
        }
        let _ = request.reply.send(answer);
    }
}

/// The answers of `n` requests whose transaction failed: an internal
/// error each (its cause is logged, never shown).
fn failed<T>(failure: &Failure, n: usize) -> Vec<Answer<T>> {
    match failure {
        Failure::BeforeCommit(err) => {
            tracing::error!(error = ?err, requests = n, "a batched write failed");
        }
        Failure::Uncertain(err) => {
            tracing::error!(error = ?err, requests = n, "a batch may not have committed");
        }
    }
    (0..n)
        .map(|_| Answer::Done(Err(Error::invariant("the batch could not be written"))))
        .collect()
}

/// One transaction for `batch` (at most one request per user): each
/// request's answer, in order.
async fn commit<B: Batched>(domain: &Domain, batch: &[Request<B>]) -> Result<Answers<B>, Failure> {
    in_transaction(domain, async |txn| write(domain, txn, batch).await).await
}

/// Begins a write transaction, runs `write` in it and commits what it
/// wrote with the queue changes it made: what it returned besides them.
async fn in_transaction<T>(
    domain: &Domain,
    write: impl AsyncFnOnce(&DatabaseTransaction) -> Result<(T, QueueChanges)>,
) -> Result<T, Failure> {
    // Until its changes are published, or it failed.
    let _under_way = domain.in_flight().begin(|| domain.now());
    let txn = domain.begin_write().await.map_err(Failure::Uncertain)?;
    let (written, changes) = write(&txn).await.map_err(Failure::BeforeCommit)?;
    domain
        .commit_queue(txn, &changes)
        .await
        .map_err(Failure::Uncertain)?;
    Ok(written)
}

/// Everything before the COMMIT: the keys claimed, the batch written and
/// its outcomes stored. Each request's answer, and the queue changes.
async fn write<B: Batched>(
    domain: &Domain,
    txn: &DatabaseTransaction,
    batch: &[Request<B>],
) -> Result<(Answers<B>, QueueChanges)> {
    let now = domain.now();
    let mut answers: Vec<Option<Answer<B::Output>>> = batch.iter().map(|_| None).collect();
    // Keys come first in every PostgreSQL writer's lock order, and are
    // claimed sorted whatever the arrival order, so two instances' batches
    // never wait for each other's keys in a cycle. (A deadlock PostgreSQL
    // breaks anyway fails the batch; it is then written one by one. On
    // SQLite, a turn's transaction holds the one write lock throughout.)
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
        if !idempotency::claim(txn, user_id, key, stored, now).await? {
            answers[i] = Some(Answer::KeyTaken);
        }
    }
    let open: Vec<usize> = (0..batch.len()).filter(|&i| answers[i].is_none()).collect();
    let requests: Vec<&Request<B>> = open.iter().map(|&i| &batch[i]).collect();
    let (outcomes, changes) = if requests.is_empty() {
        // Every key was taken: nothing to write.
        (Vec::new(), QueueChanges::default())
    } else {
        B::write(domain, txn, now, &requests).await?
    };
    if outcomes.len() != open.len() {
        return Err(Error::invariant(
            "a batch wrote a different number of requests",
        ));
    }
    for (i, outcome) in open.into_iter().zip(outcomes) {
        let outcome = match outcome {
            Err(err) if !err.is_replayable() => return Err(err),
            outcome => outcome,
        };
        if let Some((key, _)) = &batch[i].key {
            idempotency::save_outcome(txn, &batch[i].ticket.user_id, key, outcome.as_ref()).await?;
        }
        answers[i] = Some(Answer::Done(outcome));
    }
    let answers = answers
        .into_iter()
        .map(|answer| {
            answer
                .unwrap_or_else(|| Answer::Done(Err(Error::invariant("a request went unanswered"))))
        })
        .collect();
    Ok((answers, changes))
}
