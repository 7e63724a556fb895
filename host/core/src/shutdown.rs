//! Ending the process on SIGINT/SIGTERM, within a bound.
//!
//! The first signal asks every part to stop: consuming ends, in-flight
//! batches finish, offsets are committed, consumers leave their groups. Some
//! of that waits on the outside world (a broker that stopped answering can
//! hold `rd_kafka_consumer_close` forever), so the shutdown has a bound
//! (`shutdown.timeout_ms`): when the process has not ended by then, it says
//! which parts did not finish and what each was doing, and exits with
//! [`EXIT_TIMED_OUT`]. A second signal exits at once with
//! [`EXIT_SECOND_SIGNAL`]. Both are safe for the at-least-once reason: what
//! was not committed is redelivered.
//!
//! Signals are taken by a thread of their own with `sigwait`, not by a task
//! of the async runtime, so that they are heard even when every runtime
//! worker is blocked; [`Signals::install`] must therefore run first thing in
//! `main`, before any other thread exists, so that every thread inherits the
//! blocked signal mask. The parts that can hold a shutdown up report what
//! they are doing to [`progress`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// Exit status when the shutdown did not finish within its bound (the
/// status `timeout` of coreutils uses for a command that timed out).
pub const EXIT_TIMED_OUT: i32 = 124;

/// Exit status after a second SIGINT/SIGTERM: at once, without committing.
pub const EXIT_SECOND_SIGNAL: i32 = 130;

/// The bound of a shutdown when the config does not set one, in ms.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

/// How long the last lines (the report, a final error) may take to reach
/// stdout and stderr before the process exits anyway.
const LAST_WORDS_TIMEOUT: Duration = Duration::from_secs(1);

/// The parts of the process that have not finished yet, each with what it
/// is doing now: what a shutdown that overran its bound reports.
#[derive(Clone, Default)]
pub struct Progress {
    parts: Arc<Mutex<BTreeMap<u64, (String, String)>>>,
    next: Arc<AtomicU64>,
}

/// A part registered with [`Progress::start`]; it is finished when dropped.
pub struct Part {
    id: u64,
    parts: Arc<Mutex<BTreeMap<u64, (String, String)>>>,
}

impl Progress {
    /// Registers `part` (e.g. `pipeline eta`), now `doing` something (e.g.
    /// `consuming`), until the returned guard is dropped.
    pub fn start(&self, part: impl Into<String>, doing: &str) -> Part {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.parts).insert(id, (part.into(), doing.to_string()));
        Part {
            id,
            parts: self.parts.clone(),
        }
    }

    /// The unfinished parts in the order they started, as
    /// `part (what it is doing)`.
    pub fn unfinished(&self) -> Vec<String> {
        lock(&self.parts)
            .values()
            .map(|(part, doing)| format!("{part} ({doing})"))
            .collect()
    }
}

impl Part {
    /// Says what the part is doing now.
    pub fn doing(&self, doing: &str) {
        if let Some(entry) = lock(&self.parts).get_mut(&self.id) {
            entry.1 = doing.to_string();
        }
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        lock(&self.parts).remove(&self.id);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The process's parts, as the shutdown report lists them.
pub fn progress() -> &'static Progress {
    static PROGRESS: LazyLock<Progress> = LazyLock::new(Progress::default);
    &PROGRESS
}

/// The line a shutdown that overran its bound prints.
pub fn timeout_report(bound: Duration, unfinished: &[String]) -> String {
    let parts = if unfinished.is_empty() {
        "no part reported what it was doing".to_string()
    } else {
        unfinished.join(", ")
    };
    format!(
        "shutdown did not finish within {} ms: {parts}; exiting with status {EXIT_TIMED_OUT}",
        bound.as_millis()
    )
}

/// The thread that takes SIGINT and SIGTERM (see the module's doc).
pub struct Signals {
    graceful: Arc<Mutex<Option<(CancellationToken, Duration)>>>,
}

impl Signals {
    /// Blocks SIGINT and SIGTERM in the calling thread, hence in every
    /// thread it starts from now on, and starts the thread that takes them.
    /// Until [`Signals::graceful`] is called, a signal ends the process as
    /// it would without this (killed by that signal).
    pub fn install() -> std::io::Result<Self> {
        let set = signal_set();
        // SAFETY: `set` is an initialised sigset_t; a null old set is allowed.
        let result = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if result != 0 {
            return Err(std::io::Error::from_raw_os_error(result));
        }
        let graceful: Arc<Mutex<Option<(CancellationToken, Duration)>>> = Arc::default();
        let state = graceful.clone();
        std::thread::Builder::new()
            .name("signals".to_string())
            .spawn(move || take_signals(&set, &state))?;
        Ok(Self { graceful })
    }

    /// From now on the first signal cancels the returned token and starts
    /// the clock: the process exits with [`EXIT_TIMED_OUT`], naming what
    /// did not finish, when it has not ended within `bound`. A second
    /// signal exits at once with [`EXIT_SECOND_SIGNAL`].
    pub fn graceful(&self, bound: Duration) -> CancellationToken {
        let token = CancellationToken::new();
        *lock(&self.graceful) = Some((token.clone(), bound));
        token
    }
}

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set; sigaddset takes valid signals.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        set
    }
}

/// Waits for one of `set`, at most `timeout` (`None`: without limit); the
/// signal, or `None` when the time ran out.
fn wait_for_signal(set: &libc::sigset_t, timeout: Option<Duration>) -> Option<i32> {
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    loop {
        let result = match deadline {
            None => {
                // SAFETY: a valid set; a null siginfo is allowed.
                unsafe { libc::sigwaitinfo(set, std::ptr::null_mut()) }
            }
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                let timespec = libc::timespec {
                    tv_sec: left.as_secs() as libc::time_t,
                    tv_nsec: left.subsec_nanos() as libc::c_long,
                };
                // SAFETY: a valid set and timespec; a null siginfo is allowed.
                unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &timespec) }
            }
        };
        if result > 0 {
            return Some(result);
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            _ if deadline.is_some_and(|deadline| Instant::now() >= deadline) => return None,
            // EAGAIN before the deadline cannot happen; wait again.
            _ => continue,
        }
    }
}

fn take_signals(set: &libc::sigset_t, graceful: &Mutex<Option<(CancellationToken, Duration)>>) {
    let Some(signal) = wait_for_signal(set, None) else {
        return;
    };
    let Some((token, bound)) = lock(graceful).clone() else {
        die_of(signal);
    };
    tracing::info!(
        timeout_ms = bound.as_millis() as u64,
        "shutting down: finishing in-flight batches and committing (signal again to exit at once)"
    );
    token.cancel();
    match wait_for_signal(set, Some(bound)) {
        Some(_) => {
            tracing::warn!("second signal: exiting without committing");
            exit_now(EXIT_SECOND_SIGNAL);
        }
        None => {
            let report = timeout_report(bound, &progress().unfinished());
            tracing::error!("{report}");
            crate::console::err(&format!("fleethost: {report}"));
            exit_now(EXIT_TIMED_OUT);
        }
    }
}

/// Ends the process now with `status`, after giving the last lines a
/// moment to reach stdout and stderr. `_exit`: no exit handlers run, since
/// other threads may still be inside librdkafka.
pub fn exit_now(status: i32) -> ! {
    crate::console::flush_all(LAST_WORDS_TIMEOUT);
    // SAFETY: _exit ends the process; it takes a plain integer.
    unsafe { libc::_exit(status) }
}

/// Ends the process as `signal` would have, had it not been blocked.
fn die_of(signal: i32) -> ! {
    crate::console::flush_all(LAST_WORDS_TIMEOUT);
    // SAFETY: restoring the default action and unblocking the signal in
    // this thread, then raising it, touches no memory of ours.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(signal);
        libc::_exit(128 + signal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfinished_parts_are_listed_in_start_order_with_what_they_do_until_dropped() {
        let progress = Progress::default();
        let eta = progress.start("pipeline eta", "consuming");
        let fare = progress.start("pipeline fare", "consuming");
        eta.doing("closing its consumer");
        assert_eq!(
            progress.unfinished(),
            ["pipeline eta (closing its consumer)", "pipeline fare (consuming)"]
        );
        drop(eta);
        assert_eq!(progress.unfinished(), ["pipeline fare (consuming)"]);
        drop(fare);
        assert!(progress.unfinished().is_empty());
    }

    #[test]
    fn the_report_names_the_bound_the_parts_and_the_exit_status() {
        let report = timeout_report(
            Duration::from_millis(3000),
            &[
                "pipeline eta (closing its consumer)".to_string(),
                "gateway (stopping)".to_string(),
            ],
        );
        assert_eq!(
            report,
            "shutdown did not finish within 3000 ms: pipeline eta (closing its consumer), gateway (stopping); exiting with status 124"
        );
        assert!(timeout_report(Duration::from_secs(1), &[]).contains("no part reported"));
    }
}
