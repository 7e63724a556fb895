//! The `bench-noop` plugin (it reads each fix and accepts every batch) on
//! its own, without a broker: the wasm-crossing benchmark
//! (`host/benches/wasm_crossing.rs`) and `tests/instance_endurance.rs` call
//! into one instance of it many times.

use std::path::{Path, PathBuf};

use fleethost::capabilities::Backends;
use fleethost::config::Config;
use fleethost::runtime::{LoadedPlugin, PluginInstance, PluginRuntime};

/// Where the built plugins are: `FLEETHOST_PLUGIN_DIR`, else the workspace's
/// `target/wasm32-wasip2/plugin`.
pub fn plugin_dir() -> PathBuf {
    std::env::var_os("FLEETHOST_PLUGIN_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/wasm32-wasip2/plugin")),
        PathBuf::from,
    )
}

/// A fresh instance of bench-noop in a pipeline named `pipeline`. Call it
/// inside a tokio runtime: instances hold capability handles of one, as in
/// the host (the plugin calls none of them).
pub fn noop_instance(pipeline: &str) -> PluginInstance {
    let path = plugin_dir().join("bench_noop.wasm");
    assert!(
        path.exists(),
        "{} is missing: build the plugins first (source scripts/lib.sh; build_plugins)",
        path.display()
    );
    let config_text = format!(
        "[kafka]\nbootstrap_servers = \"127.0.0.1:9\"\n\n\
         [[pipelines]]\nname = \"{pipeline}\"\ngroup_id = \"{pipeline}\"\ntopics = [\"fixes\"]\nplugins = [\"noop\"]\n\n\
         [plugins.noop]\npath = \"{}\"\n",
        path.display()
    );
    let config = Config::parse(&config_text, Path::new("noop.toml")).expect("bench-noop config");
    let backends = Backends::connect(&config, None).expect("backends");
    let runtime = PluginRuntime::new().expect("plugin runtime");
    let plugin = LoadedPlugin::load(&runtime, "noop", &config.plugins["noop"], backends).expect("bench-noop loads");
    plugin.instantiate(pipeline).expect("bench-noop instantiates")
}
