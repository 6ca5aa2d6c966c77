//! Pure queue rules: ticket states, the gate decision, the in-process
//! waiting line and the wait estimate. No I/O here.

use std::collections::VecDeque;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::domain::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketStatus {
    Waiting,
    Progress,
    Done,
    Expired,
}

impl TicketStatus {
    /// DONE and EXPIRED are final: the ticket never changes again.
    #[must_use]
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Expired)
    }
}

/// A place in the waiting room. `id` is the FIFO order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: i64,
    /// Derives the bearer token (see `tokens`).
    pub token_salt: String,
    /// What the database keeps of the token, to look the ticket up by.
    pub token_hash: String,
    pub user_id: String,
    pub status: TicketStatus,
    pub entered_at: Timestamp,
    pub admitted_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
}

/// What of a ticket changes once it is issued: its status and its
/// admission's times. What the hub tells a ticket's watchers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TicketState {
    pub status: TicketStatus,
    pub admitted_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
}

impl Ticket {
    #[must_use]
    pub fn state(&self) -> TicketState {
        TicketState {
            status: self.status,
            admitted_at: self.admitted_at,
            expires_at: self.expires_at,
        }
    }

    /// This ticket as it stands in `state`.
    #[must_use]
    pub fn in_state(&self, state: TicketState) -> Self {
        Self {
            status: state.status,
            admitted_at: state.admitted_at,
            expires_at: state.expires_at,
            ..self.clone()
        }
    }

    /// The status as of `now`: an admission past `expires_at` has lapsed even
    /// if the sweeper has not marked it yet.
    #[must_use]
    pub fn status_at(&self, now: Timestamp) -> TicketStatus {
        match (self.status, self.expires_at) {
            (TicketStatus::Progress, Some(expires_at)) if expires_at <= now => {
                TicketStatus::Expired
            }
            (status, _) => status,
        }
    }

    /// The gate: only an admitted, unexpired ticket may shop.
    ///
    /// # Errors
    /// `NotAdmitted` with the position for a waiting ticket, `TokenExpired`
    /// for a finished or lapsed one.
    pub fn check_admitted(&self, now: Timestamp, position: u64) -> Result<(), Error> {
        match self.status_at(now) {
            TicketStatus::Progress => Ok(()),
            TicketStatus::Waiting => Err(Error::NotAdmitted { position }),
            TicketStatus::Done | TicketStatus::Expired => Err(Error::TokenExpired),
        }
    }
}

/// What `queueTicket` and `queueUpdates` show: a ticket plus where it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketView {
    pub ticket: Ticket,
    /// The bearer token, for the ticket's holder only.
    pub token: String,
    pub status: TicketStatus,
    pub position: Option<u64>,
    pub estimated_wait_secs: Option<u64>,
}

/// The WAITING ticket ids in FIFO order: a sorted deque, so a position is a
/// binary search (O(log n)), admission pops the front (O(1)) and a newcomer
/// lands at or near the back.
#[derive(Debug, Default)]
pub struct WaitingLine {
    ids: VecDeque<i64>,
}

impl WaitingLine {
    #[must_use]
    pub fn from_sorted(ids: Vec<i64>) -> Self {
        debug_assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids must be sorted");
        Self { ids: ids.into() }
    }

    pub fn insert(&mut self, id: i64) {
        // Commits can land slightly out of id order; search from the back.
        if self.ids.back().is_none_or(|&last| last < id) {
            self.ids.push_back(id);
        } else if let Err(at) = self.ids.binary_search(&id) {
            self.ids.insert(at, id);
        }
    }

    pub fn remove(&mut self, id: i64) {
        if self.ids.front() == Some(&id) {
            self.ids.pop_front();
        } else if let Ok(at) = self.ids.binary_search(&id) {
            self.ids.remove(at);
        }
    }

    /// The first `n` waiting tickets, earliest first.
    pub fn first(&self, n: usize) -> impl Iterator<Item = i64> + '_ {
        self.ids.iter().take(n).copied()
    }

    /// How many waiting tickets entered before `id`; `None` when `id` is not
    /// waiting.
    #[must_use]
    pub fn position(&self, id: i64) -> Option<u64> {
        self.ids.binary_search(&id).ok().map(|at| at as u64)
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Recent admissions, for `estimatedWaitSeconds`.
#[derive(Debug, Default)]
pub struct AdmissionRate {
    recent: VecDeque<Timestamp>,
}

impl AdmissionRate {
    /// Admissions older than this do not count towards the rate.
    const WINDOW: TimeDelta = TimeDelta::seconds(120);
    /// Bounds memory under a burst of admissions.
    const MAX_SAMPLES: usize = 4096;

    pub fn record(&mut self, at: Timestamp) {
        if self.recent.len() == Self::MAX_SAMPLES {
            self.recent.pop_front();
        }
        self.recent.push_back(at);
    }

    /// Seconds until a ticket with `position` waiters ahead is admitted, at
    /// the admission rate of the recent window; `None` without a basis.
    #[must_use]
    pub fn estimate_wait_secs(&mut self, position: u64, now: Timestamp) -> Option<u64> {
        while self.recent.front().is_some_and(|&t| now - t > Self::WINDOW) {
            self.recent.pop_front();
        }
        let oldest = *self.recent.front()?;
        let span_ms = (now - oldest).num_milliseconds().max(1000) as f64;
        let per_ms = self.recent.len() as f64 / span_ms;
        let wait_ms = (position + 1) as f64 / per_ms;
        Some((wait_ms / 1000.0).ceil() as u64)
    }
}

/// A ticket for tests: user `u{id}`, token hash `h{id}`, entered now (and
/// admitted now when PROGRESS).
#[cfg(test)]
pub(crate) fn test_ticket(id: i64, status: TicketStatus) -> Ticket {
    let now = chrono::Utc::now();
    Ticket {
        id,
        token_salt: format!("t{id}"),
        token_hash: format!("h{id}"),
        user_id: format!("u{id}"),
        status,
        entered_at: now,
        admitted_at: (status == TicketStatus::Progress).then_some(now),
        expires_at: None,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn ticket(status: TicketStatus, expires_in_secs: Option<i64>) -> (Ticket, Timestamp) {
        let now = crate::clock::truncate_to_millis(Utc::now());
        let t = Ticket {
            id: 1,
            token_salt: "t".into(),
            token_hash: "h".into(),
            user_id: "u".into(),
            status,
            entered_at: now,
            admitted_at: None,
            expires_at: expires_in_secs.map(|s| now + TimeDelta::seconds(s)),
        };
        (t, now)
    }

    #[test]
    fn an_admission_lapses_at_expires_at_without_the_sweeper() {
        let (t, now) = ticket(TicketStatus::Progress, Some(10));
        assert_eq!(t.status_at(now), TicketStatus::Progress);
        assert_eq!(
            t.status_at(now + TimeDelta::seconds(10)),
            TicketStatus::Expired
        );
    }

    #[test]
    fn the_gate_admits_only_progress() {
        let (t, now) = ticket(TicketStatus::Progress, Some(10));
        assert!(t.check_admitted(now, 0).is_ok());
        let (t, now) = ticket(TicketStatus::Waiting, None);
        assert!(matches!(
            t.check_admitted(now, 7),
            Err(Error::NotAdmitted { position: 7 })
        ));
        for status in [TicketStatus::Done, TicketStatus::Expired] {
            let (t, now) = ticket(status, None);
            assert!(matches!(t.check_admitted(now, 0), Err(Error::TokenExpired)));
        }
        let (t, now) = ticket(TicketStatus::Progress, Some(1));
        assert!(matches!(
            t.check_admitted(now + TimeDelta::seconds(2), 0),
            Err(Error::TokenExpired)
        ));
    }

    #[test]
    fn positions_count_earlier_waiters_only() {
        let mut line = WaitingLine::from_sorted(vec![3, 5, 9]);
        line.insert(12);
        line.insert(7); // a commit that landed late
        assert_eq!(line.position(3), Some(0));
        assert_eq!(line.position(7), Some(2));
        assert_eq!(line.position(12), Some(4));
        assert_eq!(line.position(4), None);
        line.remove(3);
        assert_eq!(line.position(5), Some(0));
        assert_eq!(line.position(12), Some(3));
        line.remove(9);
        assert_eq!(line.position(12), Some(2));
        line.insert(12); // idempotent
        assert_eq!(line.len(), 3);
    }

    #[test]
    fn no_estimate_without_admissions() {
        let mut rate = AdmissionRate::default();
        assert_eq!(rate.estimate_wait_secs(0, Utc::now()), None);
    }

    #[test]
    fn estimate_follows_the_recent_rate() {
        let now = Utc::now();
        let mut rate = AdmissionRate::default();
        // 10 admissions over the last 10 s: one per second.
        for s in 0..10 {
            rate.record(now - TimeDelta::seconds(10 - s));
        }
        assert_eq!(rate.estimate_wait_secs(0, now), Some(1));
        assert_eq!(rate.estimate_wait_secs(19, now), Some(20));
        // Old admissions fall out of the window.
        assert_eq!(
            rate.estimate_wait_secs(0, now + TimeDelta::seconds(600)),
            None
        );
    }
}
