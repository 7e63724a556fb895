//! What one fix costs the same plugin in each guest language: the
//! speed-alert plugin that `fleethost new` writes, built in Rust, Python
//! and JavaScript, over one batch of 1,000 fixes (2% of them speeding:
//! one kv write and one send per batch), through the sandbox with
//! in-memory capabilities (`fleethost test`'s harness), so that what is
//! measured is the plugin and the crossing, not a backend.
//!
//! `scripts/bench-languages.sh` builds the three components and runs this;
//! it reads them from `FLEETHOST_BENCH_LANGUAGES_DIR` (`rust.wasm`,
//! `python.wasm`, `js.wasm`; a missing one is skipped, saying so). The
//! figures are in BENCHMARKS.md.

use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fleethost_core::config::PluginConfig;
use fleethost_core::harness::Harness;
use fleethost_core::runtime::{Batch, Determinism, Event, Inputs};

const FIXES: usize = 1_000;

/// 1,000 fixes of 100 drivers; every 50th is speeding.
fn batch() -> Batch {
    let events = (0..FIXES)
        .map(|index| Event {
            driver_id: format!("driver-{:06}", index % 100),
            latitude: 12.9 + index as f64 * 1e-5,
            longitude: 77.6 - index as f64 * 1e-5,
            timestamp_ms: 1_767_225_600_000 + index as i64 * 100,
            region: Some("south".into()),
            order_id: None,
            speed: Some(if index % 50 == 0 { 30.0 } else { 12.0 }),
            heading: Some(90.0),
            offset: index as i64,
        })
        .collect();
    Batch {
        pipeline: "bench".into(),
        topic: "rider-updates".into(),
        partition: 0,
        events,
        orders: Vec::new(),
    }
}

fn languages(criterion: &mut Criterion) {
    let Some(folder) = std::env::var_os("FLEETHOST_BENCH_LANGUAGES_DIR").map(PathBuf::from) else {
        eprintln!("FLEETHOST_BENCH_LANGUAGES_DIR is not set: run scripts/bench-languages.sh");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let _context = runtime.enter();
    let batch = batch();
    let mut group = criterion.benchmark_group("speed_alert_per_batch_of_1000");
    group.throughput(Throughput::Elements(FIXES as u64));
    for language in ["rust", "python", "js"] {
        let component = folder.join(format!("{language}.wasm"));
        if !component.is_file() {
            eprintln!("{}: not built; {language} skipped", component.display());
            continue;
        }
        let mut plugin = PluginConfig::new(&component);
        plugin.grants.kv_write = vec!["speeding:".into()];
        plugin.grants.produce_topics = vec!["speed-alerts".into()];
        let determinism = Determinism {
            now_ms: 1_767_225_700_000,
            seed: 0,
        };
        let mut harness =
            Harness::start("speed-alert", &plugin, Inputs::Fixed(determinism)).expect("the plugin starts");
        group.bench_function(language, |bencher| {
            bencher.iter(|| {
                let run = harness.run(&batch).expect("the batch runs");
                assert!(run.outcome.is_ok(), "{:?}", run.outcome);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, languages);
criterion_main!(benches);
