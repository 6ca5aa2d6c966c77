//! Wallet persistence: guarded single-statement updates plus ledger rows.

use entity::wallet::{self, Column, Entity as Wallets};
use entity::wallet_ledger::{self, LedgerKind};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};

use super::Balance;
use crate::clock::Timestamp;
use crate::domain::error::{Error, Result};

pub(super) async fn balance<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<Balance> {
    let amount_won = Wallets::find_by_id(user_id.to_owned())
        .one(db)
        .await?
        .map_or(0, |w| w.balance_won);
    Ok(Balance {
        user_id: user_id.to_owned(),
        amount_won,
    })
}

pub(super) async fn credit(
    txn: &DatabaseTransaction,
    user_id: &str,
    amount_won: i64,
    max_balance_won: i64,
    now: Timestamp,
) -> Result<Balance> {
    Wallets::insert(wallet::ActiveModel {
        user_id: Set(user_id.to_owned()),
        balance_won: Set(0),
        updated_at: Set(now),
    })
    .on_conflict(OnConflict::column(Column::UserId).do_nothing().to_owned())
    .exec_without_returning(txn)
    .await?;
    let updated = Wallets::update_many()
        .col_expr(
            Column::BalanceWon,
            Expr::col(Column::BalanceWon).add(amount_won),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::BalanceWon.lte(max_balance_won.saturating_sub(amount_won)))
        .exec_with_returning(txn)
        .await?;
    let Some(wallet) = updated.into_iter().next() else {
        return Err(Error::InvalidAmount {
            reason: format!("a balance is at most {max_balance_won} won"),
        });
    };
    record(txn, user_id, amount_won, LedgerKind::Charge, None, now).await?;
    Ok(Balance {
        user_id: wallet.user_id,
        amount_won: wallet.balance_won,
    })
}

/// Takes `amount_won` from the balance if it covers it; nothing changes
/// otherwise. The ledger row is written by the caller once it knows the
/// payment id.
pub(crate) async fn debit(
    txn: &DatabaseTransaction,
    user_id: &str,
    amount_won: i64,
    now: Timestamp,
) -> Result<i64> {
    let updated = Wallets::update_many()
        .col_expr(
            Column::BalanceWon,
            Expr::col(Column::BalanceWon).sub(amount_won),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::BalanceWon.gte(amount_won))
        .exec_with_returning(txn)
        .await?;
    match updated.into_iter().next() {
        Some(wallet) => Ok(wallet.balance_won),
        None => Err(Error::InsufficientBalance {
            balance_won: balance(txn, user_id).await?.amount_won,
            price_won: amount_won,
        }),
    }
}

pub(crate) async fn record(
    txn: &DatabaseTransaction,
    user_id: &str,
    amount_won: i64,
    kind: LedgerKind,
    payment_id: Option<i64>,
    now: Timestamp,
) -> Result<()> {
    wallet_ledger::Entity::insert(wallet_ledger::ActiveModel {
        user_id: Set(user_id.to_owned()),
        amount_won: Set(amount_won),
        kind: Set(kind),
        payment_id: Set(payment_id),
        created_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}
