//! HTTP wiring: `POST /graphql`, the playground at `GET /graphql`,
//! subscriptions at `/graphql/ws`, `GET /health` and Prometheus metrics at
//! `GET /metrics`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::ParseRequestError;
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::rejection::GraphQLRejection;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::Request;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use tokio::sync::Semaphore;
use tower::{Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

mod web;
mod ws;

use crate::domain::queue;
use crate::graphql::context::Viewer;
use crate::graphql::error::label_uncoded;
use crate::graphql::limits::Documents;
use crate::graphql::{AppSchema, documents};
use crate::state::AppState;

/// Largest accepted request body. async-graphql-axum reads the body as a
/// stream, which axum's default body limit does not cover.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub(crate) struct Http {
    pub(crate) schema: AppSchema,
    /// What every document passes before the schema sees it.
    pub(crate) documents: Documents,
    pub(crate) app: AppState,
    /// One permit per WebSocket connection served.
    pub(crate) ws_slots: Arc<Semaphore>,
}

/// The whole HTTP service: the routes inside the layers every request
/// passes. The layers wrap the router once, as one service cloned per
/// request; `Router::layer` would wrap each route in them, boxed, and
/// clone the boxes for every request.
pub fn service(
    app: AppState,
    schema: AppSchema,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send>
+ Clone
+ Send
+ Sync
+ 'static {
    let limit = Duration::from_millis(app.settings.request_timeout_ms);
    ServiceBuilder::new()
        .map_response(IntoResponse::into_response)
        // Outermost, so the trace layer never sees the bearer token.
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
        ]))
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn_with_state(limit, deadline))
        .layer(CatchPanicLayer::custom(|_| {
            error_body(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            )
        }))
        .service(router(app, schema))
}

fn router(app: AppState, schema: AppSchema) -> Router {
    // The body limit also covers bodies without a Content-Length, which
    // async-graphql-axum reads as a stream; `screen` (outermost) answers
    // the common cases first with a GraphQL-shaped error.
    let endpoint: MethodRouter<Http> = post(graphql)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .route_layer(middleware::from_fn(screen));
    let endpoint = if app.settings.introspection {
        endpoint.get(playground)
    } else {
        endpoint
    };
    Router::new()
        .route("/", get(web::index))
        .route("/assets/{*path}", get(web::asset))
        .route("/graphql", endpoint)
        .route("/graphql/ws", get(ws::subscriptions))
        .route("/health", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .with_state(Http {
            ws_slots: Arc::new(Semaphore::new(ws::max_connections(&app.settings))),
            schema,
            documents: documents(),
            app,
        })
}

/// Prometheus scrape: the OpenMetrics text of this process's registry.
async fn metrics(State(http): State<Http>) -> Response {
    let domain = &http.app.domain;
    let metrics = domain.metrics();
    let waiting = domain.hub().waiting_count();
    metrics
        .waiting
        .set(i64::try_from(waiting).unwrap_or(i64::MAX));
    match queue::admitted_count(domain).await {
        Ok(admitted) => {
            metrics
                .admitted
                .set(i64::try_from(admitted).unwrap_or(i64::MAX));
        }
        Err(err) => tracing::warn!(error = ?err, "metrics: admitted count unavailable"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
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
    request: Result<GraphQLRequest, GraphQLRejection>,
) -> Response {
    let request = match request {
        Ok(request) => request,
        Err(GraphQLRejection(err)) => return request_error(&err),
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let viewer = Viewer::from_authorization(authorization, Some(peer.ip()));
    let response = match http.documents.prepare(request.into_inner()) {
        Ok(request) => http.schema.execute(request.data(viewer)).await,
        Err(refused) => async_graphql::Response::from_errors(vec![refused]),
    };
    GraphQLResponse::from(label_uncoded(response)).into_response()
}

/// A body that is not one GraphQL request: a JSON error with a code, never
/// the parser's debug text.
fn request_error(err: &ParseRequestError) -> Response {
    let (status, message) = match err {
        ParseRequestError::PayloadTooLarge => too_large(),
        // A body sent without a length (chunked) meets the limit while it
        // is read, as an error of the read.
        ParseRequestError::Io(io) if over_the_limit(io) => too_large(),
        ParseRequestError::UnsupportedBatch => (
            StatusCode::BAD_REQUEST,
            "send one operation per request; batches are not supported".to_owned(),
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            "the body is not a GraphQL request: expected JSON {\"query\": …, \"variables\": …}"
                .to_owned(),
        ),
    };
    json_error(status, &message)
}

fn too_large() -> (StatusCode, String) {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
    )
}

/// Whether a failed read of the body is the body limit's doing. The
/// limit's error reaches us as its message alone: async-graphql-axum turns
/// the body's errors into I/O errors by their text. (A test sends such a
/// body, so a change of that text fails it.)
fn over_the_limit(err: &std::io::Error) -> bool {
    err.to_string() == "length limit exceeded"
}

/// A GraphQL-shaped error body for a request refused before execution.
fn json_error(status: StatusCode, message: &str) -> Response {
    error_body(status, "BAD_USER_INPUT", message)
}

/// A GraphQL-shaped body holding one error, for answers that no resolver
/// gave.
pub(crate) fn error_body(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "errors": [{
            "message": message,
            "extensions": { "code": code },
        }]})),
    )
        .into_response()
}

/// Answers a request still running after `limit` in GraphQL's shape, so a
/// client reads it as any other error. The request is dropped, but a write
/// it handed to a batch may still commit: hence the advice.
async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    if limit.is_zero() {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "INTERNAL",
            "the request took too long and was abandoned; a write it started may \
             still commit: retry with the same idempotencyKey to learn its outcome",
        ),
    }
}

/// Only `application/json` bodies within the size limit reach GraphQL: no
/// multipart uploads, no form posts.
async fn screen(request: Request, next: Next) -> Response {
    let declared_len = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared_len.is_some_and(|len| len > MAX_BODY_BYTES) {
        return request_error(&ParseRequestError::PayloadTooLarge);
    }
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if is_json {
        next.run(request).await
    } else {
        json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the operation as application/json",
        )
    }
}
