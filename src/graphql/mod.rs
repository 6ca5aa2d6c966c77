//! The GraphQL layer: thin resolvers that read the caller from the context,
//! call the domain, and map results to DTOs and errors to codes
//! (`error.rs`). It never touches the database.

mod booking;
mod catalog;
pub mod context;
pub mod error;
pub mod limits;
mod payment;
mod queue;
pub mod subscription;
mod wallet;

use async_graphql::{MergedObject, MergedSubscription, Schema};

use crate::state::AppState;

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    catalog::CatalogQuery,
    queue::QueueQuery,
    wallet::WalletQuery,
);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    queue::QueueMutation,
    booking::BookingMutation,
    wallet::WalletMutation,
    payment::PaymentMutation,
);

#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(queue::QueueSubscription);

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Deepest query accepted. Our deepest real query (`pay { reservation {
/// seat { … } } }`) is 4 levels; GraphiQL's introspection query needs 13.
pub const MAX_DEPTH: usize = 16;
/// Largest query cost accepted: one point per field, and
/// [`DATABASE_COST`] more for a root field that reaches the database.
pub const MAX_COMPLEXITY: usize = 1000;
/// What a root field that reads or writes the database costs besides its
/// selection: a request holds at most 40 of them, however it aliases
/// them, where at one point each it could hold hundreds (a public
/// `concerts` is three statements).
pub const DATABASE_COST: usize = 25;

/// The schema, with `state` as its data (none for printing the SDL).
/// Introspection follows `state`'s settings.
#[must_use]
pub fn build_schema(state: Option<AppState>) -> AppSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .limit_recursive_depth(32)
    .limit_directives(8);
    if state.as_ref().is_some_and(|s| !s.settings.introspection) {
        builder = builder.disable_introspection().disable_suggestions();
    }
    match state {
        Some(state) => builder.data(state).finish(),
        None => builder.finish(),
    }
}

/// What every document passes before the schema runs it (see [`limits`]):
/// the expansion limit at the schema's complexity limit, and the parses
/// kept. One for the process, shared by every transport.
#[must_use]
pub fn documents() -> limits::Documents {
    limits::Documents::new(MAX_COMPLEXITY)
}

/// The schema in SDL, as committed in `schema.graphql`.
#[must_use]
pub fn sdl() -> String {
    build_schema(None).sdl()
}
