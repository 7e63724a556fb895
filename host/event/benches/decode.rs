//! What decoding one fix costs in each format: the payload read into the
//! field map and held to the location contract, as a partition worker does
//! for every message. `cargo bench -p fleethost-event --bench decode`; the
//! figures are in BENCHMARKS.md.

use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use fleethost_event::EventsConfig;
use fleethost_event::format::{Encoding, FormatConfig, Framing, PayloadFormat};
use fleethost_event::location::Location;

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn format(encoding: Encoding, framing: Framing) -> PayloadFormat {
    let schema = match encoding {
        Encoding::Json => None,
        Encoding::Avro => Some(PathBuf::from("location.avsc")),
        Encoding::Protobuf => Some(PathBuf::from("fleethost.proto")),
    };
    let config = FormatConfig {
        encoding,
        framing: Some(framing),
        schema,
        message: (encoding == Encoding::Protobuf).then(|| "fleethost.v1.Location".to_owned()),
        schema_id: (framing == Framing::Confluent).then_some(1),
        writer_schemas: Default::default(),
        registry_url: None,
    };
    PayloadFormat::load(&config, &schemas()).expect("the format loads")
}

/// A fix as the simulator writes one: every optional field set.
fn fix() -> Location {
    Location {
        driver_id: "driver-004217".into(),
        latitude: 12.971_598_7,
        longitude: 77.594_562_3,
        timestamp_ms: 1_764_000_000_123,
        region: Some("north".into()),
        order_id: Some("order-1-004217-3".into()),
        speed: Some(8.25),
        heading: Some(271.5),
    }
}

fn decode(criterion: &mut Criterion) {
    let bounds = EventsConfig::default();
    let cases = [
        ("json", format(Encoding::Json, Framing::Bare)),
        ("avro_confluent", format(Encoding::Avro, Framing::Confluent)),
        ("avro_bare", format(Encoding::Avro, Framing::Bare)),
        ("avro_container", format(Encoding::Avro, Framing::Container)),
        ("protobuf_confluent", format(Encoding::Protobuf, Framing::Confluent)),
        ("protobuf_bare", format(Encoding::Protobuf, Framing::Bare)),
    ];
    let mut group = criterion.benchmark_group("decode_fix");
    for (name, format) in &cases {
        let payload = format.encode(&fix().to_fields()).expect("encodes");
        assert_eq!(
            format.decode_location(Some(&payload), Some(1_764_000_000_000), &bounds),
            Ok(fix())
        );
        group.bench_function(*name, |bench| {
            bench.iter(|| format.decode_location(Some(&payload), Some(1_764_000_000_000), &bounds))
        });
    }
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
