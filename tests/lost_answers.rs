//! Proves that a write whose answer is lost is applied once: Redis carries
//! it out, the connection drops before its answer arrives (a proxy between
//! the host and Redis loses it), the host cannot tell whether it was
//! applied and retries the batch, and the retry's increments and
//! publications are recognised and not applied again. test-recorder's
//! delivery counter (one `INCRBY` per batch) would otherwise count each
//! retried batch twice.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use support::*;

const PARTITIONS: i32 = 2;
/// Answers the proxy loses.
const LOST: u64 = 3;

#[tokio::test(flavor = "multi_thread")]
async fn a_write_whose_answer_is_lost_is_applied_once_when_retried() {
    let TestNames { topic, group, prefix } = TestNames::create("lost-answers", PARTITIONS).await;
    let redis = redis_url();
    let target = redis
        .strip_prefix("redis://")
        .and_then(|rest| rest.split('/').next())
        .expect("FLEETHOST_TEST_REDIS is a redis://host:port URL")
        .to_string();
    let proxy = TcpProxy::start(&target, true).await;
    let proxied = format!("redis://127.0.0.1:{}", proxy.port);
    let plugins = ["live_location", "test_recorder"];
    let mut config = one_pipeline_config("lost-answers", &topic, &group, &prefix, &plugins, &proxied);
    config.pipelines[0].batch.max_events = 200;
    let config = write_config_file("lost-answers", &config);
    let data = fleet_data(200, 4_000, 100, 97);
    let publications = Publications::collect(&redis, &format!("{prefix}*"));

    // Every batch increments the recorder's counter under this key.
    proxy.lose_answers_to(&format!("{prefix}delivered:"), LOST);
    let host = Host::start("lost-answers", &config);
    let positions = produce_paced(topic.clone(), data.clone(), 400, Duration::from_millis(300)).await;
    wait_until_consumed(&group, &topic, PARTITIONS, &positions, Duration::from_secs(120));
    assert_eq!(proxy.answers_lost(), LOST, "the proxy lost {LOST} answers");
    assert!(
        host.log().contains("waiting for a backend"),
        "the batches whose answer was lost were retried"
    );

    assert_nothing_lost_at(&redis, &prefix, &topic, PARTITIONS, &data, &positions);
    let (delivered, distinct) = recorded_deliveries_at(&redis, &prefix, &topic, PARTITIONS);
    let published = publications.stop();
    let distinct_publications: HashSet<&(String, String)> = published.iter().collect();
    println!(
        "lost answers: {LOST} answers lost; {delivered} recorder increments applied for {distinct} events; {} \
         publications, {} distinct",
        published.len(),
        distinct_publications.len()
    );
    assert_eq!(delivered, distinct as u64, "no counter is applied twice");
    assert_eq!(
        published.len(),
        distinct_publications.len(),
        "no publication is applied twice"
    );
}
