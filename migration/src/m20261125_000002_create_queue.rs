//! The waiting room: tickets and the gate row that serializes admissions.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    in_a_transaction!();

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(QueueTickets::Table)
                    .col(big_pk_auto(QueueTickets::Id))
                    .col(string_len_uniq(QueueTickets::Token, 64))
                    .col(string_len(QueueTickets::UserId, 128))
                    .col(
                        string_len(QueueTickets::Status, 16).check(
                            Expr::col(QueueTickets::Status)
                                .is_in(["WAITING", "PROGRESS", "DONE", "EXPIRED"]),
                        ),
                    )
                    .col(timestamp_with_time_zone(QueueTickets::EnteredAt))
                    .col(timestamp_with_time_zone_null(QueueTickets::AdmittedAt))
                    .col(timestamp_with_time_zone_null(QueueTickets::ExpiresAt))
                    .col(timestamp_with_time_zone_null(QueueTickets::FinishedAt))
                    .to_owned(),
            )
            .await?;
        // "Earliest WAITING", "count PROGRESS" and "lapsed PROGRESS" are all
        // range scans of this index.
        manager
            .create_index(
                Index::create()
                    .name("idx_queue_tickets_status_id")
                    .table(QueueTickets::Table)
                    .col(QueueTickets::Status)
                    .col(QueueTickets::Id)
                    .to_owned(),
            )
            .await?;
        // Invariant: a user has at most one live (WAITING or PROGRESS) ticket.
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE UNIQUE INDEX uq_queue_tickets_live_user ON queue_tickets (user_id) \
             WHERE status IN ('WAITING', 'PROGRESS')",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(QueueGate::Table)
                    .col(integer(QueueGate::Id).primary_key())
                    .col(big_integer(QueueGate::Version).default(0))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared("INSERT INTO queue_gate (id, version) VALUES (1, 0)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(QueueGate::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(QueueTickets::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum QueueTickets {
    Table,
    Id,
    Token,
    UserId,
    Status,
    EnteredAt,
    AdmittedAt,
    ExpiresAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum QueueGate {
    Table,
    Id,
    Version,
}
