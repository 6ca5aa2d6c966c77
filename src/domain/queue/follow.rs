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

use super::{Ticket, TicketStatus, TicketView, TicketWatch, store, view_with_token};
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
    let known = super::authenticate(domain, token).await?;
    // Listen first, then read: a change committed in between is seen twice
    // at worst, never missed.
    let watch = domain.hub().watch_ticket(&known);
    let line = domain.hub().line_changes();
    // A client reconnecting here may come from an instance that was ahead
    // of this one: start from the line as committed, never behind it.
    super::catch_up_for_read(domain).await?;
    let ticket = store::by_id(domain.db(), known.id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let token = token.to_owned();
    let current = view_with_token(domain, ticket, token.clone()).await?;
    domain.metrics().subscribers.inc();
    let follower = Follower {
        domain: domain.clone(),
        token,
        watch,
        line,
        last: None,
        first: Some(current),
        push_interval,
        next_check_at: Instant::now() + push_interval,
        parked: false,
        stop,
    };
    Ok(futures_util::stream::unfold(follower, |mut f| async move {
        f.next().await.map(|item| (item, f))
    }))
}

struct Follower {
    domain: Domain,
    /// The ticket's token, as the subscriber gave it (derived once, not
    /// per push).
    token: String,
    watch: TicketWatch,
    line: watch::Receiver<u64>,
    last: Option<TicketView>,
    first: Option<TicketView>,
    push_interval: Duration,
    /// When the line is next checked for a new position.
    next_check_at: Instant,
    /// Waiting for the line to change (it did not since the last check).
    parked: bool,
    stop: CancellationToken,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.domain.metrics().subscribers.dec();
    }
}

impl Follower {
    async fn next(&mut self) -> Option<TicketView> {
        if let Some(first) = self.first.take() {
            return Some(self.emit(first));
        }
        loop {
            let last = self.last.as_ref()?;
            if last.status.is_final() {
                return None;
            }
            let waiting = last.status == TicketStatus::Waiting;
            let lapses_in = self.lapses_in(last);
            tokio::select! {
                biased;
                () = self.stop.cancelled() => return None,
                ticket = self.watch.changed() => {
                    if let Some(next) = self.refresh(ticket).await {
                        return Some(next);
                    }
                }
                // An admission lapses at expires_at even before the sweeper
                // marks it: say so at that instant.
                () = tokio::time::sleep(lapses_in.unwrap_or_default()), if lapses_in.is_some() => {
                    let ticket = self.last.as_ref()?.ticket.clone();
                    if let Some(next) = self.refresh(ticket).await {
                        return Some(next);
                    }
                }
                // A moving line is checked on this follower's own timer,
                // once per interval: thousands of followers never wake
                // together on one change, and each wakes once per push.
                () = tokio::time::sleep_until(self.next_check_at), if waiting && !self.parked => {
                    match self.line.has_changed() {
                        Err(_) => return None,
                        Ok(false) => self.parked = true,
                        Ok(true) => {
                            self.line.borrow_and_update();
                            self.next_check_at = Instant::now() + self.push_interval;
                            let ticket = self.last.as_ref()?.ticket.clone();
                            if let Some(next) = self.refresh(ticket).await {
                                return Some(next);
                            }
                        }
                    }
                }
                // A line that stood still is waited on instead: its next
                // change is checked at once (the last check is an interval
                // old or more). `changed` marks the change seen, so it is
                // acted on here: left to the timer branch, `has_changed`
                // would find nothing new and park again, and a line that
                // moves once per interval or less would never be pushed.
                changed = self.line.changed(), if waiting && self.parked => {
                    if changed.is_err() {
                        return None;
                    }
                    self.parked = false;
                    self.next_check_at = Instant::now() + self.push_interval;
                    let ticket = self.last.as_ref()?.ticket.clone();
                    if let Some(next) = self.refresh(ticket).await {
                        return Some(next);
                    }
                }
            }
        }
    }

    /// The new view of `ticket` if it differs from the last one sent.
    async fn refresh(&mut self, ticket: Ticket) -> Option<TicketView> {
        let next = match view_with_token(&self.domain, ticket, self.token.clone()).await {
            Ok(next) => next,
            Err(err) => {
                tracing::warn!(error = ?err, "queue update skipped");
                return None;
            }
        };
        (self.last.as_ref() != Some(&next)).then(|| self.emit(next))
    }

    fn emit(&mut self, view: TicketView) -> TicketView {
        self.domain.metrics().pushes.inc();
        let was_waiting = self
            .last
            .as_ref()
            .is_some_and(|last| last.status == TicketStatus::Waiting);
        if was_waiting
            && view.status == TicketStatus::Progress
            && let Some(admitted_at) = view.ticket.admitted_at
        {
            let delay = (self.domain.now() - admitted_at)
                .to_std()
                .unwrap_or_default();
            self.domain
                .metrics()
                .admission_push
                .observe(delay.as_secs_f64());
        }
        self.last = Some(view.clone());
        view
    }

    fn lapses_in(&self, last: &TicketView) -> Option<Duration> {
        if last.status != TicketStatus::Progress {
            return None;
        }
        let expires_at = last.ticket.expires_at?;
        let left = (expires_at - self.domain.now())
            .to_std()
            .unwrap_or_default();
        // Never a busy loop if the clock and the timer disagree by a tick.
        Some(left.max(Duration::from_millis(10)))
    }
}
