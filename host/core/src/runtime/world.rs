//! Which version of the `fleethost:plugin` world a component implements, and
//! what calling it takes in that version.
//!
//! The host works with the newest version's types. A component built against
//! an older version is linked against that version's interfaces (served by
//! the same capabilities, see `runtime/compat_v0_1.rs`) and gets its
//! batches converted: 0.1.0 knows location fixes only, so order batches are
//! not shown to it (they count as done for it).

use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre};

use super::host_state::HostState;
use super::{Batch, Event};
use crate::bindings::{v0_1, v0_2};

/// A component type-checked against one version of the world.
pub enum WorldPre {
    /// `fleethost:plugin@0.2.0`, the current version.
    V0_2(v0_2::PluginPre<HostState>),
    /// `fleethost:plugin@0.1.0`.
    V0_1(v0_1::PluginPre<HostState>),
}

/// The version of the world an instance was built against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorldVersion {
    /// `fleethost:plugin@0.2.0`.
    V0_2,
    /// `fleethost:plugin@0.1.0`: no order batches, no sql or produce.
    V0_1,
}

impl WorldPre {
    /// Type-checks the component's exports against the newest version first,
    /// then the older ones. The error of the newest version is the one shown:
    /// it says what a plugin built today gets wrong.
    pub fn new(instance_pre: InstancePre<HostState>) -> wasmtime::Result<Self> {
        match v0_2::PluginPre::new(instance_pre.clone()) {
            Ok(pre) => Ok(Self::V0_2(pre)),
            Err(current_error) => v0_1::PluginPre::new(instance_pre)
                .map(Self::V0_1)
                .map_err(|_| current_error),
        }
    }

    /// The version this component implements.
    pub fn version(&self) -> WorldVersion {
        match self {
            Self::V0_2(_) => WorldVersion::V0_2,
            Self::V0_1(_) => WorldVersion::V0_1,
        }
    }

    /// The pre-linked component.
    pub fn instance_pre(&self) -> &InstancePre<HostState> {
        match self {
            Self::V0_2(pre) => pre.instance_pre(),
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
            Self::V0_2(_) => v0_2::Plugin::new(&mut *store, instance)?.call_init(store, config),
            Self::V0_1(_) => v0_1::Plugin::new(&mut *store, instance)?.call_init(store, config),
        }
    }
}

impl WorldVersion {
    /// The package version, for logs and the admin interface.
    pub fn as_str(self) -> &'static str {
        match self {
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
