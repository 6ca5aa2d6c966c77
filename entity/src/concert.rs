//! A concert: a title with one or more dates.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "concerts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub title: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::concert_date::Entity")]
    ConcertDate,
}

impl Related<super::concert_date::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ConcertDate.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
