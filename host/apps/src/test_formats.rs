//! The payload formats the unit tests of the gateway, the simulator and
//! `tail` write and read with: the schemas the project ships (`schemas/`),
//! loaded as a host config names them, so that a test fails when an app
//! and the schemas stop agreeing. Also a schema of the tests' own, for a
//! format that refuses some fixes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use fleethost_event::format::{Encoding, FormatConfig, Framing, PayloadFormat};

/// The schema id the tests' Confluent-framed formats write.
pub const SCHEMA_ID: u32 = 7;

/// The project's `schemas/` folder.
pub fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

/// Avro with Confluent framing (id [`SCHEMA_ID`]) over `schema`, a file
/// of `schemas/` (`location.avsc`, `order.avsc`) or an absolute path.
pub fn avro(schema: &str) -> PayloadFormat {
    load(Encoding::Avro, Some(schema), None)
}

/// Protobuf with Confluent framing (id [`SCHEMA_ID`]): `message` of
/// `schemas/fleethost.proto` (`fleethost.v1.Location`,
/// `fleethost.v1.OrderEvent`).
pub fn protobuf(message: &str) -> PayloadFormat {
    load(Encoding::Protobuf, Some("fleethost.proto"), Some(message))
}

/// An Avro schema of locations that requires `speed`: a valid fix without
/// one cannot be written in it.
pub fn avro_requiring_speed() -> PayloadFormat {
    // A file per call: tests running side by side never read one half written.
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "fleethost-apps-{}-{call}-speed-required.avsc",
        std::process::id()
    ));
    let schema = r#"{"type": "record", "name": "Location", "fields": [
        {"name": "driver_id", "type": "string"},
        {"name": "latitude", "type": "double"},
        {"name": "longitude", "type": "double"},
        {"name": "speed", "type": "double"}]}"#;
    std::fs::write(&path, schema).expect("write the test schema");
    avro(path.to_str().expect("a UTF-8 temp path"))
}

fn load(encoding: Encoding, schema: Option<&str>, message: Option<&str>) -> PayloadFormat {
    let config = FormatConfig {
        encoding,
        framing: Some(Framing::Confluent),
        schema: schema.map(PathBuf::from),
        message: message.map(str::to_owned),
        schema_id: Some(SCHEMA_ID),
        writer_schemas: Default::default(),
        registry_url: None,
    };
    PayloadFormat::load(&config, &schemas()).unwrap_or_else(|(key, message)| panic!("format.{key}: {message}"))
}
