//! Measures the three ways the `sql` capability could write a batch of
//! location rows to PostgreSQL, to choose one: a multi-row `INSERT … VALUES`,
//! an `INSERT … SELECT … FROM UNNEST($1::text[], …)` (what the host does), and
//! `COPY` into a temporary table followed by `INSERT … SELECT` (COPY alone
//! cannot skip duplicates, which the DB writer needs for redelivered batches).
//! Every strategy writes into the same table shape as the DB writer (unique
//! on the Kafka source position, indexed on driver and time), batch after
//! batch from one connection, as one partition worker does.
//!
//! ```sh
//! cargo run --release -p fleethost-core --example insert_strategies [DATABASE_URL] [BATCHES] [ROWS_PER_BATCH]
//! ```

use std::time::Instant;

use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor};

const COLUMNS: &str = "driver_id, latitude, longitude, recorded_at, kafka_topic, kafka_partition, kafka_offset";

struct Row {
    driver_id: String,
    latitude: f64,
    longitude: f64,
    recorded_ms: i64,
    offset: i64,
}

fn rows(batch: usize, size: usize) -> Vec<Row> {
    (0..size)
        .map(|index| {
            let offset = (batch * size + index) as i64;
            Row {
                driver_id: format!("driver-{:06}", offset % 10_000),
                latitude: 12.9 + (offset % 1000) as f64 * 1e-4,
                longitude: 77.5 + (offset % 997) as f64 * 1e-4,
                recorded_ms: 1_764_000_000_000 + offset * 100,
                offset,
            }
        })
        .collect()
}

async fn create_table(connection: &mut PgConnection, table: &str) -> sqlx::Result<()> {
    connection
        .execute(AssertSqlSafe(format!(
            "DROP TABLE IF EXISTS {table};
             CREATE TABLE {table} (driver_id text NOT NULL, latitude double precision NOT NULL,
               longitude double precision NOT NULL, recorded_at timestamptz NOT NULL,
               kafka_topic text NOT NULL, kafka_partition bigint NOT NULL, kafka_offset bigint NOT NULL,
               UNIQUE (kafka_topic, kafka_partition, kafka_offset));
             CREATE INDEX ON {table} (driver_id, recorded_at);"
        )))
        .await
        .map(|_| ())
}

async fn insert_values(connection: &mut PgConnection, table: &str, rows: &[Row]) -> sqlx::Result<()> {
    let mut sql = format!("INSERT INTO {table} ({COLUMNS}) VALUES ");
    for index in 0..rows.len() {
        let base = index * 5;
        if index > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, TIMESTAMPTZ 'epoch' + ${} * INTERVAL '1 millisecond', 'rider-updates', 0, ${})",
            base + 1,
            base + 2,
            base + 3,
            base + 4,
            base + 5
        ));
    }
    sql.push_str(" ON CONFLICT DO NOTHING");
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for row in rows {
        query = query
            .bind(&row.driver_id)
            .bind(row.latitude)
            .bind(row.longitude)
            .bind(row.recorded_ms)
            .bind(row.offset);
    }
    query.execute(connection).await.map(|_| ())
}

async fn insert_unnest(connection: &mut PgConnection, table: &str, rows: &[Row]) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO {table} ({COLUMNS}) SELECT v1, v2, v3, TIMESTAMPTZ 'epoch' + v4 * INTERVAL '1 millisecond', \
         'rider-updates', 0, v5 FROM UNNEST($1::text[], $2::float8[], $3::float8[], $4::int8[], $5::int8[]) \
         AS u(v1, v2, v3, v4, v5) ON CONFLICT DO NOTHING"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(rows.iter().map(|row| row.driver_id.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|row| row.latitude).collect::<Vec<_>>())
        .bind(rows.iter().map(|row| row.longitude).collect::<Vec<_>>())
        .bind(rows.iter().map(|row| row.recorded_ms).collect::<Vec<_>>())
        .bind(rows.iter().map(|row| row.offset).collect::<Vec<_>>())
        .execute(connection)
        .await
        .map(|_| ())
}

async fn insert_copy(connection: &mut PgConnection, table: &str, rows: &[Row]) -> sqlx::Result<()> {
    let mut transaction = connection.begin().await?;
    transaction
        .execute(AssertSqlSafe(format!(
            "CREATE TEMP TABLE IF NOT EXISTS staging (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )))
        .await?;
    let mut csv = String::with_capacity(rows.len() * 96);
    for row in rows {
        let recorded_at = chrono::DateTime::from_timestamp_millis(row.recorded_ms)
            .map(|time| time.to_rfc3339())
            .unwrap_or_default();
        csv.push_str(&format!(
            "{},{},{},{},rider-updates,0,{}\n",
            row.driver_id, row.latitude, row.longitude, recorded_at, row.offset
        ));
    }
    let mut copy = transaction
        .copy_in_raw(&format!("COPY staging ({COLUMNS}) FROM STDIN (FORMAT csv)"))
        .await?;
    copy.send(csv.into_bytes()).await?;
    copy.finish().await?;
    transaction
        .execute(AssertSqlSafe(format!(
            "INSERT INTO {table} SELECT * FROM staging ON CONFLICT DO NOTHING"
        )))
        .await?;
    transaction.commit().await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> sqlx::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let batches: usize = args.next().and_then(|value| value.parse().ok()).unwrap_or(200);
    let size: usize = args.next().and_then(|value| value.parse().ok()).unwrap_or(1000);
    let pool = PgPoolOptions::new().max_connections(1).connect(&url).await?;
    let mut connection = pool.acquire().await?;
    println!("{batches} batches of {size} rows each, one connection, 3 rounds (strategies alternate)");
    let strategies = ["multi-row VALUES", "UNNEST", "COPY + INSERT SELECT"];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); strategies.len()];
    for round in 0..3 {
        for (index, name) in strategies.iter().enumerate() {
            let table = format!("insert_strategy_{index}");
            create_table(&mut connection, &table).await?;
            let data: Vec<Vec<Row>> = (0..batches).map(|batch| rows(batch, size)).collect();
            let started = Instant::now();
            for batch in &data {
                match index {
                    0 => insert_values(&mut connection, &table, batch).await?,
                    1 => insert_unnest(&mut connection, &table, batch).await?,
                    _ => insert_copy(&mut connection, &table, batch).await?,
                }
            }
            let rate = (batches * size) as f64 / started.elapsed().as_secs_f64();
            println!("round {round}: {name:<22} {rate:>9.0} rows/s");
            rates[index].push(rate);
            connection.execute(AssertSqlSafe(format!("DROP TABLE {table}"))).await?;
        }
    }
    println!("median rows/s:");
    for (name, mut rates) in strategies.iter().zip(rates) {
        rates.sort_by(f64::total_cmp);
        println!("  {name:<22} {:>9.0}", rates[rates.len() / 2]);
    }
    Ok(())
}
