//! The per-batch cost of crossing into wasm: one `process-batch` call of the
//! `bench-noop` plugin (which only reads each event) for batches of 1, 10,
//! 100 and 1000 location fixes. What is measured is the sandbox's own price:
//! setting the epoch deadline, copying the batch into the instance's memory
//! (canonical ABI), running the guest's loop, lifting the answer.
//!
//! Needs the plugins built (`source scripts/lib.sh; build_plugins`), or
//! `FLEETHOST_PLUGIN_DIR` pointing at them. `scripts/bench.sh` runs it and
//! puts its figures into the results table.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fleethost_core::runtime::{Batch, Event};

// The integration tests' helpers (the bench uses the standalone loader).
#[path = "../../../tests/support/mod.rs"]
mod support;

use support::standalone::noop_instance;

const BATCH_SIZES: [usize; 4] = [1, 10, 100, 1000];

fn batch(size: usize) -> Batch {
    Batch {
        pipeline: "bench".into(),
        topic: "fixes".into(),
        partition: 0,
        events: (0..size)
            .map(|i| Event {
                driver_id: format!("driver-{:05}", i % 10_000),
                latitude: 12.9716 + i as f64 * 1e-5,
                longitude: 77.5946 - i as f64 * 1e-5,
                timestamp_ms: 1_764_000_000_000 + i as i64,
                region: Some("south".into()),
                order_id: (i % 3 == 0).then(|| format!("order-{i}")),
                speed: Some(8.5),
                heading: Some(90.0),
                offset: i as i64,
            })
            .collect(),
        orders: Vec::new(),
    }
}

fn wasm_crossing(c: &mut Criterion) {
    // Instances hold capability handles that belong to a tokio runtime, as
    // in the host; the plugin calls none of them.
    let tokio = tokio::runtime::Runtime::new().expect("tokio runtime");
    let _inside_runtime = tokio.enter();
    let mut instance = noop_instance("bench");

    let mut group = c.benchmark_group("wasm_crossing");
    for size in BATCH_SIZES {
        let batch = batch(size);
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &batch, |b, batch| {
            b.iter(|| instance.process(batch).expect("bench-noop accepts every batch"));
        });
    }
    group.finish();
}

criterion_group!(benches, wasm_crossing);
criterion_main!(benches);
