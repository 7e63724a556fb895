//! The PostgreSQL backend of the `sql` capability.
//!
//! Requests arrive checked (identifiers, grants, shapes; see `sql.rs`) and
//! become statements with quoted identifiers and bound values. An insert is
//! one `INSERT … SELECT … FROM UNNEST($1::text[], $2::float8[], …)`: one
//! statement and one round trip for a whole batch, whatever its size, and
//! unlike `COPY` it can skip conflicting rows (`ON CONFLICT DO NOTHING`), which
//! is what makes a redelivered batch add no row. The statement text depends
//! only on the table and columns, so each connection prepares it once. A
//! single insert is tried first as a binary `COPY` (`postgres_copy.rs`),
//! which PostgreSQL takes for half the work, and runs as this `INSERT` only
//! when `COPY` refused it (a redelivered batch's rows are already there).

use std::time::Duration;

use sqlx::postgres::{PgArguments, PgPool, PgPoolOptions, PgRow};
use sqlx::{Arguments, AssertSqlSafe, Column, Row, TypeInfo};

use crate::capabilities::sql::postgres_copy;

use crate::bindings::sql::{
    ColumnData, ColumnType, ColumnValues, InsertOp, OnConflict, SelectOp, SqlError, TableDef, Value,
};
use crate::capabilities::sql::text::{self as sql_text, conflict_clause, quote, quoted_list};

/// How long a call waits for a free connection before reporting the
/// database unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A connection pool shared by every plugin instance.
#[derive(Clone)]
pub struct PostgresSql {
    pool: PgPool,
}

impl PostgresSql {
    /// A pool that connects on first use: the host starts while PostgreSQL is
    /// down, and calls fail with `unavailable` until it is up.
    pub fn connect_lazy(url: &str, max_connections: u32) -> Result<Self, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy(url)?;
        Ok(Self { pool })
    }

    /// Rows in `table` (a checked plugin grant): the demo's figures line.
    pub async fn count_rows(&self, table: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {}", quote_table(table))))
            .fetch_one(&self.pool)
            .await
    }

    /// `CREATE TABLE IF NOT EXISTS` with its unique constraint and indexes,
    /// under an advisory lock so that instances creating the same table at
    /// once do not collide in the catalog.
    pub async fn ensure_table(&self, table: &TableDef) -> Result<(), SqlError> {
        let mut transaction = self.pool.begin().await.map_err(sql_error)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("fleethost:ensure-table:{}", table.name))
            .execute(&mut *transaction)
            .await
            .map_err(sql_error)?;
        sqlx::query(AssertSqlSafe(create_table_sql(table)))
            .execute(&mut *transaction)
            .await
            .map_err(sql_error)?;
        for columns in &table.indexes {
            sqlx::query(AssertSqlSafe(create_index_sql(&table.name, columns)))
                .execute(&mut *transaction)
                .await
                .map_err(sql_error)?;
        }
        transaction.commit().await.map_err(sql_error)
    }

    /// Runs every insert (in one transaction when there are several); the
    /// rows written per op, conflicts skipped not counted. A single insert
    /// that does not update on conflict is first tried as a binary `COPY`
    /// (half PostgreSQL's work; see `postgres_copy.rs`).
    pub async fn insert(&self, ops: &[InsertOp]) -> Result<Vec<u64>, SqlError> {
        match ops {
            [] => Ok(Vec::new()),
            [op] => {
                if !matches!(op.on_conflict, OnConflict::Update(_)) {
                    let names: Vec<String> = op.columns.iter().map(|column| column.name.clone()).collect();
                    let statement = postgres_copy::copy_statement(&quote_table(&op.table), &quoted_list(&names));
                    match postgres_copy::copy_rows(&self.pool, &statement, &postgres_copy::encode(op)).await {
                        Ok(written) => return Ok(vec![written]),
                        // Refused as a whole (a row already there, a column
                        // of another type): the INSERT below decides.
                        Err(sqlx::Error::Database(_)) => {}
                        Err(error) => return Err(sql_error(error)),
                    }
                }
                let (sql, arguments) = insert_statement(op)?;
                let done = sqlx::query_with(AssertSqlSafe(sql), arguments)
                    .execute(&self.pool)
                    .await
                    .map_err(sql_error)?;
                Ok(vec![done.rows_affected()])
            }
            ops => {
                let mut transaction = self.pool.begin().await.map_err(sql_error)?;
                let mut written = Vec::with_capacity(ops.len());
                for op in ops {
                    let (sql, arguments) = insert_statement(op)?;
                    let done = sqlx::query_with(AssertSqlSafe(sql), arguments)
                        .execute(&mut *transaction)
                        .await
                        .map_err(sql_error)?;
                    written.push(done.rows_affected());
                }
                transaction.commit().await.map_err(sql_error)?;
                Ok(written)
            }
        }
    }

    /// The requested columns of the rows whose key column (as text) is one of
    /// the keys.
    pub async fn select(&self, query: &SelectOp) -> Result<Vec<Vec<Value>>, SqlError> {
        let columns: Vec<String> = query.columns.iter().map(|column| quote(column)).collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE {}::text = ANY($1) LIMIT {}",
            columns.join(", "),
            quote_table(&query.table),
            quote(&query.key_column),
            query.limit
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(&query.keys)
            .fetch_all(&self.pool)
            .await
            .map_err(sql_error)?;
        rows.iter().map(row_values).collect()
    }
}

/// `"schema"."table"` or `"table"`.
fn quote_table(table: &str) -> String {
    table.split('.').map(quote).collect::<Vec<_>>().join(".")
}

fn sql_type(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Text => "text",
        ColumnType::BigInt => "bigint",
        ColumnType::Double => "double precision",
        ColumnType::Boolean => "boolean",
        ColumnType::Timestamp => "timestamptz",
    }
}

fn create_table_sql(table: &TableDef) -> String {
    sql_text::create_table(&quote_table(&table.name), table, sql_type)
}

fn create_index_sql(table: &str, columns: &[String]) -> String {
    let bare_table = table.rsplit('.').next().unwrap_or(table);
    let mut name = format!("{bare_table}_{}_idx", columns.join("_"));
    // PostgreSQL cuts names at 63 bytes; cut here so IF NOT EXISTS matches.
    name.truncate(63);
    format!(
        "CREATE INDEX IF NOT EXISTS {} ON {} ({})",
        quote(&name),
        quote_table(table),
        quoted_list(columns)
    )
}

/// The UNNEST insert of `op` and its array arguments.
fn insert_statement(op: &InsertOp) -> Result<(String, PgArguments), SqlError> {
    let mut arguments = PgArguments::default();
    let mut unnest = Vec::with_capacity(op.columns.len());
    let mut selected = Vec::with_capacity(op.columns.len());
    for (index, column) in op.columns.iter().enumerate() {
        let placeholder = index + 1;
        let value = format!("v{placeholder}");
        let (array_type, expression) = match &column.values {
            ColumnValues::Text(_) => ("text[]", value),
            ColumnValues::BigInt(_) => ("int8[]", value),
            ColumnValues::Double(_) => ("float8[]", value),
            ColumnValues::Boolean(_) => ("bool[]", value),
            ColumnValues::Timestamp(_) => (
                "int8[]",
                format!("TIMESTAMPTZ 'epoch' + {value} * INTERVAL '1 millisecond'"),
            ),
        };
        unnest.push(format!("${placeholder}::{array_type}"));
        selected.push(expression);
        bind_column(&mut arguments, column)?;
    }
    let names: Vec<String> = op.columns.iter().map(|column| column.name.clone()).collect();
    let aliases: Vec<String> = (1..=op.columns.len()).map(|index| format!("v{index}")).collect();
    let conflict = conflict_clause(&op.on_conflict);
    let sql = format!(
        "INSERT INTO {} ({}) SELECT {} FROM UNNEST({}) AS u({}){conflict}",
        quote_table(&op.table),
        quoted_list(&names),
        selected.join(", "),
        unnest.join(", "),
        aliases.join(", ")
    );
    Ok((sql, arguments))
}

/// Binds one column as an array, `NULL` at the rows listed in `nulls`.
fn bind_column(arguments: &mut PgArguments, column: &ColumnData) -> Result<(), SqlError> {
    fn with_nulls<T: Clone>(values: &[T], nulls: &[u32]) -> Vec<Option<T>> {
        let mut array: Vec<Option<T>> = values.iter().cloned().map(Some).collect();
        for &row in nulls {
            if let Some(value) = array.get_mut(row as usize) {
                *value = None;
            }
        }
        array
    }
    let nulls = &column.nulls;
    let bound = match &column.values {
        ColumnValues::Text(values) => arguments.add(with_nulls(values, nulls)),
        ColumnValues::BigInt(values) | ColumnValues::Timestamp(values) => arguments.add(with_nulls(values, nulls)),
        ColumnValues::Double(values) => arguments.add(with_nulls(values, nulls)),
        ColumnValues::Boolean(values) => arguments.add(with_nulls(values, nulls)),
    };
    bound.map_err(|error| SqlError::Invalid(format!("column {:?}: {error}", column.name)))
}

/// One row as WIT values, by the database type of each column.
fn row_values(row: &PgRow) -> Result<Vec<Value>, SqlError> {
    row.columns()
        .iter()
        .enumerate()
        .map(|(index, column)| {
            let decode_error = |error: sqlx::Error| SqlError::Invalid(format!("column {:?}: {error}", column.name()));
            let value = match column.type_info().name() {
                "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => row
                    .try_get::<Option<String>, _>(index)
                    .map(|value| value.map(Value::Text)),
                "INT8" => row
                    .try_get::<Option<i64>, _>(index)
                    .map(|value| value.map(Value::BigInt)),
                "INT4" => row
                    .try_get::<Option<i32>, _>(index)
                    .map(|value| value.map(|value| Value::BigInt(value.into()))),
                "INT2" => row
                    .try_get::<Option<i16>, _>(index)
                    .map(|value| value.map(|value| Value::BigInt(value.into()))),
                "FLOAT8" => row
                    .try_get::<Option<f64>, _>(index)
                    .map(|value| value.map(Value::Double)),
                "FLOAT4" => row
                    .try_get::<Option<f32>, _>(index)
                    .map(|value| value.map(|value| Value::Double(value.into()))),
                "BOOL" => row
                    .try_get::<Option<bool>, _>(index)
                    .map(|value| value.map(Value::Boolean)),
                "TIMESTAMPTZ" => row
                    .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(index)
                    .map(|value| value.map(|time| Value::Timestamp(time.timestamp_millis()))),
                other => {
                    return Err(SqlError::Invalid(format!(
                        "column {:?} has type {other}, which sql cannot return (text, integers, \
                         floats, boolean and timestamptz can)",
                        column.name()
                    )));
                }
            };
            value.map(|value| value.unwrap_or(Value::Null)).map_err(decode_error)
        })
        .collect()
}

/// Connection trouble, server shutdown, resource exhaustion and
/// serialization failures are worth retrying (`unavailable`); everything
/// else the database refused will be refused again (`invalid`).
fn sql_error(error: sqlx::Error) -> SqlError {
    match &error {
        sqlx::Error::Database(database) => {
            let code = database.code().map(|code| code.to_string()).unwrap_or_default();
            let transient = ["08", "40", "53", "57", "58"]
                .iter()
                .any(|class| code.starts_with(class));
            let message = format!("{} (SQLSTATE {code})", database.message());
            if transient {
                SqlError::Unavailable(message)
            } else {
                SqlError::Invalid(message)
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => SqlError::Unavailable(error.to_string()),
        _ => SqlError::Invalid(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::sql::{ColumnDef, ConflictUpdate};

    /// Against the PostgreSQL of the test suite (`FLEETHOST_TEST_DATABASE`,
    /// default the local `test` database): a batch goes in by `COPY` with its
    /// NULLs, timestamps, floats and booleans exact; the same batch again
    /// (a redelivery) is refused by `COPY` and skipped by the `INSERT`; a
    /// table whose column type differs from the batch's (`integer` for a
    /// bigint column) still takes the batch through the `INSERT`.
    #[tokio::test]
    async fn a_batch_goes_in_by_copy_and_a_redelivery_or_another_column_type_by_insert() {
        let url = std::env::var("FLEETHOST_TEST_DATABASE")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let sql = PostgresSql::connect_lazy(&url, 2).unwrap();
        let table = format!("copy_path_{}", std::process::id());
        let narrow = format!("{table}_narrow");
        for statement in [
            format!("DROP TABLE IF EXISTS {table}, {narrow}"),
            format!("CREATE TABLE {table} (id bigint PRIMARY KEY, name text, at timestamptz, v float8, flag bool)"),
            format!("CREATE TABLE {narrow} (id integer PRIMARY KEY, name text, at timestamptz, v float8, flag bool)"),
        ] {
            sqlx::query(AssertSqlSafe(statement)).execute(&sql.pool).await.unwrap();
        }
        let op = |table: &str| InsertOp {
            table: table.to_string(),
            columns: vec![
                ColumnData {
                    name: "id".into(),
                    values: ColumnValues::BigInt(vec![1, 2]),
                    nulls: vec![],
                },
                ColumnData {
                    name: "name".into(),
                    values: ColumnValues::Text(vec!["zoë".into(), String::new()]),
                    nulls: vec![1],
                },
                ColumnData {
                    name: "at".into(),
                    values: ColumnValues::Timestamp(vec![1_764_000_000_123, 0]),
                    nulls: vec![],
                },
                ColumnData {
                    name: "v".into(),
                    values: ColumnValues::Double(vec![12.971_612_345_678_9, -0.5]),
                    nulls: vec![],
                },
                ColumnData {
                    name: "flag".into(),
                    values: ColumnValues::Boolean(vec![true, false]),
                    nulls: vec![],
                },
            ],
            on_conflict: OnConflict::DoNothing,
        };
        let columns = "\"id\", \"name\", \"at\", \"v\", \"flag\"";
        let copy = |table: &str| postgres_copy::copy_statement(&quote_table(table), columns);
        // COPY alone takes the batch (the values are checked below)...
        let copied = postgres_copy::copy_rows(&sql.pool, &copy(&table), &postgres_copy::encode(&op(&table))).await;
        assert_eq!(copied.unwrap(), 2);
        // ...and refuses it where the INSERT must step in.
        let refused = postgres_copy::copy_rows(&sql.pool, &copy(&narrow), &postgres_copy::encode(&op(&narrow))).await;
        assert!(matches!(refused, Err(sqlx::Error::Database(_))), "{refused:?}");
        assert_eq!(
            sql.insert(&[op(&table)]).await.unwrap(),
            vec![0],
            "a redelivery adds no row"
        );
        assert_eq!(
            sql.insert(&[op(&narrow)]).await.unwrap(),
            vec![2],
            "the INSERT casts bigint to integer"
        );
        for name in [&table, &narrow] {
            let rows: Vec<(i64, Option<String>, i64, f64, bool)> = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT id::bigint, name, (extract(epoch FROM at) * 1000)::bigint, v, flag FROM {name} ORDER BY id"
            )))
            .fetch_all(&sql.pool)
            .await
            .unwrap();
            assert_eq!(
                rows,
                vec![
                    (1, Some("zoë".into()), 1_764_000_000_123, 12.971_612_345_678_9, true),
                    (2, None, 0, -0.5, false)
                ],
                "{name}"
            );
        }
        sqlx::query(AssertSqlSafe(format!("DROP TABLE {table}, {narrow}")))
            .execute(&sql.pool)
            .await
            .unwrap();
    }

    #[test]
    fn an_insert_is_one_unnest_statement_with_the_conflict_clause() {
        let op = InsertOp {
            table: "history.driver_locations".into(),
            columns: vec![
                ColumnData {
                    name: "driver_id".into(),
                    values: ColumnValues::Text(vec!["a".into(), "b".into()]),
                    nulls: vec![],
                },
                ColumnData {
                    name: "recorded_at".into(),
                    values: ColumnValues::Timestamp(vec![1, 2]),
                    nulls: vec![1],
                },
            ],
            on_conflict: OnConflict::Update(ConflictUpdate {
                target: vec!["driver_id".into()],
                set: vec!["recorded_at".into()],
            }),
        };
        let (sql, _) = insert_statement(&op).expect("statement");
        assert_eq!(
            sql,
            "INSERT INTO \"history\".\"driver_locations\" (\"driver_id\", \"recorded_at\") \
             SELECT v1, TIMESTAMPTZ 'epoch' + v2 * INTERVAL '1 millisecond' \
             FROM UNNEST($1::text[], $2::int8[]) AS u(v1, v2) \
             ON CONFLICT (\"driver_id\") DO UPDATE SET \"recorded_at\" = EXCLUDED.\"recorded_at\""
        );
    }

    #[test]
    fn a_table_definition_becomes_create_statements() {
        let table = TableDef {
            name: "trips".into(),
            columns: vec![
                ColumnDef {
                    name: "order_id".into(),
                    kind: ColumnType::Text,
                    nullable: false,
                },
                ColumnDef {
                    name: "fare".into(),
                    kind: ColumnType::Double,
                    nullable: true,
                },
            ],
            unique: vec!["order_id".into()],
            indexes: vec![vec!["fare".into()]],
        };
        assert_eq!(
            create_table_sql(&table),
            "CREATE TABLE IF NOT EXISTS \"trips\" (\"order_id\" text NOT NULL, \"fare\" double precision, UNIQUE (\"order_id\"))"
        );
        assert_eq!(
            create_index_sql("trips", &table.indexes[0]),
            "CREATE INDEX IF NOT EXISTS \"trips_fare_idx\" ON \"trips\" (\"fare\")"
        );
    }
}
