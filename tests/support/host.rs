//! The `fleethost` binary as a child process of a test: started, stopped,
//! killed, its log shown when the test fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::fleethost_binary;

/// A `fleethost run` child process whose log is shown when the test fails.
pub struct Host {
    child: Option<Child>,
    log: PathBuf,
    name: String,
}

impl Host {
    /// Starts `fleethost run --config CONFIG`.
    pub fn start(name: &str, config: &Path) -> Self {
        let config_arg = config.to_str().expect("a UTF-8 config path");
        Self::start_with(
            name,
            config.with_extension(format!("{name}.log")),
            &["run", "--config", config_arg],
        )
    }

    /// Starts `fleethost ARGS`, its stdout and stderr into `log`.
    pub fn start_with(name: &str, log: PathBuf, args: &[&str]) -> Self {
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(fleethost_binary())
            .args(args)
            .env("RUST_LOG", "info,librdkafka=warn,rdkafka=warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::from(file.try_clone().expect("log file")))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("start fleethost");
        Self {
            child: Some(child),
            log,
            name: name.to_string(),
        }
    }

    /// The host's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("host running");
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "host {} did not exit within {timeout:?} of SIGTERM",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no chance to commit anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill");
            child.wait().expect("wait");
        }
    }

    /// The process id, while running.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("host running").id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| child.try_wait().expect("wait").is_none())
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "----- log of host {} ({}) -----\n{}\n----- end of log -----",
                self.name,
                self.log.display(),
                self.log()
            );
        }
    }
}

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}
