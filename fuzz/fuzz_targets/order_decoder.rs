//! The order-event decoder on any payload, against every message timestamp
//! and event bounds of the checks: it never panics, and what it returns
//! keeps the checks of `fleethost_fuzz`.

#![no_main]

use fleethost_event::order::Order;
use fleethost_fuzz::{MESSAGE_TIMESTAMPS, bounds_to_try, check_error, check_order};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    for bounds in bounds_to_try() {
        for message_timestamp_ms in MESSAGE_TIMESTAMPS {
            match Order::decode_within(Some(payload), message_timestamp_ms, &bounds) {
                Ok(order) => check_order(&order),
                Err(error) => check_error(&error),
            }
        }
    }
});
