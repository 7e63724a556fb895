//! Proves `fleethost record` and `fleethost test --replay`: a plugin's next
//! batches in a running host are recorded (its host calls with their
//! answers from the real Redis, its clock readings, its random seeds) up to
//! the batch that trapped it; the recording replays offline bit for bit;
//! and a replay whose plugin asks otherwise than recorded (a changed key, a
//! changed clock reading, changed seeds) fails and names where.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::*;

/// The driver whose fixes make the plugin trap.
const POISON: &str = "drv-poison";

/// A copy of the recording in `from`, with `change` applied to the text of
/// its file `file`.
fn tampered(from: &Path, file: &str, change: impl FnOnce(String) -> String) -> PathBuf {
    let to = std::env::temp_dir().join(unique("recording-tampered"));
    std::fs::create_dir_all(&to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the recording") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
    let path = to.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    let changed = change(text.clone());
    assert_ne!(changed, text, "{file} was changed");
    std::fs::write(&path, changed).expect("write");
    to
}

/// The first line of `text` holding `needle`.
fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle} in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_incident_replays_bit_for_bit_and_a_change_is_named() {
    let names = TestNames::create("record", 1).await;
    let port = free_port();
    let mut config = test_config(&redis_url());
    let admin = enable_admin(&mut config, port);
    let mut pipeline = test_pipeline("record", &names.group, &names.topic, &["hostile"]);
    pipeline.batch.max_events = 20;
    pipeline.batch.max_wait_ms = 500;
    config.pipelines.push(pipeline);
    config.plugins.insert(
        "hostile".into(),
        test_plugin_writing(
            "test_hostile",
            &[
                ("key_prefix", &names.prefix),
                ("mode", "unrepeatable"),
                ("trigger_driver", POISON),
            ],
            &names.prefix,
        ),
    );
    let host = Host::start("record", &write_config_file("record", &config));
    wait_until("the admin interface answers", Duration::from_secs(60), || {
        ureq::get(&format!("http://{admin}/health")).call().is_ok()
    });

    // Asked before any fix flows: the recording starts with the first batch.
    let dir = std::env::temp_dir().join(unique("recording"));
    let recorder = {
        let (admin, dir) = (admin.clone(), dir.display().to_string());
        std::thread::spawn(move || {
            fleethost(&[
                "record",
                "hostile",
                "--admin",
                &admin,
                "--batches",
                "50",
                "--out",
                &dir,
                "--timeout-s",
                "120",
            ])
        })
    };
    wait_until("the recording waits for a batch", Duration::from_secs(30), || {
        admin_get(&admin, "/plugins/hostile/recording").contains("\"state\":\"waiting\"")
    });
    let mut data = fleet_data(10, 100, 0, 51);
    let poison = &mut data[70];
    poison.payload = poison
        .payload
        .replace(&format!("\"{}\"", poison.key), &format!("\"{POISON}\""));
    poison.key = POISON.into();
    produce(&names.topic, &data).await;

    let (ok, output) = recorder.join().expect("the record command");
    assert!(ok, "fleethost record failed: {output}\n{}", host.log());
    assert!(output.contains("the instance was left unusable at batch"), "{output}");
    let expected = std::fs::read_to_string(dir.join("expected.jsonl")).expect("expected.jsonl");
    // What the replay must reproduce: the clocks, the real Redis's answers,
    // the trap naming the random number.
    assert!(
        expected.contains(r#""init":true,"call":"clock.monotonic""#),
        "{expected}"
    );
    assert!(expected.contains(r#""call":"clock.wall""#), "{expected}");
    assert!(expected.contains(r#""call":"kv.get-many""#), "{expected}");
    let trap = line_with(&expected, r#""failed":{"kind":"trap""#);
    assert!(
        trap.contains(&format!("driver {POISON} at offset 70, random ")),
        "{trap}"
    );
    assert!(dir.join("plugin.wasm").exists() && dir.join("batches.jsonl").exists());

    // Offline, bit for bit.
    let replayed = fleethost_command(&["test", "--replay", &dir.display().to_string()]);
    assert!(replayed.contains("ok: ") && !replayed.contains("note:"), "{replayed}");

    // A plugin that asks for another key than recorded.
    let get = line_with(&expected, r#""call":"kv.get-many""#).to_string();
    let other_key = tampered(&dir, "expected.jsonl", |text| {
        text.replacen(&get, &get.replace("unrepeatable:", "elsewhere:"), 1)
    });
    let (ok, output) = fleethost(&["test", "--replay", &other_key.display().to_string()]);
    assert!(!ok, "{output}");
    assert!(
        output.contains("the replay diverged at batch 0, call ")
            && output.contains(r#"the plugin made {"call":"kv.get-many""#),
        "{output}"
    );

    // A clock read otherwise: what the plugin writes changes.
    let clock = line_with(&expected, r#""batch":0,"call":"clock.wall""#).to_string();
    let other_clock = tampered(&dir, "expected.jsonl", |text| {
        text.replacen(&clock, &clock.replace(r#""answer":"#, r#""answer":1"#), 1)
    });
    let (ok, output) = fleethost(&["test", "--replay", &other_clock.display().to_string()]);
    assert!(!ok, "{output}");
    assert!(
        output.contains("the replay diverged at batch 0") && output.contains(r#"the plugin made {"call":"kv.write""#),
        "{output}"
    );

    // Other random numbers: the same.
    let other_seeds = tampered(&dir, "recording.json", |text| {
        let mut meta: serde_json::Value = serde_json::from_str(&text).expect("recording.json");
        for seed in ["secure", "insecure"] {
            meta["seeds"][seed] = serde_json::Value::String("ab".repeat(32));
        }
        meta["seeds"]["insecure_seed"] = serde_json::Value::String("12345".into());
        serde_json::to_string_pretty(&meta).expect("json")
    });
    let (ok, output) = fleethost(&["test", "--replay", &other_seeds.display().to_string()]);
    assert!(!ok, "{output}");
    assert!(output.contains("the replay diverged at batch 0"), "{output}");
    for folder in [dir, other_key, other_clock, other_seeds] {
        std::fs::remove_dir_all(&folder).expect("remove the recording");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_keeping_state_is_recorded_with_its_state_and_replays() {
    let names = TestNames::create("record-state", 1).await;
    let port = free_port();
    let mut config = test_config(&redis_url());
    let admin = enable_admin(&mut config, port);
    let mut pipeline = test_pipeline("record-state", &names.group, &names.topic, &["tally"]);
    pipeline.batch.max_events = 20;
    pipeline.batch.max_wait_ms = 500;
    config.pipelines.push(pipeline);
    config.plugins.insert("tally".into(), test_plugin("test_tally", &[]));
    let host = Host::start("record-state", &write_config_file("record-state", &config));
    wait_until("the admin interface answers", Duration::from_secs(60), || {
        ureq::get(&format!("http://{admin}/health")).call().is_ok()
    });

    let dir = std::env::temp_dir().join(unique("recording-state"));
    let recorder = {
        let (admin, dir) = (admin.clone(), dir.display().to_string());
        std::thread::spawn(move || {
            fleethost(&[
                "record",
                "tally",
                "--admin",
                &admin,
                "--batches",
                "3",
                "--out",
                &dir,
                "--timeout-s",
                "120",
            ])
        })
    };
    wait_until("the recording waits for a batch", Duration::from_secs(30), || {
        admin_get(&admin, "/plugins/tally/recording").contains("\"state\":\"waiting\"")
    });
    produce(&names.topic, &fleet_data(5, 100, 0, 53)).await;

    let (ok, output) = recorder.join().expect("the record command");
    assert!(ok, "fleethost record failed: {output}\n{}", host.log());
    let expected = std::fs::read_to_string(dir.join("expected.jsonl")).expect("expected.jsonl");
    // Each batch reads the counts the batches before it kept.
    let kept_counts = expected
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON line"))
        .filter(|line| line["call"] == "state.get-many")
        .filter(|line| {
            line["answer"]["Ok"]
                .as_array()
                .is_some_and(|values| values.iter().any(|value| !value.is_null()))
        })
        .count();
    assert!(
        kept_counts >= 2,
        "later batches read what earlier ones kept:\n{expected}"
    );
    assert_eq!(expected.matches(r#""call":"state.put-many""#).count(), 3, "{expected}");

    let replayed = fleethost_command(&["test", "--replay", &dir.display().to_string()]);
    assert!(replayed.contains("ok: ") && !replayed.contains("note:"), "{replayed}");
    std::fs::remove_dir_all(&dir).expect("remove the recording");
}
