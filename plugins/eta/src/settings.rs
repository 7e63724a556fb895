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
        let eta_topic = config.string_or("eta_topic", "eta-updates");
        if eta_topic.trim().is_empty() {
            return Err("config key `eta_topic` must not be empty".into());
        }
        let eta_ttl_s = number(config, "eta_ttl_s", 3600.0, Range::AtLeast(1.0))?;
        if eta_ttl_s.fract() != 0.0 {
            return Err(format!("config key `eta_ttl_s` = {eta_ttl_s}: expected whole seconds"));
        }
        Ok(Self {
            key_prefix: config.string_or("key_prefix", ""),
            eta_topic,
            eta_ttl_ms: (eta_ttl_s * 1000.0) as u64,
            motion: MotionRules {
                jitter_m: number(config, "jitter_m", 5.0, Range::AtLeast(0.0))?,
                max_speed_mps: number(config, "max_speed_mps", 70.0, Range::Positive)?,
                stop_window_s: number(config, "stop_window_s", 10.0, Range::Positive)?,
                smoothing_s: number(config, "speed_smoothing_s", 20.0, Range::Positive)?,
            },
            estimate: EstimateRules {
                route_factor: number(config, "route_factor", 1.0, Range::AtLeast(1.0))?,
                default_speed_mps: number(config, "default_speed_mps", 5.0, Range::Positive)?,
                min_speed_mps: number(config, "min_speed_mps", 2.0, Range::Positive)?,
                min_change_s: number(config, "min_change_s", 15.0, Range::AtLeast(0.0))?,
                min_change_ratio: number(config, "min_change_ratio", 0.1, Range::AtLeast(0.0))?,
            },
        })
    }
}

/// The values a numeric key accepts (always finite).
#[derive(Debug, Clone, Copy)]
enum Range {
    Positive,
    AtLeast(f64),
}

/// The number at `key`, `default` when absent.
fn number(config: &PluginConfig, key: &str, default: f64, range: Range) -> Result<f64, String> {
    let text = config.string_or(key, &default.to_string());
    let value = text.trim().parse::<f64>().ok().filter(|value| value.is_finite());
    let (accepted, expectation) = match range {
        Range::Positive => (value.filter(|value| *value > 0.0), "a number > 0".to_string()),
        Range::AtLeast(low) => (value.filter(|value| *value >= low), format!("a number >= {low}")),
    };
    accepted.ok_or_else(|| format!("config key `{key}` = {text:?}: expected {expectation}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        let pairs = pairs.iter().map(|(key, value)| (key.to_string(), value.to_string()));
        Settings::from_config(&PluginConfig::new(pairs.collect()))
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
