//! HTTP wiring: `POST /graphql`, the playground at `GET /graphql`,
//! subscriptions at `/graphql/ws`, and `GET /health`.

use std::net::SocketAddr;
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use async_graphql::{ErrorExtensionValues, ServerError};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::Request;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

mod ws;

use crate::graphql::AppSchema;
use crate::graphql::context::Viewer;
use crate::state::AppState;

/// Largest accepted request body. async-graphql-axum reads the body as a
/// stream, which axum's default body limit does not cover.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Requests running longer are answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub(crate) struct Http {
    pub(crate) schema: AppSchema,
    pub(crate) app: AppState,
}

pub fn router(app: AppState, schema: AppSchema) -> Router {
    let endpoint: MethodRouter<Http> = post(graphql)
        .route_layer(middleware::from_fn(json_only))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES));
    let endpoint = if app.settings.introspection {
        endpoint.get(playground)
    } else {
        endpoint
    };
    Router::new()
        .route("/graphql", endpoint)
        .route("/graphql/ws", get(ws::subscriptions))
        .route("/health", get(|| async { "ok" }))
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(TraceLayer::new_for_http())
        // Outermost, so the trace layer never sees the bearer token.
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
        ]))
        .with_state(Http { schema, app })
}

async fn playground() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("Seatline")
            .finish(),
    )
}

async fn graphql(
    State(http): State<Http>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let viewer = Viewer::from_authorization(authorization, Some(peer.ip()));
    let mut response = http.schema.execute(request.into_inner().data(viewer)).await;
    for error in &mut response.errors {
        label_request_error(error);
    }
    response.into()
}

/// Only `application/json` bodies reach GraphQL: no multipart uploads, no
/// form posts.
async fn json_only(request: Request, next: Next) -> Response {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if is_json {
        next.run(request).await
    } else {
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            axum::Json(serde_json::json!({ "errors": [{
                "message": "send the operation as application/json",
                "extensions": { "code": "BAD_USER_INPUT" },
            }]})),
        )
            .into_response()
    }
}

/// Errors async-graphql raises itself (parse, validation, limits) carry no
/// code; they are all the client's input.
fn label_request_error(error: &mut ServerError) {
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
