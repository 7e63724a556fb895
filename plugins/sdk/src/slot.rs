//! Where a plugin keeps what `init` set up (its settings), for every batch.
//!
//! The `Guest` functions are free functions and one wasm instance runs on one
//! thread, so what `init` reads lives in a `thread_local!`:
//!
//! ```ignore
//! thread_local! {
//!     static SETTINGS: Slot<Settings> = const { Slot::new() };
//! }
//!
//! fn init(config: Vec<(String, String)>) -> Result<(), String> {
//!     let settings = Settings::from_config(&PluginConfig::new(config))?;
//!     SETTINGS.with(|slot| slot.set(settings));
//!     Ok(())
//! }
//!
//! fn process_batch(batch: Batch) -> Result<BatchOutcome, PluginError> {
//!     SETTINGS.with(|slot| slot.with(|settings| process(settings, &batch)))
//! }
//! ```

use std::cell::RefCell;

use crate::PluginError;

/// The value `init` stored, empty until then.
#[derive(Debug)]
pub struct Slot<T> {
    value: RefCell<Option<T>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Slot<T> {
    /// An empty slot (`const`, so that `thread_local!` needs no lazy
    /// initialisation).
    pub const fn new() -> Self {
        Self {
            value: RefCell::new(None),
        }
    }

    /// Stores `value`, replacing any earlier one.
    pub fn set(&self, value: T) {
        *self.value.borrow_mut() = Some(value);
    }

    /// Runs `use_value` with the stored value. A batch before `init` is a
    /// host bug that no retry fixes: it fails as fatal rather than panicking,
    /// so the host reports it as a plugin error.
    pub fn with<R>(&self, use_value: impl FnOnce(&T) -> Result<R, PluginError>) -> Result<R, PluginError> {
        let value = self.value.borrow();
        use_value(value.as_ref().ok_or_else(not_initialised)?)
    }

    /// Like [`Slot::with`], for a value the batches update (such as a cache).
    pub fn with_mut<R>(&self, use_value: impl FnOnce(&mut T) -> Result<R, PluginError>) -> Result<R, PluginError> {
        let mut value = self.value.borrow_mut();
        use_value(value.as_mut().ok_or_else(not_initialised)?)
    }
}

fn not_initialised() -> PluginError {
    PluginError::fatal("process-batch called before init")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_before_init_fails_as_fatal() {
        let slot: Slot<u32> = Slot::new();
        let error = slot.with(|value| Ok(*value)).expect_err("not set");
        assert_eq!(error, PluginError::fatal("process-batch called before init"));
        assert_eq!(slot.with_mut(|value| Ok(*value)), Err(error));
    }

    #[test]
    fn the_stored_value_is_used_and_updated() {
        let slot = Slot::new();
        slot.set(1);
        assert_eq!(slot.with(|value| Ok(*value)), Ok(1));
        slot.with_mut(|value| {
            *value += 1;
            Ok(())
        })
        .expect("set");
        assert_eq!(slot.with(|value| Ok(*value)), Ok(2));
        slot.set(7);
        assert_eq!(slot.with(|value| Ok(*value)), Ok(7));
    }
}
