//! What the gateway produces for a valid fix, in its topic's format
//! (`[topics."NAME".format]`). On a JSON topic: the frame exactly as the
//! driver app sent it, so that fields the host does not read still reach
//! the consumers that do. On an Avro or Protobuf topic: the fix's canonical
//! fields ([`Location::to_fields`]) encoded in that format, since every
//! consumer of such a topic (the host first) expects it; fields of the
//! frame that a fix does not have are not carried.
//!
//! A valid fix the format cannot take (its schema requires a field the fix
//! lacks, say) is answered with an error frame of kind `unencodable` and
//! never produced; a format that can take no fix at all is refused at
//! start ([`check_writable`]), before a driver connects.

use std::borrow::Cow;

use fleethost_event::format::{Encoding, FormatError, PayloadFormat};
use fleethost_event::gateway_frames::ErrorFrame;
use fleethost_event::location::Location;

/// The bytes to produce for `fix`, read from the text frame `frame`: the
/// frame itself on a JSON topic, the fix encoded otherwise.
pub fn fix_payload<'frame>(
    format: &PayloadFormat,
    fix: &Location,
    frame: &'frame [u8],
) -> Result<Cow<'frame, [u8]>, FormatError> {
    match format.encoding() {
        Encoding::Json => Ok(Cow::Borrowed(frame)),
        Encoding::Avro | Encoding::Protobuf => format.encode(&fix.to_fields()).map(Cow::Owned),
    }
}

/// The answer to frame number `frame`, a valid fix that `format` could not
/// encode: its kind is the format error's (`unencodable`), its text says
/// the fix was not produced and that resending it will not help.
pub fn unencodable(frame: u64, format: &PayloadFormat, error: &FormatError) -> ErrorFrame {
    ErrorFrame {
        error: format!(
            "the fix is valid but cannot be written in the topic's {} format ({error}): it was not produced; \
             sending it again will not help",
            format.encoding().as_str()
        ),
        kind: error.kind(),
        frame,
    }
}

/// Whether `format` can write fixes at all: a fix with every field set,
/// or one with only the required ones, must encode. An error here (a
/// Confluent framing without `schema_id`, an Avro topic without `schema`)
/// would answer every fix with `unencodable`, so the gateway refuses to
/// start with it instead.
pub fn check_writable(format: &PayloadFormat) -> Result<(), FormatError> {
    let full = Location {
        driver_id: "driver-000000".into(),
        latitude: 12.97,
        longitude: 77.59,
        timestamp_ms: 1_764_000_000_000,
        region: Some("north".into()),
        order_id: Some("order-0".into()),
        speed: Some(8.5),
        heading: Some(90.0),
    };
    let minimal = Location {
        region: None,
        order_id: None,
        speed: None,
        heading: None,
        ..full.clone()
    };
    match format.encode(&full.to_fields()) {
        Ok(_) => Ok(()),
        Err(error) => format.encode(&minimal.to_fields()).map(|_| ()).map_err(|_| error),
    }
}

#[cfg(test)]
mod tests {
    use fleethost_event::EventsConfig;
    use fleethost_event::gateway_frames::read_fix;

    use super::*;
    use crate::test_formats;

    const FRAME: &str = r#"{"driverId":"d-1","lat":12.9,"lng":77.6,"speed":8.5,"seq":3}"#;

    #[test]
    fn a_json_topic_gets_the_frame_byte_for_byte() {
        let fix = read_fix(1, FRAME, 1_000).expect("a fix");
        let payload = fix_payload(&PayloadFormat::json(), &fix, FRAME.as_bytes()).expect("JSON takes any fix");
        assert!(matches!(payload, Cow::Borrowed(_)));
        assert_eq!(&*payload, FRAME.as_bytes());
    }

    #[test]
    fn avro_and_protobuf_topics_get_the_fix_encoded_and_it_reads_back() {
        let fix = read_fix(1, FRAME, 1_764_000_000_000).expect("a fix");
        for format in [
            test_formats::avro("location.avsc"),
            test_formats::protobuf("fleethost.v1.Location"),
        ] {
            let payload = fix_payload(&format, &fix, FRAME.as_bytes()).expect("the shipped schema takes a fix");
            assert_eq!(
                payload[..5],
                [0, 0, 0, 0, test_formats::SCHEMA_ID as u8],
                "Confluent header"
            );
            let read = format
                .decode_location(Some(&payload), Some(fix.timestamp_ms), &EventsConfig::default())
                .expect("the host reads what the gateway wrote");
            assert_eq!(read, fix, "{:?}", format.encoding());
            assert!(check_writable(&format).is_ok());
        }
    }

    #[test]
    fn a_fix_the_schema_cannot_take_is_answered_unencodable() {
        let format = test_formats::avro_requiring_speed();
        let without_speed = read_fix(4, r#"{"driverId":"d-1","lat":12.9,"lng":77.6}"#, 1_000).expect("a fix");
        let text = r#"{"driverId":"d-1","lat":12.9,"lng":77.6}"#.as_bytes();
        let error = fix_payload(&format, &without_speed, text).expect_err("speed is required");
        let answer = unencodable(4, &format, &error);
        assert_eq!((answer.kind, answer.frame), ("unencodable", 4));
        assert!(
            answer.error.contains("avro") && answer.error.contains("not produced"),
            "{}",
            answer.error
        );
        // Some fixes fit it, so the gateway starts with it.
        assert!(check_writable(&format).is_ok());
    }

    #[test]
    fn a_format_that_can_write_no_fix_is_refused() {
        let config = fleethost_event::format::FormatConfig {
            encoding: Encoding::Avro,
            framing: Some(fleethost_event::format::Framing::Confluent),
            schema: Some("location.avsc".into()),
            message: None,
            schema_id: None,
            writer_schemas: Default::default(),
            registry_url: None,
        };
        let reader_only = PayloadFormat::load(&config, &test_formats::schemas()).expect("the host can read with it");
        let error = check_writable(&reader_only).expect_err("no schema id to write");
        assert!(error.to_string().contains("schema_id"), "{error}");
    }
}
