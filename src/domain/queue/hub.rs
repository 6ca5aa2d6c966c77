//! The in-process view of the queue: the waiting line index and the fan-out
//! of changes to subscribers. It is a cache of the database, rebuilt from it
//! at start-up and fed only with changes that have committed.
//!
//! Changes are applied in queue-version order (one version per committed
//! gate lock). This process's own commits arrive right after they commit;
//! versions it never sees were committed by another process and are
//! fetched from the database (`queue::catch_up`), whose rows are always the
//! newest state. Applying strictly in order, from one place, means a
//! ticket's state here never moves backwards.
//!
//! Two kinds of signal leave the hub:
//! - a status change goes to the one ticket it concerns, through that
//!   ticket's own `watch` channel (O(1) per change, however many listen);
//! - a change of the line bumps one shared `watch` version. Every waiting
//!   subscriber then recomputes its own position (a binary search) at most
//!   once per push interval. A `watch` keeps only the latest value, so a
//!   slow subscriber never lags behind a queue of stale positions: it just
//!   reads the newest line when it next runs.
//!
//! The hub also knows every admitted ticket and when it lapses, so a
//! transaction that holds the gate while the hub is current settles the
//! queue without reading it (see [`QueueHub::settle_plan`]). A
//! single-process deployment (SQLite) also keeps the tickets admitted in
//! this process's life by token, so the gate answers most requests without
//! a read (see [`QueueHub::admitted`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

use super::model::{AdmissionRate, Ticket, TicketState, TicketStatus, WaitingLine};
use super::store::QueueChanges;
use crate::clock::Timestamp;

/// Own commits held back waiting for an earlier version; beyond this the
/// hub waits for a catch-up from the database instead of buffering more.
const MAX_PENDING: usize = 4096;

/// Followers that may read their start at once (see [`QueueHub::start_turn`]):
/// several times any read pool, so the pool never idles while others wait.
const MAX_STARTING: usize = 64;

/// Most admitted tickets kept by token; past this, the gate reads the
/// others from the database.
const MAX_ADMITTED: usize = 65_536;

/// Own commits that may wait for an earlier version while tickets are
/// still kept as admitted (see [`Versions::unsettled`]).
const MAX_UNSETTLED: usize = 64;

#[derive(Debug)]
pub struct QueueHub {
    /// Taken first by every writer: serializes the application of changes.
    versions: Mutex<Versions>,
    line: RwLock<WaitingLine>,
    /// Changed only with `versions` held, like `line`.
    admissions: Mutex<Admissions>,
    rate: Mutex<AdmissionRate>,
    line_version: watch::Sender<u64>,
    watchers: Mutex<HashMap<i64, watch::Sender<Published>>>,
    /// Held while a catch-up reads the database (see [`Self::catch_up_turn`]).
    catching_up: tokio::sync::Mutex<()>,
    /// Turns to start following a ticket (see [`Self::start_turn`]).
    starting: tokio::sync::Semaphore,
    /// PROGRESS tickets by token hash, when kept (see [`Self::admitted`]).
    admitted: Option<Mutex<HashMap<String, Ticket>>>,
    /// This process's name in the queue versions it announces.
    instance: u64,
}

/// The admitted (PROGRESS) tickets, and when each lapses.
#[derive(Debug, Default)]
struct Admissions {
    lapse_of: HashMap<i64, Option<Timestamp>>,
    by_lapse: BTreeSet<(Timestamp, i64)>,
}

impl Admissions {
    fn of(admitted: Vec<(i64, Option<Timestamp>)>) -> Self {
        let mut admissions = Self::default();
        for (id, lapses_at) in admitted {
            admissions.insert(id, lapses_at);
        }
        admissions
    }

    fn insert(&mut self, id: i64, lapses_at: Option<Timestamp>) {
        self.lapse_of.insert(id, lapses_at);
        if let Some(at) = lapses_at {
            self.by_lapse.insert((at, id));
        }
    }

    /// Records the ticket's new state.
    fn set(&mut self, ticket: &Ticket) {
        if let Some(Some(at)) = self.lapse_of.remove(&ticket.id) {
            self.by_lapse.remove(&(at, ticket.id));
        }
        if ticket.status == TicketStatus::Progress {
            self.insert(ticket.id, ticket.expires_at);
        }
    }
}

/// What a settle would find in the database, known without reading it
/// (see [`QueueHub::settle_plan`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlePlan {
    /// Tickets admitted, the lapsed ones included.
    pub admitted: u64,
    /// Admitted tickets lapsed by then.
    pub lapsed: u64,
    /// The earliest waiters, as many as the free slots take once the
    /// lapsed ones are expired.
    pub next: Vec<i64>,
}

/// A ticket's state as the hub last published it, and when. (The state,
/// not the ticket: every subscriber holds one, and the rest of a ticket never
/// changes.)
#[derive(Debug)]
struct Published {
    state: TicketState,
    at: Instant,
}

/// Every version up to `watermark` is applied; `pending` holds own commits
/// that arrived ahead of a missing version.
#[derive(Debug)]
struct Versions {
    watermark: i64,
    pending: BTreeMap<i64, Vec<Ticket>>,
    /// The newest own commit not buffered (`MAX_PENDING`): admitted
    /// tickets are kept again once the watermark passes it.
    skipped: i64,
}

impl QueueHub {
    /// A hub over the waiting line and the admitted tickets (with when
    /// each lapses) as of queue version `version`.
    #[must_use]
    pub fn new(
        waiting_ids: Vec<i64>,
        admitted: Vec<(i64, Option<Timestamp>)>,
        version: i64,
    ) -> Self {
        Self {
            versions: Mutex::new(Versions {
                watermark: version,
                pending: BTreeMap::new(),
                skipped: version,
            }),
            line: RwLock::new(WaitingLine::from_sorted(waiting_ids)),
            admissions: Mutex::new(Admissions::of(admitted)),
            rate: Mutex::new(AdmissionRate::default()),
            line_version: watch::Sender::new(0),
            watchers: Mutex::new(HashMap::new()),
            catching_up: tokio::sync::Mutex::new(()),
            starting: tokio::sync::Semaphore::new(MAX_STARTING),
            admitted: None,
            instance: Uuid::new_v4().as_u64_pair().0,
        }
    }

    /// Also keeps the tickets admitted from now on by token hash, for
    /// [`Self::admitted`]. Only for a process that commits every queue
    /// change itself: another's admissions and finishes reach this one a
    /// moment after they commit, and the gate must not answer from before.
    #[must_use]
    pub fn keeping_admitted(mut self) -> Self {
        self.admitted = Some(Mutex::new(HashMap::new()));
        self
    }

    /// The admitted ticket this token hash names, if this process admitted
    /// it and nothing has changed it since; `None` sends the caller to the
    /// database. A ticket enters when the admission is applied here, in
    /// queue-version order, and leaves as soon as a commit changing it is
    /// handed over (before that commit's requests are answered), so a
    /// finished ticket is never found.
    #[must_use]
    pub fn admitted(&self, token_hash: &str) -> Option<Ticket> {
        lock(self.admitted.as_ref()?).get(token_hash).cloned()
    }

    /// This process's name in queue announcements: random, so two
    /// processes (or two servers in one test process) never share it.
    #[must_use]
    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// Waits for any catch-up under way to finish: one at a time, so the
    /// requests that find the line behind share one trip to the database
    /// instead of each making its own.
    pub async fn catch_up_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.catching_up.lock().await
    }

    /// Waits for a turn to start following a ticket, which takes a few
    /// reads. When thousands subscribe at once, each read waiting for a
    /// connection holds about 7 KiB, and the allocator keeps that peak
    /// resident long after: it cost more than the subscriptions themselves
    /// (BENCHMARKS.md, seventh session). A start waiting here holds none of
    /// it, and the reads still run as fast as the pool serves them. `None`
    /// only if the semaphore were closed, which it never is.
    pub async fn start_turn(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.starting.acquire().await.ok()
    }

    /// Records the changes of a transaction this process committed.
    pub fn apply(&self, changes: &QueueChanges) {
        let mut versions = lock(&self.versions);
        // At once, even if an earlier version holds the rest back: a
        // ticket this commit changed is read from the database until its
        // new state is applied. (Under the versions lock: a drain running
        // now cannot bring it back behind our back.)
        self.forget_admitted(&changes.tickets);
        let Some(version) = changes.version else {
            self.apply_tickets(&versions, &changes.tickets);
            return;
        };
        if version <= versions.watermark {
            // Already covered by a catch-up.
            return;
        }
        if versions.pending.len() >= MAX_PENDING {
            // Far behind: a catch-up will bring the newest state. Until it
            // has, no admission applied here may outlive this change.
            versions.skipped = versions.skipped.max(version);
            return;
        }
        versions.pending.insert(version, changes.tickets.clone());
        self.drain(&mut versions);
    }

    /// Applies the newest state of tickets changed after the watermark, as
    /// read from the database when its committed version was `committed`.
    pub fn catch_up(&self, committed: i64, changed: Vec<(i64, Ticket)>) {
        let mut versions = lock(&self.versions);
        let newest = changed
            .iter()
            .map(|(v, _)| *v)
            .max()
            .unwrap_or(committed)
            .max(committed);
        let fresh: Vec<Ticket> = changed
            .into_iter()
            .filter(|(v, _)| *v > versions.watermark)
            .map(|(_, t)| t)
            .collect();
        self.apply_tickets(&versions, &fresh);
        self.advance_to(&mut versions, newest);
    }

    /// Replaces the line and the admitted tickets with the database's and
    /// pushes `watched`, the state of every watched ticket, all read in one
    /// snapshot at version `committed`. Nothing changes if the hub has
    /// applied that version meanwhile: its own commits since are newer
    /// than the snapshot, which would move their tickets back.
    pub fn reload(
        &self,
        committed: i64,
        waiting_ids: Vec<i64>,
        admitted: Vec<(i64, Option<Timestamp>)>,
        watched: &[Ticket],
    ) {
        let mut versions = lock(&self.versions);
        if versions.watermark >= committed {
            return;
        }
        *self.line.write().unwrap_or_else(PoisonError::into_inner) =
            WaitingLine::from_sorted(waiting_ids);
        *lock(&self.admissions) = Admissions::of(admitted);
        if let Some(admitted) = &self.admitted {
            // Whatever changed in the versions skipped: read from the
            // database again.
            lock(admitted).clear();
        }
        self.line_version.send_modify(|v| *v += 1);
        self.publish(watched);
        self.advance_to(&mut versions, committed);
    }

    /// Every queue version up to this one is reflected here.
    #[must_use]
    pub fn applied_version(&self) -> i64 {
        lock(&self.versions).watermark
    }

    /// Which of the tickets `ids` are admitted (PROGRESS, not lapsed) at
    /// `now`, as a transaction holding the gate at `version` sees them;
    /// `None` unless this hub has applied every version before `version`
    /// (see [`Self::settle_plan`]).
    #[must_use]
    pub fn admitted_among(
        &self,
        version: i64,
        ids: &[i64],
        now: Timestamp,
    ) -> Option<HashSet<i64>> {
        let versions = lock(&self.versions);
        if !versions.current_for(version) {
            return None;
        }
        let admissions = lock(&self.admissions);
        Some(
            ids.iter()
                .copied()
                .filter(|id| {
                    admissions
                        .lapse_of
                        .get(id)
                        .is_some_and(|at| at.is_some_and(|at| at > now))
                })
                .collect(),
        )
    }

    /// What a settle at `now` would find, for a transaction that holds the
    /// gate at queue version `version` and has already changed the tickets
    /// `earlier` (admitted ones only, never to WAITING: the line is the
    /// hub's as it stands); `None` unless this hub has applied every
    /// version before `version`.
    ///
    /// Holding the gate, the transaction sees the database as of the
    /// version before its own, and nobody else can change a ticket's
    /// status until it commits. Every version up to that one applied here,
    /// in order, the hub knows the same waiting line and the same admitted
    /// tickets, so the settle need not read them.
    #[must_use]
    pub fn settle_plan(
        &self,
        version: i64,
        now: Timestamp,
        capacity: u32,
        earlier: &[Ticket],
    ) -> Option<SettlePlan> {
        let versions = lock(&self.versions);
        if !versions.current_for(version)
            || earlier.iter().any(|t| t.status == TicketStatus::Waiting)
        {
            return None;
        }
        let changed: HashSet<i64> = earlier.iter().map(|t| t.id).collect();
        let mine = earlier
            .iter()
            .filter(|t| t.status == TicketStatus::Progress);
        let (admitted, lapsed) = {
            let admissions = lock(&self.admissions);
            let gone = changed
                .iter()
                .filter(|id| admissions.lapse_of.contains_key(id))
                .count();
            let lapsed = admissions
                .by_lapse
                .range(..=(now, i64::MAX))
                .filter(|(_, id)| !changed.contains(id))
                .count();
            (
                admissions.lapse_of.len() - gone + mine.clone().count(),
                lapsed
                    + mine
                        .filter(|t| t.expires_at.is_some_and(|at| at <= now))
                        .count(),
            )
        };
        let free = u64::from(capacity).saturating_sub((admitted - lapsed) as u64);
        let next = self
            .line
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .first(usize::try_from(free).unwrap_or(usize::MAX))
            .collect();
        Some(SettlePlan {
            admitted: admitted as u64,
            lapsed: lapsed as u64,
            next,
        })
    }

    fn advance_to(&self, versions: &mut Versions, version: i64) {
        versions.watermark = versions.watermark.max(version);
        let watermark = versions.watermark;
        versions.pending.retain(|&v, _| v > watermark);
        self.drain(versions);
    }

    fn drain(&self, versions: &mut Versions) {
        while let Some(tickets) = versions.pending.remove(&(versions.watermark + 1)) {
            versions.watermark += 1;
            self.apply_tickets(versions, &tickets);
        }
    }

    /// Applies tickets in their newest known state, with the versions
    /// lock held (`versions` says what is still to come).
    fn apply_tickets(&self, versions: &Versions, tickets: &[Ticket]) {
        if tickets.is_empty() {
            return;
        }
        {
            let mut line = self.line.write().unwrap_or_else(PoisonError::into_inner);
            let mut admissions = lock(&self.admissions);
            for ticket in tickets {
                match ticket.status {
                    TicketStatus::Waiting => line.insert(ticket.id),
                    _ => line.remove(ticket.id),
                }
                admissions.set(ticket);
            }
        }
        {
            let mut rate = lock(&self.rate);
            for ticket in tickets {
                if let (TicketStatus::Progress, Some(at)) = (ticket.status, ticket.admitted_at) {
                    rate.record(at);
                }
            }
        }
        if let Some(admitted) = &self.admitted {
            let unsettled = versions.unsettled();
            let mut admitted = lock(admitted);
            for ticket in tickets {
                let keep = ticket.status == TicketStatus::Progress
                    && (admitted.len() < MAX_ADMITTED || admitted.contains_key(&ticket.token_hash))
                    && unsettled
                        .as_ref()
                        .is_some_and(|ids| !ids.contains(&ticket.id));
                if keep {
                    admitted.insert(ticket.token_hash.clone(), ticket.clone());
                } else {
                    admitted.remove(&ticket.token_hash);
                }
            }
        }
        self.line_version.send_modify(|v| *v += 1);
        self.publish(tickets);
    }

    /// For a commit whose outcome is unknown: the tickets it changed are
    /// read from the database again until a catch-up applies whatever it
    /// committed.
    pub fn forget_uncertain(&self, changes: &QueueChanges) {
        let _versions = lock(&self.versions);
        self.forget_admitted(&changes.tickets);
    }

    fn forget_admitted(&self, tickets: &[Ticket]) {
        if let Some(admitted) = &self.admitted {
            let mut admitted = lock(admitted);
            for ticket in tickets {
                admitted.remove(&ticket.token_hash);
            }
        }
    }

    /// Pushes each ticket to its watchers, if any, when it differs from
    /// what they last saw.
    fn publish(&self, tickets: &[Ticket]) {
        let now = Instant::now();
        let watchers = lock(&self.watchers);
        for ticket in tickets {
            if let Some(tx) = watchers.get(&ticket.id) {
                let state = ticket.state();
                tx.send_if_modified(|seen| {
                    let changed = seen.state != state;
                    if changed {
                        seen.state = state;
                        seen.at = now;
                    }
                    changed
                });
            }
        }
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
            .or_insert_with(|| {
                watch::Sender::new(Published {
                    state: ticket.state(),
                    at: Instant::now(),
                })
            })
            .subscribe();
        TicketWatch {
            hub: Arc::clone(self),
            ticket_id: ticket.id,
            rx: Some(rx),
        }
    }

    /// Ids of the tickets someone is subscribed to.
    #[must_use]
    pub fn watched_ids(&self) -> Vec<i64> {
        lock(&self.watchers).keys().copied().collect()
    }
}

/// A subscription to one ticket's status; unregisters itself on drop.
#[derive(Debug)]
pub struct TicketWatch {
    hub: Arc<QueueHub>,
    ticket_id: i64,
    rx: Option<watch::Receiver<Published>>,
}

impl TicketWatch {
    /// Waits for the next status change and returns the ticket's state as
    /// it is now, with when the hub published it (right after its commit).
    /// Pending forever if the hub is gone (it never is while we hold it).
    pub async fn changed(&mut self) -> (TicketState, Instant) {
        if let Some(rx) = self.rx.as_mut()
            && rx.changed().await.is_ok()
        {
            let published = rx.borrow_and_update();
            return (published.state, published.at);
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

impl Versions {
    /// Whether every version before `version` is applied, and no later
    /// one: what a transaction holding the gate at `version` reads.
    fn current_for(&self, version: i64) -> bool {
        self.watermark == version - 1
    }

    /// The tickets that own commits waiting to be applied will change: one
    /// applied now was read, or committed, before that change, so it may
    /// not be kept as admitted. `None` while a skipped commit is unapplied,
    /// or while more than a few commits wait (rare, and walked again for
    /// every version drained): then none may be.
    fn unsettled(&self) -> Option<HashSet<i64>> {
        (self.watermark >= self.skipped && self.pending.len() <= MAX_UNSETTLED)
            .then(|| self.pending.values().flatten().map(|t| t.id).collect())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::queue::model::test_ticket as ticket;

    fn at(version: i64, tickets: Vec<Ticket>) -> QueueChanges {
        QueueChanges {
            version: Some(version),
            tickets,
        }
    }

    #[tokio::test]
    async fn a_status_change_reaches_only_its_ticket() {
        let hub = Arc::new(QueueHub::new(vec![1, 2], vec![], 0));
        let mut one = hub.watch_ticket(&ticket(1, TicketStatus::Waiting));
        let two = hub.watch_ticket(&ticket(2, TicketStatus::Waiting));
        hub.apply(&at(1, vec![ticket(1, TicketStatus::Progress)]));
        assert_eq!(one.changed().await.0.status, TicketStatus::Progress);
        assert!(
            !two.rx
                .as_ref()
                .is_some_and(|rx| rx.has_changed().unwrap_or(false))
        );
        assert_eq!(hub.position(1), None);
        assert_eq!(hub.position(2), Some(0));
    }

    #[test]
    fn commits_apply_in_version_order() {
        let hub = QueueHub::new(vec![], vec![], 10);
        hub.apply(&at(12, vec![ticket(7, TicketStatus::Progress)]));
        assert_eq!(hub.applied_version(), 10, "11 is missing");
        hub.apply(&at(11, vec![ticket(7, TicketStatus::Waiting)]));
        assert_eq!(hub.applied_version(), 12);
        assert_eq!(
            hub.position(7),
            None,
            "12 (admitted) came after 11 (waiting)"
        );
    }

    #[test]
    fn a_catch_up_supersedes_older_own_commits() {
        let hub = QueueHub::new(vec![], vec![], 10);
        hub.apply(&at(13, vec![ticket(7, TicketStatus::Waiting)]));
        // Another process committed 11 and 12; the database's row for
        // ticket 7 is newer than our buffered commit.
        hub.catch_up(13, vec![(13, ticket(7, TicketStatus::Progress))]);
        assert_eq!(hub.applied_version(), 13);
        assert_eq!(hub.position(7), None);
        // A late own commit at or below the watermark changes nothing.
        hub.apply(&at(12, vec![ticket(7, TicketStatus::Waiting)]));
        assert_eq!(hub.position(7), None);
    }

    #[test]
    fn admitted_tickets_are_kept_by_token_until_a_commit_changes_them() {
        let hub = QueueHub::new(vec![1], vec![], 10).keeping_admitted();
        assert_eq!(hub.admitted("h1"), None, "waiting");
        hub.apply(&at(11, vec![ticket(1, TicketStatus::Progress)]));
        assert_eq!(hub.admitted("h1").map(|t| t.id), Some(1));
        // Version 12 (another ticket) is not applied yet: 13 waits for it,
        // but its finish must not leave ticket 1 admitted meanwhile.
        hub.apply(&at(13, vec![ticket(1, TicketStatus::Done)]));
        assert_eq!(hub.applied_version(), 11);
        assert_eq!(hub.admitted("h1"), None);
        hub.apply(&at(12, vec![ticket(2, TicketStatus::Progress)]));
        assert_eq!(hub.applied_version(), 13);
        assert_eq!(hub.admitted("h1"), None, "12 did not bring it back");
        assert_eq!(hub.admitted("h2").map(|t| t.id), Some(2));
        hub.reload(20, vec![], vec![], &[]);
        assert_eq!(
            hub.admitted("h2"),
            None,
            "skipped versions may have changed it"
        );
    }

    #[test]
    fn a_catch_up_read_before_a_finish_does_not_bring_the_ticket_back() {
        let hub = QueueHub::new(vec![], vec![], 10).keeping_admitted();
        // Another process admitted ticket 1 at 11 and committed 12; this
        // one finished ticket 1 at 13, which waits for 12.
        hub.apply(&at(13, vec![ticket(1, TicketStatus::Done)]));
        // A catch-up that read the database before 12 and 13 committed.
        hub.catch_up(11, vec![(11, ticket(1, TicketStatus::Progress))]);
        assert_eq!(hub.applied_version(), 11);
        assert_eq!(hub.admitted("h1"), None, "13 finished it");
        hub.apply(&at(12, vec![]));
        assert_eq!(hub.applied_version(), 13);
        assert_eq!(hub.admitted("h1"), None);
    }

    #[test]
    fn no_admission_is_kept_across_a_commit_the_hub_could_not_buffer() {
        let hub = QueueHub::new(vec![], vec![], 10).keeping_admitted();
        // 11 is missing; 12 admits ticket 1, and the buffer fills up.
        hub.apply(&at(12, vec![ticket(1, TicketStatus::Progress)]));
        let last = 12 + MAX_PENDING as i64;
        for version in 13..last {
            hub.apply(&at(version, vec![ticket(version, TicketStatus::Waiting)]));
        }
        // The finish of ticket 1 finds no room.
        hub.apply(&at(last, vec![ticket(1, TicketStatus::Done)]));
        // A catch-up as of 11 lets the buffered versions through.
        hub.catch_up(11, vec![]);
        assert_eq!(hub.applied_version(), last - 1);
        assert_eq!(hub.admitted("h1"), None, "its finish was never applied");
        // A catch-up brings the finish, and admissions are kept again.
        hub.catch_up(last, vec![(last, ticket(1, TicketStatus::Done))]);
        hub.apply(&at(last + 1, vec![ticket(2, TicketStatus::Progress)]));
        assert_eq!(hub.admitted("h1"), None);
        assert_eq!(hub.admitted("h2").map(|t| t.id), Some(2));
    }

    #[test]
    fn a_long_backlog_keeps_nothing_while_it_drains() {
        let hub = QueueHub::new(vec![], vec![], 10).keeping_admitted();
        // 11 is missing; 12 admits ticket 1, and many commits follow it.
        hub.apply(&at(12, vec![ticket(1, TicketStatus::Progress)]));
        let last = 13 + MAX_UNSETTLED as i64;
        for version in 13..=last {
            hub.apply(&at(version, vec![]));
        }
        hub.apply(&at(11, vec![]));
        assert_eq!(hub.applied_version(), last);
        assert_eq!(hub.admitted("h1"), None, "read from the database");
        hub.apply(&at(last + 1, vec![ticket(2, TicketStatus::Progress)]));
        assert_eq!(hub.admitted("h2").map(|t| t.id), Some(2));
    }

    #[test]
    fn a_hub_not_keeping_admitted_tickets_sends_every_gate_to_the_database() {
        let hub = QueueHub::new(vec![], vec![], 10);
        hub.apply(&at(11, vec![ticket(1, TicketStatus::Progress)]));
        assert_eq!(hub.admitted("h1"), None);
    }

    fn admitted_until(id: i64, lapses_at: Timestamp) -> Ticket {
        Ticket {
            expires_at: Some(lapses_at),
            ..ticket(id, TicketStatus::Progress)
        }
    }

    #[test]
    fn a_current_hub_knows_which_tickets_are_admitted() {
        let now = Utc::now();
        let (past, future) = (
            now - chrono::TimeDelta::seconds(1),
            now + chrono::TimeDelta::seconds(60),
        );
        let hub = QueueHub::new(vec![3], vec![(1, Some(past)), (2, Some(future))], 10);
        // Lapsed, admitted, waiting, unknown.
        let ids = [1, 2, 3, 4];
        assert_eq!(hub.admitted_among(11, &ids, now), Some(HashSet::from([2])));
        assert_eq!(hub.admitted_among(12, &ids, now), None, "11 is missing");
        hub.apply(&at(
            11,
            vec![
                Ticket {
                    status: TicketStatus::Done,
                    ..admitted_until(2, future)
                },
                admitted_until(3, future),
            ],
        ));
        assert_eq!(hub.admitted_among(12, &ids, now), Some(HashSet::from([3])));
    }

    #[test]
    fn a_current_hub_plans_the_settle_of_the_next_version() {
        let now = Utc::now();
        let (past, future) = (
            now - chrono::TimeDelta::seconds(1),
            now + chrono::TimeDelta::seconds(60),
        );
        let hub = QueueHub::new(vec![5, 6, 7], vec![(1, Some(past)), (2, Some(future))], 10);
        // Capacity 3: 2 admitted, 1 of them lapsed, so 2 slots free.
        assert_eq!(
            hub.settle_plan(11, now, 3, &[]),
            Some(SettlePlan {
                admitted: 2,
                lapsed: 1,
                next: vec![5, 6]
            })
        );
        assert_eq!(
            hub.settle_plan(12, now, 3, &[]),
            None,
            "version 11 is not applied"
        );
        assert_eq!(
            hub.settle_plan(10, now, 3, &[]),
            None,
            "version 10 is already applied"
        );

        // Version 11 admits 5 and 6 and finishes 2; ticket 1's lapse was
        // expired with it.
        hub.apply(&at(
            11,
            vec![
                Ticket {
                    status: TicketStatus::Expired,
                    ..admitted_until(1, past)
                },
                Ticket {
                    status: TicketStatus::Done,
                    ..admitted_until(2, future)
                },
                admitted_until(5, future),
                admitted_until(6, future),
            ],
        ));
        assert_eq!(
            hub.settle_plan(12, now, 3, &[]),
            Some(SettlePlan {
                admitted: 2,
                lapsed: 0,
                next: vec![7]
            })
        );
        // A transaction that finished ticket 5 before its settle.
        let finished = Ticket {
            status: TicketStatus::Done,
            ..admitted_until(5, future)
        };
        assert_eq!(
            hub.settle_plan(12, now, 2, &[finished]),
            Some(SettlePlan {
                admitted: 1,
                lapsed: 0,
                next: vec![7]
            })
        );
        assert_eq!(
            hub.settle_plan(12, now, 3, &[ticket(9, TicketStatus::Waiting)]),
            None,
            "a new waiter may belong anywhere in the line"
        );
    }

    #[test]
    fn a_reload_replaces_the_admitted_tickets() {
        let now = Utc::now();
        let hub = QueueHub::new(vec![], vec![(1, None), (2, None)], 10);
        hub.reload(20, vec![8], vec![(3, Some(now))], &[]);
        assert_eq!(
            hub.settle_plan(21, now, 1, &[]),
            Some(SettlePlan {
                admitted: 1,
                lapsed: 1,
                next: vec![8]
            })
        );
    }

    #[test]
    fn a_reload_older_than_what_the_hub_applied_changes_nothing() {
        let hub = QueueHub::new(vec![1], vec![], 10);
        // Read as of 11, while this process committed 11 and 12: 12 took
        // ticket 1 out of the line and admitted ticket 2.
        hub.apply(&at(11, vec![]));
        hub.apply(&at(
            12,
            vec![
                ticket(1, TicketStatus::Done),
                ticket(2, TicketStatus::Progress),
            ],
        ));
        hub.reload(11, vec![1], vec![], &[]);
        assert_eq!(hub.position(1), None, "ticket 1 stays finished");
        assert_eq!(
            hub.settle_plan(13, Utc::now(), 2, &[])
                .map(|plan| plan.admitted),
            Some(1),
            "ticket 2 stays admitted"
        );
    }

    #[test]
    fn watchers_unregister_when_dropped() {
        let hub = Arc::new(QueueHub::new(vec![], vec![], 0));
        let a = hub.watch_ticket(&ticket(5, TicketStatus::Waiting));
        let b = hub.watch_ticket(&ticket(5, TicketStatus::Waiting));
        assert_eq!(hub.watched_ids().len(), 1);
        drop(a);
        assert_eq!(hub.watched_ids().len(), 1);
        drop(b);
        assert!(hub.watched_ids().is_empty());
    }

    #[tokio::test]
    async fn followers_start_a_bounded_number_at_a_time() {
        use futures_util::FutureExt;

        let hub = QueueHub::new(vec![], vec![], 0);
        let mut turns = Vec::new();
        for _ in 0..MAX_STARTING {
            turns.push(hub.start_turn().await);
        }
        assert!(
            hub.start_turn().now_or_never().is_none(),
            "one more start waits while {MAX_STARTING} are under way"
        );
        turns.pop();
        assert!(
            hub.start_turn().now_or_never().flatten().is_some(),
            "a finished start lets the next one in"
        );
    }
}
