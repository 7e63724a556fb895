//! A Redis of one test's own, for the tests that stop or restart it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::wait_until;

/// A free TCP port on loopback (for a private Redis).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A private `redis-server` on `port`, stopped when dropped.
pub struct PrivateRedis(Child);

impl PrivateRedis {
    /// Starts redis-server (no persistence) and waits until it answers.
    pub fn start(port: u16) -> Self {
        Self::spawn(port, &["--save", "", "--appendonly", "no"])
    }

    /// Starts redis-server keeping its data in `dir` with an append-only
    /// file synced on every write, so that a SIGKILL (a drop) loses nothing
    /// it answered, and a restart on the same `dir` has every key back (and
    /// an empty script cache, as after any restart).
    pub fn start_durable(port: u16, dir: &std::path::Path) -> Self {
        std::fs::create_dir_all(dir).expect("the private Redis's folder");
        let dir = dir.to_str().expect("a UTF-8 folder");
        Self::spawn(
            port,
            &[
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                dir,
            ],
        )
    }

    /// Starts redis-server speaking only TLS on `port`, with the test
    /// certificate (clients are not asked for one), and waits until a
    /// client trusting the test CA gets an answer.
    pub fn start_tls(port: u16) -> Self {
        let certificates = super::test_tls::test_certificates();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--tls-cert-file")
            .arg(certificates.server_cert_file())
            .arg("--tls-key-file")
            .arg(certificates.server_key_file())
            .arg("--tls-ca-cert-file")
            .arg(certificates.ca_file())
            .args(["--tls-auth-clients", "no", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let url = format!("rediss://127.0.0.1:{port}");
        wait_until("the private TLS Redis answers", Duration::from_secs(10), || {
            tls_redis_client(&url).get_connection().is_ok()
        });
        Self(child)
    }

    fn spawn(port: u16, persistence: &[&str]) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(persistence)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let url = format!("redis://127.0.0.1:{port}");
        wait_until("the private Redis answers", Duration::from_secs(10), || {
            redis::Client::open(url.as_str())
                .and_then(|client| client.get_connection())
                .is_ok()
        });
        Self(child)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A client of the `rediss://` server at `url` that trusts the test CA, as
/// the host's own (`redis.ca_file`).
pub fn tls_redis_client(url: &str) -> redis::Client {
    let ca_file = super::test_tls::test_certificates().ca_file();
    fleethost_core::capabilities::kv::redis::client_trusting(url, Some(&ca_file)).expect("a TLS Redis client")
}
