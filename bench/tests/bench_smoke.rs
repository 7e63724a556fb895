//! The benchmark's smoke run: every contender on a tiny data set, against the
//! real broker, PostgreSQL and Redis, so that the benchmark never rots. It
//! checks that each contender handled every event and that the results are
//! written; it checks no speed (tests check behaviour; figures come from
//! `scripts/bench.sh`).
//!
//! Needs what `scripts/test.sh` sets up: FLEETHOST_TEST_BOOTSTRAP (a
//! broker), FLEETHOST_PLUGIN_DIR (the built plugins), the host binary in
//! `target/debug`, the seed pipeline's `node_modules`, and, for the native
//! contenders, `target/debug/fleethost-native` (the command line with
//! the plugins compiled in, bench/native; skipped with a message when absent).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo().join("target"), PathBuf::from)
}

#[test]
fn every_contender_runs_on_a_tiny_data_set_and_the_results_are_written() {
    let bootstrap = std::env::var("FLEETHOST_TEST_BOOTSTRAP")
        .expect("FLEETHOST_TEST_BOOTSTRAP: the broker to benchmark against (scripts/test.sh sets it)");
    let plugin_dir =
        std::env::var("FLEETHOST_PLUGIN_DIR").map_or_else(|_| target_dir().join("wasm32-wasip2/plugin"), PathBuf::from);
    let redis = std::env::var("FLEETHOST_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let database =
        std::env::var("FLEETHOST_TEST_DATABASE").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let fleethost = target_dir().join("debug/fleethost");
    assert!(
        fleethost.exists(),
        "{} is missing: build the host first",
        fleethost.display()
    );
    let native = target_dir().join("debug/fleethost-native");
    let out = target_dir().join(format!("test-output/bench-smoke-{}", std::process::id()));

    let mut command = Command::new(env!("CARGO_BIN_EXE_fleethost-bench"));
    command
        .current_dir(repo())
        .args([
            "run",
            "--bootstrap",
            &bootstrap,
            "--redis",
            &redis,
            "--database",
            &database,
        ])
        .arg("--fleethost-bin")
        .arg(&fleethost)
        .arg("--plugin-dir")
        .arg(&plugin_dir)
        .arg("--out")
        .arg(&out)
        .args([
            "--events",
            "3000",
            "--drivers",
            "50",
            "--partitions",
            "2",
            "--rounds",
            "1",
        ])
        .args(["--latency-rates", "400", "--latency-seconds", "2"])
        .args(["--broker-version", "smoke-test"])
        // The plugins' debug lines, to prove the filter reaches fleethost.
        .args(["--fleethost-log", "info,plugin=debug"]);
    let with_native = native.exists();
    if with_native {
        command.arg("--native-bin").arg(&native);
    } else {
        eprintln!(
            "{} is missing: the native contenders are not part of this smoke run",
            native.display()
        );
    }
    let status = command.status().expect("run fleethost-bench");
    assert!(
        status.success(),
        "fleethost-bench failed: {status}; see {}",
        out.display()
    );

    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).expect("results.json"))
            .expect("results.json is JSON");
    let measured: Vec<(&str, u64)> = results["measurements"]
        .as_array()
        .expect("measurements")
        .iter()
        .map(|m| (m["contender"].as_str().unwrap(), m["events"].as_u64().unwrap()))
        .collect();
    let mut expected = vec![
        "postgres-copy",
        "redis-hset",
        "redis-geoadd",
        "raw-consume",
        "seed-node",
        "fleethost-live",
        "fleethost-db",
        "fleethost-live+db",
        "fleethost-all5",
    ];
    if with_native {
        expected.extend(["native-live", "native-db", "native-live+db", "native-all5"]);
    }
    for contender in expected {
        let events = measured
            .iter()
            .find(|(name, _)| *name == contender)
            .unwrap_or_else(|| panic!("no measurement of {contender}: {measured:?}"))
            .1;
        assert_eq!(events, 3000, "{contender} handled {events} events");
    }
    let latency = results["latency"].as_array().expect("latency");
    let pipelines: Vec<&str> = latency.iter().map(|row| row["pipelines"].as_str().unwrap()).collect();
    assert_eq!(
        pipelines,
        ["raw-consume", "all5"],
        "the broker's floor, then fleethost: {latency:?}"
    );
    assert!(
        latency.iter().all(|row| row["samples"].as_u64().unwrap() > 0),
        "{latency:?}"
    );
    let live_log = std::fs::read_to_string(out.join("logs/fleethost-live-r1.log")).expect("live-location's log");
    assert!(
        live_log.contains("messages published"),
        "--fleethost-log info,plugin=debug shows live-location's debug lines:\n{live_log}"
    );
    let markdown = std::fs::read_to_string(out.join("results.md")).expect("results.md");
    assert!(markdown.contains("| contender | events/s |"), "{markdown}");
    assert!(markdown.contains("Targets:"), "{markdown}");
    assert!(
        results["errors"].as_array().unwrap().is_empty(),
        "{}",
        results["errors"]
    );
}
