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
        let fare_topic = config.non_empty_or("fare_topic", "fare-updates")?;
        let currency = config.non_empty_or("currency", "INR")?;
        let fare_ttl_ms = config.ttl_ms_or("fare_ttl_s", 86_400)?;
        Ok(Self {
            key_prefix: config.string_or("key_prefix", ""),
            fare_topic,
            fare_ttl_ms,
            tariff: Tariff {
                base_fare: config.at_least_or("base_fare", 30.0, 0.0)?,
                per_km: config.at_least_or("per_km", 12.0, 0.0)?,
                per_minute: config.at_least_or("per_minute", 1.5, 0.0)?,
                minimum_fare: config.at_least_or("minimum_fare", 50.0, 0.0)?,
                currency,
                surge: Surge::parse(&config.string_or("surge", ""))?,
            },
            odometer: OdometerRules {
                jitter_m: config.at_least_or("jitter_m", 5.0, 0.0)?,
                max_speed_mps: config.positive_or("max_speed_mps", 70.0)?,
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
