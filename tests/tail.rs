//! Proves `fleethost tail`: it follows topics from their end and prints each
//! record that arrives (topic, key, offset, payload), and in summary mode each
//! topic's count and newest record.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

/// Runs `fleethost tail ARGS` with its stdout in a file, produces a message
/// to `topic` every half second until `expected` shows up in that output.
async fn tail_shows(topic: &str, args: &[&str], payload: &str, expected: impl Fn(&str) -> bool) -> String {
    let output = write_config_text("tail-output", "");
    let mut tail = Command::new(env!("CARGO_BIN_EXE_fleethost"))
        .args(["tail", "--bootstrap-servers", &bootstrap()])
        .args(args)
        .stdout(std::fs::File::create(&output).expect("output file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("start fleethost tail");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let printed = loop {
        produce_messages(topic, &[("driver-1".to_string(), payload.to_string())]).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let printed = std::fs::read_to_string(&output).unwrap_or_default();
        if expected(&printed) {
            break printed;
        }
        if std::time::Instant::now() > deadline {
            let _ = tail.kill();
            panic!("tail printed only:\n{printed}");
        }
    };
    let _ = tail.kill();
    let _ = tail.wait();
    printed
}

#[tokio::test(flavor = "multi_thread")]
async fn tail_prints_every_record_that_arrives() {
    let topic = unique("tail");
    create_topic(&topic, 2).await;
    let payload = r#"{"type":"near","driver_id":"driver-1"}"#;
    let printed = tail_shows(&topic, &[&topic], payload, |printed| printed.contains(payload)).await;
    let line = printed.lines().find(|line| line.contains(payload)).unwrap_or_default();
    assert!(line.starts_with(&format!("{topic} [driver-1] ")), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tail_summarises_each_topic() {
    let (topic, quiet) = (unique("tail-summary"), unique("tail-quiet"));
    create_topic(&topic, 1).await;
    create_topic(&quiet, 1).await;
    let payload = r#"{"eta_s":120}"#;
    let printed = tail_shows(&topic, &["--summary", "1", &topic, &quiet], payload, |printed| {
        printed.contains(&format!("newest: {payload}"))
    })
    .await;
    assert!(printed.contains(&format!("{quiet}: 0 records")), "{printed}");
    assert!(
        !printed.contains(&format!("{topic} [driver-1]")),
        "summary mode prints no single records"
    );
}
