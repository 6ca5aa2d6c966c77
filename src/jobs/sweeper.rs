//! The diagrams' scheduler: expires unpaid holds, expires lapsed
//! admissions and promotes waiters into the freed slots.
//!
//! Correctness never depends on it (every read and claim filters on
//! `expires_at`); it keeps the data tidy and makes a lapse free its slot
//! promptly. It is safe in several processes at once: hold expiry uses
//! guarded updates and admission takes the gate lock.

use std::time::Duration;

use chrono::TimeDelta;

use crate::clock::Timestamp;
use crate::domain::{Result, booking, idempotency, queue};
use crate::state::AppState;

/// How long idempotency keys are kept (SPEC: at least 24 h).
const KEY_RETENTION: TimeDelta = TimeDelta::hours(48);
/// How often expired idempotency keys are deleted. Passes come as often as
/// admissions lapse (hundreds a second at a thousand admissions a second),
/// and each delete is a write that SQLite's one writer would queue behind.
const PRUNE_EVERY: TimeDelta = TimeDelta::minutes(1);
/// The shortest wait between two passes.
const SOONEST: Duration = Duration::from_millis(5);

/// What one pass leaves for the next.
#[derive(Debug, Default)]
pub struct Carry {
    /// A queue version found missing on the previous pass.
    suspect: Option<i64>,
    /// When idempotency keys were last pruned.
    pruned_at: Option<Timestamp>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub holds_expired: u64,
    /// Lapsed holds may be left: the next pass should come soon.
    pub holds_left: bool,
    pub queue_changes: usize,
    /// When the next admission lapses, to wake up for it.
    pub next_lapse: Option<Timestamp>,
}

/// One pass, given what the previous one left in `carry`.
///
/// # Errors
/// When the database fails; the loop logs and retries.
pub async fn tick(state: &AppState, carry: &mut Carry) -> Result<Outcome> {
    let domain = &state.domain;
    // First, so a database that fails every pass cannot keep idle limits.
    state.limits.forget_idle();
    // Admissions first: a backlog of lapsed holds can take several passes.
    let changes = queue::settle(domain).await?;
    let holds = booking::expire_lapsed_holds(domain).await?;
    // A version still missing since the last pass was committed elsewhere
    // (or its own application was lost): fetch it from the database.
    let applied = domain.hub().applied_version();
    if carry.suspect.is_some_and(|seen| applied < seen) && queue::catch_up(domain).await? {
        tracing::debug!("caught up with queue changes committed elsewhere");
    }
    let committed = queue::store::gate_version(domain.reader()).await?;
    carry.suspect = (committed > domain.hub().applied_version()).then_some(committed);
    let next_lapse = queue::store::next_lapse(domain.reader()).await?;
    let now = domain.now();
    if carry.pruned_at.is_none_or(|at| now - at >= PRUNE_EVERY) {
        idempotency::prune(domain, now - KEY_RETENTION).await?;
        carry.pruned_at = Some(now);
    }
    Ok(Outcome {
        holds_expired: holds.expired,
        holds_left: holds.more,
        queue_changes: changes.tickets.len(),
        next_lapse,
    })
}

/// Runs [`tick`] every sweep interval (or active TTL, if shorter), sooner
/// when an admission lapses before then or lapsed holds are left, until
/// shutdown.
pub async fn run(state: AppState) {
    // An admission made while the sweeper sleeps lapses one active TTL
    // later at the soonest. Sleeping no longer than that, the sweeper wakes
    // before every lapse and then waits for it exactly, so a lapse frees its
    // slot at once (SPEC 1) even with a TTL shorter than the interval.
    let ttl = state.domain.rules().active_ttl.to_std().unwrap_or_default();
    let interval = Duration::from_millis(state.settings.sweep_interval_ms)
        .min(ttl)
        .max(Duration::from_millis(10));
    let mut carry = Carry::default();
    loop {
        let wait = match tick(&state, &mut carry).await {
            Ok(outcome) => {
                if outcome.holds_expired > 0 || outcome.queue_changes > 0 {
                    tracing::debug!(?outcome, "sweep");
                }
                let next = if outcome.holds_left {
                    Some(Duration::ZERO)
                } else {
                    outcome
                        .next_lapse
                        .map(|at| (at - state.domain.now()).to_std().unwrap_or_default())
                };
                next.map_or(interval, |until| until.clamp(SOONEST, interval))
            }
            Err(err) => {
                tracing::warn!(error = ?err, "sweep failed; retrying");
                interval
            }
        };
        tokio::select! {
            () = state.shutdown.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
    tracing::debug!("sweeper stopped");
}
