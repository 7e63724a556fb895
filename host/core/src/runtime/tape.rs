//! A tape of an instance's host calls: every capability call a plugin made,
//! with what it asked and what it was answered, in order. `fleethost test`
//! prints it; a recorded tape is what a replay answers from.
//!
//! Calls are the WIT types in JSON (records as objects with snake_case
//! fields, variants as `{"Case": value}`, results as `{"Ok": …}` or
//! `{"Err": …}`), but for produced records, whose payloads and header values
//! are text when they are UTF-8 (what plugins send) and hex otherwise.

use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::bindings::kv::{FieldValue, KvError, WriteOp, WriteResult};
use crate::bindings::log::Level;
use crate::bindings::produce::{Header, Message, ProduceError};
use crate::bindings::sql::{InsertOp, SelectOp, SqlError, TableDef, Value};
use crate::bindings::state::StateError;

/// One host call and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call")]
pub enum HostCall {
    /// `kv.write`.
    #[serde(rename = "kv.write")]
    KvWrite {
        ops: Vec<WriteOp>,
        answer: Result<Vec<WriteResult>, KvError>,
    },
    /// `kv.get-many`.
    #[serde(rename = "kv.get-many")]
    KvGetMany {
        keys: Vec<String>,
        answer: Result<Vec<Option<String>>, KvError>,
    },
    /// `kv.hash-get-all-many`.
    #[serde(rename = "kv.hash-get-all-many")]
    KvHashGetAllMany {
        keys: Vec<String>,
        answer: Result<Vec<Vec<FieldValue>>, KvError>,
    },
    /// `sql.ensure-table`.
    #[serde(rename = "sql.ensure-table")]
    SqlEnsureTable {
        table: TableDef,
        answer: Result<(), SqlError>,
    },
    /// `sql.insert`.
    #[serde(rename = "sql.insert")]
    SqlInsert {
        ops: Vec<InsertOp>,
        answer: Result<Vec<u64>, SqlError>,
    },
    /// `sql.select`.
    #[serde(rename = "sql.select")]
    SqlSelect {
        query: SelectOp,
        answer: Result<Vec<Vec<Value>>, SqlError>,
    },
    /// `state.get-many`.
    #[serde(rename = "state.get-many")]
    StateGetMany {
        keys: Vec<String>,
        answer: Result<Vec<Option<String>>, StateError>,
    },
    /// `state.put-many`.
    #[serde(rename = "state.put-many")]
    StatePutMany {
        changes: Vec<(String, Option<String>)>,
        answer: Result<(), StateError>,
    },
    /// `produce.send`.
    #[serde(rename = "produce.send")]
    ProduceSend {
        messages: Vec<ProducedRecord>,
        answer: Result<(), ProduceError>,
    },
    /// `log.log`: answered with nothing.
    #[serde(rename = "log")]
    Log { level: Level, message: String },
    /// A reading of `wasi:clocks/wall-clock`, in nanoseconds since the Unix
    /// epoch; taped only when recording (a test's clock is fixed).
    #[serde(rename = "clock.wall")]
    WallClock { answer: u64 },
    /// A reading of `wasi:clocks/monotonic-clock`, in nanoseconds; taped
    /// only when recording.
    #[serde(rename = "clock.monotonic")]
    MonotonicClock { answer: u64 },
}

/// A record a plugin asked to produce, readable in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProducedRecord {
    pub topic: String,
    pub key: Option<String>,
    pub payload: Bytes,
    pub headers: Vec<(String, Bytes)>,
}

/// Bytes as UTF-8 text when they are, as hex otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Bytes {
    /// Valid UTF-8.
    Text(String),
    /// Anything else, as lowercase hex digits.
    Hex { hex: String },
}

impl Bytes {
    /// `bytes`, as text when they are UTF-8.
    pub fn new(bytes: &[u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::Text(text.to_string()),
            Err(_) => Self::Hex {
                hex: bytes.iter().map(|byte| format!("{byte:02x}")).collect(),
            },
        }
    }
}

impl ProducedRecord {
    /// `message` as the tape shows it.
    pub fn new(message: &Message) -> Self {
        Self {
            topic: message.topic.clone(),
            key: message.key.clone(),
            payload: Bytes::new(&message.payload),
            headers: message
                .headers
                .iter()
                .map(|Header { key, value }| (key.clone(), Bytes::new(value)))
                .collect(),
        }
    }
}

/// Where an instance's host calls are written, shared with whoever reads
/// them (the harness, a recording).
#[derive(Debug, Clone, Default)]
pub struct Tape {
    calls: Arc<Mutex<Vec<HostCall>>>,
}

impl Tape {
    /// Appends one call.
    pub fn push(&self, call: HostCall) {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner).push(call);
    }

    /// The calls written since the last `take`, leaving the tape empty.
    pub fn take(&self) -> Vec<HostCall> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::kv::IncrOp;

    #[test]
    fn a_call_reads_back_as_written() {
        let call = HostCall::KvWrite {
            ops: vec![WriteOp::Incr(IncrOp {
                key: "speeding:d1".into(),
                by: 1,
                ttl_ms: None,
            })],
            answer: Ok(vec![WriteResult::Counter(1)]),
        };
        let line = serde_json::to_string(&call).unwrap();
        assert_eq!(
            line,
            r#"{"call":"kv.write","ops":[{"Incr":{"key":"speeding:d1","by":1,"ttl_ms":null}}],"answer":{"Ok":[{"Counter":1}]}}"#
        );
        assert_eq!(serde_json::from_str::<HostCall>(&line).unwrap(), call);
    }

    #[test]
    fn payloads_are_text_when_they_are_utf8_and_hex_otherwise() {
        let record = ProducedRecord::new(&Message {
            topic: "t".into(),
            key: Some("d1".into()),
            payload: br#"{"a":1}"#.to_vec(),
            headers: vec![Header {
                key: "h".into(),
                value: vec![0xff, 0x00],
            }],
        });
        let line = serde_json::to_string(&record).unwrap();
        assert_eq!(
            line,
            r#"{"topic":"t","key":"d1","payload":"{\"a\":1}","headers":[["h",{"hex":"ff00"}]]}"#
        );
        assert_eq!(serde_json::from_str::<ProducedRecord>(&line).unwrap(), record);
    }
}
