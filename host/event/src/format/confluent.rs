//! The Confluent wire format: magic byte 0, the writer schema's id as 4
//! bytes big-endian, and for Protobuf the path of the message type within
//! its file (zig-zag varints: a count, then one index per nesting level;
//! the single byte 0 stands for the first top-level message). Confluent's
//! serializers and every client of its registry frame messages this way.

use super::FormatError;

/// The first byte of every Confluent-framed message.
const MAGIC: u8 = 0;

/// The magic byte and schema id of `payload`, and what follows them.
pub(crate) fn split_header(payload: &[u8]) -> Result<(u32, &[u8]), FormatError> {
    match payload {
        [MAGIC, a, b, c, d, rest @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), rest)),
        [MAGIC, ..] => Err(FormatError::Framing(format!(
            "{} bytes: too short for the Confluent header (magic byte 0 and a 4-byte schema id)",
            payload.len()
        ))),
        [first, ..] => Err(FormatError::Framing(format!(
            "first byte 0x{first:02x} is not the Confluent magic byte 0{}",
            if *first == b'{' {
                " (the message looks like JSON)"
            } else {
                ""
            }
        ))),
        [] => Err(FormatError::Framing("empty message".into())),
    }
}

/// The header of a message written with schema `id`.
pub(crate) fn write_header(id: u32, out: &mut Vec<u8>) {
    out.push(MAGIC);
    out.extend_from_slice(&id.to_be_bytes());
}

/// Most nesting levels a message-index path may have: deeper is not a
/// schema anyone writes, and bounds the work a bad payload can ask for.
const MAX_DEPTH: usize = 32;

/// The Protobuf message-index path at the start of `rest`, and what follows.
pub(crate) fn split_message_indexes(rest: &[u8]) -> Result<(Vec<usize>, &[u8]), FormatError> {
    let (count, mut rest) = zigzag(rest)?;
    if count == 0 {
        return Ok((vec![0], rest));
    }
    let count = usize::try_from(count)
        .ok()
        .filter(|count| *count <= MAX_DEPTH)
        .ok_or_else(|| FormatError::Framing(format!("message-index count {count} is not within 0..={MAX_DEPTH}")))?;
    let mut path = Vec::with_capacity(count);
    for _ in 0..count {
        let (index, after) = zigzag(rest)?;
        let index =
            usize::try_from(index).map_err(|_| FormatError::Framing(format!("message index {index} is negative")))?;
        path.push(index);
        rest = after;
    }
    Ok((path, rest))
}

/// Writes the message-index path `path` (the single byte 0 for `[0]`).
pub(crate) fn write_message_indexes(path: &[usize], out: &mut Vec<u8>) {
    if path == [0] {
        out.push(0);
        return;
    }
    write_zigzag(path.len() as i64, out);
    for index in path {
        write_zigzag(*index as i64, out);
    }
}

/// One zig-zag varint (at most 10 bytes) from the start of `bytes`.
fn zigzag(bytes: &[u8]) -> Result<(i64, &[u8]), FormatError> {
    let mut value: u64 = 0;
    for (position, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * position);
        if byte & 0x80 == 0 {
            let decoded = ((value >> 1) as i64) ^ -((value & 1) as i64);
            return Ok((decoded, &bytes[position + 1..]));
        }
    }
    Err(FormatError::Framing(
        "the message indexes end early or run past 10 bytes".into(),
    ))
}

fn write_zigzag(value: i64, out: &mut Vec<u8>) {
    let mut encoded = ((value << 1) ^ (value >> 63)) as u64;
    while encoded >= 0x80 {
        out.push((encoded as u8) | 0x80);
        encoded >>= 7;
    }
    out.push(encoded as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let mut out = Vec::new();
        write_header(70_000, &mut out);
        out.push(42);
        assert_eq!(split_header(&out).unwrap(), (70_000, &[42][..]));
    }

    #[test]
    fn json_is_not_confluent_framing() {
        let error = split_header(br#"{"driverId":"d"}"#).unwrap_err().to_string();
        assert!(
            error.contains("0x7b is not the Confluent magic byte 0 (the message looks like JSON)"),
            "{error}"
        );
        assert!(split_header(&[0, 0, 1]).unwrap_err().to_string().contains("too short"));
    }

    #[test]
    fn message_indexes_round_trip_with_the_short_form_for_the_first_message() {
        for path in [vec![0], vec![1], vec![2, 0, 5], vec![0, 3]] {
            let mut out = Vec::new();
            write_message_indexes(&path, &mut out);
            out.push(9);
            assert_eq!(split_message_indexes(&out).unwrap(), (path.clone(), &[9][..]));
        }
        let mut short = Vec::new();
        write_message_indexes(&[0], &mut short);
        assert_eq!(short, [0]);
    }

    #[test]
    fn bad_message_indexes_are_errors() {
        assert!(split_message_indexes(&[]).is_err());
        assert!(split_message_indexes(&[0xff; 11]).is_err());
        // count 100 (zig-zag 200 = 0xc8 0x01)
        assert!(
            split_message_indexes(&[0xc8, 0x01])
                .unwrap_err()
                .to_string()
                .contains("count 100")
        );
        // count 1, index -1
        assert!(
            split_message_indexes(&[2, 1])
                .unwrap_err()
                .to_string()
                .contains("negative")
        );
    }
}
