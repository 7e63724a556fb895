//! Contenders 3 and 4: the fleethost binary running one scenario's pipelines
//! over the pre-produced data, with the wasm plugins or the same plugins
//! compiled in.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use fleethost_core::config::BatchConfig;

use super::BenchContext;
use super::fleethost_config::{ConfigInputs, PluginBuild, Scenario, config_toml};
use crate::committed::CommittedOffsets;
use crate::measurement::Measurement;
use crate::watched_process::{self, FirstEvent, RowsExpected, Watch};

/// live-location's batches in the throughput runs: the example config's.
pub const THROUGHPUT_LIVE_BATCH: BatchConfig = BatchConfig {
    max_events: 1000,
    max_wait_ms: 1000,
};

/// Runs `scenario` with `binary` until every pipeline committed the data set.
pub async fn run(
    ctx: &BenchContext,
    round: u32,
    contender: &str,
    scenario: Scenario,
    binary: &Path,
    native: bool,
) -> anyhow::Result<Measurement> {
    let names = ctx.names(contender, round);
    let admin = crate::free_local_address()?;
    let inputs = ConfigInputs {
        bootstrap: &ctx.bootstrap,
        redis_url: &ctx.redis_url,
        database_url: &ctx.database_url,
        fixes_topic: &ctx.dataset.spec.fixes_topic,
        orders_topic: &ctx.dataset.spec.orders_topic,
        admin,
        names: &names,
        build: if native {
            PluginBuild::Native
        } else {
            PluginBuild::Wasm(&ctx.plugin_dir)
        },
        live_batch: THROUGHPUT_LIVE_BATCH,
        live_consumer_properties: &[],
        others_nice: 0,
        others_batch_wait_ms: None,
        consumer_properties: &ctx.consumer_properties,
    };
    let config_path = ctx.out_dir.join("configs").join(format!("{}.toml", names.stem));
    std::fs::write(&config_path, config_toml(scenario, &inputs))
        .with_context(|| format!("writing {}", config_path.display()))?;

    let mut groups = Vec::new();
    for &kind in scenario.pipelines() {
        let spec = &ctx.dataset.spec;
        let ends = if kind.reads_orders() {
            ctx.dataset.end_offsets_of(&[&spec.fixes_topic, &spec.orders_topic])
        } else {
            ctx.dataset.end_offsets_of(&[&spec.fixes_topic])
        };
        groups.push(CommittedOffsets::new(&ctx.bootstrap, &names.group(kind), ends)?);
    }
    let writes_history = scenario
        .pipelines()
        .contains(&super::fleethost_config::PipelineKind::History);
    let mut command = Command::new(binary);
    command
        .args(["run", "--config"])
        .arg(&config_path)
        .env("RUST_LOG", &ctx.fleethost_log)
        .env(watched_process::ADMIN_TOKEN_VARIABLE, watched_process::ADMIN_TOKEN);
    let measurement = watched_process::measure(
        command,
        &ctx.log_path(contender, round),
        Watch {
            contender: contender.to_string(),
            round,
            first_event: FirstEvent::AdminMetrics(admin),
            groups,
            events: ctx.dataset.spec.events,
            rows: writes_history.then(|| RowsExpected {
                pool: &ctx.pool,
                table: names.table.clone(),
                rows: ctx.dataset.spec.events,
            }),
            stall_timeout: Duration::from_secs(60),
        },
    )
    .await?;
    if scenario
        .pipelines()
        .contains(&super::fleethost_config::PipelineKind::Live)
    {
        check_live_positions(ctx, &names.key_prefix).await?;
    }
    super::sinks::delete_keys(&ctx.redis, &names.key_prefix).await?;
    Ok(measurement)
}

/// Every driver has a live position (the GEO set holds them all).
async fn check_live_positions(ctx: &BenchContext, key_prefix: &str) -> anyhow::Result<()> {
    let mut connection = ctx.redis.get_multiplexed_async_connection().await?;
    let drivers: u64 = redis::cmd("ZCARD")
        .arg(format!("{key_prefix}drivers:geo"))
        .query_async(&mut connection)
        .await?;
    let expected = ctx.dataset.spec.drivers.min(ctx.dataset.spec.events as usize) as u64;
    anyhow::ensure!(
        drivers == expected,
        "live-location left {drivers} drivers in {key_prefix}drivers:geo, expected {expected}"
    );
    Ok(())
}
