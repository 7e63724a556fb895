//! The `sql` capability as plugins see it: requests are checked (identifiers,
//! shapes, sizes) and the tables against the plugin's grants before anything
//! reaches the database; then the backend (PostgreSQL, or an embedded SQLite
//! file for a demo; see `sql/backend.rs`) runs them with a timeout per call.
//!
//! No SQL text comes from a plugin: it names tables and columns, which must be
//! plain lowercase identifiers, and hands over values, which are bound.

pub mod backend;
pub mod postgres;
pub mod postgres_copy;
pub mod sqlite;
pub mod text;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::bindings::sql::{ColumnData, ColumnValues, InsertOp, OnConflict, SelectOp, SqlError, TableDef, Value};
use crate::capabilities::grants::TableGrants;
use crate::capabilities::shadow::Shadow;
use crate::capabilities::sql::backend::SqlBackend;
use crate::metrics::labels::Capability;
use crate::metrics::usage::CallMeter;

/// Most rows one insert op may carry (the largest batch).
pub const MAX_ROWS_PER_INSERT: usize = 100_000;
/// Most insert ops one call may carry.
pub const MAX_OPS_PER_CALL: usize = 64;
/// Most keys and rows one select may ask for.
pub const MAX_SELECT_ROWS: usize = 10_000;

/// One instance's view of the database.
pub struct SqlCapability {
    grants: Arc<TableGrants>,
    backend: Option<SqlBackend>,
    timeout: Duration,
    runtime: tokio::runtime::Handle,
    meter: Arc<CallMeter>,
    /// Where the writes and reads go instead, in a replay.
    shadow: Option<Arc<Shadow>>,
}

impl SqlCapability {
    /// A capability limited by `grants`, each call bounded by `timeout`;
    /// without a backend (no `database.url`) every call is refused; calls,
    /// refusals and quotas are counted in `meter`. Must be created inside
    /// the tokio runtime whose handle it keeps.
    pub fn new(
        grants: Arc<TableGrants>,
        backend: Option<SqlBackend>,
        timeout: Duration,
        meter: Arc<CallMeter>,
        shadow: Option<Arc<Shadow>>,
    ) -> Self {
        Self {
            grants,
            backend,
            timeout,
            runtime: tokio::runtime::Handle::current(),
            meter,
            shadow,
        }
    }

    /// `table` where this instance reaches it: in its shadow, in a replay.
    fn in_shadow(&self, table: &str) -> String {
        match &self.shadow {
            Some(shadow) => shadow.table(table),
            None => table.to_string(),
        }
    }

    /// Creates `table` when missing.
    pub fn ensure_table(&self, table: TableDef) -> Result<(), SqlError> {
        let _call = self.meter.admit(Capability::Sql).map_err(SqlError::Denied)?;
        check_table_def(&table)?;
        self.check_write(&table.name)?;
        let backend = self.backend()?;
        let table = TableDef {
            name: self.in_shadow(&table.name),
            ..table
        };
        self.block_on(backend.ensure_table(&table))
    }

    /// Inserts the rows of every op.
    pub fn insert(&self, ops: Vec<InsertOp>) -> Result<Vec<u64>, SqlError> {
        let mut call = self.meter.admit(Capability::Sql).map_err(SqlError::Denied)?;
        call.sent(ops.iter().map(insert_bytes).sum());
        if ops.len() > MAX_OPS_PER_CALL {
            return Err(SqlError::Invalid(format!(
                "{} inserts in one call; the limit is {MAX_OPS_PER_CALL}",
                ops.len()
            )));
        }
        for op in &ops {
            check_insert(op)?;
            self.check_write(&op.table)?;
        }
        let backend = self.backend()?;
        if let Some(shadow) = &self.shadow {
            shadow.record_rows(&ops);
        }
        let ops: Vec<InsertOp> = ops
            .into_iter()
            .map(|op| InsertOp {
                table: self.in_shadow(&op.table),
                ..op
            })
            .collect();
        let counts = self.block_on(backend.insert(&ops))?;
        call.received(8 * counts.len() as u64);
        Ok(counts)
    }

    /// Reads rows by key.
    pub fn select(&self, query: SelectOp) -> Result<Vec<Vec<Value>>, SqlError> {
        let mut call = self.meter.admit(Capability::Sql).map_err(SqlError::Denied)?;
        call.sent(query.keys.iter().map(|key| key.len() as u64).sum());
        check_select(&query)?;
        if let Some(refusal) = self.grants.read_refusal(&query.table) {
            return Err(self.refused(refusal));
        }
        let backend = self.backend()?;
        let query = SelectOp {
            table: self.in_shadow(&query.table),
            ..query
        };
        let rows = self.block_on(backend.select(&query))?;
        call.received(rows.iter().flatten().map(value_bytes).sum());
        Ok(rows)
    }

    fn check_write(&self, table: &str) -> Result<(), SqlError> {
        match self.grants.write_refusal(table) {
            Some(refusal) => Err(self.refused(refusal)),
            None => Ok(()),
        }
    }

    fn refused(&self, refusal: String) -> SqlError {
        self.meter.denied();
        tracing::warn!(%refusal, "sql call refused");
        SqlError::Denied(refusal)
    }

    fn backend(&self) -> Result<&SqlBackend, SqlError> {
        self.backend
            .as_ref()
            .ok_or_else(|| SqlError::Invalid("no database is configured (set database.url)".into()))
    }

    /// Runs a backend call under the timeout; an unavailable database is
    /// noted for the host ([`crate::capabilities::outage`]).
    fn block_on<T>(&self, call: impl Future<Output = Result<T, SqlError>>) -> Result<T, SqlError> {
        let timeout = self.timeout;
        let result = self.runtime.block_on(async move {
            tokio::time::timeout(timeout, call).await.unwrap_or_else(|_| {
                Err(SqlError::Unavailable(format!(
                    "sql call timed out after {} ms",
                    timeout.as_millis()
                )))
            })
        });
        if let Err(SqlError::Unavailable(reason)) = &result {
            crate::capabilities::outage::note("sql", reason);
        }
        result
    }
}

/// Bytes of the values of an insert: text at its length, 8 per number.
fn insert_bytes(op: &InsertOp) -> u64 {
    op.columns
        .iter()
        .map(|column| match &column.values {
            ColumnValues::Text(values) => values.iter().map(|value| value.len() as u64).sum(),
            ColumnValues::BigInt(values) | ColumnValues::Timestamp(values) => 8 * values.len() as u64,
            ColumnValues::Double(values) => 8 * values.len() as u64,
            ColumnValues::Boolean(values) => 8 * values.len() as u64,
        })
        .sum()
}

/// Bytes of one selected value: text at its length, 8 otherwise.
fn value_bytes(value: &Value) -> u64 {
    match value {
        Value::Text(text) => text.len() as u64,
        _ => 8,
    }
}

/// A plain lowercase identifier: what PostgreSQL folds unquoted names to
/// (SQLite takes it as it is).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && name.len() <= 63
}

fn check_column_name(name: &str, context: &str) -> Result<(), SqlError> {
    if is_identifier(name) {
        Ok(())
    } else {
        Err(SqlError::Invalid(format!(
            "{context}: column name {name:?} is not a lowercase identifier ([a-z_][a-z0-9_]*, at most 63 bytes)"
        )))
    }
}

fn check_table_name(name: &str) -> Result<(), SqlError> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() <= 2 && parts.iter().all(|part| is_identifier(part)) {
        Ok(())
    } else {
        Err(SqlError::Invalid(format!(
            "table name {name:?} is not `table` or `schema.table` made of lowercase identifiers"
        )))
    }
}

fn check_known_columns<'a>(
    columns: impl IntoIterator<Item = &'a String>,
    known: &HashSet<&str>,
    context: &str,
) -> Result<(), SqlError> {
    for column in columns {
        if !known.contains(column.as_str()) {
            return Err(SqlError::Invalid(format!(
                "{context}: {column:?} is not a column of the table"
            )));
        }
    }
    Ok(())
}

fn check_table_def(table: &TableDef) -> Result<(), SqlError> {
    check_table_name(&table.name)?;
    let context = format!("table {}", table.name);
    if table.columns.is_empty() {
        return Err(SqlError::Invalid(format!("{context}: no columns")));
    }
    let mut names = HashSet::new();
    for column in &table.columns {
        check_column_name(&column.name, &context)?;
        if !names.insert(column.name.as_str()) {
            return Err(SqlError::Invalid(format!("{context}: column {:?} twice", column.name)));
        }
    }
    check_known_columns(&table.unique, &names, &format!("{context}, unique"))?;
    for index in &table.indexes {
        if index.is_empty() {
            return Err(SqlError::Invalid(format!("{context}: an index without columns")));
        }
        check_known_columns(index, &names, &format!("{context}, index"))?;
    }
    Ok(())
}

/// Rows in one column of an insert.
pub(super) fn column_len(column: &ColumnData) -> usize {
    match &column.values {
        ColumnValues::Text(values) => values.len(),
        ColumnValues::BigInt(values) | ColumnValues::Timestamp(values) => values.len(),
        ColumnValues::Double(values) => values.len(),
        ColumnValues::Boolean(values) => values.len(),
    }
}

fn check_insert(op: &InsertOp) -> Result<(), SqlError> {
    check_table_name(&op.table)?;
    let context = format!("insert into {}", op.table);
    let Some(first) = op.columns.first() else {
        return Err(SqlError::Invalid(format!("{context}: no columns")));
    };
    let rows = column_len(first);
    if rows > MAX_ROWS_PER_INSERT {
        return Err(SqlError::Invalid(format!(
            "{context}: {rows} rows; the limit is {MAX_ROWS_PER_INSERT}"
        )));
    }
    let mut names = HashSet::new();
    for column in &op.columns {
        check_column_name(&column.name, &context)?;
        if !names.insert(column.name.as_str()) {
            return Err(SqlError::Invalid(format!("{context}: column {:?} twice", column.name)));
        }
        let len = column_len(column);
        if len != rows {
            return Err(SqlError::Invalid(format!(
                "{context}: column {:?} has {len} values, column {:?} has {rows}",
                column.name, first.name
            )));
        }
        if let Some(row) = column.nulls.iter().find(|&&row| row as usize >= rows) {
            return Err(SqlError::Invalid(format!(
                "{context}: column {:?} marks row {row} NULL, but there are {rows} rows",
                column.name
            )));
        }
        if let ColumnValues::Double(values) = &column.values
            && values.iter().any(|value| !value.is_finite())
        {
            return Err(SqlError::Invalid(format!(
                "{context}: column {:?} holds NaN or infinity; send NULL instead",
                column.name
            )));
        }
    }
    if let OnConflict::Update(update) = &op.on_conflict {
        if update.target.is_empty() || update.set.is_empty() {
            return Err(SqlError::Invalid(format!(
                "{context}: an update on conflict needs target and set columns"
            )));
        }
        for column in update.target.iter().chain(&update.set) {
            check_column_name(column, &context)?;
        }
        check_known_columns(&update.set, &names, &format!("{context}, on conflict set"))?;
    }
    Ok(())
}

fn check_select(query: &SelectOp) -> Result<(), SqlError> {
    check_table_name(&query.table)?;
    let context = format!("select from {}", query.table);
    if query.columns.is_empty() {
        return Err(SqlError::Invalid(format!("{context}: no columns")));
    }
    for column in query.columns.iter().chain(std::iter::once(&query.key_column)) {
        check_column_name(column, &context)?;
    }
    if query.keys.len() > MAX_SELECT_ROWS || query.limit as usize > MAX_SELECT_ROWS || query.limit == 0 {
        return Err(SqlError::Invalid(format!(
            "{context}: keys and limit must be at most {MAX_SELECT_ROWS} (limit at least 1)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::sql::{ColumnDef, ColumnType, ConflictUpdate};

    fn text_column(name: &str, values: &[&str]) -> ColumnData {
        ColumnData {
            name: name.into(),
            values: ColumnValues::Text(values.iter().map(|value| value.to_string()).collect()),
            nulls: vec![],
        }
    }

    fn insert(columns: Vec<ColumnData>) -> InsertOp {
        InsertOp {
            table: "driver_locations".into(),
            columns,
            on_conflict: OnConflict::DoNothing,
        }
    }

    fn invalid_message(result: Result<(), SqlError>) -> String {
        match result {
            Err(SqlError::Invalid(message)) => message,
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn identifiers_are_plain_lowercase_names() {
        assert!(is_identifier("driver_locations"));
        assert!(is_identifier("_x9"));
        for bad in [
            "",
            "Drivers",
            "a-b",
            "a b",
            "x\"; DROP TABLE y; --",
            "9a",
            &"a".repeat(64),
        ] {
            assert!(!is_identifier(bad), "{bad:?}");
        }
        assert!(check_table_name("history.driver_locations").is_ok());
        assert!(check_table_name("a.b.c").is_err());
        assert!(check_table_name("pg_catalog.\"x\"").is_err());
    }

    #[test]
    fn inserts_need_columns_of_equal_length_and_nulls_in_range() {
        assert!(
            check_insert(&insert(vec![
                text_column("a", &["1", "2"]),
                text_column("b", &["1", "2"])
            ]))
            .is_ok()
        );
        let message = invalid_message(check_insert(&insert(vec![
            text_column("a", &["1", "2"]),
            text_column("b", &["1"]),
        ])));
        assert!(message.contains("\"b\" has 1 values"), "{message}");
        let mut column = text_column("a", &["1"]);
        column.nulls = vec![1];
        assert!(invalid_message(check_insert(&insert(vec![column]))).contains("row 1 NULL"));
        let message = invalid_message(check_insert(&insert(vec![
            text_column("a", &["1"]),
            text_column("a", &["1"]),
        ])));
        assert!(message.contains("twice"), "{message}");
        let bad_name = invalid_message(check_insert(&insert(vec![text_column("A;--", &["1"])])));
        assert!(bad_name.contains("\"A;--\""), "{bad_name}");
        let nan = ColumnData {
            name: "speed".into(),
            values: ColumnValues::Double(vec![f64::NAN]),
            nulls: vec![],
        };
        assert!(invalid_message(check_insert(&insert(vec![nan]))).contains("NaN"));
    }

    #[test]
    fn upserts_name_known_columns() {
        let mut op = insert(vec![text_column("a", &["1"]), text_column("b", &["1"])]);
        op.on_conflict = OnConflict::Update(ConflictUpdate {
            target: vec!["a".into()],
            set: vec!["c".into()],
        });
        assert!(invalid_message(check_insert(&op)).contains("\"c\" is not a column"));
    }

    #[test]
    fn table_definitions_are_checked() {
        let column = |name: &str| ColumnDef {
            name: name.into(),
            kind: ColumnType::Text,
            nullable: false,
        };
        let table = TableDef {
            name: "t".into(),
            columns: vec![column("a"), column("b")],
            unique: vec!["a".into()],
            indexes: vec![vec!["b".into()]],
        };
        assert!(check_table_def(&table).is_ok());
        let mut bad = table.clone();
        bad.unique = vec!["z".into()];
        assert!(invalid_message(check_table_def(&bad)).contains("\"z\" is not a column"));
        let mut empty = table;
        empty.columns.clear();
        assert!(invalid_message(check_table_def(&empty)).contains("no columns"));
    }
}
