//! The contenders, each run the same way on the same data: a fresh consumer
//! group (and keys and table) per contender and round.

pub mod fleethost_config;
pub mod fleethost_run;
pub mod seed_pipeline;
pub mod sinks;

use std::path::PathBuf;

use anyhow::Context;
use fleethost_config::{RunNames, Scenario};

use crate::dataset::Dataset;
use crate::measurement::Measurement;

/// What every contender run needs.
pub struct BenchContext {
    /// Short id of this benchmark run, in every name it creates.
    pub run_id: String,
    pub bootstrap: String,
    pub redis_url: String,
    pub database_url: String,
    pub pool: sqlx::PgPool,
    pub redis: redis::Client,
    /// The fleethost binary (release build).
    pub fleethost_bin: PathBuf,
    /// fleethost-native (bench/native: the plugins compiled into the host), for the native contender.
    pub native_bin: Option<PathBuf>,
    /// The plugins' `.wasm` files.
    pub plugin_dir: PathBuf,
    /// The seed pipeline's folder (`bench/seed-pipeline`, with `node_modules`).
    pub seed_dir: PathBuf,
    /// Where configs, logs and results go.
    pub out_dir: PathBuf,
    /// Extra librdkafka properties for every fleethost pipeline's consumer.
    pub consumer_properties: Vec<(String, String)>,
    /// `RUST_LOG` of the fleethost contenders (`info` unless asked).
    pub fleethost_log: String,
    pub dataset: Dataset,
}

impl BenchContext {
    /// Names unique to one contender's round.
    pub fn names(&self, contender: &str, round: u32) -> RunNames {
        let slug: String = contender
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        RunNames {
            stem: format!("fhb-{}-r{round}-{slug}", self.run_id),
            key_prefix: format!("fhb:{}:r{round}:{slug}:", self.run_id),
            table: format!("fhb_{}_r{round}_{slug}", self.run_id),
            topic_prefix: format!("fhb-{}-", self.run_id),
        }
    }

    /// A log file for one contender's round.
    pub fn log_path(&self, contender: &str, round: u32) -> PathBuf {
        let slug: String = contender
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
            .collect();
        self.out_dir.join("logs").join(format!("{slug}-r{round}.log"))
    }
}

/// One contender of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contender {
    /// 0: `psql \copy` of the history rows into the history table shape.
    PostgresCopy,
    /// 0: `redis-benchmark`, pipelined HSET and GEOADD.
    RedisBenchmark,
    /// 1: a consumer that only counts.
    RawConsume,
    /// 2: the seed pipeline, Node.js with kafkajs, pg and redis.
    SeedPipeline,
    /// 3: the fleethost binary with the wasm plugins.
    Fleethost(Scenario),
    /// 4: the same plugins compiled into the host.
    Native(Scenario),
}

impl Contender {
    /// Every contender, in the order a round runs them.
    pub fn all() -> Vec<Contender> {
        use Scenario::*;
        vec![
            Contender::PostgresCopy,
            Contender::RedisBenchmark,
            Contender::RawConsume,
            Contender::SeedPipeline,
            Contender::Fleethost(Live),
            Contender::Native(Live),
            Contender::Fleethost(History),
            Contender::Native(History),
            Contender::Fleethost(LiveAndHistory),
            Contender::Native(LiveAndHistory),
            Contender::Fleethost(AllFive),
            Contender::Native(AllFive),
        ]
    }

    /// Its name in the results (redis-benchmark reports two commands more).
    pub fn name(self) -> String {
        match self {
            Contender::PostgresCopy => "postgres-copy".into(),
            Contender::RedisBenchmark => "redis-benchmark".into(),
            Contender::RawConsume => "raw-consume".into(),
            Contender::SeedPipeline => "seed-node".into(),
            Contender::Fleethost(scenario) => format!("fleethost-{}", scenario.name()),
            Contender::Native(scenario) => format!("native-{}", scenario.name()),
        }
    }

    /// Contenders run only when named: eta, fare and geofence alone.
    pub fn on_request() -> Vec<Contender> {
        use fleethost_config::PipelineKind::*;
        [Eta, Fare, Geofence]
            .into_iter()
            .flat_map(|kind| {
                [
                    Contender::Fleethost(Scenario::Single(kind)),
                    Contender::Native(Scenario::Single(kind)),
                ]
            })
            .collect()
    }

    /// Parses a name given on the command line.
    pub fn parse(name: &str) -> Option<Contender> {
        Contender::all()
            .into_iter()
            .chain(Contender::on_request())
            .find(|c| c.name() == name)
    }

    /// Runs one round of it; the sinks' contender may return several rows.
    pub async fn run(self, ctx: &BenchContext, round: u32) -> anyhow::Result<Vec<Measurement>> {
        let name = self.name();
        let result = match self {
            Contender::PostgresCopy => sinks::postgres_copy(ctx, round).await.map(|m| vec![m]),
            Contender::RedisBenchmark => sinks::redis_benchmark(ctx, round).await,
            Contender::RawConsume => raw_consume(ctx, round).await.map(|m| vec![m]),
            Contender::SeedPipeline => seed_pipeline::run(ctx, round).await.map(|m| vec![m]),
            Contender::Fleethost(scenario) => {
                fleethost_run::run(ctx, round, &name, scenario, &ctx.fleethost_bin, false)
                    .await
                    .map(|m| vec![m])
            }
            Contender::Native(scenario) => {
                let binary = ctx.native_bin.as_ref().context(
                    "the native contender needs --native-bin (target/release/fleethost-native, built by bench/native)",
                )?;
                fleethost_run::run(ctx, round, &name, scenario, binary, true)
                    .await
                    .map(|m| vec![m])
            }
        };
        result.with_context(|| format!("contender {name}, round {round}"))
    }
}

/// Runs `fleethost-bench raw-consume` (this very binary) as its own process.
async fn raw_consume(ctx: &BenchContext, round: u32) -> anyhow::Result<Measurement> {
    let names = ctx.names("raw-consume", round);
    let topic = &ctx.dataset.spec.fixes_topic;
    let expect = ctx.dataset.spec.events;
    let log = ctx.log_path("raw-consume", round);
    let output = tokio::process::Command::new(std::env::current_exe()?)
        .args([
            "raw-consume",
            "--bootstrap",
            &ctx.bootstrap,
            "--topic",
            topic,
            "--group",
            &names.stem,
        ])
        .args(["--expect", &expect.to_string()])
        .stderr(std::fs::File::create(&log)?)
        .output()
        .await
        .context("running raw-consume")?;
    anyhow::ensure!(
        output.status.success(),
        "raw-consume failed ({}); see {}",
        output.status,
        log.display()
    );
    let report: crate::raw_consume::RawConsumeReport =
        serde_json::from_slice(&output.stdout).context("reading raw-consume's report")?;
    anyhow::ensure!(
        report.count == expect,
        "raw-consume counted {} of {expect}",
        report.count
    );
    Ok(Measurement {
        contender: "raw-consume".into(),
        round,
        events: report.count,
        seconds: report.seconds,
        cpu_seconds: Some(report.cpu_seconds),
        peak_rss_bytes: Some(report.peak_rss_bytes),
        busy_cores: f64::NAN,
        services: None,
    })
}
