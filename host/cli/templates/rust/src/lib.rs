//! {{name}}: a fleethost plugin. For every fix faster than `max_speed_kmh`
//! it counts the driver's speeding fixes in kv and sends an alert to
//! `alerts_topic`; a fix faster than 300 km/h is a broken GPS reading and is
//! rejected (it goes to the dead-letter topic with the reason).

use fleethost_plugin_sdk::json::JsonObject;
use fleethost_plugin_sdk::kv::{self, IncrOp, WriteOp};
use fleethost_plugin_sdk::produce::{self, Message};
use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, PluginError, Rejection, Slot, log};

/// Faster than this is not a vehicle but a bad reading.
const IMPLAUSIBLE_KMH: f64 = 300.0;

/// What `init` read from the plugin's config.
struct Settings {
    max_speed_kmh: f64,
    alerts_topic: String,
    key_prefix: String,
}

thread_local! {
    /// The settings `init` read, for every batch.
    static SETTINGS: Slot<Settings> = const { Slot::new() };
}

struct SpeedAlert;

impl Guest for SpeedAlert {
    fn init(config: Vec<(String, String)>) -> Result<(), String> {
        let mut settings = Settings {
            max_speed_kmh: 90.0,
            alerts_topic: "speed-alerts".to_string(),
            key_prefix: "speeding:".to_string(),
        };
        for (key, value) in config {
            match key.as_str() {
                "max_speed_kmh" => {
                    settings.max_speed_kmh = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|speed: &f64| speed.is_finite())
                        .ok_or_else(|| format!("max_speed_kmh: not a number: {value:?}"))?;
                }
                "alerts_topic" => settings.alerts_topic = value,
                "key_prefix" => settings.key_prefix = value,
                _ => return Err(format!("unknown config key {key:?}")),
            }
        }
        SETTINGS.with(|slot| slot.set(settings));
        Ok(())
    }

    fn process_batch(batch: Batch) -> Result<BatchOutcome, PluginError> {
        SETTINGS.with(|slot| slot.with(|settings| process(settings, &batch)))
    }
}

/// Checks every fix's speed: rejects the implausible ones, and counts and
/// alerts the ones over the limit, in one kv write and one send.
fn process(settings: &Settings, batch: &Batch) -> Result<BatchOutcome, PluginError> {
    let mut rejected = Vec::new();
    let mut counts = Vec::new();
    let mut alerts = Vec::new();
    for (index, event) in batch.events.iter().enumerate() {
        let Some(speed) = event.speed else { continue };
        let kmh = speed * 3.6;
        if kmh > IMPLAUSIBLE_KMH {
            rejected.push(Rejection {
                index: index as u32,
                reason: format!("implausible speed: {kmh:.1} km/h"),
            });
        } else if kmh > settings.max_speed_kmh {
            counts.push(WriteOp::Incr(IncrOp {
                key: format!("{}{}", settings.key_prefix, event.driver_id),
                by: 1,
                ttl_ms: None,
            }));
            let payload = JsonObject::new()
                .string("driver_id", &event.driver_id)
                .number_text("speed_kmh", &format!("{kmh:.1}"))
                .number_text("latitude", &format!("{:.6}", event.latitude))
                .number_text("longitude", &format!("{:.6}", event.longitude))
                .integer("timestamp_ms", event.timestamp_ms)
                .finish();
            alerts.push(Message {
                topic: settings.alerts_topic.clone(),
                key: Some(event.driver_id.clone()),
                payload: payload.into_bytes(),
                headers: Vec::new(),
            });
        }
    }
    if !alerts.is_empty() {
        let count = alerts.len();
        kv::write(&counts).map_err(|error| capability_error("kv", error_text_kv(error)))?;
        produce::send(&alerts).map_err(|error| capability_error("produce", error_text_produce(error)))?;
        log::info(&format!("{count} speeding of {} fixes", batch.events.len()));
    }
    Ok(BatchOutcome { rejected })
}

/// A capability's error as the plugin's: retryable when the backend was
/// unavailable.
fn capability_error(capability: &str, (text, unavailable): (String, bool)) -> PluginError {
    let message = format!("{capability}: {text}");
    if unavailable {
        PluginError::retryable(message)
    } else {
        PluginError::fatal(message)
    }
}

fn error_text_kv(error: kv::KvError) -> (String, bool) {
    match error {
        kv::KvError::Unavailable(text) => (text, true),
        kv::KvError::Denied(text) | kv::KvError::Invalid(text) => (text, false),
    }
}

fn error_text_produce(error: produce::ProduceError) -> (String, bool) {
    match error {
        produce::ProduceError::Unavailable(text) => (text, true),
        produce::ProduceError::Denied(text) | produce::ProduceError::Invalid(text) => (text, false),
    }
}

fleethost_plugin_sdk::export_plugin!(SpeedAlert);
