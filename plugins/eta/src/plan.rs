//! What a batch turns into: the kv writes and the messages to send, built by
//! pure functions so that tests can inspect them without a host.
//!
//! The glue in `lib.rs` sends the messages first and writes kv second: if the
//! write fails after the send, the retried batch publishes the same estimate
//! again (a harmless duplicate); the other order could lose it for good.

use fleethost_plugin_sdk::kv::{FieldValue, HashSetOp, WriteOp};
use fleethost_plugin_sdk::produce::Message;

use crate::estimate::{Estimate, phase_name};
use crate::json::JsonObject;
use crate::settings::Settings;

/// The outputs of one batch.
#[derive(Debug, Default)]
pub struct Plan {
    /// kv writes, in order, for one `kv::write` call.
    pub writes: Vec<WriteOp>,
    /// Messages for one `produce::send` call.
    pub messages: Vec<Message>,
}

impl Plan {
    /// Adds the writes and the message that publish `estimate`: the
    /// `eta:{order_id}` hash (with its expiry) and a message keyed by order id.
    pub fn publish(&mut self, settings: &Settings, estimate: &Estimate) {
        let key = eta_key(settings, &estimate.order_id);
        self.writes.push(hash_set(&key, estimate_fields(estimate)));
        self.writes.push(WriteOp::Expire((key, settings.eta_ttl_ms)));
        self.messages.push(Message::text(
            &settings.eta_topic,
            &estimate.order_id,
            estimate_json(estimate),
        ));
    }
}

/// The kv key of a driver's state: `{key_prefix}eta:trip:{driver_id}`.
pub fn state_key(settings: &Settings, driver_id: &str) -> String {
    format!("{}eta:trip:{driver_id}", settings.key_prefix)
}

/// The kv key of an order's current estimate: `{key_prefix}eta:{order_id}`.
pub fn eta_key(settings: &Settings, order_id: &str) -> String {
    format!("{}eta:{order_id}", settings.key_prefix)
}

/// A hash-set write.
pub fn hash_set(key: &str, fields: Vec<FieldValue>) -> WriteOp {
    WriteOp::HashSet(HashSetOp {
        key: key.to_string(),
        fields,
    })
}

/// The estimate as hash fields (the same names and values as the JSON).
fn estimate_fields(estimate: &Estimate) -> Vec<FieldValue> {
    vec![
        FieldValue::new("order_id", &estimate.order_id),
        FieldValue::new("driver_id", &estimate.driver_id),
        FieldValue::new("phase", phase_name(estimate.phase)),
        FieldValue::new("distance_m", estimate.distance_m),
        FieldValue::new("speed_mps", estimate.speed_mps),
        FieldValue::new("eta_s", estimate.eta_s),
        FieldValue::new("ts_ms", estimate.ts_ms),
    ]
}

/// The estimate as the JSON published on `eta_topic`.
pub fn estimate_json(estimate: &Estimate) -> String {
    JsonObject::new()
        .string("order_id", &estimate.order_id)
        .string("driver_id", &estimate.driver_id)
        .string("phase", phase_name(estimate.phase))
        .number("distance_m", estimate.distance_m)
        .number("speed_mps", estimate.speed_mps)
        .integer("eta_s", estimate.eta_s)
        .integer("ts_ms", estimate.ts_ms)
        .finish()
}
