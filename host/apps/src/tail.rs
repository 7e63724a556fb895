//! `fleethost tail`: follows output topics (ETAs, fares, notifications, dead
//! letters) from their end and prints what arrives, record by record or as a
//! periodic summary. What an operator (and the demo) uses to see the plugins'
//! output live without a separate Kafka client.
//!
//! A payload is printed as text, except on a topic whose format is Avro or
//! Protobuf (`[topics."NAME".format]`): there it is decoded, as the host
//! decodes it, and printed as its fields in compact JSON, or as one line
//! saying why it does not decode; binary read as text would only garble the
//! terminal. A dead-letter topic (`X.dlq`) holds the original payloads, so
//! it is read in X's format.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleethost_core::pipeline::dead_letter::DEAD_LETTER_SUFFIX;
use fleethost_event::format::{Encoding, PayloadFormat};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

/// What to follow and how to print it.
#[derive(Debug, Clone)]
pub struct TailConfig {
    /// How to reach Kafka: brokers, TLS, SASL, properties.
    pub kafka: fleethost_core::config::KafkaConfig,
    /// Topics to follow, from their current end.
    pub topics: Vec<String>,
    /// The format of each followed topic whose payloads are decoded before
    /// printing ([`TailConfig::formats_of`] fills it); a topic not here is
    /// printed as text.
    pub formats: BTreeMap<String, Arc<PayloadFormat>>,
    /// `None`: print every record. `Some(interval)`: print per topic the
    /// number of records so far, the rate, and the newest record, every
    /// interval.
    pub summary: Option<Duration>,
}

impl TailConfig {
    /// The formats to read `topics` in, by `load` (the format a config file
    /// gives a topic, JSON when it gives none): each topic's own, except
    /// that a dead-letter topic `X.dlq` without a format of its own is read
    /// in X's, since dead letters keep their original payload. Only the
    /// topics not in JSON are kept.
    pub fn formats_of<E>(
        topics: &[String],
        mut load: impl FnMut(&str) -> Result<PayloadFormat, E>,
    ) -> Result<BTreeMap<String, Arc<PayloadFormat>>, E> {
        let mut formats = BTreeMap::new();
        for topic in topics {
            let mut format = load(topic)?;
            if let (Encoding::Json, Some(source)) = (format.encoding(), topic.strip_suffix(DEAD_LETTER_SUFFIX)) {
                format = load(source)?;
            }
            if format.encoding() != Encoding::Json {
                formats.insert(topic.clone(), Arc::new(format));
            }
        }
        Ok(formats)
    }
}

/// Longest payload printed, in characters.
const MAX_PRINTED: usize = 240;

/// What to print for one payload: its text on a JSON topic (`format`
/// `None`), cut to `MAX_PRINTED` characters as the rest of the line is;
/// otherwise its decoded fields as compact JSON (cut alike), or
/// `undecodable (KIND): REASON (N bytes)` on one line.
pub fn payload_text(format: Option<&PayloadFormat>, payload: Option<&[u8]>) -> String {
    let cut = |text: &str| text.chars().take(MAX_PRINTED).collect::<String>();
    let Some(format) = format.filter(|format| format.encoding() != Encoding::Json) else {
        return cut(&String::from_utf8_lossy(payload.unwrap_or_default()));
    };
    match format.fields(payload) {
        Ok(fields) => cut(&serde_json::Value::Object(fields).to_string()),
        Err(error) => {
            let reason: String = error
                .to_string()
                .chars()
                .map(|character| if character.is_control() { ' ' } else { character })
                .collect();
            format!(
                "undecodable ({}): {} ({} bytes)",
                error.kind(),
                cut(&reason),
                payload.map_or(0, <[u8]>::len)
            )
        }
    }
}

/// Asks the registry of a Confluent-framed topic for the writer schema of
/// `payload` when its id is new to the format (an id the registry did not
/// give is not asked for again for a while: the format keeps that), so
/// that the tail decodes what the host decodes. Needs the tokio runtime the
/// tail's thread was started from; without one the id stays unknown.
fn learn_writer_schema(format: &PayloadFormat, payload: Option<&[u8]>) {
    if format.registry_url().is_none() {
        return;
    }
    let Some(id) = format.unknown_schema_id(payload) else {
        return;
    };
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.block_on(fleethost_core::kafka::schema_registry::learn(format, vec![id]));
    }
}

/// Follows the topics until `stop` is cancelled. Blocking: run it on a
/// thread of its own. Records are printed as fast as stdout's reader takes
/// them (a slow reader slows the tail down); a reader that went away is
/// not an error.
pub fn tail(config: &TailConfig, stop: &CancellationToken) -> Result<(), rdkafka::error::KafkaError> {
    let consumer: BaseConsumer = fleethost_core::kafka::client_config::reader(&config.kafka)?
        .set("group.id", "fleethost-tail")
        .set("enable.auto.commit", "false")
        .create()?;
    // Wait until every topic exists, then assign all partitions at their end:
    // no group join, nothing committed.
    let assignment = loop {
        let metadata = consumer.fetch_metadata(None, Duration::from_secs(10))?;
        let mut assignment = TopicPartitionList::new();
        let mut missing = Vec::new();
        for topic in &config.topics {
            match metadata.topics().iter().find(|found| found.name() == topic) {
                Some(found) if !found.partitions().is_empty() => {
                    for partition in found.partitions() {
                        assignment.add_partition_offset(topic, partition.id(), Offset::End)?;
                    }
                }
                _ => missing.push(topic.as_str()),
            }
        }
        if missing.is_empty() {
            break assignment;
        }
        if stop.is_cancelled() {
            return Ok(());
        }
        fleethost_core::console::err(&format!("tail: waiting for topics {missing:?} to exist"));
        std::thread::sleep(Duration::from_secs(2));
    };
    consumer.assign(&assignment)?;

    let mut counts: BTreeMap<String, (u64, String)> = config
        .topics
        .iter()
        .map(|topic| (topic.clone(), (0, String::new())))
        .collect();
    let started = Instant::now();
    let mut last_summary = Instant::now();
    while !stop.is_cancelled() {
        if let Some(result) = consumer.poll(Duration::from_millis(200)) {
            let message = result?;
            let text = |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned();
            let format = config.formats.get(message.topic()).map(Arc::as_ref);
            if let Some(format) = format {
                learn_writer_schema(format, message.payload());
            }
            let payload = payload_text(format, message.payload());
            match config.summary {
                None => {
                    fleethost_core::console::out_blocking(&format!(
                        "{} [{}] {}: {payload}",
                        message.topic(),
                        text(message.key()),
                        message.offset()
                    ));
                }
                Some(_) => {
                    if let Some((count, latest)) = counts.get_mut(message.topic()) {
                        *count += 1;
                        *latest = payload;
                    }
                }
            }
        }
        if let Some(interval) = config.summary
            && last_summary.elapsed() >= interval
        {
            last_summary = Instant::now();
            let seconds = started.elapsed().as_secs_f64().max(1.0);
            for (topic, (count, latest)) in &counts {
                fleethost_core::console::out_blocking(&format!(
                    "{topic}: {count} records ({:.1}/s){}{latest}",
                    *count as f64 / seconds,
                    if latest.is_empty() { "" } else { ", newest: " }
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_formats;
    use fleethost_event::location::Location;

    fn fix() -> Location {
        Location {
            driver_id: "driver-7".into(),
            latitude: 12.97,
            longitude: 77.59,
            timestamp_ms: 1_764_000_000_123,
            region: Some("north".into()),
            order_id: None,
            speed: Some(8.5),
            heading: None,
        }
    }

    #[test]
    fn a_protobuf_payload_prints_as_its_fields_in_compact_json() {
        let format = test_formats::protobuf("fleethost.v1.Location");
        let payload = format.encode(&fix().to_fields()).expect("encodes");
        let line = payload_text(Some(&format), Some(&payload));
        let printed: serde_json::Value = serde_json::from_str(&line).expect("one JSON object");
        assert_eq!(printed, serde_json::Value::Object(fix().to_fields()), "{line}");
        assert!(!line.contains(' ') && !line.contains('\n'), "compact: {line}");
    }

    #[test]
    fn a_payload_that_does_not_decode_says_why_and_how_long_it_is() {
        let format = test_formats::avro("location.avsc");
        let json = br#"{"driverId":"d"}"#;
        let line = payload_text(Some(&format), Some(json));
        assert!(line.starts_with("undecodable (bad-framing): "), "{line}");
        assert!(line.ends_with(&format!(" ({} bytes)", json.len())), "{line}");
        let empty = payload_text(Some(&format), None);
        assert_eq!(empty, "undecodable (empty): empty message: no payload (0 bytes)");
    }

    #[test]
    fn a_json_topic_prints_its_text_as_before() {
        let text = r#"{"driver_id":"d","eta_s":120}"#;
        assert_eq!(payload_text(None, Some(text.as_bytes())), text);
        assert_eq!(payload_text(Some(&PayloadFormat::json()), Some(text.as_bytes())), text);
        let long = "x".repeat(1000);
        assert_eq!(payload_text(None, Some(long.as_bytes())).len(), MAX_PRINTED);
    }

    #[test]
    fn a_dead_letter_topic_is_read_in_its_source_topics_format() {
        let topics: Vec<String> = ["rider-updates", "rider-updates.dlq", "eta-updates", "order-events.dlq"]
            .map(String::from)
            .to_vec();
        let formats = TailConfig::formats_of(&topics, |topic| {
            Ok::<_, ()>(match topic {
                "rider-updates" => test_formats::protobuf("fleethost.v1.Location"),
                "order-events.dlq" => test_formats::avro("order.avsc"),
                _ => PayloadFormat::json(),
            })
        })
        .expect("formats");
        let encodings: Vec<(&str, Encoding)> = formats
            .iter()
            .map(|(topic, format)| (topic.as_str(), format.encoding()))
            .collect();
        assert_eq!(
            encodings,
            [
                ("order-events.dlq", Encoding::Avro),
                ("rider-updates", Encoding::Protobuf),
                ("rider-updates.dlq", Encoding::Protobuf),
            ]
        );
        let payload = formats["rider-updates"].encode(&fix().to_fields()).expect("encodes");
        let line = payload_text(formats.get("rider-updates.dlq").map(Arc::as_ref), Some(&payload));
        assert!(line.starts_with("{\"driver_id\":\"driver-7\""), "{line}");
    }
}
