//! Proves that shutdown is bounded whatever the outputs and the broker do:
//! a host (`run`, and `demo`) whose stdout and stderr are pipes closed by
//! their reader while it runs keeps working, and on SIGTERM exits 0
//! without panicking; and when the broker stops answering (a private
//! broker, frozen with SIGSTOP), SIGTERM still ends the host within its
//! `shutdown.timeout_ms`, with status 124 and a report naming the pipeline
//! that did not finish and what it was doing.

mod support;

use std::time::{Duration, Instant};

use support::demo_run::{Stores, demo_args, demo_config, map_drivers};
use support::pipes::PipedHost;
use support::private_broker::PrivateBroker;
use support::*;

/// A config with one pipeline `name` running live-location over `topic`
/// into Redis under `prefix`, on the broker at `bootstrap_servers`, with
/// the shutdown bound `timeout_ms`.
fn live_location_config(
    name: &str,
    bootstrap_servers: &str,
    topic: &str,
    group: &str,
    prefix: &str,
    timeout_ms: u64,
) -> std::path::PathBuf {
    let mut config = test_config(&redis_url());
    config.kafka.bootstrap_servers = bootstrap_servers.to_string();
    config.shutdown.timeout_ms = timeout_ms;
    let mut pipeline = test_pipeline(name, group, topic, &["live_location"]);
    pipeline.batch.max_events = 500;
    pipeline.batch.max_wait_ms = 200;
    config.pipelines.push(pipeline);
    add_plugins_under(&mut config, &["live_location"], prefix);
    write_config_file(name, &config)
}

/// Drivers in Redis's GEO set under `prefix`.
fn drivers_in_redis(prefix: &str) -> usize {
    redis::cmd("ZCARD")
        .arg(format!("{prefix}drivers:geo"))
        .query::<usize>(&mut redis())
        .expect("zcard")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_whose_stdout_and_stderr_were_closed_keeps_working_and_exits_0_on_sigterm() {
    let names = TestNames::create("shutdown-pipes", 2).await;
    let bound = Duration::from_secs(20);
    let config = live_location_config(
        "shutdown-pipes",
        &bootstrap(),
        &names.topic,
        &names.group,
        &names.prefix,
        bound.as_millis() as u64,
    );
    // stdout is closed at once; stderr once the host has its partitions.
    let mut host = PipedHost::start(
        &["run", "--config", config.to_str().expect("UTF-8 path")],
        None,
        Some("partitions assigned"),
    );
    tokio::task::block_in_place(|| host.close_after(Duration::from_secs(60)));

    // With nobody reading its output, the host logs (a progress line every
    // 500 ms, the batches) and goes on consuming.
    let data = fleet_data(50, 1000, 0, 19);
    produce(&names.topic, &data).await;
    tokio::task::block_in_place(|| {
        wait_until(
            "every driver is in Redis while the host's outputs are closed",
            Duration::from_secs(60),
            || {
                assert!(host.is_running(), "the host exited:\n{}", host.captured);
                drivers_in_redis(&names.prefix) == 50
            },
        )
    });
    assert_live_positions(&names.prefix, &newest_per_driver(&data));
    std::thread::sleep(Duration::from_secs(1));

    let started = Instant::now();
    let status = tokio::task::block_in_place(|| host.terminate(bound + Duration::from_secs(10)));
    let status = status.unwrap_or_else(|| panic!("the host did not exit within {bound:?} (+ 10 s) of SIGTERM"));
    println!(
        "host with closed outputs exited {:?} after SIGTERM: {status}",
        started.elapsed()
    );
    assert_ne!(status.code(), Some(101), "the host panicked");
    assert_eq!(status.code(), Some(0), "exit status {status}");
    assert!(!host.captured.contains("panicked"), "{}", host.captured);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_with_its_stdout_and_stderr_closed_keeps_running_and_exits_0_on_sigterm() {
    const DRIVERS: usize = 10;
    let run = unique("shutdown-demo");
    let config = write_config_file(&run, &demo_config(&run, Stores::Unreachable));
    let data_dir = std::env::temp_dir().join(&run);
    let map_port = free_port();
    // A figures line every second: each meets the closed stdout.
    let args = demo_args(&config, &data_dir, free_port(), map_port, DRIVERS, 1);
    let mut demo = PipedHost::start(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        Some("[demo] simulating"),
        Some("pipeline started"),
    );
    tokio::task::block_in_place(|| demo.close_after(Duration::from_secs(120)));

    let map_url = format!("http://127.0.0.1:{map_port}");
    tokio::task::block_in_place(|| {
        wait_until(
            "every driver is on /api/map while the demo's outputs are closed",
            Duration::from_secs(120),
            || {
                assert!(demo.is_running(), "the demo exited:\n{}", demo.captured);
                map_drivers(&map_url, &demo.captured).is_some_and(|drivers| drivers.len() == DRIVERS)
            },
        )
    });
    std::thread::sleep(Duration::from_secs(3));
    assert!(demo.is_running(), "the demo exited:\n{}", demo.captured);

    let bound = Duration::from_secs(30);
    let status = tokio::task::block_in_place(|| demo.terminate(bound + Duration::from_secs(10)));
    let status = status.unwrap_or_else(|| panic!("the demo did not exit within {bound:?} (+ 10 s) of SIGTERM"));
    assert_ne!(status.code(), Some(101), "the demo panicked");
    assert_eq!(status.code(), Some(0), "exit status {status}");
    assert!(!demo.captured.contains("panicked"), "{}", demo.captured);
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_ends_the_host_within_its_bound_naming_the_pipeline_when_the_broker_stops_answering() {
    let broker = PrivateBroker::start();
    let topic = unique("shutdown-bound-rider-updates");
    broker.create_topic(&topic, 2).await;
    let (group, prefix) = (unique("shutdown-bound-group"), format!("{}:", unique("shutdown-bound")));
    let bound = Duration::from_millis(3000);
    let config = live_location_config(
        "bound",
        &broker.bootstrap,
        &topic,
        &group,
        &prefix,
        bound.as_millis() as u64,
    );
    let data = fleet_data(20, 200, 0, 23);
    broker.produce(&topic, &data).await;
    let mut host = Host::start("bound", &config);
    tokio::task::block_in_place(|| {
        wait_until(
            "the host consumed from the private broker",
            Duration::from_secs(60),
            || {
                assert!(host.is_running(), "the host exited:\n{}", host.log());
                drivers_in_redis(&prefix) == 20
            },
        )
    });

    // Connections stay open, nothing is answered: the final commit and the
    // consumer's close wait forever.
    broker.freeze();
    let started = Instant::now();
    let margin = Duration::from_secs(12);
    let status = tokio::task::block_in_place(|| host.terminate(bound + margin));
    let elapsed = started.elapsed();
    println!("host against a frozen broker exited {elapsed:?} after SIGTERM (bound {bound:?}): {status}");
    let log = host.log();
    assert_eq!(status.code(), Some(124), "exit status {status}:\n{log}");
    let report = log
        .lines()
        .find(|line| line.starts_with("fleethost: shutdown did not finish within 3000 ms: "))
        .unwrap_or_else(|| panic!("no shutdown report:\n{log}"));
    assert!(
        report.contains("pipeline bound (committing offsets)")
            || report.contains("pipeline bound (closing its consumer)"),
        "the report names the pipeline and its step: {report}"
    );
    assert!(
        log.lines()
            .any(|line| line.contains("ERROR") && line.contains("shutdown did not finish within 3000 ms")),
        "the report is logged too:\n{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    drop(broker);
}
