//! The parts of an Avro object container file that decoding one record
//! needs, read without parsing its embedded schema: the schema's JSON text
//! (so that a parsed schema can be looked up by it), whether the block is
//! uncompressed, and the block's record bytes; and the cache of parsed
//! writer schemas. Parsing the schema of every message is what makes a
//! general container reader slow (BENCHMARKS.md has the figures); producers
//! write the same schema into every message, so it is parsed once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::FormatError;
use super::avro;

/// A container file's writer schema, and whether it must be resolved to
/// the reader schema (it differs from it).
pub(crate) type ContainerWriter = (Arc<apache_avro::Schema>, bool);

/// The writer schemas of a topic's container files by their JSON text.
#[derive(Debug, Default)]
pub(crate) struct ContainerSchemas(RwLock<HashMap<Vec<u8>, ContainerWriter>>);

impl ContainerSchemas {
    /// The parsed writer schema of a container file whose header holds
    /// `schema_json`, parsed once per distinct text, and whether it must be
    /// resolved to `reader`.
    pub(crate) fn writer(
        &self,
        schema_json: &[u8],
        reader: Option<&apache_avro::Schema>,
    ) -> Result<ContainerWriter, FormatError> {
        /// Distinct writer schemas kept; past it the cache starts over (a
        /// topic's producers use a handful).
        const MAX_CACHED: usize = 64;
        if let Some(found) = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(schema_json)
        {
            return Ok(found.clone());
        }
        let undecodable = |message: String| FormatError::Undecodable {
            encoding: "avro",
            message: format!("the container's schema: {message}"),
        };
        let text = std::str::from_utf8(schema_json).map_err(|error| undecodable(error.to_string()))?;
        let schema = Arc::new(avro::parse(text).map_err(undecodable)?);
        let resolve = reader.is_some_and(|reader| *reader != *schema);
        let mut cache = self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(schema_json.to_vec(), (schema.clone(), resolve));
        Ok((schema, resolve))
    }
}

/// The start of every object container file.
const MAGIC: &[u8] = b"Obj\x01";
const SYNC_LEN: usize = 16;

/// A container file: its writer schema's text and, when it has exactly
/// one uncompressed data block, that block.
#[derive(Debug, PartialEq)]
pub(crate) struct Container<'a> {
    /// `avro.schema`: the writer schema's JSON text.
    pub schema_json: &'a [u8],
    /// The one uncompressed data block; `None` for anything else
    /// (compressed, several blocks), which the general reader decodes.
    pub block: Option<Block<'a>>,
}

/// A data block.
#[derive(Debug, PartialEq)]
pub(crate) struct Block<'a> {
    /// Records in the block.
    pub count: i64,
    /// The block's record bytes.
    pub records: &'a [u8],
}

/// The schema text and single data block of the container `bytes`; an
/// error when its header is not an object container file's. The header is
/// checked here, entry by entry against the bytes there are, before the
/// general reader sees it: that reader reserves room for as many entries as
/// a header claims.
pub(crate) fn read(bytes: &[u8]) -> Result<Container<'_>, String> {
    let truncated = || "the container's header ends early or is malformed".to_string();
    let mut rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| "not an object container file: it does not start with Obj and 1".to_string())?;
    let mut schema_json = None;
    let mut compressed = false;
    loop {
        let mut count = long(&mut rest).ok_or_else(truncated)?;
        if count == 0 {
            break;
        }
        if count < 0 {
            count = count.checked_neg().ok_or_else(truncated)?;
            long(&mut rest).ok_or_else(truncated)?; // the block's size in bytes
        }
        for _ in 0..count {
            let key = sized(&mut rest).ok_or_else(truncated)?;
            let value = sized(&mut rest).ok_or_else(truncated)?;
            match key {
                b"avro.schema" => schema_json = Some(value),
                b"avro.codec" => compressed = value != b"null",
                _ => {}
            }
        }
    }
    let schema_json = schema_json.ok_or_else(|| "the container's header has no avro.schema".to_string())?;
    let (sync, mut rest) = rest.split_at_checked(SYNC_LEN).ok_or_else(truncated)?;
    let mut block = || {
        let count = long(&mut rest)?;
        let size = usize::try_from(long(&mut rest)?).ok()?;
        let (records, after) = rest.split_at_checked(size)?;
        (after == sync).then_some(Block { count, records })
    };
    Ok(Container {
        schema_json,
        block: if compressed { None } else { block() },
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
        let container = read(&bytes).unwrap();
        let block = container.block.expect("one plain block");
        assert_eq!(
            apache_avro::Schema::parse_str(std::str::from_utf8(container.schema_json).unwrap()).unwrap(),
            schema
        );
        assert_eq!(block.count, 1);
        assert_eq!(block.records, [0]);
    }

    #[test]
    fn anything_else_is_left_to_the_general_reader() {
        let deflated = container(apache_avro::Codec::Deflate(Default::default()), 1).0;
        assert_eq!(read(&deflated).unwrap().block, None);
        let (mut bytes, _) = container(apache_avro::Codec::Null, 1);
        assert_eq!(read(&bytes[..bytes.len() - 1]).unwrap().block, None);
        bytes.push(0);
        assert_eq!(read(&bytes).unwrap().block, None);
        let several = container(apache_avro::Codec::Null, 3).0;
        assert_eq!(read(&several).unwrap().block.map(|block| block.count), Some(3));
    }

    #[test]
    fn a_header_that_is_not_a_container_s_is_an_error_before_any_reader_sees_it() {
        assert!(read(b"Obj").unwrap_err().contains("does not start with Obj"));
        assert!(read(b"not a container").is_err());
        // A metadata map claiming 2^40 entries with a few bytes behind it.
        let mut claim = b"Obj\x01".to_vec();
        claim.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0, 0]);
        assert!(read(&claim).unwrap_err().contains("ends early"));
        let (bytes, _) = container(apache_avro::Codec::Null, 1);
        assert!(read(&bytes[..20]).unwrap_err().contains("ends early"));
    }
}
