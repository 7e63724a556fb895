//! fleethost's live-position latency: the time from a fix's produce
//! timestamp to its driver's position update in Redis, at fixed offered
//! rates, while all five pipelines run.
//!
//! The benchmark produces fixes at the rate with `timestamp` = the wall clock
//! at produce time, and subscribes to live-location's change channels
//! (`{prefix}live:driver:*`): live-location publishes right after its Redis
//! write, in the same batch call, so the receive time is the update time
//! plus one Redis round trip. Every published position is one sample (a
//! driver's newest fix of a batch; older fixes of the same batch are
//! superseded and not published).
//!
//! Fixes go out at a trickle until every pipeline has joined its group and
//! committed, then at the rate; the measurement starts 3 s later, so it
//! shows the steady state at that rate, not the drain of a start-up backlog.
//! The four pipelines besides live-location run with `nice` =
//! `--latency-nice` (fleethost's `pipelines[].nice`), and the result says
//! how many fixes per second each pipeline committed meanwhile.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use fleethost_core::config::BatchConfig;
use futures::StreamExt;
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::Mutex;

use crate::committed::CommittedOffsets;
use crate::contenders::BenchContext;
use crate::contenders::fleethost_config::{ConfigInputs, PipelineKind, PluginBuild, Scenario, config_toml};
use crate::offered_load::{OfferedLoad, now_ms};

/// How the latency runs are set up: the `--latency-*` flags of
/// `fleethost-bench run`.
#[derive(Debug, Clone, clap::Args)]
pub struct LatencyOptions {
    /// The pipelines of the latency runs: `all5` (the figure),
    /// `live+db` or `live` (live-location alone); live-location must be one.
    #[arg(long = "latency-pipelines", default_value = "all5", value_parser = latency_scenario)]
    pub pipelines: Scenario,
    /// Offered rates of the latency runs, events/s, comma-separated.
    #[arg(long = "latency-rates", value_delimiter = ',', default_value = "5000,20000,50000")]
    pub rates: Vec<u64>,
    /// Seconds measured at each latency rate.
    #[arg(long = "latency-seconds", default_value_t = 20)]
    pub seconds: u64,
    /// `nice` of the pipelines besides live-location, which keeps 0
    /// (fleethost's `pipelines[].nice`; 0 = all on equal terms).
    #[arg(long = "latency-nice", default_value_t = 10)]
    pub others_nice: u8,
    /// live-location's `batch.max_wait_ms`: a batch leaves after at most this
    /// long, so a fix does not wait for 999 others at low rates.
    #[arg(long = "latency-batch-wait-ms", default_value_t = 10)]
    pub live_batch_wait_ms: u64,
    /// live-location's `fetch.wait.max.ms`: the broker answers a fetch after
    /// at most this long when it has less than `fetch.min.bytes`
    /// (librdkafka's default, 500, a broker may spend in full).
    #[arg(long = "latency-fetch-wait-ms", default_value_t = 10)]
    pub live_fetch_wait_ms: u64,
    /// `batch.max_wait_ms` of the other pipelines (default: the example
    /// config's 1000): shorter waits spread their work into smaller bursts.
    #[arg(long = "latency-others-batch-wait-ms")]
    pub others_batch_wait_ms: Option<u64>,
    /// `linger.ms` of the offered load's producer: how long it gathers fixes
    /// into one produce request. 5, as fleethost's gateway produces them: at
    /// 1 the broker spent more CPU on the requests and its own latency rose
    /// (docs/perf-log.md, "the offered load produced as the gateway does").
    #[arg(long = "latency-producer-linger-ms", default_value_t = 5)]
    pub producer_linger_ms: u64,
}

/// `--latency-pipelines`: the scenarios that include live-location.
pub fn latency_scenario(text: &str) -> Result<Scenario, String> {
    [Scenario::AllFive, Scenario::LiveAndHistory, Scenario::Live]
        .into_iter()
        .find(|scenario| scenario.name() == text)
        .ok_or_else(|| format!("{text:?}: expected all5, live+db or live"))
}

/// Fixes per second offered until every pipeline has joined its group and
/// committed: the group joins take seconds, and a backlog built meanwhile
/// would be measured as latency at the rate.
const WARM_UP_RATE: u64 = 200;

/// The latency figures at one offered rate.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyResult {
    /// The pipelines that ran (`all5`, `live`, `live+db`).
    pub pipelines: String,
    /// Fixes per second offered.
    pub offered_per_s: u64,
    /// `nice` of the pipelines besides live-location.
    pub others_nice: u8,
    /// Fixes per second the producer achieved.
    pub produced_per_s: f64,
    /// Published positions measured.
    pub samples: u64,
    /// Fixes per second each pipeline committed while measuring (by plugin
    /// name): live-location should keep up with the offered rate; the others
    /// may fall behind when the machine cannot run all five at that rate.
    pub committed_per_s: Vec<(String, f64)>,
    pub p50_ms: u64,
    pub p99_ms: u64,
    pub p999_ms: u64,
    pub max_ms: u64,
}

impl LatencyResult {
    /// The figures of one rate from its samples (`histogram`, ms); refused
    /// when nothing was measured.
    pub fn from_samples(
        pipelines: &str,
        offered_per_s: u64,
        others_nice: u8,
        produced_per_s: f64,
        committed_per_s: Vec<(String, f64)>,
        histogram: &Histogram<u64>,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !histogram.is_empty(),
            "nothing was received while measuring at {offered_per_s}/s ({pipelines})"
        );
        Ok(Self {
            pipelines: pipelines.to_string(),
            offered_per_s,
            others_nice,
            produced_per_s,
            samples: histogram.len(),
            committed_per_s,
            p50_ms: histogram.value_at_quantile(0.5),
            p99_ms: histogram.value_at_quantile(0.99),
            p999_ms: histogram.value_at_quantile(0.999),
            max_ms: histogram.max(),
        })
    }

    /// The progress line of this rate.
    pub fn summary(&self) -> String {
        let committed: Vec<String> = self
            .committed_per_s
            .iter()
            .map(|(pipeline, per_s)| format!("{pipeline} {per_s:.0}/s"))
            .collect();
        format!(
            "latency at {}/s ({}): p50 {} ms, p99 {} ms, p99.9 {} ms ({} samples); committed: {}",
            self.offered_per_s,
            self.pipelines,
            self.p50_ms,
            self.p99_ms,
            self.p999_ms,
            self.samples,
            committed.join(", ")
        )
    }
}

/// An empty histogram of latencies in ms: 1 ms to 10 minutes, 3 digits.
pub fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 600_000, 3)?)
}

/// Runs the chosen pipelines and measures at each rate.
pub async fn run(ctx: &BenchContext, options: &LatencyOptions) -> anyhow::Result<Vec<LatencyResult>> {
    anyhow::ensure!(
        options.pipelines.pipelines().contains(&PipelineKind::Live),
        "the latency runs need live-location among the pipelines"
    );
    let mut results = Vec::new();
    for &rate in &options.rates {
        let result = at_rate(ctx, options, rate)
            .await
            .with_context(|| format!("latency at {rate} events/s"))?;
        eprintln!("    {}", result.summary());
        results.push(result);
    }
    Ok(results)
}

async fn at_rate(ctx: &BenchContext, options: &LatencyOptions, rate: u64) -> anyhow::Result<LatencyResult> {
    let (scenario, seconds, nice) = (options.pipelines, options.seconds, options.others_nice);
    let contender = format!("latency-{}-{rate}", scenario.name());
    let names = ctx.names(&contender, 1);
    let fixes_topic = format!("fhb-{}-latency{rate}-fixes", ctx.run_id);
    let orders_topic = format!("fhb-{}-latency{rate}-orders", ctx.run_id);
    let kafka = fleethost_core::config::KafkaConfig::bootstrap_only(ctx.bootstrap.clone());
    fleethost_core::kafka::admin::ensure_topics(
        &kafka,
        &[fixes_topic.clone(), orders_topic.clone()],
        ctx.dataset.spec.partitions,
    )
    .await?;
    let admin = crate::free_local_address()?;
    let inputs = ConfigInputs {
        bootstrap: &ctx.bootstrap,
        redis_url: &ctx.redis_url,
        database_url: &ctx.database_url,
        fixes_topic: &fixes_topic,
        orders_topic: &orders_topic,
        admin,
        names: &names,
        build: PluginBuild::Wasm(&ctx.plugin_dir),
        live_batch: BatchConfig {
            max_events: 1000,
            max_wait_ms: options.live_batch_wait_ms,
        },
        live_consumer_properties: &[("fetch.wait.max.ms".to_string(), options.live_fetch_wait_ms.to_string())],
        others_nice: nice,
        others_batch_wait_ms: options.others_batch_wait_ms,
        consumer_properties: &ctx.consumer_properties,
    };
    let config_path = ctx.out_dir.join("configs").join(format!("{}.toml", names.stem));
    std::fs::write(&config_path, config_toml(scenario, &inputs))?;

    // Listen before anything is produced.
    let histogram = Arc::new(Mutex::new(new_histogram()?));
    let measuring = Arc::new(AtomicBool::new(false));
    let received = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut pubsub = ctx.redis.get_async_pubsub().await.context("subscribing to Redis")?;
    pubsub
        .psubscribe(format!("{}live:driver:*", names.key_prefix))
        .await
        .context("subscribing to the live channels")?;
    let listener = {
        let histogram = histogram.clone();
        let measuring = measuring.clone();
        let received = received.clone();
        tokio::spawn(async move {
            let mut messages = pubsub.into_on_message();
            while let Some(message) = messages.next().await {
                let now = now_ms();
                received.fetch_add(1, Ordering::Relaxed);
                if !measuring.load(Ordering::Relaxed) {
                    continue;
                }
                let Ok(payload) = message.get_payload::<String>() else {
                    continue;
                };
                let Some(ts) = serde_json::from_str::<serde_json::Value>(&payload)
                    .ok()
                    .and_then(|value| value["ts_ms"].as_i64())
                else {
                    continue;
                };
                let _ = histogram.lock().await.record((now - ts).max(1) as u64);
            }
        })
    };

    let log = ctx.log_path(&contender, 1);
    let mut child = Command::new(&ctx.fleethost_bin)
        .args(["run", "--config"])
        .arg(&config_path)
        .env("RUST_LOG", &ctx.fleethost_log)
        .env(
            crate::watched_process::ADMIN_TOKEN_VARIABLE,
            crate::watched_process::ADMIN_TOKEN,
        )
        .stdout(std::fs::File::create(&log)?)
        .stderr(std::fs::File::create(log.with_extension("err.log"))?)
        .spawn()
        .context("starting fleethost")?;

    // Each pipeline's committed offsets on the fixes topic, read from the broker.
    let progress: Vec<(String, CommittedOffsets)> = scenario
        .pipelines()
        .iter()
        .map(|&kind| {
            let ends = (0..ctx.dataset.spec.partitions)
                .map(|partition| ((fixes_topic.clone(), partition), 0))
                .collect();
            Ok((
                kind.plugin().0.to_string(),
                CommittedOffsets::new(&ctx.bootstrap, &names.group(kind), ends)?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let committed_now = || {
        tokio::task::block_in_place(|| {
            progress
                .iter()
                .map(|(_, offsets)| offsets.committed())
                .collect::<anyhow::Result<Vec<u64>>>()
        })
    };

    let mut load = OfferedLoad::new(
        &kafka,
        ctx.dataset.spec.drivers,
        &fixes_topic,
        Some(&orders_topic),
        options.producer_linger_ms,
    )?;
    let result = async {
        // Warm up at a trickle until every pipeline has joined its group and
        // committed (so that the measurement does not start with the backlog
        // of the group joins), then offer the rate: 3 s to settle, then measure.
        let started = Instant::now();
        let mut phase = (Instant::now(), 0u64, WARM_UP_RATE);
        let mut at_rate_since: Option<Instant> = None;
        let mut last_check = Instant::now();
        let mut measured_from: Option<(Instant, u64, Vec<u64>)> = None;
        let mut ticker = tokio::time::interval(Duration::from_millis(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        loop {
            ticker.tick().await;
            if child.try_wait()?.is_some() {
                anyhow::bail!("fleethost exited; see {}", log.display());
            }
            let (phase_start, produced_before, phase_rate) = phase;
            let due = produced_before + (phase_start.elapsed().as_secs_f64() * phase_rate as f64) as u64;
            load.produce_until(due);
            let produced = load.produced();
            if at_rate_since.is_none() && last_check.elapsed() >= Duration::from_millis(500) {
                last_check = Instant::now();
                if received.load(Ordering::Relaxed) > 0 && committed_now()?.iter().all(|committed| *committed > 0) {
                    at_rate_since = Some(Instant::now());
                    phase = (Instant::now(), produced, rate);
                }
            }
            if measured_from.is_none() && at_rate_since.is_some_and(|since| since.elapsed() >= Duration::from_secs(3)) {
                measuring.store(true, Ordering::Relaxed);
                measured_from = Some((Instant::now(), produced, committed_now()?));
            }
            if let Some((from, produced_then, committed_then)) = &measured_from
                && from.elapsed() >= Duration::from_secs(seconds)
            {
                measuring.store(false, Ordering::Relaxed);
                let window_s = from.elapsed().as_secs_f64();
                let produced_per_s = (produced - produced_then) as f64 / window_s;
                let committed_per_s = progress
                    .iter()
                    .zip(committed_now()?.iter().zip(committed_then))
                    .map(|((name, _), (now, then))| (name.clone(), now.saturating_sub(*then) as f64 / window_s))
                    .collect();
                return Ok((produced_per_s, committed_per_s));
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(seconds + 120),
                "within 120 s, not every pipeline committed, or no position came back from live-location; see {}",
                log.display()
            );
        }
    }
    .await;
    tokio::task::block_in_place(|| crate::watched_process::stop(&mut child));
    listener.abort();
    load.flush(Duration::from_secs(5));
    crate::contenders::sinks::delete_keys(&ctx.redis, &names.key_prefix).await?;
    let (produced_per_s, committed_per_s) = result?;
    let histogram = histogram.lock().await;
    LatencyResult::from_samples(scenario.name(), rate, nice, produced_per_s, committed_per_s, &histogram)
}
