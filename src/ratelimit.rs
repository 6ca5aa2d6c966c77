//! Per-instance request rate limits (SPEC section 8): mutations per token,
//! and `issueQueueToken` per client address. GCRA via `governor`; each
//! process keeps its own counters, so with several instances the effective
//! limit is the per-instance one times the instances a client reaches.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use crate::domain::Error;

pub struct RateLimits {
    /// Keyed by the token's value, not its text: a fixed size whatever a
    /// client sends.
    per_token: Option<DefaultKeyedRateLimiter<Uuid>>,
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
    /// `Unauthenticated` for text that is no token at all (no token is
    /// read for that); `RateLimited` when the token is over its mutation
    /// rate.
    pub fn check_token(&self, token: &str) -> Result<(), Error> {
        match &self.per_token {
            Some(limiter) => {
                let token = Uuid::try_parse(token).map_err(|_| Error::Unauthenticated)?;
                self.verdict(limiter.check_key(&token))
            }
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

    const T: &str = "6f1d0c7e-6a53-4d7c-9d3e-2f0a9b8c7d61";
    const OTHER: &str = "0b6f4a1e-53c1-4f0e-8a7d-9c2b1e3f5a70";

    #[test]
    fn a_token_gets_twice_its_rate_as_burst_then_a_retry_hint() {
        let limits = RateLimits::new(5, 0);
        for _ in 0..10 {
            assert!(limits.check_token(T).is_ok());
        }
        match limits.check_token(T) {
            Err(Error::RateLimited { retry_after_secs }) => assert!(retry_after_secs >= 1),
            other => panic!("expected RateLimited, got {other:?}"),
        }
        // The same token in capitals is the same token to the limit.
        assert!(limits.check_token(&T.to_uppercase()).is_err());
        assert!(limits.check_token(OTHER).is_ok());
    }

    #[test]
    fn text_that_is_no_token_is_refused_and_takes_no_room() {
        let limits = RateLimits::new(5, 0);
        for junk in ["t", "", &"x".repeat(400_000)] {
            assert!(matches!(
                limits.check_token(junk),
                Err(Error::Unauthenticated)
            ));
        }
        let kept = limits.per_token.as_ref().map(RateLimiter::len);
        assert_eq!(kept, Some(0));
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let limits = RateLimits::new(0, 0);
        for _ in 0..1000 {
            assert!(limits.check_token(T).is_ok());
            assert!(limits.check_issue(Some([127, 0, 0, 1].into())).is_ok());
        }
    }
}
