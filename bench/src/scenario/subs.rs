//! `subs-idle`: N waiters connected over graphql-transport-ws and
//! subscribed to `queueUpdates`; the server's resident memory per
//! subscriber (after minus before, over N).

use std::time::Duration;

use super::Ctx;
use crate::client::Gql;
use crate::load::median;
use crate::report::Goal;
use crate::subscribers::Subscribers;

pub async fn subs_idle(ctx: &mut Ctx) -> anyhow::Result<()> {
    let sizes: Vec<usize> = ctx.size(vec![1_000], vec![1_000, 10_000, 19_000]);
    let b = ctx.backend_name();
    for n in sizes {
        eprintln!("subs-idle: {n} subscribers");
        let (mut per_sub, mut held) = (vec![], vec![]);
        for run in 0..ctx.runs {
            let server = ctx.server(&[]).await?;
            let gql = Gql::new(&server.graphql_url());
            let users: Vec<String> = (0..n).map(|i| format!("idle-{run}-{i}")).collect();
            let tokens = gql.issue_many(&users, 64).await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            let before = server.rss_kib();
            let subs = Subscribers::connect(&server.ws_url(), &tokens).await?;
            // Let allocator caches and the first pushes settle.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after = server.rss_kib();
            let metrics = server.metrics().await?;
            held.push(metrics.get("seatline_subscribers").copied().unwrap_or(0.0));
            if let (Some(before), Some(after)) = (before, after) {
                per_sub.push((after as f64 - before as f64) / subs.connected.max(1) as f64);
            }
            if subs.failed > 0 {
                eprintln!("  {} subscribers failed to connect", subs.failed);
            }
            subs.finish().await?;
            server.stop().await;
        }
        ctx.report.goal(
            "subs-idle",
            b,
            &format!("server memory per idle subscriber (N = {n})"),
            median(per_sub),
            "KiB",
            Goal::AtMost(8.0),
        );
        ctx.report.goal(
            "subs-idle",
            b,
            &format!("subscribers held by one process (N = {n})"),
            median(held),
            "",
            Goal::AtLeast(n as f64),
        );
    }
    Ok(())
}
