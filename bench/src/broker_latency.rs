//! The broker's own latency floor: a fix's produce time to the moment a
//! plain rdkafka consumer (fleethost's consumer settings and live-location's
//! `fetch.wait.max.ms`) receives it, at the same offered rates as the
//! fleethost latency runs. No consumer on this broker and machine can show
//! a lower figure; the latency counterpart of `raw-consume`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::contenders::BenchContext;
use crate::latency::{LatencyOptions, LatencyResult, new_histogram};
use crate::offered_load::{OfferedLoad, now_ms};

/// Name of the rows in the results.
pub const NAME: &str = "raw-consume";

/// Measures the floor at each of `options.rates` for `options.seconds`.
pub async fn run(ctx: &BenchContext, options: &LatencyOptions) -> anyhow::Result<Vec<LatencyResult>> {
    let mut results = Vec::new();
    for &rate in &options.rates {
        let result = at_rate(ctx, options, rate)
            .await
            .with_context(|| format!("the broker's latency at {rate} events/s"))?;
        eprintln!("    {}", result.summary());
        results.push(result);
    }
    Ok(results)
}

async fn at_rate(ctx: &BenchContext, options: &LatencyOptions, rate: u64) -> anyhow::Result<LatencyResult> {
    let topic = format!("fhb-{}-broker-latency{rate}", ctx.run_id);
    let kafka = fleethost_core::config::KafkaConfig::bootstrap_only(ctx.bootstrap.clone());
    let partitions = ctx.dataset.spec.partitions;
    fleethost_core::kafka::admin::ensure_topics(&kafka, std::slice::from_ref(&topic), partitions).await?;

    // Assigned, not subscribed: no group join, reading from the end at once.
    let consumer: BaseConsumer =
        crate::raw_consume::consumer_config(&ctx.bootstrap, &format!("fhb-{}-broker-latency", ctx.run_id))
            .set("fetch.wait.max.ms", options.live_fetch_wait_ms.to_string())
            .create()
            .context("creating the consumer")?;
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment.add_partition_offset(&topic, partition, Offset::End)?;
    }
    consumer.assign(&assignment).context("assigning the partitions")?;

    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (measuring, stop) = (measuring.clone(), stop.clone());
        std::thread::spawn(move || -> anyhow::Result<Histogram<u64>> {
            let mut histogram = new_histogram()?;
            while !stop.load(Ordering::Relaxed) {
                let Some(message) = consumer.poll(Duration::from_millis(100)) else {
                    continue;
                };
                let message = message.context("consuming")?;
                if let (true, Some(produced_ms)) = (measuring.load(Ordering::Relaxed), message.timestamp().to_millis())
                {
                    histogram.record((now_ms() - produced_ms).max(1) as u64)?;
                }
            }
            Ok(histogram)
        })
    };

    // The consumer's first fetches find the end; then the same pacing as the
    // fleethost runs: 3 s at the rate to settle, then measure.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut load = OfferedLoad::new(
        &kafka,
        ctx.dataset.spec.drivers,
        &topic,
        None,
        options.producer_linger_ms,
    )?;
    let started = Instant::now();
    let mut measured_from: Option<(Instant, u64)> = None;
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let produced_per_s = loop {
        ticker.tick().await;
        load.produce_until((started.elapsed().as_secs_f64() * rate as f64) as u64);
        if measured_from.is_none() && started.elapsed() >= Duration::from_secs(3) {
            measuring.store(true, Ordering::Relaxed);
            measured_from = Some((Instant::now(), load.produced()));
        }
        if let Some((from, produced_then)) = measured_from
            && from.elapsed() >= Duration::from_secs(options.seconds)
        {
            measuring.store(false, Ordering::Relaxed);
            break (load.produced() - produced_then) as f64 / from.elapsed().as_secs_f64();
        }
    };
    load.flush(Duration::from_secs(5));
    stop.store(true, Ordering::Relaxed);
    let histogram = tokio::task::spawn_blocking(move || reader.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the consumer thread panicked"))??;
    // Every message received while measuring is one sample.
    let received_per_s = histogram.len() as f64 / options.seconds as f64;
    LatencyResult::from_samples(
        NAME,
        rate,
        0,
        produced_per_s,
        vec![(NAME.to_string(), received_per_s)],
        &histogram,
    )
}
