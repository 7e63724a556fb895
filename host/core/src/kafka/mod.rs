//! Everything that talks to Kafka: client settings, the consumer group with its
//! rebalance handling, the shared producer and topic administration.

pub mod admin;
pub mod client_config;
pub mod consumer;
pub mod producer;
