//! Proves the per-plugin quotas on host calls (`limits.host_calls_per_batch`,
//! `limits.host_calls_per_second`) reach a real plugin: within its quota a
//! batch goes through, and the call beyond is refused with an error that
//! names the key, which fails the batch. The recorder plugin makes one kv
//! call per batch.

mod support;

use fleethost_core::runtime::{CallError, PluginInstance};
use support::concurrent_batches::fix_batch;
use support::standalone::standalone_instance;

/// The recorder plugin under `limits`, writing under `q:`.
fn recorder(limits: &str) -> PluginInstance {
    standalone_instance(
        "quotas",
        "test_recorder",
        &format!("config = {{ key_prefix = \"q:\" }}\ngrants = {{ kv_write = [\"q:\"] }}\nlimits = {{ {limits} }}\n"),
    )
}

/// Runs one batch of three fixes through `instance`.
fn one_batch(instance: &mut PluginInstance, round: usize) -> Result<(), CallError> {
    let fixes = (0..3).map(|driver| (format!("d-{driver}"), 12.97, 77.59, 1_700_000_000_000 + round as i64));
    instance.process(&fix_batch("quotas", round, fixes)).map(|_| ())
}

#[test]
fn a_call_beyond_the_batch_quota_is_refused_naming_the_key() {
    let tokio = tokio::runtime::Runtime::new().expect("tokio runtime");
    let _inside_runtime = tokio.enter();
    let mut within = recorder("host_calls_per_batch = 1");
    for round in 0..3 {
        one_batch(&mut within, round).expect("one call per batch is within the quota");
    }
    let mut none = recorder("host_calls_per_batch = 0");
    let refused = one_batch(&mut none, 0).expect_err("no call is allowed");
    assert!(
        refused.to_string().contains("limits.host_calls_per_batch = 0"),
        "{refused}"
    );
}

#[test]
fn calls_beyond_the_second_quota_are_refused_until_the_next_second() {
    let tokio = tokio::runtime::Runtime::new().expect("tokio runtime");
    let _inside_runtime = tokio.enter();
    let mut instance = recorder("host_calls_per_second = 2");
    let results: Vec<_> = (0..3).map(|round| one_batch(&mut instance, round)).collect();
    assert!(results[0].is_ok() && results[1].is_ok(), "{results:?}");
    let refused = results[2].as_ref().expect_err("the third call in a second");
    assert!(
        refused.to_string().contains("limits.host_calls_per_second = 2"),
        "{refused}"
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    one_batch(&mut instance, 3).expect("a new second, a new quota");
}
