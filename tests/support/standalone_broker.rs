//! One built plugin instantiated on its own, as in [`super::standalone`], but
//! with the real broker behind `produce` and a real Redis behind `kv`: for
//! tests that drive a plugin which publishes (eta) directly through the
//! runtime, without a consumer group in between (`tests/eta_concurrency.rs`).

use std::path::Path;

use fleethost_core::capabilities::Backends;
use fleethost_core::config::Config;
use fleethost_core::kafka::producer::Producer;
use fleethost_core::runtime::{LoadedPlugin, PluginInstance, PluginRuntime};

use super::bootstrap;

/// A fresh instance of the plugin at `path` in a pipeline named `pipeline`,
/// kv at `redis_url`, `produce` through a producer of the test broker
/// ([`bootstrap`]); `plugin_toml` is added to its `[plugins.standalone]`
/// table (its `config` and `grants`). Call it inside a tokio runtime, like
/// [`super::standalone::instance_with_redis`].
pub fn instance_with_broker(pipeline: &str, path: &str, redis_url: &str, plugin_toml: &str) -> PluginInstance {
    let config_text = format!(
        "[kafka]\nbootstrap_servers = \"{}\"\n\n[redis]\nurl = \"{redis_url}\"\n\n\
         [[pipelines]]\nname = \"{pipeline}\"\ngroup_id = \"{pipeline}\"\ntopics = [\"fixes\"]\nplugins = [\"standalone\"]\n\n\
         [plugins.standalone]\npath = \"{path}\"\n{plugin_toml}",
        bootstrap()
    );
    let config = Config::parse(&config_text, Path::new("standalone.toml")).expect("standalone plugin config");
    let producer = Producer::new(&config.kafka).expect("producer of the test broker");
    let backends = Backends::connect(&config, Some(producer)).expect("backends");
    let runtime = PluginRuntime::new().expect("plugin runtime");
    let plugin = LoadedPlugin::load(&runtime, "standalone", &config.plugins["standalone"], backends)
        .unwrap_or_else(|error| panic!("{path} loads: {error:?}"));
    plugin
        .instantiate(pipeline)
        .unwrap_or_else(|error| panic!("{path} instantiates: {error:?}"))
}
