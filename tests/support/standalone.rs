//! One built plugin instantiated on its own, without a broker, with the
//! in-process kv store (or a given Redis): the wasm-crossing benchmark
//! (`host/core/benches/wasm_crossing.rs`), the plugin-batch benchmark
//! (`bench/native/benches/plugin_batch.rs`) and `tests/instance_endurance.rs` call
//! into one instance many times; `tests/redis_stall.rs` stalls its Redis.

use std::path::Path;

use fleethost_core::capabilities::Backends;
use fleethost_core::config::Config;
use fleethost_core::runtime::{LoadedPlugin, PluginInstance, PluginRuntime};

use super::plugin_path;

/// live-location's grants as the example config gives them, for
/// `plugin_toml`.
pub const LIVE_LOCATION_GRANTS: &str =
    "grants = { kv_write = [\"driver:\", \"drivers:geo\"], publish_channels = [\"live:driver:\", \"live:order:\"] }\n";

/// A fresh instance of bench-noop (it reads each fix and accepts every
/// batch) in a pipeline named `pipeline`.
pub fn noop_instance(pipeline: &str) -> PluginInstance {
    standalone_instance(pipeline, "bench_noop", "")
}

/// A fresh instance of the plugin built as `name` (see [`plugin_path`]) in a
/// pipeline named `pipeline`; `plugin_toml` is added to its
/// `[plugins.standalone]` table (its `config` and `grants`). kv is the
/// in-process store. Call it inside a tokio runtime: instances hold
/// capability handles of one, as in the host.
pub fn standalone_instance(pipeline: &str, name: &str, plugin_toml: &str) -> PluginInstance {
    instance_at(pipeline, &plugin_path(name).display().to_string(), plugin_toml)
}

/// As [`standalone_instance`], for the plugin at the config `path` given as
/// is (a `.wasm` file).
pub fn instance_at(pipeline: &str, path: &str, plugin_toml: &str) -> PluginInstance {
    instance_with_redis(pipeline, path, "memory:", plugin_toml)
}

/// As [`instance_at`], with kv at `redis_url` (a Redis server, or
/// `memory:`).
pub fn instance_with_redis(pipeline: &str, path: &str, redis_url: &str, plugin_toml: &str) -> PluginInstance {
    let runtime = PluginRuntime::new().expect("plugin runtime");
    instance_in(&runtime, pipeline, path, redis_url, plugin_toml)
}

/// As [`instance_with_redis`], loaded by `runtime` (one given native plugins
/// runs `native:<name>` paths).
pub fn instance_in(
    runtime: &PluginRuntime,
    pipeline: &str,
    path: &str,
    redis_url: &str,
    plugin_toml: &str,
) -> PluginInstance {
    let config_text = format!(
        "[kafka]\nbootstrap_servers = \"127.0.0.1:9\"\n\n[redis]\nurl = \"{redis_url}\"\n\n\
         [[pipelines]]\nname = \"{pipeline}\"\ngroup_id = \"{pipeline}\"\ntopics = [\"fixes\"]\nplugins = [\"standalone\"]\n\n\
         [plugins.standalone]\npath = \"{path}\"\n{plugin_toml}"
    );
    let config = Config::parse(&config_text, Path::new("standalone.toml")).expect("standalone plugin config");
    let backends = Backends::connect(&config, None).expect("backends");
    let plugin = LoadedPlugin::load(runtime, "standalone", &config.plugins["standalone"], backends)
        .unwrap_or_else(|error| panic!("{path} loads: {error:?}"));
    plugin
        .instantiate(pipeline)
        .unwrap_or_else(|error| panic!("{path} instantiates: {error:?}"))
}
