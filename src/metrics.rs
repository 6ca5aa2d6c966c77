//! Prometheus metrics, served at `GET /metrics` in the OpenMetrics text
//! format. One registry per running server (tests run many in one process),
//! so nothing here is global.
//!
//! Counters count what this process did; the two line gauges are read from
//! the queue when scraped, so they are never stale.

use prometheus_client::encoding::text::encode;
pub use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
pub use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::histogram::exponential_buckets;
use prometheus_client::registry::Registry;

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Tickets waiting in line (set at scrape time).
    pub waiting: Gauge,
    /// Tickets admitted and not yet done or lapsed (set at scrape time).
    pub admitted: Gauge,
    /// Tickets this process admitted.
    pub admissions: Counter,
    /// Seat holds this process committed (replays not counted).
    pub holds: Counter,
    /// Payments this process committed (replays not counted).
    pub payments: Counter,
    /// `queueUpdates` streams open now.
    pub subscribers: Gauge,
    /// Messages sent on `queueUpdates` streams.
    pub pushes: Counter,
    /// Seconds from an admission's timestamp (taken in its transaction)
    /// to its PROGRESS message leaving the subscriber's stream for the
    /// connection: the server's share of the admission push latency.
    pub admission_push: Histogram,
    /// Seconds from an admission's timestamp to its transaction's changes
    /// reaching this process's queue index, committed: the database's
    /// share of [`Self::admission_push`].
    pub admission_commit: Histogram,
    /// Seconds from an admission's commit reaching this process's queue
    /// index to its PROGRESS message leaving the subscriber's stream: the
    /// rest of [`Self::admission_push`], and the push latency as counted
    /// from the commit.
    pub admission_notify: Histogram,
    /// Joins per group-committed transaction.
    pub join_batch: Histogram,
    /// Holds per group-committed transaction.
    pub hold_batch: Histogram,
    /// Charges per group-committed transaction.
    pub charge_batch: Histogram,
    /// Payments per group-committed transaction.
    pub payment_batch: Histogram,
    /// Write transactions begun.
    pub db_transactions: Counter,
    /// SQL statements executed (reads and writes, in or out of a
    /// transaction).
    pub db_statements: Counter,
}

/// 0.25 ms to about 4 s, each bucket √2 wider than the one before: a
/// quantile read from it is off by at most that factor, where doubling
/// buckets could report 442 ms for a p99 measured at 178 ms.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, std::f64::consts::SQRT_2, 29))
}

/// 1 to 256 requests, doubling: the sizes a group commit reaches.
fn batch_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 9))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Self {
            registry: Registry::with_prefix("seatline"),
            waiting: Gauge::default(),
            admitted: Gauge::default(),
            admissions: Counter::default(),
            holds: Counter::default(),
            payments: Counter::default(),
            subscribers: Gauge::default(),
            pushes: Counter::default(),
            admission_push: latency_histogram(),
            admission_commit: latency_histogram(),
            admission_notify: latency_histogram(),
            join_batch: batch_histogram(),
            hold_batch: batch_histogram(),
            charge_batch: batch_histogram(),
            payment_batch: batch_histogram(),
            db_transactions: Counter::default(),
            db_statements: Counter::default(),
        };
        let registry = &mut m.registry;
        registry.register(
            "queue_waiting",
            "Tickets waiting in line",
            m.waiting.clone(),
        );
        registry.register(
            "queue_admitted",
            "Tickets admitted (PROGRESS) now",
            m.admitted.clone(),
        );
        registry.register(
            "queue_admissions",
            "Tickets admitted by this process",
            m.admissions.clone(),
        );
        registry.register("holds", "Seat holds committed", m.holds.clone());
        registry.register("payments", "Payments committed", m.payments.clone());
        registry.register(
            "subscribers",
            "Open queueUpdates subscriptions",
            m.subscribers.clone(),
        );
        registry.register(
            "pushes",
            "Messages sent to queueUpdates subscribers",
            m.pushes.clone(),
        );
        registry.register(
            "admission_push_seconds",
            "From an admission to its PROGRESS message leaving the server's stream",
            m.admission_push.clone(),
        );
        registry.register(
            "admission_commit_seconds",
            "From an admission to its commit reaching the queue index",
            m.admission_commit.clone(),
        );
        registry.register(
            "admission_notify_seconds",
            "From an admission's commit reaching the queue index to its PROGRESS message leaving the server's stream",
            m.admission_notify.clone(),
        );
        registry.register(
            "join_batch_size",
            "Joins written per transaction",
            m.join_batch.clone(),
        );
        registry.register(
            "hold_batch_size",
            "Holds written per transaction",
            m.hold_batch.clone(),
        );
        registry.register(
            "charge_batch_size",
            "Balance charges written per transaction",
            m.charge_batch.clone(),
        );
        registry.register(
            "payment_batch_size",
            "Payments written per transaction",
            m.payment_batch.clone(),
        );
        registry.register(
            "db_transactions",
            "Write transactions begun",
            m.db_transactions.clone(),
        );
        registry.register(
            "db_statements",
            "SQL statements executed",
            m.db_statements.clone(),
        );
        m
    }
}

impl Metrics {
    /// The registry in the OpenMetrics text format.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_metric_with_the_prefix() {
        let m = Metrics::default();
        m.holds.inc();
        m.waiting.set(7);
        let text = m.render();
        assert!(text.contains("seatline_holds_total 1"), "{text}");
        assert!(text.contains("seatline_queue_waiting 7"), "{text}");
        for name in [
            "queue_admitted",
            "queue_admissions_total",
            "payments_total",
            "subscribers",
            "pushes_total",
            "db_transactions_total",
            "db_statements_total",
            "admission_push_seconds_bucket",
            "admission_commit_seconds_bucket",
            "admission_notify_seconds_bucket",
        ] {
            assert!(text.contains(&format!("seatline_{name}")), "{name}: {text}");
        }
    }
}
