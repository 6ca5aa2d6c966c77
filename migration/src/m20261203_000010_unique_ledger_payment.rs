//! A payment has at most one ledger row: `uq_wallet_ledger_payment`.
//!
//! The payment's debit and its ledger row are written in one transaction,
//! and `payments.reservation_id` is unique, so the code writes one row a
//! payment; the database now refuses a second, as it refuses a second live
//! hold on a seat. Partial, so charges (no payment) write nothing to it.
//! A database that already holds two rows for one payment fails here, at
//! start-up, naming the index, rather than serving with a ledger that no
//! longer sums to the balances.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    in_a_transaction!();

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_wallet_ledger_payment ON wallet_ledger (payment_id) \
                 WHERE payment_id IS NOT NULL",
            )
            .await
            .map(drop)
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("uq_wallet_ledger_payment")
                    .table(WalletLedger::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum WalletLedger {
    Table,
}
