//! The eta plugin's kv keys and what publishing an estimate adds to a batch's
//! [`Plan`] (built by pure functions, so that tests can inspect it without a
//! host; `Plan::apply` sends before it writes, see there for why).
//!
//! Besides the `eta_topic` message and the `eta:{order_id}` hash, a published
//! estimate goes to live subscribers: a Redis pub/sub `publish` of
//! `{"type":"eta",...the eta_topic message's fields}` on
//! `{key_prefix}live:eta:{order_id}`, the order's estimates channel
//! (`fleethost track` fans it out to the order's customers beside the
//! positions live-location publishes). It rides in the plan's kv writes: no
//! extra round trip.

use fleethost_plugin_sdk::json::JsonObject;
use fleethost_plugin_sdk::kv::{FieldValue, PublishOp, WriteOp};
use fleethost_plugin_sdk::produce::Message;
use fleethost_plugin_sdk::record::Decimal;
use fleethost_plugin_sdk::{Plan, names};

use crate::estimate::Estimate;
use crate::settings::Settings;

/// Adds the writes and the message that publish `estimate`: the
/// `eta:{order_id}` hash (with its expiry), the live message on the order's
/// channel and a message keyed by order id.
pub fn publish(plan: &mut Plan, settings: &Settings, estimate: &Estimate) {
    let key = eta_key(settings, &estimate.order_id);
    plan.writes.push(WriteOp::hash_set(&key, estimate_fields(estimate)));
    plan.writes.push(WriteOp::Expire((key, settings.eta_ttl_ms)));
    plan.writes.push(WriteOp::Publish(PublishOp {
        channel: names::eta_channel(&settings.key_prefix, &estimate.order_id),
        message: live_eta_json(estimate),
    }));
    plan.messages.push(Message::text(
        &settings.eta_topic,
        &estimate.order_id,
        estimate_json(estimate),
    ));
}

/// The kv key of a driver's state: `{key_prefix}eta:trip:{driver_id}`
/// ([`names::eta_trip_key`]: the live map reads the trip from it).
pub fn state_key(settings: &Settings, driver_id: &str) -> String {
    names::eta_trip_key(&settings.key_prefix, driver_id)
}

/// The kv key of an order's current estimate: `{key_prefix}eta:{order_id}`
/// ([`names::eta_key`]: the live map reads the estimate from it).
pub fn eta_key(settings: &Settings, order_id: &str) -> String {
    names::eta_key(&settings.key_prefix, order_id)
}

/// The estimate as hash fields (the same names and values as the JSON).
fn estimate_fields(estimate: &Estimate) -> Vec<FieldValue> {
    vec![
        FieldValue::new("order_id", &estimate.order_id),
        FieldValue::new("driver_id", &estimate.driver_id),
        FieldValue::new("phase", estimate.phase.as_str()),
        FieldValue::new("distance_m", Decimal(estimate.distance_m)),
        FieldValue::new("speed_mps", Decimal(estimate.speed_mps)),
        FieldValue::new("eta_s", estimate.eta_s),
        FieldValue::new("ts_ms", estimate.ts_ms),
    ]
}

/// The estimate as the JSON published on `eta_topic`.
pub fn estimate_json(estimate: &Estimate) -> String {
    estimate_object(JsonObject::new(), estimate)
}

/// The estimate as the live message: `{"type":"eta"` followed by the fields
/// of [`estimate_json`], so that a subscriber of an order's channel tells it
/// from a position by `type`.
pub fn live_eta_json(estimate: &Estimate) -> String {
    estimate_object(JsonObject::new().string("type", "eta"), estimate)
}

/// `object` with the estimate's fields added, finished.
fn estimate_object(object: JsonObject, estimate: &Estimate) -> String {
    object
        .string("order_id", &estimate.order_id)
        .string("driver_id", &estimate.driver_id)
        .string("phase", estimate.phase.as_str())
        .number("distance_m", estimate.distance_m)
        .number("speed_mps", estimate.speed_mps)
        .integer("eta_s", estimate.eta_s)
        .integer("ts_ms", estimate.ts_ms)
        .finish()
}
