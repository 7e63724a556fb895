//! SQL text both database backends build the same way: quoted identifiers
//! and the conflict clause of an insert. Identifiers are checked to be
//! `[a-z0-9_]` (`sql.rs`) before they get here, so quoting cannot be escaped.

use crate::bindings::sql::{ColumnType, OnConflict, TableDef};

/// `"name"`.
pub fn quote(identifier: &str) -> String {
    format!("\"{identifier}\"")
}

/// `"a", "b", …`.
pub fn quoted_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|column| quote(column))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `CREATE TABLE IF NOT EXISTS {quoted_name} (…)` with the columns in the
/// backend's types (`sql_type`) and the unique constraint.
pub fn create_table(quoted_name: &str, table: &TableDef, sql_type: fn(ColumnType) -> &'static str) -> String {
    let mut parts: Vec<String> = table
        .columns
        .iter()
        .map(|column| {
            let null = if column.nullable { "" } else { " NOT NULL" };
            format!("{} {}{null}", quote(&column.name), sql_type(column.kind))
        })
        .collect();
    if !table.unique.is_empty() {
        parts.push(format!("UNIQUE ({})", quoted_list(&table.unique)));
    }
    format!("CREATE TABLE IF NOT EXISTS {quoted_name} ({})", parts.join(", "))
}

/// What follows an `INSERT … VALUES/SELECT` for `on_conflict`: nothing,
/// ` ON CONFLICT DO NOTHING`, or ` ON CONFLICT (target) DO UPDATE SET c =
/// EXCLUDED.c, …` (PostgreSQL's and SQLite's common syntax).
pub fn conflict_clause(on_conflict: &OnConflict) -> String {
    match on_conflict {
        OnConflict::Fail => String::new(),
        OnConflict::DoNothing => " ON CONFLICT DO NOTHING".to_string(),
        OnConflict::Update(update) => {
            let set: Vec<String> = update
                .set
                .iter()
                .map(|column| format!("{0} = EXCLUDED.{0}", quote(column)))
                .collect();
            format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                quoted_list(&update.target),
                set.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::sql::ConflictUpdate;

    #[test]
    fn conflict_clauses() {
        assert_eq!(conflict_clause(&OnConflict::Fail), "");
        assert_eq!(conflict_clause(&OnConflict::DoNothing), " ON CONFLICT DO NOTHING");
        let update = OnConflict::Update(ConflictUpdate {
            target: vec!["a".into(), "b".into()],
            set: vec!["c".into()],
        });
        assert_eq!(
            conflict_clause(&update),
            r#" ON CONFLICT ("a", "b") DO UPDATE SET "c" = EXCLUDED."c""#
        );
    }
}
