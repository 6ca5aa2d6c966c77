//! Concerts, their dates and seats. A seat number is unique per date.

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
                    .table(Concerts::Table)
                    .col(big_pk_auto(Concerts::Id))
                    .col(string(Concerts::Title))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConcertDates::Table)
                    .col(big_pk_auto(ConcertDates::Id))
                    .col(big_integer(ConcertDates::ConcertId))
                    .col(timestamp_with_time_zone(ConcertDates::StartsAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ConcertDates::Table, ConcertDates::ConcertId)
                            .to(Concerts::Table, Concerts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_concert_dates_concert")
                    .table(ConcertDates::Table)
                    .col(ConcertDates::ConcertId)
                    .col(ConcertDates::StartsAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Seats::Table)
                    .col(big_pk_auto(Seats::Id))
                    .col(big_integer(Seats::ConcertDateId))
                    .col(integer(Seats::Number).check(Expr::col(Seats::Number).gt(0)))
                    .col(big_integer(Seats::PriceWon).check(Expr::col(Seats::PriceWon).gte(0)))
                    .col(
                        string_len(Seats::Status, 16).check(Expr::col(Seats::Status).is_in([
                            "AVAILABLE",
                            "HELD",
                            "SOLD",
                        ])),
                    )
                    .col(timestamp_with_time_zone_null(Seats::HeldUntil))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Seats::Table, Seats::ConcertDateId)
                            .to(ConcertDates::Table, ConcertDates::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Invariant: a concert date has at most one seat with a given number.
        manager
            .create_index(
                Index::create()
                    .name("uq_seats_date_number")
                    .table(Seats::Table)
                    .col(Seats::ConcertDateId)
                    .col(Seats::Number)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Seats::Table.into_iden(),
            ConcertDates::Table.into_iden(),
            Concerts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
pub enum Concerts {
    Table,
    Id,
    Title,
}

#[derive(DeriveIden)]
pub enum ConcertDates {
    Table,
    Id,
    ConcertId,
    StartsAt,
}

#[derive(DeriveIden)]
pub enum Seats {
    Table,
    Id,
    ConcertDateId,
    Number,
    PriceWon,
    Status,
    HeldUntil,
}
