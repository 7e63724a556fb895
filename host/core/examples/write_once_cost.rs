//! Measures what applying increments and publications once costs a write:
//! the same batch of publications (one per driver that moved, as
//! live-location sends them) and one increment, written to Redis as plain
//! pipelined commands (no write scope) and as the guarded script call of a
//! plugin's write during a batch (`capabilities/kv/write_once.rs`), batch
//! after batch over one connection, as one pipeline does.
//!
//! ```sh
//! cargo run --release -p fleethost-core --example write_once_cost [REDIS_URL] [BATCHES] [PUBLICATIONS_PER_BATCH]
//! ```

use std::time::Instant;

use fleethost_core::bindings::kv::{IncrOp, PublishOp, WriteOp};
use fleethost_core::capabilities::kv::redis::RedisKv;
use fleethost_core::capabilities::kv::write_once::{WriteScope, batch_mark, guard_key};

fn batch_ops(prefix: &str, batch: usize, publications: usize) -> Vec<WriteOp> {
    let mut ops: Vec<WriteOp> = (0..publications)
        .map(|index| {
            WriteOp::Publish(PublishOp {
                channel: format!("{prefix}live:driver:driver-{index:06}"),
                message: format!(
                    r#"{{"driver_id":"driver-{index:06}","lat":12.97{index},"lng":77.59{batch},"ts_ms":{}}}"#,
                    1_764_000_000_000 + batch as i64
                ),
            })
        })
        .collect();
    ops.push(WriteOp::Incr(IncrOp {
        key: format!("{prefix}delivered"),
        by: publications as i64,
        ttl_ms: Some(60_000),
    }));
    ops
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "redis://127.0.0.1:6379".to_string());
    let batches: usize = args
        .next()
        .map_or(200, |text| text.parse().expect("BATCHES is a number"));
    let publications: usize = args
        .next()
        .map_or(1000, |text| text.parse().expect("PUBLICATIONS is a number"));
    let kv = RedisKv::connect_lazy(&url).expect("REDIS_URL");
    let prefix = format!("write-once-cost-{}:", std::process::id());
    let guard = guard_key("bench", "live", &format!("{prefix}topic"), 0);
    for guarded in [false, true] {
        let started = Instant::now();
        for batch in 0..batches {
            let ops = batch_ops(&prefix, batch, publications);
            let scope = WriteScope {
                guard_key: guard.clone(),
                batch: batch_mark(batch as i64 * 1000, batch as i64 * 1000 + 999, 1000),
                call: 1,
            };
            kv.write(&ops, guarded.then_some(&scope)).await.expect("write");
        }
        let per_batch_us = started.elapsed().as_secs_f64() * 1e6 / batches as f64;
        println!(
            "{}: {batches} batches of {publications} publications and one increment, {per_batch_us:.0} µs per batch, {:.2} µs per publication",
            if guarded {
                "applied once (script)"
            } else {
                "plain commands"
            },
            per_batch_us / publications as f64
        );
    }
    let mut connection = redis::Client::open(url.as_str())
        .expect("REDIS_URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connection");
    let _: () = redis::cmd("DEL")
        .arg(&guard)
        .arg(format!("{prefix}delivered"))
        .query_async(&mut connection)
        .await
        .expect("DEL");
}
