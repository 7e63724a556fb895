//! One plugin instance serves every batch of its partition for as long as
//! the partition stays assigned: hundreds of thousands of calls. This proves
//! that a plugin's heap survives that many batches copied in and freed: a
//! mismatch between the buffers the host lowers into a plugin and the way
//! the bindings free them corrupts the heap, and may show only after many
//! calls (a custom guest allocator did: README, "Writing a plugin"; this
//! test fails with it at the first batch).

use std::path::PathBuf;

use fleethost::capabilities::Backends;
use fleethost::config::Config;
use fleethost::runtime::{Batch, Event, LoadedPlugin, PluginRuntime};

/// Batches sent to one instance.
const BATCHES: usize = 100_000;

fn plugin_dir() -> PathBuf {
    std::env::var_os("FLEETHOST_PLUGIN_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/wasm32-wasip2/plugin")),
        PathBuf::from,
    )
}

/// A batch of `size` fixes whose strings vary in length from batch to batch,
/// so that freed blocks are reused for allocations of other sizes.
fn batch(number: usize, size: usize) -> Batch {
    Batch {
        pipeline: "endurance".into(),
        topic: "fixes".repeat(1 + number % 3),
        partition: 0,
        events: (0..size)
            .map(|index| Event {
                driver_id: format!("driver-{}", number * size + index),
                latitude: 12.9,
                longitude: 77.6,
                timestamp_ms: 1_700_000_000_000 + index as i64,
                region: (index % 2 == 0).then(|| "south".repeat(1 + number % 4)),
                order_id: (index % 3 == 0).then(|| format!("order-{number}")),
                speed: Some(8.5),
                heading: None,
                offset: (number * size + index) as i64,
            })
            .collect(),
        orders: Vec::new(),
    }
}

#[test]
fn one_instance_processes_a_hundred_thousand_batches() {
    let path = plugin_dir().join("bench_noop.wasm");
    assert!(path.exists(), "{} is missing: build the plugins first", path.display());
    let config_text = format!(
        "[kafka]\nbootstrap_servers = \"127.0.0.1:9\"\n\n\
         [[pipelines]]\nname = \"endurance\"\ngroup_id = \"endurance\"\ntopics = [\"fixes\"]\nplugins = [\"noop\"]\n\n\
         [plugins.noop]\npath = \"{}\"\n",
        path.display()
    );
    let config = Config::parse(&config_text, std::path::Path::new("endurance.toml")).expect("config");
    let tokio = tokio::runtime::Runtime::new().expect("tokio runtime");
    let _inside_runtime = tokio.enter();
    let backends = Backends::connect(&config, None).expect("backends");
    let runtime = PluginRuntime::new().expect("plugin runtime");
    let plugin = LoadedPlugin::load(&runtime, "noop", &config.plugins["noop"], backends).expect("bench-noop loads");
    let mut instance = plugin.instantiate("endurance").expect("bench-noop instantiates");
    for number in 0..BATCHES {
        let batch = batch(number, 1 + number % 12);
        if let Err(error) = instance.process(&batch) {
            panic!("batch {number} of {BATCHES} failed: {error:?}");
        }
    }
}
