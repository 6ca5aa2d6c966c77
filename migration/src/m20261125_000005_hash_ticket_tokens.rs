//! Queue tokens are no longer stored: `queue_tickets.token` becomes
//! `token_hash` (SHA-256 of the token, still unique, looked up on every
//! request) and `token_salt` is added, from which the server derives the
//! token with its secret.
//!
//! Tickets issued before this migration have no salt; the server gives
//! them one at start-up (it needs its secret to do so), which replaces
//! their token: a holder re-joins and gets the same ticket, in the same
//! place, with a new token.

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
                    .rename_column(QueueTickets::Token, QueueTickets::TokenHash)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(QueueTickets::Table)
                    .add_column(string_len_null(QueueTickets::TokenSalt, 64))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(QueueTickets::Table)
                    .drop_column(QueueTickets::TokenSalt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(QueueTickets::Table)
                    .rename_column(QueueTickets::TokenHash, QueueTickets::Token)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum QueueTickets {
    Table,
    Token,
    TokenHash,
    TokenSalt,
}
