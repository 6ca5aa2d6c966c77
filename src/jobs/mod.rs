//! Background work, spawned on the application's `TaskTracker` and stopped
//! by its `CancellationToken`.

pub mod listener;
pub mod sweeper;

use tokio_util::task::TaskTracker;

use crate::state::AppState;

pub fn spawn_all(state: &AppState, tracker: &TaskTracker) {
    tracker.spawn(sweeper::run(state.clone()));
    if state.settings.database_url.starts_with("postgres") {
        tracker.spawn(listener::run(state.clone()));
    }
}
