//! The payload format of each topic a pipeline reads (`[topics."NAME".format]`),
//! compiled once and shared by its partition workers, by `replay` and by
//! `dlq redrive`; writer schemas a Confluent-framed topic's messages name
//! are learnt from its registry before their batch is decoded.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::config::{Config, ConfigError, PayloadFormat, PipelineConfig};
use crate::kafka::schema_registry;

/// The formats of a pipeline's topics; JSON for a topic without one.
#[derive(Debug, Default)]
pub struct TopicFormats {
    by_topic: HashMap<String, Arc<PayloadFormat>>,
}

impl TopicFormats {
    /// Compiles the formats of `pipeline`'s topics (locations and orders).
    pub fn load(config: &Config, pipeline: &PipelineConfig) -> Result<Self, ConfigError> {
        let mut by_topic = HashMap::new();
        for topic in pipeline.topics.iter().chain(&pipeline.order_topics) {
            by_topic.insert(topic.clone(), Arc::new(config.payload_format(topic)?));
        }
        Ok(Self { by_topic })
    }

    /// Only `topic`, in `format`.
    pub fn single(topic: &str, format: Arc<PayloadFormat>) -> Self {
        Self {
            by_topic: HashMap::from([(topic.to_owned(), format)]),
        }
    }

    /// The format of `topic`.
    pub fn of(&self, topic: &str) -> &PayloadFormat {
        static JSON: OnceLock<PayloadFormat> = OnceLock::new();
        self.by_topic
            .get(topic)
            .map_or_else(|| JSON.get_or_init(PayloadFormat::json), Arc::as_ref)
    }

    /// Learns, from `topic`'s registry, the writer schemas that `payloads`
    /// name and its format does not know yet, so that decoding them finds
    /// their schema.
    pub async fn learn_unknown<'a>(&self, topic: &str, payloads: impl IntoIterator<Item = Option<&'a [u8]>>) {
        let format = self.of(topic);
        if format.registry_url().is_none() {
            return;
        }
        let ids = format.unknown_schema_ids(payloads);
        if !ids.is_empty() {
            schema_registry::learn(format, ids).await;
        }
    }
}
