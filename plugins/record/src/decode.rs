//! Reading a record's values in one pass over its text.
//!
//! eta, fare and geofence decode a record per driver and batch; with
//! `split(';')`, `split_once('=')` and `contains('%')` each value cost three
//! searches of a few bytes, and in a wasm plugin those searches (core's
//! `memchr`, four bytes at a time on wasm32) were a visible share of the
//! pipelines' CPU (measured in the benchmark, docs/perf-log.md). Here the
//! text is read once, eight bytes at a time ([`scan`]): a 64-bit word yields
//! a bit for every `;`, `=` and `%` in it, and only those bytes are looked
//! at.

use std::borrow::Cow;

use crate::scan;

/// The values of a record, in order, borrowed from `text` unless they were
/// escaped; a part without `=` (not written by [`Writer`](crate::Writer)) is
/// skipped. A value holds everything after its name's first `=`.
pub fn decode(text: &str) -> impl Iterator<Item = (&str, Cow<'_, str>)> {
    Values {
        text,
        next_chunk: 0,
        chunk: 0,
        marks: 0,
        part_start: 0,
        equals: None,
        escaped: false,
    }
}

/// The iterator [`decode`] returns.
struct Values<'a> {
    text: &'a str,
    /// Where the next 8-byte chunk starts.
    next_chunk: usize,
    /// Where the chunk `marks` describes starts.
    chunk: usize,
    /// The high bit of each byte of the chunk that is a `;`, `=` or `%` not
    /// yet read.
    marks: u64,
    /// Where the part (`name=value`) being read starts.
    part_start: usize,
    /// The part's first `=`, once read.
    equals: Option<usize>,
    /// Whether the part's value holds a `%` (an escape).
    escaped: bool,
}

impl<'a> Iterator for Values<'a> {
    type Item = (&'a str, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        loop {
            while self.marks == 0 {
                if self.next_chunk >= bytes.len() {
                    // The last part: the text ends without a `;` after it.
                    if self.part_start > bytes.len() {
                        return None;
                    }
                    let value = self.part(bytes.len());
                    self.part_start = bytes.len() + 1;
                    return value;
                }
                self.chunk = self.next_chunk;
                self.next_chunk += 8;
                self.marks = marks(scan::word_at(bytes, self.chunk));
            }
            let position = self.chunk + scan::first(self.marks);
            self.marks &= self.marks - 1;
            match bytes[position] {
                b'=' => {
                    if self.equals.is_none() {
                        self.equals = Some(position);
                    }
                }
                b'%' => self.escaped |= self.equals.is_some(),
                _ => {
                    let value = self.part(position);
                    self.part_start = position + 1;
                    if value.is_some() {
                        return value;
                    }
                }
            }
        }
    }
}

impl<'a> Values<'a> {
    /// The value of the part from `part_start` to `end`, `None` without `=`;
    /// forgets the part's `=` and escape for the next one.
    fn part(&mut self, end: usize) -> Option<(&'a str, Cow<'a, str>)> {
        let equals = self.equals.take()?;
        let escaped = std::mem::take(&mut self.escaped);
        // `;`, `=` and `%` are ASCII, so every position is a char boundary.
        let name = &self.text[self.part_start..equals];
        let value = &self.text[equals + 1..end];
        let value = if escaped {
            Cow::Owned(value.replace("%3B", ";").replace("%25", "%"))
        } else {
            Cow::Borrowed(value)
        };
        Some((name, value))
    }
}

/// The high bit of each byte of `word` that is `;`, `=` or `%`.
fn marks(word: u64) -> u64 {
    scan::equal(word, b';') | scan::equal(word, b'=') | scan::equal(word, b'%')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious reading, three searches per value: what `decode` must equal.
    fn decode_by_splitting(text: &str) -> Vec<(&str, Cow<'_, str>)> {
        text.split(';')
            .filter_map(|part| {
                let (name, value) = part.split_once('=')?;
                let value = if value.contains('%') {
                    Cow::Owned(value.replace("%3B", ";").replace("%25", "%"))
                } else {
                    Cow::Borrowed(value)
                };
                Some((name, value))
            })
            .collect()
    }

    #[test]
    fn each_byte_that_is_a_mark_and_no_other_has_its_bit() {
        for byte in 0..=u8::MAX {
            for position in 0..8 {
                let mut chunk = [b'a'; 8];
                chunk[position] = byte;
                let expected = if matches!(byte, b';' | b'=' | b'%') {
                    0x80 << (8 * position)
                } else {
                    0
                };
                assert_eq!(
                    marks(u64::from_le_bytes(chunk)),
                    expected,
                    "byte {byte:#x} at {position}"
                );
            }
        }
        assert_eq!(marks(u64::from_le_bytes(*b";=%;=%;=")), 0x8080_8080_8080_8080);
    }

    #[test]
    fn reads_as_splitting_does_at_every_length_and_alignment() {
        let alphabet = ["a", "=", ";", "%", "%3B", "%25", "é", "bb", "12.5"];
        // 66,430 texts of up to 20 bytes: marks at every offset of a chunk,
        // across chunk ends and at the end.
        let texts = scan::texts_of(&alphabet, 5);
        for text in &texts {
            assert_eq!(decode(text).collect::<Vec<_>>(), decode_by_splitting(text), "{text:?}");
        }
        let long = "eta_lat=12.971599;eta_lng=77.594566;eta_order=o%3B17;eta_sent=;trip_state=to_pickup";
        assert_eq!(decode(long).collect::<Vec<_>>(), decode_by_splitting(long));
    }
}
