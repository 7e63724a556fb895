//! Text comparisons compiled inline. `str`'s `==` and `Ord` call `memcmp`, a
//! function call per comparison in a wasm plugin; driver ids and value names
//! are short and compared often (a `BTreeMap` by driver id and the record
//! name lookups), and those calls were a visible share of fleethost's CPU
//! running the example plugins (measured in the benchmark, docs/perf-log.md).

use std::cmp::Ordering;

/// Whether `a` and `b` hold the same text.
pub(crate) fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(a, b)| a == b)
}

/// `a` and `b` in `str`'s order (bytewise).
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    a.bytes().cmp(b.bytes())
}
