//! Drops `idx_queue_tickets_user_id`. A join batch's lookup of its users'
//! live tickets now searches the partial unique index on live tickets on
//! both backends (see `live_tickets` in `seatline::domain::queue::store`),
//! and nothing else searches tickets by user. Every new ticket wrote a
//! page of this index at a random place (user ids arrive in no order), a
//! third of the index pages a join batch writes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_queue_tickets_user_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    in_a_transaction!();

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(NAME)
                    .table(QueueTickets::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(QueueTickets::Table)
                    .col(QueueTickets::UserId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum QueueTickets {
    Table,
    UserId,
}
