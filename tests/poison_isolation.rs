//! Proves that a poison event costs only itself: a batch of 1,000 fixes that
//! a plugin fails because of one or two events is split until those are
//! found; exactly they are dead-lettered and the 998–999 others processed,
//! wherever the poison sits; a plugin that fails every batch still ends in
//! the policy, every event dead-lettered, the partition committed.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::*;

/// The driver whose fixes make test-hostile trap.
const POISON: &str = "drv-poison";
/// Fixes per run, all in one partition and (with `max_events = 1000` and the
/// stream produced before the host starts) one batch.
const FIXES: usize = 1_000;

/// `FIXES` fixes of 40 healthy drivers, with the fixes at `poison_at`
/// replaced by fixes of [`POISON`].
fn stream_with_poison(poison_at: &[usize], seed: u64) -> Vec<Fixture> {
    let mut data = fleet_data(40, FIXES, 0, seed);
    for &index in poison_at {
        let fixture = &mut data[index];
        fixture.payload = fixture
            .payload
            .replace(&format!("\"{}\"", fixture.key), &format!("\"{POISON}\""));
        fixture.key = POISON.to_string();
        assert!(fixture.payload.contains(POISON), "{}", fixture.payload);
    }
    data
}

/// What a run left: the offsets processed (recorded by the plugin) and the
/// dead letters, and the host's log.
struct Outcome {
    processed: BTreeSet<Position>,
    dead_letters: Vec<DeadLetter>,
    positions: Vec<Position>,
    log: String,
}

/// Runs test-hostile (`mode`, misbehaving on batches holding [`POISON`]
/// unless `every_batch`) over `data` in one partition, until committed.
async fn run(name: &str, data: &[Fixture], mode: &str, every_batch: bool, expected_dead: usize) -> Outcome {
    let TestNames { topic, group, prefix } = TestNames::create(name, 1).await;
    let positions = produce(&topic, data).await;
    let mut config = test_config(&redis_url());
    let mut pipeline = test_pipeline(name, &group, &topic, &["hostile"]);
    pipeline.batch.max_events = 1000;
    pipeline.batch.max_wait_ms = 3000;
    pipeline.failure.retries = 1;
    pipeline.failure.backoff_ms = 10;
    config.pipelines.push(pipeline);
    let mut settings = vec![("key_prefix", prefix.as_str()), ("mode", mode)];
    if !every_batch {
        settings.push(("trigger_driver", POISON));
    }
    config.plugins.insert(
        "hostile".into(),
        test_plugin_writing("test_hostile", &settings, &prefix),
    );
    let host = Host::start(name, &write_config_file(name, &config));
    wait_for_commits(&group, &topic, &end_offsets(&positions, 1), Duration::from_secs(120));
    let dead_letters = read_all(&format!("{topic}.dlq"), expected_dead, Duration::from_secs(2));
    Outcome {
        processed: recorded_offsets(&prefix, &topic, 1),
        dead_letters,
        positions,
        log: host.log(),
    }
}

impl Outcome {
    /// Exactly the messages at `poison_at` were dead-lettered (as traps),
    /// every other one processed.
    fn assert_isolated(&self, poison_at: &[usize]) {
        let poison: BTreeSet<Position> = poison_at.iter().map(|&index| self.positions[index]).collect();
        let dead = dead_letter_positions(&self.dead_letters);
        assert_eq!(dead, poison, "exactly the poison is dead-lettered");
        let healthy: BTreeSet<Position> = self.positions.iter().copied().filter(|p| !poison.contains(p)).collect();
        assert_eq!(self.processed, healthy, "every other fix was processed");
        for letter in &self.dead_letters {
            assert_eq!(letter.headers["fleethost.error.kind"], "trap", "{letter:?}");
            assert_eq!(letter.key.as_deref(), Some(POISON), "{letter:?}");
        }
        assert!(
            self.log.contains("isolated the events that fail on their own"),
            "the split is logged"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_poison_fix_at_the_start_middle_or_end_costs_itself_only() {
    for (case, at) in [("first", 0), ("middle", FIXES / 2), ("last", FIXES - 1)] {
        let data = stream_with_poison(&[at], 31);
        let outcome = run(&format!("poison-{case}"), &data, "trap", false, 1).await;
        assert_eq!(outcome.dead_letters.len(), 1, "{case}: one dead letter");
        assert_eq!(outcome.processed.len(), FIXES - 1, "{case}: {} processed", FIXES - 1);
        outcome.assert_isolated(&[at]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_poison_fixes_cost_two_dead_letters() {
    let poison_at = [137, 862];
    let data = stream_with_poison(&poison_at, 32);
    let outcome = run("poison-two", &data, "trap", false, 2).await;
    assert_eq!(outcome.dead_letters.len(), 2);
    assert_eq!(outcome.processed.len(), FIXES - 2);
    outcome.assert_isolated(&poison_at);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_that_fails_every_batch_still_ends_in_the_policy() {
    let data = fleet_data(40, FIXES, 0, 33);
    let outcome = run("poison-all", &data, "trap", true, FIXES).await;
    assert_eq!(
        dead_letter_positions(&outcome.dead_letters),
        outcome.positions.iter().copied().collect::<BTreeSet<_>>(),
        "every fix dead-lettered, the partition committed past them"
    );
    assert!(outcome.processed.is_empty());
    // Splitting stopped early: no part passed in three rounds (2 + 4 + 8
    // calls), far fewer than the 1,999 calls of splitting down to every fix.
    let calls: Vec<u32> = outcome
        .log
        .lines()
        .filter(|line| line.contains("isolated the events that fail on their own"))
        .filter_map(|line| line.split("calls=").nth(1)?.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(!calls.is_empty(), "the split is logged with its calls");
    assert!(calls.iter().all(|&calls| calls <= 14), "calls per batch: {calls:?}");
}
