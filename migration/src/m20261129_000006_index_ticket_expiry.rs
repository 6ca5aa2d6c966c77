//! `idx_queue_tickets_status_expires_at`: the sweeper asks "is any
//! admission past its `expires_at`?" and "when does the next one lapse?"
//! every time an admission lapses (a thousand times a second at a thousand
//! admissions a second). Through `(status, id)` both read every PROGRESS
//! row of the table; through `(status, expires_at)` each is one index seek.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    in_a_transaction!();

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_queue_tickets_status_expires_at")
                    .table(QueueTickets::Table)
                    .col(QueueTickets::Status)
                    .col(QueueTickets::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_queue_tickets_status_expires_at")
                    .table(QueueTickets::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum QueueTickets {
    Table,
    Status,
    ExpiresAt,
}
