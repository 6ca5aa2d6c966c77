//! HTTP wiring: `POST /graphql`, the playground at `GET /graphql`,
//! subscriptions at `/graphql/ws`, and `GET /health`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource, WebSocketProtocols, WsMessage};
use async_graphql::{Data, ErrorExtensionValues, ServerError};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt, future};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::graphql::AppSchema;
use crate::graphql::context::Viewer;
use crate::state::AppState;

/// Largest accepted request body. async-graphql-axum reads the body as a
/// stream, which axum's default body limit does not cover.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest accepted WebSocket message or frame.
pub const MAX_WS_MESSAGE_BYTES: usize = 64 * 1024;
/// Requests running longer are answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
struct Http {
    schema: AppSchema,
    app: AppState,
}

pub fn router(app: AppState, schema: AppSchema) -> Router {
    Router::new()
        .route(
            "/graphql",
            get(playground)
                .post(graphql)
                .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES)),
        )
        .route("/graphql/ws", get(subscriptions))
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

async fn subscriptions(
    State(http): State<Http>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // tungstenite allocates its read buffer up front: the 128 KiB
        // default costs ~140 KiB per idle subscriber, 4 KiB costs ~14.
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20)
        .max_message_size(MAX_WS_MESSAGE_BYTES)
        .max_frame_size(MAX_WS_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve_socket(socket, http, peer.ip()))
        .into_response()
}

/// Runs one GraphQL WebSocket connection until either side closes it or
/// the server shuts down (axum's graceful shutdown does not wait for
/// upgraded connections, so this loop watches the shutdown token itself).
async fn serve_socket(mut socket: WebSocket, http: Http, ip: IpAddr) {
    let Some(protocol) = socket
        .protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(|p| p.parse::<WebSocketProtocols>().ok())
    else {
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code: 4406,
                reason: "subprotocol not acceptable: use graphql-transport-ws".into(),
            })))
            .await;
        return;
    };
    let (mut sink, source) = socket.split();
    let input = source
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
                _ => None,
            })
        });
    let shutdown = http.app.shutdown.clone();
    let output = async_graphql::http::WebSocket::new(http.schema, input, protocol)
        .on_connection_init(move |payload| async move {
            let mut data = Data::default();
            data.insert(viewer_from_init(&payload, ip));
            Ok(data)
        })
        .take_until(shutdown.clone().cancelled_owned());
    let mut output = std::pin::pin!(output);
    while let Some(message) = output.next().await {
        let frame = match message {
            WsMessage::Text(text) => Message::Text(text.into()),
            WsMessage::Close(code, reason) => Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })),
        };
        if sink.send(frame).await.is_err() {
            return;
        }
    }
    if shutdown.is_cancelled() {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: 1001,
                reason: "server shutting down".into(),
            })))
            .await;
    }
    let _ = sink.close().await;
}

/// The token from a `connection_init` payload: `{"token": "…"}` or
/// `{"Authorization": "Bearer …"}`.
fn viewer_from_init(payload: &serde_json::Value, ip: IpAddr) -> Viewer {
    if let Some(token) = payload.get("token").and_then(serde_json::Value::as_str) {
        return Viewer {
            token: Some(token.to_owned()),
            malformed: false,
            client_ip: Some(ip),
        };
    }
    let authorization = payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"))
        .map(|v| v.as_str().unwrap_or(""));
    Viewer::from_authorization(authorization, Some(ip))
}
