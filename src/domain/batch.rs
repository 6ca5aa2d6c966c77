//! Group commit: requests that arrive while a batch is being written wait
//! for the next batch, and each batch is one transaction.
//!
//! On SQLite every write transaction queues for the one writer, and each
//! statement is a hand-off to its thread; a batch pays for its statements
//! once instead of once per request. A lone request is a batch of one, so
//! an idle server answers as fast as without batching; under load the
//! batch grows by itself.
//!
//! Batches are written by a spawned task, never by a request's own future:
//! a client that hangs up cannot cancel other users' writes half way. The
//! task is the domain's ([`crate::domain::Domain::spawn`]), so shutdown
//! waits for the batch it took before it closes the database.
//!
//! A queue's writer is its own ([`Pending`] keeps the flag that says one
//! runs), or, for queues whose batches share transactions, the [`Lane`]'s,
//! whose flag then decides instead.

use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::clock::Timestamp;

/// Requests waiting for the next batch.
#[derive(Debug)]
pub(crate) struct Pending<R> {
    state: Mutex<State<R>>,
}

#[derive(Debug)]
struct State<R> {
    queue: Vec<R>,
    /// A task is writing batches; it stops when `queue` is empty.
    writing: bool,
}

impl<R> Default for Pending<R> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                queue: Vec::new(),
                writing: false,
            }),
        }
    }
}

impl<R> Pending<R> {
    fn lock(&self) -> MutexGuard<'_, State<R>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `request`; `true` when no writer runs and the caller must
    /// start one.
    pub(crate) fn push(&self, request: R) -> bool {
        let mut state = self.lock();
        state.queue.push(request);
        !std::mem::replace(&mut state.writing, true)
    }

    /// The writer's next batch: up to `max` queued requests, in arrival
    /// order, each one that `fits` beside those taken before it; the rest
    /// keep their order for a later batch. `None` when nothing is queued:
    /// the writer must then stop, and the next request starts a new one.
    pub(crate) fn next_batch(
        &self,
        max: usize,
        mut fits: impl FnMut(&[R], &R) -> bool,
    ) -> Option<Vec<R>> {
        let mut state = self.lock();
        if state.queue.is_empty() {
            state.writing = false;
            return None;
        }
        let mut batch = Vec::with_capacity(max.min(state.queue.len()));
        let mut rest = Vec::new();
        for request in state.queue.drain(..) {
            if batch.len() < max && fits(&batch, &request) {
                batch.push(request);
            } else {
                rest.push(request);
            }
        }
        state.queue = rest;
        Some(batch)
    }

    /// Whether requests wait for a batch.
    pub(crate) fn is_waiting(&self) -> bool {
        !self.lock().queue.is_empty()
    }

    /// Held by the writer task. If the task panics, the requests of the
    /// batch it was writing are dropped (their callers get an error), and
    /// `restart` starts a new writer for the requests still queued; with
    /// none queued, the next request starts one.
    pub(crate) fn writer<F: FnOnce()>(&self, restart: F) -> Writer<'_, R, F> {
        Writer {
            pending: self,
            restart: Some(restart),
        }
    }
}

pub(crate) struct Writer<'a, R, F: FnOnce()> {
    pending: &'a Pending<R>,
    restart: Option<F>,
}

impl<R, F: FnOnce()> Drop for Writer<'_, R, F> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let queued = {
            let mut state = self.pending.lock();
            state.writing = !state.queue.is_empty();
            state.writing
        };
        if queued && let Some(restart) = self.restart.take() {
            restart();
        }
    }
}

/// One writer task for several kinds of pending requests, whose batches
/// then share transactions (see `crate::domain::batched`).
#[derive(Debug, Default)]
pub(crate) struct Lane {
    writing: Mutex<bool>,
}

impl Lane {
    fn lock(&self) -> MutexGuard<'_, bool> {
        self.writing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Called after every request queued for the lane: `true` when no
    /// writer runs and the caller must start one.
    pub(crate) fn start(&self) -> bool {
        !std::mem::replace(&mut *self.lock(), true)
    }

    /// Called by the writer when a look at every queue found nothing:
    /// `true` when it must stop. A request queued after it looked
    /// (`waiting`) and before it stopped found the lane busy and started no
    /// writer, so the writer goes on for it, unless one has started since.
    pub(crate) fn stop(&self, waiting: impl FnOnce() -> bool) -> bool {
        *self.lock() = false;
        !(waiting() && self.start())
    }

    /// Held by the writer task. If the task panics, the requests of the
    /// turn it was writing are dropped (their callers get an error), and
    /// `restart` starts a new writer if requests wait.
    pub(crate) fn writer<W: Fn() -> bool, F: FnOnce()>(
        &self,
        waiting: W,
        restart: F,
    ) -> LaneWriter<'_, W, F> {
        LaneWriter {
            lane: self,
            waiting,
            restart: Some(restart),
        }
    }
}

pub(crate) struct LaneWriter<'a, W: Fn() -> bool, F: FnOnce()> {
    lane: &'a Lane,
    waiting: W,
    restart: Option<F>,
}

impl<W: Fn() -> bool, F: FnOnce()> Drop for LaneWriter<'_, W, F> {
    fn drop(&mut self) {
        if std::thread::panicking()
            && !self.lane.stop(&self.waiting)
            && let Some(restart) = self.restart.take()
        {
            restart();
        }
    }
}

/// The write transactions of batches under way, each by the instant it
/// began.
///
/// A batch judges the time rules at an instant it reads after it began,
/// and commits later: a payment judged before an admission's lapse may
/// commit after it, and the ticket is then DONE, not EXPIRED. Whoever tells
/// a lapse from the clock alone (a subscription's timer) first waits for
/// the batches that began before it ([`InFlight::settled_before`]).
#[derive(Debug)]
pub(crate) struct InFlight {
    began: watch::Sender<Vec<Timestamp>>,
}

impl Default for InFlight {
    fn default() -> Self {
        Self {
            began: watch::Sender::new(Vec::new()),
        }
    }
}

impl InFlight {
    /// Marks a batch under way until the guard drops (after its commit
    /// and the publication of what it changed). `now` is read under the
    /// channel's lock: a batch marked after a waiter looked began no
    /// earlier than the waiter's own reading of the clock.
    pub(crate) fn begin(&self, now: impl FnOnce() -> Timestamp) -> Begun<'_> {
        let mut at = Timestamp::MIN_UTC;
        self.began.send_modify(|began| {
            at = now();
            began.push(at);
        });
        Begun {
            in_flight: self,
            at,
        }
    }

    /// Returns once no batch that began before `instant` is under way:
    /// `true` if it had to wait for one.
    pub(crate) async fn settled_before(&self, instant: Timestamp) -> bool {
        let settled = |began: &Vec<Timestamp>| began.iter().all(|&at| at >= instant);
        let mut began = self.began.subscribe();
        if settled(&began.borrow_and_update()) {
            return false;
        }
        // The sender lives in `self`, which outlives this wait.
        let _ = began.wait_for(settled).await;
        true
    }
}

/// A batch under way; see [`InFlight::begin`].
pub(crate) struct Begun<'a> {
    in_flight: &'a InFlight,
    at: Timestamp,
}

impl Drop for Begun<'_> {
    fn drop(&mut self) {
        let at = self.at;
        self.in_flight.began.send_modify(|began| {
            if let Some(i) = began.iter().position(|&t| t == at) {
                began.swap_remove(i);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wait_for_an_instant_waits_only_for_batches_begun_before_it() {
        use chrono::{TimeDelta, Utc};

        let in_flight = InFlight::default();
        let t0 = crate::clock::truncate_to_millis(Utc::now());
        let lapse = t0 + TimeDelta::seconds(1);
        let soon = || {
            tokio::time::timeout(
                std::time::Duration::from_millis(50),
                in_flight.settled_before(lapse),
            )
        };
        assert_eq!(soon().await, Ok(false), "nothing under way");
        let after = in_flight.begin(|| lapse);
        assert_eq!(soon().await, Ok(false), "a batch begun at the lapse");
        let before = in_flight.begin(|| t0);
        let again = in_flight.begin(|| t0);
        assert!(soon().await.is_err(), "two batches begun before it");
        drop(before);
        assert!(soon().await.is_err(), "one still under way");
        let (waited, ()) = tokio::join!(in_flight.settled_before(lapse), async {
            tokio::task::yield_now().await;
            drop(again);
        });
        assert!(waited, "it waited for the last one to end");
        assert_eq!(soon().await, Ok(false), "both ended");
        drop(after);
    }

    #[test]
    fn the_first_request_starts_the_writer_and_an_empty_queue_stops_it() {
        let pending = Pending::default();
        assert!(pending.push(1));
        assert!(!pending.push(2));
        assert_eq!(pending.next_batch(10, |_, _| true), Some(vec![1, 2]));
        assert_eq!(pending.next_batch(10, |_, _| true), None);
        assert!(pending.push(3), "a stopped writer is started again");
    }

    #[test]
    fn a_writer_that_panics_is_replaced_while_requests_wait() {
        use std::panic::{AssertUnwindSafe, catch_unwind};
        use std::sync::atomic::{AtomicU32, Ordering};

        let pending = Pending::default();
        let restarts = AtomicU32::new(0);
        let restart = || {
            restarts.fetch_add(1, Ordering::Relaxed);
        };
        assert!(pending.push(1));
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let _writer = pending.writer(restart);
            let _batch = pending.next_batch(1, |_, _| true);
            pending.push(2);
            panic!("a bug while writing");
        }));
        assert_eq!(restarts.load(Ordering::Relaxed), 1, "request 2 waits");
        assert!(!pending.push(3), "the new writer is still running");

        let _ = catch_unwind(AssertUnwindSafe(|| {
            let _writer = pending.writer(restart);
            let _batch = pending.next_batch(10, |_, _| true);
            panic!("a bug while writing");
        }));
        assert_eq!(restarts.load(Ordering::Relaxed), 1, "nothing waits");
        assert!(pending.push(4), "the next request starts a writer");
    }

    #[test]
    fn requests_that_do_not_fit_wait_in_order_for_a_later_batch() {
        let pending = Pending::default();
        for n in [1, 2, 11, 3, 12, 4] {
            pending.push(n);
        }
        // At most one request per tens digit in a batch, and three at most.
        let fits = |batch: &[i32], n: &i32| batch.iter().all(|b| b / 10 != n / 10);
        assert_eq!(pending.next_batch(3, fits), Some(vec![1, 11]));
        assert_eq!(pending.next_batch(3, fits), Some(vec![2, 12]));
        assert_eq!(pending.next_batch(1, fits), Some(vec![3]));
        assert_eq!(pending.next_batch(3, fits), Some(vec![4]));
    }

    #[test]
    fn a_lane_has_one_writer_which_stops_only_when_nothing_waits() {
        let lane = Lane::default();
        assert!(lane.start(), "the first request starts the writer");
        assert!(!lane.start(), "the next finds it running");
        assert!(lane.stop(|| false), "nothing waits: it stops");
        assert!(lane.start(), "a stopped writer is started again");
        // A request queued after the writer's last look found it running.
        assert!(!lane.stop(|| true), "it goes on for that request");
        assert!(!lane.start(), "and is still the one writer");
        // Or a new writer started for it between the two.
        let stopped_for_good = lane.stop(|| {
            assert!(lane.start(), "a request arrives and starts a writer");
            true
        });
        assert!(stopped_for_good, "the old writer leaves it to the new one");
    }

    #[test]
    fn a_lane_writer_that_panics_is_replaced_while_requests_wait() {
        use std::panic::{AssertUnwindSafe, catch_unwind};
        use std::sync::atomic::{AtomicU32, Ordering};

        let lane = Lane::default();
        let restarts = AtomicU32::new(0);
        let restart = || {
            restarts.fetch_add(1, Ordering::Relaxed);
        };
        let panic_while = |waiting: bool| {
            let _ = catch_unwind(AssertUnwindSafe(|| {
                let _writer = lane.writer(|| waiting, restart);
                panic!("a bug while writing");
            }));
        };
        assert!(lane.start());
        panic_while(true);
        assert_eq!(restarts.load(Ordering::Relaxed), 1, "requests wait");
        assert!(!lane.start(), "the replacement holds the lane");

        panic_while(false);
        assert_eq!(restarts.load(Ordering::Relaxed), 1, "nothing waits");
        assert!(lane.start(), "the next request starts a writer");
    }
}
