//! What the results were measured on: versions of every contender's software
//! and the machine, so a table can be compared with another run's.

use std::process::Command;

use serde::Serialize;

/// Versions and machine.
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub fleethost_commit: String,
    pub rustc: String,
    pub node: String,
    pub postgres: String,
    pub redis: String,
    pub broker: String,
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
}

impl Environment {
    /// Reads them; what cannot be read says so.
    pub async fn read(pool: &sqlx::PgPool, redis: &redis::Client, broker: &str) -> Self {
        let postgres = sqlx::query_scalar::<_, String>("SHOW server_version")
            .fetch_one(pool)
            .await
            .unwrap_or_else(|error| format!("unknown ({error})"));
        let redis_version = async {
            let mut connection = redis.get_multiplexed_async_connection().await.ok()?;
            let info: String = redis::cmd("INFO")
                .arg("server")
                .query_async(&mut connection)
                .await
                .ok()?;
            info.lines()
                .find_map(|line| line.strip_prefix("redis_version:"))
                .map(|v| v.trim().to_string())
        }
        .await
        .unwrap_or_else(|| "unknown".into());
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self {
            fleethost_commit: command_output("git", &["rev-parse", "--short", "HEAD"]),
            rustc: command_output("rustc", &["--version"]),
            node: command_output("node", &["--version"]),
            postgres,
            redis: redis_version,
            broker: broker.to_string(),
            cpu: cpuinfo
                .lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
                .unwrap_or_else(|| "unknown".into()),
            cores: crate::process_stats::cores(),
            memory_gib: meminfo
                .lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(0.0, |kib| (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0),
            kernel: command_output("uname", &["-r"]),
        }
    }
}

/// The first line a command prints, or why there is none.
fn command_output(program: &str, args: &[&str]) -> String {
    match Command::new(program).args(args).output() {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
        Ok(output) => format!("unknown ({program} exited {})", output.status),
        Err(error) => format!("unknown ({program}: {error})"),
    }
}
