//! Topic administration: the host makes sure the dead-letter topics it writes
//! to exist, instead of relying on a broker's auto-creation.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use crate::config::KafkaConfig;

/// Creates each topic that does not exist yet, with `partitions` partitions and
/// the broker's default replication. Existing topics are left as they are.
pub async fn ensure_topics(kafka: &KafkaConfig, topics: &[String], partitions: i32) -> Result<(), KafkaError> {
    if topics.is_empty() {
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> = super::client_config::admin(kafka)?.create()?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|topic| NewTopic::new(topic, partitions, TopicReplication::Fixed(-1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaError::AdminOp(code)).inspect_err(|_| tracing::error!(%topic, "cannot create topic"));
            }
        }
    }
    Ok(())
}
