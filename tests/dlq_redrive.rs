//! Proves the dead-letter tools: `fleethost dlq list` counts and lists the
//! dead letters of a topic by kind, `dlq show` prints one in full, and
//! `dlq redrive`, after the fault that sent them there is fixed, puts them
//! back through their pipeline: each fixed letter is processed exactly
//! once (the recorder plugin counts every delivery), a second redrive adds
//! nothing, and letters that still fail are reported, stay where they are,
//! and make the command fail.
//!
//! The fault: the recorder plugin runs without the grant for its keys, so
//! every write it makes is refused and its batches are dead-lettered; the
//! fix grants them.

mod support;

use std::time::Duration;

use support::*;

const PARTITIONS: i32 = 2;

#[tokio::test(flavor = "multi_thread")]
async fn fixed_dead_letters_are_redriven_once_and_failures_stay() {
    let TestNames { topic, group, prefix } = TestNames::create("redrive", PARTITIONS).await;
    let mut config = test_config(&redis_url());
    add_pipeline(&mut config, "record", &group, &topic, &["test_recorder"]);
    add_plugins_under(&mut config, &["test_recorder"], &prefix);
    let pipeline = &mut config.pipelines[0];
    pipeline.failure.retries = 0;
    pipeline.failure.backoff_ms = 10;
    pipeline.failure.on_exhausted = OnExhausted::DeadLetter;
    // The fault: the recorder may write nowhere it writes.
    let recorder = config.plugins.get_mut("test_recorder").expect("recorder");
    recorder.grants.kv_write = vec![format!("{prefix}elsewhere:")];
    let path = write_config_file("redrive", &config);
    let path_arg = path.to_str().expect("utf-8 path");

    let data = fleet_data(40, 300, 15, 21);
    let positions = produce(&topic, &data).await;
    let (valid, bad) = split_positions(&data, &positions);
    assert!(!bad.is_empty() && !valid.is_empty());
    let mut host = Host::start("redrive", &path);
    wait_until_consumed(&group, &topic, PARTITIONS, &positions, Duration::from_secs(60));
    let dead_letters = read_all(&format!("{topic}.dlq"), data.len(), Duration::from_secs(2));
    assert_eq!(
        dead_letter_positions(&dead_letters).len(),
        data.len(),
        "every message was dead-lettered"
    );
    host.terminate(Duration::from_secs(30));
    assert_eq!(
        recorded_deliveries(&prefix, &topic, PARTITIONS),
        (0, 0),
        "nothing was recorded"
    );

    let listed = fleethost_command(&["dlq", "list", "--config", path_arg, &topic]);
    assert!(
        listed.contains(&format!("{topic}.dlq: {} dead letter(s)", data.len()))
            && listed.contains(&format!("plugin-error {}", valid.len())),
        "{listed}"
    );
    let one = fleethost_command(&["dlq", "show", "--config", path_arg, &topic, "--from", "0", "--to", "0"]);
    assert!(
        one.contains("fleethost.source.offset: ") && one.contains("payload: ") && one.contains("\n1 dead letter(s)"),
        "the dead-letter topic's first letter in full: {one}"
    );

    // The fix, then the redrive of the letters it fixes.
    let recorder = config.plugins.get_mut("test_recorder").expect("recorder");
    recorder.grants.kv_write = vec![prefix.clone()];
    std::fs::write(&path, config_toml(&config)).expect("rewrite config");
    let redriven = fleethost_command(&["dlq", "redrive", "--config", path_arg, &topic, "--kind", "plugin-error"]);
    assert!(
        redriven.contains(&format!(
            "{} dead letter(s) redriven: processed {}",
            valid.len(),
            valid.len()
        )),
        "{redriven}"
    );
    let seen = recorded_offsets(&prefix, &topic, PARTITIONS);
    assert_covered(&valid, &seen, "fixed dead letters never processed");
    assert_eq!(
        recorded_deliveries(&prefix, &topic, PARTITIONS),
        (valid.len() as u64, valid.len()),
        "each fixed letter processed exactly once"
    );

    // Again, every letter: the processed ones are skipped, the malformed
    // ones fail again and stay.
    let (ok, again) = fleethost(&["dlq", "redrive", "--config", path_arg, &topic]);
    assert!(!ok, "letters that fail again fail the command: {again}");
    assert!(
        again.contains(&format!("already-redriven {}", valid.len()))
            && again.contains(&format!("failed {}", bad.len()))
            && again.contains(&format!(
                "{} dead letter(s) failed again; they stay in {topic}.dlq",
                bad.len()
            )),
        "{again}"
    );
    assert_eq!(
        recorded_deliveries(&prefix, &topic, PARTITIONS),
        (valid.len() as u64, valid.len()),
        "a second redrive adds nothing"
    );
}
