//! `fleethost-bench`: fleethost side by side with what a user would otherwise
//! pick, on the same pre-produced data, in one run.
//!
//! `scripts/bench.sh` is the way to run it: it builds everything, starts the
//! broker, and passes the paths. See BENCHMARKS.md for what each contender
//! is and the latest results.

mod broker_latency;
mod committed;
mod contenders;
mod criterion_estimates;
mod dataset;
mod environment;
mod latency;
mod measurement;
mod offered_load;
mod plugin_batch;
mod process_stats;
mod raw_consume;
mod report;
mod wasm_crossing;
mod watched_process;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use clap::{Parser, Subcommand};

use contenders::{BenchContext, Contender};
use dataset::DatasetSpec;
use measurement::Summary;
use report::Report;

#[derive(Parser)]
#[command(
    name = "fleethost-bench",
    about = "Benchmarks fleethost against the sinks' limits, a raw consumer, the seed pipeline and natively compiled plugins"
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Runs the benchmark and writes results.md and results.json.
    Run(Box<RunArgs>),
    /// Contender 1 (run by `run` as its own process): counts messages.
    RawConsume {
        #[arg(long)]
        bootstrap: String,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        group: String,
        #[arg(long)]
        expect: u64,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Kafka bootstrap servers.
    #[arg(long)]
    bootstrap: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    database: String,
    /// The fleethost binary to measure (a release build).
    #[arg(long)]
    fleethost_bin: PathBuf,
    /// fleethost-native (bench/native: the plugins compiled in); without it the
    /// native contenders are skipped.
    #[arg(long)]
    native_bin: Option<PathBuf>,
    /// Folder of the plugins' `.wasm` files.
    #[arg(long)]
    plugin_dir: PathBuf,
    /// The seed pipeline's folder (with node_modules installed).
    #[arg(long, default_value = "bench/seed-pipeline")]
    seed_dir: PathBuf,
    /// criterion's output folder, to include the wasm-crossing and
    /// plugin-batch figures.
    #[arg(long, default_value = "target/criterion")]
    criterion_dir: PathBuf,
    /// The broker's name and version, for the results.
    #[arg(long, default_value = "unknown")]
    broker_version: String,
    /// Location fixes in the data set.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    #[arg(long, default_value_t = 10_000)]
    drivers: usize,
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Rounds; contenders alternate within each round.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Contenders to run, comma-separated (default: all); names as in the results.
    #[arg(long, value_delimiter = ',')]
    contenders: Vec<String>,
    /// Skip the latency runs.
    #[arg(long)]
    no_latency: bool,
    /// How the latency runs are set up (`--latency-*`).
    #[command(flatten)]
    latency: latency::LatencyOptions,
    /// An extra librdkafka property for every fleethost consumer,
    /// `KEY=VALUE` (repeatable), after the benchmark's tuned ones.
    #[arg(long = "consumer-property", value_parser = key_value)]
    consumer_properties: Vec<(String, String)>,
    /// `RUST_LOG` of every fleethost contender, e.g.
    /// `info,librdkafka=debug` with `--consumer-property debug=fetch` to see
    /// the size of each fetch in its log.
    #[arg(long, default_value = "info")]
    fleethost_log: String,
    /// Where results, configs and logs go.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Commands::RawConsume {
            bootstrap,
            topic,
            group,
            expect,
        } => raw_consume::run(&bootstrap, &topic, &group, expect),
        Commands::Run(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(run(*args)),
    }
}

async fn run(mut args: RunArgs) -> anyhow::Result<()> {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    // Configs and children run from other folders: make every path absolute.
    for path in [
        &mut args.fleethost_bin,
        &mut args.plugin_dir,
        &mut args.seed_dir,
        &mut args.out,
    ] {
        *path = std::path::absolute(&*path).with_context(|| format!("the path {}", path.display()))?;
    }
    if let Some(native) = &mut args.native_bin {
        *native = std::path::absolute(&*native)?;
    }
    let started_unix_s = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH)?.as_secs();
    let run_id = format!("{:x}", started_unix_s % 0xff_ffff);
    let selected: Vec<Contender> = if args.contenders.is_empty() {
        Contender::all()
            .into_iter()
            .filter(|c| args.native_bin.is_some() || !matches!(c, Contender::Native(_)))
            .collect()
    } else {
        args.contenders
            .iter()
            .map(|name| {
                Contender::parse(name).with_context(|| {
                    let known: Vec<String> = Contender::all()
                        .into_iter()
                        .chain(Contender::on_request())
                        .map(Contender::name)
                        .collect();
                    format!("--contenders: unknown contender {name:?} (known: {})", known.join(", "))
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    for folder in ["logs", "configs"] {
        std::fs::create_dir_all(args.out.join(folder)).with_context(|| format!("creating {}", args.out.display()))?;
    }
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&args.database)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", args.database))?;
    let redis = redis::Client::open(args.redis.as_str()).with_context(|| format!("the Redis URL {}", args.redis))?;

    step(&format!(
        "producing {} fixes from {} drivers over {} partitions",
        args.events, args.drivers, args.partitions
    ));
    let spec = DatasetSpec {
        events: args.events,
        drivers: args.drivers,
        partitions: args.partitions,
        fixes_topic: format!("fhb-{run_id}-fixes"),
        orders_topic: format!("fhb-{run_id}-orders"),
    };
    let dataset = dataset::produce(&args.bootstrap, spec, &args.out).await?;
    step(&format!("produced them (and {} order events)", dataset.orders));

    let ctx = BenchContext {
        run_id,
        bootstrap: args.bootstrap.clone(),
        redis_url: args.redis.clone(),
        database_url: args.database.clone(),
        pool,
        redis,
        fleethost_bin: args.fleethost_bin.clone(),
        native_bin: args.native_bin.clone(),
        plugin_dir: args.plugin_dir.clone(),
        seed_dir: args.seed_dir.clone(),
        out_dir: args.out.clone(),
        consumer_properties: args.consumer_properties.clone(),
        fleethost_log: args.fleethost_log.clone(),
        dataset,
    };
    let mut measurements = Vec::new();
    let mut errors = Vec::new();
    for round in 1..=args.rounds {
        for contender in &selected {
            step(&format!("round {round}/{}: {}", args.rounds, contender.name()));
            match contender.run(&ctx, round).await {
                Ok(rows) => {
                    for row in rows {
                        eprintln!(
                            "    {}: {:.0} events/s in {:.2} s{}",
                            row.contender,
                            row.rate(),
                            row.seconds,
                            row.cpu_per_million()
                                .map_or(String::new(), |cpu| format!(", {cpu:.2} CPU s per 1M events"))
                        );
                        measurements.push(row);
                    }
                }
                Err(error) => {
                    eprintln!("    failed: {error:#}");
                    errors.push(format!("{error:#}"));
                }
            }
        }
    }
    let latency = if args.no_latency || args.latency.rates.is_empty() {
        Vec::new()
    } else {
        step(&format!(
            "latency at {:?} events/s, pipelines {}",
            args.latency.rates,
            args.latency.pipelines.name()
        ));
        let options = &args.latency;
        let mut results = Vec::new();
        // The broker's own floor first, then fleethost's pipelines.
        for run in [
            broker_latency::run(&ctx, options).await,
            latency::run(&ctx, options).await,
        ] {
            match run {
                Ok(rows) => results.extend(rows),
                Err(error) => {
                    eprintln!("    failed: {error:#}");
                    errors.push(format!("{error:#}"));
                }
            }
        }
        results
    };
    let mut names: Vec<String> = Vec::new();
    for m in &measurements {
        if !names.contains(&m.contender) {
            names.push(m.contender.clone());
        }
    }
    let report = Report {
        command,
        started_unix_s,
        environment: environment::Environment::read(&ctx.pool, &ctx.redis, &args.broker_version).await,
        events: ctx.dataset.spec.events,
        order_events: ctx.dataset.orders,
        drivers: ctx.dataset.spec.drivers,
        partitions: ctx.dataset.spec.partitions,
        rounds: args.rounds,
        summaries: names.iter().map(|name| Summary::of(name, &measurements)).collect(),
        measurements,
        latency,
        wasm_crossing: wasm_crossing::read(&args.criterion_dir),
        plugin_batch: plugin_batch::read(&args.criterion_dir),
        errors,
    };
    report.write(&args.out)?;
    drop_tables(&ctx).await;
    println!("{}", report.markdown());
    step(&format!(
        "results in {} and {}",
        args.out.join("results.md").display(),
        args.out.join("results.json").display()
    ));
    anyhow::ensure!(
        report.errors.is_empty(),
        "{} contender run(s) failed",
        report.errors.len()
    );
    Ok(())
}

/// Drops the history tables this run created (they hold millions of rows).
async fn drop_tables(ctx: &BenchContext) {
    let pattern = format!("fhb_{}_%", ctx.run_id);
    let tables: Vec<String> = sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE tablename LIKE $1")
        .bind(&pattern)
        .fetch_all(&ctx.pool)
        .await
        .unwrap_or_default();
    for table in tables {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
            .execute(&ctx.pool)
            .await;
    }
}

fn key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
        .ok_or_else(|| format!("{text:?}: expected KEY=VALUE"))
}

fn step(message: &str) {
    eprintln!("==> {message}");
}

/// A free 127.0.0.1 port for a child's admin endpoint.
pub fn free_local_address() -> anyhow::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contenders::fleethost_config::Scenario;
    use crate::latency::latency_scenario;

    #[test]
    fn latency_pipelines_name_a_scenario_with_live_location() {
        assert_eq!(latency_scenario("all5").map(Scenario::name), Ok("all5"));
        assert_eq!(latency_scenario("live").map(Scenario::name), Ok("live"));
        assert_eq!(latency_scenario("live+db").map(Scenario::name), Ok("live+db"));
        let error = latency_scenario("db").unwrap_err();
        assert!(
            error.contains("\"db\"") && error.contains("all5, live+db or live"),
            "{error}"
        );
    }

    #[test]
    fn latency_options_default_to_the_documented_run() {
        let cli = Cli::parse_from([
            "fleethost-bench",
            "run",
            "--bootstrap",
            "b",
            "--fleethost-bin",
            "f",
            "--plugin-dir",
            "p",
        ]);
        let Commands::Run(args) = cli.command else {
            panic!("run");
        };
        let latency = args.latency;
        assert_eq!(latency.pipelines.name(), "all5");
        assert_eq!(latency.rates, vec![5000, 20000, 50000]);
        assert_eq!(
            (
                latency.others_nice,
                latency.live_batch_wait_ms,
                latency.live_fetch_wait_ms
            ),
            (10, 10, 10)
        );
        assert_eq!(latency.others_batch_wait_ms, None, "the example config's waits");
        assert_eq!(
            latency.producer_linger_ms, 5,
            "fleethost's producer and gateway default"
        );
    }
}
