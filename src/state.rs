//! `AppState`: what axum handlers and GraphQL resolvers share. Cheap to
//! clone.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::domain::Domain;
use crate::ratelimit::RateLimits;

#[derive(Clone)]
pub struct AppState {
    pub domain: Domain,
    pub settings: Arc<Settings>,
    pub limits: Arc<RateLimits>,
    /// Cancelled when the server shuts down; long-lived streams end on it.
    pub shutdown: CancellationToken,
}

impl AppState {
    #[must_use]
    pub fn push_interval(&self) -> Duration {
        Duration::from_millis(self.settings.push_interval_ms)
    }
}
