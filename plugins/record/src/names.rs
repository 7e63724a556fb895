//! The Redis keys and pub/sub channels that the plugins write and the host's
//! tracking service (`fleethost track`: live channels, the live map, the
//! notification feed) reads, in one place.
//!
//! The plugins and the host are built separately (the plugins as wasm) and
//! only meet in Redis: a key or channel spelled one way in a plugin and
//! another way in the host is not an error anywhere, it is a live view that
//! silently shows nothing. Both take their names from here, so that they
//! cannot drift apart.
//!
//! Every name starts with the pipeline's `key_prefix` (the plugins' config
//! key of that name, the tracking service's matching setting), given as the
//! first argument, unchanged: it carries its own separator (`"t1:"`), or is
//! empty. The live channels all start with `{key_prefix}live:`
//! ([`LIVE_PREFIX`]); each plugin publishes on channels of its own
//! (live-location `live:driver:` and `live:order:`, eta `live:eta:`,
//! geofence `live:notifications`), which its `publish_channels` grant names,
//! so that no plugin can speak on another's.
//!
//! The names are built with `concat`, which allocates the result once
//! (live-location builds one key and one or two channels per driver and
//! batch).

/// What every live pub/sub channel starts with, after the key prefix.
pub const LIVE_PREFIX: &str = "live:";

/// The channel of one driver's live updates, `{key_prefix}live:driver:{driver_id}`:
/// live-location publishes each position that moved the driver forward on it,
/// and the tracking service fans it out to the driver's watchers.
pub fn driver_channel(key_prefix: &str, driver_id: &str) -> String {
    [key_prefix, "live:driver:", driver_id].concat()
}

/// The channel of one order's positions, `{key_prefix}live:order:{order_id}`:
/// live-location publishes the positions of fixes carrying the order, and
/// the tracking service fans them out to the order's watchers.
pub fn order_channel(key_prefix: &str, order_id: &str) -> String {
    [key_prefix, "live:order:", order_id].concat()
}

/// The channel of one order's estimates, `{key_prefix}live:eta:{order_id}`:
/// eta publishes each estimate on it, and the tracking service fans them out
/// to the order's watchers beside its positions.
pub fn eta_channel(key_prefix: &str, order_id: &str) -> String {
    [key_prefix, "live:eta:", order_id].concat()
}

/// The channel of every geofence notification, `{key_prefix}live:notifications`:
/// geofence publishes each notification it sends, and the tracking service's
/// notification feed (the live map) subscribes to it.
pub fn notifications_channel(key_prefix: &str) -> String {
    [key_prefix, "live:notifications"].concat()
}

/// The hash of one driver's newest position, `{key_prefix}driver:{driver_id}`,
/// written by live-location (fields [`POSITION_LAT`], [`POSITION_LNG`],
/// [`POSITION_TS_MS`]) and read by the tracking service when a watcher
/// connects and for the live map.
pub fn driver_key(key_prefix: &str, driver_id: &str) -> String {
    [key_prefix, "driver:", driver_id].concat()
}

/// The hash field of a driver's latitude in [`driver_key`].
pub const POSITION_LAT: &str = "lat";
/// The hash field of a driver's longitude in [`driver_key`].
pub const POSITION_LNG: &str = "lng";
/// The hash field of the event time (ms) of a driver's position in
/// [`driver_key`]; also the version live-location's upsert compares.
pub const POSITION_TS_MS: &str = "ts_ms";

/// live-location's default for its `geo_key` config key: the GEO set of every
/// driver's position (without the prefix), the set the live map lists the
/// drivers from.
pub const DEFAULT_GEO_KEY: &str = "drivers:geo";

/// The GEO set of every driver's position, `{key_prefix}{geo_key}`; `geo_key`
/// is live-location's config key of that name ([`DEFAULT_GEO_KEY`] unless
/// set), so the live map reads `geo_key(key_prefix, DEFAULT_GEO_KEY)`.
pub fn geo_key(key_prefix: &str, geo_key: &str) -> String {
    [key_prefix, geo_key].concat()
}

/// The hash of one order's current estimate, `{key_prefix}eta:{order_id}`,
/// written by eta (with an expiry) and read by the live map.
pub fn eta_key(key_prefix: &str, order_id: &str) -> String {
    [&eta_key_prefix(key_prefix), order_id].concat()
}

/// What every key of eta starts with, `{key_prefix}eta:`: the live map scans
/// it for the estimates ([`eta_key`]), leaving out [`eta_trip_key_prefix`].
pub fn eta_key_prefix(key_prefix: &str) -> String {
    [key_prefix, "eta:"].concat()
}

/// The hash of eta's state for one driver, `{key_prefix}eta:trip:{driver_id}`:
/// the driver's trip (the `trip` record) and motion. The live map reads the
/// trip's pickup or drop-off from it as the point an estimate heads for.
pub fn eta_trip_key(key_prefix: &str, driver_id: &str) -> String {
    [&eta_trip_key_prefix(key_prefix), driver_id].concat()
}

/// What every [`eta_trip_key`] starts with, `{key_prefix}eta:trip:`: the
/// keys under [`eta_key_prefix`] that are not estimates.
pub fn eta_trip_key_prefix(key_prefix: &str) -> String {
    [key_prefix, "eta:trip:"].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_layout() {
        assert_eq!(driver_channel("p:", "d1"), "p:live:driver:d1");
        assert_eq!(order_channel("", "o1"), "live:order:o1");
        assert_eq!(notifications_channel("p:"), "p:live:notifications");
        for channel in [
            driver_channel("p:", "d1"),
            order_channel("p:", "o1"),
            notifications_channel("p:"),
        ] {
            assert!(channel.starts_with(&["p:", LIVE_PREFIX].concat()), "{channel}");
        }
        assert_eq!(driver_key("p:", "d1"), "p:driver:d1");
        assert_eq!(geo_key("p:", DEFAULT_GEO_KEY), "p:drivers:geo");
        assert_eq!(eta_key("p:", "o1"), "p:eta:o1");
        assert_eq!(eta_trip_key("p:", "d1"), "p:eta:trip:d1");
        assert!(eta_key("p:", "o1").starts_with(&eta_key_prefix("p:")));
        assert!(eta_trip_key("p:", "d1").starts_with(&eta_trip_key_prefix("p:")));
        assert!(eta_trip_key_prefix("p:").starts_with(&eta_key_prefix("p:")));
    }
}
