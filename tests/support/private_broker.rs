//! A Tansu broker of one test's own, which the test can freeze (SIGSTOP)
//! to make every request to it hang, as a broker that stopped answering
//! without closing its connections would; and topics and messages on it.
//!
//! The broker binary comes from `FLEETHOST_TEST_TANSU` (scripts/test.sh
//! sets it to the Tansu it installed).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Fixture, free_port};

/// The private broker; resumed and killed when dropped.
pub struct PrivateBroker {
    child: Child,
    /// Its `host:port`.
    pub bootstrap: String,
}

impl PrivateBroker {
    /// Starts Tansu on a free loopback port with in-memory storage and
    /// waits until it accepts connections.
    pub fn start() -> Self {
        let tansu = std::env::var("FLEETHOST_TEST_TANSU").expect(
            "FLEETHOST_TEST_TANSU is not set: it names the Tansu binary this test starts a broker of its own with; run the test with scripts/test.sh, which sets it",
        );
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&tansu)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start the broker {tansu} (FLEETHOST_TEST_TANSU): {error}"));
        let bootstrap = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&bootstrap).is_err() {
            assert!(
                Instant::now() < deadline,
                "the private broker does not listen on {bootstrap}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, bootstrap }
    }

    /// Freezes the broker: its connections stay open, nothing is answered.
    pub fn freeze(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a frozen broker run again.
    pub fn thaw(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: i32) {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Creates `topic` with `partitions` partitions.
    pub async fn create_topic(&self, topic: &str, partitions: i32) {
        super::create_topic_at(&self.bootstrap, topic, partitions).await;
    }

    /// Produces every fixture to `topic`, keyed by driver id.
    pub async fn produce(&self, topic: &str, data: &[Fixture]) {
        super::produce_at(&self.bootstrap, topic, data).await;
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.thaw();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
