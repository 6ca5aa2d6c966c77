//! `queue_tickets.changed_version`: the queue version (gate lock) that last
//! changed each ticket, so an instance can fetch exactly the changes other
//! instances committed since the last version it applied.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    in_a_transaction!();

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(QueueTickets::Table)
                    .add_column(big_integer(QueueTickets::ChangedVersion).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_queue_tickets_changed_version")
                    .table(QueueTickets::Table)
                    .col(QueueTickets::ChangedVersion)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_queue_tickets_changed_version")
                    .table(QueueTickets::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(QueueTickets::Table)
                    .drop_column(QueueTickets::ChangedVersion)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum QueueTickets {
    Table,
    ChangedVersion,
}
