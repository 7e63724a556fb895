//! The db-writer's history tables in the test database: how many rows and
//! how many distinct source positions they hold, waiting for rows, and
//! dropping them after a test.

use std::time::{Duration, Instant};

use super::database_url;

/// `count(*)` and the count of distinct source positions of `table`.
pub async fn row_counts(pool: &sqlx::PgPool, table: &str) -> (i64, i64) {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT count(*), count(DISTINCT (kafka_topic, kafka_partition, kafka_offset)) FROM {table}"
    )))
    .fetch_one(pool)
    .await
    .expect("count rows")
}

/// Asserts `count(*) == count(distinct topic, partition, offset) == expected`.
pub async fn assert_counts(pool: &sqlx::PgPool, table: &str, expected: usize, context: &str) {
    let expected = i64::try_from(expected).expect("count fits i64");
    assert_eq!(
        row_counts(pool, table).await,
        (expected, expected),
        "{context}: (count(*), count(distinct source position)) of {table}"
    );
}

/// Waits until `table` holds at least `rows` rows (a missing table counts as empty).
pub async fn wait_for_rows(pool: &sqlx::PgPool, table: &str, rows: i64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(pool)
            .await
            .unwrap_or(0);
        if count >= rows {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{table} held {count} rows, not {rows}, after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Drops its tables when dropped, also when the test failed (best effort; a
/// fresh connection on its own thread, as `Drop` cannot await). Declare it
/// before the hosts so that they are stopped first.
pub struct DropTables(pub Vec<String>);

impl Drop for DropTables {
    fn drop(&mut self) {
        let tables = std::mem::take(&mut self.0);
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async {
                use sqlx::Connection;
                let Ok(mut connection) = sqlx::PgConnection::connect(&database_url()).await else {
                    return;
                };
                for table in tables {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
                        .execute(&mut connection)
                        .await;
                }
            });
        })
        .join();
    }
}
