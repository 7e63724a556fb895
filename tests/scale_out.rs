//! Proves scaling out through Kafka: two host processes in one consumer group
//! split the partitions; when one is killed, the other takes its partitions
//! over and finishes the stream, with nothing lost.

mod support;

use std::time::Duration;

use support::*;

/// Partitions a host's log says it was assigned last.
fn last_assignment(log: &str) -> Option<usize> {
    log.lines()
        .rfind(|line| line.contains("partitions assigned"))
        .map(|line| line.matches("\", ").count())
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hosts_split_partitions_and_survive_one_crash() {
    let TestNames { topic, group, prefix } = TestNames::create("scale", 4).await;
    let data = fleet_data(500, 20_000, 100, 4);
    let (first_half, second_half) = data.split_at(10_000);
    let mut positions = produce(&topic, first_half).await;
    let config = write_config("scale", &topic, &group, &prefix, &["live_location", "test_recorder"]);

    let mut a = Host::start("a", &config);
    let mut b = Host::start("b", &config);
    wait_until("both hosts hold two partitions each", Duration::from_secs(60), || {
        last_assignment(&a.log()) == Some(2) && last_assignment(&b.log()) == Some(2)
    });
    wait_for_commits(&group, &topic, &end_offsets(&positions, 4), Duration::from_secs(120));

    a.kill();
    positions.extend(produce(&topic, second_half).await);
    wait_for_commits(&group, &topic, &end_offsets(&positions, 4), Duration::from_secs(120));
    assert!(b.is_running());
    assert_eq!(
        last_assignment(&b.log()),
        Some(4),
        "the survivor took every partition over"
    );

    assert_nothing_lost(&prefix, &topic, 4, &data, &positions);
}
