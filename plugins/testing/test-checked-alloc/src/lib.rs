//! test-checked-alloc: a plugin whose global allocator checks every free.
//!
//! Each allocation carries a header with its size; a free whose size
//! differs from the header (a buffer that did not come from this allocator)
//! traps at once instead of corrupting the heap silently. The generated
//! bindings free every buffer the host copies into a plugin (the config, a
//! batch) through the global allocator, so `tests/instance_endurance.rs`
//! runs many batches through this plugin to prove that those buffers come
//! from the global allocator too (the SDK's `cabi_realloc`), whatever
//! allocator a plugin sets.
//!
//! It stays as small as bench-noop on purpose: the standard library and
//! wasi-libc both define a weak `cabi_realloc` (on the global allocator and
//! on `malloc`), and which one a plugin got depended on what else it linked;
//! built this small without the SDK's own, it got wasi-libc's and trapped on
//! its first call.

use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, PluginError};

/// The checking allocator, in wasm only (the plugin's unit tests on the
/// build machine keep the default).
#[cfg(target_family = "wasm")]
mod checked {
    use std::alloc::{GlobalAlloc, Layout, System};

    /// Room in front of each allocation for its size: a multiple of every
    /// alignment the canonical ABI and the plugin ask for (at most 16 here).
    const HEADER: usize = 16;

    /// Marks a header, so that a stray word equal to a size does not pass.
    const MARK: usize = 0x5a5a_0000;

    /// System's allocator with each allocation's size checked on free.
    struct Checked;

    // SAFETY: forwards to `System` with a layout HEADER bytes larger, aligned
    // to HEADER (a larger alignment is refused as out of memory), and hands
    // out the memory after the header.
    unsafe impl GlobalAlloc for Checked {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if layout.align() > HEADER {
                return std::ptr::null_mut();
            }
            // SAFETY: a non-zero size with a power-of-two alignment.
            let block = unsafe { System.alloc(Layout::from_size_align_unchecked(layout.size() + HEADER, HEADER)) };
            if block.is_null() {
                return block;
            }
            // SAFETY: the block holds HEADER bytes in front of the allocation.
            unsafe {
                block.cast::<usize>().write(layout.size() ^ MARK);
                block.add(HEADER)
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: if `ptr` came from `alloc`, its header is right in front;
            // if not, the check traps before System sees it.
            unsafe {
                let block = ptr.sub(HEADER);
                if block.cast::<usize>().read() != layout.size() ^ MARK {
                    core::arch::wasm32::unreachable();
                }
                System.dealloc(block, Layout::from_size_align_unchecked(layout.size() + HEADER, HEADER));
            }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Checked = Checked;
}

struct CheckedAlloc;

impl Guest for CheckedAlloc {
    fn init(_config: Vec<(String, String)>) -> Result<(), String> {
        Ok(())
    }

    fn process_batch(batch: Batch) -> Result<BatchOutcome, PluginError> {
        // Read every string of the batch, so that nothing is skipped.
        let length: usize = batch
            .events
            .iter()
            .map(|event| event.driver_id.len() + event.region.as_ref().map_or(0, String::len))
            .sum();
        std::hint::black_box(length);
        Ok(BatchOutcome { rejected: Vec::new() })
    }
}

fleethost_plugin_sdk::export_plugin!(CheckedAlloc);
