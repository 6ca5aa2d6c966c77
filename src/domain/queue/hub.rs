//! The in-process view of the queue: the waiting line index and the fan-out
//! of changes to subscribers. It is a cache of the database, rebuilt from it
//! at start-up and fed only with changes that have committed.
//!
//! Two kinds of signal leave the hub:
//! - a status change goes to the one ticket it concerns, through that
//!   ticket's own `watch` channel (O(1) per change, however many listen);
//! - a change of the line bumps one shared `watch` version. Every waiting
//!   subscriber then recomputes its own position (a binary search) at most
//!   once per push interval. A `watch` keeps only the latest value, so a
//!   slow subscriber never lags behind a queue of stale positions: it just
//!   reads the newest line when it next runs.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use tokio::sync::watch;

use super::model::{AdmissionRate, Ticket, TicketStatus, WaitingLine};
use super::store::QueueChanges;
use crate::clock::Timestamp;

#[derive(Debug)]
pub struct QueueHub {
    line: RwLock<WaitingLine>,
    rate: Mutex<AdmissionRate>,
    line_version: watch::Sender<u64>,
    watchers: Mutex<HashMap<i64, watch::Sender<Ticket>>>,
    /// Which queue versions (one per committed gate lock) this hub has
    /// seen, to notice the ones another process committed.
    versions: Mutex<Versions>,
}

/// A watermark below which every version was applied, plus the versions
/// applied above it. A version missing above the watermark was committed
/// by someone else.
#[derive(Debug)]
struct Versions {
    watermark: i64,
    ahead: BTreeSet<i64>,
}

impl Versions {
    fn applied(&mut self, version: i64) {
        if version > self.watermark {
            self.ahead.insert(version);
        }
        self.advance();
    }

    fn caught_up_to(&mut self, version: i64) {
        self.watermark = self.watermark.max(version);
        let watermark = self.watermark;
        self.ahead.retain(|&v| v > watermark);
        self.advance();
    }

    fn advance(&mut self) {
        while self.ahead.remove(&(self.watermark + 1)) {
            self.watermark += 1;
        }
    }
}

impl QueueHub {
    /// A hub over the waiting line as of queue version `version`.
    #[must_use]
    pub fn new(waiting_ids: Vec<i64>, version: i64) -> Self {
        Self {
            line: RwLock::new(WaitingLine::from_sorted(waiting_ids)),
            rate: Mutex::new(AdmissionRate::default()),
            line_version: watch::Sender::new(0),
            watchers: Mutex::new(HashMap::new()),
            versions: Mutex::new(Versions {
                watermark: version,
                ahead: BTreeSet::new(),
            }),
        }
    }

    /// Records committed ticket changes and notifies whoever listens.
    pub fn apply(&self, changes: &QueueChanges) {
        if let Some(version) = changes.version {
            lock(&self.versions).applied(version);
        }
        if changes.tickets.is_empty() {
            return;
        }
        {
            let mut line = self.line.write().unwrap_or_else(PoisonError::into_inner);
            for ticket in &changes.tickets {
                match ticket.status {
                    TicketStatus::Waiting => line.insert(ticket.id),
                    _ => line.remove(ticket.id),
                }
            }
        }
        {
            let mut rate = lock(&self.rate);
            for ticket in &changes.tickets {
                if let (TicketStatus::Progress, Some(at)) = (ticket.status, ticket.admitted_at) {
                    rate.record(at);
                }
            }
        }
        self.line_version.send_modify(|v| *v += 1);
        self.publish(&changes.tickets);
    }

    /// Pushes each ticket to its watchers, if any, when it differs from
    /// what they last saw.
    pub fn publish(&self, tickets: &[Ticket]) {
        let watchers = lock(&self.watchers);
        for ticket in tickets {
            if let Some(tx) = watchers.get(&ticket.id) {
                tx.send_if_modified(|seen| {
                    let changed = seen != ticket;
                    if changed {
                        seen.clone_from(ticket);
                    }
                    changed
                });
            }
        }
    }

    /// Replaces the line with the database's as of queue version
    /// `version`, after another process changed it.
    pub fn reset_line(&self, waiting_ids: Vec<i64>, version: i64) {
        *self.line.write().unwrap_or_else(PoisonError::into_inner) =
            WaitingLine::from_sorted(waiting_ids);
        lock(&self.versions).caught_up_to(version);
        self.line_version.send_modify(|v| *v += 1);
    }

    /// Every queue version up to this one is reflected here.
    #[must_use]
    pub fn applied_version(&self) -> i64 {
        lock(&self.versions).watermark
    }

    /// Ids of the tickets someone is subscribed to.
    #[must_use]
    pub fn watched_ids(&self) -> Vec<i64> {
        lock(&self.watchers).keys().copied().collect()
    }

    #[must_use]
    pub fn position(&self, ticket_id: i64) -> Option<u64> {
        self.line
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .position(ticket_id)
    }

    #[must_use]
    pub fn waiting_count(&self) -> usize {
        self.line
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    #[must_use]
    pub fn estimate_wait_secs(&self, position: u64, now: Timestamp) -> Option<u64> {
        lock(&self.rate).estimate_wait_secs(position, now)
    }

    /// A receiver that changes whenever the waiting line does.
    #[must_use]
    pub fn line_changes(&self) -> watch::Receiver<u64> {
        self.line_version.subscribe()
    }

    /// Starts listening for status changes of `ticket`. Register before
    /// reading the ticket's current state, so no change slips in between.
    #[must_use]
    pub fn watch_ticket(self: &Arc<Self>, ticket: &Ticket) -> TicketWatch {
        let rx = lock(&self.watchers)
            .entry(ticket.id)
            .or_insert_with(|| watch::Sender::new(ticket.clone()))
            .subscribe();
        TicketWatch {
            hub: Arc::clone(self),
            ticket_id: ticket.id,
            rx: Some(rx),
        }
    }

    #[must_use]
    pub fn watched_tickets(&self) -> usize {
        lock(&self.watchers).len()
    }
}

/// A subscription to one ticket's status; unregisters itself on drop.
#[derive(Debug)]
pub struct TicketWatch {
    hub: Arc<QueueHub>,
    ticket_id: i64,
    rx: Option<watch::Receiver<Ticket>>,
}

impl TicketWatch {
    /// Waits for the next status change and returns the ticket as it is now.
    /// Pending forever if the hub is gone (it never is while we hold it).
    pub async fn changed(&mut self) -> Ticket {
        if let Some(rx) = self.rx.as_mut()
            && rx.changed().await.is_ok()
        {
            return rx.borrow_and_update().clone();
        }
        std::future::pending().await
    }
}

impl Drop for TicketWatch {
    fn drop(&mut self) {
        drop(self.rx.take());
        let mut watchers = lock(&self.hub.watchers);
        if watchers
            .get(&self.ticket_id)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            watchers.remove(&self.ticket_id);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn ticket(id: i64, status: TicketStatus) -> Ticket {
        Ticket {
            id,
            token: format!("t{id}"),
            user_id: format!("u{id}"),
            status,
            entered_at: Utc::now(),
            admitted_at: (status == TicketStatus::Progress).then(Utc::now),
            expires_at: None,
        }
    }

    #[tokio::test]
    async fn a_status_change_reaches_only_its_ticket() {
        let hub = Arc::new(QueueHub::new(vec![1, 2], 0));
        let mut one = hub.watch_ticket(&ticket(1, TicketStatus::Waiting));
        let two = hub.watch_ticket(&ticket(2, TicketStatus::Waiting));
        hub.apply(&QueueChanges {
            version: Some(1),
            tickets: vec![ticket(1, TicketStatus::Progress)],
        });
        assert_eq!(hub.applied_version(), 1);
        assert_eq!(one.changed().await.status, TicketStatus::Progress);
        assert!(
            !two.rx
                .as_ref()
                .is_some_and(|rx| rx.has_changed().unwrap_or(false))
        );
        assert_eq!(hub.position(1), None);
        assert_eq!(hub.position(2), Some(0));
    }

    #[test]
    fn a_version_committed_elsewhere_holds_the_watermark_back() {
        let hub = QueueHub::new(vec![], 10);
        let applied = |v| QueueChanges {
            version: Some(v),
            tickets: vec![],
        };
        hub.apply(&applied(12));
        assert_eq!(hub.applied_version(), 10, "11 is missing");
        hub.apply(&applied(11));
        assert_eq!(hub.applied_version(), 12);
        hub.apply(&applied(14));
        hub.reset_line(vec![], 13);
        assert_eq!(hub.applied_version(), 14);
    }

    #[test]
    fn watchers_unregister_when_dropped() {
        let hub = Arc::new(QueueHub::new(vec![], 0));
        let a = hub.watch_ticket(&ticket(5, TicketStatus::Waiting));
        let b = hub.watch_ticket(&ticket(5, TicketStatus::Waiting));
        assert_eq!(hub.watched_tickets(), 1);
        drop(a);
        assert_eq!(hub.watched_tickets(), 1);
        drop(b);
        assert_eq!(hub.watched_tickets(), 0);
    }
}
