//! Wallet fields: `balance` and `chargeBalance`.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::context::{state, token};
use super::error::GqlResult;
use crate::domain::wallet;

#[derive(SimpleObject, Clone, Debug)]
pub struct Balance {
    user_id: ID,
    /// Whole won.
    amount: i64,
}

impl From<wallet::Balance> for Balance {
    fn from(b: wallet::Balance) -> Self {
        Self {
            user_id: ID(b.user_id),
            amount: b.amount_won,
        }
    }
}

#[derive(Default)]
pub struct WalletQuery;

#[Object]
impl WalletQuery {
    /// The caller's prepaid balance.
    #[graphql(complexity = "super::DATABASE_COST + child_complexity")]
    async fn balance(&self, ctx: &Context<'_>) -> async_graphql::Result<Balance> {
        let token = token(ctx)?;
        wallet::balance(&state(ctx).domain, token)
            .await
            .gql()
            .map(Balance::from)
    }
}

#[derive(Default)]
pub struct WalletMutation;

#[Object]
impl WalletMutation {
    /// Adds whole won to the caller's balance.
    #[graphql(complexity = "super::DATABASE_COST + child_complexity")]
    async fn charge_balance(
        &self,
        ctx: &Context<'_>,
        amount: i64,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<Balance> {
        let token = token(ctx)?;
        let state = state(ctx);
        state.limits.check_token(token).gql()?;
        wallet::charge(&state.domain, token, amount, idempotency_key.as_deref())
            .await
            .gql()
            .map(Balance::from)
    }
}
