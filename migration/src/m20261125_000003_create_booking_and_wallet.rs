//! Reservations, payments, wallets with their ledger, and idempotency keys.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_catalog::Seats;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    in_a_transaction!();

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        manager
            .create_table(
                Table::create()
                    .table(Reservations::Table)
                    .col(big_pk_auto(Reservations::Id))
                    .col(string_len(Reservations::UserId, 128))
                    .col(big_integer(Reservations::SeatId))
                    .col(big_integer(Reservations::PriceWon))
                    .col(string_len(Reservations::Status, 16).check(
                        Expr::col(Reservations::Status).is_in(["HELD", "CONFIRMED", "EXPIRED"]),
                    ))
                    .col(timestamp_with_time_zone(Reservations::HeldAt))
                    .col(timestamp_with_time_zone(Reservations::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Reservations::ConfirmedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Reservations::Table, Reservations::SeatId)
                            .to(Seats::Table, Seats::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Invariant: a seat has at most one HELD or CONFIRMED reservation. A
        // hold that lapsed is marked EXPIRED in the same transaction that lets
        // the next hold win the seat, so this index never blocks a fair hold.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX uq_reservations_live_seat ON reservations (seat_id) \
             WHERE status IN ('HELD', 'CONFIRMED')",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_reservations_user_status")
                    .table(Reservations::Table)
                    .col(Reservations::UserId)
                    .col(Reservations::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_reservations_status_expires")
                    .table(Reservations::Table)
                    .col(Reservations::Status)
                    .col(Reservations::ExpiresAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .col(big_pk_auto(Payments::Id))
                    .col(string_len(Payments::UserId, 128))
                    .col(big_integer_uniq(Payments::ReservationId))
                    .col(
                        big_integer(Payments::AmountWon)
                            .check(Expr::col(Payments::AmountWon).gte(0)),
                    )
                    .col(timestamp_with_time_zone(Payments::PaidAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Payments::Table, Payments::ReservationId)
                            .to(Reservations::Table, Reservations::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Wallets::Table)
                    .col(string_len(Wallets::UserId, 128).primary_key())
                    // Invariant: a balance never goes negative.
                    .col(
                        big_integer(Wallets::BalanceWon)
                            .check(Expr::col(Wallets::BalanceWon).gte(0)),
                    )
                    .col(timestamp_with_time_zone(Wallets::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WalletLedger::Table)
                    .col(big_pk_auto(WalletLedger::Id))
                    .col(string_len(WalletLedger::UserId, 128))
                    .col(big_integer(WalletLedger::AmountWon))
                    .col(
                        string_len(WalletLedger::Kind, 16)
                            .check(Expr::col(WalletLedger::Kind).is_in(["CHARGE", "PAYMENT"])),
                    )
                    .col(big_integer_null(WalletLedger::PaymentId))
                    .col(timestamp_with_time_zone(WalletLedger::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WalletLedger::Table, WalletLedger::UserId)
                            .to(Wallets::Table, Wallets::UserId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_wallet_ledger_user")
                    .table(WalletLedger::Table)
                    .col(WalletLedger::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(string_len(IdempotencyKeys::UserId, 128))
                    .col(string_len(IdempotencyKeys::Key, 255))
                    .col(text(IdempotencyKeys::Request))
                    .col(text(IdempotencyKeys::Outcome))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKeys::UserId)
                            .col(IdempotencyKeys::Key),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_keys_created")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            IdempotencyKeys::Table.into_iden(),
            WalletLedger::Table.into_iden(),
            Wallets::Table.into_iden(),
            Payments::Table.into_iden(),
            Reservations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Reservations {
    Table,
    Id,
    UserId,
    SeatId,
    PriceWon,
    Status,
    HeldAt,
    ExpiresAt,
    ConfirmedAt,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    UserId,
    ReservationId,
    AmountWon,
    PaidAt,
}

#[derive(DeriveIden)]
enum Wallets {
    Table,
    UserId,
    BalanceWon,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WalletLedger {
    Table,
    Id,
    UserId,
    AmountWon,
    Kind,
    PaymentId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    UserId,
    Key,
    Request,
    Outcome,
    CreatedAt,
}
