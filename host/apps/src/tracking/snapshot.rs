//! A driver's current position, read from the hash live-location keeps
//! (`{key_prefix}driver:{driver_id}`: `lat`, `lng`, `ts_ms`), as the first
//! frame a customer watching that driver gets: the map shows the driver at
//! once instead of after the next change.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use fleethost_record::names;

use super::live_keys::LiveKeys;
use super::live_store::{LiveSource, LiveStore};

/// How long the read of a position may take: a customer waits for it before
/// the first live message, so a Redis that does not answer must not hold the
/// session up for long.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// A position as customers receive it: the message live-location publishes,
/// without `order_id` (the hash does not keep it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Position {
    /// Always `"position"`, as in the published messages.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub driver_id: String,
    pub lat: f64,
    pub lng: f64,
    /// Event time of the fix: messages not newer than this are skipped.
    pub ts_ms: i64,
}

/// Why the current position could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Redis failed or did not answer in time.
    #[error("cannot read the hash `{key}` from Redis: {reason}")]
    Unavailable { key: String, reason: String },
    /// The hash exists but its fields are not a position.
    #[error("the hash `{key}` is not a position: {reason}")]
    Malformed { key: String, reason: String },
}

/// Reads drivers' current positions; clones share one connection.
#[derive(Clone)]
pub struct PositionReader {
    store: LiveStore,
    keys: LiveKeys,
}

impl PositionReader {
    /// A reader for the position hashes `keys` names in `source`, connecting
    /// lazily to Redis (the server starts, and keeps serving live messages,
    /// while Redis is down).
    pub fn connect_lazy(source: &LiveSource, keys: &LiveKeys) -> redis::RedisResult<Self> {
        Ok(Self {
            store: LiveStore::connect_lazy(source, READ_TIMEOUT)?,
            keys: keys.clone(),
        })
    }

    /// The driver's newest position, `None` when the store has none.
    pub async fn current(&self, driver_id: &str) -> Result<Option<Position>, SnapshotError> {
        let key = self.keys.driver_key(driver_id);
        let read = self.store.hashes(std::slice::from_ref(&key));
        let fields = match tokio::time::timeout(READ_TIMEOUT, read).await {
            Ok(Ok(mut hashes)) => hashes.pop().unwrap_or_default(),
            Ok(Err(error)) => {
                return Err(SnapshotError::Unavailable {
                    key,
                    reason: error.to_string(),
                });
            }
            Err(_) => {
                return Err(SnapshotError::Unavailable {
                    key,
                    reason: format!("no answer within {READ_TIMEOUT:?}"),
                });
            }
        };
        position_from_fields(driver_id, &fields).map_err(|reason| SnapshotError::Malformed { key, reason })
    }
}

/// The position in a driver's hash fields; `None` for an empty hash (no
/// position yet).
pub fn position_from_fields(driver_id: &str, fields: &HashMap<String, String>) -> Result<Option<Position>, String> {
    if fields.is_empty() {
        return Ok(None);
    }
    let field = |name: &str| {
        fields
            .get(name)
            .map(|value| value.trim())
            .ok_or_else(|| format!("field `{name}` is missing"))
    };
    let coordinate = |name: &str| {
        let text = field(name)?;
        text.parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| format!("field `{name}` = {text:?} is not a number"))
    };
    let ts_text = field(names::POSITION_TS_MS)?;
    let ts_ms = ts_text
        .parse::<i64>()
        .map_err(|_| format!("field `ts_ms` = {ts_text:?} is not an integer"))?;
    Ok(Some(Position {
        kind: "position",
        driver_id: driver_id.to_string(),
        lat: coordinate(names::POSITION_LAT)?,
        lng: coordinate(names::POSITION_LNG)?,
        ts_ms,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn a_hash_becomes_the_position_message() {
        let position = position_from_fields("d1", &fields(&[("lat", "12.97"), ("lng", "77.59"), ("ts_ms", "1700")]))
            .expect("valid")
            .expect("present");
        assert_eq!(
            serde_json::to_string(&position).expect("json"),
            r#"{"type":"position","driver_id":"d1","lat":12.97,"lng":77.59,"ts_ms":1700}"#
        );
        assert_eq!(position_from_fields("d1", &HashMap::new()), Ok(None));
    }

    #[test]
    fn a_malformed_hash_names_the_field() {
        let error = position_from_fields("d1", &fields(&[("lat", "north"), ("lng", "1"), ("ts_ms", "1")]))
            .expect_err("not a number");
        assert_eq!(error, r#"field `lat` = "north" is not a number"#);
        let error = position_from_fields("d1", &fields(&[("lat", "1")])).expect_err("incomplete");
        assert_eq!(error, "field `ts_ms` is missing");
    }
}
