//! Proves that a plugin built against the oldest supported WIT version (the
//! prebuilt 0.1.0 recorder in `tests/fixtures/`) does not merely load but runs:
//! its kv writes reach Redis through the 0.1.0 adapters, and the order batches
//! of its pipeline (which 0.1.0 cannot receive) are passed over and committed.

mod support;

use std::path::Path;
use std::time::Duration;

use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_wit_0_1_0_plugin_processes_fixes_and_is_spared_order_batches() {
    let TestNames { topic, group, prefix } = TestNames::create("wit01", 2).await;
    let orders = unique("wit01-orders");
    create_topic(&orders, 2).await;
    let data = fleet_data(50, 1_000, 0, 21);
    let positions = produce(&topic, &data).await;
    let order_events: Vec<(String, String)> = (0..20)
        .map(|index| {
            let driver = format!("drv-{index}");
            let payload = format!(
                r#"{{"type":"order_assigned","order_id":"o-{index}","driver_id":"{driver}","pickup":{{"lat":12.97,"lng":77.59}},"dropoff":{{"lat":12.93,"lng":77.62}},"timestamp":1700000000000}}"#
            );
            (driver, payload)
        })
        .collect();
    let order_positions = produce_messages(&orders, &order_events).await;

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/test_recorder-wit-0.1.0.wasm");
    let mut config = test_config(&redis_url());
    let mut pipeline = test_pipeline("wit01", &group, &topic, &["recorder"]);
    pipeline.order_topics = vec![orders.clone()];
    pipeline.batch.max_events = 200;
    pipeline.batch.max_wait_ms = 200;
    config.pipelines.push(pipeline);
    let mut recorder = PluginConfig::new(fixture);
    recorder.config = properties(&[("key_prefix", &prefix)]);
    recorder.grants.kv_write = vec![prefix.clone()];
    config.plugins.insert("recorder".into(), recorder);
    let host = Host::start("wit01", &write_config_file("wit01", &config));
    wait_for_commits(&group, &topic, &end_offsets(&positions, 2), Duration::from_secs(120));
    wait_for_commits(
        &group,
        &orders,
        &end_offsets(&order_positions, 2),
        Duration::from_secs(60),
    );

    let all = positions.iter().copied().collect();
    assert_covered(
        &all,
        &recorded_offsets(&prefix, &topic, 2),
        "fixes the 0.1.0 plugin never recorded",
    );
    assert!(
        recorded_offsets(&prefix, &orders, 2).is_empty(),
        "order events were not shown to the 0.1.0 plugin"
    );
    assert!(
        read_all(&format!("{orders}.dlq"), 0, Duration::from_secs(1)).is_empty(),
        "order batches were passed over, not dead-lettered"
    );
    assert!(
        host.log().contains("wit=\"0.1.0\""),
        "the host says which WIT version it linked"
    );
}
