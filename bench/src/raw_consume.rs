//! Contender 1, the raw consume limit: a librdkafka consumer that only counts
//! messages. Nothing that consumes from this broker on this machine can go
//! faster, so it is the ceiling for every other contender.
//!
//! It runs as its own process (`fleethost-bench raw-consume`), like every
//! contender, and reports its own timing and costs as one JSON line.

use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde::{Deserialize, Serialize};

use crate::process_stats;

/// The consumer settings the raw consumer and the fleethost configs of the
/// benchmark set: a short session timeout (the broker joins a group in
/// about half of it). The raw consumer also gets fleethost's own consumer
/// defaults ([`fleethost_core::kafka::client_config::CONSUMER_DEFAULTS`]: no
/// fetch-queue backoff, a bounded pre-fetch), so that it is the ceiling of
/// the same client settings.
pub const TUNED_CONSUMER_PROPERTIES: [(&str, &str); 1] = [("session.timeout.ms", "6000")];

/// A plain consumer of `group` with fleethost's consumer defaults and the
/// tuned settings, reading from the earliest offset, committing nothing:
/// the raw consumer's, and the broker latency floor's.
pub fn consumer_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false");
    for (key, value) in fleethost_core::kafka::client_config::CONSUMER_DEFAULTS
        .into_iter()
        .chain(TUNED_CONSUMER_PROPERTIES)
    {
        config.set(key, value);
    }
    config
}

/// What the raw consumer reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct RawConsumeReport {
    pub count: u64,
    pub seconds: f64,
    pub cpu_seconds: f64,
    pub peak_rss_bytes: u64,
}

/// Counts `expect` messages of `topic` as group `group`, then prints the report.
pub fn run(bootstrap: &str, topic: &str, group: &str, expect: u64) -> anyhow::Result<()> {
    let consumer: BaseConsumer = consumer_config(bootstrap, group)
        .create()
        .context("creating the consumer")?;
    consumer.subscribe(&[topic]).context("subscribing")?;
    let mut count = 0u64;
    let mut started: Option<(Instant, f64)> = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    while count < expect {
        anyhow::ensure!(Instant::now() < deadline, "only {count} of {expect} messages in 600 s");
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(_message)) => {
                if started.is_none() {
                    let cpu = process_stats::sample(std::process::id())
                        .unwrap_or_default()
                        .cpu_seconds;
                    started = Some((Instant::now(), cpu));
                }
                count += 1;
            }
            Some(Err(error)) => anyhow::bail!("consuming {topic}: {error}"),
            None => {}
        }
    }
    let (started, cpu_at_start) = started.unwrap_or((Instant::now(), 0.0));
    let seconds = started.elapsed().as_secs_f64();
    let sample = process_stats::sample(std::process::id()).unwrap_or_default();
    let report = RawConsumeReport {
        count,
        seconds,
        cpu_seconds: sample.cpu_seconds - cpu_at_start,
        peak_rss_bytes: sample.peak_rss_bytes,
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
