//! Contender 0, the sinks' own limits: what no writer can beat on this
//! machine. PostgreSQL's bulk load (`psql \copy`) of the very history rows
//! into the history table's shape, and `redis-benchmark` of the writes
//! live-location makes per driver (a hash and a GEO member), pipelined.

use std::time::Instant;

use anyhow::Context;

use super::BenchContext;
use crate::measurement::Measurement;
use crate::process_stats::{MachineSample, ServicesSample};

/// The history table as the db-writer plugin creates it (see
/// `plugins/db-writer`): same columns, unique key and index, so the bulk
/// load pays for the same index maintenance.
pub fn history_table_ddl(table: &str) -> [String; 2] {
    [
        format!(
            "CREATE TABLE {table} (driver_id text NOT NULL, latitude double precision NOT NULL, \
             longitude double precision NOT NULL, recorded_at timestamptz NOT NULL, region text, \
             order_id text, speed double precision, heading double precision, kafka_topic text NOT NULL, \
             kafka_partition bigint NOT NULL, kafka_offset bigint NOT NULL, \
             UNIQUE (kafka_topic, kafka_partition, kafka_offset))"
        ),
        format!("CREATE INDEX {table}_driver_time ON {table} (driver_id, recorded_at)"),
    ]
}

/// Creates the history table `table`.
pub async fn create_history_table(pool: &sqlx::PgPool, table: &str) -> anyhow::Result<()> {
    for statement in history_table_ddl(table) {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(pool)
            .await
            .with_context(|| format!("creating table {table}"))?;
    }
    Ok(())
}

/// Loads the history CSV with one `psql \copy` and times the psql process.
pub async fn postgres_copy(ctx: &BenchContext, round: u32) -> anyhow::Result<Measurement> {
    let table = ctx.names("postgres-copy", round).table;
    create_history_table(&ctx.pool, &table).await?;
    let copy = format!(
        "\\copy {table} (driver_id, latitude, longitude, recorded_at, region, order_id, speed, heading, \
         kafka_topic, kafka_partition, kafka_offset) FROM '{}' WITH (FORMAT csv)",
        ctx.dataset.history_csv.display()
    );
    let machine = MachineSample::now();
    let services = ServicesSample::now();
    let started = Instant::now();
    let output = tokio::process::Command::new("psql")
        .args([
            "--no-psqlrc",
            "--quiet",
            "-v",
            "ON_ERROR_STOP=1",
            &ctx.database_url,
            "-c",
            &copy,
        ])
        .output()
        .await
        .context("running psql (PostgreSQL's client; install postgresql-client)")?;
    let seconds = started.elapsed().as_secs_f64();
    let busy_cores = MachineSample::now().busy_cores_since(&machine);
    let services = ServicesSample::now().since(&services);
    anyhow::ensure!(
        output.status.success(),
        "psql \\copy failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&ctx.pool)
        .await?;
    anyhow::ensure!(
        rows as u64 == ctx.dataset.spec.events,
        "psql \\copy loaded {rows} rows of {}",
        ctx.dataset.spec.events
    );
    Ok(Measurement {
        contender: "postgres-copy".into(),
        round,
        events: rows as u64,
        seconds,
        // The work is the server's; psql's own CPU says nothing.
        cpu_seconds: None,
        peak_rss_bytes: None,
        busy_cores,
        services: Some(services),
    })
}

/// `redis-benchmark` with the writes live-location makes per driver: an HSET
/// of `lat`, `lng`, `ts_ms` and a GEOADD, each pipelined (1,000 commands per
/// round trip, as live-location sends a batch's drivers in one call), as many
/// commands as the data set has fixes, over as many keys as it has drivers.
/// Three rows: HSET, GEOADD, and both per fix (their combined rate).
pub async fn redis_benchmark(ctx: &BenchContext, round: u32) -> anyhow::Result<Vec<Measurement>> {
    let names = ctx.names("redis-benchmark", round);
    let (host, port) = redis_host_port(&ctx.redis_url)?;
    let events = ctx.dataset.spec.events;
    let drivers = ctx.dataset.spec.drivers;
    let prefix = &names.key_prefix;
    let commands: [(&str, Vec<String>); 2] = [
        (
            "redis-hset",
            [
                "HSET",
                &format!("{prefix}driver:__rand_int__"),
                "lat",
                "12.9716",
                "lng",
                "77.5946",
                "ts_ms",
                "1764000000000",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "redis-geoadd",
            [
                "GEOADD",
                &format!("{prefix}drivers:geo"),
                "77.5946",
                "12.9716",
                "__rand_int__",
            ]
            .map(String::from)
            .to_vec(),
        ),
    ];
    let mut rows = Vec::new();
    for (name, command) in commands {
        let machine = MachineSample::now();
        let services = ServicesSample::now();
        let output = tokio::process::Command::new("redis-benchmark")
            .args([
                "-h",
                &host,
                "-p",
                &port.to_string(),
                "-q",
                "--csv",
                "-P",
                "1000",
                "-c",
                "4",
            ])
            .args(["-n", &events.to_string(), "-r", &drivers.to_string()])
            .args(&command)
            .output()
            .await
            .context("running redis-benchmark (from Debian's redis-tools)")?;
        let busy_cores = MachineSample::now().busy_cores_since(&machine);
        let services = ServicesSample::now().since(&services);
        anyhow::ensure!(
            output.status.success(),
            "redis-benchmark failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let per_second = requests_per_second(&String::from_utf8_lossy(&output.stdout))
            .with_context(|| format!("reading redis-benchmark's output for {name}"))?;
        rows.push(Measurement {
            contender: name.into(),
            round,
            events,
            seconds: events as f64 / per_second,
            cpu_seconds: None,
            peak_rss_bytes: None,
            busy_cores,
            services: Some(services),
        });
    }
    let both: f64 = rows.iter().map(|m| m.seconds).sum();
    rows.push(Measurement {
        contender: "redis-hset+geoadd".into(),
        round,
        events,
        seconds: both,
        cpu_seconds: None,
        peak_rss_bytes: None,
        busy_cores: rows.iter().map(|m| m.busy_cores).sum::<f64>() / 2.0,
        services: None,
    });
    delete_keys(&ctx.redis, prefix).await?;
    Ok(rows)
}

/// The rate of `redis-benchmark --csv` output: `"test","rps",...` lines.
fn requests_per_second(csv: &str) -> Option<f64> {
    csv.lines()
        .filter(|line| !line.starts_with("\"test\""))
        .find_map(|line| line.split(',').nth(1)?.trim_matches('"').parse().ok())
}

/// Host and port of a `redis://host:port[/db]` URL.
fn redis_host_port(url: &str) -> anyhow::Result<(String, u16)> {
    let rest = url
        .strip_prefix("redis://")
        .context("the Redis URL must start with redis://")?;
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    match authority.rsplit_once(':') {
        Some((host, port)) => Ok((host.to_string(), port.parse().context("the Redis URL's port")?)),
        None => Ok((authority.to_string(), 6379)),
    }
}

/// Deletes every key under `prefix` (the benchmark's own).
pub async fn delete_keys(client: &redis::Client, prefix: &str) -> anyhow::Result<()> {
    let mut connection = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await?;
    for chunk in keys.chunks(1000) {
        let _: () = redis::cmd("DEL").arg(chunk).query_async(&mut connection).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_benchmark_csv_is_read() {
        let csv = "\"test\",\"rps\",\"avg_latency_ms\"\n\"HSET fhb:driver:__rand_int__ lat\",\"912408.75\",\"0.1\"\n";
        assert_eq!(requests_per_second(csv), Some(912_408.75));
    }

    #[test]
    fn redis_urls_give_host_and_port() {
        assert_eq!(
            redis_host_port("redis://127.0.0.1:6379").unwrap(),
            ("127.0.0.1".into(), 6379)
        );
        assert_eq!(
            redis_host_port("redis://localhost/0").unwrap(),
            ("localhost".into(), 6379)
        );
        assert!(redis_host_port("http://x").is_err());
    }
}
