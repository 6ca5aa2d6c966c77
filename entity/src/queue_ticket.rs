//! A place in the waiting room. The auto-increment `id` is the FIFO order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum QueueStatus {
    #[sea_orm(string_value = "WAITING")]
    Waiting,
    #[sea_orm(string_value = "PROGRESS")]
    Progress,
    #[sea_orm(string_value = "DONE")]
    Done,
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "queue_tickets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// SHA-256 (hex) of the bearer token; the token itself is never stored.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// The token is derived from this with the server secret; `None` only
    /// for tickets issued before tokens were hashed, until start-up seals
    /// them.
    pub token_salt: Option<String>,
    pub user_id: String,
    pub status: QueueStatus,
    pub entered_at: DateTimeUtc,
    pub admitted_at: Option<DateTimeUtc>,
    pub expires_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    /// The queue version (gate lock) that last changed this ticket.
    pub changed_version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
