//! The example config with every plugin's component path replaced by
//! `native:<name>`: what `fleethost` refuses and `fleethost-native` runs.
//! Self-contained, so that tests without the rest of `support` include it.

/// The text of `examples/fleethost.toml` with each of the five plugins'
/// paths made `native:<name>`.
pub fn native_example_text() -> String {
    let mut config = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/fleethost.toml"))
        .expect("examples/fleethost.toml");
    for (file, name) in [
        ("live_location", "live-location"),
        ("db_writer", "db-writer"),
        ("eta", "eta"),
        ("fare", "fare"),
        ("geofence", "geofence"),
    ] {
        config = config.replace(
            &format!("\"../target/wasm32-wasip2/plugin/{file}.wasm\""),
            &format!("\"native:{name}\""),
        );
    }
    assert!(!config.contains(".wasm\""), "every plugin path replaced:\n{config}");
    config
}
