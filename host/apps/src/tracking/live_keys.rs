//! The Redis keys and channels tracking reads, as live-location is
//! configured.
//!
//! The names themselves come from `fleethost_record::names`, the one
//! definition the plugins build theirs from; what varies between
//! deployments is live-location's `key_prefix` (under which eta and
//! geofence are configured too) and its `geo_key`. [`LiveKeys::from_config`]
//! reads both from the plugin's config map in the host's config file, the
//! way the plugin reads them, so that tracking looks where the plugin
//! writes.

use std::collections::BTreeMap;

use fleethost_core::config::Config;
use fleethost_record::names;

/// The plugin name tracking reads its keys from when none is given: the
/// name live-location has in the example config.
pub const DEFAULT_PLUGIN: &str = "live-location";

/// Where live-location (and eta and geofence beside it) keep and publish
/// what tracking shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveKeys {
    /// Prepended to every key and channel (`"t1:"`, or empty).
    pub key_prefix: String,
    /// The GEO set of every driver's position, without the prefix.
    pub geo_key: String,
}

impl LiveKeys {
    /// The keys under `key_prefix` with live-location's default GEO set.
    pub fn with_prefix(key_prefix: impl Into<String>) -> Self {
        Self {
            key_prefix: key_prefix.into(),
            geo_key: names::DEFAULT_GEO_KEY.to_string(),
        }
    }

    /// The keys a live-location configured with `config` (its plugin config
    /// map) writes: its `key_prefix` and `geo_key`, with the plugin's own
    /// defaults for the ones it leaves out.
    pub fn from_plugin_config(config: &BTreeMap<String, String>) -> Self {
        Self {
            key_prefix: config.get("key_prefix").cloned().unwrap_or_default(),
            geo_key: config
                .get("geo_key")
                .cloned()
                .unwrap_or_else(|| names::DEFAULT_GEO_KEY.to_string()),
        }
    }

    /// The keys of the plugin called `plugin` in a host config; the error
    /// names the plugins there are when it has none of that name.
    pub fn from_config(config: &Config, plugin: &str) -> Result<Self, String> {
        match config.plugins.get(plugin) {
            Some(live_location) => Ok(Self::from_plugin_config(&live_location.config)),
            None => Err(format!(
                "no plugin named `{plugin}` in the config (it has {:?}): name the live-location plugin whose keys to read",
                config.plugins.keys().collect::<Vec<_>>()
            )),
        }
    }

    /// The channel of one driver's positions.
    pub fn driver_channel(&self, driver_id: &str) -> String {
        names::driver_channel(&self.key_prefix, driver_id)
    }

    /// The channel of one order's positions (live-location's).
    pub fn order_channel(&self, order_id: &str) -> String {
        names::order_channel(&self.key_prefix, order_id)
    }

    /// The channel of one order's estimates (eta's).
    pub fn eta_channel(&self, order_id: &str) -> String {
        names::eta_channel(&self.key_prefix, order_id)
    }

    /// The channel of geofence's notifications.
    pub fn notifications_channel(&self) -> String {
        names::notifications_channel(&self.key_prefix)
    }

    /// The hash of one driver's newest position.
    pub fn driver_key(&self, driver_id: &str) -> String {
        names::driver_key(&self.key_prefix, driver_id)
    }

    /// The GEO set the live map lists the drivers from.
    pub fn geo_set(&self) -> String {
        names::geo_key(&self.key_prefix, &self.geo_key)
    }

    /// What every key of eta starts with (estimates and eta's trip state).
    pub fn eta_key_prefix(&self) -> String {
        names::eta_key_prefix(&self.key_prefix)
    }

    /// What eta's per-driver trip state keys start with.
    pub fn eta_trip_key_prefix(&self) -> String {
        names::eta_trip_key_prefix(&self.key_prefix)
    }

    /// The hash of eta's state for one driver.
    pub fn eta_trip_key(&self, driver_id: &str) -> String {
        names::eta_trip_key(&self.key_prefix, driver_id)
    }
}

#[cfg(test)]
mod tests {
    use fleethost_core::config::PluginConfig;

    use super::*;

    fn plugin_config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn a_configured_geo_key_and_prefix_are_where_the_map_looks() {
        let keys = LiveKeys::from_plugin_config(&plugin_config(&[("key_prefix", "t1:"), ("geo_key", "fleet:geo")]));
        assert_eq!(keys.geo_set(), "t1:fleet:geo");
        assert_eq!(keys.driver_key("d1"), "t1:driver:d1");
        assert_eq!(keys.driver_channel("d1"), "t1:live:driver:d1");
        assert_eq!(keys.order_channel("o1"), "t1:live:order:o1");
        assert_eq!(keys.eta_channel("o1"), "t1:live:eta:o1");
        assert_eq!(keys.notifications_channel(), "t1:live:notifications");
        assert_eq!(keys.eta_trip_key("d1"), "t1:eta:trip:d1");
    }

    #[test]
    fn the_plugin_defaults_apply_to_what_its_config_leaves_out() {
        let keys = LiveKeys::from_plugin_config(&BTreeMap::new());
        assert_eq!(keys, LiveKeys::with_prefix(""));
        assert_eq!(keys.geo_set(), "drivers:geo");
    }

    #[test]
    fn a_missing_plugin_is_named_with_the_ones_there_are() {
        let mut config = Config::new("127.0.0.1:9092");
        let mut live = PluginConfig::new("live.wasm");
        live.config = plugin_config(&[("key_prefix", "p:"), ("geo_key", "g")]);
        config.plugins.insert("live".into(), live);
        assert_eq!(
            LiveKeys::from_config(&config, "live"),
            Ok(LiveKeys {
                key_prefix: "p:".into(),
                geo_key: "g".into()
            })
        );
        let error = LiveKeys::from_config(&config, DEFAULT_PLUGIN).expect_err("no such plugin");
        assert!(
            error.contains("`live-location`") && error.contains("\"live\""),
            "{error}"
        );
    }
}
