//! Reading a plugin's answer without trusting it: the result of
//! `process-batch` is lifted lazily (`WasmList`, `WasmStr` point into the
//! guest's memory), its size checked, and only the bounded parts copied into
//! host memory. An enormous answer is refused before the host allocates it.

use wasmtime::AsContextMut;
use wasmtime::component::{ComponentType, Lift, WasmList, WasmStr};

use super::bindings::fleethost::plugin::types::{BatchOutcome, PluginError, Rejection};

/// Longest reason or error message kept from a plugin, in bytes; longer ones
/// are cut.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// `rejection` as it lies in guest memory.
#[derive(ComponentType, Lift)]
#[component(record)]
pub struct RawRejection {
    index: u32,
    reason: WasmStr,
}

/// `batch-outcome` as it lies in guest memory.
#[derive(ComponentType, Lift)]
#[component(record)]
pub struct RawBatchOutcome {
    rejected: WasmList<RawRejection>,
}

/// `plugin-error` as it lies in guest memory.
#[derive(ComponentType, Lift)]
#[component(record)]
pub struct RawPluginError {
    message: WasmStr,
    retryable: bool,
}

/// The result type of `process-batch`, lifted lazily.
pub type RawResult = Result<RawBatchOutcome, RawPluginError>;

/// Copies a validated outcome out of guest memory. `Err(reason)` when the
/// plugin's answer breaks the contract (more rejections than events).
pub fn copy_outcome(
    mut store: impl AsContextMut,
    raw: RawResult,
    batch_len: usize,
) -> wasmtime::Result<Result<Result<BatchOutcome, PluginError>, String>> {
    match raw {
        Ok(outcome) => {
            let count = outcome.rejected.len();
            if count > batch_len {
                return Ok(Err(format!(
                    "returned {count} rejections for a batch of {batch_len} events"
                )));
            }
            let mut rejected = Vec::with_capacity(count);
            for index in 0..count {
                let Some(item) = outcome.rejected.get(&mut store, index) else {
                    break;
                };
                let item = item?;
                let reason = bounded_text(&mut store, &item.reason)?;
                rejected.push(Rejection {
                    index: item.index,
                    reason,
                });
            }
            Ok(Ok(Ok(BatchOutcome { rejected })))
        }
        Err(error) => {
            let message = bounded_text(&mut store, &error.message)?;
            Ok(Ok(Err(PluginError {
                message,
                retryable: error.retryable,
            })))
        }
    }
}

/// At most [`MAX_MESSAGE_BYTES`] of a guest string, cut on a char boundary.
fn bounded_text(mut store: impl AsContextMut, text: &WasmStr) -> wasmtime::Result<String> {
    let text = text.to_str(store.as_context_mut())?;
    if text.len() <= MAX_MESSAGE_BYTES {
        return Ok(text.into_owned());
    }
    let mut cut = MAX_MESSAGE_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Ok(format!(
        "{}…[cut at {MAX_MESSAGE_BYTES} bytes]",
        &text[..cut]
    ))
}
