//! Wallet persistence: guarded single-statement updates plus ledger rows.

use std::collections::HashMap;

use entity::wallet::{self, Column, Entity as Wallets};
use entity::wallet_ledger::{self, LedgerKind};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};

use super::{Balance, MAX_BALANCE_WON};
use crate::clock::Timestamp;
use crate::domain::Domain;
use crate::domain::batch::Pending;
use crate::domain::batched::{Batched, Request};
use crate::domain::booking::{admitted_at, touch_tickets};
use crate::domain::error::{Error, Result};
use crate::domain::idempotency::Checked;
use crate::domain::queue::{QueueChanges, Ticket};
use crate::metrics::{Counter, Histogram, Metrics};

pub(super) async fn balance<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<Balance> {
    let amount_won = balances(db, &[user_id])
        .await?
        .get(user_id)
        .copied()
        .unwrap_or(0);
    Ok(Balance {
        user_id: user_id.to_owned(),
        amount_won,
    })
}

/// `chargeBalance`: the amount is checked before the write; whether it
/// fits in the balance, only by the write.
pub(crate) struct Charge {
    pub amount_won: i64,
    pub max_charge_won: i64,
}

impl Checked for Charge {
    type Output = Balance;

    fn request(&self) -> String {
        format!("chargeBalance({})", self.amount_won)
    }

    async fn check(&mut self, _: &Domain, _: &Ticket) -> Result<()> {
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
        if amount_won > MAX_BALANCE_WON {
            return Err(too_full());
        }
        Ok(())
    }
}

/// Charges waiting for the next batch.
#[derive(Default)]
pub struct Charges(Pending<Request<Charge>>);

/// A charge batch is, besides the keys, two statements: every wallet
/// created or credited in one guarded upsert, and the ledger rows.
impl Batched for Charge {
    type Output = Balance;

    fn pending(domain: &Domain) -> &Pending<Request<Self>> {
        &domain.charges().0
    }

    fn metrics(metrics: &Metrics) -> (&Histogram, Option<&Counter>) {
        (&metrics.charge_batch, None)
    }

    async fn write(
        domain: &Domain,
        txn: &DatabaseTransaction,
        _: Timestamp,
        batch: &[&Request<Self>],
    ) -> Result<(Vec<Result<Balance>>, QueueChanges)> {
        // As for holds and payments, the admission is judged again when
        // written: a charge accepted just before its ticket finished or
        // lapsed is refused, not committed after it. On PostgreSQL the
        // touch may wait for the ticket's lock, so the time is read after.
        let tickets: Vec<i64> = batch.iter().map(|r| r.ticket.id).collect();
        let touched = touch_tickets(txn, &tickets).await?;
        let now = domain.now();
        let admitted = admitted_at(&touched, now);
        let credits: Vec<(&str, i64)> = batch
            .iter()
            .filter(|r| admitted.contains(&r.ticket.id))
            .map(|r| (r.ticket.user_id.as_str(), r.mutation.amount_won))
            .collect();
        let credited = credit(txn, &credits, now).await?;
        record(
            txn,
            credits
                .iter()
                .filter(|(user, _)| credited.contains_key(*user))
                .map(|&(user, amount)| (user, amount, LedgerKind::Charge, None)),
            now,
        )
        .await?;
        let outcomes = batch
            .iter()
            .map(|r| {
                let user = r.ticket.user_id.as_str();
                if !admitted.contains(&r.ticket.id) {
                    return Err(Error::TokenExpired);
                }
                match credited.get(user) {
                    Some(&amount_won) => Ok(Balance {
                        user_id: user.to_owned(),
                        amount_won,
                    }),
                    None => Err(too_full()),
                }
            })
            .collect();
        Ok((outcomes, QueueChanges::default()))
    }
}

/// Credits each user's amount, creating the wallets not there yet, in one
/// guarded upsert. Returns the new balance of each user credited: a
/// credit that would take a balance past [`MAX_BALANCE_WON`] is not.
async fn credit(
    txn: &DatabaseTransaction,
    credits: &[(&str, i64)],
    now: Timestamp,
) -> Result<HashMap<String, i64>> {
    if credits.is_empty() {
        return Ok(HashMap::new());
    }
    // Sorted, so two instances' batches never wait for each other's
    // wallets in a cycle.
    let mut rows = credits.to_vec();
    rows.sort_unstable();
    // A new wallet starts at the amount (at most the maximum, as
    // checked); an existing one is credited only if the result stays
    // within the maximum: no read-then-write.
    let (balance, new) = (
        Expr::col((Wallets, Column::BalanceWon)),
        Expr::col(("excluded", Column::BalanceWon)),
    );
    Ok(Wallets::insert_many(
        rows.into_iter()
            .map(|(user_id, amount_won)| wallet::ActiveModel {
                user_id: Set(user_id.to_owned()),
                balance_won: Set(amount_won),
                updated_at: Set(now),
            }),
    )
    .on_conflict(
        OnConflict::column(Column::UserId)
            .value(Column::BalanceWon, balance.clone().add(new.clone()))
            .value(
                Column::UpdatedAt,
                Expr::col(("excluded", Column::UpdatedAt)),
            )
            .action_and_where(balance.lte(Expr::val(MAX_BALANCE_WON).sub(new)))
            .to_owned(),
    )
    .exec_with_returning(txn)
    .await?
    .into_iter()
    .map(|w| (w.user_id, w.balance_won))
    .collect())
}

/// `CASE WHEN user_id = … THEN … END`: a value per user in one statement
/// (0 for any other user, whom the statement must not select).
fn by_user<'a>(values: impl IntoIterator<Item = (&'a str, i64)>) -> Expr {
    values
        .into_iter()
        .fold(CaseStatement::new(), |case, (user, value)| {
            case.case(Column::UserId.eq(user), value)
        })
        .finally(0)
        .into()
}

fn too_full() -> Error {
    Error::InvalidAmount {
        reason: format!("a balance is at most {MAX_BALANCE_WON} won"),
    }
}

/// Takes each user's amount from their balance, for those whose balance
/// covers it, in one guarded update; nothing changes for the others.
/// Returns the new balance of each user debited. The ledger rows are
/// written by the caller once it knows the payment ids.
pub(crate) async fn debit(
    txn: &DatabaseTransaction,
    debits: &[(&str, i64)],
    now: Timestamp,
) -> Result<HashMap<String, i64>> {
    if debits.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(Wallets::update_many()
        .col_expr(
            Column::BalanceWon,
            Expr::col(Column::BalanceWon).sub(by_user(debits.iter().copied())),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::UserId.is_in(debits.iter().map(|&(user, _)| user)))
        .filter(Expr::col(Column::BalanceWon).gte(by_user(debits.iter().copied())))
        .exec_with_returning(txn)
        .await?
        .into_iter()
        .map(|w| (w.user_id, w.balance_won))
        .collect())
}

/// The balances of `users` (0 for one without a wallet).
pub(crate) async fn balances<C: ConnectionTrait>(
    db: &C,
    users: &[&str],
) -> Result<HashMap<String, i64>> {
    let mut balances: HashMap<String, i64> =
        users.iter().map(|&user| (user.to_owned(), 0)).collect();
    let wallets = Wallets::find()
        .filter(Column::UserId.is_in(users.iter().copied()))
        .all(db)
        .await?;
    for w in wallets {
        balances.insert(w.user_id, w.balance_won);
    }
    Ok(balances)
}

/// Inserts a ledger row (user, amount, kind, payment) for each entry, in
/// one statement (none for no entries).
pub(crate) async fn record<'a>(
    txn: &DatabaseTransaction,
    entries: impl IntoIterator<Item = (&'a str, i64, LedgerKind, Option<i64>)>,
    now: Timestamp,
) -> Result<()> {
    let rows = entries
        .into_iter()
        .map(
            |(user_id, amount_won, kind, payment_id)| wallet_ledger::ActiveModel {
                user_id: Set(user_id.to_owned()),
                amount_won: Set(amount_won),
                kind: Set(kind),
                payment_id: Set(payment_id),
                created_at: Set(now),
                ..Default::default()
            },
        );
    wallet_ledger::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}
