//! Why a payload could not be read (or written) in its topic's format: a
//! module of its own so that the decoders' [`crate::location::DecodeError`]
//! can carry it without the decoders depending on the formats.

/// Why a payload could not be read (or written) in its topic's format.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormatError {
    /// The framing around the value is wrong (magic byte, length, message
    /// indexes).
    #[error("bad framing: {0}")]
    Framing(String),
    /// The value does not decode with its schema.
    #[error("not {encoding}: {message}")]
    Undecodable {
        /// `avro` or `protobuf`.
        encoding: &'static str,
        /// What the decoder found.
        message: String,
    },
    /// A Confluent-framed message names a schema id this host does not know
    /// and could not learn.
    #[error("unknown schema id {id}: {reason}")]
    UnknownSchema {
        /// The id in the message.
        id: u32,
        /// Where it was looked for.
        reason: String,
    },
    /// A value could not be written in the format.
    #[error("cannot encode: {0}")]
    Unencodable(String),
}

impl FormatError {
    /// A short machine-readable name, for dead-letter headers and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            FormatError::Framing(_) => "bad-framing",
            FormatError::Undecodable { encoding: "avro", .. } => "not-avro",
            FormatError::Undecodable { .. } => "not-protobuf",
            FormatError::UnknownSchema { .. } => "unknown-schema",
            FormatError::Unencodable(_) => "unencodable",
        }
    }
}
