//! The pure part of `peer`: position staleness from what each waiter saw
//! and when, whether a design kept its schedule, and where it saturated.
//!
//! # Staleness
//!
//! Every admission moves every waiter behind it one place forward. For an
//! admission at time `a` and a waiter still waiting behind it, staleness is
//! the time from `a` until the waiter *holds* a position that counts that
//! admission: the receipt of the first poll answer (or push) received at or
//! after `a` whose position is at most the waiter's true position just
//! after `a`, or that says the waiter was admitted. An answer computed
//! before `a` but received after it does not count, since it still shows
//! the old position. A waiter that never held such a position by the end
//! of the run is *censored*: it counts with the time to the end of the run
//! (a lower bound), and the number of such samples is reported.
//!
//! The true position comes from the admission times alone. A waiter's
//! position at `t` is `base - A(t)`, `A(t)` being the admissions at or
//! before `t`. An answer received at `r` was computed at some `c <= r`, so
//! it shows `base - A(c) >= base - A(r)`, and `base` is the smallest
//! `position + A(r)` over the waiter's answers (exact as soon as one answer
//! had no admission in flight).
//!
//! Samples are taken for admissions between `start` and `cutoff`, and only
//! for waiters that had already seen a position before the admission. So
//! every waiter must have seen one by `start` (for pollers, polling starts
//! one interval before it), or the samples would favour the waiters that
//! looked first, whose next look is furthest away. `end - cutoff` must
//! exceed the design's refresh interval, so that every sample can be
//! refreshed in time.
//!
//! The same definition applies to Seatline's pushes and to the peers'
//! polls; only what a waiter saw, and when, differs.

use hdrhistogram::Histogram;

use crate::load::histogram;

/// One thing a waiter saw: a poll answer or a push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Receipt, µs since the epoch.
    pub at_us: i64,
    /// Waiters ahead while waiting; `None` once admitted.
    pub position: Option<i64>,
}

/// Everything one waiter saw, in order of receipt, and when it was
/// admitted (by the server's account), if it was.
#[derive(Clone, Debug, Default)]
pub struct Waiter {
    pub seen: Vec<Seen>,
    pub admitted_us: Option<i64>,
}

/// The part of a run that samples are taken from, µs since the epoch.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub start_us: i64,
    pub cutoff_us: i64,
    pub end_us: i64,
}

/// Staleness samples, and how long admitted waiters took to learn it.
#[derive(Debug)]
pub struct Staleness {
    /// µs.
    pub samples: Histogram<u64>,
    /// Samples never refreshed before the end of the run.
    pub censored: u64,
    /// Admissions sampled (in the window).
    pub admissions: usize,
    /// Admission to the waiter's first answer or push saying so, µs.
    pub notice: Histogram<u64>,
    /// Admitted waiters that never heard of it before the end.
    pub notice_censored: u64,
}

impl Staleness {
    pub fn ms(&self, q: f64) -> f64 {
        self.samples.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn notice_ms(&self, q: f64) -> f64 {
        self.notice.value_at_quantile(q) as f64 / 1000.0
    }
}

/// Staleness over `waiters`; `admissions` are every admission's time,
/// sorted. At most about `max_samples` samples: admissions are strided
/// beyond that.
pub fn staleness(
    admissions: &[i64],
    waiters: &[Waiter],
    window: Window,
    max_samples: usize,
) -> Staleness {
    debug_assert!(admissions.is_sorted());
    let done_by = |t: i64| admissions.partition_point(|&a| a <= t) as i64;
    let in_window: Vec<i64> = admissions
        .iter()
        .copied()
        .filter(|&a| (window.start_us..=window.cutoff_us).contains(&a))
        .collect();
    let stride = (waiters.len() * in_window.len() / max_samples.max(1)).max(1);
    let mut out = Staleness {
        samples: histogram(),
        censored: 0,
        admissions: in_window.len(),
        notice: histogram(),
        notice_censored: 0,
    };
    for w in waiters {
        let Some(first) = w.seen.iter().find(|s| s.position.is_some()) else {
            continue;
        };
        let Some(base) = w
            .seen
            .iter()
            .filter_map(|s| s.position.map(|p| p + done_by(s.at_us)))
            .min()
        else {
            continue;
        };
        for &a in in_window.iter().step_by(stride) {
            if a <= first.at_us || w.admitted_us.is_some_and(|own| a >= own) {
                continue;
            }
            let expected = base - done_by(a);
            let from = w.seen.partition_point(|s| s.at_us < a);
            let fresh = w.seen[from..]
                .iter()
                .find(|s| s.position.is_none_or(|p| p <= expected));
            let until = match fresh {
                Some(s) => s.at_us,
                None => {
                    out.censored += 1;
                    window.end_us
                }
            };
            let _ = out.samples.record((until - a).max(1) as u64);
        }
        if let Some(own) = w.admitted_us
            && own > first.at_us
            && (window.start_us..=window.cutoff_us).contains(&own)
        {
            let from = w.seen.partition_point(|s| s.at_us < own);
            let until = match w.seen[from..].iter().find(|s| s.position.is_none()) {
                Some(s) => s.at_us,
                None => {
                    out.notice_censored += 1;
                    window.end_us
                }
            };
            let _ = out.notice.record((until - own).max(1) as u64);
        }
    }
    out
}

/// Whether a polling design kept its schedule: every poll answered, p99
/// poll latency (from the scheduled start) within the poll interval, and
/// at least 90% of the scheduled poll rate achieved.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// Polls scheduled for waiters still waiting (shed ones included).
    pub due: u64,
    /// Polls answered.
    pub answered: u64,
    pub errors: u64,
    /// How long polls were scheduled for, s.
    pub duration_s: f64,
    /// Until the last answer arrived, s.
    pub elapsed_s: f64,
    pub p99_ms: f64,
    pub interval_ms: f64,
}

impl Schedule {
    /// Achieved over scheduled poll rate.
    pub fn achieved(&self) -> f64 {
        let scheduled = self.due as f64 / self.duration_s.max(1e-9);
        let achieved = self.answered as f64 / self.elapsed_s.max(self.duration_s).max(1e-9);
        if scheduled == 0.0 {
            0.0
        } else {
            achieved / scheduled
        }
    }

    pub fn kept(&self) -> bool {
        self.errors == 0
            && self.answered > 0
            && self.p99_ms <= self.interval_ms
            && self.achieved() >= 0.9
    }
}

/// Where a design saturated in a ramp of waiter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saturation {
    /// The largest count kept below the first one that was not.
    pub kept_up_to: Option<usize>,
    /// The smallest count not kept.
    pub failed_at: Option<usize>,
}

/// From `(waiters, kept)` steps in any order.
pub fn saturation(steps: &[(usize, bool)]) -> Saturation {
    let failed_at = steps.iter().filter(|s| !s.1).map(|s| s.0).min();
    let kept_up_to = steps
        .iter()
        .filter(|s| s.1 && failed_at.is_none_or(|f| s.0 < f))
        .map(|s| s.0)
        .max();
    Saturation {
        kept_up_to,
        failed_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    fn seen(at_s: f64, position: Option<i64>) -> Seen {
        Seen {
            at_us: (at_s * S as f64) as i64,
            position,
        }
    }

    fn window(start: i64, cutoff: i64, end: i64) -> Window {
        Window {
            start_us: start * S,
            cutoff_us: cutoff * S,
            end_us: end * S,
        }
    }

    #[test]
    fn a_poller_is_stale_until_its_next_poll() {
        // Five ahead at 0 s; one admission at 1 s; polls every 4 s.
        let w = Waiter {
            seen: vec![seen(0.0, Some(5)), seen(4.0, Some(4)), seen(8.0, Some(4))],
            admitted_us: None,
        };
        let st = staleness(&[S], &[w], window(0, 5, 10), 1000);
        assert_eq!(st.samples.len(), 1);
        assert_eq!(st.censored, 0);
        assert!((st.ms(0.5) - 3000.0).abs() < 10.0);
    }

    #[test]
    fn an_answer_computed_before_the_admission_does_not_refresh() {
        // Admission at 1 s; the answer received at 1.1 s still shows 5
        // (it was computed before), the one at 2 s shows 4.
        let w = Waiter {
            seen: vec![seen(0.0, Some(5)), seen(1.1, Some(5)), seen(2.0, Some(4))],
            admitted_us: None,
        };
        let st = staleness(&[S], &[w], window(0, 5, 10), 1000);
        assert!((st.ms(0.5) - 1000.0).abs() < 10.0);
    }

    #[test]
    fn the_true_position_is_anchored_on_the_freshest_answer() {
        // The first answer was computed before an admission at 0.5 s but
        // received after it: 5 should have been 4. The next admission (at
        // 1 s) is seen at 2 s (3 ahead), not later.
        let w = Waiter {
            seen: vec![seen(0.6, Some(5)), seen(2.0, Some(3)), seen(3.0, Some(3))],
            admitted_us: None,
        };
        let st = staleness(&[S / 2, S], &[w], window(0, 5, 10), 1000);
        assert_eq!(st.samples.len(), 1);
        assert!((st.ms(0.5) - 1000.0).abs() < 10.0);
    }

    #[test]
    fn never_refreshed_samples_are_censored_at_the_end() {
        let w = Waiter {
            seen: vec![seen(0.0, Some(5))],
            admitted_us: None,
        };
        let st = staleness(&[2 * S], &[w], window(0, 5, 10), 1000);
        assert_eq!(st.censored, 1);
        assert!((st.ms(0.5) - 8000.0).abs() < 10.0);
    }

    #[test]
    fn a_waiters_own_admission_is_notice_not_staleness() {
        // One ahead; the one ahead is admitted at 1 s, this waiter at 2 s;
        // it hears of its admission at 2.5 s.
        let w = Waiter {
            seen: vec![seen(0.0, Some(1)), seen(1.2, Some(0)), seen(2.5, None)],
            admitted_us: Some(2 * S),
        };
        let st = staleness(&[S, 2 * S], &[w], window(0, 5, 10), 1000);
        assert_eq!(st.samples.len(), 1);
        assert!((st.ms(0.5) - 200.0).abs() < 1.0);
        assert_eq!(st.notice.len(), 1);
        assert!((st.notice_ms(0.5) - 500.0).abs() < 1.0);
    }

    #[test]
    fn admissions_in_one_batch_count_together() {
        // Three admitted at once at 1 s: the true position drops from 9 to
        // 6; an answer of 7 is still stale.
        let w = Waiter {
            seen: vec![seen(0.0, Some(9)), seen(1.5, Some(7)), seen(3.0, Some(6))],
            admitted_us: None,
        };
        let st = staleness(&[S, S, S], &[w], window(0, 5, 10), 1000);
        assert_eq!(st.samples.len(), 3);
        assert!((st.ms(0.99) - 2000.0).abs() < 10.0);
    }

    #[test]
    fn admissions_before_a_waiters_first_look_are_not_sampled() {
        let w = Waiter {
            seen: vec![seen(2.0, Some(5)), seen(3.0, Some(5))],
            admitted_us: None,
        };
        let st = staleness(&[S], &[w], window(0, 5, 10), 1000);
        assert_eq!(st.samples.len(), 0);
    }

    fn schedule(answered: u64, elapsed_s: f64, p99_ms: f64) -> Schedule {
        Schedule {
            due: 1000,
            answered,
            errors: 0,
            duration_s: 10.0,
            elapsed_s,
            p99_ms,
            interval_ms: 1000.0,
        }
    }

    #[test]
    fn a_design_that_answers_on_time_keeps_its_schedule() {
        let s = schedule(1000, 10.05, 20.0);
        assert!(s.kept());
        assert!(s.achieved() > 0.99);
    }

    #[test]
    fn a_slow_p99_or_missed_polls_break_the_schedule() {
        assert!(!schedule(1000, 10.0, 1500.0).kept());
        // Answered everything, but it took twice as long.
        assert!(!schedule(1000, 20.0, 900.0).kept());
        // A tenth shed.
        assert!(!schedule(850, 10.0, 100.0).kept());
        let mut errors = schedule(1000, 10.0, 10.0);
        errors.errors = 1;
        assert!(!errors.kept());
    }

    #[test]
    fn saturation_is_the_first_count_not_kept() {
        let s = saturation(&[
            (2_000, true),
            (5_000, true),
            (10_000, false),
            (19_000, false),
        ]);
        assert_eq!(s.kept_up_to, Some(5_000));
        assert_eq!(s.failed_at, Some(10_000));
        // A lucky larger step after a failure does not count as kept.
        let s = saturation(&[(2_000, true), (5_000, false), (10_000, true)]);
        assert_eq!(s.kept_up_to, Some(2_000));
        let s = saturation(&[(1_000, true)]);
        assert_eq!(
            s,
            Saturation {
                kept_up_to: Some(1_000),
                failed_at: None
            }
        );
    }
}
