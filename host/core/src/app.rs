//! `fleethost run` and `fleethost check`: wires config, runtime, capabilities
//! and pipelines together.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::capabilities::kv::backend::KvBackend;
use crate::capabilities::{BackendError, Backends};
use crate::config::Config;
use crate::kafka::producer::Producer;
use crate::pipeline::PipelineError;
use crate::pipeline::deploy::Deployer;
use crate::pipeline::running::Running;
use crate::runtime::native::NativePlugins;
use crate::runtime::{ConfigRewrite, FileWatch, LoadError, LoadedPlugin, PluginRuntime, PluginSlot};

/// Why the host could not start or ended with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The wasm engine could not be set up.
    #[error("cannot start the WebAssembly runtime: {0}")]
    Runtime(String),
    /// A backend (Redis, PostgreSQL) cannot be set up.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The Kafka producer could not be created.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// A plugin could not be loaded or initialised.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A secret named in the config cannot be read.
    #[error("{key}: {source}")]
    Secret {
        key: &'static str,
        source: crate::auth::SecretError,
    },
    /// A listener's certificate or key cannot be used.
    #[error("{key}: {source}")]
    Tls {
        key: &'static str,
        source: crate::tls::TlsError,
    },
    /// A topic's payload format no longer compiles (a schema file changed
    /// since the config was loaded).
    #[error(transparent)]
    Format(#[from] crate::config::ConfigError),
    /// One or more pipelines ended with an error.
    #[error("{} pipeline(s) failed: {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Pipelines(Vec<PipelineError>),
}

/// Compiles every plugin of the config and initialises one instance of each,
/// so that a broken plugin is refused before anything is consumed.
pub async fn load_plugins(
    config: &Config,
    runtime: &PluginRuntime,
    backends: &Backends,
) -> Result<BTreeMap<String, Arc<LoadedPlugin>>, RunError> {
    let mut loaded = BTreeMap::new();
    for (name, plugin_config) in &config.plugins {
        let (runtime, backends, name_owned, plugin_config) =
            (runtime.clone(), backends.clone(), name.clone(), plugin_config.clone());
        let plugin = tokio::task::spawn_blocking(move || {
            LoadedPlugin::load_and_check(&runtime, &name_owned, &plugin_config, backends)
        })
        .await
        .map_err(|error| RunError::Runtime(format!("plugin loader panicked: {error}")))??;
        tracing::info!(plugin = %name, version = plugin.version(), wit = plugin.world().as_str(), path = %plugin.path().display(), "plugin loaded");
        loaded.insert(name.clone(), Arc::new(plugin));
    }
    Ok(loaded)
}

/// [`load_plugins`], each in the slot it is reloaded through.
pub async fn load_slots(
    config: &Config,
    runtime: &PluginRuntime,
    backends: &Backends,
) -> Result<BTreeMap<String, Arc<PluginSlot>>, RunError> {
    let plugins = load_plugins(config, runtime, backends).await?;
    Ok(plugins
        .into_iter()
        .map(|(name, plugin)| {
            let slot = PluginSlot::new(
                &name,
                config.plugins[&name].clone(),
                runtime.clone(),
                backends.clone(),
                plugin,
            );
            (name, Arc::new(slot))
        })
        .collect())
}

/// What [`run`] is given instead of building it from the config, for the
/// programs that embed the host; `Default` is a plain `fleethost run`.
#[derive(Default)]
pub struct RunOptions {
    /// The file the config came from: watched, so a config change reloads
    /// the plugins it touches and starts the pipelines it adds.
    pub config_path: Option<PathBuf>,
    /// The kv store to use instead of one built from `redis.url`: how
    /// `fleethost demo` shares its embedded store with the tracking server
    /// it runs beside.
    pub kv: Option<KvBackend>,
    /// The rewrite the config got from the file at `config_path` (the demo's
    /// namespace), applied again when the file changes: to the whole file,
    /// so added pipelines and plugins get it too.
    pub rewrite: Option<ConfigRewrite>,
    /// Plugins compiled into the process for `native:<name>` paths (the
    /// benchmark's `fleethost-native`); none in production.
    pub native_plugins: Option<Arc<dyn NativePlugins>>,
}

/// The plugin runtime `native_plugins` asks for: the sandbox, plus the
/// registry's native code when there is one.
pub fn plugin_runtime(native_plugins: Option<Arc<dyn NativePlugins>>) -> Result<PluginRuntime, RunError> {
    let runtime = PluginRuntime::new().map_err(|error| RunError::Runtime(format!("{error:#}")))?;
    Ok(match native_plugins {
        Some(registry) => runtime.with_native_plugins(registry),
        None => runtime,
    })
}

fn watch_error(error: notify::Error) -> RunError {
    RunError::Runtime(format!("cannot watch the plugin files: {error}"))
}

/// Runs every pipeline of `config`, and those added to the file at
/// `options.config_path` while it runs, until `shutdown` is cancelled, then
/// lets each finish its in-flight batches and commit.
pub async fn run(config: Config, options: RunOptions, shutdown: CancellationToken) -> Result<(), RunError> {
    let RunOptions {
        config_path,
        kv,
        rewrite,
        native_plugins,
    } = options;
    // What the shutdown report names if a signal comes before the pipelines run.
    let starting = crate::shutdown::progress().start("host", "loading plugins");
    // Before anything connects: a token that cannot be read is a config error.
    let admin_tokens = crate::auth::AdminTokens::load(&config.admin.tokens).map_err(|source| RunError::Secret {
        key: "admin.tokens",
        source,
    })?;
    let admin_tls = config
        .admin
        .tls
        .as_ref()
        .map(crate::tls::ServerTls::load)
        .transpose()
        .map_err(|source| RunError::Tls {
            key: "admin.tls",
            source,
        })?;
    let mut metrics = crate::metrics::HostMetrics::new();
    let runtime = plugin_runtime(native_plugins)?.with_metrics(metrics.families().clone());
    let producer = Producer::new(&config.kafka)?;
    let mut backends = Backends::connect(&config, Some(producer.clone()))?;
    if let Some(kv) = kv {
        backends.kv = kv;
    }
    let slots = load_slots(&config, &runtime, &backends).await?;
    let watch = FileWatch::start(shutdown.clone()).map_err(watch_error)?;
    for slot in slots.values() {
        watch.watch_plugin(slot.clone()).map_err(watch_error)?;
    }
    // Pipelines added to the config file later start through the same
    // deployer, into the same set.
    let running = Arc::new(Running::new(shutdown.clone()));
    running.add_plugins(slots.clone());
    let deployer = Arc::new(Deployer::new(
        &config,
        runtime,
        backends,
        producer,
        metrics.families().clone(),
        running.clone(),
        watch.clone(),
    ));

    starting.doing("creating topics");
    deployer.create_topics(&config).await;

    let pipelines = config
        .pipelines
        .iter()
        .map(|pipeline_config| {
            Ok((
                pipeline_config.clone(),
                deployer.build(&config, pipeline_config, &slots)?,
            ))
        })
        .collect::<Result<Vec<_>, RunError>>()?;
    metrics.register_collector(Box::new(crate::admin::scraped::Scraped::new(running.clone())));
    if let Some(listen) = config.admin.listen {
        crate::admin::serve(
            listen,
            admin_tls,
            admin_tokens,
            crate::admin::AdminState {
                running: running.clone(),
                metrics: Arc::new(metrics),
            },
            shutdown.clone(),
        )
        .await
        .map_err(|error| RunError::Runtime(format!("admin.listen {listen}: {error}")))?;
    }
    for (pipeline_config, pipeline) in pipelines {
        if let Err(refused) = running.start(pipeline_config, pipeline, BTreeMap::new()) {
            tracing::info!(%refused, "pipeline not started");
        }
    }
    // Only now, so that a config change never races the pipelines of the start.
    if let Some(config_path) = config_path {
        watch
            .watch_config(config_path, rewrite, deployer)
            .map_err(watch_error)?;
    }
    // From here on each pipeline reports its own progress.
    drop(starting);
    let failures = running.wait().await;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(RunError::Pipelines(failures))
    }
}
