//! CPU priority of a pipeline's work, as a Linux nice value.
//!
//! When the cores are short, every pipeline of a host competes for them on
//! equal terms, and a history writer that is behind takes as much CPU as the
//! live-position pipeline whose users notice every second of delay. A pipeline
//! with `nice = N` (1–19) runs its partition workers (batching, decoding,
//! plugin calls and the kv/sql/produce calls the plugins make) on threads
//! whose nice value is N: the kernel then gives the CPU to the others first,
//! and such a pipeline lags behind instead of slowing them down. Its offsets
//! are still committed only after its batches are done, so nothing is lost;
//! it catches up when the load falls.
//!
//! Threads can only be made nicer without privileges, never less nice, so a
//! niced thread cannot go back to the shared pool: each nice value gets its
//! own tokio runtime, created on first use and kept for the life of the
//! process (connections opened on it may be shared with other pipelines, so
//! it must outlive every pipeline). Its threads are named `pipeline-niceN`
//! (`top -H`, `/proc/PID/task/*/comm`).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use tokio::runtime::{Handle, Runtime};

/// The runtime that runs the work of pipelines with `nice`: the caller's own
/// (the current one) for 0, else the shared runtime of that nice value.
pub fn runtime_for(nice: u8) -> std::io::Result<Handle> {
    if nice == 0 {
        return Ok(Handle::current());
    }
    static RUNTIMES: OnceLock<Mutex<HashMap<u8, Runtime>>> = OnceLock::new();
    let mut runtimes = RUNTIMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(runtime) = runtimes.get(&nice) {
        return Ok(runtime.handle().clone());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Linux keeps 15 bytes of a thread's name: "pipeline-nice19" fits.
        .thread_name(format!("pipeline-nice{nice}"))
        .on_thread_start(move || {
            if let Err(error) = set_current_thread_nice(nice) {
                tracing::warn!(nice, %error, "cannot lower this thread's CPU priority; it runs at the host's");
            }
        })
        .build()?;
    let handle = runtime.handle().clone();
    runtimes.insert(nice, runtime);
    tracing::info!(nice, "runtime for niced pipelines started");
    Ok(handle)
}

/// Sets the nice value of the calling thread only (on Linux the nice value
/// belongs to a thread, addressed by its thread id).
#[cfg(target_os = "linux")]
fn set_current_thread_nice(nice: u8) -> std::io::Result<()> {
    // SAFETY: gettid and setpriority take plain integers and touch no memory.
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, i32::from(nice)) };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn set_current_thread_nice(_nice: u8) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "per-thread nice values need Linux",
    ))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The nice value of the calling thread.
    fn current_thread_nice() -> i32 {
        // SAFETY: as above. getpriority returns the nice value itself (-20..19).
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    #[tokio::test]
    async fn nice_zero_is_the_callers_runtime() {
        let handle = runtime_for(0).unwrap();
        assert_eq!(handle.id(), Handle::current().id());
    }

    #[tokio::test]
    async fn tasks_and_blocking_calls_of_a_niced_runtime_run_niced() {
        let own = current_thread_nice();
        let handle = runtime_for(7).unwrap();
        assert_ne!(handle.id(), Handle::current().id());
        let (task_nice, blocking_nice) = handle
            .spawn(async {
                let blocking = tokio::task::spawn_blocking(current_thread_nice).await.unwrap();
                (current_thread_nice(), blocking)
            })
            .await
            .unwrap();
        assert_eq!(task_nice, 7.max(own));
        assert_eq!(blocking_nice, 7.max(own));
        // The caller's thread is untouched, and the runtime is shared.
        assert_eq!(current_thread_nice(), own);
        assert_eq!(runtime_for(7).unwrap().id(), handle.id());
    }
}
