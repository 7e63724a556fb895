//! The fast path of a batch insert: PostgreSQL's binary `COPY … FROM STDIN`.
//!
//! The benchmark measured PostgreSQL spending about twice the CPU per row on
//! the `INSERT … SELECT FROM UNNEST … ON CONFLICT DO NOTHING` of
//! `sql/postgres.rs` as on `COPY` of the same rows (docs/plugins/db-writer.md
//! has the figures). `COPY` cannot skip a conflicting row, but a conflict only happens
//! when a batch is delivered again (after a crash or a rebalance), so an
//! insert first tries `COPY`; `COPY` is one statement, all or nothing, so a
//! conflict (or any other refusal, e.g. a column of another type than the
//! batch's) leaves no row behind, and the caller then runs the `INSERT`,
//! which skips the rows already there exactly as before.

use sqlx::postgres::PgPool;

use crate::bindings::sql::{ColumnValues, InsertOp};
use crate::capabilities::sql::column_len;

/// The binary COPY header: signature, flags, header extension length.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Milliseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).
const POSTGRES_EPOCH_MS: i64 = 946_684_800_000;

/// Copies every row of `op` in one binary `COPY`; the rows written.
pub async fn copy_rows(pool: &PgPool, statement: &str, data: &[u8]) -> Result<u64, sqlx::Error> {
    let mut connection = pool.acquire().await?;
    let mut copy = connection.copy_in_raw(statement).await?;
    copy.send(data).await?;
    copy.finish().await
}

/// `COPY "table" ("a", "b") FROM STDIN (FORMAT binary)`, given the quoted
/// table and column list.
pub fn copy_statement(quoted_table: &str, quoted_columns: &str) -> String {
    format!("COPY {quoted_table} ({quoted_columns}) FROM STDIN (FORMAT binary)")
}

/// The rows of `op` in PostgreSQL's binary COPY format: per row the field
/// count, then per field its length (-1 for NULL) and its bytes (text as
/// UTF-8, integers and floats big-endian, timestamps as microseconds since
/// 2000-01-01). The columns all have the same number of rows (`sql.rs`
/// checked that).
pub fn encode(op: &InsertOp) -> Vec<u8> {
    let rows = op.columns.first().map_or(0, column_len);
    let nulls: Vec<Vec<bool>> = op
        .columns
        .iter()
        .map(|column| {
            let mut is_null = vec![false; rows];
            for &row in &column.nulls {
                if let Some(slot) = is_null.get_mut(row as usize) {
                    *slot = true;
                }
            }
            is_null
        })
        .collect();
    let mut out = Vec::with_capacity(HEADER.len() + rows * op.columns.len() * 12 + 2);
    out.extend_from_slice(HEADER);
    let field_count = op.columns.len() as i16;
    for row in 0..rows {
        out.extend_from_slice(&field_count.to_be_bytes());
        for (column, is_null) in op.columns.iter().zip(&nulls) {
            if is_null[row] {
                out.extend_from_slice(&(-1i32).to_be_bytes());
                continue;
            }
            match &column.values {
                ColumnValues::Text(values) => {
                    let bytes = values[row].as_bytes();
                    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                    out.extend_from_slice(bytes);
                }
                ColumnValues::BigInt(values) => field(&mut out, &values[row].to_be_bytes()),
                ColumnValues::Double(values) => field(&mut out, &values[row].to_be_bytes()),
                ColumnValues::Boolean(values) => field(&mut out, &[u8::from(values[row])]),
                ColumnValues::Timestamp(values) => {
                    let micros = (values[row] - POSTGRES_EPOCH_MS).saturating_mul(1000);
                    field(&mut out, &micros.to_be_bytes());
                }
            }
        }
    }
    // The trailer: a field count of -1.
    out.extend_from_slice(&(-1i16).to_be_bytes());
    out
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::sql::{ColumnData, OnConflict};

    #[test]
    fn rows_are_encoded_field_by_field_with_nulls() {
        let op = InsertOp {
            table: "t".into(),
            columns: vec![
                ColumnData {
                    name: "id".into(),
                    values: ColumnValues::Text(vec!["ab".into(), "placeholder".into()]),
                    nulls: vec![1],
                },
                ColumnData {
                    name: "at".into(),
                    values: ColumnValues::Timestamp(vec![POSTGRES_EPOCH_MS + 1, POSTGRES_EPOCH_MS]),
                    nulls: vec![],
                },
            ],
            on_conflict: OnConflict::DoNothing,
        };
        let mut expected = HEADER.to_vec();
        // Row 1: two fields, "ab", 1 ms after PostgreSQL's epoch.
        expected.extend_from_slice(&2i16.to_be_bytes());
        expected.extend_from_slice(&2i32.to_be_bytes());
        expected.extend_from_slice(b"ab");
        expected.extend_from_slice(&8i32.to_be_bytes());
        expected.extend_from_slice(&1000i64.to_be_bytes());
        // Row 2: NULL, the epoch itself.
        expected.extend_from_slice(&2i16.to_be_bytes());
        expected.extend_from_slice(&(-1i32).to_be_bytes());
        expected.extend_from_slice(&8i32.to_be_bytes());
        expected.extend_from_slice(&0i64.to_be_bytes());
        expected.extend_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(encode(&op), expected);
        assert_eq!(HEADER.len(), 19);
    }

    #[test]
    fn the_statement_names_table_and_columns() {
        assert_eq!(
            copy_statement("\"h\".\"t\"", "\"a\", \"b\""),
            "COPY \"h\".\"t\" (\"a\", \"b\") FROM STDIN (FORMAT binary)"
        );
    }
}
