//! Dead letters: a message that cannot be processed goes to `{topic}.dlq` with
//! its original key and payload, and headers that say what was wrong and where
//! it came from. Nothing is dropped silently.

use crate::kafka::producer::OutgoingRecord;

/// Suffix of the dead-letter topic of a source topic.
pub const DEAD_LETTER_SUFFIX: &str = ".dlq";
/// Header: human-readable reason.
pub const HEADER_ERROR: &str = "fleethost.error";
/// Header: machine-readable failure kind (`not-json`, `out-of-range`, `trap`, ...).
pub const HEADER_ERROR_KIND: &str = "fleethost.error.kind";
/// Header: pipeline that gave up on the message.
pub const HEADER_PIPELINE: &str = "fleethost.pipeline";
/// Header: `name@version` of the plugin that failed or rejected it, if any.
pub const HEADER_PLUGIN: &str = "fleethost.plugin";
/// Header: source topic.
pub const HEADER_SOURCE_TOPIC: &str = "fleethost.source.topic";
/// Header: source partition (decimal text).
pub const HEADER_SOURCE_PARTITION: &str = "fleethost.source.partition";
/// Header: source offset (decimal text).
pub const HEADER_SOURCE_OFFSET: &str = "fleethost.source.offset";

/// The dead-letter topic of `topic`.
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}{DEAD_LETTER_SUFFIX}")
}

/// A consumed message as it arrived, kept until its batch is done so that it
/// can be dead-lettered unchanged.
#[derive(Debug, Clone)]
pub struct RawRecord {
    /// Offset in its partition.
    pub offset: i64,
    /// Original key.
    pub key: Option<Vec<u8>>,
    /// Original payload.
    pub payload: Option<Vec<u8>>,
    /// Kafka message timestamp in ms, when the broker set one.
    pub timestamp_ms: Option<i64>,
}

/// Why one message is dead-lettered.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Machine-readable kind.
    pub kind: &'static str,
    /// Human-readable reason.
    pub reason: String,
    /// `name@version` of the plugin involved, if any.
    pub plugin: Option<String>,
}

/// Where the failed message came from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// Pipeline name.
    pub pipeline: &'a str,
    /// Source topic.
    pub topic: &'a str,
    /// Source partition.
    pub partition: i32,
}

/// Builds the dead-letter record for `record`.
pub fn dead_letter(source: Source<'_>, record: &RawRecord, failure: &Failure) -> OutgoingRecord {
    let mut headers = vec![
        (HEADER_ERROR.to_string(), failure.reason.clone().into_bytes()),
        (HEADER_ERROR_KIND.to_string(), failure.kind.as_bytes().to_vec()),
        (HEADER_PIPELINE.to_string(), source.pipeline.as_bytes().to_vec()),
        (HEADER_SOURCE_TOPIC.to_string(), source.topic.as_bytes().to_vec()),
        (
            HEADER_SOURCE_PARTITION.to_string(),
            source.partition.to_string().into_bytes(),
        ),
        (HEADER_SOURCE_OFFSET.to_string(), record.offset.to_string().into_bytes()),
    ];
    if let Some(plugin) = &failure.plugin {
        headers.push((HEADER_PLUGIN.to_string(), plugin.clone().into_bytes()));
    }
    OutgoingRecord {
        topic: dead_letter_topic(source.topic),
        key: record.key.clone(),
        payload: record.payload.clone(),
        headers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letter_keeps_key_payload_and_names_the_source() {
        let record = RawRecord {
            offset: 17,
            key: Some(b"d1".to_vec()),
            payload: Some(b"{bad".to_vec()),
            timestamp_ms: None,
        };
        let failure = Failure {
            kind: "not-json",
            reason: "not a JSON object".into(),
            plugin: None,
        };
        let source = Source {
            pipeline: "live",
            topic: "rider-updates",
            partition: 3,
        };
        let out = dead_letter(source, &record, &failure);
        assert_eq!(out.topic, "rider-updates.dlq");
        assert_eq!(out.key.as_deref(), Some(&b"d1"[..]));
        assert_eq!(out.payload.as_deref(), Some(&b"{bad"[..]));
        let header = |name: &str| {
            out.headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| String::from_utf8(value.clone()).unwrap())
        };
        assert_eq!(header(HEADER_ERROR_KIND).as_deref(), Some("not-json"));
        assert_eq!(header(HEADER_SOURCE_PARTITION).as_deref(), Some("3"));
        assert_eq!(header(HEADER_SOURCE_OFFSET).as_deref(), Some("17"));
        assert_eq!(header(HEADER_PIPELINE).as_deref(), Some("live"));
        assert_eq!(header(HEADER_PLUGIN), None);
    }
}
