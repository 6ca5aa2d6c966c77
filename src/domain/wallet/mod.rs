//! Prepaid balance (포인트) in whole won.
//!
//! # Invariants
//! - A balance equals the sum of its ledger rows: every change writes both
//!   in one transaction.
//! - A balance is never negative (CHECK constraint) and never overflows:
//!   credits and debits are single guarded updates, never read-then-write.

mod store;

use serde::{Deserialize, Serialize};

pub(crate) use self::store::Charge;
pub use self::store::Charges;
pub(crate) use self::store::{balances, debit, record as record_ledger};

/// The largest balance a wallet may hold: GraphQL's `Int` is 32-bit, and
/// a balance a client cannot read would be worse than a refused charge.
pub const MAX_BALANCE_WON: i64 = i32::MAX as i64;
use super::idempotency::{self, Gate};
use super::{Domain, Result};
use super::{batched, queue};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub user_id: String,
    pub amount_won: i64,
}

/// Adds `amount_won` to the caller's balance. Charges arriving together
/// are written together (see `crate::domain::batched`).
///
/// # Errors
/// The gate's errors, and `TokenExpired` for an admission that ended
/// before the charge was written; `InvalidAmount` when the amount is not
/// positive, exceeds the single-charge limit or would take the balance
/// past [`MAX_BALANCE_WON`].
pub async fn charge(
    domain: &Domain,
    token: &str,
    amount_won: i64,
    key: Option<&str>,
) -> Result<Balance> {
    let mut charge = store::Charge {
        amount_won,
        max_charge_won: domain.rules().max_charge_won,
    };
    match idempotency::gate(domain, token, key, &mut charge).await? {
        Gate::Answered(answer) => answer,
        Gate::Passed { ticket, request } => {
            batched::submit(domain, ticket, charge, key, request).await
        }
    }
}

/// The caller's balance (0 before the first charge).
///
/// # Errors
/// The gate's errors.
pub async fn balance(domain: &Domain, token: &str) -> Result<Balance> {
    let ticket = queue::admitted(domain, token).await?;
    store::balance(domain.reader(), &ticket.user_id).await
}
