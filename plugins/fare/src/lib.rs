//! fare: running and final fare of every trip from the distance driven.
//!
//! The plugin consumes the location topic (fixes) and the order topic
//! (`order-events`). Per driver it keeps one kv hash
//! `{key_prefix}fare:trip:{driver_id}` of two fields: its own copy of the trip
//! (the SDK's `trip` record), written only by order batches, and the metering
//! of that trip (the `fare` record, see [`state`]), written only by fix
//! batches. Each batch costs at most one `kv::hash_get_all_many`, one
//! `produce::send` and one `kv::write`.
//!
//! # Exact rules
//!
//! Distances are haversine great-circle distances on a sphere of radius
//! 6 371 008.8 m (the SDK's
//! [`geo::haversine_m`](fleethost_plugin_sdk::geo::haversine_m)).
//!
//! **Which fixes count** ([`fixes`]): fixes of a driver whose trip in kv is
//! `to_dropoff` (as their batch read it, see *Concurrent batches* below),
//! newer than the last fix processed for that trip (order id and assignment
//! time), with `timestamp_ms >= picked_up_ms` (and `<= ended_ms` once ended),
//! in event-time order. Fixes processed while the trip in kv is still
//! `to_pickup`, or already delivered, are not counted: the delivered event may
//! be processed before the batch holding the last fixes, and those fixes are
//! then lost to the fare.
//!
//! **Distance** ([`odometer::Odometer::count`]): the first counted fix is the
//! anchor; for each later one, `d` metres and `dt` seconds from the anchor:
//! `d < jitter_m` (5) is not counted and the anchor stays (so slow movement
//! adds up once it reaches `jitter_m`); `dt <= 0` or `d / dt > max_speed_mps`
//! (70) is an impossible jump, skipped with the anchor kept; otherwise `d` is
//! added and the fix becomes the anchor.
//!
//! **Surge region**: the `region` of the first counted fix of the trip
//! (matched case-insensitively against `surge`); multiplier 1.0 when that fix
//! had no region or the region is not listed.
//!
//! **Duration**: `(now_ms - picked_up_ms) / 1000` seconds, `now_ms` being the
//! newest counted-window fix (running) or the delivery's event time (final).
//!
//! **Fare** ([`pricing::Tariff::quote`]): with `metered = base_fare +
//! per_km * distance_m / 1000 + per_minute * duration_s / 60`, the fare is
//! `round2(max(minimum_fare, metered * surge))` where
//! `round2(x) = round(x * 100) / 100` (halves away from zero), computed from
//! the unrounded distance; the published `distance_m` is rounded to 0.1 m and
//! `duration_s` to the millisecond.
//!
//! **Outputs**: after every fix batch that processed a fix inside a trip's
//! window, the hash `{key_prefix}fare:{order_id}` gets fields `order_id`,
//! `driver_id`, `status` = `running`, `distance_m`, `duration_s`, `fare`,
//! `currency`, `surge`, `ts_ms` (event time of the figures) and `version`;
//! running fares are not published. When the delivered event is processed, the
//! final fare is published once on `fare_topic` keyed by order id as
//! `{"order_id","driver_id","status":"final","distance_m","duration_s","fare","currency","surge","ts_ms"}`
//! (`ts_ms` = delivery time) and the hash gets the same with status `final`.
//! A trip cancelled after pickup gets status `cancelled` in the hash, nothing
//! published. The hash is written with an upsert on `version` (event time for
//! running, 2^53 - 1 for final and cancelled), so a late running write never
//! replaces the final fare; it expires `fare_ttl_s` after its last write.
//!
//! **Concurrent batches.** The fix topic and the order topic have their own
//! partitions and workers, so a fix batch and an order batch of the same
//! driver run at the same time, each reading the hash and writing back (two
//! fix batches of one driver never do: its fixes are on one partition, and
//! its order events likewise). Each batch kind writes only its own record,
//! one field of one `HSET`, and neither deletes the hash, so neither undoes
//! the other's update: the stored trip is the last order batch's, the stored
//! metering the last fix batch's. A new trip does not clear the metering; the
//! metering names its trip (order id and assignment time), so a new trip,
//! even of the same order assigned to the driver again, meters from nothing.
//! The fare hash `{key_prefix}fare:{order_id}`, which both kinds write, is
//! written only through the upsert on `version`, one atomic script per hash.
//! A fix batch that read the trip just before an order batch changed it
//! still works on the trip it read, once (the driver's next fix batch reads
//! the new trip):
//! - racing the pickup, it read `to_pickup` and counts none of its fixes;
//! - racing the delivery or a cancellation, it meters its fixes into the
//!   ended trip's metering and writes a running fare of it, but the final
//!   (or cancelled) fare is computed from the metering as the order batch
//!   read it, before or after that write: when before, those fixes are not
//!   in it, as if that fix batch had been processed after the delivery; its
//!   running fare never replaces the final record (a lower version) and only
//!   renews its expiry;
//! - racing a new assignment or a reassignment, it writes a last running
//!   fare and the metering of the old trip, which the new trip never uses.
//!
//! It cannot change the trip, undo a final fare or lend one trip's distance
//! to another.
//!
//! Config keys (all optional): `key_prefix` (""), `fare_topic`
//! ("fare-updates"), `fare_ttl_s` (86400), `base_fare` (30), `per_km` (12),
//! `per_minute` (1.5), `minimum_fare` (50), `currency` ("INR"), `surge` ("",
//! e.g. "south=1.5,north=1.2"), `jitter_m` (5), `max_speed_mps` (70).

pub mod fixes;
pub mod odometer;
pub mod orders;
pub mod plan;
pub mod pricing;
pub mod settings;
pub mod state;

use fleethost_plugin_sdk::group::{fixes_by_driver, orders_by_driver};
use fleethost_plugin_sdk::hashes::read_hashes;
use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, Plan, PluginConfig, PluginError, Slot, log};

use crate::plan::state_key;
use crate::settings::Settings;
use crate::state::DriverState;

/// The plugin's [`Guest`] implementation; public so that the host can link
/// it natively (feature `native`) for the benchmark.
pub struct Fare;

thread_local! {
    /// The settings `init` read, for every batch.
    static SETTINGS: Slot<Settings> = const { Slot::new() };
}

impl Guest for Fare {
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
        let drivers = fixes_by_driver(&batch.events);
        fixes::plan_fixes(settings, &drivers, read_states(settings, drivers.keys().copied())?)
    } else {
        let drivers = orders_by_driver(&batch.orders);
        orders::plan_orders(settings, &drivers, read_states(settings, drivers.keys().copied())?)
    };
    log::debug(&format!(
        "partition {}: {} records, {} final fares published, {} kv writes",
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

fleethost_plugin_sdk::export_plugin!(Fare);
