//! The peer designs, served on the same stack as Seatline (axum 0.8 on
//! tokio) so that only the queue design differs. `seatline-bench
//! peer-server` runs one of them in its own process, so the `peer`
//! scenario can read its CPU time from `/proc` as it does the server's.
//!
//! Both speak the same small JSON API:
//! - `POST /join` `{"user": "u1"}` → `{"ticket": "…"}`;
//! - `GET /position/{ticket}` → `{"status": "WAITING", "position": 12}`
//!   (the number of waiters ahead) or `{"status": "PROGRESS"}`;
//! - `GET /stats` → `{"ops": …, "admitted": …, "store_commands": …}`:
//!   statements or commands sent to the store so far, admissions, and (for
//!   Redis) the commands Redis itself counts;
//! - `GET /admissions` → `[["ticket", unix µs], …]`: when each admission
//!   became visible (stamped after the admitting statement returned);
//! - `POST /cleanup`: removes what the design left in its store;
//! - `GET /health`.
//!
//! An admission scheduler runs beside the API at a fixed rate, from the
//! start.

mod redis_zset;
mod seed;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::client::now_unix_us;

/// Which design a peer server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Design {
    /// The seed's: a `queue_ticket` table in PostgreSQL, a count query per
    /// poll.
    Seed,
    /// hhplus's: a Redis sorted set, `ZRANK` per poll.
    Redis,
}

impl Design {
    pub fn name(self) -> &'static str {
        match self {
            Self::Seed => "seed",
            Self::Redis => "redis",
        }
    }
}

/// A waiter's state as a poll sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// Waiting, with this many waiters ahead.
    Waiting(i64),
    Progress,
    /// The store has no such ticket.
    Unknown,
}

#[derive(Debug, Deserialize)]
struct JoinBody {
    user: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PositionBody {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
}

enum Store {
    Seed(seed::Seed),
    Redis(redis_zset::RedisZset),
}

impl Store {
    async fn join(&self, user: &str) -> anyhow::Result<String> {
        match self {
            Self::Seed(s) => s.join(user).await,
            Self::Redis(r) => r.join(user).await,
        }
    }

    async fn position(&self, ticket: &str) -> anyhow::Result<Position> {
        match self {
            Self::Seed(s) => s.position(ticket).await,
            Self::Redis(r) => r.position(ticket).await,
        }
    }

    /// Admits up to `n` waiters from the head; returns their tickets.
    async fn admit(&self, n: u64) -> anyhow::Result<Vec<String>> {
        match self {
            Self::Seed(s) => s.admit(n).await,
            Self::Redis(r) => r.admit(n).await,
        }
    }

    async fn cleanup(&self) -> anyhow::Result<()> {
        match self {
            Self::Seed(_) => Ok(()),
            Self::Redis(r) => r.cleanup().await,
        }
    }

    /// The store's own count of commands, where it keeps one.
    async fn store_commands(&self) -> Option<u64> {
        match self {
            Self::Seed(_) => None,
            Self::Redis(r) => r.commands_processed().await.ok(),
        }
    }

    fn ops(&self) -> &AtomicU64 {
        match self {
            Self::Seed(s) => &s.ops,
            Self::Redis(r) => &r.ops,
        }
    }
}

struct App {
    store: Store,
    admissions: Mutex<Vec<(String, i64)>>,
}

type Shared = Arc<App>;

/// Runs a peer server until the process is killed.
///
/// # Errors
/// When the store cannot be reached or prepared, or the address bound.
pub async fn serve(
    design: Design,
    addr: &str,
    store_url: &str,
    key_prefix: &str,
    admit_per_sec: f64,
) -> anyhow::Result<()> {
    let store = match design {
        Design::Seed => Store::Seed(seed::Seed::connect(store_url).await?),
        Design::Redis => Store::Redis(redis_zset::RedisZset::connect(store_url, key_prefix).await?),
    };
    let app = Arc::new(App {
        store,
        admissions: Mutex::new(Vec::new()),
    });
    tokio::spawn(schedule(Arc::clone(&app), admit_per_sec));
    let router = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/join", post(join))
        .route("/position/{ticket}", get(position))
        .route("/stats", get(stats))
        .route("/admissions", get(admissions))
        .route("/cleanup", post(cleanup))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router).await?;
    Ok(())
}

/// Admits the head of the line at `per_sec`, in ticks of 100 ms (or one
/// admission per tick when the rate is lower than 10/s), as the hhplus
/// schedulers do with a fixed delay.
async fn schedule(app: Shared, per_sec: f64) {
    let tick = Duration::from_secs_f64((1.0 / per_sec.max(1e-3)).min(0.1));
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = tokio::time::Instant::now();
    let mut admitted = 0u64;
    loop {
        interval.tick().await;
        let due = (started.elapsed().as_secs_f64() * per_sec).floor() as u64;
        if due <= admitted {
            continue;
        }
        match app.store.admit(due - admitted).await {
            Ok(tickets) => {
                // The line may be shorter than what is due: never bank
                // admissions for later.
                admitted = due;
                let at = now_unix_us();
                app.admissions
                    .lock()
                    .await
                    .extend(tickets.into_iter().map(|t| (t, at)));
            }
            Err(e) => eprintln!("peer scheduler: {e:#}"),
        }
    }
}

fn internal(e: &anyhow::Error) -> (StatusCode, Json<Value>) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "error": format!("{e:#}") })),
    )
}

async fn join(
    State(app): State<Shared>,
    Json(body): Json<JoinBody>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let ticket = app.store.join(&body.user).await.map_err(|e| internal(&e))?;
    Ok(Json(json!({ "ticket": ticket })))
}

async fn position(
    State(app): State<Shared>,
    Path(ticket): Path<String>,
) -> Result<Json<PositionBody>, (StatusCode, Json<Value>)> {
    let body = match app.store.position(&ticket).await {
        Ok(Position::Waiting(n)) => PositionBody {
            status: "WAITING".into(),
            position: Some(n),
        },
        Ok(Position::Progress) => PositionBody {
            status: "PROGRESS".into(),
            position: None,
        },
        Ok(Position::Unknown) => {
            return Err((
                StatusCode::NOT_FOUND,
                Json(json!({ "error": "no such ticket" })),
            ));
        }
        Err(e) => return Err(internal(&e)),
    };
    Ok(Json(body))
}

async fn stats(State(app): State<Shared>) -> Json<Value> {
    let admitted = app.admissions.lock().await.len();
    Json(json!({
        "ops": app.store.ops().load(Ordering::Relaxed),
        "admitted": admitted,
        "store_commands": app.store.store_commands().await,
    }))
}

async fn admissions(State(app): State<Shared>) -> Json<Vec<(String, i64)>> {
    Json(app.admissions.lock().await.clone())
}

async fn cleanup(State(app): State<Shared>) -> Result<&'static str, (StatusCode, Json<Value>)> {
    app.store.cleanup().await.map_err(|e| internal(&e))?;
    Ok("ok")
}
