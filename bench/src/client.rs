//! GraphQL over HTTP, with every response body checked for `errors`.

use std::time::Duration;

use serde_json::{Value, json};

/// What one GraphQL call came to.
#[derive(Debug)]
pub enum Outcome {
    /// `data`, with no `errors`.
    Data(Value),
    /// A GraphQL error with this `extensions.code`.
    Code(String),
    /// No usable answer: transport failure, non-JSON body, an error
    /// without a code, or a 5xx.
    Failed(String),
}

impl Outcome {
    pub fn data(self) -> anyhow::Result<Value> {
        match self {
            Self::Data(v) => Ok(v),
            Self::Code(c) => anyhow::bail!("GraphQL error {c}"),
            Self::Failed(e) => anyhow::bail!("request failed: {e}"),
        }
    }
}

/// The documents of a purchase, as `flow` and `cost` send them.
pub const JOIN: &str = "mutation($u: ID!) { issueQueueToken(userId: $u) { token status } }";
pub const SEATS: &str = "query($d: ID!) { availableSeats(concertDateId: $d) { number price } }";
pub const HOLD: &str =
    "mutation($d: ID!, $n: Int!) { holdSeat(concertDateId: $d, seatNumber: $n) { id price } }";
pub const CHARGE: &str = "mutation($a: Int!) { chargeBalance(amount: $a) { amount } }";
pub const PAY: &str = "mutation($r: ID!) { pay(reservationId: $r) { id amount } }";

#[derive(Clone)]
pub struct Gql {
    http: reqwest::Client,
    url: String,
}

impl Gql {
    pub fn new(url: &str) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()
            .unwrap_or_default();
        Self {
            http,
            url: url.to_owned(),
        }
    }

    pub async fn call(&self, token: Option<&str>, query: &str, variables: Value) -> Outcome {
        let mut req = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let status = resp.status();
        let body: Value = match resp.json().await {
            Ok(b) => b,
            Err(e) => return Outcome::Failed(format!("{status}: {e}")),
        };
        if status.is_server_error() {
            return Outcome::Failed(format!("{status}: {body}"));
        }
        match body.get("errors").and_then(|e| e.get(0)) {
            Some(err) => match err.pointer("/extensions/code").and_then(Value::as_str) {
                Some(code) => Outcome::Code(code.to_owned()),
                None => Outcome::Failed(err.to_string()),
            },
            None => match body.get("data") {
                Some(data) if !data.is_null() => Outcome::Data(data.clone()),
                _ => Outcome::Failed(format!("no data: {body}")),
            },
        }
    }

    /// `issueQueueToken` for `user`: the token and the ticket's status.
    pub async fn issue(&self, user: &str) -> anyhow::Result<(String, String)> {
        let data = self.call(None, JOIN, json!({ "u": user })).await.data()?;
        let t = &data["issueQueueToken"];
        Ok((str_of(&t["token"]), str_of(&t["status"])))
    }

    /// Issues tokens for `users` with `parallel` requests in flight,
    /// returned in the order of `users`.
    pub async fn issue_many(
        &self,
        users: &[String],
        parallel: usize,
    ) -> anyhow::Result<Vec<String>> {
        use futures_util::{StreamExt, TryStreamExt};
        futures_util::stream::iter(users.iter().cloned())
            .map(|u| {
                let gql = self.clone();
                async move { gql.issue(&u).await.map(|(token, _)| token) }
            })
            .buffered(parallel)
            .try_collect()
            .await
    }
}

pub fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

pub fn now_unix_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// An RFC 3339 timestamp as microseconds since the epoch.
pub fn unix_us(rfc3339: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.timestamp_micros())
}
