//! `spawn_app`: the real application on 127.0.0.1:0 over a fresh database
//! (a temp SQLite file, or a new PostgreSQL database when
//! `SEATLINE_TEST_DATABASE_URL` is set), plus small GraphQL and
//! graphql-transport-ws clients.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Once};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, IsolationLevel, Statement,
    TransactionTrait, TryGetable,
};
use seatline::clock::{Clock, SystemClock};
use seatline::config::Settings;
use seatline::startup::Application;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Message, protocol::CloseFrame};
use tokio_util::sync::CancellationToken;

pub const PG_ENV: &str = "SEATLINE_TEST_DATABASE_URL";

/// The token secret of test servers on PostgreSQL, which requires one (a
/// SQLite file gets its own, generated beside it).
pub const TEST_TOKEN_SECRET: &str = "seatline-test-token-secret-0123456789";

/// A concert date of the demo catalog that is in the future (concert 1's
/// first date) and has seats 1..=50.
pub const DATE: i64 = 1;

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: DatabaseConnection,
    pub http: reqwest::Client,
    stop: CancellationToken,
    server: Option<JoinHandle<()>>,
    /// Dropped with the app: removes the database.
    _database: TestDatabase,
}

/// Where the test's data lives; removed when the test ends.
pub enum TestDatabase {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// A fresh, empty database and its URL.
    pub async fn create() -> (Self, String) {
        match std::env::var(PG_ENV).ok().filter(|u| !u.is_empty()) {
            Some(admin_url) => {
                let name = format!("seatline_t_{}", uuid::Uuid::new_v4().simple());
                let url = seatline::db::create_database(&admin_url, &name)
                    .await
                    .expect("create a test database on SEATLINE_TEST_DATABASE_URL");
                (Self::Postgres { admin_url, name }, url)
            }
            None => {
                announce_sqlite_only();
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
                (Self::Sqlite(dir), url)
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres { .. })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name } = self {
            let (url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside async; a short-lived runtime on its own thread
            // drops the database.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                let _ = rt.block_on(seatline::db::drop_database(&url, &name));
            })
            .join();
        }
    }
}

fn announce_sqlite_only() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Written past the test harness's capture, so it shows in every run.
        let _ = writeln!(
            std::io::stderr(),
            "note: PostgreSQL suite skipped ({PG_ENV} is not set); running on SQLite"
        );
    });
}

/// Settings for tests: port 0, demo data, no rate limits, quick sweeps.
pub fn test_settings() -> Settings {
    let mut s = Settings::defaults();
    s.addr = "127.0.0.1:0".parse().expect("addr");
    s.rate_limit_per_sec = 0;
    s.sweep_interval_ms = 200;
    s.push_interval_ms = 100;
    s.shutdown_grace_secs = 2;
    // Tests run side by side on one PostgreSQL (100 connections).
    s.db_max_connections = 6;
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_clock(configure, Arc::new(SystemClock)).await
}

/// An app whose domain reads time from `clock` (a `ManualClock` lets a
/// test jump past a TTL without sleeping).
pub async fn spawn_app_with_clock(
    configure: impl FnOnce(&mut Settings),
    clock: Arc<dyn Clock>,
) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        seatline::telemetry::init(std::io::stdout);
    }
    let (database, url) = TestDatabase::create().await;
    let mut settings = test_settings();
    if database.is_postgres() {
        settings.token_secret = Some(TEST_TOKEN_SECRET.parse().expect("secret"));
    }
    settings.database_url = url;
    configure(&mut settings);
    let app = Application::build_with_clock(settings, clock)
        .await
        .expect("build app");
    let addr = app.local_addr().expect("addr");
    let db = app.state().domain.db().clone();
    let stop = CancellationToken::new();
    let token = stop.clone();
    let server = tokio::spawn(async move {
        app.run_until_stopped(token).await.expect("server runs");
    });
    TestApp {
        addr,
        db,
        http: reqwest::Client::new(),
        stop,
        server: Some(server),
        _database: database,
    }
}

impl TestApp {
    /// The directory of a SQLite test database (`t.db` and its WAL).
    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        match &self._database {
            TestDatabase::Sqlite(dir) => Some(dir.path()),
            TestDatabase::Postgres { .. } => None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The SQL statements `request` costs the server, as it counts them
    /// (`seatline_db_statements_total`); `request` must be repeatable.
    /// Background work (the sweeper, a catch-up) only adds statements, so
    /// the fewest seen over five tries are the cost. A scrape reads too: what one costs is
    /// taken off.
    pub async fn statements_of<F, Fut>(&self, mut request: F) -> f64
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future,
    {
        let statements = || async { self.metrics().await["seatline_db_statements_total"] };
        let (mut scrape, mut cost) = (f64::MAX, f64::MAX);
        for _ in 0..5 {
            let (a, b) = (statements().await, statements().await);
            request().await;
            let c = statements().await;
            scrape = scrape.min(b - a);
            cost = cost.min(c - b);
        }
        cost - scrape
    }

    /// Asserts that `token`'s hold on seat `seat` of `DATE` is refused as
    /// SEAT_UNAVAILABLE before a batch: with no statement but, on
    /// PostgreSQL, the gate's read of the holder's ticket.
    pub async fn assert_refused_before_a_batch(&self, token: &str, seat: i32, why: &str) {
        let refused = || async {
            let body = self.hold(token, DATE, seat).await;
            assert_eq!(code(&body), Some("SEAT_UNAVAILABLE"), "{why}");
        };
        let ticket_read = if self.is_postgres() { 1.0 } else { 0.0 };
        assert_eq!(self.statements_of(refused).await, ticket_read, "{why}");
    }

    /// Whether the server runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self._database.is_postgres()
    }

    /// Holds up `user`'s writes at the database until the returned
    /// transaction ends: on SQLite it takes the server's one writer
    /// connection, on PostgreSQL it locks the user's ticket, which every
    /// hold and payment batch locks first.
    pub async fn hold_up_writes_of(&self, user: &str) -> DatabaseTransaction {
        let txn = self.db.begin().await.expect("begin");
        if self.is_postgres() {
            txn.execute_unprepared(&format!(
                "SELECT id FROM queue_tickets WHERE user_id = '{user}' FOR UPDATE"
            ))
            .await
            .expect("lock the user's ticket");
        }
        txn
    }

    /// `GET /metrics`, served as OpenMetrics text: each sample by name
    /// (with its labels, if any).
    pub async fn metrics(&self) -> HashMap<String, f64> {
        let response = reqwest::get(self.url("/metrics")).await.unwrap();
        assert!(response.status().is_success());
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/openmetrics-text"),
            "{content_type}"
        );
        let text = response.text().await.unwrap();
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.to_owned(), value.parse().ok()?))
            })
            .collect()
    }

    /// POSTs a GraphQL operation; returns the whole response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let body: Value = response.json().await.expect("json body");
        assert!(status.is_success(), "HTTP {status}: {body}");
        body
    }

    pub async fn issue(&self, user: &str) -> Value {
        let body = self
            .gql(
                None,
                "mutation($u: ID!) { issueQueueToken(userId: $u) { token userId status position enteredAt admittedAt expiresAt estimatedWaitSeconds } }",
                json!({ "u": user }),
            )
            .await;
        body["data"]["issueQueueToken"].clone()
    }

    /// Issues a ticket and asserts it was admitted at once; returns the token.
    pub async fn admitted(&self, user: &str) -> String {
        let ticket = self.issue(user).await;
        assert_eq!(
            ticket["status"], "PROGRESS",
            "{user} not admitted: {ticket}"
        );
        ticket["token"].as_str().expect("token").to_owned()
    }

    pub async fn ticket(&self, token: &str) -> Value {
        let body = self
            .gql(
                Some(token),
                "{ queueTicket { token userId status position enteredAt admittedAt expiresAt estimatedWaitSeconds } }",
                json!({}),
            )
            .await;
        body["data"]["queueTicket"].clone()
    }

    pub async fn hold(&self, token: &str, date: i64, seat: i32) -> Value {
        self.gql(
            Some(token),
            "mutation($d: ID!, $s: Int!) { holdSeat(concertDateId: $d, seatNumber: $s) { id status price heldAt expiresAt seat { id number price status concertDateId } } }",
            json!({ "d": date.to_string(), "s": seat }),
        )
        .await
    }

    pub async fn charge(&self, token: &str, amount: i64) -> Value {
        self.gql(
            Some(token),
            "mutation($a: Int!) { chargeBalance(amount: $a) { userId amount } }",
            json!({ "a": amount }),
        )
        .await
    }

    pub async fn pay(&self, token: &str, reservation: &str) -> Value {
        self.gql(
            Some(token),
            "mutation($r: ID!) { pay(reservationId: $r) { id amount paidAt reservation { id status price seat { number status } } } }",
            json!({ "r": reservation }),
        )
        .await
    }

    pub async fn balance(&self, token: &str) -> i64 {
        let body = self
            .gql(Some(token), "{ balance { userId amount } }", json!({}))
            .await;
        body["data"]["balance"]["amount"]
            .as_i64()
            .unwrap_or_else(|| panic!("no balance: {body}"))
    }

    /// One integer from a SQL query on the test database.
    pub async fn scalar(&self, sql: &str) -> i64 {
        scalar(&self.db, sql).await
    }

    /// Opens a graphql-transport-ws connection with `init` as payload.
    pub async fn ws(&self, init: Value) -> WsClient {
        WsClient::connect(self.addr, "graphql-transport-ws", init).await
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(10), server)
                .await
                .expect("server stops in time")
                .expect("server task");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// A `DateTime` field of a response, in UTC.
pub fn at(time: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(time.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

/// The `extensions.code` of the first error, if any.
pub fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

pub fn data<'a>(body: &'a Value, field: &str) -> &'a Value {
    assert!(body["errors"].is_null(), "unexpected errors: {body}");
    &body["data"][field]
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct WsClient {
    socket: Socket,
    protocol: &'static str,
}

impl WsClient {
    pub async fn connect(addr: SocketAddr, protocol: &'static str, init: Value) -> Self {
        Self::open(addr, protocol).await.initialised(init).await
    }

    /// Sends `connection_init` with `init` and checks the ack.
    async fn initialised(mut self, init: Value) -> Self {
        self.send(json!({ "type": "connection_init", "payload": init }))
            .await;
        let ack = self.recv().await.expect("connection_ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        self
    }

    /// A connection that has sent nothing yet.
    pub async fn open(addr: SocketAddr, protocol: &'static str) -> Self {
        Self::try_open(addr, protocol)
            .await
            .expect("websocket connects")
    }

    /// [`open`](Self::open), or why the handshake failed.
    pub async fn try_open(
        addr: SocketAddr,
        protocol: &'static str,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let (socket, _) = tokio_tungstenite::connect_async(Self::request(addr, protocol)).await?;
        Ok(Self { socket, protocol })
    }

    /// A graphql-transport-ws connection, acknowledged, whose socket holds
    /// at most about `bytes` unread (a fixed receive buffer: the kernel
    /// does not grow it, whatever this machine's `tcp_rmem` allows).
    pub async fn connect_with_receive_buffer(addr: SocketAddr, bytes: u32, init: Value) -> Self {
        let tcp = tokio::net::TcpSocket::new_v4().expect("socket");
        tcp.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        let stream = tcp.connect(addr).await.expect("tcp connects");
        let protocol = "graphql-transport-ws";
        let (socket, _) = tokio_tungstenite::client_async(
            Self::request(addr, protocol),
            tokio_tungstenite::MaybeTlsStream::Plain(stream),
        )
        .await
        .expect("websocket connects");
        Self { socket, protocol }.initialised(init).await
    }

    fn request(
        addr: SocketAddr,
        protocol: &'static str,
    ) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        let mut request = format!("ws://{addr}/graphql/ws")
            .into_client_request()
            .expect("request");
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
        request
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.to_owned().into()))
            .await
            .expect("send");
    }

    /// The close code the server ends with, skipping other messages.
    pub async fn close_code(&mut self) -> Option<u64> {
        while let Some(message) = self.recv().await {
            if message["type"] == "close" {
                return message["code"].as_u64();
            }
        }
        None
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
    }

    /// Subscribes to `queueUpdates` under id `id`.
    pub async fn subscribe(&mut self, id: &str, token_arg: Option<&str>) {
        let start = if self.protocol == "graphql-ws" {
            "start"
        } else {
            "subscribe"
        };
        let query = "subscription($t: String) { queueUpdates(token: $t) { token userId status position expiresAt estimatedWaitSeconds } }";
        self.send(json!({
            "id": id,
            "type": start,
            "payload": { "query": query, "variables": { "t": token_arg } },
        }))
        .await;
    }

    /// The next protocol message (keep-alive messages skipped); `None` when
    /// the socket closes. Panics after 10 s of silence.
    pub async fn recv(&mut self) -> Option<Value> {
        self.recv_within(Duration::from_secs(10))
            .await
            .expect("a message within 10 s")
    }

    /// The next protocol message, keep-alive messages included.
    pub async fn recv_raw(&mut self) -> Value {
        serde_json::from_str(&self.next_text().await).expect("json message")
    }

    /// The next text message as sent, byte for byte (pings are not text).
    pub async fn next_text(&mut self) -> String {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("a message within 10 s");
            match next {
                Some(Ok(Message::Text(text))) => return text.to_string(),
                Some(Ok(Message::Close(_)) | Err(_)) | None => panic!("socket closed"),
                Some(Ok(_)) => {}
            }
        }
    }

    /// The socket's halves, to write without reading.
    pub fn split(
        self,
    ) -> (
        futures_util::stream::SplitSink<Socket, Message>,
        futures_util::stream::SplitStream<Socket>,
    ) {
        self.socket.split()
    }

    /// Like [`recv`](Self::recv) but `Err` on timeout.
    pub async fn recv_within(&mut self, limit: Duration) -> Result<Option<Value>, ()> {
        loop {
            let next = tokio::time::timeout(limit, self.socket.next())
                .await
                .map_err(|_| ())?;
            match next {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("json message");
                    if value["type"] == "ka" || value["type"] == "ping" || value["type"] == "pong" {
                        continue;
                    }
                    return Ok(Some(value));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Ok(Some(
                        json!({ "type": "close", "code": frame.map(|f: CloseFrame| u16::from(f.code)) }),
                    ));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ok(None),
            }
        }
    }

    /// The payload of the next `next` (or `data`) message for a ticket.
    pub async fn next_ticket(&mut self) -> Value {
        let message = self.recv().await.expect("socket open");
        assert!(
            message["type"] == "next" || message["type"] == "data",
            "expected next, got {message}"
        );
        assert!(message["payload"]["errors"].is_null(), "errors: {message}");
        message["payload"]["data"]["queueUpdates"].clone()
    }
}

/// Polls `check` until it holds, for what a background task does "within
/// a few seconds"; fails after 5 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `n` copies of `f` at once and collects their results in order.
pub async fn concurrently<F, Fut, T>(n: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(f(i))).collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

/// A `seatline` server process (the binary under test).
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    /// Starts the binary on `database_url` with extra settings `env`, and
    /// waits until it listens.
    pub fn start(database_url: &str, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_seatline"));
        if database_url.starts_with("postgres") {
            command.env("SEATLINE_TOKEN_SECRET", TEST_TOKEN_SECRET);
        }
        let mut child = command
            .env("DATABASE_URL", database_url)
            .env("SEATLINE_ADDR", "127.0.0.1:0")
            .env("SEATLINE_RATE_LIMIT_PER_SEC", "0")
            // Tests run side by side on one PostgreSQL (100 connections),
            // some with three servers each.
            .env("SEATLINE_DB_MAX_CONNECTIONS", "6")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn seatline");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("server prints its address")
                .expect("line");
            if let Some(at) = line.find("listening on http://") {
                let rest = &line[at + "listening on ".len()..];
                break rest.split_whitespace().next().expect("url").to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, url }
    }

    /// POSTs a GraphQL operation to this server; the whole response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        gql(&reqwest::Client::new(), &self.url, token, query, variables).await
    }

    /// Kills the process with SIGKILL: no shutdown, no flush.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        addr_of(&self.url)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in an `http://host:port` URL.
pub fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .parse()
        .expect("server address")
}

/// POSTs a GraphQL operation to the server at `url`: the response body, or
/// the transport error when the server is unreachable or dies mid-request.
pub async fn try_gql(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Result<Value, reqwest::Error> {
    let mut request = http
        .post(format!("{url}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await?.error_for_status()?.json().await
}

/// [`try_gql`] for a server that must answer.
pub async fn gql(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    try_gql(http, url, token, query, variables)
        .await
        .unwrap_or_else(|err| panic!("{url} did not answer: {err}"))
}

/// `issueQueueToken` for `user` on the server at `url`: the ticket.
pub async fn issue(http: &reqwest::Client, url: &str, user: &str) -> Value {
    let body = gql(
        http,
        url,
        None,
        "mutation($u: ID!) { issueQueueToken(userId: $u) { token status position } }",
        json!({ "u": user }),
    )
    .await;
    data(&body, "issueQueueToken").clone()
}

pub fn token_of(ticket: &Value) -> String {
    ticket["token"].as_str().expect("a token").to_owned()
}

/// `queueTicket` on `url` for `token`: its status and position.
pub async fn ticket_on(http: &reqwest::Client, url: &str, token: &str) -> Value {
    let body = gql(
        http,
        url,
        Some(token),
        "{ queueTicket { status position } }",
        json!({}),
    )
    .await;
    data(&body, "queueTicket").clone()
}

/// The position `queueTicket` on `url` reports for `token` (`None` unless
/// waiting).
pub async fn position_on(http: &reqwest::Client, url: &str, token: &str) -> Option<i64> {
    ticket_on(http, url, token).await["position"].as_i64()
}

/// A graphql-transport-ws subscriber to `token`'s ticket at `addr`, and the
/// first message: the ticket's state when it subscribed.
pub async fn subscriber(addr: SocketAddr, token: &str) -> (WsClient, Value) {
    let mut ws = WsClient::connect(addr, "graphql-transport-ws", json!({ "token": token })).await;
    ws.subscribe("1", None).await;
    let first = ws.next_ticket().await;
    (ws, first)
}

/// A subscriber to `token`'s ticket on `server`, past its first message,
/// which says WAITING.
pub async fn waiting_subscriber(server: &Server, token: &str) -> WsClient {
    let (ws, first) = subscriber(server.addr(), token).await;
    assert_eq!(first["status"], "WAITING", "{first}");
    ws
}

/// Holds, pays for and so finishes `token`'s seat `seat` of concert date
/// `date` on `url` (the token's only hold).
pub async fn buy_seat(http: &reqwest::Client, url: &str, token: &str, date: i64, seat: i32) {
    let held = gql(
        http,
        url,
        Some(token),
        "mutation($d: ID!, $s: Int!) { holdSeat(concertDateId: $d, seatNumber: $s) { id } }",
        json!({ "d": date.to_string(), "s": seat }),
    )
    .await;
    let id = data(&held, "holdSeat")["id"]
        .as_str()
        .expect("a reservation id")
        .to_owned();
    gql(
        http,
        url,
        Some(token),
        "mutation { chargeBalance(amount: 500000) { amount } }",
        json!({}),
    )
    .await;
    let paid = gql(
        http,
        url,
        Some(token),
        "mutation($r: ID!) { pay(reservationId: $r) { id } }",
        json!({ "r": id }),
    )
    .await;
    data(&paid, "pay");
}

/// Tokens of the WAITING tickets, in line order (ticket id): the position
/// each must have on every instance is its index here. The database keeps
/// only token hashes, so tokens come from `known`; a ticket no one here
/// holds a token of shows as `unknown:<hash>`.
pub async fn waiting_line<'a>(
    db: &DatabaseConnection,
    known: impl IntoIterator<Item = &'a String>,
) -> Vec<String> {
    let by_hash: HashMap<String, &String> = known.into_iter().map(|t| (token_hash(t), t)).collect();
    column::<String>(
        db,
        "SELECT token_hash FROM queue_tickets WHERE status = 'WAITING' ORDER BY id",
    )
    .await
    .into_iter()
    .map(|hash| {
        by_hash
            .get(&hash)
            .map_or_else(|| format!("unknown:{hash}"), |t| (*t).clone())
    })
    .collect()
}

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> String {
    seatline::domain::queue::tokens::hash(token)
}

/// Whether every server at `urls` reports each token of `line` at its index
/// (so the positions agree everywhere and follow FIFO). The first
/// disagreement is printed, shown if the test fails.
pub async fn positions_agree(http: &reqwest::Client, urls: &[String], line: &[String]) -> bool {
    let checks = line
        .iter()
        .enumerate()
        .flat_map(|(index, token)| urls.iter().map(move |url| (index, token, url)));
    let mut answers = futures_util::stream::iter(checks)
        .map(|(index, token, url)| async move { (index, url, position_on(http, url, token).await) })
        .buffer_unordered(16);
    while let Some((index, url, position)) = answers.next().await {
        if position != Some(index as i64) {
            println!("{url} puts waiter {index} at {position:?}");
            return false;
        }
    }
    true
}

/// One integer from a SQL query.
pub async fn scalar<C: ConnectionTrait>(db: &C, sql: &str) -> i64 {
    // The cast makes SUM (NUMERIC on PostgreSQL) and COUNT read alike.
    let sql = format!("SELECT CAST(({sql}) AS BIGINT)");
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("an integer")
}

/// The first column of every row.
pub async fn column<A: TryGetable>(db: &impl ConnectionTrait, sql: &str) -> Vec<A> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .into_iter()
        .map(|row| row.try_get_by_index(0).expect("a value"))
        .collect()
}

/// The first two columns of every row.
pub async fn rows<A: TryGetable, B: TryGetable>(
    db: &impl ConnectionTrait,
    sql: &str,
) -> Vec<(A, B)> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .into_iter()
        .map(|row| {
            (
                row.try_get_by_index(0).expect("a value"),
                row.try_get_by_index(1).expect("a value"),
            )
        })
        .collect()
}

/// Money and seats add up, whatever happened: every balance equals its
/// ledger, every payment has its ledger row, reservation and sold seat, and
/// no seat is sold twice.
pub async fn assert_books_balance(db: &DatabaseConnection, context: &str) {
    let snapshot = snapshot(db).await;
    assert_books_balance_in(&snapshot, context).await;
    snapshot.rollback().await.expect("rollback");
}

/// One snapshot for a group of checks: a transaction may still commit
/// meanwhile (on PostgreSQL, one a killed server had already sent its
/// COMMIT for), and counts read on either side of it would disagree.
pub async fn snapshot(db: &DatabaseConnection) -> DatabaseTransaction {
    db.begin_with_config(Some(IsolationLevel::RepeatableRead), None)
        .await
        .expect("begin")
}

/// [`assert_books_balance`] inside a snapshot the caller holds.
pub async fn assert_books_balance_in(db: &impl ConnectionTrait, context: &str) {
    assert_eq!(
        scalar(db, "SELECT COUNT(*) FROM wallets w WHERE w.balance_won <> COALESCE((SELECT SUM(l.amount_won) FROM wallet_ledger l WHERE l.user_id = w.user_id), 0)").await,
        0,
        "{context}: a balance differs from its ledger"
    );
    assert_eq!(
        scalar(
            db,
            "SELECT COALESCE(SUM(amount_won), 0) FROM wallet_ledger WHERE kind = 'PAYMENT'"
        )
        .await,
        -scalar(db, "SELECT COALESCE(SUM(amount_won), 0) FROM payments").await,
        "{context}: payments and their ledger rows disagree"
    );
    let payments = scalar(db, "SELECT COUNT(*) FROM payments").await;
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) FROM reservations WHERE status = 'CONFIRMED'"
        )
        .await,
        payments,
        "{context}: half-applied payment"
    );
    assert_eq!(
        scalar(db, "SELECT COUNT(*) FROM seats WHERE status = 'SOLD'").await,
        payments,
        "{context}: sold seats without payment"
    );
    assert_eq!(
        scalar(db, "SELECT COUNT(*) FROM (SELECT seat_id FROM reservations WHERE status = 'CONFIRMED' GROUP BY seat_id HAVING COUNT(*) > 1) AS twice").await,
        0,
        "{context}: a seat sold twice"
    );
}

/// splitmix64: a small seeded generator, so a randomized test replays
/// exactly from its printed `SEED`.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// An index below `n`.
    pub fn pick(&mut self, n: usize) -> usize {
        usize::try_from(self.below(n as u64)).unwrap()
    }
}

/// A query whose fragments each spread the next one twice: `levels`
/// levels expand to 2^levels copies of the innermost selection.
pub fn fragment_bomb(levels: usize) -> String {
    let mut doc = String::from("query { ...F0 } ");
    for i in 0..levels {
        doc.push_str(&format!(
            "fragment F{i} on Query {{ ...F{} ...F{} }} ",
            i + 1,
            i + 1
        ));
    }
    doc.push_str(&format!(
        "fragment F{levels} on Query {{ concerts {{ id title dates {{ id }} }} }}"
    ));
    doc
}
