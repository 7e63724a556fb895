use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;
use crate::EventsConfig;
use crate::location::Location;
use crate::order::{Order, OrderStep};

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn config(encoding: Encoding, framing: Framing, schema: Option<&str>) -> FormatConfig {
    FormatConfig {
        encoding,
        framing: Some(framing),
        schema: schema.map(PathBuf::from),
        message: (encoding == Encoding::Protobuf).then(|| "fleethost.v1.Location".to_owned()),
        schema_id: (framing == Framing::Confluent).then_some(7),
        writer_schemas: Default::default(),
        registry_url: None,
    }
}

fn load(config: &FormatConfig) -> PayloadFormat {
    PayloadFormat::load(config, &schemas()).expect("the format loads")
}

/// A file under the temp folder holding `text`, for schemas of one test.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("fleethost-format-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn fix() -> Location {
    Location {
        driver_id: "driver-7".into(),
        latitude: 12.97,
        longitude: 77.59,
        timestamp_ms: 1_764_000_000_123,
        region: Some("north".into()),
        order_id: None,
        speed: Some(8.5),
        heading: Some(270.0),
    }
}

fn read(format: &PayloadFormat, payload: &[u8]) -> Result<Location, DecodeError> {
    format.decode_location(Some(payload), Some(1_764_000_000_000), &EventsConfig::default())
}

#[test]
fn every_format_and_framing_reads_back_the_fix_it_wrote() {
    let cases = [
        config(Encoding::Avro, Framing::Confluent, Some("location.avsc")),
        config(Encoding::Avro, Framing::Bare, Some("location.avsc")),
        config(Encoding::Avro, Framing::Container, Some("location.avsc")),
        config(Encoding::Protobuf, Framing::Confluent, Some("fleethost.proto")),
        config(Encoding::Protobuf, Framing::Bare, Some("fleethost.proto")),
    ];
    for case in cases {
        let format = load(&case);
        let payload = format.encode(&fix().to_fields()).expect("encodes");
        assert_eq!(read(&format, &payload), Ok(fix()), "{case:?}");
    }
    let json = PayloadFormat::json();
    assert_eq!(read(&json, &json.encode(&fix().to_fields()).unwrap()), Ok(fix()));
}

#[test]
fn confluent_framing_carries_the_schema_id_and_protobuf_message_indexes() {
    let avro = load(&config(Encoding::Avro, Framing::Confluent, Some("location.avsc")));
    let payload = avro.encode(&fix().to_fields()).unwrap();
    assert_eq!(&payload[..5], &[0, 0, 0, 0, 7]);

    let mut orders = config(Encoding::Protobuf, Framing::Confluent, Some("fleethost.proto"));
    orders.message = Some("fleethost.v1.OrderEvent".into());
    let orders = load(&orders);
    let order = Order {
        order_id: "o-1".into(),
        driver_id: "d-1".into(),
        step: OrderStep::Assigned,
        pickup: Some((12.9, 77.6)),
        dropoff: Some((12.95, 77.65)),
        timestamp_ms: 1_764_000_000_000,
    };
    let payload = orders.encode(&order.to_fields()).unwrap();
    // OrderEvent is the file's third message: count 1, index 2, zig-zag.
    assert_eq!(&payload[..7], &[0, 0, 0, 0, 7, 2, 4]);
    let decoded = orders
        .decode_order(Some(&payload), None, &EventsConfig::default())
        .unwrap();
    assert_eq!(decoded, order);
}

#[test]
fn avro_order_events_keep_their_points_and_step() {
    let mut config = config(Encoding::Avro, Framing::Bare, Some("order.avsc"));
    config.schema_id = None;
    let format = load(&config);
    let order = Order {
        order_id: "o-2".into(),
        driver_id: "d-2".into(),
        step: OrderStep::PickedUp,
        pickup: None,
        dropoff: None,
        timestamp_ms: 1_764_000_000_000,
    };
    let payload = format.encode(&order.to_fields()).unwrap();
    assert_eq!(
        format.decode_order(Some(&payload), None, &EventsConfig::default()),
        Ok(order)
    );
}

/// Version 1 of the location schema: no speed, heading, region or order.
const LOCATION_V1: &str = r#"{"type": "record", "name": "Location", "namespace": "fleethost.v1", "fields": [
    {"name": "driver_id", "type": "string"},
    {"name": "latitude", "type": "double"},
    {"name": "longitude", "type": "double"},
    {"name": "timestamp", "type": "long"}]}"#;

/// Version 3: `heading` removed, `accuracy` added with a default.
const LOCATION_V3: &str = r#"{"type": "record", "name": "Location", "namespace": "fleethost.v1", "fields": [
    {"name": "driver_id", "type": "string"},
    {"name": "latitude", "type": "double"},
    {"name": "longitude", "type": "double"},
    {"name": "timestamp", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}], "default": null},
    {"name": "speed", "type": ["null", "double"], "default": null},
    {"name": "accuracy", "type": "double", "default": 10.0}]}"#;

#[test]
fn avro_writer_schemas_resolve_to_the_reader_schema_across_versions() {
    let v1 = temp_file("location-v1.avsc", LOCATION_V1);
    let v3 = temp_file("location-v3.avsc", LOCATION_V3);
    // The host reads with location.avsc (id 7) and knows ids 1 and 3.
    let mut reader = config(Encoding::Avro, Framing::Confluent, Some("location.avsc"));
    reader.writer_schemas.insert("1".into(), v1.clone());
    reader.writer_schemas.insert("3".into(), v3.clone());
    let host = load(&reader);

    // An old producer: its fix lacks the fields added since; they take their defaults.
    let mut old = config(Encoding::Avro, Framing::Confluent, Some(v1.to_str().unwrap()));
    old.schema_id = Some(1);
    let payload = load(&old).encode(&fix().to_fields()).unwrap();
    let decoded = read(&host, &payload).unwrap();
    assert_eq!((decoded.speed, decoded.heading, decoded.region), (None, None, None));
    assert_eq!((decoded.driver_id.as_str(), decoded.latitude), ("driver-7", 12.97));

    // A newer producer: `heading` is gone from its schema, `accuracy` is new to the reader.
    let mut new = config(Encoding::Avro, Framing::Confluent, Some(v3.to_str().unwrap()));
    new.schema_id = Some(3);
    let decoded = read(&host, &load(&new).encode(&fix().to_fields()).unwrap()).unwrap();
    assert_eq!((decoded.speed, decoded.heading), (Some(8.5), None));

    // Id 9 is nowhere: a clear error naming it, never a guess.
    let mut unknown = config(Encoding::Avro, Framing::Confluent, Some("location.avsc"));
    unknown.schema_id = Some(9);
    let error = read(&host, &load(&unknown).encode(&fix().to_fields()).unwrap()).unwrap_err();
    assert_eq!(error.kind(), "unknown-schema");
    assert!(error.to_string().contains("unknown schema id 9"), "{error}");
    assert_eq!(host.unknown_schema_id(Some(&[0, 0, 0, 0, 9, 1])), Some(9));
    assert_eq!(host.unknown_schema_id(Some(&[0, 0, 0, 0, 1, 1])), None);
}

#[test]
fn a_schema_learnt_from_a_registry_decodes_its_messages() {
    let mut reader = config(Encoding::Avro, Framing::Confluent, Some("location.avsc"));
    reader.registry_url = Some("http://registry.invalid:8081/".into());
    let host = load(&reader);
    assert_eq!(host.registry_url(), Some("http://registry.invalid:8081"));
    let mut old = config(
        Encoding::Avro,
        Framing::Confluent,
        Some(temp_file("learn-v1.avsc", LOCATION_V1).to_str().unwrap()),
    );
    old.schema_id = Some(21);
    let payload = load(&old).encode(&fix().to_fields()).unwrap();
    assert_eq!(host.unknown_schema_id(Some(&payload)), Some(21));
    host.learn_schema(21, None, LOCATION_V1).unwrap();
    assert_eq!(host.unknown_schema_id(Some(&payload)), None);
    assert_eq!(read(&host, &payload).unwrap().driver_id, "driver-7");
    let error = host
        .learn_schema(22, Some("PROTOBUF"), "syntax = \"proto3\";")
        .unwrap_err();
    assert!(error.contains("the topic is avro"), "{error}");
}

const PROTO_V1: &str = r#"syntax = "proto3";
package fleethost.v1;
message Location {
  string driver_id = 1;
  double latitude = 2;
  double longitude = 3;
  optional int64 timestamp = 4;
}"#;

/// `speed` and `heading` removed, `accuracy` added.
const PROTO_V3: &str = r#"syntax = "proto3";
package fleethost.v1;
message Location {
  string driver_id = 1;
  double latitude = 2;
  double longitude = 3;
  optional int64 timestamp = 4;
  reserved 5, 6;
  optional string region = 7;
  optional double accuracy = 9;
}"#;

#[test]
fn protobuf_fields_added_or_removed_keep_decoding() {
    let v1 = temp_file("location-v1.proto", PROTO_V1);
    let v3 = temp_file("location-v3.proto", PROTO_V3);
    let host = load(&config(Encoding::Protobuf, Framing::Bare, Some("fleethost.proto")));
    let old = load(&config(Encoding::Protobuf, Framing::Bare, Some(v1.to_str().unwrap())));
    let new = load(&config(Encoding::Protobuf, Framing::Bare, Some(v3.to_str().unwrap())));

    let decoded = read(&host, &old.encode(&fix().to_fields()).unwrap()).unwrap();
    assert_eq!((decoded.speed, decoded.region.as_deref()), (None, None));
    let mut fields = fix().to_fields();
    fields.insert("accuracy".into(), json!(4.5));
    let decoded = read(&host, &new.encode(&fields).unwrap()).unwrap();
    assert_eq!((decoded.speed, decoded.region.as_deref()), (None, Some("north")));
    // And an old reader takes a new message, skipping what it does not know.
    let decoded = read(&old, &host.encode(&fix().to_fields()).unwrap()).unwrap();
    assert_eq!(decoded.timestamp_ms, fix().timestamp_ms);
}

#[test]
fn a_proto3_latitude_of_zero_is_the_equator_not_a_missing_field() {
    let format = load(&config(Encoding::Protobuf, Framing::Bare, Some("fleethost.proto")));
    let mut on_the_equator = fix();
    on_the_equator.latitude = 0.0;
    let decoded = read(&format, &format.encode(&on_the_equator.to_fields()).unwrap()).unwrap();
    assert_eq!(decoded.latitude, 0.0);
    // An unset driver id is an empty string in proto3: missing, not "".
    let mut fields = fix().to_fields();
    fields.remove("driver_id");
    let error = read(&format, &format.encode(&fields).unwrap()).unwrap_err();
    assert_eq!(error.kind(), "missing-field");
}

#[test]
fn bad_payloads_are_decode_errors_that_name_the_problem() {
    let avro = load(&config(Encoding::Avro, Framing::Confluent, Some("location.avsc")));
    let proto = load(&config(Encoding::Protobuf, Framing::Confluent, Some("fleethost.proto")));
    let container = load(&config(Encoding::Avro, Framing::Container, Some("location.avsc")));
    let bare_avro = load(&config(Encoding::Avro, Framing::Bare, Some("location.avsc")));
    let json = br#"{"driverId": "d", "lat": 1, "lng": 2}"#;
    let cases: [(&PayloadFormat, &[u8], &str, &str); 8] = [
        (&avro, json, "bad-framing", "looks like JSON"),
        (&avro, &[0, 0, 0], "bad-framing", "too short"),
        (&avro, &[0, 0, 0, 0, 7, 0xff, 0xff, 0xff], "not-avro", "not avro"),
        (
            &proto,
            &[0, 0, 0, 0, 7, 0, 0xff, 0xff],
            "not-protobuf",
            "not a fleethost.v1.Location",
        ),
        (&proto, &[0, 0, 0, 0, 7, 2, 40], "bad-framing", "name no message"),
        (&container, b"Obj\x01garbage", "not-avro", "not avro"),
        (&bare_avro, b"\x06abc", "not-avro", "not avro"),
        (&proto, &[], "empty", "empty"),
    ];
    for (format, payload, kind, text) in cases {
        let error = read(format, payload).unwrap_err();
        assert_eq!(error.kind(), kind, "{error}");
        assert!(error.to_string().contains(text), "{error} should say {text:?}");
    }
    // A datum longer than its schema reads: bytes are left over.
    let mut payload = bare_avro.encode(&fix().to_fields()).unwrap();
    payload.extend([1, 2, 3]);
    assert!(
        read(&bare_avro, &payload)
            .unwrap_err()
            .to_string()
            .contains("3 bytes left")
    );
    // A huge announced string length fails without allocating it.
    let error = read(&bare_avro, &[0xfe, 0xff, 0xff, 0xff, 0x0f]).unwrap_err();
    assert_eq!(error.kind(), "not-avro");
}

#[test]
fn config_mistakes_name_their_key() {
    let problem = |config: FormatConfig| PayloadFormat::load(&config, &schemas()).unwrap_err();
    let mut no_schema = config(Encoding::Protobuf, Framing::Bare, None);
    assert_eq!(problem(no_schema.clone()).0, "schema");
    no_schema.encoding = Encoding::Avro;
    no_schema.message = None;
    assert_eq!(problem(no_schema).0, "schema");
    let missing_file = problem(config(Encoding::Avro, Framing::Bare, Some("nowhere.avsc")));
    assert!(missing_file.1.contains("nowhere.avsc"), "{missing_file:?}");
    let mut wrong_message = config(Encoding::Protobuf, Framing::Bare, Some("fleethost.proto"));
    wrong_message.message = Some("fleethost.v1.Nope".into());
    let (key, message) = problem(wrong_message);
    assert_eq!(key, "message");
    assert!(message.contains("fleethost.v1.Location"), "{message}");
    let mut json_with_schema = config(Encoding::Json, Framing::Bare, Some("location.avsc"));
    json_with_schema.message = None;
    assert_eq!(problem(json_with_schema).0, "schema");
    assert_eq!(
        problem(config(Encoding::Protobuf, Framing::Container, Some("fleethost.proto"))).0,
        "framing"
    );
    let mut bare_with_id = config(Encoding::Avro, Framing::Bare, Some("location.avsc"));
    bare_with_id.schema_id = Some(1);
    assert_eq!(problem(bare_with_id).0, "schema_id");
    let mut bad_id = config(Encoding::Avro, Framing::Confluent, Some("location.avsc"));
    bad_id.writer_schemas.insert("one".into(), "location.avsc".into());
    assert_eq!(problem(bad_id).0, "writer_schemas.\"one\"");
    let broken = temp_file("broken.avsc", "{\"type\": \"record\"");
    let (key, message) = problem(config(Encoding::Avro, Framing::Bare, Some(broken.to_str().unwrap())));
    assert_eq!(key, "schema");
    assert!(message.contains("broken.avsc"), "{message}");
}

#[test]
fn avro_containers_resolve_their_embedded_schema_and_hold_one_record() {
    let host = load(&config(Encoding::Avro, Framing::Container, Some("location.avsc")));
    let v1 = temp_file("container-v1.avsc", LOCATION_V1);
    let old = load(&config(Encoding::Avro, Framing::Container, Some(v1.to_str().unwrap())));
    for _ in 0..2 {
        // Twice: the second read finds the writer schema parsed already.
        let decoded = read(&host, &old.encode(&fix().to_fields()).unwrap()).unwrap();
        assert_eq!((decoded.driver_id.as_str(), decoded.speed), ("driver-7", None));
    }
    let schema = apache_avro::Schema::parse_str(LOCATION_V1).unwrap();
    let mut writer = apache_avro::Writer::new(&schema, Vec::new());
    for _ in 0..2 {
        writer
            .append(
                apache_avro::types::Value::from(Value::Object(fix().to_fields()))
                    .resolve(&schema)
                    .unwrap(),
            )
            .unwrap();
    }
    let error = read(&host, &writer.into_inner().unwrap()).unwrap_err().to_string();
    assert!(error.contains("the container holds several records"), "{error}");
}

#[test]
fn a_container_whose_schema_breaks_the_avro_parser_is_not_avro() {
    let format = load(&config(Encoding::Avro, Framing::Container, Some("location.avsc")));
    let schema = r#"{"type":"record","name":"Locati=n","fields":[{"name":"driver_id","type":"string"}]}"#;
    let mut payload = b"Obj\x01\x02\x16avro.schema".to_vec();
    // The length as a zig-zag varint: two bytes for 64 to 8191.
    let zigzag = schema.len() * 2;
    payload.extend([(zigzag & 0x7f) as u8 | 0x80, (zigzag >> 7) as u8]);
    payload.extend(schema.as_bytes());
    payload.push(0);
    payload.extend([7; 16]);
    // Without a data block the general reader takes it; with one record's
    // block, the schema is parsed by itself: both refuse it alike.
    let mut with_block = payload.clone();
    with_block.extend([2, 0]);
    with_block.extend([7; 16]);
    for payload in [payload, with_block] {
        let error = read(&format, &payload).unwrap_err();
        assert_eq!(error.kind(), "not-avro", "{error}");
        assert!(
            error.to_string().contains("\"Locati=n\" is not an Avro name"),
            "{error}"
        );
    }
}
