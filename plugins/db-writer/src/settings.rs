//! The db-writer's config map, read and checked once at `init`.
//!
//! The only key is `table`. It is checked here, at `init`, rather than left to
//! the host's `invalid` error on the first batch: a typo then refuses the plugin
//! version with a message naming the key, before any partition stalls on it.

use fleethost_plugin_sdk::PluginConfig;

/// Config key: the history table, `name` or `schema.name`.
pub const TABLE_KEY: &str = "table";

/// The table written when the config names none (the history table the rest of the system reads).
pub const DEFAULT_TABLE: &str = "driver_locations";

/// Every key this plugin accepts; anything else refuses the instance.
pub const KNOWN_KEYS: &[&str] = &[TABLE_KEY];

/// PostgreSQL cuts identifiers longer than this many bytes, so a longer name
/// would silently address another table.
const MAX_IDENTIFIER_LEN: usize = 63;

/// Settings from the plugin's config map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The history table, `name` or `schema.name`, already validated.
    pub table: String,
}

impl Settings {
    /// Reads the config map handed to `init`; the error names the offending key
    /// and value.
    pub fn from_config(config: &PluginConfig) -> Result<Self, String> {
        config.reject_unknown(KNOWN_KEYS)?;
        let table = config.string_or(TABLE_KEY, DEFAULT_TABLE);
        if !is_table_name(&table) {
            return Err(format!(
                "config key {TABLE_KEY:?}: {table:?} is not a table name; use `name` or `schema.name`, \
                 each a lowercase identifier (a-z, 0-9, _, not starting with a digit, at most \
                 {MAX_IDENTIFIER_LEN} characters)"
            ));
        }
        Ok(Self { table })
    }
}

/// Whether `name` is `identifier` or `schema.identifier`.
pub fn is_table_name(name: &str) -> bool {
    match name.split_once('.') {
        Some((schema, table)) => is_identifier(schema) && is_identifier(table),
        None => is_identifier(name),
    }
}

/// Whether `name` is a lowercase SQL identifier that needs no case folding:
/// `[a-z_][a-z0-9_]*`, at most 63 bytes.
fn is_identifier(name: &str) -> bool {
    let mut characters = name.chars();
    let starts_well = characters
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first == '_');
    starts_well
        && name.len() <= MAX_IDENTIFIER_LEN
        && characters.all(|character| character.is_ascii_lowercase() || character.is_ascii_digit() || character == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        Settings::from_config(&PluginConfig::from_pairs(pairs))
    }

    #[test]
    fn an_empty_config_writes_driver_locations() {
        assert_eq!(
            settings(&[]),
            Ok(Settings {
                table: "driver_locations".into()
            })
        );
    }

    #[test]
    fn a_table_may_be_plain_or_schema_qualified() {
        for table in ["history", "test_42_locations", "_private", "fleet.driver_locations"] {
            assert_eq!(
                settings(&[("table", table)]),
                Ok(Settings { table: table.into() }),
                "{table}"
            );
        }
    }

    #[test]
    fn a_table_name_outside_lowercase_identifiers_is_refused_naming_the_key_and_value() {
        let too_long = "t".repeat(64);
        for table in [
            "",
            "Driver_Locations",
            "driver-locations",
            "9lives",
            "a.b.c",
            ".table",
            "schema.",
            "drop table x; --",
            "\"quoted\"",
            "tablé",
            too_long.as_str(),
        ] {
            let error = settings(&[("table", table)]).expect_err(table);
            assert!(error.contains("\"table\""), "{error}");
            assert!(error.contains(&format!("{table:?}")), "{error}");
        }
    }

    #[test]
    fn an_identifier_of_63_characters_is_accepted() {
        let longest = "t".repeat(63);
        assert!(is_table_name(&longest));
        assert!(is_table_name(&format!("{longest}.{longest}")));
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let error = settings(&[("table", "driver_locations"), ("tabel", "x")]).expect_err("typo");
        assert!(error.contains("tabel"), "{error}");
    }
}
