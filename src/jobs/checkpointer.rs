//! Copies SQLite's WAL into the database file on a connection of its own,
//! so the one writer never stops to do it (see
//! [`crate::db::connect_checkpointer`]).
//!
//! Correctness never depends on it: committed data is durable in the WAL,
//! and if this falls behind or fails, the writer checkpoints by itself
//! once the WAL passes 64 MiB.

use std::time::Duration;

use crate::db;
use crate::state::AppState;

/// How often the WAL is copied. Between two passes the writer appends
/// about 4 MiB at a thousand holds a second, SQLite's own default step.
const EVERY: Duration = Duration::from_millis(250);

/// Checkpoints every [`EVERY`] until shutdown; returns at once unless the
/// database is a SQLite file.
pub async fn run(state: AppState) {
    let db = match db::connect_checkpointer(&state.settings.database_url).await {
        Ok(Some(db)) => db,
        Ok(None) => return,
        Err(err) => {
            tracing::warn!(error = ?err, "no checkpointer; the writer checkpoints the WAL itself");
            return;
        }
    };
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => break,
            _ = ticks.tick() => {}
        }
        match db::checkpoint(&db).await {
            Ok((frames, copied)) if copied < frames => {
                tracing::debug!(frames, copied, "WAL checkpoint stopped at a reader");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = ?err, "WAL checkpoint failed; retrying"),
        }
    }
    let _ = db.close().await;
    tracing::debug!("checkpointer stopped");
}
