//! Contender 2: the seed pipeline, as users of the seed architecture run it
//! today (Node.js, kafkajs `eachMessage`, a 1000-row / 1 s buffer flushed as
//! one multi-row INSERT through `pg`, a Redis SET per fix). Its code is in
//! `bench/seed-pipeline/`.

use std::process::Command;
use std::time::Duration;

use super::BenchContext;
use super::sinks::{create_history_table, delete_keys};
use crate::committed::CommittedOffsets;
use crate::measurement::Measurement;
use crate::watched_process::{self, FirstEvent, RowsExpected, Watch};

/// Runs the seed pipeline over the fixes until its group committed them all
/// and every row is in its table.
pub async fn run(ctx: &BenchContext, round: u32) -> anyhow::Result<Measurement> {
    let contender = "seed-node";
    let names = ctx.names(contender, round);
    create_history_table(&ctx.pool, &names.table).await?;
    let topic = &ctx.dataset.spec.fixes_topic;
    let ends = ctx.dataset.end_offsets_of(&[topic]);
    let mut command = Command::new("node");
    command
        .arg(ctx.seed_dir.join("seed-pipeline.js"))
        .env("KAFKA_BROKERS", &ctx.bootstrap)
        .env("KAFKA_TOPIC", topic)
        .env("KAFKA_GROUP", &names.stem)
        .env("DATABASE_URL", &ctx.database_url)
        .env("TABLE", &names.table)
        .env("REDIS_URL", &ctx.redis_url)
        .env("REDIS_PREFIX", &names.key_prefix);
    let measurement = watched_process::measure(
        command,
        &ctx.log_path(contender, round),
        Watch {
            contender: contender.to_string(),
            round,
            first_event: FirstEvent::StdoutLine,
            groups: vec![CommittedOffsets::new(&ctx.bootstrap, &names.stem, ends)?],
            events: ctx.dataset.spec.events,
            rows: Some(RowsExpected {
                pool: &ctx.pool,
                table: names.table.clone(),
                rows: ctx.dataset.spec.events,
            }),
            stall_timeout: Duration::from_secs(60),
        },
    )
    .await?;
    delete_keys(&ctx.redis, &names.key_prefix).await?;
    Ok(measurement)
}
