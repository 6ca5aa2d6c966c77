//! Queue fields: `issueQueueToken`, `queueTicket`, `queueUpdates`.

use async_graphql::resolver_utils::enum_value;
use async_graphql::{Context, Enum, ID, Object, ScalarType, SimpleObject, Subscription, Value};
use futures_util::{Stream, StreamExt};

use super::context::{state, token, viewer};
use super::error::GqlResult;
use crate::clock::Timestamp;
use crate::domain::queue::{self, TicketStatus, TicketView};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum QueueStatus {
    Waiting,
    Progress,
    Done,
    Expired,
}

/// A place in the waiting room.
#[derive(SimpleObject, Clone, Debug)]
pub struct QueueTicket {
    /// Opaque bearer token: send it as `Authorization: Bearer <token>`.
    token: String,
    user_id: ID,
    status: QueueStatus,
    /// WAITING tickets that entered before this one (0 = next in line);
    /// null unless WAITING.
    position: Option<i64>,
    entered_at: Timestamp,
    admitted_at: Option<Timestamp>,
    /// When an admission lapses.
    expires_at: Option<Timestamp>,
    /// From the recent admission rate; null without a basis yet.
    estimated_wait_seconds: Option<i64>,
}

impl From<TicketView> for QueueTicket {
    fn from(v: TicketView) -> Self {
        Self {
            token: v.token,
            user_id: ID(v.ticket.user_id),
            status: match v.status {
                TicketStatus::Waiting => QueueStatus::Waiting,
                TicketStatus::Progress => QueueStatus::Progress,
                TicketStatus::Done => QueueStatus::Done,
                TicketStatus::Expired => QueueStatus::Expired,
            },
            position: v.position.map(saturating_i64),
            entered_at: v.ticket.entered_at,
            admitted_at: v.ticket.admitted_at,
            expires_at: v.ticket.expires_at,
            estimated_wait_seconds: v.estimated_wait_secs.map(saturating_i64),
        }
    }
}

/// A field of `QueueTicket`, for answering a subscription without a
/// GraphQL execution (see `subscription.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketField {
    Token,
    UserId,
    Status,
    Position,
    EnteredAt,
    AdmittedAt,
    ExpiresAt,
    EstimatedWaitSeconds,
    Typename,
}

impl TicketField {
    pub const ALL: [Self; 9] = [
        Self::Token,
        Self::UserId,
        Self::Status,
        Self::Position,
        Self::EnteredAt,
        Self::AdmittedAt,
        Self::ExpiresAt,
        Self::EstimatedWaitSeconds,
        Self::Typename,
    ];

    /// The field's name in the schema.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::UserId => "userId",
            Self::Status => "status",
            Self::Position => "position",
            Self::EnteredAt => "enteredAt",
            Self::AdmittedAt => "admittedAt",
            Self::ExpiresAt => "expiresAt",
            Self::EstimatedWaitSeconds => "estimatedWaitSeconds",
            Self::Typename => "__typename",
        }
    }

    #[must_use]
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|field| field.name() == name)
    }
}

impl QueueTicket {
    /// The value the schema would give `field`: each through its own
    /// GraphQL type's conversion.
    #[must_use]
    pub fn value_of(&self, field: TicketField) -> Value {
        fn optional<T>(value: Option<&T>, to_value: impl Fn(&T) -> Value) -> Value {
            value.map_or(Value::Null, to_value)
        }
        match field {
            TicketField::Token => Value::String(self.token.clone()),
            TicketField::UserId => self.user_id.to_value(),
            TicketField::Status => enum_value(self.status),
            TicketField::Position => optional(self.position.as_ref(), |p| Value::from(*p)),
            TicketField::EnteredAt => self.entered_at.to_value(),
            TicketField::AdmittedAt => optional(self.admitted_at.as_ref(), ScalarType::to_value),
            TicketField::ExpiresAt => optional(self.expires_at.as_ref(), ScalarType::to_value),
            TicketField::EstimatedWaitSeconds => {
                optional(self.estimated_wait_seconds.as_ref(), |s| Value::from(*s))
            }
            TicketField::Typename => Value::String("QueueTicket".to_owned()),
        }
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[derive(Default)]
pub struct QueueQuery;

#[Object]
impl QueueQuery {
    /// The caller's ticket, in any state (the polling fallback).
    #[graphql(complexity = "super::DATABASE_COST + child_complexity")]
    async fn queue_ticket(&self, ctx: &Context<'_>) -> async_graphql::Result<QueueTicket> {
        let token = token(ctx)?;
        queue::ticket(&state(ctx).domain, token)
            .await
            .gql()
            .map(QueueTicket::from)
    }
}

#[derive(Default)]
pub struct QueueMutation;

#[Object]
impl QueueMutation {
    /// Joins the waiting room, or returns the user's live ticket.
    #[graphql(complexity = "super::DATABASE_COST + child_complexity")]
    async fn issue_queue_token(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
    ) -> async_graphql::Result<QueueTicket> {
        let state = state(ctx);
        state
            .limits
            .check_issue(viewer(ctx).and_then(|v| v.client_ip))
            .gql()?;
        queue::issue_ticket(&state.domain, &user_id)
            .await
            .gql()
            .map(QueueTicket::from)
    }
}

#[derive(Default)]
pub struct QueueSubscription;

#[Subscription]
impl QueueSubscription {
    /// The ticket's current state, then every change; completes after DONE
    /// or EXPIRED. The token comes from this argument or from the
    /// `connection_init` payload.
    async fn queue_updates(
        &self,
        ctx: &Context<'_>,
        token: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = QueueTicket> + use<>> {
        let token = match token {
            Some(token) => token,
            None => super::context::token(ctx)?.to_owned(),
        };
        let state = state(ctx);
        let stream = queue::follow(
            &state.domain,
            &token,
            state.push_interval(),
            state.shutdown.clone(),
        )
        .await
        .gql()?;
        Ok(stream.map(QueueTicket::from))
    }
}
