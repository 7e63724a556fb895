//! What a real plugin's batch costs the host without a broker or a sink:
//! one `process-batch` call of live-location on 1,000 fixes from 1,000
//! drivers, each fix newer than the last (so every upsert applies and every
//! position is published), kv in the in-process store. The end-to-end
//! benchmark's rates move ±10% with the machine's other work, which hides a
//! change of a few percent inside a plugin (its formatting, its strings
//! across the boundary); this runs the plugin alone, and under `valgrind
//! --tool=callgrind` gives instructions per batch, which the machine's
//! other work does not move (docs/perf-log.md has the command).
//!
//! It also runs the same plugin compiled into the host
//! (`native:live-location`, this crate's registry), so the two figures give
//! the sandbox's price for one plugin, sinks aside. Needs the plugins built
//! (`source scripts/lib.sh; build_plugins`), or `FLEETHOST_PLUGIN_DIR`
//! pointing at them (which also compares two builds of a plugin).

use std::cell::Cell;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use fleethost_core::runtime::{Batch, Event, PluginInstance, PluginRuntime};
use support::standalone::LIVE_LOCATION_GRANTS;

// The integration tests' helpers (the bench uses the standalone loader).
#[path = "../../../tests/support/mod.rs"]
mod support;

const FIXES: usize = 1_000;

/// The `round`th batch: one fix per driver, a second later and a few metres
/// on from the previous round's; every third driver on an order.
fn batch(round: u64) -> Batch {
    let step = round as f64 * 1e-5;
    Batch {
        pipeline: "bench".into(),
        topic: "fixes".into(),
        partition: 0,
        events: (0..FIXES)
            .map(|i| Event {
                driver_id: format!("driver-{i:05}"),
                latitude: 12.9716 + i as f64 * 1e-4 + step,
                longitude: 77.5946 - i as f64 * 1e-4 + step,
                timestamp_ms: 1_764_000_000_000 + round as i64 * 1_000,
                region: Some("south".into()),
                order_id: (i % 3 == 0).then(|| format!("order-{i}")),
                speed: Some(8.5),
                heading: Some(90.0),
                offset: (round as usize * FIXES + i) as i64,
            })
            .collect(),
        orders: Vec::new(),
    }
}

/// Times `instance` on a new round's batch per iteration (building the batch
/// is not timed).
fn bench_instance(c: &mut Criterion, name: &str, mut instance: PluginInstance) {
    let round = Cell::new(0);
    let mut group = c.benchmark_group("plugin_batch");
    group.throughput(Throughput::Elements(FIXES as u64));
    group.bench_function(name, |b| {
        b.iter_batched_ref(
            || {
                round.set(round.get() + 1);
                batch(round.get())
            },
            |batch| instance.process(batch).expect("live-location accepts every fix"),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn plugin_batch(c: &mut Criterion) {
    // Instances hold capability handles that belong to a tokio runtime, as
    // in the host; the in-process kv store answers within the call.
    let tokio = tokio::runtime::Runtime::new().expect("tokio runtime");
    let _inside_runtime = tokio.enter();
    let wasm = support::standalone::standalone_instance("bench", "live_location", LIVE_LOCATION_GRANTS);
    bench_instance(c, "live-location/wasm", wasm);
    let runtime = PluginRuntime::new()
        .expect("plugin runtime")
        .with_native_plugins(Arc::new(fleethost_native::FivePlugins));
    let native = support::standalone::instance_in(
        &runtime,
        "bench",
        "native:live-location",
        "memory:",
        LIVE_LOCATION_GRANTS,
    );
    bench_instance(c, "live-location/native", native);
}

criterion_group!(benches, plugin_batch);
criterion_main!(benches);
