//! `[topics."NAME".format]`: how the messages of a topic are encoded. JSON
//! needs nothing more; Avro and Protobuf name their schema, the framing of
//! each message and where writer schemas come from (docs/events.md
//! "Formats").

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the messages of one topic are encoded and framed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormatConfig {
    /// `json` (the default for a topic without a `format`), `avro` or
    /// `protobuf`.
    pub encoding: Encoding,
    /// How each message wraps its encoded value: `confluent` (the default
    /// for Avro and Protobuf: magic byte 0, the 4-byte schema id and, for
    /// Protobuf, the message indexes, as Confluent's serializers write),
    /// `bare` (the encoded value alone) or `container` (Avro only: an Avro
    /// object container file holding one record, its writer schema in its
    /// header).
    #[serde(default)]
    pub framing: Option<Framing>,
    /// The schema this side reads (and writes) with: an Avro schema
    /// (`.avsc`) or a Protobuf file (`.proto`), relative to the config
    /// file. Required for Protobuf and for bare Avro; for Avro with another
    /// framing, it is the reader schema that writer schemas resolve to (a
    /// field added with a default, a field removed).
    #[serde(default)]
    pub schema: Option<PathBuf>,
    /// Protobuf only: the message type of `schema` each message holds, by
    /// its full name (e.g. `fleethost.v1.Location`).
    #[serde(default)]
    pub message: Option<String>,
    /// Confluent framing: the id `schema` has in the schema registry, which
    /// the gateway and the simulator write in front of each message.
    #[serde(default)]
    pub schema_id: Option<u32>,
    /// Confluent framing: writer schemas by their id, for messages written
    /// with a schema other than `schema` (older producers), as files
    /// relative to the config file: `writer_schemas = { "1" =
    /// "location-v1.avsc" }`.
    #[serde(default)]
    pub writer_schemas: BTreeMap<String, PathBuf>,
    /// Confluent framing: a Confluent-compatible schema registry
    /// (`http://host:8081`), asked for the writer schema of an id not known
    /// from `schema_id` or `writer_schemas` (`GET /schemas/ids/{id}`); the
    /// answer is kept for the life of the process.
    #[serde(default)]
    pub registry_url: Option<String>,
}

/// The encoding of a topic's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// JSON objects, with the field spellings of docs/events.md.
    Json,
    /// Apache Avro records.
    Avro,
    /// Protocol Buffers messages.
    Protobuf,
}

impl Encoding {
    /// The name used in config and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Avro => "avro",
            Self::Protobuf => "protobuf",
        }
    }
}

/// How a message wraps its encoded value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// Magic byte 0, the schema id (4 bytes, big-endian), for Protobuf the
    /// message indexes, then the value: the Confluent wire format.
    Confluent,
    /// The encoded value alone; its schema is `schema`.
    Bare,
    /// Avro only: an object container file with one record.
    Container,
}

impl Framing {
    /// The name used in config and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confluent => "confluent",
            Self::Bare => "bare",
            Self::Container => "container",
        }
    }
}
