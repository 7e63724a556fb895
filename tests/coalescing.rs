//! Proves latest-wins coalescing (`coalesce = "latest-per-key"`): a
//! partition that lags (its fixes written before the host starts, so that
//! every batch is full) hands the plugins only each driver's newest fix of
//! each batch; the newest fix of every driver over the whole stream always
//! reaches them, by event time even where the offsets disagree; every
//! offset is committed, nothing dead-lettered, and the superseded fixes are
//! counted in `fleethost_events_coalesced`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use support::*;

const DRIVERS: usize = 25;
const FIXES: usize = 3_000;

#[tokio::test(flavor = "multi_thread")]
async fn a_lagging_partition_hands_on_each_drivers_newest_fix_only() {
    let names = TestNames::create("coalesce", 1).await;
    // Event time is shuffled against the offsets within each round of fixes.
    let data = fleet_data(DRIVERS, FIXES, 0, 61);
    let positions = produce(&names.topic, &data).await;

    let port = free_port();
    let mut config = test_config(&redis_url());
    let admin = enable_admin(&mut config, port);
    let mut pipeline = test_pipeline("coalesce", &names.group, &names.topic, &["recorder"]);
    pipeline.batch.max_events = 500;
    pipeline.batch.max_wait_ms = 2_000;
    pipeline.coalesce = fleethost_core::config::Coalesce::LatestPerKey;
    config.pipelines.push(pipeline);
    config.plugins.insert(
        "recorder".into(),
        test_plugin_writing("test_recorder", &[("key_prefix", &names.prefix)], &names.prefix),
    );
    let host = Host::start("coalesce", &write_config_file("coalesce", &config));
    wait_for_commits(
        &names.group,
        &names.topic,
        &end_offsets(&positions, 1),
        Duration::from_secs(120),
    );

    let processed = recorded_offsets(&names.prefix, &names.topic, 1);
    // Each driver's newest fix, by event time and then offset.
    let mut newest: BTreeMap<&str, (i64, Position)> = BTreeMap::new();
    for (fixture, position) in data.iter().zip(&positions) {
        let timestamp_ms = fixture.valid.expect("every fix is valid").timestamp_ms;
        let entry = newest.entry(fixture.key.as_str()).or_insert((timestamp_ms, *position));
        if (timestamp_ms, position.offset) > (entry.0, entry.1.offset) {
            *entry = (timestamp_ms, *position);
        }
    }
    assert_eq!(newest.len(), DRIVERS);
    for (driver, (_, position)) in &newest {
        assert!(
            processed.contains(position),
            "the newest fix of {driver} ({position:?}) was coalesced away"
        );
    }
    // Full batches of 500 hold 20 fixes per driver: about one in twenty is
    // handed on (a batch cut short by the first fetch keeps more).
    assert!(
        processed.len() < FIXES / 5,
        "{} of {FIXES} fixes reached the plugin\n{}",
        processed.len(),
        host.log()
    );
    let coalesced = (FIXES - processed.len()).to_string();
    let metrics = admin_get(&admin, "/metrics");
    let line = metrics
        .lines()
        .find(|line| line.starts_with("fleethost_events_coalesced_total{pipeline=\"coalesce\"}"))
        .unwrap_or_else(|| panic!("no coalesced count in\n{metrics}"));
    assert!(
        line.ends_with(&format!(" {coalesced}")),
        "{line}: {coalesced} coalesced"
    );
    let status = admin_get(&admin, "/pipelines");
    assert!(status.contains(&format!("\"coalesced\":{coalesced}")), "{status}");
    assert!(
        read_all(&format!("{}.dlq", names.topic), 0, Duration::from_secs(2)).is_empty(),
        "nothing dead-lettered"
    );
    let all: BTreeSet<Position> = positions.iter().copied().collect();
    assert!(processed.is_subset(&all));
}
