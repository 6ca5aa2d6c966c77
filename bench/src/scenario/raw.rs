//! `raw-limit`: the server's own hot statements, run straight through the
//! same driver, connection settings and pool size, with nothing above
//! them: no HTTP, no GraphQL, no reads around them. Each throughput figure
//! of the API gets a physical-limit column and a ratio from this.
//!
//! - seat claim: the guarded `UPDATE seats … WHERE free` and the
//!   reservation `INSERT`, in one write transaction (`holdSeat`'s core);
//! - gate + ticket: the gate lock (`UPDATE queue_gate … RETURNING`) and the
//!   ticket `INSERT` (`issueQueueToken`'s core), through the server's own
//!   store functions.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use entity::reservation::{self, ReservationStatus};
use entity::seat::{self, SeatStatus};
use entity::{concert, concert_date};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use seatline::config::Settings;
use seatline::domain::catalog::store_is_free_at;
use seatline::domain::queue::store as queue_store;

use super::Ctx;
use crate::load::Rng;
use crate::report::Goal;
use crate::server::FreshDb;

/// How long each statement pair runs before it is measured.
const WARM_UP: Duration = Duration::from_millis(500);
/// The first operation index of a warm-up, far above any measured one.
const WARM_UP_FIRST: u64 = 1 << 40;

pub async fn raw_limit(ctx: &mut Ctx) -> anyhow::Result<()> {
    eprintln!("raw-limit: the server's statements without the server");
    let seats = ctx.size(5_000, 50_000);
    let duration = Duration::from_secs(ctx.size(2, 5));
    let b = ctx.backend_name();
    let fresh = FreshDb::create(&ctx.backend).await?;
    // As the servers it runs read them (a pool size exported for them
    // applies here too), but on its own database.
    let mut settings = Settings::from_env()?;
    settings.database_url = fresh.url.clone();
    let result = async {
        let db = seatline::startup::migrate(&settings).await?;
        let ids = seed(&db, seats).await?;
        // The server's pool: one connection on SQLite, its default on
        // PostgreSQL; enough callers to keep every connection busy.
        let callers = ctx.pick(16.0, 64.0) as usize;
        let seed = ctx.seed;
        let claim = {
            let db = db.clone();
            let ids = Arc::new(ids);
            move |i| claim(db.clone(), Arc::clone(&ids), seed, i)
        };
        let gate_and_ticket = {
            let db = db.clone();
            move |i| gate_and_ticket(db.clone(), i)
        };
        // Warm-up, as the API's scenarios have: the pool, the statement
        // caches, the first pages of each table and index. Its operations
        // take indices (users) the measurement never does.
        closed_loop(callers, WARM_UP, WARM_UP_FIRST, claim.clone()).await?;
        closed_loop(callers, WARM_UP, WARM_UP_FIRST, gate_and_ticket.clone()).await?;
        let hold = closed_loop(callers, duration, 0, claim).await?;
        let join = closed_loop(callers, duration, 0, gate_and_ticket).await?;
        db.close().await?;
        anyhow::Ok((hold, join))
    }
    .await;
    fresh.drop_db().await;
    let (hold, join) = result?;
    ctx.report.figure(
        "raw-limit",
        b,
        "seat claim + reservation insert",
        hold,
        "tx/s",
    );
    ctx.report
        .figure("raw-limit", b, "gate lock + ticket insert", join, "tx/s");
    if let Some(&api) = ctx.measured.get("hold") {
        ctx.report.goal(
            "raw-limit",
            b,
            "holdSeat (hold-hot) / raw seat claim",
            api / hold,
            "ratio",
            Goal::AtLeast(0.4),
        );
    }
    if let Some(&api) = ctx.measured.get("join") {
        ctx.report.figure(
            "raw-limit",
            b,
            "issueQueueToken (join) / raw gate + ticket",
            api / join,
            "ratio",
        );
    }
    Ok(())
}

/// One concert date, far ahead, with `n` seats; their ids.
async fn seed(db: &DatabaseConnection, n: usize) -> anyhow::Result<Vec<i64>> {
    let c = concert::Entity::insert(concert::ActiveModel {
        title: Set("raw-limit".into()),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await?;
    let d = concert_date::Entity::insert(concert_date::ActiveModel {
        concert_id: Set(c.id),
        starts_at: Set(Utc::now() + TimeDelta::days(365)),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await?;
    for chunk in (1..=n).collect::<Vec<_>>().chunks(500) {
        seat::Entity::insert_many(chunk.iter().map(|&number| seat::ActiveModel {
            concert_date_id: Set(d.id),
            number: Set(i32::try_from(number).unwrap_or(i32::MAX)),
            price_won: Set(99_000),
            status: Set(SeatStatus::Available),
            held_until: Set(None),
            ..Default::default()
        }))
        .exec(db)
        .await?;
    }
    Ok(seat::Entity::find()
        .filter(seat::Column::ConcertDateId.eq(d.id))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect())
}

/// `holdSeat`'s writes on a random seat: true if it won the seat.
async fn claim(
    db: DatabaseConnection,
    ids: Arc<Vec<i64>>,
    seed: u64,
    i: u64,
) -> anyhow::Result<bool> {
    let seat_id = ids[Rng::for_op(seed, i).below(ids.len() as u64) as usize];
    let now = Utc::now();
    let until = now + TimeDelta::minutes(5);
    let txn = seatline::db::begin_write(&db).await?;
    let claimed = seat::Entity::update_many()
        .col_expr(seat::Column::Status, Expr::value(SeatStatus::Held))
        .col_expr(seat::Column::HeldUntil, Expr::value(until))
        .filter(seat::Column::Id.eq(seat_id))
        .filter(store_is_free_at(now))
        .exec_with_returning(&txn)
        .await?;
    let Some(seat) = claimed.into_iter().next() else {
        txn.rollback().await?;
        return Ok(false);
    };
    reservation::Entity::insert(reservation::ActiveModel {
        user_id: Set(format!("raw-{i}")),
        seat_id: Set(seat.id),
        price_won: Set(seat.price_won),
        status: Set(ReservationStatus::Held),
        held_at: Set(now),
        expires_at: Set(until),
        confirmed_at: Set(None),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// `issueQueueToken`'s writes for a new user.
async fn gate_and_ticket(db: DatabaseConnection, i: u64) -> anyhow::Result<bool> {
    let txn = seatline::db::begin_write(&db).await?;
    // Announced as from no server: every server would catch up on it.
    let gate = queue_store::lock_gate(&txn, 0).await?;
    queue_store::insert_tickets(
        &txn,
        &gate,
        vec![queue_store::NewTicket {
            user_id: format!("raw-{i}"),
            token_salt: format!("raw-{i}"),
            token_hash: format!("raw-{i}"),
            admit_until: None,
        }],
        Utc::now(),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// `callers` tasks each running `op` back to back for `duration`, on
/// indices from `first` up; transactions per second.
async fn closed_loop<F, Fut>(
    callers: usize,
    duration: Duration,
    first: u64,
    op: F,
) -> anyhow::Result<f64>
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<bool>> + Send,
{
    let next = Arc::new(AtomicU64::new(first));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let (op, next, stop) = (op.clone(), Arc::clone(&next), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let mut done = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                op(next.fetch_add(1, Ordering::Relaxed)).await?;
                done += 1;
            }
            anyhow::Ok(done)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}
