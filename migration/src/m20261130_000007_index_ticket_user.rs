//! `idx_queue_tickets_user_id`: a join batch looks up its users' live
//! tickets (`user_id IN (…) AND status IN ('WAITING', 'PROGRESS')`). The
//! partial unique index on live tickets cannot serve it: the statuses are
//! bound parameters, so neither SQLite nor a generic PostgreSQL plan can
//! prove the index's predicate, and SQLite scanned the whole table, 12 ms
//! per batch with 100,000 tickets, under the write lock. Status changes do
//! not touch this index. (On SQLite, which keeps no statistics, a batch of
//! several users still chose the `(status, expires_at)` index over this
//! one until the lookup kept its status term out of index choice: see
//! `seatline::db::unindexed`. On PostgreSQL the lookup now writes the
//! statuses out and searches the partial unique index, one user at a
//! time, because a generic plan chose the status index over this one
//! too: see `live_tickets` in `seatline::domain::queue::store`.)
//!
//! Dropped by migration 9, once SQLite searched the partial index too.

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
                    .name("idx_queue_tickets_user_id")
                    .table(QueueTickets::Table)
                    .col(QueueTickets::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_queue_tickets_user_id")
                    .table(QueueTickets::Table)
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
