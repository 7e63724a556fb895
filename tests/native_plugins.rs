//! Proves that a native plugin (`path = "native:<name>"`, the benchmark's
//! registry in fleethost-native) does what its wasm build does:
//! the same batches through a wasm and a native instance of live-location
//! (and of db-writer), built from one config that differs only in the key
//! prefix (table), leave the same Redis hashes and GEO positions (the same
//! rows), through the same capability code. And that a pipeline runs a native
//! plugin end to end through Kafka like a wasm one.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fleethost_core::capabilities::Backends;
use fleethost_core::config::NATIVE_PREFIX;
use fleethost_core::runtime::{Batch, BatchOutcome, CallError, Event, LoadedPlugin, PluginInstance, PluginRuntime};
use support::*;

/// A config with a wasm and a native instance of one plugin, `wasm` and
/// `native`, each with its own config map and grants (`wasm` and `native`
/// give them); no broker is touched.
fn comparison_config(plugin_file: &str, native_name: &str, wasm: PluginConfig, native: PluginConfig) -> Config {
    let mut config = Config::new("127.0.0.1:9");
    config.redis.url = redis_url();
    config.database.url = Some(database_url());
    config.pipelines.push(PipelineConfig::new(
        "compare",
        "compare",
        &["fixes"],
        &["wasm", "native"],
    ));
    config.plugins.insert(
        "wasm".into(),
        PluginConfig {
            path: plugin_path(plugin_file),
            ..wasm
        },
    );
    config.plugins.insert(
        "native".into(),
        PluginConfig {
            path: format!("{NATIVE_PREFIX}{native_name}").into(),
            ..native
        },
    );
    Config::parse(&config_toml(&config), Path::new("native_plugins.toml")).expect("valid config")
}

/// A plugin (its path set by [`comparison_config`]) with the config map
/// `settings`.
fn compared(settings: &[(&str, &str)]) -> PluginConfig {
    let mut plugin = PluginConfig::new("");
    plugin.config = properties(settings);
    plugin
}

/// Loads and instantiates both plugins of a [`comparison_config`].
async fn instances(config: &Config) -> (PluginInstance, PluginInstance) {
    let runtime = PluginRuntime::new()
        .expect("engine")
        .with_native_plugins(Arc::new(fleethost_native::FivePlugins));
    let backends = Backends::connect(config, None).expect("backends");
    let mut made = Vec::new();
    for name in ["wasm", "native"] {
        let plugin_config = config.plugins[name].clone();
        let (runtime, backends) = (runtime.clone(), backends.clone());
        let instance = tokio::task::spawn_blocking(move || {
            let plugin = LoadedPlugin::load(&runtime, name, &plugin_config, backends).expect("loads");
            plugin.instantiate("compare").expect("init")
        })
        .await
        .expect("no panic");
        made.push(instance);
    }
    let native = made.pop().expect("two");
    (made.pop().expect("two"), native)
}

/// Runs `batch` through `instance` on a blocking thread (a fresh one each
/// time, so the native instance is also exercised across threads).
async fn process(instance: PluginInstance, batch: Arc<Batch>) -> (PluginInstance, Result<BatchOutcome, CallError>) {
    tokio::task::spawn_blocking(move || {
        let mut instance = instance;
        let result = instance.process(&batch);
        (instance, result)
    })
    .await
    .expect("no panic")
}

/// `drivers` drivers with `fixes` fixes each at pseudo-random times (some
/// older than earlier ones, so that upsert-newer has to refuse them).
fn fixes_batch(drivers: usize, fixes: usize, first_offset: i64, seed: u64) -> Batch {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let mut events = Vec::new();
    for fix in 0..fixes {
        for driver in 0..drivers {
            let offset = first_offset + events.len() as i64;
            events.push(Event {
                driver_id: format!("drv-{driver}"),
                latitude: 12.9 + next() * 0.1,
                longitude: 77.5 + next() * 0.1,
                timestamp_ms: 1_764_000_000_000 + (fix as i64) * 1000 + (next() * 5000.0) as i64,
                region: (driver % 3 == 0).then(|| "KA".to_string()),
                order_id: (driver % 4 == 0).then(|| format!("order-{driver}")),
                speed: (driver % 2 == 0).then(|| next() * 15.0),
                heading: (driver % 5 == 0).then(|| next() * 360.0),
                offset,
            });
        }
    }
    Batch {
        pipeline: "compare".into(),
        topic: "fixes".into(),
        partition: 3,
        events,
        orders: Vec::new(),
    }
}

/// Every key under `prefix` with its hash (or, for the GEO set, each member's
/// position), the prefix cut off so that two prefixes compare.
fn redis_state(prefix: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut connection = redis();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut connection)
        .expect("keys");
    let mut state = BTreeMap::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query(&mut connection).expect("type");
        let content: BTreeMap<String, String> = match kind.as_str() {
            "hash" => redis::cmd("HGETALL").arg(&key).query(&mut connection).expect("hgetall"),
            "zset" => {
                let members: Vec<String> = redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query(&mut connection)
                    .expect("zrange");
                let positions: Vec<Option<(f64, f64)>> = redis::cmd("GEOPOS")
                    .arg(&key)
                    .arg(&members)
                    .query(&mut connection)
                    .expect("geopos");
                members
                    .into_iter()
                    .zip(positions)
                    .map(|(member, position)| (member, format!("{position:?}")))
                    .collect()
            }
            other => panic!("unexpected {other} at {key}"),
        };
        state.insert(key[prefix.len()..].to_string(), content);
    }
    state
}

fn delete_keys(prefix: &str) {
    let mut connection = redis();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut connection)
        .expect("keys");
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL").arg(&keys).query(&mut connection).expect("del");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn native_and_wasm_live_location_leave_the_same_redis_state() {
    let wasm_prefix = format!("{}:", unique("native-cmp-wasm"));
    let native_prefix = format!("{}:", unique("native-cmp-native"));
    let body = |prefix: &str| {
        let mut plugin = compared(&[("key_prefix", prefix)]);
        plugin.grants.kv_write = vec![prefix.to_string()];
        plugin.grants.kv_read = vec![prefix.to_string()];
        plugin.grants.publish_channels = vec![prefix.to_string()];
        plugin
    };
    let config = comparison_config(
        "live_location",
        "live-location",
        body(&wasm_prefix),
        body(&native_prefix),
    );
    let (mut wasm, mut native) = instances(&config).await;

    // Two batches: the second partly older than the first (refused by
    // upsert-newer), partly newer.
    for (round, batch) in [fixes_batch(40, 5, 0, 7), fixes_batch(40, 5, 200, 8)]
        .into_iter()
        .enumerate()
    {
        let batch = Arc::new(batch);
        let (instance, wasm_result) = process(wasm, batch.clone()).await;
        wasm = instance;
        let (instance, native_result) = process(native, batch).await;
        native = instance;
        let wasm_outcome = wasm_result.expect("the wasm plugin processed the batch");
        let native_outcome = native_result.expect("the native plugin processed the batch");
        assert_eq!(
            format!("{wasm_outcome:?}"),
            format!("{native_outcome:?}"),
            "outcome of batch {round}"
        );
    }

    let wasm_state = redis_state(&wasm_prefix);
    let native_state = redis_state(&native_prefix);
    delete_keys(&wasm_prefix);
    delete_keys(&native_prefix);
    assert_eq!(wasm_state.len(), 41, "40 driver hashes and the GEO set: {wasm_state:?}");
    assert_eq!(wasm_state["drivers:geo"].len(), 40);
    assert_eq!(
        wasm_state, native_state,
        "the native plugin wrote what the wasm plugin wrote"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_native_plugin_is_held_to_its_grants() {
    let prefix = format!("{}:", unique("native-denied"));
    // Grants for another prefix only: every write is refused by the same
    // grant check as for wasm, and the batch fails as fatal.
    let mut body = compared(&[("key_prefix", &prefix)]);
    body.grants.kv_write = vec!["elsewhere:".into()];
    let config = comparison_config("live_location", "live-location", body.clone(), body);
    let (wasm, native) = instances(&config).await;
    let batch = Arc::new(fixes_batch(3, 1, 0, 1));
    let (_, wasm_result) = process(wasm, batch.clone()).await;
    let (_, native_result) = process(native, batch).await;
    let wasm_error = wasm_result.expect_err("denied");
    let native_error = native_result.expect_err("denied");
    assert_eq!(wasm_error.to_string(), native_error.to_string());
    assert!(native_error.to_string().contains("kv denied"), "{native_error}");
    assert!(!native_error.is_retryable());
    assert!(redis_state(&prefix).is_empty(), "nothing written");
}

#[tokio::test(flavor = "multi_thread")]
async fn native_and_wasm_db_writer_insert_the_same_rows() {
    let wasm_table = unique_table("native_cmp_wasm");
    let native_table = unique_table("native_cmp_native");
    let body = |table: &str| {
        let mut plugin = compared(&[("table", table)]);
        plugin.grants.sql_write = vec![table.to_string()];
        plugin
    };
    let config = comparison_config("db_writer", "db-writer", body(&wasm_table), body(&native_table));
    let (mut wasm, mut native) = instances(&config).await;
    let batch = Arc::new(fixes_batch(25, 4, 1_000, 3));
    // The second delivery of the same batch adds nothing in either.
    for _ in 0..2 {
        let (instance, wasm_result) = process(wasm, batch.clone()).await;
        wasm = instance;
        let (instance, native_result) = process(native, batch.clone()).await;
        native = instance;
        assert_eq!(
            format!("{:?}", wasm_result.expect("wasm")),
            format!("{:?}", native_result.expect("native"))
        );
    }

    let database = database().await;
    let mut rows: HashMap<&str, Vec<String>> = HashMap::new();
    for table in [&wasm_table, &native_table] {
        let table_rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT row_to_json(t)::text FROM (SELECT * FROM {table} ORDER BY kafka_offset) t"
        )))
        .fetch_all(&database)
        .await
        .expect("select");
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
            .execute(&database)
            .await
            .expect("drop");
        rows.insert(table, table_rows);
    }
    assert_eq!(rows[wasm_table.as_str()].len(), 100, "one row per fix, none twice");
    assert_eq!(
        rows[wasm_table.as_str()],
        rows[native_table.as_str()],
        "the native plugin inserted what the wasm plugin inserted"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipeline_runs_a_native_plugin_end_to_end() {
    let TestNames { topic, group, prefix } = TestNames::create("native-e2e", 2).await;
    let data = fleet_data(50, 2_000, 0, 11);
    let positions = produce(&topic, &data).await;
    let mut config = test_config(&redis_url());
    let mut pipeline = test_pipeline("native-e2e", &group, &topic, &["live-location"]);
    pipeline.batch.max_events = 500;
    pipeline.batch.max_wait_ms = 200;
    config.pipelines.push(pipeline);
    let mut live_location = PluginConfig::new(format!("{NATIVE_PREFIX}live-location"));
    live_location.config = properties(&[("key_prefix", &prefix)]);
    live_location.grants.kv_write = vec![prefix.clone()];
    live_location.grants.publish_channels = vec![prefix.clone()];
    config.plugins.insert("live-location".into(), live_location);
    let mut host = Host::start("native-e2e", &write_config_file("native-e2e", &config));
    wait_for_commits(&group, &topic, &end_offsets(&positions, 2), Duration::from_secs(120));
    assert_live_positions(&prefix, &newest_per_driver(&data));
    assert!(host.terminate(Duration::from_secs(30)).success(), "{}", host.log());
    assert!(
        host.log().contains("path=native:live-location"),
        "the host says the plugin runs natively:\n{}",
        host.log()
    );
}

/// `fleethost-native check` loads the example config with every plugin
/// path replaced by `native:<name>`, and lists each as native.
#[test]
fn fleethost_native_checks_a_config_of_native_plugins() {
    let config = support::native_example::native_example_text();
    let path = write_config_text("native-check", &config);
    let output = std::process::Command::new(fleethost_binary())
        .args(["check", "--config", &path.display().to_string()])
        .env("NO_COLOR", "1")
        .output()
        .expect("run fleethost-native");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for name in ["live-location", "db-writer", "eta", "fare", "geofence"] {
        assert!(
            stdout.contains(&format!("native:{name})")),
            "{name} runs natively:\n{stdout}"
        );
    }
}
