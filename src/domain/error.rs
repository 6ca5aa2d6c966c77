//! The one error type of the domain: variants a client can act on, plus an
//! opaque `Internal` whose cause is logged and never shown.
//!
//! Client errors are serializable so an idempotent retry can replay the
//! first attempt's error exactly; `Internal` is never stored.

use serde::{Deserialize, Serialize};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error, Serialize, Deserialize)]
pub enum Error {
    #[error("a valid queue token is required: send `Authorization: Bearer <token>`")]
    Unauthenticated,
    #[error("not admitted yet: {position} waiting ahead of you")]
    NotAdmitted { position: u64 },
    #[error("this queue ticket is no longer admitted; issue a new one")]
    TokenExpired,
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("seat is not available")]
    SeatUnavailable,
    #[error("you already hold {max} unpaid seats, the most allowed")]
    HoldLimit { max: u32 },
    #[error("the hold on this seat has expired")]
    HoldExpired,
    #[error("invalid amount: {reason}")]
    InvalidAmount { reason: String },
    #[error("balance of {balance_won} won does not cover {price_won} won")]
    InsufficientBalance { balance_won: i64, price_won: i64 },
    #[error("this reservation is already paid")]
    AlreadyPaid,
    #[error("{message}")]
    BadUserInput { message: String },
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("this idempotency key was used with different arguments")]
    IdempotencyKeyReused,
    #[serde(skip)]
    #[error("internal error")]
    Internal(#[source] InternalError),
}

/// The cause of an internal error, for the log only.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Invariant(String),
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Internal(err.into())
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl Error {
    pub(crate) fn not_found(what: &str) -> Self {
        Self::NotFound {
            what: what.to_owned(),
        }
    }

    /// Rejects text a client sent that contains control characters (a NUL
    /// byte is not even storable in PostgreSQL).
    pub(crate) fn check_text(what: &str, text: &str) -> Result<(), Self> {
        if text.chars().any(char::is_control) {
            return Err(Self::bad_input(format!(
                "{what} must not contain control characters"
            )));
        }
        Ok(())
    }

    pub(crate) fn bad_input(message: impl Into<String>) -> Self {
        Self::BadUserInput {
            message: message.into(),
        }
    }

    /// An invariant the database should have made impossible was observed.
    pub(crate) fn invariant(message: impl Into<String>) -> Self {
        Self::Internal(InternalError::Invariant(message.into()))
    }

    /// Whether this outcome may be stored and replayed for an idempotent retry.
    #[must_use]
    pub fn is_replayable(&self) -> bool {
        !matches!(
            self,
            Self::Internal(_) | Self::RateLimited { .. } | Self::Unauthenticated
        )
    }
}
