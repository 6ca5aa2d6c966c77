//! Per-instance request rate limits (SPEC section 8): mutations per token,
//! and `issueQueueToken` per client address. GCRA via `governor`; each
//! process keeps its own counters, so with several instances the effective
//! limit is the per-instance one times the instances a client reaches.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::domain::Error;

pub struct RateLimits {
    per_token: Option<DefaultKeyedRateLimiter<String>>,
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

impl RateLimits {
    /// Limits of `per_sec` with a burst of twice that; 0 turns one off.
    #[must_use]
    pub fn new(token_per_sec: u32, issue_per_address_per_sec: u32) -> Self {
        Self {
            per_token: limiter(token_per_sec),
            per_address: limiter(issue_per_address_per_sec),
            clock: DefaultClock::default(),
        }
    }

    /// # Errors
    /// `RateLimited` when the token is over its mutation rate.
    pub fn check_token(&self, token: &str) -> Result<(), Error> {
        match &self.per_token {
            Some(limiter) => self.verdict(limiter.check_key(&token.to_owned())),
            None => Ok(()),
        }
    }

    /// # Errors
    /// `RateLimited` when the address is over its `issueQueueToken` rate.
    pub fn check_issue(&self, address: Option<IpAddr>) -> Result<(), Error> {
        match (&self.per_address, address) {
            (Some(limiter), Some(address)) => self.verdict(limiter.check_key(&address)),
            _ => Ok(()),
        }
    }

    /// Forgets keys that are back to a full burst; bounds memory.
    pub fn forget_idle(&self) {
        if let Some(l) = &self.per_token {
            l.retain_recent();
        }
        if let Some(l) = &self.per_address {
            l.retain_recent();
        }
    }

    fn verdict(
        &self,
        result: Result<(), governor::NotUntil<<DefaultClock as Clock>::Instant>>,
    ) -> Result<(), Error> {
        result.map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            Error::RateLimited {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }
}

fn limiter<K>(per_sec: u32) -> Option<DefaultKeyedRateLimiter<K>>
where
    K: std::hash::Hash + Eq + Clone,
{
    let rate = NonZeroU32::new(per_sec)?;
    let burst = NonZeroU32::new(per_sec.saturating_mul(2)).unwrap_or(rate);
    Some(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_gets_twice_its_rate_as_burst_then_a_retry_hint() {
        let limits = RateLimits::new(5, 0);
        for _ in 0..10 {
            assert!(limits.check_token("t").is_ok());
        }
        match limits.check_token("t") {
            Err(Error::RateLimited { retry_after_secs }) => assert!(retry_after_secs >= 1),
            other => panic!("expected RateLimited, got {other:?}"),
        }
        assert!(limits.check_token("other").is_ok());
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let limits = RateLimits::new(0, 0);
        for _ in 0..1000 {
            assert!(limits.check_token("t").is_ok());
            assert!(limits.check_issue(Some([127, 0, 0, 1].into())).is_ok());
        }
    }
}
