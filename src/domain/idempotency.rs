//! Write operations with optional idempotency keys.
//!
//! Every mutation after the gate starts with [`gate`]: it authenticates,
//! replays a stored outcome for a known key, checks admission and lets the
//! mutation refuse early from a read connection. Its batch
//! ([`crate::domain::batched`]) then writes it in a transaction that first
//! claims the key and finally stores the outcome, so the effect and the
//! record of it commit together or not at all. A concurrent retry with the
//! same key blocks on the key's primary key until the first commits, then
//! replays.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use entity::idempotency_key::{self, Column, Entity as Keys};

use super::queue::{self, Ticket};
use super::{Domain, Error, Result};
use crate::clock::Timestamp;

/// Longest accepted `idempotencyKey`.
pub const MAX_KEY_LEN: usize = 255;

/// What a key stores: the answer a retry gets.
#[derive(Serialize, Deserialize)]
enum Outcome<T, E = Error> {
    Ok(T),
    Err(E),
}

/// A request behind the gate, as far as it goes on a read connection.
pub(crate) trait Checked: Send {
    type Output: Serialize + DeserializeOwned + Send;

    /// The request as stored beside its key: a retry must repeat it.
    fn request(&self) -> String;

    /// Checks on a read connection, before the write lock is taken: a
    /// request that must fail (a seat known taken, a reservation already
    /// paid, a bad amount) fails here without queueing for the one writer, and
    /// what the checks looked up is kept for the write. Everything that can
    /// change is checked again under the lock.
    ///
    /// Each refusal must follow from one statement, which reads one
    /// committed state: the request is then refused as the write would have
    /// refused it at that instant. Two statements may read two states, and
    /// a refusal combining them may be true of neither.
    fn check(
        &mut self,
        domain: &Domain,
        ticket: &Ticket,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// How far [`gate`] took a request.
pub(crate) enum Gate<T> {
    /// It has its answer: an outcome stored under its key, or a refusal
    /// (stored under its key when a retry must get it too).
    Answered(Result<T>),
    /// Admitted, with an unused key or none, and its checks passed: the
    /// caller writes it, claiming the key (stored beside `request`) in the
    /// same transaction.
    Passed { ticket: Ticket, request: String },
}

/// Authenticates the holder of `token`, replays a stored outcome for a
/// known `key`, checks admission and runs the request's checks: everything
/// before the write.
///
/// # Errors
/// The gate's errors, `IdempotencyKeyReused`, or `BadUserInput` for a bad
/// key; what the checks refuse is an answer.
pub(crate) async fn gate<C: Checked>(
    domain: &Domain,
    token: &str,
    key: Option<&str>,
    checked: &mut C,
) -> Result<Gate<C::Output>> {
    let request = checked.request();
    let ticket = queue::authenticate(domain, token).await?;
    if let Some(key) = key {
        // Characters, as SPEC counts them and PostgreSQL's varchar does.
        if key.is_empty() || key.chars().count() > MAX_KEY_LEN {
            return Err(Error::bad_input(format!(
                "idempotencyKey must be 1 to {MAX_KEY_LEN} characters"
            )));
        }
        Error::check_text("idempotencyKey", key)?;
        // A replay needs no admission: a client that lost the response to
        // the `pay` that finished its ticket must still learn it paid.
        if let Some(outcome) = stored(domain, &ticket.user_id, key, &request).await? {
            return Ok(Gate::Answered(outcome));
        }
    }
    let ticket = queue::check_admitted(domain, ticket).await?;
    let now = domain.now();
    Ok(match checked.check(domain, &ticket).await {
        Ok(()) => Gate::Passed { ticket, request },
        Err(err) => Gate::Answered(refuse(domain, &ticket, key, &request, err, now).await),
    })
}

/// Fails with `err`, first storing it under `key` when a retry must get
/// the same answer.
async fn refuse<T: DeserializeOwned>(
    domain: &Domain,
    ticket: &Ticket,
    key: Option<&str>,
    request: &str,
    err: Error,
    now: Timestamp,
) -> Result<T> {
    if let Some(key) = key
        && err.is_replayable()
        && !remember_error(domain, &ticket.user_id, key, request, &err, now).await?
    {
        // A concurrent request with this key got there first: its outcome
        // is the answer to both.
        return replay(domain, &ticket.user_id, key, request).await;
    }
    Err(err)
}

/// The outcome another request committed under `key`, which it holds.
pub(crate) async fn replay<T: DeserializeOwned>(
    domain: &Domain,
    user_id: &str,
    key: &str,
    request: &str,
) -> Result<T> {
    stored(domain, user_id, key, request)
        .await?
        .unwrap_or_else(|| Err(Error::invariant("idempotency key held but not stored")))
}

/// The stored outcome for `key`, if any.
async fn stored<T: DeserializeOwned>(
    domain: &Domain,
    user_id: &str,
    key: &str,
    request: &str,
) -> Result<Option<Result<T>>> {
    let Some(row) = Keys::find_by_id((user_id.to_owned(), key.to_owned()))
        .one(domain.reader())
        .await?
    else {
        return Ok(None);
    };
    if row.request != request {
        return Err(Error::IdempotencyKeyReused);
    }
    Ok(Some(match serde_json::from_str(&row.outcome)? {
        Outcome::Ok(value) => Ok(value),
        Outcome::Err(err) => Err(err),
    }))
}

/// Inserts the key as the transaction's first write; `false` when a
/// concurrent request holds it. Its outcome follows in
/// [`save_outcome`], before the transaction commits.
pub(crate) async fn claim(
    txn: &DatabaseTransaction,
    user_id: &str,
    key: &str,
    request: &str,
    now: Timestamp,
) -> Result<bool> {
    insert(txn, row(user_id, key, request, String::new(), now)).await
}

/// Stores the outcome of the request that claimed `key` in `txn`.
pub(crate) async fn save_outcome<T: Serialize>(
    txn: &DatabaseTransaction,
    user_id: &str,
    key: &str,
    outcome: std::result::Result<&T, &Error>,
) -> Result<()> {
    let outcome = match outcome {
        Ok(value) => Outcome::Ok(value),
        Err(err) => Outcome::Err(err),
    };
    Keys::update(idempotency_key::ActiveModel {
        user_id: Set(user_id.to_owned()),
        key: Set(key.to_owned()),
        outcome: Set(serde_json::to_string(&outcome)?),
        ..Default::default()
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Stores a client error, so a retry gets the same answer; `false` when
/// the key already holds an outcome.
async fn remember_error(
    domain: &Domain,
    user_id: &str,
    key: &str,
    request: &str,
    err: &Error,
    now: Timestamp,
) -> Result<bool> {
    let outcome = serde_json::to_string(&Outcome::<(), _>::Err(err))?;
    let txn = domain.begin_write().await?;
    let inserted = insert(&txn, row(user_id, key, request, outcome, now)).await?;
    txn.commit().await?;
    Ok(inserted)
}

/// Inserts `row` unless its key exists; `true` when it did.
async fn insert(txn: &DatabaseTransaction, row: idempotency_key::ActiveModel) -> Result<bool> {
    let inserted = Keys::insert(row)
        .on_conflict(
            OnConflict::columns([Column::UserId, Column::Key])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(inserted == 1)
}

fn row(
    user_id: &str,
    key: &str,
    request: &str,
    outcome: String,
    now: Timestamp,
) -> idempotency_key::ActiveModel {
    idempotency_key::ActiveModel {
        user_id: Set(user_id.to_owned()),
        key: Set(key.to_owned()),
        request: Set(request.to_owned()),
        outcome: Set(outcome),
        created_at: Set(now),
    }
}

/// Most keys one statement of [`prune`] deletes: on SQLite every write
/// waits for it, so a day's keys go a thousand at a time, each batch its
/// own transaction.
const PRUNE_BATCH: u64 = 1_000;

/// Deletes keys older than `before` (SPEC: keys live at least 24 h), in
/// batches of [`PRUNE_BATCH`]. Returns how many.
///
/// # Errors
/// When the database fails.
pub async fn prune(domain: &Domain, before: Timestamp) -> Result<u64> {
    let mut pruned = 0;
    loop {
        let deleted = prune_oldest(domain, before, PRUNE_BATCH).await?;
        pruned += deleted;
        if deleted < PRUNE_BATCH {
            return Ok(pruned);
        }
    }
}

/// Deletes the oldest keys, at most `limit`, of those older than `before`.
async fn prune_oldest(domain: &Domain, before: Timestamp, limit: u64) -> Result<u64> {
    use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
    use sea_orm::{ColumnTrait, QueryFilter};

    let oldest = Query::select()
        .columns([Column::UserId, Column::Key])
        .from(Keys)
        .and_where(Column::CreatedAt.lt(before))
        .order_by(Column::CreatedAt, Order::Asc)
        .limit(limit)
        .to_owned();
    let key = Expr::tuple([Expr::col(Column::UserId), Expr::col(Column::Key)]);
    Ok(Keys::delete_many()
        .filter(key.in_subquery(oldest))
        .exec(domain.db())
        .await?
        .rows_affected)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use sea_orm::{EntityTrait, PaginatorTrait};

    use super::{Keys, prune, prune_oldest, row};
    use crate::clock::Timestamp;

    /// Stores `n` keys of Alice's, created at `at`.
    async fn keys(domain: &crate::domain::Domain, n: usize, prefix: &str, at: Timestamp) {
        let rows = (0..n).map(|i| row("alice", &format!("{prefix}{i}"), "r", "o".into(), at));
        Keys::insert_many(rows)
            .exec_without_returning(domain.db())
            .await
            .expect("insert");
    }

    #[tokio::test]
    async fn pruning_goes_a_batch_at_a_time_and_keeps_young_keys() {
        let db = crate::db::migrated_sqlite().await;
        let now: Timestamp = "2026-12-03T00:00:00Z".parse().expect("time");
        let domain = crate::domain::at(&db, now).await;
        let cutoff = now - TimeDelta::hours(48);
        keys(&domain, 250, "old", cutoff - TimeDelta::seconds(1)).await;
        keys(&domain, 30, "young", cutoff).await;

        for _ in 0..2 {
            assert_eq!(
                prune_oldest(&domain, cutoff, 100).await.expect("prune"),
                100
            );
        }
        assert_eq!(prune(&domain, cutoff).await.expect("prune"), 50);
        assert_eq!(Keys::find().count(&db).await.expect("count"), 30);
    }
}
