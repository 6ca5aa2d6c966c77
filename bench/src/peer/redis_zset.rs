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

/// KEYS: waiting, active. ARGV: how many, expiry, now. Returns the
/// admitted members. `ZPOPMIN` replies member, score, member, score…
const ADMIT: &str = "
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
local members = {}
for i = 1, #popped, 2 do
  members[#members + 1] = popped[i]
  redis.call('ZADD', KEYS[2], ARGV[2], popped[i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
return members
";

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
    /// an expiry, and `ZREMRANGEBYSCORE` of the expired, in one Lua script
    /// (as kp-tickets does): run as separate commands, a poll between the
    /// pop and the add would find the ticket in neither set.
    pub async fn admit(&self, n: u64) -> anyhow::Result<Vec<String>> {
        let mut conn = self.conn.clone();
        let now = now_unix_us();
        let members: Vec<String> = redis::cmd("EVAL")
            .arg(ADMIT)
            .arg(2)
            .arg(&self.waiting)
            .arg(&self.active)
            .arg(n)
            .arg(now + ACTIVE_TTL_US)
            .arg(now)
            .query_async(&mut conn)
            .await?;
        // The commands the script ran.
        self.count(2 + members.len() as u64);
        Ok(members)
    }

    /// `total_commands_processed` from `INFO stats`: every command Redis
    /// ran, for every client (this one's `INFO` included).
    pub async fn commands_processed(&self) -> anyhow::Result<u64> {
        let mut conn = self.conn.clone();
        let info: String = redis::cmd("INFO")
            .arg("stats")
            .query_async(&mut conn)
            .await?;
        commands_in_info(&info)
            .ok_or_else(|| anyhow::anyhow!("no total_commands_processed in INFO stats"))
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

fn commands_in_info(info: &str) -> Option<u64> {
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_count_is_read_from_info() {
        let info = "# Stats\r\ntotal_connections_received:3\r\ntotal_commands_processed:1234\r\n";
        assert_eq!(commands_in_info(info), Some(1234));
        assert_eq!(commands_in_info("# Stats\r\n"), None);
    }
}
