//! The batches a plugin test runs: fixes and order events read from JSON
//! lines files, decoded and validated as the host decodes a topic's
//! messages, and cut into batches in event-time order.

use std::path::{Path, PathBuf};

use fleethost_event::EventsConfig;
use fleethost_event::location::{DecodeError, Location};
use fleethost_event::order::Order;

use crate::pipeline::worker::{wit_event, wit_order};
use crate::runtime::{Batch, Event, OrderEvent};

/// Where a plugin test's records come from and how they are batched.
#[derive(Debug, Clone)]
pub struct FixtureFiles {
    /// Location fixes, one JSON message per line (the topic's JSON format).
    pub fixes: Option<PathBuf>,
    /// Order events, one JSON message per line.
    pub orders: Option<PathBuf>,
    /// Most records per batch.
    pub batch_size: usize,
    /// The pipeline name the batches carry.
    pub pipeline: String,
    /// The topic fix batches carry.
    pub fixes_topic: String,
    /// The topic order batches carry.
    pub orders_topic: String,
}

/// A line that does not decode: the host would dead-letter its message.
#[derive(Debug, Clone, PartialEq)]
pub struct Undecodable {
    /// `FILE:LINE`.
    pub at: String,
    /// The dead-letter kind (`missing-field`, `out-of-range`…).
    pub kind: &'static str,
    /// What is wrong, naming the field.
    pub reason: String,
}

/// The batches, and the lines that did not decode.
#[derive(Debug, Default)]
pub struct Fixtures {
    pub batches: Vec<Batch>,
    pub undecodable: Vec<Undecodable>,
}

/// Why the fixture files cannot be used at all.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no fixtures: give --fixes FILE, --orders FILE or both")]
    Nothing,
}

/// One decoded record with its event time.
enum Record {
    Fix(Event),
    Order(OrderEvent),
}

impl Record {
    fn timestamp_ms(&self) -> i64 {
        match self {
            Self::Fix(event) => event.timestamp_ms,
            Self::Order(order) => order.timestamp_ms,
        }
    }
}

impl FixtureFiles {
    /// Reads both files and cuts their records into batches: all records in
    /// event-time order (stable, so a file's order holds among equal times),
    /// each batch consecutive records of one kind, at most `batch_size`.
    /// `now_ms` is the clock messages are held to (their Kafka timestamp).
    pub fn load(&self, now_ms: i64) -> Result<Fixtures, FixtureError> {
        if self.fixes.is_none() && self.orders.is_none() {
            return Err(FixtureError::Nothing);
        }
        let mut fixtures = Fixtures::default();
        let mut records = Vec::new();
        if let Some(path) = &self.fixes {
            for (offset, line, text) in read_lines(path)? {
                match Location::decode_within(Some(text.as_bytes()), Some(now_ms), &EventsConfig::default()) {
                    Ok(location) => records.push(Record::Fix(wit_event(location, offset))),
                    Err(error) => fixtures.undecodable.push(undecodable(path, line, &error)),
                }
            }
        }
        if let Some(path) = &self.orders {
            for (offset, line, text) in read_lines(path)? {
                match Order::decode_within(Some(text.as_bytes()), Some(now_ms), &EventsConfig::default()) {
                    Ok(order) => records.push(Record::Order(wit_order(order, offset))),
                    Err(error) => fixtures.undecodable.push(undecodable(path, line, &error)),
                }
            }
        }
        records.sort_by_key(Record::timestamp_ms);
        for record in records {
            let fits = fixtures.batches.last().is_some_and(|batch: &Batch| {
                batch.len() < self.batch_size.max(1)
                    && matches!(
                        (&record, batch.events.is_empty()),
                        (Record::Fix(_), false) | (Record::Order(_), true)
                    )
            });
            if !fits {
                let topic = match record {
                    Record::Fix(_) => &self.fixes_topic,
                    Record::Order(_) => &self.orders_topic,
                };
                fixtures.batches.push(Batch {
                    pipeline: self.pipeline.clone(),
                    topic: topic.clone(),
                    partition: 0,
                    events: Vec::new(),
                    orders: Vec::new(),
                });
            }
            let batch = fixtures.batches.last_mut().expect("pushed above");
            match record {
                Record::Fix(event) => batch.events.push(event),
                Record::Order(order) => batch.orders.push(order),
            }
        }
        Ok(fixtures)
    }

    /// The newest event time in the files, read without validation: the
    /// clock a test holds its records to unless it is given one.
    pub fn newest_timestamp_ms(&self) -> Result<Option<i64>, FixtureError> {
        let mut newest = None;
        for path in self.fixes.iter().chain(&self.orders) {
            for (_, _, text) in read_lines(path)? {
                let far_future = i64::MAX / 4;
                let timestamp = Location::decode(Some(text.as_bytes()), Some(far_future))
                    .map(|fix| fix.timestamp_ms)
                    .or_else(|_| {
                        Order::decode(Some(text.as_bytes()), Some(far_future)).map(|order| order.timestamp_ms)
                    });
                if let Ok(timestamp) = timestamp
                    && timestamp != far_future
                {
                    newest = newest.max(Some(timestamp));
                }
            }
        }
        Ok(newest)
    }
}

/// The non-blank lines of `path` with their offset (0, 1, … among them)
/// and line number.
fn read_lines(path: &Path) -> Result<Vec<(i64, usize, String)>, FixtureError> {
    let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .enumerate()
        .map(|(offset, (index, line))| (offset as i64, index + 1, line.to_string()))
        .collect())
}

fn undecodable(path: &Path, line: usize, error: &DecodeError) -> Undecodable {
    Undecodable {
        at: format!("{}:{line}", path.display()),
        kind: error.kind(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(test: &str, fixes: &str, orders: &str, batch_size: usize) -> FixtureFiles {
        let dir = std::env::temp_dir().join(format!("fleethost-fixtures-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("fixes.jsonl"), fixes).unwrap();
        std::fs::write(dir.join("orders.jsonl"), orders).unwrap();
        FixtureFiles {
            fixes: Some(dir.join("fixes.jsonl")),
            orders: Some(dir.join("orders.jsonl")),
            batch_size,
            pipeline: "test".into(),
            fixes_topic: "rider-updates".into(),
            orders_topic: "order-events".into(),
        }
    }

    #[test]
    fn records_are_batched_by_kind_in_event_time_order() {
        let fix = |driver: &str, at: i64| {
            format!(r#"{{"driver_id":"{driver}","latitude":12.9,"longitude":77.6,"timestamp":{at}}}"#)
        };
        // Epoch milliseconds (below 10^11 a timestamp is read as seconds).
        let at = |seconds: i64| 1_767_225_600_000 + seconds * 1000;
        let fixes = [
            fix("d1", at(1)),
            fix("d2", at(2)),
            fix("d3", at(4)),
            fix("d4", at(5)),
            fix("d5", at(6)),
        ]
        .join("\n");
        let orders = r#"{"type":"assigned","order_id":"o1","driver_id":"d1","timestamp":1767225603000,"pickup":{"lat":12.9,"lng":77.6},"dropoff":{"lat":12.95,"lng":77.65}}"#;
        let files = files("batched", &fixes, orders, 2);
        assert_eq!(files.newest_timestamp_ms().unwrap(), Some(at(6)));
        let fixtures = files.load(at(6)).unwrap();
        assert!(fixtures.undecodable.is_empty(), "{:?}", fixtures.undecodable);
        let shape: Vec<(String, usize, usize)> = fixtures
            .batches
            .iter()
            .map(|batch| (batch.topic.clone(), batch.events.len(), batch.orders.len()))
            .collect();
        assert_eq!(
            shape,
            [
                ("rider-updates".to_string(), 2, 0),
                ("order-events".to_string(), 0, 1),
                ("rider-updates".to_string(), 2, 0),
                ("rider-updates".to_string(), 1, 0),
            ]
        );
        assert_eq!(fixtures.batches[2].events[0].offset, 2);
    }

    #[test]
    fn a_line_that_does_not_decode_is_named_by_file_and_line() {
        let fixes = "{\"driver_id\":\"d1\",\"latitude\":12.9,\"longitude\":77.6,\"timestamp\":1767225600000}\n\n{\"driver_id\":\"d2\",\"latitude\":95,\"longitude\":77.6,\"timestamp\":1767225600000}";
        let files = files("undecodable", fixes, "", 10);
        let fixtures = files.load(1_767_225_600_000).unwrap();
        assert_eq!(fixtures.batches.len(), 1);
        assert_eq!(fixtures.undecodable.len(), 1);
        let bad = &fixtures.undecodable[0];
        assert!(bad.at.ends_with("fixes.jsonl:3"), "{bad:?}");
        assert_eq!(bad.kind, "out-of-range");
        assert!(bad.reason.contains("latitude"), "{bad:?}");
    }
}
