//! The Avro and Protobuf payload formats on any payload: the first byte
//! picks a format and framing (Avro Confluent, bare or container; Protobuf
//! Confluent or bare; over the repository's schemas), the rest is the
//! payload. Decoding never panics, never allocates what a length prefix
//! claims beyond the payload, returns an error of a documented kind, and a
//! fix it accepts keeps the checks of `fleethost_fuzz` and, written again in
//! the same format, reads back the same (when dated after 1973: an earlier
//! epoch millisecond count reads as seconds, in every format).

#![no_main]

use std::sync::OnceLock;

use fleethost_event::EventsConfig;
use fleethost_event::format::{Encoding, FormatConfig, Framing, PayloadFormat};
use fleethost_fuzz::{check_error, check_location};
use libfuzzer_sys::fuzz_target;

/// Epoch values below this are seconds (docs/events.md).
const EPOCH_MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// The schemas, built into the target so that it runs from any folder.
const SCHEMAS: [(&str, &str); 2] = [
    ("location.avsc", include_str!("../../schemas/location.avsc")),
    ("fleethost.proto", include_str!("../../schemas/fleethost.proto")),
];

/// The formats an input's first byte picks from.
fn formats() -> &'static [PayloadFormat] {
    static FORMATS: OnceLock<Vec<PayloadFormat>> = OnceLock::new();
    FORMATS.get_or_init(|| {
        let folder = std::env::temp_dir().join(format!("fleethost-fuzz-schemas-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("schema folder");
        for (name, text) in SCHEMAS {
            std::fs::write(folder.join(name), text).expect("write a schema");
        }
        let cases = [
            (Encoding::Avro, Framing::Confluent),
            (Encoding::Avro, Framing::Bare),
            (Encoding::Avro, Framing::Container),
            (Encoding::Protobuf, Framing::Confluent),
            (Encoding::Protobuf, Framing::Bare),
        ];
        cases
            .into_iter()
            .map(|(encoding, framing)| {
                let config = FormatConfig {
                    encoding,
                    framing: Some(framing),
                    schema: Some(
                        if encoding == Encoding::Avro {
                            "location.avsc"
                        } else {
                            "fleethost.proto"
                        }
                        .into(),
                    ),
                    message: (encoding == Encoding::Protobuf).then(|| "fleethost.v1.Location".to_owned()),
                    schema_id: (framing == Framing::Confluent).then_some(1),
                    writer_schemas: Default::default(),
                    registry_url: None,
                };
                PayloadFormat::load(&config, &folder).expect("the format loads")
            })
            .collect()
    })
}

fuzz_target!(|input: &[u8]| {
    let Some((selector, payload)) = input.split_first() else {
        return;
    };
    let formats = formats();
    let format = &formats[usize::from(*selector) % formats.len()];
    let bounds = EventsConfig::default();
    let message_timestamp_ms = Some(1_764_000_000_000);
    match format.decode_location(Some(payload), message_timestamp_ms, &bounds) {
        Ok(location) => {
            check_location(&location, message_timestamp_ms, &bounds);
            // Written again, the event time is epoch milliseconds; below
            // 10^11 (1973) a number reads as seconds in every format, as in
            // JSON, so only later times can read back the same.
            if location.timestamp_ms >= EPOCH_MILLIS_THRESHOLD {
                let written = format
                    .encode(&location.to_fields())
                    .expect("an accepted fix can be written again");
                assert_eq!(
                    format
                        .decode_location(Some(&written), message_timestamp_ms, &bounds)
                        .as_ref(),
                    Ok(&location),
                    "a fix does not read back as it was written"
                );
            }
        }
        Err(error) => check_error(&error),
    }
});
