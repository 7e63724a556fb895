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
//! map of `fleethost track` (so its grants need `live:notifications` in
//! `publish_channels`).
//!
//! The notifications are sent before the state is written (the SDK's
//! `Plan::apply`): if the write fails the batch is retried and may send a
//! notification twice, but a notification is never lost because its state was
//! saved without it.
//!
//! **Concurrent batches.** The fix topic and the order topic have their own
//! partitions and workers, so a fix batch and an order batch of the same
//! driver run at the same time, each reading the driver's hash and writing
//! back (two fix batches of one driver never do: its fixes are on one
//! partition, and its order events likewise). Neither can undo the other's
//! update: an order batch writes only the `trip` record, computed from the
//! trip alone (it never reads the `geofence` record); a fix batch writes only
//! the `geofence` record, computed from that record and the trip; each is one
//! field of one `HSET`, and nothing deletes the hash. Whichever lands first,
//! the hash ends as if the fix batch had run wholly before the order batch,
//! an order the two topics' interleaving allows anyway. What a fix batch that
//! read the trip just before an order batch changed it can still do is
//! therefore what it does when processed first: judge its fixes against the
//! trip it read, once (its fixes are not judged again; the driver's next
//! batch reads the new trip):
//! - racing a pickup, fixes after the pickup time are judged against the
//!   pickup point: a `near` or `arrived` at the pickup may come late, and
//!   none at the drop-off for those fixes;
//! - racing a delivery or a cancellation, fixes after its time are still
//!   judged against the ended trip's drop-off or pickup;
//! - racing a new assignment, none of its fixes is judged against the new
//!   order's points (the new order's alerts fire from the next fix within
//!   range).
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

use fleethost_plugin_sdk::hashes::read_hashes;
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
