//! Unit tests of `sqlite.rs`.

use super::*;
use crate::bindings::sql::{ColumnDef, ConflictUpdate, OnConflict};
use std::path::PathBuf;

/// An SQLite file in the temporary directory, removed (with its WAL
/// files) before and after the test.
struct TempDb {
    path: PathBuf,
}

impl TempDb {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("fleethost-sqlite-{}-{name}.db", std::process::id()));
        let db = Self { path };
        db.remove();
        db
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    fn connect(&self) -> SqliteSql {
        SqliteSql::connect_lazy(&self.url(), 4).expect("sqlite pool")
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = self.path.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}

fn column(name: &str, kind: ColumnType, nullable: bool) -> ColumnDef {
    ColumnDef {
        name: name.into(),
        kind,
        nullable,
    }
}

fn data(name: &str, values: ColumnValues, nulls: Vec<u32>) -> ColumnData {
    ColumnData {
        name: name.into(),
        values,
        nulls,
    }
}

/// The history table of the db-writer plugin, trimmed to its kinds of
/// column: text, double, timestamp, a nullable text, bigints, unique on
/// the Kafka position, indexed by driver and time.
fn history(name: &str) -> TableDef {
    TableDef {
        name: name.into(),
        columns: vec![
            column("driver_id", ColumnType::Text, false),
            column("latitude", ColumnType::Double, false),
            column("longitude", ColumnType::Double, false),
            column("recorded_at", ColumnType::Timestamp, false),
            column("region", ColumnType::Text, true),
            column("kafka_topic", ColumnType::Text, false),
            column("kafka_partition", ColumnType::BigInt, false),
            column("kafka_offset", ColumnType::BigInt, false),
        ],
        unique: vec!["kafka_topic".into(), "kafka_partition".into(), "kafka_offset".into()],
        indexes: vec![vec!["driver_id".into(), "recorded_at".into()]],
    }
}

/// `rows` fixes of the history table from offset `first`, every third
/// region NULL.
fn history_rows(table: &str, first: i64, rows: usize, on_conflict: OnConflict) -> InsertOp {
    let offsets: Vec<i64> = (first..first + rows as i64).collect();
    InsertOp {
        table: table.into(),
        columns: vec![
            data(
                "driver_id",
                ColumnValues::Text(offsets.iter().map(|offset| format!("driver-{}", offset % 50)).collect()),
                vec![],
            ),
            data(
                "latitude",
                ColumnValues::Double(offsets.iter().map(|&offset| 12.9 + offset as f64 * 1e-6).collect()),
                vec![],
            ),
            data(
                "longitude",
                ColumnValues::Double(offsets.iter().map(|&offset| 77.5 - offset as f64 * 1e-6).collect()),
                vec![],
            ),
            data(
                "recorded_at",
                ColumnValues::Timestamp(offsets.iter().map(|&offset| 1_764_000_000_000 + offset).collect()),
                vec![],
            ),
            data(
                "region",
                ColumnValues::Text(vec!["blr".into(); rows]),
                (0..rows as u32).filter(|row| row % 3 == 0).collect(),
            ),
            data(
                "kafka_topic",
                ColumnValues::Text(vec!["rider-updates".into(); rows]),
                vec![],
            ),
            data("kafka_partition", ColumnValues::BigInt(vec![3; rows]), vec![]),
            data("kafka_offset", ColumnValues::BigInt(offsets), vec![]),
        ],
        on_conflict,
    }
}

fn select(table: &str, columns: &[&str], key_column: &str, keys: &[&str]) -> SelectOp {
    SelectOp {
        table: table.into(),
        columns: columns.iter().map(|column| column.to_string()).collect(),
        key_column: key_column.into(),
        keys: keys.iter().map(|key| key.to_string()).collect(),
        limit: 100,
    }
}

/// `Value` has no `PartialEq` (WIT bindings): rows compare by `Debug`.
fn assert_rows(actual: &[Vec<Value>], expected: Vec<Vec<Value>>) {
    assert_eq!(format!("{actual:?}"), format!("{expected:?}"));
}

async fn count(sql: &SqliteSql, table: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM \"{table}\"")))
        .fetch_one(&sql.pool)
        .await
        .expect("count")
}

fn invalid(result: Result<impl std::fmt::Debug, SqlError>) -> String {
    match result {
        Err(SqlError::Invalid(message)) => message,
        other => panic!("expected invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn ensure_table_creates_the_file_table_and_index_and_twice_is_fine() {
    let db = TempDb::new("ensure");
    let sql = db.connect();
    sql.ensure_table(&history("driver_locations")).await.expect("first");
    sql.ensure_table(&history("driver_locations")).await.expect("second");
    assert!(db.path.exists(), "the file is created when missing");
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&sql.pool)
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'driver_locations' ORDER BY name",
    )
    .fetch_all(&sql.pool)
    .await
    .unwrap();
    assert!(
        indexes.contains(&"driver_locations_driver_id_recorded_at_idx".to_string()),
        "{indexes:?}"
    );
    assert_eq!(indexes.len(), 2, "the index and the unique constraint's: {indexes:?}");
}

#[tokio::test]
async fn a_batch_with_nulls_goes_in_once_and_a_redelivery_adds_nothing() {
    let db = TempDb::new("redelivery");
    let sql = db.connect();
    sql.ensure_table(&history("driver_locations")).await.unwrap();
    let batch = history_rows("driver_locations", 100, 6, OnConflict::DoNothing);
    assert_eq!(sql.insert(std::slice::from_ref(&batch)).await.unwrap(), vec![6]);
    assert_eq!(sql.insert(&[batch]).await.unwrap(), vec![0], "a redelivery adds no row");
    // Overlapping: offsets 104..110, of which 104 and 105 are there.
    let overlap = history_rows("driver_locations", 104, 6, OnConflict::DoNothing);
    assert_eq!(sql.insert(&[overlap]).await.unwrap(), vec![4]);
    assert_eq!(count(&sql, "driver_locations").await, 10);
    let rows = sql
        .select(&select(
            "driver_locations",
            &["driver_id", "latitude", "recorded_at", "region", "kafka_offset"],
            "kafka_offset",
            &["100", "101"],
        ))
        .await
        .unwrap();
    let mut rows = rows;
    rows.sort_by_key(|row| format!("{:?}", row[4]));
    assert_rows(
        &rows,
        vec![
            vec![
                Value::Text("driver-0".into()),
                Value::Double(12.9 + 100.0 * 1e-6),
                Value::Timestamp(1_764_000_000_100),
                Value::Null,
                Value::BigInt(100),
            ],
            vec![
                Value::Text("driver-1".into()),
                Value::Double(12.9 + 101.0 * 1e-6),
                Value::Timestamp(1_764_000_000_101),
                Value::Text("blr".into()),
                Value::BigInt(101),
            ],
        ],
    );
}

#[tokio::test]
async fn an_update_on_conflict_overwrites_the_listed_columns() {
    let db = TempDb::new("upsert");
    let sql = db.connect();
    sql.ensure_table(&history("driver_locations")).await.unwrap();
    sql.insert(&[history_rows("driver_locations", 0, 2, OnConflict::DoNothing)])
        .await
        .unwrap();
    let mut update = history_rows(
        "driver_locations",
        1,
        2,
        OnConflict::Update(ConflictUpdate {
            target: vec!["kafka_topic".into(), "kafka_partition".into(), "kafka_offset".into()],
            set: vec!["driver_id".into(), "region".into()],
        }),
    );
    update.columns[0].values = ColumnValues::Text(vec!["moved".into(), "new".into()]);
    update.columns[4].nulls = vec![];
    assert_eq!(
        sql.insert(&[update]).await.unwrap(),
        vec![2],
        "one updated, one inserted"
    );
    assert_eq!(count(&sql, "driver_locations").await, 3);
    let mut rows = sql
        .select(&select(
            "driver_locations",
            &["kafka_offset", "driver_id", "region"],
            "kafka_offset",
            &["0", "1", "2"],
        ))
        .await
        .unwrap();
    rows.sort_by_key(|row| format!("{:?}", row[0]));
    assert_rows(
        &rows,
        vec![
            vec![Value::BigInt(0), Value::Text("driver-0".into()), Value::Null],
            vec![Value::BigInt(1), Value::Text("moved".into()), Value::Text("blr".into())],
            vec![Value::BigInt(2), Value::Text("new".into()), Value::Text("blr".into())],
        ],
    );
}

#[tokio::test]
async fn select_gives_back_values_of_each_declared_type() {
    let db = TempDb::new("typed");
    let sql = db.connect();
    let table = TableDef {
        name: "trips".into(),
        columns: vec![
            column("order_id", ColumnType::Text, false),
            column("stops", ColumnType::BigInt, true),
            column("fare", ColumnType::Double, true),
            column("paid", ColumnType::Boolean, true),
            column("ended_at", ColumnType::Timestamp, true),
        ],
        unique: vec!["order_id".into()],
        indexes: vec![],
    };
    sql.ensure_table(&table).await.unwrap();
    let op = InsertOp {
        table: "trips".into(),
        columns: vec![
            data("order_id", ColumnValues::Text(vec!["a".into(), "b".into()]), vec![]),
            data("stops", ColumnValues::BigInt(vec![i64::MAX, 0]), vec![1]),
            data("fare", ColumnValues::Double(vec![-0.5, 0.0]), vec![1]),
            data("paid", ColumnValues::Boolean(vec![true, false]), vec![]),
            data("ended_at", ColumnValues::Timestamp(vec![1_764_000_000_123, 0]), vec![1]),
        ],
        on_conflict: OnConflict::Fail,
    };
    assert_eq!(sql.insert(&[op]).await.unwrap(), vec![2]);
    let columns = ["order_id", "stops", "fare", "paid", "ended_at"];
    let a = sql
        .select(&select("trips", &columns, "order_id", &["a"]))
        .await
        .unwrap();
    assert_rows(
        &a,
        vec![vec![
            Value::Text("a".into()),
            Value::BigInt(i64::MAX),
            Value::Double(-0.5),
            Value::Boolean(true),
            Value::Timestamp(1_764_000_000_123),
        ]],
    );
    let b = sql
        .select(&select("trips", &columns, "order_id", &["b", "zz"]))
        .await
        .unwrap();
    assert_rows(
        &b,
        vec![vec![
            Value::Text("b".into()),
            Value::Null,
            Value::Null,
            Value::Boolean(false),
            Value::Null,
        ]],
    );
    // A key column of another type is compared as text; the limit holds.
    let by_flag = sql
        .select(&select("trips", &["order_id"], "paid", &["1"]))
        .await
        .unwrap();
    assert_rows(&by_flag, vec![vec![Value::Text("a".into())]]);
    let mut limited = select("trips", &["order_id"], "order_id", &["a", "b"]);
    limited.limit = 1;
    assert_eq!(sql.select(&limited).await.unwrap().len(), 1);
    assert!(
        sql.select(&select("trips", &columns, "order_id", &[]))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_batch_larger_than_one_statement_goes_in_whole() {
    let db = TempDb::new("chunks");
    let sql = db.connect();
    let table = TableDef {
        name: "wide".into(),
        columns: (0..7)
            .map(|index| column(&format!("c{index}"), ColumnType::BigInt, false))
            .collect(),
        unique: vec!["c0".into()],
        indexes: vec![],
    };
    sql.ensure_table(&table).await.unwrap();
    let rows = 20_000;
    assert!(rows * 7 > 4 * MAX_BOUND_VALUES, "several statements");
    let op = InsertOp {
        table: "wide".into(),
        columns: (0..7)
            .map(|index| {
                data(
                    &format!("c{index}"),
                    ColumnValues::BigInt((0..rows as i64).collect()),
                    vec![],
                )
            })
            .collect(),
        on_conflict: OnConflict::DoNothing,
    };
    assert_eq!(sql.insert(std::slice::from_ref(&op)).await.unwrap(), vec![rows as u64]);
    assert_eq!(count(&sql, "wide").await, rows as i64);
    let sum: i64 = sqlx::query_scalar("SELECT sum(c6) FROM wide")
        .fetch_one(&sql.pool)
        .await
        .unwrap();
    assert_eq!(sum, (0..rows as i64).sum::<i64>());
    assert_eq!(sql.insert(&[op]).await.unwrap(), vec![0]);
}

#[tokio::test]
async fn the_ops_of_one_call_are_one_transaction() {
    let db = TempDb::new("atomic");
    let sql = db.connect();
    sql.ensure_table(&history("driver_locations")).await.unwrap();
    let good = history_rows("driver_locations", 0, 3, OnConflict::DoNothing);
    let mut bad = history_rows("driver_locations", 10, 3, OnConflict::DoNothing);
    bad.columns[0].nulls = vec![2];
    let message = invalid(sql.insert(&[good.clone(), bad]).await);
    assert!(message.contains("driver_locations"), "{message}");
    assert!(message.contains("NOT NULL"), "{message}");
    assert_eq!(count(&sql, "driver_locations").await, 0, "the first op is rolled back");
    assert_eq!(
        sql.insert(&[
            good.clone(),
            history_rows("driver_locations", 10, 3, OnConflict::DoNothing)
        ])
        .await
        .unwrap(),
        vec![3, 3]
    );
    let mut fail = good;
    fail.on_conflict = OnConflict::Fail;
    let message = invalid(sql.insert(&[fail]).await);
    assert!(
        message.contains("insert into driver_locations") && message.contains("UNIQUE"),
        "{message}"
    );
}

#[tokio::test]
async fn concurrent_writers_wait_for_each_other() {
    let db = TempDb::new("concurrent");
    let sql = db.connect();
    sql.ensure_table(&history("driver_locations")).await.unwrap();
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let sql = sql.clone();
            tokio::spawn(async move {
                sql.insert(&[history_rows(
                    "driver_locations",
                    writer * 1_000,
                    500,
                    OnConflict::DoNothing,
                )])
                .await
            })
        })
        .collect();
    for writer in writers {
        assert_eq!(writer.await.unwrap().unwrap(), vec![500]);
    }
    assert_eq!(count(&sql, "driver_locations").await, 4_000);
}

#[tokio::test]
async fn type_mismatches_unknown_tables_and_columns_and_schemas_are_invalid_naming_the_table() {
    let db = TempDb::new("errors");
    let sql = db.connect();
    sql.ensure_table(&history("driver_locations")).await.unwrap();
    let mut mismatch = history_rows("driver_locations", 0, 2, OnConflict::DoNothing);
    mismatch.columns[7].values = ColumnValues::Text(vec!["1".into(), "2".into()]);
    let message = invalid(sql.insert(&[mismatch]).await);
    assert!(message.contains("insert into driver_locations"), "{message}");
    assert!(
        message.contains("\"kafka_offset\" is big-int in the table, but the batch gives text"),
        "{message}"
    );
    let mut timestamp_as_bigint = history_rows("driver_locations", 0, 2, OnConflict::DoNothing);
    timestamp_as_bigint.columns[3].values = ColumnValues::BigInt(vec![1, 2]);
    let message = invalid(sql.insert(&[timestamp_as_bigint]).await);
    assert!(message.contains("\"recorded_at\" is timestamp"), "{message}");

    let message = invalid(
        sql.insert(&[history_rows("missing", 0, 1, OnConflict::DoNothing)])
            .await,
    );
    assert!(
        message.contains("insert into missing") && message.contains("no table"),
        "{message}"
    );
    let message = invalid(sql.select(&select("missing", &["a"], "a", &["1"])).await);
    assert!(
        message.contains("select from missing") && message.contains("no table"),
        "{message}"
    );

    let mut unknown = history_rows("driver_locations", 0, 1, OnConflict::DoNothing);
    unknown.columns[0].name = "speed".into();
    let message = invalid(sql.insert(&[unknown]).await);
    assert!(
        message.contains("driver_locations") && message.contains("\"speed\""),
        "{message}"
    );
    let message = invalid(
        sql.select(&select("driver_locations", &["speed"], "driver_id", &["1"]))
            .await,
    );
    assert!(
        message.contains("driver_locations") && message.contains("\"speed\""),
        "{message}"
    );

    let message = invalid(sql.ensure_table(&history("history.driver_locations")).await);
    assert!(
        message.contains("history.driver_locations") && message.contains("no schemas"),
        "{message}"
    );
    let message = invalid(
        sql.insert(&[history_rows("history.driver_locations", 0, 1, OnConflict::DoNothing)])
            .await,
    );
    assert!(message.contains("history.driver_locations"), "{message}");
    assert_eq!(count(&sql, "driver_locations").await, 0);
}

#[test]
fn a_table_definition_becomes_create_statements_and_an_insert_one_multi_row_statement() {
    let table = TableDef {
        name: "trips".into(),
        columns: vec![
            column("order_id", ColumnType::Text, false),
            column("paid", ColumnType::Boolean, true),
            column("ended_at", ColumnType::Timestamp, true),
        ],
        unique: vec!["order_id".into()],
        indexes: vec![vec!["ended_at".into()]],
    };
    assert_eq!(
        create_table_sql("trips", &table),
        "CREATE TABLE IF NOT EXISTS \"trips\" (\"order_id\" TEXT NOT NULL, \"paid\" BOOLEAN, \
         \"ended_at\" TIMESTAMP, UNIQUE (\"order_id\"))"
    );
    assert_eq!(
        create_index_sql("trips", &table.indexes[0]),
        "CREATE INDEX IF NOT EXISTS \"trips_ended_at_idx\" ON \"trips\" (\"ended_at\")"
    );
    let op = InsertOp {
        table: "trips".into(),
        columns: vec![
            data("order_id", ColumnValues::Text(vec![]), vec![]),
            data("paid", ColumnValues::Boolean(vec![]), vec![]),
        ],
        on_conflict: OnConflict::Update(ConflictUpdate {
            target: vec!["order_id".into()],
            set: vec!["paid".into()],
        }),
    };
    assert_eq!(
        insert_sql("trips", &op, 2),
        "INSERT INTO \"trips\" (\"order_id\", \"paid\") VALUES (?, ?), (?, ?) \
         ON CONFLICT (\"order_id\") DO UPDATE SET \"paid\" = EXCLUDED.\"paid\""
    );
    for kind in [
        ColumnType::Text,
        ColumnType::BigInt,
        ColumnType::Double,
        ColumnType::Boolean,
        ColumnType::Timestamp,
    ] {
        assert_eq!(declared_kind(sql_type(kind)), Some(kind), "{kind:?}");
    }
    assert_eq!(declared_kind("varchar(20)"), Some(ColumnType::Text));
    assert_eq!(declared_kind("BLOB"), None);
}
