//! Per-request context: who is calling and the shared application state.

use std::net::IpAddr;

use async_graphql::{Context, ErrorExtensions};

use crate::domain::Error;
use crate::state::AppState;

/// The caller, as the transport saw it: the bearer token from the
/// `Authorization` header (HTTP) or the `connection_init` payload
/// (WebSocket), and the client address.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub token: Option<String>,
    /// The header or payload was present but not a bearer token.
    pub malformed: bool,
    pub client_ip: Option<IpAddr>,
}

impl Viewer {
    /// Reads `Bearer <token>`; anything else counts as malformed.
    #[must_use]
    pub fn from_authorization(value: Option<&str>, client_ip: Option<IpAddr>) -> Self {
        let Some(value) = value else {
            return Self {
                client_ip,
                ..Self::default()
            };
        };
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty());
        Self {
            token: token.map(str::to_owned),
            malformed: token.is_none(),
            client_ip,
        }
    }
}

pub fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    // Schema::build always registers AppState when serving; the schema
    // printed by `seatline schema` never resolves a field.
    #[allow(clippy::expect_used)]
    ctx.data::<AppState>()
        .expect("AppState is registered with the schema")
}

pub fn viewer<'a>(ctx: &Context<'a>) -> Option<&'a Viewer> {
    ctx.data_opt::<Viewer>()
}

/// The caller's bearer token.
///
/// # Errors
/// `UNAUTHENTICATED` when none was sent or it was malformed.
pub fn token<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a str> {
    viewer(ctx)
        .filter(|v| !v.malformed)
        .and_then(|v| v.token.as_deref())
        .ok_or_else(|| Error::Unauthenticated.extend())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bearer_tokens_are_read() {
        let v = Viewer::from_authorization(Some("Bearer abc"), None);
        assert_eq!(v.token.as_deref(), Some("abc"));
        assert!(Viewer::from_authorization(Some("Basic abc"), None).malformed);
        assert!(Viewer::from_authorization(Some("Bearer "), None).malformed);
        assert!(!Viewer::from_authorization(None, None).malformed);
    }
}
