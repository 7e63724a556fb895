//! Avro records to and from the field map the event decoders validate.
//! A record's fields keep their names; a null (an optional field not set)
//! is left out, as an absent JSON key is; timestamps with a logical type
//! become epoch milliseconds whatever their unit.

use apache_avro::Schema;
use apache_avro::types::Value as AvroValue;
use serde_json::{Map, Number, Value};

use super::FormatError;

/// Longest string or byte array, and most entries of an array or map, that
/// a payload may announce: a broker's default largest message (1 MiB), so a
/// bad length prefix fails at once instead of allocating gigabytes (an
/// entry count is reserved as values of dozens of bytes each).
/// Process-wide, set on first use.
const MAX_ALLOCATION_BYTES: usize = 1024 * 1024;

/// Parses an Avro schema (`.avsc` text); the top level must be a record.
/// The text may come from a message (an object container's header), and
/// apache-avro 0.21 panics on an invalid type name (`Name::parse`
/// unwraps; 0.22 returns an error): names are checked first, and a panic
/// of the parser is an error here all the same, not the worker's end.
pub(crate) fn parse(text: &str) -> Result<Schema, String> {
    let json: Value = serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))?;
    check_names(&json)?;
    let schema = std::panic::catch_unwind(|| Schema::parse(&json))
        .map_err(|_| "the schema broke the schema parser (an invalid name?)".to_string())?
        .map_err(|error| error.to_string())?;
    match schema {
        Schema::Record(_) => Ok(schema),
        other => Err(format!(
            "the top level is {:?}, not a record",
            apache_avro::schema::SchemaKind::from(&other)
        )),
    }
}

/// Every `name` of a named type or field is a full name of the Avro
/// specification: identifiers (`[A-Za-z_][A-Za-z0-9_]*`) joined by dots.
fn check_names(json: &Value) -> Result<(), String> {
    let identifier = |part: &str| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
            && chars.all(|rest| rest.is_ascii_alphanumeric() || rest == '_')
    };
    match json {
        Value::Object(object) => {
            for key in ["name", "namespace"] {
                if let Some(Value::String(name)) = object.get(key)
                    && !(key == "namespace" && name.is_empty())
                    && !name.split('.').all(identifier)
                {
                    return Err(format!(
                        "{key} {name:?} is not an Avro name (identifiers joined by dots)"
                    ));
                }
            }
            object.values().try_for_each(check_names)
        }
        Value::Array(items) => items.iter().try_for_each(check_names),
        _ => Ok(()),
    }
}

/// One datum written with `writer`, resolved to `reader` when given.
pub(crate) fn decode_datum(
    writer: &Schema,
    reader: Option<&Schema>,
    mut bytes: &[u8],
) -> Result<Map<String, Value>, FormatError> {
    apache_avro::util::max_allocation_bytes(MAX_ALLOCATION_BYTES);
    let value = apache_avro::from_avro_datum(writer, &mut bytes, reader).map_err(not_avro)?;
    if !bytes.is_empty() {
        return Err(FormatError::Undecodable {
            encoding: "avro",
            message: format!(
                "{} bytes left after the record: written with another schema?",
                bytes.len()
            ),
        });
    }
    record_fields(value)
}

/// The one record of an object container file, resolved to `reader` when
/// given. apache-avro's reader parses the file's embedded schema, on which
/// its parser may panic (see [`parse`]): a panic is an error here.
pub(crate) fn decode_container(reader: Option<&Schema>, bytes: &[u8]) -> Result<Map<String, Value>, FormatError> {
    apache_avro::util::max_allocation_bytes(MAX_ALLOCATION_BYTES);
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let records = match reader {
            Some(schema) => apache_avro::Reader::with_schema(schema, bytes),
            None => apache_avro::Reader::new(bytes),
        }?;
        records.take(2).collect::<Result<Vec<_>, _>>()
    }));
    let mut values = read
        .map_err(|_| FormatError::Undecodable {
            encoding: "avro",
            message: "the container's schema broke the schema parser (an invalid name?)".into(),
        })?
        .map_err(not_avro)?;
    if values.len() != 1 {
        return Err(FormatError::Undecodable {
            encoding: "avro",
            message: format!(
                "the container holds {} records; one fix or order event per message",
                if values.is_empty() { "no" } else { "several" }
            ),
        });
    }
    record_fields(values.remove(0))
}

/// `fields` as one datum of `schema`.
pub(crate) fn encode_datum(schema: &Schema, fields: &Map<String, Value>) -> Result<Vec<u8>, FormatError> {
    apache_avro::to_avro_datum(schema, record_value(schema, fields)?).map_err(not_encodable)
}

/// `fields` as an object container file holding one record.
pub(crate) fn encode_container(schema: &Schema, fields: &Map<String, Value>) -> Result<Vec<u8>, FormatError> {
    let mut writer = apache_avro::Writer::new(schema, Vec::new());
    writer.append(record_value(schema, fields)?).map_err(not_encodable)?;
    writer.into_inner().map_err(not_encodable)
}

/// `fields` resolved to `schema`: a field it does not name is dropped, one
/// it lacks takes the schema's default.
fn record_value(schema: &Schema, fields: &Map<String, Value>) -> Result<AvroValue, FormatError> {
    AvroValue::from(Value::Object(fields.clone()))
        .resolve(schema)
        .map_err(not_encodable)
}

fn record_fields(value: AvroValue) -> Result<Map<String, Value>, FormatError> {
    match value {
        AvroValue::Record(fields) => Ok(fields
            .into_iter()
            .filter_map(|(name, value)| json(value).map(|value| (name, value)))
            .collect()),
        other => Err(FormatError::Undecodable {
            encoding: "avro",
            message: format!("expected a record, got {other:?}"),
        }),
    }
}

/// A value as JSON; `None` for a null, which stands for an absent field.
fn json(value: AvroValue) -> Option<Value> {
    let float = |number: f64| Number::from_f64(number).map(Value::Number);
    match value {
        AvroValue::Null => None,
        AvroValue::Boolean(flag) => Some(Value::Bool(flag)),
        AvroValue::Int(number) | AvroValue::Date(number) | AvroValue::TimeMillis(number) => Some(number.into()),
        AvroValue::Long(number) | AvroValue::TimestampMillis(number) | AvroValue::LocalTimestampMillis(number) => {
            Some(number.into())
        }
        AvroValue::TimestampMicros(micros) | AvroValue::LocalTimestampMicros(micros) => {
            Some(micros.div_euclid(1_000).into())
        }
        AvroValue::TimestampNanos(nanos) | AvroValue::LocalTimestampNanos(nanos) => {
            Some(nanos.div_euclid(1_000_000).into())
        }
        AvroValue::TimeMicros(micros) => Some(micros.into()),
        AvroValue::Float(number) => float(f64::from(number)),
        AvroValue::Double(number) => float(number),
        AvroValue::String(text) | AvroValue::Enum(_, text) => Some(Value::String(text)),
        AvroValue::Uuid(uuid) => Some(Value::String(uuid.to_string())),
        AvroValue::Union(_, inner) => json(*inner),
        AvroValue::Array(items) => Some(Value::Array(items.into_iter().filter_map(json).collect())),
        AvroValue::Map(entries) => Some(Value::Object(
            entries
                .into_iter()
                .filter_map(|(key, value)| json(value).map(|value| (key, value)))
                .collect(),
        )),
        AvroValue::Record(fields) => Some(Value::Object(
            fields
                .into_iter()
                .filter_map(|(name, value)| json(value).map(|value| (name, value)))
                .collect(),
        )),
        // Bytes, fixed, decimals and durations carry nothing an event reads;
        // kept as JSON they would only be misread as a number or text.
        AvroValue::Bytes(_)
        | AvroValue::Fixed(..)
        | AvroValue::Decimal(_)
        | AvroValue::BigDecimal(_)
        | AvroValue::Duration(_) => None,
    }
}

fn not_avro(error: apache_avro::Error) -> FormatError {
    FormatError::Undecodable {
        encoding: "avro",
        message: error.to_string(),
    }
}

fn not_encodable(error: apache_avro::Error) -> FormatError {
    FormatError::Unencodable(error.to_string())
}
