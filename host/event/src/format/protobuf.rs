//! Protobuf messages to and from the field map the event decoders
//! validate, against descriptors compiled at run time from `.proto` text
//! (a file named in the config, or a schema a registry returns).
//!
//! Fields keep their `.proto` names. A field with explicit presence
//! (`optional`, a message, a oneof member) is in the map only when set; a
//! proto3 scalar without it is always there, with its default when unset
//! (a latitude of 0 is the equator, not a missing latitude), except an
//! empty string, which proto3 cannot tell from an unset one. A
//! `google.protobuf.Timestamp` becomes epoch milliseconds.

use std::path::Path;

use prost_reflect::prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FileDescriptor, Kind, MessageDescriptor, ReflectMessage, Value as ProtoValue,
};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use serde_json::{Map, Number, Value};

use super::FormatError;

/// A compiled `.proto` file: the messages of its own, in order, and
/// everything it imports.
#[derive(Debug, Clone)]
pub(crate) struct ProtoFile {
    file: FileDescriptor,
}

impl ProtoFile {
    /// Compiles the file at `path`; its imports are looked up beside it and
    /// among Google's well-known types.
    pub(crate) fn compile_path(path: &Path) -> Result<Self, String> {
        let directory = path.parent().unwrap_or_else(|| Path::new("."));
        let name = path
            .file_name()
            .ok_or_else(|| "not a file name".to_string())?
            .to_string_lossy()
            .into_owned();
        let mut compiler = protox::Compiler::new([directory]).map_err(|error| error.to_string())?;
        compiler.open_file(&name).map_err(|error| error.to_string())?;
        Self::from_pool(compiler.descriptor_pool(), &name)
    }

    /// Compiles `.proto` text (as a registry returns it); it may import
    /// Google's well-known types only.
    pub(crate) fn compile_source(name: &str, source: &str) -> Result<Self, String> {
        let mut resolver = ChainFileResolver::new();
        resolver.add(SourceResolver {
            name: name.to_owned(),
            source: source.to_owned(),
        });
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.open_file(name).map_err(|error| error.to_string())?;
        Self::from_pool(compiler.descriptor_pool(), name)
    }

    fn from_pool(pool: DescriptorPool, name: &str) -> Result<Self, String> {
        let file = pool
            .get_file_by_name(name)
            .ok_or_else(|| format!("{name} is not in its own descriptor pool"))?;
        Ok(Self { file })
    }

    /// The message named `full_name` (`package.Message`).
    pub(crate) fn message(&self, full_name: &str) -> Result<MessageDescriptor, String> {
        self.file.parent_pool().get_message_by_name(full_name).ok_or_else(|| {
            let known: Vec<_> = self
                .file
                .parent_pool()
                .all_messages()
                .map(|message| message.full_name().to_owned())
                .collect();
            format!("no message `{full_name}`; the file has {}", known.join(", "))
        })
    }

    /// The message at a Confluent message-index path: the index among the
    /// file's top-level messages, then among each one's nested messages.
    pub(crate) fn message_at(&self, path: &[usize]) -> Result<MessageDescriptor, FormatError> {
        let out_of_range = || FormatError::Framing(format!("message indexes {path:?} name no message of the schema"));
        let (first, nested) = path.split_first().ok_or_else(out_of_range)?;
        let mut message = self.file.messages().nth(*first).ok_or_else(out_of_range)?;
        for index in nested {
            let child = message.child_messages().nth(*index);
            message = child.ok_or_else(out_of_range)?;
        }
        Ok(message)
    }
}

/// The Confluent message-index path of `message` within its file.
pub(crate) fn index_path(message: &MessageDescriptor) -> Vec<usize> {
    let mut path = Vec::new();
    let mut current = message.clone();
    loop {
        let siblings: Vec<MessageDescriptor> = match current.parent_message() {
            Some(parent) => parent.child_messages().collect(),
            None => current.parent_file().messages().collect(),
        };
        path.push(siblings.iter().position(|sibling| sibling == &current).unwrap_or(0));
        match current.parent_message() {
            Some(parent) => current = parent,
            None => break,
        }
    }
    path.reverse();
    path
}

/// Decodes one `message` from `bytes` into its field map.
pub(crate) fn decode(message: &MessageDescriptor, bytes: &[u8]) -> Result<Map<String, Value>, FormatError> {
    let decoded = DynamicMessage::decode(message.clone(), bytes).map_err(|error| FormatError::Undecodable {
        encoding: "protobuf",
        message: format!("not a {}: {error}", message.full_name()),
    })?;
    Ok(message_fields(&decoded))
}

/// `fields` as one `message`, by the `.proto` field names (or their JSON
/// names); a key the message does not have is ignored.
pub(crate) fn encode(message: &MessageDescriptor, fields: &Map<String, Value>) -> Result<Vec<u8>, FormatError> {
    let options = prost_reflect::DeserializeOptions::new().deny_unknown_fields(false);
    let dynamic = DynamicMessage::deserialize_with_options(message.clone(), Value::Object(fields.clone()), &options)
        .map_err(|error| FormatError::Unencodable(format!("as {}: {error}", message.full_name())))?;
    Ok(dynamic.encode_to_vec())
}

fn message_fields(message: &DynamicMessage) -> Map<String, Value> {
    let mut fields = Map::new();
    for field in message.descriptor().fields() {
        if field.supports_presence() && !message.has_field(&field) {
            continue;
        }
        let value = message.get_field(&field);
        if matches!(value.as_ref(), ProtoValue::String(text) if text.is_empty()) {
            continue;
        }
        if let Some(json) = json(&value, &field.kind()) {
            fields.insert(field.name().to_owned(), json);
        }
    }
    fields
}

/// A value as JSON; `None` for bytes, which nothing an event reads carries.
fn json(value: &ProtoValue, kind: &Kind) -> Option<Value> {
    let float = |number: f64| Number::from_f64(number).map(Value::Number);
    match value {
        ProtoValue::Bool(flag) => Some(Value::Bool(*flag)),
        ProtoValue::I32(number) => Some((*number).into()),
        ProtoValue::I64(number) => Some((*number).into()),
        ProtoValue::U32(number) => Some((*number).into()),
        ProtoValue::U64(number) => Some((*number).into()),
        ProtoValue::F32(number) => float(f64::from(*number)),
        ProtoValue::F64(number) => float(*number),
        ProtoValue::String(text) => Some(Value::String(text.clone())),
        ProtoValue::Bytes(_) => None,
        ProtoValue::EnumNumber(number) => Some(match kind {
            Kind::Enum(descriptor) => descriptor
                .get_value(*number)
                .map_or_else(|| Value::from(*number), |value| Value::String(value.name().to_owned())),
            _ => Value::from(*number),
        }),
        ProtoValue::Message(inner) if inner.descriptor().full_name() == "google.protobuf.Timestamp" => {
            let seconds = inner
                .get_field_by_name("seconds")
                .and_then(|value| value.as_i64())
                .unwrap_or(0);
            let nanos = inner
                .get_field_by_name("nanos")
                .and_then(|value| value.as_i32())
                .unwrap_or(0);
            Some(Value::from(
                seconds
                    .saturating_mul(1000)
                    .saturating_add(i64::from(nanos) / 1_000_000),
            ))
        }
        ProtoValue::Message(inner) => Some(Value::Object(message_fields(inner))),
        ProtoValue::List(items) => Some(Value::Array(items.iter().filter_map(|item| json(item, kind)).collect())),
        ProtoValue::Map(entries) => {
            let value_kind = match kind {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other.clone(),
            };
            Some(Value::Object(
                entries
                    .iter()
                    .filter_map(|(key, value)| json(value, &value_kind).map(|value| (map_key(key), value)))
                    .collect(),
            ))
        }
    }
}

fn map_key(key: &prost_reflect::MapKey) -> String {
    use prost_reflect::MapKey;
    match key {
        MapKey::Bool(flag) => flag.to_string(),
        MapKey::I32(number) => number.to_string(),
        MapKey::I64(number) => number.to_string(),
        MapKey::U32(number) => number.to_string(),
        MapKey::U64(number) => number.to_string(),
        MapKey::String(text) => text.clone(),
    }
}

/// One `.proto` file held in memory, under its name.
struct SourceResolver {
    name: String,
    source: String,
}

impl FileResolver for SourceResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == self.name {
            File::from_source(name, &self.source)
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}
