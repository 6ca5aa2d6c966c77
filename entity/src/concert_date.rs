//! One performance of a concert; its seats are sold per date.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "concert_dates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub concert_id: i64,
    pub starts_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::concert::Entity",
        from = "Column::ConcertId",
        to = "super::concert::Column::Id"
    )]
    Concert,
    #[sea_orm(has_many = "super::seat::Entity")]
    Seat,
}

impl Related<super::concert::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Concert.def()
    }
}

impl Related<super::seat::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Seat.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
