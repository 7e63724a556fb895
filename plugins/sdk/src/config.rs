//! Typed access to the string map a plugin receives at `init`.

use std::collections::BTreeMap;

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

    /// The value of `key`, or `default` when the key is absent.
    pub fn string_or(&self, key: &str, default: &str) -> String {
        self.values.get(key).cloned().unwrap_or_else(|| default.to_string())
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
