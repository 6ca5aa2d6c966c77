//! PostgreSQL only: follows the queue versions other instances commit.
//!
//! Every gate-locking transaction announces its version with `NOTIFY`,
//! delivered at commit. One `LISTEN` connection per instance hears them;
//! a version this instance has not applied triggers a catch-up from the
//! database, which also coalesces bursts (one fetch covers every version
//! up to the newest). Notifications sent while the connection was down are
//! lost, so every (re)connect starts with a catch-up. The sweeper's
//! periodic check stays as the backstop.

use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;

use crate::domain::queue::{self, store::QUEUE_CHANNEL};
use crate::state::AppState;

/// Pause before reconnecting after the listener failed.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

pub async fn run(state: AppState) {
    loop {
        if let Err(err) = listen(&state).await {
            tracing::warn!(error = %err, "queue listener failed; reconnecting");
        }
        tokio::select! {
            () = state.shutdown.cancelled() => break,
            () = tokio::time::sleep(RECONNECT_DELAY) => {}
        }
    }
    tracing::debug!("queue listener stopped");
}

async fn listen(state: &AppState) -> Result<(), sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(&state.settings.database_url).await?;
    listener.listen(QUEUE_CHANNEL).await?;
    catch_up(state).await;
    loop {
        let notification = tokio::select! {
            () = state.shutdown.cancelled() => return Ok(()),
            next = listener.try_recv() => next?,
        };
        match notification {
            Some(n) => {
                let announced = n.payload().parse::<i64>().unwrap_or(i64::MAX);
                if announced > state.domain.hub().applied_version() {
                    catch_up(state).await;
                }
            }
            // The connection dropped and will be re-established by the
            // next call: whatever was announced meanwhile is lost.
            None => {
                tracing::info!("queue listener reconnecting");
                catch_up(state).await;
            }
        }
    }
}

async fn catch_up(state: &AppState) {
    if let Err(err) = queue::catch_up(&state.domain).await {
        tracing::warn!(error = ?err, "queue catch-up failed");
    }
}
