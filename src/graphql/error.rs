//! The only place that turns domain errors into client-facing GraphQL
//! errors: a stable `extensions.code` and a safe message. An internal error
//! is logged with its cause and shown as `INTERNAL` with no detail.

use async_graphql::{ErrorExtensionValues, ErrorExtensions, Response};

use crate::domain::Error;

impl ErrorExtensions for Error {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(cause) = self {
            tracing::error!(error = %cause, cause = ?cause, "internal error");
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", code(self));
            match self {
                Self::NotAdmitted { position } => ext.set("position", *position),
                Self::RateLimited { retry_after_secs } => {
                    ext.set("retryAfterSeconds", *retry_after_secs);
                }
                Self::HoldLimit { max } => ext.set("maxHolds", *max),
                Self::InsufficientBalance {
                    balance_won,
                    price_won,
                } => {
                    ext.set("balance", *balance_won);
                    ext.set("price", *price_won);
                }
                _ => {}
            }
        })
    }
}

/// The wire code of each error (SPEC section 7).
#[must_use]
pub fn code(err: &Error) -> &'static str {
    match err {
        Error::Unauthenticated => "UNAUTHENTICATED",
        Error::NotAdmitted { .. } => "NOT_ADMITTED",
        Error::TokenExpired => "TOKEN_EXPIRED",
        Error::NotFound { .. } => "NOT_FOUND",
        Error::SeatUnavailable => "SEAT_UNAVAILABLE",
        Error::HoldLimit { .. } => "HOLD_LIMIT",
        Error::HoldExpired => "HOLD_EXPIRED",
        Error::InvalidAmount { .. } => "INVALID_AMOUNT",
        Error::InsufficientBalance { .. } => "INSUFFICIENT_BALANCE",
        Error::AlreadyPaid => "ALREADY_PAID",
        Error::BadUserInput { .. } => "BAD_USER_INPUT",
        Error::RateLimited { .. } => "RATE_LIMITED",
        Error::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
        Error::Internal(_) => "INTERNAL",
    }
}

/// Gives every error of `response` that has no code `BAD_USER_INPUT`:
/// those async-graphql raises itself (parse, validation, limits, input
/// coercion) are all the client's input; every domain error has its own.
/// For responses on every transport, HTTP and WebSocket alike.
pub fn label_uncoded(mut response: Response) -> Response {
    for error in &mut response.errors {
        let coded = error
            .extensions
            .as_ref()
            .is_some_and(|ext| ext.get("code").is_some());
        if !coded {
            error
                .extensions
                .get_or_insert_with(ErrorExtensionValues::default)
                .set("code", "BAD_USER_INPUT");
        }
    }
    response
}

/// `.gql()` on a domain result: the resolver form of `map_err(extend)`.
pub trait GqlResult<T> {
    /// # Errors
    /// The domain error, mapped for the client.
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResult<T> for Result<T, Error> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|err| err.extend())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_show_no_detail() {
        let err = Error::invariant("SELECT * FROM wallets WHERE secret");
        let gql = err.extend();
        assert_eq!(gql.message, "internal error");
        let shown = format!("{:?}", gql.extensions);
        assert!(shown.contains("INTERNAL"));
        assert!(!shown.contains("SELECT"));
    }
}
