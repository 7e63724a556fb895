//! The configuration reference, generated from the config structs.
//!
//! The doc comments of [`Config`] and its parts are the one description of
//! every key: rustdoc shows them to the host's developers, and this module
//! renders the same text, with each key's type and its default as serde
//! applies it, into the table of `docs/configuration.md` for its users. A
//! unit test fails when that table is not what the structs say
//! (`FLEETHOST_BLESS=1` rewrites it), so the reference cannot drift from the
//! code.

use serde_json::{Map, Value};

use super::Config;

/// The line before the generated table in `docs/configuration.md`.
pub const BEGIN_MARKER: &str = "<!-- BEGIN configuration reference: generated from the config structs' doc comments by \
     `FLEETHOST_BLESS=1 cargo test -p fleethost-core --lib config::`; do not edit by hand -->";

/// The line after the generated table in `docs/configuration.md`.
pub const END_MARKER: &str = "<!-- END configuration reference -->";

/// The Markdown table of every config key: key, type, default, meaning.
pub fn markdown() -> String {
    let schema = schemars::schema_for!(Config);
    let root = schema.as_object().expect("a struct's schema is an object");
    let definitions = root
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut rows = Vec::new();
    Renderer {
        definitions: &definitions,
        rows: &mut rows,
    }
    .section("", root);
    let mut text = String::from("| key | type | default | meaning |\n|---|---|---|---|\n");
    for row in rows {
        text.push_str(&row);
        text.push('\n');
    }
    text
}

/// Replaces what lies between [`BEGIN_MARKER`] and [`END_MARKER`] in
/// `document` with `table`; `None` when a marker is missing.
pub fn with_table(document: &str, table: &str) -> Option<String> {
    let start = document.find(BEGIN_MARKER)? + BEGIN_MARKER.len();
    let end = start + document[start..].find(END_MARKER)?;
    Some(format!("{}\n{table}{}", &document[..start], &document[end..]))
}

struct Renderer<'a> {
    definitions: &'a Map<String, Value>,
    rows: &'a mut Vec<String>,
}

impl<'a> Renderer<'a> {
    /// One row per key of the struct `schema`, recursing into the structs it
    /// holds (`kafka.`), lists of them (`pipelines[].`) and maps of them
    /// (`plugins.NAME.`).
    fn section(&mut self, prefix: &str, schema: &'a Map<String, Value>) {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            return;
        };
        for (name, property) in properties {
            let property = property.as_object().expect("a property's schema is an object");
            let key = format!("{prefix}{name}");
            if let Some(section) = self.referenced(property) {
                self.section(&format!("{key}."), section);
            } else if let Some(section) = property
                .get("items")
                .and_then(Value::as_object)
                .and_then(|items| self.referenced(items))
            {
                self.section(&format!("{key}[]."), section);
            } else if let Some(section) = self.optional_section(property) {
                // An optional table: a row of its own, then its keys, which
                // are required or defaulted within it.
                self.leaf(&key, property, false);
                self.section(&format!("{key}."), section);
            } else if let Some(section) = property
                .get("additionalProperties")
                .and_then(Value::as_object)
                .and_then(|values| self.referenced(values))
            {
                self.section(&format!("{key}.NAME."), section);
            } else {
                self.leaf(&key, property, required.contains(&name.as_str()));
            }
        }
    }

    /// The struct a `$ref` points to, when it is one (an enum is a leaf).
    fn referenced(&self, schema: &Map<String, Value>) -> Option<&'a Map<String, Value>> {
        let name = schema.get("$ref")?.as_str()?.strip_prefix("#/$defs/")?;
        let definition = self.definitions.get(name)?.as_object()?;
        definition.contains_key("properties").then_some(definition)
    }

    /// The struct of an `Option<Struct>` field (`anyOf` a `$ref` and null).
    fn optional_section(&self, schema: &Map<String, Value>) -> Option<&'a Map<String, Value>> {
        schema
            .get("anyOf")?
            .as_array()?
            .iter()
            .filter_map(Value::as_object)
            .find_map(|choice| self.referenced(choice))
    }

    fn leaf(&mut self, key: &str, property: &Map<String, Value>, required: bool) {
        let definition = |reference: &Value| {
            reference
                .as_str()
                .and_then(|reference| reference.strip_prefix("#/$defs/"))
                .and_then(|name| self.definitions.get(name))
                .and_then(Value::as_object)
        };
        let is_enum =
            |definition: &Map<String, Value>| definition.contains_key("oneOf") || definition.contains_key("enum");
        // A field's own type, or an optional enum's (`anyOf` it and null).
        let enumeration = property.get("$ref").and_then(definition).or_else(|| {
            property
                .get("anyOf")?
                .as_array()?
                .iter()
                .filter_map(|choice| choice.get("$ref").and_then(definition))
                .find(|definition| is_enum(definition))
        });
        let (kind, variants) = match enumeration {
            Some(enumeration) if is_enum(enumeration) => variants(enumeration),
            // A type of its own that is written as a plain value.
            Some(definition) => (kind(definition), String::new()),
            None => (kind(property), String::new()),
        };
        let default = if required {
            "required".to_string()
        } else {
            property
                .get("default")
                .map(toml_value)
                .unwrap_or_else(|| "absent".into())
        };
        let mut meaning = property
            .get("description")
            .and_then(Value::as_str)
            .map(prose)
            .unwrap_or_default();
        if !variants.is_empty() {
            meaning = format!("{meaning} {variants}");
        }
        self.rows.push(format!(
            "| `{key}` | {kind} | {default} | {} |",
            meaning.replace('|', "\\|")
        ));
    }
}

/// What a value of `schema` is, in TOML's words.
fn kind(schema: &Map<String, Value>) -> String {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .filter(|name| *name != "null")
            .collect(),
        _ => Vec::new(),
    };
    // What the list's items or the table's values are.
    let inner = |key: &str| schema.get(key).and_then(Value::as_object).map(kind).unwrap_or_default();
    if types.is_empty() && schema.contains_key("anyOf") {
        return "table".to_string();
    }
    match types.first().copied() {
        Some("array") => format!("list of {}s", inner("items")),
        Some("object") => format!("table of {}s", inner("additionalProperties")),
        Some(name) => name.to_string(),
        None => "value".to_string(),
    }
}

/// An enum's values (`"dead-letter"` or `"stop"`) and what each means.
fn variants(enumeration: &Map<String, Value>) -> (String, String) {
    let choices: Vec<(String, String)> = enumeration
        .get("oneOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|variant| {
            let value = variant.get("const")?;
            let description = variant
                .get("description")
                .and_then(Value::as_str)
                .map(prose)
                .unwrap_or_default();
            Some((toml_value(value), description))
        })
        .collect();
    let kind = choices
        .iter()
        .map(|(value, _)| value.as_str())
        .collect::<Vec<_>>()
        .join(" or ");
    let meanings = choices
        .iter()
        .map(|(value, description)| format!("{value}: {description}"))
        .collect::<Vec<_>>()
        .join(" ");
    (kind, meanings)
}

/// A JSON default written as it would be in the TOML file.
fn toml_value(value: &Value) -> String {
    match value {
        Value::Null => "absent".into(),
        Value::String(text) => format!("`{text:?}`"),
        Value::Array(items) if items.is_empty() => "`[]`".into(),
        Value::Object(entries) if entries.is_empty() => "`{}`".into(),
        other => format!("`{other}`"),
    }
}

/// A doc comment as one line of a table cell: lines joined, rustdoc's
/// intra-doc links (`` [`path::Item`] ``) shown as code without the link.
fn prose(doc: &str) -> String {
    let joined = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut text = String::with_capacity(joined.len());
    let mut rest = joined.as_str();
    while let Some(start) = rest.find("[`") {
        let Some(length) = rest[start..].find("`]") else { break };
        let end = start + length;
        let next = &rest[end + 2..];
        if next.starts_with('(') {
            text.push_str(&rest[..end + 2]);
        } else {
            text.push_str(&rest[..start]);
            text.push_str(&rest[start + 1..end + 1]);
        }
        rest = next;
    }
    text.push_str(rest);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table in the docs is what the structs say; `FLEETHOST_BLESS=1`
    /// rewrites it after a change to a config key or its doc comment.
    #[test]
    fn the_configuration_reference_in_the_docs_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
        let document = std::fs::read_to_string(&path).expect("docs/configuration.md");
        let current = with_table(&document, &markdown()).expect("docs/configuration.md has the reference's markers");
        if std::env::var_os("FLEETHOST_BLESS").is_some() {
            std::fs::write(&path, &current).expect("rewrite docs/configuration.md");
        } else {
            assert!(
                document == current,
                "docs/configuration.md's configuration reference is stale: run \
                 `FLEETHOST_BLESS=1 cargo test -p fleethost-core --lib config::` and commit the result"
            );
        }
    }

    #[test]
    fn every_key_gets_a_row_with_its_default() {
        let table = markdown();
        for row in [
            "| `kafka.bootstrap_servers` | string | required |",
            "| `pipelines[].batch.max_events` | integer | `1000` |",
            "| `plugins.NAME.grants.kv_read` | list of strings | `[]` |",
            "| `kafka.properties` | table of strings | `{}` |",
            "| `admin.listen` | string | absent |",
            "| `pipelines[].failure.on_exhausted` | `\"dead-letter\"` or `\"stop\"` | `\"dead-letter\"` |",
        ] {
            assert!(table.contains(row), "no row starting {row} in\n{table}");
        }
    }

    #[test]
    fn doc_links_become_code() {
        assert_eq!(
            prose("see\n[`crate::a::B`] and [`c`](d.md)"),
            "see `crate::a::B` and [`c`](d.md)"
        );
    }

    #[test]
    fn the_table_goes_between_the_markers() {
        let document = format!("a\n{BEGIN_MARKER}\nold\n{END_MARKER}\nb\n");
        assert_eq!(
            with_table(&document, "new\n").as_deref(),
            Some(format!("a\n{BEGIN_MARKER}\nnew\n{END_MARKER}\nb\n").as_str())
        );
        assert_eq!(with_table("no markers", "new\n"), None);
    }
}
