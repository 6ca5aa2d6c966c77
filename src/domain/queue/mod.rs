//! The waiting room: a fair FIFO line with a bounded number admitted.
//!
//! # Invariants
//! - At most `queue_capacity` tickets are PROGRESS at any moment: every
//!   admission runs with the gate row locked (`store::lock_gate`).
//! - Strict FIFO: waiters are admitted in ticket id order, and a newcomer
//!   is admitted at once only when a slot is free and nobody waits.
//! - A user has at most one WAITING or PROGRESS ticket (a partial unique
//!   index), so issuing a token is idempotent.
//! - An admission stops counting at `expires_at`, swept or not.

mod follow;
mod hub;
mod joins;
mod lookups;
pub mod model;
pub mod store;
pub mod tokens;

use sea_orm::DatabaseTransaction;
use uuid::Uuid;

pub use self::follow::follow;
pub use self::hub::{QueueHub, TicketWatch};
pub use self::joins::Joins;
pub use self::lookups::Lookups;
pub use self::model::{Ticket, TicketState, TicketStatus, TicketView};
pub use self::store::QueueChanges;
use self::store::{GateLock, Settled};
use super::{Domain, Error, Result};
use crate::clock::Timestamp;

/// Longest user id accepted by `issueQueueToken`.
pub const MAX_USER_ID_LEN: usize = 128;

/// Returns the user's live ticket, or enters a new one at the back of the
/// line (admitted at once if a slot is free and nobody waits). Joins
/// arriving together are committed together (see `joins`).
///
/// # Errors
/// `BadUserInput` for an empty or over-long user id.
pub async fn issue_ticket(domain: &Domain, user_id: &str) -> Result<TicketView> {
    let user_id = user_id.trim();
    // In characters, as the column's length (on PostgreSQL) counts them.
    if user_id.is_empty() || user_id.chars().count() > MAX_USER_ID_LEN {
        return Err(Error::bad_input(format!(
            "userId must be 1 to {MAX_USER_ID_LEN} characters"
        )));
    }
    Error::check_text("userId", user_id)?;
    match joins::join(domain, user_id).await? {
        (ticket, Some(token)) => view_with_token(domain, ticket, token).await,
        (ticket, None) => view(domain, ticket).await,
    }
}

/// Finds the ticket a bearer token names, in any state.
///
/// # Errors
/// `Unauthenticated` when the token is malformed or unknown.
pub async fn authenticate(domain: &Domain, token: &str) -> Result<Ticket> {
    find(domain, token, Lookup::Batched).await
}

/// How [`find`] reads a ticket the hub cannot answer for.
enum Lookup {
    /// With the lookups waiting beside it (see `lookups`).
    Batched,
    /// On its own.
    Alone,
}

/// [`authenticate`], reading as `lookup` says.
async fn find(domain: &Domain, token: &str, lookup: Lookup) -> Result<Ticket> {
    let hash = token_hash(token)?;
    if let Some(ticket) = domain.hub().admitted(&hash) {
        return Ok(ticket);
    }
    let ticket = match lookup {
        Lookup::Batched => lookups::by_token_hash(domain, hash).await?,
        Lookup::Alone => store::by_token_hash(domain.reader(), &hash).await?,
    };
    ticket.ok_or(Error::Unauthenticated)
}

/// What the database keeps of `token`.
///
/// # Errors
/// `Unauthenticated` when it is not a token: tokens are UUIDs, and
/// anything else cannot name a ticket.
fn token_hash(token: &str) -> Result<String> {
    if token.len() > 64 || Uuid::try_parse(token).is_err() {
        return Err(Error::Unauthenticated);
    }
    Ok(tokens::hash(token))
}

/// Gives tickets issued before tokens were hashed a salt, which replaces
/// the token stored in clear with the hash of a derived one (their holders
/// re-join to learn it, keeping their place). Returns how many.
///
/// # Errors
/// When the database fails.
pub async fn salt_legacy_tickets(domain: &Domain) -> Result<usize> {
    let ids = store::unsalted_ids(domain.db()).await?;
    for &id in &ids {
        let issued = domain.tokens().issue();
        store::salt_ticket(domain.db(), id, issued.salt, issued.hash).await?;
    }
    Ok(ids.len())
}

/// The gate in front of every shopping operation.
///
/// # Errors
/// `Unauthenticated`, `NotAdmitted` (with the position) or `TokenExpired`.
pub async fn admitted(domain: &Domain, token: &str) -> Result<Ticket> {
    let ticket = authenticate(domain, token).await?;
    check_admitted(domain, ticket).await
}

/// [`admitted`] for a ticket the caller has already authenticated.
///
/// # Errors
/// `NotAdmitted` (with the position) or `TokenExpired`.
pub(crate) async fn check_admitted(domain: &Domain, ticket: Ticket) -> Result<Ticket> {
    let position = match ticket.status {
        TicketStatus::Waiting => {
            catch_up_for_read(domain).await?;
            position_of(domain, &ticket).await?
        }
        _ => 0,
    };
    ticket.check_admitted(domain.now(), position)?;
    Ok(ticket)
}

/// The ticket a token names, with its position and wait estimate.
///
/// # Errors
/// `Unauthenticated` when the token is malformed or unknown.
pub async fn ticket(domain: &Domain, token: &str) -> Result<TicketView> {
    let mut ticket = authenticate(domain, token).await?;
    if ticket.status == TicketStatus::Waiting {
        catch_up_for_read(domain).await?;
    }
    // A lapse told from the clock: a payment judged before it may still be
    // committing, and then the ticket is DONE (see `batch::InFlight`).
    if ticket.status == TicketStatus::Progress
        && let Some(lapse) = ticket.expires_at
        && domain.now() >= lapse
        && domain.in_flight().settled_before(lapse).await
    {
        ticket = authenticate(domain, token).await?;
    }
    view(domain, ticket).await
}

/// Tickets admitted now (PROGRESS; a lapsed admission not yet swept still
/// counts until the sweeper marks it).
///
/// # Errors
/// When the database fails.
pub async fn admitted_count(domain: &Domain) -> Result<u64> {
    store::count_status(domain.reader(), entity::queue_ticket::QueueStatus::Progress).await
}

/// Expires lapsed admissions and fills free slots; the sweeper's queue step.
/// When there is nothing to do it takes no gate: the queue version (and
/// every instance's view of it) stays as it is.
///
/// # Errors
/// When the database fails.
pub async fn settle(domain: &Domain) -> Result<QueueChanges> {
    let rules = domain.rules();
    if !store::needs_settling(domain.reader(), domain.now(), rules.queue_capacity).await? {
        return Ok(QueueChanges::default());
    }
    let txn = domain.begin_write().await?;
    let gate = store::lock_gate(&txn, domain.hub().instance()).await?;
    let changes = settle_locked(domain, &txn, &gate, domain.now(), &[])
        .await?
        .changes;
    domain.commit_queue(txn, &changes).await?;
    Ok(changes)
}

/// Settles the queue at `now` in `txn`, which holds `gate` and has already
/// changed the tickets `earlier`: from the hub's plan when the hub is
/// current, from reads otherwise (see [`store::settle`]).
///
/// # Errors
/// When the database fails.
pub(crate) async fn settle_locked(
    domain: &Domain,
    txn: &DatabaseTransaction,
    gate: &GateLock,
    now: Timestamp,
    earlier: &[Ticket],
) -> Result<Settled> {
    let rules = domain.rules();
    let plan = domain
        .hub()
        .settle_plan(gate.version(), now, rules.queue_capacity, earlier);
    store::settle(txn, gate, now, rules.queue_capacity, rules.active_ttl, plan).await
}

/// Most ticket changes one catch-up applies; further behind, the line is
/// reloaded whole.
const CATCH_UP_LIMIT: u64 = 10_000;
/// Batch size when re-reading watched tickets for a reload.
const REFRESH_BATCH: usize = 500;

/// Brings the in-process line up to the database's queue version,
/// applying the changes other processes committed (and any of our own whose
/// application was lost), and pushing their new status to subscribers.
/// Returns whether there was anything to catch up on.
///
/// # Errors
/// When the database fails.
pub async fn catch_up(domain: &Domain) -> Result<bool> {
    let committed = store::gate_version(domain.reader()).await?;
    catch_up_to(domain, committed).await
}

/// Brings the in-process line up to at least queue version `committed`.
async fn catch_up_to(domain: &Domain, committed: i64) -> Result<bool> {
    let hub = domain.hub();
    let db = domain.reader();
    if committed <= hub.applied_version() {
        return Ok(false);
    }
    let _turn = hub.catch_up_turn().await;
    // The catch-up we waited for may have come far enough.
    let watermark = hub.applied_version();
    if committed <= watermark {
        return Ok(false);
    }
    let changed = store::changed_since(db, watermark, CATCH_UP_LIMIT).await?;
    if changed.len() as u64 == CATCH_UP_LIMIT {
        // One snapshot for the version and everything the hub replaces:
        // the line and the admitted tickets as they stood at that version.
        let snapshot = crate::db::begin_snapshot(db).await?;
        let line = store::line(&snapshot).await?;
        let mut watched = Vec::new();
        for ids in hub.watched_ids().chunks(REFRESH_BATCH) {
            watched.extend(store::by_ids(&snapshot, ids).await?);
        }
        snapshot.commit().await?;
        hub.reload(line.version, line.waiting, line.admitted, &watched);
    } else {
        hub.catch_up(committed, changed);
    }
    Ok(true)
}

/// Before a request reads a waiter's position from the in-process line:
/// brings the line up to the queue version committed now, so the answer
/// counts every change committed before the request, on any instance.
///
/// Each instance applies the others' changes a moment after they commit.
/// A client whose requests a load balancer spreads over instances would
/// otherwise read its position from one that is behind the instance it
/// asked last, and see itself moved back in line. One primary-key read
/// when the line is current; a catch-up when it is not. Pushes do not need
/// it: a subscription reads one instance's line, which only moves forward
/// once its first state was read this way.
pub(crate) async fn catch_up_for_read(domain: &Domain) -> Result<()> {
    let committed = store::gate_version(domain.reader()).await?;
    catch_up_to(domain, committed).await?;
    Ok(())
}

/// How a ticket stands now.
pub(crate) async fn view(domain: &Domain, ticket: Ticket) -> Result<TicketView> {
    let token = domain.tokens().derive(&ticket.token_salt);
    view_with_token(domain, ticket, token).await
}

/// [`view`] for a caller that already holds the ticket's token.
pub(crate) async fn view_with_token(
    domain: &Domain,
    ticket: Ticket,
    token: String,
) -> Result<TicketView> {
    let now = domain.now();
    let status = ticket.status_at(now);
    let (position, estimated_wait_secs) = if status == TicketStatus::Waiting {
        let position = position_of(domain, &ticket).await?;
        (
            Some(position),
            domain.hub().estimate_wait_secs(position, now),
        )
    } else {
        (None, None)
    };
    Ok(TicketView {
        token,
        ticket,
        status,
        position,
        estimated_wait_secs,
    })
}

/// Position from the in-process line, or from the database when the line
/// does not know the ticket (it committed a moment ago, or elsewhere).
async fn position_of(domain: &Domain, ticket: &Ticket) -> Result<u64> {
    match domain.hub().position(ticket.id) {
        Some(position) => Ok(position),
        // Rare, and boxed: every future that awaits a position (a
        // subscription's, for its whole life) would otherwise make room
        // for this query's state.
        None => Box::pin(store::count_waiting_before(domain.reader(), ticket.id)).await,
    }
}
