//! The seed's design (sequence diagram 1): a `queue_ticket` table, and per
//! poll the ticket's row and then the number of WAITING tickets that
//! entered before it.

use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::sqlx::PgPool;
use sea_orm::sqlx::postgres::PgPoolOptions;

use super::Position;

/// The pool an hhplus Spring service gets by default is HikariCP's 10;
/// Seatline's default is 16. The peer gets Seatline's.
const POOL: u32 = 16;

pub struct Seed {
    pool: PgPool,
    /// Statements sent.
    pub ops: AtomicU64,
}

impl Seed {
    /// Connects to a fresh database and creates the table.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL)
            .min_connections(POOL)
            .connect(url)
            .await?;
        for ddl in [
            "CREATE TABLE IF NOT EXISTS queue_ticket (
                id BIGSERIAL PRIMARY KEY,
                user_id TEXT NOT NULL UNIQUE,
                status TEXT NOT NULL,
                entered_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
                admitted_at TIMESTAMPTZ
            )",
            "CREATE INDEX IF NOT EXISTS queue_ticket_status_entered_at
                ON queue_ticket (status, entered_at)",
        ] {
            sea_orm::sqlx::query(ddl).execute(&pool).await?;
        }
        Ok(Self {
            pool,
            ops: AtomicU64::new(0),
        })
    }

    fn count(&self, n: u64) {
        self.ops.fetch_add(n, Ordering::Relaxed);
    }

    /// Returns the user's ticket, creating it if the user has none.
    pub async fn join(&self, user: &str) -> anyhow::Result<String> {
        self.count(1);
        let id: i64 = sea_orm::sqlx::query_scalar(
            "INSERT INTO queue_ticket (user_id, status) VALUES ($1, 'WAITING')
             ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
             RETURNING id",
        )
        .bind(user)
        .fetch_one(&self.pool)
        .await?;
        Ok(id.to_string())
    }

    /// The ticket, then the count query of the seed.
    pub async fn position(&self, ticket: &str) -> anyhow::Result<Position> {
        let Ok(id) = ticket.parse::<i64>() else {
            return Ok(Position::Unknown);
        };
        self.count(1);
        let row: Option<(String, chrono::DateTime<chrono::Utc>)> =
            sea_orm::sqlx::query_as("SELECT status, entered_at FROM queue_ticket WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some((status, entered_at)) = row else {
            return Ok(Position::Unknown);
        };
        if status != "WAITING" {
            return Ok(Position::Progress);
        }
        self.count(1);
        let ahead: i64 = sea_orm::sqlx::query_scalar(
            "SELECT count(*) FROM queue_ticket WHERE status = 'WAITING' AND entered_at < $1",
        )
        .bind(entered_at)
        .fetch_one(&self.pool)
        .await?;
        Ok(Position::Waiting(ahead))
    }

    /// Moves the `n` oldest WAITING tickets to PROGRESS.
    pub async fn admit(&self, n: u64) -> anyhow::Result<Vec<String>> {
        self.count(1);
        let ids: Vec<i64> = sea_orm::sqlx::query_scalar(
            "UPDATE queue_ticket SET status = 'PROGRESS', admitted_at = clock_timestamp()
             WHERE id IN (
                 SELECT id FROM queue_ticket WHERE status = 'WAITING'
                 ORDER BY entered_at LIMIT $1 FOR UPDATE SKIP LOCKED
             )
             RETURNING id",
        )
        .bind(i64::try_from(n)?)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(|id| id.to_string()).collect())
    }
}
