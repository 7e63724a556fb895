//! What a batch turns into: the messages to send and the kv writes, applied
//! together at the end of the batch.
//!
//! A plugin builds its `Plan` with pure functions (which tests can inspect
//! without a host) and then calls [`Plan::apply`] once.

use crate::PluginError;
use crate::kv::{self, FieldValue, WriteOp};
use crate::produce::{self, Message};

/// The outputs of one batch.
#[derive(Debug, Default)]
pub struct Plan {
    /// kv writes, in order, for one `kv::write` call.
    pub writes: Vec<WriteOp>,
    /// Messages for one `produce::send` call.
    pub messages: Vec<Message>,
}

impl Plan {
    /// Sends the messages, then writes kv, one host call each (none when
    /// there is nothing to send or write): one round trip each, however many
    /// drivers the batch holds.
    ///
    /// The order matters: if the write fails after the send, the retried
    /// batch sends the same messages again (a duplicate a consumer can
    /// ignore); the other order could save a state that says a message went
    /// out when it never did, and lose it for good.
    pub fn apply(&self) -> Result<(), PluginError> {
        if !self.messages.is_empty() {
            produce::send(&self.messages)?;
        }
        if !self.writes.is_empty() {
            kv::write(&self.writes)?;
        }
        Ok(())
    }

    /// What the plan's writes do to the hash at `key` (`hash`, its fields as
    /// stored), as the store applies them: a hash-set sets the fields it
    /// gives, a delete empties the hash, other writes leave it alone. For a
    /// plugin's own tests, which check plans without a host, e.g. that two
    /// plans made from one read keep each other's fields in either order.
    pub fn apply_to_hash(&self, key: &str, hash: &mut Vec<FieldValue>) {
        for write in &self.writes {
            match write {
                WriteOp::HashSet(set) if set.key == key => {
                    for field in &set.fields {
                        hash.retain(|stored| stored.field != field.field);
                        hash.push(field.clone());
                    }
                }
                WriteOp::Delete(deleted) if deleted == key => hash.clear(),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_plan_calls_no_host_function() {
        // Natively, a host call would panic: there is no host.
        assert_eq!(Plan::default().apply(), Ok(()));
    }
}
