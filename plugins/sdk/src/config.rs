//! Typed access to the string map a plugin receives at `init`.
//!
//! Every getter takes the key's default and fails with a message naming the
//! key and the value, so a plugin refuses a bad config at `init` (the host
//! then refuses that plugin version) instead of misbehaving on the first
//! batch. A default goes through the same checks as a configured value.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

/// The plugin's config map from the host's config file, with helpers that turn
/// a missing or malformed value into an error naming the key.
#[derive(Debug, Clone, Default)]
pub struct PluginConfig {
    values: BTreeMap<String, String>,
}

impl PluginConfig {
    /// Wraps the pairs handed to `init`.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self {
            values: pairs.into_iter().collect(),
        }
    }

    /// A config from literal pairs, as tests write it.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self::new(
            pairs
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        )
    }

    /// The value of `key`, or `default` when the key is absent.
    pub fn string_or(&self, key: &str, default: &str) -> String {
        self.values.get(key).cloned().unwrap_or_else(|| default.to_string())
    }

    /// The value of `key` (`default` when absent), which must hold more than
    /// white space: for names such as topics, where an empty one would only
    /// fail later, at the first send.
    pub fn non_empty_or(&self, key: &str, default: &str) -> Result<String, String> {
        let value = self.string_or(key, default);
        if value.trim().is_empty() {
            return Err(format!("config key `{key}` must not be empty"));
        }
        Ok(value)
    }

    /// The number at `key` (`default` when absent): any finite value of `T`,
    /// blanks around it ignored.
    pub fn number_or<T: ConfigNumber>(&self, key: &str, default: T) -> Result<T, String> {
        self.number_in(key, default, Bound::Any)
    }

    /// The number at `key` (`default` when absent), which must be > 0: for
    /// divisors and distances where 0 would disable the rule silently.
    pub fn positive_or<T: ConfigNumber>(&self, key: &str, default: T) -> Result<T, String> {
        self.number_in(key, default, Bound::Positive)
    }

    /// The number at `key` (`default` when absent), which must be >= `low`.
    pub fn at_least_or<T: ConfigNumber>(&self, key: &str, default: T, low: T) -> Result<T, String> {
        self.number_in(key, default, Bound::AtLeast(low))
    }

    /// A time to live given in whole seconds (at least 1) at `key`
    /// (`default_s` when absent), in milliseconds, as `kv` expiries take it.
    /// Whole seconds because the store keeps expiries to the second.
    pub fn ttl_ms_or(&self, key: &str, default_s: u64) -> Result<u64, String> {
        let seconds: f64 = self.at_least_or(key, default_s as f64, 1.0)?;
        if seconds.fract() != 0.0 {
            return Err(format!("config key `{key}` = {seconds}: expected whole seconds"));
        }
        Ok((seconds * 1000.0) as u64)
    }

    /// The number at `key` (`default` when absent) if it is finite and within
    /// `bound`. One function for every bound, never inlined: a plugin's wasm
    /// then holds one copy of it however many keys the plugin reads.
    #[inline(never)]
    fn number_in<T: ConfigNumber>(&self, key: &str, default: T, bound: Bound<T>) -> Result<T, String> {
        let text = self.string_or(key, &default.to_string());
        let accepted = |value: &T| match bound {
            Bound::Any => true,
            Bound::Positive => *value > T::ZERO,
            Bound::AtLeast(low) => *value >= low,
        };
        text.trim()
            .parse::<T>()
            .ok()
            .filter(|value| value.is_finite() && accepted(value))
            .ok_or_else(|| {
                let expected = match bound {
                    Bound::Any => "a number".to_string(),
                    Bound::Positive => "a number > 0".to_string(),
                    Bound::AtLeast(low) => format!("a number >= {low}"),
                };
                format!("config key `{key}` = {text:?}: expected {expected}")
            })
    }

    /// Fails with a message naming every key the plugin does not know, so a
    /// typo in the host's config file does not go unnoticed.
    pub fn reject_unknown(&self, known: &[&str]) -> Result<(), String> {
        let unknown: Vec<&str> = self
            .values
            .keys()
            .map(String::as_str)
            .filter(|key| !known.contains(key))
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(format!("unknown config keys {unknown:?}; this plugin knows {known:?}"))
        }
    }
}

/// The values a numeric key accepts (always finite).
#[derive(Debug, Clone, Copy)]
enum Bound<T> {
    Any,
    Positive,
    AtLeast(T),
}

/// A number type the config getters read: the floats and the integers.
pub trait ConfigNumber: FromStr + Display + PartialOrd + Copy {
    /// Zero, for [`PluginConfig::positive_or`].
    const ZERO: Self;

    /// Whether the value is finite: a config value of NaN or infinity is
    /// refused, as no rule can use it.
    fn is_finite(self) -> bool;
}

macro_rules! float_config_number {
    ($($float:ty),*) => {$(
        impl ConfigNumber for $float {
            const ZERO: Self = 0.0;

            fn is_finite(self) -> bool {
                <$float>::is_finite(self)
            }
        }
    )*};
}

macro_rules! integer_config_number {
    ($($integer:ty),*) => {$(
        impl ConfigNumber for $integer {
            const ZERO: Self = 0;

            fn is_finite(self) -> bool {
                true
            }
        }
    )*};
}

float_config_number!(f32, f64);
integer_config_number!(i32, i64, u16, u32, u64, usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_keys_take_the_default() {
        let config = PluginConfig::default();
        assert_eq!(config.string_or("topic", "t"), "t");
        assert_eq!(config.non_empty_or("topic", "t"), Ok("t".to_string()));
        assert_eq!(config.number_or("x", -1.5), Ok(-1.5));
        assert_eq!(config.positive_or("x", 70.0), Ok(70.0));
        assert_eq!(config.at_least_or("x", 3u32, 1), Ok(3));
        assert_eq!(config.ttl_ms_or("ttl_s", 3600), Ok(3_600_000));
    }

    #[test]
    fn values_are_parsed_with_blanks_ignored() {
        let config = PluginConfig::from_pairs(&[("x", " 2.5 "), ("n", "7"), ("ttl_s", "60")]);
        assert_eq!(config.number_or("x", 0.0), Ok(2.5));
        assert_eq!(config.positive_or::<u64>("n", 1), Ok(7));
        assert_eq!(config.ttl_ms_or("ttl_s", 1), Ok(60_000));
    }

    #[test]
    fn bad_values_name_the_key_and_the_value() {
        let config = PluginConfig::from_pairs(&[
            ("fast", "fast"),
            ("zero", "0"),
            ("low", "0.5"),
            ("nan", "NaN"),
            ("topic", " "),
            ("ttl_s", "1.5"),
            ("short_ttl_s", "0"),
        ]);
        let error = config.number_or("fast", 1.0).expect_err("not a number");
        assert_eq!(error, r#"config key `fast` = "fast": expected a number"#);
        let error = config.positive_or("zero", 1.0).expect_err("not positive");
        assert_eq!(error, r#"config key `zero` = "0": expected a number > 0"#);
        let error = config.at_least_or("low", 1.0, 1.0).expect_err("below 1");
        assert_eq!(error, r#"config key `low` = "0.5": expected a number >= 1"#);
        let error = config.number_or("nan", 1.0).expect_err("not finite");
        assert!(error.contains("`nan`") && error.contains("NaN"), "{error}");
        let error = config.non_empty_or("topic", "t").expect_err("blank");
        assert_eq!(error, "config key `topic` must not be empty");
        let error = config.ttl_ms_or("ttl_s", 1).expect_err("fractional");
        assert_eq!(error, "config key `ttl_s` = 1.5: expected whole seconds");
        let error = config.ttl_ms_or("short_ttl_s", 1).expect_err("below 1 s");
        assert_eq!(error, r#"config key `short_ttl_s` = "0": expected a number >= 1"#);
    }

    #[test]
    fn unknown_keys_are_named() {
        let config = PluginConfig::from_pairs(&[("topic", "t"), ("topik", "t")]);
        assert_eq!(config.reject_unknown(&["topic", "topik"]), Ok(()));
        let error = config.reject_unknown(&["topic"]).expect_err("a typo");
        assert!(error.contains("topik"), "{error}");
    }
}
