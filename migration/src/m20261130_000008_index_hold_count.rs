//! `idx_reservations_user_status_expires` replaces
//! `idx_reservations_user_status`. The hold limit counts a user's live
//! holds (`user_id = ? AND status = 'HELD' AND expires_at > ?`) when a
//! hold or a payment is written. With an index on `(user_id, status)` and
//! another on `(status, expires_at)`, SQLite's planner took the second,
//! which matches two of the three terms as well, and walked every live
//! hold of every user under the write lock: 6,612 rows per count after a
//! `hold-hot` run. Adding `expires_at` makes the user's index match all
//! three, and SQLite takes it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "idx_reservations_user_status";
const NEW: &str = "idx_reservations_user_status_expires";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    in_a_transaction!();

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NEW)
                    .table(Reservations::Table)
                    .col(Reservations::UserId)
                    .col(Reservations::Status)
                    .col(Reservations::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        drop_index(manager, OLD).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(OLD)
                    .table(Reservations::Table)
                    .col(Reservations::UserId)
                    .col(Reservations::Status)
                    .to_owned(),
            )
            .await?;
        drop_index(manager, NEW).await
    }
}

async fn drop_index(manager: &SchemaManager<'_>, name: &str) -> Result<(), DbErr> {
    manager
        .drop_index(
            Index::drop()
                .name(name)
                .table(Reservations::Table)
                .to_owned(),
        )
        .await
}

#[derive(DeriveIden)]
enum Reservations {
    Table,
    UserId,
    Status,
    ExpiresAt,
}
