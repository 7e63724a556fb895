//! The tutorial of docs/writing-a-plugin.md, run as written for each
//! language (`fleethost new`, `./build.sh`, `fleethost test --expect`),
//! then the plugin it built runs in a host against the broker: its alerts
//! reach Kafka, its counters Redis, and the fixes it rejects and the one
//! that does not decode the dead-letter topic.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fleethost_core::config::PluginConfig;
use support::*;

/// The tutorial's commands for `language`: the block that opens with
/// ```` ```sh tutorial=LANGUAGE ````.
fn tutorial_block(language: &str) -> String {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/writing-a-plugin.md"))
        .expect("read docs/writing-a-plugin.md");
    let opening = format!("```sh tutorial={language}\n");
    let start = doc.find(&opening).unwrap_or_else(|| panic!("no {opening:?} block")) + opening.len();
    let length = doc[start..].find("```").expect("the block ends");
    doc[start..start + length].to_string()
}

/// Runs the tutorial in a new folder with `fleethost` on the PATH; the
/// project's folder.
fn run_tutorial(language: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(unique(&format!("tutorial-{language}")));
    std::fs::create_dir_all(&folder).expect("create the tutorial's folder");
    let commands = tutorial_block(language);
    let binary = Path::new(env!("CARGO_BIN_EXE_fleethost"));
    let path = format!(
        "{}:{}",
        binary.parent().expect("the binary's folder").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("set -eu\n{commands}"))
        .current_dir(&folder)
        .env("PATH", path);
    if language == "rust" {
        // The SDK's dependencies built once for every run of the test.
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tutorial");
        command.env("CARGO_TARGET_DIR", shared);
    }
    let output = command.output().expect("run the tutorial");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the {language} tutorial failed:\n{commands}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(stdout.contains("ok: 6 lines as in expected.jsonl"), "{stdout}");
    folder.join("speed-alert")
}

/// The project's plugin in a host over a topic of its sample fixes.
async fn runs_against_the_broker(language: &str, project: &Path) {
    let topic = unique(&format!("speed-fixes-{language}"));
    let alerts = unique(&format!("speed-alerts-{language}"));
    let prefix = format!("{}:", unique(&format!("speeding-{language}")));
    create_topic(&topic, 1).await;
    create_topic(&alerts, 1).await;
    let fixes: Vec<(String, String)> = std::fs::read_to_string(project.join("fixes.jsonl"))
        .expect("read the fixes")
        .lines()
        .map(|line| {
            let fix: serde_json::Value = serde_json::from_str(line).expect("a JSON fix");
            (fix["driver_id"].as_str().expect("a driver id").to_string(), line.to_string())
        })
        .collect();
    produce_messages(&topic, &fixes).await;

    let mut config = test_config(&redis_url());
    config.pipelines.push(test_pipeline(
        "speed-alert",
        &unique(&format!("speed-alert-{language}")),
        &topic,
        &["speed-alert"],
    ));
    let mut plugin = PluginConfig::new(project.join("speed_alert.wasm"));
    plugin.config.insert("alerts_topic".into(), alerts.clone());
    plugin.config.insert("key_prefix".into(), prefix.clone());
    plugin.grants.kv_write = vec![prefix.clone()];
    plugin.grants.produce_topics = vec![alerts.clone()];
    config.plugins.insert("speed-alert".into(), plugin);
    let _host = Host::start(&format!("tutorial-{language}"), &write_config_file(language, &config));

    let produced = read_all(&alerts, 3, Duration::from_secs(1));
    let speeds: Vec<(Option<String>, String)> = produced
        .iter()
        .map(|record| {
            let alert: serde_json::Value =
                serde_json::from_str(record.payload.as_deref().expect("a payload")).expect("a JSON alert");
            (record.key.clone(), alert["speed_kmh"].to_string())
        })
        .collect();
    assert_eq!(
        speeds,
        [
            (Some("drv-2".to_string()), "97.2".to_string()),
            (Some("drv-1".to_string()), "109.8".to_string()),
            (Some("drv-2".to_string()), "95.0".to_string()),
        ]
    );
    let mut redis = redis();
    let count: Option<i64> = redis::cmd("GET")
        .arg(format!("{prefix}drv-2"))
        .query(&mut redis)
        .expect("read the counter");
    assert_eq!(count, Some(2));
    let dead_letters = read_all(&format!("{topic}.dlq"), 2, Duration::from_secs(1));
    let mut reasons: Vec<(&str, &str)> = dead_letters
        .iter()
        .map(|letter| {
            (
                letter.headers["fleethost.source.offset"].as_str(),
                letter.headers["fleethost.error"].as_str(),
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            ("4", "implausible speed: 324.0 km/h"),
            ("6", "field `latitude` = 95 is out of range [-90, 90]"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rust_tutorial_builds_tests_and_runs() {
    let project = run_tutorial("rust");
    runs_against_the_broker("rust", &project).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_tutorial_builds_tests_and_runs() {
    let project = run_tutorial("python");
    runs_against_the_broker("python", &project).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_javascript_tutorial_builds_tests_and_runs() {
    let project = run_tutorial("js");
    runs_against_the_broker("js", &project).await;
}
