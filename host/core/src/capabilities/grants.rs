//! Grants: what a plugin may touch. Checked on every capability call, before
//! anything reaches a backend.

use crate::bindings::kv::KvError;
use crate::config::Grants;

/// The tables a plugin may read and write through `sql`.
#[derive(Debug, Clone, Default)]
pub struct TableGrants {
    read: Vec<String>,
    write: Vec<String>,
}

impl TableGrants {
    /// The sql part of a plugin's grants. A write grant implies read access.
    pub fn new(grants: &Grants) -> Self {
        let mut read = grants.sql_read.clone();
        read.extend(grants.sql_write.iter().cloned());
        Self {
            read,
            write: grants.sql_write.clone(),
        }
    }

    /// A refusal naming the table and the grant, or `None` when `table` may be
    /// created and written.
    pub fn write_refusal(&self, table: &str) -> Option<String> {
        refusal(table, &self.write, "write", "sql_write")
    }

    /// A refusal naming the table and the grant, or `None` when `table` may be read.
    pub fn read_refusal(&self, table: &str) -> Option<String> {
        refusal(table, &self.read, "read", "sql_read")
    }
}

/// The topics a plugin may publish to through `produce`.
#[derive(Debug, Clone, Default)]
pub struct TopicGrants {
    topics: Vec<String>,
}

impl TopicGrants {
    /// The produce part of a plugin's grants.
    pub fn new(grants: &Grants) -> Self {
        Self {
            topics: grants.produce_topics.clone(),
        }
    }

    /// A refusal naming the topic and the grant, or `None` when it is granted.
    pub fn refusal(&self, topic: &str) -> Option<String> {
        refusal(topic, &self.topics, "publishing to topic", "produce_topics")
    }
}

fn refusal(name: &str, granted: &[String], access: &str, grant: &str) -> Option<String> {
    if granted.iter().any(|allowed| allowed == name) {
        None
    } else {
        Some(format!(
            "{access} {name:?} is not granted (grants.{grant} = {granted:?})"
        ))
    }
}

/// The key prefixes a plugin may read and write, and the channel prefixes
/// it may publish on, through `kv`.
#[derive(Debug, Clone, Default)]
pub struct KvGrants {
    read: Vec<String>,
    write: Vec<String>,
    publish: Vec<String>,
}

impl KvGrants {
    /// The kv part of a plugin's grants. A write grant implies read access to
    /// the same prefix.
    pub fn new(grants: &Grants) -> Self {
        let mut read = grants.kv_read.clone();
        read.extend(grants.kv_write.iter().cloned());
        Self {
            read,
            write: grants.kv_write.clone(),
            publish: grants.publish_channels.clone(),
        }
    }

    /// Ok when `channel` starts with one of the publish prefixes; a key
    /// write grant does not cover a channel of the same name.
    pub fn check_publish(&self, channel: &str) -> Result<(), KvError> {
        if channel.is_empty() {
            return Err(KvError::Invalid("empty channel".into()));
        }
        if self.publish.iter().any(|prefix| channel.starts_with(prefix.as_str())) {
            Ok(())
        } else {
            Err(KvError::Denied(format!(
                "publishing on channel {channel:?} is not granted (grants.publish_channels = {:?})",
                self.publish
            )))
        }
    }

    /// Ok when `key` starts with one of the write prefixes.
    pub fn check_write(&self, key: &str) -> Result<(), KvError> {
        check(key, &self.write, "write", "kv_write")
    }

    /// Ok when `key` starts with one of the read or write prefixes.
    pub fn check_read(&self, key: &str) -> Result<(), KvError> {
        check(key, &self.read, "read", "kv_read")
    }
}

fn check(key: &str, prefixes: &[String], access: &str, grant: &str) -> Result<(), KvError> {
    if key.is_empty() {
        return Err(KvError::Invalid("empty key".into()));
    }
    if prefixes.iter().any(|prefix| key.starts_with(prefix.as_str())) {
        Ok(())
    } else {
        Err(KvError::Denied(format!(
            "{access} of key {key:?} is not granted (grants.{grant} = {prefixes:?})"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants() -> KvGrants {
        KvGrants::new(&Grants {
            kv_read: vec!["eta:".into()],
            kv_write: vec!["driver:".into()],
            ..Grants::default()
        })
    }

    #[test]
    fn writes_only_under_write_prefixes() {
        assert!(grants().check_write("driver:42").is_ok());
        let denied = grants().check_write("eta:1").unwrap_err();
        assert!(
            matches!(&denied, KvError::Denied(message) if message.contains("\"eta:1\"")),
            "{denied:?}"
        );
        assert!(matches!(grants().check_write("drivers"), Err(KvError::Denied(_))));
    }

    #[test]
    fn reads_under_read_or_write_prefixes() {
        assert!(grants().check_read("eta:1").is_ok());
        assert!(grants().check_read("driver:1").is_ok());
        assert!(matches!(grants().check_read("fare:1"), Err(KvError::Denied(_))));
    }

    #[test]
    fn tables_and_topics_are_granted_by_exact_name() {
        let grants = Grants {
            sql_read: vec!["trips".into()],
            sql_write: vec!["driver_locations".into()],
            produce_topics: vec!["eta-updates".into()],
            ..Grants::default()
        };
        let tables = TableGrants::new(&grants);
        assert_eq!(tables.write_refusal("driver_locations"), None);
        assert_eq!(tables.read_refusal("driver_locations"), None);
        assert_eq!(tables.read_refusal("trips"), None);
        let refused = tables.write_refusal("trips").unwrap_or_default();
        assert!(
            refused.contains("\"trips\"") && refused.contains("sql_write"),
            "{refused}"
        );
        assert!(tables.write_refusal("driver_locations_old").is_some());
        let topics = TopicGrants::new(&grants);
        assert_eq!(topics.refusal("eta-updates"), None);
        assert!(topics.refusal("eta-updates.dlq").is_some());
        assert!(TopicGrants::default().refusal("eta-updates").is_some());
    }

    #[test]
    fn channels_are_granted_apart_from_keys() {
        let grants = KvGrants::new(&Grants {
            kv_write: vec!["live:".into()],
            publish_channels: vec!["live:eta:".into()],
            ..Grants::default()
        });
        assert!(grants.check_publish("live:eta:o-1").is_ok());
        let denied = grants.check_publish("live:driver:d-1").unwrap_err();
        assert!(
            matches!(&denied, KvError::Denied(message) if message.contains("\"live:driver:d-1\"") && message.contains("publish_channels")),
            "a key grant does not cover a channel: {denied:?}"
        );
        assert!(matches!(grants.check_publish(""), Err(KvError::Invalid(_))));
    }

    #[test]
    fn nothing_granted_means_nothing_allowed() {
        let none = KvGrants::default();
        assert!(matches!(none.check_read("a"), Err(KvError::Denied(_))));
        assert!(matches!(none.check_write(""), Err(KvError::Invalid(_))));
    }
}
