//! The gateway's frame handling on any sequence of frames of one driver
//! connection. The input is cut at 0xFF bytes (never part of UTF-8) into
//! frames; a frame that is UTF-8 is a text frame, any other a binary one.
//! Every frame is either a fix the host decodes the same way or answered
//! with an error frame that is JSON with the frame's number and a
//! documented kind; acks are JSON with their number.

#![no_main]

use fleethost_event::gateway_frames::{AckFrame, BINARY_FRAME_KIND, ErrorFrame, read_fix};
use fleethost_event::location::Location;
use fleethost_fuzz::{DECODE_ERROR_KINDS, check_location};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// When every frame arrived: its Kafka timestamp.
const RECEIVED_MS: i64 = 1_764_000_000_000;

fuzz_target!(|input: &[u8]| {
    for (index, bytes) in input.split(|byte| *byte == 0xFF).enumerate() {
        let frame = index as u64 + 1;
        match std::str::from_utf8(bytes) {
            Ok(text) => match read_fix(frame, text, RECEIVED_MS) {
                Ok(fix) => {
                    check_location(&fix, Some(RECEIVED_MS), &Default::default());
                    let host_reads = Location::decode(Some(bytes), Some(RECEIVED_MS));
                    assert_eq!(host_reads.as_ref(), Ok(&fix), "the host reads {text:?} otherwise");
                }
                Err(answer) => check_answer(&answer, frame, &DECODE_ERROR_KINDS),
            },
            Err(_) => check_answer(&ErrorFrame::binary(frame), frame, &[BINARY_FRAME_KIND]),
        }
        let ack: Value = serde_json::from_str(&AckFrame { ack: frame }.to_json()).expect("an ack is JSON");
        assert_eq!(ack["ack"], frame);
    }
});

/// An error frame is a JSON object of exactly `error`, `kind` and `frame`.
fn check_answer(answer: &ErrorFrame, frame: u64, kinds: &[&str]) {
    let text = answer.to_json();
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&text) else {
        panic!("an error frame that is not a JSON object: {text}");
    };
    assert_eq!(fields.len(), 3, "{text}");
    assert_eq!(fields["frame"], frame, "{text}");
    assert_eq!(fields["error"], answer.error.as_str(), "{text}");
    assert!(kinds.contains(&answer.kind), "{text}");
}
