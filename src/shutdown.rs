//! Ctrl-C and SIGTERM become one `CancellationToken`.

use tokio_util::sync::CancellationToken;

/// A token cancelled on the first SIGINT or SIGTERM. The handlers are
/// installed before this returns, so a signal that arrives once the server
/// says it is listening is never the default (fatal) action.
#[must_use]
pub fn on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    let signals = Signals::install();
    tokio::spawn(async move {
        signals.recv().await;
        // Cancel before logging: nothing that can fail may stand between
        // the signal and the shutdown.
        cancel.cancel();
        tracing::info!("shutdown signal received");
    });
    token
}

#[cfg(unix)]
struct Signals {
    interrupt: Option<tokio::signal::unix::Signal>,
    terminate: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
impl Signals {
    fn install() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Self {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
        }
    }

    async fn recv(mut self) {
        let interrupt = async {
            match self.interrupt.as_mut() {
                Some(s) => drop(s.recv().await),
                None => std::future::pending().await,
            }
        };
        let terminate = async {
            match self.terminate.as_mut() {
                Some(s) => drop(s.recv().await),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = interrupt => {}
            () = terminate => {}
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> Self {
        Self
    }

    async fn recv(self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
