//! A numbered seat of one concert date.
//!
//! `status` and `held_until` are the fast path for availability: a hold is one
//! guarded `UPDATE` that only matches an AVAILABLE seat or one whose hold has
//! passed `held_until`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum SeatStatus {
    #[sea_orm(string_value = "AVAILABLE")]
    Available,
    #[sea_orm(string_value = "HELD")]
    Held,
    #[sea_orm(string_value = "SOLD")]
    Sold,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "seats")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub concert_date_id: i64,
    pub number: i32,
    pub price_won: i64,
    pub status: SeatStatus,
    pub held_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::concert_date::Entity",
        from = "Column::ConcertDateId",
        to = "super::concert_date::Column::Id"
    )]
    ConcertDate,
}

impl Related<super::concert_date::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ConcertDate.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
