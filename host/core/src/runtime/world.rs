//! Which version of the `fleethost:plugin` world a component implements, and
//! what calling it takes in that version.
//!
//! The host works with 0.2.0's types. 0.3.0 exports the same functions with
//! the same types (it adds the `state` import), so a 0.3.0 component is
//! called as a 0.2.0 one and told apart by what it imports. A component
//! built against 0.1.0 is linked against that version's interfaces (served
//! by the same capabilities, see `runtime/compat_v0_1.rs`) and gets its
//! batches converted: 0.1.0 knows location fixes only, so order batches are
//! not shown to it (they count as done for it).

use wasmtime::component::{Instance, InstancePre};
use wasmtime::{Engine, Store};

use super::host_state::HostState;
use super::{Batch, Event};
use crate::bindings::{v0_1, v0_2};

/// The import of the `state` interface.
const STATE_IMPORT: &str = "fleethost:plugin/state@0.3.0";

/// A component type-checked against one version of the world.
pub enum WorldPre {
    /// `fleethost:plugin@0.3.0` or 0.2.0, whose exports are the same:
    /// called through 0.2.0's bindings.
    Current {
        pre: v0_2::PluginPre<HostState>,
        version: WorldVersion,
        /// Whether the component imports `state`.
        keeps_state: bool,
    },
    /// `fleethost:plugin@0.1.0`.
    V0_1(v0_1::PluginPre<HostState>),
}

/// The version of the world an instance was built against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorldVersion {
    /// `fleethost:plugin@0.3.0`: keyed state.
    V0_3,
    /// `fleethost:plugin@0.2.0`: no state.
    V0_2,
    /// `fleethost:plugin@0.1.0`: no order batches, no sql or produce.
    V0_1,
}

impl WorldPre {
    /// Type-checks the component's exports against the newest version first,
    /// then the older ones. The error of the newest version is the one shown:
    /// it says what a plugin built today gets wrong.
    pub fn new(engine: &Engine, instance_pre: InstancePre<HostState>) -> wasmtime::Result<Self> {
        let imports: Vec<String> = instance_pre
            .component()
            .component_type()
            .imports(engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let imports_v0_3 = imports
            .iter()
            .any(|name| name.starts_with("fleethost:plugin/") && name.ends_with("@0.3.0"));
        let version = if imports_v0_3 {
            WorldVersion::V0_3
        } else {
            WorldVersion::V0_2
        };
        let keeps_state = imports.iter().any(|name| name == STATE_IMPORT);
        match v0_2::PluginPre::new(instance_pre.clone()) {
            Ok(pre) => Ok(Self::Current {
                pre,
                version,
                keeps_state,
            }),
            Err(current_error) => v0_1::PluginPre::new(instance_pre)
                .map(Self::V0_1)
                .map_err(|_| current_error),
        }
    }

    /// The version this component implements.
    pub fn version(&self) -> WorldVersion {
        match self {
            Self::Current { version, .. } => *version,
            Self::V0_1(_) => WorldVersion::V0_1,
        }
    }

    /// Whether the component imports `state`: the host then lends it its
    /// partition's state for each batch (a plugin that does not keep state
    /// costs nothing of it).
    pub fn keeps_state(&self) -> bool {
        matches!(self, Self::Current { keeps_state: true, .. })
    }

    /// The pre-linked component.
    pub fn instance_pre(&self) -> &InstancePre<HostState> {
        match self {
            Self::Current { pre, .. } => pre.instance_pre(),
            Self::V0_1(pre) => pre.instance_pre(),
        }
    }

    /// Calls `init` on a fresh instance.
    pub fn call_init(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        config: &[(String, String)],
    ) -> wasmtime::Result<Result<(), String>> {
        match self {
            Self::Current { .. } => v0_2::Plugin::new(&mut *store, instance)?.call_init(store, config),
            Self::V0_1(_) => v0_1::Plugin::new(&mut *store, instance)?.call_init(store, config),
        }
    }
}

impl WorldVersion {
    /// The package version, for logs and the admin interface.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0_3 => "0.3.0",
            Self::V0_2 => "0.2.0",
            Self::V0_1 => "0.1.0",
        }
    }
}

/// `batch` as 0.1.0 sees it: its location fixes (0.1.0 has no order events).
pub fn batch_v0_1(batch: &Batch) -> v0_1::fleethost::plugin::types::Batch {
    use v0_1::fleethost::plugin::types as old;
    let event = |event: &Event| old::Event {
        driver_id: event.driver_id.clone(),
        latitude: event.latitude,
        longitude: event.longitude,
        timestamp_ms: event.timestamp_ms,
        region: event.region.clone(),
        order_id: event.order_id.clone(),
        speed: event.speed,
        heading: event.heading,
        offset: event.offset,
    };
    old::Batch {
        pipeline: batch.pipeline.clone(),
        topic: batch.topic.clone(),
        partition: batch.partition,
        events: batch.events.iter().map(event).collect(),
    }
}
