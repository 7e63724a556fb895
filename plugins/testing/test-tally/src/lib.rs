//! test-tally: counts each driver's fixes in the `state` capability (key:
//! the driver id, value: the count in decimal), one `get-many` and one
//! `put-many` per batch. A test sums the counts the host kept and compares
//! them with the fixes it produced: a lost or twice-applied batch shows.
//!
//! Config keys: `fail_every` (default 0, never): the first attempt of every
//! n-th batch of an instance changes the state and then fails (retryable),
//! so a test proves that a failed call's changes are discarded.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};

use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, PluginConfig, PluginError, state};

struct Tally;

#[derive(Default)]
struct Settings {
    fail_every: u64,
    calls: u64,
    /// First offsets of the batches failed once on purpose.
    failed: HashSet<(i32, i64)>,
}

thread_local! {
    static SETTINGS: RefCell<Settings> = RefCell::new(Settings::default());
}

impl Guest for Tally {
    fn init(config: Vec<(String, String)>) -> Result<(), String> {
        let config = PluginConfig::new(config);
        config.reject_unknown(&["fail_every"])?;
        let fail_every = config.number_or("fail_every", 0u64)?;
        SETTINGS.with(|settings| {
            *settings.borrow_mut() = Settings {
                fail_every,
                ..Settings::default()
            }
        });
        Ok(())
    }

    fn process_batch(batch: Batch) -> Result<BatchOutcome, PluginError> {
        let mut added: BTreeMap<String, u64> = BTreeMap::new();
        for event in &batch.events {
            *added.entry(event.driver_id.clone()).or_default() += 1;
        }
        let drivers: Vec<String> = added.keys().cloned().collect();
        let counts = state::get_many(&drivers)?;
        let changes: Vec<(String, Option<String>)> = drivers
            .into_iter()
            .zip(counts)
            .map(|(driver, count)| {
                let count = count.and_then(|count| count.parse::<u64>().ok()).unwrap_or(0) + added[&driver];
                (driver, Some(count.to_string()))
            })
            .collect();
        state::put_many(&changes)?;
        let first_offset = batch.events.first().map_or(-1, |event| event.offset);
        let fail = SETTINGS.with(|settings| {
            let mut settings = settings.borrow_mut();
            settings.calls += 1;
            settings.fail_every > 0
                && settings.calls % settings.fail_every == 0
                && settings.failed.insert((batch.partition, first_offset))
        });
        if fail {
            return Err(PluginError::retryable(
                "failed once on purpose after changing the state",
            ));
        }
        Ok(BatchOutcome { rejected: Vec::new() })
    }
}

fleethost_plugin_sdk::export_plugin!(Tally);
