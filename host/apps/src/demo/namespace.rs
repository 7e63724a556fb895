//! The namespace of one demo run: its own key prefix in the kv store and
//! its own tables in the database, so that what an earlier run left in a
//! Redis or a PostgreSQL that outlives it (drivers, trips, ETAs, history
//! rows) never shows in this run's map, figures or ETAs.
//!
//! A prefix rather than clearing the stores first: the demo cannot tell an
//! earlier demo's `driver:*` keys from anyone else's, so it touches only
//! names it made up. The config is rewritten before anything starts:
//! every plugin with kv grants gets the prefix in front of its
//! `key_prefix` and of each granted prefix (the example plugins put every
//! key, the GEO set and every pub/sub channel under `key_prefix`), and
//! every table a plugin is granted is renamed `{table}_{run}`, in the
//! grants and in any config value naming it (db-writer's `table`). The
//! tracking server and the figures line read under the same prefix, and
//! the config file read again after an edit is rewritten the same way
//! before it reloads plugins. An earlier run's keys and tables stay where
//! they were.

use fleethost_core::config::Config;

/// The names of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// Prepended to every key and channel of the run, e.g. `demo-1795554943-3fa2b1c0:`.
    pub key_prefix: String,
    /// The run's tables, each as (the config's name, the run's name).
    pub tables: Vec<(String, String)>,
}

/// A run id no earlier run used: the start time in seconds and a random
/// part (two demos started in the same second do not meet).
pub fn new_run_id() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    format!("demo-{seconds}-{:08x}", rand::random::<u32>())
}

impl Namespace {
    /// Rewrites `config` so that the run `run_id` (lowercase letters,
    /// digits and `-`, as [`new_run_id`] makes) writes under its own names,
    /// and returns them.
    pub fn apply(config: &mut Config, run_id: &str) -> Self {
        let key_prefix = format!("{run_id}:");
        let table_suffix = run_id.replace('-', "_");
        let mut tables: Vec<(String, String)> = config
            .plugins
            .values()
            .flat_map(|plugin| plugin.grants.sql_write.iter().chain(&plugin.grants.sql_read))
            .map(|table| (table.clone(), format!("{table}_{table_suffix}")))
            .collect();
        tables.sort();
        tables.dedup();
        let renamed = |name: &String| {
            tables
                .iter()
                .find(|(configured, _)| configured == name)
                .map_or_else(|| name.clone(), |(_, run)| run.clone())
        };
        for plugin in config.plugins.values_mut() {
            let grants = &mut plugin.grants;
            if !grants.kv_read.is_empty() || !grants.kv_write.is_empty() || !grants.publish_channels.is_empty() {
                let own = plugin.config.get("key_prefix").cloned().unwrap_or_default();
                plugin
                    .config
                    .insert("key_prefix".to_string(), format!("{key_prefix}{own}"));
                for granted in grants
                    .kv_read
                    .iter_mut()
                    .chain(grants.kv_write.iter_mut())
                    .chain(grants.publish_channels.iter_mut())
                {
                    *granted = format!("{key_prefix}{granted}");
                }
            }
            for table in grants.sql_write.iter_mut().chain(grants.sql_read.iter_mut()) {
                *table = renamed(table);
            }
            for value in plugin.config.values_mut() {
                *value = renamed(value);
            }
        }
        Self { key_prefix, tables }
    }

    /// The line the demo says at start.
    pub fn describe(&self) -> String {
        let tables = match self.tables.len() {
            0 => "no tables".to_string(),
            1 => format!("table {}", self.tables[0].1),
            _ => format!(
                "tables {}",
                self.tables
                    .iter()
                    .map(|(_, run)| run.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!(
            "this run's namespace: key prefix {}, {tables} (an earlier run's data stays under its own)",
            self.key_prefix
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_gets_the_run_s_prefix_and_tables_everywhere() {
        let mut config = Config::parse(
            include_str!("../../../../examples/fleethost.toml"),
            std::path::Path::new("examples/fleethost.toml"),
        )
        .expect("the example config");
        let namespace = Namespace::apply(&mut config, "demo-17-00ab");
        assert_eq!(namespace.key_prefix, "demo-17-00ab:");
        assert_eq!(
            namespace.tables,
            [(
                "driver_locations".to_string(),
                "driver_locations_demo_17_00ab".to_string()
            )]
        );
        let live = &config.plugins["live-location"];
        assert_eq!(live.config["key_prefix"], "demo-17-00ab:");
        assert_eq!(
            live.grants.kv_write,
            ["demo-17-00ab:driver:", "demo-17-00ab:drivers:geo"]
        );
        assert_eq!(
            live.grants.publish_channels,
            ["demo-17-00ab:live:driver:", "demo-17-00ab:live:order:"]
        );
        assert_eq!(config.plugins["eta"].config["key_prefix"], "demo-17-00ab:");
        assert_eq!(config.plugins["eta"].grants.kv_write, ["demo-17-00ab:eta:"]);
        assert_eq!(
            config.plugins["eta"].grants.publish_channels,
            ["demo-17-00ab:live:eta:"]
        );
        let history = &config.plugins["db-writer"];
        assert_eq!(history.config["table"], "driver_locations_demo_17_00ab");
        assert_eq!(history.grants.sql_write, ["driver_locations_demo_17_00ab"]);
        assert!(
            !history.config.contains_key("key_prefix"),
            "db-writer has no kv grants and refuses unknown config keys"
        );
        assert_eq!(
            namespace.describe(),
            "this run's namespace: key prefix demo-17-00ab:, table driver_locations_demo_17_00ab (an earlier run's data stays under its own)"
        );
    }

    #[test]
    fn run_ids_differ_and_make_valid_table_names() {
        let (first, second) = (new_run_id(), new_run_id());
        assert_ne!(first, second);
        let suffix = first.replace('-', "_");
        assert!(
            suffix
                .chars()
                .all(|character| character.is_ascii_lowercase() || character.is_ascii_digit() || character == '_'),
            "{suffix}"
        );
    }
}
