//! The domain: queue, catalog, booking, wallet and payment rules, with their
//! persistence. Nothing here knows about GraphQL or HTTP.
//!
//! Every operation is a free function of its context taking the shared
//! [`Domain`] handle (`booking::hold_seat(&domain, …)`). Invariants that must
//! survive a crash or a second process live in the database (unique
//! indexes, CHECK constraints, guarded updates inside transactions); the
//! in-process [`queue::QueueHub`] is a cache rebuilt from it.

pub(crate) mod batch;
pub(crate) mod batched;
pub mod booking;
pub mod catalog;
pub mod error;
pub(crate) mod idempotency;
pub mod payment;
pub mod queue;
pub mod wallet;

use std::sync::Arc;

use chrono::TimeDelta;
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbBackend};
use tokio_util::task::TaskTracker;

use self::batch::{InFlight, Lane};
use self::booking::{Holds, RecentHolds, Taken};
use self::catalog::Layouts;
pub use self::error::{Error, Result};
use self::payment::Payments;
use self::queue::tokens::TokenKey;
use self::queue::{Joins, Lookups, QueueHub};
use self::wallet::Charges;
use crate::clock::{Clock, Timestamp};
use crate::metrics::Metrics;

/// The business rules' tunables (SPEC section 8).
#[derive(Debug, Clone)]
pub struct Rules {
    pub queue_capacity: u32,
    pub active_ttl: TimeDelta,
    pub hold_ttl: TimeDelta,
    pub max_holds_per_user: u32,
    pub max_charge_won: i64,
}

/// Shared handle to the database, the clock, the rules and the queue hub.
/// Cheap to clone: one reference count, however much it holds (a request
/// clones it several times on its way through the router and the batches).
#[derive(Clone)]
pub struct Domain(Arc<Shared>);

struct Shared {
    db: DatabaseConnection,
    /// Reads outside write transactions (`db` itself unless SQLite gets
    /// read connections of its own; see `db::connect_readers`).
    reader: DatabaseConnection,
    clock: Arc<dyn Clock>,
    rules: Rules,
    hub: Arc<QueueHub>,
    joins: Joins,
    lookups: Lookups,
    holds: Holds,
    taken: Taken,
    layouts: Layouts,
    recent_holds: RecentHolds,
    charges: Charges,
    payments: Payments,
    /// On SQLite: the one writer of holds, charges and payments.
    lane: Option<Lane>,
    /// The batches being written (see [`batch::InFlight`]).
    in_flight: InFlight,
    tokens: TokenKey,
    metrics: Arc<Metrics>,
    /// Every task the domain starts (batch writers, readers, catch-ups)
    /// and the background jobs: shutdown waits for them before it closes
    /// the database.
    tasks: TaskTracker,
}

impl Domain {
    /// Builds the domain over a migrated database, loading the waiting line.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn load(
        db: DatabaseConnection,
        reader: DatabaseConnection,
        clock: Arc<dyn Clock>,
        rules: Rules,
        tokens: TokenKey,
        metrics: Arc<Metrics>,
    ) -> Result<Self> {
        // In one snapshot, as a catch-up's reload: other instances may
        // commit between its reads.
        let snapshot = crate::db::begin_snapshot(&db).await?;
        let line = queue::store::line(&snapshot).await?;
        snapshot.commit().await?;
        let mut hub = QueueHub::new(line.waiting, line.admitted, line.version);
        let sqlite = db.get_database_backend() == DbBackend::Sqlite;
        if sqlite {
            // One process owns a SQLite file (start-up refuses a second),
            // so every queue change passes through this hub first.
            hub = hub.keeping_admitted();
        }
        Ok(Self(Arc::new(Shared {
            db,
            reader,
            clock,
            rules,
            hub: Arc::new(hub),
            joins: Joins::default(),
            lookups: Lookups::default(),
            holds: Holds::default(),
            taken: Taken::default(),
            layouts: Layouts::default(),
            recent_holds: RecentHolds::default(),
            charges: Charges::default(),
            payments: Payments::default(),
            lane: sqlite.then(Lane::default),
            in_flight: InFlight::default(),
            tokens,
            metrics,
            tasks: TaskTracker::new(),
        })))
    }

    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.0.clock.now()
    }

    /// Derives and checks queue tokens.
    #[must_use]
    pub fn tokens(&self) -> &TokenKey {
        &self.0.tokens
    }

    #[must_use]
    pub fn rules(&self) -> &Rules {
        &self.0.rules
    }

    /// The writer: write transactions, and reads that must come after
    /// them on the same connection.
    #[must_use]
    pub fn db(&self) -> &DatabaseConnection {
        &self.0.db
    }

    /// For reads outside write transactions: they see every transaction
    /// committed before they start, and wait for none in progress.
    #[must_use]
    pub fn reader(&self) -> &DatabaseConnection {
        &self.0.reader
    }

    #[must_use]
    pub fn hub(&self) -> &Arc<QueueHub> {
        &self.0.hub
    }

    pub(crate) fn joins(&self) -> &Joins {
        &self.0.joins
    }

    pub(crate) fn lookups(&self) -> &Lookups {
        &self.0.lookups
    }

    pub(crate) fn holds(&self) -> &Holds {
        &self.0.holds
    }

    pub(crate) fn taken(&self) -> &Taken {
        &self.0.taken
    }

    /// Where holds, charges and payments queue when one writer writes
    /// them all (SQLite); `None` on PostgreSQL.
    pub(crate) fn lane(&self) -> Option<&Lane> {
        self.0.lane.as_ref()
    }

    pub(crate) fn in_flight(&self) -> &InFlight {
        &self.0.in_flight
    }

    pub(crate) fn layouts(&self) -> &Layouts {
        &self.0.layouts
    }

    pub(crate) fn recent_holds(&self) -> &RecentHolds {
        &self.0.recent_holds
    }

    pub(crate) fn charges(&self) -> &Charges {
        &self.0.charges
    }

    pub(crate) fn payments(&self) -> &Payments {
        &self.0.payments
    }

    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The tasks shutdown waits for before it closes the database.
    #[must_use]
    pub fn tasks(&self) -> &TaskTracker {
        &self.0.tasks
    }

    /// Runs `task` on its own, tracked by [`Domain::tasks`]: a write it
    /// started is finished before the database closes.
    pub(crate) fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.0.tasks.spawn(task);
    }

    /// Hands the queue changes of a transaction this process committed to
    /// the hub, counting admissions.
    fn publish(&self, changes: &queue::QueueChanges) {
        let now = self.now();
        let mut admitted = 0;
        for ticket in &changes.tickets {
            if ticket.status == queue::TicketStatus::Progress
                && let Some(at) = ticket.admitted_at
            {
                admitted += 1;
                let took = (now - at).to_std().unwrap_or_default();
                self.0.metrics.admission_commit.observe(took.as_secs_f64());
            }
        }
        self.0.metrics.admissions.inc_by(admitted);
        self.0.hub.apply(changes);
    }

    /// Commits `txn` and publishes its queue `changes`. When the commit
    /// fails, it may still have committed: the error can come after the
    /// database received the COMMIT. A version committed and not published
    /// would hold back every later one in the hub, and this instance's
    /// listener ignores its own announcements, so a catch-up from the
    /// database starts at once (the sweeper's check stays the backstop),
    /// and until then the tickets it changed are read from the database.
    ///
    /// # Errors
    /// When the commit fails.
    pub(crate) async fn commit_queue(
        &self,
        txn: DatabaseTransaction,
        changes: &queue::QueueChanges,
    ) -> Result<()> {
        if let Err(err) = txn.commit().await {
            self.0.hub.forget_uncertain(changes);
            if changes.version.is_some() {
                let domain = self.clone();
                self.spawn(async move {
                    if let Err(err) = queue::catch_up(&domain).await {
                        tracing::warn!(error = ?err, "catch-up after a failed commit failed");
                    }
                });
            }
            return Err(err.into());
        }
        self.publish(changes);
        Ok(())
    }

    /// Begins a write transaction ([`crate::db::begin_write`]), counted.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction> {
        self.0.metrics.db_transactions.inc();
        Ok(crate::db::begin_write(&self.0.db).await?)
    }
}

/// A domain over `db` (its own reader too) whose clock stands at `now`,
/// with a queue of one admitted and one hold per user.
#[cfg(test)]
pub(crate) async fn at(db: &DatabaseConnection, now: Timestamp) -> Domain {
    let rules = Rules {
        queue_capacity: 1,
        active_ttl: TimeDelta::minutes(10),
        hold_ttl: TimeDelta::minutes(5),
        max_holds_per_user: 1,
        max_charge_won: 1,
    };
    Domain::load(
        db.clone(),
        db.clone(),
        Arc::new(crate::clock::ManualClock::new(now)),
        rules,
        TokenKey::random(),
        Arc::default(),
    )
    .await
    .expect("domain")
}
