//! `join`: `issueQueueToken` for distinct users, ramped open-loop until p99
//! passes 15 ms. The line grows all the while (capacity 100), as it does
//! when a sale opens.

use std::time::Duration;

use serde_json::json;

use super::{Ctx, ramp_on};
use crate::client::{Gql, Outcome};
use crate::load::{Done, Sustained, median};
use crate::report::Goal;

const P99_MS: f64 = 15.0;

pub async fn join(ctx: &mut Ctx) -> anyhow::Result<()> {
    eprintln!("join: issueQueueToken ramp");
    let rates: Vec<f64> = ctx.size(
        vec![250.0, 500.0, 1_000.0, 2_000.0],
        vec![
            500.0, 1_000.0, 2_000.0, 3_000.0, 4_000.0, 6_000.0, 8_000.0, 12_000.0, 16_000.0,
            20_000.0, 25_000.0, 30_000.0,
        ],
    );
    let duration = Duration::from_secs(ctx.size(1, 3));
    let (mut sustained, mut cpu) = (Sustained::default(), vec![]);
    for run in 0..ctx.runs {
        let server = ctx.server(&[]).await?;
        let gql = Gql::new(&server.graphql_url());
        // Warm-up: connections, caches, the first pages of the table.
        for i in 0..200 {
            gql.issue(&format!("warm-{run}-{i}")).await?;
        }
        let cpu_before = server.cpu_secs();
        let started = std::time::Instant::now();
        let (steps, best) = ramp_on(&server, &rates, duration, P99_MS, |i| {
            let gql = gql.clone();
            async move { issue(&gql, &format!("join-{run}-{i}")).await }
        })
        .await;
        if let (Some(before), Some(after)) = (cpu_before, server.cpu_secs()) {
            cpu.push((after - before) / started.elapsed().as_secs_f64());
        }
        sustained.add(&steps, best);
        server.stop().await;
    }
    let b = ctx.backend_name();
    let rate = sustained.rate();
    ctx.measured.insert("join", rate);
    let goal = ctx.pick(20_000.0, 8_000.0);
    ctx.report.goal(
        "join",
        b,
        "sustained joins (p99 <= 15 ms)",
        rate,
        "/s",
        Goal::AtLeast(goal),
    );
    ctx.report.figure(
        "join",
        b,
        "p50 at that rate",
        sustained.at_median_rate(|f| f.p50),
        "ms",
    );
    // Within the bound by construction: a step is sustained only if it is.
    ctx.report.figure(
        "join",
        b,
        "p99 at that rate",
        sustained.at_median_rate(|f| f.p99),
        "ms",
    );
    ctx.report_cost_per_op("join", "join", &sustained);
    ctx.report.figure(
        "join",
        b,
        "p999 at that rate",
        sustained.at_median_rate(|f| f.p999),
        "ms",
    );
    ctx.report.figure(
        "join",
        b,
        "server CPU during the ramp",
        100.0 * median(cpu),
        "% of a core",
    );
    Ok(())
}

async fn issue(gql: &Gql, user: &str) -> Done {
    match gql
        .call(
            None,
            "mutation($u: ID!) { issueQueueToken(userId: $u) { token status position } }",
            json!({ "u": user }),
        )
        .await
    {
        Outcome::Data(d) if d["issueQueueToken"]["token"].is_string() => Done::Ok,
        Outcome::Data(d) => Done::Error(format!("no token: {d}")),
        Outcome::Code(c) => Done::Error(c),
        Outcome::Failed(e) => Done::Error(e),
    }
}
