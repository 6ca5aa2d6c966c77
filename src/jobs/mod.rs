//! Background work, spawned on the domain's tasks (shutdown waits for
//! them) and stopped by the application's `CancellationToken`.

pub mod checkpointer;
pub mod listener;
pub mod sweeper;

use crate::state::AppState;

pub fn spawn_all(state: &AppState) {
    state.domain.spawn(sweeper::run(state.clone()));
    if state.settings.database_url.starts_with("sqlite") {
        state.domain.spawn(checkpointer::run(state.clone()));
    }
    if state.settings.database_url.starts_with("postgres") {
        state.domain.spawn(listener::run(state.clone()));
    }
}
