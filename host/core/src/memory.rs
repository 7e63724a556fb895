//! The host's memory: the allocator every allocation of the process goes
//! through, and the figures `GET /metrics` reports about it.
//!
//! On Linux the allocator is jemalloc, for Rust's allocations and, because it
//! is built with unprefixed `malloc`/`free`, for librdkafka's C code too (its
//! per-message operations and fetch buffers are most of the host's heap).
//! With glibc's malloc the host spent more CPU per fix running all five
//! example pipelines, at the same peak RSS (docs/perf-log.md, "After:
//! jemalloc", has the figures).
//! Elsewhere the host keeps the system allocator and reports no allocator
//! figures. The allocator is set by this library, so every binary, test and
//! benchmark built on it runs on the same one as `fleethost` itself.

#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// What the allocator holds at one moment, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocatorStats {
    /// Bytes the host's code (Rust and librdkafka) has allocated and not yet
    /// freed: its live heap. The plugins' linear memories are not in it.
    pub allocated: u64,
    /// Bytes of the allocator's pages in RAM: `allocated` plus what it keeps
    /// cached for reuse and loses to fragmentation.
    pub resident: u64,
}

/// The allocator's figures now; `None` where the host runs on the system
/// allocator (not Linux) or jemalloc cannot report them.
pub fn allocator_stats() -> Option<AllocatorStats> {
    #[cfg(target_os = "linux")]
    {
        use tikv_jemalloc_ctl::{epoch, stats};
        // jemalloc caches its statistics; advancing the epoch refreshes them.
        epoch::advance().ok()?;
        Some(AllocatorStats {
            allocated: stats::allocated::read().ok()? as u64,
            resident: stats::resident::read().ok()? as u64,
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The process's resident set size in bytes (`/proc/self/statm`): all it
/// holds in RAM, the allocator's pages, the plugins' linear memories and the
/// code. `None` where `/proc` does not exist.
pub fn process_resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(page_size)
        .ok()
        .map(|page_size| resident_pages * page_size)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    const BLOCK: usize = 64 << 20;

    fn allocated() -> u64 {
        allocator_stats().expect("jemalloc reports its figures").allocated
    }

    #[test]
    fn rust_allocations_go_through_jemalloc() {
        let before = allocated();
        let block = std::hint::black_box(vec![1u8; BLOCK]);
        let during = allocated();
        drop(block);
        // Half the block: other tests of this process allocate and free
        // concurrently, never tens of MiB.
        assert!(during >= before + BLOCK as u64 / 2, "before {before}, during {during}");
    }

    #[test]
    fn c_code_s_malloc_goes_through_jemalloc_too() {
        // What librdkafka calls: without the unprefixed malloc, this would be
        // glibc's and jemalloc would not see it.
        let before = allocated();
        // SAFETY: a plain malloc/free pair of a block nobody else sees.
        let block = unsafe { libc::malloc(BLOCK) };
        assert!(!block.is_null());
        let during = allocated();
        unsafe { libc::free(block) };
        assert!(during >= before + BLOCK as u64 / 2, "before {before}, during {during}");
    }

    #[test]
    fn the_figures_are_plausible() {
        let stats = allocator_stats().expect("stats");
        let rss = process_resident_bytes().expect("statm");
        assert!(stats.allocated > 0 && stats.resident >= stats.allocated, "{stats:?}");
        assert!(rss >= 1 << 20, "{rss}");
    }
}
