//! geofence: near, arrived, entered and exited notifications, once per crossing.
//!
//! Static fences (restaurants, hubs: circles and polygons, from the `fences`
//! config key) and, per order, the pickup and drop-off of the driver's trip
//! (built from the pipeline's order events with the SDK's shared trip
//! lifecycle). Each batch costs one `kv.hash-get-all-many` for its drivers'
//! hashes `{key_prefix}geofence:{driver_id}`, one `produce.send` of the
//! notifications to `notifications_topic` (keyed by driver id) and one
//! `kv.write` of the changed hashes, which also publishes each notification
//! on the Redis pub/sub channel `{key_prefix}live:notifications` for the live
//! map of `fleethost track` (so its grants need `live:` in `kv_write`).
//!
//! The notifications are sent before the state is written (the SDK's
//! `Plan::apply`): if the write fails the batch is retried and may send a
//! notification twice, but a notification is never lost because its state was
//! saved without it.
//!
//! Files: [`settings`] (config keys), [`fence`] and [`fence_text`] (static
//! fences and their config format), [`trip_state`] (order events on the trip,
//! and the order point a fix is judged against),
//! [`driver_state`] (the plugin's fields of the hash), [`tracker`] (crossing
//! rules), [`notification`] (JSON), [`batch`] (one batch, without host calls).

pub mod batch;
pub mod driver_state;
pub mod fence;
pub mod fence_text;
pub mod notification;
pub mod settings;
pub mod tracker;
pub mod trip_state;

#[cfg(test)]
mod test_support;

use fleethost_plugin_sdk::state::read_hashes;
use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, PluginConfig, PluginError, Slot, log};

use crate::settings::Settings;

/// The plugin's [`Guest`] implementation; public so that the host can link
/// it natively (feature `native`) for the benchmark.
pub struct Geofence;

thread_local! {
    /// The settings `init` read, for every batch.
    static SETTINGS: Slot<Settings> = const { Slot::new() };
}

impl Guest for Geofence {
    fn init(config: Vec<(String, String)>) -> Result<(), String> {
        let settings = Settings::from_config(&PluginConfig::new(config))?;
        SETTINGS.with(|slot| slot.set(settings));
        Ok(())
    }

    fn process_batch(batch: Batch) -> Result<BatchOutcome, PluginError> {
        SETTINGS.with(|slot| slot.with(|settings| process(settings, &batch)))?;
        Ok(BatchOutcome { rejected: Vec::new() })
    }
}

/// Reads the drivers' hashes, works out the batch, sends the notifications,
/// then writes the hashes.
fn process(settings: &Settings, batch: &Batch) -> Result<(), PluginError> {
    let groups = batch::group_by_driver(batch);
    if groups.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = groups.iter().map(|group| settings.state_key(group.driver_id)).collect();
    let hashes = read_hashes(&keys)?;
    let plan =
        batch::plan(settings, &groups, &hashes).into_plan(&settings.notifications_topic, &settings.live_channel());
    plan.apply()?;
    log::debug(&format!(
        "partition {}: {} fixes, {} order events, {} drivers, {} notifications, {} hashes written",
        batch.partition,
        batch.events.len(),
        batch.orders.len(),
        groups.len(),
        plan.messages.len(),
        plan.writes.len()
    ));
    Ok(())
}

fleethost_plugin_sdk::export_plugin!(Geofence);
