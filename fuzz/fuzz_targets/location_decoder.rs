//! The location decoder on any payload, against every message timestamp and
//! event bounds of the checks: it never panics, and what it returns keeps
//! the checks of `fleethost_fuzz`.

#![no_main]

use fleethost_event::location::Location;
use fleethost_fuzz::{MESSAGE_TIMESTAMPS, bounds_to_try, check_error, check_location};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    for bounds in bounds_to_try() {
        for message_timestamp_ms in MESSAGE_TIMESTAMPS {
            match Location::decode_within(Some(payload), message_timestamp_ms, &bounds) {
                Ok(location) => check_location(&location, message_timestamp_ms, &bounds),
                Err(error) => check_error(&error),
            }
        }
    }
});
