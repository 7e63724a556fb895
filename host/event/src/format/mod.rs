//! The encodings a topic's messages may come in (JSON, Avro, Protobuf) and
//! their framing (Confluent's wire format, bare, an Avro container), read
//! into the one field map the location and order decoders validate, and
//! written from it by the gateway and the simulator. A message is decoded
//! once, here, whatever its format; the plugins get the same event either
//! way.

mod avro;
mod avro_container;
mod config;
mod confluent;
mod protobuf;
mod writer_schemas;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use prost_reflect::MessageDescriptor;
use serde_json::{Map, Value};

pub use crate::format_error::FormatError;
pub use config::{Encoding, FormatConfig, Framing};
pub use writer_schemas::RETRY_UNKNOWN_AFTER;

use crate::EventsConfig;
use crate::location::{DecodeError, Location, json_object};
use crate::order::Order;
use avro_container::ContainerSchemas;
use protobuf::ProtoFile;
use writer_schemas::WriterSchemas;

/// A schema a payload was written with (or is read with).
#[derive(Debug)]
enum Schema {
    Avro(apache_avro::Schema),
    Protobuf(ProtoFile),
}

/// A topic's format, with its schemas compiled: what turns the topic's
/// payloads into field maps and back. Shared by every worker reading the
/// topic; writer schemas learnt from a registry are added in place.
#[derive(Debug)]
pub struct PayloadFormat {
    encoding: Encoding,
    framing: Framing,
    /// `schema`: the reader schema (and for bare framing the writer's).
    own: Option<Arc<Schema>>,
    /// Protobuf: `message` of `own`.
    own_message: Option<MessageDescriptor>,
    own_id: Option<u32>,
    /// Confluent framing: writer schemas by id, configured and learnt.
    writers: WriterSchemas,
    /// Avro containers: their writer schemas, parsed once per text.
    container_writers: ContainerSchemas,
    registry_url: Option<String>,
}

impl PayloadFormat {
    /// JSON, the format of a topic without `format`.
    pub fn json() -> Self {
        Self {
            encoding: Encoding::Json,
            framing: Framing::Bare,
            own: None,
            own_message: None,
            own_id: None,
            writers: WriterSchemas::default(),
            container_writers: ContainerSchemas::default(),
            registry_url: None,
        }
    }

    /// Compiles `config`, reading schema files relative to `base`. An error
    /// is (key under `format`, message), e.g. `("schema", "...")`.
    pub fn load(config: &FormatConfig, base: &Path) -> Result<Self, (String, String)> {
        fn problem<T>(key: &str, message: String) -> Result<T, (String, String)> {
            Err((key.to_owned(), message))
        }
        let encoding = config.encoding;
        let framing = match (encoding, config.framing) {
            (Encoding::Json, None | Some(Framing::Bare)) => Framing::Bare,
            (Encoding::Json, Some(other)) => {
                return problem(
                    "framing",
                    format!("`{}` is for avro or protobuf; json is bare", other.as_str()),
                );
            }
            (Encoding::Protobuf, Some(Framing::Container)) => {
                return problem(
                    "framing",
                    "`container` is Avro's object container file; protobuf takes confluent or bare".into(),
                );
            }
            (_, framing) => framing.unwrap_or(Framing::Confluent),
        };
        if encoding == Encoding::Json {
            let set = [
                ("schema", config.schema.is_some()),
                ("message", config.message.is_some()),
                ("schema_id", config.schema_id.is_some()),
                ("writer_schemas", !config.writer_schemas.is_empty()),
                ("registry_url", config.registry_url.is_some()),
            ];
            if let Some((key, _)) = set.iter().find(|(_, set)| *set) {
                return problem(key, "json has no schema; set it for avro or protobuf only".into());
            }
            return Ok(Self::json());
        }
        if framing != Framing::Confluent {
            let set = [
                ("schema_id", config.schema_id.is_some()),
                ("writer_schemas", !config.writer_schemas.is_empty()),
                ("registry_url", config.registry_url.is_some()),
            ];
            if let Some((key, _)) = set.iter().find(|(_, set)| *set) {
                return problem(
                    key,
                    format!("is for confluent framing; this topic's is `{}`", framing.as_str()),
                );
            }
        }
        let needs_schema = encoding == Encoding::Protobuf || framing == Framing::Bare;
        let own = match &config.schema {
            Some(path) => Some(Arc::new(
                read_schema(encoding, &base.join(path)).or_else(|message| problem("schema", message))?,
            )),
            None if needs_schema => {
                return problem(
                    "schema",
                    format!(
                        "is required for {} with {} framing",
                        encoding.as_str(),
                        framing.as_str()
                    ),
                );
            }
            None => None,
        };
        let own_message = match (encoding, own.as_deref(), &config.message) {
            (Encoding::Protobuf, Some(Schema::Protobuf(file)), Some(name)) => {
                Some(file.message(name).or_else(|message| problem("message", message))?)
            }
            (Encoding::Protobuf, _, None) => {
                return problem(
                    "message",
                    "is required for protobuf: the full name of the message type".into(),
                );
            }
            (_, _, Some(_)) if encoding != Encoding::Protobuf => {
                return problem("message", "is for protobuf only".into());
            }
            _ => None,
        };
        let mut writers = HashMap::new();
        for (id, path) in &config.writer_schemas {
            let key = format!("writer_schemas.\"{id}\"");
            let id: u32 = id
                .parse()
                .or_else(|_| problem(&key, format!("{id:?} is not a schema id (a whole number)")))?;
            let schema = read_schema(encoding, &base.join(path)).or_else(|message| problem(&key, message))?;
            writers.insert(id, shared_with(own.as_ref(), schema));
        }
        if let Some(url) = &config.registry_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return problem("registry_url", format!("{url:?} is not an http:// or https:// URL"));
        }
        Ok(Self {
            encoding,
            framing,
            own,
            own_message,
            own_id: config.schema_id,
            writers: WriterSchemas::configured(writers),
            container_writers: ContainerSchemas::default(),
            registry_url: config
                .registry_url
                .as_ref()
                .map(|url| url.trim_end_matches('/').to_owned()),
        })
    }

    /// The encoding of the topic's messages.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The framing of the topic's messages.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The registry asked for unknown writer schemas, if any.
    pub fn registry_url(&self) -> Option<&str> {
        self.registry_url.as_deref()
    }

    /// The schema id of a Confluent-framed `payload` that this format does
    /// not know yet, and has not failed to learn in the last
    /// [`RETRY_UNKNOWN_AFTER`]: what the host asks the registry for before
    /// decoding.
    pub fn unknown_schema_id(&self, payload: Option<&[u8]>) -> Option<u32> {
        if self.framing != Framing::Confluent {
            return None;
        }
        let (id, _) = confluent::split_header(payload?).ok()?;
        (self.writer(id).is_none() && !self.writers.recently_failed(id)).then_some(id)
    }

    /// Adds the writer schema a registry returned for `id`: `schema_type`
    /// is the registry's `schemaType` (absent for Avro).
    pub fn learn_schema(&self, id: u32, schema_type: Option<&str>, text: &str) -> Result<(), String> {
        let schema = match (self.encoding, schema_type.unwrap_or("AVRO")) {
            (Encoding::Avro, "AVRO") => Schema::Avro(avro::parse(text)?),
            (Encoding::Protobuf, "PROTOBUF") => {
                Schema::Protobuf(ProtoFile::compile_source(&format!("registry-schema-{id}.proto"), text)?)
            }
            (encoding, other) => {
                return Err(format!(
                    "the registry has a {other} schema; the topic is {}",
                    encoding.as_str()
                ));
            }
        };
        self.writers.learnt(id, shared_with(self.own.as_ref(), schema));
        Ok(())
    }

    /// Keeps why the registry could not give the writer schema of `id`:
    /// the reason its messages are dead-lettered with.
    pub fn note_unknown(&self, id: u32, reason: String) {
        self.writers.not_learnt(id, reason);
    }

    /// The schema ids of Confluent-framed `payloads` that this format does
    /// not know, each once, in order of first appearance.
    pub fn unknown_schema_ids<'a>(&self, payloads: impl IntoIterator<Item = Option<&'a [u8]>>) -> Vec<u32> {
        let mut ids = Vec::new();
        for id in payloads
            .into_iter()
            .filter_map(|payload| self.unknown_schema_id(payload))
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// Decodes one payload of this format into a location fix held to
    /// `bounds`, as [`Location::decode_within`] does a JSON one.
    pub fn decode_location(
        &self,
        payload: Option<&[u8]>,
        message_timestamp_ms: Option<i64>,
        bounds: &EventsConfig,
    ) -> Result<Location, DecodeError> {
        Location::from_fields(&self.fields(payload)?, message_timestamp_ms, bounds)
    }

    /// Decodes one payload of this format into an order event held to
    /// `bounds`, as [`Order::decode_within`] does a JSON one.
    pub fn decode_order(
        &self,
        payload: Option<&[u8]>,
        message_timestamp_ms: Option<i64>,
        bounds: &EventsConfig,
    ) -> Result<Order, DecodeError> {
        Order::from_fields(&self.fields(payload)?, message_timestamp_ms, bounds)
    }

    /// The field map of one payload, for the location and order decoders.
    pub fn fields(&self, payload: Option<&[u8]>) -> Result<Map<String, Value>, DecodeError> {
        if self.encoding == Encoding::Json {
            return json_object(payload);
        }
        let payload = payload.filter(|bytes| !bytes.is_empty()).ok_or(DecodeError::Empty)?;
        self.decode(payload).map_err(DecodeError::Format)
    }

    fn decode(&self, payload: &[u8]) -> Result<Map<String, Value>, FormatError> {
        match (self.framing, self.own.as_deref()) {
            (Framing::Bare, Some(Schema::Avro(schema))) => avro::decode_datum(schema, None, payload),
            (Framing::Bare, _) => protobuf::decode(self.own_message.as_ref().expect("checked at load"), payload),
            (Framing::Container, own) => {
                let reader = own.and_then(Schema::avro);
                let not_avro = |message| FormatError::Undecodable {
                    encoding: "avro",
                    message,
                };
                let container = avro_container::read(payload).map_err(not_avro)?;
                // Parsed (and checked) once per distinct schema, before any
                // reader sees it.
                let (writer, resolve) = self.container_writers.writer(container.schema_json, reader)?;
                match container.block {
                    Some(block) if block.count == 1 => {
                        avro::decode_datum(&writer, reader.filter(|_| resolve), block.records)
                    }
                    // Compressed or several records: the general reader
                    // decodes it or says what is wrong.
                    _ => avro::decode_container(reader, payload),
                }
            }
            (Framing::Confluent, _) => {
                let (id, rest) = confluent::split_header(payload)?;
                let writer = self.writer(id).ok_or_else(|| self.unknown(id))?;
                match writer.as_ref() {
                    Schema::Avro(schema) => {
                        // A writer schema equal to the reader's is the reader's
                        // (`shared_with`), and needs no resolving to itself.
                        let reader = self
                            .own
                            .as_ref()
                            .filter(|own| !Arc::ptr_eq(own, &writer))
                            .and_then(|own| own.avro());
                        avro::decode_datum(schema, reader, rest)
                    }
                    Schema::Protobuf(file) => {
                        let (path, rest) = confluent::split_message_indexes(rest)?;
                        protobuf::decode(&file.message_at(&path)?, rest)
                    }
                }
            }
        }
    }

    /// One payload of this format holding `fields` (canonical names, as
    /// [`crate::location::Location::to_fields`] gives them).
    pub fn encode(&self, fields: &Map<String, Value>) -> Result<Vec<u8>, FormatError> {
        let id = || {
            self.own_id.ok_or_else(|| {
                FormatError::Unencodable(
                    "confluent framing needs `schema_id`, the id of `schema` in the registry".into(),
                )
            })
        };
        match (self.encoding, self.framing, self.own.as_deref()) {
            (Encoding::Json, ..) => {
                serde_json::to_vec(fields).map_err(|error| FormatError::Unencodable(error.to_string()))
            }
            (Encoding::Avro, Framing::Container, Some(Schema::Avro(schema))) => avro::encode_container(schema, fields),
            (Encoding::Avro, Framing::Bare, Some(Schema::Avro(schema))) => avro::encode_datum(schema, fields),
            (Encoding::Avro, Framing::Confluent, Some(Schema::Avro(schema))) => {
                let mut out = Vec::new();
                confluent::write_header(id()?, &mut out);
                out.extend(avro::encode_datum(schema, fields)?);
                Ok(out)
            }
            (Encoding::Protobuf, framing, _) => {
                let message = self.own_message.as_ref().expect("checked at load");
                let mut out = Vec::new();
                if framing == Framing::Confluent {
                    confluent::write_header(id()?, &mut out);
                    confluent::write_message_indexes(&protobuf::index_path(message), &mut out);
                }
                out.extend(protobuf::encode(message, fields)?);
                Ok(out)
            }
            (Encoding::Avro, ..) => Err(FormatError::Unencodable(
                "writing Avro needs `schema`, the schema to write with".into(),
            )),
        }
    }

    fn writer(&self, id: u32) -> Option<Arc<Schema>> {
        if Some(id) == self.own_id {
            return self.own.clone();
        }
        self.writers.get(id)
    }

    fn unknown(&self, id: u32) -> FormatError {
        let reason = match (self.writers.failure(id), &self.registry_url) {
            (Some(reason), _) => format!("not `schema_id`, not in `writer_schemas`, and {reason}"),
            (None, Some(url)) => {
                format!("not `schema_id`, not in `writer_schemas`, and not learnt from the registry {url}")
            }
            (None, None) => "not `schema_id`, not in `writer_schemas`, and no `registry_url` is set".into(),
        };
        FormatError::UnknownSchema { id, reason }
    }
}

impl Schema {
    fn avro(&self) -> Option<&apache_avro::Schema> {
        match self {
            Schema::Avro(schema) => Some(schema),
            Schema::Protobuf(_) => None,
        }
    }
}

/// `schema` as a writer schema: the reader's own when the two are equal,
/// so that decoding tells "no resolving needed" by pointer, once per
/// schema rather than by comparing schema trees per message.
fn shared_with(own: Option<&Arc<Schema>>, schema: Schema) -> Arc<Schema> {
    match (own, &schema) {
        (Some(own), Schema::Avro(writer)) if own.avro() == Some(writer) => own.clone(),
        _ => Arc::new(schema),
    }
}

/// Reads and compiles a schema file of `encoding`.
fn read_schema(encoding: Encoding, path: &Path) -> Result<Schema, String> {
    let in_file = |message: String| format!("{}: {message}", path.display());
    match encoding {
        Encoding::Avro => {
            let text = std::fs::read_to_string(path).map_err(|error| in_file(error.to_string()))?;
            avro::parse(&text).map(Schema::Avro).map_err(in_file)
        }
        Encoding::Protobuf => {
            if !path.is_file() {
                return Err(in_file("no such file".into()));
            }
            ProtoFile::compile_path(path).map(Schema::Protobuf).map_err(in_file)
        }
        Encoding::Json => Err("json has no schema".into()),
    }
}

#[cfg(test)]
mod tests;
