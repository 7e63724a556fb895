//! The tutorial of docs/writing-a-plugin.md, run as written for each
//! language (`fleethost new`, `./build.sh`, `fleethost test --expect`,
//! `fleethost deploy` into a running host), but for the test's own topics
//! and keys put into plugin.toml before the deploy; then the deployed
//! plugin works on the broker: its alerts reach Kafka, its counters Redis,
//! and the fix it rejects and the one that does not decode the dead-letter
//! topic.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

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

/// Runs `commands` in `folder` with `fleethost` on the PATH and the
/// environment `env`; what they printed.
fn run_commands(language: &str, commands: &str, folder: &Path, env: &[(&str, &Path)]) -> String {
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
        .current_dir(folder)
        .env("PATH", path);
    for (name, value) in env {
        command.env(name, value);
    }
    if language == "rust" {
        // The SDK's dependencies built once for every run of the test.
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tutorial");
        command.env("CARGO_TARGET_DIR", shared);
    }
    let output = command.output().expect("run the tutorial");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the {language} tutorial failed:\n{commands}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    stdout
}

/// The tutorial for `language`, its deploy into a running host, and the
/// deployed plugin's work on the broker.
async fn tutorial(language: &str) {
    // The running host: live-location over a topic of its own.
    let base = TestNames::create(&format!("tutorial-base-{language}"), 1).await;
    let mut config = test_config(&redis_url());
    add_pipeline(&mut config, "live", &base.group, &base.topic, &["live_location"]);
    add_plugins_under(&mut config, &["live_location"], &base.prefix);
    let config_path = write_config_file(&format!("tutorial-{language}"), &config);
    let host = Host::start(&format!("tutorial-{language}"), &config_path);

    let folder = std::env::temp_dir().join(unique(&format!("tutorial-{language}")));
    std::fs::create_dir_all(&folder).expect("create the tutorial's folder");
    let block = tutorial_block(language);
    let (before, deploy) = block.split_at(block.find("fleethost deploy").expect("the tutorial deploys"));
    let stdout = run_commands(language, before, &folder, &[]);
    assert!(stdout.contains("ok: 6 lines as in expected.jsonl"), "{stdout}");

    // The deploy, with this test's own topics, group and keys in plugin.toml.
    let project = folder.join("speed-alert");
    let topic = unique(&format!("speed-fixes-{language}"));
    let alerts = unique(&format!("speed-alerts-{language}"));
    let prefix = format!("{}:", unique(&format!("speeding-{language}")));
    create_topic(&topic, 1).await;
    create_topic(&alerts, 1).await;
    let snippet = std::fs::read_to_string(project.join("plugin.toml")).expect("read plugin.toml");
    let snippet = snippet
        .replace("\"rider-updates\"", &format!("{topic:?}"))
        .replace("\"fleethost-speed-alert\"", &format!("{:?}", unique("speed-alert")))
        .replace("\"speeding:\"", &format!("{prefix:?}"))
        .replace("\"speed-alerts\"", &format!("{alerts:?}"));
    std::fs::write(project.join("plugin.toml"), snippet).expect("write plugin.toml");
    let stdout = run_commands(language, deploy, &project, &[("FLEETHOST_CONFIG", &config_path)]);
    assert!(stdout.contains("deployed to"), "{stdout}");

    let fixes: Vec<(String, String)> = std::fs::read_to_string(project.join("fixes.jsonl"))
        .expect("read the fixes")
        .lines()
        .map(|line| {
            let fix: serde_json::Value = serde_json::from_str(line).expect("a JSON fix");
            (
                fix["driver_id"].as_str().expect("a driver id").to_string(),
                line.to_string(),
            )
        })
        .collect();
    produce_messages(&topic, &fixes).await;

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
        ],
        "{}",
        host.log()
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
async fn the_rust_tutorial_builds_tests_and_deploys() {
    tutorial("rust").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_tutorial_builds_tests_and_deploys() {
    tutorial("python").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_javascript_tutorial_builds_tests_and_deploys() {
    tutorial("js").await;
}
