//! A `fleethost` child process whose stdout and stderr are pipes the test
//! reads and then closes while the process runs, as `fleethost demo | head
//! -1` or `2>&1 | tee log` with tee killed would: what the process writes
//! afterwards meets a pipe without a reader (EPIPE).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The child process; killed when dropped.
pub struct PipedHost {
    child: Child,
    /// The pipes' readers, each running until its marker or the end.
    readers: Vec<mpsc::Receiver<Option<String>>>,
    /// Every line read so far, of both pipes.
    pub captured: String,
}

impl PipedHost {
    /// Starts `fleethost ARGS` with both outputs piped; `stdout_marker` and
    /// `stderr_marker` are the lines after which [`PipedHost::close_after`]
    /// closes each pipe (`None`: close it at once).
    pub fn start(args: &[&str], stdout_marker: Option<&str>, stderr_marker: Option<&str>) -> Self {
        let mut child = Command::new(super::fleethost_binary())
            .args(args)
            .env("RUST_LOG", "info,librdkafka=warn,rdkafka=warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start fleethost");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let readers = vec![read_until(stdout, stdout_marker), read_until(stderr, stderr_marker)];
        Self {
            child,
            readers,
            captured: String::new(),
        }
    }

    /// Waits until each pipe showed its marker and was closed; panics,
    /// with what it read, when that takes longer than `timeout` or the
    /// process ended first.
    pub fn close_after(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for reader in std::mem::take(&mut self.readers) {
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match reader.recv_timeout(left) {
                    Ok(Some(line)) => self.captured.push_str(&line),
                    // The reader saw its marker and dropped the pipe.
                    Ok(None) => break,
                    Err(mpsc::RecvTimeoutError::Disconnected) => panic!(
                        "fleethost closed its output before the marker (exit {:?}):\n{}",
                        self.child.try_wait(),
                        self.captured
                    ),
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        panic!("no marker within {timeout:?}; read so far:\n{}", self.captured)
                    }
                }
            }
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// Sends SIGTERM and waits, at most `timeout`, for the exit; the
    /// status, or `None` when it did not exit in time.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PipedHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "----- what the host wrote before its pipes closed -----\n{}",
                self.captured
            );
        }
    }
}

/// Reads `pipe` line by line on a thread, sending each line, until a line
/// contains `marker` (or at once when it is `None`): then it drops the
/// pipe, closing it, and sends `None`. At the end of the pipe before the
/// marker, the sender is dropped instead.
fn read_until(pipe: impl Read + Send + 'static, marker: Option<&str>) -> mpsc::Receiver<Option<String>> {
    let (sender, receiver) = mpsc::channel();
    let marker = marker.map(String::from);
    std::thread::spawn(move || {
        let Some(marker) = marker else {
            drop(pipe);
            let _ = sender.send(None);
            return;
        };
        let mut reader = BufReader::new(pipe);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let found = line.contains(&marker);
                    let _ = sender.send(Some(line.clone()));
                    if found {
                        drop(reader);
                        let _ = sender.send(None);
                        return;
                    }
                }
            }
        }
    });
    receiver
}
