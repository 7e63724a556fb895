//! Finding a few byte values in text eight bytes at a time.
//!
//! Plugins run as wasm, where a loop that looks at one byte per step costs
//! several instructions per byte and core's `memchr` goes four bytes per step
//! (wasm32's word). A 64-bit word is native in wasm too: these functions mark
//! the bytes of eight at once, and the caller looks only at the marked ones.
//! The record decoder and the plugin SDK's JSON writer read text with them.

/// The high bit of each byte that is not in the low seven.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The low seven bits of each byte.
const LOW_BITS: u64 = !HIGH_BITS;

/// The eight bytes of `bytes` from `start`, little-endian (byte `i` in bits
/// `8i..8i+8`, so `trailing_zeros() / 8` of a mark is its offset), zeros past
/// the end.
pub fn word_at(bytes: &[u8], start: usize) -> u64 {
    match bytes.get(start..start + 8) {
        Some(chunk) => u64::from_le_bytes(chunk.try_into().expect("eight bytes")),
        None => {
            let mut chunk = [0; 8];
            let tail = &bytes[start.min(bytes.len())..];
            chunk[..tail.len()].copy_from_slice(tail);
            u64::from_le_bytes(chunk)
        }
    }
}

/// The high bit of each byte of `word` equal to `byte`, exactly (no carry
/// from one byte reaches the next, unlike the shorter `(x - 0x01..) & !x`).
pub fn equal(word: u64, byte: u8) -> u64 {
    let zeroed = word ^ repeated(byte);
    !(((zeroed & LOW_BITS) + LOW_BITS) | zeroed | LOW_BITS)
}

/// The high bit of each byte of `word` below `limit` (at most 0x80), exactly.
pub fn below(word: u64, limit: u8) -> u64 {
    debug_assert!(limit <= 0x80, "limit {limit:#x} above 0x80");
    !(((word & LOW_BITS) + repeated(0x80 - limit)) | word) & HIGH_BITS
}

/// The offset of the first marked byte of a word's marks.
pub fn first(marks: u64) -> usize {
    (marks.trailing_zeros() / 8) as usize
}

/// Every text of at most `most` of `pieces` in a row (the empty one too):
/// for tests of code that reads text by words, so that each piece lands at
/// every offset of a word, across word ends and at the end of the text.
pub fn texts_of(pieces: &[&str], most: usize) -> Vec<String> {
    let mut texts = vec![String::new()];
    let mut longest = vec![String::new()];
    for _ in 0..most {
        longest = longest
            .iter()
            .flat_map(|text| pieces.iter().map(move |piece| format!("{text}{piece}")))
            .collect();
        texts.extend(longest.iter().cloned());
    }
    texts
}

/// `byte` in each of the eight bytes.
const fn repeated(byte: u8) -> u64 {
    u64::from_le_bytes([byte; 8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_value_at_every_offset_is_marked_exactly_when_it_matches() {
        for byte in 0..=u8::MAX {
            for offset in 0..8 {
                for filler in [0x00, b'a', 0xff] {
                    let mut chunk = [filler; 8];
                    chunk[offset] = byte;
                    let word = u64::from_le_bytes(chunk);
                    let marked = |matches: bool| if matches { 0x80 << (8 * offset) } else { 0 };
                    let fillers = |matches: bool| {
                        if matches {
                            HIGH_BITS & !(0xff << (8 * offset))
                        } else {
                            0
                        }
                    };
                    assert_eq!(
                        equal(word, b';'),
                        marked(byte == b';') | fillers(filler == b';'),
                        "{byte:#x} at {offset}"
                    );
                    assert_eq!(
                        below(word, 0x20),
                        marked(byte < 0x20) | fillers(filler < 0x20),
                        "{byte:#x} at {offset} among {filler:#x}"
                    );
                }
            }
        }
        assert_eq!(first(equal(word_at(b"abc;e;", 0), b';')), 3);
        assert_eq!(word_at(b"ab", 0), u64::from_le_bytes(*b"ab\0\0\0\0\0\0"));
        assert_eq!(word_at(b"ab", 2), 0);
    }

    #[test]
    fn texts_of_pieces_are_every_sequence_up_to_the_length() {
        assert_eq!(texts_of(&["a", "b"], 2), ["", "a", "b", "aa", "ab", "ba", "bb"]);
        assert_eq!(texts_of(&["a"], 0), [""]);
    }
}
