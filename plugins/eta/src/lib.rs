//! eta: remaining distance, smoothed speed and ETA of every active trip.
//!
//! The plugin consumes the location topic (fixes) and the order topic
//! (`order-events`). Per driver it keeps one kv hash
//! `{key_prefix}eta:trip:{driver_id}` of two fields: its own copy of the trip
//! (the SDK's `trip` record), written only by order batches, and the speed
//! measurement and the last published estimate (the `eta` record, see
//! [`state`]), written only by fix batches. Each batch costs at most one
//! `kv::hash_get_all_many`, one `produce::send` and one `kv::write`.
//!
//! # Exact rules
//!
//! Distances are haversine great-circle distances on a sphere of radius
//! 6 371 008.8 m (the SDK's
//! [`geo::haversine_m`](fleethost_plugin_sdk::geo::haversine_m)).
//!
//! **Speed** ([`motion::Motion::observe`]), per driver, fixes in event-time
//! order, fixes not newer than the newest seen skipped. A sample is taken from
//! the *anchor* (the last sampled fix; the driver's first fix to start with)
//! to the fix, `d` metres and `dt` seconds apart:
//! - `d < jitter_m` (5): GPS jitter; no sample, unless `dt >= stop_window_s`
//!   (10), when a sample of 0 m/s is taken (the driver is stopped);
//! - `d / dt > max_speed_mps` (70): an impossible jump, the fix is ignored
//!   (anchor and position stay where they were);
//! - otherwise the sample is `d / dt`.
//!
//! After a sample the fix becomes the anchor; the first sample becomes the
//! speed, later ones are smoothed with the weight `w = 1 - exp(-dt /
//! speed_smoothing_s)` (`speed_smoothing_s` 20): `speed += w * (sample - speed)`. The driver's position is the
//! newest fix that was not a jump. A driver at a constant speed is therefore
//! measured at exactly that speed from the second fix on.
//!
//! **Estimate** ([`estimate::estimate`]), once per driver and batch, when the
//! driver's trip is active (`to_pickup`: target is the pickup point,
//! `to_dropoff`: the drop-off point) and the batch moved the position:
//! - `distance_m = haversine(position, target) * route_factor` (1.0: straight
//!   line, no road network);
//! - `speed_mps = max(speed, min_speed_mps)` (2.0), with `speed =
//!   default_speed_mps` (5.0) before any sample;
//! - `eta_s = round(distance_m / speed_mps)`, computed before the published
//!   `distance_m` is rounded to 0.1 m and `speed_mps` to 0.01 m/s;
//! - `ts_ms` is the event time of the position.
//!
//! **Publishing** ([`estimate::is_meaningful`]): an estimate is published when
//! none was published for this trip (order id and assignment time) and phase
//! yet (the first fix after an assignment or after the pickup), or when
//! `|eta_s - last published eta_s| >= min_change_s` (15) AND
//! `>= min_change_ratio * last published eta_s` (0.1). Published means: a JSON message on `eta_topic` (`eta-updates`) keyed
//! by order id,
//! `{"order_id","driver_id","phase":"to_pickup"|"to_dropoff","distance_m","speed_mps","eta_s","ts_ms"}`,
//! the same fields in the hash `{key_prefix}eta:{order_id}`, expiring
//! after `eta_ttl_s` (3600), and, for live subscribers (`fleethost track`),
//! `{"type":"eta",...the same fields}` published on the Redis pub/sub channel
//! `{key_prefix}live:eta:{order_id}` (in the same `kv::write`; the plugin's
//! `publish_channels` grant must cover `{key_prefix}live:eta:`).
//!
//! **Order events** (see [`orders`]) move the trip along with
//! `sdk::trip::Trip::apply`; they publish nothing. A new assignment writes the
//! new trip's record over the old one's (no pickup or end time carried over;
//! the speed measurement is untouched); delivery, cancellation or
//! reassignment of an active trip deletes `{key_prefix}eta:{order_id}`. Fixes
//! processed after that do not estimate the ended trip.
//!
//! **Concurrent batches.** The fix topic and the order topic have their own
//! partitions and workers, so a fix batch and an order batch of the same
//! driver run at the same time, each reading the hash and writing back (two
//! fix batches of one driver never do: its fixes are on one partition, and
//! its order events likewise). Each batch kind writes only its own record, one
//! field of one `HSET`, and neither deletes the hash, so neither undoes the
//! other's update: the stored trip is the last order batch's, the stored
//! speed and position the last fix batch's. A fix batch that read the trip
//! just before an order batch changed it still works on the trip it read,
//! once (the driver's next fix batch reads the new trip):
//! - after a pickup, it may publish one more `to_pickup` estimate; the next
//!   fix publishes the first `to_dropoff` one;
//! - after a delivery, a cancellation or a reassignment, it may publish one
//!   last estimate of the ended order: a message on `eta_topic` and the
//!   order's channel, and the `eta:{order_id}` hash written again after the
//!   order batch deleted it (it expires after `eta_ttl_s`);
//! - it records that estimate as the last published one, which names the old
//!   trip and so never holds back the new trip's first estimate.
//!
//! It cannot change the trip or keep a new trip from its estimates. A fix
//! batch that read no trip yet (the first assignment under way) skips the
//! driver, as it skips every driver never assigned.
//!
//! Config keys (all optional): `key_prefix` (""), `eta_topic`
//! ("eta-updates"), `eta_ttl_s` (3600), `route_factor` (1.0, >= 1),
//! `default_speed_mps` (5.0), `min_speed_mps` (2.0), `max_speed_mps` (70),
//! `jitter_m` (5), `stop_window_s` (10), `speed_smoothing_s` (20),
//! `min_change_s` (15), `min_change_ratio` (0.1).

pub mod estimate;
pub mod fixes;
pub mod motion;
pub mod orders;
pub mod plan;
pub mod settings;
pub mod state;

use fleethost_plugin_sdk::group::orders_by_driver;
use fleethost_plugin_sdk::hashes::read_hashes;
use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, Plan, PluginConfig, PluginError, Slot, log};

use crate::plan::state_key;
use crate::settings::Settings;
use crate::state::DriverState;

/// The plugin's [`Guest`] implementation; public so that the host can link
/// it natively (feature `native`) for the benchmark.
pub struct Eta;

thread_local! {
    /// The settings `init` read, for every batch.
    static SETTINGS: Slot<Settings> = const { Slot::new() };
}

impl Guest for Eta {
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

/// One batch (of fixes or of order events): one read of its drivers' states,
/// the plan, then its messages and writes.
fn process(settings: &Settings, batch: &Batch) -> Result<(), PluginError> {
    let plan: Plan = if batch.orders.is_empty() {
        let drivers = fixes::fixes_by_driver(&batch.events);
        fixes::plan_fixes(settings, &drivers, read_states(settings, drivers.keys().copied())?)
    } else {
        let drivers = orders_by_driver(&batch.orders);
        orders::plan_orders(settings, &drivers, read_states(settings, drivers.keys().copied())?)
    };
    log::debug(&format!(
        "partition {}: {} records, {} estimates published, {} kv writes",
        batch.partition,
        batch.len(),
        plan.messages.len(),
        plan.writes.len()
    ));
    plan.apply()
}

/// The state of every driver, in the given order.
fn read_states<'a>(
    settings: &Settings,
    drivers: impl Iterator<Item = &'a str>,
) -> Result<Vec<DriverState>, PluginError> {
    let keys: Vec<String> = drivers.map(|driver_id| state_key(settings, driver_id)).collect();
    Ok(read_hashes(&keys)?
        .iter()
        .map(|fields| DriverState::from_fields(fields))
        .collect())
}

fleethost_plugin_sdk::export_plugin!(Eta);
