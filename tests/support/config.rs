//! The configs the tests run the host with, built as typed
//! `fleethost_core::config::Config` values and written with `toml`, so that
//! a test says which keys it sets in Rust and a renamed key is a compile
//! error rather than a config the host refuses at run time. Hand-written
//! TOML ([`write_config_text`]) is for the tests of the config file itself:
//! bad keys, bad values, syntax.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

// The config types, for the tests that set more keys than these helpers do.
pub use fleethost_core::config::{
    BatchConfig, Config, EventsConfig, FailurePolicy, Grants, OnExhausted, PipelineConfig, PluginConfig, PluginLimits,
};

use super::{bootstrap, plugin_path, redis_url, unique};

/// A test config: the test broker with a short session timeout (group
/// joins take about half of it), the capabilities' Redis at `redis`, a
/// progress line and lag sample every 500 ms; no pipelines or plugins yet.
pub fn test_config(redis: &str) -> Config {
    let mut config = Config::new(bootstrap());
    config.kafka.consumer_properties = properties(&[("session.timeout.ms", "6000"), ("heartbeat.interval.ms", "1000")]);
    config.redis.url = redis.to_string();
    config.status.interval_ms = 500;
    config.status.sample_interval_ms = 500;
    config
}

/// A pipeline of `plugins` over `topic` in the consumer group `group`,
/// committing every 500 ms.
pub fn test_pipeline(name: &str, group: &str, topic: &str, plugins: &[&str]) -> PipelineConfig {
    let mut pipeline = PipelineConfig::new(name, group, &[topic], plugins);
    pipeline.commit_interval_ms = 500;
    pipeline
}

/// The built component `file` (e.g. `"live_location"`) with the config map
/// `settings`, the default limits and no grants.
pub fn test_plugin(file: &str, settings: &[(&str, &str)]) -> PluginConfig {
    let mut plugin = PluginConfig::new(plugin_path(file));
    plugin.config = properties(settings);
    plugin
}

/// [`test_plugin`] granted to write (and read) the keys, and to publish on
/// the channels, under `prefix`.
pub fn test_plugin_writing(file: &str, settings: &[(&str, &str)], prefix: &str) -> PluginConfig {
    let mut plugin = test_plugin(file, settings);
    plugin.grants.kv_write = vec![prefix.to_string()];
    plugin.grants.publish_channels = vec![prefix.to_string()];
    plugin
}

/// A string map from pairs: a plugin's config, librdkafka properties.
pub fn properties(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// A fleethost config for one test: one pipeline over `topic` with the given
/// plugins (`live_location` and/or `test_recorder`), all keys under `prefix`.
pub fn write_config(name: &str, topic: &str, group: &str, prefix: &str, plugins: &[&str]) -> PathBuf {
    write_config_file(
        name,
        &one_pipeline_config(name, topic, group, prefix, plugins, &redis_url()),
    )
}

/// The config of [`write_config`] with the capabilities' Redis at `redis`,
/// for a test that sets more keys before writing it.
pub fn one_pipeline_config(
    name: &str,
    topic: &str,
    group: &str,
    prefix: &str,
    plugins: &[&str],
    redis: &str,
) -> Config {
    let mut config = test_config(redis);
    add_pipeline(&mut config, name, group, topic, plugins);
    add_plugins_under(&mut config, plugins, prefix);
    config
}

/// Adds a [`test_pipeline`] whose batches close at 500 events or 200 ms.
pub fn add_pipeline(config: &mut Config, name: &str, group: &str, topic: &str, plugins: &[&str]) {
    let mut pipeline = test_pipeline(name, group, topic, plugins);
    pipeline.batch.max_events = 500;
    pipeline.batch.max_wait_ms = 200;
    config.pipelines.push(pipeline);
}

/// Adds each of `plugins` (named as its built file, e.g. `live_location`)
/// with `key_prefix = prefix` and granted to write under `prefix`.
pub fn add_plugins_under(config: &mut Config, plugins: &[&str], prefix: &str) {
    for plugin in plugins {
        config.plugins.insert(
            plugin.to_string(),
            test_plugin_writing(plugin, &[("key_prefix", prefix)], prefix),
        );
    }
}

/// Adds the db_writer plugin as `db_writer`, writing the history into
/// `table` (and granted it).
pub fn add_history_writer(config: &mut Config, table: &str) {
    let mut history = test_plugin("db_writer", &[("table", table)]);
    history.grants.sql_write = vec![table.to_string()];
    config.plugins.insert("db_writer".into(), history);
}

/// Writes `config` as a test config file and returns its path.
pub fn write_config_file(name: &str, config: &Config) -> PathBuf {
    write_config_text(name, &config_toml(config))
}

/// `config` as the text of a config file: for a test that rewrites a
/// running host's file.
pub fn config_toml(config: &Config) -> String {
    toml::to_string(config).expect("a config serialises as TOML")
}

/// Writes the hand-written config `text` as a test config file and returns
/// its path.
pub fn write_config_text(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fleethost-tests");
    std::fs::create_dir_all(&dir).expect("config dir");
    let path = dir.join(format!("{}.toml", unique(name)));
    std::fs::write(&path, text).expect("write config");
    path
}
