//! A pipeline's bounds on event values (`pipelines[].events`): part of the
//! decoder's contract, so it lives beside the decoders and is re-exported by
//! the host's config.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Bounds on the values of an input event, beyond the decoder's fixed ranges
/// (coordinates, heading within [0, 360]): a phone with a bad clock or a
/// broken speed sensor must not be taken at its word. An event time far
/// ahead would pin the driver, since live positions are kept newest by event
/// time and every later real fix would then look older. Event times are
/// compared with the Kafka message timestamp (the producer's or the broker's
/// clock), or with the host's clock when the message has none.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// Milliseconds an event's `timestamp` may be ahead of its message
    /// timestamp (the host's clock when the message has none): phones'
    /// clocks drift, but not by hours. Further ahead, the event is
    /// dead-lettered as `future-timestamp`. 300000 is 5 minutes.
    #[serde(default = "default_max_future_skew_ms")]
    pub max_future_skew_ms: u64,
    /// Milliseconds an event's `timestamp` may be behind its message
    /// timestamp; older events are dead-lettered as `too-old`. 0 means no
    /// limit: a phone that was offline may upload fixes hours late, and they
    /// still belong in the history.
    #[serde(default)]
    pub max_age_ms: u64,
    /// Highest `speed` a fix may report, in metres per second; a fix above
    /// it is dead-lettered as `out-of-range`. A negative speed means unknown
    /// (iOS reports -1) and is dropped, the fix kept. 100 m/s is 360 km/h:
    /// beyond any road vehicle, so only a broken sensor or a unit mistake
    /// gets there.
    #[serde(default = "default_max_speed_mps")]
    pub max_speed_mps: f64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            max_future_skew_ms: default_max_future_skew_ms(),
            max_age_ms: 0,
            max_speed_mps: default_max_speed_mps(),
        }
    }
}

fn default_max_future_skew_ms() -> u64 {
    300_000
}

fn default_max_speed_mps() -> f64 {
    100.0
}
