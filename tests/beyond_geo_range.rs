//! Proves that valid fixes GEO sets cannot index (latitude beyond
//! ±85.05112878, near the poles) cost nobody anything: live-location writes
//! their drivers' hashes without a GEO member, nothing is dead-lettered, and
//! every other driver's live position and GEO member are exact.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use support::*;

/// Drivers whose fixes lie beyond the GEO range (north and south).
const POLAR: [(&str, f64); 4] = [
    ("drv-3", 88.5),
    ("drv-17", -89.9),
    ("drv-101", 85.06),
    ("drv-150", -86.0),
];

#[tokio::test(flavor = "multi_thread")]
async fn polar_fixes_get_the_hash_only_and_cost_no_other_driver() {
    let TestNames { topic, group, prefix } = TestNames::create("polar", 2).await;
    let mut data = fleet_data(200, 4_000, 0, 41);
    for fixture in &mut data {
        let Some((_, latitude)) = POLAR.iter().find(|(driver, _)| *driver == fixture.key) else {
            continue;
        };
        let fix = fixture.valid.as_mut().expect("valid");
        let old = format!("{}", fix.latitude);
        assert!(fixture.payload.contains(&old), "{}", fixture.payload);
        fixture.payload = fixture.payload.replacen(&old, &latitude.to_string(), 1);
        fix.latitude = *latitude;
    }
    let positions = produce(&topic, &data).await;
    let config = write_config("polar", &topic, &group, &prefix, &["live_location"]);
    let _host = Host::start("polar", &config);
    wait_for_commits(&group, &topic, &end_offsets(&positions, 2), Duration::from_secs(120));
    assert!(
        read_all(&format!("{topic}.dlq"), 0, Duration::from_secs(2)).is_empty(),
        "nothing is dead-lettered"
    );

    let newest = newest_per_driver(&data);
    let (polar, indexable): (HashMap<_, _>, HashMap<_, _>) = newest
        .into_iter()
        .partition(|(driver, _)| POLAR.iter().any(|(polar, _)| polar == driver));
    assert_eq!(polar.len(), POLAR.len());
    let mut connection = redis();
    for (driver, fix) in &polar {
        let hash: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(format!("{prefix}driver:{driver}"))
            .query(&mut connection)
            .expect("hgetall");
        assert_eq!(
            hash.get("lat").map(String::as_str),
            Some(fix.latitude.to_string().as_str()),
            "{driver}: {hash:?}"
        );
        assert_eq!(
            hash.get("ts_ms"),
            Some(&fix.timestamp_ms.to_string()),
            "{driver}: {hash:?}"
        );
        let position: Vec<Option<(f64, f64)>> = redis::cmd("GEOPOS")
            .arg(format!("{prefix}drivers:geo"))
            .arg(driver)
            .query(&mut connection)
            .expect("geopos");
        assert_eq!(position, [None], "{driver} is not in the GEO set");
    }
    // Every other driver: the newest fix in the hash and a GEO member (the
    // GEO set holds exactly them).
    assert_live_positions(&prefix, &indexable);
}
