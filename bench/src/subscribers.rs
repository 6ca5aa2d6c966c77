//! Many `queueUpdates` subscribers, spread over worker processes (this
//! machine caps open files at 20,000 per process, the bench's included).
//!
//! The parent writes the tokens to a file and starts `seatline-bench
//! worker` processes, each with a slice. A worker connects its slice over
//! graphql-transport-ws with small socket buffers, waits for every first
//! message, says `ready`, records every message it receives with its
//! receipt time, and on `stop` writes the records to a file and exits.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::client::{now_unix_us, unix_us};

/// Most subscribers one worker process holds.
pub const PER_WORKER: usize = 5_000;

const SUBSCRIPTION: &str = "subscription { queueUpdates { status position admittedAt } }";

/// One message a subscriber received.
#[derive(Clone, Copy, Debug)]
pub struct Record {
    /// Index of the subscriber's token in the parent's list.
    pub index: usize,
    /// Receipt time, µs since the epoch.
    pub received_us: i64,
    pub status: Status,
    pub position: Option<i64>,
    /// `admittedAt`, µs since the epoch.
    pub admitted_us: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Waiting,
    Progress,
    Done,
    Expired,
    /// The stream completed.
    Complete,
    /// After its first state, the subscription got an error, an
    /// unexpected message, or lost its socket.
    Error,
}

impl Status {
    fn code(self) -> char {
        match self {
            Self::Waiting => 'W',
            Self::Progress => 'P',
            Self::Done => 'D',
            Self::Expired => 'E',
            Self::Complete => 'C',
            Self::Error => 'X',
        }
    }

    fn from_code(c: &str) -> Option<Self> {
        Some(match c {
            "W" | "WAITING" => Self::Waiting,
            "P" | "PROGRESS" => Self::Progress,
            "D" | "DONE" => Self::Done,
            "E" | "EXPIRED" => Self::Expired,
            "C" => Self::Complete,
            "X" => Self::Error,
            _ => return None,
        })
    }
}

impl Record {
    fn line(&self) -> String {
        format!(
            "{} {} {} {} {}\n",
            self.index,
            self.received_us,
            self.status.code(),
            self.position.unwrap_or(-1),
            self.admitted_us.unwrap_or(-1)
        )
    }

    fn parse(line: &str) -> Option<Self> {
        let mut f = line.split_whitespace();
        let index = f.next()?.parse().ok()?;
        let received_us = f.next()?.parse().ok()?;
        let status = Status::from_code(f.next()?)?;
        let position: i64 = f.next()?.parse().ok()?;
        let admitted: i64 = f.next()?.parse().ok()?;
        Some(Self {
            index,
            received_us,
            status,
            position: (position >= 0).then_some(position),
            admitted_us: (admitted >= 0).then_some(admitted),
        })
    }
}

/// Worker processes holding subscribers.
pub struct Subscribers {
    workers: Vec<Worker>,
    pub connected: usize,
    pub failed: usize,
    dir: PathBuf,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    out: PathBuf,
}

impl Subscribers {
    /// Connects one subscriber per token and waits until each has its
    /// first message.
    pub async fn connect(ws_url: &str, tokens: &[String]) -> anyhow::Result<Self> {
        Self::connect_spread(&[ws_url.to_owned()], tokens, None).await
    }

    /// Like [`Subscribers::connect`], spread round-robin over several
    /// instances: the subscriber of `tokens[i]` connects to
    /// `ws_urls[i % ws_urls.len()]`. `handshakes`: at most this many in
    /// flight over all workers (default: 256 per worker). Each costs a
    /// server a few database reads on its pool: `scale` found six pools of
    /// 8 exhausted at 100,000 (10 s acquire timeouts) with 2,048 in flight
    /// (59,000 failed) and with 512 (30,500 failed).
    pub async fn connect_spread(
        ws_urls: &[String],
        tokens: &[String],
        handshakes: Option<usize>,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(!ws_urls.is_empty(), "no server to subscribe to");
        let ws_url = ws_urls.join(",");
        let dir = std::env::temp_dir().join(format!(
            "seatline_bench_subs_{}_{}",
            std::process::id(),
            now_unix_us()
        ));
        std::fs::create_dir_all(&dir)?;
        let token_file = dir.join("tokens");
        std::fs::write(&token_file, tokens.join("\n"))?;
        let exe = std::env::current_exe()?;
        let mut workers = Vec::new();
        let gate = handshakes
            .map(|total| handshakes_per_worker(total, tokens.len().div_ceil(PER_WORKER)))
            .unwrap_or(HANDSHAKES_PER_WORKER)
            .to_string();
        for (n, from) in (0..tokens.len()).step_by(PER_WORKER).enumerate() {
            let count = PER_WORKER.min(tokens.len() - from);
            let out = dir.join(format!("worker{n}.out"));
            let mut child = Command::new(&exe)
                .arg("worker")
                .arg("--ws")
                .arg(&ws_url)
                .arg("--tokens")
                .arg(&token_file)
                .arg("--from")
                .arg(from.to_string())
                .arg("--count")
                .arg(count.to_string())
                .arg("--out")
                .arg(&out)
                .env(HANDSHAKES_ENV, &gate)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .context("starting a subscriber worker")?;
            let stdin = child.stdin.take().context("worker stdin")?;
            let stdout = child.stdout.take().context("worker stdout")?;
            workers.push(Worker {
                child,
                stdin,
                lines: BufReader::new(stdout).lines(),
                out,
            });
        }
        let mut subs = Self {
            workers,
            connected: 0,
            failed: 0,
            dir,
        };
        for w in &mut subs.workers {
            let line = w.lines.next_line().await?.unwrap_or_default();
            let mut f = line.split_whitespace();
            if f.next() != Some("ready") {
                bail!("worker said {line:?}");
            }
            subs.connected += f.next().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
            subs.failed += f.next().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
        }
        Ok(subs)
    }

    /// CPU seconds (user + system) the worker processes used so far.
    pub fn cpu_secs(&self) -> f64 {
        self.workers
            .iter()
            .filter_map(|w| w.child.id().and_then(crate::server::cpu_secs_of))
            .sum()
    }

    /// Stops every worker and returns every message they received.
    pub async fn finish(mut self) -> anyhow::Result<Vec<Record>> {
        for w in &mut self.workers {
            w.stdin.write_all(b"stop\n").await?;
            w.stdin.flush().await?;
        }
        let mut records = Vec::new();
        for w in &mut self.workers {
            let line = w.lines.next_line().await?.unwrap_or_default();
            if line.trim() != "done" {
                bail!("worker ended with {line:?}");
            }
            let text = std::fs::read_to_string(&w.out)?;
            records.extend(text.lines().filter_map(Record::parse));
            let _ = tokio::time::timeout(Duration::from_secs(10), w.child.wait()).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(records)
    }
}

/// Handshakes one worker keeps in flight unless told otherwise.
const HANDSHAKES_PER_WORKER: usize = 256;
/// Tells a worker how many handshakes to keep in flight.
const HANDSHAKES_ENV: &str = "SEATLINE_BENCH_HANDSHAKES";

/// Handshakes one of `workers` keeps in flight for `total` over all of
/// them: at least 4.
fn handshakes_per_worker(total: usize, workers: usize) -> usize {
    (total / workers.max(1)).clamp(4, HANDSHAKES_PER_WORKER)
}

fn handshakes() -> usize {
    std::env::var(HANDSHAKES_ENV)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(HANDSHAKES_PER_WORKER)
}

/// The server of subscriber `index` among the comma-separated `ws_urls`
/// (round-robin).
fn ws_url_of(ws_urls: &str, index: usize) -> &str {
    let urls: Vec<&str> = ws_urls.split(',').collect();
    urls[index % urls.len()]
}

/// The worker process's main: see the module docs; `ws_url` may list
/// several servers, comma-separated, taken round-robin by token index.
pub async fn worker(
    ws_url: &str,
    tokens: &Path,
    from: usize,
    count: usize,
    out: &Path,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(tokens)?;
    let mine: Vec<String> = text
        .lines()
        .skip(from)
        .take(count)
        .map(str::to_owned)
        .collect();
    let (tx, mut rx) = mpsc::unbounded_channel::<Record>();
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<bool>();
    // Connecting many at once overflows the listen backlog: a few hundred
    // handshakes at a time.
    let gate = Arc::new(Semaphore::new(handshakes()));
    for (offset, token) in mine.into_iter().enumerate() {
        let index = from + offset;
        let (ws_url, tx, ready_tx, gate) = (
            ws_url_of(ws_url, index).to_owned(),
            tx.clone(),
            ready_tx.clone(),
            Arc::clone(&gate),
        );
        tokio::spawn(async move {
            let permit = gate.acquire_owned().await;
            match subscribe(&ws_url, &token).await {
                Ok(mut socket) => {
                    drop(permit);
                    follow(&mut socket, index, &tx, Some(ready_tx)).await;
                }
                Err(e) => {
                    eprintln!("subscriber {index}: {e:#}");
                    let _ = ready_tx.send(false);
                }
            }
        });
    }
    drop(ready_tx);
    drop(tx);
    let (mut ok, mut failed) = (0, 0);
    while ok + failed < count {
        match ready_rx.recv().await {
            Some(true) => ok += 1,
            Some(false) => failed += 1,
            None => break,
        }
    }
    println!("ready {ok} {failed}");
    let mut records = Vec::new();
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = stdin.next_line() => {
                match line {
                    Ok(Some(l)) if l.trim() != "stop" => continue,
                    _ => break,
                }
            }
            Some(r) = rx.recv() => records.push(r),
        }
    }
    while let Ok(r) = rx.try_recv() {
        records.push(r);
    }
    let body: String = records.iter().map(Record::line).collect();
    std::fs::write(out, body)?;
    println!("done");
    // Exiting closes every socket at once.
    std::process::exit(0);
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscribe(ws_url: &str, token: &str) -> anyhow::Result<Socket> {
    let mut request = ws_url.into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "token": token } }),
    )
    .await?;
    loop {
        let msg = next_json(&mut socket).await?;
        match msg["type"].as_str() {
            Some("connection_ack") => break,
            Some("ping") => send(&mut socket, json!({ "type": "pong" })).await?,
            _ => bail!("expected connection_ack, got {msg}"),
        }
    }
    send(
        &mut socket,
        json!({ "type": "subscribe", "id": "1", "payload": { "query": SUBSCRIPTION } }),
    )
    .await?;
    Ok(socket)
}

/// Records every message until the stream or the socket ends. Before
/// the first state, a failure tells `ready` that the subscription failed;
/// after it, the failure is recorded as [`Status::Error`].
async fn follow(
    socket: &mut Socket,
    index: usize,
    tx: &mpsc::UnboundedSender<Record>,
    mut ready: Option<mpsc::UnboundedSender<bool>>,
) {
    let record = |received_us, status, t: &Value| {
        let _ = tx.send(Record {
            index,
            received_us,
            status,
            position: t["position"].as_i64(),
            admitted_us: t["admittedAt"].as_str().and_then(unix_us),
        });
    };
    let failed = |ready: &mut Option<mpsc::UnboundedSender<bool>>, what: &dyn std::fmt::Display| {
        eprintln!("subscriber {index}: {what}");
        match ready.take() {
            Some(r) => {
                let _ = r.send(false);
            }
            None => record(now_unix_us(), Status::Error, &Value::Null),
        }
    };
    loop {
        let msg = match next_json(socket).await {
            Ok(m) => m,
            Err(e) => {
                failed(&mut ready, &format_args!("{e:#}"));
                return;
            }
        };
        let received_us = now_unix_us();
        match msg["type"].as_str() {
            Some("next") => {
                let t = &msg["payload"]["data"]["queueUpdates"];
                let status = t["status"].as_str().and_then(Status::from_code);
                match status {
                    Some(status) if msg["payload"]["errors"].is_null() => {
                        record(received_us, status, t);
                        if let Some(r) = ready.take() {
                            let _ = r.send(true);
                        }
                    }
                    _ => failed(&mut ready, &format_args!("unexpected {msg}")),
                }
            }
            Some("complete") => {
                record(received_us, Status::Complete, &Value::Null);
                return;
            }
            Some("ping") => {
                let _ = send(socket, json!({ "type": "pong" })).await;
            }
            _ => failed(&mut ready, &format_args!("unexpected {msg}")),
        }
    }
}

async fn send(socket: &mut Socket, v: Value) -> anyhow::Result<()> {
    socket.send(Message::Text(v.to_string().into())).await?;
    Ok(())
}

async fn next_json(socket: &mut Socket) -> anyhow::Result<Value> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(&t)?),
            Some(Ok(Message::Close(f))) => bail!("closed: {f:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("socket ended"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_spread_round_robin() {
        let urls = "ws://a,ws://b,ws://c";
        let picked: Vec<&str> = (0..5).map(|i| ws_url_of(urls, i)).collect();
        assert_eq!(picked, ["ws://a", "ws://b", "ws://c", "ws://a", "ws://b"]);
        assert_eq!(ws_url_of("ws://only", 7), "ws://only");
    }

    #[test]
    fn handshakes_are_shared_by_the_workers() {
        assert_eq!(handshakes_per_worker(128, 1), 128);
        assert_eq!(handshakes_per_worker(2_048, 1), 256);
        assert_eq!(handshakes_per_worker(128, 22), 5);
        assert_eq!(handshakes_per_worker(128, 1_000), 4);
    }

    #[test]
    fn records_survive_the_file() {
        let r = Record {
            index: 7,
            received_us: 1_700_000_000_000_000,
            status: Status::Progress,
            position: None,
            admitted_us: Some(1_699_999_999_999_000),
        };
        let back = Record::parse(r.line().trim()).unwrap();
        assert_eq!(back.index, 7);
        assert_eq!(back.status, Status::Progress);
        assert_eq!(back.position, None);
        assert_eq!(back.admitted_us, r.admitted_us);
    }
}
