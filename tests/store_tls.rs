//! Proves that the capabilities' stores can be reached over TLS: a Redis
//! that speaks only TLS (`rediss://` with `redis.ca_file`) gets every
//! driver's newest position, where a plaintext client is refused, and
//! the tracking server's live map reads them back (`--redis-ca-file`); the
//! db-writer writes its history to PostgreSQL over `sslmode=verify-full`
//! (every connection of the host's pool shows in `pg_stat_ssl`), and a host
//! that trusts another CA writes nothing and says why.

mod support;

use std::time::Duration;

use support::history::DropTables;
use support::test_tls::test_certificates;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_positions_reach_a_redis_that_speaks_only_tls() {
    let port = free_port();
    let _redis = PrivateRedis::start_tls(port);
    let url = format!("rediss://127.0.0.1:{port}");
    assert!(
        redis::Client::open(format!("redis://127.0.0.1:{port}").as_str())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(2)))
            .is_err(),
        "a plaintext client was answered by the TLS-only Redis"
    );
    let (topic, group, prefix) = (
        unique("redis-tls"),
        unique("redis-tls-group"),
        format!("{}:", unique("redis-tls")),
    );
    create_topic(&topic, 2).await;
    let data = fleet_data(30, 600, 100, 41);
    produce(&topic, &data).await;
    let expected = newest_per_driver(&data);

    let mut config = one_pipeline_config("redis-tls", &topic, &group, &prefix, &["live_location"], &url);
    config.redis.ca_file = Some(test_certificates().ca_file());
    let mut host = Host::start("redis-tls", &write_config_file("redis-tls", &config));
    let mut connection = tls_redis_client(&url).get_connection().expect("a TLS connection");
    wait_until(
        "every driver in the TLS Redis's GEO set",
        Duration::from_secs(90),
        || {
            redis::cmd("ZCARD")
                .arg(format!("{prefix}drivers:geo"))
                .query::<usize>(&mut connection)
                .is_ok_and(|drivers| drivers == expected.len())
        },
    );
    assert_live_positions_in(&mut connection, &prefix, &expected);

    // The tracking server reads the same TLS-only Redis, trusting the test CA.
    let ca = test_certificates().ca_file();
    let tracking = support::server::Server::start(
        "tracking server",
        &[
            "track",
            "--redis-url",
            &url,
            "--redis-ca-file",
            ca.to_str().expect("path"),
            "--key-prefix",
            &prefix,
            "--token-key",
            &token_key_arg(),
        ],
    );
    let mut answer = ureq::get(&tracking.http("/api/map"))
        .header("Authorization", format!("Bearer {}", operator_token()))
        .call()
        .expect("GET /api/map");
    let map: serde_json::Value =
        serde_json::from_str(&answer.body_mut().read_to_string().expect("body")).expect("/api/map JSON");
    assert_eq!(
        map["drivers"].as_array().map(Vec::len),
        Some(expected.len()),
        "the live map lists every driver from the TLS Redis"
    );
    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_reaches_postgresql_over_verified_tls() {
    let database = database().await;
    let (topic, table) = (unique("pg-tls"), unique("pg_tls").replace('-', "_"));
    let untrusting_table = format!("{table}_untrusting");
    let _drop = DropTables(vec![table.clone(), untrusting_table.clone()]);
    create_topic(&topic, 2).await;
    let data = fleet_data(20, 400, 0, 43);
    produce(&topic, &data).await;

    let application = unique("fleethost-pg-tls");
    let tls_url = |ca: &std::path::Path, application: &str| {
        format!(
            "{}?sslmode=verify-full&sslrootcert={}&application_name={application}",
            database_url(),
            ca.display()
        )
    };
    let history_config = |table: &str, url: String, group: &str| {
        let mut config = test_config(&redis_url());
        config.database.url = Some(url);
        add_pipeline(&mut config, "pg-tls", group, &topic, &["db_writer"]);
        add_history_writer(&mut config, table);
        config
    };
    let config = history_config(
        &table,
        tls_url(&test_certificates().ca_file(), &application),
        &unique("pg-tls-group"),
    );
    let mut host = Host::start("pg-tls", &write_config_file("pg-tls", &config));
    wait_for_rows(&database, &table, data.len() as i64, Duration::from_secs(90)).await;
    assert_counts(&database, &table, data.len(), "over TLS").await;
    let (connections, encrypted): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
         WHERE application_name = $1",
    )
    .bind(&application)
    .fetch_one(&database)
    .await
    .expect("pg_stat_ssl");
    assert!(connections > 0, "the host's pool is connected");
    assert_eq!(encrypted, connections, "every connection of the host's pool is TLS");
    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");

    // Trusting another CA: verification fails, nothing is written, the log says why.
    let config = history_config(
        &untrusting_table,
        tls_url(&test_certificates().other_ca_file(), &unique("fleethost-pg-untrusting")),
        &unique("pg-tls-untrusting-group"),
    );
    let mut untrusting = Host::start("pg-tls-untrusting", &write_config_file("pg-tls-untrusting", &config));
    wait_until(
        "the host reports the failed verification",
        Duration::from_secs(60),
        || untrusting.log().to_lowercase().contains("certificate"),
    );
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE tablename = $1")
        .bind(&untrusting_table)
        .fetch_one(&database)
        .await
        .expect("pg_tables");
    assert_eq!(tables, 0, "a host that does not trust the database wrote nothing");
    untrusting.kill();
}
