//! Proves the whole path through a real broker and Redis: 20,000 fixes of 500
//! drivers over 4 partitions, shuffled event times and 1% bad messages, end up
//! as each driver's newest valid position in Redis, the bad messages in the
//! dead-letter topic with their reasons and source offsets, and the group's
//! committed offsets at the partitions' end offsets.

mod support;

use std::time::Duration;

use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn fixes_become_live_positions_and_bad_messages_dead_letters() {
    let TestNames { topic, group, prefix } = TestNames::create("e2e", 4).await;
    let data = fleet_data(500, 20_000, 100, 1);
    let positions = produce(&topic, &data).await;
    let (valid, bad) = split_positions(&data, &positions);
    assert_eq!(bad.len(), 200, "1% of the messages are bad");

    let config = write_config("e2e", &topic, &group, &prefix, &["live_location"]);
    let mut host = Host::start("e2e", &config);
    wait_for_commits(&group, &topic, &end_offsets(&positions, 4), Duration::from_secs(120));

    assert_eq!(committed_offsets(&group, &topic, 4), end_offsets(&positions, 4));
    assert_live_positions(&prefix, &newest_per_driver(&data));

    let dead_letters = read_all(&format!("{topic}.dlq"), bad.len(), Duration::from_secs(2));
    assert_eq!(
        dead_letters.len(),
        bad.len(),
        "exactly the bad messages are dead-lettered"
    );
    assert_eq!(
        dead_letter_positions(&dead_letters),
        bad,
        "dead letters name the bad messages' source offsets"
    );
    assert!(dead_letter_positions(&dead_letters).is_disjoint(&valid));
    for letter in &dead_letters {
        let kind = letter.headers["fleethost.error.kind"].as_str();
        assert!(
            ["not-json", "out-of-range", "missing-field"].contains(&kind),
            "unexpected kind {kind} in {letter:?}"
        );
        assert!(!letter.headers["fleethost.error"].is_empty(), "{letter:?}");
        assert_eq!(letter.headers["fleethost.pipeline"], "e2e");
        assert_eq!(letter.headers["fleethost.source.topic"], topic);
        assert!(
            letter.key.as_deref().is_some_and(|key| key.starts_with("drv-")),
            "original key kept: {letter:?}"
        );
        let payload = letter.payload.as_deref().unwrap_or_default();
        assert!(
            data.iter()
                .any(|fixture| fixture.valid.is_none() && fixture.payload == payload),
            "original payload kept: {letter:?}"
        );
    }
    let out_of_range = dead_letters
        .iter()
        .filter(|letter| letter.headers["fleethost.error.kind"] == "out-of-range")
        .count();
    assert_eq!(out_of_range, 80, "two of the five bad shapes are out of range");

    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
    assert!(host.log().contains("pipeline stopped; offsets committed"));
}
