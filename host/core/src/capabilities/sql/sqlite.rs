//! The embedded SQLite backend of the `sql` capability: a database in one
//! file, for a demo or a laptop without PostgreSQL. One host process only
//! (SQLite takes one writer at a time, and the file must be local), not for
//! production.
//!
//! Requests arrive checked (identifiers, grants, shapes; see `sql.rs`) and
//! become statements with quoted identifiers and bound values, as in
//! `sql/postgres.rs`. The WIT column types are stored as `TEXT`, `INTEGER`,
//! `REAL`, `BOOLEAN` (0/1) and `TIMESTAMP` (milliseconds since the Unix
//! epoch, an integer); `BOOLEAN` and `TIMESTAMP` keep their names in the
//! schema so that a read gives back `boolean` and `timestamp` values, not
//! integers. SQLite would store a value of any type in any column, so every
//! insert and select first reads the table's declared column types and
//! refuses a batch whose column types differ, as PostgreSQL does.
//!
//! SQLite has no schemas: a `schema.table` name is refused (`invalid`,
//! naming the table) rather than mapped to another name that a later
//! PostgreSQL deployment would not share.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
};
use sqlx::{Arguments, AssertSqlSafe, Row, SqliteConnection};

use crate::bindings::sql::{ColumnData, ColumnType, ColumnValues, InsertOp, SelectOp, SqlError, TableDef, Value};
use crate::capabilities::sql::column_len;
use crate::capabilities::sql::text::{self as sql_text, conflict_clause, quote, quoted_list};

/// How long a call waits for a free connection before reporting the
/// database unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a writer waits for another one to finish before SQLite reports
/// the database busy (which the capability reports `unavailable`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Most values bound in one statement: half SQLite's limit (32766 since
/// 3.32), so a multi-row `INSERT` never meets it.
const MAX_BOUND_VALUES: usize = 16_000;

/// A connection pool on one SQLite file, shared by every plugin instance.
#[derive(Clone)]
pub struct SqliteSql {
    pool: SqlitePool,
}

impl SqliteSql {
    /// A pool on the file of `url` (`sqlite://PATH` or `sqlite:PATH`),
    /// created when missing, in WAL mode (readers do not block the writer)
    /// with a busy timeout (concurrent writers wait their turn instead of
    /// failing). Connects on first use, like the PostgreSQL pool; a bad URL
    /// fails here.
    pub fn connect_lazy(url: &str, max_connections: u32) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Self { pool })
    }

    /// Rows in `table` (a checked plugin grant): the demo's figures line.
    pub async fn count_rows(&self, table: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {}", quote(table))))
            .fetch_one(&self.pool)
            .await
    }

    /// `CREATE TABLE IF NOT EXISTS` with its unique constraint and indexes,
    /// in one write transaction so that concurrent callers take turns.
    pub async fn ensure_table(&self, table: &TableDef) -> Result<(), SqlError> {
        let context = format!("table {}", table.name);
        let name = bare_table(&table.name)?;
        let mut transaction = self.write_transaction(&context).await?;
        sqlx::query(AssertSqlSafe(create_table_sql(name, table)))
            .execute(&mut *transaction)
            .await
            .map_err(|error| sql_error(&context, error))?;
        for columns in &table.indexes {
            sqlx::query(AssertSqlSafe(create_index_sql(name, columns)))
                .execute(&mut *transaction)
                .await
                .map_err(|error| sql_error(&context, error))?;
        }
        transaction.commit().await.map_err(|error| sql_error(&context, error))
    }

    /// Runs every insert in one transaction, each as multi-row `INSERT`s of
    /// at most `MAX_BOUND_VALUES` values; the rows written per op,
    /// conflicts skipped not counted.
    pub async fn insert(&self, ops: &[InsertOp]) -> Result<Vec<u64>, SqlError> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let tables: Vec<&str> = ops.iter().map(|op| op.table.as_str()).collect();
        let context = format!("insert into {}", tables.join(", "));
        let mut transaction = self.write_transaction(&context).await?;
        let mut written = Vec::with_capacity(ops.len());
        for op in ops {
            written.push(insert_op(&mut transaction, op).await?);
        }
        transaction.commit().await.map_err(|error| sql_error(&context, error))?;
        Ok(written)
    }

    /// The requested columns of the rows whose key column (as text) is one of
    /// the keys, each value of its column's declared type.
    pub async fn select(&self, query: &SelectOp) -> Result<Vec<Vec<Value>>, SqlError> {
        let context = format!("select from {}", query.table);
        let name = bare_table(&query.table)?;
        let mut connection = self.pool.acquire().await.map_err(|error| sql_error(&context, error))?;
        let declared = declared_types(&mut connection, name, &context).await?;
        column_kind(&declared, &query.key_column, &context)?;
        let kinds = query
            .columns
            .iter()
            .map(|column| column_kind(&declared, column, &context))
            .collect::<Result<Vec<_>, _>>()?;
        let placeholders = vec!["?"; query.keys.len()].join(", ");
        let columns: Vec<String> = query.columns.iter().map(|column| quote(column)).collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE CAST({} AS TEXT) IN ({placeholders}) LIMIT {}",
            columns.join(", "),
            quote(name),
            quote(&query.key_column),
            query.limit
        );
        let mut select = sqlx::query(AssertSqlSafe(sql));
        for key in &query.keys {
            select = select.bind(key.as_str());
        }
        let rows = select
            .fetch_all(&mut *connection)
            .await
            .map_err(|error| sql_error(&context, error))?;
        rows.iter()
            .map(|row| row_values(row, &kinds, &query.columns, &context))
            .collect()
    }

    /// A transaction that holds the write lock from its start (`BEGIN
    /// IMMEDIATE`): a deferred one that read first could not wait for another
    /// writer, it would fail busy.
    async fn write_transaction(&self, context: &str) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, SqlError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|error| sql_error(context, error))
    }
}

/// The table name itself: SQLite has no schemas, so `schema.table` is refused.
fn bare_table(table: &str) -> Result<&str, SqlError> {
    if table.contains('.') {
        Err(SqlError::Invalid(format!(
            "table {table}: SQLite has no schemas; name the table without one (e.g. {:?})",
            table.rsplit('.').next().unwrap_or(table)
        )))
    } else {
        Ok(table)
    }
}

/// The declared SQLite type of each WIT column type.
fn sql_type(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Text => "TEXT",
        ColumnType::BigInt => "INTEGER",
        ColumnType::Double => "REAL",
        ColumnType::Boolean => "BOOLEAN",
        ColumnType::Timestamp => "TIMESTAMP",
    }
}

/// The WIT column type of a declared SQLite type: the names [`sql_type`]
/// writes, then SQLite's own affinity rules for tables made by hand.
fn declared_kind(declared: &str) -> Option<ColumnType> {
    let declared = declared.to_ascii_uppercase();
    match declared.as_str() {
        "BOOLEAN" | "BOOL" => Some(ColumnType::Boolean),
        "TIMESTAMP" | "TIMESTAMPTZ" => Some(ColumnType::Timestamp),
        _ if declared.contains("INT") => Some(ColumnType::BigInt),
        _ if ["CHAR", "CLOB", "TEXT"].iter().any(|part| declared.contains(part)) => Some(ColumnType::Text),
        _ if ["REAL", "FLOA", "DOUB"].iter().any(|part| declared.contains(part)) => Some(ColumnType::Double),
        _ => None,
    }
}

/// The WIT name of a column type, for messages.
fn kind_name(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Text => "text",
        ColumnType::BigInt => "big-int",
        ColumnType::Double => "double",
        ColumnType::Boolean => "boolean",
        ColumnType::Timestamp => "timestamp",
    }
}

fn values_kind(values: &ColumnValues) -> ColumnType {
    match values {
        ColumnValues::Text(_) => ColumnType::Text,
        ColumnValues::BigInt(_) => ColumnType::BigInt,
        ColumnValues::Double(_) => ColumnType::Double,
        ColumnValues::Boolean(_) => ColumnType::Boolean,
        ColumnValues::Timestamp(_) => ColumnType::Timestamp,
    }
}

fn create_table_sql(name: &str, table: &TableDef) -> String {
    sql_text::create_table(&quote(name), table, sql_type)
}

/// Index names are per database in SQLite, so they carry the table's name.
fn create_index_sql(table: &str, columns: &[String]) -> String {
    let name = format!("{table}_{}_idx", columns.join("_"));
    format!(
        "CREATE INDEX IF NOT EXISTS {} ON {} ({})",
        quote(&name),
        quote(table),
        quoted_list(columns)
    )
}

/// Each column's declared type, by name; a table that does not exist is an
/// error naming it.
async fn declared_types(
    connection: &mut SqliteConnection,
    table: &str,
    context: &str,
) -> Result<HashMap<String, String>, SqlError> {
    let columns: Vec<(String, String)> = sqlx::query_as("SELECT name, type FROM pragma_table_info(?1)")
        .bind(table)
        .fetch_all(&mut *connection)
        .await
        .map_err(|error| sql_error(context, error))?;
    if columns.is_empty() {
        return Err(SqlError::Invalid(format!(
            "{context}: no table {table:?} in the database (ensure-table creates it)"
        )));
    }
    Ok(columns.into_iter().collect())
}

/// The WIT type of `column` by its declared type.
fn column_kind(declared: &HashMap<String, String>, column: &str, context: &str) -> Result<ColumnType, SqlError> {
    let Some(declared) = declared.get(column) else {
        return Err(SqlError::Invalid(format!(
            "{context}: the table has no column {column:?}"
        )));
    };
    declared_kind(declared).ok_or_else(|| {
        SqlError::Invalid(format!(
            "{context}: column {column:?} has type {declared:?}, which sql cannot use (text, integer, \
             real, boolean and timestamp can)"
        ))
    })
}

/// One op's rows in chunks of multi-row `INSERT`s, after checking each
/// column's type against the table's; the rows written.
async fn insert_op(connection: &mut SqliteConnection, op: &InsertOp) -> Result<u64, SqlError> {
    let context = format!("insert into {}", op.table);
    let name = bare_table(&op.table)?;
    let declared = declared_types(connection, name, &context).await?;
    for column in &op.columns {
        let table_kind = column_kind(&declared, &column.name, &context)?;
        let batch_kind = values_kind(&column.values);
        if table_kind != batch_kind {
            return Err(SqlError::Invalid(format!(
                "{context}: column {:?} is {} in the table, but the batch gives {}",
                column.name,
                kind_name(table_kind),
                kind_name(batch_kind)
            )));
        }
    }
    let rows = op.columns.first().map_or(0, column_len);
    let chunk_rows = (MAX_BOUND_VALUES / op.columns.len().max(1)).max(1);
    let nulls: Vec<Vec<bool>> = op
        .columns
        .iter()
        .map(|column| {
            let mut mask = vec![false; rows];
            for &row in &column.nulls {
                if let Some(null) = mask.get_mut(row as usize) {
                    *null = true;
                }
            }
            mask
        })
        .collect();
    let mut written = 0;
    let mut start = 0;
    while start < rows {
        let end = (start + chunk_rows).min(rows);
        let mut arguments = SqliteArguments::default();
        for row in start..end {
            for (column, nulls) in op.columns.iter().zip(&nulls) {
                bind_value(&mut arguments, column, row, nulls[row])
                    .map_err(|error| SqlError::Invalid(format!("{context}: column {:?}: {error}", column.name)))?;
            }
        }
        let done = sqlx::query_with(AssertSqlSafe(insert_sql(name, op, end - start)), arguments)
            .execute(&mut *connection)
            .await
            .map_err(|error| sql_error(&context, error))?;
        written += done.rows_affected();
        start = end;
    }
    Ok(written)
}

/// Binds the value of `column` at `row`, or NULL.
fn bind_value(
    arguments: &mut SqliteArguments,
    column: &ColumnData,
    row: usize,
    null: bool,
) -> Result<(), sqlx::error::BoxDynError> {
    if null {
        return arguments.add(None::<i64>);
    }
    match &column.values {
        ColumnValues::Text(values) => arguments.add(values[row].clone()),
        ColumnValues::BigInt(values) | ColumnValues::Timestamp(values) => arguments.add(values[row]),
        ColumnValues::Double(values) => arguments.add(values[row]),
        ColumnValues::Boolean(values) => arguments.add(values[row]),
    }
}

/// `INSERT INTO "t" ("a", "b") VALUES (?, ?), (?, ?)…` for `rows` rows, with
/// the op's conflict clause.
fn insert_sql(table: &str, op: &InsertOp, rows: usize) -> String {
    let names: Vec<String> = op.columns.iter().map(|column| column.name.clone()).collect();
    let row = format!("({})", vec!["?"; names.len()].join(", "));
    let conflict = conflict_clause(&op.on_conflict);
    format!(
        "INSERT INTO {} ({}) VALUES {}{conflict}",
        quote(table),
        quoted_list(&names),
        vec![row; rows].join(", ")
    )
}

/// One row as WIT values of the columns' declared types.
fn row_values(row: &SqliteRow, kinds: &[ColumnType], names: &[String], context: &str) -> Result<Vec<Value>, SqlError> {
    kinds
        .iter()
        .zip(names)
        .enumerate()
        .map(|(index, (kind, name))| {
            let value = match kind {
                ColumnType::Text => row
                    .try_get::<Option<String>, _>(index)
                    .map(|value| value.map(Value::Text)),
                ColumnType::BigInt => row
                    .try_get::<Option<i64>, _>(index)
                    .map(|value| value.map(Value::BigInt)),
                ColumnType::Double => row
                    .try_get::<Option<f64>, _>(index)
                    .map(|value| value.map(Value::Double)),
                ColumnType::Boolean => row
                    .try_get::<Option<bool>, _>(index)
                    .map(|value| value.map(Value::Boolean)),
                ColumnType::Timestamp => row
                    .try_get::<Option<i64>, _>(index)
                    .map(|value| value.map(Value::Timestamp)),
            };
            value
                .map(|value| value.unwrap_or(Value::Null))
                .map_err(|error| SqlError::Invalid(format!("{context}: column {name:?}: {error}")))
        })
        .collect()
}

/// SQLite result codes worth retrying: busy or locked (another writer held
/// on past the busy timeout), out of memory, I/O, disk full, cannot open
/// the file, lock protocol, read-only file (permissions, a full disk).
const TRANSIENT_CODES: [i32; 8] = [5, 6, 7, 8, 10, 13, 14, 15];

/// Like PostgreSQL's: trouble with the file or a busy database is worth
/// retrying (`unavailable`); a constraint, a type or a missing object will be
/// refused again (`invalid`). Messages start with `context`, which names the
/// table.
fn sql_error(context: &str, error: sqlx::Error) -> SqlError {
    match &error {
        sqlx::Error::Database(database) => {
            let code: i32 = database.code().and_then(|code| code.parse().ok()).unwrap_or(0);
            // The primary result code is the low byte of the extended one.
            let transient = TRANSIENT_CODES.contains(&(code & 0xff));
            let message = format!("{context}: {} (SQLite code {code})", database.message());
            if transient {
                SqlError::Unavailable(message)
            } else {
                SqlError::Invalid(message)
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => SqlError::Unavailable(format!("{context}: {error}")),
        _ => SqlError::Invalid(format!("{context}: {error}")),
    }
}

#[cfg(test)]
mod tests;
