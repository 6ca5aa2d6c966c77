//! Schema migrations, applied automatically at start-up and by `seatline migrate`.

pub use sea_orm_migration::prelude::*;

/// Every migration runs in a transaction with its record, on SQLite too
/// (sea-orm-migration's default there is none): a crash midway leaves
/// nothing of it, and the next start applies it whole.
macro_rules! in_a_transaction {
    () => {
        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    };
}

mod m20261125_000001_create_catalog;
mod m20261125_000002_create_queue;
mod m20261125_000003_create_booking_and_wallet;
mod m20261125_000004_add_ticket_change_version;
mod m20261125_000005_hash_ticket_tokens;
mod m20261129_000006_index_ticket_expiry;
mod m20261130_000007_index_ticket_user;
mod m20261130_000008_index_hold_count;
mod m20261202_000009_drop_ticket_user_index;
mod m20261203_000010_unique_ledger_payment;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_catalog::Migration),
            Box::new(m20261125_000002_create_queue::Migration),
            Box::new(m20261125_000003_create_booking_and_wallet::Migration),
            Box::new(m20261125_000004_add_ticket_change_version::Migration),
            Box::new(m20261125_000005_hash_ticket_tokens::Migration),
            Box::new(m20261129_000006_index_ticket_expiry::Migration),
            Box::new(m20261130_000007_index_ticket_user::Migration),
            Box::new(m20261130_000008_index_hold_count::Migration),
            Box::new(m20261202_000009_drop_ticket_user_index::Migration),
            Box::new(m20261203_000010_unique_ledger_payment::Migration),
        ]
    }
}
