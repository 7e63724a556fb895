//! fare: running and final fare of every trip from the distance driven.
//!
//! The plugin consumes the location topic (fixes) and the order topic
//! (`order-events`). Per driver it keeps one kv hash
//! `{key_prefix}fare:trip:{driver_id}` of two fields: its own copy of the trip
//! (the SDK's `trip` record) and the metering of that trip (the `fare` record,
//! see [`state`]). Each batch costs at most one `kv::hash_get_all_many`, one
//! `produce::send` and one `kv::write`.
//!
//! # Exact rules
//!
//! Distances are haversine great-circle distances on a sphere of radius
//! 6 371 008.8 m (geo's `Haversine`).
//!
//! **Which fixes count** ([`fixes`]): fixes of a driver whose trip in kv is
//! `to_dropoff`, newer than the last fix processed for that trip, with
//! `timestamp_ms >= picked_up_ms` (and `<= ended_ms` once ended), in
//! event-time order. Fixes processed while the trip in kv is still
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
use fleethost_plugin_sdk::state::read_hashes;
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
