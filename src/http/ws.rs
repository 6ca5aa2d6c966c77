//! `/graphql/ws`: GraphQL subscriptions over WebSocket.
//!
//! async-graphql runs the protocol (and [`SubscriptionExecutor`] the
//! subscriptions); this module owns the socket around it:
//! small buffers (tungstenite allocates its read buffer up front), size
//! limits, a clean close on shutdown (axum's graceful shutdown does not
//! wait for upgraded connections), keep-alive pings that drop dead peers,
//! a write deadline that drops a reader too slow to keep up (its buffer is
//! bounded, so memory is too), and, for graphql-transport-ws, the
//! protocol's own close codes that async-graphql leaves out: 4408 when no
//! `connection_init` arrives in time, 4401 for a subscribe before the ack,
//! 4409 for a duplicate subscription id, 4400 for an invalid message, and a
//! bound on subscriptions per connection.

use std::collections::{HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols, WsMessage};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt, future};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::{Instant, MissedTickBehavior};

use super::Http;
use crate::graphql::context::Viewer;
use crate::graphql::subscription::SubscriptionExecutor;

/// Largest accepted WebSocket message or frame.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Live subscriptions one connection may hold.
pub const MAX_SUBSCRIPTIONS: usize = 20;
/// Rejections waiting to be said; later ones are dropped (the first close
/// ends the connection anyway).
const MAX_INTERJECTIONS: usize = 4;
/// Bytes queued for a slow reader before the connection is dropped.
const MAX_WRITE_BUFFER_BYTES: usize = 1 << 20;

pub(crate) async fn subscriptions(
    State(http): State<Http>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // The 128 KiB default read buffer costs ~140 KiB per idle
        // subscriber. Clients send a few hundred bytes at a time (init,
        // subscribe, pong); a larger message grows the buffer as needed.
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve(socket, http, peer.ip()))
        .into_response()
}

/// Something the connection must say on its own, outside async-graphql.
enum Interjection {
    Close(u16, String),
    Text(String),
}

/// Runs one connection until either side closes it or the server stops.
async fn serve(mut socket: WebSocket, http: Http, ip: IpAddr) {
    let Some(protocol) = socket
        .protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(|p| p.parse::<WebSocketProtocols>().ok())
    else {
        let _ = socket.send(close(4406, "subprotocol not acceptable")).await;
        return;
    };
    let strict = protocol == WebSocketProtocols::GraphQLWS;
    let guard = Arc::new(Mutex::new(Guard::default()));
    // Rejections found while reading wake the loop below, which says them.
    // (A channel would cost each idle connection a 1 KiB block.)
    let interjected = Arc::new(Notify::new());
    let interject = Arc::clone(&interjected);

    let (mut sink, source) = socket.split();
    let inbound = Arc::clone(&guard);
    let opened = Instant::now();
    let heard = Arc::new(AtomicU64::new(0));
    let heard_in = Arc::clone(&heard);
    let input = source
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(move |message| {
            heard_in.store(millis_since(opened), Ordering::Relaxed);
            let data = match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => message.into_data(),
                _ => return future::ready(None),
            };
            if !strict {
                return future::ready(Some(data));
            }
            let mut guard = inbound.lock().unwrap_or_else(PoisonError::into_inner);
            future::ready(match guard.inbound(&data) {
                Ok(()) => Some(data),
                Err(said) => {
                    // Bounded like the input: one poll may read many
                    // messages, and a flood of rejected ones must not
                    // queue answers without end.
                    if guard.interjections.len() < MAX_INTERJECTIONS {
                        guard.interjections.push_back(said);
                    }
                    interject.notify_one();
                    None
                }
            })
        });

    let shutdown = http.app.shutdown.clone();
    let init_timeout = Duration::from_millis(http.app.settings.ws_init_timeout_ms);
    let executor = SubscriptionExecutor::new(http.schema, http.app.clone());
    let output = async_graphql::http::WebSocket::new(executor, input, protocol).on_connection_init(
        move |payload| async move {
            let mut data = Data::default();
            data.insert(viewer_from_init(&payload, ip));
            Ok(data)
        },
    );
    let mut output = std::pin::pin!(output);
    let init_deadline = tokio::time::sleep(init_timeout);
    let mut init_deadline = std::pin::pin!(init_deadline);
    let mut acked = false;
    let keepalive = Duration::from_millis(http.app.settings.ws_keepalive_ms.max(10));
    let mut pings = tokio::time::interval_at(opened + keepalive, keepalive);
    pings.set_missed_tick_behavior(MissedTickBehavior::Delay);

    let farewell = loop {
        let frame = tokio::select! {
            () = shutdown.cancelled() => break Some(close(1001, "server shutting down")),
            _ = pings.tick() => {
                let silent = millis_since(opened).saturating_sub(heard.load(Ordering::Relaxed));
                if u128::from(silent) >= 2 * keepalive.as_millis() {
                    break Some(close(1001, "keep-alive timeout"));
                }
                Message::Ping(Default::default())
            }
            () = &mut init_deadline, if !acked && strict => {
                break Some(close(4408, "Connection initialisation timeout"));
            }
            () = interjected.notified() => {
                let said = {
                    let mut guard = guard.lock().unwrap_or_else(PoisonError::into_inner);
                    let said = guard.interjections.pop_front();
                    if !guard.interjections.is_empty() {
                        interjected.notify_one();
                    }
                    said
                };
                match said {
                    Some(Interjection::Close(code, reason)) => break Some(close(code, &reason)),
                    Some(Interjection::Text(text)) => Message::Text(text.into()),
                    None => continue,
                }
            }
            message = output.next() => match message {
                Some(WsMessage::Text(text)) => {
                    if strict {
                        acked |= guard
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .outbound(&text);
                    }
                    Message::Text(text.into())
                }
                Some(WsMessage::Close(code, reason)) => break Some(close(code, &reason)),
                None => break None,
            },
        };
        // A reader that takes nothing for a whole interval is dropped: its
        // write buffer is bounded, and the connection must not hang on it.
        if !matches!(
            tokio::time::timeout(keepalive, sink.send(frame)).await,
            Ok(Ok(()))
        ) {
            return;
        }
    };
    if let Some(frame) = farewell {
        let _ = tokio::time::timeout(keepalive, sink.send(frame)).await;
    }
    let _ = tokio::time::timeout(keepalive, sink.close()).await;
}

fn millis_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// The graphql-transport-ws rules async-graphql does not enforce.
#[derive(Default)]
struct Guard {
    init_seen: bool,
    acked: bool,
    active: HashSet<String>,
    /// What the connection must still say, oldest first.
    interjections: VecDeque<Interjection>,
}

impl Guard {
    /// Checks a client message before async-graphql sees it.
    fn inbound(&mut self, data: &[u8]) -> Result<(), Interjection> {
        let invalid = || Interjection::Close(4400, "Invalid message received".into());
        let message: Value = serde_json::from_slice(data).map_err(|_| invalid())?;
        let kind = message["type"].as_str().ok_or_else(invalid)?;
        match kind {
            "connection_init" if self.init_seen => Err(Interjection::Close(
                4429,
                "Too many initialisation requests".into(),
            )),
            "connection_init" => {
                self.init_seen = true;
                Ok(())
            }
            "subscribe" => {
                if !self.acked {
                    return Err(Interjection::Close(4401, "Unauthorized".into()));
                }
                let id = message["id"]
                    .as_str()
                    .filter(|id| !id.is_empty())
                    .ok_or_else(invalid)?;
                if self.active.contains(id) {
                    return Err(Interjection::Close(
                        4409,
                        format!("Subscriber for {id} already exists"),
                    ));
                }
                if self.active.len() >= MAX_SUBSCRIPTIONS {
                    return Err(Interjection::Text(too_many_subscriptions(id)));
                }
                self.active.insert(id.to_owned());
                Ok(())
            }
            "complete" => {
                if let Some(id) = message["id"].as_str() {
                    self.active.remove(id);
                }
                Ok(())
            }
            "ping" | "pong" => Ok(()),
            _ => Err(invalid()),
        }
    }

    /// Follows what the server said; returns whether the connection is
    /// acknowledged. Only the rare messages that end a subscription or
    /// acknowledge the connection are parsed, never the `next` stream.
    fn outbound(&mut self, text: &str) -> bool {
        let rare = text.contains("\"connection_ack\"")
            || text.contains("\"complete\"")
            || text.contains("\"error\"");
        if rare && let Ok(message) = serde_json::from_str::<Value>(text) {
            match message["type"].as_str() {
                Some("connection_ack") => self.acked = true,
                Some("complete" | "error") => {
                    if let Some(id) = message["id"].as_str() {
                        self.active.remove(id);
                    }
                }
                _ => {}
            }
        }
        self.acked
    }
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

    fn code(verdict: Result<(), Interjection>) -> Option<u16> {
        match verdict {
            Err(Interjection::Close(code, _)) => Some(code),
            _ => None,
        }
    }

    #[test]
    fn the_protocol_order_is_enforced() {
        let mut g = Guard::default();
        let sub = br#"{"id":"1","type":"subscribe","payload":{"query":"subscription{x}"}}"#;
        assert_eq!(code(g.inbound(sub)), Some(4401));
        assert!(g.inbound(br#"{"type":"connection_init"}"#).is_ok());
        assert_eq!(
            code(g.inbound(br#"{"type":"connection_init"}"#)),
            Some(4429)
        );
        assert!(g.outbound(r#"{"type":"connection_ack"}"#));
        assert!(g.inbound(sub).is_ok());
        assert_eq!(code(g.inbound(sub)), Some(4409));
        g.outbound(r#"{"id":"1","type":"complete"}"#);
        assert!(g.inbound(sub).is_ok(), "an id is free again once complete");
        assert_eq!(code(g.inbound(b"not json")), Some(4400));
        assert_eq!(code(g.inbound(br#"{"type":"bogus"}"#)), Some(4400));
    }

    #[test]
    fn subscriptions_per_connection_are_bounded() {
        let mut g = Guard {
            init_seen: true,
            acked: true,
            ..Guard::default()
        };
        for i in 0..MAX_SUBSCRIPTIONS {
            let m = format!(r#"{{"id":"{i}","type":"subscribe","payload":{{}}}}"#);
            assert!(g.inbound(m.as_bytes()).is_ok());
        }
        let m = br#"{"id":"x","type":"subscribe","payload":{}}"#;
        assert!(matches!(g.inbound(m), Err(Interjection::Text(_))));
    }
}
