//! PostgreSQL only: follows the queue versions other instances commit.
//!
//! Every gate-locking transaction announces its version and its instance
//! with `NOTIFY`, delivered at commit. One `LISTEN` connection per instance
//! hears them. Its own it ignores: the commit's publish brings the same
//! changes without a read (and if a publish is lost, the sweeper finds the
//! version missing). Another's version this instance has not applied
//! triggers a catch-up from the database, which also coalesces bursts (one
//! fetch covers every version up to the newest). Notifications sent while
//! the connection was down are lost, so every (re)connect starts with a
//! catch-up. The sweeper's periodic check stays as the backstop.

use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;

use crate::domain::queue::{
    self,
    store::{Announcement, QUEUE_CHANNEL},
};
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
                let hub = state.domain.hub();
                if is_news(n.payload(), hub.instance(), hub.applied_version()) {
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

/// Whether an announcement heard by instance `own`, which has applied
/// every queue version up to `applied`, names a version it must fetch:
/// another's, and newer. One this build cannot read is fetched, to be safe.
fn is_news(payload: &str, own: u64, applied: i64) -> bool {
    Announcement::parse(payload).is_none_or(|a| a.from != Some(own) && a.version > applied)
}

async fn catch_up(state: &AppState) {
    if let Err(err) = queue::catch_up(&state.domain).await {
        tracing::warn!(error = ?err, "queue catch-up failed");
    }
}

#[cfg(test)]
mod tests {
    use super::is_news;

    #[test]
    fn only_anothers_newer_version_is_news() {
        let own = 7;
        // Its own commit, heard before its publish applied it: the
        // publish brings the changes.
        assert!(!is_news("11 7", own, 10));
        assert!(is_news("11 8", own, 10), "another's, newer");
        assert!(!is_news("10 8", own, 10), "another's, already applied");
        assert!(
            is_news("11", own, 10),
            "from an instance that does not name itself"
        );
        assert!(is_news("garbage", own, 10), "unreadable");
    }
}
