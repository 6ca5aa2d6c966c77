//! SeaORM entities: one module per table, plain data with no GraphQL derives.
//!
//! The domain layer (`seatline::domain`) owns every rule; these types only
//! describe rows. Money columns are whole won in `i64` (`*_won`), timestamps
//! are UTC.

pub mod concert;
pub mod concert_date;
pub mod idempotency_key;
pub mod payment;
pub mod queue_gate;
pub mod queue_ticket;
pub mod reservation;
pub mod seat;
pub mod wallet;
pub mod wallet_ledger;
