//! Black-box tests: the real server on a random port, spoken to over HTTP
//! and WebSocket. Runs on SQLite, or on PostgreSQL when
//! `SEATLINE_TEST_DATABASE_URL` is set (one fresh database per test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod booking;
mod catalog;
mod clock;
mod concurrency;
mod crash;
mod credentials;
mod failover;
mod gate;
mod helpers;
mod hostile;
mod idempotency;
mod metrics;
mod payment;
mod processes;
mod queue;
mod subscriptions;
mod transport;
mod wallet;
mod web;
