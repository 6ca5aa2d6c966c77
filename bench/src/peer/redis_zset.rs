//! The hhplus design: a sorted set of waiters scored by arrival, `ZRANK`
//! per poll, and a scheduler that pops the head into an active set whose
//! scores are expiry times.

use std::sync::atomic::{AtomicU64, Ordering};

use redis::aio::MultiplexedConnection;

use super::Position;
use crate::client::now_unix_us;

/// How long an admitted user stays active (the hhplus repos use 5 to 30
/// minutes); expiry only matters for the active set's size here.
const ACTIVE_TTL_US: i64 = 600_000_000;

pub struct RedisZset {
    /// One multiplexed connection, as Spring's Lettuce shares one.
    conn: MultiplexedConnection,
    waiting: String,
    active: String,
    sequence: String,
    /// Commands sent.
    pub ops: AtomicU64,
}

impl RedisZset {
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let conn = client.get_multiplexed_async_connection().await?;
        Ok(Self {
            conn,
            waiting: format!("{prefix}waiting"),
            active: format!("{prefix}active"),
            sequence: format!("{prefix}sequence"),
            ops: AtomicU64::new(0),
        })
    }

    fn count(&self, n: u64) {
        self.ops.fetch_add(n, Ordering::Relaxed);
    }

    /// `INCR` for the arrival sequence, then `ZADD NX`: a user who is
    /// already waiting keeps their place.
    pub async fn join(&self, user: &str) -> anyhow::Result<String> {
        let mut conn = self.conn.clone();
        self.count(2);
        let seq: i64 = redis::cmd("INCR")
            .arg(&self.sequence)
            .query_async(&mut conn)
            .await?;
        let _: i64 = redis::cmd("ZADD")
            .arg(&self.waiting)
            .arg("NX")
            .arg(seq)
            .arg(user)
            .query_async(&mut conn)
            .await?;
        Ok(user.to_owned())
    }

    /// `ZRANK` in the waiting set; when absent, `ZSCORE` in the active set.
    pub async fn position(&self, ticket: &str) -> anyhow::Result<Position> {
        let mut conn = self.conn.clone();
        self.count(1);
        let rank: Option<i64> = redis::cmd("ZRANK")
            .arg(&self.waiting)
            .arg(ticket)
            .query_async(&mut conn)
            .await?;
        if let Some(rank) = rank {
            return Ok(Position::Waiting(rank));
        }
        self.count(1);
        let expiry: Option<f64> = redis::cmd("ZSCORE")
            .arg(&self.active)
            .arg(ticket)
            .query_async(&mut conn)
            .await?;
        Ok(match expiry {
            Some(_) => Position::Progress,
            None => Position::Unknown,
        })
    }

    /// `ZPOPMIN n` from the waiting set, `ZADD` into the active set with
    /// an expiry, and `ZREMRANGEBYSCORE` of the expired.
    pub async fn admit(&self, n: u64) -> anyhow::Result<Vec<String>> {
        let mut conn = self.conn.clone();
        self.count(1);
        let popped: Vec<String> = redis::cmd("ZPOPMIN")
            .arg(&self.waiting)
            .arg(n)
            .query_async(&mut conn)
            .await?;
        // Member, score, member, score…
        let members: Vec<String> = popped.into_iter().step_by(2).collect();
        let now = now_unix_us();
        if !members.is_empty() {
            let mut add = redis::cmd("ZADD");
            add.arg(&self.active);
            for m in &members {
                add.arg(now + ACTIVE_TTL_US).arg(m);
            }
            self.count(1);
            let _: i64 = add.query_async(&mut conn).await?;
        }
        self.count(1);
        let _: i64 = redis::cmd("ZREMRANGEBYSCORE")
            .arg(&self.active)
            .arg("-inf")
            .arg(now)
            .query_async(&mut conn)
            .await?;
        Ok(members)
    }

    /// Deletes this run's keys.
    pub async fn cleanup(&self) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("DEL")
            .arg(&self.waiting)
            .arg(&self.active)
            .arg(&self.sequence)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }
}
