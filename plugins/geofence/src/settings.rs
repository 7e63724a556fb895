//! The plugin's settings, read once from its config map at `init`.
//!
//! | key                   | default                  | meaning                                          |
//! |-----------------------|--------------------------|--------------------------------------------------|
//! | `key_prefix`          | empty                    | prepended to every kv key                        |
//! | `notifications_topic` | `delivery-notifications` | topic the notifications are produced to          |
//! | `fences`              | empty (no static fences) | static fences, format in [`crate::fence_text`]   |
//! | `hysteresis_m`        | `25`                     | how far past a fence's edge a driver must go to exit |
//! | `near_m`              | `500`                    | `near` within this distance of the pickup/drop-off |
//! | `arrived_m`           | `50`                     | `arrived` within this distance (at most `near_m`) |

use fleethost_plugin_sdk::{PluginConfig, names};

use crate::fence::Fence;
use crate::fence_text::parse_fences;

/// Every config key the plugin knows.
const KNOWN_KEYS: &[&str] = &[
    "key_prefix",
    "notifications_topic",
    "fences",
    "hysteresis_m",
    "near_m",
    "arrived_m",
];

/// The distances, in metres, that decide when a notification fires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A driver inside a static fence exits only beyond its edge by more than this.
    pub hysteresis_m: f64,
    /// `near` fires within this distance of the trip's current target.
    pub near_m: f64,
    /// `arrived` fires within this distance of the trip's current target.
    pub arrived_m: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            hysteresis_m: 25.0,
            near_m: 500.0,
            arrived_m: 50.0,
        }
    }
}

/// Everything the plugin was configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Prepended to every kv key.
    pub key_prefix: String,
    /// Topic the notifications go to.
    pub notifications_topic: String,
    /// The static fences.
    pub fences: Vec<Fence>,
    /// When notifications fire.
    pub thresholds: Thresholds,
}

impl Settings {
    /// Reads the config map; an error names the key and the value at fault.
    pub fn from_config(config: &PluginConfig) -> Result<Self, String> {
        config.reject_unknown(KNOWN_KEYS)?;
        let defaults = Thresholds::default();
        let thresholds = Thresholds {
            hysteresis_m: config.at_least_or("hysteresis_m", defaults.hysteresis_m, 0.0)?,
            near_m: config.positive_or("near_m", defaults.near_m)?,
            arrived_m: config.positive_or("arrived_m", defaults.arrived_m)?,
        };
        if thresholds.arrived_m > thresholds.near_m {
            return Err(format!(
                "config key `arrived_m` ({}) must not exceed `near_m` ({})",
                thresholds.arrived_m, thresholds.near_m
            ));
        }
        let notifications_topic = config.non_empty_or("notifications_topic", "delivery-notifications")?;
        let fences =
            parse_fences(&config.string_or("fences", "")).map_err(|error| format!("config key `fences`: {error}"))?;
        Ok(Self {
            key_prefix: config.string_or("key_prefix", ""),
            notifications_topic,
            fences,
            thresholds,
        })
    }

    /// The kv hash holding one driver's geofence state and trip.
    pub fn state_key(&self, driver_id: &str) -> String {
        format!("{}geofence:{driver_id}", self.key_prefix)
    }

    /// The Redis pub/sub channel every notification is also published on,
    /// for the live map of `fleethost track`
    /// ([`names::notifications_channel`]).
    pub fn live_channel(&self) -> String {
        names::notifications_channel(&self.key_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        Settings::from_config(&PluginConfig::from_pairs(pairs))
    }

    #[test]
    fn defaults_apply() {
        let settings = settings(&[]).expect("the defaults are valid");
        assert_eq!(settings.thresholds, Thresholds::default());
        assert_eq!(settings.notifications_topic, "delivery-notifications");
        assert!(settings.fences.is_empty());
        assert_eq!(settings.state_key("d1"), "geofence:d1");
    }

    #[test]
    fn values_are_read() {
        let settings = settings(&[
            ("key_prefix", "t1:"),
            ("notifications_topic", "n1"),
            ("fences", "hub:circle:1,2,30"),
            ("hysteresis_m", "0"),
            ("near_m", "300"),
            ("arrived_m", "20.5"),
        ])
        .expect("valid config");
        assert_eq!(settings.state_key("d1"), "t1:geofence:d1");
        assert_eq!(settings.notifications_topic, "n1");
        assert_eq!(settings.fences.len(), 1);
        assert_eq!(
            settings.thresholds,
            Thresholds {
                hysteresis_m: 0.0,
                near_m: 300.0,
                arrived_m: 20.5
            }
        );
    }

    #[test]
    fn bad_values_name_the_key_and_value() {
        /// Config pairs, then two texts the error must hold.
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: [Case; 6] = [
            (&[("near_m", "far")], "`near_m`", "\"far\""),
            (&[("hysteresis_m", "-1")], "`hysteresis_m`", "\"-1\""),
            (&[("arrived_m", "0")], "`arrived_m`", "\"0\""),
            (&[("arrived_m", "600")], "`arrived_m`", "600"),
            (&[("fences", "hub:circle:1,2")], "`fences`", "fence `hub`"),
            (&[("fence", "hub:circle:1,2,3")], "unknown config keys", "fence"),
        ];
        for (pairs, key, value) in cases {
            let error = settings(pairs).expect_err("invalid config");
            assert!(error.contains(key) && error.contains(value), "{pairs:?}: {error}");
        }
    }
}
