//! The process's own output on stdout and stderr, written so that a closed
//! or stalled reader can neither panic nor block the host.
//!
//! `println!` panics when stdout is a pipe whose reader went away
//! (`fleethost demo | head -1`), and a blocking write to a pipe nobody reads
//! (`2>&1 | tee log` with tee stopped) parks whichever thread logs, tokio
//! workers included. Here every line is handed to a queue that one writer
//! thread per stream drains: a write error (the reader went away) is
//! swallowed, and while the reader does not keep up, lines beyond the
//! queue's capacity are dropped and counted rather than waited for; the
//! writer says how many when the stream moves again. Whatever is still
//! queued when the process exits is written within a bound ([`flush_all`]).
//!
//! The tracing subscriber writes through [`LogWriter`]; the demo's lines go
//! through [`out`]. Code on a thread of its own that wants backpressure
//! from its reader (`fleethost tail`) writes with [`out_blocking`], which
//! waits for the reader but never panics.

use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Condvar, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// Lines one stream queues while its reader does not keep up; beyond it
/// lines are dropped (and counted), never waited for.
const QUEUE_LINES: usize = 8192;

/// One output stream's queue and the thread that drains it.
pub struct Sink {
    sender: SyncSender<Vec<u8>>,
    state: Arc<SinkState>,
}

#[derive(Default)]
struct SinkState {
    /// Lines sent and not yet written (or discarded by the writer).
    queued: Mutex<QueueCount>,
    drained: Condvar,
}

#[derive(Default)]
struct QueueCount {
    pending: usize,
    /// Lines dropped because the queue was full, not yet reported.
    dropped: u64,
}

impl Sink {
    /// A sink writing to `output` from a thread named `name`. The thread
    /// lives as long as the process (it is never joined).
    fn spawn(name: &str, mut output: impl Write + Send + 'static) -> Self {
        let (sender, receiver): (SyncSender<Vec<u8>>, Receiver<Vec<u8>>) = sync_channel(QUEUE_LINES);
        let state = Arc::new(SinkState::default());
        let writer_state = state.clone();
        let stream = name.to_string();
        let spawned = std::thread::Builder::new().name(format!("out-{name}")).spawn(move || {
            let mut gone = false;
            while let Ok(line) = receiver.recv() {
                // An error means the reader is gone (EPIPE) or the stream
                // is unusable: discard from now on, and keep draining so
                // that senders never wait.
                if !gone {
                    gone = output.write_all(&line).and_then(|()| output.flush()).is_err();
                }
                // Dropped lines are reported once the queue has drained,
                // where they would have been.
                let dropped = {
                    let mut queued = lock(&writer_state.queued);
                    if queued.pending <= 1 {
                        std::mem::take(&mut queued.dropped)
                    } else {
                        0
                    }
                };
                if dropped > 0 && !gone {
                    let note = format!("fleethost: {dropped} lines of {stream} dropped: it was not being read\n");
                    gone = output.write_all(note.as_bytes()).and_then(|()| output.flush()).is_err();
                }
                let mut queued = lock(&writer_state.queued);
                queued.pending = queued.pending.saturating_sub(1);
                if queued.pending == 0 {
                    writer_state.drained.notify_all();
                }
            }
        });
        // The thread is detached. Had it not started, the receiver is gone:
        // every send fails and is ignored, and the host runs without this
        // stream rather than not at all.
        drop(spawned);
        Self { sender, state }
    }

    /// Queues `line` (which should end with a newline) without waiting:
    /// dropped, and counted, when the queue is full.
    pub fn write(&self, line: Vec<u8>) {
        let mut queued = lock(&self.state.queued);
        match self.sender.try_send(line) {
            Ok(()) => queued.pending += 1,
            Err(TrySendError::Full(_)) => queued.dropped += 1,
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Waits until everything queued so far is written, at most `timeout`;
    /// whether it was.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut queued = lock(&self.state.queued);
        while queued.pending > 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            queued = self
                .state
                .drained
                .wait_timeout(queued, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        true
    }
}

static STDOUT: LazyLock<Sink> = LazyLock::new(|| Sink::spawn("stdout", std::io::stdout()));
static STDERR: LazyLock<Sink> = LazyLock::new(|| Sink::spawn("stderr", std::io::stderr()));

/// The process's stdout, through its queue.
pub fn stdout() -> &'static Sink {
    &STDOUT
}

/// The process's stderr, through its queue.
pub fn stderr() -> &'static Sink {
    &STDERR
}

/// Prints `line` and a newline on stdout without waiting for the reader and
/// without failing when it is gone.
pub fn out(line: &str) {
    stdout().write(with_newline(line));
}

/// Prints `line` and a newline on stderr without waiting for the reader and
/// without failing when it is gone.
pub fn err(line: &str) {
    stderr().write(with_newline(line));
}

/// Prints `line` and a newline on stdout, waiting while the reader is slow
/// (backpressure for a stream of records on a thread of its own); an error
/// (the reader went away) is ignored. Whether the line was written.
pub fn out_blocking(line: &str) -> bool {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&with_newline(line))
        .and_then(|()| stdout.flush())
        .is_ok()
}

/// Writes what stdout's and stderr's queues hold, waiting at most `timeout`
/// for each: the last step before the process exits.
pub fn flush_all(timeout: Duration) {
    stdout().flush(timeout);
    stderr().flush(timeout);
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn with_newline(line: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    bytes
}

/// The tracing subscriber's writer: each event to stderr's queue, never
/// blocking the thread that logs and never failing (so that the subscriber
/// never reports a write error, which it would do with `eprintln!`, a panic
/// on a closed stderr).
#[derive(Clone, Copy, Debug, Default)]
pub struct LogWriter;

/// One event being formatted; queued as one line when dropped.
pub struct LogLine(Vec<u8>);

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            stderr().write(std::mem::take(&mut self.0));
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> Self::Writer {
        LogLine(Vec::with_capacity(256))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream whose reader has gone: every write fails, as on EPIPE.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A stream whose reader never reads: every write waits until `open`.
    struct Stalled(Arc<(Mutex<bool>, Condvar)>, Arc<Mutex<Vec<u8>>>);

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (open, opened) = &*self.0;
            let mut open = open.lock().unwrap();
            while !*open {
                open = opened.wait(open).unwrap();
            }
            self.1.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_stream_swallows_every_line_and_flushes_at_once() {
        let sink = Sink::spawn("closed", Closed);
        for index in 0..100 {
            sink.write(with_newline(&format!("line {index}")));
        }
        assert!(sink.flush(Duration::from_secs(5)), "the lines are discarded, not kept");
    }

    #[test]
    fn a_stalled_stream_never_blocks_the_writer_drops_the_excess_and_says_so() {
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let written = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink::spawn("stalled", Stalled(gate.clone(), written.clone()));
        let started = Instant::now();
        for index in 0..QUEUE_LINES + 500 {
            sink.write(with_newline(&format!("line {index}")));
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "queueing waited for the reader"
        );
        assert!(
            !sink.flush(Duration::from_millis(50)),
            "a flush is bounded while the reader stalls"
        );
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        assert!(sink.flush(Duration::from_secs(10)), "everything queued is written");
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("line 0\n"), "{}", &text[..40]);
        assert!(
            text.ends_with(" lines of stalled dropped: it was not being read\n"),
            "the writer says it dropped lines: {}",
            &text[text.len().saturating_sub(200)..]
        );
    }
}
