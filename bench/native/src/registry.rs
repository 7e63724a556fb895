//! The core runtime's view of the linked plugins: a [`NativePlugins`]
//! registry that instantiates them by name.

use fleethost_core::runtime::native::{NativeInstance, NativePlugins};
use fleethost_core::runtime::{Capabilities, PluginIdentity};

use crate::linked::{REGISTRY, lookup};

/// The registry of the five example plugins, for the core's runtime.
pub struct FivePlugins;

impl NativePlugins for FivePlugins {
    fn names(&self) -> Vec<&'static str> {
        REGISTRY.iter().map(|entry| entry.name).collect()
    }

    fn instantiate(
        &self,
        name: &str,
        config: Vec<(String, String)>,
        identity: PluginIdentity,
        capabilities: Capabilities,
    ) -> Result<Box<dyn NativeInstance>, String> {
        let entry = lookup(name).ok_or_else(|| format!("no native plugin named {name:?}"))?;
        let instance = crate::instance::NativeInstance::new(entry, config, identity, capabilities)?;
        Ok(Box::new(instance))
    }
}

#[cfg(test)]
mod tests {
    use fleethost_core::runtime::native::refusal;

    use super::*;

    #[test]
    fn the_five_plugins_are_known_and_others_refused() {
        for name in ["live-location", "db-writer", "eta", "fare", "geofence"] {
            assert_eq!(refusal(Some(&FivePlugins), name), None, "{name}");
            assert!(lookup(name).is_some(), "{name}");
        }
        let refusal = refusal(Some(&FivePlugins), "live-locaton").expect("unknown");
        assert!(
            refusal.contains("live-locaton") && refusal.contains("known"),
            "{refusal}"
        );
    }
}
