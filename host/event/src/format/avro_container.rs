//! The parts of an Avro object container file that decoding one record
//! needs, read without parsing its embedded schema: the schema's JSON text
//! (so that a parsed schema can be looked up by it), whether the block is
//! uncompressed, and the block's record bytes. Parsing the schema of every
//! message is what makes a general container reader slow (about 24 µs per
//! fix here, BENCHMARKS.md); producers write the same schema into every
//! message, so it is parsed once.

/// The start of every object container file.
const MAGIC: &[u8] = b"Obj\x01";
const SYNC_LEN: usize = 16;

/// A container file with one data block.
#[derive(Debug, PartialEq)]
pub(crate) struct SingleBlock<'a> {
    /// `avro.schema`: the writer schema's JSON text.
    pub schema_json: &'a [u8],
    /// Records in the block.
    pub count: i64,
    /// The block's record bytes.
    pub records: &'a [u8],
}

/// The one uncompressed data block of `bytes`, or `None` when the file is
/// anything else (compressed, several blocks, malformed): the general
/// reader then decodes it, or says what is wrong.
pub(crate) fn single_block(bytes: &[u8]) -> Option<SingleBlock<'_>> {
    let mut rest = bytes.strip_prefix(MAGIC)?;
    let mut schema_json = None;
    loop {
        let mut count = long(&mut rest)?;
        if count == 0 {
            break;
        }
        if count < 0 {
            count = count.checked_neg()?;
            long(&mut rest)?; // the block's size in bytes
        }
        for _ in 0..count {
            let key = sized(&mut rest)?;
            let value = sized(&mut rest)?;
            match key {
                b"avro.schema" => schema_json = Some(value),
                b"avro.codec" if value != b"null" => return None,
                _ => {}
            }
        }
    }
    let (sync, mut rest) = rest.split_at_checked(SYNC_LEN)?;
    let count = long(&mut rest)?;
    let size = usize::try_from(long(&mut rest)?).ok()?;
    let (records, after) = rest.split_at_checked(size)?;
    (after == sync).then_some(SingleBlock {
        schema_json: schema_json?,
        count,
        records,
    })
}

/// A zig-zag varint long.
fn long(bytes: &mut &[u8]) -> Option<i64> {
    let mut value: u64 = 0;
    for (position, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * position);
        if byte & 0x80 == 0 {
            *bytes = &bytes[position + 1..];
            return Some(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
    }
    None
}

/// A length-prefixed byte string.
fn sized<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::try_from(long(bytes)?).ok()?;
    let (value, rest) = bytes.split_at_checked(len)?;
    *bytes = rest;
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(codec: apache_avro::Codec, records: usize) -> (Vec<u8>, apache_avro::Schema) {
        let schema = apache_avro::Schema::parse_str(
            r#"{"type": "record", "name": "R", "fields": [{"name": "n", "type": "long"}]}"#,
        )
        .unwrap();
        let mut writer = apache_avro::Writer::with_codec(&schema, Vec::new(), codec);
        for n in 0..records {
            let mut record = apache_avro::types::Record::new(&schema).unwrap();
            record.put("n", n as i64);
            writer.append(record).unwrap();
        }
        (writer.into_inner().unwrap(), schema)
    }

    #[test]
    fn an_uncompressed_single_record_file_is_split_without_parsing_its_schema() {
        let (bytes, schema) = container(apache_avro::Codec::Null, 1);
        let block = single_block(&bytes).expect("one plain block");
        assert_eq!(
            apache_avro::Schema::parse_str(std::str::from_utf8(block.schema_json).unwrap()).unwrap(),
            schema
        );
        assert_eq!(block.count, 1);
        assert_eq!(block.records, [0]);
    }

    #[test]
    fn anything_else_is_left_to_the_general_reader() {
        assert_eq!(
            single_block(&container(apache_avro::Codec::Deflate(Default::default()), 1).0),
            None
        );
        let (mut bytes, _) = container(apache_avro::Codec::Null, 1);
        assert_eq!(single_block(&bytes[..bytes.len() - 1]), None);
        bytes.push(0);
        assert_eq!(single_block(&bytes), None);
        assert_eq!(single_block(b"Obj"), None);
        assert_eq!(single_block(b"not a container"), None);
        assert_eq!(
            single_block(&container(apache_avro::Codec::Null, 3).0).map(|block| block.count),
            Some(3)
        );
    }
}
