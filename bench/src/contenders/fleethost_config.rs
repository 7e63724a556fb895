//! The fleethost configs the benchmark runs: the real binary with the real
//! plugins (or, for the native contender, the same plugins compiled into the
//! host), every pipeline in its own consumer group, keys, table and output
//! topics unique to the run.

use std::path::{Path, PathBuf};

use fleethost_core::config::{BatchConfig, Config, NATIVE_PREFIX, PipelineConfig, PluginConfig};

/// Which pipelines a fleethost contender runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// live-location alone.
    Live,
    /// db-writer alone.
    History,
    /// live-location and db-writer: the seed's architecture.
    LiveAndHistory,
    /// All five plugins, each in its own pipeline.
    AllFive,
    /// One of eta, fare and geofence alone (to see what each costs; not in
    /// the default set of contenders).
    Single(PipelineKind),
}

impl Scenario {
    /// Short name, part of the contender's name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Live => "live",
            Scenario::History => "db",
            Scenario::LiveAndHistory => "live+db",
            Scenario::AllFive => "all5",
            Scenario::Single(kind) => kind.plugin().0,
        }
    }

    /// The pipelines it runs.
    pub fn pipelines(self) -> &'static [PipelineKind] {
        use PipelineKind::*;
        match self {
            Scenario::Single(Eta) => &[Eta],
            Scenario::Single(Fare) => &[Fare],
            Scenario::Single(Geofence) => &[Geofence],
            Scenario::Single(Live) => &[Live],
            Scenario::Single(History) => &[History],
            Scenario::Live => &[Live],
            Scenario::History => &[History],
            Scenario::LiveAndHistory => &[Live, History],
            Scenario::AllFive => &[Live, History, Eta, Fare, Geofence],
        }
    }
}

/// One pipeline, named after its plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineKind {
    Live,
    History,
    Eta,
    Fare,
    Geofence,
}

impl PipelineKind {
    /// The plugin's name (as `native:<name>` too) and its `.wasm` file.
    pub fn plugin(self) -> (&'static str, &'static str) {
        match self {
            PipelineKind::Live => ("live-location", "live_location.wasm"),
            PipelineKind::History => ("db-writer", "db_writer.wasm"),
            PipelineKind::Eta => ("eta", "eta.wasm"),
            PipelineKind::Fare => ("fare", "fare.wasm"),
            PipelineKind::Geofence => ("geofence", "geofence.wasm"),
        }
    }

    /// Whether it also consumes the order events.
    pub fn reads_orders(self) -> bool {
        matches!(self, PipelineKind::Eta | PipelineKind::Fare | PipelineKind::Geofence)
    }
}

/// Names unique to one contender's run: groups, keys, table, output topics.
#[derive(Debug, Clone)]
pub struct RunNames {
    /// e.g. `fhb-1a2b-r1-fleethost-live`; groups are `{stem}-{plugin}`.
    pub stem: String,
    /// Redis key prefix, e.g. `fhb:1a2b:r1:fleethost-live:`.
    pub key_prefix: String,
    /// History table, e.g. `fhb_1a2b_r1_fleethost_live`.
    pub table: String,
    /// Prefix of the output topics, e.g. `fhb-1a2b-` (shared by the run).
    pub topic_prefix: String,
}

impl RunNames {
    /// The consumer group of one pipeline.
    pub fn group(&self, kind: PipelineKind) -> String {
        format!("{}-{}", self.stem, kind.plugin().0)
    }
}

/// How plugins are loaded.
#[derive(Debug, Clone, Copy)]
pub enum PluginBuild<'a> {
    /// The `.wasm` components in this folder.
    Wasm(&'a Path),
    /// Compiled into the host (`path = "native:<name>"`).
    Native,
}

/// Everything a config needs.
pub struct ConfigInputs<'a> {
    pub bootstrap: &'a str,
    pub redis_url: &'a str,
    pub database_url: &'a str,
    pub fixes_topic: &'a str,
    pub orders_topic: &'a str,
    pub admin: std::net::SocketAddr,
    pub names: &'a RunNames,
    pub build: PluginBuild<'a>,
    /// Batch settings of the live-location pipeline (the latency runs want a
    /// short wait); the others use the example config's.
    pub live_batch: BatchConfig,
    /// librdkafka properties of the live-location pipeline's consumer only
    /// (the latency runs fetch with a short `fetch.wait.max.ms`).
    pub live_consumer_properties: &'a [(String, String)],
    /// `nice` of every pipeline but live-location (the latency runs yield
    /// the cores to live positions: `--latency-nice`); 0 in the throughput runs.
    pub others_nice: u8,
    /// `batch.max_wait_ms` of every pipeline but live-location instead of the
    /// example config's 1000 (`--latency-others-batch-wait-ms`).
    pub others_batch_wait_ms: Option<u64>,
    /// librdkafka properties of every pipeline's consumer, after the
    /// benchmark's tuned ones (`--consumer-property`).
    pub consumer_properties: &'a [(String, String)],
}

/// The config of `scenario`, as a typed value.
pub fn config(scenario: Scenario, inputs: &ConfigInputs<'_>) -> Config {
    let names = inputs.names;
    let mut config = Config::new(inputs.bootstrap);
    config.kafka.consumer_properties = crate::raw_consume::TUNED_CONSUMER_PROPERTIES
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .chain(inputs.consumer_properties.iter().cloned())
        .collect();
    config.redis.url = inputs.redis_url.to_string();
    config.database.url = Some(inputs.database_url.to_string());
    config.admin.listen = Some(inputs.admin);
    config.admin.tokens = vec![fleethost_core::auth::SecretSource::Env(
        crate::watched_process::ADMIN_TOKEN_VARIABLE.to_string(),
    )];
    let others_wait_ms = inputs.others_batch_wait_ms.unwrap_or(1000);
    for &kind in scenario.pipelines() {
        let (plugin, _) = kind.plugin();
        let mut pipeline = PipelineConfig::new(plugin, names.group(kind), &[inputs.fixes_topic], &[plugin]);
        if kind.reads_orders() {
            pipeline.order_topics = vec![inputs.orders_topic.to_string()];
        }
        pipeline.commit_interval_ms = 200;
        pipeline.batch = match kind {
            PipelineKind::Live => inputs.live_batch.clone(),
            // The example config's history batches: fewer, larger INSERTs.
            PipelineKind::History => BatchConfig {
                max_events: 5000,
                max_wait_ms: others_wait_ms,
            },
            _ => BatchConfig {
                max_events: 1000,
                max_wait_ms: others_wait_ms,
            },
        };
        match kind {
            PipelineKind::Live => {
                pipeline.consumer_properties = inputs.live_consumer_properties.iter().cloned().collect()
            }
            _ => pipeline.nice = inputs.others_nice,
        }
        config.pipelines.push(pipeline);
        config.plugins.insert(plugin.to_string(), plugin_config(kind, inputs));
    }
    config
}

/// The plugin of one pipeline: its component (or its native build), its
/// config map and its grants under the run's names.
fn plugin_config(kind: PipelineKind, inputs: &ConfigInputs<'_>) -> PluginConfig {
    let (plugin, file) = kind.plugin();
    let mut config = PluginConfig::new(match inputs.build {
        PluginBuild::Wasm(dir) => dir.join(file),
        PluginBuild::Native => PathBuf::from(format!("{NATIVE_PREFIX}{plugin}")),
    });
    let names = inputs.names;
    let mut settings: Vec<(&str, String)> = match kind {
        PipelineKind::History => {
            config.grants.sql_write = vec![names.table.clone()];
            vec![("table", names.table.clone())]
        }
        _ => {
            config.grants.kv_write = vec![names.key_prefix.clone()];
            config.grants.publish_channels = vec![names.key_prefix.clone()];
            vec![("key_prefix", names.key_prefix.clone())]
        }
    };
    // The output topic: named in the plugin's config and granted.
    let output = match kind {
        PipelineKind::Eta => Some(("eta_topic", "eta-updates")),
        PipelineKind::Fare => Some(("fare_topic", "fare-updates")),
        PipelineKind::Geofence => Some(("notifications_topic", "delivery-notifications")),
        PipelineKind::Live | PipelineKind::History => None,
    };
    if let Some((key, topic)) = output {
        let topic = format!("{}{topic}", names.topic_prefix);
        config.grants.produce_topics = vec![topic.clone()];
        settings.push((key, topic));
    }
    match kind {
        PipelineKind::Fare => settings.push(("surge", "south=1.2".into())),
        PipelineKind::Geofence => settings.push((
            "fences",
            "hub-central:circle:12.9716,77.5946,800;market:polygon:12.955,77.565 12.955,77.585 12.94,77.585 12.94,77.565"
                .into(),
        )),
        _ => {}
    }
    config.config = settings
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect();
    config
}

/// The config of `scenario` as the TOML file the contender runs.
pub fn config_toml(scenario: Scenario, inputs: &ConfigInputs<'_>) -> String {
    toml::to_string(&config(scenario, inputs)).expect("a config serialises as TOML")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_is_a_valid_fleethost_config() {
        let names = RunNames {
            stem: "fhb-x-r1-fleethost-all5".into(),
            key_prefix: "fhb:x:r1:all5:".into(),
            table: "fhb_x_r1_all5".into(),
            topic_prefix: "fhb-x-".into(),
        };
        for scenario in [
            Scenario::Live,
            Scenario::History,
            Scenario::LiveAndHistory,
            Scenario::AllFive,
        ] {
            let inputs = ConfigInputs {
                bootstrap: "127.0.0.1:9092",
                redis_url: "redis://127.0.0.1:6379",
                database_url: "postgres://postgres@127.0.0.1/test",
                fixes_topic: "fixes",
                orders_topic: "orders",
                admin: "127.0.0.1:9464".parse().unwrap(),
                names: &names,
                build: PluginBuild::Wasm(Path::new("/plugins")),
                live_batch: BatchConfig {
                    max_events: 1000,
                    max_wait_ms: 1000,
                },
                live_consumer_properties: &[("fetch.wait.max.ms".into(), "10".into())],
                others_nice: 10,
                others_batch_wait_ms: Some(200),
                consumer_properties: &[("queued.max.messages.kbytes".into(), "16384".into())],
            };
            let text = config_toml(scenario, &inputs);
            let config = fleethost_core::config::Config::parse(&text, Path::new("/tmp/bench.toml"))
                .unwrap_or_else(|error| panic!("{scenario:?}: {error}\n{text}"));
            assert_eq!(config.pipelines.len(), scenario.pipelines().len());
            assert_eq!(config.kafka.consumer_properties["queued.max.messages.kbytes"], "16384");
            assert_eq!(config.kafka.consumer_properties["session.timeout.ms"], "6000");
            let live = config.pipelines.iter().find(|p| p.name == "live-location");
            if let Some(live) = live {
                assert_eq!(live.consumer_properties["fetch.wait.max.ms"], "10");
                assert_eq!(live.nice, 0, "live positions keep the host's priority");
            }
            for other in config.pipelines.iter().filter(|p| p.name != "live-location") {
                assert_eq!(other.nice, 10, "{} yields to live positions", other.name);
                assert_eq!(other.batch.max_wait_ms, 200, "{}", other.name);
            }
        }
    }
}
