//! Proves that fixes in Avro and Protobuf reach the plugins as the same
//! events JSON fixes do, through a broker that validates what is produced
//! against schemas of its own (Tansu's `--schema-registry`):
//! - bare Protobuf and single-record Avro container messages, which the
//!   broker checked against its schemas, are decoded by the host, every fix
//!   processed and every driver's live position exact;
//! - a message the broker's schema refuses never enters its topic;
//! - Confluent-framed Avro written with two schema versions (ids from
//!   `writer_schemas` and `schema_id`) is read with the newer schema;
//! - a message that does not decode (JSON on an Avro topic, an unknown
//!   schema id, a truncated record) is dead-lettered with its kind and
//!   reason, and its partition keeps flowing.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fleethost_core::config::{Encoding, FormatConfig, Framing, PayloadFormat, TopicSettings};
use fleethost_event::location::Location;
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::private_broker::{BrokerOptions, PrivateBroker};
use support::*;

const PARTITIONS: i32 = 2;
const DRIVERS: usize = 12;
const ROUNDS: usize = 8;

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

/// Location version 1: before `speed`, `heading`, `region` and `order_id`.
const LOCATION_V1: &str = r#"{"type": "record", "name": "Location", "namespace": "fleethost.v1", "fields": [
    {"name": "driver_id", "type": "string"},
    {"name": "latitude", "type": "double"},
    {"name": "longitude", "type": "double"},
    {"name": "timestamp", "type": "long"}]}"#;

fn format(encoding: Encoding, framing: Framing, schema: PathBuf, schema_id: Option<u32>) -> FormatConfig {
    FormatConfig {
        encoding,
        framing: Some(framing),
        schema: Some(schema),
        message: (encoding == Encoding::Protobuf).then(|| "fleethost.v1.Location".to_owned()),
        schema_id,
        writer_schemas: Default::default(),
        registry_url: None,
    }
}

fn compiled(config: &FormatConfig) -> PayloadFormat {
    PayloadFormat::load(config, Path::new("/")).expect("the format compiles")
}

/// The broker's schema folder: `proto_topic`'s values must be a
/// `fleethost.v1.Location` message (Tansu validates the message named
/// `Value`), `avro_topic`'s an Avro container of `location.avsc` records.
fn broker_schemas(proto_topic: &str, avro_topic: &str) -> PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique("broker-schemas"));
    std::fs::create_dir_all(&folder).expect("schema folder");
    let proto = std::fs::read_to_string(schemas().join("fleethost.proto")).expect("fleethost.proto");
    std::fs::write(
        folder.join(format!("{proto_topic}.proto")),
        proto.replace("message Location {", "message Value {"),
    )
    .expect("write the broker's .proto");
    let location = std::fs::read_to_string(schemas().join("location.avsc")).expect("location.avsc");
    std::fs::write(
        folder.join(format!("{avro_topic}.avsc")),
        format!(r#"{{"type": "record", "name": "Message", "fields": [{{"name": "value", "type": {location}}}]}}"#),
    )
    .expect("write the broker's .avsc");
    folder
}

/// The fixes of one topic: `DRIVERS` drivers named `{tag}-N`, `ROUNDS` each.
fn fixes(tag: &str) -> Vec<Location> {
    let base = 1_764_000_000_000;
    (0..ROUNDS)
        .flat_map(|round| {
            (0..DRIVERS).map(move |driver| Location {
                driver_id: format!("{tag}-{driver}"),
                latitude: 12.9 + driver as f64 * 0.001 + round as f64 * 1e-5,
                longitude: 77.5 + driver as f64 * 0.001,
                timestamp_ms: base + round as i64 * 1000 + driver as i64,
                region: Some("north".into()),
                order_id: None,
                speed: Some(7.5),
                heading: Some(90.0),
            })
        })
        .collect()
}

/// The live position `fix` leaves its driver at.
fn position_of(fix: &Location) -> Fix {
    Fix {
        latitude: fix.latitude,
        longitude: fix.longitude,
        timestamp_ms: fix.timestamp_ms,
    }
}

async fn send(producer: &FutureProducer, topic: &str, key: &str, payload: &[u8]) -> Result<Position, KafkaError> {
    producer
        .send(
            FutureRecord::to(topic).key(key.as_bytes()).payload(payload),
            Duration::from_secs(30),
        )
        .await
        .map(|delivery| Position {
            partition: delivery.partition,
            offset: delivery.offset,
        })
        .map_err(|(error, _)| error)
}

#[tokio::test(flavor = "multi_thread")]
async fn avro_and_protobuf_fixes_reach_the_plugins_decoded() {
    let proto_topic = unique("formats-protobuf");
    let avro_topic = unique("formats-avro");
    let confluent_topic = unique("formats-confluent");
    let group = unique("formats-group");
    let prefix = format!("{}:", unique("formats"));
    let broker = PrivateBroker::start_with_options(BrokerOptions {
        schema_registry: Some(broker_schemas(&proto_topic, &avro_topic)),
        ..BrokerOptions::default()
    });
    for topic in [&proto_topic, &avro_topic, &confluent_topic] {
        broker.create_topic(topic, PARTITIONS).await;
    }

    let v1_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}.avsc", unique("location-v1")));
    std::fs::write(&v1_path, LOCATION_V1).expect("write location v1");
    let proto_format = format(
        Encoding::Protobuf,
        Framing::Bare,
        schemas().join("fleethost.proto"),
        None,
    );
    let avro_format = format(
        Encoding::Avro,
        Framing::Container,
        schemas().join("location.avsc"),
        None,
    );
    let mut confluent_format = format(
        Encoding::Avro,
        Framing::Confluent,
        schemas().join("location.avsc"),
        Some(7),
    );
    confluent_format.writer_schemas.insert("1".into(), v1_path.clone());
    // What an older producer writes with: schema id 1.
    let old_producer_format = format(Encoding::Avro, Framing::Confluent, v1_path, Some(1));

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap)
        .set("linger.ms", "5")
        .set("message.send.max.retries", "0")
        .create()
        .expect("producer");
    // topic -> (valid fix positions, newest fix per driver)
    let mut produced: HashMap<&str, BTreeSet<Position>> = HashMap::new();
    let mut newest: HashMap<String, Fix> = HashMap::new();
    for (topic, tag, writers) in [
        (&proto_topic, "p", vec![compiled(&proto_format)]),
        (&avro_topic, "a", vec![compiled(&avro_format)]),
        (
            &confluent_topic,
            "c",
            vec![compiled(&confluent_format), compiled(&old_producer_format)],
        ),
    ] {
        for (index, fix) in fixes(tag).iter().enumerate() {
            let payload = writers[index % writers.len()]
                .encode(&fix.to_fields())
                .expect("encodes");
            let position = send(&producer, topic, &fix.driver_id, &payload)
                .await
                .unwrap_or_else(|error| panic!("{topic} refused a valid fix: {error}"));
            produced.entry(topic.as_str()).or_default().insert(position);
            newest.insert(fix.driver_id.clone(), position_of(fix));
        }
    }

    // The broker validates: what its schema does not describe never enters.
    for topic in [&proto_topic, &avro_topic] {
        let refused = send(&producer, topic, "p-0", b"\xff\xfe not a schema's value").await;
        assert!(
            matches!(
                refused,
                Err(KafkaError::MessageProduction(RDKafkaErrorCode::InvalidRecord))
            ),
            "the broker's schema refuses garbage on {topic}: {refused:?}"
        );
    }

    // Confluent-framed messages that do not decode, among valid ones.
    let mut unknown_id = compiled(&confluent_format).encode(&fixes("c")[0].to_fields()).unwrap();
    unknown_id[4] = 9;
    let mut truncated = compiled(&confluent_format).encode(&fixes("c")[1].to_fields()).unwrap();
    truncated.truncate(12);
    let bad: [(&str, Vec<u8>, &str, &str); 3] = [
        (
            "c-0",
            br#"{"driverId":"c-0","lat":12.9,"lng":77.5}"#.to_vec(),
            "bad-framing",
            "looks like JSON",
        ),
        ("c-0", unknown_id, "unknown-schema", "unknown schema id 9"),
        ("c-1", truncated, "not-avro", "not avro"),
    ];
    let mut bad_positions = BTreeSet::new();
    for (key, payload, _, _) in &bad {
        bad_positions.insert(send(&producer, &confluent_topic, key, payload).await.expect("produced"));
    }
    // More valid fixes after the bad ones: the partitions keep flowing.
    let confluent = compiled(&confluent_format);
    for fix in fixes("c").iter().skip(DRIVERS * (ROUNDS - 1)).map(|fix| Location {
        timestamp_ms: fix.timestamp_ms + 60_000,
        latitude: fix.latitude + 0.01,
        ..fix.clone()
    }) {
        let payload = confluent.encode(&fix.to_fields()).unwrap();
        let position = send(&producer, &confluent_topic, &fix.driver_id, &payload)
            .await
            .expect("produced");
        produced.get_mut(confluent_topic.as_str()).unwrap().insert(position);
        newest.insert(fix.driver_id.clone(), position_of(&fix));
    }

    let plugins = ["live_location", "test_recorder"];
    let mut config = test_config(&redis_url());
    config.kafka.bootstrap_servers = broker.bootstrap.clone();
    let mut pipeline = test_pipeline("formats", &group, &proto_topic, &plugins);
    pipeline.topics = vec![proto_topic.clone(), avro_topic.clone(), confluent_topic.clone()];
    pipeline.batch.max_wait_ms = 200;
    config.pipelines.push(pipeline);
    for (topic, format) in [
        (&proto_topic, proto_format),
        (&avro_topic, avro_format),
        (&confluent_topic, confluent_format),
    ] {
        config.topics.insert(
            topic.clone(),
            TopicSettings {
                format: Some(format),
                ..TopicSettings::default()
            },
        );
    }
    add_plugins_under(&mut config, &plugins, &prefix);
    let config = write_config_file("formats", &config);
    let mut host = Host::start("formats", &config);

    for topic in [&proto_topic, &avro_topic, &confluent_topic] {
        let mut positions: Vec<Position> = produced[topic.as_str()].iter().copied().collect();
        if topic == &confluent_topic {
            positions.extend(bad_positions.iter().copied());
        }
        let ends = end_offsets(&positions, PARTITIONS);
        wait_for_commits_at(&broker.bootstrap, &group, topic, &ends, Duration::from_secs(120));
        let seen = recorded_offsets(&prefix, topic, PARTITIONS);
        assert_covered(
            &produced[topic.as_str()],
            &seen,
            &format!("fixes of {topic} never processed"),
        );
        assert!(
            seen.is_disjoint(&bad_positions) || topic != &confluent_topic,
            "a message that does not decode reached the plugins"
        );
    }
    // Every driver at its newest fix, coordinates exact: the events the
    // plugins got are the fixes that were written.
    assert_live_positions(&prefix, &newest);

    let dead_letters = read_all_at(
        &broker.bootstrap,
        &format!("{confluent_topic}.dlq"),
        bad.len(),
        Duration::from_secs(2),
    );
    assert_eq!(dead_letter_positions(&dead_letters), bad_positions, "{dead_letters:#?}");
    for (_, _, kind, reason) in &bad {
        let letter = dead_letters
            .iter()
            .find(|letter| letter.headers["fleethost.error.kind"] == *kind)
            .unwrap_or_else(|| panic!("no dead letter of kind {kind}: {dead_letters:#?}"));
        let text = &letter.headers["fleethost.error"];
        assert!(
            text.contains(reason),
            "the {kind} dead letter's reason says {reason:?}: {text}"
        );
    }

    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
}
