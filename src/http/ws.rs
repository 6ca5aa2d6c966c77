//! `/graphql/ws`: GraphQL subscriptions over WebSocket, in the
//! graphql-transport-ws protocol and the legacy graphql-ws one.
//!
//! The protocol is spoken here, not by async-graphql's `WebSocket` state
//! machine: a connection is one task holding the socket, a [`Connection`]
//! (the protocol state: the session once acknowledged, and the live
//! subscriptions) and two timers. That is what an idle subscriber costs,
//! and with tens of thousands of them every byte counts (`BENCHMARKS.md`).
//! Speaking it ourselves also gives graphql-transport-ws its own close
//! codes: 4408 when no `connection_init` arrives in time, 4401 for a
//! subscribe before the ack, 4409 for a duplicate subscription id, 4429 for
//! a second init and 4400 for an invalid message.
//!
//! Around the protocol, the socket: small buffers (tungstenite allocates
//! its read buffer up front), size limits, a bound on connections (below
//! the open-file limit) and on subscriptions per connection, a clean close
//! on shutdown (axum's graceful shutdown does not wait for upgraded
//! connections), keep-alive pings that drop dead peers,
//! and a write deadline that drops a reader too slow to keep up (its buffer
//! is bounded, so memory is too).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_graphql::Request;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, ClientMessage, WebSocketProtocols};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::stream::BoxStream;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::Http;
use crate::config::Settings;
use crate::graphql::context::Viewer;
use crate::graphql::subscription::SubscriptionExecutor;

/// Largest accepted WebSocket message or frame.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Live subscriptions one connection may hold.
pub const MAX_SUBSCRIPTIONS: usize = 20;
/// Bytes queued for a slow reader before the connection is dropped.
const MAX_WRITE_BUFFER_BYTES: usize = 1 << 20;

/// Descriptors kept for everything but WebSockets when their limit is
/// derived from the open-file limit (at most a quarter of it): HTTP
/// connections, the database's, the listener and the files SQLite opens.
const DESCRIPTORS_KEPT: usize = 512;
/// The limit when the open-file limit cannot be read.
const DEFAULT_MAX_CONNECTIONS: usize = 16_384;

/// WebSocket connections served at once: the setting, or the open-file
/// limit less what everything else needs.
pub(crate) fn max_connections(settings: &Settings) -> usize {
    let max = match settings.ws_max_connections {
        0 => open_file_limit().map_or(DEFAULT_MAX_CONNECTIONS, |limit| {
            limit - DESCRIPTORS_KEPT.min(limit / 4)
        }),
        n => n,
    };
    max.min(tokio::sync::Semaphore::MAX_PERMITS)
}

/// The soft open-file limit, from `/proc/self/limits` (Linux).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

pub(crate) async fn subscriptions(
    State(http): State<Http>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Held by the connection's task for as long as it lives.
    let Ok(slot) = Arc::clone(&http.ws_slots).try_acquire_owned() else {
        return super::error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "INTERNAL",
            "this instance serves as many WebSocket connections as it can; \
             retry later, or poll queueTicket meanwhile",
        );
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // The 128 KiB default read buffer costs ~140 KiB per idle
        // subscriber. Clients send a few hundred bytes at a time (init,
        // subscribe, pong); a larger message grows the buffer as needed.
        .read_buffer_size(256)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        // The connection's task keeps what this closure captures, and what
        // `serve` is called with, for as long as the connection lives (a
        // future never reuses that room): one boxed copy of the state.
        .on_upgrade({
            let executor = Box::new(SubscriptionExecutor::new(
                http.schema,
                http.documents,
                http.app,
            ));
            move |socket| serve(socket, executor, peer.ip(), slot)
        })
        .into_response()
}

/// Runs one connection until either side closes it or the server stops.
///
/// A function returning an `async move` block rather than an `async fn`:
/// the future of an `async fn` keeps its arguments twice (as passed, and as
/// bound in its body), and the socket alone is 368 bytes of every idle
/// subscriber's task.
#[allow(clippy::manual_async_fn)]
fn serve(
    mut socket: WebSocket,
    executor: Box<SubscriptionExecutor>,
    ip: IpAddr,
    slot: OwnedSemaphorePermit,
) -> impl Future<Output = ()> + Send {
    async move {
        let strict = match socket
            .protocol()
            .and_then(|p| p.to_str().ok())
            .and_then(|p| p.parse::<WebSocketProtocols>().ok())
        {
            Some(WebSocketProtocols::GraphQLWS) => true,
            Some(WebSocketProtocols::SubscriptionsTransportWS) => false,
            None => {
                let _ = socket.send(close(4406, "subprotocol not acceptable")).await;
                return;
            }
        };
        let app = executor.app();
        // Counted as one of the domain's tasks until the farewell is sent, so
        // shutdown closes the database only after no stream of this connection
        // can still reach it. The closing handshake is not waited for.
        let tracked = app.domain.tasks().token();
        let shutdown = app.shutdown.clone();
        let init_timeout = Duration::from_millis(app.settings.ws_init_timeout_ms);
        let keepalive = Duration::from_millis(app.settings.ws_keepalive_ms.max(10));
        let mut connection = Connection::new(strict, ip);
        let opened = Instant::now();
        let mut heard = opened;
        // One timer for the two deadlines, the init's and the next ping's: an
        // idle connection holds it for as long as it lives.
        let init_by = opened + init_timeout;
        let mut ping_at = opened + keepalive;
        let timer = tokio::time::sleep_until(init_by.min(ping_at));
        let mut timer = std::pin::pin!(timer);

        let farewell = loop {
            let frame = tokio::select! {
                // A stop is seen before anything else: followers end on the
                // same cancel, and a `complete` sent for them first would tell
                // clients their subscriptions are over, so that they would not
                // subscribe again once they reconnect elsewhere.
                biased;
                () = shutdown.cancelled() => break Some(close(1001, "server shutting down")),
                () = &mut timer => {
                    let now = Instant::now();
                    // Both protocols need `connection_init` before anything else.
                    if !connection.acknowledged() && now >= init_by {
                        break Some(close(4408, "Connection initialisation timeout"));
                    }
                    let ping = now >= ping_at;
                    if ping {
                        if now.duration_since(heard) >= 2 * keepalive {
                            break Some(close(1001, "keep-alive timeout"));
                        }
                        ping_at = now + keepalive;
                    }
                    let next = if connection.acknowledged() {
                        ping_at
                    } else {
                        init_by.min(ping_at)
                    };
                    timer.as_mut().reset(next);
                    if !ping {
                        continue;
                    }
                    Message::Ping(Default::default())
                }
                message = socket.recv() => {
                    let message = match message {
                        Some(Ok(message)) => message,
                        Some(Err(err)) if too_big(&err) => {
                            break Some(close(1009, "message too big"));
                        }
                        _ => break None,
                    };
                    heard = Instant::now();
                    let data = match message {
                        Message::Text(text) => text.into(),
                        Message::Binary(data) => data,
                        // Pings are answered by tungstenite; a close is
                        // answered by it too, and the next read ends.
                        _ => continue,
                    };
                    match connection.receive(&data) {
                        None => continue,
                        Some(Reaction::Say(text)) => Message::Text(text.into()),
                        Some(Reaction::SayLast(text)) => break Some(Message::Text(text.into())),
                        Some(Reaction::Close(code, reason)) => break Some(close(code, &reason)),
                        Some(Reaction::End) => break None,
                        // A subscribe read as the server stops starts nothing.
                        Some(Reaction::Subscribe(..)) if shutdown.is_cancelled() => {
                            break Some(close(1001, "server shutting down"));
                        }
                        Some(Reaction::Subscribe(id, request)) => {
                            let stream = executor.execute_stream(*request, connection.viewer.as_ref());
                            connection.start(id, stream);
                            continue;
                        }
                    }
                }
                text = std::future::poll_fn(|cx| connection.poll_output(cx)) => Message::Text(text.into()),
            };
            // A reader that takes nothing for a whole interval is dropped: its
            // write buffer is bounded, and the connection must not hang on it.
            if !matches!(
                tokio::time::timeout(keepalive, socket.send(frame)).await,
                Ok(Ok(()))
            ) {
                return;
            }
        };
        drop(connection);
        if let Some(frame) = farewell {
            let _ = tokio::time::timeout(keepalive, socket.send(frame)).await;
        }
        drop(tracked);
        let _ = tokio::time::timeout(keepalive, socket.close()).await;
        drop(slot);
    }
}

/// Whether a read failed on a message or frame over the size limit.
/// tungstenite's error reaches us through axum's by its text alone; a test
/// sends such a message, so a change of that text fails it.
fn too_big(err: &axum::Error) -> bool {
    err.to_string().contains("Message too long")
}

fn close(code: u16, reason: &str) -> Message {
    // A close frame has room for 123 bytes of reason; a parser's message
    // about a bad client message may be longer.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }))
}

/// What a client message asks the connection to do.
#[derive(Debug)]
enum Reaction {
    /// Send this text message.
    Say(String),
    /// Send this text message, then close.
    SayLast(String),
    /// Close with this code and reason.
    Close(u16, String),
    /// Close without another word.
    End,
    /// Start this subscription and [`Connection::start`] its stream.
    Subscribe(String, Box<Request>),
}

/// One connection's protocol state: whether it is acknowledged (and as
/// whom), and its live subscriptions.
struct Connection {
    /// graphql-transport-ws, rather than the legacy graphql-ws.
    strict: bool,
    ip: IpAddr,
    /// Set by `connection_init`, which is acknowledged at once. (Kept as
    /// it is: the schema's `Data` is made for the rare document it runs.)
    viewer: Option<Viewer>,
    /// Live subscriptions, by id. A connection holds a handful at most.
    streams: Vec<(String, BoxStream<'static, async_graphql::Response>)>,
    /// Where the next poll of `streams` starts, so that a busy one cannot
    /// starve the others.
    turn: usize,
}

impl Connection {
    fn new(strict: bool, ip: IpAddr) -> Self {
        Self {
            strict,
            ip,
            viewer: None,
            streams: Vec::new(),
            turn: 0,
        }
    }

    fn acknowledged(&self) -> bool {
        self.viewer.is_some()
    }

    /// Reads one client message.
    fn receive(&mut self, data: &[u8]) -> Option<Reaction> {
        let message = match self.parse(data) {
            Ok(message) => message,
            Err(reason) => return Some(self.invalid(reason)),
        };
        match message {
            ClientMessage::ConnectionInit { payload } => {
                if self.viewer.is_some() {
                    return Some(if self.strict {
                        Reaction::Close(4429, "Too many initialisation requests".into())
                    } else {
                        Reaction::SayLast(
                            json!({
                                "type": "connection_error",
                                "payload": { "message": "Too many initialisation requests." },
                            })
                            .to_string(),
                        )
                    });
                }
                self.viewer = Some(viewer_from_init(&payload.unwrap_or_default(), self.ip));
                Some(Reaction::Say(r#"{"type":"connection_ack"}"#.into()))
            }
            ClientMessage::Start { id, payload } => self.subscribe(id, payload),
            ClientMessage::Stop { id } => self.end(&id).then(|| Reaction::Say(complete(&id))),
            ClientMessage::ConnectionTerminate => Some(Reaction::End),
            ClientMessage::Ping { .. } => Some(Reaction::Say(r#"{"type":"pong"}"#.into())),
            ClientMessage::Pong { .. } => None,
        }
    }

    /// The answer to a message this protocol does not have.
    fn invalid(&self, reason: String) -> Reaction {
        if self.strict {
            Reaction::Close(4400, "Invalid message received".into())
        } else {
            Reaction::Close(1002, reason)
        }
    }

    /// A client message, if it is one this protocol has.
    fn parse(&self, data: &[u8]) -> Result<ClientMessage, String> {
        let message: Value = serde_json::from_slice(data).map_err(|err| err.to_string())?;
        let kind = message["type"].as_str().unwrap_or_default();
        let known: &[&str] = if self.strict {
            &["connection_init", "subscribe", "complete", "ping", "pong"]
        } else {
            &[
                "connection_init",
                "start",
                "stop",
                "connection_terminate",
                "ping",
                "pong",
            ]
        };
        if !known.contains(&kind) {
            return Err(format!("unknown message type {kind:?}"));
        }
        serde_json::from_value(message).map_err(|err| err.to_string())
    }

    fn subscribe(&mut self, id: String, request: Request) -> Option<Reaction> {
        if self.viewer.is_none() {
            return Some(if self.strict {
                Reaction::Close(4401, "Unauthorized".into())
            } else {
                Reaction::Close(1011, "The handshake is not completed.".into())
            });
        }
        if id.is_empty() {
            return Some(self.invalid("a subscription needs an id".into()));
        }
        if self.strict && self.streams.iter().any(|(live, _)| *live == id) {
            return Some(Reaction::Close(
                4409,
                format!("Subscriber for {id} already exists"),
            ));
        }
        // The legacy protocol has no word for a repeated id: the new
        // subscription replaces the old.
        self.end(&id);
        if self.streams.len() >= MAX_SUBSCRIPTIONS {
            return Some(Reaction::Say(too_many_subscriptions(&id)));
        }
        Some(Reaction::Subscribe(id, Box::new(request)))
    }

    /// Drops the live subscription `id`; whether there was one.
    fn end(&mut self, id: &str) -> bool {
        let Some(at) = self.streams.iter().position(|(live, _)| live == id) else {
            return false;
        };
        drop(self.streams.swap_remove(at));
        true
    }

    fn start(&mut self, id: String, stream: BoxStream<'static, async_graphql::Response>) {
        // Nearly every connection holds one subscription all its life: no
        // room for more until it asks.
        self.streams.reserve_exact(1);
        self.streams.push((id, stream));
    }

    /// The next message of any live subscription: a result, or `complete`
    /// once its stream ends.
    fn poll_output(&mut self, cx: &mut Context<'_>) -> Poll<String> {
        let n = self.streams.len();
        for i in 0..n {
            let at = (self.turn + i) % n;
            let (id, stream) = &mut self.streams[at];
            let said = match stream.poll_next_unpin(cx) {
                Poll::Ready(Some(response)) => next_message(self.strict, id, &response),
                Poll::Ready(None) => None,
                Poll::Pending => continue,
            };
            if let Some(text) = said {
                self.turn = at + 1;
                return Poll::Ready(text);
            }
            // The stream ended, or its result cannot be said (it always
            // can): either way the subscription is complete.
            let (id, _) = self.streams.swap_remove(at);
            return Poll::Ready(complete(&id));
        }
        Poll::Pending
    }
}

/// A subscription's result: `next` in graphql-transport-ws, `data` in the
/// legacy protocol.
fn next_message(strict: bool, id: &str, payload: &async_graphql::Response) -> Option<String> {
    #[derive(Serialize)]
    struct Next<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        id: &'a str,
        payload: &'a async_graphql::Response,
    }
    let kind = if strict { "next" } else { "data" };
    // A `Response` always serializes: its maps have string keys.
    serde_json::to_string(&Next { kind, id, payload }).ok()
}

fn complete(id: &str) -> String {
    json!({ "type": "complete", "id": id }).to_string()
}

fn too_many_subscriptions(id: &str) -> String {
    json!({
        "id": id,
        "type": "error",
        "payload": [{
            "message": format!("at most {MAX_SUBSCRIPTIONS} subscriptions per connection"),
            "extensions": { "code": "BAD_USER_INPUT" },
        }],
    })
    .to_string()
}

/// The token from a `connection_init` payload: `{"token": "…"}` or
/// `{"Authorization": "Bearer …"}`.
fn viewer_from_init(payload: &Value, ip: IpAddr) -> Viewer {
    if let Some(token) = payload.get("token").and_then(Value::as_str) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(strict: bool) -> Connection {
        Connection::new(strict, IpAddr::from([127, 0, 0, 1]))
    }

    fn code(reaction: Option<Reaction>) -> Option<u16> {
        match reaction {
            Some(Reaction::Close(code, _)) => Some(code),
            _ => None,
        }
    }

    fn started(c: &mut Connection, message: &[u8]) {
        match c.receive(message) {
            Some(Reaction::Subscribe(id, _)) => {
                c.start(id, futures_util::stream::pending().boxed())
            }
            other => panic!("expected a subscription, got {other:?}"),
        }
    }

    const SUB: &[u8] = br#"{"id":"1","type":"subscribe","payload":{"query":"subscription{x}"}}"#;

    #[test]
    fn the_protocol_order_is_enforced() {
        let mut c = connection(true);
        assert_eq!(code(c.receive(SUB)), Some(4401));
        assert!(matches!(
            c.receive(br#"{"type":"connection_init"}"#),
            Some(Reaction::Say(ack)) if ack.contains("connection_ack")
        ));
        assert!(c.acknowledged());
        assert_eq!(
            code(c.receive(br#"{"type":"connection_init"}"#)),
            Some(4429)
        );
        started(&mut c, SUB);
        assert_eq!(code(c.receive(SUB)), Some(4409));
        assert!(matches!(
            c.receive(br#"{"id":"1","type":"complete"}"#),
            Some(Reaction::Say(_))
        ));
        started(&mut c, SUB);
        assert_eq!(code(c.receive(b"not json")), Some(4400));
        assert_eq!(code(c.receive(br#"{"type":"bogus"}"#)), Some(4400));
        assert_eq!(
            code(c.receive(br#"{"type":"start","id":"2","payload":{"query":"{x}"}}"#)),
            Some(4400)
        );
        assert_eq!(
            code(c.receive(br#"{"type":"subscribe","id":"","payload":{"query":"{x}"}}"#)),
            Some(4400)
        );
        assert_eq!(
            code(c.receive(br#"{"type":"subscribe","id":"3"}"#)),
            Some(4400)
        );
        assert!(
            matches!(c.receive(br#"{"type":"ping"}"#), Some(Reaction::Say(p)) if p.contains("pong"))
        );
        assert!(c.receive(br#"{"type":"pong"}"#).is_none());
    }

    #[test]
    fn the_legacy_protocol_keeps_its_own_words() {
        let mut c = connection(false);
        let start = br#"{"id":"1","type":"start","payload":{"query":"subscription{x}"}}"#;
        assert_eq!(code(c.receive(start)), Some(1011));
        assert!(
            c.receive(br#"{"type":"connection_init","payload":{}}"#)
                .is_some()
        );
        started(&mut c, start);
        started(&mut c, start);
        assert_eq!(
            c.streams.len(),
            1,
            "a repeated id replaces its subscription"
        );
        assert!(matches!(
            c.receive(br#"{"type":"connection_init"}"#),
            Some(Reaction::SayLast(error)) if error.contains("connection_error")
        ));
        assert_eq!(code(c.receive(SUB)), Some(1002));
        assert!(matches!(
            c.receive(br#"{"type":"connection_terminate"}"#),
            Some(Reaction::End)
        ));
    }

    #[test]
    fn subscriptions_per_connection_are_bounded() {
        let mut c = connection(true);
        c.receive(br#"{"type":"connection_init"}"#);
        for i in 0..MAX_SUBSCRIPTIONS {
            let m = format!(r#"{{"id":"{i}","type":"subscribe","payload":{{"query":"{{x}}"}}}}"#);
            started(&mut c, m.as_bytes());
        }
        let m = br#"{"id":"x","type":"subscribe","payload":{"query":"{x}"}}"#;
        assert!(matches!(c.receive(m), Some(Reaction::Say(e)) if e.contains("at most")));
    }

    #[test]
    fn a_close_reason_fits_its_frame() {
        let long = "é".repeat(100);
        let Message::Close(Some(frame)) = close(1002, &long) else {
            panic!("a close frame");
        };
        assert!(frame.reason.len() <= 123);
        assert!(long.starts_with(frame.reason.as_str()));
    }

    #[test]
    fn every_live_subscription_gets_its_turn() {
        let mut c = connection(true);
        c.receive(br#"{"type":"connection_init"}"#);
        for id in ["a", "b"] {
            let responses = futures_util::stream::repeat_with(|| {
                async_graphql::Response::new(async_graphql::Value::Null)
            });
            c.start(id.into(), responses.boxed());
        }
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut ids = Vec::new();
        for _ in 0..4 {
            let Poll::Ready(text) = c.poll_output(&mut cx) else {
                panic!("both streams are ready");
            };
            let message: Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(message["type"], "next");
            ids.push(message["id"].as_str().unwrap_or_default().to_owned());
        }
        assert_eq!(ids, ["a", "b", "a", "b"]);
    }
}
