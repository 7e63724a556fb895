//! What `fleethost test` prints: one JSON object per line, in the order
//! things happened, so that two runs compare line by line.
//!
//! - `{"init": …call}`: a host call `init` made;
//! - `{"fixture":"FILE:LINE","dead_letter":{"kind":…,"reason":…}}`: a line
//!   that did not decode, which the host would dead-letter;
//! - `{"batch":N,"topic":…,"partition":…,"offsets":[FIRST,LAST],"records":…}`
//!   before each batch, then `{"batch":N, …call}` for each host call with its
//!   answer (see the tape), then `{"batch":N,"outcome":…}`: `{"rejected":[
//!   {"index":…,"offset":…,"reason":…}]}` or `{"failed":{"kind":…,
//!   "message":…}}`.

use serde_json::json;

use super::fixtures::Undecodable;
use crate::runtime::tape::HostCall;
use crate::runtime::{Batch, BatchOutcome, CallError};

/// The line of a host call, tagged with `key` (`"batch":N` or `"init":true`).
pub fn call_line(tag: &str, call: &HostCall) -> String {
    let call = serde_json::to_string(call).expect("host calls serialize");
    // `call` is an object: the tag goes in front of its first field.
    format!("{{{tag},{}", &call[1..])
}

/// The tag of batch `index`'s lines.
pub fn batch_tag(index: usize) -> String {
    format!("\"batch\":{index}")
}

/// The tag of `init`'s lines.
pub const INIT_TAG: &str = "\"init\":true";

/// The line of a fixture line that did not decode; the file by its name
/// only, so that the output does not depend on where the test ran.
pub fn undecodable_line(undecodable: &Undecodable) -> String {
    let at = std::path::Path::new(&undecodable.at)
        .file_name()
        .map_or_else(|| undecodable.at.clone(), |name| name.to_string_lossy().into_owned());
    json!({"fixture": at, "dead_letter": {"kind": undecodable.kind, "reason": undecodable.reason}}).to_string()
}

/// The line before batch `index`'s calls.
pub fn batch_line(index: usize, batch: &Batch) -> String {
    let (first, last) = batch.offset_range();
    format!(
        "{{{},\"topic\":{},\"partition\":{},\"offsets\":[{first},{last}],\"records\":{}}}",
        batch_tag(index),
        serde_json::to_string(&batch.topic).expect("a string serializes"),
        batch.partition,
        batch.len()
    )
}

/// The line of batch `index`'s outcome.
pub fn outcome_line(index: usize, batch: &Batch, outcome: &Result<BatchOutcome, CallError>) -> String {
    let offsets = batch.offsets();
    let outcome = match outcome {
        Ok(outcome) => {
            let rejected: Vec<_> = outcome
                .rejected
                .iter()
                .map(|rejection| {
                    json!({
                        "index": rejection.index,
                        "offset": offsets.get(rejection.index as usize),
                        "reason": rejection.reason,
                    })
                })
                .collect();
            json!({ "rejected": rejected })
        }
        Err(error) => json!({"failed": {"kind": error.kind(), "message": error.to_string()}}),
    };
    format!("{{{},\"outcome\":{}}}", batch_tag(index), outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::log::Level;
    use crate::runtime::{Event, Rejection};

    #[test]
    fn lines_are_tagged_compact_json() {
        let call = HostCall::Log {
            level: Level::Info,
            message: "1 speeding".into(),
        };
        assert_eq!(
            call_line(&batch_tag(3), &call),
            r#"{"batch":3,"call":"log","level":"Info","message":"1 speeding"}"#
        );
        let event = |offset| Event {
            driver_id: "d1".into(),
            latitude: 1.0,
            longitude: 2.0,
            timestamp_ms: 0,
            region: None,
            order_id: None,
            speed: None,
            heading: None,
            offset,
        };
        let batch = Batch {
            pipeline: "test".into(),
            topic: "rider-updates".into(),
            partition: 0,
            events: vec![event(4), event(5)],
            orders: Vec::new(),
        };
        assert_eq!(
            batch_line(1, &batch),
            r#"{"batch":1,"topic":"rider-updates","partition":0,"offsets":[4,5],"records":2}"#
        );
        let outcome = Ok(BatchOutcome {
            rejected: vec![Rejection {
                index: 1,
                reason: "implausible".into(),
            }],
        });
        assert_eq!(
            outcome_line(1, &batch, &outcome),
            r#"{"batch":1,"outcome":{"rejected":[{"index":1,"offset":5,"reason":"implausible"}]}}"#
        );
    }
}
