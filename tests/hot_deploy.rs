//! Proves hot deploy: a pipeline added to a running host's config file
//! starts without a restart (its plugin loaded, its events all processed,
//! listed by the admin interface and the metrics, its offsets committed at
//! SIGTERM like the others'), while the pipeline that ran already keeps
//! consuming throughout; and that an added pipeline whose plugin file does
//! not exist is refused with the plugin named in the log, the host going
//! on, until the file is there and the config is written again. A changed
//! definition of a running pipeline is logged as needing a restart.

mod support;

use std::path::Path;
use std::time::Duration;

use support::*;

const PARTITIONS: i32 = 2;

/// The config of the running host: pipeline `live` (live-location over
/// `live`'s topic, under its prefix), the admin interface on `admin_port`.
fn live_config(live: &TestNames, admin_port: u16) -> Config {
    let mut config = test_config(&redis_url());
    enable_admin(&mut config, admin_port);
    add_pipeline(&mut config, "live", &live.group, &live.topic, &["live_location"]);
    add_plugins_under(&mut config, &["live_location"], &live.prefix);
    config
}

/// `config` with pipeline `name` over `added`'s topic through plugin
/// `plugin`, as test-recorder under `added`'s prefix, committing only every
/// `commit_interval_ms`.
fn with_pipeline(mut config: Config, name: &str, added: &TestNames, plugin: &str, commit_interval_ms: u64) -> Config {
    add_pipeline(&mut config, name, &added.group, &added.topic, &[plugin]);
    config.pipelines.last_mut().expect("added").commit_interval_ms = commit_interval_ms;
    config.plugins.insert(
        plugin.to_string(),
        test_plugin_writing("test_recorder", &[("key_prefix", &added.prefix)], &added.prefix),
    );
    config
}

/// Rewrites the running host's config file as `config`.
fn write(path: &Path, config: &Config) {
    std::fs::write(path, config_toml(config)).expect("write config");
}

fn pipeline_names(admin: &str) -> Vec<String> {
    let pipelines: serde_json::Value = serde_json::from_str(&admin_get(admin, "/pipelines")).expect("json");
    pipelines
        .as_array()
        .expect("a list")
        .iter()
        .map(|pipeline| pipeline["name"].as_str().expect("name").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipeline_added_to_the_config_starts_without_a_restart() {
    let live = TestNames::create("deploy-live", PARTITIONS).await;
    let added = TestNames::create("deploy-added", PARTITIONS).await;
    let port = free_port();
    let admin = format!("127.0.0.1:{port}");
    let config_path = write_config_file("deploy", &live_config(&live, port));
    let mut host = Host::start("deploy", &config_path);

    // The running pipeline consumes a stream that flows through the deploy.
    let flowing = tokio_util::sync::CancellationToken::new();
    let stream = tokio::spawn(produce_until(
        live.topic.clone(),
        fleet_data(100, 200_000, 0, 41),
        100,
        Duration::from_millis(100),
        flowing.clone(),
    ));
    wait_until("pipeline live commits", Duration::from_secs(60), || {
        committed_total(&live) > 0
    });
    assert_eq!(pipeline_names(&admin), ["live"]);

    // The new consumer: committing only at shutdown, so that the offsets
    // found after SIGTERM are the shutdown's.
    let deployed = with_pipeline(live_config(&live, port), "added", &added, "test_recorder", 600_000);
    write(&config_path, &deployed);
    wait_until("the added pipeline starts", Duration::from_secs(60), || {
        host.log().contains("pipeline added to the config: started")
    });
    let committed_at_deploy = committed_total(&live);
    assert_eq!(pipeline_names(&admin), ["added", "live"]);
    assert!(
        host.log()
            .lines()
            .any(|line| line.contains("created the topics") && line.contains(&format!("{}.dlq", added.topic))),
        "the added pipeline's dead-letter topic is created"
    );

    let data = fleet_data(50, 3_000, 0, 42);
    let positions = produce(&added.topic, &data).await;
    let all: std::collections::BTreeSet<Position> = positions.iter().copied().collect();
    wait_until(
        "every fix of the added pipeline is recorded",
        Duration::from_secs(60),
        || recorded_offsets(&added.prefix, &added.topic, PARTITIONS).is_superset(&all),
    );

    // The running pipeline went on meanwhile.
    assert!(!stream.is_finished(), "the stream flowed through the deploy");
    wait_until("pipeline live goes on committing", Duration::from_secs(30), || {
        committed_total(&live) > committed_at_deploy
    });

    // Seen by the operator: status, /plugins, /metrics.
    let status = fleethost_command(&["status", "--admin", &admin]);
    assert!(
        status.contains("pipeline added:") && status.contains("test_recorder@"),
        "{status}"
    );
    let plugins = admin_get(&admin, "/plugins");
    assert!(plugins.contains("\"name\":\"test_recorder\""), "{plugins}");
    let metrics = admin_get(&admin, "/metrics");
    assert!(
        metrics.contains("fleethost_events_total{pipeline=\"added\"}")
            && metrics.contains("fleethost_plugin_info{plugin=\"test_recorder\""),
        "{metrics}"
    );

    flowing.cancel();
    let live_positions = stream.await.expect("producer");
    wait_for_commits(
        &live.group,
        &live.topic,
        &end_offsets(&live_positions, PARTITIONS),
        Duration::from_secs(60),
    );
    let status = host.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit {status:?}\n{}", host.log());
    assert_eq!(
        committed_offsets(&added.group, &added.topic, PARTITIONS),
        end_offsets(&positions, PARTITIONS),
        "the added pipeline committed at shutdown"
    );
    let log = host.log();
    assert!(!log.contains("pipeline ended with an error"), "{log}");
    assert!(!log.contains("restart fleethost"), "nothing needed a restart: {log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_added_pipeline_whose_plugin_is_missing_is_refused_and_the_host_goes_on() {
    let live = TestNames::create("deploy-refused", PARTITIONS).await;
    let added = TestNames::create("deploy-missing", PARTITIONS).await;
    let port = free_port();
    let admin = format!("127.0.0.1:{port}");
    let config_path = write_config_file("deploy-refused", &live_config(&live, port));
    let mut host = Host::start("deploy-refused", &config_path);
    let data = fleet_data(50, 1_000, 0, 43);
    let positions = produce(&live.topic, &data).await;
    wait_for_commits(
        &live.group,
        &live.topic,
        &end_offsets(&positions, PARTITIONS),
        Duration::from_secs(60),
    );

    // A plugin file that is not there (yet).
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}.wasm", unique("not-built")));
    let mut deployed = with_pipeline(live_config(&live, port), "unready", &added, "unready_plugin", 500);
    deployed.plugins.get_mut("unready_plugin").expect("plugin").path = missing.clone();
    write(&config_path, &deployed);
    wait_until("the addition is refused", Duration::from_secs(60), || {
        host.log().contains("added pipeline refused")
    });
    let log = host.log();
    let refusal = log
        .lines()
        .find(|line| line.contains("added pipeline refused"))
        .expect("refusal line");
    assert!(
        refusal.contains("unready_plugin") && refusal.contains(&missing.display().to_string()),
        "the refusal names the plugin and its file: {refusal}"
    );
    assert!(host.is_running());
    assert_eq!(pipeline_names(&admin), ["live"]);
    let more = produce(&live.topic, &data).await;
    wait_for_commits(
        &live.group,
        &live.topic,
        &end_offsets(&more, PARTITIONS),
        Duration::from_secs(60),
    );

    // Redefining the running pipeline needs a restart, and the log says what changed.
    let mut redefined = deployed.clone();
    redefined.pipelines[0].batch.max_events = 250;
    write(&config_path, &redefined);
    wait_until("the redefinition is logged", Duration::from_secs(60), || {
        host.log()
            .lines()
            .any(|line| line.contains("pipeline definition changed in the config (batch)") && line.contains("live"))
    });

    // Once the file is there, writing the config again deploys it.
    std::fs::copy(plugin_path("test_recorder"), &missing).expect("copy plugin");
    write(&config_path, &deployed);
    wait_until("the added pipeline starts", Duration::from_secs(60), || {
        host.log().contains("pipeline added to the config: started")
    });
    let added_positions = produce(&added.topic, &data).await;
    wait_for_commits(
        &added.group,
        &added.topic,
        &end_offsets(&added_positions, PARTITIONS),
        Duration::from_secs(60),
    );
    let all = added_positions.iter().copied().collect();
    assert_covered(
        &all,
        &recorded_offsets(&added.prefix, &added.topic, PARTITIONS),
        "fixes never processed",
    );
    let status = host.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit {status:?}\n{}", host.log());
}

/// Messages committed by `names`' group, over its partitions.
fn committed_total(names: &TestNames) -> i64 {
    committed_total_at(&bootstrap(), &names.group, &names.topic, PARTITIONS)
}
