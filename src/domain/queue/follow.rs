//! `queueUpdates`: one ticket's live state as a stream.
//!
//! The stream emits the current state first, then every status change at
//! once, and position changes at most once per push interval. It ends after
//! DONE or EXPIRED, or when `stop` is cancelled (server shutdown).

use std::time::Duration;

use futures_util::Stream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Ticket, TicketState, TicketStatus, TicketView, TicketWatch, store, view_with_token};
use crate::domain::{Domain, Error, Result};

/// Follows the ticket named by `token`.
///
/// # Errors
/// `Unauthenticated` when the token is malformed or unknown.
pub async fn follow(
    domain: &Domain,
    token: &str,
    push_interval: Duration,
    stop: CancellationToken,
) -> Result<impl Stream<Item = TicketView> + Send + use<>> {
    // The start holds one of the hub's start permits, perhaps its catch-up
    // turn (which every catch-up of this process waits for) and a read
    // connection. The stream is polled by its WebSocket connection's task,
    // which stops polling while a write to a client that reads nothing
    // waits out its deadline: so the start runs as a task of its own.
    let (started, start) = tokio::sync::oneshot::channel();
    let task = (domain.clone(), token.to_owned());
    domain.spawn(async move {
        let (domain, token) = task;
        let _ = started.send(begin(&domain, token).await);
    });
    let Begun {
        watch,
        line,
        current,
    } = start
        .await
        .map_err(|_| Error::invariant("a subscription's start ended early"))??;
    domain.metrics().subscribers.inc();
    let spread = spread(current.ticket.id, push_interval);
    let follower = Follower {
        domain: domain.clone(),
        watch,
        line,
        last: current,
        sent: false,
        push_interval,
        spread,
        next_check_at: Instant::now() + push_interval / 2 + spread,
        parked: false,
        moved: false,
        lapse_settled: false,
        stop,
    };
    Ok(futures_util::stream::unfold(follower, |mut f| async move {
        f.next().await.map(|item| (item, f))
    }))
}

/// What a follower starts from.
struct Begun {
    watch: TicketWatch,
    line: watch::Receiver<u64>,
    current: TicketView,
}

/// Finds the ticket, watches it and reads its current view.
async fn begin(domain: &Domain, token: String) -> Result<Begun> {
    // Held until the first view is read: see `QueueHub::start_turn`.
    let turn = domain.hub().start_turn().await;
    // Read alone, not with other requests' lookups: a batch would release
    // the starts it answered onto the pool together, and the reads they
    // wait for next hold memory the allocator keeps (BENCHMARKS.md,
    // nineteenth session).
    let known = super::find(domain, &token, super::Lookup::Alone).await?;
    // Listen first, then read: a change committed in between is seen twice
    // at worst, never missed.
    let watch = domain.hub().watch_ticket(&known);
    let line = domain.hub().line_changes();
    // A client reconnecting here may come from an instance that was ahead
    // of this one: start from the line as committed, never behind it.
    super::catch_up_for_read(domain).await?;
    let ticket = store::by_id(domain.reader(), known.id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let current = view_with_token(domain, ticket, token).await?;
    drop(turn);
    Ok(Begun {
        watch,
        line,
        current,
    })
}

/// A follower's fixed offset in `[0, interval / 2)`, from its ticket id.
///
/// When a line that stood still moves, every follower of it wakes on the
/// same change. Checking at once would push to all of them in the same
/// instant and keep them in step ever after: at 19,000 subscribers that is
/// 19,000 tasks woken together each interval, a burst that overflows the
/// runtime's queues and delays everything else, admissions included. Spread
/// over half an interval, their checks stay spread, and every change still
/// reaches every follower within one interval.
fn spread(ticket_id: i64, interval: Duration) -> Duration {
    // Fibonacci hashing: consecutive ids land far apart.
    let mixed = (ticket_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    let share = mixed as f64 / (1u64 << 53) as f64;
    (interval / 2).mul_f64(share)
}

/// What woke a follower.
enum Wake {
    /// The server stops.
    Stop,
    /// The ticket's status changed; the hub published it at that instant.
    Changed(TicketState, Instant),
    /// The follower's own timer: its next look at the line, or the lapse.
    Timer,
    /// The line changed while parked (`false`: the hub is gone).
    Line(bool),
}

struct Follower {
    domain: Domain,
    watch: TicketWatch,
    line: watch::Receiver<u64>,
    /// The last view sent, or before the first message the one to send;
    /// its token is the one the subscriber gave (derived once, not per
    /// push).
    last: TicketView,
    /// Whether the first message went out. (Each follower stays alive
    /// while its subscriber is idle, so it keeps one view, not two.)
    sent: bool,
    push_interval: Duration,
    /// This follower's offset within half an interval (see [`spread`]).
    spread: Duration,
    /// When the line is next checked for a new position.
    next_check_at: Instant,
    /// Waiting for the line to change (it did not since the last check).
    parked: bool,
    /// The line changed while parked (that wait consumed the change).
    moved: bool,
    /// The admission's lapse came, and the batches begun before it, which
    /// may have finished the ticket instead, have ended.
    lapse_settled: bool,
    stop: CancellationToken,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.domain.metrics().subscribers.dec();
    }
}

impl Follower {
    async fn next(&mut self) -> Option<TicketView> {
        if !self.sent {
            let first = self.emit(self.last.clone(), None);
            self.sent = true;
            return Some(first);
        }
        loop {
            if self.last.status.is_final() {
                return None;
            }
            let waiting = self.last.status == TicketStatus::Waiting;
            // One timer, for the one thing this status waits on: an
            // admission's lapse, or a waiter's next look at the line.
            let wake_at = if waiting {
                (!self.parked).then_some(self.next_check_at)
            } else {
                self.lapses_in().map(|left| Instant::now() + left)
            };
            // The select only says what woke the follower, and a refresh
            // (once a push at most) is boxed: an idle follower's future
            // holds room for its largest moment, and a refresh's (the
            // ticket twice, the view) is larger than the select's.
            let wake = tokio::select! {
                biased;
                () = self.stop.cancelled() => Wake::Stop,
                (state, published_at) = self.watch.changed() => Wake::Changed(state, published_at),
                () = tokio::time::sleep_until(wake_at.unwrap_or_else(Instant::now)), if wake_at.is_some() => Wake::Timer,
                // A line that stood still is waited on instead; its next
                // change is checked within half an interval (the last check
                // is an interval old or more).
                changed = self.line.changed(), if waiting && self.parked => Wake::Line(changed.is_ok()),
            };
            match wake {
                Wake::Stop | Wake::Line(false) => return None,
                Wake::Changed(state, published_at) => {
                    let ticket = self.last.ticket.in_state(state);
                    if let Some(next) = Box::pin(self.refresh(ticket, Some(published_at))).await {
                        return Some(next);
                    }
                }
                Wake::Timer => {
                    // A moving line is checked on this follower's own
                    // timer, once per interval: thousands of followers
                    // never wake together on one change, and each wakes
                    // once per push.
                    if waiting {
                        let moved = match self.line.has_changed() {
                            Err(_) => return None,
                            Ok(changed) => changed || self.moved,
                        };
                        if !moved {
                            self.parked = true;
                            continue;
                        }
                        self.line.borrow_and_update();
                        self.moved = false;
                        self.next_check_at = Instant::now() + self.push_interval;
                    } else if !self.lapse_settled
                        && let Some(lapse) = self.last.ticket.expires_at
                        && self.domain.now() >= lapse
                    {
                        // A payment judged before the lapse may commit
                        // after it: the ticket is then DONE. Wait for the
                        // batches begun before the lapse (milliseconds),
                        // then look again, at their changes first.
                        tokio::select! {
                            () = self.stop.cancelled() => return None,
                            _ = self.domain.in_flight().settled_before(lapse) => {}
                        }
                        self.lapse_settled = true;
                        continue;
                    }
                    // Otherwise the admission lapses at expires_at, even
                    // before the sweeper marks it: say so at that instant.
                    let ticket = self.last.ticket.clone();
                    if let Some(next) = Box::pin(self.refresh(ticket, None)).await {
                        return Some(next);
                    }
                }
                Wake::Line(true) => {
                    self.parked = false;
                    self.moved = true;
                    self.next_check_at = Instant::now() + self.spread;
                }
            }
        }
    }

    /// The new view of `ticket` if it differs from the last one sent.
    /// `published_at`: when the hub published the status change that
    /// brought `ticket`, if one did.
    async fn refresh(
        &mut self,
        ticket: Ticket,
        published_at: Option<Instant>,
    ) -> Option<TicketView> {
        let next = match view_with_token(&self.domain, ticket, self.last.token.clone()).await {
            Ok(next) => next,
            Err(err) => {
                tracing::warn!(error = ?err, "queue update skipped");
                return None;
            }
        };
        (self.last != next).then(|| self.emit(next, published_at))
    }

    fn emit(&mut self, view: TicketView, published_at: Option<Instant>) -> TicketView {
        self.domain.metrics().pushes.inc();
        let was_waiting = self.sent && self.last.status == TicketStatus::Waiting;
        if was_waiting
            && view.status == TicketStatus::Progress
            && let Some(admitted_at) = view.ticket.admitted_at
        {
            let metrics = self.domain.metrics();
            let delay = (self.domain.now() - admitted_at)
                .to_std()
                .unwrap_or_default();
            metrics.admission_push.observe(delay.as_secs_f64());
            if let Some(at) = published_at {
                metrics.admission_notify.observe(at.elapsed().as_secs_f64());
            }
        }
        self.last = view.clone();
        view
    }

    fn lapses_in(&self) -> Option<Duration> {
        if self.last.status != TicketStatus::Progress {
            return None;
        }
        let expires_at = self.last.ticket.expires_at?;
        let left = (expires_at - self.domain.now())
            .to_std()
            .unwrap_or_default();
        // Never a busy loop if the clock and the timer disagree by a tick.
        Some(left.max(Duration::from_millis(10)))
    }
}
