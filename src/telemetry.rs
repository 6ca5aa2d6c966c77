//! Logging. The sink is a parameter so tests can capture or silence it.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the global subscriber; `RUST_LOG` overrides the default filter,
/// except that WebSocket frames are never traced.
/// A second call is a no-op (tests start many apps in one process).
pub fn init<W>(sink: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let mut filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    // tungstenite traces every WebSocket message whole, bearer tokens in
    // `connection_init` included: never let a filter turn that on.
    for quiet in ["tungstenite=info", "tokio_tungstenite=info"] {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        // A closed log pipe must not make logging report to a closed
        // stderr, which panics.
        .log_internal_errors(false)
        .with_writer(sink)
        .try_init();
}
