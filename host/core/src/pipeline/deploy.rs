//! Starting pipelines: those of the config at start, and those added to the
//! config file of a running host ("hot deploy": how a plugin author puts a
//! new consumer on a running host). An added pipeline's new plugins are
//! loaded and checked first (a broken one refuses the addition, and nothing
//! else changes), the topics it writes are created, its task joins the
//! running set and its plugin files are watched like the others. Removing
//! or redefining a running pipeline would drop or move its partitions
//! mid-stream, so that still needs a restart, and is logged as such.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::Pipeline;
use super::running::Running;
use super::topic_formats::TopicFormats;
use super::topic_plan::topics_the_host_writes;
use crate::capabilities::Backends;
use crate::config::{Config, ConfigError, KafkaConfig, PipelineConfig, PluginConfig, StatusConfig};
use crate::kafka::producer::Producer;
use crate::metrics::Families;
use crate::runtime::{ConfigTarget, FileWatch, LoadedPlugin, PluginRuntime, PluginSlot};

/// What starting a pipeline takes, shared by the start and the config
/// watcher: the runtime and backends its plugins are loaded with, and the
/// running host's Kafka, producer, status and metrics.
pub struct Deployer {
    runtime: PluginRuntime,
    backends: Backends,
    producer: Producer,
    kafka: KafkaConfig,
    status: StatusConfig,
    families: Families,
    running: Arc<Running>,
    watch: Arc<FileWatch>,
}

impl Deployer {
    /// Starts pipelines into `running` with the services of `config` (the
    /// config at start: a later file's Kafka or status sections are not
    /// applied), watching added plugins through `watch`.
    pub fn new(
        config: &Config,
        runtime: PluginRuntime,
        backends: Backends,
        producer: Producer,
        families: Families,
        running: Arc<Running>,
        watch: Arc<FileWatch>,
    ) -> Self {
        Self {
            runtime,
            backends,
            producer,
            kafka: config.kafka.clone(),
            status: config.status.clone(),
            families,
            running,
            watch,
        }
    }

    /// The pipeline `pipeline` of `config` over `slots` (which hold every
    /// plugin it lists), ready to start.
    pub fn build(
        &self,
        config: &Config,
        pipeline: &PipelineConfig,
        slots: &BTreeMap<String, Arc<PluginSlot>>,
    ) -> Result<Pipeline, ConfigError> {
        let plugins = pipeline.plugins.iter().map(|name| slots[name].clone()).collect();
        Ok(Pipeline::new(
            pipeline.clone(),
            self.kafka.clone(),
            plugins,
            self.producer.clone(),
            self.status.clone(),
            &self.families,
            Arc::new(TopicFormats::load(config, pipeline)?),
        ))
    }

    /// Creates the dead-letter and output topics of `config` that are
    /// missing; a broker that refuses is left to create them on first write.
    pub async fn create_topics(&self, config: &Config) {
        let written = topics_the_host_writes(config);
        match crate::kafka::admin::create_missing(&self.kafka, &written).await {
            Ok(created) if !created.is_empty() => {
                tracing::info!(topics = ?created, "created the topics the host writes to")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(
                %error, topics = ?written.iter().map(|spec| &spec.name).collect::<Vec<_>>(),
                "cannot create the dead-letter and output topics; relying on the broker to create them"
            ),
        }
    }

    /// Starts `pipeline`, added to the config file as `config`; why not when
    /// it is refused.
    async fn add(&self, config: &Config, pipeline: &PipelineConfig) -> Result<(), String> {
        let running = self.running.pipelines();
        // A renamed pipeline would consume its group twice, with two plugin lists.
        if let Some(other) = running
            .values()
            .find(|other| other.config.group_id == pipeline.group_id)
        {
            return Err(format!(
                "its consumer group {:?} is that of running pipeline {:?}: restart fleethost to apply that",
                pipeline.group_id, other.config.name
            ));
        }
        let mut slots = self.running.slots();
        let mut new_slots = BTreeMap::new();
        for name in &pipeline.plugins {
            if !slots.contains_key(name) && !new_slots.contains_key(name) {
                new_slots.insert(name.clone(), self.load_slot(name, &config.plugins[name]).await?);
            }
        }
        slots.extend(new_slots.clone());
        let built = self
            .build(config, pipeline, &slots)
            .map_err(|error| error.to_string())?;
        self.create_topics(&only(config, pipeline)).await;
        self.running
            .start(pipeline.clone(), built, new_slots.clone())
            .map_err(|error| error.to_string())?;
        for slot in new_slots.into_values() {
            if let Err(error) = self.watch.watch_plugin(slot.clone()) {
                tracing::warn!(plugin = slot.name(), %error, "cannot watch the plugin's file: reload it with `fleethost reload`");
            }
        }
        Ok(())
    }

    /// Loads and checks plugin `name` off the async workers, in the slot it
    /// is reloaded through.
    async fn load_slot(&self, name: &str, plugin_config: &PluginConfig) -> Result<Arc<PluginSlot>, String> {
        let (runtime, backends, name_owned, config) = (
            self.runtime.clone(),
            self.backends.clone(),
            name.to_string(),
            plugin_config.clone(),
        );
        let plugin =
            tokio::task::spawn_blocking(move || LoadedPlugin::load_and_check(&runtime, &name_owned, &config, backends))
                .await
                .map_err(|error| format!("plugin {name}: loader panicked: {error}"))?
                .map_err(|error| error.to_string())?;
        tracing::info!(plugin = %name, version = plugin.version(), wit = plugin.world().as_str(), path = %plugin.path().display(), "plugin loaded");
        Ok(Arc::new(PluginSlot::new(
            name,
            plugin_config.clone(),
            self.runtime.clone(),
            self.backends.clone(),
            Arc::new(plugin),
        )))
    }
}

impl ConfigTarget for Deployer {
    fn slots(&self) -> BTreeMap<String, Arc<PluginSlot>> {
        self.running.slots()
    }

    /// Starts the pipelines `config` adds, one by one (a refused one does not
    /// hold up the others); logs what else changed, which needs a restart.
    async fn apply(&self, config: Config) {
        let running = self.running.pipelines();
        for (name, pipeline) in &running {
            match config.pipelines.iter().find(|configured| configured.name == *name) {
                None => tracing::warn!(
                    pipeline = %name,
                    "pipeline removed from the config keeps running: restart fleethost to apply that"
                ),
                Some(configured) => {
                    let changed = changed_keys(&pipeline.config, configured);
                    if !changed.is_empty() {
                        tracing::warn!(
                            pipeline = %name, ?changed,
                            "pipeline definition changed in the config ({}): restart fleethost to apply that",
                            changed.join(", ")
                        );
                    }
                }
            }
        }
        let slots = self.running.slots();
        let removed: Vec<&String> = slots
            .keys()
            .filter(|name| !config.plugins.contains_key(*name))
            .collect();
        if !removed.is_empty() {
            tracing::warn!(plugins = ?removed, "plugins removed from the config keep running: restart fleethost to apply that");
        }
        let added: Vec<&PipelineConfig> = config
            .pipelines
            .iter()
            .filter(|pipeline| !running.contains_key(&pipeline.name))
            .collect();
        let used: BTreeSet<&String> = added.iter().flat_map(|pipeline| &pipeline.plugins).collect();
        let unused: Vec<&String> = config
            .plugins
            .keys()
            .filter(|name| !slots.contains_key(*name) && !used.contains(name))
            .collect();
        if !unused.is_empty() {
            tracing::warn!(plugins = ?unused, "plugins added to the config but to no added pipeline are not loaded: restart fleethost to apply that");
        }
        for pipeline in added {
            match self.add(&config, pipeline).await {
                Ok(()) => tracing::info!(
                    pipeline = %pipeline.name, group = %pipeline.group_id, plugins = ?pipeline.plugins,
                    "pipeline added to the config: started"
                ),
                Err(reason) => tracing::error!(
                    pipeline = %pipeline.name, %reason,
                    "added pipeline refused; the running pipelines keep going"
                ),
            }
        }
    }
}

/// `config` with `pipeline` its only pipeline and its plugins the only
/// plugins: what the host writes because of it.
fn only(config: &Config, pipeline: &PipelineConfig) -> Config {
    let mut scoped = config.clone();
    scoped.pipelines = vec![pipeline.clone()];
    scoped.plugins.retain(|name, _| pipeline.plugins.contains(name));
    scoped
}

/// The keys of a pipeline's definition that differ between `running` and
/// `configured`, as the config file names them.
fn changed_keys(running: &PipelineConfig, configured: &PipelineConfig) -> Vec<String> {
    match (serde_json::to_value(running), serde_json::to_value(configured)) {
        (Ok(serde_json::Value::Object(before)), Ok(serde_json::Value::Object(after))) => before
            .keys()
            .chain(after.keys())
            .filter(|key| before.get(*key) != after.get(*key))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        _ => vec!["(unreadable)".to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redefined_pipeline_names_the_keys_that_changed() {
        let running = PipelineConfig::new("a", "group-a", &["fixes"], &["p"]);
        assert!(changed_keys(&running, &running.clone()).is_empty());
        let mut configured = PipelineConfig::new("a", "group-b", &["fixes", "more"], &["p", "q"]);
        configured.batch.max_events += 1;
        assert_eq!(
            changed_keys(&running, &configured),
            ["batch", "group_id", "plugins", "topics"]
        );
    }
}
