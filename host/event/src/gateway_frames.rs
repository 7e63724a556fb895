//! The text frames the gateway sends to a driver app.
//!
//! - An error frame answers one frame the gateway could not take:
//!   `{"error":"field `lat` = 95.5 is out of range [-90, 90]","kind":"out-of-range","frame":17}`.
//!   `frame` is the number of the refused frame on this connection (text and
//!   binary frames count, from 1; pings, pongs and close frames do not).
//!   `kind` is the decoder's kind for a fix that is not a location
//!   (`empty`, `not-json`, `missing-field`, `invalid-field`, `out-of-range`,
//!   `no-timestamp`, `future-timestamp`, `too-old`: the same names as the
//!   host's dead-letter headers),
//!   `binary-frame` for a binary frame, `wrong-driver` for a fix naming
//!   another driver than the connection's token, `unencodable` for a valid
//!   fix that the topic's Avro or Protobuf schema cannot take (it is not
//!   produced), or `unavailable` when a
//!   valid fix could not be delivered to Kafka (send it again later).
//! - An ack frame, only on connections opened with `?ack=true`:
//!   `{"ack":42}`: every frame up to and including 42 is settled, that is
//!   stored by Kafka or answered with an error frame. Acks are cumulative and
//!   sent at most once per round of delivery reports, not once per fix, so a
//!   client can drop the fixes it buffered up to that number.
//!
//! A valid fix gets no reply of its own.

use serde::Serialize;

use crate::location::{DecodeError, Location};

/// The `kind` of an error frame answering a binary frame.
pub const BINARY_FRAME_KIND: &str = "binary-frame";
/// The `kind` of an error frame for a fix naming another driver than the
/// connection's token.
pub const WRONG_DRIVER_KIND: &str = "wrong-driver";
/// The `kind` of an error frame for a valid fix that Kafka did not take.
pub const UNAVAILABLE_KIND: &str = "unavailable";

/// Why one frame of a connection was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorFrame {
    /// What was wrong, for a person.
    pub error: String,
    /// What was wrong, for a program.
    pub kind: &'static str,
    /// The refused frame's number on its connection, from 1.
    pub frame: u64,
}

impl ErrorFrame {
    /// A fix that is not a location, with the decoder's reason.
    pub fn invalid_fix(frame: u64, error: &DecodeError) -> Self {
        Self {
            error: error.to_string(),
            kind: error.kind(),
            frame,
        }
    }

    /// A binary frame: fixes are JSON text.
    pub fn binary(frame: u64) -> Self {
        Self {
            error: "binary frames are not accepted: send each fix as a JSON text frame".to_string(),
            kind: BINARY_FRAME_KIND,
            frame,
        }
    }

    /// A fix naming `named` on a connection authenticated as `authenticated`:
    /// a driver app may send only its own driver's fixes.
    pub fn wrong_driver(frame: u64, named: &str, authenticated: &str) -> Self {
        Self {
            error: format!(
                "the fix names driver {named:?} but this connection's token is for driver {authenticated:?}: send only your own fixes"
            ),
            kind: WRONG_DRIVER_KIND,
            frame,
        }
    }

    /// A valid fix that could not be delivered to Kafka.
    pub fn unavailable(frame: u64, reason: &str) -> Self {
        Self {
            error: format!("the fix could not be delivered to Kafka ({reason}): send it again later"),
            kind: UNAVAILABLE_KIND,
            frame,
        }
    }

    /// The frame's JSON text.
    pub fn to_json(&self) -> String {
        json(self)
    }
}

/// Reads one text frame of a driver connection, numbered `frame`: the fix it
/// carries, validated with the host's decoder within the default event
/// bounds against `received_ms` (the time it arrived, which becomes its Kafka
/// timestamp, so a fix dated far ahead is answered here rather than
/// produced), or the error frame that answers it.
pub fn read_fix(frame: u64, text: &str, received_ms: i64) -> Result<Location, ErrorFrame> {
    Location::decode(Some(text.as_bytes()), Some(received_ms)).map_err(|error| ErrorFrame::invalid_fix(frame, &error))
}

/// Every frame up to and including `ack` is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AckFrame {
    /// The highest frame number up to which every frame is settled.
    pub ack: u64,
}

impl AckFrame {
    /// The frame's JSON text.
    pub fn to_json(&self) -> String {
        json(self)
    }
}

fn json(frame: &impl Serialize) -> String {
    // A struct of strings and integers always serializes.
    serde_json::to_string(frame).unwrap_or_else(|error| format!(r#"{{"error":"{error}"}}"#))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_out_of_range_fix_is_answered_with_field_kind_and_frame_number() {
        let error = Location::decode(Some(br#"{"driverId":"d","lat":95.5,"lng":77.6}"#), Some(1)).unwrap_err();
        assert_eq!(
            ErrorFrame::invalid_fix(17, &error).to_json(),
            r#"{"error":"field `lat` = 95.5 is out of range [-90, 90]","kind":"out-of-range","frame":17}"#
        );
    }

    #[test]
    fn every_decoder_reason_keeps_its_kind() {
        for (payload, kind) in [
            (&b""[..], "empty"),
            (b"{not json", "not-json"),
            (br#"{"lat":1,"lng":2}"#, "missing-field"),
            (br#"{"driverId":"","lat":1,"lng":2}"#, "invalid-field"),
            (
                br#"{"driverId":"d","lat":1,"lng":2,"timestamp":"2126-01-01T00:00:00Z"}"#,
                "future-timestamp",
            ),
        ] {
            let error = Location::decode(Some(payload), Some(1)).unwrap_err();
            let frame: serde_json::Value =
                serde_json::from_str(&ErrorFrame::invalid_fix(3, &error).to_json()).expect("JSON");
            assert_eq!(frame["kind"], kind);
            assert_eq!(frame["error"], error.to_string());
            assert_eq!(frame["frame"], 3);
        }
    }

    #[test]
    fn text_needing_escapes_stays_valid_json() {
        let error = Location::decode(Some(br#"{"driverId":"d","lat":"x\"y","lng":2}"#), Some(1)).unwrap_err();
        let text = ErrorFrame::invalid_fix(1, &error).to_json();
        let frame: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(frame["error"], error.to_string());
    }

    #[test]
    fn a_valid_text_frame_is_its_fix_and_a_bad_one_its_answer() {
        let fix = read_fix(1, r#"{"driverId":"d-1","lat":12.9,"lng":77.6}"#, 1_000).expect("a fix");
        assert_eq!((fix.driver_id.as_str(), fix.timestamp_ms), ("d-1", 1_000));
        let answer = read_fix(4, r#"{"driverId":"d-1","lat":12.9}"#, 1_000).unwrap_err();
        assert_eq!((answer.kind, answer.frame), ("missing-field", 4));
    }

    #[test]
    fn binary_and_unavailable_frames_name_their_kind() {
        assert_eq!(
            ErrorFrame::binary(2).to_json(),
            r#"{"error":"binary frames are not accepted: send each fix as a JSON text frame","kind":"binary-frame","frame":2}"#
        );
        let frame = ErrorFrame::unavailable(9, "Message timed out");
        assert_eq!(frame.kind, "unavailable");
        assert!(frame.to_json().contains("Message timed out"), "{}", frame.to_json());
    }

    #[test]
    fn an_ack_is_one_number() {
        assert_eq!(AckFrame { ack: 42 }.to_json(), r#"{"ack":42}"#);
    }
}
