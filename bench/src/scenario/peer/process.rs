//! A peer server process (`seatline-bench peer-server`), and the CPU time
//! of the stores beside it: `redis-server`, and the PostgreSQL backends
//! serving one database.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Deserialize;
use tokio::process::{Child, Command};

use crate::peer::Design;
use crate::server::{cpu_secs_of, free_port};

pub struct PeerProcess {
    child: Child,
    pid: Option<u32>,
    pub base: String,
    http: reqwest::Client,
}

#[derive(Debug, Deserialize)]
pub struct Stats {
    pub ops: u64,
    pub admitted: u64,
    /// Redis's `total_commands_processed` (Redis design only).
    #[serde(default)]
    pub store_commands: Option<u64>,
}

impl PeerProcess {
    /// Starts this executable as a peer server and waits until it answers.
    pub async fn start(
        design: Design,
        store_url: &str,
        key_prefix: &str,
        admit_per_sec: f64,
    ) -> anyhow::Result<Self> {
        let addr = format!("127.0.0.1:{}", free_port()?);
        let child = Command::new(std::env::current_exe()?)
            .arg("peer-server")
            .arg("--design")
            .arg(design.name())
            .arg("--addr")
            .arg(&addr)
            .arg("--store-url")
            .arg(store_url)
            .arg("--key-prefix")
            .arg(key_prefix)
            .arg("--admit-per-sec")
            .arg(admit_per_sec.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting a peer server")?;
        let mut peer = Self {
            pid: child.id(),
            child,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        };
        let started = Instant::now();
        loop {
            if let Ok(r) = peer.http.get(format!("{}/health", peer.base)).send().await
                && r.status().is_success()
            {
                return Ok(peer);
            }
            if let Some(status) = peer.child.try_wait()? {
                bail!("the {} peer server exited: {status}", design.name());
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("the {} peer server did not answer", design.name());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn cpu_secs(&self) -> Option<f64> {
        cpu_secs_of(self.pid?)
    }

    pub async fn stats(&self) -> anyhow::Result<Stats> {
        Ok(self
            .http
            .get(format!("{}/stats", self.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Every admission so far: ticket and time.
    pub async fn admissions(&self) -> anyhow::Result<Vec<(String, i64)>> {
        Ok(self
            .http
            .get(format!("{}/admissions", self.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Removes the design's keys, then stops the process.
    pub async fn stop(mut self) {
        let _ = self
            .http
            .post(format!("{}/cleanup", self.base))
            .send()
            .await;
        if let Some(pid) = self.pid {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// CPU seconds used so far by each of `pids`.
pub fn cpu_of(pids: &[u32]) -> HashMap<u32, f64> {
    pids.iter()
        .filter_map(|&pid| Some((pid, cpu_secs_of(pid)?)))
        .collect()
}

/// CPU used between two snapshots: processes in `after` only count from
/// zero (they started in between); processes gone by `after` are lost.
pub fn cpu_delta(before: &HashMap<u32, f64>, after: &HashMap<u32, f64>) -> f64 {
    after
        .iter()
        .map(|(pid, &b)| b - before.get(pid).copied().unwrap_or(0.0))
        .sum()
}

/// Processes whose command name is `name` (as `pidof` finds them).
pub fn pids_named(name: &str) -> Vec<u32> {
    pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .collect()
}

/// The processes whose parent is `parent`.
pub fn children_of(parent: u32) -> Vec<u32> {
    pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| parent_in_stat(&stat))
                == Some(parent)
        })
        .collect()
}

fn pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .collect()
}

/// The parent pid in a `/proc/<pid>/stat` line: the second field after
/// the command name, which may contain spaces and parentheses.
fn parent_in_stat(stat: &str) -> Option<u32> {
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The PostgreSQL backends serving the database at `url` (this probe's
/// own connection excluded).
pub async fn pg_backends(url: &str) -> anyhow::Result<Vec<u32>> {
    use sea_orm::sqlx::Connection;
    let mut conn = sea_orm::sqlx::PgConnection::connect(url).await?;
    let pids: Vec<i32> = sea_orm::sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut conn)
    .await?;
    conn.close().await?;
    Ok(pids
        .into_iter()
        .filter_map(|p| u32::try_from(p).ok())
        .collect())
}

/// Busy and total CPU time of the whole machine so far, in clock ticks
/// (`/proc/stat`): busy is user, nice, system, irq, softirq and steal;
/// total adds idle and iowait.
pub fn machine_ticks() -> Option<(u64, u64)> {
    parse_cpu_line(&std::fs::read_to_string("/proc/stat").ok()?)
}

fn parse_cpu_line(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = f[..] else {
        return None;
    };
    let busy = user + nice + system + irq + softirq + steal;
    Some((busy, busy + idle + iowait))
}

/// The share of all cores busy between two [`machine_ticks`] readings.
pub fn busy_share(before: (u64, u64), after: (u64, u64)) -> f64 {
    let total = after.1.saturating_sub(before.1);
    if total == 0 {
        return 0.0;
    }
    after.0.saturating_sub(before.0) as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_line_of_proc_stat_parses() {
        let stat = "cpu  100 5 50 800 20 3 2 10 0 0\ncpu0 50 2 25 400 10 1 1 5 0 0\n";
        assert_eq!(parse_cpu_line(stat), Some((170, 990)));
        assert!((busy_share((170, 990), (270, 1190)) - 0.5).abs() < 1e-9);
        assert!(machine_ticks().is_some());
    }

    #[test]
    fn cpu_deltas_count_new_processes_from_zero() {
        let before = HashMap::from([(1, 10.0), (2, 5.0), (3, 1.0)]);
        let after = HashMap::from([(1, 12.5), (2, 5.0), (4, 0.5)]);
        assert!((cpu_delta(&before, &after) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn the_parent_is_read_past_the_command_name() {
        assert_eq!(parent_in_stat("42 (a (b) c) S 7 42 42 0"), Some(7));
        let me = std::process::id();
        let child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let found = children_of(me).contains(&child.id());
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        assert!(found);
    }

    #[test]
    fn this_process_is_found_by_name() {
        let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
        assert!(pids_named(comm.trim_end()).contains(&std::process::id()));
    }
}
