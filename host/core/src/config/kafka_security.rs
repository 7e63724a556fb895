//! How fleethost proves who it is to Kafka and keeps the traffic private:
//! TLS to the brokers and SASL authentication, as config sections, so that
//! a password never sits in `kafka.properties` (librdkafka's own keys for
//! them are set in `kafka/client_config.rs`, from these).

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::SecretSource;

/// TLS to the brokers (librdkafka's `SSL` or `SASL_SSL` security protocol).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaTls {
    /// PEM file of the CA certificates the brokers' certificates are checked
    /// against. Absent: the system's trust store. The brokers' host names
    /// are checked against their certificates either way.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM file of this client's certificate, for brokers that require
    /// mutual TLS; with `key_file`.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM file of this client's private key (unencrypted; readable by
    /// fleethost's user only); with `cert_file`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

/// The SASL mechanisms fleethost offers to the brokers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum SaslMechanism {
    /// The password itself goes to the broker: only over TLS.
    #[serde(rename = "PLAIN")]
    Plain,
    /// Salted challenge-response; the password never crosses the network.
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    /// As SCRAM-SHA-256, with SHA-512.
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    /// The mechanism's name in the Kafka protocol and librdkafka.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// SASL authentication to the brokers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaSasl {
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`. `PLAIN` is refused
    /// without `[kafka.tls]`: it would send the password in clear text.
    pub mechanism: SaslMechanism,
    /// The user fleethost authenticates as.
    pub username: String,
    /// Where the password is read from at startup, `file:PATH` or
    /// `env:NAME` (never the password itself).
    pub password: SecretSource,
}

/// librdkafka properties that hold secrets: refused in `kafka.properties`
/// and its siblings, where they would sit in clear text in the config
/// file, so that every secret comes from a file or the environment.
pub const SECRET_PROPERTIES: [&str; 5] = [
    "sasl.password",
    "ssl.key.password",
    "ssl.key.pem",
    "ssl.keystore.password",
    "sasl.oauthbearer.client.secret",
];

/// librdkafka properties fleethost sets from `[kafka.tls]` and
/// `[kafka.sasl]` when either is present; setting them in the properties
/// as well would leave two answers to one question.
pub const SECURITY_PROPERTIES: [&str; 8] = [
    "security.protocol",
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.key.location",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.username",
    "ssl.endpoint.identification.algorithm",
];
