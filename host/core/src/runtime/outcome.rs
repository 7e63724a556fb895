//! Reading a plugin's answer without trusting it.
//!
//! The result of `process-batch` is lifted through types that check sizes
//! while lifting, before anything is copied into host memory: a list longer
//! than [`MAX_REJECTIONS`] is refused as it is read, and each text is copied
//! only up to [`MAX_MESSAGE_BYTES`], from a budget of [`MAX_TEXT_BYTES_PER_CALL`]
//! per call (a guest could point every reason at the same long string). The
//! checks run inside wasmtime's lift, while the guest's result memory is still
//! valid (wasmtime frees it with `post-return` as soon as the call returns).
//!
//! The wrappers implement wasmtime's `ComponentType`/`Lift` traits by
//! delegating to the built-in list and string types; those trait items are
//! `#[doc(hidden)]`, which is why wasmtime is pinned to one release.

use std::cell::Cell;

use wasmtime::ValRaw;
use wasmtime::component::__internal::{CanonicalAbiInfo, InstanceType, InterfaceType, LiftContext};
use wasmtime::component::{ComponentType, Lift, WasmList};

use super::{BatchOutcome, PluginError, Rejection};

/// Most rejections one answer may carry: the largest batch (`max_events`).
pub const MAX_REJECTIONS: usize = 100_000;
/// Longest reason or error message kept, in bytes; longer ones are cut.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// Most text bytes copied out of one answer; reasons past it are cut to empty.
pub const MAX_TEXT_BYTES_PER_CALL: usize = 1024 * 1024;

thread_local! {
    /// Text bytes the answer being lifted on this thread may still copy.
    static TEXT_BUDGET: Cell<usize> = const { Cell::new(MAX_TEXT_BYTES_PER_CALL) };
}

/// Resets the text budget before a call; lifting runs on the calling thread.
pub fn reset_text_budget() {
    TEXT_BUDGET.with(|budget| budget.set(MAX_TEXT_BYTES_PER_CALL));
}

/// A plugin answer that breaks the contract, detected while lifting it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OutputRefused(pub String);

/// A guest string, copied only up to `MAX` bytes (and the call's budget).
pub struct BoundedText<const MAX: usize>(pub String);

unsafe impl<const MAX: usize> ComponentType for BoundedText<MAX> {
    type Lower = [ValRaw; 2];
    const ABI: CanonicalAbiInfo = CanonicalAbiInfo::POINTER_PAIR;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <String as ComponentType>::typecheck(ty, types)
    }
}

unsafe impl<const MAX: usize> Lift for BoundedText<MAX> {
    fn linear_lift_from_flat(
        cx: &mut LiftContext<'_>,
        _ty: InterfaceType,
        src: &Self::Lower,
    ) -> wasmtime::Result<Self> {
        Self::copy(cx, src[0].get_u32() as usize, src[1].get_u32() as usize)
    }

    fn linear_lift_from_memory(cx: &mut LiftContext<'_>, _ty: InterfaceType, bytes: &[u8]) -> wasmtime::Result<Self> {
        let word = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        Self::copy(cx, word(0), word(4))
    }
}

impl<const MAX: usize> BoundedText<MAX> {
    /// Copies at most `MAX` bytes (UTF-8, as Rust guests encode strings) of
    /// the string at `ptr`/`len` in guest memory.
    fn copy(cx: &mut LiftContext<'_>, ptr: usize, len: usize) -> wasmtime::Result<Self> {
        let memory = cx.memory();
        if ptr.checked_add(len).is_none_or(|end| end > memory.len()) {
            return Err(wasmtime::Error::new(OutputRefused(
                "a string lies outside the plugin's memory".into(),
            )));
        }
        let budget = TEXT_BUDGET.with(Cell::get);
        let kept = len.min(MAX).min(budget);
        TEXT_BUDGET.with(|left| left.set(budget - kept));
        let mut text = String::from_utf8_lossy(&memory[ptr..ptr + kept]).into_owned();
        if kept < len {
            text.push_str(&format!("…[cut: {len} bytes]"));
        }
        Ok(Self(text))
    }
}

/// A guest list, refused while lifting when longer than `MAX`.
pub struct BoundedList<T, const MAX: usize>(pub Vec<T>);

unsafe impl<T: ComponentType, const MAX: usize> ComponentType for BoundedList<T, MAX> {
    type Lower = <WasmList<T> as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <WasmList<T> as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <WasmList<T> as ComponentType>::typecheck(ty, types)
    }
}

unsafe impl<T: Lift, const MAX: usize> Lift for BoundedList<T, MAX> {
    fn linear_lift_from_flat(cx: &mut LiftContext<'_>, ty: InterfaceType, src: &Self::Lower) -> wasmtime::Result<Self> {
        let list = <WasmList<T> as Lift>::linear_lift_from_flat(cx, ty, src)?;
        Self::copy(cx, &list)
    }

    fn linear_lift_from_memory(cx: &mut LiftContext<'_>, ty: InterfaceType, bytes: &[u8]) -> wasmtime::Result<Self> {
        let list = <WasmList<T> as Lift>::linear_lift_from_memory(cx, ty, bytes)?;
        Self::copy(cx, &list)
    }
}

impl<T: Lift, const MAX: usize> BoundedList<T, MAX> {
    fn copy(cx: &mut LiftContext<'_>, list: &WasmList<T>) -> wasmtime::Result<Self> {
        if list.len() > MAX {
            return Err(wasmtime::Error::new(OutputRefused(format!(
                "returned a list of {} items; the limit is {MAX}",
                list.len()
            ))));
        }
        T::linear_lift_list_from_memory(cx, list).map(Self)
    }
}

/// `rejection`, lifted with bounds.
#[derive(ComponentType, Lift)]
#[component(record)]
pub struct CheckedRejection {
    index: u32,
    reason: BoundedText<MAX_MESSAGE_BYTES>,
}

/// `batch-outcome`, lifted with bounds.
#[derive(ComponentType, Lift)]
#[component(record)]
pub struct CheckedOutcome {
    rejected: BoundedList<CheckedRejection, MAX_REJECTIONS>,
}

/// `plugin-error`, lifted with bounds.
#[derive(ComponentType, Lift)]
#[component(record)]
pub struct CheckedPluginError {
    message: BoundedText<MAX_MESSAGE_BYTES>,
    retryable: bool,
}

/// The result type of `process-batch`, lifted with bounds.
pub type CheckedResult = Result<CheckedOutcome, CheckedPluginError>;

/// The plugin's answer as host types, or why it breaks the contract for a
/// batch of `batch_len` events.
pub fn into_outcome(result: CheckedResult, batch_len: usize) -> Result<Result<BatchOutcome, PluginError>, String> {
    match result {
        Ok(outcome) => {
            let rejected = outcome.rejected.0;
            if rejected.len() > batch_len {
                return Err(format!(
                    "returned {} rejections for a batch of {batch_len} events",
                    rejected.len()
                ));
            }
            Ok(Ok(BatchOutcome {
                rejected: rejected
                    .into_iter()
                    .map(|rejection| Rejection {
                        index: rejection.index,
                        reason: rejection.reason.0,
                    })
                    .collect(),
            }))
        }
        Err(error) => Ok(Err(PluginError {
            message: error.message.0,
            retryable: error.retryable,
        })),
    }
}
