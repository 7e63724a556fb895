//! The eta plugin's config keys, their defaults and their validation.
//!
//! Every key is optional; a malformed or out-of-range value fails `init` with
//! a message naming the key and the value.

use fleethost_plugin_sdk::PluginConfig;

use crate::estimate::EstimateRules;
use crate::motion::MotionRules;

/// Every config key the plugin knows.
pub const KEYS: &[&str] = &[
    "key_prefix",
    "eta_topic",
    "eta_ttl_s",
    "route_factor",
    "default_speed_mps",
    "min_speed_mps",
    "max_speed_mps",
    "jitter_m",
    "stop_window_s",
    "speed_smoothing_s",
    "min_change_s",
    "min_change_ratio",
];

/// The plugin's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Prepended to every kv key (default empty).
    pub key_prefix: String,
    /// Topic of the published estimates (default `eta-updates`).
    pub eta_topic: String,
    /// Expiry of the `eta:{order_id}` hash in milliseconds (`eta_ttl_s`, default 3600 s).
    pub eta_ttl_ms: u64,
    pub motion: MotionRules,
    pub estimate: EstimateRules,
}

impl Settings {
    /// Reads and validates the config map handed to `init`.
    pub fn from_config(config: &PluginConfig) -> Result<Self, String> {
        config.reject_unknown(KEYS)?;
        Ok(Self {
            key_prefix: config.string_or("key_prefix", ""),
            eta_topic: config.non_empty_or("eta_topic", "eta-updates")?,
            eta_ttl_ms: config.ttl_ms_or("eta_ttl_s", 3600)?,
            motion: MotionRules {
                jitter_m: config.at_least_or("jitter_m", 5.0, 0.0)?,
                max_speed_mps: config.positive_or("max_speed_mps", 70.0)?,
                stop_window_s: config.positive_or("stop_window_s", 10.0)?,
                smoothing_s: config.positive_or("speed_smoothing_s", 20.0)?,
            },
            estimate: EstimateRules {
                route_factor: config.at_least_or("route_factor", 1.0, 1.0)?,
                default_speed_mps: config.positive_or("default_speed_mps", 5.0)?,
                min_speed_mps: config.positive_or("min_speed_mps", 2.0)?,
                min_change_s: config.at_least_or("min_change_s", 15.0, 0.0)?,
                min_change_ratio: config.at_least_or("min_change_ratio", 0.1, 0.0)?,
            },
        })
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
        let settings = settings(&[]).expect("defaults are valid");
        assert_eq!(settings.eta_topic, "eta-updates");
        assert_eq!(settings.eta_ttl_ms, 3_600_000);
        assert_eq!(settings.estimate.route_factor, 1.0);
        assert_eq!(settings.estimate.min_change_s, 15.0);
        assert_eq!(settings.motion.jitter_m, 5.0);
    }

    #[test]
    fn bad_values_name_the_key_and_the_value() {
        let error = settings(&[("route_factor", "0.5")]).expect_err("below 1");
        assert!(error.contains("route_factor") && error.contains("0.5"), "{error}");
        let error = settings(&[("min_speed_mps", "fast")]).expect_err("not a number");
        assert!(error.contains("min_speed_mps") && error.contains("fast"), "{error}");
        let error = settings(&[("eta_ttl_s", "1.5")]).expect_err("fractional");
        assert!(error.contains("eta_ttl_s"), "{error}");
        let error = settings(&[("etatopic", "x")]).expect_err("unknown");
        assert!(error.contains("etatopic"), "{error}");
    }
}
