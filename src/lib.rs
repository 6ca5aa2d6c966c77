//! Seatline: a concert-ticketing GraphQL API built around a live virtual
//! waiting room.
//!
//! A tour, from the outside in:
//! - [`startup`] builds the [`Application`](startup::Application): connect,
//!   migrate, seed, bind; `run_until_stopped` serves until cancelled.
//! - [`http`] routes `POST /graphql`, the playground, `/graphql/ws` and
//!   `/health`, with body, time and panic limits.
//! - [`graphql`] is a thin layer of resolvers and DTOs; `graphql::error` is
//!   the one place that maps domain errors to `extensions.code`.
//! - [`domain`] holds the rules (queue, catalog, booking, wallet, payment)
//!   and their persistence through the `entity` crate; it knows nothing of
//!   GraphQL or HTTP.
//! - [`jobs`] runs the sweeper that expires holds and lapsed admissions.
//! - [`shutdown`] turns SIGINT and SIGTERM into one `CancellationToken`;
//!   every task the server starts besides connections (jobs, batch
//!   writers, readers) is on the domain's `TaskTracker`
//!   ([`domain::Domain::tasks`]), which shutdown waits for before it
//!   closes the database.
//! - [`db`] opens SQLite or PostgreSQL with the right settings; every write
//!   transaction begins through `db::begin_write`.

pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod ratelimit;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod telemetry;
