//! Proves hot reload under a steady stream: a plugin replaced v1 → v2 → v1 …
//! ten times, by rename, by in-place write and by symlink swap, while events
//! flow, loses no event and every event is processed by one of the versions;
//! and that a corrupt file, a component of the wrong world, a plugin whose
//! init fails, one that traps on every batch and one that fails every batch
//! with errors marked retryable are refused (or rolled back)
//! while the previous version keeps running; and that operators can reload on
//! demand, see the running versions (also as metrics, with the memory the
//! host and each plugin hold) and change a plugin's config.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::*;

/// A folder holding the plugin path the host watches, `current.wasm`.
struct PluginDir {
    dir: PathBuf,
}

impl PluginDir {
    fn new(initial: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique("hot-reload"));
        std::fs::create_dir_all(&dir).expect("plugin dir");
        std::fs::copy(plugin_path(initial), dir.join("current.wasm")).expect("copy plugin");
        Self { dir }
    }

    fn current(&self) -> PathBuf {
        self.dir.join("current.wasm")
    }

    /// Deploy tools' way: write a temporary file, rename it over the path.
    fn replace_by_rename(&self, plugin: &str) {
        let temporary = self.dir.join("incoming.wasm.tmp");
        std::fs::copy(plugin_path(plugin), &temporary).expect("copy");
        std::fs::rename(&temporary, self.current()).expect("rename");
    }

    /// An editor's or `cp`'s way: truncate the file and write it again.
    fn replace_in_place(&self, plugin: &str) {
        std::fs::write(self.current(), std::fs::read(plugin_path(plugin)).expect("read")).expect("write");
    }

    /// Blue/green deploys' way: point a symlink at another file, atomically.
    fn replace_by_symlink(&self, plugin: &str) {
        let target = self.dir.join(format!("{}.wasm", unique(plugin)));
        std::fs::copy(plugin_path(plugin), &target).expect("copy");
        let link = self.dir.join("incoming.link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        std::fs::rename(&link, self.current()).expect("rename link");
    }

    fn write_bytes(&self, bytes: &[u8]) {
        std::fs::write(self.current(), bytes).expect("write");
    }
}

fn config(names: &TestNames, dir: &PluginDir) -> PathBuf {
    write_config_file("reload", &reload_config(names, dir, None, "trap"))
}

/// The stamp plugin from `dir` with `mode` for test-hostile (the stamp
/// versions ignore it), and the admin interface on `admin_port`.
fn reload_config(names: &TestNames, dir: &PluginDir, admin_port: Option<u16>, mode: &str) -> Config {
    let mut config = test_config(&redis_url());
    if let Some(port) = admin_port {
        enable_admin(&mut config, port);
    }
    let mut pipeline = test_pipeline("reload", &names.group, &names.topic, &["stamp"]);
    pipeline.batch.max_events = 100;
    pipeline.batch.max_wait_ms = 100;
    pipeline.failure.retries = 1;
    pipeline.failure.backoff_ms = 50;
    config.pipelines.push(pipeline);
    let mut stamp = PluginConfig::new(dir.current());
    stamp.config = properties(&[("key_prefix", &names.prefix), ("mode", mode)]);
    stamp.grants.kv_write = vec![names.prefix.clone()];
    config.plugins.insert("stamp".into(), stamp);
    config
}

/// A bad version to offer: what it is, how to deploy it, what the refusal says.
type Offer<'a> = (&'a str, Box<dyn Fn() + 'a>, &'a str);

fn count(log: &str, needle: &str) -> usize {
    log.lines().filter(|line| line.contains(needle)).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_swaps_under_load_lose_nothing() {
    let names = TestNames::create("reload", 2).await;
    let dir = PluginDir::new("test_stamp_v1");
    let host = Host::start("reload", &config(&names, &dir));
    // A stream that flows until the swaps are done, however long they take.
    let data = fleet_data(200, 200_000, 0, 21);
    let flowing = tokio_util::sync::CancellationToken::new();
    let stream = tokio::spawn(produce_until(
        names.topic.clone(),
        data.clone(),
        300,
        Duration::from_millis(100),
        flowing.clone(),
    ));
    wait_until("the host processes the stream", Duration::from_secs(60), || {
        recorded_offsets(&names.prefix, &names.topic, 2).len() > 500
    });

    for swap in 1..=10 {
        let plugin = if swap % 2 == 1 {
            "test_stamp_v2"
        } else {
            "test_stamp_v1"
        };
        match swap % 3 {
            1 => dir.replace_by_rename(plugin),
            2 => dir.replace_in_place(plugin),
            _ => dir.replace_by_symlink(plugin),
        }
        wait_until(
            &format!("swap {swap} to {plugin} is active"),
            Duration::from_secs(60),
            || count(&host.log(), "plugin file changed: new version active") >= swap,
        );
        std::thread::sleep(Duration::from_millis(400));
    }
    assert!(!stream.is_finished(), "the swaps happened while the stream was flowing");
    flowing.cancel();
    let positions = stream.await.expect("producer");
    wait_for_commits(
        &names.group,
        &names.topic,
        &end_offsets(&positions, 2),
        Duration::from_secs(120),
    );

    let seen = recorded_offsets(&names.prefix, &names.topic, 2);
    let all: std::collections::BTreeSet<Position> = positions.iter().copied().collect();
    assert_covered(&all, &seen, "events never processed");
    let mut connection = redis();
    let mut stamps = std::collections::BTreeMap::<String, usize>::new();
    for partition in 0..2 {
        let values: Vec<String> = redis::cmd("HVALS")
            .arg(format!("{}seen:{}:{partition}", names.prefix, names.topic))
            .query(&mut connection)
            .expect("hvals");
        for value in values {
            *stamps.entry(value).or_default() += 1;
        }
    }
    assert_eq!(
        stamps.keys().cloned().collect::<Vec<_>>(),
        ["test-stamp-v1", "test-stamp-v2"],
        "{stamps:?}"
    );
    let log = host.log();
    assert_eq!(count(&log, "new plugin version refused"), 0);
    let pauses: Vec<u64> = log
        .lines()
        .filter(|line| line.contains("first batch on the new version done"))
        .filter_map(|line| line.split("pause_ms=").nth(1)?.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(!pauses.is_empty(), "workers switched versions");
    println!(
        "hot reload: 10 swaps, {} worker switches, events per version {stamps:?}, longest pause {} ms (fresh instance + first batch)",
        pauses.len(),
        pauses.iter().max().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_versions_are_refused_and_the_previous_one_keeps_running() {
    let names = TestNames::create("refuse", 1).await;
    let dir = PluginDir::new("test_stamp_v1");
    let host = Host::start("refuse", &config(&names, &dir));
    let data = fleet_data(20, 4_000, 0, 22);
    let stream = tokio::spawn(produce_paced(
        names.topic.clone(),
        data.clone(),
        100,
        Duration::from_millis(100),
    ));
    wait_until("the host processes the stream", Duration::from_secs(60), || {
        recorded_offsets(&names.prefix, &names.topic, 1).len() > 200
    });

    let offers: [Offer<'_>; 4] = [
        (
            "a corrupt file",
            Box::new(|| dir.write_bytes(b"\0asm garbage")),
            "not a valid WebAssembly component",
        ),
        (
            "a component of the wrong world",
            Box::new(|| dir.replace_by_rename("test-wrong-world")),
            "does not implement the fleethost:plugin world",
        ),
        (
            "a plugin whose init fails",
            Box::new(|| dir.replace_by_rename("live_location")),
            "init failed: unknown config keys [\"mode\"]",
        ),
        (
            "a plugin that traps on every batch",
            Box::new(|| dir.replace_by_rename("test_hostile")),
            "rolled back to",
        ),
    ];
    for (refusals, (what, offer, reason)) in offers.iter().enumerate() {
        offer();
        wait_until(&format!("{what} is refused"), Duration::from_secs(60), || {
            let log = host.log();
            count(&log, "new plugin version refused") + count(&log, "rolled back to") > refusals
        });
        assert!(host.log().contains(reason), "{what}: the refusal says {reason:?}");
    }
    let positions = stream.await.expect("producer");
    wait_for_commits(
        &names.group,
        &names.topic,
        &end_offsets(&positions, 1),
        Duration::from_secs(120),
    );
    let seen = recorded_offsets(&names.prefix, &names.topic, 1);
    let dead_letters = read_all(&format!("{}.dlq", names.topic), 0, Duration::from_secs(1));
    let dead = dead_letter_positions(&dead_letters);
    let all: std::collections::BTreeSet<Position> = positions.iter().copied().collect();
    let handled = seen.union(&dead).copied().collect();
    assert_covered(&all, &handled, "events neither processed nor dead-lettered");
    assert!(
        dead.len() <= 3 * 100,
        "only the trapping version's trial batches were dead-lettered ({})",
        dead.len()
    );
}

/// A version whose every batch fails with an error marked retryable (as if a
/// backend of its own were down) is a failing version like any other: rolled
/// back during its probation, and the partition never held.
#[tokio::test(flavor = "multi_thread")]
async fn a_version_failing_with_retryable_errors_is_rolled_back() {
    let names = TestNames::create("claims", 1).await;
    let dir = PluginDir::new("test_stamp_v1");
    let config = reload_config(&names, &dir, None, "retryable-error");
    let host = Host::start("claims", &write_config_file("claims", &config));
    // A stream that flows until the rollback happened (at most 60,000 fixes).
    let data = fleet_data(20, 60_000, 0, 23);
    let flowing = tokio_util::sync::CancellationToken::new();
    let stream = tokio::spawn(produce_until(
        names.topic.clone(),
        data,
        50,
        Duration::from_millis(100),
        flowing.clone(),
    ));
    wait_until("the host processes the stream", Duration::from_secs(60), || {
        recorded_offsets(&names.prefix, &names.topic, 1).len() > 200
    });
    dir.replace_by_rename("test_hostile");
    wait_until("the failing version is rolled back", Duration::from_secs(90), || {
        host.log().contains("rolled back to")
    });
    flowing.cancel();
    let positions = stream.await.expect("producer");
    wait_for_commits(
        &names.group,
        &names.topic,
        &end_offsets(&positions, 1),
        Duration::from_secs(120),
    );
    let seen = recorded_offsets(&names.prefix, &names.topic, 1);
    let dead = dead_letter_positions(&read_all(&format!("{}.dlq", names.topic), 0, Duration::from_secs(1)));
    let all: std::collections::BTreeSet<Position> = positions.iter().copied().collect();
    assert_covered(
        &all,
        &seen.union(&dead).copied().collect(),
        "events neither processed nor dead-lettered",
    );
}

/// The running version of plugin `stamp`, from `fleethost status`.
fn running_version(admin: &str) -> String {
    let (ok, text) = fleethost(&["status", "--admin", admin]);
    assert!(ok, "{text}");
    text.split("stamp@")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("stamp in status")
        .to_string()
}

/// The admin interface's `/metrics` text.
fn metrics(admin: &str) -> String {
    admin_get(admin, "/metrics")
}

/// The value of the series `name` (with its labels, if it has any) in a
/// `/metrics` text.
fn gauge(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {metrics}"))
        .parse()
        .unwrap_or_else(|error| panic!("{name}: {error}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_reload_on_demand_see_versions_and_change_config() {
    let names = TestNames::create("operate", 1).await;
    let dir = PluginDir::new("test_stamp_v1");
    let port = free_port();
    let admin = format!("127.0.0.1:{port}");
    let config_path = write_config_file("operate", &reload_config(&names, &dir, Some(port), "trap"));
    let host = Host::start("operate", &config_path);
    let data = fleet_data(20, 500, 0, 23);
    let positions = produce(&names.topic, &data).await;
    wait_for_commits(
        &names.group,
        &names.topic,
        &end_offsets(&positions, 1),
        Duration::from_secs(60),
    );
    let v1 = running_version(&admin);

    // The metrics: the plugin's version, and the memory the host holds.
    let metrics = metrics(&admin);
    assert!(
        metrics.contains(&format!("fleethost_plugin_info{{plugin=\"stamp\",version=\"{v1}\"}} 1")),
        "{metrics}"
    );
    let plugin_memory = gauge(
        &metrics,
        &format!("fleethost_plugin_memory_bytes{{plugin=\"stamp\",version=\"{v1}\"}}"),
    );
    // One instance (one partition) of at least one 64 KiB wasm page, within the cap.
    assert!((64_u64 << 10..=64 << 20).contains(&plugin_memory), "{metrics}");
    let allocated = gauge(&metrics, "fleethost_memory_allocated_bytes");
    let allocator_resident = gauge(&metrics, "fleethost_memory_allocator_resident_bytes");
    let resident = gauge(&metrics, "process_resident_memory_bytes");
    assert!(allocated > 0 && allocator_resident >= allocated, "{metrics}");
    // The whole process (code, plugin memories) holds more than the heap.
    assert!(resident > allocator_resident / 2 && resident > 8 << 20, "{metrics}");

    // Everything but /health needs the admin token, and says so.
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    for (path, bearer, says) in [
        ("/metrics", None, "no bearer token"),
        (
            "/plugins",
            Some("Bearer not-the-token"),
            "not one of the admin interface's tokens",
        ),
    ] {
        let mut request = agent.get(&format!("http://{admin}{path}"));
        if let Some(bearer) = bearer {
            request = request.header("Authorization", bearer);
        }
        let mut response = request.call().expect("an answer");
        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body = response.body_mut().read_to_string().expect("body");
        assert!(body.contains(says), "{path}: {body}");
    }
    let health = agent.get(&format!("http://{admin}/health")).call().expect("health");
    assert_eq!(health.status(), 200, "/health needs no token");
    let wrong_token = support::write_config_text("wrong-admin-token", "not-the-token\n");
    let (ok, text) = fleethost(&[
        "reload",
        "--admin",
        &admin,
        "--token-file",
        &wrong_token.display().to_string(),
        "stamp",
    ]);
    assert!(!ok && text.contains("refused the token"), "{text}");
    assert!(
        !host.log().contains(support::access::ADMIN_TOKEN) && !metrics.contains(support::access::ADMIN_TOKEN),
        "the admin token is in the log or /metrics"
    );

    // Reload on demand with an unchanged file: nothing happens.
    let (ok, text) = fleethost(&["reload", "--admin", &admin, "stamp"]);
    assert!(ok && text.contains("\"unchanged\"") && text.contains(&v1), "{text}");

    // A corrupt file: refused with the reason; v1 keeps running and status says why.
    dir.write_bytes(b"not wasm at all");
    let (ok, text) = fleethost(&["reload", "--admin", &admin, "stamp"]);
    assert!(
        !ok && text.contains("does not start with the WebAssembly magic bytes"),
        "{text}"
    );
    assert_eq!(running_version(&admin), v1);
    let (_, status) = fleethost(&["status", "--admin", &admin]);
    assert!(
        status.contains("last refused") && status.contains("magic bytes"),
        "{status}"
    );

    // A good new version: active after the reload (by the watcher or the call).
    dir.replace_by_rename("test_stamp_v2");
    let (ok, text) = fleethost(&["reload", "--admin", &admin, "stamp"]);
    assert!(ok, "{text}");
    let v2 = running_version(&admin);
    assert_ne!(v2, v1);

    // An unknown plugin: 404 with the known names.
    let (ok, text) = fleethost(&["reload", "--admin", &admin, "nope"]);
    assert!(!ok && text.contains("no plugin named \"nope\""), "{text}");

    // A config change to the plugin (its limits) is a new version too.
    let mut changed = reload_config(&names, &dir, Some(port), "trap");
    changed.plugins.get_mut("stamp").expect("stamp").limits.batch_timeout_ms = 4000;
    std::fs::write(&config_path, config_toml(&changed)).expect("write");
    wait_until("the config change is applied", Duration::from_secs(30), || {
        running_version(&admin) != v2
    });
    let v3 = running_version(&admin);
    assert!(host.log().contains("plugin config changed: new version active"));

    // A broken config change is refused and the running config stays.
    // A misspelt key, which only a hand edit of the file can make.
    let broken = config_toml(&changed).replace("batch_timeout_ms = 4000", "batch_timeout_milliseconds = 1");
    assert!(broken.contains("batch_timeout_milliseconds"), "{broken}");
    std::fs::write(&config_path, broken).expect("write");
    wait_until("the broken config is refused", Duration::from_secs(30), || {
        host.log().contains("config change refused")
    });
    assert!(host.log().contains("batch_timeout_milliseconds"));
    assert_eq!(running_version(&admin), v3);

    let more = produce(&names.topic, &data).await;
    wait_for_commits(
        &names.group,
        &names.topic,
        &end_offsets(&more, 1),
        Duration::from_secs(60),
    );
}
