//! A long-running `fleethost` subcommand that serves HTTP (`gateway`,
//! `track`) as a child process of a test: started on a free port, ready once
//! `/health` answers, stopped with SIGTERM, and its log shown when the test
//! fails.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, wait_until, write_config_text};

/// One running server process.
pub struct Server {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
    /// The loopback port it listens on.
    pub port: u16,
    /// Whether it serves TLS (`https://`, `wss://`).
    tls: bool,
}

impl Server {
    /// Runs `fleethost ARGS --listen 127.0.0.1:PORT` on a free port and waits
    /// until `/health` answers 200.
    pub fn start(name: &'static str, args: &[&str]) -> Self {
        Self::start_serving(name, args, false)
    }

    /// As [`Server::start`], serving TLS with the test certificate
    /// (`--tls-cert`, `--tls-key`); `/health` is asked over HTTPS trusting
    /// the test CA.
    pub fn start_tls(name: &'static str, args: &[&str]) -> Self {
        let certificates = super::test_tls::test_certificates();
        let (cert, key) = (certificates.server_cert_file(), certificates.server_key_file());
        let mut args = args.to_vec();
        let (cert, key) = (cert.to_str().expect("path"), key.to_str().expect("path"));
        args.extend(["--tls-cert", cert, "--tls-key", key]);
        Self::start_serving(name, &args, true)
    }

    fn start_serving(name: &'static str, args: &[&str], tls: bool) -> Self {
        let port = free_port();
        let log = write_config_text(&format!("{name}-log"), "").with_extension("log");
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(super::fleethost_binary())
            .args(args)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "info,librdkafka=warn,rdkafka=warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::from(file.try_clone().expect("log file")))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap_or_else(|error| panic!("start fleethost {name}: {error}"));
        let mut server = Self {
            name,
            child: Some(child),
            log,
            port,
            tls,
        };
        let health = server.http("/health");
        let agent = super::test_tls::agent_trusting(&super::test_tls::test_ca_file_if(tls));
        wait_until(&format!("the {name} answers /health"), Duration::from_secs(60), || {
            assert!(server.is_running(), "the {name} exited:\n{}", server.log());
            agent.get(&health).call().is_ok_and(|response| response.status() == 200)
        });
        server
    }

    /// `http://127.0.0.1:PORT{path}` (`https://` when it serves TLS).
    pub fn http(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// `ws://127.0.0.1:PORT{path}` (`wss://` when it serves TLS).
    pub fn ws(&self, path: &str) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// What the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| child.try_wait().expect("wait").is_none())
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("server running");
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the {} did not exit within {timeout:?} of SIGTERM",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "----- {} log ({}) -----\n{}\n----- end -----",
                self.name,
                self.log.display(),
                self.log()
            );
        }
    }
}
