//! The location history table: its definition and the rows one batch adds.
//!
//! Pure functions with no host call, so the whole shape of what reaches
//! PostgreSQL is testable natively. Rows travel column by column (one array per
//! column, one statement per batch); an absent optional value is a placeholder
//! in `values` plus its row index in `nulls`, so every column has one value per
//! event.

use fleethost_plugin_sdk::Event;
use fleethost_plugin_sdk::sql::{ColumnData, ColumnDef, ColumnType, ColumnValues, InsertOp, OnConflict, TableDef};

/// The driver that sent the fix.
pub const DRIVER_ID: &str = "driver_id";
/// WGS84 latitude in degrees.
pub const LATITUDE: &str = "latitude";
/// WGS84 longitude in degrees.
pub const LONGITUDE: &str = "longitude";
/// Event time of the fix.
pub const RECORDED_AT: &str = "recorded_at";
/// Region or state the fix was reported in.
pub const REGION: &str = "region";
/// The order the driver was serving.
pub const ORDER_ID: &str = "order_id";
/// Speed in metres per second.
pub const SPEED: &str = "speed";
/// Heading in degrees clockwise from north.
pub const HEADING: &str = "heading";
/// Kafka topic the fix was read from.
pub const KAFKA_TOPIC: &str = "kafka_topic";
/// Kafka partition the fix was read from.
pub const KAFKA_PARTITION: &str = "kafka_partition";
/// Offset of the fix's message in its partition.
pub const KAFKA_OFFSET: &str = "kafka_offset";

/// Every column in table order: name, type, nullable.
const COLUMNS: [(&str, ColumnType, bool); 11] = [
    (DRIVER_ID, ColumnType::Text, false),
    (LATITUDE, ColumnType::Double, false),
    (LONGITUDE, ColumnType::Double, false),
    (RECORDED_AT, ColumnType::Timestamp, false),
    (REGION, ColumnType::Text, true),
    (ORDER_ID, ColumnType::Text, true),
    (SPEED, ColumnType::Double, true),
    (HEADING, ColumnType::Double, true),
    (KAFKA_TOPIC, ColumnType::Text, false),
    (KAFKA_PARTITION, ColumnType::BigInt, false),
    (KAFKA_OFFSET, ColumnType::BigInt, false),
];

/// The source position of a message: what makes a redelivered fix the same row.
const UNIQUE: [&str; 3] = [KAFKA_TOPIC, KAFKA_PARTITION, KAFKA_OFFSET];

/// The index of "where was driver X between T1 and T2".
const DRIVER_TIME_INDEX: [&str; 2] = [DRIVER_ID, RECORDED_AT];

/// The definition `ensure-table` creates when `table` is missing.
pub fn table_def(table: &str) -> TableDef {
    TableDef {
        name: table.to_string(),
        columns: COLUMNS
            .iter()
            .map(|&(name, kind, nullable)| ColumnDef {
                name: name.to_string(),
                kind,
                nullable,
            })
            .collect(),
        unique: strings(&UNIQUE),
        indexes: vec![strings(&DRIVER_TIME_INDEX)],
    }
}

/// The insert of every fix of one batch (read from `partition` of `topic`) into
/// `table`, in the column order of [`table_def`]; rows already present (same
/// topic, partition and offset) are skipped.
pub fn insert_op(table: &str, topic: &str, partition: i32, events: &[Event]) -> InsertOp {
    let rows = events.len();
    let columns = vec![
        required(
            DRIVER_ID,
            ColumnValues::Text(events.iter().map(|e| e.driver_id.clone()).collect()),
        ),
        required(
            LATITUDE,
            ColumnValues::Double(events.iter().map(|e| e.latitude).collect()),
        ),
        required(
            LONGITUDE,
            ColumnValues::Double(events.iter().map(|e| e.longitude).collect()),
        ),
        required(
            RECORDED_AT,
            ColumnValues::Timestamp(events.iter().map(|e| e.timestamp_ms).collect()),
        ),
        optional_text(REGION, events, |e| e.region.as_deref()),
        optional_text(ORDER_ID, events, |e| e.order_id.as_deref()),
        optional_double(SPEED, events, |e| e.speed),
        optional_double(HEADING, events, |e| e.heading),
        required(KAFKA_TOPIC, ColumnValues::Text(vec![topic.to_string(); rows])),
        required(KAFKA_PARTITION, ColumnValues::BigInt(vec![i64::from(partition); rows])),
        required(
            KAFKA_OFFSET,
            ColumnValues::BigInt(events.iter().map(|e| e.offset).collect()),
        ),
    ];
    InsertOp {
        table: table.to_string(),
        columns,
        on_conflict: OnConflict::DoNothing,
    }
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| name.to_string()).collect()
}

fn required(name: &str, values: ColumnValues) -> ColumnData {
    ColumnData {
        name: name.to_string(),
        values,
        nulls: Vec::new(),
    }
}

/// A nullable text column: `""` as the placeholder of a NULL row.
fn optional_text(name: &str, events: &[Event], pick: impl Fn(&Event) -> Option<&str>) -> ColumnData {
    let mut values = Vec::with_capacity(events.len());
    let mut nulls = Vec::new();
    for (row, event) in events.iter().enumerate() {
        match pick(event) {
            Some(value) => values.push(value.to_string()),
            None => {
                values.push(String::new());
                nulls.push(row_index(row));
            }
        }
    }
    ColumnData {
        name: name.to_string(),
        values: ColumnValues::Text(values),
        nulls,
    }
}

/// A nullable double column: `0.0` as the placeholder of a NULL row. A value
/// that is not finite (NaN, ±infinity) is stored as NULL too: it says "unknown"
/// as much as an absent one, and a NaN would poison every aggregate over the
/// column (`avg(speed)`).
fn optional_double(name: &str, events: &[Event], pick: impl Fn(&Event) -> Option<f64>) -> ColumnData {
    let mut values = Vec::with_capacity(events.len());
    let mut nulls = Vec::new();
    for (row, event) in events.iter().enumerate() {
        match pick(event).filter(|value| value.is_finite()) {
            Some(value) => values.push(value),
            None => {
                values.push(0.0);
                nulls.push(row_index(row));
            }
        }
    }
    ColumnData {
        name: name.to_string(),
        values: ColumnValues::Double(values),
        nulls,
    }
}

/// A row index as the WIT `u32`. A batch cannot hold 2^32 events (a wasm32
/// instance has at most 4 GiB of memory and an event takes far more than one
/// byte), so the conversion never truncates.
fn row_index(row: usize) -> u32 {
    row as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(driver: &str, offset: i64) -> Event {
        Event {
            driver_id: driver.to_string(),
            latitude: 12.97,
            longitude: 77.59,
            timestamp_ms: 1_764_000_000_000 + offset,
            region: None,
            order_id: None,
            speed: None,
            heading: None,
            offset,
        }
    }

    fn column<'a>(op: &'a InsertOp, name: &str) -> &'a ColumnData {
        op.columns
            .iter()
            .find(|column| column.name == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    fn len(values: &ColumnValues) -> usize {
        match values {
            ColumnValues::Text(values) => values.len(),
            ColumnValues::BigInt(values) | ColumnValues::Timestamp(values) => values.len(),
            ColumnValues::Double(values) => values.len(),
            ColumnValues::Boolean(values) => values.len(),
        }
    }

    fn kind(values: &ColumnValues) -> ColumnType {
        match values {
            ColumnValues::Text(_) => ColumnType::Text,
            ColumnValues::BigInt(_) => ColumnType::BigInt,
            ColumnValues::Double(_) => ColumnType::Double,
            ColumnValues::Boolean(_) => ColumnType::Boolean,
            ColumnValues::Timestamp(_) => ColumnType::Timestamp,
        }
    }

    fn mixed_batch() -> Vec<Event> {
        let mut full = fix("d-1", 100);
        full.region = Some("KA".into());
        full.order_id = Some("o-1".into());
        full.speed = Some(8.5);
        full.heading = Some(270.0);
        let bare = fix("d-2", 101);
        let mut odd = fix("d-3", 102);
        odd.region = Some("TN".into());
        odd.speed = Some(f64::NAN);
        odd.heading = Some(f64::INFINITY);
        vec![full, bare, odd]
    }

    #[test]
    fn the_table_has_the_design_columns_unique_source_position_and_driver_time_index() {
        let table = table_def("fleet.driver_locations");
        assert_eq!(table.name, "fleet.driver_locations");
        let columns: Vec<(&str, ColumnType, bool)> = table
            .columns
            .iter()
            .map(|column| (column.name.as_str(), column.kind, column.nullable))
            .collect();
        assert_eq!(
            columns,
            vec![
                ("driver_id", ColumnType::Text, false),
                ("latitude", ColumnType::Double, false),
                ("longitude", ColumnType::Double, false),
                ("recorded_at", ColumnType::Timestamp, false),
                ("region", ColumnType::Text, true),
                ("order_id", ColumnType::Text, true),
                ("speed", ColumnType::Double, true),
                ("heading", ColumnType::Double, true),
                ("kafka_topic", ColumnType::Text, false),
                ("kafka_partition", ColumnType::BigInt, false),
                ("kafka_offset", ColumnType::BigInt, false),
            ]
        );
        assert_eq!(table.unique, vec!["kafka_topic", "kafka_partition", "kafka_offset"]);
        assert_eq!(
            table.indexes,
            vec![vec!["driver_id".to_string(), "recorded_at".to_string()]]
        );
    }

    #[test]
    fn the_insert_matches_the_table_column_for_column_and_skips_duplicates() {
        let table = table_def("driver_locations");
        let op = insert_op("driver_locations", "rider-updates", 3, &mixed_batch());
        assert_eq!(op.table, "driver_locations");
        assert_eq!(op.on_conflict, OnConflict::DoNothing);
        let inserted: Vec<(&str, ColumnType)> = op
            .columns
            .iter()
            .map(|column| (column.name.as_str(), kind(&column.values)))
            .collect();
        let defined: Vec<(&str, ColumnType)> = table
            .columns
            .iter()
            .map(|column| (column.name.as_str(), column.kind))
            .collect();
        assert_eq!(inserted, defined);
        for (column, def) in op.columns.iter().zip(&table.columns) {
            assert!(def.nullable || column.nulls.is_empty(), "{} is not nullable", def.name);
        }
    }

    #[test]
    fn every_column_has_one_value_per_event() {
        for events in [Vec::new(), vec![fix("d-1", 0)], mixed_batch()] {
            let op = insert_op("driver_locations", "rider-updates", 0, &events);
            for column in &op.columns {
                assert_eq!(len(&column.values), events.len(), "{}", column.name);
                assert!(
                    column.nulls.iter().all(|&row| (row as usize) < events.len()),
                    "{}",
                    column.name
                );
            }
        }
    }

    #[test]
    fn absent_or_non_finite_optional_values_are_null_by_row_index() {
        let op = insert_op("driver_locations", "rider-updates", 3, &mixed_batch());
        assert_eq!(column(&op, REGION).nulls, vec![1]);
        assert_eq!(column(&op, ORDER_ID).nulls, vec![1, 2]);
        assert_eq!(column(&op, SPEED).nulls, vec![1, 2]);
        assert_eq!(column(&op, HEADING).nulls, vec![1, 2]);
        assert_eq!(
            column(&op, REGION).values,
            ColumnValues::Text(vec!["KA".into(), String::new(), "TN".into()])
        );
        assert_eq!(
            column(&op, ORDER_ID).values,
            ColumnValues::Text(vec!["o-1".into(), String::new(), String::new()])
        );
        // Placeholders are finite so that even a host ignoring `nulls` would bind no NaN.
        assert_eq!(column(&op, SPEED).values, ColumnValues::Double(vec![8.5, 0.0, 0.0]));
        assert_eq!(column(&op, HEADING).values, ColumnValues::Double(vec![270.0, 0.0, 0.0]));
    }

    #[test]
    fn required_values_come_from_the_events_and_the_batch_source() {
        let op = insert_op("driver_locations", "rider-updates", 3, &mixed_batch());
        assert_eq!(
            column(&op, DRIVER_ID).values,
            ColumnValues::Text(vec!["d-1".into(), "d-2".into(), "d-3".into()])
        );
        assert_eq!(column(&op, LATITUDE).values, ColumnValues::Double(vec![12.97; 3]));
        assert_eq!(column(&op, LONGITUDE).values, ColumnValues::Double(vec![77.59; 3]));
        assert_eq!(
            column(&op, RECORDED_AT).values,
            ColumnValues::Timestamp(vec![1_764_000_000_100, 1_764_000_000_101, 1_764_000_000_102])
        );
        assert_eq!(
            column(&op, KAFKA_TOPIC).values,
            ColumnValues::Text(vec!["rider-updates".into(); 3])
        );
        assert_eq!(column(&op, KAFKA_PARTITION).values, ColumnValues::BigInt(vec![3; 3]));
        assert_eq!(
            column(&op, KAFKA_OFFSET).values,
            ColumnValues::BigInt(vec![100, 101, 102])
        );
    }

    #[test]
    fn the_same_batch_twice_gives_the_same_rows() {
        let events = mixed_batch();
        let first = insert_op("driver_locations", "rider-updates", 3, &events);
        let again = insert_op("driver_locations", "rider-updates", 3, &events);
        // NaN never reaches the values, so the two ops compare equal.
        assert_eq!(first, again);
    }
}
