//! The flag of a subcommand that writes or reads topics outside the host
//! (`gateway`, `simulate`, `tail`) saying how their messages are encoded:
//! the `[topics."NAME".format]` sections of a fleethost config file, so
//! that they write and read a topic in Avro or Protobuf exactly as the host
//! reads it, from the host's own file.

use std::path::{Path, PathBuf};

use fleethost_core::config::{Config, PayloadFormat};

use crate::kafka_args::KafkaArgs;

/// Where the topics' formats come from.
#[derive(Debug, Clone, clap::Args)]
pub struct FormatArgs {
    /// A fleethost config file (the host's own, say) whose
    /// `[topics."NAME".format]` sections say how each topic's messages are
    /// encoded: JSON, Avro or Protobuf, their framing and schemas (relative
    /// to that file). Only those sections are read. Default: the
    /// --kafka-config file, when given. A topic without a format is JSON.
    #[arg(long, value_name = "FILE")]
    pub format_config: Option<PathBuf>,
}

impl FormatArgs {
    /// The file the formats are read from: --format-config, else
    /// --kafka-config (one file for both, as the host has), else none.
    fn file<'a>(&'a self, kafka: &'a KafkaArgs) -> Option<&'a Path> {
        self.format_config.as_deref().or(kafka.kafka_config.as_deref())
    }

    /// The format of `topic` (its schemas compiled and checked now, so a
    /// mistake stops the command before it connects), JSON without a
    /// config file or when the file gives the topic none.
    pub fn format(&self, kafka: &KafkaArgs, topic: &str) -> anyhow::Result<PayloadFormat> {
        match self.file(kafka) {
            Some(path) => Ok(Config::load_topic_format(path, topic)?),
            None => Ok(PayloadFormat::json()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_core::config::Encoding;

    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        kafka: KafkaArgs,
        #[command(flatten)]
        format: FormatArgs,
    }

    fn parse(args: &[&str]) -> Flags {
        clap::Parser::try_parse_from(std::iter::once("test").chain(args.iter().copied())).expect("flags")
    }

    /// A config file naming the formats of two topics, beside the project's
    /// schemas (a config's schema paths are relative to it).
    fn config_file() -> PathBuf {
        let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        let path = std::env::temp_dir().join(format!("fleethost-cli-{}-formats.toml", std::process::id()));
        let text = format!(
            "[kafka]\nbootstrap_servers = \"127.0.0.1:9092\"\n\n\
             [topics.\"rider-updates\".format]\nencoding = \"avro\"\nschema = {:?}\nschema_id = 1\n\n\
             [topics.\"order-events\".format]\nencoding = \"protobuf\"\nschema = {:?}\n\
             message = \"fleethost.v1.OrderEvent\"\nschema_id = 2\n",
            schemas.join("location.avsc"),
            schemas.join("fleethost.proto"),
        );
        std::fs::write(&path, text).expect("write the config");
        path
    }

    #[test]
    fn formats_come_from_the_format_config_or_else_the_kafka_config() {
        let file = config_file();
        let file = file.to_str().expect("a UTF-8 path");
        for flags in [parse(&["--format-config", file]), parse(&["--kafka-config", file])] {
            let encoding = |topic| flags.format.format(&flags.kafka, topic).expect("a format").encoding();
            assert_eq!(encoding("rider-updates"), Encoding::Avro);
            assert_eq!(encoding("order-events"), Encoding::Protobuf);
            assert_eq!(encoding("eta-updates"), Encoding::Json);
        }
        let flags = parse(&[]);
        assert_eq!(
            flags
                .format
                .format(&flags.kafka, "rider-updates")
                .expect("JSON")
                .encoding(),
            Encoding::Json
        );
    }

    #[test]
    fn a_missing_config_file_is_an_error_naming_it() {
        let flags = parse(&["--format-config", "/nonexistent/fleethost.toml"]);
        let error = flags
            .format
            .format(&flags.kafka, "rider-updates")
            .expect_err("no such file");
        assert!(error.to_string().contains("/nonexistent/fleethost.toml"), "{error}");
    }
}
