//! A plugin version: its component compiled and pre-linked once, ready to
//! instantiate for every partition worker that runs it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use super::engine::{PluginRuntime, deadline_ticks};
use super::host_state::{Capabilities, HostState, InstanceOptions};
use super::imports::forbidden_imports;
use super::instance::PluginInstance;
use super::limits::InstanceLimiter;
use super::native::NativePlugins;
use super::world::{WorldPre, WorldVersion};
use crate::capabilities::Backends;
use crate::capabilities::grants::{KvGrants, TableGrants, TopicGrants};
use crate::capabilities::identity::PluginIdentity;
use crate::capabilities::kv::KvCapability;
use crate::capabilities::kv::backend::KvBackend;
use crate::capabilities::produce::ProduceCapability;
use crate::capabilities::sql::SqlCapability;
use crate::config::{PluginConfig, PluginLimits};
use crate::metrics::usage::{CallMeter, InstanceMeter, PluginUsage};

/// Why a plugin (version) cannot be used. Each variant names the plugin and
/// what to do.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The component file cannot be read.
    #[error("plugin {name}: cannot read {path}: {source}")]
    Read {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid WebAssembly component.
    #[error("plugin {name}: {path} is not a valid WebAssembly component (build it for wasm32-wasip2): {message}")]
    Compile {
        name: String,
        path: PathBuf,
        message: String,
    },
    /// The component does not fit the `fleethost:plugin` world: an import the
    /// host does not offer, or a missing export.
    #[error("plugin {name}: {path} does not implement the fleethost:plugin world: {message}")]
    Link {
        name: String,
        path: PathBuf,
        message: String,
    },
    /// The component imports something plugins may not use (files, sockets,
    /// an interface the host does not offer).
    #[error(
        "plugin {name}: {path} imports {imports:?}, which fleethost does not offer to plugins \
         (no filesystem, sockets, HTTP or unknown interfaces; see docs/security.md)"
    )]
    ForbiddenImports {
        name: String,
        path: PathBuf,
        imports: Vec<String>,
    },
    /// This version failed its trial after a reload and was rolled back.
    #[error(
        "plugin {name}@{version}: this version was rolled back after failing its first batches; deploy another one"
    )]
    RolledBack { name: String, version: String },
    /// A `native:<name>` path this runtime cannot run (see `runtime/native.rs`).
    #[error("plugins.{name}.path = {path:?}: {message}")]
    Native {
        name: String,
        path: PathBuf,
        message: String,
    },
    /// Instantiation or `init` failed.
    #[error("plugin {name}@{version}: init failed: {message}")]
    Init {
        name: String,
        version: String,
        message: String,
    },
}

/// One compiled plugin version with everything needed to make instances.
pub struct LoadedPlugin {
    name: String,
    version: String,
    path: PathBuf,
    code: PluginCode,
    config: Vec<(String, String)>,
    limits: PluginLimits,
    kv_grants: Arc<KvGrants>,
    table_grants: Arc<TableGrants>,
    topic_grants: Arc<TopicGrants>,
    backends: Backends,
    usage: Arc<PluginUsage>,
    memory: Arc<AtomicU64>,
}

/// What runs a plugin version's code.
enum PluginCode {
    /// A compiled, pre-linked component: the sandbox.
    Wasm(WorldPre),
    /// A plugin compiled into the process (`path = "native:<name>"`, the
    /// benchmark's registry only).
    Native(Arc<dyn NativePlugins>, String),
}

impl LoadedPlugin {
    /// Reads and compiles the component at `config.path` and links it against
    /// the host's imports; a `native:<name>` path picks the plugin compiled
    /// into the host instead (benchmark builds). Compilation takes CPU time:
    /// call this off the async workers (`spawn_blocking`).
    pub fn load(
        runtime: &PluginRuntime,
        name: &str,
        config: &PluginConfig,
        backends: Backends,
    ) -> Result<Self, LoadError> {
        if let Some(native) = crate::config::native_name(&config.path) {
            return Self::load_native(runtime, name, native, config, backends);
        }
        let path = config.path.clone();
        let bytes = std::fs::read(&path).map_err(|source| LoadError::Read {
            name: name.to_string(),
            path: path.clone(),
            source,
        })?;
        let version = content_version(&bytes, config);
        check_component_header(&bytes).map_err(|message| LoadError::Compile {
            name: name.to_string(),
            path: path.clone(),
            message: message.to_string(),
        })?;
        let component = Component::new(runtime.engine(), &bytes).map_err(|error| LoadError::Compile {
            name: name.to_string(),
            path: path.clone(),
            message: format!("{error:#}"),
        })?;
        let link_error = |error: wasmtime::Error| LoadError::Link {
            name: name.to_string(),
            path: path.clone(),
            message: format!("{error:#}"),
        };
        // The world first (is this a fleethost plugin at all?), then what it imports.
        let instance_pre = runtime.linker().instantiate_pre(&component).map_err(link_error)?;
        let pre = WorldPre::new(runtime.engine(), instance_pre).map_err(link_error)?;
        let forbidden = forbidden_imports(runtime.engine(), &component);
        if !forbidden.is_empty() {
            return Err(LoadError::ForbiddenImports {
                name: name.to_string(),
                path: path.clone(),
                imports: forbidden,
            });
        }
        Ok(Self::new(
            runtime,
            name,
            version,
            PluginCode::Wasm(pre),
            config,
            backends,
        ))
    }

    /// [`LoadedPlugin::load`], then one instance made and initialised (and
    /// dropped), so that a broken plugin is refused before it sees an
    /// event. Blocking: call it off the async workers.
    pub fn load_and_check(
        runtime: &PluginRuntime,
        name: &str,
        config: &PluginConfig,
        backends: Backends,
    ) -> Result<Self, LoadError> {
        let plugin = Self::load(runtime, name, config, backends)?;
        plugin.instantiate("check")?;
        Ok(plugin)
    }

    /// The native plugin `native` (from `path = "native:<native>"`), refused
    /// unless the runtime was given a registry that has it.
    fn load_native(
        runtime: &PluginRuntime,
        name: &str,
        native: &str,
        config: &PluginConfig,
        backends: Backends,
    ) -> Result<Self, LoadError> {
        let registry = runtime.native_plugins();
        if let Some(message) = super::native::refusal(registry.as_deref(), native) {
            return Err(LoadError::Native {
                name: name.to_string(),
                path: config.path.clone(),
                message,
            });
        }
        let registry = registry.expect("refused without a registry");
        // No file to hash: the version covers the name, the host build's
        // version and what the plugin runs with.
        let code_id = format!("native:{native} fleethost {}", env!("CARGO_PKG_VERSION"));
        let version = content_version(code_id.as_bytes(), config);
        let code = PluginCode::Native(registry, native.to_string());
        Ok(Self::new(runtime, name, version, code, config, backends))
    }

    fn new(
        runtime: &PluginRuntime,
        name: &str,
        version: String,
        code: PluginCode,
        config: &PluginConfig,
        backends: Backends,
    ) -> Self {
        Self {
            usage: Arc::new(PluginUsage::new(runtime.metrics(), name, &version, &config.limits)),
            name: name.to_string(),
            version,
            path: config.path.clone(),
            code,
            config: config
                .config
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
            limits: config.limits.clone(),
            kv_grants: Arc::new(KvGrants::new(&config.grants)),
            table_grants: Arc::new(TableGrants::new(&config.grants)),
            topic_grants: Arc::new(TopicGrants::new(&config.grants)),
            backends,
            memory: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The plugin's name from the config.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's version: the first 12 hex digits of the SHA-256 of the
    /// component file and its config, limits and grants.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// `name@version`, how logs and dead-letter headers name this plugin version.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// The component file this version was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Capability calls (kv, sql, produce) of this version refused by its
    /// grants, over all its instances.
    pub fn denied(&self) -> u64 {
        self.usage.denied()
    }

    /// Bytes of linear memory the live instances of this version hold (the
    /// size their memories grew to; what `limits.memory_mib` caps per
    /// instance). 0 for a native plugin, which uses the host's heap.
    pub fn memory_bytes(&self) -> u64 {
        self.memory.load(Ordering::Relaxed)
    }

    /// The version of the WIT world the component was built against (a
    /// native plugin: the SDK's, the newest).
    pub fn world(&self) -> WorldVersion {
        match &self.code {
            PluginCode::Wasm(pre) => pre.version(),
            PluginCode::Native(..) => WorldVersion::V0_2,
        }
    }

    /// The store the plugin's state is kept in for `pipeline`: the kv store,
    /// over the pipeline's connection (a shadow replay keeps no state).
    pub fn state_store(&self, pipeline: &str) -> Result<KvBackend, String> {
        self.backends
            .kv
            .for_pipeline(pipeline)
            .map_err(|error| format!("redis.url: {error}"))
    }

    /// Whether the plugin keeps state (its component imports `state`; a
    /// native plugin: as its registry says): the host lends it its
    /// partition's state for each batch.
    pub fn keeps_state(&self) -> bool {
        match &self.code {
            PluginCode::Wasm(pre) => pre.keeps_state(),
            PluginCode::Native(registry, native) => registry.keeps_state(native),
        }
    }

    /// The plugin's resource limits.
    pub fn limits(&self) -> &PluginLimits {
        &self.limits
    }

    /// The bytes of this version's component, read again from its file:
    /// `None` when the file changed since (or the plugin runs natively).
    /// `config` is the section the version was loaded with.
    pub fn read_component(&self, config: &PluginConfig) -> Option<Vec<u8>> {
        let PluginCode::Wasm(_) = &self.code else {
            return None;
        };
        let bytes = std::fs::read(&self.path).ok()?;
        (content_version(&bytes, config) == self.version).then_some(bytes)
    }

    /// Creates a fresh instance for `pipeline` and runs its `init` with the
    /// plugin's config. Blocking (runs guest code): call off the async workers.
    pub fn instantiate(&self, pipeline: &str) -> Result<PluginInstance, LoadError> {
        self.instantiate_with(pipeline, InstanceOptions::default())
    }

    /// [`LoadedPlugin::instantiate`] with `options`: fixed clocks, a tape.
    /// A native plugin has neither (it runs outside the sandbox).
    pub fn instantiate_with(&self, pipeline: &str, options: InstanceOptions) -> Result<PluginInstance, LoadError> {
        let identity = PluginIdentity {
            pipeline: pipeline.to_string(),
            plugin: self.name.clone(),
            version: self.version.clone(),
        };
        match &self.code {
            PluginCode::Wasm(pre) => self.instantiate_wasm(pre, identity, options),
            PluginCode::Native(registry, native) => {
                let (capabilities, meter) = self.capabilities(&identity.pipeline)?;
                let meter = self.instance_meter(&identity.pipeline, meter);
                let instance = registry
                    .instantiate(native, self.config.clone(), identity, capabilities)
                    .map_err(|message| self.init_error(message))?;
                Ok(PluginInstance::native(instance, meter))
            }
        }
    }

    /// Why an instance could not be made: instantiation or `init` failed.
    fn init_error(&self, message: String) -> LoadError {
        LoadError::Init {
            name: self.name.clone(),
            version: self.version.clone(),
            message,
        }
    }

    /// A component instance in its own store, with the plugin's limits.
    fn instantiate_wasm(
        &self,
        pre: &WorldPre,
        identity: PluginIdentity,
        options: InstanceOptions,
    ) -> Result<PluginInstance, LoadError> {
        let init_error = |message: String| self.init_error(message);
        let limiter = InstanceLimiter::new(
            usize::try_from(self.limits.memory_mib * 1024 * 1024).unwrap_or(usize::MAX),
            self.memory.clone(),
        );
        let (capabilities, meter) = self.capabilities(&identity.pipeline)?;
        let meter = self.instance_meter(&identity.pipeline, meter);
        let mut store = wasmtime::Store::new(
            pre.instance_pre().engine(),
            HostState::new(identity, limiter, capabilities, options),
        );
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(deadline_ticks(self.limits.batch_timeout_ms));
        let instance = pre
            .instance_pre()
            .instantiate(&mut store)
            .map_err(|error| init_error(format!("{error:#}")))?;
        let process_batch = instance
            .get_func(&mut store, "process-batch")
            .ok_or_else(|| init_error("the component exports no process-batch".into()))?;
        pre.call_init(&mut store, &instance, &self.config)
            .map_err(|error| {
                let stderr = store.data().stderr_text();
                init_error(format!("trapped: {error:#} {stderr}").trim().to_string())
            })?
            .map_err(init_error)?;
        Ok(PluginInstance::new(
            store,
            process_batch,
            pre.version(),
            self.limits.batch_timeout_ms,
            meter,
        ))
    }

    /// What an instance of `pipeline` counts its batches into.
    fn instance_meter(&self, pipeline: &str, calls: Arc<CallMeter>) -> InstanceMeter {
        let (duration, events) = self.usage.batch_histograms(pipeline);
        InstanceMeter {
            calls,
            duration,
            events,
        }
    }

    /// The capabilities of a new instance of `pipeline`, limited by the
    /// plugin's grants and quotas (kv over the pipeline's own Redis
    /// connection), with the meter they count into; wasm and native
    /// instances get the same.
    fn capabilities(&self, pipeline: &str) -> Result<(Capabilities, Arc<CallMeter>), LoadError> {
        let meter = CallMeter::new(self.usage.clone());
        let host_call_timeout = std::time::Duration::from_millis(self.limits.host_call_timeout_ms);
        let kv = self
            .backends
            .kv
            .for_pipeline(pipeline)
            .map_err(|error| self.init_error(format!("redis.url: {error}")))?;
        let shadow = &self.backends.shadow;
        let capabilities = Capabilities {
            kv: KvCapability::new(
                self.kv_grants.clone(),
                kv,
                host_call_timeout,
                meter.clone(),
                shadow.clone(),
            ),
            sql: SqlCapability::new(
                self.table_grants.clone(),
                self.backends.sql.clone(),
                host_call_timeout,
                meter.clone(),
                shadow.clone(),
            ),
            produce: ProduceCapability::new(
                self.topic_grants.clone(),
                self.backends.producer.clone(),
                host_call_timeout,
                meter.clone(),
                shadow.clone(),
            ),
        };
        Ok((capabilities, meter))
    }
}

/// Tells a non-wasm file and a core module (built without the component
/// step) apart from a component before compiling, for a clearer message.
fn check_component_header(bytes: &[u8]) -> Result<(), &'static str> {
    const MAGIC: &[u8] = b"\0asm";
    if !bytes.starts_with(MAGIC) {
        return Err("the file does not start with the WebAssembly magic bytes");
    }
    // Bytes 6..8 are the layer: 0 for a core module, 1 for a component.
    if bytes.get(6..8) == Some(&[0, 0]) {
        return Err("the file is a core WebAssembly module, not a component");
    }
    Ok(())
}

/// The version of a plugin: a hash of the component and of what it runs with
/// (its config map, limits and grants), so that a config change is a new
/// version too, attributable like a new build.
fn content_version(bytes: &[u8], config: &PluginConfig) -> String {
    let settings = format!("{:?}{:?}{:?}", config.config, config.limits, config.grants);
    let digest = Sha256::new()
        .chain_update(bytes)
        .chain_update(settings.as_bytes())
        .finalize();
    digest.iter().take(6).map(|byte| format!("{byte:02x}")).collect()
}
