//! The fare plugin's config keys, their defaults and their validation.
//!
//! Every key is optional; a malformed or out-of-range value fails `init` with
//! a message naming the key and the value.

use fleethost_plugin_sdk::PluginConfig;

use crate::odometer::OdometerRules;
use crate::pricing::{Surge, Tariff};

/// Every config key the plugin knows.
pub const KEYS: &[&str] = &[
    "key_prefix",
    "fare_topic",
    "fare_ttl_s",
    "base_fare",
    "per_km",
    "per_minute",
    "minimum_fare",
    "currency",
    "surge",
    "jitter_m",
    "max_speed_mps",
];

/// The plugin's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Prepended to every kv key (default empty).
    pub key_prefix: String,
    /// Topic of the final fares (default `fare-updates`).
    pub fare_topic: String,
    /// Expiry of the `fare:{order_id}` hash in milliseconds (`fare_ttl_s`,
    /// default 86400 s), renewed on every write.
    pub fare_ttl_ms: u64,
    pub tariff: Tariff,
    pub odometer: OdometerRules,
}

impl Settings {
    /// Reads and validates the config map handed to `init`.
    pub fn from_config(config: &PluginConfig) -> Result<Self, String> {
        config.reject_unknown(KEYS)?;
        let fare_topic = non_empty(config, "fare_topic", "fare-updates")?;
        let currency = non_empty(config, "currency", "INR")?;
        let fare_ttl_s = number(config, "fare_ttl_s", 86_400.0, Range::AtLeast(1.0))?;
        if fare_ttl_s.fract() != 0.0 {
            return Err(format!(
                "config key `fare_ttl_s` = {fare_ttl_s}: expected whole seconds"
            ));
        }
        Ok(Self {
            key_prefix: config.string_or("key_prefix", ""),
            fare_topic,
            fare_ttl_ms: (fare_ttl_s * 1000.0) as u64,
            tariff: Tariff {
                base_fare: number(config, "base_fare", 30.0, Range::AtLeast(0.0))?,
                per_km: number(config, "per_km", 12.0, Range::AtLeast(0.0))?,
                per_minute: number(config, "per_minute", 1.5, Range::AtLeast(0.0))?,
                minimum_fare: number(config, "minimum_fare", 50.0, Range::AtLeast(0.0))?,
                currency,
                surge: Surge::parse(&config.string_or("surge", ""))?,
            },
            odometer: OdometerRules {
                jitter_m: number(config, "jitter_m", 5.0, Range::AtLeast(0.0))?,
                max_speed_mps: number(config, "max_speed_mps", 70.0, Range::Positive)?,
            },
        })
    }
}

fn non_empty(config: &PluginConfig, key: &str, default: &str) -> Result<String, String> {
    let value = config.string_or(key, default);
    if value.trim().is_empty() {
        return Err(format!("config key `{key}` must not be empty"));
    }
    Ok(value)
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
        assert_eq!(settings.fare_topic, "fare-updates");
        assert_eq!(settings.fare_ttl_ms, 86_400_000);
        let tariff = &settings.tariff;
        assert_eq!(
            (tariff.base_fare, tariff.per_km, tariff.per_minute, tariff.minimum_fare),
            (30.0, 12.0, 1.5, 50.0)
        );
        assert_eq!(tariff.currency, "INR");
        assert_eq!(tariff.surge.multiplier(Some("south")), 1.0);
        assert_eq!(
            (settings.odometer.jitter_m, settings.odometer.max_speed_mps),
            (5.0, 70.0)
        );
    }

    #[test]
    fn bad_values_name_the_key_and_the_value() {
        let error = settings(&[("per_km", "-1")]).expect_err("negative");
        assert!(error.contains("per_km") && error.contains("-1"), "{error}");
        let error = settings(&[("surge", "south:1.5")]).expect_err("bad surge");
        assert!(error.contains("surge") && error.contains("south:1.5"), "{error}");
        let error = settings(&[("currency", " ")]).expect_err("empty currency");
        assert!(error.contains("currency"), "{error}");
        let error = settings(&[("farre_topic", "x")]).expect_err("unknown");
        assert!(error.contains("farre_topic"), "{error}");
    }
}
