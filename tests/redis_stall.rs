//! Proves that a kv call waits out a Redis stall for as long as the plugin's
//! `limits.host_call_timeout_ms` allows, and no longer: the Redis client's
//! own response timeout (500 ms in redis-rs unless set) does not fail a
//! batch that the operator's limit allows.

mod support;

use std::time::{Duration, Instant};

use fleethost_core::runtime::{Batch, Event, PluginInstance};
use support::standalone::{LIVE_LOCATION_GRANTS, instance_with_redis};
use support::*;

/// How long the private Redis is paused: well past redis-rs's default 500 ms
/// response timeout, well within the patient instance's limit.
const PAUSE: Duration = Duration::from_millis(1_500);

/// live-location on the Redis at `url` with `host_call_timeout_ms`.
fn live_location(url: &str, host_call_timeout_ms: u64) -> PluginInstance {
    let plugin_toml = format!("limits = {{ host_call_timeout_ms = {host_call_timeout_ms} }}\n{LIVE_LOCATION_GRANTS}");
    let path = plugin_path("live_location").display().to_string();
    instance_with_redis("stall", &path, url, &plugin_toml)
}

/// One fix of `driver-1` at `ts_ms`.
fn batch(ts_ms: i64) -> Batch {
    Batch {
        pipeline: "stall".into(),
        topic: "fixes".into(),
        partition: 0,
        events: vec![Event {
            driver_id: "driver-1".into(),
            latitude: 12.9716,
            longitude: 77.5946,
            timestamp_ms: ts_ms,
            region: None,
            order_id: None,
            speed: None,
            heading: None,
            offset: ts_ms,
        }],
        orders: Vec::new(),
    }
}

/// Pauses every client of `connection`'s Redis for [`PAUSE`] (`CLIENT
/// PAUSE` answers at once; the commands that follow wait for its end).
fn pause(connection: &mut redis::Connection) {
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(PAUSE.as_millis() as u64)
        .arg("ALL")
        .query(connection)
        .expect("CLIENT PAUSE");
}

#[test]
fn a_stalled_redis_is_waited_for_up_to_the_plugin_s_host_call_timeout() {
    let port = free_port();
    let _redis = PrivateRedis::start(port);
    let url = format!("redis://127.0.0.1:{port}");
    let mut control = redis::Client::open(url.as_str())
        .and_then(|client| client.get_connection())
        .expect("control connection");
    // Instances hold capability handles of a tokio runtime, as in the host;
    // their kv calls block this (non-runtime) thread.
    let tokio = tokio::runtime::Runtime::new().expect("tokio runtime");
    let _inside_runtime = tokio.enter();

    let mut patient = live_location(&url, 5_000);
    patient.process(&batch(1_000)).expect("a batch before the stall");
    pause(&mut control);
    let started = Instant::now();
    patient
        .process(&batch(2_000))
        .expect("a batch during a 1.5 s stall, within its 5 s host-call limit");
    assert!(
        started.elapsed() >= PAUSE / 2,
        "the batch waited for the paused Redis ({:?})",
        started.elapsed()
    );
    let ts_ms: String = redis::cmd("HGET")
        .arg("driver:driver-1")
        .arg("ts_ms")
        .query(&mut control)
        .expect("HGET");
    assert_eq!(ts_ms, "2000", "the stalled batch's fix is the live position");

    let mut impatient = live_location(&url, 300);
    impatient.process(&batch(3_000)).expect("a batch before the stall");
    pause(&mut control);
    let error = impatient
        .process(&batch(4_000))
        .expect_err("a 1.5 s stall is past a 300 ms host-call limit");
    assert!(
        format!("{error:?}").contains("timed out after 300 ms"),
        "the error names the plugin's limit: {error:?}"
    );
}
