//! Shadow sinks for a replay (`fleethost replay`): a plugin version's
//! writes go where live data never is, and are recorded so that two
//! versions' effects can be compared.
//!
//! The plugin sees its own names: grants are checked against them. Past
//! the grants, every kv key and channel gets a prefix, every table a
//! suffix and every output topic a suffix, so a replay never touches a live
//! key, row or topic, and what it wrote stays to be looked at.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use crate::bindings::kv::{WriteOp, WriteResult};
use crate::bindings::produce::Message;
use crate::bindings::sql::{ColumnValues, InsertOp};

/// Where one replayed version writes, and what it wrote.
#[derive(Debug)]
pub struct Shadow {
    key_prefix: String,
    table_suffix: String,
    topic_suffix: String,
    recording: Mutex<Recording>,
}

/// The effects of a plugin version's writes, in the plugin's own names.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Recording {
    /// The kv state the writes leave: a string key's value, a hash field's
    /// (`key#field`), a geo member's position (`key#member`), a counter's
    /// value.
    pub kv: BTreeMap<String, String>,
    /// Publications per channel, in order.
    pub published: BTreeMap<String, Vec<String>>,
    /// Records produced per topic: key and payload as text.
    pub produced: BTreeMap<String, Vec<(String, String)>>,
    /// Rows inserted per table, each as `column=value` pairs.
    pub rows: BTreeMap<String, Vec<String>>,
}

impl Shadow {
    /// Sinks under `key_prefix` (kv keys and channels), `_{table_suffix}`
    /// (tables) and `.{topic_suffix}` (topics).
    pub fn new(key_prefix: &str, table_suffix: &str, topic_suffix: &str) -> Self {
        Self {
            key_prefix: key_prefix.to_string(),
            table_suffix: table_suffix.to_string(),
            topic_suffix: topic_suffix.to_string(),
            recording: Mutex::default(),
        }
    }

    /// The shadow of kv key (or channel) `key`.
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.key_prefix)
    }

    /// The shadow of table `table`.
    pub fn table(&self, table: &str) -> String {
        format!("{table}_{}", self.table_suffix)
    }

    /// The shadow of topic `topic`.
    pub fn topic(&self, topic: &str) -> String {
        format!("{topic}.{}", self.topic_suffix)
    }

    /// What was recorded so far.
    pub fn recording(&self) -> Recording {
        self.recording.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// `ops` with every key and channel in the shadow.
    pub fn kv_ops(&self, ops: &[WriteOp]) -> Vec<WriteOp> {
        ops.iter()
            .cloned()
            .map(|op| match op {
                WriteOp::Set(mut set) => {
                    set.key = self.key(&set.key);
                    WriteOp::Set(set)
                }
                WriteOp::HashSet(mut hash) => {
                    hash.key = self.key(&hash.key);
                    WriteOp::HashSet(hash)
                }
                WriteOp::UpsertNewer(mut upsert) => {
                    upsert.key = self.key(&upsert.key);
                    if let Some(geo) = upsert.geo.as_mut() {
                        geo.key = self.key(&geo.key);
                    }
                    WriteOp::UpsertNewer(upsert)
                }
                WriteOp::GeoAdd(mut member) => {
                    member.key = self.key(&member.key);
                    WriteOp::GeoAdd(member)
                }
                WriteOp::Expire((key, ttl)) => WriteOp::Expire((self.key(&key), ttl)),
                WriteOp::Delete(key) => WriteOp::Delete(self.key(&key)),
                WriteOp::Incr(mut incr) => {
                    incr.key = self.key(&incr.key);
                    WriteOp::Incr(incr)
                }
                WriteOp::Publish(mut publish) => {
                    publish.channel = self.key(&publish.channel);
                    WriteOp::Publish(publish)
                }
            })
            .collect()
    }

    /// Records the effect of `ops` (the plugin's names), given what each
    /// answered.
    pub fn record_kv(&self, ops: &[WriteOp], results: &[WriteResult]) {
        let mut recording = self.recording.lock().unwrap_or_else(PoisonError::into_inner);
        for (op, result) in ops.iter().zip(results) {
            let kv = &mut recording.kv;
            match op {
                WriteOp::Set(set) => {
                    kv.insert(set.key.clone(), set.value.clone());
                }
                WriteOp::HashSet(hash) => {
                    for field in &hash.fields {
                        kv.insert(format!("{}#{}", hash.key, field.field), field.value.clone());
                    }
                }
                WriteOp::UpsertNewer(upsert) => {
                    if matches!(result, WriteResult::Applied(true)) {
                        kv.insert(
                            format!("{}#{}", upsert.key, upsert.version_field),
                            upsert.version.to_string(),
                        );
                        for field in &upsert.fields {
                            kv.insert(format!("{}#{}", upsert.key, field.field), field.value.clone());
                        }
                        if let Some(geo) = &upsert.geo {
                            kv.insert(
                                format!("{}#{}", geo.key, geo.member),
                                format!("{},{}", geo.longitude, geo.latitude),
                            );
                        }
                    }
                }
                WriteOp::GeoAdd(member) => {
                    kv.insert(
                        format!("{}#{}", member.key, member.member),
                        format!("{},{}", member.longitude, member.latitude),
                    );
                }
                WriteOp::Expire(_) => {}
                WriteOp::Delete(key) => {
                    let hash_fields = format!("{key}#");
                    kv.retain(|stored, _| stored != key && !stored.starts_with(&hash_fields));
                }
                WriteOp::Incr(incr) => {
                    if let WriteResult::Counter(value) = result {
                        kv.insert(incr.key.clone(), value.to_string());
                    }
                }
                WriteOp::Publish(publish) => recording
                    .published
                    .entry(publish.channel.clone())
                    .or_default()
                    .push(publish.message.clone()),
            }
        }
    }

    /// Records the rows of `ops` (the plugin's table names).
    pub fn record_rows(&self, ops: &[InsertOp]) {
        let mut recording = self.recording.lock().unwrap_or_else(PoisonError::into_inner);
        for op in ops {
            let rows = recording.rows.entry(op.table.clone()).or_default();
            let count = op.columns.first().map_or(0, |column| column_len(&column.values));
            for row in 0..count {
                let cells: Vec<String> = op
                    .columns
                    .iter()
                    .map(|column| {
                        let value = if column.nulls.contains(&(row as u32)) {
                            "null".to_string()
                        } else {
                            cell(&column.values, row)
                        };
                        format!("{}={value}", column.name)
                    })
                    .collect();
                rows.push(cells.join(","));
            }
        }
    }

    /// Records the records of `messages` (the plugin's topic names).
    pub fn record_produced(&self, messages: &[Message]) {
        let mut recording = self.recording.lock().unwrap_or_else(PoisonError::into_inner);
        for message in messages {
            recording.produced.entry(message.topic.clone()).or_default().push((
                message.key.clone().unwrap_or_default(),
                String::from_utf8_lossy(&message.payload).into_owned(),
            ));
        }
    }
}

fn column_len(values: &ColumnValues) -> usize {
    match values {
        ColumnValues::Text(values) => values.len(),
        ColumnValues::BigInt(values) | ColumnValues::Timestamp(values) => values.len(),
        ColumnValues::Double(values) => values.len(),
        ColumnValues::Boolean(values) => values.len(),
    }
}

fn cell(values: &ColumnValues, row: usize) -> String {
    match values {
        ColumnValues::Text(values) => values.get(row).cloned().unwrap_or_default(),
        ColumnValues::BigInt(values) | ColumnValues::Timestamp(values) => {
            values.get(row).map(ToString::to_string).unwrap_or_default()
        }
        ColumnValues::Double(values) => values.get(row).map(ToString::to_string).unwrap_or_default(),
        ColumnValues::Boolean(values) => values.get(row).map(ToString::to_string).unwrap_or_default(),
    }
}
