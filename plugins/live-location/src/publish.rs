//! The change signal: which pub/sub messages a batch's write results call for.
//!
//! Pure functions over the batch's newest fixes and the `upsert-newer`
//! results, so that tests can check the messages without a host. The channel
//! names and the message are a contract with `fleethost track` (the host's
//! tracking server) and any other subscriber:
//!
//! - `{key_prefix}live:driver:{driver_id}` gets every applied position of the
//!   driver;
//! - `{key_prefix}live:order:{order_id}` gets the applied positions of fixes
//!   that carried that `order_id`;
//! - the message is `{"type":"position","driver_id","lat","lng","ts_ms"}`,
//!   plus `"order_id"` when the fix had one, fields in that order.
//!
//! The channel names come from [`names`], shared with the host's tracking
//! service.

use fleethost_plugin_sdk::json::JsonObject;
use fleethost_plugin_sdk::kv::WriteResult;
use fleethost_plugin_sdk::kv::borrowed::{PublishOp, WriteOp};
use fleethost_plugin_sdk::record::push_decimal;
use fleethost_plugin_sdk::{Event, PluginError, names};

use crate::Settings;

/// A driver's newest fix with its coordinates formatted once: the hash fields
/// and the published message carry the same text (formatting an `f64` was
/// the plugin's largest cost after the kv write itself).
#[derive(Debug)]
pub struct Position<'a> {
    /// The fix.
    pub event: &'a Event,
    /// Its latitude as `Display` writes it (a finite number: the host
    /// refuses fixes outside WGS84 ranges).
    pub latitude: String,
    /// Its longitude, likewise.
    pub longitude: String,
}

impl<'a> Position<'a> {
    /// The fix with its coordinates formatted.
    pub fn of(event: &'a Event) -> Self {
        Self {
            event,
            latitude: decimal(event.latitude),
            longitude: decimal(event.longitude),
        }
    }
}

/// `value` as `Display` writes it ([`push_decimal`], faster), into a string
/// allocated once (`to_string` starts empty and grows it for each part of
/// the number).
fn decimal(value: f64) -> String {
    let mut text = String::with_capacity(24);
    push_decimal(&mut text, value);
    text
}

/// One message to publish on one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Publication {
    /// The pub/sub channel.
    pub channel: String,
    /// The JSON message.
    pub message: String,
}

impl Publication {
    /// The publish op of this message, borrowing its text.
    pub fn op(&self) -> WriteOp<'_> {
        WriteOp::Publish(PublishOp {
            channel: &self.channel,
            message: &self.message,
        })
    }
}

/// The messages for the fixes whose write was applied (`applied(true)`: the
/// position moved forward in event time), in the order of `newest`; none for
/// the others (older or equal to what Redis holds: nothing changed).
///
/// `results` must hold one result per fix, in the same order (the answer of
/// the `kv::write` of their upserts); anything else is a host bug, refused as
/// fatal rather than pairing the wrong driver with a result.
pub fn publications(
    settings: &Settings,
    newest: &[Position<'_>],
    results: &[WriteResult],
) -> Result<Vec<Publication>, PluginError> {
    if results.len() != newest.len() {
        return Err(PluginError::fatal(format!(
            "kv returned {} write results for {} upserts",
            results.len(),
            newest.len()
        )));
    }
    let mut publications = Vec::new();
    for (position, result) in newest.iter().zip(results) {
        if !matches!(result, WriteResult::Applied(true)) {
            continue;
        }
        let event = position.event;
        let message = position_message(position);
        let order_id = event.order_id.as_deref().filter(|order_id| !order_id.is_empty());
        if let Some(order_id) = order_id {
            publications.push(Publication {
                channel: names::order_channel(&settings.key_prefix, order_id),
                message: message.clone(),
            });
        }
        publications.push(Publication {
            channel: names::driver_channel(&settings.key_prefix, &event.driver_id),
            message,
        });
    }
    Ok(publications)
}

/// How many of the upserts were applied: the drivers that moved.
pub fn moved(results: &[WriteResult]) -> usize {
    results
        .iter()
        .filter(|result| matches!(result, WriteResult::Applied(true)))
        .count()
}

/// The message of one applied position.
pub fn position_message(position: &Position<'_>) -> String {
    let event = position.event;
    let message = JsonObject::new()
        .string("type", "position")
        .string("driver_id", &event.driver_id)
        .number_text("lat", &position.latitude)
        .number_text("lng", &position.longitude)
        .integer("ts_ms", event.timestamp_ms);
    match event.order_id.as_deref().filter(|order_id| !order_id.is_empty()) {
        Some(order_id) => message.string("order_id", order_id),
        None => message,
    }
    .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            key_prefix: "p:".into(),
            geo_key: "p:drivers:geo".into(),
            publish: true,
        }
    }

    fn fix(driver_id: &str, order_id: Option<&str>, timestamp_ms: i64) -> Event {
        Event {
            driver_id: driver_id.into(),
            latitude: 12.97,
            longitude: 77.59,
            timestamp_ms,
            region: None,
            order_id: order_id.map(Into::into),
            speed: None,
            heading: None,
            offset: 0,
        }
    }

    fn positions<'a>(events: &[&'a Event]) -> Vec<Position<'a>> {
        events.iter().map(|event| Position::of(event)).collect()
    }

    /// The (channel, message) pairs of `publications`, through their ops.
    fn published(publications: &[Publication]) -> Vec<(&str, &str)> {
        publications
            .iter()
            .map(|publication| match publication.op() {
                WriteOp::Publish(publish) => (publish.channel, publish.message),
                other => panic!("only publishes expected, got {other:?}"),
            })
            .collect()
    }

    #[test]
    fn only_applied_writes_are_published() {
        let (a, b, c) = (fix("a", None, 1), fix("b", None, 2), fix("c", None, 3));
        let results = [
            WriteResult::Applied(true),
            WriteResult::Applied(false),
            WriteResult::Done,
        ];
        let sent = publications(&settings(), &positions(&[&a, &b, &c]), &results).expect("one result per fix");
        assert_eq!(
            published(&sent),
            [(
                "p:live:driver:a",
                r#"{"type":"position","driver_id":"a","lat":12.97,"lng":77.59,"ts_ms":1}"#
            )]
        );
        assert_eq!(moved(&results), 1);
    }

    #[test]
    fn a_fix_with_an_order_is_published_on_the_order_channel_too() {
        let on_trip = fix("d1", Some("o-7"), 1_700_000_000_123);
        let sent = publications(&settings(), &positions(&[&on_trip]), &[WriteResult::Applied(true)]).expect("valid");
        let message =
            r#"{"type":"position","driver_id":"d1","lat":12.97,"lng":77.59,"ts_ms":1700000000123,"order_id":"o-7"}"#;
        assert_eq!(
            published(&sent),
            [("p:live:order:o-7", message), ("p:live:driver:d1", message)]
        );
        // An empty order id is no order: no `live:order:` channel, no field.
        let no_order = fix("d1", Some(""), 5);
        let sent = publications(&settings(), &positions(&[&no_order]), &[WriteResult::Applied(true)]).expect("valid");
        assert_eq!(
            published(&sent),
            [(
                "p:live:driver:d1",
                r#"{"type":"position","driver_id":"d1","lat":12.97,"lng":77.59,"ts_ms":5}"#
            )]
        );
    }

    #[test]
    fn nothing_moved_publishes_nothing() {
        let a = fix("a", Some("o"), 1);
        let sent = publications(&settings(), &positions(&[&a]), &[WriteResult::Applied(false)]).expect("valid");
        assert!(sent.is_empty());
        assert!(
            publications(&settings(), &positions(&[]), &[])
                .expect("valid")
                .is_empty()
        );
    }

    #[test]
    fn results_that_do_not_match_the_fixes_are_refused() {
        let a = fix("a", None, 1);
        let error = publications(&settings(), &positions(&[&a]), &[]).expect_err("no result for a");
        assert_eq!(error, PluginError::fatal("kv returned 0 write results for 1 upserts"));
    }

    #[test]
    fn driver_ids_are_escaped_in_the_message() {
        let odd = fix("d\"1", None, 1);
        assert_eq!(
            position_message(&Position::of(&odd)),
            r#"{"type":"position","driver_id":"d\"1","lat":12.97,"lng":77.59,"ts_ms":1}"#
        );
    }
}
