//! Wallet persistence: guarded single-statement updates plus ledger rows.

use entity::wallet::{self, Column, Entity as Wallets};
use entity::wallet_ledger::{self, LedgerKind};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};

use super::{Balance, MAX_BALANCE_WON};
use crate::clock::Timestamp;
use crate::domain::Domain;
use crate::domain::error::{Error, Result};
use crate::domain::idempotency::{Checked, Mutation};
use crate::domain::queue::{QueueChanges, Ticket};

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

/// `chargeBalance`: the amount is checked, and the wallet looked up, on a
/// read connection.
pub(super) struct Charge {
    pub amount_won: i64,
    pub max_charge_won: i64,
    pub now: Timestamp,
    /// The caller has a wallet row (wallets are never deleted).
    pub has_wallet: bool,
}

impl Checked for Charge {
    type Output = Balance;

    fn request(&self) -> String {
        format!("chargeBalance({})", self.amount_won)
    }

    async fn check(&mut self, domain: &Domain, ticket: &Ticket) -> Result<()> {
        let (amount_won, max) = (self.amount_won, self.max_charge_won);
        if amount_won <= 0 {
            return Err(Error::InvalidAmount {
                reason: "the amount must be greater than 0".into(),
            });
        }
        if amount_won > max {
            return Err(Error::InvalidAmount {
                reason: format!("a single charge is at most {max} won"),
            });
        }
        let wallet = Wallets::find_by_id(ticket.user_id.clone())
            .one(domain.reader())
            .await?;
        self.has_wallet = wallet.is_some();
        // Balances only grow by charges, which the write re-checks; one
        // already too full is refused without the write lock.
        if wallet.is_some_and(|w| w.balance_won > MAX_BALANCE_WON - amount_won) {
            return Err(too_full());
        }
        Ok(())
    }
}

impl Mutation for Charge {
    async fn write(
        self,
        txn: &DatabaseTransaction,
        ticket: &Ticket,
    ) -> Result<(Balance, QueueChanges)> {
        let Self {
            amount_won, now, ..
        } = self;
        let user_id = &ticket.user_id;
        if !self.has_wallet {
            Wallets::insert(wallet::ActiveModel {
                user_id: Set(user_id.clone()),
                balance_won: Set(0),
                updated_at: Set(now),
            })
            .on_conflict(OnConflict::column(Column::UserId).do_nothing().to_owned())
            .exec_without_returning(txn)
            .await?;
        }
        let updated = Wallets::update_many()
            .col_expr(
                Column::BalanceWon,
                Expr::col(Column::BalanceWon).add(amount_won),
            )
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::UserId.eq(user_id))
            .filter(Column::BalanceWon.lte(MAX_BALANCE_WON.saturating_sub(amount_won)))
            .exec_with_returning(txn)
            .await?;
        let Some(wallet) = updated.into_iter().next() else {
            return Err(too_full());
        };
        record(txn, user_id, amount_won, LedgerKind::Charge, None, now).await?;
        let balance = Balance {
            user_id: wallet.user_id,
            amount_won: wallet.balance_won,
        };
        Ok((balance, QueueChanges::default()))
    }
}

fn too_full() -> Error {
    Error::InvalidAmount {
        reason: format!("a balance is at most {MAX_BALANCE_WON} won"),
    }
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
