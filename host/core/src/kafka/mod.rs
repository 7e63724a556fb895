//! Everything that talks to Kafka: client settings, the consumer group with its
//! rebalance handling, pausing a partition, the shared producer, topic
//! administration and the schema registry of Confluent-framed topics.

pub mod admin;
pub mod client_config;
pub mod consumer;
pub mod partition_pause;
pub mod producer;
pub mod schema_registry;
pub mod topic_reader;
