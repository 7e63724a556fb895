//! Which backend a plugin call found unavailable.
//!
//! Only the host may decide that a failed batch waits for a backend (Redis,
//! the database, Kafka) instead of counting against the pipeline's retries: a
//! plugin that could declare itself "waiting for a backend" could stall its
//! partition forever. So every capability call that fails because its backend
//! did not answer (a connection error, the host's own call timeout) is noted
//! here, and a plugin error returned by a call that met such an outage is the
//! host's [`CallError::Backend`](crate::runtime::CallError::Backend).
//!
//! Capability calls run synchronously on the thread that runs the plugin call
//! (wasm or native), so a thread-local is the record of one call.

use std::cell::RefCell;

thread_local! {
    /// The first outage met since [`clear`] on this thread.
    static OUTAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Forgets what an earlier call on this thread met; called before each plugin
/// call.
pub fn clear() {
    OUTAGE.with(|outage| outage.borrow_mut().take());
}

/// Notes that `capability`'s backend did not answer; the first note of a call
/// is kept (later ones usually repeat it).
pub fn note(capability: &str, reason: &str) {
    OUTAGE.with(|outage| {
        let mut outage = outage.borrow_mut();
        if outage.is_none() {
            *outage = Some(format!("{capability}: {reason}"));
        }
    });
}

/// The first outage noted since [`clear`], taken.
pub fn take() -> Option<String> {
    OUTAGE.with(|outage| outage.borrow_mut().take())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_outage_of_a_call_is_kept_until_taken() {
        clear();
        assert_eq!(take(), None);
        note("kv", "connection refused");
        note("sql", "timed out");
        assert_eq!(take().as_deref(), Some("kv: connection refused"));
        assert_eq!(take(), None, "taken");
        note("produce", "no broker");
        clear();
        assert_eq!(take(), None, "cleared before the next call");
    }
}
