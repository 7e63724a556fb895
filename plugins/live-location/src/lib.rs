//! live-location: keeps the newest position of every driver in Redis, and
//! tells live subscribers when a driver moved.
//!
//! For each batch it reduces the events to the newest fix per driver (by event
//! time), then writes all drivers in one `kv.write` call: a `driver:{id}` hash
//! with `lat`, `lng`, `ts_ms` and a member of the `drivers:geo` set (not for a
//! fix beyond latitude ±85.05112878, which GEO sets cannot index: such a driver
//! gets the hash only). Each write
//! is an `upsert-newer` on `ts_ms`, so a late or redelivered older fix never
//! moves a driver back, even across batches, partitions and host restarts.
//!
//! # Change signal (Redis pub/sub)
//!
//! For the drivers whose write was applied (the position really moved forward
//! in event time), a second `kv.write` publishes, on the Redis pub/sub channel
//! `{key_prefix}live:driver:{driver_id}`,
//! `{"type":"position","driver_id","lat","lng","ts_ms"}` (plus `"order_id"`
//! when the fix carried one); a fix with an `order_id` is also published on
//! `{key_prefix}live:order:{order_id}`. A batch that moved nobody publishes
//! nothing. `fleethost track` fans these channels out to customers'
//! WebSockets (see [`publish`]).
//!
//! Pub/sub is fire-and-forget: a message published while nobody listens is
//! gone, and one whose publish failed after the position was written is not
//! sent again by the retried batch (the write is then no longer newer). That
//! is fine for a live view: the hash always holds the newest position, which a
//! subscriber reads when it connects, and the next fix publishes again.
//!
//! Config keys: `key_prefix` (prepended to every key and channel, default
//! empty), `geo_key` (default `drivers:geo`) and `publish` (`"true"`, the
//! default, or `"false"` to write positions without publishing). Publishing
//! needs the channels under its `publish_channels` grant:
//! `{key_prefix}live:driver:` and `{key_prefix}live:order:`.

pub mod publish;

use publish::{Position, Publication};

use fleethost_plugin_sdk::group;
use fleethost_plugin_sdk::kv;
use fleethost_plugin_sdk::kv::borrowed::{FieldValue, GeoMember, UpsertNewerOp, WriteOp};
use fleethost_plugin_sdk::names;
use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, PluginConfig, PluginError, Slot, log};

/// The plugin's [`Guest`] implementation; public so that the host can link
/// it natively (feature `native`) for the benchmark.
pub struct LiveLocation;

/// Settings from the plugin's config map.
pub struct Settings {
    /// Prepended to every key and channel.
    pub key_prefix: String,
    /// The GEO set of every driver's position (prefix included).
    pub geo_key: String,
    /// Whether applied positions are published on the live channels.
    pub publish: bool,
}

impl Settings {
    /// Reads and validates the config map handed to `init`.
    pub fn from_config(config: &PluginConfig) -> Result<Self, String> {
        config.reject_unknown(&["key_prefix", "geo_key", "publish"])?;
        let key_prefix = config.string_or("key_prefix", "");
        let geo_key = names::geo_key(&key_prefix, &config.string_or("geo_key", names::DEFAULT_GEO_KEY));
        let publish = match config.string_or("publish", "true").trim() {
            "true" => true,
            "false" => false,
            other => {
                return Err(format!(
                    "config key `publish` = {other:?}: expected \"true\" or \"false\""
                ));
            }
        };
        Ok(Self {
            key_prefix,
            geo_key,
            publish,
        })
    }
}

thread_local! {
    /// The settings `init` read, for every batch.
    static SETTINGS: Slot<Settings> = const { Slot::new() };
}

impl Guest for LiveLocation {
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

/// Writes the newest fix of every driver of the batch, in one `kv::write`,
/// then publishes the ones that moved their driver forward, in a second one.
/// Both pass borrowed ops ([`kv::borrowed`]): field names, ids and the
/// formatted coordinates go to the host without a copy each.
fn process(settings: &Settings, batch: &Batch) -> Result<(), PluginError> {
    let newest: Vec<Position> = group::newest_fixes(&batch.events)
        .into_iter()
        .map(Position::of)
        .collect();
    let texts: Vec<DriverText> = newest
        .iter()
        .map(|position| DriverText::of(settings, position))
        .collect();
    let fields: Vec<[FieldValue; 3]> = newest
        .iter()
        .zip(&texts)
        .map(|(position, text)| position_fields(position, text))
        .collect();
    let ops: Vec<WriteOp> = newest
        .iter()
        .zip(&texts)
        .zip(&fields)
        .map(|((position, text), fields)| upsert(settings, position, text, fields))
        .collect();
    let results = kv::borrowed::write(&ops)?;
    let publications = if settings.publish {
        publish::publications(settings, &newest, &results)?
    } else {
        Vec::new()
    };
    if !publications.is_empty() {
        let publishes: Vec<WriteOp> = publications.iter().map(Publication::op).collect();
        kv::borrowed::write(&publishes)?;
    }
    log::debug(&format!(
        "partition {}: {} events, {} drivers, {} moved, {} messages published",
        batch.partition,
        batch.events.len(),
        ops.len(),
        publish::moved(&results),
        publications.len()
    ));
    Ok(())
}

/// The text of a driver's write that its [`Position`] does not hold.
struct DriverText {
    /// `{key_prefix}driver:{driver_id}`.
    key: String,
    /// The fix's `ts_ms`, as the hash field holds it.
    timestamp_ms: String,
}

impl DriverText {
    fn of(settings: &Settings, position: &Position) -> Self {
        let event = position.event;
        Self {
            key: names::driver_key(&settings.key_prefix, &event.driver_id),
            timestamp_ms: event.timestamp_ms.to_string(),
        }
    }
}

/// The hash fields of a driver's position: `lat`, `lng`, `ts_ms`.
fn position_fields<'a>(position: &'a Position, text: &'a DriverText) -> [FieldValue<'a>; 3] {
    [
        FieldValue {
            field: names::POSITION_LAT,
            value: &position.latitude,
        },
        FieldValue {
            field: names::POSITION_LNG,
            value: &position.longitude,
        },
        FieldValue {
            field: names::POSITION_TS_MS,
            value: &text.timestamp_ms,
        },
    ]
}

/// The write of one driver's newest fix: an upsert on `ts_ms`, so that an
/// older fix never replaces a newer one.
fn upsert<'a>(
    settings: &'a Settings,
    position: &'a Position,
    text: &'a DriverText,
    fields: &'a [FieldValue<'a>],
) -> WriteOp<'a> {
    let event = position.event;
    WriteOp::UpsertNewer(UpsertNewerOp {
        key: &text.key,
        version_field: names::POSITION_TS_MS,
        version: event.timestamp_ms,
        fields,
        // A valid fix beyond the GEO set's reach (near a pole) still moves
        // the hash; only its GEO member is left out.
        geo: kv::geo_indexable(event.latitude, event.longitude).then_some(GeoMember {
            key: &settings.geo_key,
            member: &event.driver_id,
            longitude: event.longitude,
            latitude: event.latitude,
        }),
    })
}

fleethost_plugin_sdk::export_plugin!(LiveLocation);

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_plugin_sdk::Event;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        Settings::from_config(&PluginConfig::from_pairs(pairs))
    }

    #[test]
    fn publishing_is_on_by_default_and_can_be_turned_off() {
        let defaults = settings(&[("key_prefix", "p:")]).expect("valid");
        assert!(defaults.publish);
        assert_eq!(defaults.geo_key, "p:drivers:geo");
        assert!(!settings(&[("publish", "false")]).expect("valid").publish);
        let error = settings(&[("publish", "yes")]).err().expect("not a boolean");
        assert!(error.contains("`publish`") && error.contains("yes"), "{error}");
        let error = settings(&[("publsh", "false")]).err().expect("unknown key");
        assert!(error.contains("publsh"), "{error}");
    }

    #[test]
    fn a_fix_beyond_the_geo_range_writes_the_hash_without_a_geo_member() {
        let settings = settings(&[("key_prefix", "p:")]).expect("valid");
        let fix = |latitude: f64| Event {
            driver_id: "d1".into(),
            latitude,
            longitude: 10.0,
            timestamp_ms: 7,
            region: None,
            order_id: None,
            speed: None,
            heading: None,
            offset: 0,
        };
        for (latitude, indexed) in [(85.05, true), (-85.051_128_78, true), (85.06, false), (-90.0, false)] {
            let event = fix(latitude);
            let position = Position::of(&event);
            let text = DriverText::of(&settings, &position);
            let fields = position_fields(&position, &text);
            let WriteOp::UpsertNewer(op) = upsert(&settings, &position, &text, &fields) else {
                panic!("an upsert");
            };
            assert_eq!(op.key, "p:driver:d1");
            assert_eq!(op.fields.len(), 3, "the hash is written at latitude {latitude}");
            assert_eq!(op.geo.is_some(), indexed, "geo member at latitude {latitude}");
        }
    }

    #[test]
    fn the_newest_fix_of_each_driver_wins_in_driver_order() {
        let event = |driver: &str, ts: i64, offset: i64| Event {
            driver_id: driver.into(),
            latitude: 12.9,
            longitude: 77.6,
            timestamp_ms: ts,
            region: None,
            order_id: None,
            speed: None,
            heading: None,
            offset,
        };
        let events = [
            event("d2", 5, 0),
            event("d1", 3, 1),
            event("d2", 4, 2),
            event("d2", 5, 3),
            event("d10", 1, 4),
        ];
        let newest = group::newest_fixes(&events);
        let picked: Vec<(&str, i64)> = newest
            .iter()
            .map(|event| (event.driver_id.as_str(), event.offset))
            .collect();
        // Driver order is `str`'s: "d1" < "d10" < "d2".
        assert_eq!(picked, [("d1", 1), ("d10", 4), ("d2", 3)]);
    }
}
