//! How fleethost proves who it is to Kafka and keeps the traffic private:
//! TLS to the brokers and SASL authentication, as config sections, so that
//! a password never sits in `kafka.properties` (librdkafka's own keys for
//! them are set in `kafka/client_config.rs`, from these).

use std::collections::BTreeMap;
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
pub const SECRET_PROPERTIES: [&str; 6] = [
    "sasl.password",
    "ssl.key.password",
    "ssl.key.pem",
    "ssl.keystore.password",
    "ssl.truststore.password",
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

/// Checks `[kafka.tls]`, `[kafka.sasl]` and every librdkafka property map
/// (`(key, map)` pairs, each key as the config names it): no secret inline,
/// no security property set twice, no password in clear text, every file
/// readable. The error is the offending key and what is wrong.
pub(super) fn validate<'a>(
    tls: Option<&KafkaTls>,
    sasl: Option<&KafkaSasl>,
    property_maps: impl IntoIterator<Item = (String, &'a BTreeMap<String, String>)>,
) -> Result<(), (String, String)> {
    for (key, properties) in property_maps {
        if let Some(secret) = properties
            .keys()
            .find(|name| SECRET_PROPERTIES.contains(&name.as_str()))
        {
            return Err((
                format!("{key}.\"{secret}\""),
                "holds a secret, which does not belong in a config file: give SASL's password as kafka.sasl.password = \"env:NAME\" or \"file:PATH\"".into(),
            ));
        }
        if (tls.is_some() || sasl.is_some())
            && let Some(owned) = properties
                .keys()
                .find(|name| SECURITY_PROPERTIES.contains(&name.as_str()))
        {
            return Err((
                format!("{key}.\"{owned}\""),
                "is set by fleethost from [kafka.tls] and [kafka.sasl]: set it there, not here".into(),
            ));
        }
    }
    if let Some(tls) = tls {
        if tls.cert_file.is_some() != tls.key_file.is_some() {
            return Err((
                "kafka.tls".into(),
                "cert_file and key_file go together (a client certificate for mutual TLS)".into(),
            ));
        }
        for (field, file) in [
            ("ca_file", &tls.ca_file),
            ("cert_file", &tls.cert_file),
            ("key_file", &tls.key_file),
        ] {
            if let Some(file) = file
                && let Err(error) = std::fs::File::open(file)
            {
                return Err((
                    format!("kafka.tls.{field}"),
                    format!("cannot read {}: {error}", file.display()),
                ));
            }
        }
    }
    if let Some(sasl) = sasl {
        if sasl.mechanism == SaslMechanism::Plain && tls.is_none() {
            return Err((
                "kafka.sasl.mechanism".into(),
                "PLAIN sends the password as it is: use it only with [kafka.tls], or choose SCRAM-SHA-256 or SCRAM-SHA-512".into(),
            ));
        }
        if sasl.username.trim().is_empty() {
            return Err(("kafka.sasl.username".into(), "must not be empty".into()));
        }
        if let Err(error) = sasl.password.read() {
            return Err(("kafka.sasl.password".into(), error.to_string()));
        }
    }
    Ok(())
}
