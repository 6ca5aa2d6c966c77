//! Time as the domain sees it: injectable, so tests can move it, and always
//! truncated to whole milliseconds.
//!
//! Millisecond truncation is what keeps timestamp comparisons correct on
//! SQLite, where sqlx stores `DateTime<Utc>` as RFC 3339 text with a
//! variable-length fraction: with every value at millisecond precision the
//! text sorts exactly like the instant it names.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

pub type Timestamp = DateTime<Utc>;

pub trait Clock: Send + Sync + 'static {
    /// The current instant, truncated to milliseconds.
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        truncate_to_millis(Utc::now())
    }
}

/// A clock that stands still until moved; for tests of time rules.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<Timestamp>>);

impl ManualClock {
    #[must_use]
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(truncate_to_millis(start))))
    }

    pub fn advance(&self, by: TimeDelta) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now = truncate_to_millis(*now + by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[must_use]
pub fn truncate_to_millis(t: Timestamp) -> Timestamp {
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millisecond_timestamps_sort_as_text_like_instants() {
        // The SQLite encoding sqlx uses for DateTime<Utc>.
        let text = |t: Timestamp| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
        let base = truncate_to_millis(Utc::now());
        let mut instants: Vec<Timestamp> = [0, 1, 10, 999, 1000, 1001, 60_000, 3_599_999]
            .into_iter()
            .map(|ms| truncate_to_millis(base + TimeDelta::milliseconds(ms)))
            .collect();
        instants.sort();
        let mut texts: Vec<String> = instants.iter().map(|t| text(*t)).collect();
        let sorted = {
            let mut s = texts.clone();
            s.sort();
            s
        };
        assert_eq!(texts, sorted);
        texts.dedup();
        assert_eq!(texts.len(), instants.len());
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Utc::now());
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        clock.advance(TimeDelta::seconds(5));
        assert_eq!(clock.now() - t0, TimeDelta::seconds(5));
    }
}
