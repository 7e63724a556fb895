//! The plugin's `cabi_realloc`: the function the host calls to allocate the
//! buffers it copies into a plugin (its config, a batch's events, the
//! strings of a kv reply), here on Rust's global allocator.
//!
//! The generated bindings free those buffers through Rust's global
//! allocator, so they must come from it. On wasm32-wasip2 that was left to
//! chance: wit-bindgen 0.61 defines `cabi_realloc` only for other targets,
//! and the standard library (on the global allocator) and wasi-libc (on
//! `malloc`) each define a weak one; which one the linker kept depended on
//! what else a plugin linked. wasi-libc's is harmless while the global
//! allocator is `malloc` too; with any other (a faster one, a checking one)
//! the first freed buffer corrupts the heap. [`export_plugin!`] therefore
//! defines a strong `cabi_realloc` in the plugin crate itself (a definition
//! in this library would only be linked if something referenced it), which
//! calls [`cabi_realloc`] here; `tests/instance_endurance.rs` proves the
//! pairing with a plugin whose allocator checks every free.
//!
//! [`export_plugin!`]: crate::export_plugin

use std::alloc::{self, Layout};

/// Allocates (`old_len` 0) or grows a buffer for the canonical ABI with the
/// global allocator; aborts (a trap the host reports as the plugin's
/// failure) when memory is exhausted.
///
/// # Safety
///
/// Called through the plugin's `cabi_realloc` export by the host only, with
/// the canonical ABI's guarantees: `align` is a power of two, and a non-zero
/// `old_len` is the size of a live buffer at `old_ptr` that this function
/// returned with the same `align`.
pub unsafe fn cabi_realloc(old_ptr: *mut u8, old_len: usize, align: usize, new_len: usize) -> *mut u8 {
    let buffer = if old_len == 0 {
        if new_len == 0 {
            // A zero-sized buffer needs no memory, only an aligned address.
            return std::ptr::without_provenance_mut(align);
        }
        // SAFETY: `align` is a power of two and `new_len` is not zero.
        unsafe { alloc::alloc(Layout::from_size_align_unchecked(new_len, align)) }
    } else {
        // SAFETY: the host passes back a buffer this function allocated with
        // `old_len` bytes at `align`.
        unsafe { alloc::realloc(old_ptr, Layout::from_size_align_unchecked(old_len, align), new_len) }
    };
    if buffer.is_null() {
        std::process::abort();
    }
    buffer
}

/// Exports the plugin: `export_plugin!(MyPlugin)` makes `MyPlugin` (an
/// implementation of [`Guest`](crate::Guest)) the plugin's `fleethost:plugin`
/// world, and defines the plugin's `cabi_realloc` on the global allocator
/// (see the module's documentation: without it, a plugin that sets its own
/// `#[global_allocator]` corrupts its heap).
#[macro_export]
macro_rules! export_plugin {
    ($($plugin:tt)*) => {
        $crate::bindings::__export_plugin_bindings!($($plugin)*);

        #[cfg(target_family = "wasm")]
        const _: () = {
            /// The canonical ABI's allocation function, on the global
            /// allocator (`fleethost_plugin_sdk::cabi_realloc`).
            ///
            /// # Safety
            ///
            /// Called by the host only, with the canonical ABI's guarantees.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn cabi_realloc(
                old_ptr: *mut u8,
                old_len: usize,
                align: usize,
                new_len: usize,
            ) -> *mut u8 {
                // SAFETY: the host keeps the canonical ABI's guarantees.
                unsafe { $crate::cabi_realloc::cabi_realloc(old_ptr, old_len, align, new_len) }
            }
        };
    };
}
